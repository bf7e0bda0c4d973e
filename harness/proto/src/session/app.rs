//! The APP side of an LMPE chat (6.2.2 to 6.2.6).

use std::collections::VecDeque;
use std::time::Instant;

use lmpe_wire::lmpe::{CallId, LmpeIds, MessageType};
use lmpe_wire::sip::SipMessage;

use super::{
    chat_text, reply_to_uri, same_aor, ChatParams, OutgoingChat, SessionError, SessionEvent,
    Violation,
};

/// Where an APP chat stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppState {
    /// Not started.
    Idle,
    /// start/257 sent, not yet answered.
    Starting,
    /// start/257 answered 2xx, waiting for the PSAP's start/257.
    AwaitingPsapStart,
    /// Chatting (6.2.3).
    Established,
    /// stop|transfer/266 received: input stalled until start|transfer/265 (6.2.6).
    TransferPending,
    /// stop|redirect/274 received and start|redirect/273 sent to the target: input is stalled
    /// until the new PSAP's start/257 (6.2.7).
    RedirectPending,
    /// Ended (6.2.4).
    Stopped,
    /// The start failed.
    Failed,
}

/// The APP side of one chat.
#[derive(Debug)]
pub struct AppSession {
    call_id: CallId,
    call_id_urn: String,
    own_uri: String,
    service_uri: String,
    params: ChatParams,
    state: AppState,
    next_msg_id: u32,
    reply_to: Option<String>,
    last_psap_msg_id: Option<u32>,
    last_psap_heartbeat: Option<Instant>,
    next_heartbeat: Option<Instant>,
    inactive: bool,
    start_deadline: Option<Instant>,
    /// The APP ended the chat itself (its stop/258 may cross PSAP messages on the wire).
    stopped_by_app: bool,
    next_handle: u64,
    start_handle: Option<u64>,
    sent_types: Vec<(u64, MessageType)>,
    out: VecDeque<OutgoingChat>,
    events: VecDeque<SessionEvent>,
}

