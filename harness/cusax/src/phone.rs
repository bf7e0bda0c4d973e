//! A sans-IO SIP phone over UDP: the INVITE client and server transactions with their dialog
//! (RFC 3261 13, 17.1.1, 17.2.1: INVITE retransmitted on Timer A until a response, Timer B;
//! the UAS core retransmits its 2xx from T1 doubling up to T2 until the ACK, 64·T1 at most;
//! the ACK for a 2xx is a new transaction sent end-to-end to the remote target and re-sent for
//! every retransmitted 2xx; a non-2xx final response is acknowledged hop-by-hop on the
//! INVITE's branch), BYE in the dialog, and OPTIONS and REGISTER out of dialog. Non-INVITE
//! transactions are [`lmpe_proto::ua::UserAgent`]'s.
//!
//! Limits: UDP only; no CANCEL, re-INVITE, PRACK or authentication; in-dialog requests go
//! straight to the remote target (a route set from Record-Route is not used, so a proxy in
//! the path must not record-route); incoming re-INVITEs are answered 488.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lmpe_proto::endpoint::{Endpoint, Incoming, Transmit, TransportKind};
use lmpe_proto::roles::{WireLog, WireRecord};
use lmpe_proto::ua::{ServerTxId, UaConfig, UaEvent, UserAgent};
use lmpe_wire::sip::{
    reason_phrase, Method, NameAddr, RequestBuilder, ResponseBuilder, RsipParser, SipMessage,
    SipParser, SipUri,
};

use crate::profile;

/// RFC 3261 T1.
const T1: Duration = Duration::from_millis(500);
/// RFC 3261 T2.
const T2: Duration = Duration::from_secs(4);

/// Configuration of a [`Phone`].
#[derive(Debug, Clone)]
pub struct PhoneConfig {
    /// Our address (updated with [`Phone::set_local`] once bound).
    pub local: SocketAddr,
    /// Our address-of-record (`sip:user@domain`), the From of our requests.
    pub aor: String,
    /// The outbound proxy every out-of-dialog request goes to; `None`: straight to the
    /// Request-URI's host and port (which must then be an IP address).
    pub proxy: Option<SocketAddr>,
}

/// Which side of a call we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// We sent the INVITE.
    Caller,
    /// We received it.
    Callee,
}

/// Where a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// INVITE sent or received, no final response yet.
    Early,
    /// 2xx sent or received, ACK not yet seen (callee) / sent (caller: never stays here).
    Answered,
    /// 2xx acknowledged: the session is up.
    Confirmed,
    /// Rejected, timed out or ended with BYE.
    Ended,
}

/// What the phone reports.
#[derive(Debug, Clone)]
pub enum PhoneEvent {
    /// A new INVITE; answer with [`Phone::answer`].
    Invite {
        /// The call (its Call-ID).
        call: String,
        /// The request.
        msg: SipMessage,
    },
    /// A final response to our INVITE (a 2xx has been acknowledged already).
    InviteResponse {
        /// The call.
        call: String,
        /// The response.
        msg: SipMessage,
    },
    /// The ACK for our 2xx arrived.
    Acked {
        /// The call.
        call: String,
    },
    /// The call ended.
    Ended {
        /// The call.
        call: String,
        /// Why (`BYE from the peer`, `BYE sent`, `no ACK`, `INVITE timed out`, a status).
        reason: String,
    },
    /// An OPTIONS request; answer with [`Phone::respond`].
    Options {
        /// Pass to `respond`.
        id: ServerTxId,
        /// The request.
        msg: SipMessage,
    },
    /// A final response to an OPTIONS, REGISTER or BYE we sent.
    Response {
        /// The handle the sending method returned.
        handle: u64,
        /// The response.
        msg: SipMessage,
    },
    /// No final response to a non-INVITE request (Timer F) or a transport error.
    Failed {
        /// The handle.
        handle: u64,
        /// Why.
        reason: String,
    },
    /// Something received that could not be used.
    Malformed {
        /// Why.
        error: String,
    },
}

