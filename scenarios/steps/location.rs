//! Location services: the harness as HELD/LoST client of a LIS or ECRF under test (RFC 5985,
//! 6155, 6753, 7840; RFC 5222), and as the ECRF (and PSAPs A and B) behind an ESRP under test
//! whose routing decisions are observed on the SIP side (RFC 6881 Section 8, TS 103 698
//! 6.1.2.9). Every answer is parsed with lmpe-location (namespaces, shapes) and each failure
//! names its clause.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cucumber::{given, then, when};
use lmpe_location::held::{self, HeldMessage, LocationResponse};
use lmpe_location::lost::{
    self, LocationValidation, LostMessage, Mapping, MappingBoundary, ServiceBoundaryMode,
};
use lmpe_location::pidf::{self, CivicAddress, LocationObject, NS_CIVIC_ADDR};
use lmpe_location::xml::Element;
use lmpe_location::{LocationError, QualifiedName, MIME_HELD, MIME_LOST};
use lmpe_locsvc::client::{ClientResponse, LocClient};
use lmpe_locsvc::http::HttpServer;
use lmpe_locsvc::{HttpLog, SAMPLE_FOREST_CHILD_SOURCE};
use lmpe_net::{spawn_endpoint, EndpointHandle, SipSocketConfig};
use lmpe_proto::endpoint::TransportKind;
use lmpe_proto::roles::{PsapConfig, PsapRole, RoleEvent};
use lmpe_proto::session::{ChatParams, SessionEvent};
use lmpe_proto::ua::UaConfig;

use crate::location::{
    find_service, find_service_point, find_service_unknown_profile, held_device_msisdn,
    held_flow_from, held_location_response, held_request, held_request_for, objects_of,
    start_services, LocFaults, LocServers,
};
use crate::target::LisTarget;
use crate::world::{inconclusive, skip, LmpeWorld, Sent};

/// PSAP URIs of the harness's own ECRF/LIS when it is the IUT (nothing listens there).
const IUT_PSAP_A: &str = "sip:psap-a@127.0.0.1:5070";
const IUT_PSAP_B: &str = "sip:psap-b@127.0.0.1:5071";
/// The sample data's area A point and a point no area serves.
const POINT_A: [f64; 2] = [48.2, 16.2];
const OUTSIDE: [f64; 2] = [47.0, 10.0];
/// A point of area C, which the embedded ECRF leaves to the second server of its forest.
const FOREST_POINT: [f64; 2] = [48.2, 17.0];
/// The sample data's area A address (as the sample LIS has it for `sip:app-civic@127.0.0.1`)
/// and a city no civic key of the sample data knows under AT/Wien.
const CIVIC_A: &[(&str, &str)] = &[
    ("country", "AT"),
    ("A1", "Wien"),
    ("A3", "Wien"),
    ("RD", "Karlsplatz"),
    ("HNO", "13"),
    ("PC", "1040"),
];
const WRONG_A3: &str = "Nirgendwo";
/// The sample LIS's devices.
const KNOWN_DEVICE: &str = "sip:app-a@127.0.0.1";
const UNKNOWN_DEVICE: &str = "sip:nobody@192.0.2.1";
const CIVIC_DEVICE: &str = "sip:app-civic@127.0.0.1";
/// The sample LIS's app-b by its MSISDN (RFC 6155 3.7) and by its IP address (as the source
/// of a flow, RFC 6915).
const KNOWN_MSISDN: &str = "436641000002";
const FLOW_IP: &str = "192.0.2.2";
/// A service the sample ECRF does not serve.
const UNSERVED_SERVICE: &str = "urn:service:counseling.children";
/// Budget of one HTTP exchange with the IUT.
const HTTP_BUDGET: Duration = Duration::from_secs(5);

/// Location-related scenario state.
#[derive(Default)]
pub(crate) struct LocState {
    /// An ECRF/LIS the harness runs: the IUT stand-in (embedded runs) or the harness-played
    /// ECRF behind a real ESRP.
    server: Option<LocServers>,
    /// The harness's HELD/LoST client.
    client: Option<LocClient>,
    /// LIS and ECRF under test.
    lis_url: Option<String>,
    ecrf_url: Option<String>,
    /// The last answer (or why there was none).
    last: Option<Result<ClientResponse, String>>,
    /// The point the last findService asked about.
    asked_point: Option<[f64; 2]>,
    /// The civic elements the last validateLocation findService sent (qualified names), and
    /// the one it made wrong on purpose.
    validated: Vec<QualifiedName>,
    wrong_element: Option<(QualifiedName, String)>,
    /// The harness's PSAP B (ESRP scenarios).
    psap_b: Option<EndpointHandle<PsapRole>>,
    /// Where the APP says it is (default: the world's).
    pub(crate) app_location: Option<(f64, f64)>,
}

impl LocState {
    /// Every HTTP message the harness's client and its own servers saw, for the ladder.
    pub(crate) fn take_http(&mut self) -> Vec<lmpe_locsvc::HttpRecord> {
        let mut v = Vec::new();
        if let Some(c) = &self.client {
            v.extend(c.log().take());
        }
        if let Some(s) = &self.server {
            v.extend(s.main.log().take());
            v.extend(s.child.log().take());
        }
        v
    }

    /// Stops PSAP B and the servers; returns PSAP B's wire records.
    pub(crate) async fn stop(&mut self) -> Vec<lmpe_proto::roles::WireRecord> {
        let mut wire = Vec::new();
        if let Some(p) = self.psap_b.take() {
            if let Ok(w) = p.with(|p, _| p.take_wire()).await {
                wire = w;
            }
            p.shutdown().await;
        }
        // Dropped, not shut down gracefully: a deliberately slow answer still in flight must not
        // hold the scenario's end.
        drop(self.server.take());
        wire
    }
}

impl std::fmt::Debug for LocState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocState")
            .field("lis_url", &self.lis_url)
            .field("ecrf_url", &self.ecrf_url)
            .finish()
    }
}

/// Maps an lmpe-locsvc record into the report's HTTP record.
pub(crate) fn to_report(r: lmpe_locsvc::HttpRecord) -> lmpe_transfer::http::HttpRecord {
    lmpe_transfer::http::HttpRecord {
        at: r.at,
        src: Some(r.src),
        dst: Some(r.dst),
        start_line: r.start_line,
        headers: r.headers,
        body: r.body.into_bytes(),
        note: r.note,
    }
}

fn client(w: &mut LmpeWorld) -> LocClient {
    w.loc
        .client
        .get_or_insert_with(|| LocClient::new(HttpLog::default(), "harness"))
        .clone()
}

/// The harness's own ECRF+LIS as the IUT stand-in (embedded runs).
async fn own_services(w: &mut LmpeWorld) -> String {
    if w.loc.server.is_none() {
        let faults = w.run.faults.loc.clone();
        match start_services(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            SocketAddr::from(([127, 0, 0, 1], 0)),
            IUT_PSAP_A,
            IUT_PSAP_B,
            &faults,
        )
        .await
        {
            Ok(s) => w.loc.server = Some(s),
            Err(e) => inconclusive!("the embedded ECRF/LIS did not start: {e}"),
        }
    }
    w.loc
        .server
        .as_ref()
        .map(|s| s.main.url(""))
        .unwrap_or_default()
}

#[given("a LIS under test")]
async fn lis_under_test(w: &mut LmpeWorld) {
    let url = match w.run.target.clone() {
        Some(t) => match t.lis {
            Some(l) => l.url,
            None => {
                skip!("needs a LIS: add [lis] url = \"http://IP:port/held\" to the target file")
            }
        },
        None => format!("{}/held", own_services(w).await),
    };
    w.loc.lis_url = Some(url);
}

#[given("an ECRF under test")]
async fn ecrf_under_test(w: &mut LmpeWorld) {
    let url = match w.run.target.clone() {
        Some(t) => match t.ecrf.and_then(|e| e.url) {
            Some(u) => u,
            None => {
                skip!("needs an ECRF: add [ecrf] url = \"http://IP:port/lost\" to the target file")
            }
        },
        None => format!("{}/lost", own_services(w).await),
    };
    w.loc.ecrf_url = Some(url);
}

fn known_device(w: &LmpeWorld) -> String {
    w.run
        .target
        .as_ref()
        .and_then(|t| t.lis.as_ref())
        .and_then(|l| l.device.clone())
        .unwrap_or_else(|| KNOWN_DEVICE.into())
}

fn civic_device(w: &LmpeWorld) -> String {
    w.run
        .target
        .as_ref()
        .and_then(|t| t.lis.as_ref())
        .and_then(|l| l.civic_device.clone())
        .unwrap_or_else(|| CIVIC_DEVICE.into())
}

fn unknown_device(w: &LmpeWorld) -> String {
    w.run
        .target
        .as_ref()
        .and_then(|t| t.lis.as_ref())
        .and_then(|l| l.unknown_device.clone())
        .unwrap_or_else(|| UNKNOWN_DEVICE.into())
}

