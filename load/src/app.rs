//! `LoadApp`: the APP side of the load, a sans-IO [`Endpoint`] holding many chats. Chats arrive
//! on the open schedule; each runs the LMPE APP session machine of `lmpe-proto`
//! ([`AppSession`]) through one UA core, with the chat's Resource-Priority class on every
//! message. Every outcome is counted and every latency measured from the intended send time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lmpe_proto::endpoint::{Endpoint, Incoming, Transmit, TransportKind};
use lmpe_proto::roles::{chat_request, Sender};
use lmpe_proto::session::{AppSession, AppState, ChatParams, SessionEvent};
use lmpe_proto::ua::{UaConfig, UaEvent, UserAgent};
use lmpe_wire::lmpe::{CallId, IdentifierProfile, LmpeIds, MessageType};
use lmpe_wire::sip::{reason_phrase, Method, ResponseBuilder, SipMessage};

use crate::class::{Class, Kind};
use crate::metrics::{Counts, Metric, Recorder};
use crate::profile::{ChatShape, Profile};
use crate::schedule::{Schedule, Shard};
use crate::stamp::Stamp;

/// Arrivals started per wake-up at most (the rest follow at once, with their intended times).
const ARRIVAL_BUDGET: usize = 256;
/// Chat timers fired per wake-up at most.
const TIMER_BUDGET: usize = 1024;

/// The outcome of one APP message, for the join with what the PSAP received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No final answer yet.
    Pending,
    /// 2xx.
    Ok,
    /// A final non-2xx status.
    Rejected(u16),
    /// Timer F.
    TimedOut,
    /// Transport failure.
    TransportError,
}

/// One stamped APP message (start, in-chat, stop): how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerEntry {
    /// The outcome at the APP.
    pub outcome: Outcome,
    /// Its class.
    pub class: Class,
    /// Its kind.
    pub kind: Kind,
}

/// The key of a stamped message: chat number and LMPE Message Identifier.
pub fn ledger_key(g: u64, msg_id: u32) -> u64 {
    g << 8 | u64::from(msg_id & 0xff)
}

/// Configuration of the APP side.
#[derive(Debug, Clone)]
pub struct LoadAppConfig {
    /// The profile.
    pub profile: Profile,
    /// Which arrivals this process plays.
    pub shard: Shard,
    /// The SUT's entry point (the BCF).
    pub outbound: (TransportKind, SocketAddr),
    /// UA settings (local address is set after binding).
    pub ua: UaConfig,
    /// Element Identifier in Call Identifiers.
    pub element_id: String,
    /// A per-run number written into every Call Identifier (unique across runs).
    pub nonce: u32,
    /// Identifier forms.
    pub identifiers: IdentifierProfile,
}

#[derive(Debug)]
struct Pending {
    g: u64,
    class: Class,
    kind: Kind,
    session_handle: u64,
    intended: Instant,
    key: Option<u64>,
}

#[derive(Debug)]
struct LoadChat {
    session: AppSession,
    class: Class,
    start_at: Instant,
    sip_call_id: String,
    from_tag: String,
    cseq: u32,
    sent_msgs: u32,
    stop_queued: bool,
    scheduled: Option<Instant>,
}

/// The APP side of the load.
#[derive(Debug)]
pub struct LoadApp {
    cfg: LoadAppConfig,
    shape: ChatShape,
    params: ChatParams,
    ua: UserAgent,
    uri: String,
    schedule: Schedule,
    epoch: Option<Instant>,
    chats: HashMap<u64, LoadChat>,
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    pending: HashMap<u64, Pending>,
    ledger: HashMap<u64, LedgerEntry>,
    rec: Recorder,
    counts: Counts,
}

