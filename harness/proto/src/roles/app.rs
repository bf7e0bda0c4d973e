//! The simulated APP (5.6): holds any number of chats through one UA core.

use std::collections::{HashMap, VecDeque};

use super::chats::{flush_dirty, ChatOwner, Chats, Timed};
use std::net::SocketAddr;
use std::time::Instant;

use lmpe_wire::lmpe::{CallId, LmpeIds, MessageType};
use lmpe_wire::sip::{reason_phrase, ResponseBuilder, SipMessage};

use super::build::{chat_request, Sender};
use super::{token, RoleEvent, WireLog, WireRecord};
use crate::endpoint::{Endpoint, Incoming, Transmit, TransportKind};
use crate::session::{AppSession, ChatParams, OutgoingChat, SessionError};
use crate::ua::{UaConfig, UaEvent, UserAgent};

/// Configuration of a simulated APP.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// SIP user part of the APP's URI (`sip:USER@ip:port`).
    pub user: String,
    /// Element Identifier written into Call Identifiers.
    pub element_id: String,
    /// Where requests go: the BCF (transport and address).
    pub outbound: (TransportKind, SocketAddr),
    /// Session settings.
    pub params: ChatParams,
    /// Location reported (WGS84 latitude, longitude).
    pub location: (f64, f64),
    /// Extra headers on every request (e.g. `Resource-Priority`).
    pub extra_headers: Vec<(String, String)>,
    /// Additional body parts sent with location (6.1.2.8: images, vCards, eCall MSD).
    pub extra_parts: Vec<lmpe_wire::multipart::Part>,
    /// UA settings (local address is set by the driver).
    pub ua: UaConfig,
}

/// Deliberate deviations of the simulated APP from TS 103 698, for proving that the checks
/// of an APP under test fail ("broken peer").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppFaults {
    /// 5.6.4/6.2.2/6.2.3: messages carry no location.
    pub no_location: bool,
    /// 6.1.2.7: every Message Identifier is 1.
    pub frozen_msg_id: bool,
    /// 6.2.5: no heartbeats.
    pub no_heartbeat: bool,
    /// 6.2.3: in-chat/259 goes to the service URN instead of the PSAP's Reply-To.
    pub ignore_reply_to: bool,
    /// 6.2.4: the PSAP's stop/258 is answered 481 instead of 200.
    pub reject_stop: bool,
    /// 6.2.6: stop|transfer/266 is answered 488 instead of 200.
    pub refuse_stop_transfer: bool,
    /// 6.2.6: input is not stalled: an in-chat/259 follows a stop|transfer/266 at once.
    pub chat_during_transfer: bool,
    /// 6.2.6: a second start|transfer/265 is accepted with 200.
    pub accept_second_start_transfer: bool,
    /// 6.2.7: start|redirect/273 carries no History-Info.
    pub redirect_no_history_info: bool,
    /// 6.1.2.10: a test chat is placed to urn:service:sos instead of the test service.
    pub test_as_emergency: bool,
}

impl AppFaults {
    /// Names accepted by [`AppFaults::by_name`].
    pub const NAMES: [&'static str; 10] = [
        "app-no-location",
        "app-frozen-msg-id",
        "app-no-heartbeat",
        "app-ignore-reply-to",
        "app-reject-stop",
        "app-refuse-stop-transfer",
        "app-chat-during-transfer",
        "app-accept-second-start-transfer",
        "app-redirect-no-history-info",
        "app-test-as-emergency",
    ];

    /// One fault by name.
    pub fn by_name(name: &str) -> Option<Self> {
        let mut f = Self::default();
        match name {
            "app-no-location" => f.no_location = true,
            "app-frozen-msg-id" => f.frozen_msg_id = true,
            "app-no-heartbeat" => f.no_heartbeat = true,
            "app-ignore-reply-to" => f.ignore_reply_to = true,
            "app-reject-stop" => f.reject_stop = true,
            "app-refuse-stop-transfer" => f.refuse_stop_transfer = true,
            "app-chat-during-transfer" => f.chat_during_transfer = true,
            "app-accept-second-start-transfer" => f.accept_second_start_transfer = true,
            "app-redirect-no-history-info" => f.redirect_no_history_info = true,
            "app-test-as-emergency" => f.test_as_emergency = true,
            _ => return None,
        }
        Some(f)
    }
}

#[derive(Debug)]
pub(crate) struct Chat {
    session: AppSession,
    sip_call_id: String,
    from_tag: String,
    cseq: u32,
}

impl Timed for Chat {
    fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
    }
}

