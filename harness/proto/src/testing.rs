//! In-memory test support: a [`VirtualClock`] and a [`Pair`] of [`Endpoint`]s wired back to
//! back, in the style of quinn's test pair.
//!
//! No socket is opened and no clock is read: the pair moves every [`Transmit`] of one endpoint
//! into [`Endpoint::handle_input`] of the other (optionally after a fixed latency, or not at
//! all when a drop filter says so), and when nothing is in flight it jumps the virtual clock
//! to the earliest [`Endpoint::poll_timeout`]. Minutes of protocol time (retransmissions,
//! Timer F, heartbeats) therefore run in milliseconds of real time, deterministically.
//!
//! Every transmitted message is logged as a [`Packet`] with its [`Fate`], so a test (or a load
//! run) can account for each one.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::endpoint::{Endpoint, Incoming, TransportKind};

/// A clock that only moves when told to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtualClock {
    start: Instant,
    now: Instant,
}

impl VirtualClock {
    /// A clock standing at `start` (take one real `Instant::now()` at the start of a test).
    pub fn new(start: Instant) -> Self {
        Self { start, now: start }
    }

    /// The instant the clock started at.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// The current virtual instant.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Virtual time elapsed since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// Moves the clock forward by `by`; returns the new instant.
    pub fn advance(&mut self, by: Duration) -> Instant {
        self.now += by;
        self.now
    }

    /// Moves the clock to `to`, never backwards; returns the new instant.
    pub fn advance_to(&mut self, to: Instant) -> Instant {
        self.now = self.now.max(to);
        self.now
    }
}

/// One end of a [`Pair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The first endpoint ([`Pair::a`]).
    A,
    /// The second endpoint ([`Pair::b`]).
    B,
}

impl Side {
    /// The other side.
    pub fn peer(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }
}

/// What became of a transmitted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fate {
    /// Handed to the peer (or still in flight when latency is set).
    Delivered,
    /// Discarded by the drop filter (simulated loss).
    Dropped,
    /// Addressed to neither endpoint of the pair; discarded.
    Unroutable,
}

/// One message an endpoint handed to the (simulated) wire.
#[derive(Debug, Clone)]
pub struct Packet {
    /// Position in the log, from 0.
    pub seq: usize,
    /// Virtual instant it was sent.
    pub at: Instant,
    /// Who sent it.
    pub from: Side,
    /// The transport the endpoint chose.
    pub transport: TransportKind,
    /// The sender's address.
    pub src: SocketAddr,
    /// The destination the endpoint chose.
    pub dst: SocketAddr,
    /// The bytes.
    pub bytes: Arc<[u8]>,
    /// What became of it.
    pub fate: Fate,
}

impl Packet {
    /// Whether the bytes are a SIP response (start with `SIP/2.0 `).
    pub fn is_response(&self) -> bool {
        self.bytes.starts_with(b"SIP/2.0 ")
    }

    /// The first line of the message (for assertion messages and ladders).
    pub fn first_line(&self) -> String {
        let end = self
            .bytes
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap_or(self.bytes.len());
        String::from_utf8_lossy(&self.bytes[..end]).into_owned()
    }
}

/// The virtual clock could not advance: an endpoint keeps asking to be woken at an instant
/// that has already passed without its timeout making progress (a bug in the endpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stalled {
    /// The instant the endpoints keep asking for.
    pub at: Instant,
    /// Virtual time elapsed since the clock started.
    pub elapsed: Duration,
}

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "virtual clock stalled at {:?}: poll_timeout keeps returning an instant that has passed",
            self.elapsed
        )
    }
}

impl std::error::Error for Stalled {}

/// Decides, for each transmitted message, whether it is lost (`true`: drop it).
pub type DropFilter = Box<dyn FnMut(&Packet) -> bool>;

/// Consecutive wake-ups without the clock advancing before [`Stalled`] is reported.
const STALL_LIMIT: usize = 10_000;

