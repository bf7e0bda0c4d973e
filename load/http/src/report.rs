//! The HTTP load's figures and files, in the conventions of the SIP load: `load.json` (counts
//! per request type, latency summaries in µs, thresholds, verdict, reconciliation), HDR
//! interval logs in `hlog/` and a self-contained `load.html`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;
use lmpe_load::html::{chart, checks_table, esc, page_head, pass_class, Series, COLORS};
use lmpe_load::report::{Check, Interval, SloResult, Summary};
use lmpe_load::{LoadError, Verdict};
use serde::{Deserialize, Serialize};

use crate::profile::HttpProfile;
use crate::ramp::{capacity, HttpCapacity, StepResult};
use crate::request::{Outcome, RequestKind};

/// How the requests of one type ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCounts {
    /// Requests sent (the schedule reached them and the transaction started them).
    pub sent: u64,
    /// HTTP 200 with the expected LoST/HELD message.
    pub ok: u64,
    /// Answers with another HTTP status, by status.
    pub http_error: BTreeMap<u16, u64>,
    /// HTTP 200 answers that are not the expected message, by kind (see [`Outcome`]).
    pub protocol_error: BTreeMap<String, u64>,
    /// No complete answer within the request budget.
    pub timeout: u64,
    /// Connection failures (refused, reset).
    pub transport_error: u64,
}

impl KindCounts {
    /// Counts one outcome.
    pub fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Ok => self.ok += 1,
            Outcome::HttpError(s) => *self.http_error.entry(*s).or_default() += 1,
            Outcome::ProtocolError(k) => *self.protocol_error.entry(k.clone()).or_default() += 1,
            Outcome::Timeout => self.timeout += 1,
            Outcome::TransportError => self.transport_error += 1,
        }
    }

    /// Adds another type's counts.
    pub fn merge(&mut self, o: &Self) {
        self.sent += o.sent;
        self.ok += o.ok;
        for (k, v) in &o.http_error {
            *self.http_error.entry(*k).or_default() += v;
        }
        for (k, v) in &o.protocol_error {
            *self.protocol_error.entry(k.clone()).or_default() += v;
        }
        self.timeout += o.timeout;
        self.transport_error += o.transport_error;
    }

    /// All HTTP errors.
    pub fn http_error_total(&self) -> u64 {
        self.http_error.values().sum()
    }

    /// All protocol errors.
    pub fn protocol_error_total(&self) -> u64 {
        self.protocol_error.values().sum()
    }

    /// Requests that ended other than ok (errors, timeouts, transport errors).
    pub fn not_ok(&self) -> u64 {
        self.http_error_total() + self.protocol_error_total() + self.timeout + self.transport_error
    }

    /// Requests with an answer (their latency is in the histogram).
    pub fn answered(&self) -> u64 {
        self.ok + self.http_error_total() + self.protocol_error_total()
    }
}

/// Counts, whole-run histogram and interval histograms of one request type.
pub type KindData = (KindCounts, Histogram<u64>, Vec<Interval>);

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The profile.
    pub profile: HttpProfile,
    /// The target's name.
    pub target: String,
    /// The ECRF's URL (empty: none).
    pub lost_url: String,
    /// The LIS's URL (empty: none).
    pub held_url: String,
    /// Start, Unix seconds.
    pub start_epoch_s: f64,
    /// Length of the run, seconds.
    pub elapsed_s: f64,
    /// Requests of the schedule.
    pub scheduled: u64,
    /// Schedule indices the transactions took (at most `scheduled`).
    pub claimed: u64,
    /// By request type.
    pub kinds: BTreeMap<RequestKind, KindData>,
    /// Goose's own request count by request name.
    pub goose_requests: BTreeMap<String, u64>,
    /// The schedule's steps with their figures (one step without a ramp; judged in a ramp).
    pub steps: Vec<StepResult>,
    /// The step after whose breach a ramp stopped sending.
    pub stopped_after_step: Option<usize>,
}

/// A ramp's outcome in `load.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RampReport {
    /// Every step: rate, counts, p99 by type, error ratio, verdict and what broke.
    pub steps: Vec<StepResult>,
    /// The highest rate that held and the first breach.
    pub capacity: HttpCapacity,
    /// The step after whose breach the requests stopped (`stop_on_breach`).
    pub stopped_after_step: Option<usize>,
}

