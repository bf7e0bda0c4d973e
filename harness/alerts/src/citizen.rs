//! The citizen side: subscribes on the URIs LoST returned for a warning service and collects
//! every alert that arrives, with when it arrived and exactly what carried it.
//!
//! SIP subscriptions share one [`Subscriber`] endpoint; feeds are polled (conditional GET with
//! `If-None-Match`, so the poll interval bounds the added latency); XMPP goes through an
//! [`XmppSubscriber`] (see [`crate::xmpp`]), which hands what it receives to
//! [`Citizen::sender`].

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lmpe_net::{spawn_endpoint, EndpointHandle, SipSocketConfig};
use lmpe_proto::endpoint::TransportKind;
use lmpe_proto::events::{
    Subscriber, SubscriberConfig, SubscriberEvent, SubscriptionId, CAP_CONTENT_TYPE,
    CAP_EVENT_PACKAGE,
};
use lmpe_proto::roles::WireRecord;
use lmpe_warning::cap::Alert;
use lmpe_warning::georss::Feed;
use tokio::sync::{mpsc, oneshot};

use crate::http::HttpGet;
use crate::{AlertsError, Channel, Target};

/// One alert as a subscriber received it.
#[derive(Debug, Clone)]
pub struct Received {
    /// How.
    pub channel: Channel,
    /// The subscription URI it came through.
    pub source: String,
    /// Who received it: `<citizen>#sip-<n>` (one SIP subscription), the XMPP account's JID,
    /// `<citizen>#<feed URL>`.
    pub subscriber: String,
    /// When it arrived.
    pub at: Instant,
    /// What carried it, as text: the NOTIFY (SIP), the event stanza (XMPP), the feed entry's
    /// alert element (HTTP).
    pub carrier: String,
    /// The alert, decoded and schema-validated, or why not.
    pub alert: Result<Alert, String>,
}

/// A subscription the citizen holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribed {
    /// The URI subscribed on.
    pub uri: String,
    /// The channel.
    pub channel: Channel,
    /// What confirmed it (`200 OK`, the pubsub result, `200` with a feed).
    pub confirmation: String,
}

/// The XMPP side of a citizen: subscribes to pubsub nodes; items that arrive go to the
/// sender given to [`XmppSubscriber::subscribe`] as [`Received`] values.
pub trait XmppSubscriber: Send + Sync + 'static {
    /// Subscribes to `node` at the pubsub service `service`; `uri` is the LoST URI (for
    /// [`Received::source`]).
    fn subscribe<'a>(
        &'a self,
        service: &'a str,
        node: &'a str,
        uri: &'a str,
        deliver: mpsc::UnboundedSender<Received>,
    ) -> Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;
}

/// Configuration of a [`Citizen`].
pub struct CitizenConfig {
    /// Name (for reports).
    pub name: String,
    /// Our SIP address-of-record (From of the SUBSCRIBEs).
    pub aor: String,
    /// Where the SIP subscriber listens.
    pub sip_listen: SocketAddr,
    /// Where SUBSCRIBEs go when a URI's host is a name.
    pub sip_proxy: Option<SocketAddr>,
    /// The XMPP side, if XMPP URIs are to be followed.
    pub xmpp: Option<Arc<dyn XmppSubscriber>>,
    /// Feed poll interval.
    pub poll: Duration,
    /// The subscription duration asked for (SIP `Expires`).
    pub expires: u32,
    /// Deliver into this inbox instead of the citizen's own (many citizens, one collector);
    /// [`Citizen::recv`] then sees nothing.
    pub inbox: Option<mpsc::UnboundedSender<Received>>,
}

type Pending = HashMap<SubscriptionId, oneshot::Sender<Result<String, String>>>;

/// A citizen endpoint subscribed to warnings.
pub struct Citizen {
    cfg_name: String,
    sip: EndpointHandle<Subscriber>,
    sip_proxy: Option<SocketAddr>,
    xmpp: Option<Arc<dyn XmppSubscriber>>,
    poll: Duration,
    sub_uris: Arc<Mutex<HashMap<SubscriptionId, String>>>,
    pending: Arc<Mutex<Pending>>,
    tx: mpsc::UnboundedSender<Received>,
    rx: mpsc::UnboundedReceiver<Received>,
    violations: Arc<Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    http: HttpGet,
}

