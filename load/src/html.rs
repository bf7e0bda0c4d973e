//! `load.html`: one self-contained page (inline CSS and SVG, no external assets): verdict,
//! SLOs, latency percentiles per class over time, throughput, errors, held chats, counts,
//! reconciliation and ramp steps.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::class::{Class, Kind};
use crate::metrics::Metric;
use crate::report::{Interval, LoadReport, SloResult, Tick};

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One line of a [`chart`].
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend.
    pub name: String,
    /// CSS colour.
    pub color: &'static str,
    /// Dashed line.
    pub dashed: bool,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
}

/// The colours of the page's charts.
pub const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#7f7f7f"];

/// The start of a report page (doctype, the shared inline CSS, `<body>` and the `<h1>`);
/// `title` and `heading` are escaped here.
pub fn page_head(title: &str, heading: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>{}</title><style>
body{{font-family:sans-serif;margin:1.5em;color:#222}} table{{border-collapse:collapse;margin:.5em 0 1.5em}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:right}} th{{background:#f4f4f4}} td:first-child,th:first-child{{text-align:left}}
.pass{{color:#1a7f1a;font-weight:bold}} .fail{{color:#b00;font-weight:bold}} .t{{font-size:14px;font-weight:bold}} .a{{font-size:11px;fill:#444}}
</style></head><body><h1>{}</h1>"#,
        esc(title),
        esc(heading)
    )
}

/// The CSS class of a verdict cell.
pub fn pass_class(ok: bool) -> &'static str {
    if ok {
        "pass"
    } else {
        "fail"
    }
}

/// An `<h2>` and a table of checks (what, measured, limit, verdict); a failed check reads
/// `failed` (e.g. `BREACHED`).
pub fn checks_table(s: &mut String, heading: &str, checks: &[SloResult], failed: &str) {
    let _ = write!(
        s,
        "<h2>{}</h2><table><tr><th>what</th><th>measured</th><th>limit</th><th>verdict</th></tr>",
        esc(heading)
    );
    for x in checks {
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="{}">{}</td></tr>"#,
            esc(&x.what),
            x.value.map_or("no samples".into(), |v| format!("{v:.4}")),
            x.limit,
            pass_class(x.pass),
            if x.pass { "pass" } else { failed }
        );
    }
    s.push_str("</table>");
}

/// A line chart as inline SVG.
pub fn chart(title: &str, unit: &str, series: &[Series]) -> String {
    let (w, h, l, r, t, b) = (860.0, 270.0, 60.0, 150.0, 38.0, 32.0);
    let pts = series.iter().flat_map(|s| s.points.iter());
    let xmax = pts.clone().map(|p| p.0).fold(1.0_f64, f64::max);
    let ymax = pts.map(|p| p.1).fold(0.0_f64, f64::max).max(1.0) * 1.1;
    let x = |v: f64| l + (w - l - r) * v / xmax;
    let y = |v: f64| h - b - (h - t - b) * v / ymax;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img"><text x="{l}" y="18" class="t">{}</text>"#,
        esc(title)
    );
    let _ = write!(
        s,
        r##"<line x1="{l}" y1="{}" x2="{}" y2="{}" stroke="#444"/><line x1="{l}" y1="{t}" x2="{l}" y2="{}" stroke="#444"/>"##,
        h - b,
        w - r,
        h - b,
        h - b
    );
    for i in 0..=4 {
        let v = ymax * f64::from(i) / 4.0;
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" class="a" text-anchor="end">{v:.1}</text><line x1="{l}" y1="{}" x2="{}" y2="{}" stroke="#eee"/>"##,
            l - 4.0,
            y(v) + 4.0,
            y(v),
            w - r,
            y(v)
        );
        let xv = xmax * f64::from(i) / 4.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="a" text-anchor="middle">{xv:.0} s</text>"#,
            x(xv),
            h - b + 16.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" class="a" text-anchor="end">{}</text>"#,
        l - 4.0,
        t - 8.0,
        esc(unit)
    );
    for (i, se) in series.iter().enumerate() {
        if !se.points.is_empty() {
            let path: Vec<String> = se
                .points
                .iter()
                .map(|(a, v)| format!("{:.1},{:.1}", x(*a), y(*v)))
                .collect();
            let _ = write!(
                s,
                r#"<polyline fill="none" stroke="{}" stroke-width="1.6" {} points="{}"/>"#,
                se.color,
                if se.dashed {
                    r#"stroke-dasharray="4 3""#
                } else {
                    ""
                },
                path.join(" ")
            );
        }
        let ly = t + 14.0 * i as f64;
        let _ = write!(
            s,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2" {}/><text x="{}" y="{}" class="a">{}</text>"#,
            w - r + 10.0,
            ly,
            w - r + 30.0,
            ly,
            se.color,
            if se.dashed {
                r#"stroke-dasharray="4 3""#
            } else {
                ""
            },
            w - r + 34.0,
            ly + 4.0,
            esc(&se.name)
        );
    }
    s.push_str("</svg>");
    s
}

