//! Every reference example in shared/ref/{held,lost,pidf-lo} parses and round-trips
//! (parse -> to_xml -> parse gives an equal value). Files with a known published defect are
//! covered in `defects.rs` and listed here so that no file is silently skipped.

mod common;

use lmpe_location::held::{self, HeldMessage};
use lmpe_location::lost::{self, LostMessage};
use lmpe_location::pidf::{self, LocationObject, Shape};
use lmpe_location::{LocationError, ParseOptions};

/// Files whose published text has a known defect (asserted in defects.rs) or no XML body.
const DEFECTIVE: &[&str] = &[
    "held/rfc6753-fig5-http-200-locationResponse-pidflo.http",
    "lost/rfc5222-fig02-findServiceResponse-geodetic.xml",
    "lost/rfc5222-fig06-findServiceResponse-locationValidation.xml",
    "lost/rfc5222-fig10-getServiceBoundaryResponse.xml",
    "lost/rfc5222-fig15-findService-multiple-locations-prism.xml",
    "lost/rfc5222-fig16-findServiceResponse-baseline-profile.xml",
    "lost/rfc5222-fig18-findServiceResponse-warnings.xml",
    "lost/rfc6848-fig09-locationValidation-unqualified.xml",
    "pidf-lo/rfc4119-2.3-example-civicLoc.xml",
    "pidf-lo/rfc4119-2.3-example-gml-point.xml",
];

fn body(file: &str) -> String {
    let text = common::load(file);
    if file.ends_with(".http") {
        common::http_body(&text).1
    } else {
        text
    }
}

