use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::endpoint::TransportKind;
use crate::testing::Pair;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn pair(expires: u32) -> Pair<Subscriber, Notifier> {
    let sub = Subscriber::new(SubscriberConfig {
        local: addr(5070),
        aor: "sip:citizen@lmpe.test".into(),
        event: CAP_EVENT_PACKAGE.into(),
        accept: CAP_CONTENT_TYPE.into(),
        expires,
        refresh: true,
    });
    let mut n = Notifier::new(NotifierConfig::new(
        addr(5080),
        CAP_EVENT_PACKAGE,
        CAP_CONTENT_TYPE,
    ));
    n.add_resource("alerts-area-a");
    Pair::new(sub, addr(5070), n, addr(5080), Instant::now())
}

fn sub_events(p: &mut Pair<Subscriber, Notifier>) -> Vec<SubscriberEvent> {
    std::iter::from_fn(|| p.a.poll_event()).collect()
}

fn notifier_events(p: &mut Pair<Subscriber, Notifier>) -> Vec<NotifierEvent> {
    std::iter::from_fn(|| p.b.poll_event()).collect()
}

fn subscribe(p: &mut Pair<Subscriber, Notifier>, resource: &str) -> SubscriptionId {
    let now = p.now();
    let id =
        p.a.subscribe(
            now,
            &format!("sip:{resource}@127.0.0.1:5080"),
            addr(5080),
            TransportKind::Udp,
            None,
        )
        .expect("subscribe");
    p.run_for(Duration::from_millis(50)).expect("run");
    id
}

