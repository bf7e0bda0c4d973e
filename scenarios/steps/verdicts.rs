//! Then: the checks. Each failure names the clause, the expectation and the offending message.

use cucumber::then;
use lmpe_proto::roles::RoleEvent;
use lmpe_proto::session::SessionEvent;
use lmpe_wire::lmpe::MessageType;

use crate::world::{LmpeWorld, Sent};

/// The final status of the last message the scenario sent, waiting up to the response timeout.
async fn last_status(w: &mut LmpeWorld) -> Option<u16> {
    let sent = w.last_sent?;
    let chat = w.chat.clone();
    let wait = w.run.response_timeout;
    let i = w
        .wait_for(wait, |e| match (sent, e) {
            (Sent::Raw(h), RoleEvent::RawAnswered { handle, .. }) => *handle == h,
            (
                Sent::Chat(h),
                RoleEvent::Session {
                    chat: c,
                    event: SessionEvent::Answered { handle, .. },
                },
            ) => Some(c) == chat.as_ref() && *handle == h,
            _ => false,
        })
        .await?;
    match &w.events[i].1 {
        RoleEvent::RawAnswered { status, .. } => Some(*status),
        RoleEvent::Session {
            event: SessionEvent::Answered { status, .. },
            ..
        } => Some(*status),
        _ => None,
    }
}

/// Fails the scenario citing the clause; any unparseable input the SUT sent is appended, since
/// it often explains a missing answer.
pub(crate) fn fail(w: &LmpeWorld, clause: &str, expectation: &str, detail: &str) -> ! {
    fail_text(w, &format!("TS 103 698 {clause}: {expectation}; {detail}"))
}

/// Fails the scenario with a reason that already cites its clause (e.g. a reported violation
/// with its offending message); a crashed element or unparseable input is appended, and a
/// failure of the harness itself gives an inconclusive verdict instead.
pub(crate) fn fail_text(w: &LmpeWorld, reason: &str) -> ! {
    let stopped = w.stopped_elements();
    if stopped.iter().any(|e| e.starts_with("harness")) {
        // The harness itself failed: no verdict on the SUT.
        crate::world::inconclusive!(
            "{} stopped during the scenario (harness error, please report); {reason}",
            stopped.join(", ")
        )
    }
    if !stopped.is_empty() {
        panic!(
            "{reason}\n--- the SUT element(s) {} stopped (crashed) during the scenario ---",
            stopped.join(", ")
        )
    }
    let malformed = w.malformed_inputs();
    if malformed.is_empty() {
        panic!("{reason}")
    }
    panic!(
        "{reason}\n--- unparseable input received from the SUT ---\n{}",
        malformed.join("\n")
    )
}

#[then(regex = r"^the message is answered with 2xx \(clause (\S+)\)$")]
async fn answered_2xx(w: &mut LmpeWorld, clause: String) {
    match last_status(w).await {
        Some(s) if (200..300).contains(&s) => {}
        Some(408) => fail(
            w,
            &clause,
            "the SUT answers the message with 200 OK",
            "no final response (Timer F / response timeout)",
        ),
        Some(s) => fail(
            w,
            &clause,
            "the SUT answers the message with 200 OK",
            &format!("it answered {s}"),
        ),
        None => fail(
            w,
            &clause,
            "the SUT answers the message with 200 OK",
            &format!(
                "no final response within {} ms",
                w.run.response_timeout.as_millis()
            ),
        ),
    }
}

#[then(regex = r"^the message is rejected with a final response other than 503 \(clause (\S+)\)$")]
async fn rejected_not_503(w: &mut LmpeWorld, clause: String) {
    match last_status(w).await {
        Some(503) => fail(
            w,
            &clause,
            "elements do not return 503 unless certain the upstream element copes with it",
            "it answered 503",
        ),
        Some(408) | None => fail(
            w,
            &clause,
            "the element answers with a final response",
            "no final response",
        ),
        Some(s) if (200..300).contains(&s) => fail(
            w,
            &clause,
            "a request that cannot be routed is rejected",
            &format!("it was accepted with {s}"),
        ),
        Some(_) => {}
    }
}

#[then(regex = r"^the message is rejected with a final non-2xx response \(clause (\S+)\)$")]
async fn rejected(w: &mut LmpeWorld, clause: String) {
    match last_status(w).await {
        Some(408) | None => fail(
            w,
            &clause,
            "the SUT rejects the invalid or out-of-order message with a final response",
            "no final response: the SUT neither accepted nor rejected it",
        ),
        Some(s) if (200..300).contains(&s) => fail(
            w,
            &clause,
            "the SUT does not accept a message that is invalid or out of order for the session",
            &format!("it was accepted with {s}"),
        ),
        Some(_) => {}
    }
}

fn psap_messages(w: &LmpeWorld, t: MessageType) -> usize {
    let chat = w.chat.clone();
    w.events
        .iter()
        .filter(|(_, e)| matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Received { msg_type, .. } } if Some(c) == chat.as_ref() && *msg_type == t))
        .count()
}

