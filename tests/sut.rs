//! `lmpe-harness sut` as a separate process: it survives malformed input and carries a full chat
//! (start, PSAP start, in-chat both ways, heartbeat, stop) for an independent SIP peer.

use std::net::{SocketAddr, UdpSocket};

use crate::support::start_sut;
use std::time::{Duration, Instant};

use lmpe_net::{spawn_endpoint, SipSocketConfig};
use lmpe_proto::endpoint::TransportKind;
use lmpe_proto::roles::{AppConfig, AppRole, RoleEvent};
use lmpe_proto::session::{ChatParams, SessionEvent};
use lmpe_proto::ua::UaConfig;

fn torture_messages() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/ref/rfc4475");
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    v.push(vec![0u8; 3000]);
    v.push(b"\r\n\r\n".to_vec());
    v.push(b"MESSAGE urn:service:sos SIP/2.0\r\nContent-Length: 99999\r\n\r\n".to_vec());
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sut_survives_garbage_and_carries_a_full_chat() {
    let sut = start_sut(None);
    let garbage = UdpSocket::bind("127.0.0.1:0").expect("bind");
    for m in torture_messages() {
        let _ = garbage.send_to(&m, sut.addr());
    }
    let mut tcp = std::net::TcpStream::connect(sut.addr()).expect("tcp connect");
    use std::io::Write as _;
    let _ =
        tcp.write_all(b"MESSAGE sip:x SIP/2.0\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx");

    let app = AppRole::new(AppConfig {
        user: "peer".into(),
        element_id: "peer.test".into(),
        outbound: (TransportKind::Udp, sut.addr()),
        params: ChatParams {
            heartbeat_interval: Some(Duration::from_millis(100)),
            ..ChatParams::default()
        },
        location: (47.07, 15.44),
        extra_headers: Vec::new(),
        extra_parts: Vec::new(),
        ua: UaConfig::new(SocketAddr::from(([127, 0, 0, 1], 0))),
    });
    let app = spawn_endpoint(app, SipSocketConfig::loopback())
        .await
        .expect("spawn app");
    let addr = app.local_addr();
    app.with(move |a, _| a.set_local(addr))
        .await
        .expect("set local");
    let chat = app
        .with(|a, now| a.start_chat(now, "urn:service:sos", "Help"))
        .await
        .expect("with")
        .expect("start");

    let mut events = Vec::new();
    let wait = |pred: fn(&RoleEvent) -> bool| {
        let app = app.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let got = app
                    .with(|a, _| std::iter::from_fn(|| a.poll_event()).collect::<Vec<_>>())
                    .await
                    .expect("with");
                let hit = got.iter().any(pred);
                if hit || Instant::now() > deadline {
                    return (hit, got);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let (ok, got) = wait(|e| {
        matches!(
            e,
            RoleEvent::Session {
                event: SessionEvent::Established { .. },
                ..
            }
        )
    })
    .await;
    events.extend(got);
    assert!(ok, "chat not established: {events:?}");
    let c = chat.clone();
    app.with(move |a, now| a.send_chat(now, &c, "Where are you?"))
        .await
        .expect("with")
        .expect("send");
    let (ok, got) = wait(|e| matches!(e, RoleEvent::Session { event: SessionEvent::Received { msg_type, .. }, .. } if msg_type.0 == 259)).await;
    events.extend(got);
    assert!(ok, "no PSAP in-chat: {events:?}");
    let (ok, got) = wait(|e| matches!(e, RoleEvent::Session { event: SessionEvent::Answered { msg_type, status: 200, .. }, .. } if msg_type.0 == 260)).await;
    events.extend(got);
    assert!(ok, "heartbeat not answered: {events:?}");
    let c = chat.clone();
    app.with(move |a, now| a.stop(now, &c, "bye"))
        .await
        .expect("with")
        .expect("stop");
    let (ok, got) = wait(|e| matches!(e, RoleEvent::Session { event: SessionEvent::Answered { msg_type, status: 200, .. }, .. } if msg_type.0 == 258)).await;
    events.extend(got);
    assert!(ok, "stop not answered: {events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, RoleEvent::Violation { .. })),
        "violations: {events:?}"
    );
    app.shutdown().await;
}
