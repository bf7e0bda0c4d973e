//! Result model shared by all report writers.
//!
//! The serde representation of [`RunReport`] *is* the `results.json` format:
//! field names and order are part of the contract with downstream tooling.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Outcome of one test purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The SUT behaved as the test purpose requires.
    Pass,
    /// The SUT violated the test purpose.
    Fail,
    /// The verdict could not be established (e.g. the SUT did not answer, or
    /// a precondition could not be reached).
    Inconclusive,
    /// The scenario was not run (filtered out or not applicable).
    Skipped,
}

impl Verdict {
    /// Lowercase name as used in `results.json` (`"pass"`, `"fail"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message of the message ladder captured during a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireMessage {
    /// Milliseconds since scenario start.
    pub at_ms: f64,
    /// Direction of the message, e.g. `"APP -> BCF"`.
    pub direction: String,
    /// Transport the message travelled on, e.g. `"TCP"`, `"WSS"`.
    pub transport: String,
    /// First line of the message (request line or status line).
    pub summary: String,
    /// The full message text, verbatim (may contain arbitrary bytes-as-text).
    pub text: String,
    /// Socket address the message was sent from, e.g. `"127.0.0.1:5060"` or
    /// `"[::1]:5060"`. Optional: omitted from `results.json` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// Socket address the message was sent to, e.g. `"127.0.0.1:5060"` or
    /// `"[::1]:5060"`. Optional: omitted from `results.json` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<String>,
}

/// Result of one scenario (one test purpose).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// Test-purpose id, e.g. `"TP_PSAP_IM2_START_BV_01"`.
    pub id: String,
    /// Scenario name.
    pub name: String,
    /// Name of the feature the scenario belongs to.
    pub feature: String,
    /// Scenario tags, e.g. `["@clause-6.2.2", "@TP_PSAP_IM2_START_BV_01", "@BV"]`.
    pub tags: Vec<String>,
    /// Clause of ETSI TS 103 698 under test, e.g. `"6.2.2"`.
    pub clause: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Why the scenario failed, was inconclusive or was skipped: clause,
    /// expectation and offending message. `None` (JSON `null`) when passed.
    pub reason: Option<String>,
    /// Wall-clock duration of the scenario in milliseconds.
    pub duration_ms: f64,
    /// Message ladder, in order of observation (may be empty).
    pub messages: Vec<WireMessage>,
    /// Why this scenario is waived for this SUT (per-SUT expectation file), if it is. A waived
    /// failure does not fail the run; a waived scenario that passes does, so the waiver goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<String>,
    /// What a verdict relied on that a reader should know, whatever the verdict, e.g. the
    /// transport a chat fell back to (TS 103 698 6.1.1 allows TCP without TLS, and UDP).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ScenarioResult {
    /// A failure that the expectation file waives.
    pub fn is_waived_failure(&self) -> bool {
        self.verdict == Verdict::Fail && self.waiver.is_some()
    }

    /// A waived scenario that passes: its waiver is no longer needed.
    pub fn is_stale_waiver(&self) -> bool {
        self.verdict == Verdict::Pass && self.waiver.is_some()
    }
}

/// Verdict counts of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of scenarios.
    pub total: usize,
    /// Scenarios with verdict [`Verdict::Pass`].
    pub pass: usize,
    /// Scenarios with verdict [`Verdict::Fail`].
    pub fail: usize,
    /// Scenarios with verdict [`Verdict::Inconclusive`].
    pub inconclusive: usize,
    /// Scenarios with verdict [`Verdict::Skipped`].
    pub skipped: usize,
    /// Wall-clock duration of the whole run in milliseconds.
    pub duration_ms: f64,
}

impl Summary {
    /// Counts the verdicts of `results`; `duration_ms` is the run's total
    /// wall-clock time (not the sum of scenario durations).
    pub fn from_results(results: &[ScenarioResult], duration_ms: f64) -> Self {
        Self::from_verdicts(results.iter().map(|r| r.verdict), duration_ms)
    }

