//! Step definitions, one file per concept.

mod app_iut;
mod chat;
mod routing;
mod setup;
pub(crate) mod transfer;
pub(crate) mod transport;
mod verdicts;
