//! Steps where the routing elements (BCF, ESRP) are the IUT: the harness plays the APP in front
//! and the PSAP behind, and compares what left the APP with what reached the PSAP.

use cucumber::{given, then, when};
use lmpe_wire::headers::HistoryInfo;
use lmpe_wire::lmpe::MessageType;
use lmpe_wire::multipart::Part;
use lmpe_wire::sip::SipMessage;

use crate::world::{inconclusive, LmpeWorld};

#[given("the harness plays the PSAP behind the ESRP")]
async fn harness_psap(w: &mut LmpeWorld) {
    w.harness_psap = true;
}

#[given(expr = "the APP marks its messages with Resource-Priority {string}")]
async fn app_priority(w: &mut LmpeWorld, value: String) {
    w.app_headers.push(("Resource-Priority".into(), value));
}

/// The request header fields of TS 103 698 Table 2 ("accepted SIP headers"). Left out, with
/// reasons: Content-Encoding (it would change how the body must be read), Require and
/// Proxy-Require (an element may rightly answer 420 to an option it does not support, RFC 3261
/// 8.2.2.3 / 16.3), and the response-only fields (Server, Unsupported, Warning, Error-Info,
/// Retry-After, WWW-Authenticate, Proxy-Authenticate, Authentication-Info).
const ACCEPTED_REQUEST_HEADERS: &[(&str, &str)] = &[
    ("Accept-Contact", "*;text"),
    ("Accept", "text/plain, application/pidf+xml, multipart/mixed"),
    ("Accept-Encoding", "identity"),
    ("Content-Language", "de"),
    ("Accept-Language", "de, en;q=0.8"),
    ("Allow", "MESSAGE, OPTIONS"),
    ("Expires", "3600"),
    ("Subject", "Emergency chat"),
    ("Priority", "emergency"),
    ("Date", "Sat, 21 Nov 2026 10:00:00 GMT"),
    ("Timestamp", "54.12"),
    ("Organization", "lmpe-harness"),
    ("User-Agent", "lmpe-harness/0.1"),
    ("Authorization", "Digest username=\"app\", realm=\"esinet.test\", nonce=\"84a4cc6f\", uri=\"urn:service:sos\", response=\"7587245234b3434cc3412213e5f113a5\""),
    ("Proxy-Authorization", "Digest username=\"app\", realm=\"provider.test\", nonce=\"c60f3082\", uri=\"urn:service:sos\", response=\"3a9f1c2b7e4d5a6b8c9d0e1f2a3b4c5d\""),
    ("In-Reply-To", "70710@saturn.bell-tel.com"),
    ("Resource-Priority", "esnet.1"),
];

#[given("the APP adds every request header field of Table 2 to its messages")]
async fn app_accepted_headers(w: &mut LmpeWorld) {
    w.app_headers.extend(
        ACCEPTED_REQUEST_HEADERS
            .iter()
            .map(|(n, v)| ((*n).to_string(), (*v).to_string())),
    );
}

#[given(expr = "the APP includes the DID {string}")]
async fn app_did(w: &mut LmpeWorld, did: String) {
    w.app_headers.push((
        "Call-Info".into(),
        format!("<{did}>;purpose={}", lmpe_wire::lmpe::PURPOSE_DID),
    ));
}

#[given("the APP attaches an image, a vCard and an eCall MSD to its messages")]
async fn app_parts(w: &mut LmpeWorld) {
    let jpeg: Vec<u8> = [
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01,
    ]
    .into_iter()
    .chain((0..=255u8).cycle().take(300))
    .chain([0xFF, 0xD9])
    .collect();
    let vcard = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Erika Mustermann\r\nTEL;TYPE=cell:+43 660 1234567\r\nEND:VCARD\r\n";
    let msd: Vec<u8> = vec![
        0x01, 0x4C, 0x00, 0x8E, 0x00, 0x00, 0x2A, 0x17, 0x05, 0xC0, 0x00, 0xFF,
    ];
    w.app_parts = vec![
        Part::new("image/jpeg", jpeg).with_content_id("photo1@app.harness.test"),
        Part::new("text/vcard; charset=utf-8", vcard.as_bytes()),
        Part::new("application/emergencyCallData.eCall.MSD", msd)
            .with_header("Content-Disposition", "by-reference"),
    ];
}

