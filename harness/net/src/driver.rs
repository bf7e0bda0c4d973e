//! The driver task: owns the endpoint and the UDP socket, feeds it input and timeouts, sends
//! what it polls out; and the [`EndpointHandle`] that talks to it.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use lmpe_proto::endpoint::{Endpoint, Incoming, TransportKind};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};

use crate::stats::Shared;
use crate::tcp::{self, CloseReason, ConnCtx, TcpEvent, TcpSendError, TcpTransport};
use crate::tls::{self as tls_mod, TlsContext};
use crate::transport::{self, stopped};
use crate::udp::{self, UdpIn, UdpOut};
use crate::{NetError, NetStats, SipSocketConfig};

/// Datagrams, TCP events or commands handled per wake-up before transmits are drained.
const BATCH: usize = 64;
/// Queued UDP datagrams that trigger a flush while the endpoint is still producing output.
const FLUSH_EVERY: usize = 256;
/// Commands from handles waiting for the driver.
const COMMAND_QUEUE: usize = 1024;
/// Events from TCP tasks waiting for the driver (readers wait when it is full).
const EVENT_QUEUE: usize = 4096;

/// A closure run on the driver task against the endpoint.
type Command<E> = Box<dyn FnOnce(&mut E, Instant) + Send>;

/// Binds the sockets described by `cfg` (UDP and TCP on one port, the TLS listener on its
/// own) and spawns the driver task that owns `endpoint`, plus the TCP and TLS listener tasks.
/// Must be called within a tokio runtime.
pub async fn spawn_endpoint<E: Endpoint>(
    endpoint: E,
    cfg: SipSocketConfig,
) -> Result<EndpointHandle<E>, NetError> {
    // Validated before anything is bound.
    let tls_ctx = cfg
        .tls
        .as_ref()
        .map(TlsContext::new)
        .transpose()?
        .map(Arc::new);
    let bound = transport::bind(&cfg)?;
    let udp = bound.udp.map(udp::register).transpose()?;
    let listener = bound.tcp.map(tcp::register).transpose()?;
    let tls_listener = bound
        .tls
        .map(|(listener, local)| {
            tcp::register(listener)
                .map(|l| (l, local))
                .map_err(|e| e.for_transport(TransportKind::Tls))
        })
        .transpose()?;
    let local = bound.local;
    let tls_local = tls_listener.as_ref().map(|(_, local)| *local);

    let shared = Arc::new(Shared::default());
    shared.running.store(true, Relaxed);
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(false);
    let (child_stop_tx, child_stop_rx) = watch::channel(false);
    let (alive_tx, alive_rx) = mpsc::channel(1);
    let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);

    let base = ConnCtx {
        shared: Arc::clone(&shared),
        events: events_tx,
        stop: child_stop_rx,
        _alive: alive_tx,
        idle_timeout: cfg.tcp_idle_timeout,
        max_message: cfg.max_message,
        kind: TransportKind::Tcp,
        tls: None,
    };
    let tls = tls_listener.zip(tls_ctx).map(|((listener, _), tls)| {
        let ctx = ConnCtx {
            kind: TransportKind::Tls,
            tls: Some(tls),
            ..base.clone()
        };
        tokio::spawn(tcp::run_listener(listener, ctx.clone()));
        TcpTransport::new(ctx)
    });
    let tcp = listener.map(|listener| {
        tokio::spawn(tcp::run_listener(listener, base.clone()));
        TcpTransport::new(base.clone())
    });
    // The channels close once no task or table holds a context any more.
    drop(base);
    tracing::debug!(%local, ?tls_local, udp = cfg.udp, tcp = cfg.tcp, "endpoint bound");

    let driver = Driver {
        ep: endpoint,
        local,
        udp: udp.map(UdpOut::new),
        recv_bufs: UdpIn::new(),
        received: Vec::with_capacity(udp::RECV_BATCH),
        tcp,
        tls,
        shared: Arc::clone(&shared),
        deadline: None,
    };
    tokio::spawn(driver.run(Channels {
        cmd_rx,
        events_rx,
        stop_rx,
        child_stop_tx,
        alive_rx,
        done_tx,
    }));
    Ok(EndpointHandle {
        inner: Arc::new(Inner {
            cmd_tx,
            stop_tx,
            done_rx,
            shared,
            local,
            tls_local,
        }),
    })
}

