//! Step definitions, one file per concept.

mod chat;
mod routing;
mod setup;
mod verdicts;