/// A `[lis]` key of a real LIS (skipped with `why` when absent), or `default` for the
/// embedded LIS.
fn lis_key(
    w: &LmpeWorld,
    key: fn(&LisTarget) -> Option<String>,
    default: &str,
    why: &str,
) -> String {
    match &w.run.target {
        None => default.to_owned(),
        Some(t) => match t.lis.as_ref().and_then(key) {
            Some(v) => v,
            None => skip!("{why}"),
        },
    }
}

fn unserved_service(w: &LmpeWorld) -> String {
    w.run
        .target
        .as_ref()
        .and_then(|t| t.ecrf.as_ref())
        .and_then(|e| e.unserved_service.clone())
        .unwrap_or_else(|| UNSERVED_SERVICE.into())
}

fn mapped_point(w: &LmpeWorld) -> [f64; 2] {
    w.run
        .target
        .as_ref()
        .and_then(|t| t.ecrf.as_ref())
        .and_then(|e| e.point)
        .unwrap_or(POINT_A)
}

fn outside_point(w: &LmpeWorld) -> [f64; 2] {
    w.run
        .target
        .as_ref()
        .and_then(|t| t.ecrf.as_ref())
        .and_then(|e| e.outside)
        .unwrap_or(OUTSIDE)
}

/// The URI the ECRF should map the point to, when known.
fn expected_uri(w: &LmpeWorld) -> Option<String> {
    match &w.run.target {
        Some(t) => t.ecrf.as_ref().and_then(|e| e.expect_uri.clone()),
        None => Some(IUT_PSAP_A.into()),
    }
}

async fn post(w: &mut LmpeWorld, url: String, content_type: &str, body: Vec<u8>) {
    let c = client(w);
    let r = c
        .post(&url, content_type, body, HTTP_BUDGET)
        .await
        .map_err(|e| e.to_string());
    w.loc.last = Some(r);
}

async fn post_held(w: &mut LmpeWorld, body: String) {
    let Some(url) = w.loc.lis_url.clone() else {
        inconclusive!("no LIS under test (missing `Given a LIS under test`)")
    };
    post(w, url, MIME_HELD, body.into_bytes()).await;
}

async fn post_lost(w: &mut LmpeWorld, body: String) {
    let Some(url) = w.loc.ecrf_url.clone() else {
        inconclusive!("no ECRF under test (missing `Given an ECRF under test`)")
    };
    post(w, url, MIME_LOST, body.into_bytes()).await;
}

// ---- HELD (the LIS is the IUT) ------------------------------------------------------------

#[when(expr = "the harness requests {string} location for the known device")]
async fn held_any(w: &mut LmpeWorld, kinds: String) {
    let d = known_device(w);
    post_held(
        w,
        held_request(&kinds, false, Some("emergencyRouting"), Some(&d), None),
    )
    .await;
}

#[when(expr = "the harness requests exactly {string} location for the known device")]
async fn held_exact(w: &mut LmpeWorld, kinds: String) {
    let d = known_device(w);
    post_held(w, held_request(&kinds, true, None, Some(&d), None)).await;
}

#[when(expr = "the harness requests exactly {string} location for the civic device")]
async fn held_exact_civic(w: &mut LmpeWorld, kinds: String) {
    let d = civic_device(w);
    post_held(w, held_request(&kinds, true, None, Some(&d), None)).await;
}

#[when(expr = "the harness requests {string} location for an unknown device")]
async fn held_unknown(w: &mut LmpeWorld, kinds: String) {
    let d = unknown_device(w);
    post_held(w, held_request(&kinds, false, None, Some(&d), None)).await;
}

#[when(expr = "the harness requests {string} location by the MSISDN of a device the LIS knows")]
async fn held_by_msisdn(w: &mut LmpeWorld, kinds: String) {
    let msisdn = lis_key(
        w,
        |l| l.msisdn.clone(),
        KNOWN_MSISDN,
        "needs the MSISDN of a device the LIS locates: add [lis] msisdn = \"<6-15 digits>\" to the target file",
    );
    if !(6..=15).contains(&msisdn.len()) || !msisdn.bytes().all(|b| b.is_ascii_digit()) {
        inconclusive!("[lis] msisdn {msisdn:?} is not 6 to 15 digits (RFC 6155 3.7)")
    }
    post_held(w, held_request_for(&kinds, &held_device_msisdn(&msisdn))).await;
}

#[when(
    expr = "the harness requests {string} location by the flow identity of a device the LIS knows, the device being the flow's source"
)]
async fn held_by_flow(w: &mut LmpeWorld, kinds: String) {
    let ip = lis_key(
        w,
        |l| l.flow_ip.clone(),
        FLOW_IP,
        "needs an IP address the LIS locates as a flow's source: add [lis] flow_ip = \"<address>\" to the target file",
    );
    let Ok(ip) = ip.trim().parse::<std::net::IpAddr>() else {
        inconclusive!("[lis] flow_ip {ip:?} is not an IP address (RFC 6915 3)")
    };
    post_held(w, held_request_for(&kinds, &held_flow_from(ip))).await;
}

#[when(
    expr = "the harness requests exactly {string} location for a device the LIS has no civic location for"
)]
async fn held_exact_geodetic_only(w: &mut LmpeWorld, kinds: String) {
    let d = lis_key(
        w,
        |l| l.geodetic_only_device.clone(),
        KNOWN_DEVICE,
        "needs a device the LIS locates without a civic address: add [lis] geodetic_only_device = \"<RFC 6155 uri>\" to the target file",
    );
    post_held(w, held_request(&kinds, true, None, Some(&d), None)).await;
}

#[when("the harness sends the LIS a HELD locationResponse instead of a request")]
async fn held_not_a_request(w: &mut LmpeWorld) {
    post_held(w, held_location_response()).await;
}

#[when(expr = "the harness requests routing information for {string} for the known device")]
async fn held_routing(w: &mut LmpeWorld, service: String) {
    let d = known_device(w);
    post_held(
        w,
        held_request(
            "geodetic locationURI",
            false,
            Some("emergencyRouting"),
            Some(&d),
            Some(&service),
        ),
    )
    .await;
}

#[when("the harness dereferences the location URI")]
async fn held_dereference(w: &mut LmpeWorld) {
    let lr = location_response(w, "RFC 6753 4");
    let Some(uri) = lr
        .location_uri_set
        .and_then(|s| s.uris.into_iter().find(|u| u.starts_with("http")))
    else {
        inconclusive!("the LIS gave no HTTP location URI to dereference")
    };
    post(
        w,
        uri,
        MIME_HELD,
        held_request("any", false, Some("emergencyRouting"), None, None).into_bytes(),
    )
    .await;
}

/// Deliberately broken request bodies.
fn broken_body(kind: &str, valid: &str) -> Vec<u8> {
    match kind {
        "not XML" => b"this is not XML at all {\"json\": true}".to_vec(),
        "a truncated request" => valid.as_bytes()[..valid.len() / 2].to_vec(),
        "binary garbage" => (0..=255u8).cycle().take(4096).collect(),
        "an oversized request" => {
            // 1.5 MB: larger than lmpe-location's default limit (1 MiB) and most servers'.
            let pad = "<!-- padding -->".repeat(1_500_000 / 16);
            valid.replacen("?>", &format!("?>{pad}"), 1).into_bytes()
        }
        "a deeply nested request" => {
            let open = "<x>".repeat(10_000);
            let close = "</x>".repeat(10_000);
            valid
                .replacen("</", &format!("{open}{close}</"), 1)
                .into_bytes()
        }
        other => inconclusive!("unknown broken request kind {other:?}"),
    }
}

#[when(expr = "the harness sends the LIS {string}")]
async fn held_broken(w: &mut LmpeWorld, kind: String) {
    let d = known_device(w);
    let valid = held_request("any", false, None, Some(&d), None);
    let Some(url) = w.loc.lis_url.clone() else {
        inconclusive!("no LIS under test")
    };
    post(w, url, MIME_HELD, broken_body(&kind, &valid)).await;
}

/// The last answer, or a failure naming `clause`.
fn answer(w: &LmpeWorld, clause: &str) -> ClientResponse {
    match &w.loc.last {
        Some(Ok(r)) => r.clone(),
        Some(Err(e)) => panic!("{clause}: the server answers; no answer: {e}"),
        None => inconclusive!("no request was sent"),
    }
}

/// The last answer as HELD (HTTP 200, application/held+xml, well-formed in the HELD
/// namespace).
fn held_answer(w: &LmpeWorld, clause: &str) -> HeldMessage {
    let r = answer(w, clause);
    let ct = r.content_type.clone().unwrap_or_default();
    if !ct.to_ascii_lowercase().starts_with(MIME_HELD) {
        panic!(
            "{clause}: HELD answers are {MIME_HELD}; got HTTP {} with Content-Type {ct:?}\n--- answer ---\n{}",
            r.status, r.body
        )
    }
    match held::parse(&r.body) {
        Ok(m) => m,
        Err(e) => panic!(
            "{clause}: the answer is a valid HELD document; {e}\n--- answer ---\n{}",
            r.body
        ),
    }
}

