//! Sans-IO tests of the reference BCF and ESRP (`lmpe_reference::Proxy`): no sockets, fake
//! addresses; requests are built with `RequestBuilder`, fed as `Incoming`, and what the proxy
//! sends is read back with `poll_transmit` and checked with the typed header views.
//!
//! Clauses of ETSI TS 103 698: 6.1.2.5 (Resource-Priority policing), 6.1.2.6 (History-Info and
//! Reason), 6.1.2.7 (Call-Info passes), 6.1.2.8 (bodies pass, including binary parts), 6.1.2.9
//! (never 503). RFC 3261 16.6 / 16.11 / 18.1.1 / 18.2.2 and RFC 3581 for the proxy mechanics.

#![allow(clippy::unwrap_used)] // tests may unwrap

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lmpe_proto::endpoint::{Endpoint, Incoming, Transmit, TransportKind};
use lmpe_reference::{Proxy, ProxyConfig, ProxyFaults, ProxyRole, ProxyStats, Route};
use lmpe_wire::headers::{
    CallInfo, Geolocation, HiEntry, HistoryInfo, RValue, Reason, ResourcePriority,
};
use lmpe_wire::multipart::{Multipart, Part};
use lmpe_wire::sip::{
    percent_decode, split_list, Method, NameAddr, RequestBuilder, ResponseBuilder, RsipParser,
    SipMessage, SipParser, StreamFramer, Via, MAX_MESSAGE_SIZE,
};

// ---------------------------------------------------------------------------------------------
// Topology (fake addresses, nothing is bound)

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The BCF's public address.
fn bcf_addr() -> SocketAddr {
    addr("10.0.0.1:5060")
}
fn esrp_addr() -> SocketAddr {
    addr("10.0.0.2:5070")
}
/// The PSAP every `urn:service:sos*` maps to (except `sos.fire`).
fn psap_addr() -> SocketAddr {
    addr("10.0.0.3:5080")
}
/// A second PSAP for the more specific `urn:service:sos.fire` route.
fn fire_psap_addr() -> SocketAddr {
    addr("10.0.0.4:5090")
}
/// Where the APP says it is (its Via sent-by).
fn app_addr() -> SocketAddr {
    addr("192.0.2.10:5062")
}
/// Where the APP's packets really come from (behind a NAT).
fn app_nat() -> SocketAddr {
    addr("198.51.100.7:40000")
}
const PSAP_URI: &str = "sip:psap@10.0.0.3:5080";
const FIRE_PSAP_URI: &str = "sip:fire@10.0.0.4:5090";
const BCF_NAME: &str = "bcf.esinet.test";
const ESRP_NAME: &str = "esrp.esinet.test";

fn bcf() -> Proxy {
    Proxy::new(ProxyConfig {
        name: BCF_NAME.into(),
        role: ProxyRole::Bcf,
        local: bcf_addr(),
        routes: vec![Route {
            service: "urn:service:sos".into(),
            target: None,
            next_hop: esrp_addr(),
        }],
        user_map: vec![("psap".into(), psap_addr())],
        provisioned_priority: Some("esnet.1".into()),
        transport: TransportKind::Udp,
        faults: Default::default(),
    })
}

fn esrp() -> Proxy {
    esrp_at(esrp_addr())
}

fn esrp_at(local: SocketAddr) -> Proxy {
    Proxy::new(ProxyConfig {
        name: ESRP_NAME.into(),
        role: ProxyRole::Esrp,
        local,
        routes: vec![
            Route {
                service: "urn:service:sos".into(),
                target: Some(PSAP_URI.into()),
                next_hop: psap_addr(),
            },
            Route {
                service: "urn:service:sos.fire".into(),
                target: Some(FIRE_PSAP_URI.into()),
                next_hop: fire_psap_addr(),
            },
        ],
        user_map: Vec::new(),
        provisioned_priority: None,
        transport: TransportKind::Udp,
        faults: Default::default(),
    })
}

// ---------------------------------------------------------------------------------------------
// Driving the proxy

/// Feeds one message and returns everything the proxy wants sent.
fn feed(p: &mut Proxy, t: TransportKind, from: SocketAddr, bytes: &[u8]) -> Vec<Transmit> {
    let local = p.config_mut().local;
    p.handle_input(
        Instant::now(),
        Incoming {
            transport: t,
            remote: from,
            local,
            bytes: bytes.to_vec(),
        },
    );
    std::iter::from_fn(|| p.poll_transmit()).collect()
}

/// Feeds one message and expects exactly one transmit.
fn feed_one(p: &mut Proxy, t: TransportKind, from: SocketAddr, bytes: &[u8]) -> Transmit {
    let mut out = feed(p, t, from, bytes);
    let notes = p.take_notes();
    assert_eq!(out.len(), 1, "expected one transmit; notes: {notes:?}");
    out.remove(0)
}

