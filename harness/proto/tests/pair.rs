//! An [`AppRole`] and a [`PsapRole`] wired back to back in memory (quinn-style test pair): no
//! socket is opened, every `Transmit` is moved into the other side's `Incoming` by
//! [`lmpe_proto::testing::Pair`], and a virtual clock jumps to the earliest `poll_timeout` when
//! nothing is in flight, so retransmissions, Timer F and minutes of heartbeats run in
//! milliseconds of real time.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lmpe_proto::endpoint::{Endpoint, Incoming, Transmit, TransportKind};
use lmpe_proto::roles::{
    AppConfig, AppRole, PsapConfig, PsapFaults, PsapRole, RoleEvent, WireRecord,
};
use lmpe_proto::session::{AppState, ChatParams, OutgoingChat, SessionEvent, Violation};
use lmpe_proto::testing::{Fate, Packet, Pair, Side};
use lmpe_proto::ua::{UaConfig, UDP_SIZE_LIMIT};
use lmpe_wire::lmpe::{IdentifierProfile, LmpeIds, MessageType};
use lmpe_wire::sip::{RsipParser, SipMessage, SipParser};

const SOS: &str = "urn:service:sos";
const MS: Duration = Duration::from_millis(1);
const S: Duration = Duration::from_secs(1);

fn app_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 5060))
}

fn psap_addr() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 2], 5060))
}

fn psap_uri() -> String {
    format!("sip:psap@{}", psap_addr())
}

type Chat = Pair<AppRole, PsapRole>;

/// A UDP size limit for a path whose MTU is known to be large (9000-byte jumbo frames): every
/// APP message carries a PIDF-LO and is ~1.5 kB, so with the default 1300-byte limit of
/// RFC 3261 18.1.1 all of them go over TCP and there is no UDP retransmission to observe.
const JUMBO_UDP_LIMIT: usize = 8800;

fn pair_with(faults: PsapFaults, t0: Instant) -> Chat {
    pair_with_limit(faults, UDP_SIZE_LIMIT, t0)
}

fn pair_with_limit(faults: PsapFaults, app_udp_limit: usize, t0: Instant) -> Chat {
    pair_with_profile(faults, app_udp_limit, IdentifierProfile::default(), t0)
}

fn pair_with_profile(
    faults: PsapFaults,
    app_udp_limit: usize,
    app_profile: IdentifierProfile,
    t0: Instant,
) -> Chat {
    let mut ua = UaConfig::new(app_addr());
    ua.udp_size_limit = app_udp_limit;
    let app = AppRole::new(AppConfig {
        user: "app".into(),
        element_id: "app.example.net".into(),
        outbound: (TransportKind::Udp, psap_addr()),
        params: ChatParams {
            profile: app_profile,
            ..ChatParams::default()
        },
        location: (48.208_49, 16.372_08),
        extra_headers: Vec::new(),
        extra_parts: Vec::new(),
        ua,
    });
    let psap = PsapRole::new(PsapConfig {
        name: "test PSAP".into(),
        reply_to: psap_uri(),
        uri: psap_uri(),
        outbound: (TransportKind::Udp, app_addr()),
        params: ChatParams::default(),
        greeting: "112 emergency chat, what is your emergency?".into(),
        auto_reply: Some("Received: {text}".into()),
        close_trigger: Some("#close".into()),
        redirect_target: None,
        faults,
        ua: UaConfig::new(psap_addr()),
        test_repeat_window: std::time::Duration::from_secs(120),
        test_call_limit: None,
    });
    Pair::new(app, app_addr(), psap, psap_addr(), t0)
}

fn pair(t0: Instant) -> Chat {
    pair_with(PsapFaults::default(), t0)
}

fn parse(bytes: &[u8]) -> SipMessage {
    RsipParser::default().parse(bytes).unwrap()
}

fn lmpe(msg: &SipMessage) -> LmpeIds {
    LmpeIds::extract(msg, &IdentifierProfile::LENIENT)
}

/// The LMPE Message Type of a request packet (`None` for responses).
fn packet_type(p: &Packet) -> Option<MessageType> {
    if p.is_response() {
        return None;
    }
    lmpe(&parse(&p.bytes)).msg_type
}

fn requests_from(p: &Chat, side: Side) -> Vec<Packet> {
    p.packets()
        .iter()
        .filter(|pk| pk.from == side && !pk.is_response())
        .cloned()
        .collect()
}

fn count_type(packets: &[Packet], t: MessageType) -> usize {
    packets
        .iter()
        .filter(|pk| packet_type(pk) == Some(t))
        .count()
}

/// Events of both roles, accumulated across polls.
#[derive(Default)]
struct Seen {
    app: Vec<RoleEvent>,
    psap: Vec<RoleEvent>,
}

impl Seen {
    fn poll(&mut self, p: &mut Chat) {
        self.app.extend(std::iter::from_fn(|| p.a.poll_event()));
        self.psap.extend(std::iter::from_fn(|| p.b.poll_event()));
    }
}

fn violations(events: &[RoleEvent]) -> Vec<Violation> {
    events
        .iter()
        .filter_map(|e| match e {
            RoleEvent::Violation { violation, .. } => Some(violation.clone()),
            RoleEvent::Session {
                event: SessionEvent::Violation(v),
                ..
            } => Some(v.clone()),
            _ => None,
        })
        .collect()
}

fn session_events(events: &[RoleEvent]) -> Vec<SessionEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            RoleEvent::Session { event, .. } => Some(event.clone()),
            _ => None,
        })
        .collect()
}

/// (type, msg id) of every chat message a role received from its peer.
fn received(events: &[RoleEvent]) -> Vec<(MessageType, Option<u32>, Option<String>)> {
    session_events(events)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Received {
                msg_type,
                msg_id,
                text,
            } => Some((msg_type, msg_id, text)),
            _ => None,
        })
        .collect()
}