/// The APP's start/257 as sent and as received by the harness PSAP.
async fn start_pair(w: &mut LmpeWorld, clause: &str) -> (SipMessage, SipMessage) {
    let (sent, received) = w.sent_and_received(MessageType::START).await;
    let Some(sent) = sent else {
        inconclusive!("the APP sent no start/257")
    };
    let Some(received) = received else {
        panic!(
            "TS 103 698 {clause}: the ESInet routes the APP's start/257 to the PSAP; nothing reached the PSAP within {} ms",
            w.run.response_timeout.as_millis()
        )
    };
    (sent, received)
}

fn cite(clause: &str, expectation: &str, detail: &str, msg: &SipMessage) -> ! {
    panic!(
        "TS 103 698 {clause}: {expectation}; {detail}\n--- offending message (as received by the PSAP) ---\n{}",
        msg.to_text()
    )
}

#[then(expr = "the PSAP receives the start with History-Info naming {string} and a Reason")]
async fn history_info(w: &mut LmpeWorld, original: String) {
    let (_, got) = start_pair(w, "6.1.2.6").await;
    let expectation = "an element that retargets adds History-Info with the original intended recipient and the reason";
    let hi = match HistoryInfo::from_message(&got) {
        Ok(Some(h)) => h,
        Ok(None) => cite("6.1.2.6", expectation, "no History-Info header", &got),
        Err(e) => cite(
            "6.1.2.6",
            expectation,
            &format!("History-Info is malformed: {e}"),
            &got,
        ),
    };
    let Some(entry) = hi
        .entries
        .iter()
        .find(|e| e.target.eq_ignore_ascii_case(&original))
    else {
        cite(
            "6.1.2.6",
            expectation,
            &format!("no entry names {original}"),
            &got,
        )
    };
    if entry.reason().is_none() && !hi.entries.iter().any(|e| e.reason().is_some()) {
        cite(
            "6.1.2.6",
            expectation,
            "no entry carries a Reason (RFC 3326)",
            &got,
        );
    }
    let ruri = got.request_uri().unwrap_or_default();
    if hi
        .entries
        .last()
        .is_none_or(|e| !e.target.eq_ignore_ascii_case(ruri))
    {
        cite(
            "6.1.2.6",
            "the last History-Info entry is the current target",
            &format!("Request-URI is {ruri}"),
            &got,
        );
    }
}

#[then("the PSAP receives every Call-Info value the APP sent, unchanged")]
async fn call_info(w: &mut LmpeWorld) {
    let (sent, got) = start_pair(w, "6.1.2.7").await;
    let a: Vec<&str> = sent.header_values("Call-Info").collect();
    let b: Vec<&str> = got.header_values("Call-Info").collect();
    if a != b {
        cite("6.1.2.7", "Call-Info (Call Identifier, Message Identifier, Message Type) reaches the PSAP unchanged", &format!("sent {a:?}, received {b:?}"), &got);
    }
}