fn parse(bytes: &[u8]) -> SipMessage {
    RsipParser::default()
        .parse(bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

/// Every way a message can leave the proxy's books; also checks it matches `received`.
fn total(s: ProxyStats) -> u64 {
    let t = s.requests_forwarded + s.responses_forwarded + s.rejected + s.dropped;
    assert_eq!(t, s.received, "{s:?}");
    t
}

/// RFC 3261 18.1.1: UDP unless the message is larger than 1300 bytes.
fn expected_transport(bytes: &[u8]) -> (TransportKind, &'static str) {
    if bytes.len() > 1300 {
        (TransportKind::Tcp, "TCP")
    } else {
        (TransportKind::Udp, "UDP")
    }
}

/// A short emergency MESSAGE (chat text only) that fits a datagram.
fn small_emergency(branch: &str) -> SipMessage {
    RequestBuilder::new(Method::Message, "urn:service:sos")
        .via(&Via::new("UDP", "192.0.2.10", 5062, branch))
        .from(&NameAddr::new("sip:app@provider.example").with_param("tag", Some("a1")))
        .to(&NameAddr::new("urn:service:sos"))
        .call_id(&format!("small-{branch}"))
        .cseq(1)
        .max_forwards(70)
        .header(
            "Call-Info",
            "<urn:emergency:uid:callid:a56e556d871x:app.provider.example>;purpose=EmergencyCallData.CallId",
        )
        .body("text/plain; charset=utf-8", "Hilfe")
        .build()
}

// ---------------------------------------------------------------------------------------------
// Messages

/// A PIDF-LO (RFC 4119 / RFC 5491) with a point.
const PIDF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:gml="http://www.opengis.net/gml" entity="pres:app@provider.example">
 <tuple id="t1"><status><gp:geopriv><gp:location-info>
  <gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>48.2 16.37</gml:pos></gml:Point>
 </gp:location-info><gp:usage-rules/></gp:geopriv></status></tuple>
</presence>"#;

/// A fake JPEG with NUL bytes, CR/LF and bytes that are not UTF-8.
fn jpeg() -> Vec<u8> {
    let mut v = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    v.extend((0u8..=40).map(|i| i.wrapping_mul(37)));
    v.extend_from_slice(b"\r\n--\r\n\0\0\xFF\xD9");
    v
}

/// A fake eCall MSD (ASN.1 PER, binary).
fn msd() -> Vec<u8> {
    vec![
        0x02, 0x29, 0x44, 0x00, 0x00, 0x0D, 0x0A, 0x80, 0xFF, 0x00, 0x01, 0x7F, 0x0D,
    ]
}

const VCARD: &str =
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Jane Doe\r\nTEL;TYPE=cell:+43123456789\r\nEND:VCARD\r\n";

/// The multipart body: chat text, PIDF-LO, and extra parts that must reach the PSAP untouched.
fn lmpe_body(with_extras: bool) -> Multipart {
    let mut parts = vec![
        Part::new("text/plain; charset=utf-8", "Hilfe, es brennt! \u{1F525}"),
        Part::new("application/pidf+xml", PIDF).with_content_id("loc1@app.provider.example"),
    ];
    if with_extras {
        parts.push(
            Part::new("image/jpeg", jpeg())
                .with_header("Content-Disposition", "attachment; filename=\"fire.jpg\"")
                .with_header("Content-Transfer-Encoding", "binary"),
        );
        parts.push(Part::new("application/vcard", VCARD));
        parts.push(Part::new("application/emergencyCallData.eCall.MSD", msd()));
    }
    Multipart::new(parts)
}

/// An APP's first chat MESSAGE to a service URN, with every LMPE header and a multipart body.
fn emergency(uri: &str, branch: &str, extra: &[(&str, &str)], with_extras: bool) -> SipMessage {
    let body = lmpe_body(with_extras);
    let mut b = RequestBuilder::new(Method::Message, uri)
        .via(&Via::new(
            "UDP",
            &app_addr().ip().to_string(),
            app_addr().port(),
            branch,
        ))
        .from(&NameAddr::new("sip:app@provider.example").with_param("tag", Some("a1")))
        .to(&NameAddr::new(uri))
        .call_id(&format!("call-{branch}@app.provider.example"))
        .cseq(1)
        .max_forwards(70)
        .header(
            "Call-Info",
            "<urn:emergency:uid:callid:a56e556d871x:app.provider.example>;purpose=EmergencyCallData.CallId",
        )
        .header(
            "Call-Info",
            "<urn:emergency:service:uid:msgid:1:app.provider.example>;purpose=EmergencyCallData.MsgId, <urn:emergency:service:uid:msgtype:257:app.provider.example>;purpose=EmergencyCallData.MsgType",
        )
        .header(
            "Call-Info",
            "<https://adr.provider.example/sub?id=a%20b>;purpose=EmergencyCallData.SubscriberInfo;x-extra=\"q, r\"",
        )
        .header("Geolocation", "<cid:loc1@app.provider.example>;inserted-by=app")
        .header("Geolocation-Routing", "yes")
        .header("P-Asserted-Identity", "<sip:+43123456789@provider.example>")
        .header("User-Agent", "lmpe-test-app/1.0")
        .header("X-Unknown-Extension", "kept;as=is , even,  with  spaces");
    for (n, v) in extra {
        b = b.header(n, *v);
    }
    b.body(&body.content_type_value(), body.to_bytes()).build()
}

/// A PSAP callback to the APP (a SIP URI, not an emergency service URN).
fn callback(extra: &[(&str, &str)]) -> SipMessage {
    let mut b = RequestBuilder::new(Method::Message, format!("sip:app@{}", app_addr()))
        .via(&Via::new(
            "UDP",
            &psap_addr().ip().to_string(),
            psap_addr().port(),
            "z9hG4bKcb1",
        ))
        .from(&NameAddr::new(PSAP_URI).with_param("tag", Some("p1")))
        .to(&NameAddr::new(format!("sip:app@{}", app_addr())))
        .call_id("cb-1@psap")
        .cseq(7)
        .max_forwards(70)
        .header("Reply-To", format!("<sip:psap@{}>", bcf_addr()))
        .header(
            "Call-Info",
            "<urn:emergency:uid:callid:a56e556d871x:app.provider.example>;purpose=EmergencyCallData.CallId",
        );
    for (n, v) in extra {
        b = b.header(n, *v);
    }
    b.body("text/plain; charset=utf-8", "Wo genau sind Sie?")
        .build()
}

// ---------------------------------------------------------------------------------------------
// Byte-level comparison helpers

/// The raw header lines (start line excluded) and the body of a serialised message.
fn split_raw(bytes: &[u8]) -> (Vec<String>, Vec<u8>) {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&bytes[..end]).unwrap();
    let lines = head.split("\r\n").skip(1).map(str::to_string).collect();
    (lines, bytes[end + 4..].to_vec())
}

fn line_name(line: &str) -> &str {
    line.split(':').next().unwrap().trim()
}

/// Asserts that every header line not named in `owned` is byte-identical and in the same order,
/// and that the body is byte-identical.
fn assert_passes_untouched(input: &[u8], output: &[u8], owned: &[&str]) {
    let keep = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .filter(|l| !owned.iter().any(|o| o.eq_ignore_ascii_case(line_name(l))))
            .collect()
    };
    let (in_lines, in_body) = split_raw(input);
    let (out_lines, out_body) = split_raw(output);
    assert_eq!(keep(in_lines), keep(out_lines));
    assert!(in_body == out_body, "body bytes changed");
}

/// The Reasons of a History-Info entry. The typed view splits `?Reason=` out of SIP/SIPS URIs
/// only; on other absolute URIs (the service URN of entry 1) it is left in `target`, so it is
/// split here the same way (RFC 3261 19.1.1 `headers`, RFC 7044 hi-targeted-to-uri).
fn reasons_and_target(e: &HiEntry) -> (String, Vec<Reason>) {
    if !e.reasons.is_empty() {
        return (e.target.clone(), e.reasons.clone());
    }
    let Some((target, headers)) = e.target.split_once('?') else {
        return (e.target.clone(), Vec::new());
    };
    let mut reasons = Vec::new();
    for h in headers.split('&') {
        let (name, value) = h.split_once('=').unwrap();
        if name.eq_ignore_ascii_case("Reason") {
            reasons.extend(Reason::parse_list(&percent_decode(value).unwrap()).unwrap());
        }
    }
    (target.to_string(), reasons)
}

fn assert_302(reasons: &[Reason]) {
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].is_protocol("SIP"));
    assert_eq!(reasons[0].cause, Some(302));
}

