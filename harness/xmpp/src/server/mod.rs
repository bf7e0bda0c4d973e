//! The embedded minimal XMPP server: client-to-server streams (RFC 6120: stream features,
//! SASL PLAIN, stream restart, resource binding, the legacy session IQ), routing, rosters
//! and presence subscriptions (RFC 6121) and a XEP-0060 pubsub service at
//! `pubsub.<domain>`, all in memory, plain TCP on loopback.
//!
//! The protocol logic is the sans-IO [`core::Core`]; this module is the tokio binding:
//! one task accepts connections (at most [`ServerOptions::max_connections`]), one task per
//! connection negotiates the stream with tokio-xmpp's responder-side XML stream
//! (`tokio_xmpp::xmlstream::accept_stream`), then feeds the stanzas it reads to the core and
//! writes what the core delivers to it. A stanza larger than
//! [`ServerOptions::max_stanza_bytes`] ends its connection with a `policy-violation` stream
//! error; negotiation must finish within [`ServerOptions::negotiation_timeout`].

pub mod core;
mod limit;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;
use tokio_xmpp::jid::FullJid;
use tokio_xmpp::minidom::Element;
use tokio_xmpp::xmlstream::{
    accept_stream, FallibleStreamElement, ReadError, StreamHeader, Timeouts, XmlStream,
    XmppStreamElement,
};
use xmpp_parsers::bind::{BindFeature, BindQuery, BindResponse};
use xmpp_parsers::iq::Iq;
use xmpp_parsers::ns;
use xmpp_parsers::sasl::{self, Mechanism, Nonza};
use xmpp_parsers::stream_error::{DefinedCondition as StreamCondition, StreamError};
use xmpp_parsers::stream_features::StreamFeatures;

use self::core::{Core, Delivery, Publishers, SessionId};
use self::limit::Limited;
use crate::xml::{elem, to_xml};
use crate::XmppError;

/// Who may log in.
#[derive(Debug, Clone)]
pub enum Accounts {
    /// These users (local part → password).
    Table(HashMap<String, String>),
    /// Any user name with any password (auto-provisioning).
    AnyUser,
}

impl Accounts {
    fn check(&self, user: &str, password: &str) -> bool {
        match self {
            Self::AnyUser => !user.is_empty(),
            Self::Table(t) => t.get(user).is_some_and(|p| p == password),
        }
    }
}

/// How to run the embedded server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The XMPP domain (default `lmpe.test`).
    pub domain: String,
    /// Who may log in (default: any user, any password).
    pub accounts: Accounts,
    /// Local parts of the users that may create pubsub nodes and publish to nodes of
    /// others; empty (the default): everybody.
    pub publishers: Vec<String>,
    /// The most simultaneous connections (default 1,000); more are closed at once.
    pub max_connections: usize,
    /// The largest stanza accepted (default 256 KiB).
    pub max_stanza_bytes: usize,
    /// The longest stream negotiation, up to the bound resource (default 10 s).
    pub negotiation_timeout: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            domain: "lmpe.test".to_owned(),
            accounts: Accounts::AnyUser,
            publishers: Vec::new(),
            max_connections: 1000,
            max_stanza_bytes: 256 * 1024,
            negotiation_timeout: Duration::from_secs(10),
        }
    }
}

impl ServerOptions {
    /// Options for `domain` with these users (local part, password).
    pub fn new(domain: &str, users: &[(&str, &str)]) -> Self {
        Self {
            domain: domain.to_owned(),
            accounts: Accounts::Table(
                users
                    .iter()
                    .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
                    .collect(),
            ),
            ..Self::default()
        }
    }

    /// Adds a user that may create pubsub nodes and publish.
    pub fn publisher(mut self, local: &str) -> Self {
        self.publishers.push(local.to_owned());
        self
    }
}

/// The state shared by the connection tasks.
#[derive(Debug)]
struct Shared {
    core: Mutex<Core>,
    outboxes: Mutex<HashMap<SessionId, mpsc::UnboundedSender<Element>>>,
    opts: ServerOptions,
    next_session: AtomicU64,
    next_stream: AtomicU64,
}

