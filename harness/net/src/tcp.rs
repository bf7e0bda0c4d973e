//! TCP and TLS: the listener task, one task per connection (framing reader + queued writer +
//! idle watch), outbound connects (plus the TLS handshake), and the driver-side connection
//! table. Both transports share this code: a TLS connection is a TCP connection whose byte
//! stream runs through rustls, so only the handshake and the counters differ.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use lmpe_proto::endpoint::{Incoming, TransportKind};
use lmpe_wire::sip::StreamFramer;
use lmpe_wire::WireError;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::stats::Shared;
use crate::tls::{self, TlsContext};
use crate::transport::{stopped, SOCKET_BUFFER};
use crate::NetError;

/// Messages queued for one connection's writer before transmits to it fail.
const WRITE_QUEUE: usize = 4096;
/// Give up connecting after this long (RFC 3261 Timer B/F: 64 × T1).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(32);
/// Listen backlog.
const BACKLOG: i32 = 1024;
/// Reader buffer per connection.
const READ_CHUNK: usize = 16 * 1024;
/// Writer buffer per connection.
const WRITE_BUFFER: usize = 64 * 1024;
/// Messages written per flush at most.
const WRITE_BATCH: u64 = 64;
/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Binds a non-blocking TCP listener (SO_REUSEADDR on Unix, so a restart is not blocked by
/// TIME_WAIT connections).
pub(crate) fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, NetError> {
    let setup = |operation, source| NetError::Socket {
        transport: TransportKind::Tcp,
        operation,
        source,
    };
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))
        .map_err(|e| setup("create", e))?;
    #[cfg(unix)]
    socket
        .set_reuse_address(true)
        .map_err(|e| setup("set SO_REUSEADDR", e))?;
    if let Err(e) = socket.set_recv_buffer_size(SOCKET_BUFFER) {
        tracing::debug!(error = %e, "cannot enlarge the TCP receive buffer");
    }
    if let Err(e) = socket.set_send_buffer_size(SOCKET_BUFFER) {
        tracing::debug!(error = %e, "cannot enlarge the TCP send buffer");
    }
    socket
        .set_nonblocking(true)
        .map_err(|e| setup("set non-blocking", e))?;
    socket.bind(&addr.into()).map_err(|source| NetError::Bind {
        transport: TransportKind::Tcp,
        addr,
        source,
    })?;
    socket.listen(BACKLOG).map_err(|e| setup("listen", e))?;
    Ok(socket.into())
}

/// Registers a bound listener with the tokio reactor.
pub(crate) fn register(listener: std::net::TcpListener) -> Result<TcpListener, NetError> {
    TcpListener::from_std(listener).map_err(|source| NetError::Socket {
        transport: TransportKind::Tcp,
        operation: "register with tokio",
        source,
    })
}

/// What TCP and TLS tasks tell the driver.
#[derive(Debug)]
pub(crate) enum TcpEvent {
    /// A framed message.
    Incoming(Incoming),
    /// An inbound connection, to be entered in the table.
    Accepted {
        kind: TransportKind,
        remote: SocketAddr,
        id: u64,
        tx: mpsc::Sender<Arc<[u8]>>,
    },
    /// An outbound connect (or TLS handshake) failed; the queued messages were not sent.
    ConnectFailed {
        kind: TransportKind,
        remote: SocketAddr,
        id: u64,
        error: String,
        unsent: usize,
    },
    /// A connection ended; `unsent` were queued but not written.
    Closed {
        kind: TransportKind,
        remote: SocketAddr,
        id: u64,
        reason: CloseReason,
        unsent: Vec<Arc<[u8]>>,
    },
}

/// Why a connection ended.
#[derive(Debug)]
pub(crate) enum CloseReason {
    /// The peer closed its side.
    Eof,
    /// No traffic for the idle timeout.
    Idle,
    /// The byte stream cannot be framed.
    Framing(WireError),
    /// Reading failed (reset, …).
    Read(io::Error),
    /// Writing failed; the message being written was lost too.
    Write(io::Error),
    /// The driver dropped the connection's queue (replaced, or stopping).
    Dropped,
    /// The driver is shutting down.
    Stopped,
}

/// What a connection task needs besides its stream.
#[derive(Debug, Clone)]
pub(crate) struct ConnCtx {
    pub(crate) shared: Arc<Shared>,
    pub(crate) events: mpsc::Sender<TcpEvent>,
    pub(crate) stop: watch::Receiver<bool>,
    /// Dropped when the task ends; the driver waits for all of these on shutdown.
    pub(crate) _alive: mpsc::Sender<()>,
    pub(crate) idle_timeout: Duration,
    pub(crate) max_message: usize,
    /// `Tcp`, or `Tls` when `tls` is set.
    pub(crate) kind: TransportKind,
    /// The TLS configurations, for TLS connections.
    pub(crate) tls: Option<Arc<TlsContext>>,
}