fn vias(m: &SipMessage) -> Vec<Via> {
    m.header_values("Via")
        .map(|v| Via::parse(v).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// ESRP: retargeting, History-Info, pass-through (6.1.2.6, 6.1.2.7, 6.1.2.8)

#[test]
fn esrp_retargets_sos_and_sub_services_passing_everything_else_untouched() {
    for (uri, target, hop) in [
        ("urn:service:sos", PSAP_URI, psap_addr()),
        ("urn:service:sos.police", PSAP_URI, psap_addr()),
        ("URN:Service:SOS.police", PSAP_URI, psap_addr()),
        ("urn:service:sos.fire", FIRE_PSAP_URI, fire_psap_addr()),
    ] {
        let mut esrp = esrp();
        let req = emergency(
            uri,
            "z9hG4bKapp1",
            &[("Resource-Priority", "esnet.1")],
            true,
        );
        let bytes = req.to_bytes();
        let t = feed_one(&mut esrp, TransportKind::Udp, bcf_addr(), &bytes);
        assert_eq!(t.remote, hop, "{uri}");
        let out = parse(&t.bytes);
        assert!(
            out.defects()
                .iter()
                .all(|d| d.severity != lmpe_wire::sip::Severity::Reject),
            "{uri}: {:?}",
            out.defects()
        );

        // Retargeted Request-URI, To untouched (RFC 3261 16.6 step 2 changes only the R-URI).
        assert_eq!(out.request_uri(), Some(target), "{uri}");
        assert_eq!(out.method(), Some(Method::Message));

        // History-Info: 1 = the original URN with Reason SIP;cause=302, 1.1 = the PSAP.
        let hi = HistoryInfo::from_message(&out).unwrap().unwrap();
        assert_eq!(hi.entries.len(), 2, "{hi}");
        let (first, new) = (&hi.entries[0], &hi.entries[1]);
        assert_eq!(first.index.to_string(), "1");
        let (orig, reasons) = reasons_and_target(first);
        assert_eq!(orig, uri);
        assert_302(&reasons);
        assert_eq!(new.index.to_string(), "1.1");
        assert_eq!(new.target, target);
        assert_eq!(hi.latest().unwrap().target, target);

        // Max-Forwards decremented.
        assert_eq!(out.header("Max-Forwards"), Some("69"));

        // Our Via on top with a fresh RFC 3261 branch; the previous one got received/rport.
        let v = vias(&out);
        assert_eq!(v.len(), 2);
        let (kind, token) = expected_transport(&t.bytes);
        assert_eq!((t.transport, v[0].transport.as_str()), (kind, token));
        assert_eq!(v[0].host, esrp_addr().ip().to_string());
        assert_eq!(v[0].port, Some(esrp_addr().port()));
        let branch = v[0].branch().unwrap();
        assert!(branch.starts_with("z9hG4bK") && branch.len() > 7);
        assert_ne!(branch, "z9hG4bKapp1");
        let prev = Via::parse(req.header("Via").unwrap()).unwrap();
        assert_eq!(v[1].host, prev.host);
        assert_eq!(v[1].port, prev.port);
        assert_eq!(v[1].branch(), Some("z9hG4bKapp1"));
        assert_eq!(v[1].received(), Some("10.0.0.1"));
        assert_eq!(v[1].rport(), Some(Some(5060)));

        // Everything else byte-identical: Call-Info (3 lines, 4 values), Geolocation, P-A-I,
        // unknown extensions, Resource-Priority (the ESRP does not police), the multipart body.
        assert_passes_untouched(&bytes, &t.bytes, &["Via", "Max-Forwards", "History-Info"]);
        assert_eq!(out.count_headers("Call-Info"), 3);
        assert_eq!(
            CallInfo::all_from(&out).unwrap(),
            CallInfo::all_from(&req).unwrap()
        );
        assert_eq!(
            Geolocation::from_message(&out).unwrap(),
            Geolocation::from_message(&req).unwrap()
        );
        let parts = Multipart::parse(out.content_type().unwrap(), &out.body).unwrap();
        assert_eq!(parts.parts.len(), 5);
        assert_eq!(parts.parts[2].body, jpeg());
        assert_eq!(parts.parts[3].text(), Some(VCARD));
        assert!(parts.parts[4].is_media_type("application/emergencyCallData.eCall.MSD"));
        assert_eq!(parts.parts[4].body, msd());
        assert_eq!(
            parts
                .find_by_cid("cid:loc1@app.provider.example")
                .unwrap()
                .text(),
            Some(PIDF)
        );

        let s = esrp.stats();
        assert_eq!((s.requests_forwarded, total(s)), (1, 1));
    }
}

#[test]
fn esrp_branch_is_stable_for_retransmissions_and_differs_per_transaction() {
    let mut esrp = esrp();
    let a = emergency("urn:service:sos", "z9hG4bKone", &[], false).to_bytes();
    let b = emergency("urn:service:sos", "z9hG4bKtwo", &[], false).to_bytes();
    let branch = |t: &Transmit| vias(&parse(&t.bytes))[0].branch().unwrap().to_string();
    let a1 = branch(&feed_one(&mut esrp, TransportKind::Udp, bcf_addr(), &a));
    let a2 = branch(&feed_one(&mut esrp, TransportKind::Udp, bcf_addr(), &a));
    let b1 = branch(&feed_one(&mut esrp, TransportKind::Udp, bcf_addr(), &b));
    assert_eq!(
        a1, a2,
        "a stateless proxy must give a retransmission the same branch"
    );
    assert_ne!(a1, b1);
}

/// RFC 2543 requests have no magic cookie; RFC 3261 16.11 derives the branch from the fields
/// that identify the transaction, so two different such requests must not share a branch.
#[test]
fn rfc2543_requests_without_branch_get_distinct_branches() {
    let mk = |call_id: &str, cseq: u32| {
        RequestBuilder::new(Method::Message, "urn:service:sos")
            .header("Via", format!("SIP/2.0/UDP {}", app_addr()))
            .header("From", "<sip:app@provider.example>;tag=x")
            .header("To", "<urn:service:sos>")
            .call_id(call_id)
            .cseq(cseq)
            .max_forwards(70)
            .build()
            .to_bytes()
    };
    let mut esrp = esrp();
    let branch = |t: &Transmit| vias(&parse(&t.bytes))[0].branch().unwrap().to_string();
    let a = mk("c1", 1);
    let a1 = branch(&feed_one(&mut esrp, TransportKind::Udp, bcf_addr(), &a));
    let a2 = branch(&feed_one(&mut esrp, TransportKind::Udp, bcf_addr(), &a));
    let b = branch(&feed_one(
        &mut esrp,
        TransportKind::Udp,
        bcf_addr(),
        &mk("c2", 1),
    ));
    let c = branch(&feed_one(
        &mut esrp,
        TransportKind::Udp,
        bcf_addr(),
        &mk("c1", 2),
    ));
    assert_eq!(a1, a2);
    assert!(a1 != b && a1 != c && b != c, "{a1} {b} {c}");
}

#[test]
fn already_retargeted_request_gets_a_child_entry_and_existing_entries_stay() {
    // An originating network translated 112 to the service URN and recorded it (two lines, one
    // with an unknown parameter and a Reason of its own).
    let existing_1 = "<sip:112@provider.example;user=phone>;index=1";
    let existing_2 = "\"x\" <sip:busy@provider.example?Reason=SIP%3Bcause%3D486>;index=1.1;np=1, <urn:service:sos>;index=1.2;mp=1";
    let req = emergency(
        "urn:service:sos",
        "z9hG4bKhi",
        &[("History-Info", existing_1), ("History-Info", existing_2)],
        false,
    );
    let bytes = req.to_bytes();
    let t = feed_one(&mut esrp(), TransportKind::Udp, bcf_addr(), &bytes);
    let out = parse(&t.bytes);
    assert_eq!(out.request_uri(), Some(PSAP_URI));

    // The received lines are byte-identical and still first, in order.
    let lines: Vec<&str> = out.headers_named("History-Info").collect();
    assert_eq!(&lines[..2], &[existing_1, existing_2]);

    let before = HistoryInfo::from_message(&req).unwrap().unwrap();
    let after = HistoryInfo::from_message(&out).unwrap().unwrap();
    assert_eq!(&after.entries[..before.entries.len()], &before.entries[..]);
    let added = &after.entries[before.entries.len()..];
    assert!(!added.is_empty());
    // Every added index is a descendant of the last received entry, indices stay unique.
    let last = before.entries.last().unwrap().index.clone();
    for e in added {
        assert!(
            e.index.components().starts_with(last.components())
                && e.index.components().len() > last.components().len(),
            "{} is not below {last}",
            e.index
        );
    }
    assert_eq!(after.latest().unwrap().target, PSAP_URI);
    assert_eq!(added.len(), 1);
    assert_eq!(after.entries.last().unwrap().index, last.child(1));
    assert_eq!(last.to_string(), "1.2");
    // The retargeted-from URN is the last received entry; the Reason cannot go into that entry
    // (it belongs to another element), so it is on the new one.
    let (_, reasons) = reasons_and_target(added.last().unwrap());
    assert_302(&reasons);
    assert_passes_untouched(&bytes, &t.bytes, &["Via", "Max-Forwards", "History-Info"]);
}

#[test]
fn history_info_that_does_not_record_the_request_uri_gets_it_recorded() {
    // The last entry is not the Request-URI: the element before us retargeted without recording
    // it. The original intended recipient (the URN) must still appear, with the Reason.
    let existing = "<sip:112@provider.example;user=phone>;index=1";
    let req = emergency(
        "urn:service:sos.police",
        "z9hG4bKgap",
        &[("History-Info", existing)],
        false,
    );
    let t = feed_one(&mut esrp(), TransportKind::Udp, bcf_addr(), &req.to_bytes());
    let out = parse(&t.bytes);
    assert_eq!(out.header("History-Info"), Some(existing));
    let hi = HistoryInfo::from_message(&out).unwrap().unwrap();
    let idx: Vec<String> = hi.entries.iter().map(|e| e.index.to_string()).collect();
    assert_eq!(idx, ["1", "1.1", "1.1.1"]);
    let (orig, reasons) = reasons_and_target(&hi.entries[1]);
    assert_eq!(orig, "urn:service:sos.police");
    assert_302(&reasons);
    assert_eq!(hi.entries[2].target, PSAP_URI);
}

#[test]
fn new_history_info_indices_never_collide_with_received_ones() {
    // Entries in an unusual order: the last one (index 1, the Request-URI) already has a child
    // 1.1 earlier in the list. Appending 1.1 again would make the History-Info invalid.
    let req = emergency(
        "urn:service:sos",
        "z9hG4bKdup",
        &[(
            "History-Info",
            "<sip:x@provider.example>;index=1.1, <urn:service:sos>;index=1",
        )],
        false,
    );
    let t = feed_one(&mut esrp(), TransportKind::Udp, bcf_addr(), &req.to_bytes());
    let out = parse(&t.bytes);
    let hi = HistoryInfo::from_message(&out).unwrap().unwrap();
    let idx: Vec<String> = hi.entries.iter().map(|e| e.index.to_string()).collect();
    assert_eq!(idx, ["1.1", "1", "1.2"]);
    assert_eq!(hi.entries[2].target, PSAP_URI);
}

#[test]
fn other_via_values_on_the_top_via_line_stay_byte_identical() {
    let line = "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKtop;rport,SIP/2.0/TCP   [2001:db8::7]:5060 ;branch=z9hG4bKlow ;x=\"a,b\" ,SIP/2.0/UDP 10.1.1.1;branch=z9hG4bKthird";
    let tail = &line[line.find(",SIP").unwrap() + 1..];
    let mut req = small_emergency("z9hG4bKtop");
    req.set_header("Via", line);
    let mut bcf = bcf();
    let t = feed_one(&mut bcf, TransportKind::Udp, app_nat(), &req.to_bytes());
    let out = parse(&t.bytes);
    let second_line = out.headers_named("Via").nth(1).unwrap();
    let (top, rest) = second_line.split_once(", ").unwrap();
    assert_eq!(rest, tail);
    let top = Via::parse(top).unwrap();
    assert_eq!(top.received(), Some("198.51.100.7"));
    assert_eq!(top.rport(), Some(Some(40000)));

    // Back: a response whose Via line holds the BCF's Via and the rest.
    let resp = ResponseBuilder::for_request(&out, 200, "OK", Some("t"))
        .build()
        .to_bytes();
    let mut esrp_side = parse(&resp);
    let vias_line = format!("{}, {second_line}", esrp_side.header("Via").unwrap());
    esrp_side.remove_headers("Via");
    esrp_side.prepend_header("Via", vias_line);
    let r = feed_one(
        &mut bcf,
        TransportKind::Udp,
        esrp_addr(),
        &esrp_side.to_bytes(),
    );
    assert_eq!(r.remote, app_nat());
    assert_eq!(parse(&r.bytes).header("Via"), Some(second_line));
}

// ---------------------------------------------------------------------------------------------
// BCF: Resource-Priority policing (6.1.2.5)

#[test]
fn bcf_marks_emergency_requests_with_exactly_the_provisioned_priority() {
    let cases: &[&[(&str, &str)]] = &[
        &[],
        &[("Resource-Priority", "esnet.2")],
        &[("Resource-Priority", "esnet.0")],
        &[("Resource-Priority", "esnet.1")],
        &[("Resource-Priority", "wps.1")],
        &[("Resource-Priority", "dsn.flash, esnet.2")],
        &[
            ("Resource-Priority", "esnet.1"),
            ("Resource-Priority", "ets.0"),
        ],
        // Malformed values are replaced too, not answered with 400: the call is an emergency.
        &[("Resource-Priority", "esnet.9")],
        &[("Resource-Priority", "garbage")],
    ];
    for extra in cases {
        for uri in ["urn:service:sos", "urn:service:sos.fire"] {
            let mut bcf = bcf();
            let req = emergency(uri, "z9hG4bKrp", extra, true);
            let bytes = req.to_bytes();
            let t = feed_one(&mut bcf, TransportKind::Udp, app_nat(), &bytes);
            assert_eq!(t.remote, esrp_addr(), "{extra:?}");
            let out = parse(&t.bytes);
            assert_eq!(out.status(), None, "{extra:?}: answered {}", out.summary());
            assert_eq!(out.count_headers("Resource-Priority"), 1, "{extra:?}");
            let rp = ResourcePriority::from_message(&out).unwrap().unwrap();
            assert_eq!(
                rp.values,
                vec![RValue::parse("esnet.1").unwrap()],
                "{extra:?}"
            );
            // The BCF does not retarget and adds no History-Info.
            assert_eq!(out.request_uri(), Some(uri));
            assert_eq!(out.count_headers("History-Info"), 0);
            let v = vias(&out);
            assert_eq!(v[0].host, "10.0.0.1");
            assert_eq!(v[1].received(), Some("198.51.100.7"));
            assert_eq!(v[1].rport(), Some(Some(40000)));
            assert_passes_untouched(
                &bytes,
                &t.bytes,
                &["Via", "Max-Forwards", "Resource-Priority"],
            );
        }
    }
}

#[test]
fn bcf_does_not_mark_psap_callbacks() {
    for extra in [&[][..], &[("Resource-Priority", "esnet.0")][..]] {
        let mut bcf = bcf();
        let req = callback(extra);
        let bytes = req.to_bytes();
        let t = feed_one(&mut bcf, TransportKind::Udp, psap_addr(), &bytes);
        assert_eq!(t.remote, app_addr());
        let out = parse(&t.bytes);
        assert_eq!(out.request_uri(), req.request_uri());
        // Outside an incident: not marked; during one: the PSAP's esnet.0 stays as it was.
        assert_eq!(
            out.header("Resource-Priority"),
            req.header("Resource-Priority")
        );
        assert_passes_untouched(&bytes, &t.bytes, &["Via", "Max-Forwards"]);
    }
}

// ---------------------------------------------------------------------------------------------
// BCF: public URI mapping and errors (6.1.2.9: never 503)

#[test]
fn bcf_maps_the_psap_public_uri_without_changing_the_request_uri() {
    let uri = format!("sip:psap@{}", bcf_addr());
    let req = RequestBuilder::new(Method::Message, uri.as_str())
        .via(&Via::new("UDP", "192.0.2.10", 5062, "z9hG4bKin1"))
        .from(&NameAddr::new("sip:app@provider.example").with_param("tag", Some("a1")))
        .to(&NameAddr::new(uri.as_str()))
        .call_id("in-chat-1")
        .cseq(2)
        .max_forwards(70)
        .header(
            "Call-Info",
            "<urn:emergency:service:uid:msgtype:259:app.provider.example>;purpose=EmergencyCallData.MsgType",
        )
        .body("text/plain; charset=utf-8", "3. Stock")
        .build();
    let bytes = req.to_bytes();
    let mut bcf = bcf();
    let t = feed_one(&mut bcf, TransportKind::Udp, app_nat(), &bytes);
    assert_eq!(t.remote, psap_addr());
    let out = parse(&t.bytes);
    assert_eq!(out.request_uri(), Some(uri.as_str()));
    assert_eq!(out.count_headers("History-Info"), 0);
    assert_passes_untouched(&bytes, &t.bytes, &["Via", "Max-Forwards"]);
}

/// A request the proxy answers itself: the status, and that it went back the way it came.
fn expect_error(p: &mut Proxy, bytes: &[u8], from: SocketAddr, status: u16) -> SipMessage {
    let before = p.stats();
    let t = feed_one(p, TransportKind::Udp, from, bytes);
    let resp = parse(&t.bytes);
    assert_eq!(resp.status(), Some(status), "{}", resp.summary());
    assert_ne!(resp.status(), Some(503), "6.1.2.9");
    // The APP's Via carries rport: RFC 3581 sends to the source address and port.
    assert_eq!(t.remote, from);
    assert_eq!(t.transport, TransportKind::Udp);
    // RFC 3581 4: the response tells the client where its request came from.
    let top = vias(&resp).remove(0);
    assert_eq!(top.received(), Some(from.ip().to_string().as_str()));
    assert_eq!(top.rport(), Some(Some(from.port())));
    let w = resp
        .header("Warning")
        .expect("an error says why in Warning");
    assert!(w.starts_with("399 "), "{w}");
    assert_eq!(p.stats().rejected, before.rejected + 1);
    assert_eq!(p.stats().requests_forwarded, before.requests_forwarded);
    resp
}

#[test]
fn errors_are_answered_by_the_proxy_and_never_503() {
    let mut bcf = bcf();
    // Unknown user at the BCF itself.
    let uri = format!("sip:nobody@{}", bcf_addr());
    let req = callback(&[]);
    let mut unknown = req.clone();
    if let lmpe_wire::sip::StartLine::Request { uri: u, .. } = &mut unknown.start {
        u.clone_from(&uri);
    }
    let resp = expect_error(&mut bcf, &unknown.to_bytes(), app_nat(), 404);
    assert!(resp.header("Warning").unwrap().contains(BCF_NAME));
    assert_eq!(resp.header("Call-ID"), unknown.header("Call-ID"));
    assert_eq!(resp.header("CSeq"), unknown.header("CSeq"));

    // A service URN without route, at the BCF and at the ESRP.
    let counseling = emergency("urn:service:counseling", "z9hG4bKc1", &[], false).to_bytes();
    expect_error(&mut bcf, &counseling, app_nat(), 404);
    let mut esrp = esrp();
    expect_error(&mut esrp, &counseling, bcf_addr(), 404);
    // `urn:service:sosx` is not a sub-service of `urn:service:sos`.
    let sosx = emergency("urn:service:sosx", "z9hG4bKc2", &[], false).to_bytes();
    expect_error(&mut esrp, &sosx, bcf_addr(), 404);

    // Max-Forwards 0.
    let mut zero = emergency("urn:service:sos", "z9hG4bKmf0", &[], false);
    zero.set_header("Max-Forwards", "0");
    expect_error(&mut bcf, &zero.to_bytes(), app_nat(), 483);
    expect_error(&mut esrp, &zero.to_bytes(), bcf_addr(), 483);

    // Missing required headers.
    for missing in ["Call-ID", "From", "To", "CSeq"] {
        let mut m = emergency("urn:service:sos", "z9hG4bKmiss", &[], false);
        assert_eq!(m.remove_headers(missing), 1);
        expect_error(&mut bcf, &m.to_bytes(), app_nat(), 400);
    }

    // Every input is accounted for.
    assert_eq!(total(bcf.stats()), 1 + 1 + 1 + 4);
    assert_eq!(total(esrp.stats()), 1 + 1 + 1);
}

#[test]
fn error_responses_without_rport_go_to_the_source_ip_and_via_port() {
    // RFC 3261 18.2.2: unreliable transport, no rport: the received address, the sent-by port.
    let mut m = emergency("urn:service:counseling", "z9hG4bKnr", &[], false);
    m.set_header("Via", "SIP/2.0/UDP 192.0.2.10:5999;branch=z9hG4bKnr");
    let mut bcf = bcf();
    let t = feed_one(&mut bcf, TransportKind::Udp, app_nat(), &m.to_bytes());
    assert_eq!(t.remote, addr("198.51.100.7:5999"));
    assert_eq!(parse(&t.bytes).status(), Some(404));
}

/// RFC 3261 17.1.1.3 / 16.11: nobody answers an ACK; one that cannot be forwarded is dropped.
#[test]
fn an_ack_that_cannot_be_forwarded_is_dropped_not_answered() {
    let ack = |uri: &str, mf: u32| {
        RequestBuilder::new(Method::Ack, uri)
            .via(&Via::new("UDP", "192.0.2.10", 5062, "z9hG4bKack"))
            .from(&NameAddr::new("sip:app@provider.example").with_param("tag", Some("a")))
            .to(&NameAddr::new(uri).with_param("tag", Some("b")))
            .call_id("ack-1")
            .cseq(1)
            .max_forwards(mf)
            .build()
            .to_bytes()
    };
    let mut bcf = bcf();
    for bytes in [
        ack("urn:service:sos", 0),
        ack("urn:service:counseling", 70),
        ack(&format!("sip:nobody@{}", bcf_addr()), 70),
    ] {
        let out = feed(&mut bcf, TransportKind::Udp, app_nat(), &bytes);
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out[0].bytes));
    }
    let s = bcf.stats();
    assert_eq!((s.dropped, s.rejected, total(s)), (3, 0, 3));
    // A routable ACK is forwarded like any request.
    let t = feed_one(
        &mut bcf,
        TransportKind::Udp,
        app_nat(),
        &ack("urn:service:sos", 70),
    );
    assert_eq!(t.remote, esrp_addr());
}