/// (type, status) of every answer to a message the role sent.
fn answers(events: &[RoleEvent]) -> Vec<(MessageType, u16)> {
    session_events(events)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Answered {
                msg_type, status, ..
            } => Some((msg_type, status)),
            _ => None,
        })
        .collect()
}

fn heartbeats(events: &[RoleEvent]) -> usize {
    session_events(events)
        .iter()
        .filter(|e| matches!(e, SessionEvent::Heartbeat { .. }))
        .count()
}

fn unmatched(events: &[RoleEvent]) -> Vec<(u16, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            RoleEvent::Unmatched { status, reason, .. } => Some((*status, reason.clone())),
            _ => None,
        })
        .collect()
}

fn raw_answers(events: &[RoleEvent]) -> Vec<(u64, u16)> {
    events
        .iter()
        .filter_map(|e| match e {
            RoleEvent::RawAnswered { handle, status } => Some((*handle, *status)),
            _ => None,
        })
        .collect()
}

fn app_state(p: &Chat, chat: &str) -> AppState {
    p.a.session(chat).unwrap().state()
}

/// Starts a chat and lets it establish (no loss: within the same virtual instant).
fn establish(p: &mut Chat) -> String {
    let now = p.now();
    let chat = p.a.start_chat(now, SOS, "I need help").unwrap();
    p.drive();
    assert_eq!(app_state(p, &chat), AppState::Established);
    chat
}

/// A hand-made APP message for `chat` (its Call Identifier) to the PSAP's Reply-To.
fn app_message(p: &Chat, chat: &str, msg_type: MessageType, msg_id: Option<u32>) -> OutgoingChat {
    let call_id = p.a.session(chat).unwrap().call_id().clone();
    OutgoingChat {
        handle: 0,
        target: psap_uri(),
        msg_type,
        msg_id,
        call_id_urn: call_id.urn(IdentifierProfile::LENIENT.call_id_prefixes[0]),
        call_id,
        text: Some("hand-made".into()),
        reply_to: None,
        with_location: true,
        history_info: None,
        msg_id_purpose: None,
    }
}

/// Sends a hand-made message through the APP's transaction layer; returns its final status.
fn send_raw(p: &mut Chat, seen: &mut Seen, msg: SipMessage) -> u16 {
    let now = p.now();
    let h = p.a.send_request(now, msg).unwrap();
    p.run_for(S).unwrap();
    seen.poll(p);
    let got: Vec<u16> = raw_answers(&seen.app)
        .into_iter()
        .filter(|(handle, _)| *handle == h)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(got.len(), 1, "one final answer to the raw request: {got:?}");
    got[0]
}

/// The top-Via branch of every request `side` sent.
fn branches_from(packets: &[Packet], side: Side) -> Vec<String> {
    packets
        .iter()
        .filter(|pk| pk.from == side && !pk.is_response())
        .map(|pk| {
            let via = parse(&pk.bytes).top_via().unwrap();
            via.branch().unwrap().to_string()
        })
        .collect()
}

fn wire_counts(records: &[WireRecord]) -> (usize, usize) {
    let out = records.iter().filter(|r| r.outgoing).count();
    (out, records.len() - out)
}

