//! The UDP socket: binding with large kernel buffers, batched receive, queued send.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use lmpe_proto::endpoint::TransportKind;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use crate::transport::SOCKET_BUFFER;
use crate::NetError;

/// Receive buffer: large enough for any UDP payload, so nothing is truncated.
pub(crate) const RECV_BUFFER: usize = 1 << 16;

/// Datagrams sent but refused by a full kernel buffer wait here, at most this many.
const PENDING_LIMIT: usize = 1 << 16;

/// Binds a non-blocking UDP socket with 4 MiB kernel buffers.
pub(crate) fn bind(addr: SocketAddr) -> Result<std::net::UdpSocket, NetError> {
    let setup = |operation, source| NetError::Socket {
        transport: TransportKind::Udp,
        operation,
        source,
    };
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| setup("create", e))?;
    if let Err(e) = socket.set_recv_buffer_size(SOCKET_BUFFER) {
        tracing::warn!(error = %e, "cannot enlarge the UDP receive buffer");
    }
    if let Err(e) = socket.set_send_buffer_size(SOCKET_BUFFER) {
        tracing::warn!(error = %e, "cannot enlarge the UDP send buffer");
    }
    socket
        .set_nonblocking(true)
        .map_err(|e| setup("set non-blocking", e))?;
    socket.bind(&addr.into()).map_err(|source| NetError::Bind {
        transport: TransportKind::Udp,
        addr,
        source,
    })?;
    Ok(socket.into())
}

/// Registers a bound socket with the tokio reactor.
pub(crate) fn register(socket: std::net::UdpSocket) -> Result<UdpSocket, NetError> {
    UdpSocket::from_std(socket).map_err(|source| NetError::Socket {
        transport: TransportKind::Udp,
        operation: "register with tokio",
        source,
    })
}

/// Outcome of handing one datagram to [`UdpOut::send`].
pub(crate) enum SendOutcome {
    /// Written to the socket.
    Sent,
    /// Kept for [`UdpOut::flush`] (kernel buffer full or older datagrams still waiting).
    Queued,
    /// Failed; tell the endpoint.
    Failed(io::Error),
}

/// The UDP socket plus datagrams waiting for send-buffer space (kept in order).
#[derive(Debug)]
pub(crate) struct UdpOut {
    pub(crate) socket: UdpSocket,
    pending: VecDeque<(SocketAddr, Arc<[u8]>)>,
}

impl UdpOut {
    pub(crate) fn new(socket: UdpSocket) -> Self {
        Self {
            socket,
            pending: VecDeque::new(),
        }
    }

    /// Whether datagrams wait for the socket to become writable.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Sends now if possible, else queues (bounded).
    pub(crate) fn send(&mut self, remote: SocketAddr, bytes: Arc<[u8]>) -> SendOutcome {
        if self.pending.is_empty() {
            match self.socket.try_send_to(&bytes, remote) {
                Ok(_) => return SendOutcome::Sent,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return SendOutcome::Failed(e),
            }
        }
        if self.pending.len() >= PENDING_LIMIT {
            return SendOutcome::Failed(io::Error::new(
                io::ErrorKind::WouldBlock,
                "UDP send queue full",
            ));
        }
        self.pending.push_back((remote, bytes));
        SendOutcome::Queued
    }

    /// Sends queued datagrams until the kernel refuses again. Returns how many were sent, and
    /// calls `failed` for each that failed for good.
    pub(crate) fn flush(&mut self, mut failed: impl FnMut(SocketAddr, io::Error)) -> u64 {
        let mut sent = 0;
        while let Some((remote, bytes)) = self.pending.front() {
            match self.socket.try_send_to(bytes, *remote) {
                Ok(_) => sent += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => failed(*remote, e),
            }
            self.pending.pop_front();
        }
        sent
    }
}