#[derive(Debug)]
struct Call {
    side: Side,
    state: CallState,
    local_tag: String,
    remote_tag: Option<String>,
    local_uri: String,
    remote_uri: String,
    remote_target: Option<String>,
    /// Where in-dialog requests go when the remote target names no IP address.
    peer_addr: SocketAddr,
    next_cseq: u32,
    invite_cseq: u32,
    /// Caller: the INVITE and its branch; callee: the request (for responses).
    invite: SipMessage,
    invite_bytes: Arc<[u8]>,
    branch: String,
    /// Caller: where the INVITE goes; callee: where responses go.
    hop: SocketAddr,
    /// Caller: the ACK for the 2xx; callee: the last final response.
    last: Option<Arc<[u8]>>,
    last_dest: Option<SocketAddr>,
    retransmit_at: Option<Instant>,
    interval: Duration,
    give_up_at: Option<Instant>,
}

/// The phone. Drive it with [`lmpe_net::spawn_endpoint`]; commands and events through the
/// handle's `with`.
#[derive(Debug)]
pub struct Phone {
    cfg: PhoneConfig,
    ua: UserAgent,
    parser: RsipParser,
    calls: HashMap<String, Call>,
    byes: HashMap<u64, String>,
    events: VecDeque<PhoneEvent>,
    out: VecDeque<Transmit>,
    wire: WireLog,
    seq: u64,
}

fn tag() -> String {
    profile::new_token()[2..14].to_owned()
}

/// The address a SIP URI names when its host is an IP literal (port 5060 by default).
pub fn uri_addr(uri: &str) -> Option<SocketAddr> {
    SipUri::parse(uri).ok()?.ip_addr()
}

fn uri_of(header: &'static str, value: Option<&str>) -> Option<NameAddr> {
    NameAddr::parse(header, value?).ok()
}

impl Phone {
    /// A phone; nothing is sent until a command.
    pub fn new(cfg: PhoneConfig) -> Self {
        Self {
            ua: UserAgent::new(UaConfig::new(cfg.local)),
            cfg,
            parser: RsipParser::default(),
            calls: HashMap::new(),
            byes: HashMap::new(),
            events: VecDeque::new(),
            out: VecDeque::new(),
            wire: WireLog::default(),
            seq: 0,
        }
    }

    /// Our bound address (the driver's).
    pub fn set_local(&mut self, local: SocketAddr) {
        self.cfg.local = local;
        self.ua.set_local(local);
    }

    /// Our bound address.
    pub fn local(&self) -> SocketAddr {
        self.cfg.local
    }

