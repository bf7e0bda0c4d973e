//! `LoadPsap`: the PSAP side of the load, an adapter around the simulated [`PsapRole`] of
//! `lmpe-proto` (which answers starts with its own start/257 and Reply-To, checks every APP
//! message against 6.2.x). The adapter reads the load stamp of each delivered message (one-way
//! routing latency, delivery ledger) and answers APP in-chat messages after the profile's think
//! time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lmpe_proto::endpoint::{Endpoint, Incoming, Transmit, TransportKind};
use lmpe_proto::roles::{PsapConfig, PsapFaults, PsapRole, RoleEvent};
use lmpe_proto::session::{ChatParams, SessionEvent};
use lmpe_proto::ua::UaConfig;
use lmpe_wire::lmpe::IdentifierProfile;

use crate::app::ledger_key;
use crate::class::{Class, Kind};
use crate::metrics::{Counts, Metric, Recorder};
use crate::profile::Profile;
use crate::stamp::Stamp;

/// PSAP replies sent per wake-up at most.
const REPLY_BUDGET: usize = 1024;

/// Configuration of the PSAP side.
#[derive(Debug, Clone)]
pub struct LoadPsapConfig {
    /// The profile.
    pub profile: Profile,
    /// Where PSAP requests go (the SUT's BCF or ESRP).
    pub outbound: (TransportKind, SocketAddr),
    /// The PSAP's Reply-To as the SUT knows it (6.2.2), e.g. `sip:psap@<BCF>`.
    pub reply_to: String,
    /// UA settings.
    pub ua: UaConfig,
    /// Identifier forms.
    pub identifiers: IdentifierProfile,
}

/// The PSAP side of the load.
#[derive(Debug)]
pub struct LoadPsap {
    role: PsapRole,
    epoch: Option<Instant>,
    think: Option<Duration>,
    replies: BinaryHeap<Reverse<(Instant, u64, String)>>,
    /// Chat (Call Identifier unique part) → its number and class, learned from the start.
    chats: HashMap<String, (u64, Class)>,
    delivered: HashMap<u64, u32>,
    rec: Recorder,
    counts: Counts,
}

impl LoadPsap {
    /// A new PSAP side.
    pub fn new(cfg: LoadPsapConfig) -> Self {
        let shape = &cfg.profile.chat;
        let role = PsapRole::new(PsapConfig {
            name: "lmpe-load PSAP".into(),
            reply_to: cfg.reply_to.clone(),
            uri: cfg.reply_to.clone(),
            outbound: cfg.outbound,
            params: ChatParams {
                profile: cfg.identifiers.clone(),
                heartbeat_interval: shape.psap_heartbeat_s.map(Duration::from_secs_f64),
                peer_heartbeat_limit: lmpe_proto::session::MAX_HEARTBEAT_INTERVAL,
                psap_start_timeout: Duration::from_secs_f64(shape.setup_timeout_s),
            },
            greeting: "112 emergency chat (load test), what is your emergency?".into(),
            auto_reply: None,
            close_trigger: None,
            redirect_target: None,
            faults: PsapFaults::default(),
            ua: cfg.ua.clone(),
            test_repeat_window: Duration::from_secs(120),
            test_call_limit: None,
        });
        let mut role = role;
        role.set_recording(false);
        Self {
            role,
            epoch: None,
            think: (shape.psap_think_s >= 0.0).then(|| Duration::from_secs_f64(shape.psap_think_s)),
            replies: BinaryHeap::new(),
            chats: HashMap::new(),
            delivered: HashMap::new(),
            rec: Recorder::default(),
            counts: Counts::default(),
        }
    }

    /// Sets the bound address (and the PSAP's own URI).
    pub fn set_local(&mut self, local: SocketAddr) {
        self.role.set_local(local);
        self.role.set_uri(&format!("sip:psap@{local}"));
    }

    /// Sets where PSAP requests go and the Reply-To the SUT routes back here.
    pub fn set_outbound(&mut self, outbound: (TransportKind, SocketAddr), reply_to: &str) {
        self.role.set_outbound(outbound);
        self.role.set_reply_to(reply_to);
    }

    /// The common epoch of stamps.
    pub fn begin(&mut self, epoch: Instant) {
        self.epoch = Some(epoch);
    }

    /// Takes the interval histograms.
    pub fn take_histograms(&mut self) -> Vec<(Class, Metric, hdrhistogram::Histogram<u64>)> {
        self.rec.take()
    }

    /// The counters so far.
    pub fn counts(&self) -> Counts {
        let mut c = self.counts.clone();
        c.side.clamped += self.rec.clamped;
        c
    }

