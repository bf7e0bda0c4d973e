//! The notifier side of RFC 6665: accepts, refreshes and ends subscriptions to named
//! resources, and sends a NOTIFY with a body to every subscriber of a resource.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use lmpe_wire::sip::{
    reason_phrase, Method, NameAddr, RequestBuilder, ResponseBuilder, SipMessage, SipUri,
};

use super::state::SubscriptionState;
use super::subscriber::host_text;
use super::{event_package, salt, token, uri_destination, SubscriptionId};
use crate::endpoint::{Endpoint, Incoming, Transmit, TransportKind};
use crate::roles::WireLog;
use crate::ua::{ServerTxId, UaConfig, UaEvent, UserAgent};

/// Configuration of a [`Notifier`].
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// Our address (the driver's bound address).
    pub local: SocketAddr,
    /// The event package (`Event`).
    pub event: String,
    /// The body type of our NOTIFYs (also what a SUBSCRIBE's `Accept` must allow).
    pub content_type: String,
    /// Duration granted when a SUBSCRIBE has no `Expires` (seconds).
    pub default_expires: u32,
    /// Shorter requests are refused with 423 (RFC 6665 4.2.1.1).
    pub min_expires: u32,
    /// Longer requests are cut to this.
    pub max_expires: u32,
    /// A deliberate fault: accept a SUBSCRIBE for any event package (instead of 489) and
    /// any `Accept` (instead of 406).
    pub accept_any_event: bool,
}

impl NotifierConfig {
    /// Defaults for `event` with bodies of `content_type`: 3600 s granted, 60 s minimum,
    /// one day maximum.
    pub fn new(local: SocketAddr, event: &str, content_type: &str) -> Self {
        Self {
            local,
            event: event.to_owned(),
            content_type: content_type.to_owned(),
            default_expires: 3600,
            min_expires: 60,
            max_expires: 86_400,
            accept_any_event: false,
        }
    }
}

/// What a [`Notifier`] reports.
#[derive(Debug, Clone)]
pub enum NotifierEvent {
    /// A new subscription was accepted (200) and its first NOTIFY sent.
    Subscribed {
        /// The subscription.
        id: SubscriptionId,
        /// The resource (user part of the Request-URI).
        resource: String,
        /// The subscriber (From URI).
        subscriber: String,
        /// The SUBSCRIBE body (e.g. a location filter) and its type.
        body: Option<(String, Vec<u8>)>,
        /// Granted duration (seconds).
        expires: u32,
    },
    /// A SUBSCRIBE was refused.
    Refused {
        /// Our status.
        status: u16,
        /// Why.
        reason: String,
        /// The SUBSCRIBE, as text.
        message: String,
    },
    /// A subscription ended (un-SUBSCRIBE, expiry, or the subscriber's 481 to a NOTIFY).
    Ended {
        /// The subscription.
        id: SubscriptionId,
        /// Why (`timeout`, `unsubscribed`, `481`, …).
        reason: String,
    },
    /// A NOTIFY got its final response.
    Delivered {
        /// The subscription.
        id: SubscriptionId,
        /// The transaction handle [`Notifier::notify`] returned.
        handle: u64,
        /// The status.
        status: u16,
    },
    /// A NOTIFY got no final response or could not be sent.
    Undelivered {
        /// The subscription.
        id: SubscriptionId,
        /// The transaction handle.
        handle: u64,
        /// Why.
        reason: String,
    },
}

#[derive(Debug)]
struct Sub {
    resource: String,
    subscriber: String,
    subscriber_tag: String,
    call_id: String,
    local_tag: String,
    event_value: String,
    dest: SocketAddr,
    contact: String,
    transport: TransportKind,
    cseq: u32,
    expires_at: Instant,
}

/// An RFC 6665 notifier for one event package: an [`Endpoint`] a transport driver runs.
#[derive(Debug)]
pub struct Notifier {
    cfg: NotifierConfig,
    pub(super) ua: UserAgent,
    wire: WireLog,
    resources: BTreeSet<String>,
    subs: HashMap<SubscriptionId, Sub>,
    by_dialog: HashMap<(String, String), SubscriptionId>,
    expiry: BTreeSet<(Instant, SubscriptionId)>,
    /// NOTIFY transaction handle → subscription.
    notifies: HashMap<u64, SubscriptionId>,
    events: VecDeque<NotifierEvent>,
    next: u64,
    salt: u64,
}

