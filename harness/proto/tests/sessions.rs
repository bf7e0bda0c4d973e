//! Deterministic unit tests of the LMPE chat session machines ([`AppSession`], [`PsapSession`])
//! against ETSI TS 103 698 clauses 6.2.2 to 6.2.6, on a virtual clock: one `Instant::now()` at
//! the start of each test, then only added durations. Messages travel between the machines as
//! real SIP MESSAGEs (built with `chat_request`, read back with `LmpeIds::extract`).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use lmpe_proto::roles::{chat_request, Sender};
use lmpe_proto::session::{
    check_location, AppSession, AppState, ChatParams, OutgoingChat, PsapSession, PsapState,
    SessionEvent, Violation,
};
use lmpe_wire::lmpe::{
    CallId, IdentifierProfile, LmpeIds, MessageType, CALL_ID_PREFIX_EXAMPLE, CALL_ID_PREFIX_TEXT,
    MSG_ID_PREFIX,
};
use lmpe_wire::sip::SipMessage;

const APP_URI: &str = "sip:app@10.0.0.1:5060";
const PSAP_URI: &str = "sip:psap@10.0.0.2:5060";
const REPLY_TO: &str = "sip:psap@10.0.0.2:5060";
const SOS: &str = "urn:service:sos";
const LOCATION: (f64, f64) = (48.208_49, 16.372_08);
const GREETING: &str = "112 emergency chat, what is your emergency?";
const S: Duration = Duration::from_secs(1);

fn call_id() -> CallId {
    CallId::new("abcDEF1234xyz", "app.example.net").unwrap()
}

fn params() -> ChatParams {
    ChatParams::default()
}

/// The SIP MESSAGE a machine's outgoing chat becomes (APP messages carry location).
fn sip(out: &OutgoingChat, from: &str, location: Option<(f64, f64)>) -> SipMessage {
    chat_request(
        out,
        &Sender {
            profile: &IdentifierProfile::LENIENT,
            from_uri: from,
            from_tag: "t4g",
            sip_call_id: "sipcall1@test",
            cseq: 1,
            location,
            pidf: None,
            extra: &[],
            extra_parts: &[],
        },
    )
}

fn app_sip(out: &OutgoingChat) -> SipMessage {
    sip(out, APP_URI, Some(LOCATION))
}

fn psap_sip(out: &OutgoingChat) -> SipMessage {
    sip(out, PSAP_URI, None)
}

fn ids(msg: &SipMessage) -> LmpeIds {
    LmpeIds::extract(msg, &IdentifierProfile::LENIENT)
}

/// Feeds an outgoing chat of the APP to the PSAP machine.
fn to_psap(psap: &mut PsapSession, now: Instant, out: &OutgoingChat) -> u16 {
    let msg = app_sip(out);
    psap.handle_request(now, &msg, &ids(&msg))
}

/// Feeds an outgoing chat of the PSAP to the APP machine.
fn to_app(app: &mut AppSession, now: Instant, out: &OutgoingChat) -> u16 {
    let msg = psap_sip(out);
    app.handle_request(now, &msg, &ids(&msg))
}

fn app_events(app: &mut AppSession) -> Vec<SessionEvent> {
    std::iter::from_fn(|| app.poll_event()).collect()
}

fn psap_events(psap: &mut PsapSession) -> Vec<SessionEvent> {
    std::iter::from_fn(|| psap.poll_event()).collect()
}

fn violations(events: &[SessionEvent]) -> Vec<Violation> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Violation(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

fn clauses(events: &[SessionEvent]) -> Vec<&'static str> {
    violations(events).iter().map(|v| v.clause).collect()
}

fn one(queue: &mut impl FnMut() -> Option<OutgoingChat>) -> OutgoingChat {
    let out = queue().expect("one outgoing message");
    assert_eq!(queue(), None, "exactly one outgoing message");
    out
}

fn app_out(app: &mut AppSession) -> OutgoingChat {
    one(&mut || app.poll_outgoing())
}

fn psap_out(psap: &mut PsapSession) -> OutgoingChat {
    one(&mut || psap.poll_outgoing())
}

/// A hand-made PSAP message for the APP's chat (types the PSAP machine never sends itself).
fn psap_msg(
    app: &AppSession,
    msg_type: MessageType,
    msg_id: Option<u32>,
    reply_to: Option<&str>,
) -> OutgoingChat {
    let call_id = app.call_id().clone();
    OutgoingChat {
        handle: 99,
        target: APP_URI.into(),
        msg_type,
        msg_id,
        call_id_urn: call_id.urn(CALL_ID_PREFIX_EXAMPLE),
        call_id,
        text: Some("PSAP text".into()),
        reply_to: reply_to.map(str::to_string),
        with_location: false,
        history_info: None,
        msg_id_purpose: None,
    }
}

