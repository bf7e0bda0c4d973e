//! Step definitions, one file per concept.

mod chat;
mod setup;
mod verdicts;
