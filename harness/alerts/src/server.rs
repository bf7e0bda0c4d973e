//! The reference alert server: takes CAP alerts from an originator (`POST /alerts`) and
//! distributes each to its distribution points over the three channels: a SIP notifier
//! (resources `alerts-<point>`, event package `common-alerting-protocol`), XMPP
//! publish-subscribe (node `<point>` on a pubsub service, XEP-0127), and an Atom/GeoRSS feed
//! per point (`GET /feeds/<point>.atom`, with `ETag` / `If-None-Match`).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lmpe_net::{spawn_endpoint, EndpointHandle, SipSocketConfig};
use lmpe_proto::events::{Notifier, NotifierConfig, CAP_CONTENT_TYPE, CAP_EVENT_PACKAGE};
use lmpe_warning::cap::Alert;
use lmpe_warning::georss::Feed;
use serde::Serialize;

use crate::route::{strip_element, Channel, Delivery, DistributionPoint, Router};
use crate::{AlertFaults, AlertsError};

/// Media type of the feeds.
pub const ATOM_CONTENT_TYPE: &str = "application/atom+xml";

/// Alerts kept per feed (newest last).
pub const FEED_LENGTH: usize = 50;

/// Something that publishes a pubsub item (the alert server's XMPP side; see
/// [`crate::xmpp::XmppPublisher`]).
pub trait Publisher: Send + Sync + 'static {
    /// Publishes `payload` (an XML element) as item `item_id` on `node`.
    fn publish<'a>(
        &'a self,
        node: &'a str,
        item_id: &'a str,
        payload: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;
}

/// Configuration of an [`AlertServer`].
pub struct AlertServerConfig {
    /// HTTP listener (ingest and feeds).
    pub http_listen: SocketAddr,
    /// SIP listener (notifier, UDP and TCP).
    pub sip_listen: SocketAddr,
    /// The distribution points.
    pub points: Vec<DistributionPoint>,
    /// Deliberate faults.
    pub faults: AlertFaults,
    /// The XMPP side; without it nothing is published over XMPP (and that is reported).
    pub publisher: Option<Arc<dyn Publisher>>,
}

/// What one delivery came to.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryOutcome {
    /// The distribution point.
    pub point: String,
    /// The channel.
    pub channel: Channel,
    /// For SIP, the number of NOTIFYs sent; for XMPP 1 if the publish was confirmed; for
    /// HTTP 1 (the feed has it).
    pub count: usize,
    /// Why not, if it failed.
    pub error: Option<String>,
}

/// The answer to `POST /alerts`, and the server's own record of it.
#[derive(Debug, Clone, Serialize)]
pub struct Published {
    /// The CAP identifier.
    pub identifier: String,
    /// The points the alert belongs to.
    pub points: Vec<String>,
    /// Every delivery made.
    pub deliveries: Vec<DeliveryOutcome>,
    /// Milliseconds from receipt to the last delivery handed over.
    pub elapsed_ms: f64,
}

#[derive(Default)]
struct FeedState {
    /// Per point: the CAP documents (as delivered) with their alerts, newest last.
    entries: Vec<(Alert, String)>,
    version: u64,
}

struct Shared {
    router: Router,
    feeds: Mutex<BTreeMap<String, FeedState>>,
    notifier: EndpointHandle<Notifier>,
    publisher: Option<Arc<dyn Publisher>>,
    published: Mutex<Vec<Published>>,
}

/// A running alert server.
pub struct AlertServer {
    shared: Arc<Shared>,
    http: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for AlertServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertServer")
            .field("http", &self.http)
            .field("sip", &self.shared.notifier.local_addr())
            .finish()
    }
}