/// The APP has sent start/257 (answered 200) and the PSAP has accepted it; the PSAP's
/// start/257 is returned undelivered. Events are drained.
fn started(t0: Instant, app_params: ChatParams) -> (AppSession, PsapSession, OutgoingChat) {
    let mut app = AppSession::new(call_id(), APP_URI, SOS, app_params);
    let h = app.start(t0, "I need help").unwrap();
    let start = app_out(&mut app);
    assert_eq!(start.handle, h);
    let msg = app_sip(&start);
    let mut psap =
        PsapSession::accept_start(t0, &msg, &ids(&msg), REPLY_TO, GREETING, params()).unwrap();
    app.on_answer(t0, h, 200);
    let psap_start = psap_out(&mut psap);
    app_events(&mut app);
    psap_events(&mut psap);
    (app, psap, psap_start)
}

/// Both machines established at `t0 + 1 s`; events drained.
fn established(t0: Instant) -> (AppSession, PsapSession, Instant) {
    let (mut app, mut psap, psap_start) = started(t0, params());
    let est = t0 + S;
    assert_eq!(to_app(&mut app, est, &psap_start), 200);
    assert_eq!(app.state(), AppState::Established);
    psap.on_answer(est, psap_start.handle, MessageType::START, 200);
    let ev = app_events(&mut app);
    assert!(violations(&ev).is_empty(), "{ev:?}");
    psap_events(&mut psap);
    (app, psap, est)
}

#[test]
fn app_start_is_start_257_with_msg_id_1_to_the_service_urn_with_location() {
    let t0 = Instant::now();
    let mut app = AppSession::new(call_id(), APP_URI, SOS, params());
    assert_eq!(app.state(), AppState::Idle);
    let h = app.start(t0, "I need help").unwrap();
    assert_eq!(app.state(), AppState::Starting);
    let out = app_out(&mut app);
    assert_eq!(out.handle, h);
    assert_eq!(out.msg_type, MessageType::START);
    assert_eq!(out.msg_id, Some(1));
    assert_eq!(out.target, SOS);
    assert!(out.with_location);
    assert_eq!(out.reply_to, None);
    assert_eq!(out.text.as_deref(), Some("I need help"));
    assert_eq!(app.next_msg_id(), 2);

    let msg = app_sip(&out);
    assert_eq!(msg.request_uri(), Some(SOS));
    check_location(&msg).unwrap();
    let got = ids(&msg);
    assert!(got.issues.is_empty(), "{:?}", got.issues);
    assert_eq!(got.msg_type, Some(MessageType::START));
    assert_eq!(got.msg_id, Some(1));
    assert_eq!(got.call_id, Some(call_id()));
    assert!(msg.header("From").unwrap().contains(APP_URI));

    // A second start is refused; nothing else may be sent before the chat is established.
    assert!(app.start(t0, "again").is_err());
    assert!(app.send_chat(t0, "hello").is_err());
    assert!(app.stop(t0, "bye").is_err());
    assert!(app.heartbeat(t0).is_err());
    // The only timer before the chat is established is the PSAP start deadline (6.2.2).
    assert_eq!(
        app.poll_timeout(),
        Some(t0 + ChatParams::default().psap_start_timeout)
    );
}

fn psap_echoes_call_id_urn(app_profile: IdentifierProfile, prefix: &str) {
    let t0 = Instant::now();
    let app_params = ChatParams {
        profile: app_profile,
        ..ChatParams::default()
    };
    let mut app = AppSession::new(call_id(), APP_URI, SOS, app_params);
    app.start(t0, "I need help").unwrap();
    let start = app_out(&mut app);
    let sent_urn = call_id().urn(prefix);
    assert_eq!(start.call_id_urn, sent_urn);
    let msg = app_sip(&start);
    let got = ids(&msg);
    assert_eq!(got.call_id_urn.as_deref(), Some(sent_urn.as_str()));

    let mut psap = PsapSession::accept_start(t0, &msg, &got, REPLY_TO, GREETING, params()).unwrap();
    assert_eq!(psap.state(), PsapState::Established);
    assert_eq!(psap.app_uri(), APP_URI);
    assert_eq!(psap.service(), SOS);
    let ev = psap_events(&mut psap);
    assert!(violations(&ev).is_empty(), "{ev:?}");
    assert!(ev.contains(&SessionEvent::Established {
        reply_to: REPLY_TO.into()
    }));

    let out = psap_out(&mut psap);
    assert_eq!(out.msg_type, MessageType::START);
    assert_eq!(out.msg_id, Some(1));
    assert_eq!(out.reply_to.as_deref(), Some(REPLY_TO));
    assert_eq!(
        out.call_id_urn, sent_urn,
        "the received URN is echoed exactly"
    );
    assert_eq!(out.target, APP_URI);
    assert_eq!(out.text.as_deref(), Some(GREETING));

    let reply = psap_sip(&out);
    let echoed = format!("<{sent_urn}>;purpose=EmergencyCallData.CallId");
    assert!(
        reply.header_values("Call-Info").any(|v| v == echoed),
        "{:?}",
        reply.header_values("Call-Info").collect::<Vec<_>>()
    );
    assert_eq!(
        reply.header("Reply-To"),
        Some(format!("<{REPLY_TO}>").as_str())
    );
    let back = ids(&reply);
    assert_eq!(back.call_id_urn.as_deref(), Some(sent_urn.as_str()));
    assert_eq!(back.msg_id, Some(1));
    assert_eq!(back.msg_type, Some(MessageType::START));
}

