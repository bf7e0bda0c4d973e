//! `lmpe-harness load` and `merge`: the smoke profile against the embedded reference ESInet
//! reconciles; a deliberately lossy, slow and rejecting relay between the APP and the BCF shows
//! up exactly in the counts and histograms; two shards merge into one report; bad input exits 2.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::support::{free_port, run_harness, start_sut_with, Scratch};

fn tmp(name: &str) -> Scratch {
    Scratch::new(&format!("load-{name}"))
}

fn report(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("load.json"))
        .unwrap_or_else(|e| panic!("no load.json in {}: {e}", dir.display()));
    serde_json::from_str(&text).expect("valid load.json")
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// `counts.messages[class][kind][field]`.
fn msg(r: &Value, class: &str, kind: &str, field: &str) -> u64 {
    u(&r["counts"]["messages"][class][kind][field])
}

fn chats(r: &Value, class: &str, field: &str) -> u64 {
    u(&r["counts"]["chats"][class][field])
}

fn lat(r: &Value, class: &str, metric: &str, field: &str) -> u64 {
    u(&r["latency_us"][class][metric][field])
}

fn assert_reconciled(r: &Value, stderr: &str) {
    let bad: Vec<&Value> = r["reconciliation"]
        .as_array()
        .expect("reconciliation")
        .iter()
        .filter(|c| c["ok"] != true)
        .collect();
    assert!(bad.is_empty(), "not reconciled: {bad:?}\n{stderr}");
    assert_eq!(r["reconciled"], true);
}

#[test]
fn smoke_profile_reconciles_against_the_embedded_esinet() {
    let dir = tmp("smoke");
    let (code, stdout, stderr) = run_harness(&[
        "load".into(),
        "--profile".into(),
        "load/profiles/smoke.toml".into(),
        "--report-dir".into(),
        dir.display().to_string(),
    ]);
    let r = report(&dir);
    assert_eq!(code, 0, "smoke failed:\n{stdout}\n{stderr}");
    assert_reconciled(&r, &stderr);
    assert_eq!(r["verdict"], "pass");
    // 3 chats/s for 10 s, every one a full chat: start, two in-chat, stop, heartbeats.
    let mut arrived = 0;
    for class in ["esnet.0", "esnet.1", "esnet.2", "none"] {
        let n = chats(&r, class, "arrived");
        arrived += n;
        assert_eq!(chats(&r, class, "completed"), n, "{class}");
        assert_eq!(chats(&r, class, "established"), n, "{class}");
        for kind in ["start", "in-chat", "stop", "heartbeat"] {
            let sent = msg(&r, class, kind, "sent");
            assert_eq!(msg(&r, class, kind, "delivered"), sent, "{class} {kind}");
            assert_eq!(msg(&r, class, kind, "ok"), sent, "{class} {kind}");
        }
        assert_eq!(msg(&r, class, "in-chat", "sent"), 2 * n, "{class}");
        if n > 0 {
            assert_eq!(lat(&r, class, "routing", "count"), 4 * n, "{class}");
            assert!(lat(&r, class, "heartbeat.slip", "count") > 0, "{class}");
        }
    }
    assert_eq!(arrived, 30);
    assert_eq!(u(&r["counts"]["side"]["psap_replies_received"]), 60);
    assert_eq!(u(&r["counts"]["side"]["psap_violations"]), 0);
    assert_eq!(u(&r["counts"]["side"]["app_violations"]), 0);
    let html = std::fs::read_to_string(dir.join("load.html")).expect("load.html");
    // Self-contained: inline SVG, no external assets (the only URL is the SVG namespace).
    assert!(html.contains("<svg"));
    assert_eq!(
        html.matches("http").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(!html.contains("<script src") && !html.contains("<link "));
    let hlog = std::fs::read_to_string(dir.join("hlog/esnet.1.routing.hlog")).expect("hlog");
    assert!(hlog.contains("Tag=esnet.1/routing,"), "{hlog}");
    assert!(
        stderr.contains("routing p99 ms"),
        "no progress lines: {stderr}"
    );
}

/// What the relay does to APP → BCF datagrams.
fn relay_rule(text: &str) -> &'static str {
    if !text.contains("lmpe-load g=") || text.contains("PSAP reply") {
        return "forward";
    }
    if text.contains("c=esnet.2") && text.contains("message 2 of a load chat") {
        "drop"
    } else if text.contains("c=none") && text.contains("message 1 of a load chat") {
        "reject"
    } else if text.contains("c=esnet.0") {
        "delay"
    } else {
        "forward"
    }
}