fn location_response(w: &LmpeWorld, clause: &str) -> LocationResponse {
    match held_answer(w, clause) {
        HeldMessage::LocationResponse(lr) => lr,
        other => panic!(
            "{clause}: the LIS answers with a locationResponse; got {other:?}\n--- answer ---\n{}",
            answer(w, clause).body
        ),
    }
}

#[then(regex = r"^the LIS answers with a PIDF-LO holding a location \((RFC [^)]+)\)$")]
async fn held_pidf(w: &mut LmpeWorld, clause: String) {
    let clause = clause.as_str();
    let lr = location_response(w, clause);
    let Some(p) = lr.presence else {
        panic!(
            "{clause}: the locationResponse carries a PIDF-LO presence; none\n--- answer ---\n{}",
            answer(w, clause).body
        )
    };
    if objects_of(&p).is_empty() {
        panic!("{clause}: the PIDF-LO holds a location; it holds none");
    }
}

#[then(expr = "the PIDF-LO holds only {string} locations \\(RFC 5985 6.2.1 exact\\)")]
async fn held_only(w: &mut LmpeWorld, kind: String) {
    let clause = "RFC 5985 6.2.1";
    let lr = location_response(w, clause);
    let objects = lr.presence.as_ref().map(objects_of).unwrap_or_default();
    if objects.is_empty() {
        panic!("{clause}: exact {kind} asks for a {kind} location; the answer has none");
    }
    let wrong: Vec<&LocationObject> = objects
        .iter()
        .filter(|o| {
            !matches!(
                (kind.as_str(), o),
                ("geodetic", LocationObject::Geodetic { .. }) | ("civic", LocationObject::Civic(_))
            )
        })
        .collect();
    if !wrong.is_empty() {
        panic!(
            "{clause}: with exact=\"true\" the LIS returns only the requested type {kind}; it also returned {wrong:?}"
        );
    }
}

#[then("the LIS answers with a location URI that dereferences to a PIDF-LO (RFC 6753 4)")]
async fn held_uri_then_deref(w: &mut LmpeWorld) {
    let clause = "RFC 6753 4";
    let lr = location_response(w, "RFC 5985 6.5");
    let Some(set) = lr.location_uri_set else {
        panic!(
            "RFC 5985 6.5: a locationURI request is answered with a locationUriSet; none\n--- answer ---\n{}",
            answer(w, clause).body
        )
    };
    for u in &set.uris {
        if let Err(issue) = held::check_location_uri(u) {
            panic!("RFC 5985 6.5.1: location URI {u:?} is malformed: {issue:?}");
        }
    }
    held_dereference(w).await;
    let lr = location_response(w, clause);
    if lr
        .presence
        .as_ref()
        .map(objects_of)
        .unwrap_or_default()
        .is_empty()
    {
        panic!(
            "{clause}: dereferencing the location URI gives a PIDF-LO with a location; it did not\n--- answer ---\n{}",
            answer(w, clause).body
        );
    }
}

#[then(expr = "the LIS answers with routing information for {string} \\(RFC 7840 4\\)")]
async fn held_routing_answer(w: &mut LmpeWorld, service: String) {
    let clause = "RFC 7840 4";
    let lr = location_response(w, clause);
    let Some(ri) = lr.routing_information else {
        panic!(
            "{clause}: a LIS asked for routing information includes a routingInformation element; none\n--- answer ---\n{}",
            answer(w, clause).body
        )
    };
    let ok = ri.services.iter().any(|s| {
        (service.starts_with(&s.service_uri) || s.default_route)
            && s.dests.iter().any(|d| d.starts_with("sip"))
    });
    if !ok {
        panic!("{clause}: routingInformation names a SIP destination for {service}; got {ri:?}");
    }
}

#[then(expr = "the LIS answers with one of the HELD errors {string} \\(RFC 5985 6.3\\)")]
async fn held_error(w: &mut LmpeWorld, codes: String) {
    let clause = "RFC 5985 6.3";
    match held_answer(w, clause) {
        HeldMessage::Error(e) if codes.split_whitespace().any(|c| c == e.code.as_str()) => {}
        other => panic!(
            "{clause}: the LIS answers with a HELD error ({codes}); got {other:?}\n--- answer ---\n{}",
            answer(w, clause).body
        ),
    }
}

#[then(regex = r#"^the LIS answers with the HELD error "(\w+)" \((RFC [^)]+)\)$"#)]
async fn held_error_exactly(w: &mut LmpeWorld, code: String, clause: String) {
    let clause = clause.as_str();
    match held_answer(w, clause) {
        HeldMessage::Error(e) if e.code.as_str() == code => {}
        HeldMessage::Error(e) => panic!(
            "{clause}: the LIS answers with the HELD error code {code}; it answered {}\n--- answer ---\n{}",
            e.code.as_str(),
            answer(w, clause).body
        ),
        other => panic!(
            "{clause}: the LIS answers with the HELD error {code}, not a {}\n--- answer ---\n{}",
            match other {
                HeldMessage::LocationResponse(_) => "locationResponse",
                _ => "HELD message of another kind",
            },
            answer(w, clause).body
        ),
    }
}

#[then(
    expr = "the LIS rejects it with a HELD error or an HTTP 4xx within {int} ms \\(RFC 5985 6.3\\)"
)]
async fn held_rejects(w: &mut LmpeWorld, ms: u64) {
    let r = answer(w, "RFC 5985 6.3");
    let parsed = held::parse(&r.body)
        .map(|m| (matches!(m, HeldMessage::Error(_)), format!("{m:?}")))
        .map_err(|e| e.to_string());
    rejected_promptly(
        &r,
        "RFC 5985 6.3",
        "LIS",
        "a HELD error",
        "HELD",
        ms,
        parsed,
    );
}

/// Checks that a broken request was refused within `ms`: by an HTTP 4xx, or by a 200 carrying
/// the protocol's error message (`parsed`: whether the body is that error, and the message).
fn rejected_promptly(
    r: &ClientResponse,
    clause: &str,
    who: &str,
    error: &str,
    protocol: &str,
    ms: u64,
    parsed: Result<(bool, String), String>,
) {
    if r.elapsed > Duration::from_millis(ms) {
        panic!(
            "{clause}: the {who} answers a broken request promptly; it took {:?}",
            r.elapsed
        );
    }
    if (400..500).contains(&r.status) {
        return;
    }
    match parsed {
        Ok((true, _)) if r.status == 200 => {}
        Ok((_, m)) => panic!(
            "{clause}: a broken request is answered with {error}; got HTTP {} {m}",
            r.status
        ),
        Err(e) => panic!(
            "{clause}: a broken request is answered with {error} (or 4xx); got HTTP {} that is not {protocol} ({e})\n--- answer ---\n{}",
            r.status,
            r.body.chars().take(400).collect::<String>()
        ),
    }
}

#[then("the LIS still answers a valid request")]
async fn lis_still_answers(w: &mut LmpeWorld) {
    held_any(w, "any".into()).await;
    let r = answer(w, "RFC 5985 5.2 (after a broken request)");
    if !matches!(held::parse(&r.body), Ok(HeldMessage::LocationResponse(_))) {
        panic!(
            "RFC 5985 5.2: after a broken request the LIS still serves valid requests; got HTTP {}\n{}",
            r.status, r.body
        );
    }
}

// ---- LoST (the ECRF is the IUT) -----------------------------------------------------------

#[when(expr = "the harness asks the ECRF for {string} at the mapped point")]
async fn lost_find(w: &mut LmpeWorld, service: String) {
    let p = mapped_point(w);
    w.loc.asked_point = Some(p);
    post_lost(w, find_service_point(p[0], p[1], &service, "reference")).await;
}

#[when(
    expr = "the harness asks the ECRF for {string} at the mapped point with the boundary by value"
)]
async fn lost_find_value(w: &mut LmpeWorld, service: String) {
    let p = mapped_point(w);
    w.loc.asked_point = Some(p);
    post_lost(w, find_service_point(p[0], p[1], &service, "value")).await;
}

#[when("the harness asks the ECRF for a service it does not serve at the mapped point")]
async fn lost_unserved(w: &mut LmpeWorld) {
    let p = mapped_point(w);
    let service = unserved_service(w);
    post_lost(w, find_service_point(p[0], p[1], &service, "reference")).await;
}

#[when(expr = "the harness asks the ECRF for {string} at a latitude of {float} degrees")]
async fn lost_bad_latitude(w: &mut LmpeWorld, service: String, lat: f64) {
    let p = mapped_point(w);
    post_lost(w, find_service_point(lat, p[1], &service, "reference")).await;
}

#[when(expr = "the harness asks the ECRF for {string} at a location in a profile it does not know")]
async fn lost_unknown_profile(w: &mut LmpeWorld, service: String) {
    post_lost(w, find_service_unknown_profile(&service)).await;
}

#[when(expr = "the harness asks the ECRF for {string} outside every service area")]
async fn lost_outside(w: &mut LmpeWorld, service: String) {
    let p = outside_point(w);
    post_lost(w, find_service_point(p[0], p[1], &service, "reference")).await;
}

