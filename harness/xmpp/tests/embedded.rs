//! The same client flows as `tests/prosody.rs`, against the embedded server: both servers
//! are interchangeable for the client.

mod flows;

use std::time::{Duration, Instant};

use flows::{ok, Target, PUBLISHER, USERS, WAIT};
use lmpe_xmpp::{EmbeddedServer, ServerOptions, XmppClient, XmppError};

async fn start_with(opts: ServerOptions) -> (EmbeddedServer, Target) {
    let t0 = Instant::now();
    let server = ok(EmbeddedServer::start(([127, 0, 0, 1], 0).into(), opts).await);
    eprintln!("embedded server started in {:?}", t0.elapsed());
    let target = Target {
        addr: server.addr(),
        domain: server.domain().to_owned(),
        pubsub: server.pubsub_jid(),
    };
    (server, target)
}

async fn start() -> (EmbeddedServer, Target) {
    start_with(ServerOptions::new("lmpe.test", USERS).publisher(PUBLISHER)).await
}

#[tokio::test]
async fn embedded_message_with_thread() {
    let (_server, t) = start().await;
    flows::message_with_thread(&t).await;
}

#[tokio::test]
async fn embedded_presence_subscription_with_reach() {
    let (_server, t) = start().await;
    flows::presence_subscription_with_reach(&t).await;
}

#[tokio::test]
async fn embedded_pubsub_cap_alert() {
    let (_server, t) = start().await;
    flows::pubsub_cap_alert(&t).await;
}

#[tokio::test]
async fn embedded_wrong_password_is_refused() {
    let (_server, t) = start().await;
    flows::wrong_password_is_refused(&t).await;
}

#[tokio::test]
async fn embedded_any_user_policy_logs_anyone_in() {
    let (server, t) = start_with(ServerOptions::default()).await;
    let c = ok(XmppClient::connect(t.addr, "zoe@lmpe.test/phone", "whatever", WAIT).await);
    assert_eq!(c.jid().to_string(), "zoe@lmpe.test/phone");
    assert_eq!(server.sessions().len(), 1);
    ok(c.close().await);
}

#[tokio::test]
async fn embedded_refuses_non_loopback_and_oversized_stanzas() {
    let err = EmbeddedServer::start(([0, 0, 0, 0], 0).into(), ServerOptions::default()).await;
    assert!(matches!(err, Err(XmppError::Bind { .. })), "{err:?}");

    let opts = ServerOptions {
        max_stanza_bytes: 4096,
        ..ServerOptions::default()
    };
    let (_server, t) = start_with(opts).await;
    let mut c = ok(XmppClient::connect(t.addr, "big@lmpe.test", "x", WAIT).await);
    let big = "x".repeat(10_000);
    ok(c.send_message("someone@lmpe.test", Some(&big), None, vec![]));
    let closed = c
        .wait_for(WAIT, "the connection to close", |e| match e {
            lmpe_xmpp::XmppEvent::Closed { reason } => Some(reason.clone()),
            _ => None,
        })
        .await;
    let reason = ok(closed);
    assert!(reason.contains("policy-violation"), "{reason}");
}

#[tokio::test]
async fn embedded_server_stops_on_drop() {
    let (server, t) = start().await;
    let mut c = t.online("alice").await;
    drop(server);
    let ended = c
        .wait_for(Duration::from_secs(2), "the end", |e| {
            matches!(e, lmpe_xmpp::XmppEvent::Closed { .. }).then_some(())
        })
        .await;
    assert!(ended.is_ok(), "{ended:?}");
    assert!(tokio::net::TcpStream::connect(t.addr).await.is_err());
}

#[tokio::test]
async fn embedded_disco_session_and_iq_errors() {
    let (_server, t) = start().await;
    flows::disco_session_and_iq_errors(&t).await;
}

#[tokio::test]
async fn embedded_bounds_connections_and_negotiation_time() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let opts = ServerOptions {
        max_connections: 1,
        negotiation_timeout: Duration::from_millis(300),
        ..ServerOptions::default()
    };
    let (_server, t) = start_with(opts).await;
    let c = ok(XmppClient::connect(t.addr, "one@lmpe.test", "x", WAIT).await);
    // The second connection is closed at once.
    match XmppClient::connect(t.addr, "two@lmpe.test", "x", WAIT).await {
        Err(XmppError::Stream { .. } | XmppError::Connect { .. }) => {}
        other => panic!("second connection over the limit: {other:?}"),
    }
    ok(c.close().await);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // A connection that never negotiates is closed after the negotiation timeout.
    let t0 = Instant::now();
    let mut raw = match tokio::net::TcpStream::connect(t.addr).await {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let _ = raw.write_all(b"<?xml version='1.0'?>").await;
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            match raw.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(read.is_ok(), "silent connection not closed");
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t0.elapsed()
    );
}
