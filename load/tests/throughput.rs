//! MESSAGE transactions UAC → UAS, straight and through a proxy (a reference ESRP routing
//! `urn:service:sos` to the UAS), over loopback UDP: every request answered, counts reconcile.

#![allow(clippy::unwrap_used)] // Tests may unwrap.

use std::net::SocketAddr;
use std::time::Duration;

use lmpe_load::{run_message_throughput, ThroughputConfig, ThroughputReport};
use lmpe_net::{spawn_endpoint, SipSocketConfig};
use lmpe_proto::endpoint::TransportKind;
use lmpe_reference::proxy::{Proxy, ProxyConfig, ProxyFaults, ProxyRole, Route};

/// An address for a UAS or proxy bound later, outside the ephemeral range.
fn free_udp_port() -> SocketAddr {
    let port = lmpe_net::unused_port([127, 0, 0, 1].into()).unwrap_or_else(|e| panic!("{e}"));
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn assert_all_answered(r: &ThroughputReport, count: u64) {
    assert_eq!(r.sent, count, "{r:?}");
    assert_eq!(r.answered_2xx, count, "{r:?}");
    assert_eq!(r.uas_received, count, "{r:?}");
    assert_eq!(
        r.answered_2xx + r.answered_other + r.timed_out + r.errors + r.in_flight,
        r.sent
    );
    assert!(
        r.latency_us[0] >= 1 && r.latency_us[4] >= r.latency_us[0],
        "{r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn straight_to_the_uas() {
    let r = run_message_throughput(ThroughputConfig {
        count: 2_000,
        rate: 2_000.0,
        ..ThroughputConfig::default()
    })
    .await
    .unwrap();
    assert_all_answered(&r, 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_proxy_that_routes_the_request_uri_to_the_uas() {
    let uas = free_udp_port();
    let esrp = spawn_endpoint(
        Proxy::new(ProxyConfig {
            name: "esrp.test".into(),
            role: ProxyRole::Esrp,
            local: SocketAddr::from(([127, 0, 0, 1], 0)),
            routes: vec![Route {
                service: "urn:service:sos".into(),
                target: Some(format!("sip:psap@{uas}")),
                next_hop: uas,
            }],
            user_map: Vec::new(),
            provisioned_priority: None,
            transport: TransportKind::Udp,
            faults: ProxyFaults::default(),
        }),
        SipSocketConfig::loopback(),
    )
    .await
    .unwrap();
    let esrp_addr = esrp.local_addr();
    esrp.with(move |p, _| {
        p.config_mut().local = esrp_addr;
        p.set_recording(false);
    })
    .await
    .unwrap();
    let r = run_message_throughput(ThroughputConfig {
        count: 1_000,
        rate: 1_000.0,
        next_hop: Some(esrp_addr),
        request_uri: Some("urn:service:sos".into()),
        uas_bind: Some(uas),
        drain: Duration::from_secs(10),
        ..ThroughputConfig::default()
    })
    .await
    .unwrap();
    assert_all_answered(&r, 1_000);
    assert_eq!(esrp.with(|p, _| p.stats()).await.unwrap().dropped, 0);
    esrp.shutdown().await;
}
