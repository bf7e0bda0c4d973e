//! The subscriber side of RFC 6665: SUBSCRIBE, refresh, un-SUBSCRIBE, and NOTIFY handling.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lmpe_wire::sip::{
    reason_phrase, Method, NameAddr, RequestBuilder, ResponseBuilder, SipMessage,
};

use super::state::{SubState, SubscriptionState};
use super::{event_package, salt, token, SubscriptionId};
use crate::endpoint::{Endpoint, Incoming, Transmit, TransportKind};
use crate::roles::WireLog;
use crate::transaction::TransactionError;
use crate::ua::{ServerTxId, UaConfig, UaEvent, UserAgent};

/// Configuration of a [`Subscriber`].
#[derive(Debug, Clone)]
pub struct SubscriberConfig {
    /// Our address (the driver's bound address).
    pub local: SocketAddr,
    /// Our address-of-record, written into From (e.g. `sip:citizen-1@lmpe.test`).
    pub aor: String,
    /// The event package (`Event`).
    pub event: String,
    /// What we accept (`Accept`).
    pub accept: String,
    /// The duration we ask for (`Expires`, seconds).
    pub expires: u32,
    /// Refresh an active subscription before it expires.
    pub refresh: bool,
}

/// What a [`Subscriber`] reports.
#[derive(Debug, Clone)]
pub enum SubscriberEvent {
    /// The SUBSCRIBE (or a refresh) got a 2xx.
    Accepted {
        /// The subscription.
        id: SubscriptionId,
        /// The status.
        status: u16,
        /// The duration the notifier granted (`Expires` of the response).
        expires: Option<u32>,
    },
    /// The SUBSCRIBE got a final response other than 2xx; the subscription is gone.
    Rejected {
        /// The subscription.
        id: SubscriptionId,
        /// The status.
        status: u16,
        /// The response, as text.
        response: String,
    },
    /// The SUBSCRIBE got no final response (timer F) or could not be sent.
    Failed {
        /// The subscription.
        id: SubscriptionId,
        /// Why.
        reason: String,
    },
    /// A NOTIFY of the subscription arrived (and was answered 200).
    Notified {
        /// The subscription.
        id: SubscriptionId,
        /// Its `Subscription-State`.
        state: SubscriptionState,
        /// Its `Content-Type`, if it has a body.
        content_type: Option<String>,
        /// The body.
        body: Vec<u8>,
        /// The NOTIFY, as text.
        message: String,
        /// When it arrived.
        at: Instant,
    },
    /// The notifier ended the subscription (a NOTIFY with `terminated`).
    Terminated {
        /// The subscription.
        id: SubscriptionId,
        /// The reason it gave.
        reason: Option<String>,
    },
    /// The notifier broke RFC 6665 in this message (the NOTIFY was refused).
    Violation {
        /// The subscription, if the message belonged to one.
        id: Option<SubscriptionId>,
        /// What is wrong, with the section.
        what: String,
        /// The message, as text.
        message: String,
    },
    /// A request for no subscription of ours (answered 481 or 405).
    Unmatched {
        /// Its first line.
        summary: String,
        /// Our answer.
        status: u16,
    },
}

#[derive(Debug)]
struct Sub {
    target: String,
    dest: SocketAddr,
    transport: TransportKind,
    call_id: String,
    from_tag: String,
    remote_tag: Option<String>,
    cseq: u32,
    body: Option<(String, Vec<u8>)>,
    refresh_at: Option<Instant>,
    ending: bool,
}

/// An RFC 6665 subscriber for one event package: an [`Endpoint`] a transport driver runs.
#[derive(Debug)]
pub struct Subscriber {
    cfg: SubscriberConfig,
    ua: UserAgent,
    wire: WireLog,
    subs: HashMap<SubscriptionId, Sub>,
    /// Call-ID → subscription.
    by_call: HashMap<String, SubscriptionId>,
    /// SUBSCRIBE transaction handle → subscription.
    pending: HashMap<u64, SubscriptionId>,
    events: VecDeque<SubscriberEvent>,
    next: u64,
    salt: u64,
}

