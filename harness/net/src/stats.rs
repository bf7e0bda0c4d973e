//! Transport counters, shared between the driver, the TCP/TLS tasks and the handles.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use lmpe_proto::endpoint::TransportKind;

/// A snapshot of an endpoint driver's transport counters (see [`crate::EndpointHandle::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// UDP datagrams received (and handed to the endpoint).
    pub udp_rx: u64,
    /// UDP datagrams sent.
    pub udp_tx: u64,
    /// SIP messages framed out of TCP streams (and handed to the endpoint).
    pub tcp_rx: u64,
    /// SIP messages written to TCP connections.
    pub tcp_tx: u64,
    /// TCP connections established (accepted or connected).
    pub tcp_connections_opened: u64,
    /// TCP connections closed (idle, peer close, error, shutdown).
    pub tcp_connections_closed: u64,
    /// SIP messages framed out of TLS streams (and handed to the endpoint).
    pub tls_rx: u64,
    /// SIP messages written to TLS connections.
    pub tls_tx: u64,
    /// TLS connections established (accepted or connected, handshake completed).
    pub tls_connections_opened: u64,
    /// TLS connections closed (idle, peer close, error, shutdown).
    pub tls_connections_closed: u64,
    /// TLS handshakes that failed or timed out, inbound or outbound (e.g. a peer certificate
    /// that is missing or not trusted).
    pub tls_handshake_failures: u64,
    /// TCP or TLS connections closed because their byte stream could not be framed.
    pub framing_errors: u64,
    /// Transmits that could not be sent (socket errors, failed connects and
    /// handshakes, full queues).
    pub send_errors: u64,
}

/// The live counters of one stream transport (TCP or TLS).
#[derive(Debug, Default)]
pub(crate) struct StreamCounters {
    pub(crate) rx: AtomicU64,
    pub(crate) tx: AtomicU64,
    pub(crate) opened: AtomicU64,
    pub(crate) closed: AtomicU64,
}

/// The live counters plus driver-wide state.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) udp_rx: AtomicU64,
    pub(crate) udp_tx: AtomicU64,
    pub(crate) tcp: StreamCounters,
    pub(crate) tls: StreamCounters,
    pub(crate) tls_handshake_failures: AtomicU64,
    pub(crate) framing_errors: AtomicU64,
    pub(crate) send_errors: AtomicU64,
    /// Whether the driver loop is still running.
    pub(crate) running: AtomicBool,
    next_conn_id: AtomicU64,
}

impl Shared {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// The counters of stream transport `kind` (TCP for anything but TLS).
    pub(crate) fn stream(&self, kind: TransportKind) -> &StreamCounters {
        match kind {
            TransportKind::Tls => &self.tls,
            _ => &self.tcp,
        }
    }

    /// A fresh connection id (ids tell a closed connection from its successor to the same
    /// remote address).
    pub(crate) fn next_conn_id(&self) -> u64 {
        self.next_conn_id.fetch_add(1, Relaxed)
    }

    pub(crate) fn snapshot(&self) -> NetStats {
        NetStats {
            udp_rx: self.udp_rx.load(Relaxed),
            udp_tx: self.udp_tx.load(Relaxed),
            tcp_rx: self.tcp.rx.load(Relaxed),
            tcp_tx: self.tcp.tx.load(Relaxed),
            tcp_connections_opened: self.tcp.opened.load(Relaxed),
            tcp_connections_closed: self.tcp.closed.load(Relaxed),
            tls_rx: self.tls.rx.load(Relaxed),
            tls_tx: self.tls.tx.load(Relaxed),
            tls_connections_opened: self.tls.opened.load(Relaxed),
            tls_connections_closed: self.tls.closed.load(Relaxed),
            tls_handshake_failures: self.tls_handshake_failures.load(Relaxed),
            framing_errors: self.framing_errors.load(Relaxed),
            send_errors: self.send_errors.load(Relaxed),
        }
    }
}
