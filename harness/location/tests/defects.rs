//! Every known defect of ../shared/ref/README.md ("Known defects in the published texts") that
//! touches HELD, LoST or PIDF-LO files is reported as a precise error (variant and detail
//! asserted); where a documented lenient option exists, the lenient parse succeeds and
//! round-trips into the corrected form.

mod common;

use lmpe_location::held::{self, HeldMessage, LocationUriIssue};
use lmpe_location::lost::{self, LostMessage};
use lmpe_location::pidf::{self, shapes::CRS_4326, NS_BASIC_POLICY, NS_GML};
use lmpe_location::{LocationError, ParseOptions};

fn body(file: &str) -> String {
    let text = common::load(file);
    if file.ends_with(".http") {
        common::http_body(&text).1
    } else {
        text
    }
}

fn lenient_lost_rt(file: &str) -> LostMessage {
    let m = lost::parse_with(&body(file), &ParseOptions::lenient())
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    // The corrected output parses strictly.
    let again = lost::parse(&m.to_xml()).unwrap_or_else(|e| panic!("{file} strict re-parse: {e}"));
    assert_eq!(m, again, "{file}");
    m
}

#[test]
fn rfc5222_fig02_doubled_colon_srs_name() {
    let err =
        lost::parse(&body("lost/rfc5222-fig02-findServiceResponse-geodetic.xml")).unwrap_err();
    match err {
        LocationError::MalformedSrsName {
            srs_name,
            canonical,
            defect,
            pos,
        } => {
            assert_eq!(srs_name, "urn:ogc:def::crs:EPSG::4326");
            assert_eq!(canonical, CRS_4326);
            assert!(defect.contains("doubled colon"));
            assert_eq!(pos.line, 14);
        }
        other => panic!("{other:?}"),
    }
    let m = lenient_lost_rt("lost/rfc5222-fig02-findServiceResponse-geodetic.xml");
    assert!(m.to_xml().contains(CRS_4326));
    assert!(!m.to_xml().contains("def::crs"));
}

