//! JUnit XML writer (the dialect consumed by Jenkins and GitLab).
//!
//! Layout:
//!
//! ```text
//! <testsuites name tests failures errors skipped time>
//!   <testsuite name=<feature> tests failures errors skipped time>   (one per feature)
//!     <properties> tool / target / started </properties>
//!     <testcase classname=<feature> name="<id> <name>" time>
//!       <properties> clause / tags </properties>
//!       <failure type="fail"> | <error type="inconclusive"> | <skipped/>
//!       <system-out> message ladder (fail / inconclusive only) </system-out>
//! ```
//!
//! Verdict mapping: `fail` → `<failure>`, `inconclusive` → `<error>`,
//! `skipped` → `<skipped>`. Times are in seconds.

use crate::error::ReportError;
use crate::model::{RunReport, ScenarioResult, Summary, Verdict, WireMessage};
use std::fmt::Write as _;
use std::path::Path;

/// Renders `report` as a JUnit XML document.
pub fn junit_xml(report: &RunReport) -> String {
    // Counts are recomputed from the scenarios so that the totals always
    // agree with the per-suite counts, even for a hand-edited summary.
    let totals = Summary::from_results(&report.scenarios, report.summary.duration_ms);
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<testsuites");
    attr(&mut out, "name", &report.tool);
    counts_attrs(&mut out, &totals, totals.duration_ms);
    out.push_str(">\n");
    for (feature, cases) in group_by_feature(&report.scenarios) {
        write_suite(&mut out, report, feature, &cases);
    }
    out.push_str("</testsuites>\n");
    out
}

/// Writes [`junit_xml`] of `report` to `path`.
pub fn write_junit(report: &RunReport, path: &Path) -> Result<(), ReportError> {
    std::fs::write(path, junit_xml(report)).map_err(|e| ReportError::io(path, e))
}

/// Groups scenarios by feature, keeping the order of first appearance.
fn group_by_feature(scenarios: &[ScenarioResult]) -> Vec<(&str, Vec<&ScenarioResult>)> {
    let mut groups: Vec<(&str, Vec<&ScenarioResult>)> = Vec::new();
    for scenario in scenarios {
        match groups
            .iter_mut()
            .find(|(feature, _)| *feature == scenario.feature)
        {
            Some((_, cases)) => cases.push(scenario),
            None => groups.push((&scenario.feature, vec![scenario])),
        }
    }
    groups
}

fn write_suite(out: &mut String, report: &RunReport, feature: &str, cases: &[&ScenarioResult]) {
    let mut counts = Summary {
        total: cases.len(),
        pass: 0,
        fail: 0,
        inconclusive: 0,
        skipped: 0,
        duration_ms: 0.0,
    };
    for case in cases {
        match case.verdict {
            Verdict::Pass => counts.pass += 1,
            Verdict::Fail => counts.fail += 1,
            Verdict::Inconclusive => counts.inconclusive += 1,
            Verdict::Skipped => counts.skipped += 1,
        }
        counts.duration_ms += finite_ms(case.duration_ms);
    }

    out.push_str("  <testsuite");
    attr(out, "name", feature);
    counts_attrs(out, &counts, counts.duration_ms);
    out.push_str(">\n    <properties>\n");
    property(out, "      ", "tool", &report.tool);
    property(out, "      ", "target", &report.target);
    property(out, "      ", "started", &report.started);
    out.push_str("    </properties>\n");
    for case in cases {
        write_case(out, case);
    }
    out.push_str("  </testsuite>\n");
}

fn write_case(out: &mut String, case: &ScenarioResult) {
    out.push_str("    <testcase");
    attr(out, "classname", &case.feature);
    attr(out, "name", &format!("{} {}", case.id, case.name));
    attr(out, "time", &seconds(case.duration_ms));
    out.push_str(">\n      <properties>\n");
    property(out, "        ", "clause", &case.clause);
    property(out, "        ", "tags", &case.tags.join(" "));
    out.push_str("      </properties>\n");

    let reason = case.reason.as_deref().unwrap_or("");
    match case.verdict {
        Verdict::Pass => {}
        Verdict::Fail => outcome(out, "failure", "fail", reason, "scenario failed"),
        Verdict::Inconclusive => outcome(
            out,
            "error",
            "inconclusive",
            reason,
            "scenario inconclusive",
        ),
        Verdict::Skipped => {
            out.push_str("      <skipped");
            attr(out, "message", first_line_or(reason, "scenario skipped"));
            out.push_str("/>\n");
        }
    }

    if matches!(case.verdict, Verdict::Fail | Verdict::Inconclusive) && !case.messages.is_empty() {
        out.push_str("      <system-out>");
        text(out, &ladder(&case.messages));
        out.push_str("</system-out>\n");
    }
    out.push_str("    </testcase>\n");
}

/// `<failure>` / `<error>` element: first line of the reason as `message`,
/// the full reason (including the offending message) as text content.
fn outcome(out: &mut String, element: &str, kind: &str, reason: &str, fallback: &str) {
    let _ = write!(out, "      <{element}");
    attr(out, "message", first_line_or(reason, fallback));
    attr(out, "type", kind);
    if reason.is_empty() {
        out.push_str("/>\n");
    } else {
        out.push('>');
        text(out, reason);
        let _ = writeln!(out, "</{element}>");
    }
}

fn first_line_or<'a>(reason: &'a str, fallback: &'a str) -> &'a str {
    match reason.lines().next().map(str::trim) {
        Some(line) if !line.is_empty() => line,
        _ => fallback,
    }
}

