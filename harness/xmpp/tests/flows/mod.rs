//! Client flows run against both the real Prosody (`tests/prosody.rs`) and the embedded
//! server (`tests/embedded.rs`): the two servers must be interchangeable for the client.

#![allow(dead_code)] // each test crate uses a part of the flows

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lmpe_xmpp::xmpp_parsers::presence::{Show, Type as PresenceType};
use lmpe_xmpp::{pubsub_items, Element, IqKind, PresenceOut, XmppClient, XmppError, CAP_NS};

/// The accounts every server under test has: (local part, password).
pub(crate) const USERS: &[(&str, &str)] = &[
    ("alice", "alice-pw"),
    ("bob", "bob-pw"),
    ("carol", "carol-pw"),
    ("dave", "dave-pw"),
    ("alerts", "alerts-pw"),
];

/// The user that may create pubsub nodes and publish.
pub(crate) const PUBLISHER: &str = "alerts";

/// The wait for any one reply or event.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// Where the server under test is.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Its client-to-server address.
    pub(crate) addr: SocketAddr,
    /// Its domain.
    pub(crate) domain: String,
    /// Its pubsub service.
    pub(crate) pubsub: String,
}

impl Target {
    fn jid(&self, user: &str) -> String {
        format!("{user}@{}", self.domain)
    }

    /// Logs `user` in (password from [`USERS`]).
    pub(crate) async fn login(&self, user: &str) -> XmppClient {
        let pw = USERS
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, p)| *p)
            .unwrap_or("no-such-user");
        ok(XmppClient::connect(self.addr, &self.jid(user), pw, WAIT).await)
    }

    /// Logs `user` in, fetches the roster (RFC 6121 "interested resource"), sends initial
    /// presence and waits until the server has processed it (ping round trip).
    pub(crate) async fn online(&self, user: &str) -> XmppClient {
        let mut c = self.login(user).await;
        ok(c.roster().await);
        ok(c.send_presence(PresenceOut::default()));
        ok(c.ping(None).await);
        c
    }
}

/// The value, or a panic showing the error.
pub(crate) fn ok<T>(r: Result<T, XmppError>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}

/// Whether two elements serialize identically (names, namespaces, attributes, text).
pub(crate) fn same(a: &Element, b: &Element) -> bool {
    String::from(a) == String::from(b)
}

fn parse(xml: &str) -> Element {
    match xml.parse() {
        Ok(e) => e,
        Err(e) => panic!("bad test XML: {e}"),
    }
}

/// A CAP 1.2 public warning, as an XEP-0127 payload.
pub(crate) const CAP_ALERT: &str = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>lmpe-test-warning-0001</identifier>
  <sender>alerts@lmpe.test</sender>
  <sent>2026-11-21T18:00:00+00:00</sent>
  <status>Exercise</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>en-GB</language>
    <category>Met</category>
    <event>Storm &amp; flooding</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <headline>Storm warning for area A</headline>
    <description>Stay indoors. Text with &lt;markup&gt; characters and accents: Überschwemmung.</description>
    <area>
      <areaDesc>Warning area A</areaDesc>
      <polygon>48.0,16.0 48.4,16.0 48.4,16.4 48.0,16.4 48.0,16.0</polygon>
    </area>
  </info>
</alert>"#;

/// Two users exchange a message with a `<thread/>` and an extra payload.
pub(crate) async fn message_with_thread(t: &Target) {
    let t0 = Instant::now();
    let mut alice = t.online("alice").await;
    let mut bob = t.online("bob").await;
    let extra = parse("<x xmlns='urn:lmpe:test'><sip uri='sip:alice@lmpe.test'/></x>");
    let id = ok(alice.send_message(
        &t.jid("bob"),
        Some("Hello Bob <&>"),
        Some("thread-42"),
        vec![extra.clone()],
    ));
    let got = ok(bob
        .wait_message(WAIT, "alice's message", |m| m.thread.is_some())
        .await);
    let m = &got.stanza;
    assert_eq!(
        m.from.as_ref().map(|j| j.to_bare().to_string()),
        Some(t.jid("alice")),
        "{}",
        got.xml
    );
    assert_eq!(
        m.from.as_ref().map(|j| j.to_string()),
        Some(alice.jid().to_string())
    );
    assert_eq!(m.id.as_ref().map(|i| i.0.as_str()), Some(id.as_str()));
    assert_eq!(m.thread.as_ref().map(|t| t.id.as_str()), Some("thread-42"));
    assert_eq!(
        m.bodies.values().next().map(String::as_str),
        Some("Hello Bob <&>")
    );
    assert!(
        m.payloads.iter().any(|p| same(p, &extra)),
        "extra payload lost: {}",
        got.xml
    );
    assert!(got.xml.contains("thread-42"));

    // The reply, in the same thread, to alice's full JID.
    ok(bob.send_message(
        &alice.jid().to_string(),
        Some("Hi"),
        Some("thread-42"),
        vec![],
    ));
    let back = ok(alice
        .wait_message(WAIT, "bob's reply", |m| m.thread.is_some())
        .await);
    assert_eq!(
        back.stanza.thread.map(|t| t.id),
        Some("thread-42".to_owned())
    );
    ok(alice.close().await);
    ok(bob.close().await);
    eprintln!("message_with_thread: {:?}", t0.elapsed());
}

