//! LMPE chat session machines (ETSI TS 103 698 clause 6.2), one for each side.
//!
//! The machines work on parsed SIP messages and LMPE identifiers and emit [`OutgoingChat`]s,
//! which the role layer wraps into SIP MESSAGE requests. Each incoming message is checked against
//! the clause that governs it; deviations are reported as [`Violation`]s (what a conformance
//! verdict cites) while the machine keeps going where it safely can.

mod app;
mod location;
mod psap;

use std::time::Duration;

pub use app::{is_test_service, AppSession, AppState};
pub use location::{check_location, location_text, pidf_point};
pub use psap::{PsapSession, PsapState, TranscriptEntry};

use lmpe_wire::lmpe::{CallId, IdentifierProfile, MessageType};

/// The longest interval between keep-alives the spec allows (6.2.5: "at least every 20 s").
pub const MAX_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(20);

/// Settings shared by both sides.
#[derive(Debug, Clone)]
pub struct ChatParams {
    /// Which Call-Info forms are accepted and emitted.
    pub profile: IdentifierProfile,
    /// How often this side sends heartbeats (`None`: never; the APP must, 6.2.5).
    pub heartbeat_interval: Option<Duration>,
    /// The longest gap between the peer's heartbeats that is accepted (scaled down in tests).
    pub peer_heartbeat_limit: Duration,
    /// How long the APP waits for the PSAP's start/257 after sending its own (6.2.2); longer
    /// than Timer F (32 s) so that a transport failure is reported as 408 first.
    pub psap_start_timeout: Duration,
}

impl Default for ChatParams {
    fn default() -> Self {
        Self {
            profile: IdentifierProfile::default(),
            heartbeat_interval: Some(MAX_HEARTBEAT_INTERVAL),
            peer_heartbeat_limit: MAX_HEARTBEAT_INTERVAL,
            psap_start_timeout: Duration::from_secs(40),
        }
    }
}

/// An LMPE message a machine wants sent; the role layer turns it into a SIP MESSAGE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingChat {
    /// Correlates the transaction outcome back to the machine.
    pub handle: u64,
    /// Request-URI.
    pub target: String,
    /// Message Type.
    pub msg_type: MessageType,
    /// Message Identifier (heartbeats carry none, 6.2.5).
    pub msg_id: Option<u32>,
    /// The Call Identifier.
    pub call_id: CallId,
    /// The Call Identifier URN exactly as it must be written (echoes the received form).
    pub call_id_urn: String,
    /// Chat text (`text/plain; charset=utf-8`).
    pub text: Option<String>,
    /// Reply-To (PSAP messages).
    pub reply_to: Option<String>,
    /// Whether to attach location (APP messages, 5.6.4).
    pub with_location: bool,
    /// History-Info value (redirect).
    pub history_info: Option<String>,
    /// Message Identifier purpose to write (`None`: the profile's emitted form). A PSAP mirrors
    /// the form the APP used.
    pub msg_id_purpose: Option<&'static str>,
}

/// A deviation from the spec seen in a peer's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The clause, e.g. `6.2.2`.
    pub clause: &'static str,
    /// What the clause requires.
    pub expectation: String,
    /// What was seen instead.
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TS 103 698 {}: {}; {}",
            self.clause, self.expectation, self.detail
        )
    }
}

