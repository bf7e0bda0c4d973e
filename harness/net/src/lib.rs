//! Tokio SIP transport for lmpe-harness: the only crate that touches sockets and clocks.
//!
//! Protocol logic lives in sans-IO [`Endpoint`](lmpe_proto::endpoint::Endpoint)s. This crate
//! drives one: [`spawn_endpoint`] binds UDP and TCP on the same port and spawns a single driver
//! task that owns the endpoint and the UDP socket. Each wake-up of the driver reads the clock
//! once, feeds received datagrams / framed stream messages and due timeouts to the endpoint,
//! drains [`poll_transmit`](lmpe_proto::endpoint::Endpoint::poll_transmit) to the sockets and
//! re-arms its timer from [`poll_timeout`](lmpe_proto::endpoint::Endpoint::poll_timeout).
//!
//! Hot path (UDP): no task per message, one reused receive buffer, bounded receive batches
//! (64 datagrams per wake-up) before transmits are drained, 4 MiB kernel socket buffers.
//!
//! TCP: one listener task and one task per connection (stream framing with
//! [`StreamFramer`](lmpe_wire::sip::StreamFramer), a per-connection write queue). Connections
//! are keyed by remote address and reused in both directions, so a response to a request
//! received over TCP leaves on the same connection.
//!
//! TLS (ETSI TS 103 698 6.1.1 SIP-1, mutual X.509 authentication): with
//! [`SipSocketConfig::tls`] set, a second listener on its own port
//! ([`EndpointHandle::tls_local_addr`]) accepts TLS connections, and
//! [`TransportKind::Tls`](lmpe_proto::endpoint::TransportKind::Tls) transmits reuse a live TLS
//! connection to the remote address (inbound or outbound) or open one. TLS connections run the
//! same reader/writer/idle tasks as TCP over a rustls stream (ring crypto provider);
//! handshake and verification failures reach the endpoint as
//! [`handle_transport_error`](lmpe_proto::endpoint::Endpoint::handle_transport_error).
//!
//! Callers act on the endpoint through [`EndpointHandle::with`], which runs a closure on the
//! driver task.

mod driver;
mod error;
pub mod pki;
mod port;
mod stats;
mod tcp;
mod tls;
mod transport;
mod udp;

pub use driver::{spawn_endpoint, EndpointHandle};
pub use error::NetError;
pub use port::unused_port;
/// The rustls version whose types [`TlsConfig`] holds (certificates, keys, root stores).
pub use rustls;
pub use stats::NetStats;
pub use tls::TlsConfig;
pub use transport::SipSocketConfig;
