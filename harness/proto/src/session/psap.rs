//! The PSAP side of an LMPE chat (6.2.2 to 6.2.7): initiation, chat, termination,
//! keep-alives, transfer (both the transferor and the transferee) and redirect.

use std::collections::VecDeque;
use std::time::Instant;

use lmpe_wire::lmpe::{CallId, LmpeIds, MessageType};
use lmpe_wire::sip::SipMessage;

use super::app::clause_for as clause_of;
use super::{
    chat_text, check_location, originator_uri, ChatParams, OutgoingChat, SessionError,
    SessionEvent, Violation,
};

/// Where a PSAP chat stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsapState {
    /// start/257 answered and our start/257 sent.
    Established,
    /// Transferor: stop|transfer/266 sent; the chat is with the transfer target unless the
    /// transfer fails and the chat is re-activated (6.2.6, 6.3.3). The PSAP sends nothing.
    TransferringAway,
    /// Ended.
    Stopped,
}

/// The PSAP side of one chat.
#[derive(Debug)]
pub struct PsapSession {
    call_id: CallId,
    call_id_urn: String,
    app_uri: String,
    reply_to: String,
    service: String,
    params: ChatParams,
    state: PsapState,
    next_msg_id: u32,
    last_app_msg_id: Option<u32>,
    msg_id_purpose: Option<&'static str>,
    next_heartbeat: Option<Instant>,
    next_handle: u64,
    check_request_uri: bool,
    transcript: Option<Vec<TranscriptEntry>>,
    out: VecDeque<OutgoingChat>,
    events: VecDeque<SessionEvent>,
}

/// One message of a chat as the PSAP saw it (the chat history of a transfer, 6.3.3 `Data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptEntry {
    /// When it was sent or received.
    pub at: Instant,
    /// True for the APP's messages.
    pub from_app: bool,
    /// Its Message Type.
    pub msg_type: MessageType,
    /// Its Message Identifier.
    pub msg_id: u32,
    /// Its text.
    pub text: String,
}

/// Why a start/257 cannot open a session, and the status to answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartRejected {
    /// Status code for the response.
    pub status: u16,
    /// What is wrong.
    pub violations: Vec<Violation>,
}

fn v(clause: &'static str, expectation: &str, detail: String) -> Violation {
    Violation {
        clause,
        expectation: expectation.to_string(),
        detail,
    }
}

impl PsapSession {
    /// 6.2.2: accepts an APP's start/257, queues the PSAP's start/257 (Reply-To, the received
    /// Call Identifier, Message Identifier 1, a predefined text). Non-fatal deviations of the
    /// APP's message are returned as events.
    pub fn accept_start(
        now: Instant,
        msg: &SipMessage,
        ids: &LmpeIds,
        reply_to: &str,
        greeting: &str,
        params: ChatParams,
    ) -> Result<Self, StartRejected> {
        let mut fatal = Vec::new();
        let mut soft = Vec::new();
        for issue in &ids.issues {
            soft.push(v(
                "6.1.2.7",
                "Call-Info identifiers are well-formed",
                issue.clone(),
            ));
        }
        let (Some(call_id), Some(urn)) = (ids.call_id.clone(), ids.call_id_urn.clone()) else {
            fatal.push(v(
                "6.2.2",
                "the APP's start/257 provides a unique Call Identifier",
                "no valid Call Identifier".into(),
            ));
            return Err(StartRejected {
                status: 400,
                violations: [fatal, soft].concat(),
            });
        };
        if ids.msg_type != Some(MessageType::START)
            && ids.msg_type != Some(MessageType::START_REDIRECT)
        {
            fatal.push(v(
                "6.2.2",
                "the first message has Message Type start/257",
                format!("{:?}", ids.msg_type.map(|t| t.to_string())),
            ));
        }
        let Some(app_uri) =
            originator_uri(msg).filter(|u| u.starts_with("sip:") || u.starts_with("sips:"))
        else {
            fatal.push(v(
                "6.2.2",
                "the From header provides a public routable SIP URI of the originating device",
                format!("From is {:?}", msg.header("From")),
            ));
            return Err(StartRejected {
                status: 400,
                violations: [fatal, soft].concat(),
            });
        };
        if !fatal.is_empty() {
            return Err(StartRejected {
                status: 400,
                violations: [fatal, soft].concat(),
            });
        }
        match ids.msg_id {
            None => soft.push(v(
                "6.2.2",
                "the APP's start/257 provides a Message Identifier",
                "none".into(),
            )),
            Some(1) => {}
            Some(n) => soft.push(v(
                "6.1.2.7",
                "the Message Identifier starts at 1",
                format!("start/257 carries {n}"),
            )),
        }
        if ids.msg_type == Some(MessageType::START_REDIRECT) && msg.header("History-Info").is_none()
        {
            soft.push(v(
                "6.2.7",
                "start|redirect/273 carries a History-Info header value with the original PSAP's Reply-To",
                "no History-Info".into(),
            ));
        }
        if let Err(e) = check_location(msg) {
            soft.push(v(
                "6.2.2",
                "the first message includes location information (5.6.4)",
                e,
            ));
        }
        if chat_text(msg).is_none_or(|t| t.trim().is_empty()) {
            soft.push(v(
                "6.2.2",
                "the first message includes a predefined text",
                "no text/plain body".into(),
            ));
        }
        let service = super::requested_service(msg);
        let mut s = Self {
            call_id,
            call_id_urn: urn,
            app_uri,
            reply_to: reply_to.to_string(),
            service,
            next_heartbeat: params.heartbeat_interval.map(|i| now + i),
            params,
            state: PsapState::Established,
            next_msg_id: 1,
            last_app_msg_id: ids.msg_id,
            msg_id_purpose: ids.msg_id_purpose,
            next_handle: 1,
            check_request_uri: false,
            transcript: None,
            out: VecDeque::new(),
            events: VecDeque::new(),
        };
        for x in soft {
            s.events.push_back(SessionEvent::Violation(x));
        }
        s.events.push_back(SessionEvent::Received {
            msg_type: MessageType::START,
            msg_id: ids.msg_id,
            text: chat_text(msg),
        });
        s.queue(now, MessageType::START, true, Some(greeting.to_string()));
        s.events.push_back(SessionEvent::Established {
            reply_to: s.reply_to.clone(),
        });
        Ok(s)
    }