/// RFC 3261 16.3 step 5: an unsupported Proxy-Require option gets 420 with Unsupported.
#[test]
fn unsupported_proxy_require_gets_420() {
    let m = emergency(
        "urn:service:sos",
        "z9hG4bKpr",
        &[("Proxy-Require", "foo, bar")],
        false,
    );
    let resp = expect_error(&mut bcf(), &m.to_bytes(), app_nat(), 420);
    let unsupported: Vec<&str> = resp.header_values("Unsupported").collect();
    assert_eq!(unsupported, ["foo", "bar"]);
}

/// RFC 3261 16.3 step 2: a scheme the proxy does not understand gets 416.
#[test]
fn unknown_request_uri_scheme_gets_416() {
    let mut m = emergency("urn:service:sos", "z9hG4bKus", &[], false);
    if let lmpe_wire::sip::StartLine::Request { uri, .. } = &mut m.start {
        *uri = "tel:+43112".into();
    }
    expect_error(&mut bcf(), &m.to_bytes(), app_nat(), 416);
}

// ---------------------------------------------------------------------------------------------
// Responses (RFC 3261 16.11 / 18.2.2, RFC 3581)

#[test]
fn responses_follow_the_via_chain_back_to_the_app() {
    let mut bcf = bcf();
    let mut esrp = esrp();
    // APP (behind NAT) -> BCF -> ESRP -> PSAP.
    let req = emergency("urn:service:sos", "z9hG4bKchain", &[], true);
    let to_esrp = feed_one(&mut bcf, TransportKind::Udp, app_nat(), &req.to_bytes());
    let to_psap = feed_one(&mut esrp, TransportKind::Udp, bcf_addr(), &to_esrp.bytes);
    assert_eq!(to_psap.remote, psap_addr());
    let at_psap = parse(&to_psap.bytes);
    assert_eq!(vias(&at_psap).len(), 3);

    // PSAP answers; the ESRP pops its Via and sends to the BCF's Via (received/rport).
    let ok = ResponseBuilder::for_request(&at_psap, 200, "OK", Some("psap-tag"))
        .header("Reply-To", format!("<sip:psap@{}>", bcf_addr()))
        .build()
        .to_bytes();
    let r1 = feed_one(&mut esrp, TransportKind::Udp, psap_addr(), &ok);
    // The BCF sent this big request over TCP, so its Via says TCP and the response follows it.
    assert_eq!(to_esrp.transport, TransportKind::Tcp);
    assert_eq!((r1.remote, r1.transport), (bcf_addr(), TransportKind::Tcp));
    let m1 = parse(&r1.bytes);
    assert_eq!(vias(&m1).len(), 2);
    assert_eq!(vias(&m1)[0].host, "10.0.0.1");
    assert_passes_untouched(&ok, &r1.bytes, &["Via"]);

    // The BCF pops its Via and sends to the APP's NAT address from received/rport.
    let r2 = feed_one(&mut bcf, TransportKind::Udp, esrp_addr(), &r1.bytes);
    assert_eq!((r2.remote, r2.transport), (app_nat(), TransportKind::Udp));
    let m2 = parse(&r2.bytes);
    assert_eq!(m2.status(), Some(200));
    let v = vias(&m2);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].branch(), Some("z9hG4bKchain"));
    assert_passes_untouched(&ok, &r2.bytes, &["Via"]);

    assert_eq!(bcf.stats().responses_forwarded, 1);
    assert_eq!(esrp.stats().responses_forwarded, 1);
    assert_eq!(total(bcf.stats()), 2);
    assert_eq!(total(esrp.stats()), 2);
}

