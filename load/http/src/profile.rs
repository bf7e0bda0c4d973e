//! HTTP load profiles (`load/profiles/http-*.toml`): `plane = "http"`, an arrival rate, a
//! duration, the goose users that carry the requests, the request mix and the thresholds that
//! decide the exit code.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ramp::StepPlan;
use crate::request::RequestKind;
use lmpe_load::profile::{parse_toml, read_toml, Phase, Ramp};
use lmpe_load::LoadError;

/// The plane a profile file is for: its top-level `plane` key (absent: `sip`).
pub fn plane_of(path: &Path) -> Result<String, LoadError> {
    let value: toml::Table = read_toml(path)?;
    match value.get("plane") {
        None => Ok("sip".into()),
        Some(toml::Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(LoadError::Profile(format!(
            "plane must be a string (\"sip\" or \"http\"), not {other}"
        ))),
    }
}

/// An HTTP load profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpProfile {
    /// Must be `"http"`.
    pub plane: String,
    /// Name in reports.
    pub name: String,
    /// Arrival rate, requests per second (open model: request k is due at k / rate); not with
    /// a `[ramp]`.
    #[serde(default)]
    pub rate: f64,
    /// Seconds of arrivals; not with a `[ramp]`.
    #[serde(default)]
    pub duration_s: f64,
    /// Capacity search instead of one rate: steps of `start_rate + i * step_rate` requests/s,
    /// `step_s` each, each judged by the thresholds; with `stop_on_breach` (default) the
    /// requests stop after the first step that breaks one.
    #[serde(default)]
    pub ramp: Option<Ramp>,
    /// Goose users: how many requests may be outstanding at once. When all are busy, a due
    /// request waits and its latency (measured from the due time) shows it.
    pub users: usize,
    /// Budget of each request (connect to last body byte), milliseconds; beyond it the request
    /// counts as a timeout.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Seed of the geodetic points (same seed, same points).
    #[serde(default)]
    pub seed: u64,
    /// The service URN of the LoST queries.
    #[serde(default = "default_service")]
    pub service: String,
    /// Relative weights of the request types (see [`RequestKind::name`]).
    pub mix: BTreeMap<String, u32>,
    /// What decides the exit code.
    #[serde(default)]
    pub thresholds: Thresholds,
}

fn default_timeout_ms() -> u64 {
    2000
}
fn default_service() -> String {
    "urn:service:sos".into()
}

/// Thresholds: any broken one makes the run exit 1.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Largest fraction of requests (all types) that may end other than ok (HTTP error,
    /// LoST/HELD error, unparsable answer, transport error, timeout).
    #[serde(default)]
    pub error_ratio: Option<f64>,
    /// p99 latency limit in milliseconds, by request type (`"*"`: every type in the mix).
    #[serde(default)]
    pub p99_ms: BTreeMap<String, f64>,
}