#[test]
fn full_chat_with_heartbeats_has_no_violations_and_every_message_is_accounted_for() {
    let t0 = Instant::now();
    let mut p = pair(t0);
    let mut seen = Seen::default();
    let chat = establish(&mut p);
    assert_eq!(
        p.a.session(&chat).unwrap().reply_to(),
        Some(psap_uri().as_str())
    );
    assert_eq!(p.b.chat_count(), 1);

    for i in 1..=3 {
        p.run_for(2 * S).unwrap();
        let now = p.now();
        p.a.send_chat(now, &chat, &format!("message {i}")).unwrap();
        p.drive();
    }
    // Up to t0 + 45 s: APP and PSAP heartbeats at +20 s and +40 s.
    p.run_until(t0 + Duration::from_secs(45)).unwrap();
    let now = p.now();
    p.a.stop(now, &chat, "closed by the user").unwrap();
    p.drive();
    assert_eq!(app_state(&p, &chat), AppState::Stopped);
    // Let every transaction timer (K, J, server linger) run out.
    p.run_for(Duration::from_secs(120)).unwrap();
    assert_eq!(p.next_wakeup(), None, "no timer left behind after the chat");
    seen.poll(&mut p);

    assert_eq!(violations(&seen.app), [], "APP side");
    assert_eq!(violations(&seen.psap), [], "PSAP side");
    for ev in seen.app.iter().chain(&seen.psap) {
        assert!(
            !matches!(
                ev,
                RoleEvent::Malformed { .. } | RoleEvent::Unmatched { .. }
            ),
            "{ev:?}"
        );
    }

    // The APP saw the PSAP's start (id 1) and three auto-replies (ids 2..=4), two heartbeats.
    let app_rx = received(&seen.app);
    let ids: Vec<_> = app_rx.iter().map(|(t, id, _)| (*t, *id)).collect();
    assert_eq!(
        ids,
        [
            (MessageType::START, Some(1)),
            (MessageType::IN_CHAT, Some(2)),
            (MessageType::IN_CHAT, Some(3)),
            (MessageType::IN_CHAT, Some(4)),
        ]
    );
    assert_eq!(app_rx[1].2.as_deref(), Some("Received: message 1"));
    assert_eq!(heartbeats(&seen.app), 2);
    // The PSAP saw start 1, in-chat 2..=4, stop 5, and two APP heartbeats.
    let psap_rx: Vec<_> = received(&seen.psap)
        .iter()
        .map(|(t, id, _)| (*t, *id))
        .collect();
    assert_eq!(
        psap_rx,
        [
            (MessageType::START, Some(1)),
            (MessageType::IN_CHAT, Some(2)),
            (MessageType::IN_CHAT, Some(3)),
            (MessageType::IN_CHAT, Some(4)),
            (MessageType::STOP, Some(5)),
        ]
    );
    assert_eq!(heartbeats(&seen.psap), 2);
    assert!(session_events(&seen.psap).contains(&SessionEvent::Stopped { by_peer: true }));
    // Every message either side sent was answered 200.
    let app_answers = answers(&seen.app);
    assert_eq!(app_answers.len(), 7, "{app_answers:?}");
    assert!(app_answers.iter().all(|(_, s)| *s == 200));
    let psap_answers = answers(&seen.psap);
    assert_eq!(psap_answers.len(), 6, "{psap_answers:?}");
    assert!(psap_answers.iter().all(|(_, s)| *s == 200));

    // Accounting: 13 requests + 13 responses, each sent once (no retransmission) and delivered.
    let packets = p.packets().to_vec();
    assert!(packets.iter().all(|pk| pk.fate == Fate::Delivered));
    // RFC 3261 18.1.1: requests over 1300 bytes (every APP message: it carries a PIDF-LO) go
    // over TCP, the rest over UDP; responses follow their request.
    for pk in packets.iter().filter(|pk| !pk.is_response()) {
        let tcp = pk.bytes.len() > UDP_SIZE_LIMIT;
        assert_eq!(
            pk.transport == TransportKind::Tcp,
            tcp,
            "{}",
            pk.first_line()
        );
        assert_eq!(pk.transport == TransportKind::Tcp, pk.from == Side::A);
    }
    let app_req = requests_from(&p, Side::A);
    let psap_req = requests_from(&p, Side::B);
    assert_eq!(app_req.len(), 7);
    assert_eq!(psap_req.len(), 6);
    assert_eq!(count_type(&app_req, MessageType::START), 1);
    assert_eq!(count_type(&app_req, MessageType::IN_CHAT), 3);
    assert_eq!(count_type(&app_req, MessageType::HEARTBEAT), 2);
    assert_eq!(count_type(&app_req, MessageType::STOP), 1);
    assert_eq!(count_type(&psap_req, MessageType::START), 1);
    assert_eq!(count_type(&psap_req, MessageType::IN_CHAT), 3);
    assert_eq!(count_type(&psap_req, MessageType::HEARTBEAT), 2);
    let responses = |side| {
        packets
            .iter()
            .filter(|pk| pk.from == side && pk.is_response())
            .count()
    };
    assert_eq!(responses(Side::B), app_req.len());
    assert_eq!(responses(Side::A), psap_req.len());
    for (side, n) in [(Side::A, 7), (Side::B, 6)] {
        let mut branches = branches_from(&packets, side);
        branches.sort();
        branches.dedup();
        assert_eq!(
            branches.len(),
            n,
            "every request of {side:?} sent exactly once"
        );
    }

    // Heartbeats on the wire, every 20 s after establishment (t0).
    let beat_at: Vec<Duration> = app_req
        .iter()
        .filter(|pk| packet_type(pk) == Some(MessageType::HEARTBEAT))
        .map(|pk| pk.at - t0)
        .collect();
    assert_eq!(beat_at, [20 * S, 40 * S]);

    // What each role recorded matches what the pair moved.
    let (app_out, app_in) = wire_counts(&p.a.take_wire());
    let (psap_out, psap_in) = wire_counts(&p.b.take_wire());
    let from = |side| packets.iter().filter(|pk| pk.from == side).count();
    assert_eq!((app_out, psap_in), (from(Side::A), from(Side::A)));
    assert_eq!((psap_out, app_in), (from(Side::B), from(Side::B)));
    assert_eq!(packets.len(), 26);
}

#[test]
fn lost_start_is_retransmitted_after_t1_and_the_chat_establishes() {
    let real = Instant::now();
    let t0 = Instant::now();
    let mut p = pair_with_limit(PsapFaults::default(), JUMBO_UDP_LIMIT, t0);
    let mut dropped = false;
    p.set_drop_filter(move |pk| {
        let drop = !dropped && pk.from == Side::A;
        dropped |= drop;
        drop
    });
    let now = p.now();
    let chat = p.a.start_chat(now, SOS, "I need help").unwrap();
    p.drive();
    assert_eq!(app_state(&p, &chat), AppState::Starting);
    assert_eq!(p.packets().len(), 1);
    assert_eq!(p.packets()[0].fate, Fate::Dropped);
    assert_eq!(p.packets()[0].transport, TransportKind::Udp);

    // Nothing happens before T1.
    p.run_until(t0 + 499 * MS).unwrap();
    assert_eq!(p.packets().len(), 1);
    let established = p
        .run_until_with(Duration::from_secs(5), |p| {
            app_state(p, &chat) == AppState::Established
        })
        .unwrap();
    assert!(established);
    assert_eq!(
        p.elapsed(),
        500 * MS,
        "established by the retransmission at T1"
    );

    let first = &p.packets()[0];
    let again = &p.packets()[1];
    assert_eq!(again.from, Side::A);
    assert_eq!(again.at - t0, 500 * MS);
    assert_eq!(again.fate, Fate::Delivered);
    assert_eq!(
        again.bytes, first.bytes,
        "a retransmission, not a new request"
    );
    assert_eq!(packet_type(again), Some(MessageType::START));

    let mut seen = Seen::default();
    p.run_for(Duration::from_secs(60)).unwrap();
    seen.poll(&mut p);
    assert_eq!(violations(&seen.app), []);
    assert_eq!(violations(&seen.psap), []);
    assert_eq!(answers(&seen.app)[0], (MessageType::START, 200));
    // The retransmission was the only one: the 200 arrived before the next Timer E (1.5 s).
    assert_eq!(
        count_type(&requests_from(&p, Side::A), MessageType::START),
        2
    );
    assert!(real.elapsed() < Duration::from_secs(10));
}

