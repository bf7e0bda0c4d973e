//! Rough UDP throughput of the endpoint driver over loopback (not a test, not a benchmark
//! harness): a sender endpoint fires N fixed ~400-byte SIP MESSAGEs on an open-loop schedule
//! (its own timer, never waiting for responses), a receiver endpoint answers each with a small
//! response, and the sender counts the responses.
//!
//! ```text
//! cargo run --release -p lmpe-net --example udp_pingpong -- [COUNT] [RATE]
//! ```
//!
//! COUNT defaults to 200000. RATE is the offered load in messages/s; 0 (the default) fires
//! as fast as the driver lets it (a burst of 64 on every wake-up).
//!
//! Each endpoint runs on its own single-threaded runtime and OS thread (as the load generator
//! would run one socket per core), so the two drivers never share a worker.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lmpe_net::{spawn_endpoint, EndpointHandle, SipSocketConfig};
use lmpe_proto::endpoint::{Endpoint, Incoming, Transmit, TransportKind};

/// Messages fired per timer expiry at most.
const BURST: u64 = 64;

/// Fires `total` copies of one message at `target` on its own schedule; counts responses.
struct Sender {
    target: SocketAddr,
    message: Arc<[u8]>,
    total: u64,
    /// Messages per second; `None` fires as fast as allowed.
    rate: Option<f64>,
    start: Option<Instant>,
    next_fire: Option<Instant>,
    sent: u64,
    received: u64,
    last_received: Option<Instant>,
    out: VecDeque<Transmit>,
}

impl Sender {
    fn fire(&mut self, count: u64) {
        for _ in 0..count.min(self.total - self.sent) {
            self.out.push_back(Transmit {
                transport: TransportKind::Udp,
                remote: self.target,
                bytes: Arc::clone(&self.message),
            });
            self.sent += 1;
        }
    }
}

impl Endpoint for Sender {
    fn handle_input(&mut self, now: Instant, _input: Incoming) {
        self.received += 1;
        self.last_received = Some(now);
    }

    fn handle_transport_error(
        &mut self,
        _now: Instant,
        _transport: TransportKind,
        remote: SocketAddr,
        error: &str,
    ) {
        eprintln!("send to {remote} failed: {error}");
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        self.next_fire.filter(|_| self.sent < self.total)
    }

    fn handle_timeout(&mut self, now: Instant) {
        let Some(start) = self.start else { return };
        match self.rate {
            None => {
                self.fire(BURST);
                self.next_fire = Some(now);
            }
            Some(rate) => {
                let due = (now.duration_since(start).as_secs_f64() * rate) as u64;
                self.fire(due.saturating_sub(self.sent).min(BURST));
                self.next_fire =
                    Some(start + Duration::from_secs_f64((self.sent + 1) as f64 / rate));
            }
        }
    }
}

/// Answers every datagram with a fixed small response.
struct Responder {
    response: Arc<[u8]>,
    out: VecDeque<Transmit>,
}

impl Endpoint for Responder {
    fn handle_input(&mut self, _now: Instant, input: Incoming) {
        self.out.push_back(Transmit {
            transport: input.transport,
            remote: input.remote,
            bytes: Arc::clone(&self.response),
        });
    }

    fn handle_transport_error(
        &mut self,
        _: Instant,
        _: TransportKind,
        remote: SocketAddr,
        e: &str,
    ) {
        eprintln!("response to {remote} failed: {e}");
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }

    fn handle_timeout(&mut self, _now: Instant) {}
}

fn message() -> Arc<[u8]> {
    let head = "MESSAGE sip:urn:service:sos@psap.example.org SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-pingpong-0001\r\n\
        Max-Forwards: 70\r\n\
        From: <sip:caller@example.org>;tag=a73kszlfl\r\n\
        To: <urn:service:sos>\r\n\
        Call-ID: 1j9FpLxk3uxtm8tn@127.0.0.1\r\n\
        CSeq: 1 MESSAGE\r\n\
        Content-Type: text/plain\r\n";
    let body = "x".repeat(400 - head.len() - "Content-Length: 00\r\n\r\n".len());
    let text = format!("{head}Content-Length: {}\r\n\r\n{body}", body.len());
    Arc::from(text.into_bytes())
}

/// Starts `endpoint` on a dedicated thread with its own current-thread runtime, which runs
/// until the endpoint's driver stops.
async fn spawn_on_own_thread<E: Endpoint>(
    endpoint: E,
    cfg: SipSocketConfig,
) -> Result<EndpointHandle<E>, Box<dyn std::error::Error>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => return drop(tx.send(Err(e.to_string()))),
        };
        rt.block_on(async move {
            match spawn_endpoint(endpoint, cfg).await {
                Ok(handle) => {
                    let watch = handle.clone();
                    let _ = tx.send(Ok(handle));
                    while watch.is_running() {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                Err(e) => drop(tx.send(Err(e.to_string()))),
            }
        });
    });
    Ok(rx.await??)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let total: u64 = args.next().map_or(Ok(200_000), |a| a.parse())?;
    let rate: f64 = args.next().map_or(Ok(0.0), |a| a.parse())?;
    let udp_only = SipSocketConfig {
        tcp: false,
        ..SipSocketConfig::loopback()
    };

    let responder = Responder {
        response: Arc::from(&b"SIP/2.0 200 OK\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"[..]),
        out: VecDeque::new(),
    };
    let receiver = spawn_on_own_thread(responder, udp_only.clone()).await?;
    let message = message();
    let size = message.len();
    let sender = Sender {
        target: receiver.local_addr(),
        message,
        total,
        rate: (rate > 0.0).then_some(rate),
        start: None,
        next_fire: None,
        sent: 0,
        received: 0,
        last_received: None,
        out: VecDeque::new(),
    };
    let sender = spawn_on_own_thread(sender, udp_only).await?;
    sender
        .with(|ep, now| {
            ep.start = Some(now);
            ep.next_fire = Some(now);
        })
        .await?;

    // Done when every response is in, or nothing arrived for a second after the last send.
    let mut last = (0, Instant::now());
    let (start, received, last_received) = loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (start, sent, received, last_received) = sender
            .with(|ep, _| (ep.start, ep.sent, ep.received, ep.last_received))
            .await?;
        if received != last.0 {
            last = (received, Instant::now());
        }
        let stalled = sent == total && last.1.elapsed() > Duration::from_secs(1);
        if received == total || stalled {
            break (start, received, last_received);
        }
    };
    let elapsed = match (start, last_received) {
        (Some(start), Some(end)) => end.duration_since(start),
        _ => Duration::ZERO,
    };
    let (s, r) = (sender.stats(), receiver.stats());
    println!(
        "{received}/{total} round trips of {size}-byte messages in {:.3} s: {:.0} msgs/s \
         (offered: {}; lost {}; sender udp tx/rx {}/{}, receiver udp rx/tx {}/{}, send errors {})",
        elapsed.as_secs_f64(),
        received as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        if rate > 0.0 {
            format!("{rate:.0} msgs/s")
        } else {
            "unlimited".to_owned()
        },
        total - received,
        s.udp_tx,
        s.udp_rx,
        r.udp_rx,
        r.udp_tx,
        s.send_errors + r.send_errors,
    );
    sender.shutdown().await;
    receiver.shutdown().await;
    Ok(())
}