/// A presence subscription (subscribe / subscribed), then presence with an XEP-0152
/// reach payload, show and status reaches the watcher; both rosters show it.
pub(crate) async fn presence_subscription_with_reach(t: &Target) {
    let t0 = Instant::now();
    let mut watcher = t.online("carol").await;
    let mut bob = t.online("bob").await;
    ok(watcher.subscribe(&t.jid("bob")));
    let req = ok(bob
        .wait_presence(WAIT, "the subscription request", |p| {
            p.type_ == PresenceType::Subscribe
        })
        .await);
    assert_eq!(
        req.stanza.from.as_ref().map(|j| j.to_bare().to_string()),
        Some(t.jid("carol")),
        "{}",
        req.xml
    );
    ok(bob.approve(&t.jid("carol")));
    ok(watcher
        .wait_presence(WAIT, "subscribed", |p| p.type_ == PresenceType::Subscribed)
        .await);

    let reach = parse(
        "<reach xmlns='urn:xmpp:reach:0'><addr uri='sip:bob@lmpe.test'><desc xml:lang='en'>SIP</desc></addr></reach>",
    );
    let caps = parse(
        "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='urn:lmpe:harness' ver='QgayPKawpkPSDYmwT/WM94uAlu0='/>",
    );
    let activity = parse(
        "<activity xmlns='http://jabber.org/protocol/activity'><working><coding/></working><text>on duty</text></activity>",
    );
    ok(bob.send_presence(PresenceOut {
        show: Some(Show::Chat),
        status: Some("reachable over SIP".to_owned()),
        payloads: vec![reach.clone(), caps.clone(), activity.clone()],
        ..PresenceOut::default()
    }));
    let got = ok(watcher
        .wait_presence(WAIT, "bob's presence with reach", |p| {
            p.payloads.iter().any(|x| x.is("reach", "urn:xmpp:reach:0"))
        })
        .await);
    let p = &got.stanza;
    assert_eq!(p.type_, PresenceType::None, "{}", got.xml);
    assert_eq!(
        p.from.as_ref().map(|j| j.to_string()),
        Some(bob.jid().to_string())
    );
    assert_eq!(p.show, Some(Show::Chat));
    assert_eq!(
        p.statuses.values().next().map(String::as_str),
        Some("reachable over SIP")
    );
    assert!(
        p.payloads.iter().any(|x| same(x, &reach)),
        "reach payload changed: {}",
        got.xml
    );
    assert!(
        p.payloads.iter().any(|x| same(x, &caps)),
        "caps payload changed: {}",
        got.xml
    );
    assert!(
        p.payloads.iter().any(|x| same(x, &activity)),
        "activity payload changed: {}",
        got.xml
    );

    let roster = ok(watcher.roster().await);
    let item = roster.iter().find(|i| i.jid.to_string() == t.jid("bob"));
    assert!(
        item.is_some_and(|i| format!("{:?}", i.subscription).to_lowercase() == "to"),
        "watcher's roster: {roster:?}"
    );
    let roster = ok(bob.roster().await);
    let item = roster.iter().find(|i| i.jid.to_string() == t.jid("carol"));
    assert!(
        item.is_some_and(|i| format!("{:?}", i.subscription).to_lowercase() == "from"),
        "bob's roster: {roster:?}"
    );

    // Unavailable presence of bob's resource reaches the watcher too.
    let bob_full = bob.jid().to_string();
    ok(bob.close().await);
    ok(watcher
        .wait_presence(WAIT, "bob going offline", |p| {
            p.type_ == PresenceType::Unavailable
                && p.from.as_ref().is_some_and(|f| f.to_string() == bob_full)
        })
        .await);
    ok(watcher.close().await);
    eprintln!("presence_subscription_with_reach: {:?}", t0.elapsed());
}

