//! The error type of this crate.

use std::io;
use std::net::SocketAddr;

use lmpe_proto::endpoint::TransportKind;

/// What can go wrong setting up or talking to an endpoint driver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The configuration enables neither UDP nor TCP.
    #[error("neither UDP nor TCP is enabled in the socket configuration")]
    NoTransport,
    /// Binding a socket failed (address in use, not a local address, permission, …).
    #[error("cannot bind the {} socket to {addr}: {source}", .transport.via_token())]
    Bind {
        /// Which socket.
        transport: TransportKind,
        /// The address that was requested.
        addr: SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
    /// Creating or configuring a socket (before or after binding) failed.
    #[error("cannot set up the {} socket ({operation}): {source}", .transport.via_token())]
    Socket {
        /// Which socket.
        transport: TransportKind,
        /// The failing step, e.g. `"listen"` or `"register with tokio"`.
        operation: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
    /// The driver task has stopped (after [`crate::EndpointHandle::shutdown`], or because the
    /// endpoint panicked), so the request could not be carried out.
    #[error("the endpoint driver has stopped")]
    Stopped,
}