#[test]
fn start_times_out_with_408_after_timer_f_when_the_psap_is_unreachable() {
    let real = Instant::now();
    let t0 = Instant::now();
    let mut p = pair_with_limit(PsapFaults::default(), JUMBO_UDP_LIMIT, t0);
    p.set_drop_filter(|pk| pk.from == Side::B);
    let now = p.now();
    let chat = p.a.start_chat(now, SOS, "I need help").unwrap();
    let failed = p
        .run_until_with(Duration::from_secs(60), |p| {
            app_state(p, &chat) == AppState::Failed
        })
        .unwrap();
    assert!(failed);
    assert_eq!(p.elapsed(), Duration::from_secs(32), "Timer F = 64 * T1");

    let mut seen = Seen::default();
    seen.poll(&mut p);
    assert_eq!(answers(&seen.app), [(MessageType::START, 408)]);
    assert!(session_events(&seen.app)
        .iter()
        .any(|e| matches!(e, SessionEvent::Failed { reason } if reason.contains("408"))));

    // RFC 3261 17.1.2.2 schedule: T1, 2T1, 4T1, then T2 until Timer F.
    let sent_at: Vec<u128> = requests_from(&p, Side::A)
        .iter()
        .map(|pk| (pk.at - t0).as_millis())
        .collect();
    assert_eq!(
        sent_at,
        [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
    );
    assert!(p
        .packets()
        .iter()
        .all(|pk| (pk.from == Side::B) == (pk.fate == Fate::Dropped)));
    // The PSAP absorbed the retransmissions: one chat, one session.
    assert_eq!(p.b.chat_count(), 1);
    assert!(real.elapsed() < Duration::from_secs(10));
}

#[test]
fn start_times_out_with_408_after_timer_f_over_tcp_too() {
    let t0 = Instant::now();
    let mut p = pair(t0);
    p.set_drop_filter(|pk| pk.from == Side::B);
    let now = p.now();
    let chat = p.a.start_chat(now, SOS, "I need help").unwrap();
    let failed = p
        .run_until_with(Duration::from_secs(60), |p| {
            app_state(p, &chat) == AppState::Failed
        })
        .unwrap();
    assert!(failed);
    assert_eq!(p.elapsed(), Duration::from_secs(32));
    let sent = requests_from(&p, Side::A);
    assert_eq!(sent.len(), 1, "no retransmission over a reliable transport");
    assert_eq!(sent[0].transport, TransportKind::Tcp);
    let mut seen = Seen::default();
    seen.poll(&mut p);
    assert_eq!(answers(&seen.app), [(MessageType::START, 408)]);
}

#[test]
fn a_request_over_1300_bytes_goes_over_tcp() {
    let t0 = Instant::now();
    let mut p = pair(t0);
    let chat = establish(&mut p);
    // The APP's start carries a PIDF-LO (~1.5 kB): TCP. The PSAP's start is small: UDP.
    let start = &p.packets()[0];
    assert!(start.bytes.len() > UDP_SIZE_LIMIT, "{}", start.bytes.len());
    assert_eq!(start.transport, TransportKind::Tcp);
    assert_eq!(parse(&start.bytes).top_via().unwrap().transport, "TCP");
    let psap_start = requests_from(&p, Side::B).remove(0);
    assert!(psap_start.bytes.len() <= UDP_SIZE_LIMIT);
    assert_eq!(psap_start.transport, TransportKind::Udp);
    assert_eq!(parse(&psap_start.bytes).top_via().unwrap().transport, "UDP");

    // A long chat text pushes the APP's in-chat further over the limit.
    let long = "help ".repeat(300);
    let before = p.packets().len();
    let now = p.now();
    p.a.send_chat(now, &chat, &long).unwrap();
    p.drive();
    let new = p.packets()[before..].to_vec();
    let request = &new[0];
    assert_eq!(request.from, Side::A);
    assert!(request.bytes.len() > UDP_SIZE_LIMIT + long.len());
    assert_eq!(request.transport, TransportKind::Tcp, "RFC 3261 18.1.1");
    assert_eq!(parse(&request.bytes).top_via().unwrap().transport, "TCP");
    // The response comes back on the same (reliable) transport.
    let response = new
        .iter()
        .find(|pk| pk.from == Side::B && pk.is_response())
        .unwrap();
    assert_eq!(response.transport, TransportKind::Tcp);
    // The PSAP's auto-reply quotes the long text: a PSAP request over 1300 bytes, so TCP too.
    let reply = new
        .iter()
        .find(|pk| pk.from == Side::B && !pk.is_response())
        .unwrap();
    assert!(reply.bytes.len() > UDP_SIZE_LIMIT);
    assert_eq!(reply.transport, TransportKind::Tcp);
    assert_eq!(parse(&reply.bytes).top_via().unwrap().transport, "TCP");

    // A short PSAP message afterwards is UDP again.
    let before = p.packets().len();
    let now = p.now();
    p.b.send_chat(now, &chat, "short").unwrap();
    p.drive();
    let short = &p.packets()[before];
    assert_eq!(short.from, Side::B);
    assert_eq!(short.transport, TransportKind::Udp);
    assert_eq!(parse(&short.bytes).top_via().unwrap().transport, "UDP");

    let mut seen = Seen::default();
    seen.poll(&mut p);
    assert_eq!(violations(&seen.app), []);
    assert_eq!(violations(&seen.psap), []);
    let rx = received(&seen.app);
    assert_eq!(rx.len(), 3);
    assert_eq!(
        rx[1].2.as_deref(),
        Some(format!("Received: {long}").as_str())
    );
    assert_eq!(rx[2].2.as_deref(), Some("short"));
}

#[test]
fn latency_delays_every_delivery() {
    let t0 = Instant::now();
    let mut p = pair_with_limit(PsapFaults::default(), JUMBO_UDP_LIMIT, t0);
    p.set_latency(50 * MS);
    let now = p.now();
    let chat = p.a.start_chat(now, SOS, "I need help").unwrap();
    p.drive();
    assert_eq!(p.in_flight(), 1);
    let ok = p
        .run_until_with(Duration::from_secs(5), |p| {
            app_state(p, &chat) == AppState::Established
        })
        .unwrap();
    assert!(ok);
    // start arrives at 50 ms; the PSAP's start (sent then) arrives at 100 ms.
    assert_eq!(p.elapsed(), 100 * MS);
    // One round trip (100 ms) is shorter than T1: no retransmission.
    p.run_for(Duration::from_secs(2)).unwrap();
    assert_eq!(requests_from(&p, Side::A).len(), 1);
}

/// An endpoint whose timeout never makes progress.
struct Stuck(Instant);

impl Endpoint for Stuck {
    fn handle_input(&mut self, _now: Instant, _input: Incoming) {}
    fn handle_transport_error(&mut self, _: Instant, _: TransportKind, _: SocketAddr, _: &str) {}
    fn poll_transmit(&mut self) -> Option<Transmit> {
        None
    }
    fn poll_timeout(&mut self) -> Option<Instant> {
        Some(self.0)
    }
    fn handle_timeout(&mut self, _now: Instant) {}
}

#[test]
fn a_timeout_stuck_in_the_past_is_reported_not_spun_on() {
    let t0 = Instant::now();
    let mut p = Pair::new(Stuck(t0), app_addr(), Stuck(t0), psap_addr(), t0);
    let err = p.run_for(S).unwrap_err();
    assert_eq!(err.at, t0);
    assert_eq!(err.elapsed, Duration::ZERO);
}

/// RFC 3261 8.1.1.7: the branch "MUST be unique across space and time for all requests sent
/// by the UA". Regression test: two UAs on 10.0.0.1:5060 and 10.0.0.2:5060 (or any two built
/// with port 0 before `set_local`) once emitted the same branch sequence.
#[test]
fn branches_are_unique_across_both_user_agents() {
    let mut p = pair(Instant::now());
    establish(&mut p);
    let a = branches_from(p.packets(), Side::A);
    let b = branches_from(p.packets(), Side::B);
    assert!(a.iter().all(|x| !b.contains(x)), "APP {a:?} vs PSAP {b:?}");
}

// ---- every PsapFaults variant, as the APP side sees it ----

/// A standard script: start, 2 s, one in-chat, 61 s (3 heartbeats each way), then stop.
fn scripted(faults: PsapFaults) -> (Chat, Seen, String) {
    let t0 = Instant::now();
    let mut p = pair_with(faults, t0);
    let mut seen = Seen::default();
    let now = p.now();
    let chat = p.a.start_chat(now, SOS, "I need help").unwrap();
    p.run_for(2 * S).unwrap();
    let now = p.now();
    if p.a.send_chat(now, &chat, "first").is_ok() {
        p.drive();
    }
    p.run_until(t0 + Duration::from_secs(61)).unwrap();
    let now = p.now();
    if p.a.stop(now, &chat, "bye").is_ok() {
        p.run_for(S).unwrap();
    }
    seen.poll(&mut p);
    (p, seen, chat)
}

#[test]
fn no_fault_baseline() {
    let (p, seen, chat) = scripted(PsapFaults::default());
    assert_eq!(violations(&seen.app), []);
    assert_eq!(app_state(&p, &chat), AppState::Stopped);
    assert_eq!(heartbeats(&seen.app), 3);
    let a = answers(&seen.app);
    assert!(a.iter().all(|(_, s)| *s == 200), "{a:?}");
    assert_eq!(
        received(&seen.app)
            .iter()
            .filter(|(t, _, _)| *t == MessageType::IN_CHAT)
            .count(),
        1
    );
}

#[test]
fn fault_omit_reply_to_is_a_6_2_2_violation() {
    let (p, seen, chat) = scripted(PsapFaults {
        omit_reply_to: true,
        ..PsapFaults::default()
    });
    let v = violations(&seen.app);
    assert!(!v.is_empty());
    assert_eq!(v[0].clause, "6.2.2");
    assert!(v[0].expectation.contains("Reply-To"), "{}", v[0]);
    // Without a Reply-To the session never establishes; the start deadline then fails it.
    assert_eq!(app_state(&p, &chat), AppState::Failed);
    assert!(
        v.iter()
            .any(|x| x.clause == "6.2.2" && x.detail.contains("no start/257")),
        "{v:?}"
    );
    assert!(!session_events(&seen.app)
        .iter()
        .any(|e| matches!(e, SessionEvent::Established { .. })));
}

#[test]
fn fault_no_start_fails_the_chat_after_the_start_deadline() {
    let (p, seen, chat) = scripted(PsapFaults {
        no_start: true,
        ..PsapFaults::default()
    });
    assert_eq!(answers(&seen.app), [(MessageType::START, 200)]);
    assert_eq!(app_state(&p, &chat), AppState::Failed);
    let v = violations(&seen.app);
    assert!(
        v.iter().any(|x| x.clause == "6.2.2"
            && x.detail
                .contains("no start/257 from the PSAP within 40.0 s")),
        "{v:?}"
    );
    // The PSAP's heartbeats for a chat it never started are flagged too.
    assert!(
        v.iter().all(|x| x.clause == "6.2.2" || x.clause == "6.2.5"),
        "{v:?}"
    );
    assert_eq!(received(&seen.app), []);
    // Without the PSAP start the APP sends nothing else (no chat, no heartbeats).
    assert_eq!(requests_from(&p, Side::A).len(), 1);
}

#[test]
fn fault_reject_start_fails_the_session_with_the_status() {
    let (p, seen, chat) = scripted(PsapFaults::by_name("reject-start").unwrap());
    assert_eq!(answers(&seen.app), [(MessageType::START, 480)]);
    assert_eq!(app_state(&p, &chat), AppState::Failed);
    assert!(session_events(&seen.app)
        .iter()
        .any(|e| matches!(e, SessionEvent::Failed { reason } if reason.contains("480"))));
    assert_eq!(unmatched(&seen.psap)[0].0, 480);
}

#[test]
fn fault_wrong_call_id_is_refused_481_by_the_app() {
    let (p, seen, chat) = scripted(PsapFaults {
        wrong_call_id: true,
        ..PsapFaults::default()
    });
    let u = unmatched(&seen.app);
    assert!(!u.is_empty());
    assert!(u.iter().all(|(status, _)| *status == 481), "{u:?}");
    assert!(u[0].1.contains("unknown Call Identifier"), "{}", u[0].1);
    assert_eq!(app_state(&p, &chat), AppState::Failed);
    assert!(answers(&seen.psap).contains(&(MessageType::START, 481)));
}

#[test]
fn fault_frozen_msg_id_is_a_6_2_3_violation_on_the_first_psap_in_chat() {
    let (_p, seen, _chat) = scripted(PsapFaults {
        frozen_msg_id: true,
        ..PsapFaults::default()
    });
    // The PSAP's start (id 1) is fine; its first in-chat (the second PSAP message) also
    // carries 1.
    let v = violations(&seen.app);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].clause, "6.2.3");
    assert!(
        v[0].detail.contains("in-chat/259 carries 1 after 1"),
        "{}",
        v[0]
    );
    let rx: Vec<_> = received(&seen.app)
        .iter()
        .map(|(t, i, _)| (*t, *i))
        .collect();
    assert_eq!(
        rx,
        [
            (MessageType::START, Some(1)),
            (MessageType::IN_CHAT, Some(1))
        ]
    );
}