impl std::fmt::Debug for Citizen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Citizen")
            .field("name", &self.cfg_name)
            .field("sip", &self.sip.local_addr())
            .finish()
    }
}

impl Citizen {
    /// Starts the SIP subscriber and its event pump.
    pub async fn start(cfg: CitizenConfig) -> Result<Citizen, AlertsError> {
        let sub = Subscriber::new(SubscriberConfig {
            local: cfg.sip_listen,
            aor: cfg.aor.clone(),
            event: CAP_EVENT_PACKAGE.into(),
            accept: CAP_CONTENT_TYPE.into(),
            expires: cfg.expires,
            refresh: true,
        });
        let sip = spawn_endpoint(sub, SipSocketConfig::new(cfg.sip_listen))
            .await
            .map_err(|e| AlertsError::Sip(format!("subscriber on {}: {e}", cfg.sip_listen)))?;
        let local = sip.local_addr();
        sip.with(move |s, _| s.set_local(local))
            .await
            .map_err(|e| AlertsError::Sip(e.to_string()))?;
        let (own_tx, rx) = mpsc::unbounded_channel();
        let tx = cfg.inbox.clone().unwrap_or(own_tx);
        let mut c = Citizen {
            cfg_name: cfg.name,
            sip,
            sip_proxy: cfg.sip_proxy,
            xmpp: cfg.xmpp,
            poll: cfg.poll,
            sub_uris: Arc::default(),
            pending: Arc::default(),
            tx,
            rx,
            violations: Arc::default(),
            tasks: Vec::new(),
            http: HttpGet::new(),
        };
        c.tasks.push(tokio::spawn(pump(
            c.cfg_name.clone(),
            c.sip.clone(),
            c.sub_uris.clone(),
            c.pending.clone(),
            c.tx.clone(),
            c.violations.clone(),
        )));
        Ok(c)
    }

    /// The citizen's name.
    pub fn name(&self) -> &str {
        &self.cfg_name
    }

    /// A sender into this citizen's inbox (for an [`XmppSubscriber`]).
    pub fn sender(&self) -> mpsc::UnboundedSender<Received> {
        self.tx.clone()
    }

    /// Subscribes on one LoST URI and waits (at most `timeout`) until the subscription is
    /// confirmed.
    pub async fn subscribe(
        &mut self,
        uri: &str,
        timeout: Duration,
    ) -> Result<Subscribed, AlertsError> {
        let target = Target::parse(uri, self.sip_proxy)?;
        let failed = |reason: String| AlertsError::Subscription {
            uri: uri.to_owned(),
            reason,
        };
        let confirmation = match &target {
            Target::Sip { .. } => match self.subscribe_sip_many(uri, 1, timeout).await?.pop() {
                Some(Ok((_, confirmation))) => confirmation,
                Some(Err(e)) => return Err(failed(e)),
                None => return Err(failed("was not sent".into())),
            },
            Target::Xmpp { service, node } => {
                let Some(x) = self.xmpp.clone() else {
                    return Err(failed(
                        "needs an XMPP account, and none is configured".into(),
                    ));
                };
                match tokio::time::timeout(
                    timeout,
                    x.subscribe(service, node, uri, self.tx.clone()),
                )
                .await
                {
                    Ok(Ok(c)) => c,
                    Ok(Err(e)) => return Err(failed(e)),
                    Err(_) => return Err(failed(format!("got no pubsub answer in {timeout:?}"))),
                }
            }
            Target::Http { url } => {
                let first = self
                    .http
                    .get(url, None, timeout)
                    .await
                    .map_err(|e| failed(format!("first fetch: {e}")))?;
                if first.status != 200 {
                    return Err(failed(format!("first fetch answered {}", first.status)));
                }
                let feed = Feed::parse(first.body.as_bytes()).map_err(|e| {
                    failed(format!("the first fetch is not a CAP GeoRSS feed: {e}"))
                })?;
                let known: BTreeSet<String> = feed.entries.iter().map(|e| e.id.clone()).collect();
                self.tasks.push(tokio::spawn(poll_feed(FeedPoll {
                    subscriber: format!("{}#{url}", self.cfg_name),
                    http: self.http.clone(),
                    url: url.clone(),
                    etag: first.etag.clone(),
                    known,
                    every: self.poll,
                    tx: self.tx.clone(),
                    violations: self.violations.clone(),
                })));
                format!("{} with {} entries", first.status, feed.entries.len())
            }
        };
        Ok(Subscribed {
            uri: uri.to_owned(),
            channel: target.channel(),
            confirmation,
        })
    }

