//! The chat transfer web service of ETSI TS 103 698 clause 6.3 (HTTP-3): negotiation and
//! execution, both ends, with Annex A JSON Schema validation.
//!
//! * [`schema`]: the four Annex A schemas, verbatim, compiled once (draft-07);
//! * [`model`]: the messages as serde types, and the harness profile of `Data`
//!   ([`model::ChatHistory`]);
//! * [`checks`]: validators of what the peer sent, producing [`Violation`]s;
//! * [`transferee`] / [`transferor`]: the two ends as sans-IO state machines (`now` in,
//!   outputs polled, timers via `poll_timeout` / `handle_timeout`);
//! * [`faults`]: deliberate deviations for broken-peer tests;
//! * [`http`]: the only tokio code: an axum server for the transferee and a hyper client for
//!   the transferor, both recording every exchange into an [`http::HttpLog`].
//!
//! Harness profile (the spec leaves these open): the web services are `POST
//! {base}/chatTransferNegotiation` and `POST {base}/chatTransferExecution` (paths
//! configurable), bodies `application/json`, the HTTP status equals the body's `StatusCode`,
//! and a request that is not JSON or fails its schema gets HTTP 400 with a text/plain
//! explanation.

mod error;
mod timers;
mod timing;
mod violation;

pub mod checks;
pub mod faults;
pub mod http;
pub mod model;
pub mod schema;
pub mod transferee;
pub mod transferor;

pub use error::TransferError;
pub use faults::{TransfereeFaults, TransferorFaults};
pub use timing::TimeScale;
pub use violation::Violation;
