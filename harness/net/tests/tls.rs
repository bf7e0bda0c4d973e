//! SIP over TLS (ETSI TS 103 698 6.1.1 SIP-1): mutual authentication, connection reuse,
//! rejection of untrusted peers, framing across TLS records. 127.0.0.1 only; every CA and
//! certificate is generated at test time.

#![allow(clippy::unwrap_used)] // Tests may unwrap.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lmpe_net::pki::TestCa;
use lmpe_net::rustls::pki_types::pem::PemObject;
use lmpe_net::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use lmpe_net::rustls::{self, RootCertStore};
use lmpe_net::{spawn_endpoint, EndpointHandle, NetError, NetStats, SipSocketConfig, TlsConfig};
use lmpe_proto::endpoint::{Transmit, TransportKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

mod common;

use common::Echo;

const WAIT: Duration = Duration::from_secs(5);

/// A test CA (the crate's run-time PKI).
struct Ca(TestCa);

/// A certificate and its key, PEM.
struct Leaf {
    cert: String,
    key: String,
}

impl Ca {
    fn new(name: &str) -> Self {
        Self(TestCa::new(name).unwrap())
    }

    /// A leaf for both server and client use, with SANs 127.0.0.1 and localhost.
    fn leaf(&self, name: &str) -> Leaf {
        let l = self.0.leaf(name).unwrap();
        Leaf {
            cert: l.cert_pem,
            key: l.key_pem,
        }
    }

    fn pem(&self) -> &str {
        self.0.cert_pem()
    }
}

fn tls_config(leaf: &Leaf, trusted: &Ca) -> TlsConfig {
    TlsConfig::from_pem(&leaf.cert, &leaf.key, trusted.pem()).unwrap()
}

fn socket(tls: TlsConfig) -> SipSocketConfig {
    SipSocketConfig::loopback().with_tls(tls)
}

fn sip(body: &str) -> Vec<u8> {
    format!(
        "MESSAGE sip:psap@example.org SIP/2.0\r\nCall-ID: {body}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn spawn_echo(cfg: SipSocketConfig) -> EndpointHandle<Echo> {
    let echo = Echo {
        echo: true,
        ..Echo::default()
    };
    spawn_endpoint(echo, cfg).await.unwrap()
}

async fn spawn_sink(cfg: SipSocketConfig) -> EndpointHandle<Echo> {
    spawn_endpoint(Echo::default(), cfg).await.unwrap()
}

async fn send_tls(h: &EndpointHandle<Echo>, remote: SocketAddr, bytes: Vec<u8>) {
    h.with(move |e, _| {
        e.out.push_back(Transmit {
            transport: TransportKind::Tls,
            remote,
            bytes: bytes.into(),
        });
    })
    .await
    .unwrap();
}

/// Polls `f` on the driver until it holds, or panics after [`WAIT`].
async fn wait_for(h: &EndpointHandle<Echo>, what: &str, f: fn(&Echo) -> bool) {
    let deadline = Instant::now() + WAIT;
    while !h.with(move |e, _| f(e)).await.unwrap() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls the stats until `f` holds, or panics after [`WAIT`].
async fn wait_stats(h: &EndpointHandle<Echo>, what: &str, f: impl Fn(&NetStats) -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f(&h.stats()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {:?}",
            h.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A plain tokio-rustls client trusting `trusted`, presenting `leaf` if given.
fn raw_connector(leaf: Option<&Leaf>, trusted: &Ca) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(trusted.pem().as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match leaf {
        Some(leaf) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(leaf.cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(leaf.key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn mutual_auth_round_trip_reuses_one_connection() {
    let ca = Ca::new("LMPE test CA");
    let server = spawn_echo(socket(tls_config(&ca.leaf("psap"), &ca))).await;
    let client = spawn_sink(socket(tls_config(&ca.leaf("app"), &ca))).await;
    let server_tls = server.tls_local_addr().unwrap();
    assert_ne!(server_tls.port(), server.local_addr().port());

    send_tls(&client, server_tls, sip("one")).await;
    send_tls(&client, server_tls, sip("two")).await;
    wait_for(&client, "two echoes", |e| e.inputs.len() == 2).await;

    let (inputs, errors) = client
        .with(|e, _| (std::mem::take(&mut e.inputs), e.errors.clone()))
        .await
        .unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(inputs[0].bytes, sip("one"));
    assert_eq!(inputs[1].bytes, sip("two"));
    for input in &inputs {
        assert_eq!(input.transport, TransportKind::Tls);
        assert_eq!(input.remote, server_tls);
    }
    let server_inputs = server.with(|e, _| e.inputs.clone()).await.unwrap();
    assert_eq!(server_inputs.len(), 2);
    assert_eq!(server_inputs[0].transport, TransportKind::Tls);
    assert_eq!(server_inputs[0].local, server_tls);
    // Both requests came on one connection, and both responses went back on it.
    assert_eq!(server_inputs[0].remote, server_inputs[1].remote);

    let (c, s) = (client.stats(), server.stats());
    assert_eq!(c.tls_connections_opened, 1, "{c:?}");
    assert_eq!(s.tls_connections_opened, 1, "{s:?}");
    assert_eq!((c.tls_tx, c.tls_rx, s.tls_rx, s.tls_tx), (2, 2, 2, 2));
    assert_eq!((c.tcp_connections_opened, s.tcp_connections_opened), (0, 0));
    assert_eq!((c.tls_handshake_failures, s.tls_handshake_failures), (0, 0));
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn client_without_certificate_is_rejected_and_server_keeps_serving() {
    let ca = Ca::new("LMPE test CA");
    let server = spawn_echo(socket(tls_config(&ca.leaf("psap"), &ca))).await;
    let server_tls = server.tls_local_addr().unwrap();

    let tcp = TcpStream::connect(server_tls).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    // TLS 1.3: the client finishes its side of the handshake before the server checks it.
    let outcome = raw_connector(None, &ca).connect(name, tcp).await;
    if let Ok(mut stream) = outcome {
        let _ = stream.write_all(&sip("anonymous")).await;
        let _ = stream.flush().await;
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .unwrap();
        assert!(
            !matches!(read, Ok(n) if n > 0),
            "the server answered: {read:?}"
        );
    }
    wait_stats(&server, "a handshake failure", |s| {
        s.tls_handshake_failures == 1
    })
    .await;
    let s = server.stats();
    assert_eq!(s.tls_connections_opened, 0, "{s:?}");

    // A client with a proper certificate is still served.
    let client = spawn_sink(socket(tls_config(&ca.leaf("app"), &ca))).await;
    send_tls(&client, server_tls, sip("after")).await;
    wait_for(&client, "the echo", |e| e.inputs.len() == 1).await;
    let inputs = server.with(|e, _| e.inputs.clone()).await.unwrap();
    assert_eq!(inputs.len(), 1, "only the authenticated message arrives");
    assert_eq!(inputs[0].bytes, sip("after"));
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn client_certificate_from_another_ca_is_rejected() {
    let ca = Ca::new("LMPE test CA");
    let rogue = Ca::new("Rogue CA");
    let server = spawn_echo(socket(tls_config(&ca.leaf("psap"), &ca))).await;
    let server_tls = server.tls_local_addr().unwrap();
    // Trusts the server's CA, but its own certificate comes from the rogue CA.
    let client = spawn_sink(socket(tls_config(&rogue.leaf("intruder"), &ca))).await;

    send_tls(&client, server_tls, sip("intrusion")).await;
    wait_for(&client, "a transport error", |e| !e.errors.is_empty()).await;
    let errors = client.with(|e, _| e.errors.clone()).await.unwrap();
    let (kind, remote, error) = &errors[0];
    assert_eq!((*kind, *remote), (TransportKind::Tls, server_tls));
    assert!(error.contains("certificate"), "{error}");
    wait_stats(&server, "a handshake failure", |s| {
        s.tls_handshake_failures == 1
    })
    .await;
    assert!(server.with(|e, _| e.inputs.is_empty()).await.unwrap());
    assert!(server.is_running());
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn untrusted_server_certificate_fails_the_handshake() {
    let ca = Ca::new("LMPE test CA");
    let rogue = Ca::new("Rogue CA");
    let server = spawn_echo(socket(tls_config(&rogue.leaf("fake psap"), &ca))).await;
    let server_tls = server.tls_local_addr().unwrap();
    let client = spawn_sink(socket(tls_config(&ca.leaf("app"), &ca))).await;

    send_tls(&client, server_tls, sip("hello")).await;
    wait_for(&client, "a transport error", |e| !e.errors.is_empty()).await;
    let errors = client.with(|e, _| e.errors.clone()).await.unwrap();
    let (kind, remote, error) = &errors[0];
    assert_eq!((*kind, *remote), (TransportKind::Tls, server_tls));
    assert!(error.contains("not trusted"), "{error}");
    let c = client.stats();
    assert_eq!(
        (c.tls_handshake_failures, c.tls_connections_opened),
        (1, 0),
        "{c:?}"
    );
    assert_eq!(c.send_errors, 1, "{c:?}");
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_server_name_fails_the_handshake() {
    let ca = Ca::new("LMPE test CA");
    let server = spawn_echo(socket(tls_config(&ca.leaf("psap"), &ca))).await;
    let mut tls = tls_config(&ca.leaf("app"), &ca);
    tls.server_name = Some("psap.example.org".to_owned());
    let client = spawn_sink(socket(tls)).await;

    send_tls(&client, server.tls_local_addr().unwrap(), sip("hello")).await;
    wait_for(&client, "a transport error", |e| !e.errors.is_empty()).await;
    let errors = client.with(|e, _| e.errors.clone()).await.unwrap();
    assert!(errors[0].2.contains("expected name"), "{}", errors[0].2);
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn framing_across_tls_records_and_replies_on_the_same_connection() {
    let ca = Ca::new("LMPE test CA");
    let server = spawn_echo(socket(tls_config(&ca.leaf("psap"), &ca))).await;
    let server_tls = server.tls_local_addr().unwrap();
    let app = ca.leaf("app");

    let tcp = TcpStream::connect(server_tls).await.unwrap();
    let local = tcp.local_addr().unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut stream = raw_connector(Some(&app), &ca)
        .connect(name, tcp)
        .await
        .unwrap();

    // Two messages in one write (one TLS record).
    let two = [sip("first"), sip("second")].concat();
    stream.write_all(&two).await.unwrap();
    stream.flush().await.unwrap();
    // One message split across writes (separate records, with a pause between).
    let third = sip("third");
    let (head, tail) = third.split_at(third.len() / 2);
    stream.write_all(head).await.unwrap();
    stream.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    stream.write_all(tail).await.unwrap();
    stream.flush().await.unwrap();

    wait_for(&server, "three messages", |e| e.inputs.len() == 3).await;
    let inputs = server.with(|e, _| e.inputs.clone()).await.unwrap();
    let bodies: Vec<_> = inputs.iter().map(|i| i.bytes.clone()).collect();
    assert_eq!(bodies, vec![sip("first"), sip("second"), third.clone()]);
    assert!(inputs
        .iter()
        .all(|i| i.remote == local && i.transport == TransportKind::Tls));

    // The echoes come back on this connection.
    let expected = [two, third].concat();
    let mut echoed = vec![0u8; expected.len()];
    tokio::time::timeout(WAIT, stream.read_exact(&mut echoed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(echoed, expected);
    let s = server.stats();
    assert_eq!(
        (s.tls_connections_opened, s.tls_rx, s.tls_tx),
        (1, 3, 3),
        "{s:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn silent_client_times_out_and_idle_connections_close() {
    let ca = Ca::new("LMPE test CA");
    let mut tls = tls_config(&ca.leaf("psap"), &ca);
    tls.handshake_timeout = Duration::from_millis(200);
    let mut cfg = socket(tls);
    cfg.tcp_idle_timeout = Duration::from_millis(200);
    let server = spawn_echo(cfg).await;
    let server_tls = server.tls_local_addr().unwrap();

    // A TCP connection that never starts a handshake.
    let _silent = TcpStream::connect(server_tls).await.unwrap();
    wait_stats(&server, "a handshake timeout", |s| {
        s.tls_handshake_failures == 1
    })
    .await;

    let client = spawn_sink(socket(tls_config(&ca.leaf("app"), &ca))).await;
    send_tls(&client, server_tls, sip("once")).await;
    wait_for(&client, "the echo", |e| e.inputs.len() == 1).await;
    wait_stats(&server, "the idle close", |s| s.tls_connections_closed == 1).await;
    client.shutdown().await;
    server.shutdown().await;
}

#[test]
fn config_errors_are_precise() {
    let ca = Ca::new("LMPE test CA");
    let leaf = ca.leaf("psap");
    let err = TlsConfig::from_pem(&leaf.cert, "not a key", ca.pem()).unwrap_err();
    assert!(matches!(err, NetError::TlsNoKey), "{err}");
    let err = TlsConfig::from_pem(&leaf.key, &leaf.key, ca.pem()).unwrap_err();
    assert!(
        matches!(
            err,
            NetError::TlsNoCertificate {
                what: "certificate chain"
            }
        ),
        "{err}"
    );
    let err = TlsConfig::from_pem(&leaf.cert, &leaf.key, "").unwrap_err();
    assert!(
        matches!(
            err,
            NetError::TlsNoCertificate {
                what: "CA certificates"
            }
        ),
        "{err}"
    );
    let truncated = &leaf.cert[..leaf.cert.len() / 2];
    let err = TlsConfig::from_pem(truncated, &leaf.key, ca.pem()).unwrap_err();
    assert!(
        matches!(
            err,
            NetError::TlsPem {
                what: "certificate chain",
                ..
            }
        ),
        "{err}"
    );
    let err = TlsConfig::from_pem_files("/nonexistent/cert.pem", "k", "c").unwrap_err();
    assert!(matches!(err, NetError::TlsFile { .. }), "{err}");
    // Combined key + chain in one PEM is fine.
    let combined = format!("{}{}", leaf.cert, leaf.key);
    assert!(TlsConfig::from_pem(&combined, &combined, ca.pem()).is_ok());
    // Debug never prints the key.
    let debug = format!("{:?}", tls_config(&leaf, &ca));
    assert!(
        debug.contains("<redacted>") && !debug.contains("PRIVATE"),
        "{debug}"
    );
    assert!(SipSocketConfig::loopback().tls.is_none());
}

#[tokio::test]
async fn inconsistent_config_is_refused_at_spawn() {
    let ca = Ca::new("LMPE test CA");
    let leaf = ca.leaf("psap");
    let other = ca.leaf("other");
    // The key does not belong to the certificate.
    let mismatched = TlsConfig::from_pem(&leaf.cert, &other.key, ca.pem()).unwrap();
    let err = spawn_endpoint(Echo::default(), socket(mismatched))
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::TlsSetup { .. }), "{err}");
    // Mutual authentication without trust anchors.
    let mut no_roots = tls_config(&leaf, &ca);
    no_roots.roots = RootCertStore::empty();
    let err = spawn_endpoint(Echo::default(), socket(no_roots))
        .await
        .unwrap_err();
    assert!(matches!(err, NetError::TlsSetup { .. }), "{err}");
    let mut bad_name = tls_config(&leaf, &ca);
    bad_name.server_name = Some("not a name!".to_owned());
    let err = spawn_endpoint(Echo::default(), socket(bad_name))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            NetError::TlsSetup {
                context: "server name",
                ..
            }
        ),
        "{err}"
    );
    // Without TLS there is no TLS listener.
    let plain = spawn_sink(SipSocketConfig::loopback()).await;
    assert_eq!(plain.tls_local_addr(), None);
    plain.shutdown().await;
}