#[test]
fn responses_use_the_transport_and_address_of_the_next_via() {
    let mut bcf = bcf();
    // The APP talks TCP; its Via has no rport: the response goes to received + sent-by port
    // over TCP (the driver reuses the connection to that address).
    let mut req = emergency("urn:service:sos", "z9hG4bKtcp", &[], false);
    req.set_header("Via", "SIP/2.0/TCP 192.0.2.10:5062;branch=z9hG4bKtcp");
    let fwd = feed_one(&mut bcf, TransportKind::Tcp, app_nat(), &req.to_bytes());
    let fwd = parse(&fwd.bytes);
    assert_eq!(vias(&fwd)[1].received(), Some("198.51.100.7"));
    let resp = ResponseBuilder::for_request(&fwd, 404, "Not Found", Some("e"))
        .build()
        .to_bytes();
    let t = feed_one(&mut bcf, TransportKind::Udp, esrp_addr(), &resp);
    assert_eq!(t.transport, TransportKind::Tcp);
    assert_eq!(t.remote, addr("198.51.100.7:5062"));
    assert_eq!(parse(&t.bytes).status(), Some(404));

    // TLS with rport: TLS to received:rport.
    let mut req = emergency("urn:service:sos", "z9hG4bKtls", &[], false);
    req.set_header("Via", "SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bKtls;rport");
    let fwd = feed_one(&mut bcf, TransportKind::Tls, app_nat(), &req.to_bytes());
    let resp = ResponseBuilder::for_request(&parse(&fwd.bytes), 202, "Accepted", Some("e"))
        .build()
        .to_bytes();
    let t = feed_one(&mut bcf, TransportKind::Udp, esrp_addr(), &resp);
    assert_eq!((t.transport, t.remote), (TransportKind::Tls, app_nat()));
}

