//! SIP-1 (TS 103 698 6.1.1): SIP over TLS between the APP and the BCF with mutual X.509
//! authentication, one connection for every message of a chat, and the allowed fallback to
//! TCP, which the verdict reports. Against the embedded ESInet the certificates come from a
//! CA generated for the scenario; against a real BCF from the target file's `[tls]` section.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cucumber::{given, then, when};
use lmpe_net::pki::TestCa;
use lmpe_net::TlsConfig;
use lmpe_proto::endpoint::TransportKind;
use lmpe_proto::roles::{RoleEvent, WireRecord};
use lmpe_proto::session::SessionEvent;

use super::verdicts::fail;
use crate::world::{inconclusive, skip, LmpeWorld};

/// The TLS arrangement of a scenario.
#[derive(Default)]
pub(crate) struct TlsSetup {
    /// The CA that issued the embedded BCF's certificate.
    pub(crate) ca: Option<Arc<TestCa>>,
    /// The APP's TLS configuration; set: the APP connects over TLS.
    pub(crate) app: Option<TlsConfig>,
    /// The APP falls back to TCP when TLS cannot be established.
    pub(crate) fallback: bool,
    /// The APP fell back: it now runs over TCP.
    pub(crate) fallen_back: bool,
    /// How long the 3-minute session timeout of 6.1.1 lasts in this scenario (embedded:
    /// scaled; a real BCF: 3 minutes).
    pub(crate) session_timeout: Option<Duration>,
}

fn pki<T>(r: Result<T, lmpe_net::NetError>) -> T {
    match r {
        Ok(t) => t,
        Err(e) => inconclusive!("test PKI: {e}"),
    }
}

/// Where the APP connects over TLS, and the transport.
pub(crate) async fn tls_peer(w: &mut LmpeWorld) -> (SocketAddr, TransportKind) {
    if w.tls.fallen_back {
        return match w.run.target.clone() {
            Some(t) => match t.tls.and_then(|f| f.fallback_tcp) {
                Some(a) => (a, TransportKind::Tcp),
                None => {
                    skip!("the fallback needs the BCF's TCP address: add fallback_tcp to [tls]")
                }
            },
            None => (w.ensure_esinet().await, TransportKind::Tcp),
        };
    }
    match w.run.target.clone() {
        Some(t) => match (t.bcf, t.transport) {
            (Some(bcf), TransportKind::Tls) => (bcf, TransportKind::Tls),
            _ => {
                skip!("needs SIP over TLS to the BCF: set [bcf] transport = \"tls\" and give [tls]")
            }
        },
        None => {
            w.ensure_esinet().await;
            match w
                .esinet
                .as_ref()
                .and_then(crate::esinet::EmbeddedEsinet::tls_addr)
            {
                Some(a) => (a, TransportKind::Tls),
                None => inconclusive!("the embedded BCF serves no TLS (missing Given step)"),
            }
        }
    }
}

#[given("the BCF accepts SIP over TLS with mutual authentication")]
async fn bcf_tls(w: &mut LmpeWorld) {
    if let Some(t) = &w.run.target {
        if t.transport != TransportKind::Tls {
            skip!("needs SIP over TLS to the BCF: set [bcf] transport = \"tls\" and give [tls]");
        }
        return;
    }
    let ca = Arc::new(pki(TestCa::new("lmpe-harness scenario CA")));
    w.esinet_opts.tls = Some(pki(ca.tls_config("bcf.esinet.test")));
    w.tls.ca = Some(ca);
}

#[given("the APP connects over TLS with a certificate the ESInet trusts")]
async fn app_trusted(w: &mut LmpeWorld) {
    let cfg = match (&w.run.target, &w.tls.ca) {
        (Some(t), _) => match &t.tls {
            Some(f) => pki(TlsConfig::from_pem_files(&f.cert, &f.key, &f.ca)),
            None => skip!("needs the harness's TLS identity: add [tls] to the target file"),
        },
        (None, Some(ca)) => pki(ca.tls_config("app.harness.test")),
        (None, None) => inconclusive!("the BCF serves no TLS (missing Given step)"),
    };
    w.tls.app = Some(cfg);
}

