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
    let duration_ms = cases.iter().map(|c| finite_ms(c.duration_ms)).sum();
    let counts = Summary::from_verdicts(cases.iter().map(|c| c.verdict), duration_ms);

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
    for note in &case.notes {
        property(out, "        ", "note", note);
    }
    out.push_str("      </properties>\n");

    let reason = case.reason.as_deref().unwrap_or("");
    match case.verdict {
        Verdict::Pass => {}
        Verdict::Fail if case.waiver.is_some() => {
            out.push_str("      <skipped");
            let why = format!("waived: {}", case.waiver.as_deref().unwrap_or(""));
            attr(out, "message", &why);
            out.push_str("/>\n");
        }
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

    /// Expected output for [`sample_report`]; `{CR}` stands for a carriage
    /// return (SIP messages use CRLF line ends, which are kept verbatim).
    const GOLDEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="lmpe-harness 0.1.0" tests="4" failures="1" errors="1" skipped="1" time="5.200">
  <testsuite name="IM2 session start" tests="2" failures="1" errors="0" skipped="0" time="0.150">
    <properties>
      <property name="tool" value="lmpe-harness 0.1.0"/>
      <property name="target" value="embedded reference ESInet"/>
      <property name="started" value="2024-05-01T10:00:00Z"/>
    </properties>
    <testcase classname="IM2 session start" name="TP_PSAP_IM2_START_BV_01 Start chat" time="0.120">
      <properties>
        <property name="clause" value="6.2.2"/>
        <property name="tags" value="@clause-6.2.2 @TP_PSAP_IM2_START_BV_01 @BV"/>
      </properties>
    </testcase>
    <testcase classname="IM2 session start" name="TP_PSAP_IM2_START_BV_02 Start chat with location" time="0.030">
      <properties>
        <property name="clause" value="6.2.2"/>
        <property name="tags" value="@clause-6.2.2 @TP_PSAP_IM2_START_BV_02 @BV"/>
      </properties>
      <failure message="clause 6.2.2: expected 200 OK" type="fail">clause 6.2.2: expected 200 OK
got: SIP/2.0 488 &lt;Not Acceptable&gt; &amp; \u{0} &apos;x&apos;</failure>
      <system-out>--- [1] +0.500 ms  APP -&gt; BCF  (TCP)  MESSAGE sip:urn:service:sos SIP/2.0
MESSAGE sip:urn:service:sos SIP/2.0{CR}
To: &lt;sip:urn:service:sos&gt;{CR}
{CR}
help &amp; &quot;now&quot;\u{0}
--- [2] +12.250 ms  BCF -&gt; APP  (TCP)  SIP/2.0 488 Not Acceptable Here
SIP/2.0 488 Not Acceptable Here{CR}
{CR}
</system-out>
    </testcase>
  </testsuite>
  <testsuite name="IM2 session end" tests="2" failures="0" errors="1" skipped="1" time="5.000">
    <properties>
      <property name="tool" value="lmpe-harness 0.1.0"/>
      <property name="target" value="embedded reference ESInet"/>
      <property name="started" value="2024-05-01T10:00:00Z"/>
    </properties>
    <testcase classname="IM2 session end" name="TP_PSAP_IM2_END_BV_01 End chat" time="5.000">
      <properties>
        <property name="clause" value="6.2.4"/>
        <property name="tags" value="@clause-6.2.4 @TP_PSAP_IM2_END_BV_01 @BV"/>
      </properties>
      <error message="clause 6.2.4: no response within 5 s" type="inconclusive">clause 6.2.4: no response within 5 s</error>
    </testcase>
    <testcase classname="IM2 session end" name="TP_PSAP_IM2_END_BV_02 End chat by PSAP" time="0.000">
      <properties>
        <property name="clause" value="6.2.4"/>
        <property name="tags" value="@clause-6.2.4 @TP_PSAP_IM2_END_BV_02 @BV"/>
      </properties>
      <skipped message="not applicable to target"/>
    </testcase>
  </testsuite>
</testsuites>
"#;

    #[test]
    fn golden_output() {
        let xml = junit_xml(&sample_report());
        assert_eq!(xml, GOLDEN.replace("{CR}", "\r"));
        assert!(!xml.contains('\0'), "NUL must never reach the XML");
    }

    #[test]
    fn golden_output_is_well_formed_with_expected_structure() {
        let report = sample_report();
        let root = parse(&junit_xml(&report));

        assert_eq!(root.name, "testsuites");
        assert_eq!(root.attr("name"), "lmpe-harness 0.1.0");
        assert_eq!(
            (
                root.attr("tests"),
                root.attr("failures"),
                root.attr("errors")
            ),
            ("4", "1", "1")
        );
        assert_eq!((root.attr("skipped"), root.attr("time")), ("1", "5.200"));
        assert_eq!(root.names(), ["testsuite", "testsuite"]);

        let start = &root.children[0];
        let end = &root.children[1];
        assert_eq!(start.attr("name"), "IM2 session start");
        assert_eq!(end.attr("name"), "IM2 session end");
        for (suite, counts) in [(start, ["2", "1", "0", "0"]), (end, ["2", "0", "1", "1"])] {
            let got = ["tests", "failures", "errors", "skipped"].map(|k| suite.attr(k));
            assert_eq!(got, counts, "counts of {}", suite.attr("name"));
            assert_eq!(suite.names(), ["properties", "testcase", "testcase"]);
        }

        let cases: Vec<&Node> = root
            .children
            .iter()
            .flat_map(|suite| suite.children.iter().filter(|c| c.name == "testcase"))
            .collect();
        assert_eq!(cases.len(), report.scenarios.len());
        for (case, scenario) in cases.iter().zip(&report.scenarios) {
            assert_eq!(case.attr("classname"), scenario.feature);
            assert_eq!(
                case.attr("name"),
                format!("{} {}", scenario.id, scenario.name)
            );
            let props = case.child("properties").expect("properties");
            assert_eq!(props.children[0].attr("name"), "clause");
            assert_eq!(props.children[0].attr("value"), scenario.clause);
            assert_eq!(props.children[1].attr("name"), "tags");
            assert_eq!(props.children[1].attr("value"), scenario.tags.join(" "));
        }
        assert_eq!(cases[0].names(), ["properties"]);
        assert_eq!(cases[1].names(), ["properties", "failure", "system-out"]);
        assert_eq!(cases[2].names(), ["properties", "error"]);
        assert_eq!(cases[3].names(), ["properties", "skipped"]);

        // Escaped content reads back as the original text, NUL made visible.
        let failure = cases[1].child("failure").expect("failure");
        assert_eq!(failure.attr("type"), "fail");
        assert_eq!(failure.attr("message"), "clause 6.2.2: expected 200 OK");
        let reason = report.scenarios[1].reason.as_deref().expect("reason");
        assert_eq!(failure.text, reason.replace('\0', "\\u{0}"));
        assert!(failure.text.contains("<Not Acceptable> & \\u{0} 'x'"));

        let out = &cases[1].child("system-out").expect("system-out").text;
        assert!(out.contains("APP -> BCF  (TCP)  MESSAGE sip:urn:service:sos SIP/2.0\n"));
        assert!(out.contains("To: <sip:urn:service:sos>\n\nhelp & \"now\"\\u{0}\n"));
        assert!(out.contains("--- [2] +12.250 ms  BCF -> APP"));

        let error = cases[2].child("error").expect("error");
        assert_eq!(error.attr("type"), "inconclusive");
        assert_eq!(error.text, "clause 6.2.4: no response within 5 s");
        let skipped = cases[3].child("skipped").expect("skipped");
        assert_eq!(skipped.attr("message"), "not applicable to target");
    }

    #[test]
    fn hostile_text_everywhere_stays_well_formed() {
        let nasty: String = (0u32..128)
            .filter_map(char::from_u32)
            .chain(['\u{85}', '\u{fffe}', '\u{ffff}', 'é', '😀'])
            .collect::<String>()
            + "]]> <![CDATA[ &amp; &#0; \r lone-cr";
        let mut report = sample_report();
        for s in &mut report.scenarios {
            s.id = nasty.clone();
            s.name = nasty.clone();
            s.feature = nasty.clone();
            s.clause = nasty.clone();
            s.tags = vec![nasty.clone(), nasty.clone()];
            s.reason = Some(nasty.clone());
            for m in &mut s.messages {
                m.direction = nasty.clone();
                m.transport = nasty.clone();
                m.summary = nasty.clone();
                m.text = nasty.clone();
            }
        }
        report.tool = nasty.clone();
        report.target = nasty.clone();
        report.started = nasty.clone();
        let root = parse(&junit_xml(&report));

        // Attribute values survive exactly, except for characters XML cannot
        // carry, which become visible escapes.
        let mut expected = String::new();
        escape_illegal_only(&nasty, &mut expected);
        assert_eq!(root.attr("name"), expected);
        assert_eq!(root.children.len(), 1, "all scenarios share one feature");
        let case = &root.children[0].children[2];
        assert_eq!(case.attr("classname"), expected);
        assert_eq!(case.child("failure").expect("failure").attr("message"), {
            expected.lines().next().expect("line").trim()
        });
        // Text content: XML end-of-line handling turns CR into LF.
        assert_eq!(
            case.child("failure").expect("failure").text,
            expected.replace("\r\n", "\n").replace('\r', "\n")
        );
    }

    #[test]
    fn checker_rejects_malformed_xml() {
        let bad = [
            "<a><b></a></b>",
            "<a>&bogus;</a>",
            "<a x=\"1\" x=\"2\"/>",
            "<a>\u{0}</a>",
            "<a>\u{1b}</a>",
            "<a/><b/>",
            "<a>",
        ];
        for doc in bad {
            let result = std::panic::catch_unwind(|| parse(doc));
            assert!(result.is_err(), "accepted malformed {doc:?}");
        }
    }

    /// Reference for what survives: only the characters XML 1.0 forbids are
    /// replaced.
    fn escape_illegal_only(s: &str, out: &mut String) {
        for c in s.chars() {
            match c {
                '\t' | '\n' | '\r' => out.push(c),
                '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {
                    out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
                }
                _ => out.push(c),
            }
        }
    }

    #[test]
    fn empty_report_and_missing_reason() {
        let empty = RunReport::new("t", "x", "2024-01-01T00:00:00Z", vec![], 0.0);
        let xml = junit_xml(&empty);
        assert!(xml.ends_with(
            "<testsuites name=\"t\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0.000\">\n</testsuites>\n"
        ));
        assert!(parse(&xml).children.is_empty());

        let mut report = sample_report();
        for s in &mut report.scenarios {
            s.reason = None;
            s.duration_ms = f64::NAN;
        }
        let xml = junit_xml(&report);
        assert!(xml.contains("<failure message=\"scenario failed\" type=\"fail\"/>"));
        assert!(xml.contains("<error message=\"scenario inconclusive\" type=\"inconclusive\"/>"));
        assert!(xml.contains("<skipped message=\"scenario skipped\"/>"));
        assert!(!xml.contains("NaN"));
        parse(&xml);
    }

    #[test]
    fn write_junit_reports_the_path_on_error() {
        let path = std::env::temp_dir().join(format!(
            "lmpe-reports-missing-{}/sub/junit.xml",
            std::process::id()
        ));
        let err = write_junit(&sample_report(), &path).expect_err("parent does not exist");
        match &err {
            ReportError::Io { path: p, .. } => assert_eq!(p, &path),
            other => panic!("unexpected error {other:?}"),
        }
        assert!(err.to_string().contains("junit.xml"), "{err}");
    }
}