impl LoadApp {
    /// A new APP side; nothing happens before [`LoadApp::begin`].
    pub fn new(cfg: LoadAppConfig) -> Self {
        let shape = cfg.profile.chat.clone();
        let params = ChatParams {
            profile: cfg.identifiers.clone(),
            heartbeat_interval: Some(Duration::from_secs_f64(shape.heartbeat_s)),
            peer_heartbeat_limit: Duration::from_secs_f64(
                shape.psap_heartbeat_s.map_or(20.0, |h| h.max(20.0)),
            ),
            psap_start_timeout: Duration::from_secs_f64(shape.setup_timeout_s),
        };
        Self {
            ua: UserAgent::new(cfg.ua.clone()),
            uri: String::new(),
            schedule: Schedule::new(&cfg.profile, cfg.shard),
            shape,
            params,
            cfg,
            epoch: None,
            chats: HashMap::new(),
            timers: BinaryHeap::new(),
            pending: HashMap::new(),
            ledger: HashMap::new(),
            rec: Recorder::default(),
            counts: Counts::default(),
        }
    }

    /// Sets the bound address.
    pub fn set_local(&mut self, local: SocketAddr) {
        self.ua.set_local(local);
        self.uri = format!("sip:app@{local}");
    }

    /// Sets the SUT's entry point.
    pub fn set_outbound(&mut self, outbound: (TransportKind, SocketAddr)) {
        self.cfg.outbound = outbound;
    }

    /// Starts the schedule: arrival offsets count from `epoch` (which may be in the future).
    pub fn begin(&mut self, epoch: Instant) {
        self.epoch = Some(epoch);
    }

    /// No more arrivals from offset `at` on (a ramp step broke an SLO).
    pub fn stop_arrivals(&mut self, at: Duration) {
        self.schedule.stop_at(at);
    }

    /// Chats held now.
    pub fn active_chats(&self) -> usize {
        self.chats.len()
    }

    /// Transactions without a final outcome.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Whether every arrival of this shard has been started.
    pub fn arrivals_done(&self) -> bool {
        self.schedule.peek().is_none()
    }

    /// Takes the interval histograms.
    pub fn take_histograms(&mut self) -> Vec<(Class, Metric, hdrhistogram::Histogram<u64>)> {
        self.rec.take()
    }

    /// The counters so far (with retransmissions and clamped values filled in).
    pub fn counts(&self) -> Counts {
        let mut c = self.counts.clone();
        c.side.app_retransmissions = self.ua.stats().retransmissions;
        c.side.clamped += self.rec.clamped;
        c
    }

    /// Ends the run: what is still open is counted as unfinished; returns the counters and the
    /// ledger of stamped messages.
    pub fn finish(&mut self) -> (Counts, HashMap<u64, LedgerEntry>) {
        for p in std::mem::take(&mut self.pending).into_values() {
            self.counts.msg(p.class, p.kind).unfinished += 1;
        }
        for c in std::mem::take(&mut self.chats).into_values() {
            self.counts.chat(c.class).unfinished += 1;
        }
        self.timers.clear();
        (self.counts(), std::mem::take(&mut self.ledger))
    }

    fn unique(&self, g: u64) -> String {
        format!("ld{:08}g{g:010}", self.cfg.nonce % 100_000_000)
    }

    fn g_of(&self, unique: &str) -> Option<u64> {
        let (prefix, g) = unique.rsplit_once('g')?;
        (prefix == format!("ld{:08}", self.cfg.nonce % 100_000_000))
            .then(|| g.parse().ok())
            .flatten()
    }

    fn send_due(&mut self, now: Instant) {
        let Some(epoch) = self.epoch else {
            return;
        };
        for _ in 0..ARRIVAL_BUDGET {
            let Some(a) = self.schedule.peek() else {
                return;
            };
            let at = epoch + a.at;
            if at > now {
                return;
            }
            self.schedule.advance();
            self.arrive(now, a.g, a.class, at);
        }
    }

