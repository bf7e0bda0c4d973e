//! Capacity search on the HTTP plane: the schedule as steps (a run without `[ramp]` is one
//! step), what each step's requests came to, and the judgement of a step against the
//! profile's thresholds (each request type's p99, the step's error ratio).
//!
//! The engine judges each step as soon as its requests have ended and, with
//! `stop_on_breach`, stops taking schedule indices after the first breach and ends the goose
//! run once the requests in flight have ended. The report judges every step again from the
//! final figures; the capacity is the rate of the last step that held before the first
//! breach.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use lmpe_load::metrics::new_histogram;
use serde::{Deserialize, Serialize};

use crate::profile::HttpProfile;
use crate::report::KindCounts;
use crate::request::RequestKind;

/// One step of the schedule: requests `first .. first + count`, due evenly at `rate` from
/// `start_s` (seconds from the start of the run).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepPlan {
    /// Requests per second.
    pub rate: f64,
    /// Start, seconds from the start of the run.
    pub start_s: f64,
    /// Length, seconds.
    pub duration_s: f64,
    /// The first schedule index of the step.
    pub first: u64,
    /// Requests in the step.
    pub count: u64,
}

impl StepPlan {
    /// End, seconds from the start of the run.
    pub fn end_s(&self) -> f64 {
        self.start_s + self.duration_s
    }
}

/// The step request `k` belongs to and its due time (seconds from the start of the run);
/// `None` beyond the schedule.
pub fn due(plan: &[StepPlan], k: u64) -> Option<(usize, f64)> {
    let i = plan.partition_point(|s| s.first + s.count <= k);
    let s = plan.get(i)?;
    (k >= s.first).then(|| (i, s.start_s + (k - s.first) as f64 / s.rate))
}

/// What the requests of one step came to so far.
#[derive(Debug, Clone, Default)]
pub struct StepStats {
    /// Counts and latency histogram (µs from the due time, answered requests) by type.
    pub kinds: BTreeMap<RequestKind, (KindCounts, Histogram<u64>)>,
    /// Requests of the step that have ended (any outcome).
    pub done: u64,
}

impl StepStats {
    /// Counts a request of `kind` as sent.
    pub fn sent(&mut self, kind: RequestKind) {
        self.entry(kind).0.sent += 1;
    }

    /// Counts how a request of `kind` ended; `latency_us` for an answered one.
    pub fn ended(
        &mut self,
        kind: RequestKind,
        outcome: &crate::request::Outcome,
        latency_us: Option<u64>,
    ) {
        let (c, h) = self.entry(kind);
        c.add(outcome);
        if let Some(us) = latency_us {
            let _ = h.record(us);
        }
        self.done += 1;
    }

    fn entry(&mut self, kind: RequestKind) -> &mut (KindCounts, Histogram<u64>) {
        self.kinds
            .entry(kind)
            .or_insert_with(|| (KindCounts::default(), new_histogram()))
    }

    /// All types together.
    pub fn total(&self) -> KindCounts {
        let mut t = KindCounts::default();
        for (c, _) in self.kinds.values() {
            t.merge(c);
        }
        t
    }
}

/// A step in `load.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    /// Step number, from 0.
    pub step: usize,
    /// Requests per second asked for.
    pub rate: f64,
    /// Start, seconds from the start of the run.
    pub start_s: f64,
    /// Length, seconds.
    pub duration_s: f64,
    /// Requests of the step.
    pub scheduled: u64,
    /// Requests sent.
    pub sent: u64,
    /// Requests answered with the expected message.
    pub ok: u64,
    /// Requests that ended other than ok.
    pub not_ok: u64,
    /// Requests of the step never sent (every goose user busy until the run ended, or the ramp
    /// stopped in the middle of the step); they count as errors.
    pub not_sent: u64,
    /// (not ok + not sent) / scheduled; for a step not judged, not ok / sent.
    pub error_ratio: f64,
    /// p99 latency from the due time (ms) by request type (types with answers).
    pub p99_ms: BTreeMap<String, f64>,
    /// `Some(true)` held, `Some(false)` breached, `None` not judged (the ramp stopped before
    /// or during it after an earlier breach).
    pub pass: Option<bool>,
    /// What broke, e.g. `lost-find-service-geodetic p99 412.3 ms > 50 ms`.
    pub breaches: Vec<String>,
}

/// The capacity a ramp found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HttpCapacity {
    /// Rate of the last step that held before the first breach (`None`: the first step broke).
    pub highest_sustained_rate: Option<f64>,
    /// Rate of the first step that broke, and what broke (`None`: every step held).
    pub first_breach: Option<(f64, Vec<String>)>,
}

