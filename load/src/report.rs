//! The run's figures: latency summaries, SLO verdicts, the reconciliation of counts, ramp steps
//! and capacity; serialised as `load.json`.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::class::{Class, Kind};
use crate::metrics::{new_histogram, Counts, Metric};
use crate::profile::Profile;
use crate::schedule::Shard;

/// Histograms by class and metric.
pub type Hists = BTreeMap<(Class, Metric), Histogram<u64>>;

/// One interval histogram, kept compressed (V2 deflate, as in the interval logs) with the
/// figures the live views need, so that an hour of one-second intervals stays small.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Start, seconds from the run start.
    pub start_s: f64,
    /// Length in seconds.
    pub duration_s: f64,
    /// Values recorded.
    pub count: u64,
    /// Median (µs).
    pub p50: u64,
    /// 99th percentile (µs).
    pub p99: u64,
    /// Largest (µs).
    pub max: u64,
    encoded: Vec<u8>,
}

impl Interval {
    /// Compresses `hist`.
    pub fn new(start_s: f64, duration_s: f64, hist: &Histogram<u64>) -> Self {
        let mut encoded = Vec::new();
        let _ = hdrhistogram::serialization::Serializer::serialize(
            &mut hdrhistogram::serialization::V2DeflateSerializer::new(),
            hist,
            &mut encoded,
        );
        Self {
            start_s,
            duration_s,
            count: hist.len(),
            p50: hist.value_at_quantile(0.5),
            p99: hist.value_at_quantile(0.99),
            max: hist.max(),
            encoded,
        }
    }

    /// The histogram (empty if it cannot be decoded, which cannot happen for one made by
    /// [`Interval::new`]).
    pub fn hist(&self) -> Histogram<u64> {
        hdrhistogram::serialization::Deserializer::new()
            .deserialize(&mut std::io::Cursor::new(&self.encoded))
            .unwrap_or_else(|_| new_histogram())
    }
}

/// Counters sampled once per second (cumulative values; the HTML plots the differences).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Tick {
    /// Seconds from the run start.
    pub t_s: f64,
    /// Chats arrived so far.
    pub arrived: u64,
    /// APP messages sent so far.
    pub sent: u64,
    /// APP messages delivered to the PSAP so far.
    pub delivered: u64,
    /// Answered 2xx so far.
    pub ok: u64,
    /// Rejected so far.
    pub rejected: u64,
    /// Timed out so far.
    pub timed_out: u64,
    /// Transport errors so far.
    pub transport_errors: u64,
    /// Chats held at this moment.
    pub active_chats: u64,
}

impl Tick {
    /// Adds another shard's tick of the same second.
    pub fn add(&mut self, o: &Self) {
        self.arrived += o.arrived;
        self.sent += o.sent;
        self.delivered += o.delivered;
        self.ok += o.ok;
        self.rejected += o.rejected;
        self.timed_out += o.timed_out;
        self.transport_errors += o.transport_errors;
        self.active_chats += o.active_chats;
    }

    /// The tick of cumulative `counts` at `t_s`.
    pub fn of(t_s: f64, counts: &Counts, active_chats: u64) -> Self {
        let t = counts.total();
        Self {
            t_s,
            arrived: counts.chats_total().arrived,
            sent: t.sent,
            delivered: t.delivered,
            ok: t.ok,
            rejected: t.rejected_total(),
            timed_out: t.timed_out,
            transport_errors: t.transport_errors,
            active_chats,
        }
    }
}

