//! Step definitions, one file per concept.

mod app_iut;
mod chat;
pub(crate) mod cusax;
pub(crate) mod location;
mod routing;
mod setup;
pub(crate) mod transfer;
pub(crate) mod transport;
mod verdicts;
pub(crate) mod warning;
