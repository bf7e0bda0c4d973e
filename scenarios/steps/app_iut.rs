//! Steps where the APP is the IUT: the harness plays the APP's BCF and PSAP (one PSAP role,
//! which also answers as the redirect target) and checks what the APP sends and answers.
//! Against the embedded defaults the APP under test is the harness's reference APP (with
//! `--inject-fault app-…` a deliberately broken one); against a target file with `[app]` it is
//! a real APP that a person operates when prompted.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cucumber::{given, then, when};
use lmpe_net::{spawn_endpoint, SipSocketConfig};
use lmpe_proto::roles::{AppConfig, AppRole, RoleEvent};
use lmpe_proto::session::{ChatParams, SessionEvent};
use lmpe_proto::ua::UaConfig;
use lmpe_wire::lmpe::MessageType;
use lmpe_wire::sip::{SipMessage, SipParser as _};

use super::verdicts::{fail, fail_text};
use crate::world::{inconclusive, skip, LmpeWorld};

/// Where the harness PSAP listens and how long a person may take to act on the APP.
fn setup(w: &LmpeWorld) -> (SocketAddr, Option<Duration>) {
    match &w.run.target {
        None => (SocketAddr::from(([127, 0, 0, 1], 0)), None),
        Some(t) => match &t.app {
            Some(a) => (
                a.harness_listen,
                Some(Duration::from_secs_f64(a.operator_timeout_s)),
            ),
            None => skip!("needs an APP under test: add [app] to the target file"),
        },
    }
}

/// Starts the harness PSAP (and, with the embedded defaults, the reference APP under test).
async fn ensure(w: &mut LmpeWorld) {
    if w.psap.is_some() {
        return;
    }
    let (listen, _) = setup(w);
    let psap = w.start_harness_psap(listen).await;
    let addr = psap.local_addr();
    let _ = psap
        .with(move |p, _| {
            p.set_app_checks(true);
            p.set_reply_to(&format!("sip:psap@{addr}"));
        })
        .await;
    if w.run.target.is_some() {
        return;
    }
    let params = ChatParams {
        profile: w.run.profile.clone(),
        heartbeat_interval: Some(w.iut_heartbeat.unwrap_or(Duration::from_secs(20))),
        peer_heartbeat_limit: w.run.heartbeat_limit,
        psap_start_timeout: w.run.response_timeout,
    };
    let app = AppRole::new(AppConfig {
        user: "app-under-test".into(),
        element_id: "app.reference.test".into(),
        outbound: (lmpe_proto::endpoint::TransportKind::Udp, addr),
        params,
        location: (48.198_6, 16.369_1),
        extra_headers: Vec::new(),
        extra_parts: Vec::new(),
        ua: UaConfig::new(SocketAddr::from(([127, 0, 0, 1], 0))),
    });
    let handle = match spawn_endpoint(app, SipSocketConfig::loopback()).await {
        Ok(h) => h,
        Err(e) => inconclusive!("the reference APP under test could not bind: {e}"),
    };
    let local = handle.local_addr();
    let faults = w.run.faults.app.clone();
    let _ = handle
        .with(move |a, _| {
            a.set_local(local);
            a.set_faults(faults);
        })
        .await;
    w.iut_app = Some(handle);
}

/// Pulls new harness PSAP events into `psap_events`.
async fn collect(w: &mut LmpeWorld) {
    let Some(psap) = w.psap.clone() else { return };
    let new = psap
        .with(|p, now| {
            let mut v = Vec::new();
            while let Some(e) = p.poll_event() {
                v.push((now, e));
            }
            v
        })
        .await
        .unwrap_or_default();
    w.psap_events.extend(new);
}