/// A cloneable handle to a running endpoint driver. Dropping the last handle stops the driver.
pub struct EndpointHandle<E> {
    inner: Arc<Inner<E>>,
}

struct Inner<E> {
    cmd_tx: mpsc::Sender<Command<E>>,
    stop_tx: watch::Sender<bool>,
    done_rx: watch::Receiver<bool>,
    shared: Arc<Shared>,
    local: SocketAddr,
    tls_local: Option<SocketAddr>,
}

impl<E> Clone for EndpointHandle<E> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<E> fmt::Debug for EndpointHandle<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointHandle")
            .field("local_addr", &self.inner.local)
            .field("tls_local_addr", &self.inner.tls_local)
            .field("running", &self.inner.shared.running.load(Relaxed))
            .finish_non_exhaustive()
    }
}

impl<E: Endpoint> EndpointHandle<E> {
    /// The local address shared by the UDP socket and the TCP listener.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local
    }

    /// The local address of the TLS listener, when [`SipSocketConfig::tls`] is set.
    pub fn tls_local_addr(&self) -> Option<SocketAddr> {
        self.inner.tls_local
    }

    /// Runs `f` on the driver task against the endpoint, with the driver's current instant,
    /// and returns its result. Afterwards the driver sends what the endpoint queued and
    /// re-arms its timer, so this is how commands are issued and state is read. `f` runs on the
    /// driver task: it must not block, and if it panics the driver stops.
    pub async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut E, Instant) -> R + Send + 'static,
    ) -> Result<R, NetError> {
        let (tx, rx) = oneshot::channel();
        let command: Command<E> = Box::new(move |ep, now| {
            let _ = tx.send(f(ep, now));
        });
        self.inner
            .cmd_tx
            .send(command)
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)
    }

    /// Stops the driver, the listener and every connection task, and returns once all of
    /// them have ended and their sockets are closed. Idempotent.
    pub async fn shutdown(&self) {
        self.inner.stop_tx.send_replace(true);
        let mut done = self.inner.done_rx.clone();
        // An error means the driver is gone without saying so (it panicked); nothing to wait for.
        let _ = done.wait_for(|done| *done).await;
    }

    /// Whether the driver is still running.
    pub fn is_running(&self) -> bool {
        self.inner.shared.running.load(Relaxed)
    }

    /// A snapshot of the transport counters.
    pub fn stats(&self) -> NetStats {
        self.inner.shared.snapshot()
    }
}

/// The driver's channels (kept apart from [`Driver`] so the select borrows stay disjoint).
struct Channels<E> {
    cmd_rx: mpsc::Receiver<Command<E>>,
    events_rx: mpsc::Receiver<TcpEvent>,
    stop_rx: watch::Receiver<bool>,
    child_stop_tx: watch::Sender<bool>,
    alive_rx: mpsc::Receiver<()>,
    done_tx: watch::Sender<bool>,
}

struct Driver<E> {
    ep: E,
    local: SocketAddr,
    udp: Option<UdpOut>,
    /// Reused for every batch of datagrams.
    recv_bufs: UdpIn,
    /// The datagrams of one receive call (kept, so a wake-up allocates nothing for them).
    received: Vec<(SocketAddr, Vec<u8>)>,
    tcp: Option<TcpTransport>,
    tls: Option<TcpTransport>,
    shared: Arc<Shared>,
    /// The endpoint's timer as last polled.
    deadline: Option<Instant>,
}