    /// Our Contact URI.
    pub fn contact(&self) -> String {
        let user = SipUri::parse(&self.cfg.aor)
            .ok()
            .and_then(|u| u.user)
            .unwrap_or("lmpe");
        let l = self.cfg.local;
        format!("sip:{user}@{}", l)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<PhoneEvent> {
        self.events.pop_front()
    }

    /// Every message sent and received so far.
    pub fn wire(&self) -> &[WireRecord] {
        self.wire.records()
    }

    /// A call's state.
    pub fn state(&self, call: &str) -> Option<CallState> {
        self.calls.get(call).map(|c| c.state)
    }

    /// The calls that are answered or confirmed (BYE ends them).
    pub fn calls_up(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .calls
            .iter()
            .filter(|(_, c)| matches!(c.state, CallState::Answered | CallState::Confirmed))
            .map(|(id, _)| id.clone())
            .collect();
        v.sort();
        v
    }

    /// Where an out-of-dialog request for `uri` goes.
    fn next_hop(&self, uri: &str) -> Result<SocketAddr, String> {
        match self.cfg.proxy {
            Some(p) => Ok(p),
            None => uri_addr(uri)
                .ok_or_else(|| format!("{uri} names no IP address and there is no outbound proxy")),
        }
    }

    fn branch(&mut self) -> String {
        self.seq += 1;
        format!("z9hG4bKcx{}{}", self.seq, tag())
    }

    fn push(&mut self, dest: SocketAddr, bytes: Arc<[u8]>) {
        self.out.push_back(Transmit {
            transport: TransportKind::Udp,
            remote: dest,
            bytes,
        });
    }

    /// Sends an INVITE to `target` with an SDP audio offer and `headers`; returns the
    /// Call-ID.
    pub fn invite(
        &mut self,
        now: Instant,
        target: &str,
        headers: &[(String, String)],
    ) -> Result<String, String> {
        self.wire.tick(now);
        let hop = self.next_hop(target)?;
        let call_id = format!("{}@lmpe-cusax", profile::new_token());
        let local_tag = tag();
        let branch = self.branch();
        let l = self.cfg.local;
        let mut b = RequestBuilder::new(Method::Invite, target)
            .header("Via", format!("SIP/2.0/UDP {l};branch={branch};rport"))
            .header("Max-Forwards", "70")
            .header("From", format!("<{}>;tag={local_tag}", self.cfg.aor))
            .header("To", format!("<{target}>"))
            .header("Call-ID", call_id.as_str())
            .header("CSeq", "1 INVITE")
            .header("Contact", format!("<{}>", self.contact()));
        for (n, v) in headers {
            b = b.header(n, v.as_str());
        }
        let msg = b
            .body(profile::SDP, profile::sdp_audio(l, self.seq))
            .build();
        let bytes: Arc<[u8]> = Arc::from(msg.to_bytes());
        self.push(hop, bytes.clone());
        self.calls.insert(
            call_id.clone(),
            Call {
                side: Side::Caller,
                state: CallState::Early,
                local_tag,
                remote_tag: None,
                local_uri: self.cfg.aor.clone(),
                remote_uri: target.to_owned(),
                remote_target: None,
                peer_addr: hop,
                next_cseq: 2,
                invite_cseq: 1,
                invite: msg,
                invite_bytes: bytes,
                branch,
                hop,
                last: None,
                last_dest: None,
                retransmit_at: Some(now + T1),
                interval: T1,
                give_up_at: Some(now + 64 * T1),
            },
        );
        Ok(call_id)
    }

    /// Answers an incoming INVITE with `status` (a 2xx carries an SDP audio answer and is
    /// retransmitted until the ACK), with `headers`.
    pub fn answer(
        &mut self,
        now: Instant,
        call: &str,
        status: u16,
        headers: &[(String, String)],
    ) -> Result<(), String> {
        self.wire.tick(now);
        let contact = self.contact();
        let l = self.cfg.local;
        let seq = self.seq;
        let c = self
            .calls
            .get_mut(call)
            .filter(|c| c.side == Side::Callee && c.state == CallState::Early)
            .ok_or_else(|| format!("no INVITE to answer in call {call}"))?;
        let mut b = ResponseBuilder::for_request(
            &c.invite,
            status,
            reason_phrase(status),
            Some(&c.local_tag),
        )
        .header("Contact", format!("<{contact}>"));
        for (n, v) in headers {
            b = b.header(n, v.as_str());
        }
        if (200..300).contains(&status) {
            b = b.body(profile::SDP, profile::sdp_audio(l, seq));
            c.state = CallState::Answered;
        } else {
            c.state = CallState::Ended;
        }
        let bytes: Arc<[u8]> = Arc::from(b.build().to_bytes());
        c.last = Some(bytes.clone());
        c.last_dest = Some(c.hop);
        c.retransmit_at = Some(now + T1);
        c.interval = T1;
        c.give_up_at = Some(now + 64 * T1);
        let hop = c.hop;
        if status >= 300 {
            self.events.push_back(PhoneEvent::Ended {
                call: call.to_owned(),
                reason: format!("rejected with {status}"),
            });
        }
        self.push(hop, bytes);
        Ok(())
    }

    /// Ends a confirmed call with BYE; returns the BYE's handle.
    pub fn bye(&mut self, now: Instant, call: &str) -> Result<u64, String> {
        self.wire.tick(now);
        let c = self
            .calls
            .get_mut(call)
            .filter(|c| matches!(c.state, CallState::Confirmed | CallState::Answered))
            .ok_or_else(|| format!("no established call {call}"))?;
        let target = c
            .remote_target
            .clone()
            .unwrap_or_else(|| c.remote_uri.clone());
        let dest = uri_addr(&target).unwrap_or(c.peer_addr);
        let cseq = c.next_cseq;
        c.next_cseq += 1;
        let remote_tag = c
            .remote_tag
            .as_deref()
            .map(|t| format!(";tag={t}"))
            .unwrap_or_default();
        let msg = RequestBuilder::new(Method::Bye, target.as_str())
            .header("Max-Forwards", "70")
            .header("From", format!("<{}>;tag={}", c.local_uri, c.local_tag))
            .header("To", format!("<{}>{remote_tag}", c.remote_uri))
            .header("Call-ID", call)
            .header("CSeq", format!("{cseq} BYE"))
            .build();
        c.state = CallState::Ended;
        c.retransmit_at = None;
        c.give_up_at = None;
        let h = self
            .ua
            .send_request(now, msg, TransportKind::Udp, dest)
            .map_err(|e| e.to_string())?;
        self.byes.insert(h, call.to_owned());
        self.events.push_back(PhoneEvent::Ended {
            call: call.to_owned(),
            reason: "BYE sent".into(),
        });
        Ok(h)
    }

    /// Sends an out-of-dialog OPTIONS to `target` (RFC 3261 11); returns its handle.
    pub fn options(&mut self, now: Instant, target: &str) -> Result<u64, String> {
        self.wire.tick(now);
        let msg = self.out_of_dialog(Method::Options, target, target, &[]);
        let hop = self.next_hop(target)?;
        self.ua
            .send_request(now, msg, TransportKind::Udp, hop)
            .map_err(|e| e.to_string())
    }

    /// Registers our Contact for our address-of-record with the outbound proxy (RFC 3261
    /// 10, no authentication); returns its handle.
    pub fn register(&mut self, now: Instant, expires: u32) -> Result<u64, String> {
        self.wire.tick(now);
        let proxy = self
            .cfg
            .proxy
            .ok_or_else(|| "REGISTER needs an outbound proxy (the registrar)".to_owned())?;
        let domain = SipUri::parse(&self.cfg.aor)
            .map(|u| u.host.to_owned())
            .map_err(|e| e.to_string())?;
        let aor = self.cfg.aor.clone();
        let msg = self.out_of_dialog(
            Method::Register,
            &format!("sip:{domain}"),
            &aor,
            &[
                ("Contact".into(), format!("<{}>", self.contact())),
                ("Expires".into(), expires.to_string()),
            ],
        );
        self.ua
            .send_request(now, msg, TransportKind::Udp, proxy)
            .map_err(|e| e.to_string())
    }

    fn out_of_dialog(
        &mut self,
        method: Method,
        ruri: &str,
        to: &str,
        headers: &[(String, String)],
    ) -> SipMessage {
        self.seq += 1;
        let mut b = RequestBuilder::new(method.clone(), ruri)
            .header("Max-Forwards", "70")
            .header("From", format!("<{}>;tag={}", self.cfg.aor, tag()))
            .header("To", format!("<{to}>"))
            .header(
                "Call-ID",
                format!("{}@lmpe-cusax", profile::new_token()).as_str(),
            )
            .header("CSeq", format!("{} {}", self.seq, method.as_str()));
        for (n, v) in headers {
            b = b.header(n, v.as_str());
        }
        b.build()
    }

    /// Answers an OPTIONS (or any request the phone reported with a server transaction id).
    pub fn respond(
        &mut self,
        now: Instant,
        id: &ServerTxId,
        request: &SipMessage,
        status: u16,
        headers: &[(String, String)],
    ) -> Result<(), String> {
        self.wire.tick(now);
        let mut b =
            ResponseBuilder::for_request(request, status, reason_phrase(status), Some(&tag()));
        for (n, v) in headers {
            b = b.header(n, v.as_str());
        }
        self.ua
            .respond(now, id, &b.build())
            .map_err(|e| e.to_string())
    }

    fn on_invite_response(&mut self, now: Instant, msg: SipMessage) {
        let Ok(call_id) = msg.call_id().map(str::to_owned) else {
            return;
        };
        let Some(status) = msg.status() else { return };
        let l = self.cfg.local;
        let seq = self.seq + 1;
        let Some(c) = self
            .calls
            .get_mut(&call_id)
            .filter(|c| c.side == Side::Caller)
        else {
            self.events.push_back(PhoneEvent::Malformed {
                error: format!("a response to an INVITE of no call: {}", msg.summary()),
            });
            return;
        };
        if status < 200 {
            // Proceeding: stop retransmitting (Timer A), keep Timer B.
            c.retransmit_at = None;
            return;
        }
        if (200..300).contains(&status) {
            if let Some(ack) = c.last.clone() {
                // A retransmitted 2xx: the ACK again (RFC 3261 13.2.2.4).
                let dest = c.last_dest.unwrap_or(c.peer_addr);
                self.push(dest, ack);
                return;
            }
            if c.state != CallState::Early {
                return;
            }
            let to = uri_of("To", msg.header("To"));
            c.remote_tag = to
                .as_ref()
                .and_then(|t| t.param("tag").flatten().map(str::to_owned));
            c.remote_target = uri_of("Contact", msg.header("Contact")).map(|n| n.uri);
            let target = c
                .remote_target
                .clone()
                .unwrap_or_else(|| c.remote_uri.clone());
            let dest = uri_addr(&target).unwrap_or(c.hop);
            c.peer_addr = dest;
            let branch = format!("z9hG4bKcx{seq}{}", tag());
            let ack = RequestBuilder::new(Method::Ack, target.as_str())
                .header("Via", format!("SIP/2.0/UDP {l};branch={branch};rport"))
                .header("Max-Forwards", "70")
                .header("From", format!("<{}>;tag={}", c.local_uri, c.local_tag))
                .header("To", msg.header("To").unwrap_or_default().to_owned())
                .header("Call-ID", call_id.as_str())
                .header("CSeq", format!("{} ACK", c.invite_cseq))
                .build();
            let bytes: Arc<[u8]> = Arc::from(ack.to_bytes());
            c.last = Some(bytes.clone());
            c.last_dest = Some(dest);
            c.state = CallState::Confirmed;
            c.retransmit_at = None;
            c.give_up_at = None;
            self.seq += 1;
            self.push(dest, bytes);
        } else {
            // RFC 3261 17.1.1.3: ACK on the INVITE's branch, to the same hop.
            let mut ack = String::new();
            ack.push_str(&format!("ACK {} SIP/2.0\r\n", c.remote_uri));
            if let Some(v) = c.invite.header("Via") {
                ack.push_str(&format!("Via: {v}\r\n"));
            }
            ack.push_str("Max-Forwards: 70\r\n");
            ack.push_str(&format!("From: <{}>;tag={}\r\n", c.local_uri, c.local_tag));
            ack.push_str(&format!("To: {}\r\n", msg.header("To").unwrap_or_default()));
            ack.push_str(&format!("Call-ID: {call_id}\r\n"));
            ack.push_str(&format!(
                "CSeq: {} ACK\r\nContent-Length: 0\r\n\r\n",
                c.invite_cseq
            ));
            let first = c.state == CallState::Early;
            c.state = CallState::Ended;
            c.retransmit_at = None;
            c.give_up_at = None;
            let hop = c.hop;
            self.push(hop, Arc::from(ack.into_bytes()));
            if !first {
                return;
            }
            self.events.push_back(PhoneEvent::Ended {
                call: call_id.clone(),
                reason: format!("INVITE answered {status}"),
            });
        }
        let _ = now;
        self.events
            .push_back(PhoneEvent::InviteResponse { call: call_id, msg });
    }

    fn on_invite(&mut self, input: &Incoming, msg: SipMessage) {
        let Ok(call_id) = msg.call_id().map(str::to_owned) else {
            return;
        };
        let branch = msg
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_owned))
            .unwrap_or_default();
        if let Some(c) = self.calls.get(&call_id) {
            if c.side == Side::Callee && c.branch == branch {
                // A retransmission: the last response again, if any.
                if let Some(last) = c.last.clone() {
                    let hop = c.hop;
                    self.push(hop, last);
                }
                return;
            }
            // A re-INVITE (or a Call-ID clash): not supported.
            let resp = ResponseBuilder::for_request(&msg, 488, reason_phrase(488), None).build();
            self.push(input.remote, Arc::from(resp.to_bytes()));
            return;
        }
        let from = uri_of("From", msg.header("From"));
        let to = uri_of("To", msg.header("To"));
        let (Some(from), Some(to)) = (from, to) else {
            let resp = ResponseBuilder::for_request(&msg, 400, reason_phrase(400), None).build();
            self.push(input.remote, Arc::from(resp.to_bytes()));
            return;
        };
        let cseq = msg.cseq().map(|(n, _)| n).unwrap_or(1);
        self.calls.insert(
            call_id.clone(),
            Call {
                side: Side::Callee,
                state: CallState::Early,
                local_tag: tag(),
                remote_tag: from.param("tag").flatten().map(str::to_owned),
                local_uri: to.uri.clone(),
                remote_uri: from.uri.clone(),
                remote_target: uri_of("Contact", msg.header("Contact")).map(|n| n.uri),
                peer_addr: input.remote,
                next_cseq: 1,
                invite_cseq: cseq,
                invite_bytes: Arc::from(input.bytes.as_slice()),
                invite: msg.clone(),
                branch,
                hop: input.remote,
                last: None,
                last_dest: None,
                retransmit_at: None,
                interval: T1,
                give_up_at: None,
            },
        );
        self.events
            .push_back(PhoneEvent::Invite { call: call_id, msg });
    }

    fn on_ack(&mut self, msg: &SipMessage) {
        let Ok(call_id) = msg.call_id() else { return };
        if let Some(c) = self.calls.get_mut(call_id) {
            if c.side != Side::Callee {
                return;
            }
            c.retransmit_at = None;
            c.give_up_at = None;
            if c.state == CallState::Answered {
                c.state = CallState::Confirmed;
                self.events.push_back(PhoneEvent::Acked {
                    call: call_id.to_owned(),
                });
            }
        }
    }

    fn drain_ua(&mut self, now: Instant) {
        while let Some(ev) = self.ua.poll_event() {
            match ev {
                UaEvent::Request { id, msg, .. } => match msg.request_method() {
                    Some(Method::Options) => self.events.push_back(PhoneEvent::Options { id, msg }),
                    Some(Method::Bye) => {
                        let call = msg.call_id().map(str::to_owned).unwrap_or_default();
                        let known = self
                            .calls
                            .get_mut(&call)
                            .filter(|c| c.state != CallState::Ended);
                        let status = match known {
                            Some(c) => {
                                c.state = CallState::Ended;
                                c.retransmit_at = None;
                                c.give_up_at = None;
                                200
                            }
                            None => 481,
                        };
                        let _ = self.respond(now, &id, &msg, status, &[]);
                        if status == 200 {
                            self.events.push_back(PhoneEvent::Ended {
                                call,
                                reason: "BYE from the peer".into(),
                            });
                        }
                    }
                    _ => {
                        let _ = self.respond(
                            now,
                            &id,
                            &msg,
                            405,
                            &[("Allow".into(), "INVITE, ACK, BYE, OPTIONS".into())],
                        );
                    }
                },
                UaEvent::Response { handle, msg } => {
                    if msg.status().is_some_and(|s| s >= 200) {
                        self.byes.remove(&handle);
                        self.events.push_back(PhoneEvent::Response { handle, msg });
                    }
                }
                UaEvent::Timeout { handle } => self.events.push_back(PhoneEvent::Failed {
                    handle,
                    reason: "no final response (Timer F)".into(),
                }),
                UaEvent::TransportError { handle } => self.events.push_back(PhoneEvent::Failed {
                    handle,
                    reason: "transport error".into(),
                }),
                UaEvent::Malformed { error, .. } => {
                    self.events.push_back(PhoneEvent::Malformed { error })
                }
                UaEvent::StrayResponse { .. } => {}
            }
        }
        while let Some(t) = self.ua.poll_transmit() {
            self.out.push_back(t);
        }
    }
}

