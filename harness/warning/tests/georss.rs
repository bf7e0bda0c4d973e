//! Atom/GeoRSS feeds carrying CAP alerts: build, parse, derived shapes, precise rejections.

mod common;

use lmpe_warning::cap::{Alert, NS_CAP};
use lmpe_warning::georss::{Entry, Feed, Shape, CONTENT_TYPE_CAP, NS_ATOM, NS_GEORSS};
use lmpe_warning::WarningError;

fn examples() -> Vec<Alert> {
    common::examples()
        .iter()
        .map(|(n, d)| Alert::parse(d.as_bytes()).unwrap_or_else(|e| panic!("{n}: {e}")))
        .collect()
}

fn feed() -> Feed {
    Feed::from_alerts("urn:uuid:feed-1", "Alerts for the test area", examples())
}

#[test]
fn feed_round_trips_and_gives_back_the_alerts() {
    let f = feed();
    assert_eq!(f.entries.len(), 4);
    // Latest sent of the four examples (A2, 2003-06-17T14:57:00-07:00).
    assert_eq!(f.updated, "2003-06-17T14:57:00-07:00");
    let xml = f.to_xml();
    assert!(
        xml.contains(&format!(
            "<feed xmlns=\"{NS_ATOM}\" xmlns:georss=\"{NS_GEORSS}\">"
        )),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("<content type=\"{CONTENT_TYPE_CAP}\">")),
        "{xml}"
    );
    assert!(
        xml.contains(&format!("<alert xmlns=\"{NS_CAP}\">")),
        "{xml}"
    );
    let back = Feed::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(back, f);
    for (got, published) in back.alerts().zip(examples().iter()) {
        assert!(got.diff(published).is_empty(), "{:?}", got.diff(published));
    }
    assert!(back.entries.iter().all(Entry::shapes_match_alert));
}

#[test]
fn entries_are_derived_from_the_alert() {
    let f = feed();
    let a2 = &f.entries[1];
    assert_eq!(a2.id, "KSTO1055887203");
    assert_eq!(a2.title, "SEVERE THUNDERSTORM WARNING");
    assert_eq!(a2.updated, "2003-06-17T14:57:00-07:00");
    // CAP "lat,lon" pairs become GeoRSS "lat lon" numbers.
    assert_eq!(a2.shapes.len(), 1);
    assert_eq!(
        a2.shapes[0].to_georss(),
        (
            "polygon",
            "38.47 -120.14 38.34 -119.95 38.52 -119.74 38.62 -119.89 38.47 -120.14".to_owned()
        )
    );
    // A3's circle: radius 0 km -> 0 m; km are converted to metres.
    assert_eq!(
        f.entries[2].shapes[0].to_georss(),
        ("circle", "32.9525 -115.5527 0".to_owned())
    );
    let mut a3 = f.entries[2].alert.clone();
    a3.infos[0].areas[0].circles[0].radius_km = 2.5;
    let e = Entry::from_alert(a3);
    assert_eq!(
        e.shapes[0].to_georss(),
        ("circle", "32.9525 -115.5527 2500".to_owned())
    );
    // A1 has no geometry.
    assert!(f.entries[0].shapes.is_empty());
    let xml = feed().to_xml();
    assert!(
        xml.contains("<georss:polygon>38.47 -120.14 38.34 -119.95"),
        "{xml}"
    );
}

fn single_entry(content: &str) -> String {
    format!(
        "<feed xmlns=\"{NS_ATOM}\"><id>f</id><title>t</title><updated>2003-06-17T14:57:00-07:00</updated>\
         <entry><id>e1</id><title>t</title><updated>2003-06-17T14:57:00-07:00</updated>{content}</entry></feed>"
    )
}

fn entry_error(content: &str) -> String {
    match Feed::parse(single_entry(content).as_bytes()) {
        Err(WarningError::EntryContent { index, id, reason }) => {
            assert_eq!((index, id.as_str()), (0, "e1"));
            reason
        }
        other => panic!("expected EntryContent, got {other:?}"),
    }
}

