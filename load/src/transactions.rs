//! Open-loop MESSAGE transactions from a UAC endpoint to a UAS endpoint.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use lmpe_net::{spawn_endpoint, NetError, SipSocketConfig};
use lmpe_proto::endpoint::{Endpoint, Incoming, Transmit, TransportKind};
use lmpe_proto::ua::{UaConfig, UaEvent, UserAgent};
use lmpe_wire::sip::{reason_phrase, write_response_for, Method, NameAddr};
use serde::Serialize;

/// What to run.
#[derive(Debug, Clone)]
pub struct ThroughputConfig {
    /// Number of MESSAGE transactions.
    pub count: u64,
    /// Arrival rate per second (open model); 0 means "as fast as the sender can".
    pub rate: f64,
    /// Body size in bytes (text/plain).
    pub body_bytes: usize,
    /// Give up this long after the last intended send.
    pub drain: Duration,
    /// At most this many transactions open at once (0: no limit). A send that is due while the
    /// limit is reached waits for an answer and is still measured from its intended time, so a
    /// receiver that falls behind shows as latency instead of driving the sender into Timer E
    /// retransmissions (which cost the receiver more work and end in a collapse).
    pub max_in_flight: usize,
    /// Send every request to this address (a proxy: a BCF, an ESRP, Kamailio) instead of
    /// straight to the UAS; the proxy must route the Request-URI to the UAS.
    pub next_hop: Option<SocketAddr>,
    /// Request-URI and To URI (default `sip:uas@<UAS address>`; e.g. `urn:service:sos` when
    /// the next hop is a BCF that routes emergency requests to the UAS as its PSAP).
    pub request_uri: Option<String>,
    /// Where the UAS binds (default: a free port on 127.0.0.1), so a proxy can be configured
    /// to route to it before the run.
    pub uas_bind: Option<SocketAddr>,
}

impl Default for ThroughputConfig {
    fn default() -> Self {
        Self {
            count: 100_000,
            rate: 0.0,
            body_bytes: 200,
            drain: Duration::from_secs(40),
            max_in_flight: 2048,
            next_hop: None,
            request_uri: None,
            uas_bind: None,
        }
    }
}

/// Results; the counts reconcile: `sent == answered_2xx + answered_other + timed_out + errors + in_flight`.
#[derive(Debug, Clone, Serialize)]
pub struct ThroughputReport {
    /// Transactions started.
    pub sent: u64,
    /// Final 2xx responses.
    pub answered_2xx: u64,
    /// Other final responses.
    pub answered_other: u64,
    /// Timer F expiries.
    pub timed_out: u64,
    /// Transport errors.
    pub errors: u64,
    /// Still open when the run ended.
    pub in_flight: u64,
    /// Timer E retransmissions.
    pub retransmissions: u64,
    /// Requests the UAS received (new transactions).
    pub uas_received: u64,
    /// Wall time from the first send to the last answer (seconds).
    pub elapsed_s: f64,
    /// Completed transactions per second.
    pub tx_per_s: f64,
    /// Latency percentiles from the intended send time, microseconds: p50, p90, p99, p99.9, max.
    pub latency_us: [u64; 5],
}

/// Sends MESSAGE requests on an open schedule and measures each from its intended send time.
#[derive(Debug)]
pub struct Uac {
    ua: UserAgent,
    dest: SocketAddr,
    cfg: ThroughputConfig,
    start: Option<Instant>,
    next: u64,
    body: Vec<u8>,
    /// Request-URI and To URI, From (with tag): the same for every request.
    uri: String,
    to: String,
    from: String,
    intended: HashMap<u64, Instant, ahash::RandomState>,
    hist: Histogram<u64>,
    report: ThroughputReport,
    last_answer: Option<Instant>,
}