impl AppSession {
    /// A chat from `own_uri` (the From URI, 6.2.2) to `service_uri` (a service URN or number).
    pub fn new(call_id: CallId, own_uri: &str, service_uri: &str, params: ChatParams) -> Self {
        let call_id_urn = call_id.urn(params.profile.call_id_prefixes[0]);
        Self {
            call_id,
            call_id_urn,
            own_uri: own_uri.to_string(),
            service_uri: service_uri.to_string(),
            params,
            state: AppState::Idle,
            next_msg_id: 1,
            reply_to: None,
            last_psap_msg_id: None,
            last_psap_heartbeat: None,
            next_heartbeat: None,
            inactive: false,
            start_deadline: None,
            stopped_by_app: false,
            next_handle: 1,
            start_handle: None,
            sent_types: Vec::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The state.
    pub fn state(&self) -> AppState {
        self.state
    }
    /// The Call Identifier.
    pub fn call_id(&self) -> &CallId {
        &self.call_id
    }
    /// The PSAP's Reply-To, once known.
    pub fn reply_to(&self) -> Option<&str> {
        self.reply_to.as_deref()
    }
    /// The Message Identifier the next APP message will carry.
    pub fn next_msg_id(&self) -> u32 {
        self.next_msg_id
    }

    fn not_allowed(&self, command: &'static str) -> SessionError {
        SessionError::NotAllowed {
            command,
            state: format!("{:?}", self.state),
        }
    }

    fn queue(
        &mut self,
        target: String,
        msg_type: MessageType,
        with_id: bool,
        text: Option<String>,
    ) -> u64 {
        let handle = self.next_handle;
        self.next_handle += 1;
        let msg_id = if with_id {
            let id = self.next_msg_id;
            self.next_msg_id += 1;
            Some(id)
        } else {
            None
        };
        self.sent_types.push((handle, msg_type));
        self.out.push_back(OutgoingChat {
            handle,
            target,
            msg_type,
            msg_id,
            call_id: self.call_id.clone(),
            call_id_urn: self.call_id_urn.clone(),
            text,
            reply_to: None,
            with_location: true,
            history_info: None,
            msg_id_purpose: None,
        });
        handle
    }

    /// 6.2.2: sends start/257 with location, From and a predefined text.
    pub fn start(&mut self, _now: Instant, text: &str) -> Result<u64, SessionError> {
        if self.state != AppState::Idle {
            return Err(self.not_allowed("start"));
        }
        self.state = AppState::Starting;
        self.start_deadline = Some(_now + self.params.psap_start_timeout);
        let h = self.queue(
            self.service_uri.clone(),
            MessageType::START,
            true,
            Some(text.into()),
        );
        self.start_handle = Some(h);
        Ok(h)
    }

    /// 6.2.3: sends in-chat/259 to the Reply-To URI.
    pub fn send_chat(&mut self, _now: Instant, text: &str) -> Result<u64, SessionError> {
        let target = match (self.state, &self.reply_to) {
            (AppState::Established, Some(r)) => r.clone(),
            _ => return Err(self.not_allowed("send_chat")),
        };
        Ok(self.queue(target, MessageType::IN_CHAT, true, Some(text.into())))
    }

    /// Sends in-chat/259 to the Reply-To URI whatever the state (harness use: a deliberately
    /// broken APP that does not stall its input during a transfer, 6.2.6).
    pub fn send_chat_unchecked(&mut self, _now: Instant, text: &str) -> Option<u64> {
        let target = self.reply_to.clone()?;
        Some(self.queue(target, MessageType::IN_CHAT, true, Some(text.into())))
    }

    /// 6.2.4: sends stop/258 and ends the chat.
    pub fn stop(&mut self, _now: Instant, text: &str) -> Result<u64, SessionError> {
        let target = match (self.state, &self.reply_to) {
            (AppState::Established | AppState::TransferPending, Some(r)) => r.clone(),
            _ => return Err(self.not_allowed("stop")),
        };
        self.state = AppState::Stopped;
        self.stopped_by_app = true;
        self.next_heartbeat = None;
        let h = self.queue(target, MessageType::STOP, true, Some(text.into()));
        self.events
            .push_back(SessionEvent::Stopped { by_peer: false });
        Ok(h)
    }

    /// 6.2.5: the next heartbeats carry the inactive flag (388) while `inactive`.
    pub fn set_inactive(&mut self, inactive: bool) {
        self.inactive = inactive;
    }

    /// Sends a heartbeat now (outside the schedule).
    pub fn heartbeat(&mut self, now: Instant) -> Result<u64, SessionError> {
        let target = match (self.state, &self.reply_to) {
            (AppState::Established | AppState::TransferPending, Some(r)) => r.clone(),
            _ => return Err(self.not_allowed("heartbeat")),
        };
        let t = if self.inactive {
            MessageType::HEARTBEAT_INACTIVE
        } else {
            MessageType::HEARTBEAT
        };
        self.schedule_heartbeat(now);
        Ok(self.queue(target, t, false, None))
    }

    fn schedule_heartbeat(&mut self, now: Instant) {
        self.next_heartbeat = self.params.heartbeat_interval.map(|i| now + i);
    }

    /// The final status of one of our messages (408 for a transaction timeout).
    pub fn on_answer(&mut self, _now: Instant, handle: u64, status: u16) {
        let msg_type = self
            .sent_types
            .iter()
            .position(|(h, _)| *h == handle)
            .map(|i| self.sent_types.swap_remove(i).1)
            .unwrap_or(MessageType::UNKNOWN);
        self.events.push_back(SessionEvent::Answered {
            handle,
            msg_type,
            status,
        });
        if Some(handle) == self.start_handle {
            self.start_handle = None;
            if (200..300).contains(&status) {
                if self.state == AppState::Starting {
                    self.state = AppState::AwaitingPsapStart;
                }
            } else if matches!(self.state, AppState::Starting | AppState::RedirectPending) {
                self.state = AppState::Failed;
                self.events.push_back(SessionEvent::Failed {
                    reason: format!("{msg_type} was answered {status}"),
                });
            }
        }
    }

    fn violation(&mut self, clause: &'static str, expectation: &str, detail: String) {
        self.events.push_back(SessionEvent::Violation(Violation {
            clause,
            expectation: expectation.to_string(),
            detail,
        }));
    }

    /// A MESSAGE from the PSAP side for this chat; returns the status to answer with.
    pub fn handle_request(&mut self, now: Instant, msg: &SipMessage, ids: &LmpeIds) -> u16 {
        for issue in &ids.issues {
            self.violation(
                "6.1.2.7",
                "Call-Info identifiers are well-formed",
                issue.clone(),
            );
        }
        let Some(t) = ids.msg_type else {
            self.violation(
                "6.1.2.7",
                "every LMPE message carries a Message Type",
                "no valid Call-Info purpose=EmergencyCallData.MsgType".into(),
            );
            return 400;
        };
        if let Some(ruri) = msg.request_uri() {
            if !same_aor(ruri, &self.own_uri) {
                self.violation(
                    "6.2.3",
                    "PSAP messages are sent to the URI received from the APP (P-A-I, else From)",
                    format!("Request-URI is {ruri}, the APP is {}", self.own_uri),
                );
            }
        }
        let reply_to = match reply_to_uri(msg) {
            Some(Ok(uri)) if uri.starts_with("sip:") || uri.starts_with("sips:") => Some(uri),
            Some(Ok(uri)) => {
                self.violation(
                    clause_for(t),
                    "the Reply-To header carries the public routable SIP URI of the PSAP",
                    format!("Reply-To is {uri:?}, not a SIP URI"),
                );
                None
            }
            Some(Err(e)) => {
                self.violation(
                    clause_for(t),
                    "the Reply-To header carries the public routable SIP URI of the PSAP",
                    e,
                );
                None
            }
            None => {
                self.violation(
                    clause_for(t),
                    "the PSAP's message includes a Reply-To header value",
                    format!("{t} without Reply-To"),
                );
                None
            }
        };
        let text = chat_text(msg);
        match t {
            MessageType::START | MessageType::START_TRANSFER => {
                self.on_psap_start(now, t, ids, reply_to, text)
            }
            MessageType::STOP
                if self.is_test_call()
                    && matches!(self.state, AppState::Starting | AppState::AwaitingPsapStart) =>
            {
                self.on_test_call_close(ids, text)
            }
            MessageType::STOP_REDIRECT if self.state == AppState::Established => {
                self.check_next_id(t, ids.msg_id);
                self.on_redirect(now, reply_to, text)
            }
            MessageType::IN_CHAT | MessageType::STOP | MessageType::STOP_TRANSFER => {
                if self.state == AppState::Stopped && self.stopped_by_app {
                    // The APP's own stop/258 crossed this message on the wire: the PSAP could
                    // not know yet. Refused, but no violation.
                    return 481;
                }
                if !matches!(self.state, AppState::Established) {
                    self.violation(
                        clause_for(t),
                        "PSAP messages other than start/257 follow an established session",
                        format!("{t} received in state {:?}", self.state),
                    );
                    return 481;
                }
                self.check_next_id(t, ids.msg_id);
                match t {
                    MessageType::STOP => {
                        self.state = AppState::Stopped;
                        self.next_heartbeat = None;
                        self.events.push_back(SessionEvent::Received {
                            msg_type: t,
                            msg_id: ids.msg_id,
                            text,
                        });
                        self.events
                            .push_back(SessionEvent::Stopped { by_peer: true });
                    }
                    MessageType::STOP_TRANSFER => {
                        self.state = AppState::TransferPending;
                        self.events.push_back(SessionEvent::TransferPending);
                    }
                    _ => self.events.push_back(SessionEvent::Received {
                        msg_type: t,
                        msg_id: ids.msg_id,
                        text,
                    }),
                }
                200
            }
            MessageType::HEARTBEAT | MessageType::HEARTBEAT_INACTIVE => {
                if !matches!(
                    self.state,
                    AppState::Established | AppState::TransferPending
                ) {
                    self.violation(
                        "6.2.5",
                        "keep-alives follow an established session",
                        format!("{t} in state {:?}", self.state),
                    );
                    return 481;
                }
                if let Some(prev) = self.last_psap_heartbeat {
                    let gap = now.saturating_duration_since(prev);
                    if gap > self.params.peer_heartbeat_limit {
                        self.violation(
                            "6.2.5",
                            "the PSAP sends keep-alives periodically, at least every 20 s",
                            format!(
                                "{:.1} s between two PSAP heartbeats (limit {:.1} s)",
                                gap.as_secs_f64(),
                                self.params.peer_heartbeat_limit.as_secs_f64()
                            ),
                        );
                    }
                }
                self.last_psap_heartbeat = Some(now);
                self.events.push_back(SessionEvent::Heartbeat {
                    inactive: t == MessageType::HEARTBEAT_INACTIVE,
                });
                200
            }
            other => {
                self.violation(
                    "6.2",
                    "the PSAP sends only the message types of clause 6.2 to an APP",
                    format!("{other} received"),
                );
                400
            }
        }
    }

    fn on_psap_start(
        &mut self,
        now: Instant,
        t: MessageType,
        ids: &LmpeIds,
        reply_to: Option<String>,
        text: Option<String>,
    ) -> u16 {
        let expected_state = if t == MessageType::START {
            matches!(
                self.state,
                AppState::Starting | AppState::AwaitingPsapStart | AppState::RedirectPending
            )
        } else {
            self.state == AppState::TransferPending
        };
        if !expected_state {
            self.violation(
                clause_for(t),
                if t == MessageType::START {
                    "the PSAP sends start/257 once, in answer to the APP's start"
                } else {
                    "start|transfer/265 is accepted only after stop|transfer/266 (6.2.6)"
                },
                format!("{t} received in state {:?}", self.state),
            );
            return 481;
        }
        match ids.msg_id {
            None => self.violation(
                clause_for(t),
                "the PSAP's first message provides a Message Identifier",
                format!("{t} without Message Identifier"),
            ),
            Some(id) if t == MessageType::START && id != 1 => self.violation(
                "6.1.2.7",
                "the Message Identifier starts at 1 for each sender in a chat",
                format!("the PSAP's start/257 carries Message Identifier {id}"),
            ),
            Some(id) if t == MessageType::START_TRANSFER => {
                if let Some(last) = self.last_psap_msg_id {
                    if id != last + 1 {
                        self.violation("6.2.6", "start|transfer/265 carries the transferor's last Message Identifier plus one", format!("got {id}, the transferor's last was {last}"));
                    }
                }
            }
            Some(_) => {}
        }
        self.last_psap_msg_id = ids.msg_id.or(self.last_psap_msg_id);
        if text.as_deref().is_none_or(|s| s.trim().is_empty()) && t == MessageType::START {
            self.violation(
                "6.2.2",
                "the PSAP's start/257 includes a predefined text",
                "no text/plain body".into(),
            );
        }
        if let Some(r) = reply_to {
            self.reply_to = Some(r.clone());
            self.state = AppState::Established;
            self.schedule_heartbeat(now);
            self.events.push_back(SessionEvent::Received {
                msg_type: t,
                msg_id: ids.msg_id,
                text,
            });
            self.events
                .push_back(SessionEvent::Established { reply_to: r });
            200
        } else {
            // Without Reply-To the APP has nowhere to send (6.2.3): the session cannot be established.
            200
        }
    }

    /// 6.2.7: the PSAP redirects the chat to the URI in Reply-To. The APP stalls input and
    /// automatically sends start|redirect/273 there, with location and a History-Info naming
    /// the original PSAP's Reply-To; the new PSAP must answer with start/257.
    fn on_redirect(&mut self, now: Instant, target: Option<String>, text: Option<String>) -> u16 {
        self.events.push_back(SessionEvent::Received {
            msg_type: MessageType::STOP_REDIRECT,
            msg_id: self.last_psap_msg_id,
            text,
        });
        let Some(target) = target else {
            // The Reply-To violation is already reported; without a target there is nowhere to go.
            self.state = AppState::Stopped;
            self.next_heartbeat = None;
            self.events.push_back(SessionEvent::Failed {
                reason: "stop|redirect/274 without a redirect target in Reply-To".into(),
            });
            return 200;
        };
        let original = self.reply_to.clone().unwrap_or_default();
        self.state = AppState::RedirectPending;
        self.next_heartbeat = None;
        self.last_psap_msg_id = None;
        self.start_deadline = Some(now + self.params.psap_start_timeout);
        let h = self.queue(
            target.clone(),
            MessageType::START_REDIRECT,
            true,
            Some(format!("Chat redirected from {original}")),
        );
        if let Some(o) = self.out.back_mut() {
            o.history_info = Some(format!("<{original}>;index=1"));
        }
        self.start_handle = Some(h);
        self.events.push_back(SessionEvent::Redirected { target });
        200
    }

    /// Whether this chat is a test call (6.1.2.10: `urn:service:sos.test`, `urn:service:sos.fire.test`).
    pub fn is_test_call(&self) -> bool {
        is_test_service(&self.service_uri)
    }

    /// 6.1.2.10: the PSAP closes an accepted test chat at once with a text of three lines: its
    /// name, the service URN received, the location reported.
    fn on_test_call_close(&mut self, ids: &LmpeIds, text: Option<String>) -> u16 {
        let expectation = "the automatic closing MESSAGE of a test chat carries the PSAP name CRLF, the service URN received CRLF, and the location as text";
        let body = text.clone().unwrap_or_default();
        let lines: Vec<&str> = body.split("\r\n").collect();
        if lines.len() < 3 {
            let shown = body.replace('\r', "\\r").replace('\n', "\\n");
            self.violation(
                "6.1.2.10",
                expectation,
                format!(
                    "the text has {} CRLF-terminated line(s): {shown:?}",
                    lines.len().saturating_sub(1)
                ),
            );
        } else {
            if lines[0].trim().is_empty() {
                self.violation(
                    "6.1.2.10",
                    expectation,
                    "the first line (PSAP name) is empty".into(),
                );
            }
            if !lines[1].trim().eq_ignore_ascii_case(&self.service_uri) {
                self.violation(
                    "6.1.2.10",
                    expectation,
                    format!(
                        "the second line is {:?}, the service URN sent was {}",
                        lines[1], self.service_uri
                    ),
                );
            }
            if lines[2].trim().is_empty() {
                self.violation(
                    "6.1.2.10",
                    expectation,
                    "the third line (location) is empty".into(),
                );
            }
        }
        if ids.msg_id.is_none() {
            self.violation(
                "6.2.4",
                "the PSAP's closing MESSAGE carries a Message Identifier",
                "none".into(),
            );
        }
        self.state = AppState::Stopped;
        self.start_deadline = None;
        self.next_heartbeat = None;
        self.events.push_back(SessionEvent::Received {
            msg_type: MessageType::STOP,
            msg_id: ids.msg_id,
            text,
        });
        self.events
            .push_back(SessionEvent::Stopped { by_peer: true });
        200
    }

    fn check_next_id(&mut self, t: MessageType, id: Option<u32>) {
        match (id, self.last_psap_msg_id) {
            (None, _) => self.violation(
                clause_for(t),
                "PSAP chat messages carry a Message Identifier",
                format!("{t} without Message Identifier"),
            ),
            (Some(id), Some(last))
                if id != last + 1
                    && !(matches!(t, MessageType::STOP_TRANSFER | MessageType::STOP_REDIRECT)
                        && id == last) =>
            {
                self.violation(
                    clause_for(t),
                    "the PSAP's Message Identifier increases by one (1) for each PSAP message",
                    format!("{t} carries {id} after {last}"),
                )
            }
            _ => {}
        }
        if let Some(id) = id {
            if matches!(t, MessageType::STOP_TRANSFER | MessageType::STOP_REDIRECT) {
                // 266 and 274 carry "the last sequence number used" (6.2.6, 6.2.7): the text
                // can be read as the previous number or this message's own; both are accepted.
                self.last_psap_msg_id = Some(id);
                return;
            }
            self.last_psap_msg_id = Some(id);
        }
    }

    /// The next LMPE message to send.
    pub fn poll_outgoing(&mut self) -> Option<OutgoingChat> {
        self.out.pop_front()
    }
    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }
    /// When the next heartbeat is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let start = self.start_deadline.filter(|_| {
            matches!(
                self.state,
                AppState::Starting | AppState::AwaitingPsapStart | AppState::RedirectPending
            )
        });
        let silent_psap = self
            .last_psap_heartbeat
            .filter(|_| {
                matches!(
                    self.state,
                    AppState::Established | AppState::TransferPending
                )
            })
            .map(|t| t + silence_limit(self.params.peer_heartbeat_limit));
        [self.next_heartbeat, start, silent_psap]
            .into_iter()
            .flatten()
            .min()
    }

    /// Sends the heartbeat if it is due (6.2.5: at least every 20 s, with location); ends a start
    /// that the PSAP never answered with its own start/257 (6.2.2); flags a PSAP that started
    /// sending keep-alives and stopped (6.2.5).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.next_heartbeat.is_some_and(|t| t <= now) {
            let _ = self.heartbeat(now);
        }
        if matches!(
            self.state,
            AppState::Starting | AppState::AwaitingPsapStart | AppState::RedirectPending
        ) && self.start_deadline.is_some_and(|t| t <= now)
        {
            self.start_deadline = None;
            self.state = AppState::Failed;
            let waited = self.params.psap_start_timeout.as_secs_f64();
            if self.is_test_call() {
                self.violation(
                    "6.1.2.10",
                    "a PSAP that accepts a test chat closes it at once with an automatic MESSAGE",
                    format!("no closing stop/258 from the PSAP within {waited:.1} s"),
                );
            } else {
                self.violation(
                    "6.2.2",
                    "upon the first message the PSAP issues its own start/257",
                    format!("no start/257 from the PSAP within {waited:.1} s"),
                );
            }
            self.events.push_back(SessionEvent::Failed {
                reason: format!("no PSAP start/257 within {waited:.1} s"),
            });
        }
        if let Some(last) = self.last_psap_heartbeat {
            let limit = self.params.peer_heartbeat_limit;
            if now >= last + silence_limit(limit)
                && matches!(
                    self.state,
                    AppState::Established | AppState::TransferPending
                )
            {
                self.violation(
                    "6.2.5",
                    "a PSAP that sends keep-alives sends them periodically, at least every 20 s",
                    format!(
                        "no PSAP heartbeat for {:.1} s after the last one (limit {:.1} s)",
                        now.saturating_duration_since(last).as_secs_f64(),
                        limit.as_secs_f64()
                    ),
                );
                // Report each silent period once.
                self.last_psap_heartbeat = Some(now);
            }
        }
    }
}