fn held_rt(file: &str) -> HeldMessage {
    let m = held::parse(&body(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let again = held::parse(&m.to_xml()).unwrap_or_else(|e| panic!("{file} re-parse: {e}"));
    assert_eq!(m, again, "{file}");
    m
}

fn lost_rt(file: &str) -> LostMessage {
    let m = lost::parse(&body(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let again = lost::parse(&m.to_xml()).unwrap_or_else(|e| panic!("{file} re-parse: {e}"));
    assert_eq!(m, again, "{file}");
    m
}

fn pidf_rt(file: &str) -> pidf::Presence {
    let p = pidf::parse(&body(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let again = pidf::parse(&p.to_xml()).unwrap_or_else(|e| panic!("{file} re-parse: {e}"));
    assert_eq!(p, again, "{file}");
    p
}

#[test]
fn every_held_example_round_trips() {
    let mut n = 0;
    for f in common::files("held", &[".xml", ".http"]) {
        if DEFECTIVE.contains(&f.as_str()) {
            continue;
        }
        let b = body(&f);
        if f.contains("rfc6155-3.") {
            let d = held::parse_device(&b).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert!(!d.identifiers.is_empty(), "{f}");
            assert_eq!(held::parse_device(&d.to_xml()).unwrap(), d, "{f}");
        } else if f.contains("fig6-http-get") || f.contains("fig7-http-get") {
            assert!(b.trim().is_empty(), "{f}: GET has no body");
        } else if f.contains("fig8-http-200-pidf") {
            let p = pidf_rt(&f);
            assert!(p.tuples.is_empty());
        } else {
            held_rt(&f);
        }
        n += 1;
    }
    assert_eq!(n, 28);
}

#[test]
fn every_lost_example_round_trips() {
    let mut n = 0;
    for f in common::files("lost", &[".xml"]) {
        if DEFECTIVE.contains(&f.as_str()) {
            continue;
        }
        if f.contains("rfc6848") {
            let v =
                lost::parse_location_validation(&body(&f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(lost::parse_location_validation(&v.to_xml()).unwrap(), v);
        } else {
            lost_rt(&f);
        }
        n += 1;
    }
    assert_eq!(n, 15);
}

#[test]
fn every_pidf_example_round_trips() {
    let mut n = 0;
    for f in common::files("pidf-lo", &[".xml"]) {
        if DEFECTIVE.contains(&f.as_str()) {
            continue;
        }
        if f.contains("civicAddress") {
            let c = pidf::parse_civic_address(&body(&f)).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(pidf::parse_civic_address(&c.to_xml()).unwrap(), c, "{f}");
        } else {
            pidf_rt(&f);
        }
        n += 1;
    }
    assert_eq!(n, 19);
}

#[test]
fn http_examples_declare_the_mime_type_of_their_body() {
    for f in common::files("held", &[".http"]) {
        let (head, body) = common::http_body(&common::load(&f));
        let ct = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: "))
            .map(|v| v.split(';').next().unwrap_or("").trim().to_owned());
        match ct.as_deref() {
            Some(lmpe_location::MIME_HELD) => assert!(
                held::parse_with(&body, &ParseOptions::default()).is_ok() || f.contains("fig5"),
                "{f}"
            ),
            Some(lmpe_location::MIME_PIDF) => assert!(pidf::parse(&body).is_ok(), "{f}"),
            None => assert!(body.trim().is_empty() && head.starts_with("GET "), "{f}"),
            Some(other) => panic!("{f}: unexpected Content-Type {other}"),
        }
    }
}

#[test]
fn held_values() {
    let HeldMessage::LocationRequest(r) =
        held_rt("held/rfc5985-10.3-locationRequest-multiple-types-exact.xml")
    else {
        panic!()
    };
    let lt = r.location_type.unwrap();
    assert!(lt.exact);
    assert_eq!(
        lt.kinds.unwrap(),
        vec![
            held::LocationKind::Geodetic,
            held::LocationKind::Civic,
            held::LocationKind::LocationUri
        ]
    );

    let HeldMessage::LocationRequest(r) =
        held_rt("held/rfc6155-fig1-locationRequest-device-ip.xml")
    else {
        panic!()
    };
    assert_eq!(r.response_time, Some(held::ResponseTime::Milliseconds(8)));
    assert_eq!(
        r.device.unwrap().identifiers,
        vec![held::DeviceIdentifier::Ip {
            version: "4".into(),
            address: "192.0.2.5".into()
        }]
    );

    let HeldMessage::LocationRequest(r) =
        held_rt("held/rfc7840-fig3-locationRequest-requestRoutingInformation-flow.xml")
    else {
        panic!()
    };
    assert_eq!(r.response_time, Some(held::ResponseTime::EmergencyRouting));
    assert_eq!(
        r.request_routing_information.unwrap().effective_service(),
        "urn:service:sos"
    );
    let flow = r.flow.unwrap();
    assert_eq!(flow.layer4, held::Layer4::Tcp);
    assert_eq!(flow.dst.port, 80);

    let HeldMessage::LocationResponse(r) =
        held_rt("held/rfc7840-fig5-locationResponse-defaultRoute.xml")
    else {
        panic!()
    };
    let ri = r.routing_information.unwrap();
    assert!(ri.services[0].default_route);
    assert_eq!(ri.services[0].service_uri, "urn:service:sos");
    assert_eq!(ri.services[0].dests.len(), 3);
    assert_eq!(
        r.location_uri_set.unwrap().expires,
        "2016-01-01T13:00:00.0Z"
    );

    let HeldMessage::Error(e) =
        held_rt("held/rfc6155-fig2-error-badIdentifier-requiredIdentifiers.xml")
    else {
        panic!()
    };
    assert_eq!(e.code, held::ErrorCode::BadIdentifier);
    assert_eq!(e.messages[0].lang.as_deref(), Some("en"));
    let ids = e.required_identifiers.unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0].ns, held::NS_HELD_ID);
    assert_eq!(ids[0].local, "mac");

    let HeldMessage::LocationResponse(r) =
        held_rt("held/rfc5985-10.1-http-200-locationResponse-pidflo.http")
    else {
        panic!()
    };
    let p = r.presence.unwrap();
    let pt = p.representative_point().unwrap();
    assert_eq!((pt.lat, pt.lon), (-34.407, 150.88001));
}

#[test]
fn dereference_get_is_the_fig1_request() {
    let HeldMessage::LocationRequest(r) =
        held_rt("held/rfc6753-fig1-locationRequest-GET-equivalent.xml")
    else {
        panic!()
    };
    assert_eq!(r, held::LocationRequest::dereference_get_equivalent());
    let HeldMessage::LocationRequest(min) =
        held_rt("held/rfc6753-fig4-http-post-minimal-dereference.http")
    else {
        panic!()
    };
    assert_eq!(
        min.dereference_kinds(),
        vec![held::LocationKind::Geodetic, held::LocationKind::Civic]
    );
    let (head, _) = common::http_body(&common::load(
        "held/rfc6753-fig7-http-get-content-negotiation.http",
    ));
    assert!(head.contains(lmpe_location::MIME_PIDF) && head.contains(lmpe_location::MIME_HELD));
}

#[test]
fn lost_values() {
    let LostMessage::FindService(f) =
        lost_rt("lost/rfc5222-fig05-findService-validateLocation.xml")
    else {
        panic!()
    };
    assert!(f.validate_location && f.recursive);
    assert_eq!(f.service_boundary, lost::ServiceBoundaryMode::Value);
    assert_eq!(f.locations[0].check_profile(), Ok(()));
    let LocationObject::Civic(ca) = &f.locations[0].objects[0] else {
        panic!()
    };
    assert_eq!(ca.country.as_deref(), Some("DE"));
    assert_eq!(ca.hno.as_deref(), Some("6"));

    let LostMessage::FindServiceResponse(r) =
        lost_rt("lost/rfc5222-fig08-findServiceResponse-serviceBoundaryReference.xml")
    else {
        panic!()
    };
    let m = &r.mappings[0];
    assert_eq!(m.display_names[0].lang, "en");
    assert_eq!(m.display_names[0].text, "New York City Police Department");
    assert_eq!(m.service_number.as_deref(), Some("911"));
    assert_eq!(m.expires, lost::Expires::At("2007-01-01T01:44:33Z".into()));
    assert!(
        matches!(&m.boundary, Some(lost::MappingBoundary::Reference(b)) if b.key == "7214148E0433AFE2FA2D48003D31172E")
    );
    assert_eq!(
        r.path.vias,
        vec!["resolver.example", "authoritative.example"]
    );
    assert_eq!(r.location_used.as_deref(), Some("6020688f1ce1896d"));

    let LostMessage::ListServicesResponse(l) =
        lost_rt("lost/rfc5222-fig12-listServicesResponse.xml")
    else {
        panic!()
    };
    assert_eq!(l.services.len(), 9);

    let LostMessage::Errors(e) = lost_rt("lost/rfc5222-fig17-errors-internalError.xml") else {
        panic!()
    };
    assert_eq!(e.source, "resolver.example");
    assert_eq!(e.exceptions[0].kind, lost::ExceptionKind::InternalError);
    assert_eq!(
        e.exceptions[0].message.as_ref().unwrap().text,
        "Software bug."
    );

    let LostMessage::Redirect(r) = lost_rt("lost/rfc5222-fig19-redirect.xml") else {
        panic!()
    };
    assert_eq!(r.target, "eastpsap.example");
    assert_eq!(r.message.unwrap().lang.as_deref(), Some("en"));

    let v = lost::parse_location_validation(&body(
        "lost/rfc6848-fig11-locationValidation-qualified-extensions.xml",
    ))
    .unwrap();
    let valid = v.valid.unwrap();
    assert_eq!(valid.len(), 6);
    assert_eq!(valid[4].ns, pidf::NS_CIVIC_ADDR_EXT);
    assert_eq!(valid[4].local, "PN");
}

#[test]
fn pidf_shapes_values() {
    let shape = |f: &str| pidf_rt(f).shapes().next().unwrap().clone();
    assert!(
        matches!(shape("pidf-lo/rfc5491-fig05-point-3d.xml").shape, Shape::Point { pos } if pos.alt == Some(24.8))
    );
    assert!(
        matches!(shape("pidf-lo/rfc5491-fig09-circle.xml").shape, Shape::Circle { radius, .. } if radius == 850.24)
    );
    assert!(
        matches!(shape("pidf-lo/rfc5491-fig10-ellipse.xml").shape, Shape::Ellipse { orientation, .. } if orientation == 43.2)
    );
    assert!(
        matches!(shape("pidf-lo/rfc5491-fig12-arcband.xml").shape, Shape::ArcBand { outer_radius, .. } if outer_radius == 4148.0)
    );
    assert!(matches!(
        shape("pidf-lo/rfc5491-fig13-sphere.xml").shape,
        Shape::Sphere { .. }
    ));
    assert!(
        matches!(shape("pidf-lo/rfc5491-fig15-ellipsoid.xml").shape, Shape::Ellipsoid { vertical, .. } if vertical == 28.7)
    );
    let prism = shape("pidf-lo/rfc5491-fig17-prism.xml");
    assert!(
        matches!(&prism.shape, Shape::Prism { height, base } if *height == 2.4 && base.exterior.len() == 5 && base.pos_list)
    );
    let a = shape("pidf-lo/rfc5491-fig07-polygon.xml");
    let b = shape("pidf-lo/rfc5491-fig08-polygon-compact-posList.xml");
    assert_eq!(
        a.shape.positions(),
        b.shape.positions(),
        "pos list and posList encode the same ring"
    );
    let poly = a.shape.polygon().unwrap();
    let c = a.shape.representative_point().unwrap();
    assert!(poly.contains(c.lat, c.lon));
    assert!(!poly.contains(0.0, 0.0));

    let p = pidf_rt("pidf-lo/rfc6442-5.2-pidflo-device-point-person-civic.xml");
    assert_eq!(p.devices[0].device_ids, vec!["mac:1234567890ab"]);
    assert!(matches!(
        p.devices[0].geopriv[0].location_info.objects[0],
        LocationObject::Geodetic {
            in_gml_location: true,
            ..
        }
    ));
    assert_eq!(
        p.persons[0].geopriv[0].usage_rules.retransmission_allowed,
        Some(false)
    );
    assert_eq!(
        p.civic_addresses().next().unwrap().nam.as_deref(),
        Some("Haley's Place")
    );

    let ext = pidf::parse_civic_address(&body(
        "pidf-lo/rfc6848-fig2-civicAddress-extension-bridge.xml",
    ))
    .unwrap();
    assert_eq!(ext.extensions.len(), 1);
    assert_eq!(ext.extensions[0].name, "bridge");
    assert_eq!(
        ext.extensions[0].ns,
        "http://devon.canals.example.com/civic"
    );
    let pn =
        pidf::parse_civic_address(&body("pidf-lo/rfc6848-fig7-civicAddress-PN-MP.xml")).unwrap();
    assert_eq!(pn.ext.mp.as_deref(), Some("248"));
}

#[test]
fn fragments_reject_wrong_roots() {
    assert!(matches!(
        held::parse_device("<mac xmlns='urn:ietf:params:xml:ns:geopriv:held:id'/>"),
        Err(LocationError::WrongRoot { .. })
    ));
    assert!(matches!(
        pidf::parse_civic_address_with("<civicAddress/>", &ParseOptions::default()),
        Err(LocationError::WrongNamespace { .. })
    ));
}
