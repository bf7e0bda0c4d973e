//! Simulated LMPE roles built from the UA core and the session machines: the APP and the PSAP.
//! Each is an [`Endpoint`](crate::endpoint::Endpoint) that a transport driver runs.

mod app;
mod build;
mod chats;
mod psap;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

pub use app::{AppConfig, AppFaults, AppRole};
pub use build::{chat_request, multipart_body, Sender};
pub use psap::{PsapConfig, PsapFaults, PsapRole, ENDED_CHAT_LINGER};

use crate::endpoint::TransportKind;
use crate::session::SessionEvent;

/// One message on the wire, as seen by a role (for message ladders and accounting).
#[derive(Debug, Clone)]
pub struct WireRecord {
    /// When it was sent or received.
    pub at: Instant,
    /// True when we sent it.
    pub outgoing: bool,
    /// Transport.
    pub transport: TransportKind,
    /// Our address.
    pub local: SocketAddr,
    /// The peer.
    pub remote: SocketAddr,
    /// The bytes.
    pub bytes: Arc<[u8]>,
}

/// Records every message an endpoint receives and sends, stamped with the `now` of the input
/// that caused it (the endpoint reads no clock). Shared by the roles and the reference proxy.
#[derive(Debug)]
pub struct WireLog {
    records: Vec<WireRecord>,
    enabled: bool,
    last_now: Option<Instant>,
}

impl Default for WireLog {
    fn default() -> Self {
        Self {
            records: Vec::new(),
            enabled: true,
            last_now: None,
        }
    }
}

impl WireLog {
    /// Turns recording on or off (load runs keep it off).
    pub fn set_enabled(&mut self, on: bool) {
        self.enabled = on;
    }

    /// Notes the current instant (call at every input: message, timeout, command).
    pub fn tick(&mut self, now: Instant) {
        self.last_now = Some(now);
    }

    /// Records a received message.
    pub fn incoming(&mut self, now: Instant, input: &crate::endpoint::Incoming) {
        self.tick(now);
        if self.enabled {
            self.records.push(WireRecord {
                at: now,
                outgoing: false,
                transport: input.transport,
                local: input.local,
                remote: input.remote,
                bytes: input.bytes.as_slice().into(),
            });
        }
    }

    /// Records a message about to be sent from `local`.
    pub fn outgoing(&mut self, local: SocketAddr, t: &crate::endpoint::Transmit) {
        if let (true, Some(at)) = (self.enabled, self.last_now) {
            self.records.push(WireRecord {
                at,
                outgoing: true,
                transport: t.transport,
                local,
                remote: t.remote,
                bytes: t.bytes.clone(),
            });
        }
    }

    /// Records `input` and hands it to `ua` (an endpoint's `handle_input`).
    pub fn feed(
        &mut self,
        ua: &mut crate::ua::UserAgent,
        now: Instant,
        input: crate::endpoint::Incoming,
    ) {
        self.incoming(now, &input);
        ua.handle_input(now, input);
    }

    /// The next message `ua` wants sent, recorded (an endpoint's `poll_transmit`).
    pub fn transmit(&mut self, ua: &mut crate::ua::UserAgent) -> Option<crate::endpoint::Transmit> {
        let t = ua.poll_transmit()?;
        self.outgoing(ua.local(), &t);
        Some(t)
    }

    /// The records so far.
    pub fn records(&self) -> &[WireRecord] {
        &self.records
    }

    /// Takes the records so far.
    pub fn take(&mut self) -> Vec<WireRecord> {
        std::mem::take(&mut self.records)
    }
}

/// Something a role reports.
#[derive(Debug, Clone)]
pub enum RoleEvent {
    /// A session event of the chat with this Call Identifier unique part.
    Session {
        /// The chat.
        chat: String,
        /// What happened.
        event: SessionEvent,
    },
    /// The peer deviated from the spec in this message.
    Violation {
        /// The chat.
        chat: String,
        /// What is wrong, with the clause.
        violation: crate::session::Violation,
        /// The offending message, as text.
        message: String,
    },
    /// A request that belongs to no chat and was answered with `status`.
    Unmatched {
        /// The request's first line.
        summary: String,
        /// Our answer.
        status: u16,
        /// Why.
        reason: String,
    },
    /// The final status of a raw request sent with `send_request`.
    RawAnswered {
        /// The handle.
        handle: u64,
        /// Status (408 on timeout, 503 on transport error).
        status: u16,
    },
    /// Unparseable input from the wire.
    Malformed {
        /// Why.
        error: String,
        /// Who sent it.
        remote: SocketAddr,
    },
}

/// A random-enough token (no clock: derived from a counter and an address-based seed).
pub(crate) fn token(seed: u64, n: u64, len: usize) -> String {
    let mut x = seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut s = String::with_capacity(len);
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push(ALPHABET[(x % ALPHABET.len() as u64) as usize] as char);
    }
    s
}