/// Something that happened in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The session is established (APP: PSAP start/257 received; PSAP: start answered).
    Established {
        /// The PSAP's Reply-To URI.
        reply_to: String,
    },
    /// A chat message (in-chat, start, stop text) arrived from the peer.
    Received {
        /// Its type.
        msg_type: MessageType,
        /// Its Message Identifier, if any.
        msg_id: Option<u32>,
        /// Its text, if any.
        text: Option<String>,
    },
    /// A heartbeat arrived from the peer.
    Heartbeat {
        /// Whether the inactive flag was set.
        inactive: bool,
    },
    /// The session ended.
    Stopped {
        /// True when the peer ended it.
        by_peer: bool,
    },
    /// The PSAP announced a transfer (stop|transfer/266): input is stalled.
    TransferPending,
    /// The PSAP redirected the chat (stop|redirect/274); start|redirect/273 went to `target`.
    Redirected {
        /// The redirect target (Reply-To of the 274).
        target: String,
    },
    /// A message we sent was answered with a final status.
    Answered {
        /// The handle of our message.
        handle: u64,
        /// Its type.
        msg_type: MessageType,
        /// The final status (408 for a transaction timeout).
        status: u16,
    },
    /// The peer deviated from the spec.
    Violation(Violation),
    /// The session failed (e.g. start rejected).
    Failed {
        /// Why.
        reason: String,
    },
}

/// A command that is not allowed in the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The command is not allowed now.
    #[error("{command} is not allowed in state {state}")]
    NotAllowed {
        /// The command.
        command: &'static str,
        /// The state.
        state: String,
    },
    /// A transfer cannot be taken over (bad Call Identifier or APP URI in the request).
    #[error("cannot take over the transferred chat: {detail}")]
    BadTransfer {
        /// What is wrong.
        detail: String,
    },
}

/// Reads the Reply-To URI of a message (name-addr or addr-spec).
pub(crate) fn reply_to_uri(msg: &lmpe_wire::sip::SipMessage) -> Option<Result<String, String>> {
    msg.header("Reply-To").map(|v| {
        lmpe_wire::sip::NameAddr::parse("Reply-To", v)
            .map(|na| na.uri)
            .map_err(|e| e.to_string())
    })
}

/// The text/plain part of a message body, if any (multipart bodies are searched).
pub(crate) fn chat_text(msg: &lmpe_wire::sip::SipMessage) -> Option<String> {
    location::text_part(msg)
}

/// The URI the peer identified itself with: P-Asserted-Identity, else From (6.2.3).
pub(crate) fn originator_uri(msg: &lmpe_wire::sip::SipMessage) -> Option<String> {
    let pai = msg
        .header_values("P-Asserted-Identity")
        .filter_map(|v| lmpe_wire::sip::NameAddr::parse("P-Asserted-Identity", v).ok())
        .find(|na| na.scheme() == "sip" || na.scheme() == "sips");
    pai.or_else(|| {
        msg.header("From")
            .and_then(|v| lmpe_wire::sip::NameAddr::parse("From", v).ok())
    })
    .map(|na| na.uri)
}

/// The service the caller asked for: the Request-URI while it is still a service URN, else
/// (after an ESRP retargeted it to a PSAP) the To URI, else the first History-Info target.
pub fn requested_service(msg: &lmpe_wire::sip::SipMessage) -> String {
    let is_service = |u: &str| u.to_ascii_lowercase().starts_with("urn:service:");
    let ruri = msg.request_uri().unwrap_or_default();
    if is_service(ruri) {
        return ruri.to_string();
    }
    if let Some(to) = msg
        .header("To")
        .and_then(|v| lmpe_wire::sip::NameAddr::parse("To", v).ok())
        .filter(|na| is_service(&na.uri))
    {
        return to.uri;
    }
    if let Ok(Some(hi)) = lmpe_wire::headers::HistoryInfo::from_message(msg) {
        if let Some(e) = hi.entries.iter().find(|e| is_service(&e.target)) {
            return e.target.clone();
        }
    }
    ruri.to_string()
}

/// Compares two SIP URIs by scheme-less `user@host` (parameters ignored).
pub(crate) fn same_aor(a: &str, b: &str) -> bool {
    fn aor(u: &str) -> String {
        let u = u.split_once(':').map_or(u, |(_, r)| r);
        let u = u.split([';', '?']).next().unwrap_or(u);
        let (user, host) = u.rsplit_once('@').unwrap_or(("", u));
        let host = host.split(':').next().unwrap_or(host);
        format!("{user}@{}", host.to_ascii_lowercase())
    }
    aor(a) == aor(b)
}
