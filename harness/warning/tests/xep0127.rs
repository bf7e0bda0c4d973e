//! XEP-0127: pubsub payloads and extracting alerts from stanzas, including the published
//! examples (CAP 1.0, and example 3, which is not well-formed as published).

mod common;

use lmpe_warning::cap::{Alert, NS_CAP};
use lmpe_warning::xep0127::{event_message, extract_alert, item_payload, publish_iq};
use lmpe_warning::WarningError;

fn a2() -> Alert {
    Alert::parse(common::load(common::EXAMPLES[1]).as_bytes()).expect("A2")
}

#[test]
fn payload_is_the_bare_alert_element() {
    let p = item_payload(&a2());
    assert!(p.starts_with(&format!("<alert xmlns=\"{NS_CAP}\">")), "{p}");
    assert!(!p.contains("<?xml"));
    assert_eq!(extract_alert(&p), Ok(a2()));
}

#[test]
fn alerts_are_found_inside_stanzas() {
    let a = a2();
    let iq = publish_iq(
        "pub1",
        "KSTO@NWS.NOAA.GOV",
        "pubsub.example.org",
        "NOAA-ALERTS",
        &a,
    );
    assert!(
        iq.contains("<item id=\"KSTO1055887203\"><alert xmlns="),
        "{iq}"
    );
    assert_eq!(extract_alert(&iq), Ok(a.clone()));
    let msg = event_message(
        "pubsub.example.org",
        "weatherbot@example.org",
        "NOAA-ALERTS",
        &a,
    );
    assert_eq!(extract_alert(&msg), Ok(a.clone()));
    // Prefixed CAP namespace inside a stanza with its own default namespace.
    let prefixed = format!(
        "<message xmlns=\"jabber:client\"><body>alert</body><c:alert xmlns:c=\"{NS_CAP}\"><c:identifier>x</c:identifier></c:alert></message>"
    );
    match extract_alert(&prefixed) {
        Err(WarningError::Invalid(v)) => {
            assert!(
                v.iter()
                    .any(|x| x.to_string().contains("`sender` is missing")),
                "{v:?}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn published_examples_carry_cap_1_0() {
    for name in [
        "xep0127-ex1-message-direct-alert.xml",
        "xep0127-ex2-iq-pubsub-publish-alert.xml",
    ] {
        match extract_alert(&common::load(name)) {
            Err(WarningError::UnsupportedCapVersion { ns, version }) => {
                assert_eq!(ns, "http://www.incident.com/cap/1.0", "{name}");
                assert_eq!(version, "CAP 1.0");
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn example_3_is_reported_as_not_well_formed() {
    let text = common::load("xep0127-ex3-message-pubsub-event-payload.xml");
    match extract_alert(&text) {
        Err(WarningError::Xml(e)) => {
            // The three elision lines '.' after </message>: the text run starts right
            // after the end tag.
            let msg = e.to_string();
            assert!(
                msg.contains("character data outside the root element"),
                "{msg}"
            );
            let end_tag = text.find("</message>").expect("end tag") + "</message>".len();
            assert!(
                matches!(e, lmpe_location::LocationError::Malformed { pos, .. } if pos.offset == end_tag),
                "{e:?}"
            );
        }
        other => panic!("expected a well-formedness error, got {other:?}"),
    }
}

#[test]
fn no_alert_and_garbage() {
    assert_eq!(
        extract_alert("<message><body>hi</body></message>"),
        Err(WarningError::NoAlert)
    );
    assert!(matches!(extract_alert(""), Err(WarningError::Xml(_))));
    assert!(matches!(
        extract_alert("<a><b></a>"),
        Err(WarningError::Xml(_))
    ));
}