/// The simulated APP.
#[derive(Debug)]
pub struct AppRole {
    cfg: AppConfig,
    ua: UserAgent,
    chats: Chats<Chat>,
    /// UA handle → (chat, session handle) of our chat messages in flight.
    pending: HashMap<u64, (String, u64)>,
    raw_pending: HashMap<u64, ()>,
    events: VecDeque<RoleEvent>,
    wire: WireLog,
    seq: u64,
    faults: AppFaults,
    /// A PIDF-LO sent instead of the point of [`AppConfig::location`].
    location_pidf: Option<String>,
}

impl AppRole {
    /// A new APP.
    pub fn new(cfg: AppConfig) -> Self {
        Self {
            ua: UserAgent::new(cfg.ua.clone()),
            cfg,
            chats: Chats::new(),
            pending: HashMap::new(),
            raw_pending: HashMap::new(),
            events: VecDeque::new(),
            wire: WireLog::default(),
            seq: 0,
            faults: AppFaults::default(),
            location_pidf: None,
        }
    }

    /// Sends `pidf` (a whole PIDF-LO document: a polygon, a circle, a civic address …) as the
    /// location of later messages instead of the point of [`AppConfig::location`]; `None`
    /// goes back to the point.
    pub fn set_location_pidf(&mut self, pidf: Option<String>) {
        self.location_pidf = pidf;
    }

    /// Sets the bound address (called once the driver bound the socket).
    pub fn set_local(&mut self, local: SocketAddr) {
        self.ua.set_local(local);
    }

    /// Stops recording wire messages (load runs).
    pub fn set_recording(&mut self, on: bool) {
        self.wire.set_enabled(on);
    }

    /// The APP's own SIP URI (From, 6.2.2).
    pub fn uri(&self) -> String {
        format!("sip:{}@{}", self.cfg.user, self.ua.local())
    }

    /// Sets deliberate faults (the simulated APP as a broken APP under test).
    pub fn set_faults(&mut self, faults: AppFaults) {
        self.faults = faults;
    }

    /// Changes the outbound proxy.
    pub fn set_outbound(&mut self, outbound: (TransportKind, SocketAddr)) {
        self.cfg.outbound = outbound;
    }

    /// Starts a chat to `service` (6.2.2); returns the Call Identifier's unique part.
    pub fn start_chat(
        &mut self,
        now: Instant,
        service: &str,
        text: &str,
    ) -> Result<String, SessionError> {
        let unique = self
            .new_chat(service)
            .map_err(|state| SessionError::NotAllowed {
                command: "start",
                state,
            })?;
        if let Some(c) = self.chats.touch(&unique) {
            c.session.start(now, text)?;
        }
        self.flush(now);
        Ok(unique)
    }

    /// Creates a chat that sends nothing by itself (its SIP Call-ID, tag and CSeq are used to
    /// build hand-made messages for invalid-behaviour tests).
    pub fn start_chat_silently(&mut self, _now: Instant) -> Result<String, String> {
        self.new_chat("urn:service:sos")
    }

    /// Creates an idle chat to `service` with a fresh Call Identifier, SIP Call-ID and tag.
    fn new_chat(&mut self, service: &str) -> Result<String, String> {
        self.seq += 1;
        let seed = u64::from(self.ua.local().port()) << 16 ^ 0x1f2e_3d4c;
        let unique = format!("{}{}", token(seed, self.seq, 12), self.seq);
        let call_id = CallId::new(&unique, &self.cfg.element_id).map_err(|e| e.to_string())?;
        let session = AppSession::new(call_id, &self.uri(), service, self.cfg.params.clone());
        self.chats.insert(
            unique.clone(),
            Chat {
                session,
                sip_call_id: format!("{unique}@{}", self.cfg.element_id),
                from_tag: token(seed, self.seq + 7, 8),
                cseq: 0,
            },
        );
        Ok(unique)
    }

    fn chat(&mut self, id: &str) -> Result<&mut Chat, SessionError> {
        self.chats.touch(id).ok_or(SessionError::NotAllowed {
            command: "chat",
            state: format!("no chat {id}"),
        })
    }

    /// Sends in-chat/259 (6.2.3).
    pub fn send_chat(&mut self, now: Instant, chat: &str, text: &str) -> Result<u64, SessionError> {
        let h = self.chat(chat)?.session.send_chat(now, text)?;
        self.flush(now);
        Ok(h)
    }

    /// Sends stop/258 (6.2.4).
    pub fn stop(&mut self, now: Instant, chat: &str, text: &str) -> Result<u64, SessionError> {
        let h = self.chat(chat)?.session.stop(now, text)?;
        self.flush(now);
        Ok(h)
    }

    /// Sends a heartbeat now (6.2.5).
    pub fn heartbeat(
        &mut self,
        now: Instant,
        chat: &str,
        inactive: bool,
    ) -> Result<u64, SessionError> {
        let c = self.chat(chat)?;
        c.session.set_inactive(inactive);
        let h = c.session.heartbeat(now)?;
        self.flush(now);
        Ok(h)
    }

