//! Test-alert builders: what scenarios publish must be valid CAP for the intended area.

use lmpe_location::lost::WarningService;
use lmpe_warning::cap::{
    self, Alert, AlertBuilder, CapDateTime, Category, Certainty, Circle, MsgType, Point, Polygon,
    Severity, Status, Urgency,
};

fn sent() -> CapDateTime {
    CapDateTime::parse("2026-11-21T18:00:00+01:00").expect("date")
}

#[test]
fn sample_is_valid_and_covers_its_area() {
    let area = Polygon::rectangle(48.0, 11.0, 48.3, 11.8).expect("rectangle");
    let a = Alert::sample(
        "S-1",
        "lmpe@example.org",
        sent(),
        Category::Fire,
        "Forest fire",
        area,
    );
    let xml = a.to_xml();
    assert_eq!(cap::validate(xml.as_bytes()), Ok(()), "{xml}");
    assert_eq!(Alert::parse(xml.as_bytes()), Ok(a.clone()));
    assert!(
        xml.contains("<polygon>48,11 48,11.8 48.3,11.8 48.3,11 48,11</polygon>"),
        "{xml}"
    );
    assert!(a.covers(48.14, 11.58));
    assert!(!a.covers(47.9, 11.58));
    assert_eq!(
        a.services(),
        vec![WarningService::Warning, WarningService::Fire]
    );
    assert_eq!(a.infos[0].headline.as_deref(), Some("Forest fire"));
}

#[test]
fn builder_makes_multi_info_updates() {
    let first = Alert::sample(
        "S-1",
        "lmpe@example.org",
        sent(),
        Category::Met,
        "Storm",
        Polygon::new(vec![
            Point::new(1.0, 1.0),
            Point::new(1.0, 2.0),
            Point::new(2.0, 2.0),
        ])
        .expect("triangle"),
    );
    let update = AlertBuilder::new("S-2", "lmpe@example.org", sent())
        .status(Status::Exercise)
        .msg_type(MsgType::Update, Some(&first))
        .info(Category::Met, "Storm")
        .language("en-US")
        .grading(Urgency::Expected, Severity::Moderate, Certainty::Likely)
        .description("weaker")
        .expires(CapDateTime::from_unix(sent().unix_seconds() + 3600))
        .circle(
            "centre",
            Circle::new(Point::new(1.5, 1.5), 20.0).expect("circle"),
        )
        .info(Category::Cbrne, "Chemical release")
        .language("de-DE")
        .polygon(
            "plant",
            Polygon::rectangle(1.0, 1.0, 1.1, 1.1).expect("rect"),
        )
        .build();
    assert_eq!(
        update.references.as_deref(),
        Some("lmpe@example.org,S-1,2026-11-21T18:00:00+01:00")
    );
    assert_eq!(
        update.infos[0].expires.as_ref().map(|d| d.as_str()),
        Some("2026-11-21T18:00:00-00:00")
    );
    let xml = update.to_xml();
    assert_eq!(cap::validate(xml.as_bytes()), Ok(()), "{xml}");
    assert_eq!(Alert::parse(xml.as_bytes()), Ok(update.clone()));
    assert!(update.covers(1.6, 1.6));
    assert!(!update.covers(1.9, 1.1));
    assert_eq!(
        update.services(),
        vec![
            WarningService::Warning,
            WarningService::Met,
            WarningService::Cbrne
        ]
    );
    assert!(first
        .diff(&update)
        .iter()
        .any(|l| l.starts_with("identifier:")));
}

#[test]
fn area_setters_without_info_create_one() {
    let a = AlertBuilder::new("S-3", "lmpe@example.org", sent())
        .polygon("x", Polygon::rectangle(0.0, 0.0, 1.0, 1.0).expect("rect"))
        .build();
    assert_eq!(a.infos.len(), 1);
    assert_eq!(a.infos[0].categories, vec![Category::Other]);
    assert_eq!(a.services(), vec![WarningService::Warning]);
    assert_eq!(cap::validate(a.to_xml().as_bytes()), Ok(()));
}

#[test]
fn text_survives_escaping() {
    let mut a = Alert::sample(
        "S-<&>\"'",
        "a&b@example.org",
        sent(),
        Category::Safety,
        "  leading and trailing  ",
        Polygon::rectangle(0.0, 0.0, 1.0, 1.0).expect("rect"),
    );
    a.infos[0].description = Some("line1\r\nline2\ttab ]]> end".into());
    a.note = Some(String::new());
    let back = Alert::parse(a.to_xml().as_bytes()).expect("parse");
    assert!(back.diff(&a).is_empty(), "{:?}", back.diff(&a));
}

#[test]
fn resource_size_keeps_any_xs_integer() {
    let mut a = Alert::sample(
        "S-4",
        "lmpe@example.org",
        sent(),
        Category::Health,
        "Outbreak",
        Polygon::rectangle(0.0, 0.0, 1.0, 1.0).expect("rect"),
    );
    a.infos[0].resources.push(lmpe_warning::cap::Resource {
        resource_desc: "map".into(),
        mime_type: "image/png".into(),
        size: Some("+1234".into()),
        uri: Some("http://example.org/map.png".into()),
        deref_uri: None,
        digest: None,
    });
    let back = Alert::parse(a.to_xml().as_bytes()).expect("parse");
    assert_eq!(back.infos[0].resources[0].size_bytes(), Some(1234));
    assert_eq!(back, a);
    let mut huge = a.infos[0].resources[0].clone();
    huge.size = Some("99999999999999999999999".into());
    assert_eq!(huge.size_bytes(), None);
}
