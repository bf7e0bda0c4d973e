//! The crate's one error type.

use std::time::Duration;

use crate::schema::{SchemaKind, SchemaViolation};

/// Everything that can go wrong in the chat transfer web service.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransferError {
    /// A body was not JSON at all.
    #[error("{kind}: body is not JSON: {reason}")]
    NotJson {
        /// The message that was expected.
        kind: SchemaKind,
        /// The parser's message (line and column).
        reason: String,
    },
    /// A body was JSON but violates its Annex A schema.
    #[error("{kind}: {} Annex {} schema violation(s): {}", .violations.len(), .kind.clause(), crate::schema::describe(.violations))]
    Schema {
        /// The message that was expected.
        kind: SchemaKind,
        /// Every violation found.
        violations: Vec<SchemaViolation>,
    },
    /// A body passed the schema but does not fit the typed model (e.g. `ExpiryTime`
    /// 4294967296 does not fit a u32, or `10.0`, which draft-07 counts as an integer).
    #[error("{kind}: body passes the schema but cannot be decoded: {reason}")]
    Decode {
        /// The message that was expected.
        kind: SchemaKind,
        /// The decoder's message.
        reason: String,
    },
    /// An embedded Annex A schema failed to compile (a bug in this crate).
    #[error("embedded schema {kind} does not compile: {reason}")]
    SchemaCompile {
        /// The schema.
        kind: SchemaKind,
        /// The compiler's message.
        reason: String,
    },
    /// A transfer for this Call Identifier is already under way.
    #[error("a transfer of chat {0} is already under way")]
    TransferInProgress(String),
    /// No transfer for this Call Identifier is known.
    #[error("no transfer of chat {0} is known")]
    UnknownTransfer(String),
    /// A response or error arrived for a transfer that has no request in flight.
    #[error("chat {call_id}: no request in flight (state {state})")]
    NoRequestInFlight {
        /// The chat.
        call_id: String,
        /// The transfer's state.
        state: &'static str,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An HTTP transport error (connect, I/O, protocol).
    #[error("HTTP transport error: {0}")]
    Transport(String),
    /// An HTTP exchange did not complete in time.
    #[error("HTTP exchange timed out after {0:?}")]
    Timeout(Duration),
    /// A body exceeded the size limit.
    #[error("body of {size} bytes or more exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// Bytes read when the limit was hit.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Binding or serving a socket failed.
    #[error("HTTP server error: {0}")]
    Server(String),
}