    /// Makes `n` SIP subscriptions to the sip URI `uri` at once (load runs) and waits (at most
    /// `timeout` in all) for their answers; returns each subscription's number (as in
    /// [`Received::subscriber`], `<name>#sip-<n>`) with what confirmed it, or why it failed.
    pub async fn subscribe_sip_many(
        &mut self,
        uri: &str,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<Result<(u64, String), String>>, AlertsError> {
        let Target::Sip { uri: sip_uri, dest } = Target::parse(uri, self.sip_proxy)? else {
            return Err(AlertsError::BadUri {
                uri: uri.to_owned(),
                reason: "not a sip URI".into(),
            });
        };
        let (pending, uris, uri_s) = (self.pending.clone(), self.sub_uris.clone(), uri.to_owned());
        let waits = self
            .sip
            .with(move |s, now| {
                let mut waits = Vec::with_capacity(n);
                for _ in 0..n {
                    let (done_tx, done_rx) = oneshot::channel();
                    match s.subscribe(now, &sip_uri, dest, TransportKind::Udp, None) {
                        Ok(id) => {
                            if let Ok(mut p) = pending.lock() {
                                p.insert(id, done_tx);
                            }
                            if let Ok(mut u) = uris.lock() {
                                u.insert(id, uri_s.clone());
                            }
                            waits.push(Ok((id, done_rx)));
                        }
                        Err(e) => waits.push(Err(e.to_string())),
                    }
                }
                waits
            })
            .await
            .map_err(|e| AlertsError::Sip(e.to_string()))?;
        let deadline = tokio::time::Instant::now() + timeout;
        let mut out = Vec::with_capacity(waits.len());
        for w in waits {
            out.push(match w {
                Err(e) => Err(e),
                Ok((id, rx)) => match tokio::time::timeout_at(deadline, rx).await {
                    Ok(Ok(Ok(confirmation))) => Ok((id.0, confirmation)),
                    Ok(Ok(Err(e))) => Err(e),
                    Ok(Err(_)) => Err("was dropped".into()),
                    Err(_) => Err(format!("got no final response in {timeout:?}")),
                },
            });
        }
        Ok(out)
    }

    /// The next alert received, waiting at most `timeout`.
    pub async fn recv(&mut self, timeout: Duration) -> Option<Received> {
        tokio::time::timeout(timeout, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// Every alert received so far that has not been taken.
    pub fn drain(&mut self) -> Vec<Received> {
        std::iter::from_fn(|| self.rx.try_recv().ok()).collect()
    }

    /// Protocol violations seen so far (NOTIFYs refused, feeds that do not parse).
    pub fn violations(&self) -> Vec<String> {
        self.violations
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Every SIP message of the subscriber.
    pub async fn sip_wire(&self) -> Vec<WireRecord> {
        self.sip
            .with(|s, _| s.wire().records().to_vec())
            .await
            .unwrap_or_default()
    }

    /// Turns the SIP subscriber's wire log on or off (a load keeps no ladders: with thousands
    /// of subscriptions the log would hold every NOTIFY).
    pub async fn set_sip_wire_log(&self, on: bool) -> Result<(), AlertsError> {
        self.sip
            .with(move |s, _| s.set_wire_log(on))
            .await
            .map_err(|e| AlertsError::Sip(e.to_string()))
    }

    /// The SIP subscriber's address.
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip.local_addr()
    }

    /// Stops the pump, the pollers and the SIP endpoint.
    pub async fn shutdown(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        self.sip.shutdown().await;
    }
}

impl Drop for Citizen {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Drains the SIP subscriber's events every few milliseconds (the arrival instant comes from
/// the driver, so the pump interval adds nothing to measured latency).
async fn pump(
    name: String,
    sip: EndpointHandle<Subscriber>,
    uris: Arc<Mutex<HashMap<SubscriptionId, String>>>,
    pending: Arc<Mutex<Pending>>,
    tx: mpsc::UnboundedSender<Received>,
    violations: Arc<Mutex<Vec<String>>>,
) {
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    loop {
        tick.tick().await;
        let Ok(events) = sip
            .with(|s, _| std::iter::from_fn(|| s.poll_event()).collect::<Vec<_>>())
            .await
        else {
            return;
        };
        for ev in events {
            let uri_of = |id: SubscriptionId| {
                uris.lock()
                    .ok()
                    .and_then(|u| u.get(&id).cloned())
                    .unwrap_or_default()
            };
            let settle = |id: SubscriptionId, r: Result<String, String>| {
                if let Some(done) = pending.lock().ok().and_then(|mut p| p.remove(&id)) {
                    let _ = done.send(r);
                }
            };
            match ev {
                SubscriberEvent::Accepted {
                    id,
                    status,
                    expires,
                } => settle(
                    id,
                    Ok(format!(
                        "{status}, Expires {}",
                        expires.map_or("-".into(), |e| e.to_string())
                    )),
                ),
                SubscriberEvent::Rejected { id, status, .. } => {
                    settle(id, Err(format!("was refused with {status}")))
                }
                SubscriberEvent::Failed { id, reason } => settle(id, Err(reason)),
                SubscriberEvent::Notified {
                    id,
                    body,
                    message,
                    at,
                    content_type,
                    ..
                } => {
                    if body.is_empty() {
                        continue;
                    }
                    let alert = match content_type.as_deref() {
                        Some(ct) if ct.eq_ignore_ascii_case(CAP_CONTENT_TYPE) => {
                            Alert::parse(&body).map_err(|e| e.to_string())
                        }
                        other => Err(format!(
                            "NOTIFY body is {other:?}, not {CAP_CONTENT_TYPE} (draft-rosen-sipping-cap 3.5)"
                        )),
                    };
                    let _ = tx.send(Received {
                        channel: Channel::Sip,
                        source: uri_of(id),
                        subscriber: format!("{name}#sip-{}", id.0),
                        at,
                        carrier: message,
                        alert,
                    });
                }
                SubscriberEvent::Terminated { .. } | SubscriberEvent::Unmatched { .. } => {}
                SubscriberEvent::Violation { what, .. } => {
                    if let Ok(mut v) = violations.lock() {
                        v.push(what);
                    }
                }
            }
        }
    }
}

/// A feed reader's state.
struct FeedPoll {
    subscriber: String,
    http: HttpGet,
    url: String,
    etag: Option<String>,
    known: BTreeSet<String>,
    every: Duration,
    tx: mpsc::UnboundedSender<Received>,
    violations: Arc<Mutex<Vec<String>>>,
}

async fn poll_feed(f: FeedPoll) {
    let FeedPoll {
        subscriber,
        http,
        url,
        mut etag,
        mut known,
        every,
        tx,
        violations,
    } = f;
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let Ok(r) = http
            .get(&url, etag.as_deref(), every.max(Duration::from_secs(2)))
            .await
        else {
            continue;
        };
        if r.status == 304 {
            continue;
        }
        let at = Instant::now();
        if r.status != 200 {
            if let Ok(mut v) = violations.lock() {
                v.push(format!("feed {url} answered {}", r.status));
            }
            continue;
        }
        etag = r.etag.clone();
        // Entries whose alert does not decode are still reported, with why.
        match Feed::parse(r.body.as_bytes()) {
            Ok(feed) => {
                for e in feed.entries {
                    if known.insert(e.id.clone()) {
                        let _ = tx.send(Received {
                            channel: Channel::Http,
                            source: url.clone(),
                            subscriber: subscriber.clone(),
                            at,
                            carrier: e.alert.to_xml_element(),
                            alert: Ok(e.alert),
                        });
                    }
                }
            }
            Err(err) => {
                let id = format!("unparseable-{}", etag.clone().unwrap_or_default());
                if known.insert(id) {
                    let _ = tx.send(Received {
                        channel: Channel::Http,
                        source: url.clone(),
                        subscriber: subscriber.clone(),
                        at,
                        carrier: r.body.clone(),
                        alert: Err(format!("the feed does not parse: {err}")),
                    });
                }
            }
        }
    }
}