/// Waits until `pred` matches a harness PSAP event; returns its index.
async fn wait_psap(
    w: &mut LmpeWorld,
    timeout: Duration,
    mut pred: impl FnMut(&RoleEvent) -> bool,
) -> Option<usize> {
    let deadline = Instant::now() + timeout;
    let mut seen = 0;
    loop {
        collect(w).await;
        if let Some(i) = w.psap_events[seen..].iter().position(|(_, e)| pred(e)) {
            return Some(seen + i);
        }
        seen = w.psap_events.len();
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The messages the harness PSAP received, parsed, in arrival order.
async fn received(w: &LmpeWorld) -> Vec<(Instant, SipMessage)> {
    let Some(psap) = w.psap.clone() else {
        return Vec::new();
    };
    let records = psap
        .with(|p, _| p.wire_records().to_vec())
        .await
        .unwrap_or_default();
    records
        .iter()
        .filter(|r| !r.outgoing)
        .filter_map(|r| {
            lmpe_wire::sip::RsipParser::default()
                .parse(&r.bytes)
                .ok()
                .map(|m| (r.at, m))
        })
        .filter(|(_, m)| m.is_request())
        .collect()
}

fn msg_type(m: &SipMessage) -> Option<MessageType> {
    lmpe_wire::lmpe::LmpeIds::extract(m, &lmpe_wire::lmpe::IdentifierProfile::LENIENT).msg_type
}

/// Violations the harness PSAP saw whose clause is in `clauses`, with the offending message.
fn psap_violations(w: &LmpeWorld, clauses: &[&str]) -> Vec<String> {
    crate::world::violations_in(&w.psap_events, clauses)
}

/// Refusals of the harness PSAP (requests it could not take), as text.
fn psap_refusals(w: &LmpeWorld) -> Vec<String> {
    w.psap_events
        .iter()
        .filter_map(|(_, e)| match e {
            RoleEvent::Unmatched {
                summary,
                status,
                reason,
            } => Some(format!("{summary} answered {status}: {reason}")),
            _ => None,
        })
        .collect()
}

fn iut_chat(w: &LmpeWorld) -> String {
    match &w.iut_chat {
        Some(c) => c.clone(),
        None => inconclusive!("no chat of the APP under test reached the harness PSAP"),
    }
}

/// Asks the operator of a real APP to act (stderr), or returns false for the embedded APP.
fn prompt(w: &LmpeWorld, action: &str) -> bool {
    let (_, operator) = setup(w);
    if let Some(t) = operator {
        eprintln!(
            "\n>>> ACTION on the APP under test: {action} (waiting up to {:.0} s)",
            t.as_secs_f64()
        );
        true
    } else {
        false
    }
}

fn operator_wait(w: &LmpeWorld) -> Duration {
    setup(w).1.unwrap_or(w.run.response_timeout)
}

#[given("the harness plays the BCF and the PSAP for the APP under test")]
async fn harness_for_app(w: &mut LmpeWorld) {
    let _ = setup(w);
}

#[given(expr = "the APP under test sends heartbeats every {int} ms")]
async fn iut_heartbeats(w: &mut LmpeWorld, ms: u64) {
    // Only the embedded reference APP can be configured; a real APP keeps its own schedule.
    w.iut_heartbeat = Some(Duration::from_millis(ms));
}

async fn start(w: &mut LmpeWorld, service: &str) {
    ensure(w).await;
    let before: Vec<String> = match &w.psap {
        Some(p) => p.with(|p, _| p.chat_ids()).await.unwrap_or_default(),
        None => Vec::new(),
    };
    if !prompt(w, &format!("start an emergency chat to {service}")) {
        let Some(app) = w.iut_app.clone() else {
            inconclusive!("no APP under test")
        };
        let service = service.to_string();
        let r = app
            .with(move |a, now| a.start_chat(now, &service, "Help, I need assistance."))
            .await;
        match r {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => inconclusive!("the reference APP could not start a chat: {e}"),
            Err(e) => inconclusive!("the reference APP stopped: {e}"),
        }
    }
    let wait = operator_wait(w);
    let deadline = Instant::now() + wait;
    loop {
        collect(w).await;
        let ids = match &w.psap {
            Some(p) => p.with(|p, _| p.chat_ids()).await.unwrap_or_default(),
            None => Vec::new(),
        };
        if let Some(new) = ids.into_iter().find(|c| !before.contains(c)) {
            w.iut_chat = Some(new);
            break;
        }
        if Instant::now() >= deadline {
            let refusals = psap_refusals(w);
            fail(
                w,
                "6.2.2",
                "the APP starts a chat with start/257 carrying a Call Identifier",
                &format!(
                    "no chat reached the harness PSAP within {:.1} s{}",
                    wait.as_secs_f64(),
                    if refusals.is_empty() {
                        String::new()
                    } else {
                        format!("; refused: {}", refusals.join("; "))
                    }
                ),
            )
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[when(expr = "the APP under test starts an emergency chat to {string}")]
async fn iut_starts(w: &mut LmpeWorld, service: String) {
    start(w, &service).await;
}

#[given("the APP under test has an established chat with the harness PSAP")]
async fn iut_established(w: &mut LmpeWorld) {
    start(w, "urn:service:sos").await;
    let chat = iut_chat(w);
    let wait = w.run.response_timeout;
    let answered = wait_psap(w, wait, |e| {
        matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Answered { msg_type, status, .. } }
            if *c == chat && *msg_type == MessageType::START && (200..300).contains(status))
    })
    .await;
    if answered.is_none() {
        inconclusive!(
            "preamble: the APP under test did not accept the harness PSAP's start/257 within {} ms (6.2.2)",
            wait.as_millis()
        );
    }
}

#[then(regex = r"^the harness PSAP receives start/257 without violation of clauses? (.+)$")]
async fn start_clean(w: &mut LmpeWorld, clauses: String) {
    let clauses: Vec<&str> = clauses
        .split([',', ' '])
        .filter(|c| !c.is_empty())
        .collect();
    collect(w).await;
    let v = psap_violations(w, &clauses);
    if let Some(first) = v.first() {
        fail_text(w, first);
    }
    let got = received(w).await;
    let Some((_, start)) = got
        .iter()
        .find(|(_, m)| msg_type(m) == Some(MessageType::START))
    else {
        fail(
            w,
            "6.2.2",
            "the first message has Message Type start/257",
            "no start/257 among the messages received",
        )
    };
    let ruri = start.request_uri().unwrap_or_default().to_ascii_lowercase();
    if !ruri.starts_with("urn:service:sos") {
        fail(
            w,
            "6.1.2.3",
            "the Request-URI contains urn:service:sos or a sub-service of it",
            &format!(
                "Request-URI is {ruri}\n--- offending message ---\n{}",
                start.to_text()
            ),
        );
    }
    check_text_plain(w, start);
}

/// 6.1.2.8: chat text is `text/plain; charset=utf-8`.
fn check_text_plain(w: &LmpeWorld, m: &SipMessage) {
    let parts = lmpe_wire::multipart::body_parts(m).unwrap_or_default();
    let text = parts
        .iter()
        .map(|p| p.content_type().unwrap_or("").to_string())
        .find(|ct| ct.to_ascii_lowercase().starts_with("text/plain"));
    match text {
        Some(ct)
            if ct
                .to_ascii_lowercase()
                .replace(' ', "")
                .contains("charset=utf-8") => {}
        Some(ct) => fail(
            w,
            "6.1.2.8",
            "the content type for chat text is text/plain; charset=utf-8",
            &format!(
                "text part is {ct:?}\n--- offending message ---\n{}",
                m.to_text()
            ),
        ),
        None => fail(
            w,
            "6.2.2",
            "the message includes a predefined text (text/plain; charset=utf-8)",
            &format!(
                "no text/plain part\n--- offending message ---\n{}",
                m.to_text()
            ),
        ),
    }
}

#[when(expr = "the user of the APP under test sends {string}")]
async fn iut_user_sends(w: &mut LmpeWorld, text: String) {
    if prompt(w, &format!("type and send the chat message {text:?}")) {
        return;
    }
    let Some(app) = w.iut_app.clone() else {
        inconclusive!("no APP under test")
    };
    let r = app
        .with(move |a, now| {
            let chat = a_chat(a);
            a.send_chat(now, &chat, &text)
        })
        .await;
    if !matches!(r, Ok(Ok(_))) {
        inconclusive!("the reference APP could not send in-chat/259: {r:?}");
    }
}

/// The reference APP's (only) chat.
fn a_chat(a: &AppRole) -> String {
    a.chat_ids().into_iter().next().unwrap_or_default()
}

#[then(regex = r"^the harness PSAP receives in-chat/259 without violation of clauses? (.+)$")]
async fn in_chat_clean(w: &mut LmpeWorld, clauses: String) {
    let clauses: Vec<&str> = clauses
        .split([',', ' '])
        .filter(|c| !c.is_empty())
        .collect();
    let chat = iut_chat(w);
    let wait = operator_wait(w);
    let got = wait_psap(w, wait, |e| {
        matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Received { msg_type, .. } }
            if *c == chat && *msg_type == MessageType::IN_CHAT)
    })
    .await;
    let v = psap_violations(w, &clauses);
    if let Some(first) = v.first() {
        fail_text(w, first);
    }
    if got.is_none() {
        let refusals = psap_refusals(w);
        fail(
            w,
            "6.2.3",
            "the APP's chat message reaches the PSAP as in-chat/259 of the chat",
            &format!(
                "none within {:.1} s{}",
                wait.as_secs_f64(),
                if refusals.is_empty() {
                    String::new()
                } else {
                    format!("; refused: {}", refusals.join("; "))
                }
            ),
        );
    }
    if let Some((_, m)) = received(w)
        .await
        .into_iter()
        .find(|(_, m)| msg_type(m) == Some(MessageType::IN_CHAT))
    {
        check_text_plain(w, &m);
    }
}

/// Sends a PSAP message in the APP under test's chat and returns the session handle.
async fn psap_sends(w: &mut LmpeWorld, what: &str) -> u64 {
    let chat = iut_chat(w);
    let Some(psap) = w.psap.clone() else {
        inconclusive!("no harness PSAP")
    };
    let name = what.to_string();
    let addr = psap.local_addr();
    let r = psap
        .with(move |p, now| match name.as_str() {
            "stop/258" => p
                .stop(now, &chat, "The call taker has closed this chat.")
                .ok_or_else(|| "stop not allowed".to_string()),
            "in-chat/259" => p
                .send_chat(now, &chat, "Are you injured?")
                .ok_or_else(|| "in-chat not allowed".to_string()),
            "stop|transfer/266" => p
                .transfer(now, &chat, "Your chat will be transferred to another PSAP.")
                .map_err(|e| e.to_string()),
            "start|transfer/265" => p
                .reactivate(now, &chat, "You are now connected to the transfer target.")
                .map_err(|e| e.to_string()),
            "another start|transfer/265" => p
                .send_unchecked(
                    now,
                    &chat,
                    MessageType::START_TRANSFER,
                    "Transferred again?",
                )
                .map_err(|e| e.to_string()),
            "stop|redirect/274" => p
                .redirect(
                    now,
                    &chat,
                    &format!("sip:psap-b@{addr}"),
                    "Your chat is being redirected to another PSAP.",
                )
                .map_err(|e| e.to_string()),
            other => Err(format!("unknown PSAP message {other:?}")),
        })
        .await;
    match r {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => inconclusive!("the harness PSAP could not send {what}: {e}"),
        Err(e) => inconclusive!("the harness PSAP stopped: {e}"),
    }
}

#[when(expr = "the harness PSAP sends {string}")]
async fn harness_psap_sends(w: &mut LmpeWorld, what: String) {
    let h = psap_sends(w, &what).await;
    w.last_sent = Some(crate::world::Sent::Chat(h));
}

/// The APP's final answer to the PSAP message last sent.
async fn iut_answer(w: &mut LmpeWorld) -> Option<(MessageType, u16)> {
    let Some(crate::world::Sent::Chat(h)) = w.last_sent else {
        return None;
    };
    let chat = iut_chat(w);
    let wait = w.run.response_timeout;
    let i = wait_psap(w, wait, |e| {
        matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Answered { handle, .. } }
            if *c == chat && *handle == h)
    })
    .await?;
    match &w.psap_events[i].1 {
        RoleEvent::Session {
            event: SessionEvent::Answered {
                msg_type, status, ..
            },
            ..
        } => Some((*msg_type, *status)),
        _ => None,
    }
}

