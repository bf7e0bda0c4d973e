//! A LoST server forest over real HTTP (RFC 5222 8.3.3): the sample ECRF delegates area C to
//! a child ECRF (`ecrf-c.lmpe.test`); iterative and recursive findService, loops, a child
//! that is down, slow or not speaking LoST, and the forest faults.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use lmpe_location::lost::{self, ExceptionKind, FindService, LostMessage, Path};
use lmpe_location::MIME_LOST;
use lmpe_locsvc::client::LocClient;
use lmpe_locsvc::http::{serve, HttpServer, LocServices, PEER_NOTE};
use lmpe_locsvc::{
    fill_template, Ecrf, EcrfConfig, EcrfFaults, HttpDirection, HttpLog, ServiceAreas,
    SAMPLE_AREAS, SAMPLE_FOREST_CHILD, SAMPLE_FOREST_CHILD_SOURCE,
};

const PSAP_A: &str = "sip:psap-a@127.0.0.1:5070";
const PSAP_B: &str = "sip:psap-b@127.0.0.1:5071";
const CHILD: &str = SAMPLE_FOREST_CHILD_SOURCE;
const IN_C: (f64, f64) = (48.2, 17.0);

fn top_source() -> String {
    EcrfConfig::default().source
}

fn areas(text: &str) -> ServiceAreas {
    let text = fill_template(text, &[("PSAP_A", PSAP_A), ("PSAP_B", PSAP_B)]).expect("template");
    ServiceAreas::from_geojson(&text).expect("areas")
}

async fn start(areas: ServiceAreas, cfg: EcrfConfig, fault: Option<&str>) -> HttpServer {
    let mut ecrf = Ecrf::new(areas, cfg);
    if let Some(f) = fault {
        ecrf.set_faults(EcrfFaults::from_name(f).expect("fault"));
    }
    let services = LocServices {
        ecrf: Some(ecrf),
        lis: None,
    };
    serve(SocketAddr::from(([127, 0, 0, 1], 0)), services)
        .await
        .expect("serve")
}

/// The child ECRF of the sample forest.
async fn child(fault: Option<&str>) -> HttpServer {
    let cfg = EcrfConfig {
        source: CHILD.into(),
        ..EcrfConfig::default()
    };
    start(areas(SAMPLE_FOREST_CHILD), cfg, fault).await
}

fn peers(url: &str) -> BTreeMap<String, String> {
    [(CHILD.to_owned(), url.to_owned())].into()
}

/// The top ECRF with `ecrf-c.lmpe.test` at `url`.
async fn top(url: &str, fault: Option<&str>) -> HttpServer {
    let cfg = EcrfConfig {
        peers: peers(url),
        ..EcrfConfig::default()
    };
    start(areas(SAMPLE_AREAS), cfg, fault).await
}

fn find_service(at: (f64, f64), recursive: bool) -> String {
    let xml = format!(
        r#"<findService xmlns="urn:ietf:params:xml:ns:lost1"><location id="loc1" profile="geodetic-2d"><gml:Point xmlns:gml="http://www.opengis.net/gml" srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{} {}</gml:pos></gml:Point></location><service>urn:service:sos</service></findService>"#,
        at.0, at.1
    );
    let Ok(LostMessage::FindService(fs)) = lost::parse(&xml) else {
        panic!("test request does not parse")
    };
    FindService { recursive, ..fs }.to_xml()
}