#[when(expr = "the harness asks the ECRF for {string} at the civic address {string} {string}")]
async fn lost_civic(w: &mut LmpeWorld, service: String, country: String, a1: String) {
    let body = format!(
        "<?xml version=\"1.0\"?>\n<findService xmlns=\"urn:ietf:params:xml:ns:lost1\" serviceBoundary=\"reference\"><location id=\"loc1\" profile=\"civic\"><ca:civicAddress xmlns:ca=\"urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr\" xml:lang=\"de\"><ca:country>{country}</ca:country><ca:A1>{a1}</ca:A1></ca:civicAddress></location><service>{service}</service></findService>\n"
    );
    w.loc.asked_point = None;
    post_lost(w, body).await;
}

#[when("the harness asks the ECRF for the service boundary of the mapping")]
async fn lost_boundary(w: &mut LmpeWorld) {
    let m = mapping(w, "RFC 5222 9");
    let Some(MappingBoundary::Reference(r)) = m.boundary else {
        inconclusive!("the mapping has no serviceBoundaryReference to ask for")
    };
    let body = format!(
        "<?xml version=\"1.0\"?>\n<getServiceBoundary xmlns=\"urn:ietf:params:xml:ns:lost1\" key=\"{}\"/>\n",
        r.key
    );
    post_lost(w, body).await;
}

#[when("the harness asks the ECRF to list its services")]
async fn lost_list(w: &mut LmpeWorld) {
    post_lost(
        w,
        "<?xml version=\"1.0\"?>\n<listServices xmlns=\"urn:ietf:params:xml:ns:lost1\"/>\n".into(),
    )
    .await;
}

#[when("the harness asks the ECRF to list the services at the mapped point")]
async fn lost_list_by_location(w: &mut LmpeWorld) {
    let p = mapped_point(w);
    let body = format!(
        "<?xml version=\"1.0\"?>\n<listServicesByLocation xmlns=\"urn:ietf:params:xml:ns:lost1\"><location id=\"loc1\" profile=\"geodetic-2d\"><gml:Point xmlns:gml=\"http://www.opengis.net/gml\" srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>{} {}</gml:pos></gml:Point></location></listServicesByLocation>\n",
        p[0], p[1]
    );
    post_lost(w, body).await;
}

#[when(expr = "the harness sends the ECRF {string}")]
async fn lost_broken(w: &mut LmpeWorld, kind: String) {
    let p = mapped_point(w);
    let valid = find_service_point(p[0], p[1], "urn:service:sos", "reference");
    let Some(url) = w.loc.ecrf_url.clone() else {
        inconclusive!("no ECRF under test")
    };
    post(w, url, MIME_LOST, broken_body(&kind, &valid)).await;
}

/// The point the ECRF under test leaves to another LoST server, and that server's name:
/// `[ecrf] forest_point` / `forest_server`, or area C of the embedded forest.
fn forest(w: &LmpeWorld) -> ([f64; 2], String) {
    match &w.run.target {
        None => (FOREST_POINT, SAMPLE_FOREST_CHILD_SOURCE.to_string()),
        Some(t) => {
            let e = t.ecrf.as_ref();
            match (
                e.and_then(|e| e.forest_point),
                e.and_then(|e| e.forest_server.clone()),
            ) {
                (Some(p), Some(n)) => (p, n),
                _ => skip!(
                    "needs a location the ECRF leaves to another LoST server: add [ecrf] forest_point = [lat, lon] and forest_server = \"<its application unique string>\" to the target file"
                ),
            }
        }
    }
}

/// A findService for a WGS 84 point with `recursive` and an optional `<path>` of `vias`.
fn find_service_forest(p: [f64; 2], service: &str, recursive: bool, vias: &[String]) -> String {
    let path = if vias.is_empty() {
        String::new()
    } else {
        let v: String = vias
            .iter()
            .map(|s| format!("<via source=\"{s}\"/>"))
            .collect();
        format!("<path>{v}</path>")
    };
    format!(
        "<?xml version=\"1.0\"?>\n<findService xmlns=\"urn:ietf:params:xml:ns:lost1\" serviceBoundary=\"reference\" recursive=\"{recursive}\"><location id=\"loc1\" profile=\"geodetic-2d\"><gml:Point xmlns:gml=\"{}\" srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>{} {}</gml:pos></gml:Point></location><service>{service}</service>{path}</findService>\n",
        crate::location::NS_GML,
        p[0],
        p[1]
    )
}

#[when(
    expr = "the harness asks the ECRF {word} for {string} at a point another LoST server serves"
)]
async fn lost_forest(w: &mut LmpeWorld, mode: String, service: String) {
    let (p, _) = forest(w);
    let recursive = match mode.as_str() {
        "recursively" => true,
        "iteratively" => false,
        other => inconclusive!("\"{other}\": say recursively or iteratively"),
    };
    w.loc.asked_point = Some(p);
    post_lost(w, find_service_forest(p, &service, recursive, &[])).await;
}

#[when(
    expr = "the harness asks the ECRF recursively for {string} at a point another LoST server serves, with a path that already names that server"
)]
async fn lost_forest_loop(w: &mut LmpeWorld, service: String) {
    let (p, server) = forest(w);
    w.loc.asked_point = Some(p);
    post_lost(w, find_service_forest(p, &service, true, &[server])).await;
}

#[then(
    expr = "the ECRF answers with that server's mapping, its path naming the ECRF and then that server \\(RFC 5222 6\\)"
)]
async fn lost_recursed(w: &mut LmpeWorld) {
    let clause = "RFC 5222 6";
    let (_, server) = forest(w);
    match lost_answer(w, clause) {
        LostMessage::FindServiceResponse(f) => {
            let vias = &f.path.vias;
            let at = vias.iter().position(|v| v.eq_ignore_ascii_case(&server));
            let ok = at.is_some_and(|i| i >= 1) && !f.mappings.is_empty();
            if !ok {
                panic!(
                    "{clause}: every server of a recursive query is in the <path> of the answer, the first server to receive it first; the answer for a location {server} serves has path {vias:?} (expected the ECRF's own <via> and then {server:?}) and {} mapping(s)",
                    f.mappings.len()
                );
            }
        }
        // RFC 5222 8.3.3: "a server MAY always answer a query by providing a LoST application
        // unique string": legal, but the recursion itself is then untested.
        LostMessage::Redirect(r) if r.target.eq_ignore_ascii_case(&server) => {
            w.notes.push(format!(
                "RFC 5222 8.3.3: the ECRF answered the recursive query with a redirect to {} (allowed: a server may always answer by indirection); its recursion was not exercised",
                r.target
            ));
        }
        other => panic!(
            "RFC 5222 8.3.3: a recursive findService for a location {server} serves is answered with {server}'s mapping (or a redirect to it); got {other:?}"
        ),
    }
}

#[then("the ECRF does not recurse: it redirects to that server or answers itself (RFC 5222 8.3.3)")]
async fn lost_not_recursed(w: &mut LmpeWorld) {
    let clause = "RFC 5222 8.3.3";
    let (_, server) = forest(w);
    match lost_answer(w, clause) {
        LostMessage::Redirect(r) => {
            if r.target.is_empty() || r.target.eq_ignore_ascii_case(&r.source) {
                panic!(
                    "RFC 5222 13.3: a <redirect> names in 'target' the server to ask instead and in 'source' the server that redirects; got target {:?}, source {:?}",
                    r.target, r.source
                );
            }
            if !r.target.eq_ignore_ascii_case(&server) {
                w.notes.push(format!(
                    "the ECRF redirected to {:?}, not to {server:?} (the server the target file names for this location)",
                    r.target
                ));
            }
        }
        LostMessage::FindServiceResponse(f) => {
            if f.path.vias.len() > 1
                || f
                    .path
                    .vias
                    .iter()
                    .any(|v| v.eq_ignore_ascii_case(&server))
            {
                panic!(
                    "{clause}: a server \"MUST NOT recurse if the attribute is 'false'\"; the answer to an iterative findService has path {:?}: other servers were asked",
                    f.path.vias
                );
            }
        }
        other => panic!(
            "{clause}: an iterative findService for a location {server} serves is answered with a <redirect> to it (or the ECRF's own mapping); got {other:?}"
        ),
    }
}

