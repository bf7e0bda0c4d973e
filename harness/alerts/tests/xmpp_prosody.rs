//! Alerts over XMPP through a real Prosody: the alert server publishes XEP-0127 items on the
//! nodes of Prosody's pubsub component, citizens subscribed to their area's node receive them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lmpe_alerts::http::HttpGet;
use lmpe_alerts::xmpp::{XmppCitizen, XmppPublisher};
use lmpe_alerts::{
    AlertFaults, AlertServer, AlertServerConfig, Channel, Citizen, CitizenConfig, DistributionPoint,
};
use lmpe_warning::cap::{Alert, CapDateTime, Category, Polygon};
use lmpe_xmpp::{Prosody, ProsodyOptions};

fn any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn alerts_reach_xmpp_subscribers_of_their_area_through_prosody() {
    let prosody = Prosody::start(
        ProsodyOptions::new(
            "lmpe.test",
            &[
                ("alerts", "alerts-pw"),
                ("citizen-a", "a-pw"),
                ("citizen-b", "b-pw"),
            ],
        )
        .publisher("alerts"),
    )
    .await
    .expect("Prosody (apt-get install -y prosody)");
    let pubsub = prosody.pubsub_jid();
    let points = DistributionPoint::sample().expect("sample points");
    let nodes: Vec<String> = points.iter().map(|p| p.id.clone()).collect();
    let publisher = XmppPublisher::connect(
        prosody.addr(),
        "alerts@lmpe.test",
        "alerts-pw",
        &pubsub,
        &nodes,
        T,
    )
    .await
    .expect("publisher");
    let server = AlertServer::start(AlertServerConfig {
        http_listen: any(),
        sip_listen: any(),
        points,
        faults: AlertFaults::default(),
        publisher: Some(Arc::new(publisher)),
    })
    .await
    .expect("alert server");

    let mut citizens = Vec::new();
    for (user, pw, node) in [
        ("citizen-a", "a-pw", "warn-a"),
        ("citizen-b", "b-pw", "warn-b"),
    ] {
        let x = XmppCitizen::connect(prosody.addr(), &format!("{user}@lmpe.test"), pw, T)
            .await
            .expect("citizen XMPP");
        let mut c = Citizen::start(CitizenConfig {
            name: user.into(),
            aor: format!("sip:{user}@lmpe.test"),
            sip_listen: any(),
            sip_proxy: None,
            xmpp: Some(Arc::new(x)),
            poll: Duration::from_millis(50),
            expires: 600,
            inbox: None,
        })
        .await
        .expect("citizen");
        let uri = format!("xmpp:{pubsub}?pubsub;action=subscribe;node={node}");
        let s = c
            .subscribe(&uri, T)
            .await
            .expect("pubsub subscribe at Prosody");
        assert_eq!(s.channel, Channel::Xmpp);
        citizens.push(c);
    }

    let sent = CapDateTime::parse("2026-11-21T18:00:00-00:00").expect("time");
    let alert = Alert::sample(
        "X-1",
        "originator@lmpe.test",
        sent,
        Category::Fire,
        "Forest fire",
        Polygon::rectangle(48.1, 16.1, 48.2, 16.2).expect("poly"),
    );
    let r = HttpGet::new()
        .post(
            &server.ingest_url(),
            "application/common-alerting-protocol+xml",
            alert.to_xml().into_bytes(),
            T,
        )
        .await
        .expect("ingest");
    assert_eq!(r.status, 202, "{}", r.body);
    assert!(r.body.contains("\"xmpp\""), "{}", r.body);
    let got = citizens[0]
        .recv(T)
        .await
        .expect("citizen A receives the alert over XMPP");
    assert_eq!(got.channel, Channel::Xmpp);
    let received = got.alert.as_ref().expect("valid CAP");
    assert!(
        received.diff(&alert).is_empty(),
        "{:?}\n{}",
        received.diff(&alert),
        got.carrier
    );
    assert!(
        got.carrier
            .contains("http://jabber.org/protocol/pubsub#event"),
        "{}",
        got.carrier
    );
    assert!(
        citizens[1].recv(Duration::from_millis(500)).await.is_none(),
        "citizen B is not in area A"
    );
}