#[test]
fn rfc5222_fig10_undeclared_p2_prefix() {
    for opts in [ParseOptions::default(), ParseOptions::lenient()] {
        let err = lost::parse_with(
            &body("lost/rfc5222-fig10-getServiceBoundaryResponse.xml"),
            &opts,
        )
        .unwrap_err();
        match err {
            LocationError::UndeclaredPrefix { prefix, name, pos } => {
                assert_eq!(prefix, "p2");
                assert_eq!(name, "p2:Polygon");
                assert_eq!(pos.line, 5);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn rfc5222_figs16_18_p2_bound_to_opengis_root() {
    for f in [
        "lost/rfc5222-fig16-findServiceResponse-baseline-profile.xml",
        "lost/rfc5222-fig18-findServiceResponse-warnings.xml",
    ] {
        // Wrong namespace is reported even with the lenient srsName switch.
        for opts in [ParseOptions::default(), ParseOptions::lenient()] {
            match lost::parse_with(&body(f), &opts).unwrap_err() {
                LocationError::WrongNamespace {
                    element,
                    expected,
                    found,
                    ..
                } => {
                    assert_eq!(element, "Polygon");
                    assert_eq!(expected, NS_GML);
                    assert_eq!(found, "http://www.opengis.net/");
                }
                other => panic!("{f}: {other:?}"),
            }
        }
    }
}

#[test]
fn rfc5222_fig15_missing_crs_version_field() {
    let f = "lost/rfc5222-fig15-findService-multiple-locations-prism.xml";
    match lost::parse(&body(f)).unwrap_err() {
        LocationError::MalformedSrsName {
            srs_name,
            canonical,
            ..
        } => {
            assert_eq!(srs_name, "urn:ogc:def:crs:EPSG:4326");
            assert_eq!(canonical, CRS_4326);
        }
        other => panic!("{other:?}"),
    }
    let LostMessage::FindService(fs) = lenient_lost_rt(f) else {
        panic!()
    };
    assert_eq!(fs.locations.len(), 2);
    assert_eq!(fs.locations[0].id, "ABC 123");
    assert_eq!(
        fs.locations[0].profile.as_deref(),
        Some("not-yet-standardized-prism-profile")
    );
    assert_eq!(
        fs.locations[0].check_profile(),
        Err(lost::ProfileIssue::Unrecognized(
            "not-yet-standardized-prism-profile".into()
        ))
    );
    assert_eq!(fs.locations[1].check_profile(), Ok(()));
    let mut civic_mislabelled = fs.locations[0].clone();
    civic_mislabelled.profile = Some("geodetic-2d".into());
    assert_eq!(
        civic_mislabelled.check_profile(),
        Err(lost::ProfileIssue::ContentMismatch {
            profile: "geodetic-2d",
            element: "Prism".into()
        })
    );
    let p = fs.locations[1].representative_point().unwrap();
    assert_eq!((p.lat, p.lon), (42.656844, -73.348157));
}

#[test]
fn rfc5222_fig06_and_rfc6848_fig09_unqualified_validation_names() {
    match lost::parse(&body(
        "lost/rfc5222-fig06-findServiceResponse-locationValidation.xml",
    ))
    .unwrap_err()
    {
        LocationError::UnqualifiedName {
            element,
            token,
            pos,
        } => {
            assert_eq!(element, "valid");
            assert_eq!(token, "country");
            assert_eq!(pos.line, 26);
        }
        other => panic!("{other:?}"),
    }
    match lost::parse_location_validation(&body(
        "lost/rfc6848-fig09-locationValidation-unqualified.xml",
    ))
    .unwrap_err()
    {
        LocationError::UnqualifiedName { element, token, .. } => {
            assert_eq!(element, "valid");
            assert_eq!(token, "country");
        }
        other => panic!("{other:?}"),
    }
    // Lenient: read as civicAddr names; the output is the RFC 6848 Fig. 10 form.
    let LostMessage::FindServiceResponse(r) =
        lenient_lost_rt("lost/rfc5222-fig06-findServiceResponse-locationValidation.xml")
    else {
        panic!()
    };
    let v = r.location_validation.unwrap();
    let fixed = lost::parse_location_validation(&body(
        "lost/rfc6848-fig10-locationValidation-qualified.xml",
    ))
    .unwrap();
    assert_eq!(
        v, fixed,
        "lenient Fig. 6 equals the corrected RFC 6848 Fig. 10"
    );
    let lenient9 = lost::parse_location_validation_with(
        &body("lost/rfc6848-fig09-locationValidation-unqualified.xml"),
        &ParseOptions::lenient(),
    )
    .unwrap();
    assert_eq!(lenient9, fixed);
}

#[test]
fn rfc4119_historic_forms_are_unsupported() {
    match pidf::parse(&body("pidf-lo/rfc4119-2.3-example-civicLoc.xml")).unwrap_err() {
        LocationError::Unsupported {
            feature,
            detail,
            pos,
        } => {
            assert!(feature.contains("civicLoc"), "{feature}");
            assert!(
                detail.contains("\" urn:ietf:params:xml:ns:pidf:geopriv10:civicLoc\""),
                "leading space visible: {detail}"
            );
            assert_eq!(pos.line, 10);
        }
        other => panic!("{other:?}"),
    }
    match pidf::parse(&body("pidf-lo/rfc4119-2.3-example-gml-point.xml")).unwrap_err() {
        LocationError::Unsupported {
            feature, detail, ..
        } => {
            assert!(feature.contains("pre-RFC 5491 GML"), "{feature}");
            assert!(detail.contains("urn:opengis:specification:gml:schema-xsd:feature:v3.0"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc6753_fig5_basic_policy_namespace() {
    let f = "held/rfc6753-fig5-http-200-locationResponse-pidflo.http";
    match held::parse(&body(f)).unwrap_err() {
        LocationError::WrongNamespace {
            element,
            expected,
            found,
            pos,
        } => {
            assert_eq!(element, "retransmission-allowed");
            assert_eq!(expected, NS_BASIC_POLICY);
            assert_eq!(found, "urn:ietf:params:xml:ns:pidf:geopriv10:basic-policy");
            assert_eq!(pos.line, 16);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rfc5985_10_3_stray_colon_kept_verbatim_and_flagged() {
    let HeldMessage::LocationResponse(r) = held::parse(&body(
        "held/rfc5985-10.3-locationResponse-uris-circle-civic.xml",
    ))
    .unwrap() else {
        panic!()
    };
    let uris = r.location_uri_set.unwrap().uris;
    assert_eq!(uris[1], "sip:9769+357yc6s64ceyoiuy5ax3o@ls.example.com:");
    assert_eq!(held::check_location_uri(&uris[0]), Ok(()));
    assert_eq!(
        held::check_location_uri(&uris[1]),
        Err(LocationUriIssue::EmptyPort)
    );
    assert_eq!(
        held::check_location_uri("sip:9769+357yc6s64ceyoiuy5ax3o@ls.example.com"),
        Ok(())
    );
    assert_eq!(
        held::check_location_uri("https://ls.example.com:/x"),
        Err(LocationUriIssue::EmptyPort)
    );
    assert_eq!(
        held::check_location_uri("ls.example.com"),
        Err(LocationUriIssue::NoScheme)
    );
    assert!(
        matches!(held::check_location_uri("ftp://x/y"), Err(LocationUriIssue::UnexpectedScheme(s)) if s == "ftp")
    );
}

#[test]
fn rfc6155_nai_with_schema_whitespace_parses() {
    // The schema's NAI pattern defect (printed across lines) does not affect the instance.
    let d = held::parse_device(&body("held/rfc6155-3.4-device-nai.xml")).unwrap();
    assert_eq!(
        d.identifiers,
        vec![held::DeviceIdentifier::Nai("user@example.net".into())]
    );
    // The `v` attribute is one hex digit per the schema as published.
    let err = held::parse_device(
        r#"<device xmlns="urn:ietf:params:xml:ns:geopriv:held:id"><ip v="46">192.0.2.1</ip></device>"#,
    )
    .unwrap_err();
    assert!(
        matches!(err, LocationError::InvalidAttribute { attribute: "v", .. }),
        "{err:?}"
    );
}