    fn arrive(&mut self, now: Instant, g: u64, class: Class, at: Instant) {
        let unique = self.unique(g);
        self.counts.chat(class).arrived += 1;
        let call_id = match CallId::new(&unique, &self.cfg.element_id) {
            Ok(c) => c,
            Err(e) => {
                *self
                    .counts
                    .chat(class)
                    .failed
                    .entry(format!("bad Call Identifier: {e}"))
                    .or_default() += 1;
                return;
            }
        };
        let mut session = AppSession::new(
            call_id,
            &self.uri,
            &self.cfg.profile.service,
            self.params.clone(),
        );
        let Some(epoch) = self.epoch else {
            return;
        };
        let text = Stamp::new(g, class, epoch, at).text("start of a load chat");
        if let Err(e) = session.start(now, &text) {
            *self
                .counts
                .chat(class)
                .failed
                .entry(format!("start refused: {e}"))
                .or_default() += 1;
            return;
        }
        self.chats.insert(
            g,
            LoadChat {
                session,
                class,
                start_at: at,
                sip_call_id: format!("{unique}@{}", self.cfg.element_id),
                from_tag: format!("t{g:x}"),
                cseq: 0,
                sent_msgs: 0,
                stop_queued: false,
                scheduled: None,
            },
        );
        self.flush_chat(now, g, at);
        self.after_chat(now, g);
    }

    /// The next planned action of a chat (in-chat k, then stop), while it is established.
    fn plan_next(shape: &ChatShape, c: &LoadChat) -> Option<Instant> {
        if c.stop_queued || c.session.state() != AppState::Established {
            return None;
        }
        let offset = if c.sent_msgs < shape.app_messages {
            f64::from(c.sent_msgs + 1) * shape.app_think_s
        } else {
            shape.hold_s
        };
        Some(c.start_at + Duration::from_secs_f64(offset))
    }