#[test]
fn responses_not_for_us_are_dropped_and_counted() {
    let mut bcf = bcf();
    let base = |vias: &[&str]| {
        let mut b = RequestBuilder::new(Method::Message, "urn:service:sos");
        for v in vias {
            b = b.header("Via", *v);
        }
        let req = b
            .from(&NameAddr::new("sip:app@provider.example").with_param("tag", Some("a")))
            .to(&NameAddr::new("urn:service:sos"))
            .call_id("r-1")
            .cseq(1)
            .build();
        ResponseBuilder::for_request(&req, 200, "OK", Some("t"))
            .build()
            .to_bytes()
    };
    let inputs = [
        // Top Via is someone else's.
        base(&[
            "SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bKx",
            "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKy",
        ]),
        // Our host, another port.
        base(&[
            "SIP/2.0/UDP 10.0.0.1:5061;branch=z9hG4bKx",
            "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKy",
        ]),
        // Ours, but nothing below it.
        base(&["SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx"]),
        // Ours, but the next Via is garbage.
        base(&["SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKx", "garbage"]),
        // No Via at all.
        base(&[]),
        // Not SIP.
        b"HTTP/1.1 200 OK\r\n\r\n".to_vec(),
    ];
    for r in &inputs {
        let out = feed(&mut bcf, TransportKind::Udp, esrp_addr(), r);
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(r));
    }
    let s = bcf.stats();
    assert_eq!(s.dropped, inputs.len() as u64);
    assert_eq!(total(s), inputs.len() as u64);
    assert_eq!(bcf.take_notes().len(), inputs.len());
}

// ---------------------------------------------------------------------------------------------
// Transport selection (RFC 3261 18.1.1)

#[test]
fn large_requests_are_forwarded_over_tcp_with_a_tcp_via() {
    let req = emergency("urn:service:sos", "z9hG4bKbig", &[], true);
    let mut big = req.clone();
    let mut body = lmpe_body(true);
    body.parts
        .push(Part::new("image/jpeg", vec![0u8; 1400]).with_content_id("img2@app"));
    big.set_header("Content-Type", body.content_type_value());
    big.body = body.to_bytes();
    big.set_header("Content-Length", big.body.len().to_string());
    let bytes = big.to_bytes();
    assert!(bytes.len() > 1300);

    for p in [&mut bcf(), &mut esrp()] {
        let t = feed_one(p, TransportKind::Udp, app_nat(), &bytes);
        assert_eq!(t.transport, TransportKind::Tcp);
        let out = parse(&t.bytes);
        assert_eq!(vias(&out)[0].transport, "TCP");
        assert_eq!(out.body, big.body);
        // The stream framer cuts out exactly this one message.
        let mut f = StreamFramer::new(MAX_MESSAGE_SIZE);
        f.push(&t.bytes);
        assert_eq!(f.next_message().unwrap().unwrap(), t.bytes.to_vec());
        assert!(f.next_message().is_none());
    }

    // A small one stays on UDP.
    let small = small_emergency("z9hG4bKsmall").to_bytes();
    assert!(small.len() < 1300, "{}", small.len());
    let t = feed_one(&mut esrp(), TransportKind::Udp, app_nat(), &small);
    assert_eq!(t.transport, TransportKind::Udp);
    assert_eq!(vias(&parse(&t.bytes))[0].transport, "UDP");
}

/// A UDP datagram may omit Content-Length (RFC 3261 18.3); once the proxy moves the request to
/// TCP the length is mandatory, or the next hop cannot frame it.
#[test]
fn large_udp_request_without_content_length_is_framed_on_tcp() {
    let body = vec![b'x'; 1500];
    let req = RequestBuilder::new(Method::Message, "urn:service:sos")
        .via(&Via::new("UDP", "192.0.2.10", 5062, "z9hG4bKnocl"))
        .from(&NameAddr::new("sip:app@provider.example").with_param("tag", Some("a")))
        .to(&NameAddr::new("urn:service:sos"))
        .call_id("nocl")
        .cseq(1)
        .max_forwards(70)
        .body("text/plain; charset=utf-8", body.clone())
        .without_content_length()
        .build();
    let t = feed_one(&mut esrp(), TransportKind::Udp, bcf_addr(), &req.to_bytes());
    assert_eq!(t.transport, TransportKind::Tcp);
    let mut f = StreamFramer::new(MAX_MESSAGE_SIZE);
    f.push(&t.bytes);
    let framed = f.next_message().unwrap().unwrap();
    assert_eq!(parse(&framed).body, body);
    assert!(f.next_message().is_none());
}

// ---------------------------------------------------------------------------------------------
// IPv6 (RFC 3261 20.42 / RFC 5118: IPv6 sent-by is an IPv6reference in brackets)

#[test]
fn ipv6_proxy_writes_a_valid_via_and_recognises_it_in_responses() {
    let local = addr("[2001:db8::2]:5070");
    let mut esrp = esrp_at(local);
    let req = emergency("urn:service:sos", "z9hG4bKv6", &[], false);
    let from = addr("[2001:db8::1]:5060");
    let t = feed_one(&mut esrp, TransportKind::Udp, from, &req.to_bytes());
    let out = parse(&t.bytes);
    let v = vias(&out);
    assert_eq!(v[0].host, "[2001:db8::2]");
    assert_eq!(v[0].port, Some(5070));
    assert_eq!(v[1].received(), Some("2001:db8::1"));
    let resp = ResponseBuilder::for_request(&out, 200, "OK", Some("t"))
        .build()
        .to_bytes();
    let back = feed_one(&mut esrp, TransportKind::Udp, psap_addr(), &resp);
    assert_eq!(back.remote, from);
}

// ---------------------------------------------------------------------------------------------
// Robustness: RFC 4475 torture messages and truncations

const RFC4475: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/ref/rfc4475");

/// The message with its Request-URI replaced by `urn:service:sos`, so that it is routable and
/// goes through policing / retargeting (every RFC 4475 Request-URI is a domain name, which the
/// reference proxies answer with 404). `None` if the first line has no second space.
fn with_sos_uri(bytes: &[u8]) -> Option<Vec<u8>> {
    let eol = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let line = &bytes[..eol];
    let a = line.iter().position(|&b| b == b' ')?;
    let b = a + 1 + line[a + 1..].iter().position(|&b| b == b' ')?;
    if line.starts_with(b"SIP/") {
        return None;
    }
    let mut out = bytes[..=a].to_vec();
    out.extend_from_slice(b"urn:service:sos");
    out.extend_from_slice(&bytes[b..]);
    Some(out)
}

fn torture_files() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(RFC4475)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sip"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "{} .sip files", files.len());
    let mut out = Vec::new();
    for f in files {
        let name = f.file_stem().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&f).unwrap();
        if let Some(sos) = with_sos_uri(&bytes) {
            out.push((format!("{name}+sos"), sos));
        }
        out.push((name, bytes));
    }
    out
}