    /// 6.1.2.10: accepts a test chat and closes it at once with stop/258 whose text is the
    /// PSAP name, the service URN received and the location reported, each on its own line.
    pub fn accept_test_call(
        now: Instant,
        msg: &SipMessage,
        ids: &LmpeIds,
        reply_to: &str,
        psap_name: &str,
        params: ChatParams,
    ) -> Result<Self, StartRejected> {
        let mut s = Self::accept_start(now, msg, ids, reply_to, "", params)?;
        let report = format!(
            "{psap_name}\r\n{}\r\n{}",
            s.service,
            super::location_text(msg)
        );
        if let Some(out) = s.out.back_mut() {
            out.msg_type = MessageType::STOP;
            out.text = Some(report);
        }
        s.state = PsapState::Stopped;
        s.next_heartbeat = None;
        s.events
            .retain(|e| !matches!(e, SessionEvent::Established { .. }));
        s.events.push_back(SessionEvent::Stopped { by_peer: false });
        Ok(s)
    }

    /// The Call Identifier.
    pub fn call_id(&self) -> &CallId {
        &self.call_id
    }
    /// The URI messages to the APP go to (P-A-I, else From).
    pub fn app_uri(&self) -> &str {
        &self.app_uri
    }
    /// The service URN of the start.
    pub fn service(&self) -> &str {
        &self.service
    }
    /// The state.
    pub fn state(&self) -> PsapState {
        self.state
    }

    fn queue(
        &mut self,
        now: Instant,
        msg_type: MessageType,
        with_id: bool,
        text: Option<String>,
    ) -> u64 {
        let handle = self.next_handle;
        self.next_handle += 1;
        let msg_id = with_id.then(|| {
            let id = self.next_msg_id;
            self.next_msg_id += 1;
            id
        });
        self.record(now, false, msg_type, msg_id, text.as_deref());
        self.out.push_back(OutgoingChat {
            handle,
            target: self.app_uri.clone(),
            msg_type,
            msg_id,
            call_id: self.call_id.clone(),
            call_id_urn: self.call_id_urn.clone(),
            text,
            reply_to: Some(self.reply_to.clone()),
            with_location: false,
            history_info: None,
            msg_id_purpose: self.msg_id_purpose,
        });
        handle
    }

    fn not_allowed(&self, command: &'static str) -> SessionError {
        SessionError::NotAllowed {
            command,
            state: format!("{:?}", self.state),
        }
    }

    /// 6.2.3: sends in-chat/259 to the APP.
    pub fn send_chat(&mut self, _now: Instant, text: &str) -> Result<u64, SessionError> {
        if self.state != PsapState::Established {
            return Err(self.not_allowed("send_chat"));
        }
        Ok(self.queue(_now, MessageType::IN_CHAT, true, Some(text.to_string())))
    }

