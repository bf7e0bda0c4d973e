//! The contract between sans-IO protocol logic and the only crate that touches sockets and
//! clocks (`lmpe-net`).
//!
//! An [`Endpoint`] is fed datagrams/stream messages and timeouts with the current instant, and
//! is polled for what to send and when it next wants to be woken. Nothing in an endpoint reads a
//! clock or performs I/O, so the same code runs on a virtual clock in tests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

/// A SIP transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// UDP (unreliable: transactions retransmit).
    Udp,
    /// TCP (reliable, stream-framed).
    Tcp,
    /// TLS over TCP (reliable, stream-framed).
    Tls,
}

impl TransportKind {
    /// The Via transport token.
    pub fn via_token(self) -> &'static str {
        match self {
            Self::Udp => "UDP",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
        }
    }

    /// Parses a Via transport token (case-insensitive).
    pub fn from_token(token: &str) -> Option<Self> {
        match token.to_ascii_uppercase().as_str() {
            "UDP" => Some(Self::Udp),
            "TCP" => Some(Self::Tcp),
            "TLS" => Some(Self::Tls),
            _ => None,
        }
    }

    /// Whether the transport is reliable (RFC 3261 17: no retransmissions).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Self::Udp)
    }
}

/// One received SIP message (a UDP datagram, or one message framed out of a TCP/TLS stream).
#[derive(Debug, Clone)]
pub struct Incoming {
    /// How it arrived.
    pub transport: TransportKind,
    /// The peer address.
    pub remote: SocketAddr,
    /// Our local address it arrived on.
    pub local: SocketAddr,
    /// The message bytes.
    pub bytes: Vec<u8>,
}

/// Bytes an endpoint wants sent.
#[derive(Debug, Clone)]
pub struct Transmit {
    /// Transport to use. For TCP/TLS an existing connection to `remote` is reused, otherwise one
    /// is opened.
    pub transport: TransportKind,
    /// Destination.
    pub remote: SocketAddr,
    /// The message bytes.
    pub bytes: Arc<[u8]>,
}

/// Sans-IO protocol logic driven by a transport driver.
pub trait Endpoint: Send + 'static {
    /// A message arrived.
    fn handle_input(&mut self, now: Instant, input: Incoming);

    /// Sending to `remote` over `transport` failed (connection refused, reset, …).
    fn handle_transport_error(
        &mut self,
        now: Instant,
        transport: TransportKind,
        remote: SocketAddr,
        error: &str,
    );

    /// The next thing to send, if any.
    fn poll_transmit(&mut self) -> Option<Transmit>;

    /// When the endpoint next wants [`Endpoint::handle_timeout`] called.
    fn poll_timeout(&mut self) -> Option<Instant>;

    /// Time has advanced to `now`.
    fn handle_timeout(&mut self, now: Instant);
}
