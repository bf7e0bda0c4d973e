//! Turning a run into files and back: `load.json`, one HDR interval log per class and metric
//! (`hlog/<class>.<metric>.hlog`, values in µs), `load.html`; and `merge`, which rebuilds one
//! run from the report directories of several shards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use crate::class::Class;
use crate::metrics::{new_histogram, Metric};
use crate::report::{self, Hists, Interval, LoadReport, Tick};
use crate::run::{window_counts, RunData};
use crate::LoadError;

/// The verdict and exit code of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every SLO and limit held and the counts reconcile.
    Pass,
    /// An SLO or limit was breached.
    SloBreached,
    /// The counts do not reconcile: a measurement defect (or a SUT that answers for messages it
    /// never delivered).
    ReconciliationFailed,
}

impl Verdict {
    /// The name in `load.json`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::SloBreached => "slo-breached",
            Self::ReconciliationFailed => "reconciliation-failed",
        }
    }
    /// The process exit code (0 pass, 1 otherwise; 2 is for bad input).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Pass => 0,
            Self::SloBreached | Self::ReconciliationFailed => 1,
        }
    }
}

/// Summarises a run: totals, SLOs, reconciliation, ramp steps, capacity.
pub fn summarise(data: &RunData) -> (LoadReport, Verdict) {
    let mut totals: Hists = BTreeMap::new();
    for (key, ivs) in &data.intervals {
        let h = totals.entry(*key).or_insert_with(new_histogram);
        for iv in ivs {
            let _ = h.add(iv.hist());
        }
    }
    let hist_counts: BTreeMap<(Class, Metric), u64> =
        totals.iter().map(|(k, h)| (*k, h.len())).collect();
    let reconciliation = report::reconcile(&data.counts, &hist_counts, data.unknown_deliveries);
    let reconciled = reconciliation.iter().all(|c| c.ok);
    let slo = report::evaluate(&data.profile, &totals, &window_counts(&data.counts));
    let steps = report::steps(
        &data.profile,
        &data.intervals,
        &data.timeline,
        data.shards.len() as u32,
    );
    let capacity = report::capacity(&steps);
    let ramp_breach = data.profile.ramp.is_some() && steps.iter().any(|s| !s.pass);
    let verdict = if !reconciled {
        Verdict::ReconciliationFailed
    } else if !slo.iter().all(|s| s.pass) || ramp_breach {
        Verdict::SloBreached
    } else {
        Verdict::Pass
    };
    let report = LoadReport {
        name: data.profile.name.clone(),
        profile: data.profile.clone(),
        shards: data.shards.clone(),
        target: data.target.clone(),
        start_epoch_s: data.start_epoch_s,
        elapsed_s: data.elapsed_s,
        verdict: verdict.name().into(),
        counts: data.counts.clone(),
        latency_us: report::summaries(&totals),
        slo,
        reconciled,
        reconciliation,
        timeline: data.timeline.clone(),
        steps,
        capacity,
        unknown_deliveries: data.unknown_deliveries,
    };
    (report, verdict)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    std::fs::write(path, bytes).map_err(|source| LoadError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn hlog_name(class: Class, metric: Metric) -> String {
    format!("{}.{}.hlog", class.name(), metric.name())
}

/// Writes `load.json`, `load.html` and the interval logs into `dir`; returns the verdict.
pub fn write_reports(data: &RunData, dir: &Path) -> Result<(LoadReport, Verdict), LoadError> {
    let (report, verdict) = summarise(data);
    let hdir = dir.join("hlog");
    std::fs::create_dir_all(&hdir).map_err(|source| LoadError::Write {
        path: hdir.clone(),
        source,
    })?;
    let start = Duration::try_from_secs_f64(data.start_epoch_s.max(0.0))
        .ok()
        .and_then(|d| UNIX_EPOCH.checked_add(d))
        .unwrap_or(UNIX_EPOCH);
    for ((class, metric), ivs) in &data.intervals {
        let mut buf = Vec::new();
        let mut ser = V2DeflateSerializer::new();
        {
            let mut w = IntervalLogWriterBuilder::new()
                .add_comment(&format!(
                    "lmpe-load {} {} {}: microseconds from the intended send time",
                    data.profile.name,
                    class.name(),
                    metric.name()
                ))
                .with_start_time(start)
                .with_base_time(start)
                .with_max_value_divisor(1000.0)
                .begin_log_with(&mut buf, &mut ser)
                .map_err(|source| LoadError::Write {
                    path: hdir.clone(),
                    source,
                })?;
            let tag = format!("{}/{}", class.name(), metric.name());
            for iv in ivs {
                w.write_histogram(
                    &iv.hist(),
                    Duration::try_from_secs_f64(iv.start_s.max(0.0)).unwrap_or_default(),
                    Duration::try_from_secs_f64(iv.duration_s.max(0.0)).unwrap_or_default(),
                    Tag::new(&tag),
                )
                .map_err(|e| LoadError::Write {
                    path: hdir.join(hlog_name(*class, *metric)),
                    source: std::io::Error::other(format!("{e:?}")),
                })?;
            }
        }
        write(&hdir.join(hlog_name(*class, *metric)), &buf)?;
    }
    let json = serde_json::to_vec_pretty(&report).map_err(|e| LoadError::Write {
        path: dir.join("load.json"),
        source: std::io::Error::other(e),
    })?;
    write(&dir.join("load.json"), &json)?;
    write(
        &dir.join("load.html"),
        crate::html::render(&report, &data.intervals).as_bytes(),
    )?;
    Ok((report, verdict))
}

/// Reads one interval log: intervals with start times relative to `base_epoch_s`.
fn read_hlog(path: &Path, base_epoch_s: f64) -> Result<Vec<Interval>, LoadError> {
    let err = |message: String| LoadError::Merge {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    let mut base = 0.0;
    let mut out = Vec::new();
    let mut de = Deserializer::new();
    for entry in IntervalLogIterator::new(&bytes) {
        match entry.map_err(|e| err(format!("{e:?}")))? {
            LogEntry::BaseTime(b) => base = b.as_secs_f64(),
            LogEntry::StartTime(_) => {}
            LogEntry::Interval(ilh) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(ilh.encoded_histogram())
                    .map_err(|e| err(e.to_string()))?;
                let hist: Histogram<u64> = de
                    .deserialize(&mut std::io::Cursor::new(raw))
                    .map_err(|e| err(format!("{e:?}")))?;
                out.push(Interval::new(
                    base + ilh.start_timestamp().as_secs_f64() - base_epoch_s,
                    ilh.duration().as_secs_f64(),
                    &hist,
                ));
            }
        }
    }
    Ok(out)
}

/// Rebuilds one run from shard report directories: counts and ticks are summed, interval
/// histograms re-read from the logs and aligned on the earliest common start.
pub fn merge(dirs: &[PathBuf]) -> Result<RunData, LoadError> {
    let mut reports = Vec::new();
    for d in dirs {
        let p = d.join("load.json");
        let text = std::fs::read_to_string(&p).map_err(|e| LoadError::Merge {
            path: p.clone(),
            message: e.to_string(),
        })?;
        let r: LoadReport = serde_json::from_str(&text).map_err(|e| LoadError::Merge {
            path: p.clone(),
            message: e.to_string(),
        })?;
        let sane = |t: f64| t.is_finite() && (0.0..=1e7).contains(&t);
        let sane_start = r.start_epoch_s.is_finite() && (0.0..=1e11).contains(&r.start_epoch_s);
        if !(sane_start && r.timeline.iter().all(|t| sane(t.t_s))) {
            return Err(LoadError::Merge {
                path: p,
                message: "start_epoch_s or timeline times out of range".into(),
            });
        }
        reports.push((d.clone(), r));
    }
    let Some(first) = reports.first().map(|(_, r)| r.clone()) else {
        return Err(LoadError::Merge {
            path: PathBuf::new(),
            message: "no report directories given".into(),
        });
    };
    let base = reports
        .iter()
        .map(|(_, r)| r.start_epoch_s)
        .fold(f64::INFINITY, f64::min);
    let mut data = RunData {
        profile: first.profile.clone(),
        shards: Vec::new(),
        target: first.target.clone(),
        start_epoch_s: base,
        elapsed_s: 0.0,
        counts: Default::default(),
        timeline: Vec::new(),
        intervals: BTreeMap::new(),
        unknown_deliveries: 0,
    };
    for (dir, r) in &reports {
        if r.profile.name != first.profile.name {
            return Err(LoadError::Merge {
                path: dir.clone(),
                message: format!(
                    "profile {} differs from {}",
                    r.profile.name, first.profile.name
                ),
            });
        }
        for s in &r.shards {
            if data.shards.contains(s) {
                return Err(LoadError::Merge {
                    path: dir.clone(),
                    message: format!("shard {}/{} appears twice", s.k, s.n),
                });
            }
            data.shards.push(*s);
        }
        data.counts.add(&r.counts);
        data.unknown_deliveries += r.unknown_deliveries;
        let shift = r.start_epoch_s - base;
        data.elapsed_s = data.elapsed_s.max(r.elapsed_s + shift);
        // Ticks: summed per whole second from the common base; a shard's value carries over
        // to seconds after its last tick (cumulative counters).
        let mut shifted: Vec<Tick> = r
            .timeline
            .iter()
            .map(|t| Tick {
                t_s: t.t_s + shift,
                ..t.clone()
            })
            .collect();
        shifted.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
        merge_ticks(&mut data.timeline, &shifted);
        for class in Class::ALL {
            for metric in Metric::ALL {
                let p = dir.join("hlog").join(hlog_name(class, metric));
                if !p.exists() {
                    continue;
                }
                let ivs = read_hlog(&p, base)?;
                data.intervals
                    .entry((class, metric))
                    .or_default()
                    .extend(ivs);
            }
        }
    }
    for ivs in data.intervals.values_mut() {
        ivs.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    }
    Ok(data)
}

/// Sums cumulative tick series second by second.
fn merge_ticks(acc: &mut Vec<Tick>, other: &[Tick]) {
    let second = |t: f64| t.round().max(0.0) as usize;
    let len = acc
        .last()
        .map_or(0, |t| second(t.t_s) + 1)
        .max(other.last().map_or(0, |t| second(t.t_s) + 1));
    let at = |series: &[Tick], s: usize| -> Tick {
        let mut v = series
            .iter()
            .rev()
            .find(|t| second(t.t_s) <= s)
            .cloned()
            .unwrap_or_default();
        if series.last().is_some_and(|l| second(l.t_s) < s) {
            v.active_chats = 0;
        }
        v
    };
    let mut out = Vec::with_capacity(len);
    for s in 1..len {
        let mut t = at(acc, s);
        t.add(&at(other, s));
        t.t_s = s as f64;
        out.push(t);
    }
    *acc = out;
}
