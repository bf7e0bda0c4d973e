//! The load machines on a virtual clock (no sockets): the APP side and the PSAP side wired
//! directly through `lmpe_proto::testing::Pair`. Deterministic: latencies are exactly the
//! simulated network delay, arrivals follow the schedule whatever the SUT does, and a late
//! wake-up sends overdue messages stamped with their intended times (no coordinated omission).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lmpe_load::app::Outcome;
use lmpe_load::metrics::Metric;
use lmpe_load::stamp::Stamp;
use lmpe_load::{Class, Kind, LoadApp, LoadAppConfig, LoadPsap, LoadPsapConfig, Profile, Shard};
use lmpe_proto::endpoint::{Endpoint, TransportKind};
use lmpe_proto::testing::Pair;
use lmpe_proto::ua::UaConfig;
use lmpe_wire::lmpe::IdentifierProfile;

const PROFILE: &str = r#"
name = "virtual"
rate = 10.0
duration_s = 3.0
drain_s = 40.0
[chat]
app_messages = 2
app_think_s = 0.5
psap_think_s = 0.2
hold_s = 1.5
heartbeat_s = 0.5
setup_timeout_s = 5.0
[mix]
"esnet.1" = 1
none = 1
"#;

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn sides(profile: &Profile) -> (LoadApp, LoadPsap) {
    let (a, b) = (addr(5001), addr(5002));
    let mut ua = UaConfig::new(a);
    ua.timers.t1 = profile.t1();
    let mut app = LoadApp::new(LoadAppConfig {
        profile: profile.clone(),
        shard: Shard::default(),
        outbound: (TransportKind::Udp, b),
        ua: ua.clone(),
        element_id: "load.harness.test".into(),
        nonce: 42,
        identifiers: IdentifierProfile::default(),
    });
    app.set_local(a);
    let mut psap = LoadPsap::new(LoadPsapConfig {
        profile: profile.clone(),
        outbound: (TransportKind::Udp, a),
        reply_to: format!("sip:psap@{b}"),
        ua: UaConfig {
            local: b,
            ..ua.clone()
        },
        identifiers: IdentifierProfile::default(),
    });
    psap.set_local(b);
    psap.set_outbound((TransportKind::Udp, a), &format!("sip:psap@{b}"));
    (app, psap)
}

fn profile() -> Profile {
    let p: Profile = toml::from_str(PROFILE).unwrap_or_else(|e| panic!("{e}"));
    p.validate().unwrap_or_else(|e| panic!("{e}"));
    p
}

#[test]
fn every_chat_completes_and_routing_latency_is_the_network_delay() {
    let p = profile();
    let (app, psap) = sides(&p);
    let t0 = Instant::now();
    let mut pair = Pair::new(app, addr(5001), psap, addr(5002), t0);
    pair.set_latency(Duration::from_millis(3));
    pair.a.begin(t0);
    pair.b.begin(t0);
    pair.run_for(Duration::from_secs(8))
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(pair.a.active_chats(), 0);
    assert_eq!(pair.a.in_flight(), 0);
    let mut routing = Vec::new();
    for (c, m, h) in pair.b.take_histograms() {
        if m == Metric::Routing {
            routing.push((c, h));
        }
    }
    let (mut counts, ledger) = pair.a.finish();
    let (pc, delivered) = pair.b.finish();
    counts.add(&pc);
    let chats = counts.chats_total();
    assert_eq!(chats.arrived, 30);
    assert_eq!(chats.completed, 30);
    // start + 2 in-chat + stop per chat, every one delivered exactly once and answered 2xx.
    assert_eq!(ledger.len(), 120);
    assert!(ledger.values().all(|e| e.outcome == Outcome::Ok));
    assert_eq!(delivered.len(), 120);
    assert!(delivered.values().all(|n| *n == 1));
    assert!(ledger.keys().all(|k| delivered.contains_key(k)));
    for kind in [Kind::Start, Kind::InChat, Kind::Stop, Kind::Heartbeat] {
        let k = counts.kind_total(kind);
        assert_eq!(k.sent, k.ok, "{kind}");
        assert_eq!(k.sent, k.delivered, "{kind}");
    }
    assert_eq!(counts.side.psap_replies_received, 60);
    // One clock: every one-way latency is the 3 ms the network adds (to HDR precision).
    let mut n = 0;
    for (c, h) in routing {
        assert!(c == Class::Esnet1 || c == Class::None);
        assert!(
            h.min() >= 2_990 && h.max() <= 3_010,
            "{c}: {} .. {}",
            h.min(),
            h.max()
        );
        n += h.len();
    }
    assert_eq!(n, 120);
}

#[test]
fn arrivals_keep_their_schedule_when_the_sut_never_answers() {
    let mut p = profile();
    p.sip.t1_ms = 50; // Timer F 3.2 s
    let (app, psap) = sides(&p);
    let t0 = Instant::now();
    let mut pair = Pair::new(app, addr(5001), psap, addr(5002), t0);
    pair.set_drop_filter(|_| true); // a black hole
    pair.a.begin(t0);
    pair.b.begin(t0);
    pair.run_for(Duration::from_millis(2_950))
        .unwrap_or_else(|e| panic!("{e:?}"));
    // Open model: 10 chats/s arrived although not one was answered.
    assert_eq!(pair.a.counts().chats_total().arrived, 30);
    assert_eq!(pair.a.in_flight(), 30);
    pair.run_for(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let (counts, ledger) = pair.a.finish();
    let start = counts.kind_total(Kind::Start);
    assert_eq!(start.sent, 30, "{start:?}");
    assert_eq!(start.timed_out, 30, "{start:?}");
    assert_eq!(start.timed_out, 30);
    assert_eq!(counts.chats_total().failed_total(), 30);
    assert!(ledger.values().all(|e| e.outcome == Outcome::TimedOut));
    // APP messages (~1.5 kB with the PIDF-LO) go over TCP (RFC 3261 18.1.1): no Timer E.
    assert_eq!(counts.side.app_retransmissions, 0);
}

#[test]
fn a_late_wake_up_sends_overdue_arrivals_stamped_with_their_intended_times() {
    let p = profile();
    let (mut app, _) = sides(&p);
    let t0 = Instant::now();
    app.begin(t0);
    // The driver oversleeps by 2 s: the arrivals due meanwhile go out at once, each stamped
    // with when it was due, so the latencies measured for them include the 2 s.
    app.handle_timeout(t0 + Duration::from_secs(2));
    let mut stamps = Vec::new();
    while let Some(t) = app.poll_transmit() {
        let text = String::from_utf8_lossy(&t.bytes).into_owned();
        if let Some(s) = Stamp::parse(&text) {
            stamps.push(s);
        }
    }
    assert_eq!(stamps.len(), 21, "arrivals at 0, 0.1, ..., 2.0 s");
    for (i, s) in stamps.iter().enumerate() {
        assert_eq!(s.g, i as u64);
        assert_eq!(s.intended, Duration::from_millis(100 * i as u64));
    }
}