/// A live connection as the driver sees it.
#[derive(Debug)]
struct ConnEntry {
    id: u64,
    tx: mpsc::Sender<Arc<[u8]>>,
}

/// Why [`TcpTransport::send`] could not queue a message.
pub(crate) enum TcpSendError {
    /// The connection's write queue is full.
    QueueFull,
}

/// The driver's side of TCP or TLS (after [`ConnCtx::kind`]): the connection table, keyed by remote address.
#[derive(Debug)]
pub(crate) struct TcpTransport {
    conns: HashMap<SocketAddr, ConnEntry>,
    ctx: ConnCtx,
}

impl TcpTransport {
    pub(crate) fn new(ctx: ConnCtx) -> Self {
        Self {
            conns: HashMap::new(),
            ctx,
        }
    }

    /// Queues `bytes` on the live connection to `remote`, or opens one.
    pub(crate) fn send(
        &mut self,
        remote: SocketAddr,
        bytes: Arc<[u8]>,
    ) -> Result<(), TcpSendError> {
        let bytes = match self.conns.get(&remote) {
            Some(conn) => match conn.tx.try_send(bytes) {
                Ok(()) => return Ok(()),
                Err(mpsc::error::TrySendError::Full(_)) => return Err(TcpSendError::QueueFull),
                Err(mpsc::error::TrySendError::Closed(bytes)) => {
                    // The connection is ending; its Closed event will find a newer id.
                    self.conns.remove(&remote);
                    bytes
                }
            },
            None => bytes,
        };
        self.connect(remote, bytes);
        Ok(())
    }

    /// Enters an accepted connection (a newer one to the same address replaces the older).
    pub(crate) fn accepted(&mut self, remote: SocketAddr, id: u64, tx: mpsc::Sender<Arc<[u8]>>) {
        self.conns.insert(remote, ConnEntry { id, tx });
    }

    /// Forgets connection `id` if it is still the one entered for `remote`.
    pub(crate) fn remove(&mut self, remote: SocketAddr, id: u64) {
        if self.conns.get(&remote).is_some_and(|c| c.id == id) {
            self.conns.remove(&remote);
        }
    }

    fn connect(&mut self, remote: SocketAddr, first: Arc<[u8]>) {
        let (tx, mut rx) = mpsc::channel(WRITE_QUEUE);
        // A fresh channel has room for one message.
        let _ = tx.try_send(first);
        let id = self.ctx.shared.next_conn_id();
        self.conns.insert(remote, ConnEntry { id, tx });
        let mut ctx = self.ctx.clone();
        tokio::spawn(async move {
            let connect = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(remote));
            let result = tokio::select! {
                result = connect => result,
                () = stopped(&mut ctx.stop) => return,
            };
            let error = match result {
                Ok(Ok(stream)) => match ctx.tls.clone() {
                    None => {
                        Shared::add(&ctx.shared.tcp.opened, 1);
                        tracing::debug!(%remote, id, "TCP connected");
                        run_tcp(stream, remote, id, rx, ctx).await;
                        return;
                    }
                    Some(tls) => match connect_tls(stream, remote, &tls, &mut ctx).await {
                        Some(Ok(stream)) => {
                            Shared::add(&ctx.shared.tls.opened, 1);
                            tracing::debug!(%remote, id, "TLS connected");
                            run_tls(stream.into(), remote, id, rx, ctx).await;
                            return;
                        }
                        Some(Err(error)) => error,
                        None => return,
                    },
                },
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("connect timed out after {CONNECT_TIMEOUT:?}"),
            };
            tracing::debug!(%remote, id, %error, kind = ctx.kind.via_token(), "connect failed");
            rx.close();
            let mut unsent = 0;
            while rx.try_recv().is_ok() {
                unsent += 1;
            }
            let _ = ctx
                .events
                .send(TcpEvent::ConnectFailed {
                    kind: ctx.kind,
                    remote,
                    id,
                    error,
                    unsent,
                })
                .await;
        });
    }
}

/// The client side of a TLS handshake on a fresh TCP connection: `None` when stopped, else
/// the stream or a precise reason for the failure (counted as a handshake failure).
async fn connect_tls(
    stream: TcpStream,
    remote: SocketAddr,
    tls: &TlsContext,
    ctx: &mut ConnCtx,
) -> Option<Result<tokio_rustls::client::TlsStream<TcpStream>, String>> {
    let handshake = tokio::time::timeout(
        tls.handshake_timeout,
        tls.connector.connect(tls.server_name(remote), stream),
    );
    let result = tokio::select! {
        result = handshake => result,
        () = stopped(&mut ctx.stop) => return None,
    };
    let error = match result {
        Ok(Ok(stream)) => return Some(Ok(stream)),
        Ok(Err(e)) => format!("TLS handshake with {remote} failed: {}", tls::describe(&e)),
        Err(_) => format!(
            "TLS handshake with {remote} timed out after {:?}",
            tls.handshake_timeout
        ),
    };
    Shared::add(&ctx.shared.tls_handshake_failures, 1);
    Some(Err(error))
}