/// `load.json` of the HTTP plane.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HttpReport {
    /// The profile's name.
    pub name: String,
    /// Always `http`.
    pub plane: String,
    /// The target.
    pub target: String,
    /// The ECRF's URL.
    pub lost_url: String,
    /// The LIS's URL.
    pub held_url: String,
    /// Start, Unix seconds.
    pub start_epoch_s: f64,
    /// Length of the run, seconds.
    pub elapsed_s: f64,
    /// Requests per second asked for (a ramp: the rate of its last step that sent).
    pub rate: f64,
    /// Requests answered (any answer) per second of the schedule that ran.
    pub achieved_rate: f64,
    /// Requests of the schedule.
    pub scheduled: u64,
    /// Scheduled requests the run did not reach before goose's run time ended (every user
    /// busy with a slow server); they count against the error ratio.
    pub not_sent: u64,
    /// Goose users.
    pub users: usize,
    /// Counts by request type.
    pub counts: BTreeMap<String, KindCounts>,
    /// All types together.
    pub total: KindCounts,
    /// Latency from the due time to the last byte of the answer (µs), answered requests only,
    /// by request type.
    pub latency_us: BTreeMap<String, Summary>,
    /// Thresholds over the whole run (a ramp judges each step instead: see `ramp`).
    pub thresholds: Vec<SloResult>,
    /// Capacity search: the steps and what they found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ramp: Option<RampReport>,
    /// Goose's own count of requests, by request type.
    pub goose_requests: BTreeMap<String, u64>,
    /// Identities the counts must satisfy.
    pub reconciliation: Vec<Check>,
    /// All of them hold.
    pub reconciled: bool,
    /// `pass`, `slo-breached` or `reconciliation-failed`.
    pub verdict: String,
}

fn check(name: String, lhs: u64, rhs: u64) -> Check {
    Check {
        name,
        lhs,
        rhs,
        ok: lhs == rhs,
    }
}

