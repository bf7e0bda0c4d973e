//! Self-contained HTML report (`report.html`).
//!
//! One file, no external resources and no JavaScript: inline CSS only, and a
//! Content-Security-Policy that forbids scripts and remote loads as a second
//! line of defence. Layout:
//!
//! 1. header: tool, target, start time, verdict counts and run duration;
//! 2. clause matrix: one row per clause (natural order: `6.1.2.7` < `6.2.2`
//!    < `6.2.10` < `A.5`), one column per verdict; each non-zero cell
//!    expands to links to the scenarios it counts;
//! 3. per feature, per scenario: verdict badge, id, name, tags, clause,
//!    duration, reason, and the message ladder, each message expandable to
//!    its full text with `<details>`.
//!
//! Everything that may come from the SUT is escaped (`&`, `<`, `>`, `"`,
//! `'`) and control characters other than TAB, LF and CR are shown as
//! visible `\u{..}` escapes.

use crate::error::ReportError;
use crate::model::{RunReport, ScenarioResult, Summary, Verdict, WireMessage};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

/// Verdicts in column order.
const VERDICTS: [Verdict; 4] = [
    Verdict::Pass,
    Verdict::Fail,
    Verdict::Inconclusive,
    Verdict::Skipped,
];

const STYLE: &str = "\
:root{--pass:#1a7f37;--fail:#cf222e;--inconclusive:#9a6700;--skipped:#6e7781;--line:#d0d7de;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;padding:1em 2em;max-width:1400px;color:#1f2328}
h1{font-size:1.5em;margin:.2em 0}
h2{font-size:1.25em;border-bottom:1px solid var(--line);padding-bottom:.2em;margin-top:1.6em}
h3{font-size:1.05em;margin:0 0 .4em}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.5em 0}
dl.meta dt{font-weight:600}
dl.meta dd{margin:0}
.counts span{display:inline-block;margin-right:1em;font-weight:600}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid var(--line);padding:.25em .6em;text-align:left;vertical-align:top}
th{background:var(--soft)}
td.n{text-align:right;min-width:6em}
td.zero{color:#8c959f}
.badge{display:inline-block;min-width:7.5em;text-align:center;border-radius:1em;padding:0 .6em;color:#fff;font-weight:700;font-size:.85em;text-transform:uppercase}
.pass .badge,.badge.pass{background:var(--pass)}
.fail .badge,.badge.fail{background:var(--fail)}
.inconclusive .badge,.badge.inconclusive{background:var(--inconclusive)}
.skipped .badge,.badge.skipped{background:var(--skipped)}
th.pass,td.pass{color:var(--pass)}
th.fail,td.fail{color:var(--fail)}
th.inconclusive,td.inconclusive{color:var(--inconclusive)}
th.skipped,td.skipped{color:var(--skipped)}
td ul{margin:.2em 0;padding-left:1.2em;font-weight:400}
article.scenario{border:1px solid var(--line);border-left:6px solid var(--skipped);border-radius:4px;padding:.6em 1em;margin:1em 0}
article.pass{border-left-color:var(--pass)}
article.fail{border-left-color:var(--fail)}
article.inconclusive{border-left-color:var(--inconclusive)}
article.scenario:target{box-shadow:0 0 0 3px #54aeff66}
.id{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.tag{display:inline-block;background:var(--soft);border:1px solid var(--line);border-radius:3px;padding:0 .35em;margin-right:.3em;font-size:.85em}
pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap;overflow-wrap:anywhere;margin:.3em 0}
pre.reason{background:var(--soft);border:1px solid var(--line);padding:.5em}
article.fail pre.reason{background:#ffebe9;border:2px solid var(--fail);font-size:13px;font-weight:600}
article.inconclusive pre.reason{background:#fff8c5;border-color:var(--inconclusive)}
table.ladder{width:100%}
table.ladder td:nth-child(-n+4){white-space:nowrap}
table.ladder summary{cursor:pointer;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
table.ladder pre{background:var(--soft);padding:.5em;max-height:40em;overflow:auto}
.addr{color:#57606a;font-size:.85em}
";

/// Renders `report` as one self-contained HTML document.
pub fn report_html(report: &RunReport) -> String {
    // Counts are recomputed from the scenarios (as in the JUnit writer), so
    // the header always agrees with the matrix.
    let totals = Summary::from_results(&report.scenarios, report.summary.duration_ms);
    let anchors = anchors(&report.scenarios);

    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(
        out,
        "<title>{} \u{2014} {}</title>",
        esc(&report.tool),
        esc(&report.target)
    );
    let _ = writeln!(out, "<style>\n{STYLE}</style>\n</head>\n<body>");

    write_header(&mut out, report, &totals);
    write_matrix(&mut out, &report.scenarios, &anchors);
    write_scenarios(&mut out, &report.scenarios, &anchors);

    out.push_str("</body>\n</html>\n");
    out
}

/// Writes [`report_html`] of `report` to `path`.
pub fn write_html(report: &RunReport, path: &Path) -> Result<(), ReportError> {
    std::fs::write(path, report_html(report)).map_err(|e| ReportError::io(path, e))
}

fn write_header(out: &mut String, report: &RunReport, totals: &Summary) {
    out.push_str("<header>\n");
    let _ = writeln!(out, "<h1>{}</h1>", esc(&report.tool));
    out.push_str("<dl class=\"meta\">\n");
    let _ = writeln!(out, "<dt>Target</dt><dd>{}</dd>", esc(&report.target));
    let _ = writeln!(out, "<dt>Started</dt><dd>{}</dd>", esc(&report.started));
    let _ = writeln!(
        out,
        "<dt>Duration</dt><dd>{}</dd>",
        duration(totals.duration_ms)
    );
    out.push_str("</dl>\n<p class=\"counts\">");
    let _ = write!(
        out,
        "<span class=\"total\">{} scenarios</span>",
        totals.total
    );
    for verdict in VERDICTS {
        let _ = write!(
            out,
            "<span class=\"badge {v}\">{n} {v}</span>",
            v = verdict.as_str(),
            n = count(totals, verdict)
        );
    }
    out.push_str("</p>\n</header>\n");
}

fn count(summary: &Summary, verdict: Verdict) -> usize {
    match verdict {
        Verdict::Pass => summary.pass,
        Verdict::Fail => summary.fail,
        Verdict::Inconclusive => summary.inconclusive,
        Verdict::Skipped => summary.skipped,
    }
}

/// The clause matrix. Each non-zero cell is a `<details>` whose summary is
/// the count and whose body links to the counted scenarios.
fn write_matrix(out: &mut String, scenarios: &[ScenarioResult], anchors: &[String]) {
    let mut rows: BTreeMap<ClauseKey<'_>, [Vec<usize>; 4]> = BTreeMap::new();
    for (i, s) in scenarios.iter().enumerate() {
        rows.entry(ClauseKey(&s.clause)).or_default()[column(s.verdict)].push(i);
    }

    out.push_str("<section id=\"matrix\">\n<h2>Clause matrix</h2>\n");
    out.push_str("<table class=\"matrix\">\n<thead><tr><th>Clause</th>");
    for verdict in VERDICTS {
        let _ = write!(out, "<th class=\"{0}\">{0}</th>", verdict.as_str());
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (clause, cells) in &rows {
        let label = if clause.0.is_empty() {
            "(none)".to_owned()
        } else {
            esc(clause.0)
        };
        let _ = write!(out, "<tr><th class=\"id\">{label}</th>");
        for (verdict, members) in VERDICTS.iter().zip(cells) {
            let v = verdict.as_str();
            if members.is_empty() {
                let _ = write!(out, "<td class=\"n zero {v}\">0</td>");
                continue;
            }
            let _ = write!(
                out,
                "<td class=\"n {v}\"><details class=\"cell\"><summary>{}</summary><ul>",
                members.len()
            );
            for &i in members {
                let _ = write!(
                    out,
                    "<li><a class=\"id\" href=\"#{}\">{}</a></li>",
                    anchors[i],
                    esc(&scenarios[i].id)
                );
            }
            out.push_str("</ul></details></td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

fn column(verdict: Verdict) -> usize {
    match verdict {
        Verdict::Pass => 0,
        Verdict::Fail => 1,
        Verdict::Inconclusive => 2,
        Verdict::Skipped => 3,
    }
}

/// Scenarios grouped by feature (order of first appearance).
fn write_scenarios(out: &mut String, scenarios: &[ScenarioResult], anchors: &[String]) {
    let mut features: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        match features.iter_mut().find(|(f, _)| *f == s.feature) {
            Some((_, members)) => members.push(i),
            None => features.push((&s.feature, vec![i])),
        }
    }
    for (feature, members) in features {
        let _ = writeln!(
            out,
            "<section class=\"feature\">\n<h2>{}</h2>",
            esc(feature)
        );
        for i in members {
            write_scenario(out, &scenarios[i], &anchors[i]);
        }
        out.push_str("</section>\n");
    }
}

fn write_scenario(out: &mut String, s: &ScenarioResult, anchor: &str) {
    let v = s.verdict.as_str();
    let _ = writeln!(out, "<article class=\"scenario {v}\" id=\"{anchor}\">");
    let _ = writeln!(
        out,
        "<h3><span class=\"badge\">{v}</span> <span class=\"id\">{}</span> {}</h3>",
        esc(&s.id),
        esc(&s.name)
    );
    out.push_str("<dl class=\"meta\">\n");
    let _ = writeln!(
        out,
        "<dt>Clause</dt><dd class=\"id\">{}</dd>",
        esc(&s.clause)
    );
    out.push_str("<dt>Tags</dt><dd>");
    for tag in &s.tags {
        let _ = write!(out, "<span class=\"tag\">{}</span>", esc(tag));
    }
    out.push_str("</dd>\n");
    let _ = writeln!(out, "<dt>Duration</dt><dd>{}</dd>", duration(s.duration_ms));
    out.push_str("</dl>\n");
    for note in &s.notes {
        let _ = writeln!(out, "<p class=\"note\">note: {}</p>", esc(note));
    }
    if let Some(reason) = s.reason.as_deref().filter(|r| !r.is_empty()) {
        let _ = writeln!(out, "<pre class=\"reason\">{}</pre>", esc(reason));
    }
    if !s.messages.is_empty() {
        write_ladder(out, &s.messages);
    }
    out.push_str("</article>\n");
}

fn write_ladder(out: &mut String, messages: &[WireMessage]) {
    out.push_str(
        "<table class=\"ladder\">\n<thead><tr><th>#</th><th>Time (ms)</th>\
         <th>Direction</th><th>Transport</th><th>Message</th></tr></thead>\n<tbody>\n",
    );
    for (i, m) in messages.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td class=\"n\">{}</td><td class=\"n\">{:.3}</td><td>{}",
            i + 1,
            finite_ms(m.at_ms),
            esc(&m.direction)
        );
        if m.src.is_some() || m.dst.is_some() {
            let _ = write!(
                out,
                "<br><span class=\"addr\">{} \u{2192} {}</span>",
                esc(m.src.as_deref().unwrap_or("?")),
                esc(m.dst.as_deref().unwrap_or("?"))
            );
        }
        let first = if m.summary.is_empty() {
            m.text.lines().next().unwrap_or_default()
        } else {
            m.summary.as_str()
        };
        let _ = writeln!(
            out,
            "</td><td>{}</td><td><details class=\"msg\"><summary>{}</summary><pre>{}</pre></details></td></tr>",
            esc(&m.transport),
            esc(first),
            esc(&m.text)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

/// One unique fragment identifier per scenario: `sc-` plus the id reduced to
/// `[A-Za-z0-9_.-]`, with `-2`, `-3`, ... appended on collisions.
fn anchors(scenarios: &[ScenarioResult]) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(scenarios.len());
    for s in scenarios {
        let base = format!("sc-{}", crate::sanitize_name(&s.id));
        let mut candidate = base.clone();
        let mut n = 1;
        while seen.contains(&candidate) {
            n += 1;
            candidate = format!("{base}-{n}");
        }
        seen.insert(candidate.clone());
        out.push(candidate);
    }
    out
}

/// Negative or non-finite durations are shown as zero.
fn finite_ms(ms: f64) -> f64 {
    if ms.is_finite() && ms > 0.0 {
        ms
    } else {
        0.0
    }
}

fn duration(ms: f64) -> String {
    let ms = finite_ms(ms);
    if ms >= 1000.0 {
        format!("{:.3} s", ms / 1000.0)
    } else {
        format!("{ms:.1} ms")
    }
}

/// HTML-escapes `value` (valid in text and in quoted attribute values).
///
/// `&`, `<`, `>`, `"` and `'` become character references; control
/// characters other than TAB, LF and CR (NUL, ESC of ANSI sequences, DEL, C1
/// controls) and the noncharacters U+FFFE/U+FFFF become a visible `\u{..}`.
fn esc(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + value.len() / 8);
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out
}

/// A clause ordered naturally: runs of digits compare numerically, other
/// runs compare as text, and a number sorts before text at the same
/// position, so `6.1.2.7` < `6.2.2` < `6.2.10` < `A.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ClauseKey<'a>(&'a str);

impl Ord for ClauseKey<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        natural_cmp(self.0, other.0)
    }
}

impl PartialOrd for ClauseKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Splits `s` into alternating runs of ASCII digits and other characters.
fn runs(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digits = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digits)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

fn natural_cmp(a: &str, b: &str) -> Ordering {
    let mut left = runs(a);
    let mut right = runs(b);
    loop {
        match (left.next(), right.next()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let x_num = x.starts_with(|c: char| c.is_ascii_digit());
                let y_num = y.starts_with(|c: char| c.is_ascii_digit());
                let ord = match (x_num, y_num) {
                    (true, true) => {
                        // Compare arbitrarily long numbers without parsing.
                        let (xt, yt) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
                        xt.len().cmp(&yt.len()).then_with(|| xt.cmp(yt))
                    }
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::sample_report;

    /// The sample report plus a hostile message and two more clauses.
    fn hostile_report() -> RunReport {
        let mut report = sample_report();
        report.scenarios[1].messages.push(WireMessage {
            at_ms: 13.0,
            direction: "BCF -> APP".to_owned(),
            transport: "UDP".to_owned(),
            summary: "SIP/2.0 200 <script>alert('x')</script>".to_owned(),
            text: "SIP/2.0 200 OK\r\nX-Evil: <script src=\"https://evil.example/x.js\"></script>\
                   \r\nX-Link: <a href='http://evil.example/'>x</a>\r\nX-Ctl: a\0b\u{1b}[31mred\u{7f}\r\n\r\n"
                .to_owned(),
            src: Some("127.0.0.1:5060".to_owned()),
            dst: Some("[::1]:5070".to_owned()),
        });
        let mut extra = report.scenarios[0].clone();
        extra.id = "TP_PSAP_X_BV_01".to_owned();
        extra.clause = "6.2.10".to_owned();
        let mut annex = report.scenarios[0].clone();
        annex.id = "TP_PSAP_A_BV_01".to_owned();
        annex.clause = "A.5".to_owned();
        annex.verdict = Verdict::Fail;
        let mut early = report.scenarios[0].clone();
        early.id = "TP_PSAP_EARLY_BV_01".to_owned();
        early.clause = "6.1.2.7".to_owned();
        report.scenarios.extend([annex, extra, early]);
        report.summary = Summary::from_results(&report.scenarios, 5200.0);
        report
    }

    /// The `<tr>` of the clause matrix for `clause`.
    fn matrix_row<'a>(html: &'a str, clause: &str) -> &'a str {
        let matrix = &html[html.find("<table class=\"matrix\">").expect("matrix")..];
        let matrix = &matrix[..matrix.find("</table>").expect("matrix end")];
        let start = matrix
            .find(&format!("<tr><th class=\"id\">{clause}</th>"))
            .unwrap_or_else(|| panic!("row for {clause}"));
        let row = &matrix[start..];
        &row[..row.find("</tr>").expect("row end")]
    }

    /// Counts per verdict column of a matrix row.
    fn row_counts(row: &str) -> Vec<usize> {
        row.split("<td class=\"n")
            .skip(1)
            .map(|cell| {
                let text = cell
                    .strip_prefix(" zero")
                    .map(|_| "0")
                    .or_else(|| {
                        let s = cell.split("<summary>").nth(1)?;
                        s.split("</summary>").next()
                    })
                    .expect("cell count");
                text.parse().expect("number")
            })
            .collect()
    }

    #[test]
    fn natural_clause_order() {
        let mut clauses = vec!["A.5", "6.2.10", "6.2.2", "6.1.2.7", "", "6.2", "A.10", "B"];
        clauses.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            clauses,
            ["", "6.1.2.7", "6.2", "6.2.2", "6.2.10", "A.5", "A.10", "B"]
        );
        assert_eq!(natural_cmp("6.02", "6.2"), Ordering::Less, "total order");
        assert_eq!(
            natural_cmp("99999999999999999999999", "100000000000000000000000"),
            Ordering::Less
        );
    }

    #[test]
    fn has_header_matrix_and_scenarios() {
        let report = hostile_report();
        let html = report_html(&report);
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(html.ends_with("</body>\n</html>\n"));
        assert!(html.contains("<h1>lmpe-harness 0.1.0</h1>"));
        assert!(html.contains("<dd>embedded reference ESInet</dd>"));
        assert!(html.contains("<dd>2024-05-01T10:00:00Z</dd>"));
        assert!(html.contains("<span class=\"total\">7 scenarios</span>"));
        assert!(html.contains("<span class=\"badge pass\">3 pass</span>"));
        assert!(html.contains("<span class=\"badge fail\">2 fail</span>"));
        assert!(html.contains("<span class=\"badge inconclusive\">1 inconclusive</span>"));
        assert!(html.contains("<span class=\"badge skipped\">1 skipped</span>"));

        // Matrix rows in natural order with per-verdict counts.
        let order: Vec<usize> = ["6.1.2.7", "6.2.2", "6.2.4", "6.2.10", "A.5"]
            .iter()
            .map(|c| {
                html.find(&format!("<tr><th class=\"id\">{c}</th>"))
                    .expect("row")
            })
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert_eq!(row_counts(matrix_row(&html, "6.2.2")), [1, 1, 0, 0]);
        assert_eq!(row_counts(matrix_row(&html, "6.2.4")), [0, 0, 1, 1]);
        assert_eq!(row_counts(matrix_row(&html, "A.5")), [0, 1, 0, 0]);
        assert_eq!(row_counts(matrix_row(&html, "6.2.10")), [1, 0, 0, 0]);

        // Every matrix link points at an existing scenario anchor.
        let row = matrix_row(&html, "6.2.2");
        assert!(row.contains("<a class=\"id\" href=\"#sc-TP_PSAP_IM2_START_BV_02\">"));
        for scenario in &report.scenarios {
            let anchor = format!("id=\"sc-{}\"", scenario.id);
            assert_eq!(html.matches(&anchor).count(), 1, "{anchor}");
            assert!(html.contains(&format!("href=\"#sc-{}\"", scenario.id)));
        }

        // Features in order of first appearance, scenario details present.
        let start = html.find("<h2>IM2 session start</h2>").expect("feature 1");
        let end = html.find("<h2>IM2 session end</h2>").expect("feature 2");
        assert!(start < end);
        assert!(html.contains(
            "<article class=\"scenario fail\" id=\"sc-TP_PSAP_IM2_START_BV_02\">\n\
             <h3><span class=\"badge\">fail</span> <span class=\"id\">TP_PSAP_IM2_START_BV_02</span> Start chat with location</h3>"
        ));
        assert!(html.contains("<span class=\"tag\">@clause-6.2.2</span>"));
        assert!(html.contains("<dt>Duration</dt><dd>30.5 ms</dd>"));
        assert!(html.contains("<dt>Duration</dt><dd>5.000 s</dd>"));
        assert!(html.contains(
            "<pre class=\"reason\">clause 6.2.2: expected 200 OK\n\
             got: SIP/2.0 488 &lt;Not Acceptable&gt; &amp; \\u{0} &#39;x&#39;</pre>"
        ));

        // One expandable block per message, with the first line as summary.
        let messages: usize = report.scenarios.iter().map(|s| s.messages.len()).sum();
        assert_eq!(messages, 3);
        assert_eq!(html.matches("<details class=\"msg\">").count(), messages);
        assert_eq!(html.matches("<table class=\"ladder\">").count(), 1);
        assert!(html.contains(
            "<td class=\"n\">1</td><td class=\"n\">0.500</td><td>APP -&gt; BCF</td><td>TCP</td>\
             <td><details class=\"msg\"><summary>MESSAGE sip:urn:service:sos SIP/2.0</summary>\
             <pre>MESSAGE sip:urn:service:sos SIP/2.0\r\nTo: &lt;sip:urn:service:sos&gt;\r\n\r\nhelp &amp; &quot;now&quot;\\u{0}</pre></details></td></tr>"
        ));
        assert!(html.contains("<span class=\"addr\">127.0.0.1:5060 \u{2192} [::1]:5070</span>"));
    }

    #[test]
    fn escapes_sut_text_and_references_nothing_external() {
        let html = report_html(&hostile_report());
        assert!(!html.contains("<script"), "script tag leaked");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        assert!(html.contains("&lt;script src=&quot;https://evil.example/x.js&quot;&gt;"));
        assert!(!html.contains('\0'), "raw NUL in output");
        assert!(!html.contains('\u{1b}'), "raw ESC in output");
        assert!(!html.contains('\u{7f}'), "raw DEL in output");
        assert!(html.contains("a\\u{0}b\\u{1b}[31mred\\u{7f}"));
        assert!(
            !html
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
            "control characters must not reach the document"
        );

        // No resource or link leaves the document: every href is a fragment,
        // there is no src attribute and no CSS url(). (Quotes from the SUT
        // are always escaped, so a literal `="` can only be our markup.)
        let lower = html.to_ascii_lowercase();
        let hrefs: Vec<usize> = lower.match_indices("href=\"").map(|(i, _)| i).collect();
        assert!(!hrefs.is_empty());
        for i in hrefs {
            assert!(lower[i..].starts_with("href=\"#"), "{}", &html[i..i + 40]);
        }
        assert!(!lower.contains("href='"), "single-quoted href found");
        assert!(!lower.contains("src=\""), "src attribute found");
        assert!(!lower.contains("src='"), "src attribute found");
        assert!(!lower.contains("url("), "CSS url() found");
        assert!(!lower.contains("@import"));
        for scheme in ["http://", "https://"] {
            for (i, _) in lower.match_indices(scheme) {
                let before = &lower[i.saturating_sub(6)..i];
                assert!(
                    before.ends_with("&quot;") || before.ends_with("&#39;"),
                    "{scheme} outside escaped SUT text at {i}"
                );
            }
        }
    }

    #[test]
    fn empty_report_is_well_formed() {
        let report = RunReport::new("t", "x", "now", vec![], 0.0);
        let html = report_html(&report);
        assert!(html.contains("<span class=\"total\">0 scenarios</span>"));
        assert!(html.contains("<tbody>\n</tbody>"));
        assert!(!html.contains("<article"));
    }

    #[test]
    fn duplicate_and_odd_ids_get_unique_anchors() {
        let mut report = sample_report();
        report.scenarios[1].id = report.scenarios[0].id.clone();
        report.scenarios[2].id = "a b\"<c>".to_owned();
        let list = anchors(&report.scenarios);
        assert_eq!(list[0], "sc-TP_PSAP_IM2_START_BV_01");
        assert_eq!(list[1], "sc-TP_PSAP_IM2_START_BV_01-2");
        assert_eq!(list[2], "sc-a_b__c_");
        let html = report_html(&report);
        assert!(html.contains("id=\"sc-TP_PSAP_IM2_START_BV_01-2\""));
        assert!(html.contains("<span class=\"id\">a b&quot;&lt;c&gt;</span>"));
    }

    #[test]
    fn write_html_writes_the_document() {
        let path =
            std::env::temp_dir().join(format!("lmpe-reports-html-{}.html", std::process::id()));
        let report = sample_report();
        write_html(&report, &path).expect("write");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            report_html(&report)
        );
        let _ = std::fs::remove_file(&path);
    }
}
