//! The simulated PSAP (5.4): answers chats automatically, with configurable deliberate faults
//! so that every conformance check can be shown to fail against a broken PSAP.

use std::collections::{HashMap, VecDeque};

use super::chats::{flush_dirty, ChatOwner, Chats, Timed};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lmpe_wire::lmpe::{LmpeIds, MessageType};
use lmpe_wire::sip::{reason_phrase, Method, ResponseBuilder, SipMessage};

use super::build::{chat_request, Sender};
use super::{token, RoleEvent, WireLog, WireRecord};
use crate::endpoint::{Endpoint, Incoming, Transmit, TransportKind};
use crate::session::{ChatParams, PsapSession, SessionEvent};
use crate::ua::{UaConfig, UaEvent, UserAgent};

/// Deliberate deviations from TS 103 698, for proving that checks fail ("broken peer").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PsapFaults {
    /// 6.2.2-6.2.5: leave Reply-To out of every PSAP message.
    pub omit_reply_to: bool,
    /// 6.2.2: send no start/257 after answering the APP's start.
    pub no_start: bool,
    /// 6.2.2: answer the APP's start/257 with this status instead of 200.
    pub reject_start: Option<u16>,
    /// 6.2.2: return a different Call Identifier than the one received.
    pub wrong_call_id: bool,
    /// 6.1.2.7: PSAP Message Identifiers do not increase (always 1).
    pub frozen_msg_id: bool,
    /// 6.2.3: answer in-chat messages of unknown chats with 200 instead of rejecting them.
    pub accept_unknown_chat: bool,
    /// 6.2.4: keep answering a chat with 200 after it was stopped.
    pub ignore_stop: bool,
    /// 6.2.5: reject heartbeats (with 400).
    pub reject_heartbeat: bool,
    /// 6.2.3: send no automatic reply to in-chat messages.
    pub no_reply: bool,
    /// 6.2.2: answer every start/257 with 200, even invalid ones (and open no session).
    pub accept_any_start: bool,
    /// 6.2.4: reject the APP's stop/258 (with 400).
    pub reject_stop: bool,
    /// 6.2.5: never send PSAP heartbeats, even when configured to.
    pub no_heartbeat: bool,
    /// 6.1.2.7: write its own identifier forms instead of returning the received Call
    /// Identifier and mirroring the APP's Message Identifier purpose.
    pub fixed_id_forms: bool,
    /// 6.1.2.10: accept a test chat (200) but never send the closing MESSAGE.
    pub test_no_close: bool,
    /// 6.1.2.10: leave the service URN out of the test call's closing text.
    pub test_wrong_text: bool,
    /// 6.1.2.10: accept repeated test calls from the same source.
    pub test_no_refusal: bool,
    /// 6.2.7: send stop|redirect/274 without the target in Reply-To.
    pub redirect_no_target: bool,
    /// 6.2.7: give stop|redirect/274 a Message Identifier two past the last used.
    pub redirect_wrong_msg_id: bool,
    /// 6.1.2.4: reject requests carrying Accept-Contact (an accepted header).
    pub reject_accept_contact: bool,
    /// 6.1.2.11: reject starts that carry a DID.
    pub reject_did: bool,
    /// 6.2.6: give stop|transfer/266 and start|transfer/265 Message Identifiers two past the
    /// right ones.
    pub transfer_wrong_msg_id: bool,
    /// 6.1.2.5: send its messages to the APP without Resource-Priority esnet.0.
    pub no_callback_priority: bool,
    /// 6.1.2.3: reject starts that carry P-Access-Network-Info (a Table 1 header).
    pub reject_pani: bool,
}