#[then("the PSAP receives the APP's body byte for byte, with all its parts")]
async fn body(w: &mut LmpeWorld) {
    let (sent, got) = start_pair(w, "6.1.2.8").await;
    if sent.content_type() != got.content_type() || sent.body != got.body {
        let parts = |m: &SipMessage| {
            lmpe_wire::multipart::body_parts(m)
                .map(|p| {
                    p.iter()
                        .map(|x| x.content_type().unwrap_or("?").to_string())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        cite(
            "6.1.2.8",
            "multipart bodies and additional body content (images, vCards, eCall MSD) pass to the PSAP",
            &format!("sent {} bytes with parts {:?}, received {} bytes with parts {:?}", sent.body.len(), parts(&sent), got.body.len(), parts(&got)),
            &got,
        );
    }
}

#[then(expr = "the PSAP receives Resource-Priority {string}")]
async fn priority(w: &mut LmpeWorld, value: String) {
    let (_, got) = start_pair(w, "6.1.2.5").await;
    let values: Vec<&str> = got.header_values("Resource-Priority").collect();
    if values != [value.as_str()] {
        cite(
            "6.1.2.5",
            &format!(
                "the BCF marks emergency calls with the provisioned Resource-Priority {value}"
            ),
            &format!("received {values:?}"),
            &got,
        );
    }
}

#[given(expr = "an element before the BCF retargeted the APP's start from {string} to {string}")]
async fn upstream_retarget(w: &mut LmpeWorld, from: String, to: String) {
    w.app_headers.push((
        "History-Info".into(),
        format!("<{from}?Reason=SIP%3Bcause%3D302%3Btext%3D%22Emergency%20number%22>;index=1"),
    ));
    w.app_headers
        .push(("History-Info".into(), format!("<{to}>;index=1.1")));
}

#[then("the PSAP receives the upstream History-Info entries unchanged")]
async fn upstream_kept(w: &mut LmpeWorld) {
    let (sent, got) = start_pair(w, "6.1.2.6").await;
    let entries = |m: &SipMessage| -> Vec<String> {
        m.header_values("History-Info")
            .flat_map(|v| v.split(',').map(|e| e.trim().to_string()))
            .collect()
    };
    let upstream = entries(&sent);
    if upstream.is_empty() {
        inconclusive!("the APP's start carried no History-Info");
    }
    let received = entries(&got);
    if !received.starts_with(&upstream) {
        cite(
            "6.1.2.6",
            "ESInet elements handle a History-Info added by any SIP element: received entries are kept as they are",
            &format!("sent {upstream:?}, received {received:?}"),
            &got,
        );
    }
}

#[given(expr = "the BCF is overloaded: it serves one request every {int} ms")]
async fn bcf_overloaded(w: &mut LmpeWorld, ms: u64) {
    w.esinet_opts.bcf_service_interval = Some(std::time::Duration::from_millis(ms));
}

#[when(
    expr = "the APP sends {int} chat messages and starts {int} more emergency chats, all at once"
)]
async fn burst(w: &mut LmpeWorld, chats: usize, starts: usize) {
    let chat = w.chat_id();
    let r = w
        .app(move |a, now| -> Result<(), String> {
            for i in 0..chats {
                a.send_chat(now, &chat, &format!("burst message {i}"))
                    .map_err(|e| e.to_string())?;
            }
            for i in 0..starts {
                a.start_chat(now, "urn:service:sos", &format!("burst emergency {i}"))
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = r {
        inconclusive!("the APP could not send the burst: {e}");
    }
}

#[then(
    regex = r"^the emergency starts reach the PSAP ahead of the unmarked chat messages \(clause 6\.1\.2\.5\)$"
)]
async fn priority_order(w: &mut LmpeWorld) {
    use lmpe_wire::sip::SipParser as _;
    let Some(psap) = w.psap.clone() else {
        inconclusive!("this step needs `Given the harness plays the PSAP behind the ESRP`")
    };
    let deadline = std::time::Instant::now() + w.run.response_timeout * 2;
    // Arrival order at the PSAP of the burst: `true` for a start, `false` for an in-chat.
    let order = loop {
        let records = psap
            .with(|p, _| p.wire_records().to_vec())
            .await
            .unwrap_or_default();
        let kinds: Vec<bool> = records
            .iter()
            .filter(|r| !r.outgoing)
            .filter_map(|r| lmpe_wire::sip::RsipParser::default().parse(&r.bytes).ok())
            .filter(|m| m.is_request())
            .filter_map(|m| {
                let t = lmpe_wire::lmpe::LmpeIds::extract(
                    &m,
                    &lmpe_wire::lmpe::IdentifierProfile::LENIENT,
                )
                .msg_type?;
                let text = lmpe_wire::multipart::body_parts(&m)
                    .ok()?
                    .iter()
                    .find(|p| {
                        p.content_type()
                            .is_some_and(|c| c.starts_with("text/plain"))
                    })
                    .map(|p| String::from_utf8_lossy(&p.body).into_owned())?;
                text.starts_with("burst ")
                    .then_some(t == MessageType::START)
            })
            .collect();
        if kinds.len() >= 20 || std::time::Instant::now() >= deadline {
            break kinds;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    let starts: Vec<usize> = (0..order.len()).filter(|i| order[*i]).collect();
    let chats: Vec<usize> = (0..order.len()).filter(|i| !order[*i]).collect();
    if starts.is_empty() || chats.is_empty() {
        inconclusive!(
            "preamble: {} start(s) and {} chat message(s) of the burst reached the PSAP",
            starts.len(),
            chats.len()
        );
    }
    let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len() as f64;
    if mean(&starts) >= mean(&chats) {
        let seq: String = order.iter().map(|s| if *s { 'S' } else { 'c' }).collect();
        panic!(
            "TS 103 698 6.1.2.5: proxy servers process calls in priority order when a queue is waiting: the emergency starts (esnet.1) overtake unmarked requests; arrival order at the PSAP was {seq} (S = emergency start, c = unmarked chat message, sent all c first)"
        );
    }
}
