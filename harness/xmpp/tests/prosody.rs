//! Against a real Prosody 0.12 (Debian package `prosody`; CI installs it). These tests
//! fail, with the install hint, when Prosody is not installed.

use std::time::{Duration, Instant};

use lmpe_xmpp::{Prosody, ProsodyOptions};

async fn start() -> Prosody {
    let opts = ProsodyOptions::new("lmpe.test", &[("alice", "alice-pw"), ("bob", "bob-pw")])
        .publisher("alerts");
    match Prosody::start(opts).await {
        Ok(p) => p,
        Err(e) => panic!("cannot start prosody: {e}"),
    }
}

#[tokio::test]
async fn prosody_starts_on_loopback_and_stops_on_drop() {
    let t0 = Instant::now();
    let server = start().await;
    eprintln!("prosody started in {:?}", t0.elapsed());
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(server.domain(), "lmpe.test");
    assert_eq!(server.pubsub_jid(), "pubsub.lmpe.test");
    let dir = server.dir().to_owned();
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    drop(server);
    assert!(!dir.exists(), "{} not removed", dir.display());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "prosody still listening");
}