/// The civic address to validate: `[ecrf] civic` or the sample data's area A address, in RFC
/// 5139 element order, with its A3 replaced by one the ECRF does not know.
fn civic_to_validate(w: &LmpeWorld) -> (Vec<(String, String)>, String) {
    let ecrf = w.run.target.as_ref().and_then(|t| t.ecrf.as_ref());
    let mut fields: std::collections::BTreeMap<String, String> =
        match ecrf.and_then(|e| e.civic.clone()) {
            Some(c) => c,
            None => CIVIC_A
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
    let wrong = ecrf
        .and_then(|e| e.wrong_a3.clone())
        .unwrap_or_else(|| WRONG_A3.into());
    fields.insert("A3".into(), wrong.clone());
    let ordered = CivicAddress::ELEMENTS
        .iter()
        .filter_map(|n| fields.get(*n).map(|v| (n.to_string(), v.clone())))
        .collect();
    (ordered, wrong)
}

#[when(
    expr = "the harness asks the ECRF for {string} at a civic address it knows, with a wrong A3, validating the location"
)]
async fn lost_validate(w: &mut LmpeWorld, service: String) {
    let (fields, wrong) = civic_to_validate(w);
    let el = fields.iter().fold(
        Element::new(NS_CIVIC_ADDR, "civicAddress").with_lang(Some("de")),
        |el, (n, v)| el.with_text_child(NS_CIVIC_ADDR, n, v.as_str()),
    );
    let civic = match pidf::parse_civic_address(&el.to_xml()) {
        Ok(c) => c,
        Err(e) => inconclusive!("the civic address to validate is not a valid civicAddress: {e}"),
    };
    w.loc.validated = fields
        .iter()
        .map(|(n, _)| QualifiedName::new(NS_CIVIC_ADDR, n))
        .collect();
    w.loc.wrong_element = Some((QualifiedName::new(NS_CIVIC_ADDR, "A3"), wrong));
    w.loc.asked_point = None;
    let body = find_service(
        vec![LocationObject::Civic(Box::new(civic))],
        &service,
        ServiceBoundaryMode::Reference,
        true,
    );
    post_lost(w, body).await;
}

/// `{namespace}local` of a name, for messages.
fn show(q: &QualifiedName) -> String {
    format!("{{{}}}{}", q.ns, q.local)
}

/// The `locationValidation` of the last answer, parsed strictly: unqualified names fail citing
/// RFC 6848 Section 6.
fn location_validation(w: &LmpeWorld) -> LocationValidation {
    let clause = "RFC 5222 8.4.2";
    let r = answer(w, clause);
    let ct = r.content_type.clone().unwrap_or_default();
    if r.status != 200 || !ct.to_ascii_lowercase().starts_with(MIME_LOST) {
        panic!(
            "{clause}: LoST answers are HTTP 200 {MIME_LOST} (RFC 5222 Section 13); got HTTP {} with Content-Type {ct:?}\n--- answer ---\n{}",
            r.status, r.body
        )
    }
    let body: String = r.body.chars().take(2000).collect();
    match lost::parse(&r.body) {
        Ok(LostMessage::FindServiceResponse(f)) => match f.location_validation {
            Some(v) => v,
            None => panic!(
                "{clause}: a findService with validateLocation=\"true\" for a civic address is answered with <locationValidation>; the findServiceResponse has none\n--- answer ---\n{body}"
            ),
        },
        Ok(other) => panic!(
            "{clause}: a findService with validateLocation=\"true\" for an address the ECRF maps (only its A3 is wrong) is answered with a findServiceResponse carrying <locationValidation>; got {other:?}"
        ),
        Err(e @ LocationError::UnqualifiedName { .. }) => panic!(
            "RFC 6848 6 (updating RFC 5222 8.4.2): the names in <valid>, <invalid> and <unchecked> are namespace-qualified (ca:A1, not A1 as in RFC 5222 Fig. 6); {e}\n--- answer ---\n{body}"
        ),
        Err(e) => {
            panic!("{clause}: the answer is a valid LoST document; {e}\n--- answer ---\n{body}")
        }
    }
}

#[then("the ECRF answers with a locationValidation of namespace-qualified names (RFC 5222 8.4.2, RFC 6848 6)")]
async fn lost_validation_qualified(w: &mut LmpeWorld) {
    let v = location_validation(w);
    // Qualified, and in the civicAddr namespaces (a prefix bound elsewhere is not a civic
    // element name).
    let foreign: Vec<String> = [&v.valid, &v.invalid, &v.unchecked]
        .into_iter()
        .flatten()
        .flatten()
        .filter(|q| !q.ns.starts_with(NS_CIVIC_ADDR))
        .map(show)
        .collect();
    if !foreign.is_empty() {
        panic!(
            "RFC 6848 6: the names in <locationValidation> are the namespace-qualified names of the civic elements sent (civicAddr namespace); these are in other namespaces: {foreign:?}"
        );
    }
}

#[then("the validation names each civic element sent exactly once (RFC 5222 8.4.2)")]
async fn lost_validation_complete(w: &mut LmpeWorld) {
    let clause = "RFC 5222 8.4.2";
    let v = location_validation(w);
    let sent = w.loc.validated.clone();
    if sent.is_empty() {
        inconclusive!("no civic address was sent for validation")
    }
    let listed: Vec<(&str, &QualifiedName)> = [
        ("valid", &v.valid),
        ("invalid", &v.invalid),
        ("unchecked", &v.unchecked),
    ]
    .into_iter()
    .flat_map(|(list, names)| names.iter().flatten().map(move |q| (list, q)))
    .collect();
    let mut problems = Vec::new();
    for q in &sent {
        let lists: Vec<&str> = listed
            .iter()
            .filter(|(_, l)| *l == q)
            .map(|(list, _)| *list)
            .collect();
        match lists.len() {
            1 => {}
            0 => problems.push(format!("{} is in no list", show(q))),
            _ => problems.push(format!(
                "{} is listed {} times ({lists:?})",
                show(q),
                lists.len()
            )),
        }
    }
    for (list, q) in &listed {
        if !sent.contains(q) {
            problems.push(format!("{} (in <{list}>) was not sent", show(q)));
        }
    }
    if !problems.is_empty() {
        panic!(
            "{clause}: <valid>, <invalid> and <unchecked> together name each civic element of the request exactly once; {}\nsent: {:?}\nvalid: {:?}\ninvalid: {:?}\nunchecked: {:?}",
            problems.join("; "),
            sent.iter().map(show).collect::<Vec<_>>(),
            v.valid.iter().flatten().map(show).collect::<Vec<_>>(),
            v.invalid.iter().flatten().map(show).collect::<Vec<_>>(),
            v.unchecked.iter().flatten().map(show).collect::<Vec<_>>(),
        );
    }
}

#[then("the wrong A3 is not listed as valid (RFC 5222 8.4.2)")]
async fn lost_validation_wrong_not_valid(w: &mut LmpeWorld) {
    let v = location_validation(w);
    let Some((wrong, value)) = w.loc.wrong_element.clone() else {
        inconclusive!("no element was made wrong on purpose")
    };
    if v.valid.iter().flatten().any(|q| *q == wrong) {
        panic!(
            "RFC 5222 8.4.2: <valid> lists only elements checked and found valid; {} = {value:?} is not in the ECRF's data for that country/A1, yet it is listed valid (invalid: {:?}, unchecked: {:?})",
            show(&wrong),
            v.invalid.iter().flatten().map(show).collect::<Vec<_>>(),
            v.unchecked.iter().flatten().map(show).collect::<Vec<_>>(),
        );
    }
}

/// The last answer as LoST (HTTP 200, application/lost+xml, well-formed in the LoST namespace).
fn lost_answer(w: &LmpeWorld, clause: &str) -> LostMessage {
    let r = answer(w, clause);
    let ct = r.content_type.clone().unwrap_or_default();
    if r.status != 200 || !ct.to_ascii_lowercase().starts_with(MIME_LOST) {
        panic!(
            "{clause}: LoST answers are HTTP 200 {MIME_LOST} (RFC 5222 Section 13); got HTTP {} with Content-Type {ct:?}\n--- answer ---\n{}",
            r.status, r.body
        )
    }
    match lost::parse(&r.body) {
        Ok(m) => m,
        Err(e) => panic!(
            "{clause}: the answer is a valid LoST document; {e}\n--- answer ---\n{}",
            r.body.chars().take(2000).collect::<String>()
        ),
    }
}

fn mapping(w: &LmpeWorld, clause: &str) -> Mapping {
    match lost_answer(w, clause) {
        LostMessage::FindServiceResponse(f) => f
            .mappings
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("{clause}: a findServiceResponse has a mapping; none")),
        other => panic!(
            "{clause}: the ECRF answers findService with a findServiceResponse; got {other:?}"
        ),
    }
}

#[then(expr = "the ECRF maps it to a URI for {string} \\(RFC 5222 8\\)")]
async fn lost_mapped(w: &mut LmpeWorld, service: String) {
    let clause = "RFC 5222 8";
    let m = mapping(w, clause);
    if m.service.as_deref() != Some(service.as_str()) {
        panic!(
            "{clause}: the mapping names the requested service {service}; it names {:?}",
            m.service
        );
    }
    if m.uris.is_empty() {
        panic!("{clause}: an emergency service mapping carries a URI; none");
    }
    if m.source.is_empty() || m.source_id.is_empty() || m.last_updated.is_empty() {
        panic!("{clause}: a mapping carries source, sourceId and lastUpdated; got {m:?}");
    }
    if let Some(expected) = expected_uri(w).filter(|_| w.loc.asked_point.is_some()) {
        if !m.uris.contains(&expected) {
            panic!(
                "{clause}: the point maps to {expected} (the data the ECRF serves); it mapped to {:?}",
                m.uris
            );
        }
    }
}

