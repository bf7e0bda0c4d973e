//! Alert fan-out load (`plane = "alerts"` profiles): many SIP, XMPP and feed subscribers in
//! two areas, alerts published on an open schedule (alert k is due at k × interval, whatever
//! the deployment does), and for every alert and every subscriber whether it arrived, how
//! late (from the alert's due time, microseconds, HDR histograms per channel), and whether it
//! arrived intact. Every delivery is accounted for: expected = delivered + lost, and every
//! alert received is delivered, a duplicate, a wrong-area delivery, late, or invalid.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lmpe_load::html::{checks_table, esc, page_head};
use lmpe_load::report::{SloResult, Summary};
use lmpe_load::Verdict;
use lmpe_warning::cap::{Alert, AlertBuilder, CapDateTime, Category, Polygon};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::http::HttpGet;
use crate::xmpp::XmppCitizen;
use crate::{AlertsError, Channel, Citizen, CitizenConfig, Received, XmppSubscriber};

/// An alert fan-out profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsProfile {
    /// Must be `alerts`.
    pub plane: String,
    /// Report name.
    pub name: String,
    /// SIP subscriptions (spread over `sip_endpoints` SIP endpoints).
    #[serde(default)]
    pub sip_subscribers: usize,
    /// SIP endpoints the SIP subscriptions share (default 8).
    #[serde(default = "default_endpoints")]
    pub sip_endpoints: usize,
    /// XMPP subscribers, each its own account and connection.
    #[serde(default)]
    pub xmpp_subscribers: usize,
    /// Feed readers (each polls its area's feed).
    #[serde(default)]
    pub http_subscribers: usize,
    /// Feed poll interval (ms).
    #[serde(default = "default_poll")]
    pub http_poll_ms: u64,
    /// Alerts to publish; they alternate between area A and area B.
    pub alerts: usize,
    /// Interval between alerts (ms).
    pub interval_ms: u64,
    /// Share of the subscribers in area A (the rest are in area B).
    #[serde(default = "default_split")]
    pub area_a_share: f64,
    /// A delivery later than this after its alert's due time counts as lost (ms).
    pub timeout_ms: u64,
    /// Subscriptions set up at once.
    #[serde(default = "default_parallel")]
    pub setup_parallelism: usize,
    /// Pass/fail limits.
    #[serde(default)]
    pub thresholds: Thresholds,
}

fn default_endpoints() -> usize {
    8
}
fn default_poll() -> u64 {
    200
}
fn default_split() -> f64 {
    0.5
}
fn default_parallel() -> usize {
    64
}

/// Limits that decide the exit code.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Largest share of expected deliveries lost (0.0: none).
    pub loss_ratio: Option<f64>,
    /// Largest p99 delivery latency per channel (`sip`, `xmpp`, `http`, or `*`), ms.
    #[serde(default)]
    pub p99_ms: BTreeMap<String, f64>,
}