#[test]
fn psap_accept_start_echoes_the_text_form_call_id_urn() {
    psap_echoes_call_id_urn(IdentifierProfile::STRICT_TEXT, CALL_ID_PREFIX_TEXT);
    assert_eq!(CALL_ID_PREFIX_TEXT, "urn:emergency:service:uid:callid:");
}

#[test]
fn psap_accept_start_echoes_the_example_form_call_id_urn() {
    psap_echoes_call_id_urn(IdentifierProfile::DEPLOYED, CALL_ID_PREFIX_EXAMPLE);
}

#[test]
fn app_is_established_only_after_the_psap_start_with_reply_to() {
    let t0 = Instant::now();
    let (mut app, _psap, psap_start) = started(t0, params());
    // 200 to the APP's start is not enough (6.2.3: "after the reception of the first PSAP
    // message").
    assert_eq!(app.state(), AppState::AwaitingPsapStart);
    assert_eq!(app.reply_to(), None);
    assert!(app.send_chat(t0, "hello").is_err());
    assert_eq!(
        app.poll_timeout(),
        Some(t0 + ChatParams::default().psap_start_timeout),
        "no heartbeats before the PSAP start, only the start deadline"
    );

    let est = t0 + 2 * S;
    assert_eq!(to_app(&mut app, est, &psap_start), 200);
    assert_eq!(app.state(), AppState::Established);
    assert_eq!(app.reply_to(), Some(REPLY_TO));
    let ev = app_events(&mut app);
    assert!(violations(&ev).is_empty(), "{ev:?}");
    assert_eq!(
        ev,
        [
            SessionEvent::Received {
                msg_type: MessageType::START,
                msg_id: Some(1),
                text: Some(GREETING.into()),
            },
            SessionEvent::Established {
                reply_to: REPLY_TO.into()
            },
        ]
    );
}

#[test]
fn app_is_established_when_the_psap_start_overtakes_the_200() {
    let t0 = Instant::now();
    let mut app = AppSession::new(call_id(), APP_URI, SOS, params());
    let h = app.start(t0, "I need help").unwrap();
    let msg = app_sip(&app_out(&mut app));
    let mut psap =
        PsapSession::accept_start(t0, &msg, &ids(&msg), REPLY_TO, GREETING, params()).unwrap();
    assert_eq!(to_app(&mut app, t0, &psap_out(&mut psap)), 200);
    assert_eq!(app.state(), AppState::Established);
    app.on_answer(t0, h, 200);
    assert_eq!(app.state(), AppState::Established);
    assert!(violations(&app_events(&mut app)).is_empty());
}

#[test]
fn app_in_chat_goes_to_reply_to_with_msg_id_plus_one() {
    let t0 = Instant::now();
    let (mut app, mut psap, now) = established(t0);
    for (i, expected_id) in (2..=4).enumerate() {
        let text = format!("message {i}");
        app.send_chat(now, &text).unwrap();
        let out = app_out(&mut app);
        assert_eq!(out.msg_type, MessageType::IN_CHAT);
        assert_eq!(out.target, REPLY_TO);
        assert_eq!(out.msg_id, Some(expected_id));
        assert!(out.with_location);
        let msg = app_sip(&out);
        assert_eq!(msg.request_uri(), Some(REPLY_TO));
        check_location(&msg).unwrap();
        assert_eq!(ids(&msg).msg_id, Some(expected_id));
        assert_eq!(psap.handle_request(now, &msg, &ids(&msg)), 200);
        let ev = psap_events(&mut psap);
        assert!(violations(&ev).is_empty(), "{ev:?}");
        assert!(ev.contains(&SessionEvent::Received {
            msg_type: MessageType::IN_CHAT,
            msg_id: Some(expected_id),
            text: Some(text),
        }));
    }
}

#[test]
fn psap_in_chat_msg_ids_increase() {
    let t0 = Instant::now();
    let (mut app, mut psap, now) = established(t0);
    for expected_id in 2..=5 {
        psap.send_chat(now, "Where are you?").unwrap();
        let out = psap_out(&mut psap);
        assert_eq!(out.msg_type, MessageType::IN_CHAT);
        assert_eq!(out.msg_id, Some(expected_id));
        assert_eq!(out.target, APP_URI);
        assert_eq!(out.reply_to.as_deref(), Some(REPLY_TO));
        assert_eq!(to_app(&mut app, now, &out), 200);
        let ev = app_events(&mut app);
        assert!(violations(&ev).is_empty(), "{ev:?}");
        assert!(ev.contains(&SessionEvent::Received {
            msg_type: MessageType::IN_CHAT,
            msg_id: Some(expected_id),
            text: Some("Where are you?".into()),
        }));
    }
}

