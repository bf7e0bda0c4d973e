//! Step definitions, one file per concept.

mod app_iut;
mod chat;
mod routing;
mod setup;
mod verdicts;