impl AlertsProfile {
    /// Reads and checks a profile.
    pub fn load(path: &Path) -> Result<Self, AlertsError> {
        let p: Self =
            lmpe_load::profile::read_toml(path).map_err(|e| AlertsError::Profile(e.to_string()))?;
        p.validate()?;
        Ok(p)
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<(), AlertsError> {
        let bad = |m: &str| Err(AlertsError::Profile(format!("{}: {m}", self.name)));
        if self.plane != "alerts" {
            return bad("plane must be \"alerts\"");
        }
        if self.sip_subscribers + self.xmpp_subscribers + self.http_subscribers == 0 {
            return bad("no subscribers (sip_subscribers, xmpp_subscribers, http_subscribers)");
        }
        if self.alerts == 0 || self.interval_ms == 0 || self.timeout_ms == 0 {
            return bad("alerts, interval_ms and timeout_ms must be positive");
        }
        if !(0.0..=1.0).contains(&self.area_a_share) {
            return bad("area_a_share must be within 0..=1");
        }
        if self.sip_endpoints == 0 || self.setup_parallelism == 0 {
            return bad("sip_endpoints and setup_parallelism must be positive");
        }
        if self.sip_subscribers + self.xmpp_subscribers + self.http_subscribers > 200_000 {
            return bad("more than 200,000 subscribers");
        }
        for k in self.thresholds.p99_ms.keys() {
            if !["sip", "xmpp", "http", "*"].contains(&k.as_str()) {
                return bad(&format!("p99_ms key {k:?} is none of sip, xmpp, http, *"));
            }
        }
        Ok(())
    }
}

/// Where the alerts go and where subscribers subscribe.
#[derive(Debug, Clone)]
pub struct FanoutTarget {
    /// Report name.
    pub name: String,
    /// The originator's ingest URL.
    pub ingest_url: String,
    /// Subscription URIs of area A and area B, per channel.
    pub uris: [BTreeMap<Channel, String>; 2],
    /// A point in area A and one in area B (alert areas are squares around them).
    pub points: [[f64; 2]; 2],
    /// The XMPP server, its account domain and how to name subscriber accounts
    /// (`<prefix><n>`, password = user) when there are XMPP subscribers.
    pub xmpp: Option<(SocketAddr, String, String)>,
}

/// Per-channel counts. Identities: `expected = delivered + lost`;
/// `received = delivered + duplicate + wrong_area + late + invalid`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ChannelCounts {
    /// Subscribers.
    pub subscribers: u64,
    /// (alert, subscriber) pairs that should have been delivered.
    pub expected: u64,
    /// Delivered intact within the timeout (first copy).
    pub delivered: u64,
    /// Expected but not delivered intact within the timeout.
    pub lost: u64,
    /// Alerts received in all.
    pub received: u64,
    /// Further copies of a delivered alert.
    pub duplicate: u64,
    /// Alerts received by a subscriber of the other area.
    pub wrong_area: u64,
    /// Received after the timeout.
    pub late: u64,
    /// Not valid CAP, or not equal to what was published.
    pub invalid: u64,
}

/// The report (`load.json`).
#[derive(Debug, Clone, Serialize)]
pub struct AlertsReport {
    /// Profile name.
    pub name: String,
    /// Always `alerts`.
    pub plane: &'static str,
    /// The deployment.
    pub target: String,
    /// Alerts published, and how many the ingest refused.
    pub alerts_published: u64,
    /// Refused by the ingest (not counted as expected deliveries).
    pub alerts_refused: u64,
    /// Seconds the subscriptions took to set up.
    pub setup_s: f64,
    /// Seconds from the first alert's due time to the end of collection.
    pub run_s: f64,
    /// Counts per channel.
    pub counts: BTreeMap<Channel, ChannelCounts>,
    /// Delivery latency per channel (µs from the alert's due time).
    pub latency_us: BTreeMap<Channel, Summary>,
    /// Limits and whether they held.
    pub thresholds: Vec<SloResult>,
    /// Whether every identity holds.
    pub reconciled: bool,
    /// `pass`, `slo-breached` or `reconciliation-failed`.
    pub verdict: String,
    /// Setup failures (subscriptions that could not be made), first few.
    pub setup_errors: Vec<String>,
}

/// Options of a run.
#[derive(Debug, Clone, Copy)]
pub struct FanoutOptions {
    /// Print progress.
    pub progress: bool,
}

struct Sub {
    area: usize,
    channel: Channel,
}