/// Two endpoints wired back to back over a simulated network on a [`VirtualClock`].
///
/// Transmits addressed to the other endpoint's address are delivered to it (with the
/// transport the sender chose, `remote` = the sender's address, `local` = the receiver's).
/// Drive it with [`Pair::drive`] after acting on an endpoint, and with [`Pair::run_for`] /
/// [`Pair::run_until`] to let time pass.
pub struct Pair<A, B> {
    /// The first endpoint.
    pub a: A,
    /// The second endpoint.
    pub b: B,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    clock: VirtualClock,
    latency: Duration,
    filter: Option<DropFilter>,
    log: Vec<Packet>,
    in_flight: VecDeque<(Instant, Side, Incoming)>,
}

impl<A, B> std::fmt::Debug for Pair<A, B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("a_addr", &self.a_addr)
            .field("b_addr", &self.b_addr)
            .field("clock", &self.clock)
            .field("latency", &self.latency)
            .field("packets", &self.log.len())
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl<A: Endpoint, B: Endpoint> Pair<A, B> {
    /// Wires `a` (reachable at `a_addr`) to `b` (at `b_addr`); the clock starts at `start`.
    /// The endpoints' own configuration must already point at each other's address.
    pub fn new(a: A, a_addr: SocketAddr, b: B, b_addr: SocketAddr, start: Instant) -> Self {
        Self {
            a,
            b,
            a_addr,
            b_addr,
            clock: VirtualClock::new(start),
            latency: Duration::ZERO,
            filter: None,
            log: Vec::new(),
            in_flight: VecDeque::new(),
        }
    }

    /// The current virtual instant.
    pub fn now(&self) -> Instant {
        self.clock.now()
    }

    /// The clock.
    pub fn clock(&self) -> &VirtualClock {
        &self.clock
    }

    /// Virtual time elapsed since the start.
    pub fn elapsed(&self) -> Duration {
        self.clock.elapsed()
    }

    /// The address of one side.
    pub fn addr(&self, side: Side) -> SocketAddr {
        match side {
            Side::A => self.a_addr,
            Side::B => self.b_addr,
        }
    }

    /// Sets the one-way delay of every delivered message (zero by default).
    pub fn set_latency(&mut self, latency: Duration) {
        self.latency = latency;
    }

    /// Installs a loss model: messages for which `filter` returns `true` are dropped.
    pub fn set_drop_filter(&mut self, filter: impl FnMut(&Packet) -> bool + 'static) {
        self.filter = Some(Box::new(filter));
    }

    /// Removes the loss model.
    pub fn clear_drop_filter(&mut self) {
        self.filter = None;
    }

    /// Every message transmitted so far, in order.
    pub fn packets(&self) -> &[Packet] {
        &self.log
    }

    /// Messages still in flight (only with a non-zero latency).
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Collects what both endpoints want to send, logging and routing each message.
    fn collect(&mut self) {
        loop {
            let (from, t) = if let Some(t) = self.a.poll_transmit() {
                (Side::A, t)
            } else if let Some(t) = self.b.poll_transmit() {
                (Side::B, t)
            } else {
                return;
            };
            let src = self.addr(from);
            let mut packet = Packet {
                seq: self.log.len(),
                at: self.clock.now(),
                from,
                transport: t.transport,
                src,
                dst: t.remote,
                bytes: t.bytes,
                fate: Fate::Delivered,
            };
            if t.remote != self.addr(from.peer()) {
                packet.fate = Fate::Unroutable;
            } else if self.filter.as_mut().is_some_and(|f| f(&packet)) {
                packet.fate = Fate::Dropped;
            }
            if packet.fate == Fate::Delivered {
                self.in_flight.push_back((
                    packet.at + self.latency,
                    from.peer(),
                    Incoming {
                        transport: packet.transport,
                        remote: src,
                        local: packet.dst,
                        bytes: packet.bytes.to_vec(),
                    },
                ));
            }
            self.log.push(packet);
        }
    }

    /// Delivers everything that is due now, and whatever that provokes, until the network is
    /// quiet at the current instant. Returns the number of messages delivered.
    pub fn drive(&mut self) -> usize {
        let mut delivered = 0;
        loop {
            self.collect();
            let now = self.clock.now();
            match self.in_flight.front() {
                Some((at, _, _)) if *at <= now => {}
                _ => return delivered,
            }
            let Some((_, to, input)) = self.in_flight.pop_front() else {
                return delivered;
            };
            delivered += 1;
            match to {
                Side::A => self.a.handle_input(now, input),
                Side::B => self.b.handle_input(now, input),
            }
        }
    }

    /// The earliest instant something happens: a message arrives or an endpoint's timeout.
    pub fn next_wakeup(&mut self) -> Option<Instant> {
        [
            self.a.poll_timeout(),
            self.b.poll_timeout(),
            self.in_flight.front().map(|(at, _, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Drives the network, then jumps the clock to the next wake-up (if it is not later than
    /// `limit`), fires the endpoints' due timeouts and drives again. Returns whether anything
    /// was due.
    fn step(&mut self, limit: Instant) -> bool {
        self.drive();
        let Some(at) = self.next_wakeup().filter(|at| *at <= limit) else {
            return false;
        };
        let now = self.clock.advance_to(at);
        if self.a.poll_timeout().is_some_and(|t| t <= now) {
            self.a.handle_timeout(now);
        }
        if self.b.poll_timeout().is_some_and(|t| t <= now) {
            self.b.handle_timeout(now);
        }
        self.drive();
        true
    }

    /// Lets virtual time pass until `deadline`, handling every timeout and delivery on the way;
    /// the clock ends at `deadline`. Returns the number of wake-ups.
    ///
    /// # Errors
    /// [`Stalled`] if an endpoint keeps asking to be woken in the past.
    pub fn run_until(&mut self, deadline: Instant) -> Result<usize, Stalled> {
        let mut wakeups = 0;
        let mut stall = StallGuard::new(&self.clock);
        while self.step(deadline) {
            wakeups += 1;
            stall.check(&self.clock)?;
        }
        self.clock.advance_to(deadline);
        self.drive();
        Ok(wakeups)
    }

    /// Lets `duration` of virtual time pass (see [`Pair::run_until`]).
    ///
    /// # Errors
    /// [`Stalled`] if an endpoint keeps asking to be woken in the past.
    pub fn run_for(&mut self, duration: Duration) -> Result<usize, Stalled> {
        let deadline = self.clock.now() + duration;
        self.run_until(deadline)
    }

    /// Runs until `done` holds (checked after every wake-up) or `limit` of virtual time has
    /// passed; returns whether `done` held.
    ///
    /// # Errors
    /// [`Stalled`] if an endpoint keeps asking to be woken in the past.
    pub fn run_until_with(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&mut Self) -> bool,
    ) -> Result<bool, Stalled> {
        let deadline = self.clock.now() + limit;
        let mut stall = StallGuard::new(&self.clock);
        loop {
            self.drive();
            if done(self) {
                return Ok(true);
            }
            if !self.step(deadline) {
                self.clock.advance_to(deadline);
                self.drive();
                return Ok(done(self));
            }
            stall.check(&self.clock)?;
        }
    }
}

/// Detects an endpoint that keeps asking to be woken at the same instant (time never moves).
struct StallGuard {
    last: Instant,
    stuck: usize,
}

impl StallGuard {
    fn new(clock: &VirtualClock) -> Self {
        Self {
            last: clock.now(),
            stuck: 0,
        }
    }

    /// Call after every wake-up.
    fn check(&mut self, clock: &VirtualClock) -> Result<(), Stalled> {
        let now = clock.now();
        if now != self.last {
            self.stuck = 0;
            self.last = now;
            return Ok(());
        }
        self.stuck += 1;
        if self.stuck > STALL_LIMIT {
            return Err(Stalled {
                at: now,
                elapsed: clock.elapsed(),
            });
        }
        Ok(())
    }
}