#[test]
fn fault_accept_unknown_chat_answers_200_instead_of_481() {
    for (faults, expected) in [
        (PsapFaults::default(), 481),
        (
            PsapFaults {
                accept_unknown_chat: true,
                ..PsapFaults::default()
            },
            200,
        ),
    ] {
        let mut p = pair_with(faults, Instant::now());
        let mut seen = Seen::default();
        let chat = p.a.start_chat_silently(p.now()).unwrap();
        let out = app_message(&p, &chat, MessageType::IN_CHAT, Some(2));
        let msg = p.a.build_message(&chat, &out).unwrap();
        assert_eq!(send_raw(&mut p, &mut seen, msg), expected);
    }
}

#[test]
fn fault_ignore_stop_answers_200_after_the_stop_instead_of_481() {
    for (faults, expected) in [
        (PsapFaults::default(), 481),
        (
            PsapFaults {
                ignore_stop: true,
                ..PsapFaults::default()
            },
            200,
        ),
    ] {
        let mut p = pair_with(faults, Instant::now());
        let mut seen = Seen::default();
        let chat = establish(&mut p);
        let now = p.now();
        p.a.stop(now, &chat, "bye").unwrap();
        p.drive();
        let late = app_message(&p, &chat, MessageType::IN_CHAT, Some(3));
        let msg = p.a.build_message(&chat, &late).unwrap();
        assert_eq!(send_raw(&mut p, &mut seen, msg), expected);
        let psap_clauses: Vec<_> = violations(&seen.psap).iter().map(|v| v.clause).collect();
        if expected == 481 {
            assert_eq!(psap_clauses, ["6.2.3"]);
        } else {
            assert_eq!(psap_clauses, Vec::<&str>::new());
        }
    }
}

