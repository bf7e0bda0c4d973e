//! Against a real Prosody 0.12 (Debian package `prosody`; CI installs it). These tests
//! fail, with the install hint, when Prosody is not installed.

mod flows;

use std::time::{Duration, Instant};

use flows::{Target, PUBLISHER, USERS};
use lmpe_xmpp::{Prosody, ProsodyOptions};

async fn start() -> (Prosody, Target) {
    let opts = ProsodyOptions::new("lmpe.test", USERS).publisher(PUBLISHER);
    let server = match Prosody::start(opts).await {
        Ok(p) => p,
        Err(e) => panic!("cannot start prosody: {e}"),
    };
    let target = Target {
        addr: server.addr(),
        domain: server.domain().to_owned(),
        pubsub: server.pubsub_jid(),
    };
    (server, target)
}

#[tokio::test]
async fn prosody_starts_on_loopback_and_stops_on_drop() {
    let t0 = Instant::now();
    let (server, _) = start().await;
    eprintln!("prosody started in {:?}", t0.elapsed());
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(server.domain(), "lmpe.test");
    assert_eq!(server.pubsub_jid(), "pubsub.lmpe.test");
    let dir = server.dir().to_owned();
    // Never as root: as the prosody user when the tests run as root.
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid()));
    let uid = status
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:").map(str::to_owned))
        })
        .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned));
    assert_ne!(uid.as_deref(), Some("0"), "prosody runs as root");
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    drop(server);
    assert!(!dir.exists(), "{} not removed", dir.display());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "prosody still listening"
    );
}

#[tokio::test]
async fn a_missing_prosody_fails_with_the_install_hint() {
    let opts = ProsodyOptions {
        prosody: Some("/nonexistent/prosody".into()),
        ..ProsodyOptions::default()
    };
    match Prosody::start(opts).await {
        Err(e) => assert!(e.to_string().contains("apt-get install -y prosody"), "{e}"),
        Ok(_) => panic!("started a prosody that does not exist"),
    }
}

#[tokio::test]
async fn prosody_message_with_thread() {
    let (server, t) = start().await;
    flows::message_with_thread(&t).await;
    drop(server);
}

#[tokio::test]
async fn prosody_presence_subscription_with_reach() {
    let (server, t) = start().await;
    flows::presence_subscription_with_reach(&t).await;
    drop(server);
}

#[tokio::test]
async fn prosody_pubsub_cap_alert() {
    let (server, t) = start().await;
    flows::pubsub_cap_alert(&t).await;
    drop(server);
}

#[tokio::test]
async fn prosody_wrong_password_is_refused() {
    let (server, t) = start().await;
    flows::wrong_password_is_refused(&t).await;
    drop(server);
}

#[tokio::test]
async fn prosody_disco_session_and_iq_errors() {
    let (server, t) = start().await;
    flows::disco_session_and_iq_errors(&t).await;
    drop(server);
}