    /// The chats (Call Identifier unique parts), in no particular order.
    pub fn chat_ids(&self) -> Vec<String> {
        self.chats.ids()
    }

    /// A chat's session machine (read-only).
    pub fn session(&self, chat: &str) -> Option<&AppSession> {
        self.chats.get(chat).map(|c| &c.session)
    }

    /// Sends a hand-made request (for invalid-behaviour tests) through the transaction layer to
    /// the outbound proxy; the outcome comes as [`RoleEvent::RawAnswered`].
    pub fn send_request(&mut self, now: Instant, msg: SipMessage) -> Result<u64, SessionError> {
        let (t, d) = self.cfg.outbound;
        let h = self
            .ua
            .send_request(now, msg, t, d)
            .map_err(|e| SessionError::NotAllowed {
                command: "send_request",
                state: e.to_string(),
            })?;
        self.raw_pending.insert(h, ());
        Ok(h)
    }

    /// Sends bytes as they are, outside any transaction.
    pub fn send_bytes(&mut self, bytes: Vec<u8>) {
        let (t, d) = self.cfg.outbound;
        self.ua.send_raw(t, d, bytes);
    }

    /// Builds (without sending) the SIP message for an LMPE message of `chat`, so tests can
    /// alter it before `send_request`.
    pub fn build_message(&mut self, chat: &str, out: &OutgoingChat) -> Option<SipMessage> {
        let location = Some(self.cfg.location);
        let pidf = self.location_pidf.clone();
        let profile = self.cfg.params.profile.clone();
        let from_uri = self.uri();
        let extra = self.cfg.extra_headers.clone();
        let extra_parts = self.cfg.extra_parts.clone();
        let c = self.chats.get_mut(chat)?;
        c.cseq += 1;
        Some(chat_request(
            out,
            &Sender {
                profile: &profile,
                from_uri: &from_uri,
                from_tag: &c.from_tag,
                sip_call_id: &c.sip_call_id,
                cseq: c.cseq,
                location,
                pidf: pidf.as_deref(),
                extra: &extra,
                extra_parts: &extra_parts,
            },
        ))
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<RoleEvent> {
        self.events.pop_front()
    }

    /// Changes the extra headers and body parts of later messages.
    pub fn set_extras(
        &mut self,
        headers: Vec<(String, String)>,
        parts: Vec<lmpe_wire::multipart::Part>,
    ) {
        self.cfg.extra_headers = headers;
        self.cfg.extra_parts = parts;
    }

    /// The wire messages recorded so far (not taken).
    pub fn wire_records(&self) -> &[WireRecord] {
        self.wire.records()
    }

    /// Takes the recorded wire messages.
    pub fn take_wire(&mut self) -> Vec<WireRecord> {
        self.wire.take()
    }

    fn flush(&mut self, now: Instant) {
        self.wire.tick(now);
        flush_dirty(self, now);
        self.pump(now);
    }

    /// Sends what one chat queued and reports its events.
    fn flush_one(&mut self, now: Instant, id: &str) {
        while let Some(mut out) = self
            .chats
            .get_mut(id)
            .and_then(|c| c.session.poll_outgoing())
        {
            let f = &self.faults;
            if f.no_heartbeat && out.msg_type.is_heartbeat() {
                continue;
            }
            if f.frozen_msg_id && out.msg_id.is_some() {
                out.msg_id = Some(1);
            }
            if f.ignore_reply_to && out.msg_type == MessageType::IN_CHAT {
                out.target = "urn:service:sos".into();
            }
            if f.redirect_no_history_info {
                out.history_info = None;
            }
            if f.test_as_emergency
                && out.msg_type == MessageType::START
                && crate::session::is_test_service(&out.target)
            {
                out.target = "urn:service:sos".into();
            }
            if f.no_location {
                out.with_location = false;
            }
            let Some(msg) = self.build_message(id, &out) else {
                break;
            };
            let (t, d) = self.cfg.outbound;
            match self.ua.send_request(now, msg, t, d) {
                Ok(h) => {
                    self.pending.insert(h, (id.to_string(), out.handle));
                }
                Err(e) => self.events.push_back(RoleEvent::Malformed {
                    error: format!("cannot send: {e}"),
                    remote: d,
                }),
            }
        }
        if let Some(c) = self.chats.get_mut(id) {
            while let Some(event) = c.session.poll_event() {
                self.events.push_back(RoleEvent::Session {
                    chat: id.to_string(),
                    event,
                });
            }
        }
    }

    fn answered(&mut self, now: Instant, handle: u64, status: u16) {
        if self.raw_pending.remove(&handle).is_some() {
            self.events
                .push_back(RoleEvent::RawAnswered { handle, status });
            return;
        }
        if let Some((chat, sh)) = self.pending.remove(&handle) {
            if let Some(c) = self.chats.touch(&chat) {
                c.session.on_answer(now, sh, status);
            }
        }
    }

    fn pump(&mut self, now: Instant) {
        let mut again = false;
        while let Some(ev) = self.ua.poll_event() {
            again = true;
            match ev {
                UaEvent::Response { handle, msg } => {
                    let status = msg.status().unwrap_or(500);
                    if status >= 200 {
                        self.answered(now, handle, status);
                    }
                }
                UaEvent::Timeout { handle } => self.answered(now, handle, 408),
                UaEvent::TransportError { handle } => self.answered(now, handle, 503),
                UaEvent::Request { id, msg, .. } => {
                    let (status, _reason) = self.on_request(now, &msg);
                    let resp = ResponseBuilder::for_request(
                        &msg,
                        status,
                        reason_phrase(status),
                        Some("app"),
                    )
                    .build();
                    let _ = self.ua.respond(now, &id, &resp);
                }
                UaEvent::Malformed { error, remote, .. } => self
                    .events
                    .push_back(RoleEvent::Malformed { error, remote }),
                UaEvent::StrayResponse { msg } => self.events.push_back(RoleEvent::Malformed {
                    error: format!("stray response {}", msg.summary()),
                    remote: self.cfg.outbound.1,
                }),
            }
        }
        if again {
            self.flush(now);
        }
    }

    fn on_request(&mut self, now: Instant, msg: &SipMessage) -> (u16, String) {
        if msg.method() != Some(lmpe_wire::sip::Method::Message) {
            return (405, "only MESSAGE is used by LMPE".into());
        }
        let ids = LmpeIds::extract(msg, &self.cfg.params.profile);
        let Some(chat) = ids.call_id.as_ref().map(|c| c.unique.clone()) else {
            let reason = "no valid Call Identifier".to_string();
            self.events.push_back(RoleEvent::Unmatched {
                summary: msg.summary(),
                status: 400,
                reason: reason.clone(),
            });
            return (400, reason);
        };
        let Some(c) = self.chats.touch(&chat) else {
            let reason = format!("unknown Call Identifier {chat}");
            self.events.push_back(RoleEvent::Unmatched {
                summary: msg.summary(),
                status: 481,
                reason: reason.clone(),
            });
            return (481, reason);
        };
        let f = &self.faults;
        if f.reject_stop && ids.msg_type == Some(MessageType::STOP) {
            return (481, "deliberate fault app-reject-stop".into());
        }
        if f.refuse_stop_transfer && ids.msg_type == Some(MessageType::STOP_TRANSFER) {
            return (488, "deliberate fault app-refuse-stop-transfer".into());
        }
        if f.accept_second_start_transfer
            && ids.msg_type == Some(MessageType::START_TRANSFER)
            && c.session.state() == crate::session::AppState::Established
        {
            return (200, String::new());
        }
        let status = c.session.handle_request(now, msg, &ids);
        if self.faults.chat_during_transfer
            && c.session.state() == crate::session::AppState::TransferPending
        {
            c.session
                .send_chat_unchecked(now, "Hello? Are you still there?");
        }
        while let Some(event) = c.session.poll_event() {
            match event {
                crate::session::SessionEvent::Violation(violation) => {
                    self.events.push_back(RoleEvent::Violation {
                        chat: chat.clone(),
                        violation,
                        message: msg.to_text(),
                    })
                }
                event => self.events.push_back(RoleEvent::Session {
                    chat: chat.clone(),
                    event,
                }),
            }
        }
        (status, String::new())
    }
}

impl ChatOwner for AppRole {
    type Chat = Chat;
    fn chats_mut(&mut self) -> &mut Chats<Chat> {
        &mut self.chats
    }
    fn flush_chat(&mut self, now: Instant, id: &str) {
        self.flush_one(now, id);
    }
}

impl Endpoint for AppRole {
    fn handle_input(&mut self, now: Instant, input: Incoming) {
        self.wire.feed(&mut self.ua, now, input);
        self.pump(now);
    }

    fn handle_transport_error(
        &mut self,
        now: Instant,
        _t: TransportKind,
        remote: SocketAddr,
        _e: &str,
    ) {
        self.ua.handle_transport_error(now, remote);
        self.pump(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.wire.transmit(&mut self.ua)
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        [self.ua.poll_timeout(), self.chats.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.wire.tick(now);
        self.ua.handle_timeout(now);
        self.chats.handle_timeout(now);
        self.flush(now);
    }
}
