//! Public warnings (draft-rosen-atoca-server-discovery): the harness as the citizen's
//! endpoint discovers alert servers by LoST, subscribes on every URI it gets (SIP CAP event
//! package, XEP-0127 over XMPP publish-subscribe, GeoRSS feed), and as the alert originator
//! publishes CAP 1.2 alerts; each subscriber must receive each alert for its area, intact,
//! and nothing for other areas.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cucumber::{given, then, when};
use lmpe_alerts::http::HttpGet;
use lmpe_alerts::{Citizen, CitizenConfig, Received, Subscribed, Target, XmppSubscriber};
use lmpe_location::lost::{self, LostMessage, MappingBoundary, WarningService};
use lmpe_locsvc::client::LocClient;
use lmpe_locsvc::HttpLog;
use lmpe_net::{spawn_endpoint, SipSocketConfig};
use lmpe_proto::endpoint::TransportKind;
use lmpe_proto::events::{Subscriber, SubscriberConfig, SubscriberEvent, CAP_CONTENT_TYPE};
use lmpe_warning::cap::{Alert, AlertBuilder, CapDateTime, Category, Polygon};

use crate::location::find_service_point;
use crate::warning::WarningNet;
use crate::world::{inconclusive, skip, LmpeWorld};

/// Budget of one HTTP exchange, one subscription.
const BUDGET: Duration = Duration::from_secs(5);
/// Half the side of the square an alert covers around an area's point (degrees).
const ALERT_HALF_SIDE: f64 = 0.05;

/// Warning-scenario state.
#[derive(Default)]
pub(crate) struct WarnState {
    net: Option<WarningNet>,
    client: Option<LocClient>,
    /// The last LoST answer and the point asked about.
    last: Option<(LostMessage, String, [f64; 2])>,
    /// Citizens by area letter.
    citizens: BTreeMap<char, Citizen>,
    /// Subscriptions by area letter.
    subscribed: BTreeMap<char, Vec<Subscribed>>,
    /// Alerts published: (area letter, alert, when).
    published: Vec<(char, Alert, Instant)>,
    /// Alerts received and not yet judged, by area letter.
    inbox: BTreeMap<char, Vec<Received>>,
    /// The last refusal seen by a bare SIP subscriber.
    sip_answer: Option<Result<u16, String>>,
}

impl std::fmt::Debug for WarnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WarnState").field("net", &self.net).finish()
    }
}

