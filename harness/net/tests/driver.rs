//! Driver tests against a tiny echo endpoint, over 127.0.0.1 only.

#![allow(clippy::unwrap_used)] // Tests may unwrap.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lmpe_net::{spawn_endpoint, EndpointHandle, NetError, SipSocketConfig};
use lmpe_proto::endpoint::{Transmit, TransportKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

mod common;

use common::Echo;

const WAIT: Duration = Duration::from_secs(5);

fn sip(body: &str) -> Vec<u8> {
    format!(
        "MESSAGE sip:psap@example.org SIP/2.0\r\nCall-ID: {body}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn start(echo: Echo) -> EndpointHandle<Echo> {
    spawn_endpoint(echo, SipSocketConfig::loopback())
        .await
        .unwrap()
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn udp_echo(server: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    client.send_to(payload, server).await.unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let (n, from) = tokio::time::timeout(WAIT, client.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from, server);
    buf.truncate(n);
    buf
}

async fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(WAIT, stream.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    buf
}

/// Reads until the peer closes (EOF or reset), failing if it stays open.
async fn expect_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(WAIT, stream.read(&mut buf)).await {
            Err(_) => panic!("connection still open"),
            Ok(Ok(0) | Err(_)) => return,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn udp_and_tcp_share_the_port() {
    let h = start(Echo::replying()).await;
    let addr = h.local_addr();
    assert_ne!(addr.port(), 0);
    assert!(std::net::UdpSocket::bind(addr).is_err());
    assert!(std::net::TcpListener::bind(addr).is_err());
    h.shutdown().await;
}

#[tokio::test]
async fn udp_round_trip() {
    let h = start(Echo::replying()).await;
    let msg = sip("hello");
    assert_eq!(udp_echo(h.local_addr(), &msg).await, msg);
    let stats = h.stats();
    assert_eq!((stats.udp_rx, stats.udp_tx), (1, 1));
    h.shutdown().await;
}

#[tokio::test]
async fn garbage_and_large_datagrams_reach_the_endpoint() {
    let h = start(Echo::replying()).await;
    assert_eq!(
        udp_echo(h.local_addr(), b"\0\xffnot sip").await,
        b"\0\xffnot sip"
    );
    let big = vec![b'x'; 60_000];
    assert_eq!(udp_echo(h.local_addr(), &big).await, big);
    assert_eq!(h.with(|ep, _| ep.inputs.len()).await.unwrap(), 2);
    h.shutdown().await;
}

#[tokio::test]
async fn tcp_framing_of_coalesced_and_split_messages() {
    let h = start(Echo::replying()).await;
    let mut client = TcpStream::connect(h.local_addr()).await.unwrap();
    let (a, b, c) = (sip("first"), sip("second"), sip("third, split"));
    // Two messages in one segment.
    client
        .write_all(&[a.clone(), b.clone()].concat())
        .await
        .unwrap();
    // One message split across writes.
    let (c1, c2) = c.split_at(20);
    client.write_all(c1).await.unwrap();
    client.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(30)).await;
    client.write_all(c2).await.unwrap();

    let expected = [a, b, c].concat();
    assert_eq!(read_exactly(&mut client, expected.len()).await, expected);
    let inputs = h
        .with(|ep, _| {
            ep.inputs
                .iter()
                .map(|i| (i.transport, i.bytes.len()))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
    assert_eq!(inputs.len(), 3);
    assert!(inputs.iter().all(|(t, _)| *t == TransportKind::Tcp));
    assert_eq!(h.stats().tcp_rx, 3);
    h.shutdown().await;
}

#[tokio::test]
async fn tcp_response_reuses_the_inbound_connection() {
    let h = start(Echo::replying()).await;
    let mut client = TcpStream::connect(h.local_addr()).await.unwrap();
    let client_addr = client.local_addr().unwrap();
    let msg = sip("request");
    client.write_all(&msg).await.unwrap();
    assert_eq!(read_exactly(&mut client, msg.len()).await, msg);
    let (remote, local) = h
        .with(|ep, _| (ep.inputs[0].remote, ep.inputs[0].local))
        .await
        .unwrap();
    assert_eq!(remote, client_addr);
    assert_eq!(local, h.local_addr());
    let stats = h.stats();
    // Only the inbound connection exists: the response did not open a new one.
    assert_eq!(stats.tcp_connections_opened, 1);
    assert_eq!(stats.tcp_tx, 1);
    h.shutdown().await;
}

#[tokio::test]
async fn tcp_framing_error_closes_only_that_connection() {
    let h = start(Echo::replying()).await;
    let mut bad = TcpStream::connect(h.local_addr()).await.unwrap();
    bad.write_all(b"MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc")
        .await
        .unwrap();
    expect_closed(&mut bad).await;
    eventually("framing error counted", || h.stats().framing_errors == 1).await;
    eventually("connection closed", || {
        h.stats().tcp_connections_closed == 1
    })
    .await;

    assert!(h.is_running());
    let msg = sip("still alive");
    assert_eq!(udp_echo(h.local_addr(), &msg).await, msg);
    // And TCP still accepts.
    let mut good = TcpStream::connect(h.local_addr()).await.unwrap();
    good.write_all(&msg).await.unwrap();
    assert_eq!(read_exactly(&mut good, msg.len()).await, msg);
    h.shutdown().await;
}

#[tokio::test]
async fn with_runs_on_the_endpoint_and_sends_what_it_queues() {
    let h = start(Echo::default()).await;
    let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = client.local_addr().unwrap();
    let before = Instant::now();
    let now = h
        .with(move |ep, now| {
            ep.out.push_back(Transmit {
                transport: TransportKind::Udp,
                remote: to,
                bytes: Arc::from(&b"pushed"[..]),
            });
            now
        })
        .await
        .unwrap();
    assert!(now >= before);
    let mut buf = [0u8; 64];
    let (n, from) = tokio::time::timeout(WAIT, client.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((&buf[..n], from), (&b"pushed"[..], h.local_addr()));
    assert_eq!(h.with(|ep, _| ep.out.len()).await.unwrap(), 0);
    h.shutdown().await;
}

#[tokio::test]
async fn timer_fires() {
    let h = start(Echo::default()).await;
    h.with(|ep, now| ep.timer = Some(now + Duration::from_millis(50)))
        .await
        .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let fired = h.with(|ep, _| ep.fired).await.unwrap();
        if fired > 0 {
            assert_eq!(fired, 1);
            break;
        }
        assert!(Instant::now() < deadline, "handle_timeout never called");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.shutdown().await;
}

#[tokio::test]
async fn timer_set_at_construction_fires() {
    let ep = Echo {
        timer: Some(Instant::now() + Duration::from_millis(50)),
        ..Echo::default()
    };
    let h = start(ep).await;
    let deadline = Instant::now() + WAIT;
    while h.with(|ep, _| ep.fired).await.unwrap() == 0 {
        assert!(Instant::now() < deadline, "handle_timeout never called");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.shutdown().await;
}

#[tokio::test]
async fn outbound_tcp_connection_is_reused_both_ways() {
    let server = start(Echo::replying()).await;
    let client = start(Echo::default()).await;
    let to = server.local_addr();
    let msg = sip("outbound");
    for _ in 0..2 {
        let bytes: Arc<[u8]> = msg.clone().into();
        client
            .with(move |ep, _| {
                ep.out.push_back(Transmit {
                    transport: TransportKind::Tcp,
                    remote: to,
                    bytes,
                });
            })
            .await
            .unwrap();
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let got = client
            .with(|ep, _| {
                ep.inputs
                    .iter()
                    .map(|i| (i.transport, i.remote, i.bytes.clone()))
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap();
        if got.len() == 2 {
            assert!(got
                .iter()
                .all(|g| *g == (TransportKind::Tcp, to, msg.clone())));
            break;
        }
        assert!(Instant::now() < deadline, "echo over TCP not received");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // One connection, used for both requests and both echoes.
    assert_eq!(client.stats().tcp_connections_opened, 1);
    assert_eq!(server.stats().tcp_connections_opened, 1);
    assert_eq!(server.stats().tcp_tx, 2);
    client.shutdown().await;
    server.shutdown().await;
}

#[tokio::test]
async fn failed_connect_is_a_transport_error() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let to = unused.local_addr().unwrap();
    drop(unused);
    let h = start(Echo::default()).await;
    h.with(move |ep, _| {
        ep.out.push_back(Transmit {
            transport: TransportKind::Tcp,
            remote: to,
            bytes: sip("nobody home").into(),
        });
    })
    .await
    .unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        let errors = h.with(|ep, _| ep.errors.clone()).await.unwrap();
        if let Some((transport, remote, _)) = errors.first() {
            assert_eq!((*transport, *remote), (TransportKind::Tcp, to));
            break;
        }
        assert!(Instant::now() < deadline, "no transport error reported");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(h.stats().send_errors, 1);
    // A later transmit to the same address tries again (the dead entry is gone).
    h.with(move |ep, _| {
        ep.out.push_back(Transmit {
            transport: TransportKind::Tcp,
            remote: to,
            bytes: sip("again").into(),
        });
    })
    .await
    .unwrap();
    eventually("second transport error", || h.stats().send_errors == 2).await;
    h.shutdown().await;
}

#[tokio::test]
async fn tls_transmit_is_a_transport_error() {
    let h = start(Echo::default()).await;
    let to: SocketAddr = "127.0.0.1:5061".parse().unwrap();
    let errors = h
        .with(move |ep, _| {
            ep.out.push_back(Transmit {
                transport: TransportKind::Tls,
                remote: to,
                bytes: sip("tls").into(),
            });
        })
        .await
        .and(h.with(|ep, _| ep.errors.clone()).await)
        .unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, TransportKind::Tls);
    h.shutdown().await;
}

#[tokio::test]
async fn idle_tcp_connection_is_closed() {
    let cfg = SipSocketConfig {
        tcp_idle_timeout: Duration::from_millis(200),
        ..SipSocketConfig::loopback()
    };
    let h = spawn_endpoint(Echo::replying(), cfg).await.unwrap();
    let mut client = TcpStream::connect(h.local_addr()).await.unwrap();
    let msg = sip("then silence");
    client.write_all(&msg).await.unwrap();
    assert_eq!(read_exactly(&mut client, msg.len()).await, msg);
    let quiet_since = Instant::now();
    expect_closed(&mut client).await;
    assert!(quiet_since.elapsed() >= Duration::from_millis(150));
    eventually("close counted", || h.stats().tcp_connections_closed == 1).await;
    h.shutdown().await;
}

#[tokio::test]
async fn shutdown_is_idempotent_and_releases_the_port() {
    let h = start(Echo::replying()).await;
    let addr = h.local_addr();
    let mut client = TcpStream::connect(addr).await.unwrap();
    let msg = sip("before shutdown");
    client.write_all(&msg).await.unwrap();
    assert_eq!(read_exactly(&mut client, msg.len()).await, msg);

    let other = h.clone();
    h.shutdown().await;
    assert!(!h.is_running());
    other.shutdown().await;
    h.shutdown().await;
    assert!(matches!(
        other.with(|ep, _| ep.inputs.len()).await,
        Err(NetError::Stopped)
    ));
    expect_closed(&mut client).await;
    std::net::UdpSocket::bind(addr).unwrap();
    std::net::TcpListener::bind(addr).unwrap();
}

#[tokio::test]
async fn dropping_every_handle_stops_the_driver() {
    let h = start(Echo::replying()).await;
    let addr = h.local_addr();
    drop(h);
    let deadline = Instant::now() + WAIT;
    while std::net::UdpSocket::bind(addr).is_err() {
        assert!(Instant::now() < deadline, "UDP port still bound");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    while std::net::TcpListener::bind(addr).is_err() {
        assert!(Instant::now() < deadline, "TCP port still bound");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn config_errors() {
    let cfg = SipSocketConfig {
        udp: false,
        tcp: false,
        ..SipSocketConfig::loopback()
    };
    assert!(matches!(
        spawn_endpoint(Echo::default(), cfg).await,
        Err(NetError::NoTransport)
    ));
    let h = start(Echo::default()).await;
    let taken = SipSocketConfig::new(h.local_addr());
    assert!(matches!(
        spawn_endpoint(Echo::default(), taken).await,
        Err(NetError::Bind {
            transport: TransportKind::Udp,
            ..
        })
    ));
    h.shutdown().await;
}

#[tokio::test]
async fn udp_only_endpoint_rejects_tcp_transmits() {
    let cfg = SipSocketConfig {
        tcp: false,
        ..SipSocketConfig::loopback()
    };
    let h = spawn_endpoint(Echo::replying(), cfg).await.unwrap();
    let msg = sip("udp only");
    assert_eq!(udp_echo(h.local_addr(), &msg).await, msg);
    let to = h.local_addr();
    h.with(move |ep, _| {
        ep.out.push_back(Transmit {
            transport: TransportKind::Tcp,
            remote: to,
            bytes: sip("x").into(),
        });
    })
    .await
    .unwrap();
    assert_eq!(h.with(|ep, _| ep.errors.len()).await.unwrap(), 1);
    h.shutdown().await;
}

#[tokio::test]
async fn a_panicking_command_stops_the_driver_cleanly() {
    let h = start(Echo::replying()).await;
    let addr = h.local_addr();
    let result = h.with(|_, _| -> usize { panic!("endpoint bug") }).await;
    assert!(matches!(result, Err(NetError::Stopped)));
    eventually("driver reported stopped", || !h.is_running()).await;
    h.shutdown().await;
    let deadline = Instant::now() + WAIT;
    while std::net::UdpSocket::bind(addr).is_err() || std::net::TcpListener::bind(addr).is_err() {
        assert!(Instant::now() < deadline, "port still bound after a panic");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A burst of equal-size datagrams (sent as one UDP GSO run) and a shorter last one reach the
/// other endpoint one by one, in order and intact, also when the receiving socket has UDP GRO on
/// (over loopback the kernel then delivers the GSO run as one coalesced buffer, which the
/// driver splits at the segment size it reports).
#[tokio::test]
async fn gso_burst_arrives_as_separate_datagrams() {
    let sender = start(Echo::default()).await;
    let receiver = start(Echo::default()).await;
    let to = receiver.local_addr();
    // 150 datagrams of 300 bytes (more than one GSO run of 64), then different sizes.
    let mut sent: Vec<Vec<u8>> = (0..150u32)
        .map(|i| {
            let mut d = format!("datagram {i:05} ").into_bytes();
            d.resize(300, b'a' + (i % 26) as u8);
            d
        })
        .collect();
    sent.push(b"short last one".to_vec());
    sent.push(vec![b'z'; 300]);
    let queued = sent.clone();
    sender
        .with(move |ep, _| {
            for bytes in queued {
                ep.out.push_back(Transmit {
                    transport: TransportKind::Udp,
                    remote: to,
                    bytes: Arc::from(bytes),
                });
            }
        })
        .await
        .unwrap();
    let n = sent.len();
    let deadline = Instant::now() + WAIT;
    loop {
        let got = receiver.with(|ep, _| ep.inputs.len()).await.unwrap();
        if got >= n {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {got} of {n} datagrams arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (received, from): (Vec<Vec<u8>>, Vec<SocketAddr>) = receiver
        .with(|ep, _| {
            ep.inputs
                .iter()
                .map(|i| (i.bytes.clone(), i.remote))
                .unzip()
        })
        .await
        .unwrap();
    assert_eq!(received, sent);
    assert!(from.iter().all(|a| *a == sender.local_addr()));
    assert_eq!(receiver.stats().udp_rx, n as u64);
    assert_eq!(sender.stats().udp_tx, n as u64);
    sender.shutdown().await;
    receiver.shutdown().await;
}