/// A 486 answer to a request, from its Via, From, To, Call-ID and CSeq.
fn busy_answer(text: &str) -> Vec<u8> {
    let mut out = String::from("SIP/2.0 486 Busy Here\r\n");
    for line in text.split("\r\n").take_while(|l| !l.is_empty()) {
        let name = line
            .split(':')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if ["via", "v", "from", "f", "to", "t", "call-id", "i", "cseq"].contains(&name.as_str()) {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Content-Length: 0\r\n\r\n");
    out.into_bytes()
}

/// The sent-by address of the top Via of a message.
fn top_via_sent_by(text: &str) -> Option<SocketAddr> {
    let via = text
        .split("\r\n")
        .find(|l| l.to_ascii_lowercase().starts_with("via:"))?;
    let sent_by = via.split_whitespace().nth(2)?;
    sent_by.split(';').next()?.parse().ok()
}

const DELAY: Duration = Duration::from_millis(60);

/// A UDP relay in front of the BCF that drops, delays or rejects chosen messages.
fn start_relay(bcf: SocketAddr, stop: Arc<AtomicBool>) -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("relay socket");
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    let addr = sock.local_addr().expect("relay addr");
    thread::spawn(move || {
        let mut delayed: Vec<(Instant, Vec<u8>)> = Vec::new();
        let mut buf = vec![0u8; 65_536];
        let deadline = Instant::now() + Duration::from_secs(120);
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            let now = Instant::now();
            delayed.retain(|(at, d)| {
                if *at <= now {
                    let _ = sock.send_to(d, bcf);
                    false
                } else {
                    true
                }
            });
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            let d = buf[..n].to_vec();
            if from == bcf {
                // Responses come back here (the clients ask for rport): to the top Via.
                if let Some(c) = top_via_sent_by(&String::from_utf8_lossy(&d)) {
                    let _ = sock.send_to(&d, c);
                }
                continue;
            }
            let text = String::from_utf8_lossy(&d);
            match relay_rule(&text) {
                "drop" => {}
                "reject" => {
                    let _ = sock.send_to(&busy_answer(&text), from);
                }
                "delay" => delayed.push((Instant::now() + DELAY, d)),
                _ => {
                    let _ = sock.send_to(&d, bcf);
                }
            }
        }
    });
    addr
}

const FAULT_PROFILE: &str = r#"
name = "relay-faults"
rate = 4.0
duration_s = 3.0
drain_s = 12.0
seed = 7

[chat]
app_messages = 2
app_think_s = 0.4
psap_think_s = 0.1
hold_s = 1.5
heartbeat_s = 1.0
setup_timeout_s = 5.0

[sip]
t1_ms = 150            # Timer F 9.6 s; no retransmission of a message delayed by 60 ms
udp_size_limit = 8000  # keep APP messages on UDP so the datagram relay sees them

[mix]
"esnet.0" = 1
"esnet.1" = 1
"esnet.2" = 1
none = 1

[limits]
max_loss = 0.0
"#;

