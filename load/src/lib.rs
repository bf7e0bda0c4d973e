//! The load engine of lmpe-harness.
//!
//! So far: an open-model (arrival-rate) SIP MESSAGE transaction generator and its counterpart,
//! both sans-IO endpoints built on the same UA core as the conformance roles, with latency
//! measured from the *intended* send time (no coordinated omission) into an HDR histogram at
//! microsecond resolution. The chat-level load profiles build on this.

pub mod transactions;

pub use transactions::{run_message_throughput, ThroughputConfig, ThroughputReport};