#[test]
fn app_stop_ends_the_session_and_later_app_messages_are_rejected() {
    let t0 = Instant::now();
    let (mut app, mut psap, now) = established(t0);
    app.send_chat(now, "hello").unwrap();
    let chat = app_out(&mut app);
    assert_eq!(to_psap(&mut psap, now, &chat), 200);

    app.stop(now, "closed by the user").unwrap();
    assert_eq!(app.state(), AppState::Stopped);
    assert_eq!(app.poll_timeout(), None, "no heartbeats after stop");
    let stop = app_out(&mut app);
    assert_eq!(stop.msg_type, MessageType::STOP);
    assert_eq!(stop.msg_id, Some(3));
    assert_eq!(stop.target, REPLY_TO);
    assert!(stop.with_location);
    assert!(app_events(&mut app).contains(&SessionEvent::Stopped { by_peer: false }));
    assert!(app.send_chat(now, "more").is_err());
    assert!(app.heartbeat(now).is_err());

    psap_events(&mut psap);
    assert_eq!(to_psap(&mut psap, now, &stop), 200);
    assert_eq!(psap.state(), PsapState::Stopped);
    assert_eq!(psap.poll_timeout(), None);
    let ev = psap_events(&mut psap);
    assert!(violations(&ev).is_empty(), "{ev:?}");
    assert!(ev.contains(&SessionEvent::Stopped { by_peer: true }));
    assert!(psap.send_chat(now, "more").is_err());

    // A later in-chat (6.2.3) and a repeated stop (6.2.4) are refused with 481.
    let mut late = chat.clone();
    late.msg_id = Some(4);
    assert_eq!(to_psap(&mut psap, now + S, &late), 481);
    assert_eq!(clauses(&psap_events(&mut psap)), ["6.2.3"]);
    assert_eq!(to_psap(&mut psap, now + S, &stop), 481);
    assert_eq!(clauses(&psap_events(&mut psap)), ["6.2.4"]);
}

#[test]
fn psap_stop_ends_the_session_and_later_psap_messages_are_rejected() {
    let t0 = Instant::now();
    let (mut app, mut psap, now) = established(t0);
    psap.stop(now, "closed by the call taker").unwrap();
    assert_eq!(psap.state(), PsapState::Stopped);
    assert_eq!(psap.poll_timeout(), None);
    let stop = psap_out(&mut psap);
    assert_eq!(stop.msg_type, MessageType::STOP);
    assert_eq!(stop.msg_id, Some(2));
    assert_eq!(stop.reply_to.as_deref(), Some(REPLY_TO));
    assert!(psap_events(&mut psap).contains(&SessionEvent::Stopped { by_peer: false }));

    assert_eq!(to_app(&mut app, now, &stop), 200);
    assert_eq!(app.state(), AppState::Stopped);
    assert_eq!(
        app.poll_timeout(),
        None,
        "no heartbeats after the PSAP's stop"
    );
    let ev = app_events(&mut app);
    assert!(violations(&ev).is_empty(), "{ev:?}");
    assert!(ev.contains(&SessionEvent::Stopped { by_peer: true }));
    assert!(app.send_chat(now, "hello?").is_err());
    assert!(app.stop(now, "bye").is_err());

    let late = psap_msg(&app, MessageType::IN_CHAT, Some(3), Some(REPLY_TO));
    assert_eq!(to_app(&mut app, now + S, &late), 481);
    assert_eq!(clauses(&app_events(&mut app)), ["6.2.3"]);
    assert_eq!(to_app(&mut app, now + S, &stop), 481);
    assert_eq!(clauses(&app_events(&mut app)), ["6.2.4"]);
}