#[test]
fn a_lossy_slow_rejecting_relay_shows_up_exactly() {
    let dir = tmp("relay");
    let psap_port = free_port();
    let psap = SocketAddr::from(([127, 0, 0, 1], psap_port));
    let sut = start_sut_with(&["--route-to-psap", &psap.to_string()]);
    let stop = Arc::new(AtomicBool::new(false));
    let relay = start_relay(sut.addr(), stop.clone());
    let profile = dir.write("profile.toml", FAULT_PROFILE);
    let target = dir.write(
        "target.toml",
        format!(
            "name = \"reference ESInet behind a faulty relay\"\n[bcf]\naddress = \"{relay}\"\ntransport = \"udp\"\n[harness_psap]\nlisten = \"{psap}\"\nreply_to = \"sip:psap@{}\"\n",
            sut.addr()
        ),
    );
    let out = dir.join("out");
    let (code, stdout, stderr) = run_harness(&[
        "load".into(),
        "--profile".into(),
        profile.display().to_string(),
        "--target".into(),
        target.display().to_string(),
        "--report-dir".into(),
        out.display().to_string(),
    ]);
    stop.store(true, Ordering::Relaxed);
    let r = report(&out);
    // Loss breaks max_loss = 0: exit 1, but everything is accounted for.
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert_eq!(r["verdict"], "slo-breached");
    assert_reconciled(&r, &stderr);
    let n: HashMap<&str, u64> = ["esnet.0", "esnet.1", "esnet.2", "none"]
        .into_iter()
        .map(|c| (c, chats(&r, c, "arrived")))
        .collect();
    assert_eq!(n.values().sum::<u64>(), 12);
    assert!(n.values().all(|v| *v > 0), "every class present: {n:?}");

    // Dropped: in-chat 2 of every esnet.2 chat never reaches the PSAP and times out.
    let e2 = n["esnet.2"];
    assert_eq!(msg(&r, "esnet.2", "in-chat", "sent"), 2 * e2);
    assert_eq!(msg(&r, "esnet.2", "in-chat", "delivered"), e2);
    assert_eq!(msg(&r, "esnet.2", "in-chat", "not_delivered"), e2);
    assert_eq!(msg(&r, "esnet.2", "in-chat", "timed_out"), e2);
    assert_eq!(msg(&r, "esnet.2", "in-chat", "ok"), e2);
    assert_eq!(lat(&r, "esnet.2", "routing.in-chat", "count"), e2);
    assert_eq!(lat(&r, "esnet.2", "response.in-chat", "count"), e2);

    // Rejected: in-chat 1 of every unmarked chat is answered 486 by the relay.
    let nn = n["none"];
    assert_eq!(
        u(&r["counts"]["messages"]["none"]["in-chat"]["rejected"]["486"]),
        nn
    );
    assert_eq!(msg(&r, "none", "in-chat", "not_delivered"), nn);
    assert_eq!(msg(&r, "none", "in-chat", "delivered"), nn);
    assert_eq!(lat(&r, "none", "response.in-chat", "count"), 2 * nn);

    // Delayed: every stamped esnet.0 message arrives at least DELAY late; the others do not.
    let d_us = DELAY.as_micros() as u64;
    assert!(
        lat(&r, "esnet.0", "routing", "min") >= d_us,
        "{}",
        r["latency_us"]["esnet.0"]
    );
    assert!(lat(&r, "esnet.0", "response.start", "min") >= d_us);
    assert_eq!(lat(&r, "esnet.0", "routing", "count"), 4 * n["esnet.0"]);
    assert!(
        lat(&r, "esnet.1", "routing", "p50") < d_us / 2,
        "{}",
        r["latency_us"]["esnet.1"]
    );

    // Untouched: esnet.1 is clean end to end.
    for kind in ["start", "in-chat", "stop"] {
        let sent = msg(&r, "esnet.1", kind, "sent");
        assert_eq!(msg(&r, "esnet.1", kind, "delivered"), sent);
        assert_eq!(msg(&r, "esnet.1", kind, "ok"), sent);
    }
    // Loss overall is exactly the dropped and rejected messages.
    let loss = r["slo"]
        .as_array()
        .expect("slo")
        .iter()
        .find(|s| s["what"].as_str().is_some_and(|w| w.starts_with("loss")))
        .expect("loss limit");
    assert_eq!(loss["pass"], false);
    let sent_stamped: u64 = ["esnet.0", "esnet.1", "esnet.2", "none"]
        .iter()
        .flat_map(|c| ["start", "in-chat", "stop"].map(|k| msg(&r, c, k, "sent")))
        .sum();
    let expected = (e2 + nn) as f64 / sent_stamped as f64;
    assert!((loss["value"].as_f64().unwrap_or(-1.0) - expected).abs() < 1e-9);
}