impl Endpoint for Phone {
    fn handle_input(&mut self, now: Instant, input: Incoming) {
        self.wire.incoming(now, &input);
        let msg = match self.parser.parse(&input.bytes) {
            Ok(m) => m,
            Err(e) => {
                self.events.push_back(PhoneEvent::Malformed {
                    error: e.to_string(),
                });
                return;
            }
        };
        if msg.status().is_some() && msg.cseq_method() == Some("INVITE") {
            self.on_invite_response(now, msg);
        } else if msg.request_method() == Some(&Method::Invite) {
            self.on_invite(&input, msg);
        } else if msg.request_method() == Some(&Method::Ack) {
            self.on_ack(&msg);
        } else {
            self.ua.handle_input(now, input);
            self.drain_ua(now);
        }
    }

    fn handle_transport_error(
        &mut self,
        now: Instant,
        _transport: TransportKind,
        remote: SocketAddr,
        _error: &str,
    ) {
        self.ua.handle_transport_error(now, remote);
        self.drain_ua(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        let t = self.out.pop_front().or_else(|| self.ua.poll_transmit())?;
        self.wire.outgoing(self.cfg.local, &t);
        Some(t)
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let calls = self
            .calls
            .values()
            .flat_map(|c| [c.retransmit_at, c.give_up_at])
            .flatten()
            .min();
        [calls, self.ua.poll_timeout()].into_iter().flatten().min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.wire.tick(now);
        self.ua.handle_timeout(now);
        self.drain_ua(now);
        let mut sends = Vec::new();
        let mut ended = Vec::new();
        for (id, c) in &mut self.calls {
            if c.give_up_at.is_some_and(|t| t <= now) {
                c.retransmit_at = None;
                c.give_up_at = None;
                if c.state != CallState::Ended {
                    let reason = match c.side {
                        Side::Caller => "INVITE timed out (Timer B)",
                        Side::Callee => "no ACK for the 2xx within 64*T1",
                    };
                    c.state = CallState::Ended;
                    ended.push((id.clone(), reason.to_owned()));
                }
                continue;
            }
            if let Some(at) = c.retransmit_at.filter(|t| *t <= now) {
                let _ = at;
                match c.side {
                    Side::Caller => {
                        sends.push((c.hop, c.invite_bytes.clone()));
                        c.interval *= 2;
                    }
                    Side::Callee => {
                        if let Some(last) = &c.last {
                            sends.push((c.hop, last.clone()));
                        }
                        c.interval = (c.interval * 2).min(T2);
                    }
                }
                c.retransmit_at = Some(now + c.interval);
            }
        }
        for (dest, bytes) in sends {
            self.push(dest, bytes);
        }
        for (call, reason) in ended {
            self.events.push_back(PhoneEvent::Ended { call, reason });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Phone, Phone, Instant) {
        let a: SocketAddr = "127.0.0.1:5071".parse().expect("addr");
        let b: SocketAddr = "127.0.0.1:5072".parse().expect("addr");
        let pa = Phone::new(PhoneConfig {
            local: a,
            aor: "sip:a@127.0.0.1:5071".into(),
            proxy: None,
        });
        let pb = Phone::new(PhoneConfig {
            local: b,
            aor: "sip:b@127.0.0.1:5072".into(),
            proxy: None,
        });
        (pa, pb, Instant::now())
    }

    /// Moves everything `from` sends into `to` (all on loopback, no loss).
    fn deliver(now: Instant, from: &mut Phone, to: &mut Phone) -> usize {
        let mut n = 0;
        while let Some(t) = from.poll_transmit() {
            assert_eq!(t.remote, to.local());
            to.handle_input(
                now,
                Incoming {
                    transport: TransportKind::Udp,
                    remote: from.local(),
                    local: to.local(),
                    bytes: t.bytes.to_vec(),
                },
            );
            n += 1;
        }
        n
    }

    fn events(p: &mut Phone) -> Vec<PhoneEvent> {
        std::iter::from_fn(|| p.poll_event()).collect()
    }

    #[test]
    fn invite_200_ack_bye() {
        let (mut a, mut b, now) = pair();
        let call = a
            .invite(
                now,
                "sip:b@127.0.0.1:5072",
                &[("Call-Info".into(), "<xmpp:a@x.test>;purpose=impp".into())],
            )
            .expect("invite");
        deliver(now, &mut a, &mut b);
        let ev = events(&mut b);
        let Some(PhoneEvent::Invite { call: got, msg }) = ev.first() else {
            panic!("no INVITE event: {ev:?}")
        };
        assert_eq!(got, &call);
        assert!(profile::check_sdp_audio(&msg.body).is_ok());
        b.answer(now, &call, 200, &[]).expect("answer");
        // The 2xx is lost once: the UAS retransmits it after T1, the UAC ACKs each.
        while b.poll_transmit().is_some() {}
        b.handle_timeout(now + T1);
        assert_eq!(deliver(now + T1, &mut b, &mut a), 1);
        assert_eq!(a.state(&call), Some(CallState::Confirmed));
        assert!(matches!(
            events(&mut a).as_slice(),
            [PhoneEvent::InviteResponse { .. }]
        ));
        assert_eq!(deliver(now + T1, &mut a, &mut b), 1, "the ACK");
        assert!(matches!(
            events(&mut b).as_slice(),
            [PhoneEvent::Acked { .. }]
        ));
        assert_eq!(b.state(&call), Some(CallState::Confirmed));
        // No more 2xx retransmissions once acknowledged.
        b.handle_timeout(now + 10 * T1);
        assert_eq!(b.poll_transmit().map(|t| t.bytes.len()), None);
        a.bye(now + T1, &call).expect("bye");
        deliver(now + T1, &mut a, &mut b);
        assert!(events(&mut b).iter().any(
            |e| matches!(e, PhoneEvent::Ended { reason, .. } if reason == "BYE from the peer")
        ));
        deliver(now + T1, &mut b, &mut a);
        assert!(events(&mut a)
            .iter()
            .any(|e| matches!(e, PhoneEvent::Response { msg, .. } if msg.status() == Some(200))));
    }

    #[test]
    fn invite_retransmitted_until_response_then_times_out() {
        let (mut a, _b, now) = pair();
        let call = a.invite(now, "sip:b@127.0.0.1:5072", &[]).expect("invite");
        assert!(a.poll_transmit().is_some());
        let mut sent = 0;
        let mut t = now;
        while let Some(next) = a.poll_timeout() {
            t = next;
            a.handle_timeout(t);
            while a.poll_transmit().is_some() {
                sent += 1;
            }
        }
        assert_eq!(t, now + 64 * T1, "Timer B");
        assert_eq!(sent, 6, "Timer A at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s");
        assert_eq!(a.state(&call), Some(CallState::Ended));
    }

    #[test]
    fn rejection_is_acknowledged_on_the_invite_branch() {
        let (mut a, mut b, now) = pair();
        let call = a.invite(now, "sip:b@127.0.0.1:5072", &[]).expect("invite");
        deliver(now, &mut a, &mut b);
        let _ = events(&mut b);
        b.answer(now, &call, 486, &[]).expect("answer");
        deliver(now, &mut b, &mut a);
        let t = a.poll_transmit().expect("ACK");
        let text = String::from_utf8_lossy(&t.bytes).to_string();
        assert!(text.starts_with("ACK "), "{text}");
        let branch = |s: &str| s.split("branch=").nth(1).map(|r| r[..12].to_owned());
        let invite = a.wire()[0].bytes.to_vec();
        assert_eq!(branch(&text), branch(&String::from_utf8_lossy(&invite)));
        assert_eq!(a.state(&call), Some(CallState::Ended));
    }
}