async fn expect_psap_message(w: &mut LmpeWorld, t: MessageType, clause: &'static str, nth: usize) {
    let chat = w.chat_id();
    let wait = w.run.response_timeout;
    let mut count = psap_messages(w, t);
    let deadline = std::time::Instant::now() + wait;
    while count < nth && std::time::Instant::now() < deadline {
        let _ = w
            .wait_for(deadline.saturating_duration_since(std::time::Instant::now()), |e| {
                matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Received { msg_type, .. } } if *c == chat && *msg_type == t)
            })
            .await;
        count = psap_messages(w, t);
    }
    let v = w.violations(&[clause, "6.1.2.7"]);
    if !v.is_empty() {
        panic!("{}", v.join("\n\n"));
    }
    if count < nth {
        fail(
            w,
            clause,
            &format!("the PSAP sends {t} to the APP"),
            &format!(
                "{count} received within {} ms, expected {nth}",
                wait.as_millis()
            ),
        );
    }
}

#[then(regex = r"^the PSAP answers with its own start/257 \(clause 6\.2\.2\)$")]
async fn psap_start(w: &mut LmpeWorld) {
    expect_psap_message(w, MessageType::START, "6.2.2", 1).await;
    let chat = w.chat_id();
    if !w.saw(|e| matches!(e, SessionEvent::Established { .. })) {
        let v = w.violations(&["6.2.2"]);
        fail(
            w,
            "6.2.2",
            "the PSAP's start/257 establishes the session (Reply-To, Call Identifier)",
            &format!("chat {chat} not established. {}", v.join("\n")),
        );
    }
}

#[then(regex = r"^the PSAP replies with in-chat/259 \(clause 6\.2\.3\)$")]
async fn psap_in_chat(w: &mut LmpeWorld) {
    let n = w.in_chats_sent.max(1);
    expect_psap_message(w, MessageType::IN_CHAT, "6.2.3", n).await;
}

#[then(expr = "the PSAP has replied {int} times with increasing Message Identifiers")]
async fn psap_in_chat_n(w: &mut LmpeWorld, n: usize) {
    expect_psap_message(w, MessageType::IN_CHAT, "6.2.3", n).await;
}

#[then(regex = r"^the PSAP terminates the chat with stop/258 \(clause 6\.2\.4\)$")]
async fn psap_stop(w: &mut LmpeWorld) {
    expect_psap_message(w, MessageType::STOP, "6.2.4", 1).await;
}

#[then(expr = "the PSAP sends at least {int} heartbeats within {int} ms")]
async fn psap_heartbeats(w: &mut LmpeWorld, n: usize, ms: u64) {
    let chat = w.chat_id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    let count = |w: &LmpeWorld| {
        w.events.iter().filter(|(_, e)| matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Heartbeat { .. } } if *c == chat)).count()
    };
    while count(w) < n && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        w.collect().await;
    }
    let v = w.violations(&["6.2.5"]);
    if !v.is_empty() {
        panic!("{}", v.join("\n\n"));
    }
    let got = count(w);
    if got < n {
        fail(
            w,
            "6.2.5",
            "a PSAP that sends keep-alives sends them periodically",
            &format!("{got} PSAP heartbeats within {ms} ms, expected {n}"),
        );
    }
}

#[then(regex = r"^the PSAP sends no start/257 for it within (\d+) ms \(clause (\S+)\)$")]
async fn no_start(w: &mut LmpeWorld, ms: u64, clause: String) {
    let before = w.events.iter().filter(|(_, e)| matches!(e, RoleEvent::Unmatched { summary, .. } if summary.starts_with("MESSAGE"))).count();
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    w.collect().await;
    let after: Vec<String> = w
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            RoleEvent::Unmatched {
                summary, reason, ..
            } if summary.starts_with("MESSAGE") => Some(format!("{summary}: {reason}")),
            _ => None,
        })
        .collect();
    if after.len() > before {
        fail(
            w,
            &clause,
            "the PSAP opens no chat for an invalid start/257",
            &format!("it sent a message for it: {}", after.join("; ")),
        );
    }
}

#[then("no violation of TS 103 698 was observed")]
async fn clean(w: &mut LmpeWorld) {
    w.collect().await;
    let v: Vec<String> = w
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            RoleEvent::Violation {
                violation, message, ..
            } => Some(format!("{violation}\n--- offending message ---\n{message}")),
            _ => None,
        })
        .collect();
    if !v.is_empty() {
        panic!("{}", v.join("\n\n"));
    }
}

#[then(regex = r"^the message is answered with (\d{3}) \(clause (\S+)\)$")]
async fn answered_with(w: &mut LmpeWorld, expected: u16, clause: String) {
    match last_status(w).await {
        Some(s) if s == expected => {}
        Some(s) => fail(
            w,
            &clause,
            &format!("the SUT answers {expected}"),
            &format!("it answered {s}"),
        ),
        None => fail(
            w,
            &clause,
            &format!("the SUT answers {expected}"),
            "no final response",
        ),
    }
}

