//! An XMPP client (RFC 6120/6121) on tokio-xmpp's XML streams: plain TCP to a loopback
//! server, SASL PLAIN (tokio-xmpp's SASL negotiation, PLAIN chosen whenever the server
//! offers it), resource binding, then one task that writes queued stanzas and reads
//! incoming ones.
//!
//! Incoming stanzas are kept as parsed `xmpp-parsers` values *and* as the XML they were
//! received as (re-serialized from the parsed element tree: same elements, attributes and
//! text, not necessarily the same bytes), see [`Received`]. A stanza that does not parse
//! becomes [`XmppEvent::Invalid`] with its XML, so conformance checks can show it.
//!
//! IQ replies are matched to requests by id ([`XmppClient::iq`]); incoming IQ requests are
//! answered automatically (ping and roster pushes with a result, disco#info with what
//! [`XmppClient::set_disco_info`] gave, anything else with
//! `service-unavailable`, RFC 6120 8.4) and also reported as events.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::BufStream;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_xmpp::connect::AsyncReadAndWrite;
use tokio_xmpp::jid::{BareJid, FullJid, Jid};
use tokio_xmpp::minidom::Element;
use tokio_xmpp::xmlstream::{
    initiate_stream, FallibleStreamElement, ReadError, RecvFeaturesError, StreamHeader, Timeouts,
    XmlStream,
};
use xmpp_parsers::bind::{BindQuery, BindResponse};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::message::{Lang, Message, MessageType, Thread};
use xmpp_parsers::ns;
use xmpp_parsers::presence::{Presence, Show, Type as PresenceType};
use xmpp_parsers::roster::{Item as RosterItem, Roster};

use crate::pubsub::{self, PubsubItem};
use crate::xml::{self, elem, error_condition, to_xml};
use crate::XmppError;

type Stream = XmlStream<Box<dyn AsyncReadAndWrite + Send>, Element>;

/// A stanza as received: parsed, and as XML.
#[derive(Debug, Clone)]
pub struct Received<T> {
    /// The parsed stanza.
    pub stanza: T,
    /// The stanza's XML (re-serialized from the received element tree).
    pub xml: String,
}

/// Something that arrived on the connection.
#[derive(Debug, Clone)]
pub enum XmppEvent {
    /// A `<message/>`.
    Message(Received<Message>),
    /// A `<presence/>`.
    Presence(Received<Presence>),
    /// An `<iq/>` request from a peer or the server (already answered, see the module
    /// documentation), or a reply nobody waits for any more.
    Iq(Received<Iq>),
    /// A top-level element that is not a valid stanza.
    Invalid {
        /// The element's XML (empty when it was not even well-formed).
        xml: String,
        /// Why it is invalid.
        error: String,
    },
    /// The connection ended; nothing follows.
    Closed {
        /// Why.
        reason: String,
    },
}

impl XmppEvent {
    /// The XML of the stanza or invalid element (empty for [`XmppEvent::Closed`]).
    pub fn xml(&self) -> &str {
        match self {
            Self::Message(r) => &r.xml,
            Self::Presence(r) => &r.xml,
            Self::Iq(r) => &r.xml,
            Self::Invalid { xml, .. } => xml,
            Self::Closed { .. } => "",
        }
    }
}

/// Presence to send ([`XmppClient::send_presence`]).
#[derive(Debug, Clone, Default)]
pub struct PresenceOut {
    /// Directed presence to this JID; `None` broadcasts to subscribers.
    pub to: Option<String>,
    /// `type` (default: available).
    pub kind: PresenceType,
    /// `<show/>`.
    pub show: Option<Show>,
    /// `<status/>`.
    pub status: Option<String>,
    /// `<priority/>` (default 0).
    pub priority: i8,
    /// Extension payloads (XEP-0152 `<reach/>`, XEP-0115 `<c/>`, XEP-0108 `<activity/>`, …).
    pub payloads: Vec<Element>,
}

impl PresenceOut {
    /// Available presence with these payloads.
    pub fn available(payloads: Vec<Element>) -> Self {
        Self {
            payloads,
            ..Self::default()
        }
    }
}

/// An IQ request kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IqKind {
    /// `type="get"`.
    Get,
    /// `type="set"`.
    Set,
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Received<Iq>>>>>;