#[then(regex = r"^the APP under test answers it with 2xx \(clause (\S+)\)$")]
async fn iut_answers_2xx(w: &mut LmpeWorld, clause: String) {
    match iut_answer(w).await {
        Some((_, s)) if (200..300).contains(&s) => {}
        Some((t, s)) => fail(
            w,
            &clause,
            &format!("the APP answers {t} with 200 OK"),
            &format!("answered {s}"),
        ),
        None => fail(
            w,
            &clause,
            "the APP answers the PSAP's message with 200 OK",
            "no final answer within the response timeout",
        ),
    }
}

#[then(regex = r"^the APP under test refuses it \(clause (\S+)\)$")]
async fn iut_refuses(w: &mut LmpeWorld, clause: String) {
    match iut_answer(w).await {
        Some((t, s)) if (200..300).contains(&s) => fail(
            w,
            &clause,
            "after the first start|transfer/265 the APP accepts no further start|transfer/265 until another stop|transfer/266",
            &format!("{t} was answered {s}"),
        ),
        Some(_) => {}
        None => fail(
            w,
            &clause,
            "the APP answers (refuses) the message",
            "no final answer within the response timeout",
        ),
    }
}

#[then(regex = r"^the APP under test sends no chat message for (\d+) ms \(clause (\S+)\)$")]
async fn iut_stalls(w: &mut LmpeWorld, ms: u64, clause: String) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    collect(w).await;
    let v = psap_violations(w, &[clause.as_str()]);
    if let Some(first) = v.first() {
        fail_text(w, first);
    }
}

