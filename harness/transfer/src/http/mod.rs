//! HTTP/1.1 binding of the 6.3 web services: the only tokio code of the crate.
//!
//! * [`TransfereeServer`]: an axum 0.8 router served by hyper (header read timeout against
//!   slowloris), driving a [`crate::transferee::Transferee`];
//! * [`TransferClient`]: a hyper-util legacy client (plain HTTP; HTTPS is not done yet);
//! * [`TransferorRunner`]: drives a [`crate::transferor::Transferor`] with a client;
//! * [`HttpLog`]: every message of both ends, with timestamps and socket addresses.
//!
//! The spec names no URL paths: the harness profile is `POST {base}/chatTransferNegotiation`
//! and `POST {base}/chatTransferExecution` ([`ServicePaths`], configurable), bodies
//! `application/json`, at most 1 MiB ([`MAX_BODY`]).

mod client;
mod log;
mod runner;
mod server;

use std::time::Duration;

pub use client::TransferClient;
pub use log::{HttpLog, HttpRecord};
pub use runner::TransferorRunner;
pub use server::{ServerConfig, TransfereeEvent, TransfereeServer};

use crate::transferee::Service;
use crate::TransferError;

/// Largest body accepted by either end (1 MiB).
pub const MAX_BODY: usize = 1024 * 1024;

/// Default time allowed for a request's headers, and separately for its body.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// URL paths of the two web services (harness profile; the spec names none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePaths {
    /// Prefix of both paths: empty or starting with `/`, without a trailing `/`.
    pub base: String,
    /// Path of the negotiation service below `base` (default `/chatTransferNegotiation`).
    pub negotiation: String,
    /// Path of the execution service below `base` (default `/chatTransferExecution`).
    pub execution: String,
}

impl Default for ServicePaths {
    fn default() -> Self {
        Self {
            base: String::new(),
            negotiation: "/chatTransferNegotiation".into(),
            execution: "/chatTransferExecution".into(),
        }
    }
}

impl ServicePaths {
    /// The full path of `service`.
    pub fn path(&self, service: Service) -> String {
        let tail = match service {
            Service::Negotiation => &self.negotiation,
            Service::Execution => &self.execution,
        };
        format!("{}{}", self.base, tail)
    }

    /// Checks the paths' shape.
    pub fn check(&self) -> Result<(), TransferError> {
        if !(self.base.is_empty() || self.base.starts_with('/')) || self.base.ends_with('/') {
            return Err(TransferError::Config(format!(
                "base path {:?} must be empty or start with '/' and not end with '/'",
                self.base
            )));
        }
        for p in [&self.negotiation, &self.execution] {
            if !p.starts_with('/') || p.len() < 2 {
                return Err(TransferError::Config(format!(
                    "service path {p:?} must start with '/'"
                )));
            }
        }
        if self.negotiation == self.execution {
            return Err(TransferError::Config(
                "the two service paths must differ".into(),
            ));
        }
        Ok(())
    }
}

pub(crate) fn reason_phrase(status: u16) -> &'static str {
    hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}