fn torture_inputs() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    // A small deterministic generator (no dependency): xorshift64*.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |n: usize| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1) as u64) as usize
    };
    for (name, bytes) in torture_files() {
        for _ in 0..16 {
            let cut = next(bytes.len() + 1);
            out.push((format!("{name}[..{cut}]"), bytes[..cut].to_vec()));
        }
        // Cuts at every line end (truncated headers, missing blank line, short body).
        for (i, _) in bytes.iter().enumerate().filter(|(_, &b)| b == b'\n') {
            out.push((format!("{name}[..={i}]"), bytes[..=i].to_vec()));
        }
        // Flipped bits.
        for _ in 0..4 {
            let mut flipped = bytes.clone();
            if !flipped.is_empty() {
                let i = next(flipped.len());
                flipped[i] ^= 1 << next(8);
            }
            out.push((format!("{name}~flip"), flipped));
        }
        out.push((name, bytes));
    }
    out
}

#[test]
fn rfc4475_torture_messages_and_truncations_are_all_accounted_for() {
    let inputs = torture_inputs();
    for (role, mut p) in [("BCF", bcf()), ("ESRP", esrp())] {
        let mut transmits = 0u64;
        for (name, bytes) in &inputs {
            let before = p.stats();
            let out = feed(&mut p, TransportKind::Udp, app_nat(), bytes);
            let after = p.stats();
            assert_eq!(
                total(after),
                total(before) + 1,
                "{role} {name}: not counted once"
            );
            assert!(out.len() <= 1, "{role} {name}: {} transmits", out.len());
            transmits += out.len() as u64;
            let Some(t) = out.first() else {
                assert_eq!(after.dropped, before.dropped + 1, "{role} {name}");
                continue;
            };
            let m = parse(&t.bytes);
            match m.status() {
                // Our own answer: an error, never 503, back to where it came from.
                Some(code) if after.rejected > before.rejected => {
                    assert!(
                        (400..=699).contains(&code) && code != 503,
                        "{role} {name}: {code}"
                    );
                    assert_eq!(t.remote.ip(), app_nat().ip(), "{role} {name}");
                }
                Some(_) => assert_eq!(after.responses_forwarded, before.responses_forwarded + 1),
                None => {
                    assert_eq!(after.requests_forwarded, before.requests_forwarded + 1);
                    let via = Via::parse(m.header_values("Via").next().unwrap()).unwrap();
                    assert_eq!(via.port, Some(p.config_mut().local.port()), "{role} {name}");
                    let mf: u32 = m.header("Max-Forwards").unwrap().parse().unwrap();
                    assert!(mf < 255, "{role} {name}");
                }
            }
        }
        let s = p.stats();
        assert_eq!(s.received, inputs.len() as u64, "{role}: {s:?}");
        assert_eq!(total(s), inputs.len() as u64, "{role}: {s:?}");
        assert_eq!(
            s.requests_forwarded + s.responses_forwarded + s.rejected,
            transmits
        );
        assert!(
            s.dropped > 0 && s.rejected > 0 && s.requests_forwarded > 0,
            "{role}: {s:?}"
        );
        let _ = p.take_notes();
        let _ = p.take_wire();
    }
}

/// RFC 4475 3.1.2 messages that must be rejected are never forwarded: answered with 400 or
/// dropped (unframeable). Header-level defects are also checked with a routable Request-URI, so
/// that only the defect can stop them.
#[test]
fn rfc4475_invalid_requests_are_answered_not_forwarded() {
    let files = torture_files();
    for name in [
        "badinv01+sos",
        "clerr+sos",
        "ncl+sos",
        "scalar02+sos",
        "quotbal+sos",
        "baddn+sos",
        "mismatch01+sos",
        "insuf+sos",
        "regbadct+sos",
        "badaspec+sos",
        "ltgtruri",
        "lwsruri",
        "lwsstart",
        "trws",
        "escruri",
        "badvers",
        "bigcode",
    ] {
        let bytes = &files.iter().find(|(n, _)| n == name).unwrap().1;
        for mut p in [bcf(), esrp()] {
            let out = feed(&mut p, TransportKind::Udp, app_nat(), bytes);
            let s = p.stats();
            assert_eq!(s.requests_forwarded, 0, "{name} was forwarded");
            assert_eq!(total(s), 1, "{name}");
            if let Some(t) = out.first() {
                assert_eq!(parse(&t.bytes).status(), Some(400), "{name}");
            }
        }
    }
    // And the valid ones with a routable Request-URI are forwarded by both.
    for name in [
        "intmeth+sos",
        "esc01+sos",
        "lwsdisp+sos",
        "longreq+sos",
        "mpart01+sos",
        "inv2543+sos",
    ] {
        let bytes = &files.iter().find(|(n, _)| n == name).unwrap().1;
        for mut p in [bcf(), esrp()] {
            let out = feed(&mut p, TransportKind::Udp, app_nat(), bytes);
            assert_eq!(
                p.stats().requests_forwarded,
                1,
                "{name}: {:?}",
                p.take_notes()
            );
            assert!(parse(&out[0].bytes).status().is_none());
        }
    }
}

#[test]
fn split_list_sanity_for_the_callinfo_line() {
    // The second Call-Info line carries two values; the proxy must not split or re-join it.
    let req = emergency("urn:service:sos", "z9hG4bKci", &[], false);
    let line = req.headers_named("Call-Info").nth(1).unwrap();
    assert_eq!(split_list(line).count(), 2);
}

// ---------------------------------------------------------------------------------------------
// 6.1.2.5: a waiting queue is served in priority order

/// Feeds `msgs` at `t0` to a BCF that serves one request per millisecond, then advances time
/// until the queue is empty; returns the Call-IDs in the order they were forwarded.
fn served_order(faults: ProxyFaults, msgs: &[SipMessage]) -> Vec<String> {
    let mut p = bcf();
    p.config_mut().faults = faults;
    p.set_capacity(Some(Duration::from_millis(1)));
    let t0 = Instant::now();
    let mut out = Vec::new();
    for m in msgs {
        p.handle_input(
            t0,
            Incoming {
                transport: TransportKind::Udp,
                remote: app_nat(),
                local: bcf_addr(),
                bytes: m.to_bytes(),
            },
        );
        out.extend(std::iter::from_fn(|| p.poll_transmit()));
    }
    let mut guard = 0;
    while let Some(at) = p.poll_timeout() {
        p.handle_timeout(at);
        out.extend(std::iter::from_fn(|| p.poll_transmit()));
        guard += 1;
        assert!(guard < 100, "queue does not drain");
    }
    assert_eq!(p.queued(), 0);
    out.iter()
        .map(|t| parse(&t.bytes).call_id().unwrap().to_string())
        .collect()
}

#[test]
fn under_a_burst_emergency_and_critical_traffic_overtakes_unmarked_and_esnet_0() {
    // A burst: callbacks marked esnet.0, unmarked requests, then emergency calls (policed to
    // esnet.1) and a critical one (esnet.2 on a non-emergency request).
    let mut msgs = Vec::new();
    for i in 0..3 {
        let mut m = callback(&[("Resource-Priority", "esnet.0")]);
        m.set_header("Call-ID", format!("cb-{i}"));
        m.set_header(
            "Via",
            format!("SIP/2.0/UDP 10.0.0.3:5080;branch=z9hG4bKcb{i}"),
        );
        msgs.push(m);
        let mut m = callback(&[]);
        m.set_header("Call-ID", format!("plain-{i}"));
        m.set_header(
            "Via",
            format!("SIP/2.0/UDP 10.0.0.3:5080;branch=z9hG4bKpl{i}"),
        );
        msgs.push(m);
    }
    for i in 0..3 {
        let mut m = small_emergency(&format!("z9hG4bKem{i}"));
        m.set_header("Call-ID", format!("sos-{i}"));
        msgs.push(m);
    }
    let mut critical = callback(&[("Resource-Priority", "esnet.2")]);
    critical.set_header("Call-ID", "critical");
    critical.set_header("Via", "SIP/2.0/UDP 10.0.0.3:5080;branch=z9hG4bKcrit");
    msgs.push(critical);

    let order = served_order(ProxyFaults::default(), &msgs);
    // The first request is served on arrival; the rest wait and go by priority, then arrival.
    assert_eq!(
        order,
        [
            "cb-0", "critical", "sos-0", "sos-1", "sos-2", "cb-1", "cb-2", "plain-0", "plain-1",
            "plain-2"
        ],
    );
    // The fault serves them in arrival order.
    let fifo = served_order(ProxyFaults::by_name("bcf-fifo").unwrap().1, &msgs);
    let arrival: Vec<String> = msgs
        .iter()
        .map(|m| m.call_id().unwrap().to_string())
        .collect();
    assert_eq!(fifo, arrival);
}