impl Uac {
    /// A sender of requests for `uri` (Request-URI and To) to `dest`.
    pub fn new(ua: UaConfig, dest: SocketAddr, uri: String, cfg: ThroughputConfig) -> Self {
        let mut hist = Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| {
            Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits are valid"))
        });
        hist.auto(true);
        Self {
            ua: UserAgent::new(ua),
            dest,
            body: vec![b'x'; cfg.body_bytes],
            to: NameAddr::new(uri.as_str()).to_string(),
            uri,
            from: String::new(),
            cfg,
            start: None,
            next: 0,
            intended: HashMap::default(),
            hist,
            report: empty_report(),
            last_answer: None,
        }
    }

    /// Sets the bound address.
    pub fn set_local(&mut self, local: SocketAddr) {
        self.ua.set_local(local);
        self.from = from_header(local);
    }

    /// Starts the schedule at `now`.
    pub fn begin(&mut self, now: Instant) {
        self.start = Some(now);
        self.send_due(now);
    }

    fn intended_at(&self, i: u64) -> Option<Instant> {
        let start = self.start?;
        if self.cfg.rate <= 0.0 {
            return Some(start);
        }
        Some(start + Duration::from_secs_f64(i as f64 / self.cfg.rate))
    }

    fn send_due(&mut self, now: Instant) {
        // Bound the burst per wake-up so responses keep being read when unthrottled.
        let mut budget = 256;
        if self.from.is_empty() {
            self.from = from_header(self.ua.local());
        }
        while self.next < self.cfg.count && budget > 0 && !self.throttled() {
            let Some(at) = self.intended_at(self.next) else {
                return;
            };
            if at > now {
                break;
            }
            let (uri, from, to, body, n) = (&self.uri, &self.from, &self.to, &self.body, self.next);
            let sent = self.ua.send_request_with(
                now,
                Method::Message,
                TransportKind::Udp,
                self.dest,
                |via, out| {
                    use std::io::Write;
                    out.reserve(300 + uri.len() + from.len() + to.len() + body.len());
                    let _ = write!(
                        out,
                        "MESSAGE {uri} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n\
                         From: {from}\r\nTo: {to}\r\nCall-ID: {n}@load\r\nCSeq: 1 MESSAGE\r\n\
                         Content-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    out.extend_from_slice(body);
                },
            );
            match sent {
                Ok(h) => {
                    self.intended.insert(h, at);
                    self.report.sent += 1;
                }
                Err(_) => self.report.errors += 1,
            }
            self.next += 1;
            budget -= 1;
        }
    }

    /// Whether the in-flight limit holds back the next send.
    fn throttled(&self) -> bool {
        self.cfg.max_in_flight > 0 && self.intended.len() >= self.cfg.max_in_flight
    }

    fn pump(&mut self, now: Instant) {
        while let Some(ev) = self.ua.poll_event() {
            match ev {
                UaEvent::Response { handle, msg } => {
                    let status = msg.status().unwrap_or(0);
                    if status < 200 {
                        continue;
                    }
                    if let Some(at) = self.intended.remove(&handle) {
                        let us = now.saturating_duration_since(at).as_micros().max(1) as u64;
                        let _ = self.hist.record(us);
                    }
                    if (200..300).contains(&status) {
                        self.report.answered_2xx += 1;
                    } else {
                        self.report.answered_other += 1;
                    }
                    self.last_answer = Some(now);
                }
                UaEvent::Timeout { handle } => {
                    self.intended.remove(&handle);
                    self.report.timed_out += 1;
                }
                UaEvent::TransportError { handle } => {
                    self.intended.remove(&handle);
                    self.report.errors += 1;
                }
                UaEvent::Request { .. }
                | UaEvent::Malformed { .. }
                | UaEvent::StrayResponse { .. } => {}
            }
        }
    }

    /// Whether every transaction has ended or the drain time after the last send has passed.
    pub fn finished(&self, now: Instant) -> bool {
        if self.next < self.cfg.count {
            return false;
        }
        if self.intended.is_empty() {
            return true;
        }
        self.intended_at(self.cfg.count.saturating_sub(1))
            .is_some_and(|last| now > last + self.cfg.drain)
    }

    /// The report so far.
    pub fn report(&self) -> ThroughputReport {
        let mut r = self.report.clone();
        r.in_flight = self.intended.len() as u64;
        r.retransmissions = self.ua.stats().retransmissions;
        if let (Some(s), Some(e)) = (self.start, self.last_answer) {
            r.elapsed_s = e.saturating_duration_since(s).as_secs_f64();
            if r.elapsed_s > 0.0 {
                r.tx_per_s = (r.answered_2xx + r.answered_other) as f64 / r.elapsed_s;
            }
        }
        r.latency_us = [
            self.hist.value_at_quantile(0.5),
            self.hist.value_at_quantile(0.9),
            self.hist.value_at_quantile(0.99),
            self.hist.value_at_quantile(0.999),
            self.hist.max(),
        ];
        r
    }
}

/// The UAC's From header value.
fn from_header(local: SocketAddr) -> String {
    NameAddr::new(format!("sip:uac@{local}"))
        .with_param("tag", Some("uac"))
        .to_string()
}