/// The XEP-0030 `<query xmlns='http://jabber.org/protocol/disco#info'/>` the connection
/// answers disco#info requests with (`None`: `service-unavailable`).
type DiscoInfo = Arc<Mutex<Option<Element>>>;

/// A logged-in XMPP client connection. Dropping it ends the connection's task.
#[derive(Debug)]
pub struct XmppClient {
    jid: FullJid,
    out: mpsc::UnboundedSender<Element>,
    events: mpsc::UnboundedReceiver<XmppEvent>,
    backlog: VecDeque<XmppEvent>,
    pending: Pending,
    disco: DiscoInfo,
    timeout: Duration,
    next_id: u64,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for XmppClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn parse_jid(s: &str) -> Result<Jid, XmppError> {
    Jid::new(s).map_err(|e| XmppError::InvalidJid {
        jid: s.to_owned(),
        reason: e.to_string(),
    })
}

impl XmppClient {
    /// Connects to `addr` (plain TCP), logs in as `jid` (bare: the server picks the
    /// resource; full: that resource is asked for) and binds a resource, all within
    /// `timeout`. `timeout` is also the default wait for IQ replies.
    pub async fn connect(
        addr: SocketAddr,
        jid: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<XmppClient, XmppError> {
        let jid = parse_jid(jid)?;
        if jid.node().is_none() {
            return Err(XmppError::InvalidJid {
                jid: jid.to_string(),
                reason: "no local part (user name)".to_owned(),
            });
        }
        let what = format!("connect to {addr} and log in as {jid}");
        let (stream, bound) = tokio::time::timeout(timeout, login(addr, &jid, password))
            .await
            .map_err(|_| XmppError::Timeout { what, timeout })??;
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let pending: Pending = Arc::default();
        let disco: DiscoInfo = Arc::default();
        let task = tokio::spawn(run(
            stream,
            bound.clone(),
            out_rx,
            ev_tx,
            pending.clone(),
            disco.clone(),
        ));
        tracing::debug!(jid = %bound, "XMPP client online");
        Ok(XmppClient {
            jid: bound,
            out: out_tx,
            events: ev_rx,
            backlog: VecDeque::new(),
            pending,
            disco,
            timeout,
            next_id: 0,
            task,
        })
    }

    /// The bound (full) JID.
    pub fn jid(&self) -> &FullJid {
        &self.jid
    }

    /// The bare JID.
    pub fn bare(&self) -> BareJid {
        self.jid.to_bare()
    }

    /// The default wait for replies and events.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Changes the default wait.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("lmpe-{}-{}", self.jid.resource(), self.next_id)
    }

    fn disconnected(&self, reason: &str) -> XmppError {
        XmppError::Disconnected {
            jid: self.jid.to_string(),
            reason: reason.to_owned(),
        }
    }

    /// Sets the XEP-0030 disco#info `<query/>` (identities and features) incoming disco#info
    /// requests are answered with, whatever their `node` (XEP-0115 5.4: the node of the caps
    /// verification string is copied into the answer); `None` answers them with
    /// `service-unavailable` again (the default).
    pub fn set_disco_info(&self, query: Option<Element>) {
        *lock(&self.disco) = query;
    }

    /// Queues any top-level element (a stanza) for sending.
    pub fn send(&self, stanza: Element) -> Result<(), XmppError> {
        self.out
            .send(stanza)
            .map_err(|_| self.disconnected("the connection task has ended"))
    }

    /// Sends a `type="chat"` message with an optional body and `<thread/>` and extra
    /// payloads; returns its id.
    pub fn send_message(
        &mut self,
        to: &str,
        body: Option<&str>,
        thread: Option<&str>,
        payloads: Vec<Element>,
    ) -> Result<String, XmppError> {
        let mut m = Message::new(Some(parse_jid(to)?));
        m.type_ = MessageType::Chat;
        let id = self.new_id();
        m.id = Some(xmpp_parsers::message::Id(id.clone()));
        if let Some(b) = body {
            m.bodies.insert(Lang::new(), b.to_owned());
        }
        if let Some(t) = thread {
            m.thread = Some(Thread {
                parent: None,
                id: t.to_owned(),
            });
        }
        m.payloads = payloads;
        self.send(m.into())?;
        Ok(id)
    }