impl WarnState {
    /// Ends the scenario: citizens and the deployment stop; SIP messages go to the ladder,
    /// HTTP exchanges to the report.
    pub(crate) async fn finish(
        &mut self,
        wire: &mut Vec<(&'static str, lmpe_proto::roles::WireRecord)>,
        http: &mut Vec<lmpe_locsvc::HttpRecord>,
    ) {
        for (area, mut c) in std::mem::take(&mut self.citizens) {
            let label = if area == 'A' {
                "Citizen A"
            } else {
                "Citizen B"
            };
            wire.extend(c.sip_wire().await.into_iter().map(|r| (label, r)));
            c.shutdown().await;
        }
        if let Some(c) = &self.client {
            http.extend(c.log().take());
        }
        if let Some(mut n) = self.net.take() {
            if let Some(a) = &n.alerts {
                if let Ok(w) = a.notifier().with(|n, _| n.wire().records().to_vec()).await {
                    wire.extend(w.into_iter().map(|r| ("Alert server", r)));
                }
            }
            if let Some(e) = &n.ecrf {
                http.extend(e.log().take());
            }
            n.shutdown().await;
        }
    }
}

fn area_index(area: &str) -> (char, usize) {
    match area {
        "A" => ('A', 0),
        "B" => ('B', 1),
        other => panic!("INCONCLUSIVE: the scenario names area {other:?}; areas are A and B"),
    }
}

fn net(w: &LmpeWorld) -> &WarningNet {
    match &w.warn.net {
        Some(n) => n,
        None => inconclusive!("no warning deployment (the Background step did not run)"),
    }
}

fn client(w: &mut LmpeWorld) -> LocClient {
    w.warn
        .client
        .get_or_insert_with(|| LocClient::new(HttpLog::default(), "citizen -> ECRF"))
        .clone()
}

#[given("a warning distribution deployment")]
async fn deployment(w: &mut LmpeWorld) {
    let target = match &w.run.target {
        Some(t) => match &t.warning {
            Some(wt) => Some(wt.clone()),
            None => skip!(
                "needs a warning deployment: add [warning] (ecrf, ingest, [warning.xmpp]) to the target file"
            ),
        },
        None => None,
    };
    let faults = w.run.faults.clone();
    match WarningNet::start(target.as_ref(), &faults.loc.ecrf, &faults.alerts).await {
        Ok(n) => w.warn.net = Some(n),
        Err(e) => inconclusive!("the warning deployment did not start: {e}"),
    }
}

/// Asks the ECRF; keeps the answer.
async fn ask(w: &mut LmpeWorld, body: String, point: [f64; 2]) -> LostMessage {
    let url = net(w).ecrf_url.clone();
    let c = client(w);
    let r = match c
        .post(&url, lmpe_location::MIME_LOST, body.into_bytes(), BUDGET)
        .await
    {
        Ok(r) => r,
        Err(e) => panic!("RFC 5222 4: the ECRF answers a LoST request; {e}"),
    };
    let msg = match lost::parse(&r.body) {
        Ok(m) => m,
        Err(e) => panic!(
            "RFC 5222 4: the ECRF answers with a LoST document; {e}\n--- answer ---\n{}",
            r.body
        ),
    };
    w.warn.last = Some((msg.clone(), r.body, point));
    msg
}

fn list_body(point: [f64; 2], service: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<listServicesByLocation xmlns=\"urn:ietf:params:xml:ns:lost1\" recursive=\"true\"><location id=\"loc1\" profile=\"geodetic-2d\"><gml:Point xmlns:gml=\"http://www.opengis.net/gml\" srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>{} {}</gml:pos></gml:Point></location><service>{service}</service></listServicesByLocation>\n",
        point[0], point[1]
    )
}

#[when(expr = "the citizen in area {word} lists the services at its location under {string}")]
async fn list_services(w: &mut LmpeWorld, area: String, service: String) {
    let (_, i) = area_index(&area);
    let point = net(w).points[i];
    ask(w, list_body(point, &service), point).await;
}

#[when(expr = "the citizen in area {word} asks the ECRF for {string} with the boundary by value")]
async fn find(w: &mut LmpeWorld, area: String, service: String) {
    let (_, i) = area_index(&area);
    let point = net(w).points[i];
    ask(
        w,
        find_service_point(point[0], point[1], &service, "value"),
        point,
    )
    .await;
}

fn last(w: &LmpeWorld) -> (&LostMessage, &str, [f64; 2]) {
    match &w.warn.last {
        Some((m, body, p)) => (m, body, *p),
        None => inconclusive!("no LoST answer to judge"),
    }
}

#[then("every service listed is a warning service, and a sub-service is among them (draft-rosen-atoca-server-discovery 6.1)")]
async fn listed_are_warning(w: &mut LmpeWorld) {
    let clause = "draft-rosen-atoca-server-discovery 6.1";
    let (m, body, _) = last(w);
    let LostMessage::ListServicesByLocationResponse(r) = m else {
        panic!("RFC 5222 11: listServicesByLocation is answered with listServicesByLocationResponse\n--- answer ---\n{body}")
    };
    let foreign: Vec<&String> = r
        .services
        .iter()
        .filter(|s| WarningService::from_urn(s).is_err())
        .collect();
    if !foreign.is_empty() {
        panic!("{clause}: listing under urn:service:warning gives warning services only; also got {foreign:?}\n--- answer ---\n{body}");
    }
    if !r
        .services
        .iter()
        .any(|s| !matches!(WarningService::from_urn(s), Ok(WarningService::Warning)))
    {
        panic!("{clause}: the warning sub-services offered here are listed; got {:?}\n--- answer ---\n{body}", r.services);
    }
}

