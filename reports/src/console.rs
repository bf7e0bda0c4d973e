//! Human-readable console summary.

use crate::model::{RunReport, Verdict};
use std::fmt::Write as _;

/// Width of the verdict column, including the separating spaces.
const LABEL_WIDTH: usize = 7;

/// Renders a human-readable summary of `report`: one line per scenario
/// (`PASS   TP_… name`), the reason indented under failed and inconclusive
/// scenarios, and a final totals line such as
/// `12 passed, 1 failed, 0 inconclusive, 0 skipped (3.2 s)`.
///
/// Control characters from SUT-supplied text (e.g. NUL, ANSI escapes) are
/// shown as `\u{..}` escapes so they cannot garble the terminal.
pub fn console_summary(report: &RunReport) -> String {
    let mut out = String::new();
    for scenario in &report.scenarios {
        let label = match scenario.verdict {
            Verdict::Pass if scenario.waiver.is_some() => "STALE",
            Verdict::Pass => "PASS",
            Verdict::Fail if scenario.waiver.is_some() => "WAIVED",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONC",
            Verdict::Skipped => "SKIP",
        };
        let _ = writeln!(
            out,
            "{label:<LABEL_WIDTH$}{} {}",
            sanitize(&scenario.id),
            sanitize(&scenario.name)
        );
        if let Some(w) = &scenario.waiver {
            let note = if scenario.verdict == Verdict::Pass {
                "passes now: remove this waiver from the expectation file"
            } else {
                "waived"
            };
            let _ = writeln!(out, "{:LABEL_WIDTH$}{note}: {}", "", sanitize(w));
        }
        for note in &scenario.notes {
            let _ = writeln!(out, "{:LABEL_WIDTH$}note: {}", "", sanitize(note));
        }
        if matches!(scenario.verdict, Verdict::Fail | Verdict::Inconclusive) {
            if let Some(reason) = &scenario.reason {
                for line in reason.lines() {
                    let _ = writeln!(out, "{:LABEL_WIDTH$}{}", "", sanitize(line));
                }
            }
        }
    }
    let s = &report.summary;
    let secs = if s.duration_ms.is_finite() && s.duration_ms > 0.0 {
        s.duration_ms / 1000.0
    } else {
        0.0
    };
    let _ = writeln!(
        out,
        "{} passed, {} failed, {} inconclusive, {} skipped ({secs:.1} s)",
        s.pass, s.fail, s.inconclusive, s.skipped
    );
    out
}

/// Replaces control characters (other than TAB) with `\u{..}` escapes.
fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\t' {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::sample_report;

    #[test]
    fn lists_scenarios_reasons_and_totals() {
        let text = console_summary(&sample_report());
        let expected = "\
PASS   TP_PSAP_IM2_START_BV_01 Start chat
FAIL   TP_PSAP_IM2_START_BV_02 Start chat with location
       clause 6.2.2: expected 200 OK
       got: SIP/2.0 488 <Not Acceptable> & \\u{0} 'x'
INCONC TP_PSAP_IM2_END_BV_01 End chat
       clause 6.2.4: no response within 5 s
SKIP   TP_PSAP_IM2_END_BV_02 End chat by PSAP
1 passed, 1 failed, 1 inconclusive, 1 skipped (5.2 s)
";
        assert_eq!(text, expected);
    }

    #[test]
    fn notes_are_shown_under_any_verdict() {
        let mut report = sample_report();
        report.scenarios[0].notes = vec!["TLS failed; the chat fell back to TCP".into()];
        let text = console_summary(&report);
        assert!(
            text.contains("PASS   TP_PSAP_IM2_START_BV_01 Start chat\n       note: TLS failed; the chat fell back to TCP\n"),
            "{text}"
        );
        let junit = crate::junit::junit_xml(&report);
        assert!(
            junit.contains("name=\"note\" value=\"TLS failed; the chat fell back to TCP\""),
            "{junit}"
        );
    }
}