impl Subscriber {
    /// A subscriber bound (by its driver) to `cfg.local`.
    pub fn new(cfg: SubscriberConfig) -> Self {
        Self {
            ua: UserAgent::new(UaConfig::new(cfg.local)),
            salt: salt(cfg.local),
            cfg,
            wire: WireLog::default(),
            subs: HashMap::new(),
            by_call: HashMap::new(),
            pending: HashMap::new(),
            events: VecDeque::new(),
            next: 0,
        }
    }

    /// Sets our address once the driver has bound.
    pub fn set_local(&mut self, local: SocketAddr) {
        self.cfg.local = local;
        self.salt = salt(local);
        self.ua.set_local(local);
    }

    /// Turns the wire log on or off (load runs keep it off).
    pub fn set_wire_log(&mut self, on: bool) {
        self.wire.set_enabled(on);
    }

    /// Every message sent and received so far.
    pub fn wire(&self) -> &WireLog {
        &self.wire
    }

    /// The number of subscriptions not yet ended.
    pub fn active(&self) -> usize {
        self.subs.len()
    }

    /// Subscribes to `target` (a SIP URI) by sending SUBSCRIBE to `dest`, with an optional
    /// body (`(content type, bytes)`, e.g. a PIDF-LO of where we are).
    pub fn subscribe(
        &mut self,
        now: Instant,
        target: &str,
        dest: SocketAddr,
        transport: TransportKind,
        body: Option<(String, Vec<u8>)>,
    ) -> Result<SubscriptionId, TransactionError> {
        self.wire.tick(now);
        self.next += 1;
        let id = SubscriptionId(self.next);
        let host = self.cfg.local.ip();
        let sub = Sub {
            target: target.to_owned(),
            dest,
            transport,
            call_id: format!("{}@{host}", token("s", self.salt, self.next)),
            from_tag: token("t", self.salt, self.next),
            remote_tag: None,
            cseq: 0,
            body,
            refresh_at: None,
            ending: false,
        };
        self.by_call.insert(sub.call_id.clone(), id);
        self.subs.insert(id, sub);
        self.send_subscribe(now, id, self.cfg.expires)?;
        Ok(id)
    }