/// XEP-0127 over XEP-0060: the publisher creates `warning-area-a`, three subscribers
/// subscribe, a CAP alert is published, and every subscriber receives exactly that
/// payload.
pub(crate) async fn pubsub_cap_alert(t: &Target) {
    let t0 = Instant::now();
    let node = "warning-area-a";
    let mut publisher = t.online(PUBLISHER).await;
    ok(publisher.pubsub_create(&t.pubsub, node).await);

    let mut subscribers = Vec::new();
    for user in ["alice", "bob", "dave"] {
        let mut c = t.online(user).await;
        ok(c.pubsub_subscribe(&t.pubsub, node).await);
        subscribers.push(c);
    }
    // A user that is not a publisher may not create nodes.
    let mut carol = t.online("carol").await;
    match carol.pubsub_create(&t.pubsub, "not-allowed").await {
        Err(XmppError::IqError { condition, .. }) => assert_eq!(condition, "forbidden"),
        other => panic!("create by a non-publisher: {other:?}"),
    }

    let alert = parse(CAP_ALERT);
    assert!(alert.is("alert", CAP_NS));
    ok(publisher
        .pubsub_publish(&t.pubsub, node, "lmpe-test-warning-0001", alert.clone())
        .await);

    for c in &mut subscribers {
        let got = ok(c
            .wait_message(WAIT, "the CAP alert notification", |m| {
                !pubsub_items(m).is_empty()
            })
            .await);
        let items = pubsub_items(&got.stanza);
        assert_eq!(items.len(), 1, "{}", got.xml);
        assert_eq!(items[0].node, node);
        assert_eq!(items[0].id, "lmpe-test-warning-0001");
        let sent = String::from(&alert);
        let rcvd = items[0]
            .payload
            .as_ref()
            .map(String::from)
            .unwrap_or_default();
        assert_eq!(rcvd, sent, "payload changed: {}", got.xml);
        assert_eq!(
            got.stanza.from.as_ref().map(|j| j.to_string()),
            Some(t.pubsub.clone())
        );
    }
    // Nobody else got it, and nobody got it twice.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for c in subscribers.iter_mut().chain([&mut carol, &mut publisher]) {
        let extra: Vec<_> = c
            .drain_events()
            .into_iter()
            .filter(|e| matches!(e, lmpe_xmpp::XmppEvent::Message(m) if !pubsub_items(&m.stanza).is_empty()))
            .collect();
        assert!(
            extra.is_empty(),
            "{}: unexpected notifications {extra:?}",
            c.jid()
        );
    }

    let items = ok(publisher.pubsub_get_items(&t.pubsub, node).await);
    assert!(
        items.iter().any(|i| i.id == "lmpe-test-warning-0001"
            && i.payload.as_ref().is_some_and(|p| same(p, &alert))),
        "items retrieval: {items:?}"
    );
    // A node that does not exist.
    match subscribers[0]
        .pubsub_subscribe(&t.pubsub, "no-such-node")
        .await
    {
        Err(XmppError::IqError { condition, .. }) => assert_eq!(condition, "item-not-found"),
        other => panic!("subscribe to a missing node: {other:?}"),
    }
    eprintln!("pubsub_cap_alert: {:?}", t0.elapsed());
}

/// Service discovery of the server and of the pubsub service, the legacy session IQ and
/// an IQ to a user who is not online.
pub(crate) async fn disco_session_and_iq_errors(t: &Target) {
    let t0 = Instant::now();
    let mut c = t.online("alice").await;
    let info = |to: &str| {
        (
            to.to_owned(),
            elem_ns("query", "http://jabber.org/protocol/disco#info"),
        )
    };
    let (to, q) = info(&t.domain);
    let r = ok(c
        .iq(Some(&to), IqKind::Get, q, "disco#info of the server")
        .await);
    let x = r.stanza.map(|e| String::from(&e)).unwrap_or_default();
    assert!(
        x.contains("category='server'") || x.contains("category=\"server\""),
        "{}",
        r.xml
    );
    let (to, q) = info(&t.pubsub);
    let r = ok(c
        .iq(Some(&to), IqKind::Get, q, "disco#info of pubsub")
        .await);
    let query = r
        .stanza
        .unwrap_or_else(|| panic!("empty disco#info: {}", r.xml));
    assert!(
        query.children().any(|i| i.name() == "identity"
            && i.attr("category") == Some("pubsub")
            && i.attr("type") == Some("service")),
        "{}",
        r.xml
    );
    assert!(
        query
            .children()
            .any(|f| f.name() == "feature"
                && f.attr("var") == Some("http://jabber.org/protocol/pubsub")),
        "{}",
        r.xml
    );
    let session = elem_ns("session", "urn:ietf:params:xml:ns:xmpp-session");
    ok(c.iq(None, IqKind::Set, session, "legacy session").await);
    // An IQ to the full JID of a resource that is not online.
    let to = format!("bob@{}/nowhere", t.domain);
    let ping = elem_ns("ping", "urn:xmpp:ping");
    match c
        .iq(Some(&to), IqKind::Get, ping, "ping an offline resource")
        .await
    {
        Err(XmppError::IqError { condition, .. }) => {
            assert_eq!(condition, "service-unavailable")
        }
        other => panic!("IQ to an offline resource: {other:?}"),
    }
    ok(c.close().await);
    eprintln!("disco_session_and_iq_errors: {:?}", t0.elapsed());
}

fn elem_ns(name: &str, ns: &str) -> Element {
    Element::builder(name, ns).build()
}

/// A wrong password is refused with a precise error, quickly.
pub(crate) async fn wrong_password_is_refused(t: &Target) {
    match XmppClient::connect(t.addr, &t.jid("alice"), "wrong", WAIT).await {
        Err(XmppError::Auth { .. }) => {}
        other => panic!("login with a wrong password: {other:?}"),
    }
}
