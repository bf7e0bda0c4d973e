//! The public API as the LIS/ECRF servers use it: building messages, serialising, and the
//! warning-service rules of draft-rosen-atoca-server-discovery.

use lmpe_location::held::{
    self, ErrorCode, HeldError, HeldMessage, LocationResponse, LocationUriSet,
};
use lmpe_location::lost::warning::WarningUrnError;
use lmpe_location::lost::{
    self, ExceptionKind, Expires, FindService, FindServiceResponse, Location, LostErrors,
    LostException, LostMessage, Mapping, MappingBoundary, Path, ServiceBoundary,
    ServiceBoundaryMode, WarningService, WarningViolation,
};
use lmpe_location::pidf::{
    self, GeoShape, Geopriv, LocationInfo, LocationObject, Polygon, Position, Presence, Shape,
    Tuple,
};
use lmpe_location::{MIME_HELD, MIME_LOST, MIME_PIDF};

fn seed(name: &str) -> String {
    std::fs::read_to_string(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/seeds/").to_owned() + name,
    )
    .expect("seed file")
}

/// Extracts the `n`-th XML example (starting at `<?xml`, ending at the closing root tag) from
/// the seed draft text, dedented.
fn seed_example(text: &str, root: &str, n: usize) -> String {
    let close = format!("</{root}>");
    let mut found = 0;
    let mut rest = text;
    while let Some(start) = rest.find("<?xml") {
        let after = &rest[start..];
        let end = after.find(&close).map(|e| e + close.len());
        let candidate = end.map(|e| &after[..e]);
        if let Some(c) = candidate {
            if c.contains(&format!("<{root}")) && !c[5..].contains("<?xml") {
                if found == n {
                    return c
                        .lines()
                        .map(|l| l.strip_prefix("   ").unwrap_or(l))
                        .collect::<Vec<_>>()
                        .join("\n");
                }
                found += 1;
            }
        }
        rest = &rest[start + 5..];
    }
    panic!("example {n} of {root} not found");
}

fn square(lat: f64, lon: f64, d: f64) -> Polygon {
    let p = |a: f64, b: f64| Position::new(a, b);
    Polygon {
        exterior: vec![
            p(lat, lon),
            p(lat + d, lon),
            p(lat + d, lon + d),
            p(lat, lon + d),
            p(lat, lon),
        ],
        interiors: vec![],
        pos_list: false,
    }
}

fn mapping(service: &str, uris: &[&str]) -> Mapping {
    Mapping {
        display_names: vec![lost::DisplayName {
            lang: "en".into(),
            text: "Alerts".into(),
        }],
        service: Some(service.into()),
        boundary: Some(MappingBoundary::Value(vec![ServiceBoundary {
            profile: Some("geodetic-2d".into()),
            objects: vec![LocationObject::Geodetic {
                shape: GeoShape::new(Shape::Polygon(square(48.0, 11.0, 1.0))),
                in_gml_location: false,
            }],
        }])),
        uris: uris.iter().map(|u| u.to_string()).collect(),
        service_number: None,
        expires: Expires::NoCache,
        last_updated: "2026-11-21T12:00:00Z".into(),
        source: "ecrf.example".into(),
        source_id: "1".into(),
        message: None,
        extensions: vec![],
    }
}

#[test]
fn mime_types() {
    assert_eq!(MIME_HELD, "application/held+xml");
    assert_eq!(MIME_LOST, "application/lost+xml");
    assert_eq!(MIME_PIDF, "application/pidf+xml");
}

#[test]
fn warning_services_are_the_drafts_twelve() {
    assert_eq!(WarningService::ALL.len(), 12);
    let urns: Vec<&str> = WarningService::ALL.iter().map(|s| s.urn()).collect();
    for sub in [
        "geo",
        "met",
        "safety",
        "security",
        "rescue",
        "fire",
        "health",
        "env",
        "transport",
        "infra",
        "cbrne",
    ] {
        assert!(
            urns.contains(&format!("urn:service:warning.{sub}").as_str()),
            "{sub}"
        );
    }
    for s in WarningService::ALL {
        assert_eq!(WarningService::from_urn(s.urn()), Ok(s));
        assert!(!s.description().is_empty());
    }
    assert_eq!(
        WarningService::from_urn("URN:SERVICE:WARNING.MET"),
        Ok(WarningService::Met)
    );
    assert_eq!(
        WarningService::from_urn("urn:service:warning:geo"),
        Err(WarningUrnError::ColonSeparator {
            suggestion: "urn:service:warning.geo"
        })
    );
    assert_eq!(
        WarningService::from_urn("urn:service:warning.tsunami"),
        Err(WarningUrnError::UnknownSubService("tsunami".into()))
    );
    assert_eq!(
        WarningService::from_urn("urn:service:sos"),
        Err(WarningUrnError::NotWarning)
    );
}