#[test]
fn app_heartbeats_every_interval_for_ten_minutes() {
    let t0 = Instant::now();
    let (mut app, mut psap, est) = established(t0);
    let interval = Duration::from_secs(20);
    assert_eq!(app.poll_timeout(), Some(est + interval));

    // Nothing one tick early.
    app.handle_timeout(est + interval - Duration::from_millis(1));
    assert_eq!(app.poll_outgoing(), None);

    let end = est + Duration::from_secs(600);
    let mut expected = est + interval;
    let mut beats = Vec::new();
    while let Some(at) = app.poll_timeout().filter(|at| *at <= end) {
        assert_eq!(at, expected, "heartbeat #{} off schedule", beats.len() + 1);
        app.handle_timeout(at);
        let out = app_out(&mut app);
        app.on_answer(at, out.handle, 200);
        assert_eq!(to_psap(&mut psap, at, &out), 200);
        beats.push((at, out));
        expected += interval;
    }
    assert_eq!(beats.len(), 30, "10 minutes of 20 s heartbeats");
    assert_eq!(app.poll_timeout(), Some(est + Duration::from_secs(620)));
    for (_, hb) in &beats {
        assert_eq!(hb.msg_type, MessageType::HEARTBEAT);
        assert_eq!(
            hb.msg_id, None,
            "6.2.5: heartbeats carry no Message Identifier"
        );
        assert!(hb.with_location);
        assert_eq!(hb.target, REPLY_TO);
        let msg = app_sip(hb);
        check_location(&msg).unwrap();
        let got = ids(&msg);
        assert_eq!(got.msg_type, Some(MessageType::HEARTBEAT));
        assert_eq!(got.msg_id, None);
        assert!(!msg
            .header_values("Call-Info")
            .any(|v| v.contains(MSG_ID_PREFIX)));
    }
    let ev = app_events(&mut app);
    let answered = ev
        .iter()
        .filter(|e| {
            matches!(
                e,
                SessionEvent::Answered {
                    msg_type: MessageType::HEARTBEAT,
                    status: 200,
                    ..
                }
            )
        })
        .count();
    assert_eq!(answered, 30);
    let ev = psap_events(&mut psap);
    assert!(violations(&ev).is_empty(), "{ev:?}");
    assert_eq!(
        ev.iter()
            .filter(|e| **e == SessionEvent::Heartbeat { inactive: false })
            .count(),
        30
    );

    // Backgrounded: heartbeat|inactive/388 (6.2.5), still on schedule, still with location.
    app.set_inactive(true);
    let at = app.poll_timeout().unwrap();
    app.handle_timeout(at);
    let hb = app_out(&mut app);
    assert_eq!(hb.msg_type, MessageType::HEARTBEAT_INACTIVE);
    assert_eq!(hb.msg_type.0, 388);
    assert_eq!(hb.msg_id, None);
    assert!(hb.with_location);
    assert_eq!(to_psap(&mut psap, at, &hb), 200);
    assert!(psap_events(&mut psap).contains(&SessionEvent::Heartbeat { inactive: true }));
    assert_eq!(app.poll_timeout(), Some(at + interval));
    app.set_inactive(false);
    app.handle_timeout(at + interval);
    assert_eq!(app_out(&mut app).msg_type, MessageType::HEARTBEAT);

    // Heartbeats consumed no Message Identifier.
    app.send_chat(at + interval, "still here").unwrap();
    assert_eq!(app_out(&mut app).msg_id, Some(2));
}

#[test]
fn app_flags_a_psap_start_without_reply_to() {
    let t0 = Instant::now();
    let (mut app, _psap, mut psap_start) = started(t0, params());
    psap_start.reply_to = None;
    let msg = psap_sip(&psap_start);
    assert_eq!(msg.header("Reply-To"), None);
    to_app(&mut app, t0 + S, &psap_start);
    let ev = app_events(&mut app);
    let v = violations(&ev);
    assert_eq!(v.len(), 1, "{ev:?}");
    assert_eq!(v[0].clause, "6.2.2");
    assert!(v[0].expectation.contains("Reply-To"), "{}", v[0]);
    assert_ne!(app.state(), AppState::Established);
    assert!(!ev
        .iter()
        .any(|e| matches!(e, SessionEvent::Established { .. })));
    // Not established: no heartbeat, only the start deadline.
    assert_eq!(
        app.poll_timeout(),
        Some(t0 + ChatParams::default().psap_start_timeout)
    );
    assert!(app.send_chat(t0 + S, "hello").is_err());

    // A Reply-To that is not a SIP URI is flagged too.
    psap_start.reply_to = Some("mailto:psap@example.net".into());
    to_app(&mut app, t0 + 2 * S, &psap_start);
    assert_eq!(clauses(&app_events(&mut app)), ["6.2.2"]);
    assert_ne!(app.state(), AppState::Established);
}

#[test]
fn app_flags_a_psap_in_chat_with_a_non_incremented_msg_id() {
    let t0 = Instant::now();
    let (mut app, mut psap, now) = established(t0);
    psap.send_chat(now, "first").unwrap();
    let mut frozen = psap_out(&mut psap);
    assert_eq!(frozen.msg_id, Some(2));
    frozen.msg_id = Some(1);
    assert_eq!(to_app(&mut app, now, &frozen), 200);
    let ev = app_events(&mut app);
    let v = violations(&ev);
    assert_eq!(v.len(), 1, "{ev:?}");
    assert_eq!(v[0].clause, "6.2.3");
    assert!(v[0].detail.contains("1 after 1"), "{}", v[0]);

    // A skip is flagged as well; the correct successor of the last seen id is not.
    let skipped = psap_msg(&app, MessageType::IN_CHAT, Some(5), Some(REPLY_TO));
    to_app(&mut app, now, &skipped);
    assert_eq!(clauses(&app_events(&mut app)), ["6.2.3"]);
    let next = psap_msg(&app, MessageType::IN_CHAT, Some(6), Some(REPLY_TO));
    to_app(&mut app, now, &next);
    assert!(violations(&app_events(&mut app)).is_empty());
    // No Message Identifier at all.
    let none = psap_msg(&app, MessageType::IN_CHAT, None, Some(REPLY_TO));
    to_app(&mut app, now, &none);
    assert_eq!(clauses(&app_events(&mut app)), ["6.2.3"]);
}

