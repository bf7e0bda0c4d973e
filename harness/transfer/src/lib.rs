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
//!
//! How the spec's open points are resolved (explicitly, not silently):
//!
//! * Annex A descriptions that contradict the schemas (A.2 `StatusCode` "Free text ...",
//!   A.3 `MessageId` "SIP URI of transfer initiating entity") are kept verbatim in the
//!   embedded schemas; the types and constraints are followed (see [`schema`]).
//! * `Data` is "tbd": the harness sends [`model::ChatHistory`] and keeps any other object raw
//!   ([`model::ChatData::Other`]); an unknown shape is never a violation.
//! * The 503-after-expiry sentence is in 6.3.2 (not 6.3.3), so its violation carries `6.3.2`.
//! * `MessageId` is "the last message ID used" (Table 7) and so is the Message Identifier of
//!   `stop|transfer/266` (6.2.6); the transferee's `start|transfer/265` uses `MessageId + 1`.
//! * The negotiation request carries no `ExpiryTime`: the transferor's wait for the
//!   negotiation response is the harness's `negotiation_timeout`.
//! * What a transferee sends when it "does not continue processing" (6.3.3) is not said: the
//!   harness sends nothing and lets the transferor time out.
//! * The HTTP status and the body's `StatusCode`: the body is authoritative; a mismatch is
//!   visible in the [`http::HttpLog`] but not reported as a violation.
//! * Where `ExpiryTime` is counted from: the transferee from when it sends its 202 / receives
//!   the execution request, the transferor from when it receives the 202 / sends the
//!   execution request. So a late execution is flagged (6.3.2) only when the transferee
//!   surely saw its negotiation expire, and a late execution response (6.3.3) is judged on
//!   the transferor's clock, as 6.3.3 states the re-activation from the transferor's side.

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