const SHARD_PROFILE: &str = r#"
name = "shards"
rate = 4.0
duration_s = 3.0
drain_s = 8.0

[chat]
app_messages = 1
app_think_s = 0.5
psap_think_s = 0.1
hold_s = 1.0
heartbeat_s = 0.5

[mix]
"esnet.1" = 3
none = 1

[[slo]]
class = "all"
metric = "routing"
percentile = 99.0
max_ms = 1000.0
"#;

#[test]
fn two_shards_merge_into_one_report() {
    let dir = tmp("shards");
    let profile = dir.write("profile.toml", SHARD_PROFILE);
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
        + 3.0;
    let handles: Vec<_> = (0..2)
        .map(|k| {
            let args: Vec<String> = vec![
                "load".into(),
                "--quiet".into(),
                "--profile".into(),
                profile.display().to_string(),
                "--shard".into(),
                format!("{k}/2"),
                "--start-at".into(),
                format!("{start:.3}"),
                "--report-dir".into(),
                dir.join(format!("s{k}")).display().to_string(),
            ];
            thread::spawn(move || run_harness(&args))
        })
        .collect();
    for h in handles {
        let (code, stdout, stderr) = h.join().expect("shard thread");
        assert_eq!(code, 0, "{stdout}\n{stderr}");
    }
    let s0 = report(&dir.join("s0"));
    let s1 = report(&dir.join("s1"));
    let arrived = |r: &Value| {
        u(&r["counts"]["chats"]["esnet.1"]["arrived"]) + u(&r["counts"]["chats"]["none"]["arrived"])
    };
    assert_eq!(arrived(&s0), 6);
    assert_eq!(arrived(&s1), 6);
    assert!((s0["start_epoch_s"].as_f64().unwrap_or(0.0) - start).abs() < 1e-3);
    let merged = dir.join("merged");
    let (code, stdout, stderr) = run_harness(&[
        "merge".into(),
        dir.join("s0").display().to_string(),
        dir.join("s1").display().to_string(),
        "--report-dir".into(),
        merged.display().to_string(),
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let m = report(&merged);
    assert_reconciled(&m, &stderr);
    assert_eq!(m["shards"].as_array().map(Vec::len), Some(2));
    assert_eq!(arrived(&m), 12);
    for class in ["esnet.1", "none"] {
        let routed = lat(&s0, class, "routing", "count") + lat(&s1, class, "routing", "count");
        assert_eq!(lat(&m, class, "routing", "count"), routed, "{class}");
        assert!(routed > 0);
    }
    assert!(merged.join("load.html").exists());
    assert!(merged.join("hlog/esnet.1.routing.hlog").exists());
    // The same shard twice is refused.
    let (code, _, stderr) = run_harness(&[
        "merge".into(),
        dir.join("s0").display().to_string(),
        dir.join("s0").display().to_string(),
        "--report-dir".into(),
        dir.join("bad").display().to_string(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("twice"), "{stderr}");
}

#[test]
fn bad_input_exits_2_with_the_reason() {
    let dir = tmp("bad");
    let profile = dir.write(
        "p.toml",
        SHARD_PROFILE.replace("hold_s = 1.0", "hold_s = 0.2"),
    );
    let (code, _, stderr) = run_harness(&[
        "load".into(),
        "--profile".into(),
        profile.display().to_string(),
        "--report-dir".into(),
        dir.join("o").display().to_string(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("hold_s"), "{stderr}");
    let (code, _, stderr) = run_harness(&[
        "load".into(),
        "--profile".into(),
        "load/profiles/smoke.toml".into(),
        "--shard".into(),
        "2/2".into(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("K/N"), "{stderr}");
}

const RAMP_PROFILE: &str = r#"
name = "ramp-breaks"
drain_s = 5.0
[ramp]
start_rate = 5.0
step_rate = 5.0
step_s = 2.0
max_steps = 4
[chat]
app_messages = 1
app_think_s = 0.3
psap_think_s = 0.1
hold_s = 0.8
heartbeat_s = 0.5
[mix]
"esnet.1" = 1
[[slo]]
class = "esnet.1"
metric = "routing"
percentile = 50.0
max_ms = 0.001   # 1 µs: cannot hold
"#;

#[test]
fn a_ramp_stops_at_the_first_breaking_step() {
    let dir = tmp("ramp");
    let profile = dir.write("ramp.toml", RAMP_PROFILE);
    let (code, stdout, stderr) = run_harness(&[
        "load".into(),
        "--profile".into(),
        profile.display().to_string(),
        "--report-dir".into(),
        dir.join("out").display().to_string(),
    ]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let r = report(&dir.join("out"));
    assert_reconciled(&r, &stderr);
    let steps = r["steps"].as_array().expect("steps");
    assert_eq!(
        steps.len(),
        1,
        "judged only up to the first breach: {steps:?}"
    );
    assert_eq!(steps[0]["pass"], false);
    assert_eq!(r["capacity"]["highest_sustained_rate"], Value::Null);
    assert_eq!(r["capacity"]["first_breach"][0], 5.0);
    // The arrivals stopped within a second of the step's end (the full ramp has 100).
    let arrived = chats(&r, "esnet.1", "arrived");
    assert!((10..=25).contains(&arrived), "{arrived}");
    assert!(
        stdout.contains("capacity: highest sustained rate none"),
        "{stdout}"
    );
}

// ---- HTTP plane: HELD/LoST load against the embedded lmpe-locsvc ECRF and LIS ----

const HTTP_KINDS: [&str; 5] = [
    "lost-find-service-geodetic",
    "lost-find-service-civic",
    "lost-list-services-by-location",
    "held-location-request",
    "held-dereference",
];

/// `counts[kind][field]` of an HTTP load.json.
fn hc(r: &Value, kind: &str, field: &str) -> u64 {
    u(&r["counts"][kind][field])
}

fn run_http(profile: &str, dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args: Vec<String> = vec![
        "load".into(),
        "--profile".into(),
        profile.into(),
        "--report-dir".into(),
        dir.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    run_harness(&args)
}

#[test]
fn http_smoke_profile_passes_and_reconciles_against_the_embedded_ecrf_lis() {
    let dir = tmp("http-smoke");
    let (code, stdout, stderr) = run_http("load/profiles/http-smoke.toml", &dir, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let r = report(&dir);
    assert_reconciled(&r, &stderr);
    assert_eq!(r["plane"], "http");
    assert_eq!(r["verdict"], "pass");
    let mut sent = 0;
    for kind in HTTP_KINDS {
        let s = hc(&r, kind, "sent");
        assert!(s > 0, "{kind}: nothing sent");
        assert_eq!(hc(&r, kind, "ok"), s, "{kind}: {}", r["counts"][kind]);
        assert_eq!(u(&r["latency_us"][kind]["count"]), s, "{kind}");
        assert!(u(&r["latency_us"][kind]["p99"]) > 0, "{kind}");
        assert_eq!(
            u(&r["goose_requests"][kind]),
            s,
            "{kind}: goose counted otherwise"
        );
        assert!(
            dir.join("hlog").join(format!("{kind}.hlog")).is_file(),
            "{kind}"
        );
        sent += s;
    }
    // rate 100/s for 10 s, mix 4:1:1:2:2.
    assert_eq!(sent, 1000);
    assert_eq!(hc(&r, "lost-find-service-geodetic", "sent"), 400);
    assert_eq!(u(&r["total"]["sent"]), 1000);
    let html = std::fs::read_to_string(dir.join("load.html")).expect("load.html");
    assert!(html.contains("<svg") && html.contains("held-dereference"));
    assert!(!html.contains("<script src") && !html.contains("http-equiv"));
    assert!(
        stderr.contains("sent ") && stderr.contains("/1000"),
        "progress: {stderr}"
    );
}

const HTTP_SHORT: &str = r#"
plane = "http"
name = "http-short"
rate = 50.0
duration_s = 3.0
users = 32
timeout_ms = 3000
[mix]
lost-find-service-geodetic = 2
lost-list-services-by-location = 1
held-location-request = 1
[thresholds]
error_ratio = 0.0
p99_ms = { lost-find-service-geodetic = 250.0, lost-list-services-by-location = 250.0 }
"#;

#[test]
fn http_faults_of_the_embedded_ecrf_show_exactly_in_the_counts() {
    let dir = tmp("http-faults");
    let profile = dir.write("short.toml", HTTP_SHORT);
    let profile = profile.display().to_string();

    // Every LoST answer is HTTP 500: the LoST requests are all http errors, HELD is untouched.
    let out = dir.join("http-error");
    let (code, stdout, stderr) = run_http(&profile, &out, &["--fault", "ecrf-http-error"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let r = report(&out);
    assert_reconciled(&r, &stderr);
    for kind in [
        "lost-find-service-geodetic",
        "lost-list-services-by-location",
    ] {
        let s = hc(&r, kind, "sent");
        assert!(s > 0);
        assert_eq!(u(&r["counts"][kind]["http_error"]["500"]), s, "{kind}");
        assert_eq!(hc(&r, kind, "ok"), 0, "{kind}");
    }
    let s = hc(&r, "held-location-request", "sent");
    assert_eq!(hc(&r, "held-location-request", "ok"), s);
    assert_eq!(u(&r["total"]["sent"]), 150);
    let lost_sent = hc(&r, "lost-find-service-geodetic", "sent")
        + hc(&r, "lost-list-services-by-location", "sent");
    let ratio = r["thresholds"]
        .as_array()
        .and_then(|t| {
            t.iter().find(|t| {
                t["what"]
                    .as_str()
                    .is_some_and(|w| w.starts_with("error ratio"))
            })
        })
        .expect("error ratio threshold");
    assert_eq!(ratio["pass"], false);
    let expect = lost_sent as f64 / 150.0;
    assert!(
        (ratio["value"].as_f64().unwrap_or(0.0) - expect).abs() < 1e-9,
        "{ratio}"
    );

    // A LoST error document is a protocol error by kind.
    let out = dir.join("notfound");
    let (code, stdout, stderr) = run_http(&profile, &out, &["--fault", "ecrf-notfound-always"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let r = report(&out);
    assert_reconciled(&r, &stderr);
    let s = hc(&r, "lost-find-service-geodetic", "sent");
    assert_eq!(
        u(&r["counts"]["lost-find-service-geodetic"]["protocol_error"]["lost-error:notFound"]),
        s
    );

    // Each LoST answer 300 ms late: all ok, but the LoST p99 breaks its 250 ms limits.
    let out = dir.join("slow");
    let (code, stdout, stderr) = run_http(&profile, &out, &["--fault", "ecrf-slow:0.3"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let r = report(&out);
    assert_reconciled(&r, &stderr);
    for kind in [
        "lost-find-service-geodetic",
        "lost-list-services-by-location",
    ] {
        assert_eq!(hc(&r, kind, "ok"), hc(&r, kind, "sent"), "{kind}");
        assert!(
            u(&r["latency_us"][kind]["min"]) >= 300_000,
            "{kind}: {}",
            r["latency_us"][kind]
        );
    }
    assert_eq!(
        hc(&r, "held-location-request", "ok"),
        hc(&r, "held-location-request", "sent")
    );
    let broken: Vec<&Value> = r["thresholds"]
        .as_array()
        .expect("thresholds")
        .iter()
        .filter(|t| t["pass"] == false)
        .collect();
    assert_eq!(broken.len(), 2, "{broken:?}");
}

const HTTP_RAMP: &str = r#"
plane = "http"
name = "http-ramp"
users = 32
timeout_ms = 2000
[ramp]
start_rate = 20.0
step_rate = 20.0
step_s = 2.0
max_steps = 3
[mix]
lost-find-service-geodetic = 2
held-location-request = 1
[thresholds]
error_ratio = 0.0
p99_ms = { "*" = 200.0 }
"#;

fn steps(r: &Value) -> Vec<Value> {
    r["ramp"]["steps"].as_array().expect("ramp steps").clone()
}

#[test]
fn http_ramp_judges_every_step_and_names_the_capacity() {
    let dir = tmp("http-ramp");
    let profile = dir.write("ramp.toml", HTTP_RAMP);
    let out = dir.join("out");
    let (code, stdout, stderr) = run_http(&profile.display().to_string(), &out, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let r = report(&out);
    assert_reconciled(&r, &stderr);
    let st = steps(&r);
    assert_eq!(st.len(), 3);
    for (i, s) in st.iter().enumerate() {
        let rate = 20.0 * (i + 1) as f64;
        assert_eq!(s["rate"].as_f64(), Some(rate), "{s}");
        assert_eq!(u(&s["scheduled"]), (rate * 2.0) as u64, "{s}");
        assert_eq!(u(&s["ok"]), u(&s["scheduled"]), "{s}");
        assert_eq!(s["pass"], true, "{s}");
    }
    assert_eq!(
        r["ramp"]["capacity"]["highest_sustained_rate"].as_f64(),
        Some(60.0)
    );
    assert!(r["ramp"]["capacity"]["first_breach"].is_null());
    assert!(stdout.contains("capacity: 60 requests/s held"), "{stdout}");
    let html = std::fs::read_to_string(out.join("load.html")).expect("load.html");
    assert!(html.contains("Capacity search"));
}

#[test]
fn http_ramp_against_a_slow_ecrf_stops_after_the_first_step() {
    let dir = tmp("http-ramp-slow");
    // Ten steps of 2 s: the whole ramp would take 20 s.
    let profile = dir.write(
        "ramp.toml",
        HTTP_RAMP.replace("max_steps = 3", "max_steps = 10"),
    );
    let out = dir.join("out");
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = run_http(
        &profile.display().to_string(),
        &out,
        &["--fault", "ecrf-slow:0.3"],
    );
    let took = started.elapsed();
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let r = report(&out);
    assert_reconciled(&r, &stderr);
    let st = steps(&r);
    assert_eq!(st[0]["pass"], false, "{}", st[0]);
    let why = st[0]["breaches"][0].as_str().unwrap_or_default();
    assert!(why.starts_with("lost-find-service-geodetic p99"), "{why}");
    assert_eq!(r["ramp"]["stopped_after_step"], 0);
    assert!(r["ramp"]["capacity"]["highest_sustained_rate"].is_null());
    assert_eq!(
        r["ramp"]["capacity"]["first_breach"][0].as_f64(),
        Some(20.0)
    );
    assert!(
        st[2..]
            .iter()
            .all(|s| s["pass"].is_null() && u(&s["sent"]) == 0),
        "{st:?}"
    );
    // Nothing after the stop is counted as lost: scheduled = sent, all answered.
    assert_eq!(u(&r["scheduled"]), u(&r["total"]["sent"]));
    assert_eq!(u(&r["not_sent"]), 0);
    assert_eq!(u(&r["total"]["ok"]), u(&r["total"]["sent"]));
    assert!(
        took.as_secs_f64() < 16.0,
        "the ramp did not stop early: {took:?}"
    );
    assert!(stderr.contains("breached"), "{stderr}");
}

#[test]
fn http_bad_input_exits_2_with_the_reason() {
    let dir = tmp("http-bad");
    let cases = [
        (
            HTTP_SHORT.replace("held-location-request = 1", "held-bogus = 1"),
            vec![],
            "unknown request type",
        ),
        (
            HTTP_SHORT.replace(
                "[mix]",
                "[ramp]\nstart_rate = 1.0\nstep_rate = 1.0\nstep_s = 1.0\nmax_steps = 2\n[mix]",
            ),
            vec![],
            "not both",
        ),
        (
            HTTP_SHORT.replace("plane = \"http\"", "plane = \"ftp\""),
            vec![],
            "unknown plane",
        ),
        (
            HTTP_SHORT.replace("users = 32", "users = 0"),
            vec![],
            "users",
        ),
        (
            HTTP_SHORT.to_string(),
            vec!["--fault", "ecrf-bogus"],
            "unknown fault",
        ),
        (HTTP_SHORT.to_string(), vec!["--shard", "0/2"], "--shard"),
    ];
    for (i, (text, extra, why)) in cases.into_iter().enumerate() {
        let p = dir.write(&format!("p{i}.toml"), text);
        let (code, stdout, stderr) = run_http(&p.display().to_string(), &dir.join("o"), &extra);
        assert_eq!(code, 2, "{why}: {stdout}\n{stderr}");
        assert!(stderr.contains(why), "{why}: {stderr}");
    }
}

fn ac(r: &Value, channel: &str, field: &str) -> u64 {
    u(&r["counts"][channel][field])
}

#[test]
fn alert_fanout_smoke_delivers_every_alert_to_every_subscriber_of_its_area() {
    let dir = tmp("alerts-smoke");
    let (code, stdout, stderr) = run_http("load/profiles/alerts-smoke.toml", &dir, &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let r = report(&dir);
    assert_eq!(r["plane"], "alerts");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(r["reconciled"], true);
    assert_eq!(u(&r["alerts_published"]), 6);
    // 6 alerts alternating A/B, half of each channel's subscribers in each area.
    for (channel, subscribers) in [("sip", 200), ("xmpp", 100), ("http", 4)] {
        assert_eq!(ac(&r, channel, "subscribers"), subscribers, "{channel}");
        assert_eq!(ac(&r, channel, "expected"), subscribers * 3, "{channel}");
        assert_eq!(ac(&r, channel, "delivered"), subscribers * 3, "{channel}");
        assert_eq!(ac(&r, channel, "received"), subscribers * 3, "{channel}");
        assert_eq!(
            u(&r["latency_us"][channel]["count"]),
            subscribers * 3,
            "{channel}"
        );
        assert!(u(&r["latency_us"][channel]["p99"]) > 0, "{channel}");
    }
    let html = std::fs::read_to_string(dir.join("load.html")).expect("load.html");
    assert!(
        html.contains("Alert fan-out") && html.contains("Deliveries"),
        "{html}"
    );
}

#[test]
fn alert_server_faults_show_exactly_in_the_fanout_counts() {
    let dir = tmp("alerts-drops-xmpp");
    let (code, stdout, stderr) = run_http(
        "load/profiles/alerts-smoke.toml",
        &dir,
        &["--fault", "alert-drops-xmpp"],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let r = report(&dir);
    assert_eq!(r["reconciled"], true);
    assert_eq!(ac(&r, "xmpp", "lost"), 300);
    assert_eq!(ac(&r, "xmpp", "received"), 0);
    assert_eq!(ac(&r, "sip", "lost"), 0);

    let dir = tmp("alerts-wrong-area");
    let (code, stdout, stderr) = run_http(
        "load/profiles/alerts-smoke.toml",
        &dir,
        &["--fault", "alert-wrong-area"],
    );
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let r = report(&dir);
    assert_eq!(r["reconciled"], true);
    // Every alert also reaches the other area's subscribers.
    assert_eq!(ac(&r, "sip", "wrong_area"), 600);
    assert_eq!(ac(&r, "xmpp", "wrong_area"), 300);
    assert_eq!(ac(&r, "sip", "delivered"), 600);

    let dir = tmp("alerts-alters");
    let (code, _, _) = run_http(
        "load/profiles/alerts-smoke.toml",
        &dir,
        &["--fault", "alert-alters"],
    );
    assert_eq!(code, 1);
    let r = report(&dir);
    assert_eq!(ac(&r, "sip", "invalid"), 600);
    assert_eq!(ac(&r, "sip", "lost"), 600);
}

#[test]
fn alert_fanout_bad_input_exits_2_with_the_reason() {
    let dir = tmp("alerts-bad");
    let profile = dir.write(
        "bad.toml",
        "plane = \"alerts\"\nname = \"bad\"\nalerts = 1\ninterval_ms = 100\ntimeout_ms = 100\n",
    );
    let (code, _, stderr) = run_http(profile.to_str().expect("utf-8"), &dir, &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no subscribers"), "{stderr}");
    let (code, _, stderr) = run_http(
        "load/profiles/alerts-smoke.toml",
        &dir,
        &["--fault", "alert-nonsense"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown alert-server fault"), "{stderr}");
}