fn psap_heartbeats_against_limit(psap_interval: Duration) -> Vec<Violation> {
    let t0 = Instant::now();
    let mut app = AppSession::new(call_id(), APP_URI, SOS, params());
    let h = app.start(t0, "I need help").unwrap();
    let msg = app_sip(&app_out(&mut app));
    let psap_params = ChatParams {
        heartbeat_interval: Some(psap_interval),
        ..ChatParams::default()
    };
    let mut psap =
        PsapSession::accept_start(t0, &msg, &ids(&msg), REPLY_TO, GREETING, psap_params).unwrap();
    app.on_answer(t0, h, 200);
    to_app(&mut app, t0, &psap_out(&mut psap));
    assert_eq!(app.state(), AppState::Established);
    app_events(&mut app);
    assert_eq!(psap.poll_timeout(), Some(t0 + psap_interval));
    let mut beats = 0;
    for _ in 0..3 {
        let at = psap.poll_timeout().unwrap();
        psap.handle_timeout(at);
        let hb = psap_out(&mut psap);
        assert_eq!(hb.msg_type, MessageType::HEARTBEAT);
        assert_eq!(hb.msg_id, None);
        assert_eq!(hb.reply_to.as_deref(), Some(REPLY_TO));
        assert_eq!(to_app(&mut app, at, &hb), 200);
        beats += 1;
    }
    let ev = app_events(&mut app);
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, SessionEvent::Heartbeat { inactive: false }))
            .count(),
        beats
    );
    violations(&ev)
}

#[test]
fn app_flags_psap_heartbeats_further_apart_than_the_limit() {
    // Exactly at the limit (20 s) is fine.
    assert_eq!(psap_heartbeats_against_limit(Duration::from_secs(20)), []);
    // 21 s apart: two gaps over the limit.
    let v = psap_heartbeats_against_limit(Duration::from_secs(21));
    assert_eq!(v.len(), 2, "{v:?}");
    assert!(v.iter().all(|v| v.clause == "6.2.5"));
    assert!(v[0].detail.contains("21.0 s"), "{}", v[0]);

    // A scaled-down limit (as in fast tests) is honoured.
    let t0 = Instant::now();
    let fast = ChatParams {
        peer_heartbeat_limit: Duration::from_millis(100),
        ..ChatParams::default()
    };
    let (mut app, _psap, psap_start) = started(t0, fast);
    to_app(&mut app, t0, &psap_start);
    app_events(&mut app);
    let hb = psap_msg(&app, MessageType::HEARTBEAT, None, Some(REPLY_TO));
    to_app(&mut app, t0 + Duration::from_millis(100), &hb);
    to_app(&mut app, t0 + Duration::from_millis(200), &hb);
    assert!(violations(&app_events(&mut app)).is_empty());
    to_app(&mut app, t0 + Duration::from_millis(301), &hb);
    assert_eq!(clauses(&app_events(&mut app)), ["6.2.5"]);
}

#[test]
fn psap_flags_an_app_start_without_location() {
    let t0 = Instant::now();
    let mut app = AppSession::new(call_id(), APP_URI, SOS, params());
    app.start(t0, "I need help").unwrap();
    let msg = sip(&app_out(&mut app), APP_URI, None);
    assert_eq!(msg.header("Geolocation"), None);
    let mut psap =
        PsapSession::accept_start(t0, &msg, &ids(&msg), REPLY_TO, GREETING, params()).unwrap();
    let ev = psap_events(&mut psap);
    let v = violations(&ev);
    assert_eq!(v.len(), 1, "{ev:?}");
    assert_eq!(v[0].clause, "6.2.2");
    assert!(v[0].expectation.contains("location"), "{}", v[0]);
    // The session still opens (a soft deviation): the PSAP answers with its start.
    assert_eq!(psap.state(), PsapState::Established);
    assert_eq!(psap_out(&mut psap).msg_type, MessageType::START);
}