#[test]
fn fault_reject_heartbeat_answers_heartbeats_400() {
    let (_p, seen, _chat) = scripted(PsapFaults {
        reject_heartbeat: true,
        ..PsapFaults::default()
    });
    let beats: Vec<u16> = answers(&seen.app)
        .into_iter()
        .filter(|(t, _)| *t == MessageType::HEARTBEAT)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(beats, [400, 400, 400]);
}

#[test]
fn fault_no_reply_sends_no_in_chat_back() {
    let (_p, seen, _chat) = scripted(PsapFaults {
        no_reply: true,
        ..PsapFaults::default()
    });
    let rx: Vec<_> = received(&seen.app).iter().map(|(t, _, _)| *t).collect();
    assert_eq!(rx, [MessageType::START]);
    assert!(received(&seen.psap)
        .iter()
        .any(|(t, _, _)| *t == MessageType::IN_CHAT));
    assert_eq!(violations(&seen.app), []);
}

#[test]
fn fault_accept_any_start_answers_an_invalid_start_200_instead_of_400() {
    for (faults, expected) in [
        (PsapFaults::default(), 400),
        (
            PsapFaults {
                accept_any_start: true,
                ..PsapFaults::default()
            },
            200,
        ),
    ] {
        let mut p = pair_with(faults, Instant::now());
        let mut seen = Seen::default();
        let chat = p.a.start_chat_silently(p.now()).unwrap();
        let mut out = app_message(&p, &chat, MessageType::START, Some(1));
        out.target = SOS.into();
        let mut msg = p.a.build_message(&chat, &out).unwrap();
        assert_eq!(msg.remove_headers("Call-Info"), 3);
        assert_eq!(send_raw(&mut p, &mut seen, msg), expected);
        assert_eq!(p.b.chat_count(), 0);
    }
}

#[test]
fn fault_reject_stop_answers_the_stop_400() {
    let (_p, seen, _chat) = scripted(PsapFaults {
        reject_stop: true,
        ..PsapFaults::default()
    });
    let a = answers(&seen.app);
    assert_eq!(a.last(), Some(&(MessageType::STOP, 400)), "{a:?}");
}

#[test]
fn fault_no_heartbeat_sends_no_psap_heartbeats() {
    let (p, seen, _chat) = scripted(PsapFaults {
        no_heartbeat: true,
        ..PsapFaults::default()
    });
    assert_eq!(heartbeats(&seen.app), 0);
    assert_eq!(
        count_type(&requests_from(&p, Side::B), MessageType::HEARTBEAT),
        0
    );
    // The APP still sends its own.
    assert_eq!(heartbeats(&seen.psap), 3);
}

