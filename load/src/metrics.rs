//! What is measured: latency histograms (µs, from the intended send time) per class and
//! metric, and counters per class and message kind that must reconcile.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::class::{Class, Kind};

/// Highest latency recorded (µs): larger values are clamped to it (and counted).
pub const MAX_LATENCY_US: u64 = 3_600_000_000;

/// A latency metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// One-way APP → PSAP through the SUT, every stamped APP message (start, in-chat, stop).
    Routing,
    /// One-way APP → PSAP of start/257.
    RoutingStart,
    /// One-way APP → PSAP of in-chat/259.
    RoutingInChat,
    /// One-way APP → PSAP of stop/258.
    RoutingStop,
    /// One-way PSAP → APP of the PSAP's in-chat/259 replies.
    RoutingPsapToApp,
    /// Chat setup: intended arrival → the PSAP's start/257 at the APP (6.2.2).
    Setup,
    /// Transaction response time of start/257 (intended send → final response).
    ResponseStart,
    /// Transaction response time of in-chat/259.
    ResponseInChat,
    /// Transaction response time of stop/258.
    ResponseStop,
    /// Transaction response time of heartbeats (from their scheduled time).
    ResponseHeartbeat,
    /// How late each APP heartbeat left against its schedule (6.2.5).
    HeartbeatSlip,
}

impl Metric {
    /// All metrics in report order.
    pub const ALL: [Self; 11] = [
        Self::Routing,
        Self::RoutingStart,
        Self::RoutingInChat,
        Self::RoutingStop,
        Self::RoutingPsapToApp,
        Self::Setup,
        Self::ResponseStart,
        Self::ResponseInChat,
        Self::ResponseStop,
        Self::ResponseHeartbeat,
        Self::HeartbeatSlip,
    ];

    /// The name in profiles, reports and interval log file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Routing => "routing",
            Self::RoutingStart => "routing.start",
            Self::RoutingInChat => "routing.in-chat",
            Self::RoutingStop => "routing.stop",
            Self::RoutingPsapToApp => "routing.psap-to-app",
            Self::Setup => "setup",
            Self::ResponseStart => "response.start",
            Self::ResponseInChat => "response.in-chat",
            Self::ResponseStop => "response.stop",
            Self::ResponseHeartbeat => "response.heartbeat",
            Self::HeartbeatSlip => "heartbeat.slip",
        }
    }

    /// Parses a name.
    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }

    /// The per-kind routing metric.
    pub fn routing_of(kind: Kind) -> Option<Self> {
        match kind {
            Kind::Start => Some(Self::RoutingStart),
            Kind::InChat => Some(Self::RoutingInChat),
            Kind::Stop => Some(Self::RoutingStop),
            Kind::Heartbeat => None,
        }
    }

    /// The per-kind response-time metric.
    pub fn response_of(kind: Kind) -> Self {
        match kind {
            Kind::Start => Self::ResponseStart,
            Kind::InChat => Self::ResponseInChat,
            Kind::Stop => Self::ResponseStop,
            Kind::Heartbeat => Self::ResponseHeartbeat,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A new histogram at µs resolution, 3 significant digits, from 1 µs; it starts small and
/// grows to the largest value recorded (callers clamp at [`MAX_LATENCY_US`]).
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 1000, 3)
        .or_else(|_| Histogram::new(3))
        .unwrap_or_else(|_| unreachable!("3 significant digits are valid"));
    h.auto(true);
    h
}

/// Interval histograms of one endpoint; the runner takes them every second.
#[derive(Debug)]
pub struct Recorder {
    hist: Vec<Option<Histogram<u64>>>,
    /// Values above [`MAX_LATENCY_US`] (recorded clamped).
    pub clamped: u64,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            hist: (0..Class::ALL.len() * Metric::ALL.len())
                .map(|_| None)
                .collect(),
            clamped: 0,
        }
    }
}

impl Recorder {
    /// Records `us` microseconds.
    pub fn record(&mut self, class: Class, metric: Metric, us: u64) {
        let i = class.index() * Metric::ALL.len() + metric.index();
        let Some(slot) = self.hist.get_mut(i) else {
            return;
        };
        let h = slot.get_or_insert_with(new_histogram);
        let v = us.clamp(1, MAX_LATENCY_US);
        if v != us.max(1) {
            self.clamped += 1;
        }
        // In range by construction.
        let _ = h.record(v);
    }

