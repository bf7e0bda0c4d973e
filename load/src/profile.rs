//! Load profiles (`load/profiles/*.toml`): arrival schedule, chat shape, priority mix, SIP
//! timers and the SLOs that decide the exit code.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::class::Class;
use crate::metrics::Metric;
use crate::LoadError;

/// Parses profile text as TOML into `T` (`path` names the file in a syntax error).
pub fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T, LoadError> {
    toml::from_str(text).map_err(|e| LoadError::ProfileSyntax {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Reads a profile file and parses it as TOML into `T` (no validation).
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_toml(&text, path)
}

/// A load profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Name in reports.
    pub name: String,
    /// Arrival rate (chats per second, open model) when there is no `[ramp]`.
    #[serde(default)]
    pub rate: f64,
    /// Seconds of arrivals when there is no `[ramp]`.
    #[serde(default)]
    pub duration_s: f64,
    /// After the last arrival, wait at most this long for chats to end.
    #[serde(default = "default_drain")]
    pub drain_s: f64,
    /// Common start time of all shards, Unix epoch seconds (the CLI's `--start-at` overrides).
    #[serde(default)]
    pub start_at_epoch_s: Option<f64>,
    /// The service URN chats are started to.
    #[serde(default = "default_service")]
    pub service: String,
    /// Seed of the priority-class draw (same seed, same classes in every shard).
    #[serde(default)]
    pub seed: u64,
    /// Shape of each chat.
    pub chat: ChatShape,
    /// SIP settings.
    #[serde(default)]
    pub sip: SipSettings,
    /// Relative weights of the priority classes (`esnet.0`, `esnet.1`, `esnet.2`, `none`).
    pub mix: BTreeMap<String, u32>,
    /// A stepped ramp instead of a constant rate (capacity search).
    #[serde(default)]
    pub ramp: Option<Ramp>,
    /// Service level objectives: a breach makes the run exit 1.
    #[serde(default)]
    pub slo: Vec<Slo>,
    /// Limits on loss and failures (fractions, 0..=1).
    #[serde(default)]
    pub limits: Limits,
}

fn default_drain() -> f64 {
    40.0
}
fn default_service() -> String {
    "urn:service:sos".into()
}

/// What every chat does, from its arrival.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatShape {
    /// in-chat/259 messages the APP sends, the k-th at arrival + k * `app_think_s`.
    pub app_messages: u32,
    /// Think time between APP messages (seconds).
    pub app_think_s: f64,
    /// The PSAP answers each APP in-chat message after this many seconds (negative: never).
    #[serde(default = "default_psap_think")]
    pub psap_think_s: f64,
    /// The APP sends stop/258 at arrival + `hold_s`.
    pub hold_s: f64,
    /// APP heartbeat interval (6.2.5: at most 20 s).
    #[serde(default = "default_heartbeat")]
    pub heartbeat_s: f64,
    /// Optional PSAP heartbeats (seconds).
    #[serde(default)]
    pub psap_heartbeat_s: Option<f64>,
    /// How long the APP waits for the PSAP's start/257 (6.2.2) before the chat fails.
    #[serde(default = "default_setup_timeout")]
    pub setup_timeout_s: f64,
    /// Reported location (WGS84 latitude, longitude).
    #[serde(default = "default_location")]
    pub location: (f64, f64),
}

fn default_psap_think() -> f64 {
    0.5
}
fn default_heartbeat() -> f64 {
    20.0
}
fn default_setup_timeout() -> f64 {
    40.0
}
fn default_location() -> (f64, f64) {
    (48.2082, 16.3738)
}

/// SIP settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipSettings {
    /// Timer T1 in milliseconds (RFC 3261: 500; Timer F is 64 * T1).
    #[serde(default = "default_t1")]
    pub t1_ms: u64,
    /// Run the rsip grammar pass on received messages (costs CPU).
    #[serde(default)]
    pub grammar_check: bool,
    /// Largest request sent over UDP; larger ones go over TCP (RFC 3261 18.1.1: 1300, the
    /// default). APP messages carry a PIDF-LO (~1.5 kB), so by default they go over TCP; a
    /// larger limit keeps them on UDP (a deliberate deviation, e.g. for a datagram relay).
    #[serde(default)]
    pub udp_size_limit: Option<usize>,
}

