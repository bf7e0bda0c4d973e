//! XEP-0127 (Common Alerting Protocol over XMPP): the CAP alert as a pubsub item payload,
//! and finding the alert in a received stanza.
//!
//! XEP-0127's own examples carry CAP 1.0 (`http://www.incident.com/cap/1.0`); this harness
//! publishes CAP 1.2, and [`extract_alert`] reports a CAP 1.0 payload as
//! [`WarningError::UnsupportedCapVersion`] rather than misreading it.

use lmpe_location::xml::Element;
use lmpe_location::ParseOptions;

use crate::cap::validate::parse_tree;
use crate::cap::{escape_text, other_cap_version, Alert, NS_CAP};
use crate::error::{Result, WarningError};

/// The pubsub namespace (XEP-0060).
pub const NS_PUBSUB: &str = "http://jabber.org/protocol/pubsub";
/// The pubsub event namespace (XEP-0060).
pub const NS_PUBSUB_EVENT: &str = "http://jabber.org/protocol/pubsub#event";

/// The pubsub item payload: the `<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'>`
/// element, without XML declaration.
pub fn item_payload(alert: &Alert) -> String {
    alert.to_xml_element()
}

fn attr(s: &str) -> String {
    escape_text(s).replace('"', "&quot;")
}

/// A pubsub publish request (XEP-0127 Example 2 shape) for `node`, with the alert's
/// identifier as item id.
pub fn publish_iq(id: &str, from: &str, to: &str, node: &str, alert: &Alert) -> String {
    format!(
        "<iq type=\"set\" from=\"{}\" to=\"{}\" id=\"{}\"><pubsub xmlns=\"{NS_PUBSUB}\"><publish node=\"{}\"><item id=\"{}\">{}</item></publish></pubsub></iq>",
        attr(from),
        attr(to),
        attr(id),
        attr(node),
        attr(&alert.identifier),
        item_payload(alert)
    )
}

/// A pubsub event notification message (XEP-0127 Example 3 shape, with the XEP-0060
/// `<item>` wrapper).
pub fn event_message(from: &str, to: &str, node: &str, alert: &Alert) -> String {
    format!(
        "<message from=\"{}\" to=\"{}\"><event xmlns=\"{NS_PUBSUB_EVENT}\"><items node=\"{}\"><item id=\"{}\">{}</item></items></event></message>",
        attr(from),
        attr(to),
        attr(node),
        attr(&alert.identifier),
        item_payload(alert)
    )
}

/// Finds the first `{urn:oasis:names:tc:emergency:cap:1.2}alert` element (depth first) in a
/// well-formed XML fragment with one root element (a stanza, a pubsub item, a bare alert)
/// and decodes it. Errors: not well-formed ([`WarningError::Xml`] with the position), only an
/// alert of another CAP version ([`WarningError::UnsupportedCapVersion`]), no alert
/// ([`WarningError::NoAlert`]), or the alert's own decoding errors.
pub fn extract_alert(fragment: &str) -> Result<Alert> {
    extract_alert_with(fragment.as_bytes(), &ParseOptions::default())
}

/// [`extract_alert`] on bytes with explicit limits.
pub fn extract_alert_with(fragment: &[u8], opts: &ParseOptions) -> Result<Alert> {
    let root = parse_tree(fragment, opts)?;
    if let Some(a) = find(&root, &|e| e.is(NS_CAP, "alert")) {
        return Alert::from_element(a);
    }
    if let Some(a) = find(&root, &|e| {
        e.name == "alert" && other_cap_version(&e.ns).is_some()
    }) {
        return Err(WarningError::UnsupportedCapVersion {
            ns: a.ns.clone(),
            version: other_cap_version(&a.ns).unwrap_or("another CAP version"),
        });
    }
    Err(WarningError::NoAlert)
}

fn find<'a>(el: &'a Element, pred: &dyn Fn(&Element) -> bool) -> Option<&'a Element> {
    if pred(el) {
        return Some(el);
    }
    el.elements().find_map(|c| find(c, pred))
}