    /// Sends a presence stanza; returns its id.
    pub fn send_presence(&mut self, p: PresenceOut) -> Result<String, XmppError> {
        let mut pr = Presence::new(p.kind);
        if let Some(to) = &p.to {
            pr.to = Some(parse_jid(to)?);
        }
        let id = self.new_id();
        pr.id = Some(id.clone());
        pr.show = p.show;
        if let Some(s) = p.status {
            pr.statuses.insert(Lang::new(), s);
        }
        pr.priority = xmpp_parsers::presence::Priority(p.priority);
        pr.payloads = p.payloads;
        self.send(pr.into())?;
        Ok(id)
    }

    fn presence_to(&mut self, to: &str, kind: PresenceType) -> Result<String, XmppError> {
        self.send_presence(PresenceOut {
            to: Some(to.to_owned()),
            kind,
            ..PresenceOut::default()
        })
    }

    /// Asks `to` (a bare JID) for a presence subscription (`type="subscribe"`).
    pub fn subscribe(&mut self, to: &str) -> Result<String, XmppError> {
        self.presence_to(to, PresenceType::Subscribe)
    }

    /// Approves `to`'s subscription request (`type="subscribed"`).
    pub fn approve(&mut self, to: &str) -> Result<String, XmppError> {
        self.presence_to(to, PresenceType::Subscribed)
    }

    /// Cancels our subscription to `to` (`type="unsubscribe"`).
    pub fn unsubscribe(&mut self, to: &str) -> Result<String, XmppError> {
        self.presence_to(to, PresenceType::Unsubscribe)
    }

    /// Sends an IQ request and waits, at most the default timeout, for its reply; returns
    /// the result's payload, or [`XmppError::IqError`] for an error reply.
    pub async fn iq(
        &mut self,
        to: Option<&str>,
        kind: IqKind,
        payload: Element,
        what: &str,
    ) -> Result<Received<Option<Element>>, XmppError> {
        let reply = self.iq_reply(to, kind, payload, what).await?;
        match reply.stanza {
            Iq::Result { payload, .. } => Ok(Received {
                stanza: payload,
                xml: reply.xml,
            }),
            Iq::Error { .. } => {
                let condition = reply
                    .xml
                    .parse::<Element>()
                    .map(|e| error_condition(&e))
                    .unwrap_or_else(|_| "undefined-condition".to_owned());
                Err(XmppError::IqError {
                    what: what.to_owned(),
                    condition,
                    xml: reply.xml,
                })
            }
            Iq::Get { .. } | Iq::Set { .. } => Err(XmppError::UnexpectedReply {
                what: what.to_owned(),
                xml: reply.xml,
            }),
        }
    }