impl<E: Endpoint> Driver<E> {
    async fn run(mut self, ch: Channels<E>) {
        let Channels {
            mut cmd_rx,
            mut events_rx,
            mut stop_rx,
            child_stop_tx,
            mut alive_rx,
            done_tx,
        } = ch;
        // Reports the driver as stopped even if the endpoint (or a `with` closure) panics.
        let running = RunningFlag(Arc::clone(&self.shared));
        // The endpoint may have work before any input arrives.
        self.after_wake(Instant::now());
        let sleep = tokio::time::sleep_until(tokio::time::Instant::now());
        tokio::pin!(sleep);
        let mut armed = None;
        loop {
            if armed != self.deadline {
                armed = self.deadline;
                if let Some(deadline) = armed {
                    sleep.as_mut().reset(deadline.into());
                }
            }
            let udp_pending = self.udp.as_ref().is_some_and(UdpOut::has_pending);
            tokio::select! {
                () = stopped(&mut stop_rx) => break,
                command = cmd_rx.recv() => {
                    let Some(command) = command else { break };
                    let now = Instant::now();
                    command(&mut self.ep, now);
                    for _ in 1..BATCH {
                        let Ok(command) = cmd_rx.try_recv() else { break };
                        command(&mut self.ep, now);
                    }
                    self.after_wake(now);
                }
                Some(event) = events_rx.recv(), if self.tcp.is_some() || self.tls.is_some() => {
                    let now = Instant::now();
                    self.on_tcp_event(now, event);
                    for _ in 1..BATCH {
                        let Ok(event) = events_rx.try_recv() else { break };
                        self.on_tcp_event(now, event);
                    }
                    self.after_wake(now);
                }
                ready = readable(self.udp.as_ref().map(|u| &u.socket)) => {
                    if let Err(e) = ready {
                        tracing::warn!(error = %e, "UDP socket readiness failed");
                    }
                    let now = Instant::now();
                    self.recv_udp(now);
                    self.after_wake(now);
                }
                ready = writable(self.udp.as_ref().map(|u| &u.socket)), if udp_pending => {
                    if let Err(e) = ready {
                        tracing::warn!(error = %e, "UDP socket readiness failed");
                    }
                    let now = Instant::now();
                    self.flush_udp(now);
                    self.after_wake(now);
                }
                () = &mut sleep, if armed.is_some() => {
                    let now = Instant::now();
                    self.ep.handle_timeout(now);
                    self.after_wake(now);
                }
            }
        }

        drop(running);
        // Pending commands are dropped, so their callers get `Stopped`.
        drop(cmd_rx);
        child_stop_tx.send_replace(true);
        // Unblocks TCP/TLS tasks waiting to hand the driver an event.
        drop(events_rx);
        // Closes the UDP socket and drops the driver's task tokens and write queues.
        drop(self);
        while alive_rx.recv().await.is_some() {}
        done_tx.send_replace(true);
        tracing::debug!("endpoint driver stopped");
    }

    /// After input: run an overdue timeout, send everything queued, re-poll the timer.
    fn after_wake(&mut self, now: Instant) {
        if self.ep.poll_timeout().is_some_and(|t| t <= now) {
            self.ep.handle_timeout(now);
        }
        loop {
            while let Some(t) = self.ep.poll_transmit() {
                match t.transport {
                    TransportKind::Udp => self.send_udp(now, t.remote, t.bytes),
                    kind => self.send_stream(now, kind, t.remote, t.bytes),
                }
            }
            // UDP transmits of this wake-up go out together; a failure tells the endpoint,
            // which may have more to send.
            if !self.flush_udp(now) {
                break;
            }
        }
        self.deadline = self.ep.poll_timeout();
    }

    fn send_failed(
        &mut self,
        now: Instant,
        transport: TransportKind,
        remote: SocketAddr,
        count: usize,
        error: &str,
    ) {
        Shared::add(&self.shared.send_errors, count as u64);
        self.ep
            .handle_transport_error(now, transport, remote, error);
    }