impl PsapFaults {
    /// Names accepted by [`PsapFaults::by_name`].
    pub const NAMES: [&'static str; 23] = [
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

    /// A single fault by name (`reject-start` rejects with 480).
    pub fn by_name(name: &str) -> Option<Self> {
        let mut f = Self::default();
        match name {
            "omit-reply-to" => f.omit_reply_to = true,
            "no-start" => f.no_start = true,
            "reject-start" => f.reject_start = Some(480),
            "wrong-call-id" => f.wrong_call_id = true,
            "frozen-msg-id" => f.frozen_msg_id = true,
            "accept-unknown-chat" => f.accept_unknown_chat = true,
            "ignore-stop" => f.ignore_stop = true,
            "reject-heartbeat" => f.reject_heartbeat = true,
            "no-reply" => f.no_reply = true,
            "accept-any-start" => f.accept_any_start = true,
            "reject-stop" => f.reject_stop = true,
            "no-heartbeat" => f.no_heartbeat = true,
            "fixed-id-forms" => f.fixed_id_forms = true,
            "test-no-close" => f.test_no_close = true,
            "test-wrong-text" => f.test_wrong_text = true,
            "test-no-refusal" => f.test_no_refusal = true,
            "redirect-no-target" => f.redirect_no_target = true,
            "redirect-wrong-msg-id" => f.redirect_wrong_msg_id = true,
            "reject-accept-contact" => f.reject_accept_contact = true,
            "reject-did" => f.reject_did = true,
            "transfer-wrong-msg-id" => f.transfer_wrong_msg_id = true,
            "no-callback-priority" => f.no_callback_priority = true,
            "reject-p-access-network-info" => f.reject_pani = true,
            _ => return None,
        }
        Some(f)
    }
}

/// 6.1.2.5: "PSAP callbacks during handling of an incident use esnet.0". The harness reads a
/// PSAP's messages to the APP within a chat as such callbacks and marks them (its profile;
/// the spec does not say it of in-chat messages in so many words).
fn callback_priority() -> Vec<(String, String)> {
    vec![("Resource-Priority".to_string(), "esnet.0".to_string())]
}

/// Configuration of a simulated PSAP.
#[derive(Debug, Clone)]
pub struct PsapConfig {
    /// Display name of the PSAP (test calls report it).
    pub name: String,
    /// The public routable SIP URI in Reply-To (6.2.2; may point at the BCF, NOTE 2).
    pub reply_to: String,
    /// Our From URI.
    pub uri: String,
    /// Where PSAP-originated requests go (outbound proxy: the BCF or ESRP, clause D.1).
    pub outbound: (TransportKind, SocketAddr),
    /// Session settings (heartbeat_interval: the PSAP's optional heartbeats).
    pub params: ChatParams,
    /// First question (text of the PSAP's start/257).
    pub greeting: String,
    /// Text of the automatic reply to each in-chat message (`{text}` is replaced).
    pub auto_reply: Option<String>,
    /// An APP in-chat message with exactly this text makes the PSAP end the chat (6.2.4).
    pub close_trigger: Option<String>,
    /// An APP in-chat message `#redirect` makes the PSAP redirect the chat here (6.2.7).
    pub redirect_target: Option<String>,
    /// Deliberate faults.
    pub faults: PsapFaults,
    /// UA settings.
    pub ua: UaConfig,
    /// Test calls (6.1.2.10): a repeat from the same source within this window is refused
    /// with 486 (the spec's example is 2 minutes).
    pub test_repeat_window: Duration,
    /// Test calls: at most this many in all, then 486 (`None`: no limit).
    pub test_call_limit: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct Chat {
    session: PsapSession,
    sip_call_id: String,
    from_tag: String,
    cseq: u32,
    /// Where this chat's messages go when not via the outbound proxy: back over the flow the
    /// start came on (the harness as the APP's direct peer, like a BCF, 6.1.1).
    flow: Option<(TransportKind, SocketAddr)>,
    /// Whether the chat's end has been noted for removal.
    ended: bool,
}

impl Timed for Chat {
    fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
    }
}

/// The simulated PSAP.
#[derive(Debug)]
pub struct PsapRole {
    cfg: PsapConfig,
    ua: UserAgent,
    chats: Chats<Chat>,
    /// UA handle → (chat, session handle, type) of our messages in flight.
    pending: HashMap<u64, (String, u64, MessageType)>,
    events: VecDeque<RoleEvent>,
    wire: WireLog,
    seq: u64,
    /// Test calls accepted: source URI → when, and how many in all.
    test_calls: HashMap<String, Instant>,
    test_count: u32,
    /// Whether sessions also check the APP's Request-URI (the harness as the APP's direct peer).
    app_checks: bool,
    /// Whether an APP in-chat `#transfer` asks for a transfer (6.2.6; the HTTP-3 part is done
    /// by whoever drives this role, see [`PsapRole::take_transfer_requests`]).
    transfer_trigger: bool,
    /// Chats whose call taker asked for a transfer, not yet taken.
    transfer_requests: Vec<String>,
    /// Whether sessions keep a transcript (for the chat history of a transfer, 6.3.3).
    transcripts: bool,
    /// Header fields of every PSAP message (Resource-Priority esnet.0, 6.1.2.5).
    callback_headers: Vec<(String, String)>,
    /// Ended chats and when to forget them (after [`ENDED_CHAT_LINGER`]), oldest first.
    ended: VecDeque<(Instant, String)>,
}

/// How long an ended chat is kept: late retransmissions and messages that crossed the stop
/// still find it (and are answered as for an ended chat); then it is forgotten, so memory does
/// not grow with the number of chats handled.
pub const ENDED_CHAT_LINGER: Duration = Duration::from_secs(32);

impl PsapRole {
    /// A new PSAP.
    pub fn new(cfg: PsapConfig) -> Self {
        Self {
            ua: UserAgent::new(cfg.ua.clone()),
            cfg,
            chats: Chats::new(),
            pending: HashMap::new(),
            events: VecDeque::new(),
            wire: WireLog::default(),
            seq: 0,
            test_calls: HashMap::new(),
            test_count: 0,
            app_checks: false,
            transfer_trigger: false,
            transfer_requests: Vec::new(),
            transcripts: false,
            callback_headers: callback_priority(),
            ended: VecDeque::new(),
        }
    }