    /// 6.2.7: redirects the chat to `target`: stop|redirect/274 with the target in Reply-To and
    /// the last Message Identifier used; the PSAP sends nothing more.
    pub fn redirect(
        &mut self,
        _now: Instant,
        target: &str,
        text: &str,
    ) -> Result<u64, SessionError> {
        if self.state != PsapState::Established {
            return Err(self.not_allowed("redirect"));
        }
        self.state = PsapState::Stopped;
        self.next_heartbeat = None;
        let handle = self.next_handle;
        self.next_handle += 1;
        self.out.push_back(OutgoingChat {
            handle,
            target: self.app_uri.clone(),
            msg_type: MessageType::STOP_REDIRECT,
            msg_id: Some(self.next_msg_id.saturating_sub(1).max(1)),
            call_id: self.call_id.clone(),
            call_id_urn: self.call_id_urn.clone(),
            text: Some(text.to_string()),
            reply_to: Some(target.to_string()),
            with_location: false,
            history_info: None,
            msg_id_purpose: self.msg_id_purpose,
        });
        self.events
            .push_back(SessionEvent::Stopped { by_peer: false });
        Ok(handle)
    }

    /// The last Message Identifier this PSAP used in the chat (0 before any).
    pub fn last_msg_id(&self) -> u32 {
        self.next_msg_id.saturating_sub(1)
    }

    /// Keeps (or stops keeping) a transcript of the chat's text messages, from now on; the
    /// start is recorded when it is turned on right after the session was created.
    pub fn set_transcript(&mut self, now: Instant, on: bool) {
        match (on, self.transcript.is_some()) {
            (true, false) => {
                let mut t = Vec::new();
                for e in &self.events {
                    if let SessionEvent::Received {
                        msg_type,
                        msg_id: Some(id),
                        text: Some(text),
                    } = e
                    {
                        t.push(TranscriptEntry {
                            at: now,
                            from_app: true,
                            msg_type: *msg_type,
                            msg_id: *id,
                            text: text.clone(),
                        });
                    }
                }
                for o in &self.out {
                    if let (Some(id), Some(text)) = (o.msg_id, &o.text) {
                        t.push(TranscriptEntry {
                            at: now,
                            from_app: false,
                            msg_type: o.msg_type,
                            msg_id: id,
                            text: text.clone(),
                        });
                    }
                }
                self.transcript = Some(t);
            }
            (false, true) => self.transcript = None,
            _ => {}
        }
    }

    /// The transcript, when kept ([`Self::set_transcript`]).
    pub fn transcript(&self) -> &[TranscriptEntry] {
        self.transcript.as_deref().unwrap_or(&[])
    }

    fn record(
        &mut self,
        now: Instant,
        from_app: bool,
        t: MessageType,
        id: Option<u32>,
        text: Option<&str>,
    ) {
        if let (Some(tr), Some(id), Some(text)) = (self.transcript.as_mut(), id, text) {
            tr.push(TranscriptEntry {
                at: now,
                from_app,
                msg_type: t,
                msg_id: id,
                text: text.to_string(),
            });
        }
    }

    /// Checks that the APP's later messages are sent to the Reply-To URI (6.2.3 to 6.2.5).
    /// Only meaningful where nothing between the APP and this PSAP rewrites the Request-URI
    /// (the harness as the APP's direct peer); off by default.
    pub fn set_check_request_uri(&mut self, on: bool) {
        self.check_request_uri = on;
    }

    /// The Call Identifier URN exactly as the APP wrote it.
    pub fn call_id_urn(&self) -> &str {
        &self.call_id_urn
    }

    /// The last Message Identifier the APP used, if any.
    pub fn last_app_msg_id(&self) -> Option<u32> {
        self.last_app_msg_id
    }

    /// 6.2.6 (transferor, after a 202 negotiation, 6.3.2): sends stop|transfer/266 with the
    /// Reply-To, the Call Identifier and the last Message Identifier used, then sends nothing
    /// until [`Self::transfer_completed`] or [`Self::reactivate`].
    pub fn transfer(&mut self, _now: Instant, text: &str) -> Result<u64, SessionError> {
        if self.state != PsapState::Established {
            return Err(self.not_allowed("transfer"));
        }
        self.state = PsapState::TransferringAway;
        self.next_heartbeat = None;
        let last = self.last_msg_id().max(1);
        self.record(
            _now,
            false,
            MessageType::STOP_TRANSFER,
            Some(last),
            Some(text),
        );
        let handle = self.next_handle;
        self.next_handle += 1;
        self.out.push_back(OutgoingChat {
            handle,
            target: self.app_uri.clone(),
            msg_type: MessageType::STOP_TRANSFER,
            msg_id: Some(self.last_msg_id().max(1)),
            call_id: self.call_id.clone(),
            call_id_urn: self.call_id_urn.clone(),
            text: Some(text.to_string()),
            reply_to: Some(self.reply_to.clone()),
            with_location: false,
            history_info: None,
            msg_id_purpose: self.msg_id_purpose,
        });
        Ok(handle)
    }

