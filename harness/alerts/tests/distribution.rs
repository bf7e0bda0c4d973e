//! The reference alert server and the citizen subscriber over SIP and HTTP on loopback.

use std::net::SocketAddr;
use std::time::Duration;

use lmpe_alerts::http::HttpGet;
use lmpe_alerts::{
    AlertFaults, AlertServer, AlertServerConfig, Channel, Citizen, CitizenConfig, DistributionPoint,
};
use lmpe_warning::cap::{Alert, CapDateTime, Category, Polygon};

fn any() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn server(faults: AlertFaults) -> AlertServer {
    let points = DistributionPoint::sample().expect("sample points");
    AlertServer::start(AlertServerConfig {
        http_listen: any(),
        sip_listen: any(),
        points,
        faults,
        publisher: None,
    })
    .await
    .expect("alert server")
}

async fn citizen(name: &str) -> Citizen {
    Citizen::start(CitizenConfig {
        name: name.into(),
        aor: format!("sip:{name}@lmpe.test"),
        sip_listen: any(),
        sip_proxy: None,
        xmpp: None,
        poll: Duration::from_millis(50),
        expires: 600,
        inbox: None,
    })
    .await
    .expect("citizen")
}

fn alert(id: &str, polygon: Polygon) -> Alert {
    let sent = CapDateTime::parse("2026-11-21T18:00:00-00:00").expect("time");
    Alert::sample(
        id,
        "originator@lmpe.test",
        sent,
        Category::Met,
        "Storm",
        polygon,
    )
}

async fn post(s: &AlertServer, a: &Alert) -> serde_json::Value {
    let r = HttpGet::new()
        .post(
            &s.ingest_url(),
            "application/common-alerting-protocol+xml",
            a.to_xml().into_bytes(),
            Duration::from_secs(5),
        )
        .await
        .expect("ingest");
    assert_eq!(r.status, 202, "{}", r.body);
    serde_json::from_str(&r.body).expect("json")
}

async fn subscribe_both(c: &mut Citizen, s: &AlertServer, point: &str) {
    let sip = format!("sip:alerts-{point}@{}", s.sip_addr());
    let http = format!("{}/feeds/{point}.atom", s.http_base());
    for uri in [sip, http] {
        let sub = c
            .subscribe(&uri, Duration::from_secs(3))
            .await
            .expect("subscribe");
        assert_eq!(sub.uri, uri);
    }
}

#[tokio::test]
async fn an_alert_reaches_the_subscribers_of_its_area_intact_on_sip_and_http_and_no_one_else() {
    let s = server(AlertFaults::default()).await;
    let mut a = citizen("citizen-a").await;
    let mut b = citizen("citizen-b").await;
    subscribe_both(&mut a, &s, "warn-a").await;
    subscribe_both(&mut b, &s, "warn-b").await;

    let published = alert(
        "A-1",
        Polygon::rectangle(48.1, 16.1, 48.2, 16.2).expect("poly"),
    );
    let answer = post(&s, &published).await;
    assert_eq!(
        answer["points"],
        serde_json::json!(["warn-a", "warn-a-met"])
    );

    let mut got = Vec::new();
    while got.len() < 2 {
        let r = a
            .recv(Duration::from_secs(3))
            .await
            .expect("an alert for citizen A");
        got.push(r);
    }
    let mut channels: Vec<Channel> = got.iter().map(|r| r.channel).collect();
    channels.sort();
    assert_eq!(channels, [Channel::Sip, Channel::Http]);
    for r in &got {
        let alert = r.alert.as_ref().expect("valid CAP");
        assert!(
            alert.diff(&published).is_empty(),
            "{:?}",
            alert.diff(&published)
        );
    }
    assert!(
        b.recv(Duration::from_millis(400)).await.is_none(),
        "citizen B is not in area A"
    );
    assert!(a.violations().is_empty(), "{:?}", a.violations());

    // Bad input is refused with the reason.
    let r = HttpGet::new()
        .post(
            &s.ingest_url(),
            "application/common-alerting-protocol+xml",
            b"<alert/>".to_vec(),
            Duration::from_secs(5),
        )
        .await
        .expect("ingest");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("CAP"), "{}", r.body);
}

#[tokio::test]
async fn faults_show_at_the_subscriber() {
    for (fault, check) in [
        ("alert-drops-sip", "sip"),
        ("alert-alters", "diff"),
        ("alert-invalid-cap", "invalid"),
        ("alert-wrong-area", "b"),
    ] {
        let s = server(AlertFaults::from_name(fault).expect("fault")).await;
        let mut a = citizen("citizen-a").await;
        let mut b = citizen("citizen-b").await;
        subscribe_both(&mut a, &s, "warn-a").await;
        subscribe_both(&mut b, &s, "warn-b").await;
        let published = alert(
            "A-2",
            Polygon::rectangle(48.1, 16.1, 48.2, 16.2).expect("poly"),
        );
        post(&s, &published).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let got_a = a.drain();
        let got_b = b.drain();
        match check {
            "sip" => {
                assert!(got_a.iter().all(|r| r.channel != Channel::Sip), "{fault}");
                assert!(got_a.iter().any(|r| r.channel == Channel::Http), "{fault}");
            }
            "diff" => assert!(
                got_a.iter().all(|r| r
                    .alert
                    .as_ref()
                    .is_ok_and(|x| !x.diff(&published).is_empty())),
                "{fault}"
            ),
            "invalid" => {
                assert_eq!(got_a.len(), 2, "{fault}");
                assert!(got_a.iter().all(|r| r.alert.is_err()), "{fault}: {got_a:?}");
            }
            _ => assert_eq!(got_b.len(), 2, "{fault}: B gets area A's alert"),
        }
    }
}