    fn deadline(shape: &ChatShape, c: &LoadChat) -> Option<Instant> {
        [c.session.poll_timeout(), Self::plan_next(shape, c)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Sends what the chat's session queued; `intended` is when the plan wanted it sent.
    fn flush_chat(&mut self, now: Instant, g: u64, intended: Instant) {
        let (t, d) = self.cfg.outbound;
        loop {
            let Some(c) = self.chats.get_mut(&g) else {
                return;
            };
            let Some(out) = c.session.poll_outgoing() else {
                return;
            };
            let class = c.class;
            let kind = Kind::of(out.msg_type).unwrap_or(Kind::InChat);
            c.cseq += 1;
            let extra: Vec<(String, String)> = class
                .header()
                .map(|h| vec![("Resource-Priority".to_string(), h.to_string())])
                .unwrap_or_default();
            let msg = chat_request(
                &out,
                &Sender {
                    profile: &self.cfg.identifiers,
                    from_uri: &self.uri,
                    from_tag: &c.from_tag,
                    sip_call_id: &c.sip_call_id,
                    cseq: c.cseq,
                    location: Some(self.shape.location),
                    pidf: None,
                    extra: &extra,
                    extra_parts: &[],
                },
            );
            let key = (kind != Kind::Heartbeat)
                .then(|| out.msg_id.map(|id| ledger_key(g, id)))
                .flatten();
            self.counts.msg(class, kind).sent += 1;
            if kind == Kind::Heartbeat {
                let us = now.saturating_duration_since(intended).as_micros() as u64;
                self.rec.record(class, Metric::HeartbeatSlip, us);
            }
            match self.ua.send_request(now, msg, t, d) {
                Ok(h) => {
                    if let Some(k) = key {
                        self.ledger.insert(
                            k,
                            LedgerEntry {
                                outcome: Outcome::Pending,
                                class,
                                kind,
                            },
                        );
                    }
                    self.pending.insert(
                        h,
                        Pending {
                            g,
                            class,
                            kind,
                            session_handle: out.handle,
                            intended,
                            key,
                        },
                    );
                }
                Err(e) => {
                    self.counts.msg(class, kind).transport_errors += 1;
                    self.counts.side.sample(format!("cannot send {kind}: {e}"));
                    if let Some(k) = key {
                        self.ledger.insert(
                            k,
                            LedgerEntry {
                                outcome: Outcome::TransportError,
                                class,
                                kind,
                            },
                        );
                    }
                    if let Some(c) = self.chats.get_mut(&g) {
                        c.session.on_answer(now, out.handle, 503);
                    }
                }
            }
        }
    }

    /// Reads the chat's session events, retires it when it ended, re-arms its timer.
    fn after_chat(&mut self, now: Instant, g: u64) {
        let Some(c) = self.chats.get_mut(&g) else {
            return;
        };
        let class = c.class;
        let mut ended = false;
        while let Some(ev) = c.session.poll_event() {
            match ev {
                SessionEvent::Established { .. } => {
                    self.counts.chat(class).established += 1;
                    let us = now.saturating_duration_since(c.start_at).as_micros() as u64;
                    self.rec.record(class, Metric::Setup, us);
                }
                SessionEvent::Received {
                    msg_type: MessageType::IN_CHAT,
                    text,
                    ..
                } => match (text.as_deref().and_then(Stamp::parse), self.epoch) {
                    (Some(s), Some(epoch)) => {
                        self.counts.side.psap_replies_received += 1;
                        self.rec
                            .record(s.class, Metric::RoutingPsapToApp, s.latency_us(epoch, now))
                    }
                    _ => self.counts.side.unstamped += 1,
                },
                SessionEvent::Stopped { by_peer: true } => {
                    self.counts.chat(class).stopped_by_psap += 1;
                    ended = true;
                }
                SessionEvent::Failed { reason } => {
                    // Keep the reason without the figures that vary per chat.
                    let key = reason
                        .split(" within ")
                        .next()
                        .unwrap_or(&reason)
                        .to_string();
                    *self.counts.chat(class).failed.entry(key).or_default() += 1;
                    ended = true;
                }
                SessionEvent::Violation(v) => {
                    self.counts.side.app_violations += 1;
                    self.counts.side.sample(format!("APP saw: {v}"));
                }
                _ => {}
            }
        }
        if ended {
            self.chats.remove(&g);
            return;
        }
        let d = Self::deadline(&self.shape, c);
        if d != c.scheduled {
            c.scheduled = d;
            if let Some(d) = d {
                self.timers.push(Reverse((d, g)));
            }
        }
    }

    /// A chat's deadline came: heartbeats and session deadlines, then planned messages.
    fn fire_chat(&mut self, now: Instant, g: u64) {
        let Some(epoch) = self.epoch else {
            return;
        };
        let Some(c) = self.chats.get_mut(&g) else {
            return;
        };
        c.scheduled = None;
        if let Some(d) = c.session.poll_timeout().filter(|d| *d <= now) {
            c.session.handle_timeout(now);
            self.flush_chat(now, g, d);
        }
        for _ in 0..=self.shape.app_messages {
            let Some(c) = self.chats.get_mut(&g) else {
                return;
            };
            let Some(at) = Self::plan_next(&self.shape, c).filter(|t| *t <= now) else {
                break;
            };
            let text = Stamp::new(g, c.class, epoch, at);
            let r = if c.sent_msgs < self.shape.app_messages {
                c.sent_msgs += 1;
                let n = c.sent_msgs;
                c.session
                    .send_chat(now, &text.text(&format!("message {n} of a load chat")))
            } else {
                c.stop_queued = true;
                c.session.stop(now, &text.text("end of a load chat"))
            };
            if let Err(e) = r {
                self.counts.side.sample(format!("chat {g}: {e}"));
                break;
            }
            self.flush_chat(now, g, at);
        }
        self.after_chat(now, g);
    }

    fn on_final(&mut self, now: Instant, handle: u64, outcome: Outcome) {
        let Some(p) = self.pending.remove(&handle) else {
            return;
        };
        let k = self.counts.msg(p.class, p.kind);
        let status = match outcome {
            Outcome::Ok => {
                k.ok += 1;
                200
            }
            Outcome::Rejected(s) => {
                *k.rejected.entry(s).or_default() += 1;
                s
            }
            Outcome::TimedOut => {
                k.timed_out += 1;
                408
            }
            Outcome::TransportError | Outcome::Pending => {
                k.transport_errors += 1;
                503
            }
        };
        if matches!(outcome, Outcome::Ok | Outcome::Rejected(_)) {
            let us = now.saturating_duration_since(p.intended).as_micros() as u64;
            self.rec.record(p.class, Metric::response_of(p.kind), us);
        }
        if let Some(e) = p.key.and_then(|k| self.ledger.get_mut(&k)) {
            e.outcome = outcome;
        }
        if p.kind == Kind::Stop {
            if outcome == Outcome::Ok {
                self.counts.chat(p.class).completed += 1;
            } else {
                *self
                    .counts
                    .chat(p.class)
                    .failed
                    .entry(format!("stop/258 answered {status}"))
                    .or_default() += 1;
            }
            self.chats.remove(&p.g);
            return;
        }
        if let Some(c) = self.chats.get_mut(&p.g) {
            c.session.on_answer(now, p.session_handle, status);
            self.flush_chat(now, p.g, now);
            self.after_chat(now, p.g);
        }
    }

    fn on_request(&mut self, now: Instant, msg: &SipMessage) -> u16 {
        if msg.method() != Some(Method::Message) {
            return 405;
        }
        let ids = LmpeIds::extract(msg, &self.cfg.identifiers);
        let Some(g) = ids.call_id.as_ref().and_then(|c| self.g_of(&c.unique)) else {
            self.counts.side.app_unmatched += 1;
            return 481;
        };
        let Some(c) = self.chats.get_mut(&g) else {
            self.counts.side.app_unmatched += 1;
            return 481;
        };
        let status = c.session.handle_request(now, msg, &ids);
        self.flush_chat(now, g, now);
        self.after_chat(now, g);
        status
    }

    fn pump(&mut self, now: Instant) {
        while let Some(ev) = self.ua.poll_event() {
            match ev {
                UaEvent::Response { handle, msg } => {
                    let status = msg.status().unwrap_or(500);
                    if (200..300).contains(&status) {
                        self.on_final(now, handle, Outcome::Ok);
                    } else if status >= 300 {
                        self.on_final(now, handle, Outcome::Rejected(status));
                    }
                }
                UaEvent::Timeout { handle } => self.on_final(now, handle, Outcome::TimedOut),
                UaEvent::TransportError { handle } => {
                    self.on_final(now, handle, Outcome::TransportError)
                }
                UaEvent::Request { id, msg, .. } => {
                    let status = self.on_request(now, &msg);
                    let resp = ResponseBuilder::for_request(
                        &msg,
                        status,
                        reason_phrase(status),
                        Some("app"),
                    )
                    .build();
                    let _ = self.ua.respond(now, &id, &resp);
                }
                UaEvent::Malformed { .. } | UaEvent::StrayResponse { .. } => {
                    self.counts.side.malformed += 1
                }
            }
        }
    }

    fn next_timer(&mut self) -> Option<Instant> {
        while let Some(Reverse((t, g))) = self.timers.peek() {
            if self.chats.get(g).is_some_and(|c| c.scheduled == Some(*t)) {
                return Some(*t);
            }
            self.timers.pop();
        }
        None
    }
}

impl Endpoint for LoadApp {
    fn handle_input(&mut self, now: Instant, input: Incoming) {
        self.ua.handle_input(now, input);
        self.pump(now);
    }

    fn handle_transport_error(
        &mut self,
        now: Instant,
        _t: TransportKind,
        remote: SocketAddr,
        _e: &str,
    ) {
        self.ua.handle_transport_error(now, remote);
        self.pump(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.ua.poll_transmit()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let arrival = self
            .epoch
            .and_then(|e| self.schedule.peek().map(|a| e + a.at));
        [self.ua.poll_timeout(), self.next_timer(), arrival]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.ua.handle_timeout(now);
        self.pump(now);
        for _ in 0..TIMER_BUDGET {
            let Some(t) = self.next_timer().filter(|t| *t <= now) else {
                break;
            };
            let Some(Reverse((_, g))) = self.timers.pop() else {
                break;
            };
            let _ = t;
            self.fire_chat(now, g);
        }
        self.send_due(now);
    }
}