fn find_response(w: &LmpeWorld) -> (lost::FindServiceResponse, String, [f64; 2]) {
    let (m, body, p) = last(w);
    match m {
        LostMessage::FindServiceResponse(r) => (r.clone(), body.to_owned(), p),
        _ => panic!("RFC 5222 8: findService for a served warning service is answered with findServiceResponse\n--- answer ---\n{body}"),
    }
}

#[then("every mapping is for a warning service with only sip, xmpp or http URIs (draft-rosen-atoca-server-discovery 3)")]
async fn mappings_schemes(w: &mut LmpeWorld) {
    let (r, body, _) = find_response(w);
    if r.mappings.is_empty() {
        panic!("RFC 5222 8: a findServiceResponse has a mapping; none\n--- answer ---\n{body}");
    }
    if let Err(v) = lost::validate_warning_response(&r) {
        let list: Vec<String> = v.iter().map(ToString::to_string).collect();
        panic!(
            "draft-rosen-atoca-server-discovery 3: {}\n--- answer ---\n{body}",
            list.join("; ")
        );
    }
}

#[then("every mapping's service boundary contains the citizen's location (RFC 5222 8)")]
async fn mappings_boundary(w: &mut LmpeWorld) {
    let (r, body, p) = find_response(w);
    for (i, m) in r.mappings.iter().enumerate() {
        match &m.boundary {
            Some(MappingBoundary::Value(b)) if b.iter().any(|b| b.contains(p[0], p[1])) => {}
            other => panic!("RFC 5222 8: with serviceBoundary=\"value\" mapping {i} carries its boundary, which contains {p:?}; got {other:?}\n--- answer ---\n{body}"),
        }
    }
}

#[then("the ECRF returns a mapping for every organisation that warns there (draft-rosen-atoca-server-discovery 3)")]
async fn several_mappings(w: &mut LmpeWorld) {
    let Some(expected) = net(w).met_mappings else {
        skip!("needs [warning] met_mappings: how many mappings urn:service:warning.met has at point_a")
    };
    let (r, body, _) = find_response(w);
    if r.mappings.len() != expected {
        let sources: Vec<&str> = r.mappings.iter().map(|m| m.source_id.as_str()).collect();
        panic!("draft-rosen-atoca-server-discovery 3: several organisations warn for this place, so the answer has {expected} mappings; it has {} ({sources:?})\n--- answer ---\n{body}", r.mappings.len());
    }
}

/// Starts the citizen of an area (SIP subscriber, XMPP account if there is an XMPP server).
async fn citizen(w: &mut LmpeWorld, area: char, index: usize) -> Result<(), String> {
    if w.warn.citizens.contains_key(&area) {
        return Ok(());
    }
    let n = net(w);
    let xmpp: Option<Arc<dyn XmppSubscriber>> = match &n.xmpp {
        Some(x) => Some(Arc::new(x.citizen(index).await?)),
        None => None,
    };
    let name = format!("citizen-{}", area.to_ascii_lowercase());
    let c = Citizen::start(CitizenConfig {
        aor: format!("sip:{name}@lmpe.test"),
        name,
        sip_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        sip_proxy: n.sip_proxy,
        xmpp,
        poll: Duration::from_millis(100),
        expires: 3600,
        inbox: None,
    })
    .await
    .map_err(|e| e.to_string())?;
    w.warn.citizens.insert(area, c);
    Ok(())
}