fn latency_series(
    intervals: &BTreeMap<(Class, Metric), Vec<Interval>>,
    metric: Metric,
) -> Vec<Series> {
    let mut out = Vec::new();
    for (i, c) in Class::ALL.iter().enumerate() {
        let Some(ivs) = intervals.get(&(*c, metric)) else {
            continue;
        };
        for (q, dashed) in [(0.99, false), (0.5, true)] {
            out.push(Series {
                name: format!("{} p{}", c.name(), q * 100.0),
                color: COLORS[i],
                dashed,
                points: ivs
                    .iter()
                    .map(|iv| {
                        (
                            iv.start_s + iv.duration_s,
                            if q >= 0.99 { iv.p99 } else { iv.p50 } as f64 / 1000.0,
                        )
                    })
                    .collect(),
            });
        }
    }
    out
}

fn rate(ticks: &[Tick], f: impl Fn(&Tick) -> u64) -> Vec<(f64, f64)> {
    ticks
        .windows(2)
        .map(|w| {
            let dt = (w[1].t_s - w[0].t_s).max(1e-3);
            (w[1].t_s, f(&w[1]).saturating_sub(f(&w[0])) as f64 / dt)
        })
        .collect()
}

/// Renders the report page.
pub fn render(r: &LoadReport, intervals: &BTreeMap<(Class, Metric), Vec<Interval>>) -> String {
    let mut s = page_head(
        &format!("lmpe-load {}", r.name),
        &format!("lmpe-load: {}", r.name),
    );
    let cls = pass_class;
    let _ = write!(
        s,
        r#"<p>Target: {}. Shards: {}. Start {:.3} (Unix s), {:.1} s. Verdict: <span class="{}">{}</span>. Counts reconcile: <span class="{}">{}</span>.</p>"#,
        esc(&r.target),
        r.shards.len(),
        r.start_epoch_s,
        r.elapsed_s,
        cls(r.verdict == "pass"),
        esc(&r.verdict),
        cls(r.reconciled),
        if r.reconciled { "yes" } else { "NO" }
    );
    checks_table(&mut s, "SLOs and limits", &r.slo, "BREACHED");
    if let Some(c) = &r.capacity {
        let _ = write!(
            s,
            "<h2>Capacity</h2><p>Highest sustained arrival rate: <b>{}</b> chats/s with up to <b>{}</b> concurrent chats. First breach: {}.</p>",
            c.highest_sustained_rate.map_or("none (the first step broke an SLO)".into(), |v| format!("{v}")),
            c.concurrent_chats,
            c.first_breach.as_ref().map_or("none".into(), |(rate, what)| format!("{rate} chats/s ({})", esc(&what.join("; "))))
        );
        s.push_str("<table><tr><th>step</th><th>rate</th><th>sent</th><th>delivered</th><th>timed out</th><th>rejected</th><th>max chats</th><th>routing p99 ms by class</th><th>setup p99 ms by class</th><th>SLOs</th></tr>");
        for st in &r.steps {
            let fmt = |m: &BTreeMap<String, f64>| {
                m.iter()
                    .map(|(k, v)| format!("{k} {v:.1}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = write!(
                s,
                r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="{}">{}</td></tr>"#,
                st.step,
                st.rate,
                st.sent,
                st.delivered,
                st.timed_out,
                st.rejected,
                st.max_active_chats,
                fmt(&st.routing_p99_ms),
                fmt(&st.setup_p99_ms),
                cls(st.pass),
                if st.pass { "held" } else { "breached" }
            );
        }
        s.push_str("</table>");
    }
    s.push_str("<h2>Over time</h2>");
    s.push_str(&chart(
        "One-way routing latency APP → PSAP, p99 (solid) and p50 (dashed), per class",
        "ms",
        &latency_series(intervals, Metric::Routing),
    ));
    s.push_str(&chart(
        "Chat setup time (arrival → PSAP start/257 at the APP), per class",
        "ms",
        &latency_series(intervals, Metric::Setup),
    ));
    let t = &r.timeline;
    s.push_str(&chart(
        "Throughput",
        "per s",
        &[
            Series {
                name: "APP msgs sent".into(),
                color: COLORS[0],
                dashed: false,
                points: rate(t, |x| x.sent),
            },
            Series {
                name: "delivered".into(),
                color: COLORS[2],
                dashed: true,
                points: rate(t, |x| x.delivered),
            },
            Series {
                name: "chats arrived".into(),
                color: COLORS[3],
                dashed: false,
                points: rate(t, |x| x.arrived),
            },
        ],
    ));
    s.push_str(&chart(
        "Errors",
        "per s",
        &[
            Series {
                name: "timed out".into(),
                color: COLORS[1],
                dashed: false,
                points: rate(t, |x| x.timed_out),
            },
            Series {
                name: "rejected".into(),
                color: COLORS[0],
                dashed: false,
                points: rate(t, |x| x.rejected),
            },
            Series {
                name: "transport errors".into(),
                color: COLORS[3],
                dashed: true,
                points: rate(t, |x| x.transport_errors),
            },
        ],
    ));
    s.push_str(&chart(
        "Chats held",
        "chats",
        &[Series {
            name: "held".into(),
            color: COLORS[0],
            dashed: false,
            points: t.iter().map(|x| (x.t_s, x.active_chats as f64)).collect(),
        }],
    ));
    s.push_str("<h2>Latency (ms, from the intended send time)</h2><table><tr><th>class</th><th>metric</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>");
    for (c, ms) in &r.latency_us {
        for (m, x) in ms {
            let f = |v: u64| format!("{:.3}", v as f64 / 1000.0);
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(c), esc(m), x.count, f(x.p50), f(x.p90), f(x.p99), f(x.p999), f(x.max)
            );
        }
    }
    s.push_str("</table><h2>APP messages</h2><table><tr><th>class</th><th>kind</th><th>sent</th><th>delivered</th><th>ok</th><th>rejected</th><th>timed out</th><th>transport errors</th><th>unfinished</th><th>not delivered</th><th>duplicates</th></tr>");
    for c in Class::ALL {
        for k in Kind::ALL {
            let Some(x) = r
                .counts
                .messages
                .get(c.name())
                .and_then(|m| m.get(k.name()))
            else {
                continue;
            };
            let rej: Vec<String> = x.rejected.iter().map(|(s, n)| format!("{n}×{s}")).collect();
            let _ = write!(
                s,
                "<tr><td>{c}</td><td>{k}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                x.sent, x.delivered, x.ok, esc(&rej.join(" ")), x.timed_out, x.transport_errors, x.unfinished, x.not_delivered, x.duplicates
            );
        }
    }
    s.push_str("</table><h2>Chats</h2><table><tr><th>class</th><th>arrived</th><th>established</th><th>completed</th><th>failed</th><th>unfinished</th></tr>");
    for (c, x) in &r.counts.chats {
        let failed: Vec<String> = x.failed.iter().map(|(k, n)| format!("{n}× {k}")).collect();
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(c),
            x.arrived,
            x.established,
            x.completed,
            esc(&failed.join("; ")),
            x.unfinished
        );
    }
    s.push_str("</table><h2>Reconciliation</h2><table><tr><th>identity</th><th>left</th><th>right</th><th></th></tr>");
    for c in &r.reconciliation {
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="{}">{}</td></tr>"#,
            esc(&c.name),
            c.lhs,
            c.rhs,
            cls(c.ok),
            if c.ok { "ok" } else { "MISMATCH" }
        );
    }
    s.push_str("</table>");
    if !r.counts.side.violation_samples.is_empty() {
        s.push_str("<h2>First spec deviations and refusals</h2><ul>");
        for v in &r.counts.side.violation_samples {
            let _ = write!(s, "<li>{}</li>", esc(v));
        }
        s.push_str("</ul>");
    }
    s.push_str("</body></html>\n");
    s
}