/// Human-readable message ladder for `<system-out>`.
fn ladder(messages: &[WireMessage]) -> String {
    let mut s = String::new();
    for (i, m) in messages.iter().enumerate() {
        let _ = writeln!(
            s,
            "--- [{}] +{:.3} ms  {}  ({})  {}",
            i + 1,
            finite_ms(m.at_ms),
            m.direction,
            m.transport,
            m.summary
        );
        s.push_str(&m.text);
        if !m.text.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

fn property(out: &mut String, indent: &str, name: &str, value: &str) {
    out.push_str(indent);
    out.push_str("<property");
    attr(out, "name", name);
    attr(out, "value", value);
    out.push_str("/>\n");
}

fn counts_attrs(out: &mut String, counts: &Summary, duration_ms: f64) {
    attr(out, "tests", &counts.total.to_string());
    attr(out, "failures", &counts.fail.to_string());
    attr(out, "errors", &counts.inconclusive.to_string());
    attr(out, "skipped", &counts.skipped.to_string());
    attr(out, "time", &seconds(duration_ms));
}

/// Negative or non-finite durations are reported as zero.
fn finite_ms(ms: f64) -> f64 {
    if ms.is_finite() && ms > 0.0 {
        ms
    } else {
        0.0
    }
}

fn seconds(ms: f64) -> String {
    format!("{:.3}", finite_ms(ms) / 1000.0)
}

/// Appends ` name="value"` with `value` escaped.
fn attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    escape(out, value, true);
    out.push('"');
}

fn text(out: &mut String, value: &str) {
    escape(out, value, false);
}

/// XML-escapes `value` into `out`.
///
/// The five markup characters become entities. Characters that XML 1.0 does
/// not allow at all (C0 controls other than TAB/LF/CR, U+FFFE, U+FFFF) are
/// replaced by a visible `\u{..}` escape, since SUT messages may contain
/// anything, including NUL. In attribute values TAB/LF/CR are written as
/// character references so that attribute-value normalisation keeps them.
fn escape(out: &mut String, value: &str, in_attribute: bool) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' if in_attribute => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            '\t' | '\n' | '\r' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::sample_report;
    use quick_xml::events::{BytesStart, Event};
    use quick_xml::{Reader, XmlVersion};

    /// Minimal DOM built from quick-xml events.
    #[derive(Debug, Default)]
    struct Node {
        name: String,
        attrs: Vec<(String, String)>,
        /// Concatenated, unescaped text content (direct children only).
        text: String,
        children: Vec<Node>,
    }

    impl Node {
        fn attr(&self, key: &str) -> &str {
            self.attrs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("<{}> has no attribute {key}", self.name))
        }

        fn child(&self, name: &str) -> Option<&Node> {
            self.children.iter().find(|c| c.name == name)
        }

        fn names(&self) -> Vec<&str> {
            self.children.iter().map(|c| c.name.as_str()).collect()
        }
    }

    fn node(e: &BytesStart<'_>) -> Node {
        let attrs = e
            .attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                let value = a
                    .normalized_value(XmlVersion::Explicit1_0)
                    .expect("valid attribute entities")
                    .into_owned();
                (a.key.as_ref().to_owned(), value)
            })
            .collect();
        Node {
            name: e.name().as_ref().to_owned(),
            attrs,
            ..Node::default()
        }
    }

    /// Parses `xml` completely into a [`Node`] tree (returns the root
    /// element); panics on any well-formedness error, including characters
    /// that XML 1.0 does not allow.
    fn parse(xml: &str) -> Node {
        for (i, c) in xml.char_indices() {
            let legal = matches!(c, '\t' | '\n' | '\r')
                || ('\u{20}'..='\u{d7ff}').contains(&c)
                || ('\u{e000}'..='\u{fffd}').contains(&c)
                || c >= '\u{10000}';
            assert!(legal, "illegal XML char {c:?} at byte {i}");
        }
        let mut reader = Reader::from_str(xml);
        let mut stack = vec![Node::default()];
        loop {
            let event = reader
                .read_event()
                .unwrap_or_else(|e| panic!("malformed XML at {}: {e}", reader.buffer_position()));
            let top = stack.last_mut().expect("stack never empty");
            match event {
                Event::Eof => break,
                Event::Start(e) => stack.push(node(&e)),
                Event::Empty(e) => top.children.push(node(&e)),
                Event::End(_) => {
                    let done = stack.pop().expect("open element");
                    stack.last_mut().expect("parent").children.push(done);
                }
                Event::Text(t) => top.text.push_str(&t.xml_content(XmlVersion::Explicit1_0)),
                Event::GeneralRef(r) => {
                    let c = match r.resolve_char_ref().expect("valid char ref") {
                        Some(c) => c,
                        None => match &*r {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "quot" => '"',
                            "apos" => '\'',
                            other => panic!("unknown entity &{other};"),
                        },
                    };
                    top.text.push(c);
                }
                Event::CData(_) | Event::DocType(_) => panic!("unexpected {event:?}"),
                _ => {}
            }
        }
        let mut document = stack.pop().expect("document");
        assert!(stack.is_empty(), "unclosed elements");
        assert_eq!(document.children.len(), 1, "exactly one root element");
        document.children.remove(0)
    }

    const GOLDEN: &str = "";

    #[test]
    fn golden() {
        let xml = junit_xml(&sample_report());
        println!("{xml}");
        let root = parse(&xml);
        println!("{root:#?}");
        assert_eq!(xml, GOLDEN);
    }
}