#[when(
    regex = r#"^the citizens in areas A and B subscribe on every (sip|xmpp|http|sip, xmpp and http) URI LoST gives them for "([^"]+)"$"#
)]
async fn subscribe_all(w: &mut LmpeWorld, scheme: String, service: String) {
    for (area, index) in [('A', 0), ('B', 1)] {
        let point = net(w).points[index];
        let msg = ask(
            w,
            find_service_point(point[0], point[1], &service, "reference"),
            point,
        )
        .await;
        let LostMessage::FindServiceResponse(r) = msg else {
            panic!("RFC 5222 8: findService for {service} at {point:?} gives a mapping\n--- answer ---\n{}", last(w).1)
        };
        let uris: Vec<String> = r
            .mappings
            .iter()
            .flat_map(|m| m.uris.iter().cloned())
            .filter(|u| {
                let u = u.to_ascii_lowercase();
                scheme
                    .split([',', ' '])
                    .filter(|s| !s.is_empty() && *s != "and")
                    .any(|s| u.starts_with(&format!("{s}:")))
            })
            .collect();
        if uris.is_empty() {
            panic!("draft-rosen-atoca-server-discovery 3: the mappings for {service} at {point:?} offer a {scheme} URI; they offer {:?}", r.mappings.iter().map(|m| &m.uris).collect::<Vec<_>>());
        }
        if let Err(e) = citizen(w, area, index).await {
            inconclusive!("citizen {area} did not start: {e}");
        }
        let mut done = Vec::new();
        for uri in uris {
            if let Err(e) = Target::parse(&uri, net(w).sip_proxy) {
                panic!("draft-rosen-atoca-server-discovery 3: {e}");
            }
            let Some(c) = w.warn.citizens.get_mut(&area) else {
                inconclusive!("citizen {area} is gone");
            };
            match c.subscribe(&uri, BUDGET).await {
                Ok(s) => done.push(s),
                Err(e) => panic!("draft-rosen-atoca-server-discovery 3: the citizen in area {area} can subscribe on {uri}: {e}"),
            }
        }
        w.warn.subscribed.insert(area, done);
    }
}

fn alert_for(area: char, point: [f64; 2], n: usize) -> Alert {
    let sent = CapDateTime::from_unix(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    );
    let square = Polygon::rectangle(
        point[0] - ALERT_HALF_SIDE,
        point[1] - ALERT_HALF_SIDE,
        point[0] + ALERT_HALF_SIDE,
        point[1] + ALERT_HALF_SIDE,
    )
    .unwrap_or_else(|e| inconclusive!("no alert area around {point:?}: {e}"));
    // CAP 1.2 3.2.1: unique for the sender, across runs and scenarios.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    AlertBuilder::new(
        &format!(
            "lmpe-harness-{area}-{n}-{}-{millis}-{seq}",
            std::process::id()
        ),
        "originator@lmpe-harness.test",
        sent,
    )
    .info(Category::Met, "Severe thunderstorm")
    .headline(&format!("Severe thunderstorm warning for area {area}"))
    .description("Hail and gusts up to 100 km/h. Stay indoors.")
    .polygon(&format!("Area {area}"), square)
    .build()
}

#[when(expr = "the originator publishes an alert for area {word}")]
async fn publish(w: &mut LmpeWorld, area: String) {
    let (letter, i) = area_index(&area);
    let point = net(w).points[i];
    let alert = alert_for(letter, point, w.warn.published.len() + 1);
    if let Err(v) = lmpe_warning::cap::validate(alert.to_xml().as_bytes()) {
        inconclusive!("the harness built an invalid CAP alert: {v:?}");
    }
    let url = net(w).ingest_url.clone();
    let at = Instant::now();
    match HttpGet::new()
        .post(
            &url,
            "application/common-alerting-protocol+xml",
            alert.to_xml().into_bytes(),
            BUDGET,
        )
        .await
    {
        Ok(r) if (200..300).contains(&r.status) => {}
        Ok(r) => inconclusive!(
            "the alert ingest {url} refused the alert with {}: {}",
            r.status,
            r.body
        ),
        Err(e) => inconclusive!("the alert ingest {url}: {e}"),
    }
    w.warn.published.push((letter, alert, at));
}