/// The server side of a TLS handshake on an accepted TCP connection; on success the
/// connection is entered in the driver's table and run.
async fn accept_tls(stream: TcpStream, remote: SocketAddr, tls: Arc<TlsContext>, ctx: ConnCtx) {
    let mut stop = ctx.stop.clone();
    let handshake = tokio::time::timeout(tls.handshake_timeout, tls.acceptor.accept(stream));
    let result = tokio::select! {
        result = handshake => result,
        () = stopped(&mut stop) => return,
    };
    let stream = match result {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            Shared::add(&ctx.shared.tls_handshake_failures, 1);
            tracing::info!(%remote, reason = %tls::describe(&e), "inbound TLS handshake failed");
            return;
        }
        Err(_) => {
            Shared::add(&ctx.shared.tls_handshake_failures, 1);
            tracing::info!(%remote, timeout = ?tls.handshake_timeout, "inbound TLS handshake timed out");
            return;
        }
    };
    let id = ctx.shared.next_conn_id();
    let (tx, rx) = mpsc::channel(WRITE_QUEUE);
    let accepted = TcpEvent::Accepted {
        kind: TransportKind::Tls,
        remote,
        id,
        tx,
    };
    if ctx.events.send(accepted).await.is_err() {
        return;
    }
    Shared::add(&ctx.shared.tls.opened, 1);
    tracing::debug!(%remote, id, "TLS accepted");
    run_tls(stream.into(), remote, id, rx, ctx).await;
}

/// Accepts connections until stopped; each gets its own task (which first runs the TLS
/// handshake on a TLS listener).
pub(crate) async fn run_listener(listener: TcpListener, ctx: ConnCtx) {
    let mut stop = ctx.stop.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stop) => break,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, kind = ctx.kind.via_token(), "accept failed");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    () = stopped(&mut stop) => break,
                }
            }
        };
        if let Some(tls) = &ctx.tls {
            // The handshake runs in the connection's task, so a slow client cannot hold up
            // the accept loop; the connection is entered in the table once it is done.
            tokio::spawn(accept_tls(stream, remote, Arc::clone(tls), ctx.clone()));
            continue;
        }
        let id = ctx.shared.next_conn_id();
        let (tx, rx) = mpsc::channel(WRITE_QUEUE);
        // Sent before the connection task starts, so the driver knows the connection before
        // any message that arrives on it.
        let accepted = TcpEvent::Accepted {
            kind: TransportKind::Tcp,
            remote,
            id,
            tx,
        };
        if ctx.events.send(accepted).await.is_err() {
            break;
        }
        Shared::add(&ctx.shared.tcp.opened, 1);
        tracing::debug!(%remote, id, "TCP accepted");
        tokio::spawn(run_tcp(stream, remote, id, rx, ctx.clone()));
    }
}

/// Runs one plain TCP connection (lock-free owned halves) until it closes.
async fn run_tcp(
    stream: TcpStream,
    remote: SocketAddr,
    id: u64,
    rx: mpsc::Receiver<Arc<[u8]>>,
    ctx: ConnCtx,
) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(%remote, error = %e, "cannot set TCP_NODELAY");
    }
    let local = match stream.local_addr() {
        Ok(local) => local,
        Err(e) => {
            tracing::debug!(%remote, error = %e, "TCP connection lost before start");
            finish(remote, id, CloseReason::Read(e), rx, &ctx).await;
            return;
        }
    };
    let (rd, wr) = stream.into_split();
    run_connection(rd, wr, local, remote, id, rx, ctx).await;
}

/// Runs one TLS connection (after its handshake) until it closes.
async fn run_tls(
    stream: tokio_rustls::TlsStream<TcpStream>,
    remote: SocketAddr,
    id: u64,
    rx: mpsc::Receiver<Arc<[u8]>>,
    ctx: ConnCtx,
) {
    let tcp = stream.get_ref().0;
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(%remote, error = %e, "cannot set TCP_NODELAY");
    }
    let local = match tcp.local_addr() {
        Ok(local) => local,
        Err(e) => {
            tracing::debug!(%remote, error = %e, "TLS connection lost before start");
            finish(remote, id, CloseReason::Read(e), rx, &ctx).await;
            return;
        }
    };
    let (rd, wr) = tokio::io::split(stream);
    run_connection(rd, wr, local, remote, id, rx, ctx).await;
}