/// Percentiles of one histogram, microseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    /// Values recorded.
    pub count: u64,
    /// Smallest.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Summary {
    /// Summarises a histogram.
    pub fn of(h: &Histogram<u64>) -> Self {
        Self {
            count: h.len(),
            min: h.min(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// The verdict of one SLO or limit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SloResult {
    /// What was checked.
    pub what: String,
    /// The measured value (ms for latencies, a fraction for limits); `None`: no samples.
    pub value: Option<f64>,
    /// The limit.
    pub limit: f64,
    /// Whether it held.
    pub pass: bool,
}

/// Counts of a window (the whole run, or one ramp step).
#[derive(Debug, Clone, Copy, Default)]
pub struct WindowCounts {
    /// APP messages sent.
    pub sent: u64,
    /// Of them not delivered.
    pub not_delivered: u64,
    /// Timed out.
    pub timed_out: u64,
    /// Chats arrived.
    pub arrived: u64,
    /// Chats failed.
    pub failed: u64,
}

/// Merges the class histograms of `metric` (all classes) or returns one class's.
fn pick(hists: &Hists, class: &str, metric: Metric) -> Histogram<u64> {
    let mut h = new_histogram();
    for ((c, m), v) in hists {
        if *m == metric && (class == "all" || c.name() == class) {
            let _ = h.add(v);
        }
    }
    h
}

/// Evaluates the profile's SLOs and limits on `hists` and `w`.
pub fn evaluate(profile: &Profile, hists: &Hists, w: &WindowCounts) -> Vec<SloResult> {
    let mut out = Vec::new();
    for s in &profile.slo {
        let Some(metric) = Metric::by_name(&s.metric) else {
            continue;
        };
        let h = pick(hists, &s.class, metric);
        let value =
            (!h.is_empty()).then(|| h.value_at_quantile(s.percentile / 100.0) as f64 / 1000.0);
        out.push(SloResult {
            what: format!("{} {} p{} (ms)", s.class, s.metric, s.percentile),
            value,
            limit: s.max_ms,
            pass: value.is_some_and(|v| v <= s.max_ms),
        });
    }
    let frac = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    for (what, limit, value) in [
        (
            "loss (not delivered / sent)",
            profile.limits.max_loss,
            frac(w.not_delivered, w.sent),
        ),
        (
            "failed or unfinished chats / arrived",
            profile.limits.max_failed_chats,
            frac(w.failed, w.arrived),
        ),
        (
            "timeouts / sent",
            profile.limits.max_timeouts,
            frac(w.timed_out, w.sent),
        ),
    ] {
        if let Some(limit) = limit {
            out.push(SloResult {
                what: what.into(),
                value: Some(value),
                limit,
                pass: value <= limit,
            });
        }
    }
    out
}

/// One reconciliation identity.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Check {
    /// The identity, in words.
    pub name: String,
    /// Left side.
    pub lhs: u64,
    /// Right side.
    pub rhs: u64,
    /// Whether they are equal.
    pub ok: bool,
}

/// Checks that every message is accounted for exactly once, and that the histograms hold
/// exactly the samples the counters say they must.
pub fn reconcile(
    counts: &Counts,
    hist_counts: &BTreeMap<(Class, Metric), u64>,
    unknown_deliveries: u64,
) -> Vec<Check> {
    let mut out = Vec::new();
    let mut check = |name: String, lhs: u64, rhs: u64| {
        out.push(Check {
            name,
            lhs,
            rhs,
            ok: lhs == rhs,
        })
    };
    let hc = |c: Class, m: Metric| hist_counts.get(&(c, m)).copied().unwrap_or(0);
    for class in Class::ALL {
        let Some(kinds) = counts.messages.get(class.name()) else {
            continue;
        };
        let mut routed = 0;
        for kind in Kind::ALL {
            let Some(k) = kinds.get(kind.name()) else {
                continue;
            };
            let n = format!("{class} {kind}");
            check(
                format!("{n}: sent = ok + rejected + timed out + transport errors + unfinished"),
                k.sent,
                k.ok + k.rejected_total() + k.timed_out + k.transport_errors + k.unfinished,
            );
            check(
                format!("{n}: response-time samples = ok + rejected"),
                hc(class, Metric::response_of(kind)),
                k.ok + k.rejected_total(),
            );
            if let Some(m) = Metric::routing_of(kind) {
                check(
                    format!("{n}: sent = delivered + not delivered (ledger join)"),
                    k.sent,
                    k.delivered + k.not_delivered,
                );
                check(
                    format!("{n}: routing samples = delivered"),
                    hc(class, m),
                    k.delivered,
                );
                routed += k.delivered;
            } else {
                check(
                    format!("{n}: sent = delivered + not delivered (by count: no Message Identifier to join)"),
                    k.sent,
                    k.delivered + k.not_delivered,
                );
            }
        }
        check(
            format!("{class}: routing samples (all kinds) = delivered"),
            hc(class, Metric::Routing),
            routed,
        );
        if let Some(c) = counts.chats.get(class.name()) {
            check(
                format!(
                    "{class} chats: arrived = completed + failed + stopped by PSAP + unfinished"
                ),
                c.arrived,
                c.completed + c.failed_total() + c.stopped_by_psap + c.unfinished,
            );
            check(
                format!("{class} chats: setup samples = established"),
                hc(class, Metric::Setup),
                c.established,
            );
            let starts = kinds.get(Kind::Start.name()).map_or(0, |k| k.sent);
            check(
                format!("{class} chats: arrived = start/257 sent"),
                c.arrived,
                starts,
            );
        }
    }
    let back: u64 = Class::ALL
        .iter()
        .map(|c| hc(*c, Metric::RoutingPsapToApp))
        .sum();
    check(
        "PSAP replies received by the APP = PSAP-to-APP routing samples".into(),
        counts.side.psap_replies_received,
        back,
    );
    check(
        "deliveries of messages this run never sent".into(),
        unknown_deliveries,
        0,
    );
    out
}

/// One ramp step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepResult {
    /// Step number (0-based).
    pub step: usize,
    /// Offered arrival rate (chats/s, all shards).
    pub rate: f64,
    /// Window, seconds from the start.
    pub start_s: f64,
    /// Window end.
    pub end_s: f64,
    /// APP messages sent in the window.
    pub sent: u64,
    /// Delivered in the window.
    pub delivered: u64,
    /// Timed out in the window.
    pub timed_out: u64,
    /// Rejected in the window.
    pub rejected: u64,
    /// Most chats held at once.
    pub max_active_chats: u64,
    /// p99 routing latency per class (ms).
    pub routing_p99_ms: BTreeMap<String, f64>,
    /// p99 setup time per class (ms).
    pub setup_p99_ms: BTreeMap<String, f64>,
    /// SLOs on this window.
    pub slo: Vec<SloResult>,
    /// Whether all held.
    pub pass: bool,
}