/// Judges step `i` from `stats` against the profile's thresholds: every type with requests
/// needs a p99 within its limit (a type whose requests all failed has no p99 and breaks its
/// limit), and the step's error ratio must be within the limit. `judged = false` reports the
/// step without a verdict.
pub fn judge(
    profile: &HttpProfile,
    i: usize,
    plan: &StepPlan,
    stats: &StepStats,
    judged: bool,
) -> StepResult {
    let total = stats.total();
    let not_sent = plan.count.saturating_sub(total.sent);
    // A step left unjudged (a stopped ramp) is rated by what it sent.
    let error_ratio = match (judged, plan.count, total.sent) {
        (true, 0, _) | (false, _, 0) => 0.0,
        (true, n, _) => (total.not_ok() + not_sent) as f64 / n as f64,
        (false, _, sent) => total.not_ok() as f64 / sent as f64,
    };
    let mut p99_ms = BTreeMap::new();
    let mut breaches = Vec::new();
    for (kind, (c, h)) in &stats.kinds {
        let p99 = (!h.is_empty()).then(|| h.value_at_quantile(0.99) as f64 / 1000.0);
        if let Some(v) = p99 {
            p99_ms.insert(kind.name().to_string(), v);
        }
        match (profile.p99_limit(*kind), p99) {
            (Some(limit), Some(v)) if v > limit => {
                breaches.push(format!("{} p99 {v:.1} ms > {limit} ms", kind.name()));
            }
            (Some(limit), None) if c.sent > 0 => breaches.push(format!(
                "{}: no answer to {} requests (p99 limit {limit} ms)",
                kind.name(),
                c.sent
            )),
            _ => {}
        }
    }
    if let Some(limit) = profile.thresholds.error_ratio {
        if error_ratio > limit {
            breaches.push(format!(
                "error ratio {error_ratio:.4} > {limit} ({} not ok, {not_sent} not sent of {})",
                total.not_ok(),
                plan.count
            ));
        }
    }
    StepResult {
        step: i,
        rate: plan.rate,
        start_s: plan.start_s,
        duration_s: plan.duration_s,
        scheduled: plan.count,
        sent: total.sent,
        ok: total.ok,
        not_ok: total.not_ok(),
        not_sent,
        error_ratio,
        p99_ms,
        pass: judged.then_some(breaches.is_empty()),
        breaches,
    }
}

/// The capacity of judged steps (`None` for a run without a ramp).
pub fn capacity(steps: &[StepResult]) -> HttpCapacity {
    let held = steps.iter().take_while(|s| s.pass == Some(true)).last();
    let breach = steps.iter().find(|s| s.pass == Some(false));
    HttpCapacity {
        highest_sustained_rate: held.map(|s| s.rate),
        first_breach: breach.map(|s| (s.rate, s.breaches.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Outcome;
    use std::path::Path;

    fn profile(extra: &str) -> HttpProfile {
        HttpProfile::parse(
            &format!(
                "plane = \"http\"\nname = \"r\"\nusers = 4\n{extra}\n[mix]\nlost-find-service-geodetic = 1\n[thresholds]\nerror_ratio = 0.1\np99_ms = {{ \"*\" = 10.0 }}\n"
            ),
            Path::new("r.toml"),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_plan_steps_up_and_due_times_follow_it() {
        let p = profile("[ramp]\nstart_rate = 10.0\nstep_rate = 10.0\nstep_s = 2.0\nmax_steps = 3");
        let plan = p.plan();
        assert_eq!(
            plan.iter().map(|s| (s.first, s.count)).collect::<Vec<_>>(),
            [(0, 20), (20, 40), (60, 60)]
        );
        assert_eq!(p.arrivals(), 120);
        assert_eq!(p.schedule_s(), 6.0);
        assert_eq!(due(&plan, 0), Some((0, 0.0)));
        assert_eq!(due(&plan, 19), Some((0, 1.9)));
        assert_eq!(due(&plan, 20), Some((1, 2.0)));
        assert_eq!(due(&plan, 21), Some((1, 2.05)));
        assert_eq!(due(&plan, 119).map(|(i, _)| i), Some(2));
        assert_eq!(due(&plan, 120), None);
        let flat = profile("rate = 5.0\nduration_s = 2.0");
        assert_eq!(flat.plan().len(), 1);
        assert_eq!(due(&flat.plan(), 9), Some((0, 1.8)));
    }

    #[test]
    fn a_step_breaks_on_p99_errors_and_unanswered_types_and_capacity_follows() {
        let p = profile("[ramp]\nstart_rate = 5.0\nstep_rate = 5.0\nstep_s = 2.0\nmax_steps = 3");
        let plan = p.plan();
        let k = RequestKind::FindServiceGeodetic;
        let mut fast = StepStats::default();
        for _ in 0..10 {
            fast.sent(k);
            fast.ended(k, &Outcome::Ok, Some(2_000));
        }
        let r0 = judge(&p, 0, &plan[0], &fast, true);
        assert_eq!((r0.pass, r0.not_sent, r0.error_ratio), (Some(true), 0, 0.0));

        let mut slow = StepStats::default();
        for _ in 0..20 {
            slow.sent(k);
            slow.ended(k, &Outcome::Ok, Some(50_000));
        }
        let r1 = judge(&p, 1, &plan[1], &slow, true);
        assert_eq!(r1.pass, Some(false));
        assert!(r1.breaches[0].contains("p99 50.0 ms > 10 ms"), "{r1:?}");

        // Half of the step never sent, the rest timed out: no p99 and the error ratio breaks.
        let mut dead = StepStats::default();
        for _ in 0..15 {
            dead.sent(k);
            dead.ended(k, &Outcome::Timeout, None);
        }
        let r2 = judge(&p, 2, &plan[2], &dead, true);
        assert_eq!((r2.not_sent, r2.error_ratio), (15, 1.0));
        assert_eq!(r2.breaches.len(), 2, "{r2:?}");

        let c = capacity(&[r0.clone(), r1.clone(), r2.clone()]);
        assert_eq!(c.highest_sustained_rate, Some(5.0));
        assert_eq!(c.first_breach.map(|(rate, _)| rate), Some(10.0));
        let c = capacity(&[r1, r0.clone()]);
        assert_eq!(c.highest_sustained_rate, None);
        let unjudged = judge(&p, 2, &plan[2], &StepStats::default(), false);
        assert_eq!((unjudged.pass, unjudged.error_ratio), (None, 0.0));
        assert_eq!(capacity(&[r0, unjudged]).first_breach, None);
    }
}