// ---------------------------------------------------------------------------------------------
// Location-based routing (LoST via the driver): the ESRP parks the request, emits a lookup and
// resumes on `lookup_done`.

mod location_routing {
    use super::*;
    use lmpe_reference::proxy::{
        LocationRouting, LookupError, LookupRequest, PidfOrUri, RouteDecision,
    };

    const LOST_PSAP: &str = "sip:psap-b@10.0.0.9:5099";

    fn esrp_with_lookup(cfg: LocationRouting) -> Proxy {
        let mut p = esrp();
        p.set_location_routing(Some(cfg));
        p
    }

    /// Feeds the APP's start; expects nothing sent yet and one lookup.
    fn start(p: &mut Proxy, branch: &str) -> (Vec<u8>, LookupRequest) {
        let bytes = emergency("urn:service:sos.fire", branch, &[], false).to_bytes();
        let out = feed(p, TransportKind::Udp, app_addr(), &bytes);
        assert!(out.is_empty(), "the request waits for its lookup: {out:?}");
        assert_eq!(p.pending_lookups(), 1);
        let l = p.poll_lookup().expect("a lookup request");
        assert!(p.poll_lookup().is_none());
        (bytes, l)
    }

    #[test]
    fn lookup_carries_service_and_pidf_by_value_and_the_answer_routes() {
        let mut p = esrp_with_lookup(LocationRouting::default());
        let (_, l) = start(&mut p, "z9hG4bKloc1");
        assert_eq!(l.service, "urn:service:sos.fire");
        let PidfOrUri::Pidf(pidf) = &l.location else {
            panic!("{l:?}")
        };
        assert!(pidf.contains("48.2 16.37"), "{pidf}");
        assert_eq!(
            l.identity.as_deref(),
            Some("sip:+43123456789@provider.example")
        );
        p.lookup_done(
            Instant::now(),
            l.id,
            Ok(RouteDecision {
                uri: LOST_PSAP.into(),
            }),
        );
        let out: Vec<Transmit> = std::iter::from_fn(|| p.poll_transmit()).collect();
        assert_eq!(out.len(), 1);
        // Not the static route (sos.fire -> fire PSAP): the ECRF's answer.
        assert_eq!(out[0].remote, addr("10.0.0.9:5099"));
        let fwd = parse(&out[0].bytes);
        assert_eq!(fwd.request_uri(), Some(LOST_PSAP));
        let hi = HistoryInfo::from_message(&fwd).unwrap().unwrap();
        assert!(hi
            .entries
            .iter()
            .any(|e| e.target.starts_with("urn:service:sos.fire")));
        assert_eq!(p.pending_lookups(), 0);
        assert_eq!(total(p.stats()), 1);
    }

    #[test]
    fn location_by_reference_is_passed_as_a_uri() {
        let mut p = esrp_with_lookup(LocationRouting::default());
        let mut m = small_emergency("z9hG4bKref");
        m.set_header("Geolocation", "<http://10.0.0.7:8080/loc/abc>");
        let out = feed(&mut p, TransportKind::Udp, app_addr(), &m.to_bytes());
        assert!(out.is_empty());
        let l = p.poll_lookup().unwrap();
        assert_eq!(
            l.location,
            PidfOrUri::Uri("http://10.0.0.7:8080/loc/abc".into())
        );
    }

    #[test]
    fn not_found_is_404_and_failures_are_500_never_503() {
        let mut p = esrp_with_lookup(LocationRouting::default());
        let (_, l) = start(&mut p, "z9hG4bKnf");
        p.lookup_done(
            Instant::now(),
            l.id,
            Err(LookupError::NotFound("no area".into())),
        );
        let r = parse(&p.poll_transmit().unwrap().bytes);
        assert_eq!(r.status(), Some(404));
        let (_, l) = start(&mut p, "z9hG4bKfail");
        p.lookup_done(
            Instant::now(),
            l.id,
            Err(LookupError::Failed("not XML".into())),
        );
        let r = parse(&p.poll_transmit().unwrap().bytes);
        assert_eq!(r.status(), Some(500));
        assert!(r.header("Warning").unwrap().contains("not XML"));
        // A late answer for a request already answered is ignored.
        p.lookup_done(
            Instant::now(),
            l.id,
            Ok(RouteDecision {
                uri: LOST_PSAP.into(),
            }),
        );
        assert!(p.poll_transmit().is_none());
        assert_eq!(total(p.stats()), 2);
    }

    #[test]
    fn a_failed_lookup_takes_the_default_route_when_configured() {
        let mut p = esrp_with_lookup(LocationRouting {
            default_route: true,
            ..LocationRouting::default()
        });
        let (_, l) = start(&mut p, "z9hG4bKdef");
        p.lookup_done(
            Instant::now(),
            l.id,
            Err(LookupError::Failed("HTTP 500".into())),
        );
        let t = p.poll_transmit().unwrap();
        assert_eq!(t.remote, fire_psap_addr());
        assert_eq!(parse(&t.bytes).request_uri(), Some(FIRE_PSAP_URI));
    }

    #[test]
    fn lookups_time_out_and_are_bounded() {
        let mut p = esrp_with_lookup(LocationRouting {
            timeout: Duration::from_millis(100),
            max_pending: 1,
            ..LocationRouting::default()
        });
        let t0 = Instant::now();
        let (_, _l) = start(&mut p, "z9hG4bKto1");
        // A second request while one waits: over the bound, answered at once with 500.
        let bytes = emergency("urn:service:sos", "z9hG4bKto2", &[], false).to_bytes();
        let out = feed(&mut p, TransportKind::Udp, app_addr(), &bytes);
        assert_eq!(out.len(), 1);
        assert_eq!(parse(&out[0].bytes).status(), Some(500));
        let due = p.poll_timeout().expect("a lookup deadline");
        assert!(due <= t0 + Duration::from_millis(200));
        p.handle_timeout(due + Duration::from_millis(1));
        let r = parse(&p.poll_transmit().unwrap().bytes);
        assert_eq!(r.status(), Some(500));
        assert_eq!(p.pending_lookups(), 0);
        assert!(p.poll_timeout().is_none());
    }

    #[test]
    fn without_location_the_static_route_is_the_default() {
        let mut p = esrp_with_lookup(LocationRouting::default());
        let t = feed_one(
            &mut p,
            TransportKind::Udp,
            app_addr(),
            &small_emergency("z9hG4bKnoloc").to_bytes(),
        );
        assert_eq!(t.remote, psap_addr());
        assert!(p.poll_lookup().is_none());
    }

    #[test]
    fn faults_ignore_location_and_503_on_failure() {
        let mut p = esrp_with_lookup(LocationRouting::default());
        p.config_mut().faults = ProxyFaults::by_name("esrp-ignores-location").unwrap().1;
        let bytes = emergency("urn:service:sos", "z9hG4bKign", &[], false).to_bytes();
        let t = feed_one(&mut p, TransportKind::Udp, app_addr(), &bytes);
        assert_eq!(t.remote, psap_addr());
        let mut p = esrp_with_lookup(LocationRouting::default());
        p.config_mut().faults = ProxyFaults::by_name("esrp-lookup-failure-503").unwrap().1;
        let (_, l) = start(&mut p, "z9hG4bK503");
        p.lookup_done(Instant::now(), l.id, Err(LookupError::Failed("x".into())));
        assert_eq!(parse(&p.poll_transmit().unwrap().bytes).status(), Some(503));
    }
}
