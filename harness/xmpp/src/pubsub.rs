//! XEP-0060 publish-subscribe requests (as `<pubsub/>` IQ payloads) and the items of
//! event notifications (XEP-0127 CAP alerts are items of such notifications).

use tokio_xmpp::minidom::Element;
use xmpp_parsers::message::Message;
use xmpp_parsers::ns;

use crate::xml::{build, elem};

/// The XEP-0127 / CAP 1.2 namespace of `<alert/>` payloads.
pub const CAP_NS: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// One item of a pubsub event notification (or of an items retrieval).
#[derive(Debug, Clone, PartialEq)]
pub struct PubsubItem {
    /// The node it was published to.
    pub node: String,
    /// The item id (empty when the service sent none).
    pub id: String,
    /// The item's payload, as received (`None` for a notification without payload).
    pub payload: Option<Element>,
}

fn pubsub(child: Element) -> Element {
    build("pubsub", ns::PUBSUB, &[]).append(child).build()
}

/// `<pubsub><create node=…/></pubsub>`.
pub fn create_request(node: &str) -> Element {
    pubsub(elem("create", ns::PUBSUB, &[("node", node)]))
}

/// `<pubsub><subscribe node=… jid=…/></pubsub>`.
pub fn subscribe_request(node: &str, jid: &str) -> Element {
    pubsub(elem(
        "subscribe",
        ns::PUBSUB,
        &[("node", node), ("jid", jid)],
    ))
}

/// `<pubsub><unsubscribe node=… jid=…/></pubsub>`.
pub fn unsubscribe_request(node: &str, jid: &str) -> Element {
    pubsub(elem(
        "unsubscribe",
        ns::PUBSUB,
        &[("node", node), ("jid", jid)],
    ))
}

/// `<pubsub><publish node=…><item id=…>payload</item></publish></pubsub>`.
pub fn publish_request(node: &str, item_id: &str, payload: Element) -> Element {
    let item = build("item", ns::PUBSUB, &[("id", item_id)])
        .append(payload)
        .build();
    pubsub(
        build("publish", ns::PUBSUB, &[("node", node)])
            .append(item)
            .build(),
    )
}

/// `<pubsub><items node=…/></pubsub>`.
pub fn items_request(node: &str) -> Element {
    pubsub(elem("items", ns::PUBSUB, &[("node", node)]))
}

/// The items of `<items node=…><item id=…>payload</item></items>` children of `parent`
/// in namespace `ns`.
fn items_in(parent: &Element, ns: &str) -> Vec<PubsubItem> {
    let mut out = Vec::new();
    for items in parent.children().filter(|c| c.is("items", ns)) {
        let node = items.attr("node").unwrap_or_default().to_owned();
        for item in items.children().filter(|c| c.is("item", ns)) {
            out.push(PubsubItem {
                node: node.clone(),
                id: item.attr("id").unwrap_or_default().to_owned(),
                payload: item.children().next().cloned(),
            });
        }
    }
    out
}

/// The items of the pubsub event notifications (`<event xmlns='…pubsub#event'>`) in a
/// message; empty for any other message.
pub fn pubsub_items(message: &Message) -> Vec<PubsubItem> {
    message
        .payloads
        .iter()
        .filter(|p| p.is("event", ns::PUBSUB_EVENT))
        .flat_map(|e| items_in(e, ns::PUBSUB_EVENT))
        .collect()
}

/// The items of an items retrieval result (`<pubsub><items>…</items></pubsub>`).
pub fn result_items(pubsub: &Element) -> Vec<PubsubItem> {
    items_in(pubsub, ns::PUBSUB)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_items_are_extracted() {
        let xml = "<message xmlns='jabber:client' from='pubsub.lmpe.test' to='a@lmpe.test'>\
            <event xmlns='http://jabber.org/protocol/pubsub#event'>\
            <items node='warning-area-a'><item id='w1'>\
            <alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</identifier></alert>\
            </item></items></event></message>";
        let el: Element = match xml.parse() {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        let msg = match Message::try_from(el) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        };
        let items = pubsub_items(&msg);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].node, "warning-area-a");
        assert_eq!(items[0].id, "w1");
        let payload = items[0].payload.as_ref();
        assert!(payload.is_some_and(|p| p.is("alert", CAP_NS)));
    }

    #[test]
    fn publish_request_carries_the_payload() {
        let p = elem("alert", CAP_NS, &[]);
        let req = publish_request("n", "i", p.clone());
        let item = req
            .get_child("publish", ns::PUBSUB)
            .and_then(|x| x.get_child("item", ns::PUBSUB));
        assert_eq!(item.and_then(|i| i.children().next()), Some(&p));
    }
}