    /// 6.3.3 (transferor): the transferee took the chat; this side is done with it.
    pub fn transfer_completed(&mut self) {
        if self.state == PsapState::TransferringAway {
            self.state = PsapState::Stopped;
            self.events
                .push_back(SessionEvent::Stopped { by_peer: false });
        }
    }

    /// 6.3.3 (transferor): the transfer failed or timed out; the transferor re-activates the
    /// chat. The spec gives no message for this (its Figures 27 to 29 are not in the text); the
    /// harness sends start|transfer/266's counterpart start|transfer/265 with its own Reply-To
    /// and the next Message Identifier, the one message that ends the APP's stalled input
    /// (6.2.6), and documents this as its profile.
    pub fn reactivate(&mut self, now: Instant, text: &str) -> Result<u64, SessionError> {
        if self.state != PsapState::TransferringAway {
            return Err(self.not_allowed("reactivate"));
        }
        self.state = PsapState::Established;
        self.next_heartbeat = self.params.heartbeat_interval.map(|i| now + i);
        Ok(self.queue(
            now,
            MessageType::START_TRANSFER,
            true,
            Some(text.to_string()),
        ))
    }

    /// 6.2.6 (transferee, after answering a chatTransferExecutionRequest with 200): takes
    /// over the chat `call_id_urn` with the APP at `app_uri`, sending start|transfer/265 with
    /// its Reply-To and Message Identifier `last_msg_id + 1` (the transferor's last, from the
    /// execution request's MessageId).
    #[allow(clippy::too_many_arguments)]
    pub fn accept_transfer(
        now: Instant,
        call_id_urn: &str,
        app_uri: &str,
        last_msg_id: u32,
        reply_to: &str,
        service: &str,
        text: &str,
        params: ChatParams,
    ) -> Result<Self, SessionError> {
        let bad = |detail: String| SessionError::BadTransfer { detail };
        let (call_id, _) = CallId::from_urn(call_id_urn).map_err(|e| bad(e.to_string()))?;
        if !(app_uri.starts_with("sip:") || app_uri.starts_with("sips:")) {
            return Err(bad(format!("APP URI {app_uri:?} is not a SIP URI")));
        }
        let mut s = Self {
            call_id,
            call_id_urn: call_id_urn.to_string(),
            app_uri: app_uri.to_string(),
            reply_to: reply_to.to_string(),
            service: service.to_string(),
            next_heartbeat: params.heartbeat_interval.map(|i| now + i),
            params,
            state: PsapState::Established,
            next_msg_id: last_msg_id.saturating_add(1),
            last_app_msg_id: None,
            msg_id_purpose: None,
            next_handle: 1,
            check_request_uri: false,
            transcript: None,
            out: VecDeque::new(),
            events: VecDeque::new(),
        };
        s.queue(
            now,
            MessageType::START_TRANSFER,
            true,
            Some(text.to_string()),
        );
        s.events.push_back(SessionEvent::Established {
            reply_to: s.reply_to.clone(),
        });
        Ok(s)
    }

    /// Sends a message of any type with the next Message Identifier, whatever the state
    /// (harness use: checking that an APP refuses a message out of sequence, e.g. a second
    /// start|transfer/265, 6.2.6).
    pub fn send_unchecked(&mut self, now: Instant, msg_type: MessageType, text: &str) -> u64 {
        self.queue(
            now,
            msg_type,
            !msg_type.is_heartbeat(),
            Some(text.to_string()),
        )
    }

    /// Removes and returns the violations reported so far (other events stay queued), so the
    /// role can attach the offending message to each.
    pub fn take_violations(&mut self) -> Vec<Violation> {
        let mut out = Vec::new();
        self.events.retain(|e| match e {
            SessionEvent::Violation(v) => {
                out.push(v.clone());
                false
            }
            _ => true,
        });
        out
    }

    /// 6.2.4: sends stop/258 and ends the chat.
    pub fn stop(&mut self, _now: Instant, text: &str) -> Result<u64, SessionError> {
        if self.state != PsapState::Established {
            return Err(self.not_allowed("stop"));
        }
        self.state = PsapState::Stopped;
        self.next_heartbeat = None;
        self.events
            .push_back(SessionEvent::Stopped { by_peer: false });
        Ok(self.queue(_now, MessageType::STOP, true, Some(text.to_string())))
    }