#[then(
    regex = r"^the harness PSAP receives heartbeats at least every (\d+) ms, (\d+) of them, without violation of clauses? (.+)$"
)]
async fn iut_heartbeats_received(w: &mut LmpeWorld, limit_ms: u64, n: usize, clauses: String) {
    let clauses: Vec<&str> = clauses
        .split([',', ' '])
        .filter(|c| !c.is_empty())
        .collect();
    let chat = iut_chat(w);
    // A real APP keeps the 20 s of 6.2.5; only the embedded one is scaled.
    let limit = if w.run.target.is_some() {
        Duration::from_secs(20)
    } else {
        Duration::from_millis(limit_ms)
    };
    let is_hb = |e: &RoleEvent| matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Heartbeat { .. } } if *c == chat);
    let mut last = Instant::now();
    let mut count = 0;
    while count < n {
        collect(w).await;
        let now_count = w.psap_events.iter().filter(|(_, e)| is_hb(e)).count();
        if now_count > count {
            count = now_count;
            last = Instant::now();
            continue;
        }
        if Instant::now() > last + limit + limit / 10 {
            fail(
                w,
                "6.2.5",
                "the APP sends keep-alives periodically, at least every 20 s",
                &format!(
                    "{count} heartbeat(s) received; none within {:.1} s of the previous",
                    limit.as_secs_f64()
                ),
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let v = psap_violations(w, &clauses);
    if let Some(first) = v.first() {
        fail_text(w, first);
    }
}

#[then(
    regex = r"^the harness PSAP receives start\|redirect/273 at the redirect target with History-Info naming the original PSAP \(clause 6\.2\.7\)$"
)]
async fn iut_redirects(w: &mut LmpeWorld) {
    let Some(psap) = w.psap.clone() else {
        inconclusive!("no harness PSAP")
    };
    let original = format!("sip:psap@{}", psap.local_addr());
    let wait = w.run.response_timeout;
    let deadline = Instant::now() + wait;
    let redirect = loop {
        let got = received(w).await;
        if let Some((_, m)) = got
            .into_iter()
            .find(|(_, m)| msg_type(m) == Some(MessageType::START_REDIRECT))
        {
            break m;
        }
        if Instant::now() >= deadline {
            fail(
                w,
                "6.2.7",
                "upon stop|redirect/274 the APP sends start|redirect/273 to the redirect target",
                &format!("none within {:.1} s", wait.as_secs_f64()),
            )
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let text = redirect.to_text();
    let ruri = redirect.request_uri().unwrap_or_default();
    if !ruri.contains("psap-b@") {
        fail(
            w,
            "6.2.7",
            "start|redirect/273 goes to the URI in the stop|redirect/274's Reply-To",
            &format!("Request-URI is {ruri}\n--- offending message ---\n{text}"),
        );
    }
    let hi = lmpe_wire::headers::HistoryInfo::from_message(&redirect);
    let names_original =
        matches!(&hi, Ok(Some(h)) if h.entries.iter().any(|e| e.target.contains(&original)));
    if !names_original {
        fail(
            w,
            "6.2.7",
            "start|redirect/273 carries a History-Info header value with the original PSAP's Reply-To",
            &format!("History-Info is {:?}, expected {original}\n--- offending message ---\n{text}", redirect.header("History-Info")),
        );
    }
    collect(w).await;
    let v = psap_violations(w, &["6.2.7", "6.2.2"]);
    if let Some(first) = v.first() {
        fail_text(w, first);
    }
}

#[then(
    regex = r"^the harness PSAP receives a start to a test service and closes it, which the APP under test accepts \(clause 6\.1\.2\.10\)$"
)]
async fn iut_test_call(w: &mut LmpeWorld) {
    let got = received(w).await;
    let Some((_, start)) = got
        .into_iter()
        .find(|(_, m)| msg_type(m).is_some_and(MessageType::is_start))
    else {
        fail(
            w,
            "6.1.2.10",
            "the test chat starts with start/257",
            "no start received",
        )
    };
    let ruri = start.request_uri().unwrap_or_default();
    if !lmpe_proto::session::is_test_service(ruri) {
        fail(
            w,
            "6.1.2.10",
            "a device initiating a test chat uses urn:service:sos.test",
            &format!(
                "Request-URI is {ruri}\n--- offending message ---\n{}",
                start.to_text()
            ),
        );
    }
    let chat = iut_chat(w);
    let wait = w.run.response_timeout;
    let closed = wait_psap(w, wait, |e| {
        matches!(e, RoleEvent::Session { chat: c, event: SessionEvent::Answered { msg_type, status, .. } }
            if *c == chat && *msg_type == MessageType::STOP && (200..300).contains(status))
    })
    .await;
    if closed.is_none() {
        fail(
            w,
            "6.1.2.10",
            "the APP accepts the PSAP's automatic closing MESSAGE (stop/258) with 200 OK",
            "no 2xx answer to the closing stop/258",
        );
    }
}