#[test]
fn psap_flags_an_app_in_chat_whose_msg_id_skips() {
    let t0 = Instant::now();
    let (mut app, mut psap, now) = established(t0);
    app.send_chat(now, "one").unwrap();
    let ok = app_out(&mut app);
    assert_eq!(ok.msg_id, Some(2));
    assert_eq!(to_psap(&mut psap, now, &ok), 200);
    assert!(violations(&psap_events(&mut psap)).is_empty());

    app.send_chat(now, "two").unwrap();
    let mut skip = app_out(&mut app);
    skip.msg_id = Some(5);
    assert_eq!(to_psap(&mut psap, now, &skip), 200);
    let ev = psap_events(&mut psap);
    let v = violations(&ev);
    assert_eq!(v.len(), 1, "{ev:?}");
    assert_eq!(v[0].clause, "6.2.3");
    assert!(v[0].detail.contains("5 after 2"), "{}", v[0]);

    // An in-chat without location is flagged under 6.2.3 as well.
    app.send_chat(now, "three").unwrap();
    let mut no_loc = app_out(&mut app);
    no_loc.msg_id = Some(6);
    let msg = sip(&no_loc, APP_URI, None);
    psap.handle_request(now, &msg, &ids(&msg));
    assert_eq!(clauses(&psap_events(&mut psap)), ["6.2.3"]);
}

#[test]
fn start_transfer_is_refused_unless_stop_transfer_came_first() {
    let t0 = Instant::now();
    let (mut app, mut psap, now) = established(t0);
    psap.send_chat(now, "q").unwrap();
    to_app(&mut app, now, &psap_out(&mut psap));
    app_events(&mut app);

    // 265 without a preceding 266.
    let early = psap_msg(&app, MessageType::START_TRANSFER, Some(3), Some(REPLY_TO));
    assert_eq!(to_app(&mut app, now, &early), 481);
    assert_eq!(clauses(&app_events(&mut app)), ["6.2.6"]);
    assert_eq!(app.state(), AppState::Established);

    // 266 carries the transferor's last Message Identifier (2): input stalls.
    let stop_transfer = psap_msg(&app, MessageType::STOP_TRANSFER, Some(2), Some(REPLY_TO));
    assert_eq!(to_app(&mut app, now, &stop_transfer), 200);
    assert_eq!(app.state(), AppState::TransferPending);
    let ev = app_events(&mut app);
    assert!(violations(&ev).is_empty(), "{ev:?}");
    assert!(ev.contains(&SessionEvent::TransferPending));
    assert!(app.send_chat(now, "hello?").is_err(), "input is stalled");
    assert!(app.poll_timeout().is_some(), "heartbeats continue");

    // The transferee's 265 (last + 1, its own Reply-To) re-establishes the chat.
    let transferee = "sip:psap2@10.0.0.3:5060";
    let start_transfer = psap_msg(&app, MessageType::START_TRANSFER, Some(3), Some(transferee));
    assert_eq!(to_app(&mut app, now + S, &start_transfer), 200);
    assert_eq!(app.state(), AppState::Established);
    assert_eq!(app.reply_to(), Some(transferee));
    let ev = app_events(&mut app);
    assert!(violations(&ev).is_empty(), "{ev:?}");
    app.send_chat(now + S, "hello").unwrap();
    assert_eq!(app_out(&mut app).target, transferee);

    // A further 265 is refused until another 266 arrives.
    let again = psap_msg(&app, MessageType::START_TRANSFER, Some(4), Some(transferee));
    assert_eq!(to_app(&mut app, now + 2 * S, &again), 481);
    assert_eq!(clauses(&app_events(&mut app)), ["6.2.6"]);
}

#[test]
fn psap_transfer_round_trip_transferor_266_then_transferee_265_with_last_id_plus_one() {
    let t0 = Instant::now();
    let (mut app, mut psap, now) = established(t0);
    psap.send_chat(now, "What is your emergency?").unwrap();
    to_app(&mut app, now, &psap_out(&mut psap));
    app_events(&mut app);
    assert_eq!(psap.last_msg_id(), 2);

    // Transferor: 266 with Reply-To, the Call Identifier as received and the last id used.
    psap.transfer(now, "Your chat will be transferred.")
        .unwrap();
    let stop = psap_out(&mut psap);
    assert_eq!(stop.msg_type, MessageType::STOP_TRANSFER);
    assert_eq!(stop.msg_id, Some(2));
    assert_eq!(stop.reply_to.as_deref(), Some(REPLY_TO));
    assert_eq!(stop.target, APP_URI);
    assert_eq!(psap.state(), PsapState::TransferringAway);
    assert!(
        psap.send_chat(now, "more").is_err(),
        "the transferor sends nothing more"
    );
    assert_eq!(to_app(&mut app, now, &stop), 200);
    assert_eq!(app.state(), AppState::TransferPending);
    app_events(&mut app);

    // Transferee: takes over with the execution request's MessageId (2) + 1.
    let transferee_uri = "sip:psap-b@10.0.0.3:5060";
    let mut b = PsapSession::accept_transfer(
        now + S,
        psap.call_id_urn(),
        psap.app_uri(),
        psap.last_msg_id(),
        transferee_uri,
        SOS,
        "You are now connected to PSAP B.",
        params(),
    )
    .unwrap();
    let start = psap_out(&mut b);
    assert_eq!(start.msg_type, MessageType::START_TRANSFER);
    assert_eq!(start.msg_id, Some(3));
    assert_eq!(start.reply_to.as_deref(), Some(transferee_uri));
    assert_eq!(start.call_id_urn, psap.call_id_urn());
    assert_eq!(to_app(&mut app, now + S, &start), 200);
    assert_eq!(app.state(), AppState::Established);
    let ev = app_events(&mut app);
    assert!(violations(&ev).is_empty(), "{ev:?}");
    psap.transfer_completed();
    assert_eq!(psap.state(), PsapState::Stopped);

    // The chat goes on with B; B checks the APP's ids from there.
    app.send_chat(now + 2 * S, "thanks").unwrap();
    let m = app_out(&mut app);
    assert_eq!(m.target, transferee_uri);
    assert_eq!(to_psap(&mut b, now + 2 * S, &m), 200);
    assert!(violations(&psap_events(&mut b)).is_empty());
}