#[test]
fn non_cap_content_is_rejected_precisely() {
    let alert = examples()[1].to_xml_element();
    assert!(
        entry_error("<content type=\"text\">hello</content>").contains("content type is \"text\"")
    );
    assert!(entry_error("").contains("no atom:content"));
    assert!(entry_error(&format!("<content>{alert}</content>")).contains("has no type"));
    assert!(
        entry_error("<content type=\"application/cap+xml\">   </content>")
            .contains("content is empty")
    );
    assert!(
        entry_error("<content type=\"application/cap+xml\">not xml</content>")
            .contains("character data")
    );
    assert!(entry_error("<content type=\"application/cap+xml\"><div xmlns=\"http://www.w3.org/1999/xhtml\">x</div></content>")
        .contains("child element is `{http://www.w3.org/1999/xhtml}div`"));
    assert!(entry_error(&format!(
        "<content type=\"application/cap+xml\">{alert}{alert}</content>"
    ))
    .contains("more than one child"));
    let cap10 = alert.replace(NS_CAP, "http://www.incident.com/cap/1.0");
    assert!(entry_error(&format!(
        "<content type=\"application/cap+xml\">{cap10}</content>"
    ))
    .contains("CAP 1.0"));
    let invalid = alert.replace("<urgency>Immediate</urgency>", "<urgency>Soon</urgency>");
    let r = entry_error(&format!(
        "<content type=\"application/cap+xml\">{invalid}</content>"
    ));
    assert!(
        r.contains("alert/info[0]/urgency: \"Soon\" is not one of"),
        "{r}"
    );
    // A valid one parses.
    let ok = Feed::parse(
        single_entry(&format!(
            "<content type=\"application/cap+xml\">{alert}</content>"
        ))
        .as_bytes(),
    )
    .expect("valid feed");
    assert_eq!(ok.entries[0].alert, examples()[1]);
    assert!(ok.entries[0].shapes.is_empty());
    assert!(!ok.entries[0].shapes_match_alert());
}

#[test]
fn feed_structure_errors() {
    match Feed::parse(b"<rss version=\"2.0\"/>") {
        Err(WarningError::NotAtomFeed { found }) => assert_eq!(found, "rss"),
        other => panic!("{other:?}"),
    }
    let no_id = format!("<feed xmlns=\"{NS_ATOM}\"><title>t</title><updated>u</updated></feed>");
    match Feed::parse(no_id.as_bytes()) {
        Err(WarningError::Atom { path, reason }) => {
            assert_eq!(path, "feed/id");
            assert!(reason.contains("missing"));
        }
        other => panic!("{other:?}"),
    }
    let alert = examples()[1].to_xml_element();
    let bad_shape = single_entry(&format!(
        "<georss:polygon xmlns:georss=\"{NS_GEORSS}\">1 2 3 4</georss:polygon><content type=\"application/cap+xml\">{alert}</content>"
    ));
    match Feed::parse(bad_shape.as_bytes()) {
        Err(WarningError::Atom { path, reason }) => {
            assert_eq!(path, "feed/entry[0]/georss:polygon[0]");
            assert!(reason.contains("at least 4"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(Feed::parse(b"<feed"), Err(WarningError::Xml(_))));
}

#[test]
fn georss_shape_syntax() {
    assert_eq!(
        Shape::parse_georss("circle", "45.256 -110.45 1000"),
        Ok(Shape::Circle {
            center: lmpe_warning::cap::Point::new(45.256, -110.45),
            radius_m: 1000.0
        })
    );
    assert!(Shape::parse_georss("circle", "45.256,-110.45 1000").is_err());
    assert!(Shape::parse_georss("polygon", "1 1 1 2 2 2 1 1").is_ok());
    assert!(Shape::parse_georss("polygon", "1 1 1 2 2 2 1 3").is_err());
    assert!(Shape::parse_georss("point", "1 1").is_err());
}