impl AlertServer {
    /// Binds the HTTP and SIP listeners and starts serving.
    pub async fn start(cfg: AlertServerConfig) -> Result<AlertServer, AlertsError> {
        let mut ncfg = NotifierConfig::new(cfg.sip_listen, CAP_EVENT_PACKAGE, CAP_CONTENT_TYPE);
        ncfg.accept_any_event = cfg.faults.accepts_any_event;
        let notifier = Notifier::new(ncfg);
        let notifier = spawn_endpoint(notifier, SipSocketConfig::new(cfg.sip_listen))
            .await
            .map_err(|e| AlertsError::Sip(format!("notifier on {}: {e}", cfg.sip_listen)))?;
        let sip = notifier.local_addr();
        let resources: Vec<String> = cfg.points.iter().map(|p| p.sip_resource()).collect();
        notifier
            .with(move |n, _| {
                n.set_local(sip);
                for r in &resources {
                    n.add_resource(r);
                }
            })
            .await
            .map_err(|e| AlertsError::Sip(e.to_string()))?;
        let mut router = Router::new(cfg.points);
        router.set_faults(cfg.faults);
        let feeds = router
            .points()
            .iter()
            .map(|p| (p.id.clone(), FeedState::default()))
            .collect();
        let shared = Arc::new(Shared {
            router,
            feeds: Mutex::new(feeds),
            notifier,
            publisher: cfg.publisher,
            published: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .route("/alerts", post(ingest))
            .route("/feeds/{file}", get(feed))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(cfg.http_listen)
            .await
            .map_err(|source| AlertsError::Listen {
                addr: cfg.http_listen,
                source,
            })?;
        let http = listener
            .local_addr()
            .map_err(|source| AlertsError::Listen {
                addr: cfg.http_listen,
                source,
            })?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(AlertServer { shared, http, task })
    }

    /// The HTTP base URL (`http://ip:port`).
    pub fn http_base(&self) -> String {
        format!("http://{}", self.http)
    }

    /// The ingest URL originators POST CAP alerts to.
    pub fn ingest_url(&self) -> String {
        format!("{}/alerts", self.http_base())
    }

    /// The SIP notifier's address.
    pub fn sip_addr(&self) -> SocketAddr {
        self.shared.notifier.local_addr()
    }

    /// The SIP notifier (its wire log, its subscriptions).
    pub fn notifier(&self) -> &EndpointHandle<Notifier> {
        &self.shared.notifier
    }

    /// Turns the SIP notifier's wire log on or off (a load or a stand-alone deployment keeps
    /// no ladders: the log would hold every SUBSCRIBE and NOTIFY).
    pub async fn set_wire_log(&self, on: bool) -> Result<(), AlertsError> {
        self.shared
            .notifier
            .with(move |n, _| n.set_wire_log(on))
            .await
            .map_err(|e| AlertsError::Sip(format!("the notifier: {e}")))
    }

    /// The distribution points.
    pub fn points(&self) -> &[DistributionPoint] {
        self.shared.router.points()
    }

    /// Every alert published so far, with its deliveries.
    pub fn published(&self) -> Vec<Published> {
        self.shared
            .published
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// Distributes an alert (what `POST /alerts` does).
    pub async fn publish(&self, alert: &Alert) -> Published {
        distribute(&self.shared, alert).await
    }

    /// Stops the HTTP server and the notifier.
    pub async fn shutdown(&self) {
        self.task.abort();
        self.shared.notifier.shutdown().await;
    }
}

impl Drop for AlertServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn distribute(shared: &Arc<Shared>, alert: &Alert) -> Published {
    let started = Instant::now();
    let targets: Vec<String> = shared
        .router
        .targets(alert)
        .iter()
        .map(|p| p.id.clone())
        .collect();
    let deliveries = shared.router.route(alert);
    let mut outcomes = Vec::with_capacity(deliveries.len());
    for d in deliveries {
        outcomes.push(deliver(shared, d).await);
    }
    let published = Published {
        identifier: alert.identifier.clone(),
        points: targets,
        deliveries: outcomes,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    if let Ok(mut p) = shared.published.lock() {
        p.push(published.clone());
    }
    published
}

async fn deliver(shared: &Arc<Shared>, d: Delivery) -> DeliveryOutcome {
    let (point, channel) = (d.point.clone(), d.channel);
    let outcome = |count: usize, error: Option<String>| DeliveryOutcome {
        point: point.clone(),
        channel,
        count,
        error,
    };
    match d.channel {
        Channel::Sip => {
            let resource = format!("alerts-{}", d.point);
            let body = d.xml.into_bytes();
            match shared
                .notifier
                .with(move |n, now| n.notify(now, &resource, &body).len())
                .await
            {
                Ok(n) => outcome(n, None),
                Err(e) => outcome(0, Some(e.to_string())),
            }
        }
        Channel::Xmpp => match &shared.publisher {
            None => outcome(0, Some("no XMPP publisher configured".into())),
            Some(p) => {
                // The item payload is the alert element without XML declaration.
                let payload = d
                    .xml
                    .split_once("?>")
                    .map_or(d.xml.as_str(), |(_, rest)| rest)
                    .trim();
                match p.publish(&d.point, &d.alert.identifier, payload).await {
                    Ok(()) => outcome(1, None),
                    Err(e) => outcome(0, Some(e)),
                }
            }
        },
        Channel::Http => {
            let mut feeds = match shared.feeds.lock() {
                Ok(f) => f,
                Err(p) => p.into_inner(),
            };
            let f = feeds.entry(d.point.clone()).or_default();
            f.entries.push((d.alert, d.xml));
            if f.entries.len() > FEED_LENGTH {
                f.entries.remove(0);
            }
            f.version += 1;
            outcome(1, None)
        }
    }
}

async fn ingest(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match Alert::parse(&body) {
        Ok(alert) => {
            let p = distribute(&shared, &alert).await;
            (StatusCode::ACCEPTED, axum::Json(p)).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("not a valid CAP 1.2 alert: {e}\n"),
        )
            .into_response(),
    }
}

async fn feed(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(id) = file.strip_suffix(".atom") else {
        return (StatusCode::NOT_FOUND, "feeds are /feeds/<point>.atom\n").into_response();
    };
    let (entries, version) = {
        let feeds = match shared.feeds.lock() {
            Ok(f) => f,
            Err(p) => p.into_inner(),
        };
        match feeds.get(id) {
            Some(f) => (f.entries.clone(), f.version),
            None => return (StatusCode::NOT_FOUND, format!("no feed {id:?}\n")).into_response(),
        }
    };
    let etag = format!("\"{id}-{version}\"");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let name = shared
        .router
        .points()
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let invalid = shared.router.faults().invalid_cap;
    let feed = Feed::from_alerts(
        &format!("urn:lmpe-harness:feed:{id}"),
        &name,
        entries.into_iter().map(|(a, _)| a),
    );
    let mut xml = feed.to_xml();
    if invalid {
        // The fault: every carried alert loses its <sent>.
        while xml.contains("<sent>") {
            let next = strip_element(&xml, "sent");
            if next == xml {
                break;
            }
            xml = next;
        }
    }
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, ATOM_CONTENT_TYPE.to_owned()),
            (header::ETAG, etag),
        ],
        xml,
    )
        .into_response()
}