#[given("the APP connects over TLS with a certificate from a CA the ESInet does not trust")]
async fn app_untrusted(w: &mut LmpeWorld) {
    let foreign = pki(TestCa::new("a CA the ESInet does not know"));
    let mut cfg = pki(foreign.tls_config("intruder.example"));
    // The APP itself trusts the BCF: only its own certificate is the problem.
    match (&w.run.target, &w.tls.ca) {
        (Some(t), _) => match &t.tls {
            Some(f) => {
                let ca = match std::fs::read_to_string(&f.ca) {
                    Ok(c) => c,
                    Err(e) => inconclusive!("cannot read {}: {e}", f.ca.display()),
                };
                let leaf = pki(foreign.leaf("intruder.example"));
                cfg = pki(TlsConfig::from_pem(&leaf.cert_pem, &leaf.key_pem, &ca));
            }
            None => skip!("needs the CA of the BCF: add [tls] to the target file"),
        },
        (None, Some(ca)) => {
            pki(ca.add_to(&mut cfg.roots));
            if w.run.faults.bcf_trusts_unknown_ca {
                if let Some(bcf) = w.esinet_opts.tls.as_mut() {
                    pki(foreign.add_to(&mut bcf.roots));
                }
            }
        }
        (None, None) => inconclusive!("the BCF serves no TLS (missing Given step)"),
    }
    w.tls.app = Some(cfg);
}

#[given("the APP falls back to TCP when TLS cannot be established")]
async fn app_fallback(w: &mut LmpeWorld) {
    w.tls.fallback = true;
}

/// Whether the current chat is established (waiting up to the response timeout); `false`
/// also when the start failed (e.g. the TLS connection could not be made).
pub(crate) async fn established(w: &mut LmpeWorld) -> bool {
    let chat = w.chat_id();
    let wait = w.run.response_timeout;
    let i = w
        .wait_for(wait, |e| match e {
            RoleEvent::Session { chat: c, event } if *c == chat => matches!(
                event,
                SessionEvent::Established { .. } | SessionEvent::Failed { .. }
            ),
            _ => false,
        })
        .await;
    i.is_some_and(|i| {
        matches!(
            &w.events[i].1,
            RoleEvent::Session {
                event: SessionEvent::Established { .. },
                ..
            }
        )
    })
}

#[when(expr = "the APP starts a chat over TLS to {string}")]
async fn start_over_tls(w: &mut LmpeWorld, service: String) {
    super::chat::start_chat(w, &service, "Help, I need assistance.").await;
    if established(w).await || !w.tls.fallback {
        return;
    }
    // 6.1.1: "If TLS establishment fails, fallback to transport protocols without TLS is
    // allowed": start again over TCP, and say so in the report.
    w.notes.push(
        "TLS to the BCF could not be established (the BCF refused the APP's certificate); the chat fell back to TCP without TLS, as TS 103 698 6.1.1 allows"
            .into(),
    );
    if let Some(app) = w.app.take() {
        if let Ok(wire) = app.with(|a, _| a.take_wire()).await {
            w.wire.extend(wire.into_iter().map(|r| ("APP", r)));
        }
        app.shutdown().await;
    }
    w.tls.fallen_back = true;
    w.chat = None;
    w.events.clear();
    super::chat::start_chat(w, &service, "Help, I need assistance.").await;
    if !established(w).await {
        fail(
            w,
            "6.1.1",
            "after a failed TLS establishment the chat can fall back to TCP without TLS",
            "the chat could not be established over TCP either",
        );
    }
}

/// TS 103 698 6.1.1: a session timeout of at least 3 minutes.
const SESSION_TIMEOUT: Duration = Duration::from_secs(180);