#[test]
fn seed_003_examples_parse_and_validate() {
    let text = seed("003_a3a67f14dae45ce1.txt");
    let q = seed_example(&text, "findService", 0);
    let LostMessage::FindService(f) = lost::parse(&q).unwrap() else {
        panic!()
    };
    assert_eq!(f.service.as_deref(), Some("urn:service:warning"));
    // Figure 2 repeats RFC 5222's doubled-colon srsName: strict error, lenient ok.
    let r = seed_example(&text, "findServiceResponse", 0);
    assert!(matches!(
        lost::parse(&r),
        Err(lmpe_location::LocationError::MalformedSrsName { .. })
    ));
    let LostMessage::FindServiceResponse(resp) =
        lost::parse_with(&r, &lmpe_location::ParseOptions::lenient()).unwrap()
    else {
        panic!()
    };
    assert_eq!(lost::validate_warning_response(&resp), Ok(()));
    let l = seed_example(&text, "listServicesByLocationResponse", 0);
    let LostMessage::ListServicesByLocationResponse(l) = lost::parse(&l).unwrap() else {
        panic!()
    };
    assert_eq!(l.services.len(), 6);
    assert!(l
        .services
        .iter()
        .all(|s| WarningService::from_urn(s).is_ok()));
}

#[test]
fn warning_mappings_several_per_location_and_violations() {
    let good = FindServiceResponse {
        mappings: vec![
            mapping(
                "urn:service:warning.met",
                &["sip:met@alerts.example", "http://alerts.example/georss"],
            ),
            mapping("urn:service:warning.met", &["xmpp:met@alerts.example"]),
        ],
        location_validation: None,
        warnings: vec![],
        path: Path {
            vias: vec!["ecrf.example".into()],
        },
        location_used: Some("l1".into()),
        extensions: vec![],
    };
    assert_eq!(lost::validate_warning_response(&good), Ok(()));
    let again = lost::parse(&good.to_xml()).unwrap();
    assert_eq!(again, LostMessage::FindServiceResponse(good.clone()));

    let mut bad = good.clone();
    bad.mappings[1].uris = vec![
        "xmpp:ok@x.example".into(),
        "sips:psap@x.example".into(),
        "https://x.example".into(),
    ];
    bad.mappings[0].service = Some("urn:service:sos".into());
    let v = lost::validate_warning_response(&bad).unwrap_err();
    assert_eq!(v.len(), 3);
    assert!(
        matches!(&v[0], WarningViolation::NotWarningService { mapping: 0, service, .. } if service == "urn:service:sos")
    );
    assert_eq!(
        v[1],
        WarningViolation::DisallowedScheme {
            mapping: 1,
            uri_index: 1,
            uri: "sips:psap@x.example".into(),
            scheme: "sips".into()
        }
    );
    assert!(
        matches!(&v[2], WarningViolation::DisallowedScheme { uri_index: 2, scheme, .. } if scheme == "https")
    );
    assert!(v[1].to_string().contains("only sip, xmpp, http"));
    let single = lost::validate_warning_mapping(&mapping("urn:service:warning", &[])).unwrap_err();
    assert_eq!(single, vec![WarningViolation::NoUri { mapping: 0 }]);
}