fn default_t1() -> u64 {
    500
}

impl Default for SipSettings {
    fn default() -> Self {
        Self {
            t1_ms: default_t1(),
            grammar_check: false,
            udp_size_limit: None,
        }
    }
}

/// A stepped ramp: rate `start_rate + i * step_rate` for `step_s` each, until an SLO breaks
/// or `max_steps` have run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ramp {
    /// First rate (chats/s).
    pub start_rate: f64,
    /// Increase per step (chats/s).
    pub step_rate: f64,
    /// Seconds per step.
    pub step_s: f64,
    /// Number of steps at most.
    pub max_steps: u32,
    /// Stop the arrivals after the first step that breaks an SLO.
    #[serde(default = "yes")]
    pub stop_on_breach: bool,
}

fn yes() -> bool {
    true
}

impl Ramp {
    /// The steps: `start_rate + i * step_rate` for `step_s` each, back to back from 0.
    pub fn phases(&self) -> Vec<Phase> {
        (0..self.max_steps)
            .map(|i| Phase {
                start_s: f64::from(i) * self.step_s,
                duration_s: self.step_s,
                rate: self.start_rate + f64::from(i) * self.step_rate,
            })
            .collect()
    }

    /// The rate of the last step, `start_rate + (max_steps - 1) * step_rate`: the highest the
    /// ramp offers.
    pub fn last_rate(&self) -> f64 {
        self.start_rate + f64::from(self.max_steps.saturating_sub(1)) * self.step_rate
    }
}

/// One service level objective: `percentile` of `metric` for `class` at most `max_ms`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// A class name, or `all`.
    pub class: String,
    /// A metric name (`routing`, `response.start`, `setup`, …; see [`Metric`]).
    pub metric: String,
    /// Percentile, e.g. 99.0.
    pub percentile: f64,
    /// Limit in milliseconds.
    pub max_ms: f64,
}

/// Limits on loss and failures.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest fraction of APP chat messages (start, in-chat, stop) not delivered to the PSAP.
    #[serde(default)]
    pub max_loss: Option<f64>,
    /// Largest fraction of chats that failed (start rejected, no PSAP start, …) or were still
    /// open when the run ended.
    #[serde(default)]
    pub max_failed_chats: Option<f64>,
    /// Largest fraction of APP transactions that timed out (Timer F).
    #[serde(default)]
    pub max_timeouts: Option<f64>,
}

/// One phase of constant arrival rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Phase {
    /// Offset from the run start (seconds).
    pub start_s: f64,
    /// Length (seconds).
    pub duration_s: f64,
    /// Chats per second.
    pub rate: f64,
}

impl Phase {
    /// Arrivals in this phase.
    pub fn arrivals(&self) -> u64 {
        (self.duration_s * self.rate).floor() as u64
    }
}