    /// Takes the histograms recorded since the last call (only non-empty ones).
    pub fn take(&mut self) -> Vec<(Class, Metric, Histogram<u64>)> {
        let mut out = Vec::new();
        for c in Class::ALL {
            for m in Metric::ALL {
                let i = c.index() * Metric::ALL.len() + m.index();
                if let Some(h) = self.hist.get_mut(i).and_then(Option::take) {
                    if !h.is_empty() {
                        out.push((c, m, h));
                    }
                }
            }
        }
        out
    }
}

/// Counts of one message kind of one class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    /// Transactions started by the APP (first transmissions; retransmissions not counted).
    pub sent: u64,
    /// Answered 2xx.
    pub ok: u64,
    /// Answered with a final non-2xx status, by status.
    pub rejected: BTreeMap<u16, u64>,
    /// Timer F expired (no final response).
    pub timed_out: u64,
    /// The transport failed (connection refused, reset…).
    pub transport_errors: u64,
    /// Still without outcome when the run ended.
    pub unfinished: u64,
    /// Received by the PSAP (each message once).
    pub delivered: u64,
    /// Received by the PSAP again as a new transaction (a duplicate the SUT created).
    pub duplicates: u64,
    /// Of `sent` (stamped kinds only, after the join): never reached the PSAP.
    pub not_delivered: u64,
    /// Of `ok`: answered 2xx but never reached the PSAP (the SUT answered for the PSAP).
    pub ok_not_delivered: u64,
    /// Of the delivered: timed out or rejected at the APP (the answer was lost or replaced).
    pub delivered_not_ok: u64,
}

impl KindCounts {
    /// Rejected in all.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Adds `o` (merging shards).
    pub fn add(&mut self, o: &Self) {
        self.sent += o.sent;
        self.ok += o.ok;
        for (k, v) in &o.rejected {
            *self.rejected.entry(*k).or_default() += v;
        }
        self.timed_out += o.timed_out;
        self.transport_errors += o.transport_errors;
        self.unfinished += o.unfinished;
        self.delivered += o.delivered;
        self.duplicates += o.duplicates;
        self.not_delivered += o.not_delivered;
        self.ok_not_delivered += o.ok_not_delivered;
        self.delivered_not_ok += o.delivered_not_ok;
    }
}

/// Chat-level counts of one class.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatCounts {
    /// Chats that arrived (start/257 sent).
    pub arrived: u64,
    /// The PSAP's start/257 reached the APP (6.2.2).
    pub established: u64,
    /// stop/258 answered 2xx.
    pub completed: u64,
    /// Failed, by reason.
    pub failed: BTreeMap<String, u64>,
    /// Neither completed nor failed when the run ended.
    pub unfinished: u64,
    /// The PSAP ended the chat (not part of the load flow).
    pub stopped_by_psap: u64,
}

impl ChatCounts {
    /// Failed in all.
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }

    /// Adds `o`.
    pub fn add(&mut self, o: &Self) {
        self.arrived += o.arrived;
        self.established += o.established;
        self.completed += o.completed;
        for (k, v) in &o.failed {
            *self.failed.entry(k.clone()).or_default() += v;
        }
        self.unfinished += o.unfinished;
        self.stopped_by_psap += o.stopped_by_psap;
    }
}

/// The PSAP → APP direction and everything else that is not an APP message outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideCounts {
    /// PSAP in-chat/259 replies sent.
    pub psap_replies_sent: u64,
    /// PSAP replies (with a load stamp) received by the APP.
    pub psap_replies_received: u64,
    /// PSAP messages (start, replies, heartbeats) answered 2xx.
    pub psap_ok: u64,
    /// PSAP messages answered otherwise, by status (408: timeout, 503: transport error).
    pub psap_failed: BTreeMap<u16, u64>,
    /// Requests the APP answered 481 (no such chat any more).
    pub app_unmatched: u64,
    /// Requests the PSAP refused outside any chat, by status.
    pub psap_unmatched: BTreeMap<u16, u64>,
    /// Spec deviations seen by the APP in PSAP messages.
    pub app_violations: u64,
    /// Spec deviations seen by the PSAP in APP messages.
    pub psap_violations: u64,
    /// A few violation texts (the first ones).
    pub violation_samples: Vec<String>,
    /// Messages the PSAP received without a readable load stamp.
    pub unstamped: u64,
    /// Unparseable input.
    pub malformed: u64,
    /// Client retransmissions (Timer E) at the APP.
    pub app_retransmissions: u64,
    /// Latencies above the histogram range (clamped).
    pub clamped: u64,
}