#[then("the mapping's service boundary by value contains the point (RFC 5222 8)")]
async fn lost_boundary_value(w: &mut LmpeWorld) {
    let clause = "RFC 5222 8";
    let m = mapping(w, clause);
    let p = w.loc.asked_point.unwrap_or(POINT_A);
    match m.boundary {
        Some(MappingBoundary::Value(b)) if b.iter().any(|b| b.contains(p[0], p[1])) => {}
        other => panic!(
            "{clause}: serviceBoundary=\"value\" returns the boundary, which contains the point {p:?}; got {other:?}"
        ),
    }
}

#[then("the ECRF answers with a boundary containing the point (RFC 5222 9)")]
async fn lost_boundary_answer(w: &mut LmpeWorld) {
    let clause = "RFC 5222 9";
    let p = w.loc.asked_point.unwrap_or(POINT_A);
    match lost_answer(w, clause) {
        LostMessage::GetServiceBoundaryResponse(r)
            if r.boundaries.iter().any(|b| b.contains(p[0], p[1])) => {}
        other => panic!(
            "{clause}: getServiceBoundary returns the referenced boundary, which contains {p:?}; got {other:?}"
        ),
    }
}

#[then(expr = "the ECRF lists {string} \\(RFC 5222 10-11\\)")]
async fn lost_lists(w: &mut LmpeWorld, service: String) {
    let clause = "RFC 5222 10-11";
    let services = match lost_answer(w, clause) {
        LostMessage::ListServicesResponse(r) => r.services,
        LostMessage::ListServicesByLocationResponse(r) => r.services,
        other => panic!("{clause}: the ECRF answers with a service list; got {other:?}"),
    };
    if !services.contains(&service) {
        panic!("{clause}: the service list includes {service}; it is {services:?}");
    }
}

#[then(regex = r#"^the ECRF answers with the LoST error "(\w+)" \((RFC 5222 [0-9.]+)\)$"#)]
async fn lost_error(w: &mut LmpeWorld, kind: String, clause: String) {
    let clause = clause.as_str();
    match lost_answer(w, clause) {
        LostMessage::Errors(e)
            if e.exceptions
                .iter()
                .any(|x| format!("{:?}", x.kind).eq_ignore_ascii_case(&kind)) => {}
        other => {
            panic!(
            "{clause}: the ECRF answers with <errors><{kind}/>; got {other:?}\n--- answer ---\n{}",
            answer(w, clause).body.chars().take(2000).collect::<String>()
        )
        }
    }
}

#[then(
    expr = "the ECRF rejects it with a LoST error or an HTTP 4xx within {int} ms \\(RFC 5222 13\\)"
)]
async fn lost_rejects(w: &mut LmpeWorld, ms: u64) {
    let r = answer(w, "RFC 5222 13");
    let parsed = lost::parse(&r.body)
        .map(|m| (matches!(m, LostMessage::Errors(_)), format!("{m:?}")))
        .map_err(|e| e.to_string());
    rejected_promptly(
        &r,
        "RFC 5222 13",
        "ECRF",
        "<errors> (badRequest)",
        "LoST",
        ms,
        parsed,
    );
}

#[then("the ECRF still maps a valid request")]
async fn ecrf_still_answers(w: &mut LmpeWorld) {
    lost_find(w, "urn:service:sos".into()).await;
    let r = answer(w, "RFC 5222 8 (after a broken request)");
    if !matches!(
        lost::parse(&r.body),
        Ok(LostMessage::FindServiceResponse(_))
    ) {
        panic!(
            "RFC 5222 8: after a broken request the ECRF still maps valid requests; got HTTP {}\n{}",
            r.status, r.body
        );
    }
}

// ---- The ESRP is the IUT: the harness plays the ECRF and PSAPs A and B ------------------

#[given("the harness plays PSAP A and PSAP B behind the ESRP and the ECRF that maps areas A and B to them")]
async fn esrp_setup(w: &mut LmpeWorld) {
    w.harness_psap = true;
    let target = w.run.target.clone();
    let (b_listen, ecrf_listen) = match &target {
        None => (SocketAddr::from(([127, 0, 0, 1], 0)), None),
        Some(t) => {
            let Some(e) = t.ecrf.clone().filter(|e| e.listen.is_some()) else {
                skip!("needs the ESRP to query the harness's ECRF: add [ecrf] listen = \"IP:port\" (and psap_b_listen) to the target file")
            };
            let Some(b) = e.psap_b_listen else {
                skip!("needs a second harness PSAP: add [ecrf] psap_b_listen = \"IP:port\" to the target file")
            };
            if t.harness_psap.is_none() {
                skip!("needs a harness-played PSAP behind the SUT: add [harness_psap] to the target file")
            }
            (b, e.listen)
        }
    };
    let psap_b = start_psap_b(w, b_listen).await;
    let b_addr = psap_b.local_addr();
    match (target, ecrf_listen) {
        (None, _) => {
            w.esinet_opts.psap_b_override = Some(b_addr);
        }
        (Some(t), Some(_)) => {
            ensure_target_ecrf(w).await;
            if let Some(bcf) = t.bcf {
                let transport = t.transport;
                let _ = psap_b
                    .with(move |p, _| p.set_outbound((transport, bcf)))
                    .await;
            }
        }
        (Some(_), None) => skip!("needs [ecrf] listen in the target file"),
    }
}

/// The harness-played ECRF and LIS for a real ESRP (`[ecrf] listen`): one server for the whole
/// run (every emergency request through the SUT needs it, and its address is fixed), started
/// by the first scenario that talks to the SUT. Area A maps to the harness PSAP
/// (`[harness_psap] listen`), area B to `[ecrf] psap_b_listen`. Scenarios that break it on
/// purpose are `@serial` and restore it at their end.
static TARGET_ECRF: tokio::sync::OnceCell<Result<LocServers, String>> =
    tokio::sync::OnceCell::const_new();

/// Starts the run's harness ECRF when the target names `[ecrf] listen` (no-op otherwise).
pub(crate) async fn ensure_target_ecrf(w: &LmpeWorld) {
    let Some(t) = w.run.target.clone() else {
        return;
    };
    let Some(ecrf) = t.ecrf.clone().filter(|e| e.listen.is_some()) else {
        return;
    };
    let a = t
        .harness_psap
        .as_ref()
        .map(|h| format!("sip:psap@{}", h.listen))
        .unwrap_or_else(|| "sip:psap@127.0.0.1:9".into());
    let r = TARGET_ECRF
        .get_or_init(|| async move {
            crate::location::start_for_target(&ecrf, &a)
                .await
                .unwrap_or_else(|| Err("no [ecrf] listen".into()))
        })
        .await;
    if let Err(e) = r {
        inconclusive!("the harness ECRF for the SUT did not start: {e}")
    }
}

/// The run's harness ECRF, if started.
fn target_ecrf() -> Option<&'static HttpServer> {
    target_forest().map(|s| &s.main)
}

/// The run's harness ECRF and the second LoST server of its forest, if started.
fn target_forest() -> Option<&'static LocServers> {
    TARGET_ECRF.get().and_then(|r| r.as_ref().ok())
}

/// HELD/LoST messages of the run's harness ECRF since `since` (target runs; the ladder).
pub(crate) fn target_ecrf_http(since: std::time::SystemTime) -> Vec<lmpe_locsvc::HttpRecord> {
    target_forest()
        .map(|s| {
            let mut v: Vec<_> = [&s.main, &s.child]
                .into_iter()
                .flat_map(|s| s.log().records())
                .filter(|r| r.at >= since)
                .collect();
            v.sort_by_key(|r| r.at);
            v
        })
        .unwrap_or_default()
}

/// Restores the run's harness ECRF after a scenario that broke it.
pub(crate) fn reset_target_ecrf() {
    if let Some(s) = target_ecrf() {
        s.with_services(|s| {
            if let Some(e) = s.ecrf.as_mut() {
                e.set_faults(Default::default());
                e.config_mut().iterative_only = false;
            }
            if let Some(l) = s.lis.as_mut() {
                l.set_faults(Default::default());
            }
        });
    }
}

async fn start_psap_b(w: &mut LmpeWorld, listen: SocketAddr) -> EndpointHandle<PsapRole> {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    let psap = PsapRole::new(PsapConfig {
        name: "lmpe-harness PSAP B".into(),
        reply_to: String::new(),
        uri: String::new(),
        outbound: (TransportKind::Udp, any),
        params: ChatParams {
            profile: w.run.profile.clone(),
            ..ChatParams::default()
        },
        greeting: "112 emergency chat (harness PSAP B), what is your emergency?".into(),
        auto_reply: Some("Received: {text}".into()),
        close_trigger: Some("#close".into()),
        redirect_target: None,
        faults: Default::default(),
        ua: UaConfig::new(any),
        test_repeat_window: Duration::from_secs(120),
        test_call_limit: None,
    });
    let handle = match spawn_endpoint(psap, SipSocketConfig::new(listen)).await {
        Ok(h) => h,
        Err(e) => inconclusive!("the harness PSAP B could not bind {listen}: {e}"),
    };
    let addr = handle.local_addr();
    let _ = handle
        .with(move |p, _| {
            p.set_local(addr);
            p.set_uri(&format!("sip:psap-b@{addr}"));
            p.set_reply_to(&format!("sip:psap-b@{addr}"));
        })
        .await;
    w.loc.psap_b = Some(handle.clone());
    handle
}