#[given(expr = "the 6.1.1 session timeout of 3 minutes is scaled to {int} ms for the embedded BCF")]
async fn scaled_session_timeout(w: &mut LmpeWorld, ms: u64) {
    if w.run.target.is_some() {
        // A real BCF keeps its own timeout: the scenario waits real minutes.
        w.tls.session_timeout = Some(SESSION_TIMEOUT);
        return;
    }
    let scaled = Duration::from_millis(ms);
    w.tls.session_timeout = Some(scaled);
    // The reference BCF keeps exactly the minimum (or, broken, a third of it).
    w.esinet_opts.bcf_session_timeout = Some(if w.run.faults.bcf_short_session_timeout {
        scaled / 3
    } else {
        scaled
    });
}

#[when("the chat is idle for nine tenths of the 6.1.1 session timeout")]
async fn idle_session(w: &mut LmpeWorld) {
    let t = w.tls.session_timeout.unwrap_or(SESSION_TIMEOUT);
    tokio::time::sleep(t * 9 / 10).await;
}

#[when(expr = "the chat is idle for {int} ms")]
async fn idle(_w: &mut LmpeWorld, ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// The APP's wire records (all of them, both directions), letting in-flight answers land.
async fn app_records(w: &mut LmpeWorld) -> Vec<WireRecord> {
    tokio::time::sleep(Duration::from_millis(50)).await;
    w.app(|a, _| a.wire_records().to_vec()).await
}

fn first_line(r: &WireRecord) -> String {
    String::from_utf8_lossy(&r.bytes)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

async fn all_over(w: &mut LmpeWorld, want: TransportKind) {
    if !established(w).await {
        inconclusive!("preamble: the chat was not established");
    }
    let records = app_records(w).await;
    if !records.iter().any(|r| !r.outgoing) {
        inconclusive!("preamble: the APP received nothing");
    }
    if let Some(r) = records.iter().find(|r| r.transport != want) {
        fail(
            w,
            "6.1.1",
            &format!(
                "every SIP message of the chat between the APP and the BCF goes over {want:?}"
            ),
            &format!(
                "{} {} went over {:?} ({} {})\n--- offending message ---\n{}",
                if r.outgoing {
                    "the APP's"
                } else {
                    "the ESInet's"
                },
                first_line(r),
                r.transport,
                if r.outgoing { "to" } else { "from" },
                r.remote,
                String::from_utf8_lossy(&r.bytes)
            ),
        );
    }
}

#[then(regex = r"^every message between the APP and the BCF went over TLS \(clause 6\.1\.1\)$")]
async fn all_tls(w: &mut LmpeWorld) {
    all_over(w, TransportKind::Tls).await;
}

#[then(
    regex = r"^the chat ran over TCP after the fallback, which the report notes \(clause 6\.1\.1\)$"
)]
async fn all_tcp(w: &mut LmpeWorld) {
    if !w.tls.fallen_back {
        fail(
            w,
            "6.1.1",
            "a BCF refuses a client certificate it does not trust (so the APP falls back)",
            "TLS was established with an untrusted certificate",
        );
    }
    all_over(w, TransportKind::Tcp).await;
}

#[then(
    regex = r"^one TLS connection carried every message of the chat, both ways \(clause 6\.1\.1\)$"
)]
async fn one_connection(w: &mut LmpeWorld) {
    all_over(w, TransportKind::Tls).await;
    let records = app_records(w).await;
    let mut flows: Vec<SocketAddr> = records.iter().map(|r| r.remote).collect();
    flows.sort_unstable();
    flows.dedup();
    let opened = w
        .app
        .as_ref()
        .map_or(0, |a| a.stats().tls_connections_opened);
    if flows.len() != 1 || opened != 1 {
        fail(
            w,
            "6.1.1",
            "the peers reuse one TLS connection for all SIP messages within a chat",
            &format!(
                "{opened} TLS connection(s) opened by the APP; messages went to/came from {flows:?}"
            ),
        );
    }
    let inbound = records.iter().filter(|r| !r.outgoing).count();
    let outbound = records.iter().filter(|r| r.outgoing).count();
    if inbound == 0 || outbound == 0 {
        inconclusive!(
            "preamble: the connection carried {outbound} message(s) out and {inbound} in"
        );
    }
}