    /// Counts `verdicts`; `duration_ms` is stored as given.
    pub(crate) fn from_verdicts(
        verdicts: impl IntoIterator<Item = Verdict>,
        duration_ms: f64,
    ) -> Self {
        let mut summary = Summary {
            total: 0,
            pass: 0,
            fail: 0,
            inconclusive: 0,
            skipped: 0,
            duration_ms,
        };
        for verdict in verdicts {
            summary.total += 1;
            match verdict {
                Verdict::Pass => summary.pass += 1,
                Verdict::Fail => summary.fail += 1,
                Verdict::Inconclusive => summary.inconclusive += 1,
                Verdict::Skipped => summary.skipped += 1,
            }
        }
        summary
    }
}

/// Everything known about one harness run; serialises to `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Tool name and version, e.g. `"lmpe-harness 0.1.0"`.
    pub tool: String,
    /// Description of the system under test, e.g. `"embedded reference ESInet"`.
    pub target: String,
    /// Start time of the run, RFC 3339 UTC (supplied by the caller).
    pub started: String,
    /// Per-scenario results, in execution order.
    pub scenarios: Vec<ScenarioResult>,
    /// Verdict counts over `scenarios`.
    pub summary: Summary,
}

impl RunReport {
    /// Builds a report, computing the [`Summary`] from `scenarios`.
    pub fn new(
        tool: impl Into<String>,
        target: impl Into<String>,
        started: impl Into<String>,
        scenarios: Vec<ScenarioResult>,
        duration_ms: f64,
    ) -> Self {
        let summary = Summary::from_results(&scenarios, duration_ms);
        RunReport {
            tool: tool.into(),
            target: target.into(),
            started: started.into(),
            scenarios,
            summary,
        }
    }

