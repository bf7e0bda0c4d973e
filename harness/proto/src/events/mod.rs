//! SIP-specific event notification (RFC 6665): a [`Subscriber`] and a [`Notifier`] endpoint,
//! sans-IO like the rest of this crate, for one event package each (the harness uses the CAP
//! package `common-alerting-protocol` of draft-rosen-sipping-cap / draft-ietf-atoca-cap).
//!
//! Both keep the dialog state a subscription needs (Call-ID, tags, CSeq, the peer's contact),
//! answer what does not belong to a subscription with the RFC 6665 status codes (481, 489,
//! 423), and report every subscription change and every notification as an event, with the
//! message text, so a conformance check can show what it saw.

mod notifier;
mod state;
mod subscriber;

use std::net::SocketAddr;

pub use notifier::{Notifier, NotifierConfig, NotifierEvent};
pub use state::{SubState, SubscriptionState};
pub use subscriber::{Subscriber, SubscriberConfig, SubscriberEvent};

use lmpe_wire::sip::SipUri;

/// The CAP event package (draft-rosen-sipping-cap Section 3.1).
pub const CAP_EVENT_PACKAGE: &str = "common-alerting-protocol";

/// The CAP media type the package carries (draft-rosen-sipping-cap Section 3.5).
pub const CAP_CONTENT_TYPE: &str = "application/common-alerting-protocol+xml";

/// A subscription, as one side numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u64);

impl std::fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sub-{}", self.0)
    }
}

/// The event package token of an `Event` header value (`pkg;id=…` → `pkg`), lower-cased.
pub fn event_package(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// Where to send a request for `uri`: its host and port when the host is an IP literal
/// (the loopback deployments the harness drives), otherwise `fallback`.
pub fn uri_destination(uri: &str, fallback: SocketAddr) -> SocketAddr {
    SipUri::parse(uri)
        .ok()
        .and_then(|u| u.ip_addr())
        .unwrap_or(fallback)
}

/// A tag, Call-ID or branch-like token from a counter and a salt.
pub(crate) fn token(prefix: &str, salt: u64, n: u64) -> String {
    format!("{prefix}{salt:x}x{n:x}")
}

/// A salt that differs between endpoints of one run (their local address).
pub(crate) fn salt(local: SocketAddr) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    local.hash(&mut h);
    h.finish() & 0xffff_ffff
}

#[cfg(test)]
mod tests;