/// POSTs a findService to `server` and parses the LoST answer.
async fn ask(server: &HttpServer, at: (f64, f64), recursive: bool) -> LostMessage {
    let client = LocClient::new(HttpLog::default(), "test -> ECRF");
    let r = client
        .post(
            &server.url("/lost"),
            MIME_LOST,
            find_service(at, recursive).into_bytes(),
            Duration::from_secs(10),
        )
        .await
        .expect("HTTP answer");
    assert_eq!(r.status, 200, "{r:?}");
    lost::parse(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

fn error(m: &LostMessage) -> Option<(ExceptionKind, &str)> {
    match m {
        LostMessage::Errors(e) => e.exceptions.first().map(|x| (x.kind, e.source.as_str())),
        _ => None,
    }
}

fn mapping(m: &LostMessage) -> Option<(&str, &[String])> {
    match m {
        LostMessage::FindServiceResponse(r) => r
            .mappings
            .first()
            .and_then(|m| m.uris.first())
            .map(|u| (u.as_str(), r.path.vias.as_slice())),
        _ => None,
    }
}

fn peer_records(server: &HttpServer) -> usize {
    server
        .log()
        .records()
        .iter()
        .filter(|r| r.note.starts_with(PEER_NOTE))
        .count()
}

#[tokio::test]
async fn iterative_query_gets_a_redirect() {
    let c = child(None).await;
    let t = top(&c.url("/lost"), None).await;
    let m = ask(&t, IN_C, false).await;
    let LostMessage::Redirect(r) = &m else {
        panic!("not a redirect: {m:?}")
    };
    assert_eq!(r.target, CHILD);
    assert_eq!(r.source, top_source());
    assert_eq!(peer_records(&t), 0);
    assert!(c.log().is_empty(), "the child was not asked");
    // Following the redirect by hand: the child answers with path [child].
    let m = ask(&c, IN_C, false).await;
    assert_eq!(mapping(&m), Some((PSAP_B, &[CHILD.to_owned()][..])));
    // iterative_only: a redirect even for recursive="true".
    let cfg = EcrfConfig {
        peers: peers(&c.url("/lost")),
        iterative_only: true,
        ..EcrfConfig::default()
    };
    let t = start(areas(SAMPLE_AREAS), cfg, None).await;
    let m = ask(&t, IN_C, true).await;
    assert!(
        matches!(&m, LostMessage::Redirect(r) if r.target == CHILD),
        "{m:?}"
    );
}

#[tokio::test]
async fn recursive_query_is_answered_by_the_child_with_the_whole_path() {
    let c = child(None).await;
    let t = top(&c.url("/lost"), None).await;
    let m = ask(&t, IN_C, true).await;
    let path = [top_source(), CHILD.to_owned()];
    assert_eq!(mapping(&m), Some((PSAP_B, &path[..])), "{m:?}");
    let LostMessage::FindServiceResponse(r) = &m else {
        unreachable!()
    };
    assert_eq!(r.mappings[0].source, CHILD);
    // The evidence: the top ECRF's log has its request to the child and the answer.
    let log = t.log().records();
    let peer: Vec<_> = log.iter().filter(|r| r.note == PEER_NOTE).collect();
    assert_eq!(peer.len(), 2, "{log:#?}");
    assert_eq!(peer[0].direction, HttpDirection::Request);
    assert_eq!(peer[0].dst, c.local_addr());
    let Ok(LostMessage::FindService(fwd)) = lost::parse(&peer[0].body) else {
        panic!("forwarded: {}", peer[0].body)
    };
    assert!(fwd.recursive);
    assert_eq!(
        fwd.path,
        Some(Path {
            vias: vec![top_source()]
        })
    );
    assert_eq!(peer[1].direction, HttpDirection::Response);
    // Order: query in, query out, answer in, answer out; the answer passed back verbatim.
    assert_eq!(log.len(), 4);
    assert_eq!(log[3].body, peer[1].body);
    // Area A is still answered by the top itself.
    let m = ask(&t, (48.2, 16.2), true).await;
    assert_eq!(mapping(&m), Some((PSAP_A, &[top_source()][..])));
}

/// Replaces the ECRF behind `server` (to point two servers at each other).
fn replace_ecrf(server: &HttpServer, areas: ServiceAreas, cfg: EcrfConfig, fault: Option<&str>) {
    let mut ecrf = Ecrf::new(areas, cfg);
    if let Some(f) = fault {
        ecrf.set_faults(EcrfFaults::from_name(f).expect("fault"));
    }
    server.with_services(|s| s.ecrf = Some(ecrf));
}

#[tokio::test]
async fn a_forest_loop_is_detected() {
    // A child that delegates area C back to the top ECRF, which delegates it to the child.
    let mut back = areas(SAMPLE_FOREST_CHILD);
    back.areas[0].uris.clear();
    back.areas[0].delegate = Some(top_source());
    let c = child(None).await;
    let t = top(&c.url("/lost"), None).await;
    let child_cfg = EcrfConfig {
        source: CHILD.into(),
        peers: [(top_source(), t.url("/lost"))].into(),
        ..EcrfConfig::default()
    };
    replace_ecrf(&c, back.clone(), child_cfg.clone(), None);
    let m = ask(&t, IN_C, true).await;
    assert_eq!(error(&m), Some((ExceptionKind::Loop, CHILD)), "{m:?}");
    assert_eq!(peer_records(&t), 2, "the top recursed");
    assert_eq!(peer_records(&c), 0, "the child did not");

    // With ecrf-no-loop-detection the child asks the top again, which finds the loop; its
    // answer comes back through both.
    replace_ecrf(&c, back, child_cfg, Some("ecrf-no-loop-detection"));
    t.log().take();
    let m = ask(&t, IN_C, true).await;
    let top = top_source();
    assert_eq!(
        error(&m),
        Some((ExceptionKind::Loop, top.as_str())),
        "{m:?}"
    );
    assert_eq!(peer_records(&c), 2, "the child recursed");
}

#[tokio::test]
async fn a_child_that_is_down_or_slow_is_server_timeout() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let gone = l.local_addr().expect("addr");
    drop(l);
    let t = top(&format!("http://{gone}/lost"), None).await;
    let m = ask(&t, IN_C, true).await;
    let top = top_source();
    assert_eq!(
        error(&m),
        Some((ExceptionKind::ServerTimeout, top.as_str())),
        "{m:?}"
    );

    let c = child(Some("ecrf-slow:2")).await;
    let cfg = EcrfConfig {
        peers: peers(&c.url("/lost")),
        recursion_timeout: Duration::from_millis(300),
        ..EcrfConfig::default()
    };
    let t = start(areas(SAMPLE_AREAS), cfg, None).await;
    let m = ask(&t, IN_C, true).await;
    assert_eq!(
        error(&m),
        Some((ExceptionKind::ServerTimeout, top.as_str())),
        "{m:?}"
    );
}

#[tokio::test]
async fn a_child_not_speaking_lost_is_server_error() {
    for fault in ["ecrf-not-xml", "ecrf-http-error", "ecrf-wrong-namespace"] {
        let c = child(Some(fault)).await;
        let t = top(&c.url("/lost"), None).await;
        let m = ask(&t, IN_C, true).await;
        let top = top_source();
        assert_eq!(
            error(&m),
            Some((ExceptionKind::ServerError, top.as_str())),
            "{fault}: {m:?}"
        );
    }
}

#[tokio::test]
async fn forest_faults_over_http() {
    let c = child(None).await;
    let top_path = [top_source(), CHILD.to_owned()];

    // ecrf-recurses-always: recursive="false" is recursed anyway.
    let t = top(&c.url("/lost"), Some("ecrf-recurses-always")).await;
    let m = ask(&t, IN_C, false).await;
    assert_eq!(mapping(&m), Some((PSAP_B, &top_path[..])), "{m:?}");
    assert_eq!(peer_records(&t), 2);

    // ecrf-path-incomplete: the top's via is gone from the child's answer.
    let t = top(&c.url("/lost"), Some("ecrf-path-incomplete")).await;
    let m = ask(&t, IN_C, true).await;
    assert_eq!(
        mapping(&m),
        Some((PSAP_B, &[CHILD.to_owned()][..])),
        "{m:?}"
    );

    // ecrf-redirect-loop: redirected to itself.
    let t = top(&c.url("/lost"), Some("ecrf-redirect-loop")).await;
    let m = ask(&t, (48.2, 16.2), true).await;
    let own = top_source();
    assert!(
        matches!(&m, LostMessage::Redirect(r) if r.target == own && r.source == own),
        "{m:?}"
    );

    // ecrf-no-loop-detection on the top: the child is asked although the request already
    // went through it (path given by the querier).
    let t = top(&c.url("/lost"), Some("ecrf-no-loop-detection")).await;
    let Ok(LostMessage::FindService(fs)) = lost::parse(&find_service(IN_C, true)) else {
        panic!("test request does not parse")
    };
    let body = FindService {
        path: Some(Path {
            vias: vec![CHILD.into()],
        }),
        ..fs
    }
    .to_xml();
    let r = LocClient::new(HttpLog::default(), "test -> ECRF")
        .post(
            &t.url("/lost"),
            MIME_LOST,
            body.into_bytes(),
            Duration::from_secs(10),
        )
        .await
        .expect("answer");
    let m = lost::parse(&r.body).expect("LoST");
    let path = [CHILD.to_owned(), top_source(), CHILD.to_owned()];
    assert_eq!(mapping(&m), Some((PSAP_B, &path[..])), "{m:?}");
    assert_eq!(peer_records(&t), 2);
}
