//! The ECRF and LIS, sans-IO and over HTTP: mappings, errors, faults, dereference, RFC 7840.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use lmpe_location::held::{self, HeldMessage};
use lmpe_location::lost::{self, ExceptionKind, LostMessage, MappingBoundary};
use lmpe_locsvc::http::{serve, LocServices};
use lmpe_locsvc::{
    fill_template, Ecrf, EcrfConfig, EcrfFaults, HttpDirection, Lis, LisConfig, LisFaults,
    LisTable, ServiceAreas, SAMPLE_AREAS, SAMPLE_LIS,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PSAP_A: &str = "sip:psap-a@127.0.0.1:5070";
const PSAP_B: &str = "sip:psap-b@127.0.0.1:5071";
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn areas() -> ServiceAreas {
    let text =
        fill_template(SAMPLE_AREAS, &[("PSAP_A", PSAP_A), ("PSAP_B", PSAP_B)]).expect("template");
    ServiceAreas::from_geojson(&text).expect("sample areas")
}

fn ecrf() -> Ecrf {
    Ecrf::new(areas(), EcrfConfig::default())
}

fn lis() -> Lis {
    Lis::new(
        LisTable::from_json(SAMPLE_LIS).expect("sample LIS table"),
        areas(),
        LisConfig::default(),
    )
}

fn point(lat: f64, lon: f64) -> String {
    format!(
        r#"<gml:Point xmlns:gml="http://www.opengis.net/gml" srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{lat} {lon}</gml:pos></gml:Point>"#
    )
}

/// findService as Kamailio 5.6's lost module writes it.
fn find_service(location: &str, profile: &str, service: &str, boundary: &str) -> String {
    format!(
        r#"<?xml version="1.0"?>
<findService xmlns="urn:ietf:params:xml:ns:lost1" serviceBoundary="{boundary}" recursive="false"><location id="loc1" profile="{profile}">{location}</location><service>{service}</service></findService>"#
    )
}

fn lost_answer(e: &Ecrf, body: &str) -> LostMessage {
    let r = e.handle(body.as_bytes());
    assert_eq!(r.status, 200, "{r:?}");
    lost::parse(&r.body).unwrap_or_else(|err| panic!("answer does not parse: {err}\n{}", r.body))
}

fn mapped_uri(m: &LostMessage) -> Option<&str> {
    match m {
        LostMessage::FindServiceResponse(r) => r.mappings.first()?.uris.first().map(String::as_str),
        _ => None,
    }
}

fn error_kind(m: &LostMessage) -> Option<ExceptionKind> {
    match m {
        LostMessage::Errors(e) => e.exceptions.first().map(|x| x.kind),
        _ => None,
    }
}

#[test]
fn find_service_maps_points_shapes_and_civic_addresses() {
    let e = ecrf();
    let fs = |loc: &str, profile| find_service(loc, profile, "urn:service:sos", "reference");
    let a = lost_answer(&e, &fs(&point(48.2, 16.2), "geodetic-2d"));
    assert_eq!(mapped_uri(&a), Some(PSAP_A));
    let LostMessage::FindServiceResponse(r) = &a else {
        panic!("{a:?}")
    };
    let m = &r.mappings[0];
    assert_eq!(m.display_names[0].text, "PSAP A");
    assert_eq!(m.service_number.as_deref(), Some("112"));
    assert_eq!(m.source_id, "area-a");
    assert_eq!(r.location_used.as_deref(), Some("loc1"));
    assert!(matches!(&m.boundary, Some(MappingBoundary::Reference(b)) if b.key == "area-a"));

    assert_eq!(
        mapped_uri(&lost_answer(&e, &fs(&point(48.2, 16.6), "geodetic-2d"))),
        Some(PSAP_B)
    );
    // A circle straddling the border, mostly in B.
    let circle = r#"<gs:Circle xmlns:gs="http://www.opengis.net/pidflo/1.0" xmlns:gml="http://www.opengis.net/gml" srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>48.2 16.41</gml:pos><gs:radius uom="urn:ogc:def:uom:EPSG::9001">3000</gs:radius></gs:Circle>"#;
    assert_eq!(
        mapped_uri(&lost_answer(&e, &fs(circle, "geodetic-2d"))),
        Some(PSAP_B)
    );
    let civic = r#"<ca:civicAddress xmlns:ca="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr" xml:lang="de"><ca:country>AT</ca:country><ca:A1>Wien</ca:A1><ca:A3>Wien</ca:A3></ca:civicAddress>"#;
    assert_eq!(
        mapped_uri(&lost_answer(&e, &fs(civic, "civic"))),
        Some(PSAP_A)
    );
    // Sub-service and the test forms route like the service.
    for s in [
        "urn:service:sos.fire",
        "urn:service:sos.test",
        "urn:service:test.sos.police",
    ] {
        let q = find_service(&point(48.2, 16.6), "geodetic-2d", s, "reference");
        assert_eq!(mapped_uri(&lost_answer(&e, &q)), Some(PSAP_B), "{s}");
    }
    // By value: the boundary polygon itself.
    let v = lost_answer(
        &e,
        &find_service(
            &point(48.2, 16.2),
            "geodetic-2d",
            "urn:service:sos",
            "value",
        ),
    );
    let LostMessage::FindServiceResponse(r) = &v else {
        panic!("{v:?}")
    };
    assert!(
        matches!(&r.mappings[0].boundary, Some(MappingBoundary::Value(b)) if b[0].contains(48.2, 16.2) && !b[0].contains(48.2, 16.6))
    );
}

#[test]
fn find_service_errors() {
    let e = ecrf();
    let q = |loc: &str, s: &str| find_service(loc, "geodetic-2d", s, "reference");
    assert_eq!(
        error_kind(&lost_answer(&e, &q(&point(47.0, 10.0), "urn:service:sos"))),
        Some(ExceptionKind::NotFound)
    );
    assert_eq!(
        error_kind(&lost_answer(
            &e,
            &q(&point(48.2, 16.2), "urn:service:counseling")
        )),
        Some(ExceptionKind::ServiceNotImplemented)
    );
    assert_eq!(
        error_kind(&lost_answer(&e, &q(&point(95.0, 16.2), "urn:service:sos"))),
        Some(ExceptionKind::LocationInvalid)
    );
    assert_eq!(
        error_kind(&lost_answer(&e, "<not-lost/>")),
        Some(ExceptionKind::BadRequest)
    );
    assert_eq!(
        error_kind(&lost_answer(&e, "\u{0}garbage")),
        Some(ExceptionKind::BadRequest)
    );
}

#[test]
fn list_services_and_boundaries() {
    let e = ecrf();
    let ls = r#"<listServices xmlns="urn:ietf:params:xml:ns:lost1"/>"#;
    let LostMessage::ListServicesResponse(r) = lost_answer(&e, ls) else {
        panic!("listServices")
    };
    assert_eq!(r.services, ["urn:service:sos"]);
    let lsl = format!(
        r#"<listServicesByLocation xmlns="urn:ietf:params:xml:ns:lost1"><location id="x" profile="geodetic-2d">{}</location></listServicesByLocation>"#,
        point(48.2, 16.2)
    );
    let LostMessage::ListServicesByLocationResponse(r) = lost_answer(&e, &lsl) else {
        panic!("listServicesByLocation")
    };
    assert_eq!(r.services, ["urn:service:sos"]);
    assert_eq!(r.location_used.as_deref(), Some("x"));
    let gsb = r#"<getServiceBoundary xmlns="urn:ietf:params:xml:ns:lost1" key="area-b"/>"#;
    let LostMessage::GetServiceBoundaryResponse(r) = lost_answer(&e, gsb) else {
        panic!("getServiceBoundary")
    };
    assert!(r.boundaries[0].contains(48.2, 16.6));
    let unknown = gsb.replace("area-b", "area-z");
    assert_eq!(
        error_kind(&lost_answer(&e, &unknown)),
        Some(ExceptionKind::NotFound)
    );
}

#[test]
fn ecrf_faults_break_the_answer_as_named() {
    let q = find_service(
        &point(48.2, 16.2),
        "geodetic-2d",
        "urn:service:sos",
        "reference",
    );
    let with = |name: &str| {
        let mut e = ecrf();
        e.set_faults(EcrfFaults::from_name(name).expect("fault"));
        e.handle(q.as_bytes())
    };
    assert!(lost::parse(&with("ecrf-not-xml").body).is_err());
    assert!(lost::parse(&with("ecrf-malformed-xml").body).is_err());
    let wrong_ns = with("ecrf-wrong-namespace").body;
    assert!(wrong_ns.contains("urn:ietf:params:xml:ns:lost2") && lost::parse(&wrong_ns).is_err());
    assert_eq!(with("ecrf-slow").delay, Duration::from_secs(5));
    assert_eq!(with("ecrf-http-error").status, 500);
    let oversize = with("ecrf-oversize-coordinates").body;
    assert!(oversize.contains(&"0".repeat(300)), "{oversize}");
    let wrong = lost::parse(&with("ecrf-wrong-psap").body).expect("parses");
    assert_eq!(mapped_uri(&wrong), Some(PSAP_B));
    let nf = lost::parse(&with("ecrf-notfound-always").body).expect("parses");
    assert_eq!(error_kind(&nf), Some(ExceptionKind::NotFound));
}

const CIVIC_NS: &str = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr";

/// A civic findService asking for validation (RFC 5222 8.3.5).
fn validate_civic(a3: &str) -> String {
    let civic = format!(
        r#"<ca:civicAddress xmlns:ca="{CIVIC_NS}" xmlns:cae="urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr:ext" xml:lang="de"><ca:country>AT</ca:country><ca:A1>Wien</ca:A1><ca:A3>{a3}</ca:A3><ca:RD>Karlsplatz</ca:RD><ca:HNO>13</ca:HNO><cae:HNP>A</cae:HNP></ca:civicAddress>"#
    );
    find_service(&civic, "civic", "urn:service:sos", "reference").replace(
        "recursive=\"false\"",
        "recursive=\"false\" validateLocation=\"true\"",
    )
}

fn locals(l: &Option<Vec<lmpe_location::QualifiedName>>) -> Vec<(String, String)> {
    l.iter()
        .flatten()
        .map(|q| (q.ns.clone(), q.local.clone()))
        .collect()
}

#[test]
fn validate_location_lists_each_civic_element_once_with_qualified_names() {
    let e = ecrf();
    let ns = |local: &str| (CIVIC_NS.to_owned(), local.to_owned());
    let ext = |local: &str| (format!("{CIVIC_NS}:ext"), local.to_owned());
    // A wrong A3 under a known country/A1: still mapped (by A1), A3 invalid.
    let q = validate_civic("Nirgendwo");
    let r = e.handle(q.as_bytes());
    assert!(r.body.contains("ca:A3"), "{}", r.body);
    let LostMessage::FindServiceResponse(f) = lost_answer(&e, &q) else {
        panic!("not a findServiceResponse")
    };
    assert_eq!(f.mappings[0].uris, [PSAP_A]);
    let v = f.location_validation.expect("locationValidation");
    assert_eq!(locals(&v.valid), [ns("country"), ns("A1")]);
    assert_eq!(locals(&v.invalid), [ns("A3")]);
    assert_eq!(locals(&v.unchecked), [ns("RD"), ns("HNO"), ext("HNP")]);
    // The right A3 is valid.
    let LostMessage::FindServiceResponse(f) = lost_answer(&e, &validate_civic("Wien")) else {
        panic!("not a findServiceResponse")
    };
    let v = f.location_validation.expect("locationValidation");
    assert_eq!(locals(&v.valid), [ns("country"), ns("A1"), ns("A3")]);
    assert_eq!(v.invalid, None);
    // Without validateLocation, and for a geodetic location (RFC 5222 validates civic
    // location only), there is no locationValidation.
    let plain = validate_civic("Wien").replace(" validateLocation=\"true\"", "");
    let LostMessage::FindServiceResponse(f) = lost_answer(&e, &plain) else {
        panic!("not a findServiceResponse")
    };
    assert_eq!(f.location_validation, None);
    let geo = find_service(
        &point(48.2, 16.2),
        "geodetic-2d",
        "urn:service:sos",
        "reference",
    )
    .replace("recursive=\"false\"", "validateLocation=\"true\"");
    let LostMessage::FindServiceResponse(f) = lost_answer(&e, &geo) else {
        panic!("not a findServiceResponse")
    };
    assert_eq!(f.mappings[0].uris, [PSAP_A]);
    assert_eq!(f.location_validation, None);
}

#[test]
fn ecrf_unqualified_validation_writes_the_rfc5222_fig6_defect() {
    let mut e = ecrf();
    e.set_faults(EcrfFaults::from_name("ecrf-unqualified-validation").expect("fault"));
    let r = e.handle(validate_civic("Nirgendwo").as_bytes());
    assert!(r.body.contains("<invalid>A3</invalid>"), "{}", r.body);
    let err = lost::parse(&r.body).expect_err("strict parse rejects unqualified names");
    assert!(
        matches!(err, lmpe_location::LocationError::UnqualifiedName { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("RFC 6848"), "{err}");
    // Read leniently, the names are the civicAddr ones: only the qualification is wrong.
    let lenient = lost::parse_with(&r.body, &lmpe_location::ParseOptions::lenient());
    let Ok(LostMessage::FindServiceResponse(f)) = lenient else {
        panic!("lenient parse: {lenient:?}")
    };
    let v = f.location_validation.expect("locationValidation");
    assert_eq!(locals(&v.invalid), [(CIVIC_NS.to_owned(), "A3".to_owned())]);
    // Geodetic requests and requests without validation are unaffected.
    let q = find_service(
        &point(48.2, 16.2),
        "geodetic-2d",
        "urn:service:sos",
        "reference",
    );
    assert_eq!(mapped_uri(&lost_answer(&e, &q)), Some(PSAP_A));
}

fn held_answer(l: &mut Lis, path: &str, body: &str, client: IpAddr) -> HeldMessage {
    let r = l.handle(path, body.as_bytes(), client);
    assert_eq!(r.status, 200, "{r:?}");
    held::parse(&r.body).unwrap_or_else(|e| panic!("answer does not parse: {e}\n{}", r.body))
}

const BY_SOURCE_IP: &str = r#"<locationRequest xmlns="urn:ietf:params:xml:ns:geopriv:held" responseTime="emergencyRouting"><locationType exact="false">any</locationType></locationRequest>"#;

fn by_uri(uri: &str, extra: &str) -> String {
    format!(
        r#"<locationRequest xmlns="urn:ietf:params:xml:ns:geopriv:held"><locationType exact="false">geodetic locationURI</locationType><device xmlns="urn:ietf:params:xml:ns:geopriv:held:id"><uri>{uri}</uri></device>{extra}</locationRequest>"#
    )
}

const ROUTING: &str =
    r#"<requestRoutingInformation xmlns="urn:ietf:params:xml:ns:geopriv:held:ri"/>"#;

#[test]
fn lis_answers_by_source_ip_and_identity_and_dereferences() {
    let mut l = lis();
    let HeldMessage::LocationResponse(r) = held_answer(&mut l, "/held", BY_SOURCE_IP, LOCALHOST)
    else {
        panic!("locationResponse")
    };
    let p = r.presence.expect("location by value");
    let pos = p.representative_point().expect("a point");
    assert_eq!((pos.lat, pos.lon), (48.2, 16.2));
    let uri = r.location_uri_set.expect("location URIs").uris[0].clone();
    assert!(uri.starts_with("http://127.0.0.1/loc/"), "{uri}");
    // Dereference (RFC 6753): POST to the minted URI.
    let path = uri.trim_start_matches("http://127.0.0.1");
    let HeldMessage::LocationResponse(d) = held_answer(&mut l, path, BY_SOURCE_IP, LOCALHOST)
    else {
        panic!("dereference")
    };
    assert!(d.location_uri_set.is_none() && d.presence.is_some());
    // Unknown URI: 404.
    assert_eq!(l.handle("/loc/nope", b"", LOCALHOST).status, 404);
    // Unknown device.
    let HeldMessage::Error(e) = held_answer(
        &mut l,
        "/held",
        BY_SOURCE_IP,
        "127.0.0.9".parse().expect("ip"),
    ) else {
        panic!("error")
    };
    assert_eq!(e.code, held::ErrorCode::LocationUnknown);
    // By identity: a circle in B.
    let HeldMessage::LocationResponse(r) = held_answer(
        &mut l,
        "/held",
        &by_uri("sip:app-b@127.0.0.1", ""),
        LOCALHOST,
    ) else {
        panic!("by identity")
    };
    assert_eq!(
        r.presence
            .and_then(|p| p.representative_point())
            .map(|p| p.lon),
        Some(16.6)
    );
    // Civic only, exact geodetic asked: cannotProvideLiType.
    let exact = by_uri("sip:app-civic@127.0.0.1", "").replace(
        "exact=\"false\">geodetic locationURI",
        "exact=\"true\">geodetic",
    );
    let HeldMessage::Error(e) = held_answer(&mut l, "/held", &exact, LOCALHOST) else {
        panic!("cannotProvideLiType")
    };
    assert_eq!(e.code, held::ErrorCode::CannotProvideLiType);
}

#[test]
fn lis_routing_information_rfc7840() {
    let routed =
        |l: &mut Lis, uri: &str| match held_answer(l, "/held", &by_uri(uri, ROUTING), LOCALHOST) {
            HeldMessage::LocationResponse(r) => r.routing_information,
            other => panic!("{other:?}"),
        };
    let mut l = lis();
    let ri = routed(&mut l, "sip:app-b@127.0.0.1").expect("routing information");
    assert_eq!(ri.services[0].service_uri, "urn:service:sos");
    assert_eq!(ri.services[0].dests, [PSAP_B]);
    // The straddling circle goes where most of it is (B).
    let ri = routed(&mut l, "sip:app-straddle@127.0.0.1").expect("routing information");
    assert_eq!(ri.services[0].dests, [PSAP_B]);
    // No area: location without routing.
    assert!(routed(&mut l, "sip:app-nowhere@127.0.0.1").is_none());
    // A LIS that does not understand RFC 7840 ignores the request; the fault drops it.
    let mut plain = Lis::new(
        LisTable::from_json(SAMPLE_LIS).expect("table"),
        areas(),
        LisConfig {
            routing_support: false,
            ..LisConfig::default()
        },
    );
    assert!(routed(&mut plain, "sip:app-b@127.0.0.1").is_none());
    let mut faulty = lis();
    faulty.set_faults(LisFaults::from_name("lis-no-routing").expect("fault"));
    assert!(routed(&mut faulty, "sip:app-b@127.0.0.1").is_none());
}

#[test]
fn lis_faults() {
    let mut l = lis();
    l.set_base_url("http://127.0.0.1:8080");
    l.set_faults(LisFaults::from_name("lis-bad-uri").expect("fault"));
    let HeldMessage::LocationResponse(r) = held_answer(&mut l, "/held", BY_SOURCE_IP, LOCALHOST)
    else {
        panic!("locationResponse")
    };
    let uri = r.location_uri_set.expect("uris").uris[0].clone();
    assert!(uri.starts_with("http://127.0.0.1:/loc/"), "{uri}");
    assert_eq!(
        held::check_location_uri(&uri),
        Err(held::LocationUriIssue::EmptyPort)
    );
    l.set_faults(LisFaults::from_name("lis-not-xml").expect("fault"));
    assert!(held::parse(&l.handle("/held", BY_SOURCE_IP.as_bytes(), LOCALHOST).body).is_err());
    l.set_faults(LisFaults::from_name("lis-location-unknown").expect("fault"));
    let HeldMessage::Error(e) = held_answer(&mut l, "/held", BY_SOURCE_IP, LOCALHOST) else {
        panic!("error")
    };
    assert_eq!(e.code, held::ErrorCode::LocationUnknown);
}

/// One HTTP/1.1 exchange over a fresh connection; returns the raw response.
async fn http_post(addr: SocketAddr, path: &str, ctype: &str, body: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("answer in time")
        .expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn http_binding_serves_both_and_logs_every_message() {
    let server = serve(
        "127.0.0.1:0".parse().expect("addr"),
        LocServices {
            ecrf: Some(ecrf()),
            lis: Some(lis()),
        },
    )
    .await
    .expect("serve");
    let addr = server.local_addr();
    let q = find_service(
        &point(48.2, 16.6),
        "geodetic-2d",
        "urn:service:sos",
        "reference",
    );
    let resp = http_post(addr, "/lost", "application/lost+xml;charset=utf-8", &q).await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp
        .to_ascii_lowercase()
        .contains("content-type: application/lost+xml"));
    assert!(resp.contains(PSAP_B), "{resp}");
    // Wrong content type: 415; GET: 405; unknown path: 404.
    assert!(http_post(addr, "/lost", "text/plain", &q)
        .await
        .starts_with("HTTP/1.1 415"));
    assert!(http_post(addr, "/nowhere", "application/lost+xml", &q)
        .await
        .starts_with("HTTP/1.1 404"));
    // The LIS mints URIs on the bound address, and they dereference over HTTP.
    let held_resp = http_post(addr, "/held", "application/held+xml", BY_SOURCE_IP).await;
    let base = format!("http://{addr}/loc/");
    let start = held_resp.find(&base).expect("a minted location URI");
    let token: String = held_resp[start + base.len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let deref = http_post(
        addr,
        &format!("/loc/{token}"),
        "application/held+xml",
        BY_SOURCE_IP,
    )
    .await;
    assert!(
        deref.starts_with("HTTP/1.1 200") && deref.contains("48.2 16.2"),
        "{deref}"
    );

    let log = server.log().records();
    assert_eq!(log.len(), 10, "{log:#?}");
    let first = &log[0];
    assert_eq!(first.direction, HttpDirection::Request);
    assert_eq!(first.start_line, "POST /lost HTTP/1.1");
    assert_eq!(first.note, "ECRF");
    assert_eq!(first.dst, addr);
    assert!(first.body.contains("findService"));
    assert!(first
        .headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with("application/lost+xml")));
    let second = &log[1];
    assert_eq!(second.direction, HttpDirection::Response);
    assert_eq!(second.start_line, "HTTP/1.1 200 OK");
    assert_eq!(second.src, addr);
    assert!(second.body.contains(PSAP_B));

    // Faults can be switched on a running server.
    server.with_services(|s| {
        if let Some(e) = s.ecrf.as_mut() {
            e.set_faults(EcrfFaults::from_name("ecrf-notfound-always").expect("fault"));
        }
    });
    let nf = http_post(addr, "/lost", "application/lost+xml", &q).await;
    assert!(nf.contains("notFound"), "{nf}");
    server.shutdown().await;
}

#[test]
fn no_input_makes_the_services_panic() {
    let e = ecrf();
    let mut l = lis();
    // Every prefix of valid requests, and a self-intersecting ("bow-tie") polygon.
    let bowtie = r#"<gml:Polygon xmlns:gml="http://www.opengis.net/gml" srsName="urn:ogc:def:crs:EPSG::4326"><gml:exterior><gml:LinearRing><gml:pos>48.1 16.3</gml:pos><gml:pos>48.3 16.5</gml:pos><gml:pos>48.1 16.5</gml:pos><gml:pos>48.3 16.3</gml:pos><gml:pos>48.1 16.3</gml:pos></gml:LinearRing></gml:exterior></gml:Polygon>"#;
    let lost_reqs = [
        find_service(
            &point(48.2, 16.2),
            "geodetic-2d",
            "urn:service:sos",
            "value",
        ),
        find_service(bowtie, "geodetic-2d", "urn:service:sos", "reference"),
    ];
    for req in &lost_reqs {
        for cut in 0..=req.len() {
            let r = e.handle(&req.as_bytes()[..cut]);
            assert_eq!(r.status, 200);
            assert!(lost::parse(&r.body).is_ok(), "{cut}: {}", r.body);
        }
    }
    let bow = lost_answer(&e, &lost_reqs[1]);
    assert!(
        matches!(
            bow,
            LostMessage::FindServiceResponse(_) | LostMessage::Errors(_)
        ),
        "{bow:?}"
    );
    let held_req = by_uri("sip:app-b@127.0.0.1", ROUTING);
    for cut in 0..=held_req.len() {
        let r = l.handle("/held", &held_req.as_bytes()[..cut], LOCALHOST);
        assert!(held::parse(&r.body).is_ok(), "{cut}: {}", r.body);
    }
    for bytes in [
        &b"\xff\xfe\x00"[..],
        b"<",
        b"<?xml version='1.0'?>",
        &[0u8; 64],
    ] {
        assert_eq!(e.handle(bytes).status, 200);
        assert!(held::parse(&l.handle("/held", bytes, LOCALHOST).body).is_ok());
        assert_eq!(
            l.handle("/loc/../../etc/passwd", bytes, LOCALHOST).status,
            404
        );
    }
}
