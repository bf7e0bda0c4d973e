//! The one error type of the crate.

use thiserror::Error;

/// Everything that can go wrong when distributing or receiving alerts.
#[derive(Debug, Error)]
pub enum AlertsError {
    /// A URI from LoST that the harness cannot subscribe on (scheme or form).
    #[error("cannot subscribe on {uri:?}: {reason}")]
    BadUri {
        /// The URI.
        uri: String,
        /// Why.
        reason: String,
    },
    /// The alert is not a valid CAP 1.2 document.
    #[error("not a valid CAP 1.2 alert: {0}")]
    Cap(#[from] lmpe_warning::WarningError),
    /// A SIP endpoint could not be started or driven.
    #[error("SIP: {0}")]
    Sip(String),
    /// XMPP failed.
    #[error("XMPP: {0}")]
    Xmpp(String),
    /// An HTTP exchange failed.
    #[error("HTTP {url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A subscription was refused or not confirmed in time.
    #[error("subscription on {uri:?} {reason}")]
    Subscription {
        /// The URI.
        uri: String,
        /// What happened.
        reason: String,
    },
    /// A fan-out load profile or run is unusable.
    #[error("alert load: {0}")]
    Profile(String),
    /// An unknown fault name.
    #[error("unknown alert-server fault {0:?}; known: {known}", known = crate::AlertFaults::NAMES.join(", "))]
    UnknownFault(String),
    /// Binding a listener failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: std::net::SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}