#[then(
    regex = r"^the PSAP closes the test chat with its name, the service URN and the location \(clause 6\.1\.2\.10\)$"
)]
async fn test_call_closed(w: &mut LmpeWorld) {
    let chat = w.chat_id();
    let wait = w.run.response_timeout;
    let closed = w
        .wait_for(wait, |e| {
            matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Received { msg_type, .. } } if *c == chat && *msg_type == MessageType::STOP)
        })
        .await;
    let v = w.violations(&["6.1.2.10", "6.2.4", "6.1.2.7"]);
    if !v.is_empty() {
        panic!("{}", v.join("\n\n"));
    }
    if closed.is_none() {
        fail(
            w,
            "6.1.2.10",
            "a PSAP that accepts a test returns an automatic MESSAGE that closes the chat at once",
            &format!("no stop/258 within {} ms", wait.as_millis()),
        );
    }
}

/// Collects APP events until `done` holds or the response timeout passes; returns `done`.
async fn wait_until(w: &mut LmpeWorld, done: impl Fn(&LmpeWorld) -> bool) -> bool {
    let deadline = std::time::Instant::now() + w.run.response_timeout;
    while !done(w) && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        w.collect().await;
    }
    done(w)
}

/// Index of the Redirected event of the current chat, waiting up to the response timeout.
async fn redirected_at(w: &mut LmpeWorld) -> Option<usize> {
    let chat = w.chat_id();
    let wait = w.run.response_timeout;
    w.wait_for(wait, |e| {
        matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Redirected { .. } } if *c == chat)
    })
    .await
}

#[then(
    regex = r"^the PSAP redirects the chat with stop\|redirect/274 naming the target \(clause 6\.2\.7\)$"
)]
async fn psap_redirects(w: &mut LmpeWorld) {
    let at = redirected_at(w).await;
    let v = w.violations(&["6.2.7", "6.1.2.7"]);
    if !v.is_empty() {
        panic!("{}", v.join("\n\n"));
    }
    if at.is_none() {
        fail(
            w,
            "6.2.7",
            "the PSAP sends stop|redirect/274 with the redirect target in Reply-To",
            "no redirect within the response timeout",
        );
    }
}

#[then(regex = r"^the new PSAP answers start\|redirect/273 with start/257 \(clause 6\.2\.7\)$")]
async fn new_psap_starts(w: &mut LmpeWorld) {
    let Some(at) = redirected_at(w).await else {
        crate::world::inconclusive!("preamble: the chat was not redirected (6.2.7)")
    };
    let chat = w.chat_id();
    let wait = w.run.response_timeout;
    let established = wait_until(w, |w| {
        w.events[at..].iter().any(|(_, e)| matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Established { .. } } if *c == chat))
    })
    .await;
    let v = w.violations(&["6.2.7", "6.2.2", "6.1.2.7"]);
    if !v.is_empty() {
        panic!("{}", v.join("\n\n"));
    }
    if !established {
        fail(w, "6.2.7", "the new PSAP answers start|redirect/273 with 200 OK and its own start/257 with Reply-To", &format!("no start/257 from the redirect target within {} ms", wait.as_millis()));
    }
}

#[then(regex = r"^the new PSAP replies with in-chat/259 \(clause 6\.2\.3\)$")]
async fn new_psap_replies(w: &mut LmpeWorld) {
    let Some(at) = redirected_at(w).await else {
        crate::world::inconclusive!("preamble: the chat was not redirected (6.2.7)")
    };
    let chat = w.chat_id();
    let replied = wait_until(w, |w| {
        w.events[at..].iter().any(|(_, e)| matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Received { msg_type, .. } } if *c == chat && *msg_type == MessageType::IN_CHAT))
    })
    .await;
    let v = w.violations(&["6.2.3", "6.1.2.7"]);
    if !v.is_empty() {
        panic!("{}", v.join("\n\n"));
    }
    if !replied {
        fail(
            w,
            "6.2.3",
            "the new PSAP continues the chat in session mode",
            "no in-chat/259 from the redirect target",
        );
    }
}

#[then(
    regex = r"^the PSAP's messages to the APP carry Resource-Priority esnet\.0 \(clause 6\.1\.2\.5\)$"
)]
async fn callback_priority(w: &mut LmpeWorld) {
    use lmpe_wire::sip::SipParser as _;
    let records = w.app(|a, _| a.wire_records().to_vec()).await;
    let psap_msgs: Vec<lmpe_wire::sip::SipMessage> = records
        .iter()
        .filter(|r| !r.outgoing)
        .filter_map(|r| lmpe_wire::sip::RsipParser::default().parse(&r.bytes).ok())
        .filter(|m| m.is_request())
        .collect();
    if psap_msgs.is_empty() {
        crate::world::inconclusive!("preamble: no PSAP message reached the APP");
    }
    for m in &psap_msgs {
        let values: Vec<&str> = m.header_values("Resource-Priority").collect();
        if values != ["esnet.0"] {
            fail_text(
                w,
                &format!(
                    "TS 103 698 6.1.2.5: PSAP callbacks during handling of an incident use Resource-Priority esnet.0; this PSAP message has {values:?}\n--- offending message ---\n{}",
                    m.to_text()
                ),
            );
        }
    }
}