    /// Hands every ready datagram (at most [`BATCH`], taken with `recvmmsg`) to the endpoint.
    fn recv_udp(&mut self, now: Instant) {
        let Some(udp) = &self.udp else { return };
        let mut got = std::mem::take(&mut self.received);
        let mut received = 0;
        let mut calls = 0;
        while received < BATCH && calls < BATCH {
            calls += 1;
            got.clear();
            match self.recv_bufs.recv(&udp.socket, &mut got) {
                Ok((buffers, n)) => {
                    received += n;
                    for (remote, bytes) in got.drain(..) {
                        self.ep.handle_input(
                            now,
                            Incoming {
                                transport: TransportKind::Udp,
                                remote,
                                local: self.local,
                                bytes,
                            },
                        );
                    }
                    if buffers < udp::RECV_BATCH {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                // E.g. an ICMP error reported on the socket: not about any one datagram.
                Err(e) => tracing::debug!(error = %e, "UDP receive error"),
            }
        }
        self.received = got;
        Shared::add(&self.shared.udp_rx, received as u64);
    }

    fn send_udp(&mut self, now: Instant, remote: SocketAddr, bytes: Arc<[u8]>) {
        let Some(udp) = &mut self.udp else {
            return self.send_failed(now, TransportKind::Udp, remote, 1, "UDP is disabled");
        };
        if let Err(e) = udp.queue(remote, bytes) {
            return self.send_failed(now, TransportKind::Udp, remote, 1, &e.to_string());
        }
        // Keep a long burst (e.g. many Timer E retransmissions at once) from filling the queue.
        if udp.pending() >= FLUSH_EVERY {
            self.flush_udp(now);
        }
    }

    /// Sends queued datagrams. Returns whether a failure was reported to the endpoint.
    fn flush_udp(&mut self, now: Instant) -> bool {
        let Some(udp) = &mut self.udp else {
            return false;
        };
        if !udp.has_pending() {
            return false;
        }
        let mut failures = Vec::new();
        let sent = udp.flush(|remote, e| failures.push((remote, e.to_string())));
        Shared::add(&self.shared.udp_tx, sent);
        let failed = !failures.is_empty();
        for (remote, error) in failures {
            self.send_failed(now, TransportKind::Udp, remote, 1, &error);
        }
        failed
    }

    /// The connection table of stream transport `kind` (TCP or TLS), if enabled.
    fn table(&mut self, kind: TransportKind) -> Option<&mut TcpTransport> {
        match kind {
            TransportKind::Tls => self.tls.as_mut(),
            _ => self.tcp.as_mut(),
        }
    }

    /// Sends over TCP or TLS (`kind`), on a live connection to `remote` or a new one.
    fn send_stream(
        &mut self,
        now: Instant,
        kind: TransportKind,
        remote: SocketAddr,
        bytes: Arc<[u8]>,
    ) {
        let Some(table) = self.table(kind) else {
            let error = format!("{} is disabled", kind.via_token());
            return self.send_failed(now, kind, remote, 1, &error);
        };
        match table.send(remote, bytes) {
            Ok(()) => {}
            Err(TcpSendError::QueueFull) => {
                let error = format!("{} write queue full", kind.via_token());
                self.send_failed(now, kind, remote, 1, &error);
            }
        }
    }

    fn on_tcp_event(&mut self, now: Instant, event: TcpEvent) {
        match event {
            TcpEvent::Incoming(incoming) => self.ep.handle_input(now, incoming),
            TcpEvent::Accepted {
                kind,
                remote,
                id,
                tx,
            } => {
                if let Some(table) = self.table(kind) {
                    table.accepted(remote, id, tx);
                }
            }
            TcpEvent::ConnectFailed {
                kind,
                remote,
                id,
                error,
                unsent,
            } => {
                if let Some(table) = self.table(kind) {
                    table.remove(remote, id);
                }
                self.send_failed(now, kind, remote, unsent.max(1), &error);
            }
            TcpEvent::Closed {
                kind,
                remote,
                id,
                reason,
                unsent,
            } => {
                if let Some(table) = self.table(kind) {
                    table.remove(remote, id);
                }
                let via = kind.via_token();
                match reason {
                    // Nothing went wrong: what was queued goes out on a new connection.
                    CloseReason::Idle => {
                        for bytes in unsent {
                            self.send_stream(now, kind, remote, bytes);
                        }
                    }
                    CloseReason::Write(e) => {
                        let error = format!("{via} write failed: {}", tls_mod::describe(&e));
                        self.send_failed(now, kind, remote, unsent.len() + 1, &error);
                    }
                    // A TLS protocol failure after the handshake, e.g. the server refusing our
                    // client certificate (TLS 1.3 clients learn that only after the handshake).
                    CloseReason::Read(e) if tls_mod::tls_error(&e).is_some() => {
                        let error = format!(
                            "TLS connection to {remote} failed: {}",
                            tls_mod::describe(&e)
                        );
                        self.send_failed(now, kind, remote, unsent.len(), &error);
                    }
                    reason if !unsent.is_empty() => {
                        let error = format!("{via} connection closed before sending ({reason:?})");
                        self.send_failed(now, kind, remote, unsent.len(), &error);
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Clears [`Shared::running`] when dropped.
struct RunningFlag(Arc<Shared>);

impl Drop for RunningFlag {
    fn drop(&mut self) {
        self.0.running.store(false, Relaxed);
    }
}

async fn readable(socket: Option<&UdpSocket>) -> std::io::Result<()> {
    match socket {
        Some(socket) => socket.readable().await,
        None => std::future::pending().await,
    }
}

async fn writable(socket: Option<&UdpSocket>) -> std::io::Result<()> {
    match socket {
        Some(socket) => socket.writable().await,
        None => std::future::pending().await,
    }
}