/// Runs a fan-out profile against `target`.
pub async fn run(
    p: &AlertsProfile,
    target: &FanoutTarget,
    opts: FanoutOptions,
) -> Result<(AlertsReport, Verdict, String), AlertsError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Received>();
    let setup_started = Instant::now();
    let area_of = |i: usize, n: usize| usize::from((i as f64) >= (n as f64) * p.area_a_share);
    let mut subs: HashMap<String, Sub> = HashMap::new();
    let mut errors = Vec::new();
    let mut keep_citizens = Vec::new();
    let mut keep_xmpp: Vec<Arc<XmppCitizen>> = Vec::new();
    // SIP: a few endpoints, many subscriptions each.
    let mut sip_endpoints = Vec::new();
    if p.sip_subscribers > 0 {
        for e in 0..p.sip_endpoints.min(p.sip_subscribers) {
            let c = load_citizen(&format!("sip-{e}"), p, &tx).await?;
            sip_endpoints.push(c);
        }
        let n = sip_endpoints.len();
        // Subscriptions per (endpoint, area).
        let mut plan: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for i in 0..p.sip_subscribers {
            *plan
                .entry((i % n, area_of(i, p.sip_subscribers)))
                .or_default() += 1;
        }
        for ((e, area), count) in plan {
            let Some(uri) = target.uris[area].get(&Channel::Sip).cloned() else {
                return Err(AlertsError::Profile(format!(
                    "the target has no sip URI for area {}",
                    ['A', 'B'][area]
                )));
            };
            let c = &mut sip_endpoints[e];
            for r in c
                .subscribe_sip_many(&uri, count, Duration::from_secs(30))
                .await?
            {
                match r {
                    Ok((id, _)) => {
                        subs.insert(
                            format!("{}#sip-{id}", c.name()),
                            Sub {
                                area,
                                channel: Channel::Sip,
                            },
                        );
                    }
                    Err(e) => errors.push(format!("SIP subscription on {uri}: {e}")),
                }
            }
        }
    }
    // XMPP: one account and connection each, set up `setup_parallelism` at a time.
    if p.xmpp_subscribers > 0 {
        let Some((server, domain, prefix)) = target.xmpp.clone() else {
            return Err(AlertsError::Profile(
                "XMPP subscribers need an XMPP server".into(),
            ));
        };
        let mut next = 0;
        while next < p.xmpp_subscribers {
            let batch: Vec<usize> =
                (next..(next + p.setup_parallelism).min(p.xmpp_subscribers)).collect();
            next += batch.len();
            let mut set = tokio::task::JoinSet::new();
            for i in batch {
                let area = area_of(i, p.xmpp_subscribers);
                let uri = target.uris[area].get(&Channel::Xmpp).cloned();
                let (domain, prefix, tx) = (domain.clone(), prefix.clone(), tx.clone());
                set.spawn(async move {
                    let Some(uri) = uri else {
                        return Err(format!("no xmpp URI for area {}", ['A', 'B'][area]));
                    };
                    let user = format!("{prefix}{i}");
                    let x = XmppCitizen::connect(
                        server,
                        &format!("{user}@{domain}"),
                        &user,
                        Duration::from_secs(20),
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                    let crate::Target::Xmpp { service, node } =
                        crate::Target::parse(&uri, None).map_err(|e| e.to_string())?
                    else {
                        return Err(format!("{uri} is not an xmpp pubsub URI"));
                    };
                    x.subscribe(&service, &node, &uri, tx).await?;
                    Ok((x, area))
                });
            }
            while let Some(r) = set.join_next().await {
                match r {
                    Ok(Ok((x, area))) => {
                        subs.insert(
                            x.jid().to_owned(),
                            Sub {
                                area,
                                channel: Channel::Xmpp,
                            },
                        );
                        keep_xmpp.push(Arc::new(x));
                    }
                    Ok(Err(e)) => errors.push(e),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            if opts.progress {
                eprint!(
                    "\rsetup: {} XMPP subscribers of {}",
                    keep_xmpp.len(),
                    p.xmpp_subscribers
                );
            }
        }
        if opts.progress {
            eprintln!();
        }
    }
    // Feed readers: one citizen each.
    for i in 0..p.http_subscribers {
        let area = area_of(i, p.http_subscribers);
        let Some(uri) = target.uris[area].get(&Channel::Http).cloned() else {
            return Err(AlertsError::Profile(format!(
                "the target has no http URI for area {}",
                ['A', 'B'][area]
            )));
        };
        let mut c = load_citizen(&format!("feed-{i}"), p, &tx).await?;
        match c.subscribe(&uri, Duration::from_secs(10)).await {
            Ok(_) => {
                subs.insert(
                    format!("feed-{i}#{uri}"),
                    Sub {
                        area,
                        channel: Channel::Http,
                    },
                );
                keep_citizens.push(c);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    let setup_s = setup_started.elapsed().as_secs_f64();
    drop(tx);
    // Anything received before the first alert (nothing should be) is dropped.
    while rx.try_recv().is_ok() {}
    if opts.progress {
        eprintln!(
            "setup: {} subscriptions in {setup_s:.1} s ({} failed)",
            subs.len(),
            errors.len()
        );
    }

    // Publish on the open schedule; collect meanwhile.
    let start = Instant::now() + Duration::from_millis(100);
    let client = HttpGet::new();
    let mut published: HashMap<String, (usize, Alert, Instant)> = HashMap::new();
    let mut refused = 0u64;
    let mut posts = tokio::task::JoinSet::new();
    let mut inbox: Vec<Received> = Vec::new();
    let sent_base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    for k in 0..p.alerts {
        let due = start + Duration::from_millis(p.interval_ms * k as u64);
        loop {
            let now = Instant::now();
            if now >= due {
                break;
            }
            if let Ok(Some(r)) = tokio::time::timeout(due - now, rx.recv()).await {
                inbox.push(r);
            }
        }
        let area = k % 2;
        let alert = fanout_alert(k, area, target.points[area], sent_base)?;
        // Open model: the POST runs on its own, so a slow ingest delays no later alert.
        let (c, url, body) = (
            client.clone(),
            target.ingest_url.clone(),
            alert.to_xml().into_bytes(),
        );
        let budget = Duration::from_millis(p.timeout_ms);
        let id = alert.identifier.clone();
        posts.spawn(async move {
            let r = c
                .post(
                    &url,
                    "application/common-alerting-protocol+xml",
                    body,
                    budget,
                )
                .await;
            (id, matches!(r, Ok(a) if (200..300).contains(&a.status)))
        });
        published.insert(alert.identifier.clone(), (area, alert, due));
        if opts.progress {
            eprint!(
                "\ralerts: {}/{} published, {} alerts received",
                k + 1,
                p.alerts,
                inbox.len()
            );
        }
    }
    // What the ingest refused is expected nowhere.
    while let Some(r) = posts.join_next().await {
        match r {
            Ok((_, true)) => {}
            Ok((id, false)) => {
                published.remove(&id);
                refused += 1;
            }
            Err(_) => refused += 1,
        }
    }
    let end = Instant::now() + Duration::from_millis(p.timeout_ms);
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        match tokio::time::timeout(end - now, rx.recv()).await {
            Ok(Some(r)) => inbox.push(r),
            Ok(None) | Err(_) => break,
        }
    }
    while let Ok(r) = rx.try_recv() {
        inbox.push(r);
    }
    if opts.progress {
        eprintln!();
    }
    let run_s = start.elapsed().as_secs_f64();
    for c in &mut sip_endpoints {
        c.shutdown().await;
    }
    for c in &mut keep_citizens {
        c.shutdown().await;
    }
    drop(keep_xmpp);

    // Account for everything.
    let timeout = Duration::from_millis(p.timeout_ms);
    let mut counts: BTreeMap<Channel, ChannelCounts> = BTreeMap::new();
    let mut hists: BTreeMap<Channel, Histogram<u64>> = BTreeMap::new();
    for s in subs.values() {
        let c = counts.entry(s.channel).or_default();
        c.subscribers += 1;
        c.expected += published
            .values()
            .filter(|(area, _, _)| *area == s.area)
            .count() as u64;
    }
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for r in &inbox {
        let c = counts.entry(r.channel).or_default();
        c.received += 1;
        let Some(sub) = subs.get(&r.subscriber) else {
            c.invalid += 1;
            continue;
        };
        let Ok(a) = &r.alert else {
            c.invalid += 1;
            continue;
        };
        let Some((area, original, due)) = published.get(&a.identifier) else {
            c.invalid += 1;
            continue;
        };
        if *area != sub.area {
            c.wrong_area += 1;
        } else if !a.diff(original).is_empty() {
            c.invalid += 1;
        } else if r.at.saturating_duration_since(*due) > timeout {
            c.late += 1;
        } else if !seen.insert((r.subscriber.clone(), a.identifier.clone())) {
            c.duplicate += 1;
        } else {
            c.delivered += 1;
            let us = r.at.saturating_duration_since(*due).as_micros().max(1) as u64;
            let h = hists.entry(r.channel).or_insert_with(|| {
                Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
            });
            let _ = h.record(us.min(3_600_000_000));
        }
    }
    for c in counts.values_mut() {
        c.lost = c.expected.saturating_sub(c.delivered);
    }
    let reconciled = counts.values().all(|c| {
        c.expected == c.delivered + c.lost
            && c.received == c.delivered + c.duplicate + c.wrong_area + c.late + c.invalid
    });
    let latency_us: BTreeMap<Channel, Summary> =
        hists.iter().map(|(k, h)| (*k, Summary::of(h))).collect();
    let mut thresholds = Vec::new();
    if let Some(limit) = p.thresholds.loss_ratio {
        let (exp, lost) = counts
            .values()
            .fold((0, 0), |(e, l), c| (e + c.expected, l + c.lost));
        let value = (exp > 0).then(|| lost as f64 / exp as f64);
        thresholds.push(SloResult {
            what: "loss ratio (all channels)".into(),
            value,
            limit,
            pass: value.is_some_and(|v| v <= limit),
        });
        let wrong: u64 = counts.values().map(|c| c.wrong_area + c.invalid).sum();
        thresholds.push(SloResult {
            what: "alerts to the wrong area or not intact".into(),
            value: Some(wrong as f64),
            limit: 0.0,
            pass: wrong == 0,
        });
    }
    for ch in counts.keys() {
        let limit = p
            .thresholds
            .p99_ms
            .get(ch.scheme())
            .or_else(|| p.thresholds.p99_ms.get("*"));
        if let Some(&limit) = limit {
            let value = latency_us.get(ch).map(|s| s.p99 as f64 / 1000.0);
            thresholds.push(SloResult {
                what: format!("{ch} delivery p99 (ms)"),
                value,
                limit,
                pass: value.is_some_and(|v| v <= limit),
            });
        }
    }
    let verdict = if !reconciled {
        Verdict::ReconciliationFailed
    } else if thresholds.iter().all(|t| t.pass) && errors.is_empty() {
        Verdict::Pass
    } else {
        Verdict::SloBreached
    };
    if !errors.is_empty() {
        thresholds.push(SloResult {
            what: "subscriptions that could not be made".into(),
            value: Some(errors.len() as f64),
            limit: 0.0,
            pass: false,
        });
    }
    let report = AlertsReport {
        name: p.name.clone(),
        plane: "alerts",
        target: target.name.clone(),
        alerts_published: published.len() as u64,
        alerts_refused: refused,
        setup_s,
        run_s,
        counts,
        latency_us,
        thresholds,
        reconciled,
        verdict: verdict.name().into(),
        setup_errors: errors.into_iter().take(20).collect(),
    };
    let html = render(&report);
    Ok((report, verdict, html))
}

/// A citizen of the load (SIP endpoint or feed reader) delivering into the shared inbox.
async fn load_citizen(
    name: &str,
    p: &AlertsProfile,
    tx: &mpsc::UnboundedSender<Received>,
) -> Result<Citizen, AlertsError> {
    let citizen = Citizen::start(CitizenConfig {
        name: name.to_owned(),
        aor: format!("sip:{name}@lmpe-harness.test"),
        sip_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        sip_proxy: None,
        xmpp: None,
        poll: Duration::from_millis(p.http_poll_ms),
        expires: 3600,
        inbox: Some(tx.clone()),
    })
    .await?;
    // No ladders in a load: the log would hold every NOTIFY of every subscription.
    citizen.set_sip_wire_log(false).await?;
    Ok(citizen)
}

fn fanout_alert(
    k: usize,
    area: usize,
    point: [f64; 2],
    sent_base: i64,
) -> Result<Alert, AlertsError> {
    let d = 0.05;
    let square = Polygon::rectangle(point[0] - d, point[1] - d, point[0] + d, point[1] + d)
        .map_err(|e| AlertsError::Profile(format!("alert area around {point:?}: {e}")))?;
    let letter = ['A', 'B'][area];
    Ok(AlertBuilder::new(
        &format!("lmpe-fanout-{}-{sent_base}-{k}", std::process::id()),
        "originator@lmpe-harness.test",
        CapDateTime::from_unix(sent_base + k as i64),
    )
    .info(Category::Safety, "Load test alert")
    .headline(&format!("Fan-out alert {k} for area {letter}"))
    .polygon(&format!("Area {letter}"), square)
    .build())
}

/// Writes `load.json` and `load.html` into `dir`.
pub fn write_reports(report: &AlertsReport, html: &str, dir: &Path) -> Result<(), AlertsError> {
    let io = |e: std::io::Error| AlertsError::Profile(format!("{}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    let json =
        serde_json::to_string_pretty(report).map_err(|e| AlertsError::Profile(e.to_string()))?;
    std::fs::write(dir.join("load.json"), json).map_err(io)?;
    std::fs::write(dir.join("load.html"), html).map_err(io)?;
    Ok(())
}

fn render(r: &AlertsReport) -> String {
    let mut s = page_head(
        &format!("alert fan-out {}", r.name),
        &format!("Alert fan-out: {}", r.name),
    );
    let _ = write!(
        s,
        "<p>Deployment: {}. {} alerts published ({} refused), subscriptions set up in {:.1} s, run {:.1} s. Verdict: <b>{}</b>, reconciled: {}.</p>",
        esc(&r.target),
        r.alerts_published,
        r.alerts_refused,
        r.setup_s,
        r.run_s,
        esc(&r.verdict),
        if r.reconciled { "yes" } else { "NO" }
    );
    s.push_str("<h2>Deliveries</h2><table><tr><th>channel</th><th>subscribers</th><th>expected</th><th>delivered</th><th>lost</th><th>received</th><th>duplicate</th><th>wrong area</th><th>late</th><th>invalid</th></tr>");
    for (ch, c) in &r.counts {
        let _ = write!(
            s,
            "<tr><td>{ch}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            c.subscribers, c.expected, c.delivered, c.lost, c.received, c.duplicate, c.wrong_area, c.late, c.invalid
        );
    }
    s.push_str("</table><h2>Delivery latency (ms, from the alert's due time)</h2><table><tr><th>channel</th><th>count</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>");
    for (ch, l) in &r.latency_us {
        let ms = |v: u64| v as f64 / 1000.0;
        let _ = write!(
            s,
            "<tr><td>{ch}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td></tr>",
            l.count,
            ms(l.p50),
            ms(l.p90),
            ms(l.p99),
            ms(l.p999),
            ms(l.max)
        );
    }
    s.push_str("</table>");
    checks_table(&mut s, "Thresholds", &r.thresholds, "BROKEN");
    if !r.setup_errors.is_empty() {
        s.push_str("<h2>Setup errors</h2><ul>");
        for e in &r.setup_errors {
            let _ = write!(s, "<li>{}</li>", esc(e));
        }
        s.push_str("</ul>");
    }
    s.push_str("</body></html>\n");
    s
}