    /// Sends an IQ request and waits, at most the default timeout, for the reply (result
    /// or error) with the same id.
    pub async fn iq_reply(
        &mut self,
        to: Option<&str>,
        kind: IqKind,
        payload: Element,
        what: &str,
    ) -> Result<Received<Iq>, XmppError> {
        let id = self.new_id();
        let to = to.map(parse_jid).transpose()?;
        let iq = match kind {
            IqKind::Get => Iq::Get {
                from: None,
                to,
                id: id.clone(),
                payload,
            },
            IqKind::Set => Iq::Set {
                from: None,
                to,
                id: id.clone(),
                payload,
            },
        };
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id.clone(), tx);
        if let Err(e) = self.send(iq.into()) {
            lock(&self.pending).remove(&id);
            return Err(e);
        }
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(self.disconnected(&format!("while waiting for the reply to {what}"))),
            Err(_) => {
                lock(&self.pending).remove(&id);
                Err(XmppError::Timeout {
                    what: format!("{} waiting for the reply to {what}", self.jid),
                    timeout: self.timeout,
                })
            }
        }
    }

    /// XEP-0199 ping of `to` (default: our server); since a server handles a client's
    /// stanzas in order, the reply also means that everything sent before was processed.
    pub async fn ping(&mut self, to: Option<&str>) -> Result<(), XmppError> {
        let server = self.jid.domain().to_string();
        let to = to.unwrap_or(&server).to_owned();
        let req = elem("ping", ns::PING, &[]);
        self.iq(Some(&to), IqKind::Get, req, &format!("ping {to}"))
            .await
            .map(drop)
    }

    /// Retrieves the roster (RFC 6121 2.1.3); this also makes the connection an
    /// "interested resource" that receives roster pushes and subscription approvals.
    pub async fn roster(&mut self) -> Result<Vec<RosterItem>, XmppError> {
        let req = elem("query", ns::ROSTER, &[]);
        let r = self.iq(None, IqKind::Get, req, "roster get").await?;
        match r.stanza.map(Roster::try_from) {
            Some(Ok(roster)) => Ok(roster.items),
            None => Ok(Vec::new()),
            Some(Err(_)) => Err(XmppError::UnexpectedReply {
                what: "roster get".to_owned(),
                xml: r.xml,
            }),
        }
    }

    /// Creates pubsub node `node` on `service` (XEP-0060 8.1).
    pub async fn pubsub_create(&mut self, service: &str, node: &str) -> Result<(), XmppError> {
        let what = format!("pubsub create {node} at {service}");
        self.iq(
            Some(service),
            IqKind::Set,
            pubsub::create_request(node),
            &what,
        )
        .await
        .map(drop)
    }

    /// Subscribes our bare JID to `node` on `service` (XEP-0060 6.1).
    pub async fn pubsub_subscribe(&mut self, service: &str, node: &str) -> Result<(), XmppError> {
        let what = format!("pubsub subscribe {node} at {service}");
        let jid = self.bare().to_string();
        let req = pubsub::subscribe_request(node, &jid);
        self.iq(Some(service), IqKind::Set, req, &what)
            .await
            .map(drop)
    }

    /// Unsubscribes our bare JID from `node` on `service` (XEP-0060 6.2).
    pub async fn pubsub_unsubscribe(&mut self, service: &str, node: &str) -> Result<(), XmppError> {
        let what = format!("pubsub unsubscribe {node} at {service}");
        let jid = self.bare().to_string();
        let req = pubsub::unsubscribe_request(node, &jid);
        self.iq(Some(service), IqKind::Set, req, &what)
            .await
            .map(drop)
    }

    /// Publishes an item with id `item_id` and `payload` to `node` on `service`
    /// (XEP-0060 7.1); returns when the service has confirmed it.
    pub async fn pubsub_publish(
        &mut self,
        service: &str,
        node: &str,
        item_id: &str,
        payload: Element,
    ) -> Result<(), XmppError> {
        let what = format!("pubsub publish {item_id} to {node} at {service}");
        let req = pubsub::publish_request(node, item_id, payload);
        self.iq(Some(service), IqKind::Set, req, &what)
            .await
            .map(drop)
    }

    /// Retrieves the items of `node` on `service` (XEP-0060 6.5).
    pub async fn pubsub_get_items(
        &mut self,
        service: &str,
        node: &str,
    ) -> Result<Vec<PubsubItem>, XmppError> {
        let what = format!("pubsub items of {node} at {service}");
        let r = self
            .iq(
                Some(service),
                IqKind::Get,
                pubsub::items_request(node),
                &what,
            )
            .await?;
        Ok(r.stanza
            .map(|p| pubsub::result_items(&p))
            .unwrap_or_default())
    }

    /// The next event, waiting at most `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<XmppEvent, XmppError> {
        if let Some(e) = self.backlog.pop_front() {
            return Ok(e);
        }
        self.recv(timeout, "an XMPP event").await
    }

    async fn recv(&mut self, timeout: Duration, what: &str) -> Result<XmppEvent, XmppError> {
        match tokio::time::timeout(timeout, self.events.recv()).await {
            Ok(Some(e)) => Ok(e),
            Ok(None) => Err(self.disconnected("the connection task has ended")),
            Err(_) => Err(XmppError::Timeout {
                what: format!("{} waiting for {what}", self.jid),
                timeout,
            }),
        }
    }

    /// Waits, at most `timeout` in all, for the first event for which `pick` returns
    /// `Some`; the events passed over stay queued, in order, for later calls. A closed
    /// connection is an error ([`XmppError::Disconnected`]).
    pub async fn wait_for<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pick: impl FnMut(&XmppEvent) -> Option<T>,
    ) -> Result<T, XmppError> {
        if let Some(i) = self.backlog.iter().position(|e| pick(e).is_some()) {
            if let Some(found) = self.backlog.remove(i).as_ref().and_then(&mut pick) {
                return Ok(found);
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let e = self.recv(left, what).await.map_err(|e| match e {
                XmppError::Timeout { what, .. } => XmppError::Timeout { what, timeout },
                other => other,
            })?;
            if let Some(found) = pick(&e) {
                return Ok(found);
            }
            if let XmppEvent::Closed { reason } = &e {
                let reason = format!("{reason} (while waiting for {what})");
                self.backlog.push_back(e);
                return Err(self.disconnected(&reason));
            }
            self.backlog.push_back(e);
        }
    }

    /// Waits for a message for which `pick` is true.
    pub async fn wait_message(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pick: impl FnMut(&Message) -> bool,
    ) -> Result<Received<Message>, XmppError> {
        self.wait_for(timeout, what, |e| match e {
            XmppEvent::Message(m) if pick(&m.stanza) => Some(m.clone()),
            _ => None,
        })
        .await
    }

    /// Waits for a presence for which `pick` is true.
    pub async fn wait_presence(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pick: impl FnMut(&Presence) -> bool,
    ) -> Result<Received<Presence>, XmppError> {
        self.wait_for(timeout, what, |e| match e {
            XmppEvent::Presence(p) if pick(&p.stanza) => Some(p.clone()),
            _ => None,
        })
        .await
    }

    /// The events received and not yet taken, without waiting.
    pub fn drain_events(&mut self) -> Vec<XmppEvent> {
        let mut v: Vec<XmppEvent> = self.backlog.drain(..).collect();
        while let Ok(e) = self.events.try_recv() {
            v.push(e);
        }
        v
    }

    /// Ends the stream (`</stream:stream>`) and waits, at most the default timeout, for
    /// the connection's task to finish.
    pub async fn close(mut self) -> Result<(), XmppError> {
        // Replacing the sender closes the queue: the task sends the footer and ends.
        let (dead, _) = mpsc::unbounded_channel();
        self.out = dead;
        let timeout = self.timeout;
        let jid = self.jid.to_string();
        match tokio::time::timeout(timeout, &mut self.task).await {
            Ok(_) => Ok(()),
            Err(_) => Err(XmppError::Timeout {
                what: format!("{jid} closing its stream"),
                timeout,
            }),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn stream_err(addr: SocketAddr, reason: impl std::fmt::Display) -> XmppError {
    XmppError::Stream {
        peer: addr.to_string(),
        reason: reason.to_string(),
    }
}

fn features_err(addr: SocketAddr, e: RecvFeaturesError) -> XmppError {
    stream_err(addr, format!("receiving stream features: {e}"))
}

/// TCP, stream header, SASL, stream restart, resource binding.
async fn login(
    addr: SocketAddr,
    jid: &Jid,
    password: &str,
) -> Result<(Stream, FullJid), XmppError> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|source| XmppError::Connect { addr, source })?;
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn AsyncReadAndWrite + Send> = Box::new(BufStream::new(tcp));
    let header = || StreamHeader {
        to: Some(jid.domain().as_str().to_owned().into()),
        from: None,
        id: None,
    };
    let timeouts = Timeouts::tight();
    let pending = initiate_stream(io, ns::JABBER_CLIENT, header(), timeouts)
        .await
        .map_err(|e| stream_err(addr, format!("opening the stream: {e}")))?;
    let (features, stream) = pending
        .recv_features::<FallibleStreamElement>()
        .await
        .map_err(|e| features_err(addr, e))?;
    let mut mechanisms = features.sasl_mechanisms.clone();
    if mechanisms.contains("PLAIN") {
        mechanisms.retain(|m| m == "PLAIN");
    }
    let user = jid.node().map(|n| n.as_str()).unwrap_or_default();
    let creds = sasl::common::Credentials::default()
        .with_username(user)
        .with_password(password);
    let stream = tokio_xmpp::client_login(stream, mechanisms, creds)
        .await
        .map_err(|e| match e {
            tokio_xmpp::Error::Auth(a) => XmppError::Auth {
                jid: jid.to_string(),
                reason: a.to_string(),
            },
            other => stream_err(addr, format!("SASL: {other}")),
        })?;
    let pending = stream
        .send_header(header())
        .await
        .map_err(|e| stream_err(addr, format!("restarting the stream: {e}")))?;
    let (features, mut stream) = pending
        .recv_features::<Element>()
        .await
        .map_err(|e| features_err(addr, e))?;
    if !features.can_bind() {
        return Err(stream_err(addr, "no resource binding offered after SASL"));
    }
    let resource = jid.resource().map(|r| r.as_str().to_owned());
    let bind = Iq::from_set("bind-1", BindQuery::new(resource));
    let reply = request(&mut stream, addr, bind.into(), "bind-1").await?;
    let bound = match Iq::try_from(reply.clone()) {
        Ok(Iq::Result {
            payload: Some(p), ..
        }) => BindResponse::try_from(p)
            .map(FullJid::from)
            .map_err(|e| stream_err(addr, format!("bind result: {e}: {}", to_xml(&reply))))?,
        _ => {
            return Err(stream_err(
                addr,
                format!("resource binding refused: {}", to_xml(&reply)),
            ))
        }
    };
    // RFC 3921 session establishment, for servers that still require it.
    let session = features
        .others
        .iter()
        .find(|f| f.is("session", "urn:ietf:params:xml:ns:xmpp-session"));
    if session.is_some_and(|s| !s.has_child("optional", "urn:ietf:params:xml:ns:xmpp-session")) {
        let iq = Iq::Set {
            from: None,
            to: None,
            id: "session-1".to_owned(),
            payload: elem("session", "urn:ietf:params:xml:ns:xmpp-session", &[]),
        };
        request(&mut stream, addr, iq.into(), "session-1").await?;
    }
    Ok((stream, bound))
}

/// Sends an IQ during negotiation and reads until its reply (other stanzas before the
/// reply are not expected at this point and are dropped).
async fn request(
    stream: &mut Stream,
    addr: SocketAddr,
    iq: Element,
    id: &str,
) -> Result<Element, XmppError> {
    stream
        .send(&iq)
        .await
        .map_err(|e| stream_err(addr, format!("sending {id}: {e}")))?;
    loop {
        match stream.next().await {
            Some(Ok(el)) if el.name() == "iq" && el.attr("id") == Some(id) => return Ok(el),
            Some(Ok(el)) => tracing::debug!("ignored during negotiation: {}", to_xml(&el)),
            Some(Err(ReadError::SoftTimeout)) => {}
            Some(Err(e)) => return Err(stream_err(addr, format!("waiting for {id}: {e}"))),
            None => return Err(stream_err(addr, format!("closed while waiting for {id}"))),
        }
    }
}

/// The connection task: writes queued stanzas, reads and dispatches incoming ones.
async fn run(
    mut stream: Stream,
    jid: FullJid,
    mut out_rx: mpsc::UnboundedReceiver<Element>,
    events: mpsc::UnboundedSender<XmppEvent>,
    pending: Pending,
    disco: DiscoInfo,
) {
    let mut pings = 0u64;
    let reason = loop {
        tokio::select! {
            out = out_rx.recv() => match out {
                Some(el) => {
                    if let Err(e) = stream.send(&el).await {
                        break format!("write error: {e}");
                    }
                }
                None => {
                    let _ = tokio::time::timeout(
                        Duration::from_secs(2),
                        SinkExt::<&Element>::close(&mut stream),
                    )
                    .await;
                    break "closed by the client".to_owned();
                }
            },
            item = stream.next() => match item {
                Some(Ok(el)) => match dispatch(el, &jid, &events, &pending, &disco) {
                    Ok(None) => {}
                    Ok(Some(answer)) => {
                        if let Err(e) = stream.send(&answer).await {
                            break format!("write error: {e}");
                        }
                    }
                    Err(reason) => break reason,
                },
                Some(Err(ReadError::SoftTimeout)) => {
                    pings += 1;
                    let ping = Iq::Get {
                        from: None,
                        to: Some(Jid::from(jid.domain().to_owned())),
                        id: format!("keepalive-{pings}"),
                        payload: elem("ping", ns::PING, &[]),
                    };
                    if let Err(e) = stream.send(&Element::from(ping)).await {
                        break format!("write error: {e}");
                    }
                }
                Some(Err(ReadError::ParseError(e))) => {
                    let _ = events.send(XmppEvent::Invalid { xml: String::new(), error: e.to_string() });
                }
                Some(Err(ReadError::StreamFooterReceived)) => break "stream closed by the server".to_owned(),
                Some(Err(ReadError::HardError(e))) => break format!("read error: {e}"),
                None => break "connection closed by the server".to_owned(),
            },
        }
    };
    tracing::debug!(%jid, %reason, "XMPP client connection ended");
    lock(&pending).clear();
    let _ = events.send(XmppEvent::Closed { reason });
}

/// Handles one incoming element: `Ok(Some(answer))` is to be sent back, `Err(reason)`
/// ends the connection.
fn dispatch(
    el: Element,
    jid: &FullJid,
    events: &mpsc::UnboundedSender<XmppEvent>,
    pending: &Pending,
    disco: &DiscoInfo,
) -> Result<Option<Element>, String> {
    let xml = to_xml(&el);
    if el.ns() == ns::STREAM && el.name() == "error" {
        return Err(format!("stream error from the server: {xml}"));
    }
    let mut answer_with = None;
    let event = match el.name() {
        "message" => match Message::try_from(el) {
            Ok(m) => XmppEvent::Message(Received { stanza: m, xml }),
            Err(e) => XmppEvent::Invalid {
                xml,
                error: e.to_string(),
            },
        },
        "presence" => match Presence::try_from(el) {
            Ok(p) => XmppEvent::Presence(Received { stanza: p, xml }),
            Err(e) => XmppEvent::Invalid {
                xml,
                error: e.to_string(),
            },
        },
        "iq" => match Iq::try_from(el.clone()) {
            Ok(iq) => {
                let reply = Received { stanza: iq, xml };
                match &reply.stanza {
                    Iq::Result { id, .. } | Iq::Error { id, .. } => {
                        let waiter = lock(pending).remove(id);
                        match waiter {
                            Some(tx) => match tx.send(reply) {
                                Ok(()) => return Ok(None),
                                Err(reply) => XmppEvent::Iq(reply),
                            },
                            None if id.starts_with("keepalive-") => return Ok(None),
                            None => XmppEvent::Iq(reply),
                        }
                    }
                    Iq::Get { .. } | Iq::Set { .. } => {
                        answer_with = Some(answer(&el, jid, disco));
                        XmppEvent::Iq(reply)
                    }
                }
            }
            Err(e) => XmppEvent::Invalid {
                xml,
                error: e.to_string(),
            },
        },
        other => XmppEvent::Invalid {
            error: format!("unexpected top-level element <{other}/>"),
            xml,
        },
    };
    let _ = events.send(event);
    Ok(answer_with)
}

/// The automatic answer to an incoming IQ request.
fn answer(req: &Element, jid: &FullJid, disco: &DiscoInfo) -> Element {
    let id = req.attr("id").unwrap_or_default();
    let mut attrs = vec![("id", id)];
    if let Some(from) = req.attr("from") {
        attrs.push(("to", from));
    }
    let payload = req.children().next();
    let own = match req.attr("from") {
        None => true,
        Some(f) => f == jid.to_bare().as_str() || f == jid.domain().as_str(),
    };
    if req.attr("type") == Some("get") {
        if let Some(p) = payload.filter(|p| p.is("query", ns::DISCO_INFO)) {
            if let Some(mut info) = lock(disco).clone() {
                xml::set_attr(&mut info, "node", p.attr("node"));
                attrs.push(("type", "result"));
                return xml::build("iq", ns::JABBER_CLIENT, &attrs)
                    .append(info)
                    .build();
            }
        }
    }
    let ok = payload.is_some_and(|p| p.is("ping", ns::PING))
        || (own
            && payload.is_some_and(|p| p.is("query", ns::ROSTER))
            && req.attr("type") == Some("set"));
    if ok {
        attrs.push(("type", "result"));
        elem("iq", ns::JABBER_CLIENT, &attrs)
    } else {
        attrs.push(("type", "error"));
        xml::build("iq", ns::JABBER_CLIENT, &attrs)
            .append(xml::stanza_error("cancel", "service-unavailable"))
            .build()
    }
}