/// What the ramp found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Capacity {
    /// The highest step rate, all earlier steps included, at which every SLO held.
    pub highest_sustained_rate: Option<f64>,
    /// Most concurrent chats during that step.
    pub concurrent_chats: u64,
    /// The first rate that broke an SLO, and what broke.
    pub first_breach: Option<(f64, Vec<String>)>,
}

/// The whole report (`load.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadReport {
    /// Profile name.
    pub name: String,
    /// The profile as run.
    pub profile: Profile,
    /// The shards merged into this report.
    pub shards: Vec<Shard>,
    /// What was loaded.
    pub target: String,
    /// Common start (Unix seconds).
    pub start_epoch_s: f64,
    /// Length of the run (seconds).
    pub elapsed_s: f64,
    /// `pass`, `slo-breached` or `reconciliation-failed`.
    pub verdict: String,
    /// Every counter.
    pub counts: Counts,
    /// Latency summaries per class and metric (µs); class `all` merges them.
    pub latency_us: BTreeMap<String, BTreeMap<String, Summary>>,
    /// SLOs and limits over the whole run.
    pub slo: Vec<SloResult>,
    /// Whether all reconciliation identities hold.
    pub reconciled: bool,
    /// The identities.
    pub reconciliation: Vec<Check>,
    /// Counters once per second.
    pub timeline: Vec<Tick>,
    /// Ramp steps.
    pub steps: Vec<StepResult>,
    /// Capacity found by a ramp.
    pub capacity: Option<Capacity>,
    /// Deliveries the join could not attribute (must be 0).
    pub unknown_deliveries: u64,
}