/// Summarises a run.
pub fn summarise(d: &RunData) -> (HttpReport, Verdict) {
    let mut total = KindCounts::default();
    let mut counts = BTreeMap::new();
    let mut latency_us = BTreeMap::new();
    let mut recon = Vec::new();
    let mut thresholds = Vec::new();
    for (kind, (c, h, _)) in &d.kinds {
        let n = kind.name();
        total.merge(c);
        counts.insert(n.to_string(), c.clone());
        latency_us.insert(n.to_string(), Summary::of(h));
        recon.push(check(
            format!("{n}: sent = ok + http errors + protocol errors + timeouts + transport errors"),
            c.sent,
            c.ok + c.not_ok(),
        ));
        recon.push(check(
            format!("{n}: latency samples = answered requests"),
            h.len(),
            c.answered(),
        ));
        recon.push(check(
            format!("{n}: sent = goose's request count"),
            c.sent,
            d.goose_requests.get(n).copied().unwrap_or(0),
        ));
        if let Some(limit) = d
            .profile
            .p99_limit(*kind)
            .filter(|_| d.profile.ramp.is_none())
        {
            let value = (!h.is_empty()).then(|| h.value_at_quantile(0.99) as f64 / 1000.0);
            thresholds.push(SloResult {
                what: format!("{n} p99 latency (ms)"),
                value,
                limit,
                pass: value.is_some_and(|v| v <= limit),
            });
        }
    }
    recon.push(check(
        "schedule indices taken = requests sent".into(),
        d.claimed,
        total.sent,
    ));
    recon.push(check(
        "requests sent = the sum over the steps".into(),
        total.sent,
        d.steps.iter().map(|s| s.sent).sum(),
    ));
    recon.push(check(
        "requests ok = the sum over the steps".into(),
        total.ok,
        d.steps.iter().map(|s| s.ok).sum(),
    ));
    let not_sent = d.scheduled.saturating_sub(d.claimed);
    let ramp = d.profile.ramp.as_ref().map(|_| RampReport {
        capacity: capacity(&d.steps),
        steps: d.steps.clone(),
        stopped_after_step: d.stopped_after_step,
    });
    let ramp_breached = ramp
        .as_ref()
        .is_some_and(|r| r.steps.iter().any(|s| s.pass == Some(false)));
    if let Some(limit) = d
        .profile
        .thresholds
        .error_ratio
        .filter(|_| d.profile.ramp.is_none())
    {
        let value =
            (d.scheduled > 0).then(|| (total.not_ok() + not_sent) as f64 / d.scheduled as f64);
        thresholds.push(SloResult {
            what: "error ratio ((not ok + not sent) / scheduled)".into(),
            value,
            limit,
            pass: value.is_some_and(|v| v <= limit),
        });
    }
    let reconciled = recon.iter().all(|c| c.ok);
    let verdict = if !reconciled {
        Verdict::ReconciliationFailed
    } else if thresholds.iter().all(|t| t.pass) && !ramp_breached {
        Verdict::Pass
    } else {
        Verdict::SloBreached
    };
    // The schedule that ran: up to the end of the last step that sent anything.
    let ran = d.steps.iter().rev().find(|s| s.sent > 0);
    let (rate, ran_s) = match (&d.profile.ramp, ran) {
        (None, _) => (d.profile.rate, d.profile.duration_s),
        (Some(_), Some(s)) => (s.rate, s.start_s + s.duration_s),
        (Some(_), None) => (0.0, 0.0),
    };
    let report = HttpReport {
        name: d.profile.name.clone(),
        plane: "http".into(),
        target: d.target.clone(),
        lost_url: d.lost_url.clone(),
        held_url: d.held_url.clone(),
        start_epoch_s: d.start_epoch_s,
        elapsed_s: d.elapsed_s,
        rate,
        achieved_rate: if ran_s > 0.0 {
            total.answered() as f64 / ran_s
        } else {
            0.0
        },
        scheduled: d.scheduled,
        not_sent,
        users: d.profile.users,
        counts,
        total,
        latency_us,
        thresholds,
        ramp,
        goose_requests: d.goose_requests.clone(),
        reconciliation: recon,
        reconciled,
        verdict: verdict.name().into(),
    };
    (report, verdict)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    std::fs::write(path, bytes).map_err(|source| LoadError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn write_hlog(
    d: &RunData,
    kind: RequestKind,
    ivs: &[Interval],
    dir: &Path,
) -> Result<(), LoadError> {
    let path = dir.join(format!("{}.hlog", kind.name()));
    let io = |e: String| LoadError::Write {
        path: path.clone(),
        source: std::io::Error::other(e),
    };
    let start = Duration::try_from_secs_f64(d.start_epoch_s.max(0.0))
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(s))
        .unwrap_or(UNIX_EPOCH);
    let mut buf = Vec::new();
    let mut ser = V2DeflateSerializer::new();
    {
        let mut w = IntervalLogWriterBuilder::new()
            .add_comment(&format!(
                "lmpe-load http {} {}: microseconds from the due time to the answer",
                d.profile.name,
                kind.name()
            ))
            .with_start_time(start)
            .with_base_time(start)
            .with_max_value_divisor(1000.0)
            .begin_log_with(&mut buf, &mut ser)
            .map_err(|e| io(e.to_string()))?;
        for iv in ivs {
            w.write_histogram(
                &iv.hist(),
                Duration::try_from_secs_f64(iv.start_s.max(0.0)).unwrap_or_default(),
                Duration::try_from_secs_f64(iv.duration_s.max(0.0)).unwrap_or_default(),
                Tag::new(kind.name()),
            )
            .map_err(|e| io(format!("{e:?}")))?;
        }
    }
    write(&path, &buf)
}

/// Writes `load.json`, `load.html` and `hlog/<type>.hlog` into `dir`; returns the report and
/// verdict.
pub fn write_reports(d: &RunData, dir: &Path) -> Result<(HttpReport, Verdict), LoadError> {
    let (report, verdict) = summarise(d);
    let hdir = dir.join("hlog");
    std::fs::create_dir_all(&hdir).map_err(|source| LoadError::Write {
        path: hdir.clone(),
        source,
    })?;
    for (kind, (_, _, ivs)) in &d.kinds {
        write_hlog(d, *kind, ivs, &hdir)?;
    }
    let json = serde_json::to_vec_pretty(&report).map_err(|e| LoadError::Write {
        path: dir.join("load.json"),
        source: std::io::Error::other(e),
    })?;
    write(&dir.join("load.json"), &json)?;
    write(&dir.join("load.html"), render(&report, d).as_bytes())?;
    Ok((report, verdict))
}

/// The page: verdict, thresholds, p99/p50 per type over time, answers per second, counts,
/// latency percentiles, reconciliation.
pub fn render(r: &HttpReport, d: &RunData) -> String {
    let mut s = page_head(
        &format!("lmpe-load http {}", r.name),
        &format!("lmpe-load (HTTP: HELD/LoST): {}", r.name),
    );
    let cls = pass_class;
    let _ = write!(
        s,
        r#"<p>Target: {} (LoST {}, HELD {}). {} by {} goose users; {:.1} s. Verdict: <span class="{}">{}</span>. Counts reconcile: <span class="{}">{}</span>.</p>"#,
        esc(&r.target),
        esc(&r.lost_url),
        esc(&r.held_url),
        match &d.profile.ramp {
            None => format!("{} requests/s for {} s", r.rate, d.profile.duration_s),
            Some(p) => format!(
                "a ramp from {} requests/s, +{} every {} s, at most {} steps",
                p.start_rate, p.step_rate, p.step_s, p.max_steps
            ),
        },
        r.users,
        r.elapsed_s,
        cls(r.verdict == "pass"),
        esc(&r.verdict),
        cls(r.reconciled),
        if r.reconciled { "yes" } else { "NO" }
    );
    checks_table(&mut s, "Thresholds", &r.thresholds, "BROKEN");
    if let Some(ramp) = &r.ramp {
        let c = &ramp.capacity;
        let _ =
            write!(
            s,
            "<h2>Capacity search</h2><p>Highest rate that held: <b>{}</b>. First breach: {}.{}</p>",
            c.highest_sustained_rate
                .map_or("none (the first step broke)".into(), |v| format!("{v} requests/s")),
            c.first_breach.as_ref().map_or("none".into(), |(rate, why)| {
                esc(&format!("{rate} requests/s ({})", why.join("; ")))
            }),
            ramp.stopped_after_step
                .map_or(String::new(), |i| format!(" The requests stopped after step {i}."))
        );
        s.push_str("<table><tr><th>step</th><th>rate (1/s)</th><th>scheduled</th><th>sent</th><th>ok</th><th>not ok</th><th>not sent</th><th>error ratio</th><th>p99 by type (ms)</th><th>verdict</th></tr>");
        for st in &ramp.steps {
            let p99 = st
                .p99_ms
                .iter()
                .map(|(k, v)| format!("{}: {v:.1}", esc(k)))
                .collect::<Vec<_>>()
                .join(", ");
            let (class, verdict) = match st.pass {
                Some(true) => (cls(true), "held".to_string()),
                Some(false) => (cls(false), esc(&st.breaches.join("; "))),
                None => ("", "not judged".to_string()),
            };
            let _ = write!(
                s,
                r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{p99}</td><td class="{class}">{verdict}</td></tr>"#,
                st.step,
                st.rate,
                st.scheduled,
                st.sent,
                st.ok,
                st.not_ok,
                st.not_sent,
                st.error_ratio
            );
        }
        s.push_str("</table>");
    }
    let mut lat = Vec::new();
    let mut thr = Vec::new();
    for (i, (kind, (_, _, ivs))) in d.kinds.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        for (q, dashed) in [(0.99, false), (0.5, true)] {
            lat.push(Series {
                name: format!("{} p{}", kind.name(), q * 100.0),
                color,
                dashed,
                points: ivs
                    .iter()
                    .map(|iv| {
                        let v = if q >= 0.99 { iv.p99 } else { iv.p50 };
                        (iv.start_s + iv.duration_s, v as f64 / 1000.0)
                    })
                    .collect(),
            });
        }
        thr.push(Series {
            name: kind.name().to_string(),
            color,
            dashed: false,
            points: ivs
                .iter()
                .map(|iv| {
                    (
                        iv.start_s + iv.duration_s,
                        iv.count as f64 / iv.duration_s.max(1e-3),
                    )
                })
                .collect(),
        });
    }
    s.push_str("<h2>Latency</h2>");
    s.push_str(&chart(
        "latency from the due time, p99 (solid) and p50 (dashed)",
        "ms",
        &lat,
    ));
    s.push_str(&chart("answers per second", "1/s", &thr));
    s.push_str("<h2>Counts</h2><table><tr><th>request type</th><th>sent</th><th>ok</th><th>HTTP errors</th><th>protocol errors</th><th>timeouts</th><th>transport errors</th></tr>");
    let kv = |m: Vec<(String, u64)>| {
        m.into_iter()
            .map(|(k, v)| format!("{}: {v}", esc(&k)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (n, c) in r.counts.iter().chain([(&"all".to_string(), &r.total)]) {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(n),
            c.sent,
            c.ok,
            kv(c.http_error.iter().map(|(k, v)| (k.to_string(), *v)).collect()),
            kv(c.protocol_error.iter().map(|(k, v)| (k.clone(), *v)).collect()),
            c.timeout,
            c.transport_error
        );
    }
    s.push_str("</table><h2>Latency percentiles (ms)</h2><table><tr><th>request type</th><th>samples</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>");
    for (n, l) in &r.latency_us {
        let ms = |v: u64| format!("{:.3}", v as f64 / 1000.0);
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(n),
            l.count,
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p999),
            ms(l.max)
        );
    }
    s.push_str("</table><h2>Reconciliation</h2><table><tr><th>identity</th><th>left</th><th>right</th><th>holds</th></tr>");
    for c in &r.reconciliation {
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="{}">{}</td></tr>"#,
            esc(&c.name),
            c.lhs,
            c.rhs,
            cls(c.ok),
            if c.ok { "yes" } else { "NO" }
        );
    }
    s.push_str("</table></body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path as P;

    fn data(latencies_us: &[u64], outcomes: &[Outcome], goose: u64) -> RunData {
        let profile = HttpProfile::parse(
            "plane = \"http\"\nname = \"t\"\nrate = 10.0\nduration_s = 0.4\nusers = 1\n[mix]\nheld-location-request = 1\n[thresholds]\nerror_ratio = 0.25\np99_ms = { \"*\" = 10.0 }\n",
            P::new("t.toml"),
        )
        .expect("profile");
        let mut c = KindCounts::default();
        let mut h = lmpe_load::metrics::new_histogram();
        for o in outcomes {
            c.sent += 1;
            c.add(o);
        }
        for us in latencies_us {
            let _ = h.record(*us);
        }
        RunData {
            profile,
            target: "t".into(),
            lost_url: String::new(),
            held_url: "http://x/held".into(),
            start_epoch_s: 0.0,
            elapsed_s: 1.0,
            scheduled: 4,
            claimed: outcomes.len() as u64,
            steps: vec![crate::ramp::StepResult {
                step: 0,
                rate: 10.0,
                start_s: 0.0,
                duration_s: 0.4,
                scheduled: 4,
                sent: c.sent,
                ok: c.ok,
                not_ok: c.not_ok(),
                not_sent: 4 - c.sent,
                error_ratio: 0.0,
                p99_ms: BTreeMap::new(),
                pass: None,
                breaches: Vec::new(),
            }],
            stopped_after_step: None,
            kinds: [(RequestKind::HeldLocationRequest, (c, h, Vec::new()))].into(),
            goose_requests: [("held-location-request".to_string(), goose)].into(),
        }
    }

    #[test]
    fn verdicts_follow_thresholds_and_reconciliation() {
        let ok = Outcome::Ok;
        let d = data(
            &[1000, 2000, 3000],
            &[ok.clone(), ok.clone(), ok.clone(), Outcome::Timeout],
            4,
        );
        let (r, v) = summarise(&d);
        assert!(r.reconciled, "{:?}", r.reconciliation);
        assert_eq!(v, Verdict::Pass);
        assert_eq!(r.total.timeout, 1);

        // p99 of 20 ms breaks the 10 ms limit.
        let d = data(
            &[1000, 2000, 20_000],
            &[ok.clone(), ok.clone(), ok.clone(), Outcome::Timeout],
            4,
        );
        assert_eq!(summarise(&d).1, Verdict::SloBreached);

        // Two of four not ok: the error ratio 0.5 breaks 0.25.
        let d = data(
            &[1000, 2000, 3000],
            &[
                ok.clone(),
                Outcome::HttpError(503),
                Outcome::ProtocolError("held-error:x".into()),
                Outcome::Timeout,
            ],
            4,
        );
        let (r, v) = summarise(&d);
        assert_eq!(v, Verdict::SloBreached);
        assert_eq!(r.total.http_error.get(&503), Some(&1));

        // Goose counted another number of requests: the counts do not reconcile.
        let d = data(
            &[1000, 2000, 3000],
            &[ok.clone(), ok.clone(), ok, Outcome::Timeout],
            5,
        );
        assert_eq!(summarise(&d).1, Verdict::ReconciliationFailed);
    }
}
