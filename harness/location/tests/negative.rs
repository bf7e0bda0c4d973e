//! Hostile and broken input: every case is a precise error, never a panic.

mod common;

use lmpe_location::{held, lost, pidf, LocationError, ParseOptions};

const POINT_FS: &str = r#"<findService xmlns="urn:ietf:params:xml:ns:lost1" xmlns:gml="http://www.opengis.net/gml">
<location id="l1" profile="geodetic-2d"><gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>LAT LON</gml:pos></gml:Point></location>
<service>urn:service:sos</service></findService>"#;

fn fs(lat: &str, lon: &str) -> String {
    POINT_FS.replace("LAT", lat).replace("LON", lon)
}

#[test]
fn valid_point_baseline() {
    let m = lost::parse(&fs("48.1", "11.5")).unwrap();
    let lost::LostMessage::FindService(f) = m else {
        panic!()
    };
    let p = f.locations[0].representative_point().unwrap();
    assert_eq!((p.lat, p.lon), (48.1, 11.5));
}

#[test]
fn truncated_xml() {
    let doc = fs("48.1", "11.5");
    let cut = &doc[..doc.len() - 20];
    assert!(
        matches!(lost::parse(cut), Err(LocationError::Malformed { .. })),
        "{:?}",
        lost::parse(cut)
    );
    assert!(matches!(
        held::parse("<locationRequest xmlns=\"urn:ietf:params:xml:ns:geopriv:held\">"),
        Err(LocationError::Malformed { .. })
    ));
    assert_eq!(held::parse(""), Err(LocationError::NoRootElement));
    assert_eq!(
        pidf::parse("  <!-- c -->  "),
        Err(LocationError::NoRootElement)
    );
}

