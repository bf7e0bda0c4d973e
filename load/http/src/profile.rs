//! HTTP load profiles (`load/profiles/http-*.toml`): `plane = "http"`, an arrival rate, a
//! duration, the goose users that carry the requests, the request mix and the thresholds that
//! decide the exit code.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::request::RequestKind;
use lmpe_load::profile::{parse_toml, read_toml};
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
    /// Arrival rate, requests per second (open model: request k is due at k / rate).
    pub rate: f64,
    /// Seconds of arrivals.
    pub duration_s: f64,
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
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= 1_000_000.0) {
            return bad(format!("rate {} must be in (0, 1e6] requests/s", self.rate));
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0 && self.duration_s <= 86_400.0) {
            return bad(format!(
                "duration_s {} must be in (0, 86400]",
                self.duration_s
            ));
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

    /// Requests of the run: `rate * duration_s`, rounded.
    pub fn arrivals(&self) -> u64 {
        (self.rate * self.duration_s).round() as u64
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