impl Profile {
    /// Reads and validates a profile file.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let p: Self = read_toml(path)?;
        p.validate()?;
        Ok(p)
    }

    /// Checks ranges and consistency.
    pub fn validate(&self) -> Result<(), LoadError> {
        let bad = |m: String| Err(LoadError::Profile(m));
        let pos = |v: f64| v.is_finite() && v > 0.0;
        let nonneg = |v: f64| v.is_finite() && v >= 0.0;
        match &self.ramp {
            None => {
                if !pos(self.rate) || !pos(self.duration_s) {
                    return bad("rate and duration_s must be positive (or give a [ramp])".into());
                }
            }
            Some(r) => {
                if !pos(r.start_rate) || !nonneg(r.step_rate) || !pos(r.step_s) || r.max_steps == 0
                {
                    return bad(
                        "ramp: start_rate and step_s positive, step_rate >= 0, max_steps >= 1"
                            .into(),
                    );
                }
            }
        }
        if self.phases().iter().map(Phase::arrivals).sum::<u64>() == 0 {
            return bad("the schedule has no arrivals".into());
        }
        if !nonneg(self.drain_s) || self.drain_s > 3600.0 {
            return bad("drain_s must be within 0..=3600".into());
        }
        let c = &self.chat;
        if c.app_messages > 200 {
            return bad("chat.app_messages must be at most 200".into());
        }
        if !nonneg(c.app_think_s) || !pos(c.hold_s) || !pos(c.setup_timeout_s) {
            return bad("chat: app_think_s >= 0, hold_s and setup_timeout_s > 0".into());
        }
        // Upper bounds keep every derived time representable.
        for (n, v, max) in [
            ("rate", self.rate, 1e6),
            ("duration_s", self.duration_s, 1e7),
            ("chat.app_think_s", c.app_think_s, 86_400.0),
            ("chat.psap_think_s", c.psap_think_s, 86_400.0),
            ("chat.hold_s", c.hold_s, 86_400.0),
            ("chat.setup_timeout_s", c.setup_timeout_s, 3_600.0),
            (
                "start_at_epoch_s",
                self.start_at_epoch_s.unwrap_or(0.0),
                1e11,
            ),
        ] {
            if v > max {
                return bad(format!("{n} must be at most {max}"));
            }
        }
        if let Some(r) = &self.ramp {
            if r.last_rate() > 1e6 || r.step_s * f64::from(r.max_steps) > 1e7 {
                return bad("ramp: rates at most 1e6/s, at most 1e7 s in all".into());
            }
        }
        if self.drain_s < c.hold_s {
            return bad(format!(
                "drain_s ({}) must be at least chat.hold_s ({}): the last chats need that long to end",
                self.drain_s, c.hold_s
            ));
        }
        if !c.psap_think_s.is_finite() {
            return bad("chat.psap_think_s must be a number".into());
        }
        if f64::from(c.app_messages) * c.app_think_s >= c.hold_s {
            return bad(format!(
                "chat.hold_s ({}) must exceed app_messages * app_think_s ({}), so the stop comes after the last message",
                c.hold_s,
                f64::from(c.app_messages) * c.app_think_s
            ));
        }
        if !pos(c.heartbeat_s) || c.heartbeat_s > 20.0 {
            return bad("chat.heartbeat_s must be within (0, 20] (6.2.5)".into());
        }
        if c.psap_heartbeat_s.is_some_and(|h| !pos(h)) {
            return bad("chat.psap_heartbeat_s must be positive".into());
        }
        if !(c.location.0.abs() <= 90.0 && c.location.1.abs() <= 180.0) {
            return bad("chat.location must be (latitude, longitude)".into());
        }
        if self
            .sip
            .udp_size_limit
            .is_some_and(|l| !(200..=65_000).contains(&l))
        {
            return bad("sip.udp_size_limit must be within 200..=65000".into());
        }
        if !(1..=60_000).contains(&self.sip.t1_ms) {
            return bad("sip.t1_ms must be within 1..=60000".into());
        }
        if self.mix.is_empty() || self.mix.values().all(|w| *w == 0) {
            return bad("mix must give at least one class a positive weight".into());
        }
        for name in self.mix.keys() {
            if Class::by_name(name).is_none() {
                return bad(format!(
                    "mix: unknown class {name:?} (esnet.0, esnet.1, esnet.2, none)"
                ));
            }
        }
        for s in &self.slo {
            if s.class != "all" && Class::by_name(&s.class).is_none() {
                return bad(format!("slo: unknown class {:?}", s.class));
            }
            if Metric::by_name(&s.metric).is_none() {
                return bad(format!(
                    "slo: unknown metric {:?}; known: {}",
                    s.metric,
                    Metric::ALL.map(Metric::name).join(", ")
                ));
            }
            if !(s.percentile > 0.0 && s.percentile <= 100.0 && pos(s.max_ms)) {
                return bad("slo: percentile within (0, 100], max_ms > 0".into());
            }
        }
        for (n, v) in [
            ("max_loss", self.limits.max_loss),
            ("max_failed_chats", self.limits.max_failed_chats),
            ("max_timeouts", self.limits.max_timeouts),
        ] {
            if v.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
                return bad(format!("limits.{n} is a fraction within 0..=1"));
            }
        }
        if self.start_at_epoch_s.is_some_and(|s| !pos(s)) {
            return bad("start_at_epoch_s must be a positive Unix time".into());
        }
        if !self.service.starts_with("urn:service:") {
            return bad("service must be a urn:service: URN".into());
        }
        Ok(())
    }

    /// The arrival phases.
    pub fn phases(&self) -> Vec<Phase> {
        match &self.ramp {
            None => vec![Phase {
                start_s: 0.0,
                duration_s: self.duration_s,
                rate: self.rate,
            }],
            Some(r) => r.phases(),
        }
    }

    /// Cumulative class weights in [`Class::ALL`] order.
    pub fn weights(&self) -> [u32; 4] {
        let mut w = [0; 4];
        for (name, weight) in &self.mix {
            if let Some(c) = Class::by_name(name) {
                w[c.index()] = *weight;
            }
        }
        w
    }

    /// Timer T1.
    pub fn t1(&self) -> Duration {
        Duration::from_millis(self.sip.t1_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOKE: &str = include_str!("../profiles/smoke.toml");

    #[test]
    fn shipped_profiles_are_valid() {
        for text in [
            SMOKE,
            include_str!("../profiles/soak.toml"),
            include_str!("../profiles/ramp.toml"),
            include_str!("../profiles/priority-overload.toml"),
            include_str!("../profiles/hold-100k.toml"),
        ] {
            let p: Profile = toml::from_str(text).unwrap_or_else(|e| panic!("{e}"));
            p.validate().unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
    }

    #[test]
    fn mistakes_are_rejected_with_the_reason() {
        let p: Profile = toml::from_str(SMOKE).unwrap_or_else(|e| panic!("{e}"));
        let mut q = p.clone();
        q.chat.hold_s = 0.5;
        assert!(q
            .validate()
            .is_err_and(|e| e.to_string().contains("hold_s")));
        let mut q = p.clone();
        q.mix.insert("esnet.9".into(), 1);
        assert!(q
            .validate()
            .is_err_and(|e| e.to_string().contains("esnet.9")));
        let mut q = p.clone();
        q.chat.heartbeat_s = 30.0;
        assert!(q.validate().is_err_and(|e| e.to_string().contains("6.2.5")));
        let mut q = p;
        q.slo.push(Slo {
            class: "all".into(),
            metric: "nope".into(),
            percentile: 99.0,
            max_ms: 1.0,
        });
        assert!(q.validate().is_err_and(|e| e.to_string().contains("nope")));
        assert!(toml::from_str::<Profile>("name = \"x\"\nbogus = 1\n").is_err());
    }

    #[test]
    fn ramp_phases_step_up() {
        let p: Profile =
            toml::from_str(include_str!("../profiles/ramp.toml")).unwrap_or_else(|e| panic!("{e}"));
        let ph = p.phases();
        let r = p.ramp.clone().unwrap_or_else(|| panic!("ramp"));
        assert_eq!(ph.len(), r.max_steps as usize);
        assert!((ph[1].rate - ph[0].rate - r.step_rate).abs() < 1e-9);
        assert!((ph[1].start_s - r.step_s).abs() < 1e-9);
    }

    #[test]
    fn ramp_rate_bound_is_the_last_step() {
        let mut p: Profile =
            toml::from_str(include_str!("../profiles/ramp.toml")).unwrap_or_else(|e| panic!("{e}"));
        let r = Ramp {
            start_rate: 1e6 - 9.0,
            step_rate: 1.0,
            step_s: 1.0,
            max_steps: 10,
            stop_on_breach: true,
        };
        assert!((r.last_rate() - 1e6).abs() < 1e-9);
        p.ramp = Some(r.clone());
        p.validate()
            .unwrap_or_else(|e| panic!("last step at 1e6/s: {e}"));
        p.ramp = Some(Ramp { max_steps: 11, ..r });
        assert!(p.validate().is_err_and(|e| e.to_string().contains("1e6")));
    }
}