#[test]
fn wrong_root() {
    match lost::parse(r#"<locationRequest xmlns="urn:ietf:params:xml:ns:geopriv:held"/>"#)
        .unwrap_err()
    {
        LocationError::WrongRoot { found, .. } => {
            assert_eq!(
                found,
                "{urn:ietf:params:xml:ns:geopriv:held}locationRequest"
            )
        }
        e => panic!("{e:?}"),
    }
    assert!(matches!(
        held::parse(&fs("1", "2")),
        Err(LocationError::WrongRoot { .. })
    ));
    assert!(matches!(
        pidf::parse("<tuple xmlns='urn:ietf:params:xml:ns:pidf'/>"),
        Err(LocationError::WrongRoot { .. })
    ));
}

#[test]
fn wrong_namespace() {
    // Right local names, wrong namespace: root, and a nested element.
    match held::parse(r#"<locationRequest xmlns="urn:ietf:params:xml:ns:geopriv:heldx"/>"#)
        .unwrap_err()
    {
        LocationError::WrongNamespace {
            element,
            expected,
            found,
            ..
        } => {
            assert_eq!(element, "locationRequest");
            assert_eq!(expected, held::NS_HELD);
            assert_eq!(found, "urn:ietf:params:xml:ns:geopriv:heldx");
        }
        e => panic!("{e:?}"),
    }
    let doc = fs("1", "2").replace(
        "xmlns:gml=\"http://www.opengis.net/gml\"",
        "xmlns:gml=\"http://www.opengis.net/gml/3.2\"",
    );
    match lost::parse(&doc).unwrap_err() {
        LocationError::WrongNamespace {
            element,
            expected,
            found,
            ..
        } => {
            assert_eq!(element, "Point");
            assert_eq!(expected, pidf::NS_GML);
            assert_eq!(found, "http://www.opengis.net/gml/3.2");
        }
        e => panic!("{e:?}"),
    }
    // No namespace at all.
    assert!(matches!(
        held::parse("<error code='x'/>"),
        Err(LocationError::WrongNamespace { .. })
    ));
    // Prefixes do not matter, namespaces do: an unusual prefix for the right namespace is fine.
    let ok = r#"<zz:locationRequest xmlns:zz="urn:ietf:params:xml:ns:geopriv:held"/>"#;
    assert!(held::parse(ok).is_ok());
}

#[test]
fn undeclared_prefix_in_attribute() {
    let doc = r#"<locationRequest xmlns="urn:ietf:params:xml:ns:geopriv:held" q:x="1"/>"#;
    assert!(
        matches!(held::parse(doc), Err(LocationError::UndeclaredPrefix { prefix, .. }) if prefix == "q")
    );
}

#[test]
fn oversize() {
    let opts = ParseOptions {
        max_document_size: 100,
        ..ParseOptions::default()
    };
    let doc = fs("1", "2");
    assert_eq!(
        lost::parse_with(&doc, &opts),
        Err(LocationError::TooLarge {
            size: doc.len(),
            max: 100
        })
    );
    let big = format!(
        "<locationRequest xmlns=\"urn:ietf:params:xml:ns:geopriv:held\">{}</locationRequest>",
        " ".repeat(1024 * 1024)
    );
    assert!(matches!(
        held::parse(&big),
        Err(LocationError::TooLarge { max: 1048576, .. })
    ));
}

#[test]
fn deep_nesting() {
    let mut doc = String::from("<locationRequest xmlns=\"urn:ietf:params:xml:ns:geopriv:held\">");
    for _ in 0..100 {
        doc.push_str("<x:a xmlns:x=\"urn:x\">");
    }
    for _ in 0..100 {
        doc.push_str("</x:a>");
    }
    doc.push_str("</locationRequest>");
    match held::parse(&doc).unwrap_err() {
        LocationError::TooDeep { max, .. } => assert_eq!(max, 64),
        e => panic!("{e:?}"),
    }
    // Very deep input (100k levels) is rejected at the limit, without recursion trouble.
    let deep = "<a>".repeat(100_000);
    assert!(matches!(
        pidf::parse(&deep),
        Err(LocationError::TooDeep { .. })
    ));
}

#[test]
fn too_many_points() {
    let opts = ParseOptions {
        max_points: 3,
        ..ParseOptions::default()
    };
    let doc = common::load("pidf-lo/rfc5491-fig08-polygon-compact-posList.xml");
    assert!(matches!(
        pidf::parse_with(&doc, &opts),
        Err(LocationError::TooManyPoints { max: 3, .. })
    ));
    let doc = common::load("pidf-lo/rfc5491-fig07-polygon.xml");
    assert!(matches!(
        pidf::parse_with(&doc, &opts),
        Err(LocationError::TooManyPoints { max: 3, .. })
    ));
}

#[test]
fn garbage_bytes() {
    let garbage: Vec<u8> = (0u8..=255).cycle().skip(7).step_by(13).take(4000).collect();
    assert!(matches!(
        held::parse_bytes(&garbage),
        Err(LocationError::NotUtf8 { .. })
    ));
    let lossy = String::from_utf8_lossy(&garbage);
    assert!(held::parse(&lossy).is_err());
    assert!(lost::parse(&lossy).is_err());
    assert!(pidf::parse(&lossy).is_err());
    assert!(lost::parse("\u{0}\u{1}<<>>&&;").is_err());
    assert!(matches!(
        lost::parse("<!DOCTYPE x [<!ENTITY a 'b'>]><x/>"),
        Err(LocationError::UnsupportedXml { .. })
    ));
    assert!(matches!(
        held::parse("<locationRequest xmlns=\"urn:ietf:params:xml:ns:geopriv:held\">&foo;</locationRequest>"),
        Err(LocationError::UnsupportedXml { .. })
    ));
    assert!(matches!(
        held::parse("<a/><b/>"),
        Err(LocationError::Malformed { .. })
    ));
}

#[test]
fn non_numeric_coordinates() {
    match lost::parse(&fs("north", "11.5")).unwrap_err() {
        LocationError::InvalidCoordinate {
            element,
            value,
            pos,
        } => {
            assert_eq!(element, "pos");
            assert_eq!(value, "north");
            assert_eq!(pos.line, 2);
        }
        e => panic!("{e:?}"),
    }
    assert!(matches!(
        lost::parse(&fs("NaN", "1")),
        Err(LocationError::InvalidCoordinate { .. })
    ));
    assert!(matches!(
        lost::parse(&fs("inf", "1")),
        Err(LocationError::InvalidCoordinate { .. })
    ));
    assert!(matches!(
        lost::parse(&fs("1", "")),
        Err(LocationError::WrongDimension {
            expected: 2,
            found: 1,
            ..
        })
    ));
    assert!(matches!(
        lost::parse(&fs("1 2", "3")),
        Err(LocationError::WrongDimension { .. })
    ));
}

#[test]
fn coordinates_out_of_range() {
    match lost::parse(&fs("90.0001", "0")).unwrap_err() {
        LocationError::CoordinateOutOfRange { axis, value, .. } => {
            assert_eq!(axis, "latitude");
            assert_eq!(value, 90.0001);
        }
        e => panic!("{e:?}"),
    }
    assert!(matches!(
        lost::parse(&fs("-91", "0")),
        Err(LocationError::CoordinateOutOfRange {
            axis: "latitude",
            ..
        })
    ));
    assert!(matches!(
        lost::parse(&fs("0", "180.5")),
        Err(LocationError::CoordinateOutOfRange {
            axis: "longitude",
            ..
        })
    ));
    assert!(matches!(
        lost::parse(&fs("0", "-181")),
        Err(LocationError::CoordinateOutOfRange {
            axis: "longitude",
            ..
        })
    ));
    assert!(lost::parse(&fs("-90", "180")).is_ok());
}

#[test]
fn crs_other_than_wgs84() {
    let doc = fs("1", "2").replace("EPSG::4326", "EPSG::3857");
    assert!(
        matches!(lost::parse(&doc), Err(LocationError::UnsupportedCrs { srs_name, .. }) if srs_name == "urn:ogc:def:crs:EPSG::3857")
    );
    let doc = fs("1", "2").replace(" srsName=\"urn:ogc:def:crs:EPSG::4326\"", "");
    assert!(matches!(
        lost::parse(&doc),
        Err(LocationError::MissingSrsName { .. })
    ));
}

#[test]
fn bad_values_are_precise() {
    let held_req = |inner: &str| {
        format!("<locationRequest xmlns=\"urn:ietf:params:xml:ns:geopriv:held\" {inner}/>")
    };
    assert!(matches!(
        held::parse(&held_req("responseTime=\"soon\"")),
        Err(LocationError::InvalidAttribute {
            attribute: "responseTime",
            ..
        })
    ));
    assert!(matches!(
        held::parse("<locationRequest xmlns=\"urn:ietf:params:xml:ns:geopriv:held\"><locationType>everywhere</locationType></locationRequest>"),
        Err(LocationError::InvalidValue { .. })
    ));
    assert!(matches!(
        held::parse("<locationRequest xmlns=\"urn:ietf:params:xml:ns:geopriv:held\"><bogus/></locationRequest>"),
        Err(LocationError::UnexpectedElement { .. })
    ));
    assert!(matches!(
        held::parse("<error xmlns=\"urn:ietf:params:xml:ns:geopriv:held\"/>"),
        Err(LocationError::MissingAttribute {
            attribute: "code",
            ..
        })
    ));
    assert!(matches!(
        lost::parse("<errors xmlns=\"urn:ietf:params:xml:ns:lost1\" source=\"not a host\"/>"),
        Err(LocationError::InvalidAttribute {
            attribute: "source",
            ..
        })
    ));
    assert!(matches!(
        lost::parse("<findServiceResponse xmlns=\"urn:ietf:params:xml:ns:lost1\"><path><via source=\"a.example\"/></path></findServiceResponse>"),
        Err(LocationError::MissingElement { expected: "mapping", .. })
    ));
    let open_ring = common::load("pidf-lo/rfc5491-fig07-polygon.xml").replacen(
        "43.311 -73.422</gml:pos> <!--A-->\n              </gml:LinearRing>",
        "43.311 -73.42</gml:pos>\n              </gml:LinearRing>",
        1,
    );
    assert!(
        matches!(pidf::parse(&open_ring), Err(LocationError::InvalidValue { ref element, .. }) if element == "LinearRing"),
        "{:?}",
        pidf::parse(&open_ring)
    );
    let bad_uom =
        common::load("pidf-lo/rfc5491-fig09-circle.xml").replace("EPSG::9001", "EPSG::9002");
    assert!(matches!(
        pidf::parse(&bad_uom),
        Err(LocationError::InvalidAttribute {
            attribute: "uom",
            ..
        })
    ));
}

#[test]
fn known_child_without_namespace_is_wrong_namespace() {
    let doc = r#"<locationRequest xmlns="urn:ietf:params:xml:ns:geopriv:held"><locationType xmlns="">any</locationType></locationRequest>"#;
    match held::parse(doc).unwrap_err() {
        LocationError::WrongNamespace {
            element,
            expected,
            found,
            ..
        } => {
            assert_eq!(element, "locationType");
            assert_eq!(expected, held::NS_HELD);
            assert_eq!(found, "");
        }
        e => panic!("{e:?}"),
    }
    let doc = fs("1", "2")
        .replace("<service>", "<l:service xmlns:l=\"\">")
        .replace("</service>", "</l:service>");
    // `xmlns:l=""` is not allowed in XML 1.0 namespaces: malformed, or (if accepted) the wrong namespace.
    assert!(lost::parse(&doc).is_err());
    let doc = fs("1", "2").replace("<service>", "<service xmlns=\"\">");
    assert!(
        matches!(lost::parse(&doc), Err(LocationError::WrongNamespace { ref element, .. }) if element == "service"),
        "{:?}",
        lost::parse(&doc)
    );
}