    /// Ends the run: counters and the delivered ledger keys (with how often each arrived).
    pub fn finish(&mut self) -> (Counts, HashMap<u64, u32>) {
        self.replies.clear();
        (self.counts(), std::mem::take(&mut self.delivered))
    }

    fn drain(&mut self, now: Instant) {
        while let Some(ev) = self.role.poll_event() {
            match ev {
                RoleEvent::Session { chat, event } => self.on_session(now, chat, event),
                RoleEvent::Violation { violation, .. } => {
                    self.counts.side.psap_violations += 1;
                    self.counts.side.sample(format!("PSAP saw: {violation}"));
                }
                RoleEvent::Unmatched { status, reason, .. } => {
                    *self.counts.side.psap_unmatched.entry(status).or_default() += 1;
                    self.counts
                        .side
                        .sample(format!("PSAP refused {status}: {reason}"));
                }
                RoleEvent::Malformed { .. } => self.counts.side.malformed += 1,
                RoleEvent::RawAnswered { .. } => {}
            }
        }
    }

    fn on_session(&mut self, now: Instant, chat: String, event: SessionEvent) {
        match event {
            SessionEvent::Received {
                msg_type,
                msg_id,
                text,
            } => {
                let Some(kind) = Kind::of(msg_type) else {
                    self.counts.side.unstamped += 1;
                    return;
                };
                let (Some(s), Some(epoch), Some(id)) =
                    (text.as_deref().and_then(Stamp::parse), self.epoch, msg_id)
                else {
                    self.counts.side.unstamped += 1;
                    return;
                };
                if kind == Kind::Start {
                    self.chats.insert(chat.clone(), (s.g, s.class));
                }
                let seen = self.delivered.entry(ledger_key(s.g, id)).or_default();
                *seen += 1;
                if *seen > 1 {
                    self.counts.msg(s.class, kind).duplicates += 1;
                    return;
                }
                self.counts.msg(s.class, kind).delivered += 1;
                let us = s.latency_us(epoch, now);
                self.rec.record(s.class, Metric::Routing, us);
                if let Some(m) = Metric::routing_of(kind) {
                    self.rec.record(s.class, m, us);
                }
                if kind == Kind::InChat {
                    if let Some(think) = self.think {
                        self.replies.push(Reverse((now + think, s.g, chat.clone())));
                    }
                }
                if kind == Kind::Stop {
                    self.chats.remove(&chat);
                }
            }
            SessionEvent::Heartbeat { .. } => match self.chats.get(&chat) {
                Some((_, class)) => self.counts.msg(*class, Kind::Heartbeat).delivered += 1,
                None => self.counts.side.unstamped += 1,
            },
            SessionEvent::Answered { status, .. } => {
                if (200..300).contains(&status) {
                    self.counts.side.psap_ok += 1;
                } else {
                    *self.counts.side.psap_failed.entry(status).or_default() += 1;
                }
            }
            SessionEvent::Violation(v) => {
                self.counts.side.psap_violations += 1;
                self.counts.side.sample(format!("PSAP saw: {v}"));
            }
            _ => {}
        }
    }

    fn send_replies(&mut self, now: Instant) {
        let Some(epoch) = self.epoch else {
            return;
        };
        for _ in 0..REPLY_BUDGET {
            match self.replies.peek() {
                Some(Reverse((t, _, _))) if *t <= now => {}
                _ => return,
            }
            let Some(Reverse((at, g, chat))) = self.replies.pop() else {
                return;
            };
            let class = self.chats.get(&chat).map_or(Class::None, |c| c.1);
            let text = Stamp::new(g, class, epoch, at).text("PSAP reply");
            if self.role.send_chat(now, &chat, &text).is_some() {
                self.counts.side.psap_replies_sent += 1;
            }
        }
    }
}

impl Endpoint for LoadPsap {
    fn handle_input(&mut self, now: Instant, input: Incoming) {
        self.role.handle_input(now, input);
        self.drain(now);
    }

    fn handle_transport_error(
        &mut self,
        now: Instant,
        t: TransportKind,
        remote: SocketAddr,
        e: &str,
    ) {
        self.role.handle_transport_error(now, t, remote, e);
        self.drain(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.role.poll_transmit()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let reply = self.replies.peek().map(|Reverse((t, _, _))| *t);
        [self.role.poll_timeout(), reply]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.role.handle_timeout(now);
        self.drain(now);
        self.send_replies(now);
        self.drain(now);
    }
}