impl SideCounts {
    /// Adds `o`.
    pub fn add(&mut self, o: &Self) {
        self.psap_replies_sent += o.psap_replies_sent;
        self.psap_replies_received += o.psap_replies_received;
        self.psap_ok += o.psap_ok;
        for (k, v) in &o.psap_failed {
            *self.psap_failed.entry(*k).or_default() += v;
        }
        self.app_unmatched += o.app_unmatched;
        for (k, v) in &o.psap_unmatched {
            *self.psap_unmatched.entry(*k).or_default() += v;
        }
        self.app_violations += o.app_violations;
        self.psap_violations += o.psap_violations;
        for s in &o.violation_samples {
            if self.violation_samples.len() < 10 {
                self.violation_samples.push(s.clone());
            }
        }
        self.unstamped += o.unstamped;
        self.malformed += o.malformed;
        self.app_retransmissions += o.app_retransmissions;
        self.clamped += o.clamped;
    }

    /// Notes a violation text (keeps the first ten).
    pub fn sample(&mut self, text: String) {
        if self.violation_samples.len() < 10 {
            self.violation_samples.push(text);
        }
    }
}

/// All counters of a run (or of one endpoint's share of it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Per class name, per kind name.
    pub messages: BTreeMap<String, BTreeMap<String, KindCounts>>,
    /// Per class name.
    pub chats: BTreeMap<String, ChatCounts>,
    /// The rest.
    pub side: SideCounts,
}

impl Counts {
    /// The counts of one class and kind.
    pub fn msg(&mut self, class: Class, kind: Kind) -> &mut KindCounts {
        self.messages
            .entry(class.name().to_string())
            .or_default()
            .entry(kind.name().to_string())
            .or_default()
    }

    /// The chat counts of one class.
    pub fn chat(&mut self, class: Class) -> &mut ChatCounts {
        self.chats.entry(class.name().to_string()).or_default()
    }

    /// Adds `o`.
    pub fn add(&mut self, o: &Self) {
        for (c, kinds) in &o.messages {
            for (k, v) in kinds {
                self.messages
                    .entry(c.clone())
                    .or_default()
                    .entry(k.clone())
                    .or_default()
                    .add(v);
            }
        }
        for (c, v) in &o.chats {
            self.chats.entry(c.clone()).or_default().add(v);
        }
        self.side.add(&o.side);
    }

    /// Sum over classes of one kind.
    pub fn kind_total(&self, kind: Kind) -> KindCounts {
        let mut t = KindCounts::default();
        for kinds in self.messages.values() {
            if let Some(k) = kinds.get(kind.name()) {
                t.add(k);
            }
        }
        t
    }

    /// Sum over classes and kinds.
    pub fn total(&self) -> KindCounts {
        let mut t = KindCounts::default();
        for kinds in self.messages.values() {
            for k in kinds.values() {
                t.add(k);
            }
        }
        t
    }

    /// Sum of chat counts over classes.
    pub fn chats_total(&self) -> ChatCounts {
        let mut t = ChatCounts::default();
        for c in self.chats.values() {
            t.add(c);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorder_hands_out_intervals_and_resets() {
        let mut r = Recorder::default();
        r.record(Class::Esnet1, Metric::Routing, 1500);
        r.record(Class::Esnet1, Metric::Routing, 0);
        r.record(Class::None, Metric::Setup, u64::MAX);
        let t = r.take();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].2.len(), 2);
        assert_eq!(t[0].2.min(), 1);
        assert_eq!(r.clamped, 1);
        assert!(r.take().is_empty());
        for m in Metric::ALL {
            assert_eq!(Metric::by_name(m.name()), Some(m));
        }
    }

    #[test]
    fn counts_add_up() {
        let mut a = Counts::default();
        a.msg(Class::Esnet1, Kind::Start).sent = 3;
        *a.msg(Class::Esnet1, Kind::Start)
            .rejected
            .entry(503)
            .or_default() += 1;
        let mut b = Counts::default();
        b.add(&a);
        b.add(&a);
        assert_eq!(b.kind_total(Kind::Start).sent, 6);
        assert_eq!(b.total().rejected_total(), 2);
    }
}
