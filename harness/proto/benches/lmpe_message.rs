//! Parse and build a full LMPE MESSAGE (start/257 with Call-Info identifiers, Geolocation and a
//! multipart body with chat text and a PIDF-LO), and run it through the session machines.
//!
//! `cargo bench -p lmpe-proto --bench lmpe_message`

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use lmpe_proto::roles::{chat_request, Sender};
use lmpe_proto::session::{AppSession, ChatParams, OutgoingChat};
use lmpe_wire::lmpe::{CallId, IdentifierProfile, LmpeIds};
use lmpe_wire::sip::{RsipParser, SipParser};

fn start_message() -> OutgoingChat {
    let call_id =
        CallId::new("a56e556d871abc", "app.example.net").unwrap_or_else(|e| panic!("{e}"));
    let mut app = AppSession::new(
        call_id,
        "sip:app@192.0.2.10:5060",
        "urn:service:sos",
        ChatParams::default(),
    );
    let _ = app.start(Instant::now(), "Help, I am hurt and cannot speak.");
    app.poll_outgoing().unwrap_or_else(|| panic!("no start"))
}

fn bench(c: &mut Criterion) {
    let out = start_message();
    let profile = IdentifierProfile::default();
    let sender = Sender {
        profile: &profile,
        from_uri: "sip:app@192.0.2.10:5060",
        from_tag: "a1b2c3",
        sip_call_id: "a56e556d871abc@app.example.net",
        cseq: 1,
        location: Some((48.208_49, 16.372_08)),
        pidf: None,
        extra: &[],
        extra_parts: &[],
    };
    let built = chat_request(&out, &sender);
    let mut with_via = built.clone();
    with_via.prepend_header(
        "Via",
        "SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport",
    );
    let bytes = with_via.to_bytes();
    println!("LMPE start/257 with PIDF-LO: {} bytes", bytes.len());

    c.bench_function(
        "build LMPE start/257 (Call-Info, multipart, PIDF-LO) to bytes",
        |b| b.iter(|| black_box(chat_request(black_box(&out), &sender)).to_bytes()),
    );
    let full = RsipParser::default();
    c.bench_function("parse LMPE start/257 (framing + rsip grammar)", |b| {
        b.iter(|| full.parse(black_box(&bytes)))
    });
    let fast = RsipParser { skip_grammar: true };
    c.bench_function(
        "parse LMPE start/257 (framing + structure, no rsip pass)",
        |b| b.iter(|| fast.parse(black_box(&bytes))),
    );
    let msg = fast.parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("extract LMPE identifiers (Call-Info)", |b| {
        b.iter(|| LmpeIds::extract(black_box(&msg), &profile))
    });
    c.bench_function("semantic defects() of the parsed message", |b| {
        b.iter(|| black_box(&msg).defects())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