#[test]
fn psap_transferor_reactivates_the_chat_when_the_transfer_fails() {
    let t0 = Instant::now();
    let (mut app, mut psap, now) = established(t0);
    psap.transfer(now, "Your chat will be transferred.")
        .unwrap();
    let stop = psap_out(&mut psap);
    to_app(&mut app, now, &stop);
    app_events(&mut app);
    assert!(psap.reactivate(now, "").is_ok());
    let back = psap_out(&mut psap);
    assert_eq!(back.msg_type, MessageType::START_TRANSFER);
    assert_eq!(back.msg_id, Some(stop.msg_id.unwrap() + 1));
    assert_eq!(back.reply_to.as_deref(), Some(REPLY_TO));
    assert_eq!(psap.state(), PsapState::Established);
    assert_eq!(to_app(&mut app, now + S, &back), 200);
    assert_eq!(app.state(), AppState::Established);
    assert_eq!(app.reply_to(), Some(REPLY_TO));
    assert!(violations(&app_events(&mut app)).is_empty());
    assert!(
        psap.reactivate(now, "").is_err(),
        "only a pending transfer re-activates"
    );
}

#[test]
fn psap_flags_app_input_while_its_transfer_is_pending() {
    let t0 = Instant::now();
    let (mut app, mut psap, now) = established(t0);
    // The APP sends an in-chat message before it has seen the 266 (or ignores it).
    app.send_chat(now, "are you there").unwrap();
    let m = app_out(&mut app);
    psap.transfer(now, "Your chat will be transferred.")
        .unwrap();
    psap_out(&mut psap);
    assert_eq!(to_psap(&mut psap, now, &m), 200);
    assert_eq!(clauses(&psap_events(&mut psap)), ["6.2.6"]);
    assert_eq!(psap.state(), PsapState::TransferringAway);
}

#[test]
fn accept_transfer_rejects_a_bad_call_identifier_or_app_uri() {
    let now = Instant::now();
    for (urn, app) in [
        ("urn:emergency:uid:callid:short:bcf.example", APP_URI),
        ("not-a-urn", APP_URI),
        (
            "urn:emergency:uid:callid:abcdefghij12345:bcf.example",
            "tel:+431234",
        ),
    ] {
        let r = PsapSession::accept_transfer(now, urn, app, 3, REPLY_TO, SOS, "hi", params());
        assert!(
            matches!(
                r,
                Err(lmpe_proto::session::SessionError::BadTransfer { .. })
            ),
            "{urn} {app}: {r:?}"
        );
    }
}

#[test]
fn a_psap_message_crossing_the_apps_own_stop_is_refused_without_a_violation() {
    let t0 = Instant::now();
    let (mut app, mut psap, now) = established(t0);
    app.stop(now, "bye").unwrap();
    app_out(&mut app);
    app_events(&mut app);
    // The PSAP's in-chat was already on its way.
    psap.send_chat(now, "Are you injured?").unwrap();
    let crossing = psap_out(&mut psap);
    assert_eq!(to_app(&mut app, now, &crossing), 481);
    assert!(violations(&app_events(&mut app)).is_empty());
}

#[test]
fn a_psap_message_after_the_psaps_own_stop_is_a_violation() {
    let t0 = Instant::now();
    let (mut app, mut psap, now) = established(t0);
    psap.stop(now, "closing").unwrap();
    let stop = psap_out(&mut psap);
    assert_eq!(to_app(&mut app, now, &stop), 200);
    app_events(&mut app);
    let late = psap_msg(&app, MessageType::IN_CHAT, Some(3), Some(REPLY_TO));
    assert_eq!(to_app(&mut app, now, &late), 481);
    assert_eq!(clauses(&app_events(&mut app)), ["6.2.3"]);
}