/// Whether a service URN asks for a test call. Two forms are in use and both are accepted:
/// TS 103 698 6.1.2.10 writes `urn:service:sos.test` and `urn:service:sos.fire.test`; RFC 6881
/// ED-77, which it cites, writes `urn:service:test.sos` and `urn:service:test.sos.fire`.
pub fn is_test_service(uri: &str) -> bool {
    let u = uri.to_ascii_lowercase();
    (u.starts_with("urn:service:sos") && u.ends_with(".test"))
        || u == "urn:service:test.sos"
        || u.starts_with("urn:service:test.sos.")
}

/// How long after the last PSAP heartbeat silence counts as a 6.2.5 violation: the limit plus a
/// tenth for transport delay (a heartbeat arriving exactly at the limit is compliant; arrival
/// gaps are still checked strictly against the limit).
fn silence_limit(limit: std::time::Duration) -> std::time::Duration {
    limit + limit / 10
}

pub(crate) fn clause_for(t: MessageType) -> &'static str {
    match t {
        MessageType::START => "6.2.2",
        MessageType::IN_CHAT => "6.2.3",
        MessageType::STOP => "6.2.4",
        MessageType::HEARTBEAT | MessageType::HEARTBEAT_INACTIVE => "6.2.5",
        MessageType::START_TRANSFER | MessageType::STOP_TRANSFER => "6.2.6",
        MessageType::START_REDIRECT | MessageType::STOP_REDIRECT => "6.2.7",
        _ => "6.2",
    }
}