    /// `true` when no scenario failed, except waived ones, and no waived scenario passed
    /// (inconclusive and skipped scenarios do not make the run fail). Suitable for deciding the
    /// process exit code.
    pub fn exit_ok(&self) -> bool {
        self.scenarios
            .iter()
            .all(|s| (s.verdict != Verdict::Fail || s.waiver.is_some()) && !s.is_stale_waiver())
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Small fixed report used by the tests of every writer.

    use super::*;

    #[allow(clippy::too_many_arguments)]
    fn scenario(
        id: &str,
        name: &str,
        feature: &str,
        clause: &str,
        verdict: Verdict,
        reason: Option<&str>,
        duration_ms: f64,
        messages: Vec<WireMessage>,
    ) -> ScenarioResult {
        ScenarioResult {
            id: id.to_owned(),
            name: name.to_owned(),
            feature: feature.to_owned(),
            tags: vec![
                format!("@clause-{clause}"),
                format!("@{id}"),
                "@BV".to_owned(),
            ],
            clause: clause.to_owned(),
            verdict,
            reason: reason.map(str::to_owned),
            duration_ms,
            messages,
            waiver: None,
            notes: Vec::new(),
        }
    }

    /// A pass, a fail (with `<`, `&` and NUL in its reason), an inconclusive
    /// and a skipped scenario spread over two features.
    pub(crate) fn sample_report() -> RunReport {
        let ladder = vec![
            WireMessage {
                at_ms: 0.5,
                direction: "APP -> BCF".to_owned(),
                transport: "TCP".to_owned(),
                summary: "MESSAGE sip:urn:service:sos SIP/2.0".to_owned(),
                text: "MESSAGE sip:urn:service:sos SIP/2.0\r\nTo: <sip:urn:service:sos>\r\n\r\nhelp & \"now\"\0".to_owned(),
                src: None,
                dst: None,
            },
            WireMessage {
                at_ms: 12.25,
                direction: "BCF -> APP".to_owned(),
                transport: "TCP".to_owned(),
                summary: "SIP/2.0 488 Not Acceptable Here".to_owned(),
                text: "SIP/2.0 488 Not Acceptable Here\r\n\r\n".to_owned(),
                src: None,
                dst: None,
            },
        ];
        let scenarios = vec![
            scenario(
                "TP_PSAP_IM2_START_BV_01",
                "Start chat",
                "IM2 session start",
                "6.2.2",
                Verdict::Pass,
                None,
                120.0,
                vec![],
            ),
            scenario(
                "TP_PSAP_IM2_START_BV_02",
                "Start chat with location",
                "IM2 session start",
                "6.2.2",
                Verdict::Fail,
                Some("clause 6.2.2: expected 200 OK\ngot: SIP/2.0 488 <Not Acceptable> & \0 'x'"),
                30.5,
                ladder,
            ),
            scenario(
                "TP_PSAP_IM2_END_BV_01",
                "End chat",
                "IM2 session end",
                "6.2.4",
                Verdict::Inconclusive,
                Some("clause 6.2.4: no response within 5 s"),
                5000.0,
                vec![],
            ),
            scenario(
                "TP_PSAP_IM2_END_BV_02",
                "End chat by PSAP",
                "IM2 session end",
                "6.2.4",
                Verdict::Skipped,
                Some("not applicable to target"),
                0.0,
                vec![],
            ),
        ];
        RunReport::new(
            "lmpe-harness 0.1.0",
            "embedded reference ESInet",
            "2024-05-01T10:00:00Z",
            scenarios,
            5200.0,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::sample_report;
    use super::*;

    #[test]
    fn waivers_excuse_failures_and_flag_stale_ones() {
        let mut report = sample_report();
        assert!(!report.exit_ok());
        let failed = report
            .scenarios
            .iter()
            .position(|s| s.verdict == Verdict::Fail)
            .unwrap();
        report.scenarios[failed].waiver = Some("vendor ticket 42".into());
        assert!(report.exit_ok(), "a waived failure does not fail the run");
        let junit = crate::junit_xml(&report);
        assert!(junit.contains("waived: vendor ticket 42"), "{junit}");
        let console = crate::console_summary(&report);
        assert!(console.contains("WAIVED"), "{console}");
        let passed = report
            .scenarios
            .iter()
            .position(|s| s.verdict == Verdict::Pass)
            .unwrap();
        report.scenarios[passed].waiver = Some("old".into());
        assert!(
            !report.exit_ok(),
            "a waived scenario that passes fails the run"
        );
        assert!(crate::console_summary(&report).contains("remove this waiver"));
        let json = serde_json::to_string(&report).unwrap();
        let back: RunReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back.scenarios[passed].waiver.as_deref(), Some("old"));
    }

    #[test]
    fn summary_counts_each_verdict() {
        let report = sample_report();
        assert_eq!(
            report.summary,
            Summary {
                total: 4,
                pass: 1,
                fail: 1,
                inconclusive: 1,
                skipped: 1,
                duration_ms: 5200.0,
            }
        );
        let empty = Summary::from_results(&[], 0.0);
        assert_eq!((empty.total, empty.pass, empty.fail), (0, 0, 0));
    }

    #[test]
    fn exit_ok_only_without_failures() {
        let mut report = sample_report();
        assert!(!report.exit_ok());
        report.scenarios.retain(|s| s.verdict != Verdict::Fail);
        report.summary = Summary::from_results(&report.scenarios, 1.0);
        assert!(
            report.exit_ok(),
            "inconclusive/skipped must not fail the run"
        );
    }

    #[test]
    fn verdict_serialises_lowercase() {
        let json = serde_json::to_string(&[
            Verdict::Pass,
            Verdict::Fail,
            Verdict::Inconclusive,
            Verdict::Skipped,
        ])
        .expect("serialise");
        assert_eq!(json, r#"["pass","fail","inconclusive","skipped"]"#);
        assert_eq!(Verdict::Inconclusive.to_string(), "inconclusive");
    }
}
