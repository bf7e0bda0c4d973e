//! The UDP socket: binding with large kernel buffers, batched receive, queued send in batches
//! (`sendmmsg`).

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use lmpe_proto::endpoint::TransportKind;
use std::io::IoSlice;

use rustix::net::{sendmmsg, MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
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
    #[cfg(target_os = "linux")]
    if let Err(e) =
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::UdpGroSegment, &true)
    {
        // Without it every datagram is received (and a GSO send split) one by one.
        tracing::debug!(error = %e, "UDP GRO not available");
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

/// Datagrams taken from the kernel per `recvmmsg` call.
pub(crate) const RECV_BATCH: usize = 32;

/// Receive buffers for `recvmmsg`: [`RECV_BATCH`] of [`RECV_BUFFER`] bytes (pages the kernel
/// never writes to are never backed by memory).
#[derive(Debug)]
pub(crate) struct UdpIn {
    bufs: Vec<Box<[u8]>>,
}

impl UdpIn {
    pub(crate) fn new() -> Self {
        Self {
            bufs: (0..RECV_BATCH)
                .map(|_| vec![0u8; RECV_BUFFER].into_boxed_slice())
                .collect(),
        }
    }

    /// Receives up to [`RECV_BATCH`] buffers with one `recvmmsg` and appends the datagrams in
    /// them to `out`. With UDP GRO (Linux, enabled in [`bind`]) one buffer may hold several
    /// datagrams of one sender, coalesced by the kernel (e.g. a GSO send over loopback, which
    /// then crosses the stack as one packet): the `UDP_GRO` control message gives their size,
    /// the last may be shorter. Returns how many buffers and how many datagrams arrived;
    /// `WouldBlock` when none was waiting.
    pub(crate) fn recv(
        &mut self,
        socket: &UdpSocket,
        out: &mut Vec<(SocketAddr, Vec<u8>)>,
    ) -> io::Result<(usize, usize)> {
        use nix::sys::socket::{
            recvmmsg, ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrLike, SockaddrStorage,
        };
        use std::io::IoSliceMut;
        use std::os::fd::AsRawFd;
        let fd = socket.as_raw_fd();
        let bufs = &mut self.bufs;
        let got: Vec<(usize, Option<SocketAddr>, Option<usize>)> =
            socket.try_io(Interest::READABLE, || {
                // Built per call: the headers hold raw pointers (not `Send`), the driver task is.
                let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(
                    RECV_BATCH,
                    Some(nix::cmsg_space!(i32)),
                );
                let mut slices: Vec<[IoSliceMut<'_>; 1]> =
                    bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
                let results = recvmmsg(
                    fd,
                    &mut headers,
                    slices.iter_mut(),
                    MsgFlags::MSG_DONTWAIT,
                    None,
                )
                .map_err(io::Error::from)?;
                Ok(results
                    .map(|m| {
                        let addr = m.address.and_then(|a| match a.family() {
                            Some(nix::sys::socket::AddressFamily::Inet) => a
                                .as_sockaddr_in()
                                .map(|v4| SocketAddr::V4(std::net::SocketAddrV4::from(*v4))),
                            Some(nix::sys::socket::AddressFamily::Inet6) => a
                                .as_sockaddr_in6()
                                .map(|v6| SocketAddr::V6(std::net::SocketAddrV6::from(*v6))),
                            _ => None,
                        });
                        let segment = m.cmsgs().ok().and_then(|mut c| {
                            c.find_map(|c| match c {
                                ControlMessageOwned::UdpGroSegments(n) => {
                                    usize::try_from(n).ok().filter(|&n| n > 0)
                                }
                                _ => None,
                            })
                        });
                        (m.bytes, addr, segment)
                    })
                    .collect())
            })?;
        let buffers = got.len();
        let mut n = 0;
        for (buf, (len, addr, segment)) in self.bufs.iter().zip(got) {
            let Some(addr) = addr else { continue };
            let data = &buf[..len.min(buf.len())];
            match segment {
                Some(size) if size < data.len() => {
                    for datagram in data.chunks(size) {
                        out.push((addr, datagram.to_vec()));
                        n += 1;
                    }
                }
                _ => {
                    out.push((addr, data.to_vec()));
                    n += 1;
                }
            }
        }
        Ok((buffers, n))
    }
}

/// Datagrams handed to the kernel per `sendmmsg` call.
const SEND_BATCH: usize = 64;

/// Largest datagram sent as a UDP GSO segment: below any path MTU in practice (a segment larger
/// than the path MTU would be refused, GSO does not fragment), so larger datagrams always go
/// out alone and are fragmented as usual.
const GSO_MAX_SEGMENT: usize = 1200;
/// Most segments in one GSO send (the kernel allows 64) and most bytes.
const GSO_MAX_SEGMENTS: usize = 64;
const GSO_MAX_BYTES: usize = 60_000;

/// The UDP socket plus datagrams waiting to be sent (kept in order): queued during a wake-up,
/// sent together with `sendmmsg`, and kept while the kernel's send buffer is full.
///
/// Runs of equal-size datagrams to one destination (a load generator's requests, a responder's
/// answers) go out as one UDP GSO send (`UDP_SEGMENT`, Linux): the kernel passes one buffer
/// through the stack and splits it into the same datagrams on the wire, which costs a fraction
/// of sending them one by one. If the kernel refuses GSO it is not tried again.
#[derive(Debug)]
pub(crate) struct UdpOut {
    pub(crate) socket: UdpSocket,
    pending: VecDeque<(SocketAddr, Arc<[u8]>)>,
    /// Whether GSO sends are (still) tried.
    gso: bool,
}

impl UdpOut {
    pub(crate) fn new(socket: UdpSocket) -> Self {
        Self {
            socket,
            pending: VecDeque::new(),
            gso: cfg!(target_os = "linux"),
        }
    }

    /// How many datagrams from `from` on form a GSO run: same destination, same size (the last
    /// may be shorter), small enough. 1 when there is no run.
    fn gso_run(&self, from: usize) -> usize {
        let Some((dest, first)) = self.pending.get(from) else {
            return 0;
        };
        let size = first.len();
        if !self.gso || size == 0 || size > GSO_MAX_SEGMENT {
            return 1;
        }
        let mut n = 1;
        let mut bytes = size;
        for (d, b) in self.pending.iter().skip(from + 1) {
            if n == GSO_MAX_SEGMENTS
                || d != dest
                || b.len() > size
                || bytes + b.len() > GSO_MAX_BYTES
            {
                break;
            }
            n += 1;
            bytes += b.len();
            if b.len() < size {
                break; // only the last segment may be shorter
            }
        }
        n
    }

    /// Sends the first `n` queued datagrams (one GSO run) with one `sendmsg`.
    fn send_gso(&self, n: usize) -> io::Result<usize> {
        use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrStorage};
        use std::os::fd::AsRawFd;
        let Some((dest, first)) = self.pending.front() else {
            return Ok(0);
        };
        let segment = u16::try_from(first.len()).unwrap_or(u16::MAX);
        let iovs: Vec<IoSlice<'_>> = self
            .pending
            .iter()
            .take(n)
            .map(|(_, b)| IoSlice::new(b))
            .collect();
        let addr = SockaddrStorage::from(*dest);
        let cmsgs = [ControlMessage::UdpGsoSegments(&segment)];
        let fd = self.socket.as_raw_fd();
        self.socket.try_io(Interest::WRITABLE, || {
            sendmsg(fd, &iovs, &cmsgs, MsgFlags::empty(), Some(&addr)).map_err(io::Error::from)
        })
    }

    /// Whether datagrams wait to be sent.
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Datagrams waiting to be sent.
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Queues a datagram for the next [`UdpOut::flush`] (bounded).
    pub(crate) fn queue(&mut self, remote: SocketAddr, bytes: Arc<[u8]>) -> Result<(), io::Error> {
        if self.pending.len() >= PENDING_LIMIT {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "UDP send queue full",
            ));
        }
        self.pending.push_back((remote, bytes));
        Ok(())
    }

    /// Sends queued datagrams, up to [`SEND_BATCH`] per `sendmmsg`, until the queue is empty or
    /// the kernel refuses (send buffer full: the rest waits for writability). Returns how many
    /// were sent, and calls `failed` for each that failed for good (e.g. `EMSGSIZE`).
    /// Large datagrams are fragmented as with `sendto` (no don't-fragment option is set).
    pub(crate) fn flush(&mut self, mut failed: impl FnMut(SocketAddr, io::Error)) -> u64 {
        let mut sent = 0u64;
        let mut addrs: Vec<SocketAddrAny> = Vec::with_capacity(SEND_BATCH);
        while !self.pending.is_empty() {
            let run = self.gso_run(0);
            if run >= 2 {
                match self.send_gso(run) {
                    Ok(_) => {
                        sent += run as u64;
                        self.pending.drain(..run);
                        continue;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // Not supported here (old kernel, device, IPsec): never again. Any other
                    // error: these datagrams go out one by one below, so it is reported for the
                    // one it concerns.
                    Err(e) => {
                        if matches!(
                            e.raw_os_error(),
                            Some(
                                nix::libc::EINVAL
                                    | nix::libc::EIO
                                    | nix::libc::ENOPROTOOPT
                                    | nix::libc::EOPNOTSUPP
                            )
                        ) {
                            tracing::debug!(error = %e, "UDP GSO refused, sending datagrams one by one");
                            self.gso = false;
                        }
                    }
                }
            }
            // A sendmmsg batch up to the next GSO run.
            let mut n = 1;
            while n < self.pending.len().min(SEND_BATCH) && self.gso_run(n) < 2 {
                n += 1;
            }
            if run >= 2 {
                n = run; // the GSO send of this run failed: send it as single datagrams
            }
            addrs.clear();
            addrs.extend(
                self.pending
                    .iter()
                    .take(n)
                    .map(|(a, _)| SocketAddrAny::from(*a)),
            );
            let result = {
                let iovs: Vec<[IoSlice<'_>; 1]> = self
                    .pending
                    .iter()
                    .take(n)
                    .map(|(_, b)| [IoSlice::new(b)])
                    .collect();
                let mut controls: Vec<SendAncillaryBuffer<'_, '_, '_>> =
                    (0..n).map(|_| SendAncillaryBuffer::default()).collect();
                let mut msgs: Vec<MMsgHdr<'_>> = addrs
                    .iter()
                    .zip(&iovs)
                    .zip(controls.iter_mut())
                    .map(|((addr, iov), control)| MMsgHdr::new_with_addr(addr, iov, control))
                    .collect();
                let socket = &self.socket;
                socket.try_io(Interest::WRITABLE, || {
                    sendmmsg(socket, &mut msgs, SendFlags::empty()).map_err(io::Error::from)
                })
            };
            match result {
                Ok(k) => {
                    let k = k.min(n);
                    sent += k as u64;
                    self.pending.drain(..k);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // The first datagram of the batch failed for good: report it, go on.
                Err(e) => {
                    if let Some((remote, _)) = self.pending.pop_front() {
                        failed(remote, e);
                    }
                }
            }
        }
        sent
    }
}