/// Runs one connection's reader, writer and idle watch until it closes, then tells the driver.
async fn run_connection<R, W>(
    mut rd: R,
    mut wr: W,
    local: SocketAddr,
    remote: SocketAddr,
    id: u64,
    mut rx: mpsc::Receiver<Arc<[u8]>>,
    ctx: ConnCtx,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let activity = AtomicU64::new(0);
    let mut stop = ctx.stop.clone();
    let reason = tokio::select! {
        reason = read_loop(&mut rd, remote, local, &ctx, &activity) => reason,
        reason = write_loop(&mut wr, &mut rx, &ctx, &activity) => reason,
        reason = idle_watch(ctx.idle_timeout, &activity) => reason,
        () = stopped(&mut stop) => CloseReason::Stopped,
    };
    drop((rd, wr));
    finish(remote, id, reason, rx, &ctx).await;
}

/// Counts and logs the close and returns unwritten messages to the driver.
async fn finish(
    remote: SocketAddr,
    id: u64,
    reason: CloseReason,
    mut rx: mpsc::Receiver<Arc<[u8]>>,
    ctx: &ConnCtx,
) {
    Shared::add(&ctx.shared.stream(ctx.kind).closed, 1);
    let kind = ctx.kind.via_token();
    match &reason {
        CloseReason::Framing(e) => {
            Shared::add(&ctx.shared.framing_errors, 1);
            tracing::warn!(%remote, id, kind, error = %e, "framing error, closing connection");
        }
        CloseReason::Read(e) | CloseReason::Write(e) => {
            tracing::debug!(%remote, id, kind, error = %e, "connection failed");
        }
        other => tracing::debug!(%remote, id, kind, reason = ?other, "connection closed"),
    }
    if matches!(reason, CloseReason::Stopped) {
        return;
    }
    rx.close();
    let mut unsent = Vec::new();
    while let Ok(bytes) = rx.try_recv() {
        unsent.push(bytes);
    }
    let _ = ctx
        .events
        .send(TcpEvent::Closed {
            kind: ctx.kind,
            remote,
            id,
            reason,
            unsent,
        })
        .await;
}

async fn read_loop<R: AsyncRead + Unpin>(
    rd: &mut R,
    remote: SocketAddr,
    local: SocketAddr,
    ctx: &ConnCtx,
    activity: &AtomicU64,
) -> CloseReason {
    let mut framer = StreamFramer::new(ctx.max_message);
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = match rd.read(&mut buf).await {
            Ok(0) => return CloseReason::Eof,
            Ok(n) => n,
            Err(e) => return CloseReason::Read(e),
        };
        activity.fetch_add(1, Relaxed);
        framer.push(&buf[..n]);
        while let Some(framed) = framer.next_message() {
            let bytes = match framed {
                Ok(bytes) => bytes,
                Err(e) => return CloseReason::Framing(e),
            };
            Shared::add(&ctx.shared.stream(ctx.kind).rx, 1);
            let incoming = Incoming {
                transport: ctx.kind,
                remote,
                local,
                bytes,
            };
            if ctx.events.send(TcpEvent::Incoming(incoming)).await.is_err() {
                return CloseReason::Stopped;
            }
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    wr: &mut W,
    rx: &mut mpsc::Receiver<Arc<[u8]>>,
    ctx: &ConnCtx,
    activity: &AtomicU64,
) -> CloseReason {
    let mut out = BufWriter::with_capacity(WRITE_BUFFER, wr);
    while let Some(first) = rx.recv().await {
        if let Err(e) = out.write_all(&first).await {
            return CloseReason::Write(e);
        }
        let mut written: u64 = 1;
        while written < WRITE_BATCH {
            let Ok(bytes) = rx.try_recv() else { break };
            if let Err(e) = out.write_all(&bytes).await {
                return CloseReason::Write(e);
            }
            written += 1;
        }
        if let Err(e) = out.flush().await {
            return CloseReason::Write(e);
        }
        Shared::add(&ctx.shared.stream(ctx.kind).tx, written);
        activity.fetch_add(1, Relaxed);
    }
    CloseReason::Dropped
}

/// Resolves once no read or write happened for `timeout` (checked in quarter steps, so the
/// close comes between 1 and 1.25 × `timeout` after the last traffic).
async fn idle_watch(timeout: Duration, activity: &AtomicU64) -> CloseReason {
    if timeout.is_zero() {
        return std::future::pending().await;
    }
    let step = timeout / 4;
    let mut seen = activity.load(Relaxed);
    let mut quiet_steps = 0;
    loop {
        tokio::time::sleep(step).await;
        let now = activity.load(Relaxed);
        if now == seen {
            quiet_steps += 1;
            if quiet_steps >= 4 {
                return CloseReason::Idle;
            }
        } else {
            seen = now;
            quiet_steps = 0;
        }
    }
}