#[test]
fn every_psap_fault_has_a_pair_test() {
    const TESTED: [&str; 23] = [
        "no-callback-priority",
        "reject-p-access-network-info",
        "transfer-wrong-msg-id",
        "reject-accept-contact",
        "reject-did",
        "redirect-no-target",
        "redirect-wrong-msg-id",
        "test-no-close",
        "test-wrong-text",
        "test-no-refusal",
        "fixed-id-forms",
        "accept-any-start",
        "reject-stop",
        "no-heartbeat",
        "omit-reply-to",
        "no-start",
        "reject-start",
        "wrong-call-id",
        "frozen-msg-id",
        "accept-unknown-chat",
        "ignore-stop",
        "reject-heartbeat",
        "no-reply",
    ];
    for name in PsapFaults::NAMES {
        assert!(TESTED.contains(&name), "no pair test for fault {name}");
        let f = PsapFaults::by_name(name).unwrap();
        assert_ne!(f, PsapFaults::default(), "{name}");
    }
}

/// A strict-text APP (6.1.2.7 text forms) gets its own Call Identifier URN and Message
/// Identifier purpose back from a PSAP that mirrors them; a PSAP that writes its own forms is
/// flagged under 6.1.2.7.
#[test]
fn psap_mirrors_identifier_forms_and_fixed_id_forms_is_flagged() {
    for (faults, flagged) in [
        (PsapFaults::default(), false),
        (PsapFaults::by_name("fixed-id-forms").unwrap(), true),
    ] {
        let t0 = Instant::now();
        let mut p = pair_with_profile(faults, 8800, IdentifierProfile::STRICT_TEXT, t0);
        let now = p.now();
        let chat = p.a.start_chat(now, SOS, "I need help").unwrap();
        p.run_for(2 * S).unwrap();
        let mut seen = Seen::default();
        seen.poll(&mut p);
        let v = violations(&seen.app);
        if flagged {
            assert!(v.iter().any(|x| x.clause == "6.1.2.7"), "{v:?}");
        } else {
            assert_eq!(v, [], "chat {chat}");
        }
    }
}

/// Two test chats (6.1.2.10) from the same APP, 1 s apart.
fn two_test_calls(faults: PsapFaults) -> (Chat, Seen, String, String) {
    let t0 = Instant::now();
    let mut p = pair_with(faults, t0);
    let now = p.now();
    let first = p.a.start_chat(now, "urn:service:sos.test", "test").unwrap();
    p.run_for(S).unwrap();
    let now = p.now();
    let second =
        p.a.start_chat(now, "urn:service:sos.fire.test", "again")
            .unwrap();
    p.run_for(41 * S).unwrap();
    let mut seen = Seen::default();
    seen.poll(&mut p);
    (p, seen, first, second)
}

#[test]
fn test_call_is_closed_at_once_and_a_repeat_is_refused_486() {
    let (p, seen, first, second) = two_test_calls(PsapFaults::default());
    assert_eq!(violations(&seen.app), []);
    assert_eq!(app_state(&p, &first), AppState::Stopped);
    assert_eq!(app_state(&p, &second), AppState::Failed);
    let a = answers(&seen.app);
    assert_eq!(
        a,
        [(MessageType::START, 200), (MessageType::START, 486)],
        "{a:?}"
    );
    let closing = received(&seen.app);
    assert_eq!(closing.len(), 1, "{closing:?}");
}

#[test]
fn fault_test_no_close_is_a_6_1_2_10_violation() {
    let (p, seen, first, _) = two_test_calls(PsapFaults::by_name("test-no-close").unwrap());
    let v = violations(&seen.app);
    assert!(
        v.iter()
            .any(|x| x.clause == "6.1.2.10" && x.detail.contains("no closing stop/258")),
        "{v:?}"
    );
    assert_eq!(app_state(&p, &first), AppState::Failed);
}

#[test]
fn fault_test_wrong_text_is_a_6_1_2_10_violation() {
    let (_p, seen, _, _) = two_test_calls(PsapFaults::by_name("test-wrong-text").unwrap());
    let v = violations(&seen.app);
    assert!(v.iter().any(|x| x.clause == "6.1.2.10"), "{v:?}");
}

#[test]
fn fault_test_no_refusal_accepts_the_repeat() {
    let (_p, seen, _, _) = two_test_calls(PsapFaults::by_name("test-no-refusal").unwrap());
    let a = answers(&seen.app);
    assert_eq!(
        a,
        [(MessageType::START, 200), (MessageType::START, 200)],
        "{a:?}"
    );
}

/// An established chat that the PSAP redirects (6.2.7) on the APP's "#redirect".
fn redirected(faults: PsapFaults) -> (Chat, Seen, String) {
    let mut p = pair_with(faults, Instant::now());
    p.b.set_redirect_target(Some("sip:psap-b@10.0.0.2:5060".into()));
    let chat = establish(&mut p);
    let now = p.now();
    p.a.send_chat(now, &chat, "#redirect").unwrap();
    p.run_for(S).unwrap();
    let mut seen = Seen::default();
    seen.poll(&mut p);
    (p, seen, chat)
}

#[test]
fn redirect_sends_start_redirect_with_history_info_to_the_target() {
    let (p, seen, chat) = redirected(PsapFaults::default());
    assert!(
        session_events(&seen.app)
            .iter()
            .any(|e| matches!(e, SessionEvent::Redirected { target } if target == "sip:psap-b@10.0.0.2:5060")),
        "{:?}",
        session_events(&seen.app)
    );
    let start_redirect = p
        .packets()
        .iter()
        .filter(|pk| !pk.is_response())
        .map(|pk| parse(&pk.bytes))
        .find(|m| lmpe(m).msg_type == Some(MessageType::START_REDIRECT))
        .expect("the APP sent start|redirect/273");
    assert_eq!(
        start_redirect.request_uri(),
        Some("sip:psap-b@10.0.0.2:5060")
    );
    assert_eq!(
        start_redirect.header("History-Info"),
        Some(format!("<{}>;index=1", psap_uri()).as_str())
    );
    // In the pair the "target" is the same PSAP, which refuses a start for a chat it already
    // has; the APP reports the failed redirect.
    assert_eq!(app_state(&p, &chat), AppState::Failed);
    assert!(
        session_events(&seen.app).iter().any(
            |e| matches!(e, SessionEvent::Failed { reason } if reason == "start|redirect/273 was answered 400")
        ),
        "{:?}",
        session_events(&seen.app)
    );
    assert!(
        violations(&seen.app).iter().all(|v| v.clause != "6.2.7"),
        "{:?}",
        violations(&seen.app)
    );
}