#[then(regex = r"^the BCF refuses the APP's TLS connection \(clause 6\.1\.1\)$")]
async fn refused(w: &mut LmpeWorld) {
    let deadline = Instant::now() + w.run.response_timeout;
    let chat = w.chat_id();
    loop {
        w.collect().await;
        let failed = w.events.iter().any(|(_, e)| {
            matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Failed { .. } } if *c == chat)
        });
        if w.saw(|e| matches!(e, SessionEvent::Established { .. })) {
            fail(
                w,
                "6.1.1",
                "TLS uses mutual authentication: a client certificate from a CA the BCF does not trust is refused",
                "the chat was established over TLS with the untrusted certificate",
            );
        }
        if failed {
            return;
        }
        if Instant::now() >= deadline {
            // Neither established nor failed: the connection hangs rather than being refused.
            let records = app_records(w).await;
            if records.iter().any(|r| !r.outgoing) {
                fail(
                    w,
                    "6.1.1",
                    "TLS uses mutual authentication: a client certificate from a CA the BCF does not trust is refused",
                    "the BCF answered over the TLS connection of the untrusted client",
                );
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[given("the APP sends its messages over UDP whatever their size")]
async fn udp_any_size(w: &mut LmpeWorld) {
    if let Some(t) = &w.run.target {
        if t.transport != TransportKind::Udp {
            skip!(
                "needs UDP to the BCF: the target's [bcf] transport is {:?}",
                t.transport
            );
        }
    }
    w.app_udp_limit = Some(65_000);
}

#[given(expr = "the APP attaches a {int}-byte image to its messages")]
async fn big_image(w: &mut LmpeWorld, size: usize) {
    let jpeg: Vec<u8> = [0xFF, 0xD8, 0xFF, 0xE0]
        .into_iter()
        .chain((0..=255u8).cycle().take(size.saturating_sub(6)))
        .chain([0xFF, 0xD9])
        .collect();
    w.app_parts.push(
        lmpe_wire::multipart::Part::new("image/jpeg", jpeg)
            .with_content_id("large@app.harness.test"),
    );
}

#[then(expr = "the APP's start went over UDP as one datagram of more than {int} bytes")]
async fn start_was_large_udp(w: &mut LmpeWorld, size: usize) {
    // The driver records a transmit when it sends it, just after the step queued it.
    let deadline = Instant::now() + w.run.response_timeout;
    let start = loop {
        let records = w.app(|a, _| a.wire_records().to_vec()).await;
        let found = records
            .into_iter()
            .find(|r| r.outgoing && String::from_utf8_lossy(&r.bytes).contains("msgtype:257"));
        if found.is_some() || Instant::now() >= deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    match start {
        Some(r) if r.transport == TransportKind::Udp && r.bytes.len() > size => {}
        Some(r) => inconclusive!(
            "preamble: the start went over {:?} in {} bytes, not one UDP datagram of more than {size}",
            r.transport,
            r.bytes.len()
        ),
        None => inconclusive!("preamble: the APP sent no start/257"),
    }
}

#[then(regex = r"^the chat is established through the ESInet \(clause (\S+)\)$")]
async fn established_through(w: &mut LmpeWorld, clause: String) {
    if !established(w).await {
        fail(
            w,
            &clause,
            "all ESInet elements support fragmentation and reassembly: a message larger than one IP packet (a PIDF-LO with attachments) gets through",
            &format!(
                "the chat was not established within {} ms",
                w.run.response_timeout.as_millis()
            ),
        );
    }
}