impl HttpProfile {
    /// Reads and validates a profile.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let p: Self = read_toml(path)?;
        p.validate()?;
        Ok(p)
    }

    /// Parses and validates profile text (`path` for messages).
    pub fn parse(text: &str, path: &Path) -> Result<Self, LoadError> {
        let p: Self = parse_toml(text, path)?;
        p.validate()?;
        Ok(p)
    }

    /// Checks ranges and names.
    pub fn validate(&self) -> Result<(), LoadError> {
        let bad = |m: String| Err(LoadError::Profile(m));
        if self.plane != "http" {
            return bad(format!(
                "plane = {:?}: an HTTP profile needs plane = \"http\"",
                self.plane
            ));
        }
        let rate_ok = |r: f64| r.is_finite() && r > 0.0 && r <= 1_000_000.0;
        match &self.ramp {
            None => {
                if !rate_ok(self.rate) {
                    return bad(format!(
                        "rate {} must be in (0, 1e6] requests/s (or give a [ramp])",
                        self.rate
                    ));
                }
                if !(self.duration_s.is_finite()
                    && self.duration_s > 0.0
                    && self.duration_s <= 86_400.0)
                {
                    return bad(format!(
                        "duration_s {} must be in (0, 86400]",
                        self.duration_s
                    ));
                }
            }
            Some(r) => {
                if self.rate != 0.0 || self.duration_s != 0.0 {
                    return bad("give either rate and duration_s or a [ramp], not both".into());
                }
                let last = r.last_rate();
                let valid = rate_ok(r.start_rate)
                    && r.step_rate.is_finite()
                    && r.step_rate >= 0.0
                    && rate_ok(last)
                    && r.step_s.is_finite()
                    && r.step_s > 0.0
                    && r.max_steps > 0
                    && r.step_s * f64::from(r.max_steps) <= 86_400.0;
                if !valid {
                    return bad(
                        "ramp: start_rate > 0, step_rate >= 0, every rate at most 1e6/s, \
                         step_s > 0, max_steps >= 1, at most 86400 s in all"
                            .into(),
                    );
                }
            }
        }
        if self.users == 0 || self.users > 10_000 {
            return bad(format!("users {} must be in 1..=10000", self.users));
        }
        if self.timeout_ms == 0 || self.timeout_ms > 600_000 {
            return bad(format!(
                "timeout_ms {} must be in 1..=600000",
                self.timeout_ms
            ));
        }
        if self.mix.is_empty() || self.mix.values().all(|w| *w == 0) {
            return bad("mix needs at least one request type with a weight > 0".into());
        }
        for name in self.mix.keys() {
            if RequestKind::by_name(name).is_none() {
                return bad(format!(
                    "mix: unknown request type {name:?} (known: {})",
                    RequestKind::ALL.map(RequestKind::name).join(", ")
                ));
            }
        }
        if let Some(r) = self.thresholds.error_ratio {
            if !(0.0..=1.0).contains(&r) {
                return bad(format!("thresholds.error_ratio {r} must be in [0, 1]"));
            }
        }
        for (name, ms) in &self.thresholds.p99_ms {
            if name != "*" && !matches!(self.mix.get(name), Some(w) if *w > 0) {
                return bad(format!(
                    "thresholds.p99_ms: {name:?} is not a request type of the mix"
                ));
            }
            if !(ms.is_finite() && *ms > 0.0) {
                return bad(format!("thresholds.p99_ms.{name} = {ms} must be > 0"));
            }
        }
        if self.arrivals() == 0 {
            return bad("rate * duration_s gives no request".into());
        }
        Ok(())
    }

    /// The schedule as steps: one step of `rate` for `duration_s`, or the ramp's steps.
    pub fn plan(&self) -> Vec<StepPlan> {
        let phases = match &self.ramp {
            None => vec![Phase {
                start_s: 0.0,
                duration_s: self.duration_s,
                rate: self.rate,
            }],
            Some(r) => r.phases(),
        };
        let mut first = 0;
        phases
            .into_iter()
            .map(|p| {
                // Rounded, as the HTTP plane always counted (the chat schedule floors).
                let count = (p.rate * p.duration_s).round() as u64;
                let step = StepPlan {
                    rate: p.rate,
                    start_s: p.start_s,
                    duration_s: p.duration_s,
                    first,
                    count,
                };
                first += count;
                step
            })
            .collect()
    }

    /// Requests of the run: `rate * duration_s` (each ramp step's), rounded.
    pub fn arrivals(&self) -> u64 {
        self.plan().iter().map(|s| s.count).sum()
    }

    /// Seconds of the whole schedule.
    pub fn schedule_s(&self) -> f64 {
        self.plan().last().map_or(0.0, StepPlan::end_s)
    }

    /// The per-request budget.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// The request types with a weight > 0, in [`RequestKind::ALL`] order, with their weights.
    pub fn weights(&self) -> Vec<(RequestKind, u32)> {
        RequestKind::ALL
            .into_iter()
            .filter_map(|k| {
                self.mix
                    .get(k.name())
                    .copied()
                    .filter(|w| *w > 0)
                    .map(|w| (k, w))
            })
            .collect()
    }

    /// The p99 limit (ms) of `kind`: its own, else `"*"`.
    pub fn p99_limit(&self, kind: RequestKind) -> Option<f64> {
        self.thresholds
            .p99_ms
            .get(kind.name())
            .or_else(|| self.thresholds.p99_ms.get("*"))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
plane = "http"
name = "t"
rate = 100.0
duration_s = 2.0
users = 8
[mix]
lost-find-service-geodetic = 3
held-location-request = 1
[thresholds]
error_ratio = 0.0
p99_ms = { "*" = 50.0, held-location-request = 20.0 }
"#;

    fn parse(t: &str) -> Result<HttpProfile, LoadError> {
        HttpProfile::parse(t, Path::new("p.toml"))
    }

    #[test]
    fn a_good_profile_parses() {
        let p = parse(GOOD).expect("valid");
        assert_eq!(p.arrivals(), 200);
        assert_eq!(p.timeout(), Duration::from_millis(2000));
        assert_eq!(
            p.weights(),
            vec![
                (RequestKind::FindServiceGeodetic, 3),
                (RequestKind::HeldLocationRequest, 1)
            ]
        );
        assert_eq!(p.p99_limit(RequestKind::HeldLocationRequest), Some(20.0));
        assert_eq!(p.p99_limit(RequestKind::FindServiceGeodetic), Some(50.0));
    }

    #[test]
    fn bad_profiles_say_why() {
        let cases = [
            (GOOD.replace("plane = \"http\"", "plane = \"sip\""), "plane"),
            (GOOD.replace("rate = 100.0", "rate = -1.0"), "rate"),
            (GOOD.replace("users = 8", "users = 0"), "users"),
            (
                GOOD.replace("held-location-request = 1\n", "held-bogus = 1\n"),
                "unknown request type",
            ),
            (
                GOOD.replace("error_ratio = 0.0", "error_ratio = 2.0"),
                "error_ratio",
            ),
            (
                GOOD.replace("\"*\" = 50.0, ", "lost-list-services = 5.0, "),
                "not a request type",
            ),
            (
                GOOD.replace("name = \"t\"", "name = \"t\"\nbogus = 1"),
                "bogus",
            ),
            (
                GOOD.replace("duration_s = 2.0", "duration_s = 0.001"),
                "no request",
            ),
            (
                GOOD.replace("[mix]", "[ramp]\nstart_rate = 1.0\nstep_rate = 1.0\nstep_s = 1.0\nmax_steps = 2\n[mix]"),
                "not both",
            ),
            (
                GOOD.replace("rate = 100.0\nduration_s = 2.0\n", "")
                    .replace("[mix]", "[ramp]\nstart_rate = 1.0\nstep_rate = -1.0\nstep_s = 1.0\nmax_steps = 2\n[mix]"),
                "ramp:",
            ),
            (GOOD.replace("rate = 100.0\n", ""), "or give a [ramp]"),
        ];
        for (text, why) in cases {
            let e = parse(&text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(why), "{why}: got {e:?}");
        }
    }

    #[test]
    fn the_shipped_http_profiles_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("load/profiles") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("http-") && name.ends_with(".toml") {
                HttpProfile::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
                n += 1;
            }
        }
        assert!(n >= 3, "only {n} HTTP profiles");
        let ramp = HttpProfile::load(&dir.join("http-ramp.toml")).expect("http-ramp.toml");
        assert_eq!(ramp.plan().len(), 12);
        assert_eq!(ramp.schedule_s(), 120.0);
    }

    #[test]
    fn the_plane_key_picks_the_engine() {
        let dir = std::env::temp_dir().join(format!("lmpe-http-plane-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (a, b) = (dir.join("a.toml"), dir.join("b.toml"));
        std::fs::write(&a, GOOD).expect("write");
        std::fs::write(&b, "name = \"sip\"\n").expect("write");
        assert_eq!(plane_of(&a).ok().as_deref(), Some("http"));
        assert_eq!(plane_of(&b).ok().as_deref(), Some("sip"));
        assert!(plane_of(&dir.join("missing.toml")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