fn empty_report() -> ThroughputReport {
    ThroughputReport {
        sent: 0,
        answered_2xx: 0,
        answered_other: 0,
        timed_out: 0,
        errors: 0,
        in_flight: 0,
        retransmissions: 0,
        uas_received: 0,
        elapsed_s: 0.0,
        tx_per_s: 0.0,
        latency_us: [0; 5],
    }
}

impl Endpoint for Uac {
    fn handle_input(&mut self, now: Instant, input: Incoming) {
        self.ua.handle_input(now, input);
        self.pump(now);
        self.send_due(now);
    }
    fn handle_transport_error(
        &mut self,
        now: Instant,
        _: TransportKind,
        remote: SocketAddr,
        _: &str,
    ) {
        self.ua.handle_transport_error(now, remote);
        self.pump(now);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.ua.poll_transmit()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        let next_send = if self.next < self.cfg.count && !self.throttled() {
            self.intended_at(self.next)
        } else {
            None
        };
        match (self.ua.poll_timeout(), next_send) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.ua.handle_timeout(now);
        self.pump(now);
        self.send_due(now);
    }
}

/// Answers every request with 200 OK.
#[derive(Debug)]
pub struct Uas {
    ua: UserAgent,
    received: u64,
}

impl Uas {
    /// A responder.
    pub fn new(ua: UaConfig) -> Self {
        Self {
            ua: UserAgent::new(ua),
            received: 0,
        }
    }
    /// Sets the bound address.
    pub fn set_local(&mut self, local: SocketAddr) {
        self.ua.set_local(local);
    }
    /// Requests received.
    pub fn received(&self) -> u64 {
        self.received
    }
}

impl Endpoint for Uas {
    fn handle_input(&mut self, now: Instant, input: Incoming) {
        self.ua.handle_input(now, input);
        while let Some(ev) = self.ua.poll_event() {
            if let UaEvent::Request { id, msg, .. } = ev {
                self.received += 1;
                let mut resp = Vec::new();
                write_response_for(&msg, 200, reason_phrase(200), Some("uas"), &mut resp);
                let _ = self.ua.respond_bytes(now, &id, 200, resp);
            }
        }
    }
    fn handle_transport_error(
        &mut self,
        now: Instant,
        _: TransportKind,
        remote: SocketAddr,
        _: &str,
    ) {
        self.ua.handle_transport_error(now, remote);
    }
    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.ua.poll_transmit()
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        self.ua.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.ua.handle_timeout(now);
    }
}

/// Runs UAC → UAS over loopback UDP in this process (or UAC → `next_hop` → UAS) and reports.
pub async fn run_message_throughput(cfg: ThroughputConfig) -> Result<ThroughputReport, NetError> {
    let mut ua = UaConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    ua.grammar_check = false;
    // Room for every transaction that can be alive at once (answered UDP server transactions
    // stay for Timer J), so neither side stalls on growing its tables.
    let live = ua.timers.timer_f().as_secs_f64() + 1.0;
    let expected = if cfg.rate > 0.0 {
        (cfg.count as f64).min(cfg.rate * live) as usize
    } else {
        cfg.count as usize
    };
    let mut uas_core = Uas::new(ua.clone());
    uas_core.ua.reserve(expected);
    let uas_socket = match cfg.uas_bind {
        Some(addr) => SipSocketConfig {
            bind: addr,
            ..SipSocketConfig::loopback()
        },
        None => SipSocketConfig::loopback(),
    };
    let uas = spawn_endpoint(uas_core, uas_socket).await?;
    let uas_addr = uas.local_addr();
    uas.with(move |u, _| u.set_local(uas_addr)).await?;
    let uri = cfg
        .request_uri
        .clone()
        .unwrap_or_else(|| format!("sip:uas@{uas_addr}"));
    let mut uac_core = Uac::new(ua, cfg.next_hop.unwrap_or(uas_addr), uri, cfg);
    uac_core.ua.reserve(expected);
    let uac = spawn_endpoint(uac_core, SipSocketConfig::loopback()).await?;
    let uac_addr = uac.local_addr();
    uac.with(move |u, now| {
        u.set_local(uac_addr);
        u.begin(now);
    })
    .await?;
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if uac.with(|u, now| u.finished(now)).await? {
            break;
        }
    }
    let mut report = uac.with(|u, _| u.report()).await?;
    report.uas_received = uas.with(|u, _| u.received()).await?;
    uac.shutdown().await;
    uas.shutdown().await;
    Ok(report)
}