/// Latency summaries, per class and merged.
pub fn summaries(hists: &Hists) -> BTreeMap<String, BTreeMap<String, Summary>> {
    let mut out: BTreeMap<String, BTreeMap<String, Summary>> = BTreeMap::new();
    let mut all: BTreeMap<Metric, Histogram<u64>> = BTreeMap::new();
    for ((c, m), h) in hists {
        out.entry(c.name().into())
            .or_default()
            .insert(m.name().into(), Summary::of(h));
        let _ = all.entry(*m).or_insert_with(new_histogram).add(h);
    }
    for (m, h) in all {
        out.entry("all".into())
            .or_default()
            .insert(m.name().into(), Summary::of(&h));
    }
    out
}

/// Evaluates the ramp steps from interval histograms and ticks.
pub fn steps(
    profile: &Profile,
    intervals: &BTreeMap<(Class, Metric), Vec<Interval>>,
    ticks: &[Tick],
    shards: u32,
) -> Vec<StepResult> {
    if profile.ramp.is_none() {
        return Vec::new();
    }
    let _ = shards;
    let mut out = Vec::new();
    for (i, p) in profile.phases().iter().enumerate() {
        let (a, b) = (p.start_s, p.start_s + p.duration_s);
        let in_window: Vec<&Tick> = ticks
            .iter()
            .filter(|t| t.t_s > a && t.t_s <= b + 1e-9)
            .collect();
        let Some(last) = in_window.last() else {
            break;
        };
        let first = ticks
            .iter()
            .rev()
            .find(|t| t.t_s <= a + 1e-9)
            .cloned()
            .unwrap_or_default();
        let mut hists: Hists = BTreeMap::new();
        for ((c, m), ivs) in intervals {
            for iv in ivs {
                let mid = iv.start_s + iv.duration_s / 2.0;
                if mid > a && mid <= b {
                    let _ = hists
                        .entry((*c, *m))
                        .or_insert_with(new_histogram)
                        .add(iv.hist());
                }
            }
        }
        let sent = last.sent - first.sent.min(last.sent);
        let delivered = last.delivered - first.delivered.min(last.delivered);
        let delta = |f: fn(&Tick) -> u64| f(last).saturating_sub(f(&first));
        // Which messages of a window are lost is known only at the end (the join); a step is
        // judged when it ends, on the failures seen in it: timeouts, rejections, transport
        // errors (a message lost in the step times out up to Timer F later).
        let w = WindowCounts {
            sent,
            not_delivered: delta(|t| t.timed_out)
                + delta(|t| t.rejected)
                + delta(|t| t.transport_errors),
            timed_out: last.timed_out - first.timed_out.min(last.timed_out),
            arrived: last.arrived - first.arrived.min(last.arrived),
            failed: 0,
        };
        let slo = evaluate(profile, &hists, &w);
        let p99 = |m: Metric| {
            Class::ALL
                .iter()
                .filter_map(|c| {
                    hists.get(&(*c, m)).map(|h| {
                        (
                            c.name().to_string(),
                            h.value_at_quantile(0.99) as f64 / 1000.0,
                        )
                    })
                })
                .collect()
        };
        out.push(StepResult {
            step: i,
            rate: p.rate,
            start_s: a,
            end_s: b,
            sent,
            delivered,
            timed_out: w.timed_out,
            rejected: last.rejected - first.rejected.min(last.rejected),
            max_active_chats: in_window.iter().map(|t| t.active_chats).max().unwrap_or(0),
            routing_p99_ms: p99(Metric::Routing),
            setup_p99_ms: p99(Metric::Setup),
            pass: slo.iter().all(|s| s.pass),
            slo,
        });
        // With stop_on_breach the arrivals ended with the first breaking step: later windows
        // hold only the drain.
        let stop = profile.ramp.as_ref().is_some_and(|r| r.stop_on_breach);
        if stop && out.last().is_some_and(|s| !s.pass) {
            break;
        }
    }
    out
}