/// Collects what each citizen received until `pred` holds or `wait` has passed.
async fn collect(
    w: &mut LmpeWorld,
    wait: Duration,
    mut done: impl FnMut(&BTreeMap<char, Vec<Received>>) -> bool,
) {
    let deadline = Instant::now() + wait;
    loop {
        for (area, c) in w.warn.citizens.iter_mut() {
            let got = c.drain();
            w.warn.inbox.entry(*area).or_default().extend(got);
        }
        if done(&w.warn.inbox) || Instant::now() >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[then(
    expr = "every subscription of the citizen in area {word} receives the alert intact within {int} ms \\(draft-rosen-atoca-server-discovery 3\\)"
)]
async fn received_intact(w: &mut LmpeWorld, area: String, ms: u64) {
    let clause = "draft-rosen-atoca-server-discovery 3";
    let (letter, _) = area_index(&area);
    let Some((_, alert, at)) = w
        .warn
        .published
        .iter()
        .rev()
        .find(|(a, _, _)| *a == letter)
        .cloned()
    else {
        inconclusive!("no alert was published for area {area}");
    };
    let subs: Vec<String> = w
        .warn
        .subscribed
        .get(&letter)
        .map(|v| v.iter().map(|s| s.uri.clone()).collect())
        .unwrap_or_default();
    if subs.is_empty() {
        inconclusive!("the citizen in area {area} holds no subscription");
    }
    let id = alert.identifier.clone();
    let want = subs.clone();
    collect(w, Duration::from_millis(ms), |inbox| {
        let got = inbox.get(&letter).map(Vec::as_slice).unwrap_or_default();
        want.iter().all(|u| {
            got.iter()
                .any(|r| &r.source == u && r.alert.as_ref().is_ok_and(|a| a.identifier == id))
        })
    })
    .await;
    let got: Vec<Received> = w.warn.inbox.get(&letter).cloned().unwrap_or_default();
    let mut latencies = Vec::new();
    for uri in &subs {
        // Alerts of other runs sharing the deployment are not this scenario's business.
        let mine: Vec<&Received> = got
            .iter()
            .filter(|r| &r.source == uri)
            .filter(|r| r.alert.as_ref().map_or(true, |a| a.identifier == id))
            .collect();
        let Some(r) = mine.first() else {
            panic!("{clause}: the alert published for area {area} reaches the subscription on {uri}; nothing arrived in {ms} ms");
        };
        let channel = r.channel;
        match &r.alert {
            Err(e) => panic!("{clause}: the {channel} subscription on {uri} receives the alert as valid CAP 1.2; {e}\n--- carrier ---\n{}", r.carrier),
            Ok(a) if a.identifier != id => panic!("{clause}: the {channel} subscription on {uri} receives alert {id}; it received {}\n--- carrier ---\n{}", a.identifier, r.carrier),
            Ok(a) => {
                let diff = a.diff(&alert);
                if !diff.is_empty() {
                    panic!("{clause}: the {channel} subscription on {uri} receives the alert intact; it differs: {}\n--- carrier ---\n{}", diff.join("; "), r.carrier);
                }
            }
        }
        if mine.len() > 1 {
            panic!("{clause}: the {channel} subscription on {uri} receives the alert once; it arrived {} times", mine.len());
        }
        latencies.push(format!(
            "{channel} {:.1} ms",
            r.at.saturating_duration_since(at).as_secs_f64() * 1000.0
        ));
    }
    w.notes.push(format!(
        "delivery latency, area {area}: {}",
        latencies.join(", ")
    ));
    if let Some(c) = w.warn.citizens.get(&letter) {
        let v = c.violations();
        if !v.is_empty() {
            panic!(
                "RFC 6665: the alert server's NOTIFYs follow the event framework; {}",
                v.join("; ")
            );
        }
    }
    w.warn.inbox.remove(&letter);
}

#[then(
    expr = "the citizen in area {word} receives no alert within {int} ms \\(draft-rosen-atoca-server-discovery 1\\)"
)]
async fn received_nothing(w: &mut LmpeWorld, area: String, ms: u64) {
    let (letter, _) = area_index(&area);
    collect(w, Duration::from_millis(ms), |_| false).await;
    let ours: Vec<String> = w
        .warn
        .published
        .iter()
        .map(|(_, a, _)| a.identifier.clone())
        .collect();
    let got: Vec<Received> = w
        .warn
        .inbox
        .remove(&letter)
        .unwrap_or_default()
        .into_iter()
        .filter(|r| {
            r.alert
                .as_ref()
                .map_or(true, |a| ours.contains(&a.identifier))
        })
        .collect();
    if let Some(r) = got.first() {
        let id = r
            .alert
            .as_ref()
            .map(|a| a.identifier.clone())
            .unwrap_or_else(|e| e.clone());
        panic!(
            "draft-rosen-atoca-server-discovery 1: alerts go to the servers of the alert's region, so the citizen in area {area} gets none for the other area; its {} subscription on {} received {id}\n--- carrier ---\n{}",
            r.channel, r.source, r.carrier
        );
    }
}