impl Shared {
    fn send_all(&self, deliveries: Vec<Delivery>) {
        let outboxes = lock(&self.outboxes);
        for d in deliveries {
            if let Some(tx) = outboxes.get(&d.session) {
                let _ = tx.send(d.stanza);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running embedded server; stopped (listener and every connection) on drop.
#[derive(Debug)]
pub struct EmbeddedServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl EmbeddedServer {
    /// Listens on `listen` (a 127.0.0.0/8 address; port 0 picks a free one) and serves.
    pub async fn start(listen: SocketAddr, opts: ServerOptions) -> Result<Self, XmppError> {
        if !listen.ip().is_loopback() {
            return Err(XmppError::Bind {
                addr: listen,
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the embedded XMPP server only listens on loopback addresses",
                ),
            });
        }
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| XmppError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| XmppError::Bind {
            addr: listen,
            source,
        })?;
        let publishers = if opts.publishers.is_empty() {
            Publishers::Anyone
        } else {
            Publishers::Only(
                opts.publishers
                    .iter()
                    .map(|u| format!("{u}@{}", opts.domain))
                    .collect::<BTreeSet<_>>(),
            )
        };
        let shared = Arc::new(Shared {
            core: Mutex::new(Core::new(&opts.domain, publishers)),
            outboxes: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(1),
            next_stream: AtomicU64::new(1),
            opts,
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        tracing::debug!(%addr, "embedded XMPP server listening");
        Ok(Self { addr, shared, task })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The domain.
    pub fn domain(&self) -> &str {
        &self.shared.opts.domain
    }

    /// The JID of the pubsub service, `pubsub.<domain>`.
    pub fn pubsub_jid(&self) -> String {
        format!("pubsub.{}", self.shared.opts.domain)
    }

    /// The full JIDs of the sessions bound now.
    pub fn sessions(&self) -> Vec<FullJid> {
        lock(&self.shared.core).sessions()
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let slots = Arc::new(Semaphore::new(shared.opts.max_connections));
    // Dropping the set (when this task is aborted) aborts every connection.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let Ok(permit) = slots.clone().try_acquire_owned() else {
                        tracing::warn!(%peer, "XMPP connection refused: {} connections", shared.opts.max_connections);
                        drop(tcp);
                        continue;
                    };
                    let shared = shared.clone();
                    conns.spawn(async move {
                        if let Err(e) = connection(tcp, peer, &shared).await {
                            tracing::debug!(%peer, "XMPP connection: {e}");
                        }
                        drop(permit);
                    });
                }
                Err(e) => {
                    tracing::warn!("XMPP accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

type Io = Limited<tokio::io::BufStream<TcpStream>>;

/// Negotiates the stream, then runs the session.
async fn connection(tcp: TcpStream, peer: SocketAddr, shared: &Shared) -> Result<(), String> {
    let _ = tcp.set_nodelay(true);
    let io = Limited::new(tokio::io::BufStream::new(tcp), shared.opts.max_stanza_bytes);
    let counter = io.counter();
    let timeout = shared.opts.negotiation_timeout;
    let (stream, user) = match tokio::time::timeout(timeout, negotiate(io, shared, &counter)).await
    {
        Ok(r) => r?,
        Err(_) => {
            return Err(format!(
                "{peer}: no complete negotiation within {timeout:?}"
            ))
        }
    };
    session(stream, user, shared, counter).await
}

/// Stream header, features, SASL PLAIN, restart, features (bind).
async fn negotiate(
    io: Io,
    shared: &Shared,
    counter: &limit::Counter,
) -> Result<(XmlStream<Io, Element>, String), String> {
    let domain = shared.opts.domain.clone();
    let timeouts = Timeouts::tight();
    let accepted = accept_stream(io, ns::JABBER_CLIENT, timeouts)
        .await
        .map_err(|e| format!("stream header: {e}"))?;
    let to = accepted.header().to.map(|t| t.into_owned());
    let header = || StreamHeader {
        from: Some(domain.clone().into()),
        to: None,
        id: Some(
            format!(
                "lmpe-stream-{}",
                shared.next_stream.fetch_add(1, Ordering::Relaxed)
            )
            .into(),
        ),
    };
    let pending = accepted
        .send_header(header())
        .await
        .map_err(|e| format!("sending the stream header: {e}"))?;
    if to.as_deref() != Some(domain.as_str()) {
        let err = StreamError::new(
            StreamCondition::HostUnknown,
            "en",
            format!("this server serves {domain}"),
        );
        let _ = pending.send_error(&err).await;
        return Err(format!("stream to unknown host {to:?}"));
    }
    let features = StreamFeatures {
        sasl_mechanisms: ["PLAIN".to_owned()].into(),
        ..StreamFeatures::default()
    };
    let mut stream = pending
        .send_features::<FallibleStreamElement>(&features)
        .await
        .map_err(|e| format!("sending stream features: {e}"))?;

    // SASL PLAIN (RFC 4616): authzid NUL authcid NUL password.
    let mut attempts = 0;
    let user = loop {
        counter.reset();
        let el = match stream.next().await {
            Some(Ok(FallibleStreamElement::Ok(el))) => el,
            Some(Ok(FallibleStreamElement::Err(e))) => return Err(format!("during SASL: {e}")),
            Some(Err(ReadError::SoftTimeout)) => continue,
            Some(Err(e)) => return Err(format!("during SASL: {e}")),
            None => return Err("closed during SASL".to_owned()),
        };
        let XmppStreamElement::Sasl(Nonza::Auth(auth)) = el else {
            return Err(format!("expected <auth/>, got {el:?}"));
        };
        let creds = (auth.mechanism == Mechanism::Plain)
            .then(|| plain_credentials(&auth.data))
            .flatten();
        match creds {
            Some((user, password)) if shared.opts.accounts.check(&user, &password) => break user,
            _ => {
                attempts += 1;
                let failure = Nonza::Failure(sasl::Failure {
                    defined_condition: if auth.mechanism == Mechanism::Plain {
                        sasl::DefinedCondition::NotAuthorized
                    } else {
                        sasl::DefinedCondition::InvalidMechanism
                    },
                    texts: Default::default(),
                });
                stream
                    .send(&XmppStreamElement::Sasl(failure))
                    .await
                    .map_err(|e| format!("sending SASL failure: {e}"))?;
                if attempts >= 3 {
                    let _ = SinkExt::<&Element>::close(&mut stream).await;
                    return Err("authentication failed 3 times".to_owned());
                }
            }
        }
    };
    let success = XmppStreamElement::Sasl(Nonza::Success(sasl::Success { data: Vec::new() }));
    let accepted = stream
        .accept_reset(&success)
        .await
        .map_err(|e| format!("stream restart: {e}"))?;
    let pending = accepted
        .send_header(header())
        .await
        .map_err(|e| format!("sending the stream header: {e}"))?;
    let features = StreamFeatures {
        bind: Some(BindFeature { required: true }),
        others: vec![tokio_xmpp::minidom::Element::builder(
            "session",
            "urn:ietf:params:xml:ns:xmpp-session",
        )
        .append(elem("optional", "urn:ietf:params:xml:ns:xmpp-session", &[]))
        .build()],
        ..StreamFeatures::default()
    };
    let stream = pending
        .send_features::<Element>(&features)
        .await
        .map_err(|e| format!("sending stream features: {e}"))?;
    Ok((stream, user))
}

/// `(authcid, password)` of a SASL PLAIN message, if well-formed.
fn plain_credentials(data: &[u8]) -> Option<(String, String)> {
    let mut parts = data.split(|b| *b == 0);
    let _authzid = parts.next()?;
    let user = std::str::from_utf8(parts.next()?).ok()?.to_owned();
    let password = std::str::from_utf8(parts.next()?).ok()?.to_owned();
    if parts.next().is_some() {
        return None;
    }
    // The authcid may be a bare JID; the local part is the user name.
    let user = user.split('@').next().unwrap_or_default().to_owned();
    Some((user, password))
}

/// Resource binding, then the stanza loop.
async fn session(
    mut stream: XmlStream<Io, Element>,
    user: String,
    shared: &Shared,
    counter: limit::Counter,
) -> Result<(), String> {
    let id = shared.next_session.fetch_add(1, Ordering::Relaxed);
    let timeout = shared.opts.negotiation_timeout;
    let bound = tokio::time::timeout(timeout, bind(&mut stream, id, &user, shared, &counter))
        .await
        .map_err(|_| format!("{user}: no resource binding within {timeout:?}"))??;
    let (tx, mut rx) = mpsc::unbounded_channel();
    lock(&shared.outboxes).insert(id, tx);
    tracing::debug!(jid = %bound, "embedded XMPP session bound");
    let mut pings = 0u64;
    // The budget restarts after each complete element only: reads interrupted by writes
    // (the select below) continue the same element.
    counter.reset();
    let reason = loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(el) => {
                    if let Err(e) = stream.send(&el).await {
                        break format!("write error: {e}");
                    }
                }
                None => break "outbox closed".to_owned(),
            },
            item = stream.next() => match item {
                Some(Ok(el)) => {
                    counter.reset();
                    if el.ns() != ns::JABBER_CLIENT
                        || !matches!(el.name(), "message" | "presence" | "iq")
                    {
                        let err = StreamError::new(
                            StreamCondition::UnsupportedStanzaType,
                            "en",
                            format!("unsupported element <{}/>", el.name()),
                        );
                        let _ = stream.send(&err).await;
                        let _ = SinkExt::<&Element>::close(&mut stream).await;
                        break format!("unsupported element {}", to_xml(&el));
                    }
                    let deliveries = lock(&shared.core).handle(id, el);
                    shared.send_all(deliveries);
                }
                Some(Err(ReadError::SoftTimeout)) => {
                    pings += 1;
                    let ping = elem("iq", ns::JABBER_CLIENT, &[
                        ("type", "get"),
                        ("id", &format!("srv-ping-{pings}")),
                        ("from", shared.opts.domain.as_str()),
                        ("to", bound.as_str()),
                    ]);
                    let mut ping = ping;
                    ping.append_child(elem("ping", ns::PING, &[]));
                    if let Err(e) = stream.send(&ping).await {
                        break format!("write error: {e}");
                    }
                }
                Some(Err(ReadError::HardError(e))) if counter.exceeded() => {
                    let err = StreamError::new(
                        StreamCondition::PolicyViolation,
                        "en",
                        format!("stanza larger than {} bytes", shared.opts.max_stanza_bytes),
                    );
                    let _ = stream.send(&err).await;
                    break format!("stanza too large: {e}");
                }
                Some(Err(ReadError::ParseError(e))) => break format!("parse error: {e}"),
                Some(Err(ReadError::StreamFooterReceived)) => {
                    let _ = SinkExt::<&Element>::close(&mut stream).await;
                    break "stream closed by the client".to_owned();
                }
                Some(Err(e)) => break format!("read error: {e}"),
                None => break "connection closed by the client".to_owned(),
            },
        }
    };
    lock(&shared.outboxes).remove(&id);
    let deliveries = lock(&shared.core).unbind(id);
    shared.send_all(deliveries);
    tracing::debug!(jid = %bound, %reason, "embedded XMPP session ended");
    Ok(())
}

/// Answers IQs until the resource is bound (and errors to anything else).
async fn bind(
    stream: &mut XmlStream<Io, Element>,
    id: SessionId,
    user: &str,
    shared: &Shared,
    counter: &limit::Counter,
) -> Result<FullJid, String> {
    loop {
        counter.reset();
        let el = match stream.next().await {
            Some(Ok(el)) => el,
            Some(Err(ReadError::SoftTimeout)) => continue,
            Some(Err(e)) => return Err(format!("before binding: {e}")),
            None => return Err("closed before binding".to_owned()),
        };
        let iq_id = el.attr("id").unwrap_or_default().to_owned();
        let bind_req = (el.name() == "iq" && el.attr("type") == Some("set"))
            .then(|| el.get_child("bind", ns::BIND).cloned())
            .flatten();
        let reply: Element = match bind_req.map(BindQuery::try_from) {
            Some(Ok(q)) => {
                let bound = lock(&shared.core).bind(id, user, q.resource.as_deref())?;
                let reply = Iq::from_result(iq_id, Some(BindResponse { jid: bound.clone() }));
                stream
                    .send(&Element::from(reply))
                    .await
                    .map_err(|e| format!("bind result: {e}"))?;
                return Ok(bound);
            }
            _ => {
                let mut e = elem(
                    "iq",
                    ns::JABBER_CLIENT,
                    &[("type", "error"), ("id", iq_id.as_str())],
                );
                e.append_child(crate::xml::stanza_error("auth", "not-authorized"));
                e
            }
        };
        stream
            .send(&reply)
            .await
            .map_err(|e| format!("error before binding: {e}"))?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_credentials_are_parsed() {
        assert_eq!(
            plain_credentials(b"\0alice\0pw"),
            Some(("alice".to_owned(), "pw".to_owned()))
        );
        assert_eq!(
            plain_credentials(b"alice@lmpe.test\0alice@lmpe.test\0pw"),
            Some(("alice".to_owned(), "pw".to_owned()))
        );
        assert_eq!(plain_credentials(b"alice"), None);
    }

    #[test]
    fn accounts_are_checked() {
        let t = ServerOptions::new("lmpe.test", &[("a", "b")]).accounts;
        assert!(t.check("a", "b"));
        assert!(!t.check("a", "c"));
        assert!(!t.check("x", "b"));
        assert!(Accounts::AnyUser.check("x", "y"));
    }
}