    /// Ends a subscription (`Expires: 0`); the notifier answers with a final NOTIFY. Returns
    /// false for an unknown subscription.
    pub fn unsubscribe(
        &mut self,
        now: Instant,
        id: SubscriptionId,
    ) -> Result<bool, TransactionError> {
        self.wire.tick(now);
        let Some(sub) = self.subs.get_mut(&id) else {
            return Ok(false);
        };
        sub.ending = true;
        sub.refresh_at = None;
        self.send_subscribe(now, id, 0)?;
        Ok(true)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SubscriberEvent> {
        self.events.pop_front()
    }

    fn send_subscribe(
        &mut self,
        now: Instant,
        id: SubscriptionId,
        expires: u32,
    ) -> Result<(), TransactionError> {
        let Some(sub) = self.subs.get_mut(&id) else {
            return Ok(());
        };
        sub.cseq += 1;
        let mut to = NameAddr::new(sub.target.clone());
        if let Some(t) = &sub.remote_tag {
            to = to.with_param("tag", Some(t));
        }
        let local = self.cfg.local;
        let contact = format!("<sip:subscriber@{}:{}>", host_text(local), local.port());
        let mut b = RequestBuilder::new(Method::Subscribe, sub.target.clone())
            .header("Max-Forwards", "70")
            .from(&NameAddr::new(self.cfg.aor.clone()).with_param("tag", Some(&sub.from_tag)))
            .to(&to)
            .call_id(&sub.call_id)
            .cseq(sub.cseq)
            .header("Contact", contact)
            .header("Event", self.cfg.event.clone())
            .header("Accept", self.cfg.accept.clone())
            .header("Expires", expires.to_string());
        if let Some((ct, body)) = &sub.body {
            b = b.body(ct, body.clone());
        }
        let (dest, transport) = (sub.dest, sub.transport);
        let handle = self.ua.send_request(now, b.build(), transport, dest)?;
        self.pending.insert(handle, id);
        Ok(())
    }

    fn pump(&mut self, now: Instant) {
        while let Some(ev) = self.ua.poll_event() {
            match ev {
                UaEvent::Response { handle, msg } => self.on_response(now, handle, &msg),
                UaEvent::Timeout { handle } => {
                    self.on_failure(handle, "no final response (timer F)")
                }
                UaEvent::TransportError { handle } => self.on_failure(handle, "transport error"),
                UaEvent::Request { id, msg, .. } => self.on_request(now, &id, &msg),
                UaEvent::Malformed { error, bytes, .. } => {
                    self.events.push_back(SubscriberEvent::Violation {
                        id: None,
                        what: format!("RFC 3261 7: unparseable message: {error}"),
                        message: String::from_utf8_lossy(&bytes).into_owned(),
                    })
                }
                UaEvent::StrayResponse { msg } => {
                    self.events.push_back(SubscriberEvent::Unmatched {
                        summary: msg.summary(),
                        status: 0,
                    })
                }
            }
        }
    }

    fn on_failure(&mut self, handle: u64, reason: &str) {
        let Some(id) = self.pending.remove(&handle) else {
            return;
        };
        self.end(id);
        self.events.push_back(SubscriberEvent::Failed {
            id,
            reason: reason.to_owned(),
        });
    }

    fn on_response(&mut self, now: Instant, handle: u64, msg: &SipMessage) {
        let status = msg.status().unwrap_or(0);
        if status < 200 {
            return;
        }
        let Some(id) = self.pending.remove(&handle) else {
            return;
        };
        if (200..300).contains(&status) {
            let expires = msg
                .header("Expires")
                .and_then(|e| e.trim().parse::<u32>().ok());
            let refresh = self.cfg.refresh;
            if let Some(sub) = self.subs.get_mut(&id) {
                if sub.remote_tag.is_none() {
                    sub.remote_tag = to_tag(msg);
                }
                if !sub.ending {
                    sub.refresh_at = match (refresh, expires) {
                        (true, Some(e)) if e > 0 => {
                            Some(now + Duration::from_secs(u64::from(e)).mul_f64(0.8))
                        }
                        _ => None,
                    };
                }
            }
            self.events.push_back(SubscriberEvent::Accepted {
                id,
                status,
                expires,
            });
        } else {
            self.end(id);
            self.events.push_back(SubscriberEvent::Rejected {
                id,
                status,
                response: msg.to_text(),
            });
        }
    }

    fn on_request(&mut self, now: Instant, tx: &ServerTxId, msg: &SipMessage) {
        let method = msg.method();
        if method != Some(Method::Notify) {
            let status = 405;
            self.respond(now, tx, msg, status, &[("Allow", "NOTIFY")]);
            self.events.push_back(SubscriberEvent::Unmatched {
                summary: msg.summary(),
                status,
            });
            return;
        }
        let id = msg
            .call_id()
            .ok()
            .and_then(|c| self.by_call.get(c.trim()).copied())
            .filter(|id| {
                self.subs
                    .get(id)
                    .is_some_and(|s| to_tag(msg).as_deref() == Some(s.from_tag.as_str()))
            });
        let Some(id) = id else {
            self.respond(now, tx, msg, 481, &[]);
            self.events.push_back(SubscriberEvent::Unmatched {
                summary: msg.summary(),
                status: 481,
            });
            return;
        };
        let package = msg.header("Event").map(event_package);
        if package.as_deref() != Some(self.cfg.event.to_ascii_lowercase().as_str()) {
            self.respond(
                now,
                tx,
                msg,
                489,
                &[("Allow-Events", &self.cfg.event.clone())],
            );
            self.events.push_back(SubscriberEvent::Violation {
                id: Some(id),
                what: format!(
                    "RFC 6665 8.2.1: NOTIFY Event is {:?}, the subscription is for {:?}",
                    msg.header("Event").unwrap_or("(none)"),
                    self.cfg.event
                ),
                message: msg.to_text(),
            });
            return;
        }
        let state = match msg
            .header("Subscription-State")
            .map(SubscriptionState::parse)
        {
            Some(Ok(s)) => s,
            Some(Err(why)) => {
                return self.bad_notify(
                    now,
                    tx,
                    msg,
                    id,
                    &format!("RFC 6665 8.2.3: Subscription-State: {why}"),
                )
            }
            None => {
                return self.bad_notify(
                    now,
                    tx,
                    msg,
                    id,
                    "RFC 6665 4.1.3: NOTIFY without Subscription-State",
                )
            }
        };
        self.respond(now, tx, msg, 200, &[]);
        if let Some(sub) = self.subs.get_mut(&id) {
            if sub.remote_tag.is_none() {
                sub.remote_tag = NameAddr::parse("From", msg.header("From").unwrap_or_default())
                    .ok()
                    .and_then(|f| f.param("tag").flatten().map(str::to_owned));
            }
        }
        let terminated = state.state == SubState::Terminated;
        let reason = state.reason.clone();
        self.events.push_back(SubscriberEvent::Notified {
            id,
            state,
            content_type: msg.content_type().map(str::to_owned),
            body: msg.body.clone(),
            message: msg.to_text(),
            at: now,
        });
        if terminated {
            self.end(id);
            self.events
                .push_back(SubscriberEvent::Terminated { id, reason });
        }
    }

    fn bad_notify(
        &mut self,
        now: Instant,
        tx: &ServerTxId,
        msg: &SipMessage,
        id: SubscriptionId,
        what: &str,
    ) {
        self.respond(now, tx, msg, 400, &[]);
        self.events.push_back(SubscriberEvent::Violation {
            id: Some(id),
            what: what.to_owned(),
            message: msg.to_text(),
        });
    }

    fn respond(
        &mut self,
        now: Instant,
        tx: &ServerTxId,
        msg: &SipMessage,
        status: u16,
        extra: &[(&str, &str)],
    ) {
        let mut b = ResponseBuilder::for_request(msg, status, reason_phrase(status), None);
        for (n, v) in extra {
            b = b.header(n, *v);
        }
        // A refused response cannot be sent only if the transaction is gone; nothing to do then.
        let _ = self.ua.respond(now, tx, &b.build());
    }

    fn end(&mut self, id: SubscriptionId) {
        if let Some(sub) = self.subs.remove(&id) {
            self.by_call.remove(&sub.call_id);
        }
    }

    fn refresh_due(&mut self, now: Instant) {
        let due: Vec<SubscriptionId> = self
            .subs
            .iter()
            .filter(|(_, s)| s.refresh_at.is_some_and(|t| t <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(s) = self.subs.get_mut(&id) {
                s.refresh_at = None;
            }
            let expires = self.cfg.expires;
            if let Err(e) = self.send_subscribe(now, id, expires) {
                self.end(id);
                self.events.push_back(SubscriberEvent::Failed {
                    id,
                    reason: format!("refresh not sent: {e}"),
                });
            }
        }
    }
}

fn to_tag(msg: &SipMessage) -> Option<String> {
    NameAddr::parse("To", msg.header("To")?)
        .ok()?
        .param("tag")
        .flatten()
        .map(str::to_owned)
}

pub(crate) fn host_text(addr: SocketAddr) -> String {
    match addr.ip() {
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

impl Endpoint for Subscriber {
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
        self.wire.tick(now);
        self.ua.handle_transport_error(now, remote);
        self.pump(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.wire.transmit(&mut self.ua)
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        // Refreshes are rare (they are off in load runs); a scan is cheaper than an index.
        let refresh = if self.cfg.refresh {
            self.subs.values().filter_map(|s| s.refresh_at).min()
        } else {
            None
        };
        [self.ua.poll_timeout(), refresh]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.wire.tick(now);
        self.ua.handle_timeout(now);
        self.refresh_due(now);
        self.pump(now);
    }
}