impl Notifier {
    /// A notifier bound (by its driver) to `cfg.local`, with no resources yet.
    pub fn new(cfg: NotifierConfig) -> Self {
        Self {
            ua: UserAgent::new(UaConfig::new(cfg.local)),
            salt: salt(cfg.local),
            cfg,
            wire: WireLog::default(),
            resources: BTreeSet::new(),
            subs: HashMap::new(),
            by_dialog: HashMap::new(),
            expiry: BTreeSet::new(),
            notifies: HashMap::new(),
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

    /// Turns the wire log on or off.
    pub fn set_wire_log(&mut self, on: bool) {
        self.wire.set_enabled(on);
    }

    /// Every message sent and received so far.
    pub fn wire(&self) -> &WireLog {
        &self.wire
    }

    /// Accepts subscriptions to `resource` (the user part of a Request-URI,
    /// e.g. `alerts-area-a`); SUBSCRIBEs for others get 404.
    pub fn add_resource(&mut self, resource: &str) {
        self.resources.insert(resource.to_owned());
    }

    /// The subscriptions to `resource`.
    pub fn subscribers(&self, resource: &str) -> Vec<SubscriptionId> {
        let mut v: Vec<SubscriptionId> = self
            .subs
            .iter()
            .filter(|(_, s)| s.resource == resource)
            .map(|(id, _)| *id)
            .collect();
        v.sort();
        v
    }

    /// All subscriptions.
    pub fn len(&self) -> usize {
        self.subs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<NotifierEvent> {
        self.events.pop_front()
    }

    /// Sends a NOTIFY with `body` to every subscriber of `resource`; returns each
    /// subscription with its transaction handle (see [`NotifierEvent::Delivered`]).
    pub fn notify(
        &mut self,
        now: Instant,
        resource: &str,
        body: &[u8],
    ) -> Vec<(SubscriptionId, u64)> {
        let ids = self.subscribers(resource);
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(h) = self.notify_one(now, id, Some(body)) {
                out.push((id, h));
            }
        }
        out
    }

    /// Sends a NOTIFY with `body` (or none) to one subscription; `None` if it is unknown or the
    /// request could not be started (reported as [`NotifierEvent::Undelivered`]).
    pub fn notify_one(
        &mut self,
        now: Instant,
        id: SubscriptionId,
        body: Option<&[u8]>,
    ) -> Option<u64> {
        self.wire.tick(now);
        let remaining = {
            let s = self.subs.get(&id)?;
            s.expires_at.saturating_duration_since(now).as_secs() as u32
        };
        self.send_notify(now, id, &SubscriptionState::active(remaining), body)
    }

    fn send_notify(
        &mut self,
        now: Instant,
        id: SubscriptionId,
        state: &SubscriptionState,
        body: Option<&[u8]>,
    ) -> Option<u64> {
        let local = self.cfg.local;
        let content_type = self.cfg.content_type.clone();
        let s = self.subs.get_mut(&id)?;
        s.cseq += 1;
        let mut b = RequestBuilder::new(Method::Notify, s.contact.clone())
            .header("Max-Forwards", "70")
            .from(
                &NameAddr::new(format!(
                    "sip:{}@{}:{}",
                    s.resource,
                    host_text(local),
                    local.port()
                ))
                .with_param("tag", Some(&s.local_tag)),
            )
            .to(&NameAddr::new(s.subscriber.clone()).with_param("tag", Some(&s.subscriber_tag)))
            .call_id(&s.call_id)
            .cseq(s.cseq)
            .header(
                "Contact",
                format!("<sip:{}@{}:{}>", s.resource, host_text(local), local.port()),
            )
            .header("Event", s.event_value.clone())
            .header("Subscription-State", state.to_string());
        if let Some(body) = body {
            b = b.body(&content_type, body.to_vec());
        }
        let (transport, dest) = (s.transport, s.dest);
        match self.ua.send_request(now, b.build(), transport, dest) {
            Ok(h) => {
                self.notifies.insert(h, id);
                Some(h)
            }
            Err(e) => {
                self.events.push_back(NotifierEvent::Undelivered {
                    id,
                    handle: 0,
                    reason: format!("NOTIFY not sent: {e}"),
                });
                None
            }
        }
    }

    fn pump(&mut self, now: Instant) {
        while let Some(ev) = self.ua.poll_event() {
            match ev {
                UaEvent::Request {
                    id,
                    msg,
                    transport,
                    remote,
                } => self.on_request(now, &id, &msg, transport, remote),
                UaEvent::Response { handle, msg } => {
                    let status = msg.status().unwrap_or(0);
                    if status < 200 {
                        continue;
                    }
                    let Some(id) = self.notifies.remove(&handle) else {
                        continue;
                    };
                    self.events
                        .push_back(NotifierEvent::Delivered { id, handle, status });
                    // RFC 6665 4.2.2: 481 (and other failures but 408/503 retry) end it.
                    if status == 481 {
                        self.end(id, "481");
                    }
                }
                UaEvent::Timeout { handle } | UaEvent::TransportError { handle } => {
                    if let Some(id) = self.notifies.remove(&handle) {
                        self.events.push_back(NotifierEvent::Undelivered {
                            id,
                            handle,
                            reason: "no final response to NOTIFY".into(),
                        });
                    }
                }
                UaEvent::Malformed { error, bytes, .. } => {
                    self.events.push_back(NotifierEvent::Refused {
                        status: 0,
                        reason: format!("unparseable: {error}"),
                        message: String::from_utf8_lossy(&bytes).into_owned(),
                    })
                }
                UaEvent::StrayResponse { .. } => {}
            }
        }
    }

    fn refuse(
        &mut self,
        now: Instant,
        tx: &ServerTxId,
        msg: &SipMessage,
        status: u16,
        why: String,
        extra: &[(&str, String)],
    ) {
        let mut b = ResponseBuilder::for_request(
            msg,
            status,
            reason_phrase(status),
            Some(&token("n", self.salt, 0)),
        );
        for (n, v) in extra {
            b = b.header(n, v.clone());
        }
        let _ = self.ua.respond(now, tx, &b.build());
        self.events.push_back(NotifierEvent::Refused {
            status,
            reason: why,
            message: msg.to_text(),
        });
    }

    fn on_request(
        &mut self,
        now: Instant,
        tx: &ServerTxId,
        msg: &SipMessage,
        transport: TransportKind,
        remote: SocketAddr,
    ) {
        self.wire.tick(now);
        if msg.method() != Some(Method::Subscribe) {
            return self.refuse(
                now,
                tx,
                msg,
                405,
                format!("{} is not SUBSCRIBE", msg.summary()),
                &[("Allow", "SUBSCRIBE".into())],
            );
        }
        let package = msg.header("Event").map(event_package).unwrap_or_default();
        if package != self.cfg.event.to_ascii_lowercase() && !self.cfg.accept_any_event {
            let ev = self.cfg.event.clone();
            return self.refuse(
                now,
                tx,
                msg,
                489,
                format!("Event {package:?} is not {ev:?}"),
                &[("Allow-Events", ev.clone())],
            );
        }
        if let Some(accept) = msg.header("Accept") {
            let ct = self.cfg.content_type.to_ascii_lowercase();
            let ok = accept.split(',').any(|a| {
                let a = a
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                a == ct || a == "*/*" || a == "application/*"
            });
            if !ok {
                return self.refuse(
                    now,
                    tx,
                    msg,
                    406,
                    format!("Accept {accept:?} excludes {ct}"),
                    &[],
                );
            }
        }
        let requested = match msg.header("Expires").map(|e| e.trim().parse::<u32>()) {
            None => self.cfg.default_expires,
            Some(Ok(e)) => e,
            Some(Err(_)) => {
                return self.refuse(now, tx, msg, 400, "Expires is not a number".into(), &[])
            }
        };
        let call_id = msg
            .call_id()
            .map(|c| c.trim().to_owned())
            .unwrap_or_default();
        let from = msg
            .header("From")
            .and_then(|f| NameAddr::parse("From", f).ok());
        let from_tag = from
            .as_ref()
            .and_then(|f| f.param("tag").flatten().map(str::to_owned));
        let (Some(from), Some(from_tag)) = (from, from_tag) else {
            return self.refuse(now, tx, msg, 400, "From without a tag".into(), &[]);
        };
        let to_tag = msg
            .header("To")
            .and_then(|t| NameAddr::parse("To", t).ok())
            .and_then(|t| t.param("tag").flatten().map(str::to_owned));
        if let Some(tag) = to_tag {
            // A refresh or an un-SUBSCRIBE in an existing dialog.
            let Some(id) = self
                .by_dialog
                .get(&(call_id.clone(), from_tag.clone()))
                .copied()
            else {
                return self.refuse(now, tx, msg, 481, "no such subscription".into(), &[]);
            };
            if self.subs.get(&id).is_some_and(|s| s.local_tag != tag) {
                return self.refuse(now, tx, msg, 481, "To tag of no subscription".into(), &[]);
            }
            return self.refresh(now, tx, msg, id, requested);
        }
        if requested != 0 && requested < self.cfg.min_expires {
            let min = self.cfg.min_expires.to_string();
            return self.refuse(
                now,
                tx,
                msg,
                423,
                format!("Expires {requested} < {min}"),
                &[("Min-Expires", min.clone())],
            );
        }
        let resource = msg
            .request_uri()
            .and_then(|u| {
                SipUri::parse(u)
                    .ok()
                    .and_then(|u| u.user.map(str::to_owned))
            })
            .unwrap_or_default();
        if !self.resources.contains(&resource) {
            return self.refuse(now, tx, msg, 404, format!("no resource {resource:?}"), &[]);
        }
        let contact = msg
            .header("Contact")
            .and_then(|c| NameAddr::parse("Contact", c).ok())
            .map(|c| c.uri)
            .unwrap_or_else(|| from.uri.clone());
        let granted = requested.min(self.cfg.max_expires);
        self.next += 1;
        let id = SubscriptionId(self.next);
        let local_tag = token("n", self.salt, self.next);
        let sub = Sub {
            resource: resource.clone(),
            subscriber: from.uri.clone(),
            subscriber_tag: from_tag.clone(),
            call_id: call_id.clone(),
            local_tag: local_tag.clone(),
            event_value: msg
                .header("Event")
                .unwrap_or(&self.cfg.event)
                .trim()
                .to_owned(),
            dest: uri_destination(&contact, remote),
            contact,
            transport,
            cseq: 0,
            expires_at: now + Duration::from_secs(u64::from(granted)),
        };
        let local = self.cfg.local;
        let ok = ResponseBuilder::for_request(msg, 200, "OK", Some(&local_tag))
            .header("Expires", granted.to_string())
            .header(
                "Contact",
                format!("<sip:{resource}@{}:{}>", host_text(local), local.port()),
            )
            .build();
        let _ = self.ua.respond(now, tx, &ok);
        self.expiry.insert((sub.expires_at, id));
        self.by_dialog.insert((call_id, from_tag), id);
        self.subs.insert(id, sub);
        let body = (!msg.body.is_empty()).then(|| {
            (
                msg.content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned(),
                msg.body.clone(),
            )
        });
        self.events.push_back(NotifierEvent::Subscribed {
            id,
            resource,
            subscriber: from.uri,
            body,
            expires: granted,
        });
        if granted == 0 {
            // A fetch (RFC 6665 4.4.3): one NOTIFY, then it is over.
            self.send_notify(now, id, &SubscriptionState::terminated("timeout"), None);
            self.end(id, "fetch");
        } else {
            // RFC 6665 4.2.1.2: a NOTIFY right away.
            self.send_notify(now, id, &SubscriptionState::active(granted), None);
        }
    }

    fn refresh(
        &mut self,
        now: Instant,
        tx: &ServerTxId,
        msg: &SipMessage,
        id: SubscriptionId,
        requested: u32,
    ) {
        let granted = requested.min(self.cfg.max_expires);
        let ok = ResponseBuilder::for_request(msg, 200, "OK", None)
            .header("Expires", granted.to_string())
            .build();
        let _ = self.ua.respond(now, tx, &ok);
        if granted == 0 {
            self.send_notify(now, id, &SubscriptionState::terminated("timeout"), None);
            self.end(id, "unsubscribed");
            return;
        }
        if let Some(s) = self.subs.get_mut(&id) {
            self.expiry.remove(&(s.expires_at, id));
            s.expires_at = now + Duration::from_secs(u64::from(granted));
            self.expiry.insert((s.expires_at, id));
        }
        self.send_notify(now, id, &SubscriptionState::active(granted), None);
    }

    fn end(&mut self, id: SubscriptionId, reason: &str) {
        if let Some(s) = self.subs.remove(&id) {
            self.expiry.remove(&(s.expires_at, id));
            self.by_dialog.remove(&(s.call_id, s.subscriber_tag));
            self.events.push_back(NotifierEvent::Ended {
                id,
                reason: reason.to_owned(),
            });
        }
    }

    fn expire(&mut self, now: Instant) {
        while let Some(&(at, id)) = self.expiry.first() {
            if at > now {
                break;
            }
            self.expiry.pop_first();
            self.send_notify(now, id, &SubscriptionState::terminated("timeout"), None);
            self.end(id, "timeout");
        }
    }
}

impl Endpoint for Notifier {
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
        [self.ua.poll_timeout(), self.expiry.first().map(|(t, _)| *t)]
            .into_iter()
            .flatten()
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.wire.tick(now);
        self.ua.handle_timeout(now);
        self.expire(now);
        self.pump(now);
    }
}
