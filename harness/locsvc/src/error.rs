//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong loading data or starting the HTTP binding. Request handling
/// never fails: bad requests become HELD/LoST error answers.
#[derive(Debug, thiserror::Error)]
pub enum LocsvcError {
    /// A data file is not valid JSON.
    #[error("{what}: not valid JSON: {source}")]
    Json {
        /// Which data (e.g. "service boundaries").
        what: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A data file is JSON but not of the expected shape.
    #[error("{what}: {reason}")]
    Data {
        /// Which data and where (e.g. "feature 2").
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// A `${NAME}` template variable has no value.
    #[error("template variable ${{{0}}} has no value")]
    MissingVariable(String),
    /// A data file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A fault name that [`crate::EcrfFaults::from_name`] / [`crate::LisFaults::from_name`]
    /// does not know.
    #[error("unknown fault {0:?}")]
    UnknownFault(String),
    /// The HTTP server could not bind or start.
    #[error("HTTP server on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The socket error.
        #[source]
        source: std::io::Error,
    },
    /// An HTTP request of the client failed (bad URL, connection refused, broken answer).
    #[error("HTTP {url}: {reason}")]
    Http {
        /// The URL asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server did not answer completely in time.
    #[error("HTTP {url}: no complete answer within {timeout:?}")]
    Timeout {
        /// The URL asked.
        url: String,
        /// The time allowed.
        timeout: std::time::Duration,
    },
}