    /// A MESSAGE from the APP for this chat (after the start); returns the status to answer.
    pub fn handle_request(&mut self, _now: Instant, msg: &SipMessage, ids: &LmpeIds) -> u16 {
        for issue in &ids.issues {
            self.events.push_back(SessionEvent::Violation(v(
                "6.1.2.7",
                "Call-Info identifiers are well-formed",
                issue.clone(),
            )));
        }
        let Some(t) = ids.msg_type else {
            return 400;
        };
        if self.state == PsapState::TransferringAway {
            // 6.2.6: the APP's input is stalled while a transfer is pending; keep-alives and a
            // stop are still allowed (the APP may end the chat).
            if t.is_heartbeat() {
                return 200;
            }
            if t != MessageType::STOP {
                self.events.push_back(SessionEvent::Violation(v(
                    "6.2.6",
                    "the APP stalls user input after stop|transfer/266 until start|transfer/265",
                    format!("{t} received while the transfer is pending"),
                )));
            }
            self.state = PsapState::Established;
            let status = self.handle_request(_now, msg, ids);
            if self.state == PsapState::Established {
                self.state = PsapState::TransferringAway;
            }
            return status;
        }
        if self.state != PsapState::Established {
            self.events.push_back(SessionEvent::Violation(v(
                clause_of(t),
                "APP messages follow an established, not yet terminated session",
                format!("{t} after the chat ended"),
            )));
            return 481;
        }
        if let Err(e) = check_location(msg) {
            self.events.push_back(SessionEvent::Violation(v(
                clause_of(t),
                "APP messages include location information (5.6.4)",
                e,
            )));
        }
        if self.check_request_uri {
            let ruri = msg.request_uri().unwrap_or_default();
            if !super::same_aor(ruri, &self.reply_to) {
                self.events.push_back(SessionEvent::Violation(v(
                    clause_of(t),
                    "APP messages are sent to the public routable SIP URI received from the PSAP (Reply-To)",
                    format!("Request-URI is {ruri}, the PSAP's Reply-To is {}", self.reply_to),
                )));
            }
        }
        let text = chat_text(msg);
        match t {
            MessageType::IN_CHAT | MessageType::STOP => {
                match (ids.msg_id, self.last_app_msg_id) {
                    (None, _) => self.events.push_back(SessionEvent::Violation(v(clause_of(t), "APP messages carry a Message Identifier", format!("{t} without one")))),
                    (Some(id), Some(last)) if id != last + 1 => self.events.push_back(SessionEvent::Violation(v(clause_of(t), "the APP's Message Identifier increases by one (1) for each APP message", format!("{t} carries {id} after {last}")))),
                    _ => {}
                }
                self.last_app_msg_id = ids.msg_id.or(self.last_app_msg_id);
                self.record(_now, true, t, ids.msg_id, text.as_deref());
                self.events.push_back(SessionEvent::Received {
                    msg_type: t,
                    msg_id: ids.msg_id,
                    text,
                });
                if t == MessageType::STOP {
                    self.state = PsapState::Stopped;
                    self.next_heartbeat = None;
                    self.events
                        .push_back(SessionEvent::Stopped { by_peer: true });
                }
                200
            }
            MessageType::HEARTBEAT | MessageType::HEARTBEAT_INACTIVE => {
                self.events.push_back(SessionEvent::Heartbeat {
                    inactive: t == MessageType::HEARTBEAT_INACTIVE,
                });
                200
            }
            other => {
                self.events.push_back(SessionEvent::Violation(v(
                    clause_of(other),
                    "the APP sends only the message types allowed in an established chat",
                    format!("{other} received"),
                )));
                400
            }
        }
    }

    /// The final status of one of our messages.
    pub fn on_answer(&mut self, _now: Instant, handle: u64, msg_type: MessageType, status: u16) {
        self.events.push_back(SessionEvent::Answered {
            handle,
            msg_type,
            status,
        });
    }

    /// The next LMPE message to send.
    pub fn poll_outgoing(&mut self) -> Option<OutgoingChat> {
        self.out.pop_front()
    }
    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }
    /// When the PSAP's next (optional, 6.2.5) heartbeat is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_heartbeat
    }
    /// Sends the PSAP heartbeat if due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.next_heartbeat.is_some_and(|t| t <= now) && self.state == PsapState::Established {
            self.next_heartbeat = self.params.heartbeat_interval.map(|i| now + i);
            self.queue(now, MessageType::HEARTBEAT, false, None);
        }
    }
}