/// The capacity a ramp found.
pub fn capacity(steps: &[StepResult]) -> Option<Capacity> {
    if steps.is_empty() {
        return None;
    }
    let held: Vec<&StepResult> = steps.iter().take_while(|s| s.pass).collect();
    let breach = steps.iter().find(|s| !s.pass).map(|s| {
        (
            s.rate,
            s.slo
                .iter()
                .filter(|r| !r.pass)
                .map(|r| r.what.clone())
                .collect(),
        )
    });
    Some(Capacity {
        highest_sustained_rate: held.last().map(|s| s.rate),
        concurrent_chats: held.last().map_or(0, |s| s.max_active_chats),
        first_breach: breach,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp_profile() -> Profile {
        toml::from_str(include_str!("../profiles/ramp.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn hist(values: &[u64]) -> Histogram<u64> {
        let mut h = new_histogram();
        for v in values {
            let _ = h.record(*v);
        }
        h
    }

    #[test]
    fn capacity_is_the_last_step_before_the_first_breach() {
        let p = ramp_profile();
        let r = p.ramp.clone().unwrap_or_else(|| panic!("ramp"));
        // Three steps; esnet.1 routing p99 is 10 ms, 20 ms, then 500 ms (limit 100 ms).
        let mut intervals: BTreeMap<(Class, Metric), Vec<Interval>> = BTreeMap::new();
        let mut setup = Vec::new();
        let mut ticks = Vec::new();
        let mut routing = Vec::new();
        for step in 0..3u32 {
            let ms = [10_000, 20_000, 500_000][step as usize];
            let base = f64::from(step) * r.step_s;
            for s in 0..r.step_s as u32 {
                let t = base + f64::from(s);
                routing.push(Interval::new(t, 1.0, &hist(&[ms, ms / 2])));
                setup.push(Interval::new(t, 1.0, &hist(&[1000])));
                let n = ticks.len() as u64 + 1;
                ticks.push(Tick {
                    t_s: t + 1.0,
                    arrived: n * 10,
                    sent: n * 40,
                    delivered: n * 40,
                    ok: n * 40,
                    active_chats: 100 * u64::from(step + 1),
                    ..Tick::default()
                });
            }
        }
        intervals.insert((Class::Esnet1, Metric::Routing), routing);
        intervals.insert((Class::Esnet1, Metric::Setup), setup);
        let steps = steps(&p, &intervals, &ticks, 1);
        assert_eq!(steps.len(), 3);
        assert!(
            steps[0].pass && steps[1].pass && !steps[2].pass,
            "{steps:?}"
        );
        assert_eq!(
            steps[2].routing_p99_ms.get("esnet.1").copied(),
            Some(500.223)
        );
        let c = capacity(&steps).unwrap_or_else(|| panic!("capacity"));
        assert_eq!(c.highest_sustained_rate, Some(r.start_rate + r.step_rate));
        assert_eq!(c.concurrent_chats, 200);
        let (rate, what) = c.first_breach.unwrap_or_else(|| panic!("breach"));
        assert_eq!(rate, r.start_rate + 2.0 * r.step_rate);
        assert!(what[0].contains("esnet.1 routing"), "{what:?}");
    }

    #[test]
    fn a_missing_metric_breaches_and_limits_use_fractions() {
        let p = ramp_profile();
        let w = WindowCounts {
            sent: 1000,
            not_delivered: 2,
            timed_out: 0,
            arrived: 100,
            failed: 0,
        };
        let r = evaluate(&p, &BTreeMap::new(), &w);
        assert!(r
            .iter()
            .filter(|s| s.what.contains("p99"))
            .all(|s| !s.pass && s.value.is_none()));
        let loss = r
            .iter()
            .find(|s| s.what.starts_with("loss"))
            .unwrap_or_else(|| panic!("loss"));
        assert_eq!(loss.value, Some(0.002));
        assert!(!loss.pass);
    }

    #[test]
    fn reconciliation_catches_a_message_counted_nowhere() {
        let mut c = Counts::default();
        let k = c.msg(Class::Esnet1, Kind::InChat);
        k.sent = 3;
        k.ok = 2;
        k.delivered = 3;
        let mut hc = BTreeMap::new();
        hc.insert((Class::Esnet1, Metric::ResponseInChat), 2);
        hc.insert((Class::Esnet1, Metric::RoutingInChat), 3);
        hc.insert((Class::Esnet1, Metric::Routing), 3);
        let checks = reconcile(&c, &hc, 0);
        let bad: Vec<_> = checks.iter().filter(|c| !c.ok).collect();
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].name.contains("sent = ok + rejected"));
    }
}
