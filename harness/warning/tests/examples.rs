//! The four CAP 1.2 Appendix A examples: decoding, typed content, round trip, validation.

mod common;

use lmpe_warning::cap::{self, Alert, Category, Certainty, MsgType, ResponseType, Urgency};

fn parse(name: &str) -> Alert {
    let text = common::load(name);
    Alert::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn all_examples_validate_and_round_trip() {
    for (name, text) in common::examples() {
        assert_eq!(cap::validate(text.as_bytes()), Ok(()), "{name}");
        let a = Alert::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let xml = a.to_xml();
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{xml}"
        );
        assert_eq!(
            cap::validate(xml.as_bytes()),
            Ok(()),
            "{name} written:\n{xml}"
        );
        let back = Alert::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
        assert_eq!(back, a, "{name}: {:?}", back.diff(&a));
        let frag = a.to_xml_element();
        assert!(
            frag.starts_with("<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">"),
            "{frag}"
        );
        assert_eq!(Alert::parse(frag.as_bytes()).as_ref(), Ok(&a), "{name}");
        assert_eq!(cap::canonical(&back), cap::canonical(&a));
        assert_eq!(cap::digest(&back), cap::digest(&a));
    }
}

#[test]
fn a1_homeland_alert_fields() {
    let a = parse(common::EXAMPLES[0]);
    assert_eq!(a.identifier, "43b080713727");
    assert_eq!(a.sent.as_str(), "2003-04-02T14:39:01-05:00");
    let i = &a.infos[0];
    assert_eq!(i.categories, vec![Category::Security]);
    assert_eq!(i.parameters[0].value_name, "HSAS");
    assert_eq!(i.resources[0].mime_type, "image/gif");
    assert_eq!(
        i.resources[0].uri.as_deref(),
        Some("http://www.dhs.gov/dhspublic/getAdvisoryImage")
    );
    // xs:string whitespace is kept as published.
    assert!(i
        .instruction
        .as_deref()
        .is_some_and(|s| s.starts_with(" A High")));
    assert!(i.areas[0].polygons.is_empty() && i.areas[0].circles.is_empty());
    assert!(
        !a.covers(38.9, -77.0),
        "an area without geometry covers nothing"
    );
    assert_eq!(
        a.services().iter().map(|s| s.urn()).collect::<Vec<_>>(),
        ["urn:service:warning", "urn:service:warning.security"]
    );
}

#[test]
fn a2_thunderstorm_polygon_and_coverage() {
    let a = parse(common::EXAMPLES[1]);
    let i = &a.infos[0];
    assert_eq!(i.response_types, vec![ResponseType::Shelter]);
    assert_eq!(i.certainty, Certainty::Observed);
    assert_eq!(
        i.expires.as_ref().map(|d| d.as_str()),
        Some("2003-06-17T16:00:00-07:00")
    );
    assert_eq!(i.areas[0].polygons[0].points.len(), 5);
    assert_eq!(i.areas[0].geocodes.len(), 3);
    assert!(a.covers(38.48, -119.92));
    assert!(!a.covers(38.8, -120.5));
    assert_eq!(a.services()[1].urn(), "urn:service:warning.met");
}

#[test]
fn a3_earthquake_update_circle() {
    let a = parse(common::EXAMPLES[2]);
    assert_eq!(a.msg_type, MsgType::Update);
    assert_eq!(
        a.references.as_deref(),
        Some("trinet@caltech.edu,TRI13970876.1,2003-06-11T20:30:00-07:00")
    );
    assert_eq!(a.infos[0].urgency, Urgency::Past);
    assert_eq!(a.infos[0].parameters.len(), 5);
    let c = a.infos[0].areas[0].circles[0];
    assert_eq!(
        (c.center.lat, c.center.lon, c.radius_km),
        (32.9525, -115.5527, 0.0)
    );
    assert!(a.covers(32.9525, -115.5527));
    assert!(!a.covers(32.96, -115.5527));
}

#[test]
fn a4_amber_alert_two_languages() {
    let a = parse(common::EXAMPLES[3]);
    assert_eq!(a.source.as_deref(), Some("SW"));
    assert_eq!(a.infos.len(), 2);
    assert_eq!(a.infos[0].language.as_deref(), Some("en-US"));
    assert_eq!(a.infos[1].language.as_deref(), Some("es-US"));
    assert_eq!(a.infos[1].event, "Abducción de Niño");
    assert_eq!(a.infos[1].areas[0].geocodes[0].value, "006037");
    // Both infos have the Rescue category: one sub-service.
    assert_eq!(a.services().len(), 2);
}

#[test]
fn diff_names_the_differing_fields() {
    let a = parse(common::EXAMPLES[1]);
    let mut b = a.clone();
    b.infos[0].urgency = Urgency::Expected;
    b.infos[0].areas[0].polygons[0].points[1].lat = 38.35;
    b.infos[0].areas[0].geocodes.pop();
    b.sender.push('x');
    let d = a.diff(&b);
    assert_eq!(d.len(), 4, "{d:#?}");
    assert!(d[0].starts_with("sender: "), "{d:#?}");
    assert!(
        d.iter()
            .any(|l| l == "info[0].urgency: Immediate != Expected"),
        "{d:#?}"
    );
    assert!(
        d.iter()
            .any(|l| l.starts_with("info[0].area[0].polygon[0]: \"38.47,-120.14 38.34,")),
        "{d:#?}"
    );
    assert!(
        d.iter()
            .any(|l| l == "info[0].area[0].geocode: 3 element(s) != 2"),
        "{d:#?}"
    );
    assert_ne!(cap::digest(&a), cap::digest(&b));
    assert!(a.diff(&a.clone()).is_empty());
}