    /// Sets the bound address.
    pub fn set_local(&mut self, local: SocketAddr) {
        self.ua.set_local(local);
    }
    /// Sets the outbound proxy.
    pub fn set_outbound(&mut self, outbound: (TransportKind, SocketAddr)) {
        self.cfg.outbound = outbound;
    }
    /// Sets where `#redirect` sends chats (6.2.7).
    pub fn set_redirect_target(&mut self, target: Option<String>) {
        self.cfg.redirect_target = target;
    }

    /// Sets our own URI (From of PSAP messages).
    pub fn set_uri(&mut self, uri: &str) {
        self.cfg.uri = uri.to_string();
    }
    /// Sets the Reply-To URI.
    pub fn set_reply_to(&mut self, reply_to: &str) {
        self.cfg.reply_to = reply_to.to_string();
    }
    /// Replaces the deliberate faults.
    pub fn set_faults(&mut self, faults: PsapFaults) {
        self.cfg.faults = faults;
    }
    /// The configuration.
    pub fn config(&self) -> &PsapConfig {
        &self.cfg
    }
    /// Stops recording wire messages.
    pub fn set_recording(&mut self, on: bool) {
        self.wire.set_enabled(on);
    }
    /// Number of chats seen.
    pub fn chat_count(&self) -> usize {
        self.chats.len()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<RoleEvent> {
        self.events.pop_front()
    }
    /// The wire messages recorded so far (not taken).
    pub fn wire_records(&self) -> &[WireRecord] {
        self.wire.records()
    }

    /// Takes the recorded wire messages.
    pub fn take_wire(&mut self) -> Vec<WireRecord> {
        self.wire.take()
    }

    /// Sends in-chat/259 to the APP of a chat (6.2.3).
    pub fn send_chat(&mut self, now: Instant, chat: &str, text: &str) -> Option<u64> {
        let h = self.chats.touch(chat)?.session.send_chat(now, text).ok()?;
        self.flush(now);
        Some(h)
    }

    /// Ends a chat (6.2.4).
    pub fn stop(&mut self, now: Instant, chat: &str, text: &str) -> Option<u64> {
        let h = self.chats.touch(chat)?.session.stop(now, text).ok()?;
        self.flush(now);
        Some(h)
    }

    /// Checks, in every later chat, that the APP sends to the Reply-To URI (only where this
    /// PSAP is the APP's direct peer: the harness as PSAP in front of an APP under test).
    pub fn set_app_checks(&mut self, on: bool) {
        self.app_checks = on;
    }

    /// Makes an APP in-chat `#transfer` a call taker's request to transfer the chat (6.2.6),
    /// and has sessions keep the transcript that travels with it (6.3.3 `Data`).
    pub fn set_transfer_trigger(&mut self, on: bool) {
        self.transfer_trigger = on;
        self.transcripts = on;
    }

    /// Chats whose call taker asked for a transfer since the last call.
    pub fn take_transfer_requests(&mut self) -> Vec<String> {
        std::mem::take(&mut self.transfer_requests)
    }

    /// The chats (Call Identifier unique parts), in no particular order.
    pub fn chat_ids(&self) -> Vec<String> {
        self.chats.ids()
    }

    /// A chat's session machine (read-only).
    pub fn session(&self, chat: &str) -> Option<&PsapSession> {
        self.chats.get(chat).map(|c| &c.session)
    }

    /// 6.2.6 transferor: sends stop|transfer/266 (after the transfer was negotiated).
    pub fn transfer(
        &mut self,
        now: Instant,
        chat: &str,
        text: &str,
    ) -> Result<u64, crate::session::SessionError> {
        let h = self.chat_mut(chat)?.session.transfer(now, text)?;
        self.flush(now);
        Ok(h)
    }

    /// 6.3.3 transferor: the transfer failed; re-activates the chat (start|transfer/265).
    pub fn reactivate(
        &mut self,
        now: Instant,
        chat: &str,
        text: &str,
    ) -> Result<u64, crate::session::SessionError> {
        let h = self.chat_mut(chat)?.session.reactivate(now, text)?;
        self.flush(now);
        Ok(h)
    }

    /// 6.3.3 transferor: the transferee took the chat over.
    pub fn transfer_completed(&mut self, now: Instant, chat: &str) {
        if let Ok(c) = self.chat_mut(chat) {
            c.session.transfer_completed();
        }
        self.flush(now);
    }

    /// 6.2.7: redirects a chat to `target` (stop|redirect/274).
    pub fn redirect(
        &mut self,
        now: Instant,
        chat: &str,
        target: &str,
        text: &str,
    ) -> Result<u64, crate::session::SessionError> {
        let h = self.chat_mut(chat)?.session.redirect(now, target, text)?;
        self.flush(now);
        Ok(h)
    }

    /// Sends a message of any type in a chat whatever its state (to check that an APP refuses
    /// a message out of sequence).
    pub fn send_unchecked(
        &mut self,
        now: Instant,
        chat: &str,
        msg_type: MessageType,
        text: &str,
    ) -> Result<u64, crate::session::SessionError> {
        let h = self
            .chat_mut(chat)?
            .session
            .send_unchecked(now, msg_type, text);
        self.flush(now);
        Ok(h)
    }

    /// 6.2.6 transferee: takes over a chat announced by a chatTransferExecutionRequest
    /// (6.3.3) and sends start|transfer/265 to the APP; returns the chat id.
    pub fn accept_transfer(
        &mut self,
        now: Instant,
        call_id_urn: &str,
        app_uri: &str,
        last_msg_id: u32,
        text: &str,
    ) -> Result<String, crate::session::SessionError> {
        let session = PsapSession::accept_transfer(
            now,
            call_id_urn,
            app_uri,
            last_msg_id,
            &self.cfg.reply_to,
            "urn:service:sos",
            text,
            self.cfg.params.clone(),
        )?;
        let unique = session.call_id().unique.clone();
        if self.chats.contains(&unique) {
            return Err(crate::session::SessionError::BadTransfer {
                detail: format!("chat {unique} is already handled here"),
            });
        }
        self.insert_chat(now, unique.clone(), session, None);
        self.flush(now);
        Ok(unique)
    }

    fn chat_mut(&mut self, chat: &str) -> Result<&mut Chat, crate::session::SessionError> {
        self.chats
            .touch(chat)
            .ok_or_else(|| crate::session::SessionError::NotAllowed {
                command: "chat",
                state: format!("no chat {chat}"),
            })
    }

    /// Adds a chat; `flow` is the one its start came on (used only when the harness is the
    /// APP's direct peer, [`Self::set_app_checks`]).
    fn insert_chat(
        &mut self,
        now: Instant,
        unique: String,
        mut session: PsapSession,
        flow: Option<(TransportKind, SocketAddr)>,
    ) {
        session.set_check_request_uri(self.app_checks);
        session.set_transcript(now, self.transcripts);
        self.seq += 1;
        let seed = u64::from(self.ua.local().port()) << 20 ^ 0x5a5a;
        self.chats.insert(
            unique,
            Chat {
                session,
                sip_call_id: format!("{}@psap", token(seed, self.seq, 16)),
                from_tag: token(seed, self.seq + 3, 8),
                cseq: 0,
                flow: flow.filter(|_| self.app_checks),
                ended: false,
            },
        );
    }

    fn report_violations(&mut self, chat: &str, msg: &SipMessage) {
        if let Some(c) = self.chats.get_mut(chat) {
            for violation in c.session.take_violations() {
                self.events.push_back(RoleEvent::Violation {
                    chat: chat.to_string(),
                    violation,
                    message: msg.to_text(),
                });
            }
        }
    }

    fn flush(&mut self, now: Instant) {
        self.wire.tick(now);
        flush_dirty(self, now);
        self.pump(now);
    }

    /// Sends what one chat queued (applying the deliberate faults), reports its events and
    /// answers the APP's in-chat messages automatically (which dirties the chat again).
    fn flush_one(&mut self, now: Instant, id: &str) {
        while let Some(c) = self.chats.get_mut(id) {
            let Some(mut out) = c.session.poll_outgoing() else {
                break;
            };
            let f = &self.cfg.faults;
            if f.no_start && out.msg_type == MessageType::START {
                continue;
            }
            let test_close = out.msg_type == MessageType::STOP
                && crate::session::is_test_service(c.session.service())
                && out.msg_id == Some(1);
            if test_close && f.test_no_close {
                continue;
            }
            if test_close && f.test_wrong_text {
                out.text = out.text.map(|t| {
                    t.split("\r\n")
                        .enumerate()
                        .filter(|(i, _)| *i != 1)
                        .map(|(_, l)| l)
                        .collect::<Vec<_>>()
                        .join("\r\n")
                });
            }
            if f.transfer_wrong_msg_id
                && matches!(
                    out.msg_type,
                    MessageType::STOP_TRANSFER | MessageType::START_TRANSFER
                )
            {
                out.msg_id = out.msg_id.map(|n| n + 2);
            }
            if out.msg_type == MessageType::STOP_REDIRECT {
                if f.redirect_no_target {
                    out.reply_to = None;
                }
                if f.redirect_wrong_msg_id {
                    out.msg_id = out.msg_id.map(|n| n + 2);
                }
            }
            if f.fixed_id_forms {
                out.msg_id_purpose = None;
                out.call_id_urn = out.call_id.urn(self.cfg.params.profile.call_id_prefixes[0]);
            }
            if f.omit_reply_to {
                out.reply_to = None;
            }
            if f.frozen_msg_id && out.msg_id.is_some() {
                out.msg_id = Some(1);
            }
            if f.wrong_call_id {
                out.call_id_urn =
                    out.call_id_urn
                        .replacen(&out.call_id.unique, "zzzzzzzzzzzzwrong", 1);
            }
            c.cseq += 1;
            let msg = chat_request(
                &out,
                &Sender {
                    profile: &self.cfg.params.profile,
                    from_uri: &self.cfg.uri,
                    from_tag: &c.from_tag,
                    sip_call_id: &c.sip_call_id,
                    cseq: c.cseq,
                    location: None,
                    pidf: None,
                    extra: if f.no_callback_priority {
                        &[]
                    } else {
                        &self.callback_headers
                    },
                    extra_parts: &[],
                },
            );
            let (t, d) = c.flow.unwrap_or(self.cfg.outbound);
            if let Ok(h) = self.ua.send_request(now, msg, t, d) {
                self.pending
                    .insert(h, (id.to_string(), out.handle, out.msg_type));
            }
        }
        if let Some(c) = self.chats.get_mut(id) {
            if !c.ended && c.session.state() == crate::session::PsapState::Stopped {
                c.ended = true;
                self.ended
                    .push_back((now + ENDED_CHAT_LINGER, id.to_string()));
            }
        }
        let mut replies = Vec::new();
        if let Some(c) = self.chats.get_mut(id) {
            while let Some(event) = c.session.poll_event() {
                if let SessionEvent::Received {
                    msg_type: MessageType::IN_CHAT,
                    text,
                    ..
                } = &event
                {
                    replies.push(text.clone().unwrap_or_default());
                }
                self.events.push_back(RoleEvent::Session {
                    chat: id.to_string(),
                    event,
                });
            }
        }
        for text in replies {
            self.auto_answer(now, id, &text);
        }
    }

    fn auto_answer(&mut self, now: Instant, chat: &str, text: &str) {
        if self.transfer_trigger && text.trim() == "#transfer" {
            self.transfer_requests.push(chat.to_string());
            return;
        }
        let close = self.cfg.close_trigger.as_deref() == Some(text.trim());
        let redirect = (text.trim() == "#redirect")
            .then(|| self.cfg.redirect_target.clone())
            .flatten();
        let reply = match (&self.cfg.auto_reply, self.cfg.faults.no_reply) {
            (Some(tpl), false) => Some(tpl.replace("{text}", text)),
            _ => None,
        };
        let Some(c) = self.chats.touch(chat) else {
            return;
        };
        if let Some(target) = redirect {
            let _ = c.session.redirect(
                now,
                &target,
                "Your chat is being redirected to another PSAP.",
            );
        } else if close {
            let _ = c.session.stop(now, "The call taker has closed this chat.");
        } else if let Some(reply) = reply {
            let _ = c.session.send_chat(now, &reply);
        }
    }

    fn pump(&mut self, now: Instant) {
        let mut again = false;
        while let Some(ev) = self.ua.poll_event() {
            match ev {
                UaEvent::Response { handle, msg } => {
                    let status = msg.status().unwrap_or(500);
                    if status >= 200 {
                        self.answered(now, handle, status);
                        again = true;
                    }
                }
                UaEvent::Timeout { handle } => {
                    self.answered(now, handle, 408);
                    again = true;
                }
                UaEvent::TransportError { handle } => {
                    self.answered(now, handle, 503);
                    again = true;
                }
                UaEvent::Request {
                    id,
                    msg,
                    transport,
                    remote,
                } => {
                    let status = self.on_request(now, &msg, (transport, remote));
                    let resp = ResponseBuilder::for_request(
                        &msg,
                        status,
                        reason_phrase(status),
                        Some("psap"),
                    )
                    .build();
                    let _ = self.ua.respond(now, &id, &resp);
                    again = true;
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

    fn answered(&mut self, now: Instant, handle: u64, status: u16) {
        if let Some((chat, sh, t)) = self.pending.remove(&handle) {
            if let Some(c) = self.chats.touch(&chat) {
                c.session.on_answer(now, sh, t, status);
            }
        }
    }

    fn unmatched(&mut self, msg: &SipMessage, status: u16, reason: String) -> u16 {
        self.events.push_back(RoleEvent::Unmatched {
            summary: msg.summary(),
            status,
            reason,
        });
        status
    }

    fn on_request(
        &mut self,
        now: Instant,
        msg: &SipMessage,
        flow: (TransportKind, SocketAddr),
    ) -> u16 {
        match msg.method() {
            Some(Method::Message) => {}
            Some(Method::Options) => return 200,
            _ => return self.unmatched(msg, 405, "only MESSAGE and OPTIONS are served".into()),
        }
        let defects: Vec<_> = msg
            .defects()
            .into_iter()
            .filter(|d| d.severity == lmpe_wire::sip::Severity::Reject)
            .collect();
        if !defects.is_empty() {
            let d: Vec<String> = defects.iter().map(ToString::to_string).collect();
            return self.unmatched(msg, 400, d.join("; "));
        }
        if self.cfg.faults.reject_pani && msg.header("P-Access-Network-Info").is_some() {
            return self.unmatched(
                msg,
                400,
                "deliberate fault reject-p-access-network-info".into(),
            );
        }
        if self.cfg.faults.reject_accept_contact && msg.header("Accept-Contact").is_some() {
            return self.unmatched(msg, 400, "deliberate fault reject-accept-contact".into());
        }
        let ids = LmpeIds::extract(msg, &self.cfg.params.profile);
        if self.cfg.faults.reject_did && ids.did.is_some() {
            return self.unmatched(msg, 400, "deliberate fault reject-did".into());
        }
        let known = ids
            .call_id
            .as_ref()
            .map(|c| c.unique.clone())
            .filter(|u| self.chats.contains(u));
        // The harness as the APP's direct peer plays the redirect target too: the APP's
        // start|redirect/273 for a chat this PSAP redirected away opens it anew, under the
        // URI it was sent to (6.2.7).
        let mut reply_to = self.cfg.reply_to.clone();
        if let Some(chat) = known.as_deref() {
            let redirected_here = self.app_checks
                && ids.msg_type == Some(MessageType::START_REDIRECT)
                && self
                    .chats
                    .get(chat)
                    .is_some_and(|c| c.session.state() == crate::session::PsapState::Stopped);
            if redirected_here {
                self.chats.remove(chat);
                if let Some(ruri) = msg.request_uri().filter(|u| u.starts_with("sip")) {
                    reply_to = ruri.to_string();
                }
            }
        }
        let known = known.filter(|c| self.chats.contains(c));
        if let Some(chat) = known {
            let ignore_stop = self.cfg.faults.ignore_stop;
            let Some(c) = self.chats.touch(&chat) else {
                return 500;
            };
            if ignore_stop && c.session.state() == crate::session::PsapState::Stopped {
                return 200;
            }
            if self.cfg.faults.reject_heartbeat
                && ids.msg_type.is_some_and(MessageType::is_heartbeat)
            {
                return 400;
            }
            if self.cfg.faults.reject_stop && ids.msg_type == Some(MessageType::STOP) {
                return 400;
            }
            if ids.msg_type.is_some_and(MessageType::is_start) {
                return self.unmatched(msg, 400, format!("start for the existing chat {chat}"));
            }
            let status = c.session.handle_request(now, msg, &ids);
            self.report_violations(&chat, msg);
            return status;
        }
        let to_service = msg
            .request_uri()
            .is_some_and(|u| u.starts_with("urn:service:") || u.contains("psap@"));
        if self.cfg.faults.accept_any_start && to_service && ids.call_id.is_none()
            || self.cfg.faults.accept_any_start && ids.msg_type.is_none()
        {
            return 200;
        }
        match ids.msg_type {
            Some(t) if t == MessageType::START || t == MessageType::START_REDIRECT => {}
            Some(t) => {
                if self.cfg.faults.accept_unknown_chat {
                    return 200;
                }
                return self.unmatched(
                    msg,
                    481,
                    format!(
                        "{t} for no known chat (no start/257 received for this Call Identifier)"
                    ),
                );
            }
            None => {
                let why = if ids.issues.is_empty() {
                    "no Message Type".to_string()
                } else {
                    ids.issues.join("; ")
                };
                return self.unmatched(msg, 400, why);
            }
        }
        if let Some(status) = self.cfg.faults.reject_start {
            return self.unmatched(msg, status, "deliberate fault reject-start".into());
        }
        let mut params = self.cfg.params.clone();
        if self.cfg.faults.no_heartbeat {
            params.heartbeat_interval = None;
        }
        let service = crate::session::requested_service(msg);
        let accepted = if crate::session::is_test_service(&service) {
            let source = crate::session::originator_uri(msg).unwrap_or_default();
            if !self.cfg.faults.test_no_refusal {
                if let Some(at) = self.test_calls.get(&source) {
                    if now.saturating_duration_since(*at) < self.cfg.test_repeat_window {
                        return self.unmatched(
                            msg,
                            486,
                            format!(
                                "repeated test call from {source} within {} s (6.1.2.10)",
                                self.cfg.test_repeat_window.as_secs()
                            ),
                        );
                    }
                }
                if self
                    .cfg
                    .test_call_limit
                    .is_some_and(|l| self.test_count >= l)
                {
                    return self.unmatched(msg, 486, "test call limit reached (6.1.2.10)".into());
                }
            }
            let r =
                PsapSession::accept_test_call(now, msg, &ids, &reply_to, &self.cfg.name, params);
            if r.is_ok() {
                self.test_calls.insert(source, now);
                self.test_count += 1;
            }
            r
        } else {
            PsapSession::accept_start(now, msg, &ids, &reply_to, &self.cfg.greeting, params)
        };
        match accepted {
            Ok(session) => {
                let unique = session.call_id().unique.clone();
                self.insert_chat(now, unique.clone(), session, Some(flow));
                self.report_violations(&unique, msg);
                200
            }
            Err(rej) => {
                let why: Vec<String> = rej.violations.iter().map(ToString::to_string).collect();
                self.unmatched(msg, rej.status, why.join("; "))
            }
        }
    }
}

impl ChatOwner for PsapRole {
    type Chat = Chat;
    fn chats_mut(&mut self) -> &mut Chats<Chat> {
        &mut self.chats
    }
    fn flush_chat(&mut self, now: Instant, id: &str) {
        self.flush_one(now, id);
    }
}

impl Endpoint for PsapRole {
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
        [
            self.ua.poll_timeout(),
            self.chats.poll_timeout(),
            self.ended.front().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.wire.tick(now);
        self.ua.handle_timeout(now);
        self.chats.handle_timeout(now);
        while self.ended.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, id)) = self.ended.pop_front() {
                // A re-activated chat (transfer that failed) is no longer ended.
                if self
                    .chats
                    .get(&id)
                    .is_some_and(|c| c.session.state() == crate::session::PsapState::Stopped)
                {
                    self.chats.remove(&id);
                }
            }
        }
        self.flush(now);
    }
}