#[given(expr = "the APP is located at {float}, {float}")]
async fn app_at(w: &mut LmpeWorld, lat: f64, lon: f64) {
    w.loc.app_location = Some((lat, lon));
}

/// The ECRF the ESRP queries and the second server of its forest: the embedded ESInet's, or
/// the harness's for a real ESRP.
fn esrp_forest(w: &LmpeWorld) -> Option<(&HttpServer, &HttpServer)> {
    match &w.run.target {
        None => w
            .esinet
            .as_ref()
            .and_then(|e| Some((e.locsvc.as_ref()?, e.locsvc_child.as_ref()?))),
        Some(_) => target_forest().map(|f| (&f.main, &f.child)),
    }
}

/// LoST requests `server` received since the scenario started.
fn lost_requests_since(w: &LmpeWorld, server: &HttpServer) -> Vec<lmpe_locsvc::HttpRecord> {
    server
        .log()
        .records()
        .into_iter()
        .filter(|r| r.at >= w.started_wall)
        .filter(|r| r.direction == lmpe_locsvc::HttpDirection::Request && r.note == "ECRF")
        .collect()
}

#[given("the ECRF answers every query for a location another LoST server serves with a redirect")]
async fn ecrf_iterative_only(w: &mut LmpeWorld) {
    if let Some(t) = &w.run.target {
        if t.ecrf.as_ref().and_then(|e| e.redirect_listen).is_none() {
            skip!(
                "needs the harness's second LoST server where the SUT finds it: add [ecrf] redirect_listen = \"IP:port\" to the target file and make the SUT resolve {SAMPLE_FOREST_CHILD_SOURCE} to http://<redirect_listen>/lost"
            )
        }
        ensure_target_ecrf(w).await;
    } else {
        w.ensure_esinet().await;
    }
    let Some((main, _)) = esrp_forest(w) else {
        inconclusive!("the ECRF behind the ESRP is not running")
    };
    main.with_services(|s| {
        if let Some(e) = s.ecrf.as_mut() {
            e.config_mut().iterative_only = true;
        }
    });
}

#[then("the ESRP's query to the other LoST server names the ECRF in its path (RFC 5222 6)")]
async fn esrp_redirect_path(w: &mut LmpeWorld) {
    let clause = "RFC 5222 6";
    let Some((main, child)) = esrp_forest(w) else {
        inconclusive!("the ECRF behind the ESRP is not running")
    };
    let first = main
        .with_services(|s| s.ecrf.as_ref().map(|e| e.config().source.clone()))
        .unwrap_or_default();
    let asked = lost_requests_since(w, child);
    let Some(last) = asked.last() else {
        super::verdicts::fail_text(
            w,
            &format!(
                "RFC 5222 8.3.3 / 13.3: the ESRP follows the ECRF's <redirect> to {SAMPLE_FOREST_CHILD_SOURCE}; that server was never asked"
            ),
        )
    };
    let vias = match lost::parse(&last.body) {
        Ok(LostMessage::FindService(f)) => f.path.map(|p| p.vias).unwrap_or_default(),
        Ok(other) => super::verdicts::fail_text(
            w,
            &format!("{clause}: the ESRP asks the redirect target with a findService; it sent {other:?}"),
        ),
        Err(e) => super::verdicts::fail_text(
            w,
            &format!(
                "{clause}: the ESRP's query to {SAMPLE_FOREST_CHILD_SOURCE} is a valid LoST findService; {e}\n--- request ---\n{}",
                last.body
            ),
        ),
    };
    if !vias.iter().any(|v| v.eq_ignore_ascii_case(&first)) {
        super::verdicts::fail_text(
            w,
            &format!(
                "{clause}: \"if a query is answered iteratively, the querier includes all servers that it has already contacted\" in <path>; the ESRP's findService to {SAMPLE_FOREST_CHILD_SOURCE} has path {vias:?}, without {first:?} (the ECRF that redirected)\n--- request ---\n{}",
                last.body
            ),
        )
    }
}

#[then(expr = "the ESRP asked the ECRF at most {int} times \\(RFC 5222 6\\)")]
async fn esrp_bounded_queries(w: &mut LmpeWorld, most: usize) {
    let Some((main, _)) = esrp_forest(w) else {
        inconclusive!("the ECRF behind the ESRP is not running")
    };
    let asked = lost_requests_since(w, main);
    if asked.len() > most {
        super::verdicts::fail_text(
            w,
            &format!(
                "RFC 5222 6: the <path> of a query exists \"to prevent loops\": a redirect to a server already asked is a loop, not a reason to ask again; the ESRP asked the ECRF {} times for one start (at most {most} expected)",
                asked.len()
            ),
        )
    }
}

/// A PIDF-LO with one `tuple` whose location is the WGS 84 polygon `ring` (`"lat lon, lat lon,
/// …"`, closed here when the last position is not the first), or the reason it is not one.
fn polygon_pidf(entity: &str, ring: &str) -> Result<String, String> {
    let mut exterior = Vec::new();
    for pair in ring.split(',') {
        let nums: Vec<f64> = pair
            .split_whitespace()
            .map(str::parse::<f64>)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{pair:?} is not \"lat lon\": {e}"))?;
        let [lat, lon] = nums[..] else {
            return Err(format!("{pair:?} is not \"lat lon\""));
        };
        exterior.push(pidf::Position::new(lat, lon));
    }
    if exterior.first() != exterior.last() {
        if let Some(first) = exterior.first().copied() {
            exterior.push(first);
        }
    }
    if exterior.len() < 4 {
        return Err("a polygon needs at least three distinct positions".into());
    }
    let shape = pidf::GeoShape::new(pidf::Shape::Polygon(pidf::Polygon {
        exterior,
        interiors: Vec::new(),
        pos_list: false,
    }));
    Ok(pidf::Presence {
        entity: entity.to_owned(),
        tuples: vec![pidf::Tuple {
            id: "loc1".into(),
            geopriv: vec![pidf::Geopriv {
                location_info: pidf::LocationInfo {
                    objects: vec![LocationObject::Geodetic {
                        shape,
                        in_gml_location: false,
                    }],
                },
                method: Some("Derived".into()),
                ..pidf::Geopriv::default()
            }],
            timestamp: Some("2026-01-01T00:00:00Z".into()),
            ..pidf::Tuple::default()
        }],
        ..pidf::Presence::default()
    }
    .to_xml())
}

#[given(expr = "the APP is located in the polygon {string}")]
async fn app_in_polygon(w: &mut LmpeWorld, ring: String) {
    let xml = match polygon_pidf("pres:app@lmpe-harness.invalid", &ring) {
        Ok(x) => x,
        Err(e) => inconclusive!("the scenario's polygon: {e}"),
    };
    let app = w.ensure_app().await;
    let _ = app.with(move |a, _| a.set_location_pidf(Some(xml))).await;
}

/// The embedded ESInet's ECRF and LIS, or the harness's (target runs), to switch faults (both
/// at once: `faults` names the broken one, the other behaves).
async fn set_loc_faults(w: &mut LmpeWorld, faults: LocFaults) {
    let apply = |s: &HttpServer| {
        s.with_services(|s| {
            if let Some(e) = s.ecrf.as_mut() {
                e.set_faults(faults.ecrf.clone());
            }
            if let Some(l) = s.lis.as_mut() {
                l.set_faults(faults.lis.clone());
            }
        })
    };
    if w.run.target.is_none() {
        match w.esinet.as_ref() {
            None => w.esinet_opts.faults.loc = faults.clone(),
            Some(e) => {
                if let Some(s) = e.locsvc.as_ref() {
                    apply(s);
                }
            }
        }
        return;
    }
    if let Some(s) = target_ecrf() {
        apply(s);
    }
}

#[given(expr = "the ECRF misbehaves: {string}")]
async fn ecrf_fault(w: &mut LmpeWorld, name: String) {
    let Some(f) = LocFaults::by_name(&name).filter(|_| name.starts_with("ecrf-")) else {
        inconclusive!("unknown ECRF fault {name:?}")
    };
    set_loc_faults(w, f).await;
}

#[given(expr = "the LIS misbehaves: {string}")]
async fn lis_fault(w: &mut LmpeWorld, name: String) {
    let Some(f) = LocFaults::by_name(&name).filter(|_| name.starts_with("lis-")) else {
        inconclusive!("unknown LIS fault {name:?}")
    };
    set_loc_faults(w, f).await;
}

#[when(regex = r"^the (?:ECRF|LIS) behaves again$")]
async fn loc_ok(w: &mut LmpeWorld) {
    set_loc_faults(w, LocFaults::default()).await;
}

/// Whether PSAP A (the harness PSAP) and PSAP B received a MESSAGE with this Call-ID.
async fn reached(w: &LmpeWorld, call_id: &str) -> (bool, bool) {
    let check = |call_id: String| {
        move |p: &mut PsapRole, _| {
            p.wire_records().iter().any(|r| {
                let t = String::from_utf8_lossy(&r.bytes);
                !r.outgoing && t.starts_with("MESSAGE ") && t.contains(call_id.as_str())
            })
        }
    };
    let a = match &w.psap {
        Some(p) => p.with(check(call_id.to_string())).await.unwrap_or(false),
        None => false,
    };
    let b = match &w.loc.psap_b {
        Some(p) => p.with(check(call_id.to_string())).await.unwrap_or(false),
        None => false,
    };
    (a, b)
}