#[test]
fn build_find_service_and_boundary_lookup() {
    let fs = FindService {
        locations: vec![Location {
            id: "loc1".into(),
            profile: Some("geodetic-2d".into()),
            objects: vec![LocationObject::Geodetic {
                shape: GeoShape::new(Shape::Point {
                    pos: Position::new(48.5, 11.5),
                }),
                in_gml_location: false,
            }],
        }],
        service: Some("urn:service:sos".into()),
        path: None,
        validate_location: false,
        service_boundary: ServiceBoundaryMode::Value,
        recursive: true,
        extensions: vec![],
    };
    let xml = fs.to_xml();
    assert!(xml.contains("xmlns=\"urn:ietf:params:xml:ns:lost1\""));
    assert!(xml.contains("xmlns:gml=\"http://www.opengis.net/gml\""));
    let LostMessage::FindService(back) = lost::parse(&xml).unwrap() else {
        panic!()
    };
    assert_eq!(back, fs);
    let p = back.locations[0].representative_point().unwrap();
    let m = mapping("urn:service:sos", &["sip:psap@example.com"]);
    let Some(MappingBoundary::Value(b)) = &m.boundary else {
        panic!()
    };
    assert!(b[0].contains(p.lat, p.lon));
    assert!(!b[0].contains(47.9, 11.5));
}

#[test]
fn every_lost_exception_kind_round_trips() {
    let mut errs = LostErrors {
        source: "ecrf.example".into(),
        exceptions: vec![],
        extensions: vec![],
    };
    for k in ExceptionKind::ALL {
        let mut e = LostException::new(k, "text with <markup> & \"quotes\"");
        if k == ExceptionKind::LocationProfileUnrecognized {
            e.unsupported_profiles = vec!["geodetic-3d".into(), "foo".into()];
        }
        errs.exceptions.push(e);
    }
    let LostMessage::Errors(back) = lost::parse(&errs.to_xml()).unwrap() else {
        panic!()
    };
    assert_eq!(back, errs);
    let one = LostErrors::single("ecrf.example", ExceptionKind::NotFound, "no mapping");
    let LostMessage::Errors(back) = lost::parse(&one.to_xml()).unwrap() else {
        panic!()
    };
    assert_eq!(back.exceptions[0].kind, ExceptionKind::NotFound);
    assert_eq!(
        back.exceptions[0].message.as_ref().unwrap().lang.as_deref(),
        Some("en")
    );
    let redirect = lost::Redirect {
        target: "east.example".into(),
        source: "west.example".into(),
        message: None,
        extensions: vec![],
    };
    assert_eq!(
        lost::parse(&redirect.to_xml()).unwrap(),
        LostMessage::Redirect(redirect)
    );
}

#[test]
fn every_held_error_code_round_trips() {
    for code in ErrorCode::ALL
        .into_iter()
        .chain([ErrorCode::Other("futureCode".into())])
    {
        let e = HeldError::new(code.clone(), "Location not available");
        let HeldMessage::Error(back) = held::parse(&e.to_xml()).unwrap() else {
            panic!()
        };
        assert_eq!(back.code, code);
        assert_eq!(back, e);
    }
}

#[test]
fn build_location_response_with_pidf() {
    let presence = Presence {
        entity: "pres:device@lis.example".into(),
        tuples: vec![Tuple {
            id: "t1".into(),
            geopriv: vec![Geopriv {
                location_info: LocationInfo {
                    objects: vec![LocationObject::Geodetic {
                        shape: GeoShape::new(Shape::Circle {
                            center: Position::new(-34.407, 150.88001),
                            radius: 30.0,
                        }),
                        in_gml_location: false,
                    }],
                },
                method: Some("Wiremap".into()),
                ..Geopriv::default()
            }],
            timestamp: Some("2026-11-21T12:00:00Z".into()),
            ..Tuple::default()
        }],
        ..Presence::default()
    };
    let resp = LocationResponse {
        location_uri_set: Some(LocationUriSet {
            expires: "2026-11-22T12:00:00Z".into(),
            uris: vec!["https://lis.example/loc/abc".into()],
        }),
        presence: Some(presence.clone()),
        routing_information: None,
        extensions: vec![],
    };
    let xml = resp.to_xml();
    let HeldMessage::LocationResponse(back) = held::parse(&xml).unwrap() else {
        panic!()
    };
    assert_eq!(back, resp);
    // The PIDF-LO alone (RFC 6753 GET with Accept: application/pidf+xml).
    assert_eq!(pidf::parse(&presence.to_xml()).unwrap(), presence);
    assert_eq!(
        presence.representative_point(),
        Some(Position::new(-34.407, 150.88001))
    );
}