#[when(
    expr = "a subscriber sends a SUBSCRIBE for the event package {string} to the first sip URI LoST gives for {string}"
)]
async fn subscribe_package(w: &mut LmpeWorld, package: String, service: String) {
    let point = net(w).points[0];
    let msg = ask(
        w,
        find_service_point(point[0], point[1], &service, "reference"),
        point,
    )
    .await;
    let LostMessage::FindServiceResponse(r) = msg else {
        inconclusive!("no mapping for {service}")
    };
    let Some(uri) = r
        .mappings
        .iter()
        .flat_map(|m| m.uris.iter())
        .find(|u| u.starts_with("sip:"))
        .cloned()
    else {
        inconclusive!("no sip URI for {service}");
    };
    let dest = match Target::parse(&uri, net(w).sip_proxy) {
        Ok(Target::Sip { dest, .. }) => dest,
        other => inconclusive!("{uri}: {other:?}"),
    };
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let sub = Subscriber::new(SubscriberConfig {
        local: any,
        aor: "sip:probe@lmpe-harness.test".into(),
        event: package,
        accept: CAP_CONTENT_TYPE.into(),
        expires: 600,
        refresh: false,
    });
    let h = match spawn_endpoint(sub, SipSocketConfig::new(any)).await {
        Ok(h) => h,
        Err(e) => inconclusive!("the probe subscriber: {e}"),
    };
    let local = h.local_addr();
    let sent = h
        .with(move |s, now| {
            s.set_local(local);
            s.subscribe(now, &uri, dest, TransportKind::Udp, None)
        })
        .await;
    if !matches!(sent, Ok(Ok(_))) {
        inconclusive!("the probe SUBSCRIBE was not sent: {sent:?}");
    }
    let deadline = Instant::now() + BUDGET;
    let mut answer = Err(format!("no final response in {BUDGET:?}"));
    'wait: while Instant::now() < deadline {
        let events = h
            .with(|s, _| std::iter::from_fn(|| s.poll_event()).collect::<Vec<_>>())
            .await
            .unwrap_or_default();
        for e in events {
            match e {
                SubscriberEvent::Accepted { status, .. }
                | SubscriberEvent::Rejected { status, .. } => {
                    answer = Ok(status);
                    break 'wait;
                }
                SubscriberEvent::Failed { reason, .. } => {
                    answer = Err(reason);
                    break 'wait;
                }
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if let Ok(records) = h.with(|s, _| s.wire().records().to_vec()).await {
        w.wire
            .extend(records.into_iter().map(|r| ("Probe subscriber", r)));
    }
    h.shutdown().await;
    w.warn.sip_answer = Some(answer);
}

#[then(expr = "the alert server refuses it with {int} \\(RFC 6665 8.2.1\\)")]
async fn refused_with(w: &mut LmpeWorld, code: u16) {
    match w.warn.sip_answer.clone() {
        Some(Ok(s)) if s == code => {}
        Some(Ok(s)) => panic!("RFC 6665 8.2.1: a SUBSCRIBE for an event package the notifier does not support is refused with {code} (Bad Event); it was answered {s}"),
        Some(Err(e)) => panic!("RFC 6665 8.2.1: a SUBSCRIBE for an unsupported event package gets {code}; {e}"),
        None => inconclusive!("no SUBSCRIBE was sent"),
    }
}