#[test]
fn subscribe_is_accepted_and_notified_at_once_then_bodies_arrive() {
    let mut p = pair(600);
    let id = subscribe(&mut p, "alerts-area-a");
    let ev = sub_events(&mut p);
    assert!(
        matches!(ev[0], SubscriberEvent::Accepted { id: i, status: 200, expires: Some(600) } if i == id),
        "{ev:?}"
    );
    match &ev[1] {
        SubscriberEvent::Notified { state, body, .. } => {
            assert_eq!(state.state, SubState::Active);
            assert!(
                state.expires.is_some_and(|e| e <= 600 && e > 590),
                "{state:?}"
            );
            assert!(body.is_empty());
        }
        other => panic!("expected the first NOTIFY, got {other:?}"),
    }
    assert!(
        matches!(&notifier_events(&mut p)[0], NotifierEvent::Subscribed { resource, expires: 600, .. } if resource == "alerts-area-a")
    );

    let now = p.now();
    let sent = p.b.notify(now, "alerts-area-a", b"<alert/>");
    assert_eq!(sent.len(), 1);
    assert!(
        p.b.notify(now, "alerts-area-b", b"<alert/>").is_empty(),
        "no subscriber there"
    );
    p.run_for(Duration::from_millis(50)).expect("run");
    let ev = sub_events(&mut p);
    match &ev[..] {
        [SubscriberEvent::Notified {
            body,
            content_type,
            message,
            ..
        }] => {
            assert_eq!(body, b"<alert/>");
            assert_eq!(content_type.as_deref(), Some(CAP_CONTENT_TYPE));
            assert!(
                message.contains("Event: common-alerting-protocol"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(notifier_events(&mut p)
        .iter()
        .any(|e| matches!(e, NotifierEvent::Delivered { status: 200, .. })));
}

#[test]
fn unsubscribe_gets_a_terminated_notify_and_ends_both_sides() {
    let mut p = pair(600);
    let id = subscribe(&mut p, "alerts-area-a");
    sub_events(&mut p);
    let now = p.now();
    assert!(p.a.unsubscribe(now, id).expect("unsubscribe"));
    p.run_for(Duration::from_millis(50)).expect("run");
    let ev = sub_events(&mut p);
    assert!(
        ev.iter()
            .any(|e| matches!(e, SubscriberEvent::Terminated { id: i, .. } if *i == id)),
        "{ev:?}"
    );
    assert_eq!(p.a.active(), 0);
    assert!(p.b.is_empty());
    assert!(notifier_events(&mut p)
        .iter()
        .any(|e| matches!(e, NotifierEvent::Ended { reason, .. } if reason == "unsubscribed")));
}

#[test]
fn unknown_resource_wrong_event_and_short_expiry_are_refused() {
    let mut p = pair(600);
    let id = subscribe(&mut p, "alerts-nowhere");
    let ev = sub_events(&mut p);
    assert!(
        matches!(ev[..], [SubscriberEvent::Rejected { id: i, status: 404, .. }] if i == id),
        "{ev:?}"
    );

    let mut p = pair(10);
    subscribe(&mut p, "alerts-area-a");
    let ev = sub_events(&mut p);
    assert!(
        matches!(ev[..], [SubscriberEvent::Rejected { status: 423, ref response, .. }] if response.contains("Min-Expires: 60")),
        "{ev:?}"
    );

    let mut p = pair(600);
    p.a = Subscriber::new(SubscriberConfig {
        local: addr(5070),
        aor: "sip:citizen@lmpe.test".into(),
        event: "presence".into(),
        accept: CAP_CONTENT_TYPE.into(),
        expires: 600,
        refresh: false,
    });
    subscribe(&mut p, "alerts-area-a");
    let ev = sub_events(&mut p);
    assert!(
        matches!(ev[..], [SubscriberEvent::Rejected { status: 489, .. }]),
        "{ev:?}"
    );
}

#[test]
fn a_subscription_expires_with_a_terminated_notify_unless_refreshed() {
    // Refreshed: still alive after three times its duration.
    let mut p = pair(60);
    subscribe(&mut p, "alerts-area-a");
    p.run_for(Duration::from_secs(180)).expect("run");
    assert_eq!(p.b.len(), 1, "refreshes keep it");
    let ev = sub_events(&mut p);
    assert!(
        ev.iter()
            .filter(|e| matches!(e, SubscriberEvent::Accepted { .. }))
            .count()
            >= 3,
        "{ev:?}"
    );

    // Not refreshed: the notifier ends it.
    let mut p = pair(60);
    p.a = Subscriber::new(SubscriberConfig {
        local: addr(5070),
        aor: "sip:citizen@lmpe.test".into(),
        event: CAP_EVENT_PACKAGE.into(),
        accept: CAP_CONTENT_TYPE.into(),
        expires: 60,
        refresh: false,
    });
    subscribe(&mut p, "alerts-area-a");
    p.run_for(Duration::from_secs(61)).expect("run");
    assert!(p.b.is_empty());
    let ev = sub_events(&mut p);
    assert!(
        ev.iter().any(
            |e| matches!(e, SubscriberEvent::Terminated { reason: Some(r), .. } if r == "timeout")
        ),
        "{ev:?}"
    );
}

#[test]
fn a_notify_without_subscription_state_is_a_violation() {
    let mut p = pair(600);
    let id = subscribe(&mut p, "alerts-area-a");
    sub_events(&mut p);
    // Replay the notifier's first NOTIFY with the header removed, through the raw path.
    let first = p
        .packets()
        .iter()
        .find(|pk| pk.first_line().starts_with("NOTIFY"))
        .expect("a NOTIFY")
        .clone();
    let text = String::from_utf8_lossy(&first.bytes)
        .replace("Subscription-State: ", "X-Was-State: ")
        .replace("branch=z9hG4bK", "branch=z9hG4bKreplay");
    p.b.ua
        .send_raw(TransportKind::Udp, addr(5070), text.into_bytes());
    p.run_for(Duration::from_millis(50)).expect("run");
    let ev = sub_events(&mut p);
    assert!(
        ev.iter().any(|e| matches!(e, SubscriberEvent::Violation { id: Some(i), what, .. } if *i == id && what.contains("Subscription-State"))),
        "{ev:?}"
    );
    assert_eq!(
        SubscriptionState::parse("active;expires=30").expect("parse"),
        SubscriptionState::active(30)
    );
    assert!(SubscriptionState::parse("dormant").is_err());
    assert_eq!(
        SubscriptionState::terminated("timeout").to_string(),
        "terminated;reason=timeout"
    );
}
