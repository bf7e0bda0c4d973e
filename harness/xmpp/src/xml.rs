//! Small helpers over `minidom` elements: building with attributes, reading stanza errors.

use tokio_xmpp::minidom::rxml::{Namespace, NcName};
use tokio_xmpp::minidom::{Element, ElementBuilder};
use xmpp_parsers::ns;

/// An attribute name. Only called with constant, valid names.
fn ncname(name: &str) -> NcName {
    #[allow(clippy::expect_used)]
    NcName::try_from(name).expect("attribute names in this crate are valid NCNames")
}

/// Builder for `<name xmlns=ns>` with attributes.
pub(crate) fn build(name: &str, ns: &str, attrs: &[(&str, &str)]) -> ElementBuilder {
    let mut b = Element::builder(name, ns);
    for (k, v) in attrs {
        b = b.attr(ncname(k), *v);
    }
    b
}

/// `<name xmlns=ns>` with attributes, no children.
pub(crate) fn elem(name: &str, ns: &str, attrs: &[(&str, &str)]) -> Element {
    build(name, ns, attrs).build()
}

/// Sets (`Some`) or removes (`None`) an attribute without a namespace.
pub(crate) fn set_attr(el: &mut Element, name: &str, value: Option<&str>) {
    let key = ncname(name);
    el.attrs_mut().remove(&Namespace::NONE, &key);
    if let Some(v) = value {
        el.attrs_mut().insert(Namespace::NONE, key, v.to_owned());
    }
}

/// The serialized element.
pub(crate) fn to_xml(el: &Element) -> String {
    String::from(el)
}

/// The defined condition of the `<error/>` child of a stanza (e.g. `item-not-found`),
/// or `undefined-condition` when there is none.
pub fn error_condition(stanza: &Element) -> String {
    stanza
        .children()
        .find(|c| c.name() == "error")
        .and_then(|e| {
            e.children()
                .find(|c| c.ns() == ns::XMPP_STANZAS && c.name() != "text")
        })
        .map(|c| c.name().to_owned())
        .unwrap_or_else(|| "undefined-condition".to_owned())
}

/// A stanza error: `<error type=kind><condition xmlns=stanzas/></error>`.
pub(crate) fn stanza_error(kind: &str, condition: &str) -> Element {
    build("error", ns::JABBER_CLIENT, &[("type", kind)])
        .append(elem(condition, ns::XMPP_STANZAS, &[]))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_set_and_removed() {
        let mut e = elem("iq", ns::JABBER_CLIENT, &[("type", "get"), ("id", "a<b")]);
        assert_eq!(e.attr("id"), Some("a<b"));
        set_attr(&mut e, "id", Some("x"));
        set_attr(&mut e, "to", Some("y@z"));
        set_attr(&mut e, "type", None);
        assert_eq!(e.attr("id"), Some("x"));
        assert_eq!(e.attr("to"), Some("y@z"));
        assert_eq!(e.attr("type"), None);
        assert!(to_xml(&e).contains("id=\"x\"") || to_xml(&e).contains("id='x'"));
    }

    #[test]
    fn error_condition_is_read() {
        let mut iq = elem("iq", ns::JABBER_CLIENT, &[("type", "error"), ("id", "1")]);
        iq.append_child(stanza_error("cancel", "item-not-found"));
        assert_eq!(error_condition(&iq), "item-not-found");
        assert_eq!(
            error_condition(&elem("iq", ns::JABBER_CLIENT, &[])),
            "undefined-condition"
        );
    }
}