/// The SIP Call-ID of the current chat's start (the request to a service URN whose Call-Info
/// carries the chat's Call Identifier), waiting for the APP to send it.
async fn start_call_id(w: &mut LmpeWorld) -> String {
    use lmpe_wire::sip::SipParser as _;
    let chat = w.chat_id();
    let deadline = Instant::now() + w.run.response_timeout;
    loop {
        let records = w.app(|a, _| a.wire_records().to_vec()).await;
        let found = records
            .iter()
            .filter(|r| r.outgoing)
            .filter_map(|r| lmpe_wire::sip::RsipParser::default().parse(&r.bytes).ok())
            .filter(|m| m.is_request())
            .filter(|m| {
                m.request_uri()
                    .is_some_and(|u| u.starts_with("urn:service:"))
            })
            .find(|m| {
                m.header_values("Call-Info")
                    .any(|v| v.contains(chat.as_str()))
            })
            .and_then(|m| m.call_id().ok().map(str::to_string));
        if let Some(c) = found {
            return c;
        }
        if Instant::now() >= deadline {
            inconclusive!("the APP sent no start for chat {chat}")
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[then(expr = "the start reaches PSAP {word} only \\(RFC 6881 8\\)")]
async fn reaches_only(w: &mut LmpeWorld, which: String) {
    let clause = "RFC 6881 8";
    let call_id = start_call_id(w).await;
    let deadline = Instant::now() + w.run.response_timeout;
    let (a, b) = loop {
        let (a, b) = reached(w, &call_id).await;
        if a || b || Instant::now() >= deadline {
            break (a, b);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    // A moment more, so that a copy sent to both is seen.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (a, b) = {
        let (a2, b2) = reached(w, &call_id).await;
        (a || a2, b || b2)
    };
    let want_a = which.eq_ignore_ascii_case("A");
    if (a, b) != (want_a, !want_a) {
        let status = final_status(w).await;
        super::verdicts::fail_text(
            w,
            &format!(
                "{clause}: the ESRP routes the start to the PSAP the ECRF maps the caller's location to (PSAP {which}); reached PSAP A: {a}, PSAP B: {b}; the APP's start was answered {status:?}"
            ),
        )
    }
}

/// The final status of the APP's last start (waiting up to the response timeout).
async fn final_status(w: &mut LmpeWorld) -> Option<u16> {
    let sent = w.last_sent?;
    let chat = w.chat.clone();
    let wait = w.run.response_timeout;
    let i = w
        .wait_for(wait, |e| match (sent, e) {
            (
                Sent::Chat(h),
                RoleEvent::Session {
                    chat: c,
                    event: SessionEvent::Answered { handle, .. },
                },
            ) => Some(c) == chat.as_ref() && *handle == h,
            _ => false,
        })
        .await?;
    match &w.events[i].1 {
        RoleEvent::Session {
            event: SessionEvent::Answered { status, .. },
            ..
        } => Some(*status),
        _ => None,
    }
}

#[then(expr = "the ESRP answers the start with {int} \\(RFC 6881 8\\)")]
async fn esrp_answers(w: &mut LmpeWorld, want: u16) {
    let status = final_status(w).await;
    if status != Some(want) {
        super::verdicts::fail_text(
            w,
            &format!(
                "RFC 6881 8: when the ECRF finds no PSAP for the location (LoST notFound) the ESRP rejects the request with {want}; it answered {status:?}"
            ),
        )
    }
}

#[then(
    expr = "the ESRP answers the start with a final response other than 503 within {int} ms \\(6.1.2.9\\)"
)]
async fn esrp_answers_not_503(w: &mut LmpeWorld, ms: u64) {
    let started = Instant::now();
    let status = {
        let sent = w.last_sent;
        let chat = w.chat.clone();
        let i = w
            .wait_for(Duration::from_millis(ms), |e| match (sent, e) {
                (
                    Some(Sent::Chat(h)),
                    RoleEvent::Session {
                        chat: c,
                        event: SessionEvent::Answered { handle, .. },
                    },
                ) => Some(c) == chat.as_ref() && *handle == h,
                _ => false,
            })
            .await;
        i.and_then(|i| match &w.events[i].1 {
            RoleEvent::Session {
                event: SessionEvent::Answered { status, .. },
                ..
            } => Some(*status),
            _ => None,
        })
    };
    match status {
        Some(503) => super::verdicts::fail_text(
            w,
            "TS 103 698 6.1.2.9: an ECRF failure is not overload; elements do not answer 503 unless certain the upstream element copes with it; the ESRP answered 503",
        ),
        // Timer F on the APP's side: no answer from the ESRP.
        Some(408) | None => {
            let evidence = ecrf_evidence(w);
            super::verdicts::fail_text(
                w,
                &format!(
                    "TS 103 698 6.1.2.9 / RFC 6881 8: the ESRP answers every request, also when the ECRF fails (a default route or a 5xx other than 503); no final response within {ms} ms (the ESRP crashed or hangs on the ECRF; waited {:?})\n--- what the ECRF and the LIS exchanged with the ESRP in this scenario ---\n{evidence}",
                    started.elapsed()
                ),
            )
        }
        Some(_) => {}
    }
}

#[given("the ESRP has no ECRF, only a LIS that returns routing information")]
async fn esrp_lis_only(w: &mut LmpeWorld) {
    if let Some(t) = &w.run.target {
        skip!(
            "needs an ESRP the harness configures (no ECRF, a LIS with RFC 7840 routing information); {} is a real element",
            t.name
        )
    }
    w.esinet_opts.lis_routing_only = true;
}

#[given(expr = "the APP asserts the identity {string}")]
async fn app_identity(w: &mut LmpeWorld, uri: String) {
    w.app_headers
        .push(("P-Asserted-Identity".into(), format!("<{uri}>")));
}

/// Mints a location URI for `device` at the LIS behind the ESRP (the embedded ESInet's, or the
/// harness's at `[ecrf] listen`), by a sans-IO call to it.
fn mint_location_uri(server: &HttpServer, device: &str) -> Option<String> {
    let req = held_request("locationURI", true, None, Some(device), None);
    let reply = server.with_services(|s| {
        s.lis
            .as_mut()
            .map(|l| l.handle("/held", req.as_bytes(), [127, 0, 0, 1].into()))
    })?;
    match held::parse(&reply.body) {
        Ok(HeldMessage::LocationResponse(lr)) => lr
            .location_uri_set
            .and_then(|s| s.uris.into_iter().find(|u| u.starts_with("http://"))),
        _ => None,
    }
}

#[given(expr = "the APP sends its location by reference, a location URI of {string} from the LIS")]
async fn app_location_by_reference(w: &mut LmpeWorld, device: String) {
    let uri = if w.run.target.is_some() {
        ensure_target_ecrf(w).await;
        target_ecrf().and_then(|s| mint_location_uri(s, &device))
    } else {
        w.ensure_esinet().await;
        w.esinet
            .as_ref()
            .and_then(|e| e.locsvc.as_ref())
            .and_then(|s| mint_location_uri(s, &device))
    };
    let Some(uri) = uri else {
        inconclusive!("the LIS minted no location URI for {device}")
    };
    w.app_headers
        .push(("Geolocation".into(), format!("<{uri}>")));
    let (headers, parts) = (w.app_headers.clone(), w.app_parts.clone());
    let app = w.ensure_app().await;
    let _ = app
        .with(move |a, _| {
            // No PIDF-LO by value: only the Geolocation URI above (RFC 6442 by reference).
            a.set_faults(lmpe_proto::roles::AppFaults {
                no_location: true,
                ..Default::default()
            });
            a.set_extras(headers, parts);
        })
        .await;
}

/// The ECRF's and LIS's side of this scenario (start lines, times since the scenario start, the start of
/// each answer body): evidence that the ESRP did get its answer when it then went silent.
fn ecrf_evidence(w: &LmpeWorld) -> String {
    let records = match &w.run.target {
        Some(_) => target_ecrf_http(w.started_wall),
        None => w
            .esinet
            .as_ref()
            .and_then(|e| e.locsvc.as_ref())
            .map(|s| s.log().records())
            .unwrap_or_default(),
    };
    let lines: Vec<String> = records
        .iter()
        .filter(|r| r.note == "ECRF" || r.note == "LIS")
        .map(|r| {
            let ms =
                r.at.duration_since(w.started_wall)
                    .map_or(0, |d| d.as_millis());
            let body: String = r.body.chars().take(80).collect();
            format!(
                "+{ms} ms {} {} | {}",
                r.src,
                r.start_line,
                body.replace(['\r', '\n'], " ")
            )
        })
        .collect();
    if lines.is_empty() {
        "(neither the ECRF nor the LIS was asked)".into()
    } else {
        lines.join("\n")
    }
}