#[test]
fn fault_redirect_no_target_is_a_6_2_7_violation() {
    let (p, seen, chat) = redirected(PsapFaults::by_name("redirect-no-target").unwrap());
    let v = violations(&seen.app);
    assert!(
        v.iter()
            .any(|x| x.clause == "6.2.7" && x.expectation.contains("Reply-To")),
        "{v:?}"
    );
    assert_eq!(app_state(&p, &chat), AppState::Stopped);
}

#[test]
fn fault_redirect_wrong_msg_id_is_a_6_2_7_violation() {
    let (_p, seen, _chat) = redirected(PsapFaults::by_name("redirect-wrong-msg-id").unwrap());
    let v = violations(&seen.app);
    assert!(
        v.iter()
            .any(|x| x.clause == "6.2.7" && x.detail.contains("stop|redirect/274 carries")),
        "{v:?}"
    );
}

/// A start carrying `headers` against a PSAP with `faults`; the status the start got.
fn start_with_headers(faults: PsapFaults, headers: Vec<(String, String)>) -> u16 {
    let mut p = pair_with(faults, Instant::now());
    p.a.set_extras(headers, Vec::new());
    let now = p.now();
    p.a.start_chat(now, SOS, "I need help").unwrap();
    p.run_for(S).unwrap();
    let mut seen = Seen::default();
    seen.poll(&mut p);
    answers(&seen.app).first().map_or(0, |(_, status)| *status)
}

#[test]
fn fault_reject_accept_contact_rejects_an_accepted_header() {
    let h = vec![("Accept-Contact".to_string(), "*;text".to_string())];
    assert_eq!(start_with_headers(PsapFaults::default(), h.clone()), 200);
    assert_eq!(
        start_with_headers(PsapFaults::by_name("reject-accept-contact").unwrap(), h),
        400
    );
}

#[test]
fn fault_reject_did_rejects_a_start_with_a_did() {
    let h = vec![(
        "Call-Info".to_string(),
        "<did:example:123456789abcdefghi>;purpose=EmergencyCallData.DID".to_string(),
    )];
    assert_eq!(start_with_headers(PsapFaults::default(), h.clone()), 200);
    assert_eq!(
        start_with_headers(PsapFaults::by_name("reject-did").unwrap(), h),
        400
    );
}

/// An established chat that the PSAP transfers away (stop|transfer/266) and then re-activates
/// (start|transfer/265), as the reference transferor does when the transfer fails.
fn transferred_and_reactivated(faults: PsapFaults) -> (Chat, Seen, String) {
    let mut p = pair_with(faults, Instant::now());
    let chat = establish(&mut p);
    let now = p.now();
    p.b.transfer(now, &chat, "Your chat will be transferred.")
        .unwrap();
    p.run_for(S).unwrap();
    assert_eq!(app_state(&p, &chat), AppState::TransferPending);
    let now = p.now();
    p.b.reactivate(now, &chat, "The transfer failed; I am still here.")
        .unwrap();
    p.run_for(S).unwrap();
    let mut seen = Seen::default();
    seen.poll(&mut p);
    (p, seen, chat)
}

#[test]
fn transfer_then_reactivation_keeps_the_chat_with_the_transferor() {
    let (p, seen, chat) = transferred_and_reactivated(PsapFaults::default());
    assert_eq!(app_state(&p, &chat), AppState::Established);
    assert!(
        violations(&seen.app).is_empty(),
        "{:?}",
        violations(&seen.app)
    );
}

#[test]
fn fault_transfer_wrong_msg_id_is_a_6_2_6_violation() {
    let (_p, seen, _chat) =
        transferred_and_reactivated(PsapFaults::by_name("transfer-wrong-msg-id").unwrap());
    let v = violations(&seen.app);
    assert!(v.iter().any(|x| x.clause == "6.2.6"), "{v:?}");
}

#[test]
fn fault_reject_p_access_network_info_rejects_a_table_1_header() {
    let h = vec![(
        "P-Access-Network-Info".to_string(),
        "3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=2620100000000101".to_string(),
    )];
    assert_eq!(start_with_headers(PsapFaults::default(), h.clone()), 200);
    assert_eq!(
        start_with_headers(
            PsapFaults::by_name("reject-p-access-network-info").unwrap(),
            h
        ),
        400
    );
}

/// Resource-Priority values on the PSAP's requests to the APP.
fn psap_priorities(faults: PsapFaults) -> Vec<String> {
    let mut p = pair_with(faults, Instant::now());
    establish(&mut p);
    p.packets()
        .iter()
        .filter(|pk| !pk.is_response())
        .map(|pk| parse(&pk.bytes))
        .filter(|m| m.header("Reply-To").is_some())
        .map(|m| m.header("Resource-Priority").unwrap_or("none").to_string())
        .collect()
}

#[test]
fn psap_messages_are_callbacks_marked_esnet_0() {
    let clean = psap_priorities(PsapFaults::default());
    assert!(!clean.is_empty());
    assert!(clean.iter().all(|v| v == "esnet.0"), "{clean:?}");
    let broken = psap_priorities(PsapFaults::by_name("no-callback-priority").unwrap());
    assert!(broken.iter().all(|v| v == "none"), "{broken:?}");
}

#[test]
fn ended_chats_are_forgotten_after_the_linger_so_memory_does_not_grow() {
    let mut p = pair_with(PsapFaults::default(), Instant::now());
    let chat = establish(&mut p);
    let now = p.now();
    p.a.stop(now, &chat, "bye").unwrap();
    p.run_for(S).unwrap();
    assert_eq!(
        p.b.chat_count(),
        1,
        "kept while late messages may still come"
    );
    p.run_for(lmpe_proto::roles::ENDED_CHAT_LINGER).unwrap();
    assert_eq!(p.b.chat_count(), 0);
}
