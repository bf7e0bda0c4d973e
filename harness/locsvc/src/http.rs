//! The HTTP binding: the ECRF on `POST /lost` (`application/lost+xml`), the LIS on
//! `POST /held` and its location URIs on `POST /loc/<token>` (`application/held+xml`), every
//! HTTP message recorded in an [`HttpLog`]. The only module here that does I/O.
//!
//! When the ECRF recurses ([`crate::EcrfStep::Recurse`], RFC 5222 8.3.3) the server POSTs the
//! forwarded findService to the peer with a [`LocClient`] (bounded by
//! [`crate::EcrfConfig::recursion_timeout`] and [`crate::client::MAX_ANSWER`]), records that
//! exchange in the same log with the note [`PEER_NOTE`], and answers with
//! [`crate::Ecrf::recursed`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri, Version};
use axum::response::Response;
use axum::Router;
use lmpe_location::{MIME_HELD, MIME_LOST};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::client::LocClient;
use crate::{
    Ecrf, EcrfStep, HttpDirection, HttpLog, HttpRecord, Lis, LocsvcError, RecurseFailure,
    Recursion, ServiceReply,
};

/// [`HttpRecord::note`] of the ECRF's own request to a peer LoST server and of the peer's
/// answer (a failed exchange: the note followed by `: <why>`).
pub const PEER_NOTE: &str = "ECRF -> peer";

/// The services behind one HTTP server (either may be absent: 404).
#[derive(Debug, Default)]
pub struct LocServices {
    /// The ECRF, on `/lost`.
    pub ecrf: Option<Ecrf>,
    /// The LIS, on `/held` and `/loc/<token>`.
    pub lis: Option<Lis>,
}

type Shared = Arc<Mutex<LocServices>>;

fn lock(s: &Shared) -> MutexGuard<'_, LocServices> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Clone)]
struct AppState {
    services: Shared,
    log: HttpLog,
    local: SocketAddr,
    peer_client: LocClient,
}

/// A running LIS/ECRF HTTP server; stops when dropped.
#[derive(Debug)]
pub struct HttpServer {
    local: SocketAddr,
    log: HttpLog,
    services: Shared,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl HttpServer {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// `http://<address><path>`, e.g. `url("/lost")`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.local)
    }

    /// The HTTP message log.
    pub fn log(&self) -> &HttpLog {
        &self.log
    }

    /// Runs `f` on the services (to switch faults on, say).
    pub fn with_services<R>(&self, f: impl FnOnce(&mut LocServices) -> R) -> R {
        f(&mut lock(&self.services))
    }

    /// Stops accepting connections and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `addr` (port 0: any free port) and serves `services` until the returned server is
/// shut down or dropped. The LIS's location URIs are based on the bound address. Must be
/// called within a tokio runtime.
pub async fn serve(addr: SocketAddr, mut services: LocServices) -> Result<HttpServer, LocsvcError> {
    let bind_err = |source| LocsvcError::Bind { addr, source };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(bind_err)?;
    let local = listener.local_addr().map_err(bind_err)?;
    if let Some(lis) = services.lis.as_mut() {
        lis.set_base_url(&format!("http://{local}"));
    }
    let log = HttpLog::default();
    let services: Shared = Arc::new(Mutex::new(services));
    let state = AppState {
        services: services.clone(),
        peer_client: LocClient::new(log.clone(), PEER_NOTE),
        log: log.clone(),
        local,
    };
    let router = Router::new().fallback(handle).with_state(state);
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await;
        if let Err(e) = served {
            tracing::warn!("LIS/ECRF HTTP server on {local} stopped: {e}");
        }
    });
    Ok(HttpServer {
        local,
        log,
        services,
        shutdown: Some(tx),
        task,
    })
}

fn header_list(h: &HeaderMap) -> Vec<(String, String)> {
    h.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn media_type(h: &HeaderMap) -> String {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The service a path belongs to, for [`HttpRecord::note`].
fn service_name(path: &str) -> &'static str {
    if path == "/lost" {
        "ECRF"
    } else if path == "/held" || path.starts_with("/loc/") {
        "LIS"
    } else {
        "locsvc"
    }
}

/// Routes one request to the sans-IO service: the answer, or an ECRF recursion step.
fn dispatch(
    st: &AppState,
    method: &Method,
    path: &str,
    ctype: &str,
    body: &[u8],
    peer: SocketAddr,
) -> EcrfStep {
    let reply = EcrfStep::Reply;
    let not_found = || reply(ServiceReply::status(404, None, String::new()));
    if method != Method::POST {
        return reply(ServiceReply::status(405, None, String::new()));
    }
    let mut s = lock(&st.services);
    if path == "/lost" {
        let Some(ecrf) = s.ecrf.as_ref() else {
            return not_found();
        };
        if ctype != MIME_LOST {
            return reply(ServiceReply::status(415, None, String::new()));
        }
        return ecrf.step(body);
    }
    if path == "/held" || path.starts_with("/loc/") {
        let Some(lis) = s.lis.as_mut() else {
            return not_found();
        };
        // A dereference may come without a body (and so without a type).
        if ctype != MIME_HELD && !(path.starts_with("/loc/") && body.is_empty()) {
            return reply(ServiceReply::status(415, None, String::new()));
        }
        return reply(lis.handle(path, body, peer.ip()));
    }
    not_found()
}

/// Performs an ECRF recursion step: POSTs the forwarded findService to the peer and lets the
/// ECRF answer from the outcome.
async fn recurse(st: &AppState, r: &Recursion) -> ServiceReply {
    let outcome = st
        .peer_client
        .post(&r.url, MIME_LOST, r.body.clone().into_bytes(), r.timeout)
        .await
        .map(|resp| (resp.status, resp.body))
        .map_err(|e| match e {
            LocsvcError::Timeout { .. } => RecurseFailure::Timeout,
            LocsvcError::Http { ref reason, .. } if crate::client::is_too_large(reason) => {
                RecurseFailure::BadAnswer(e.to_string())
            }
            other => RecurseFailure::Unreachable(other.to_string()),
        });
    let s = lock(&st.services);
    match s.ecrf.as_ref() {
        Some(ecrf) => ecrf.recursed(r, outcome),
        None => ServiceReply::status(404, None, String::new()),
    }
}

async fn handle(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    version: Version,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    st.log.push(HttpRecord {
        at: SystemTime::now(),
        instant: Instant::now(),
        src: peer,
        dst: st.local,
        direction: HttpDirection::Request,
        start_line: format!("{method} {uri} {version:?}"),
        headers: header_list(&headers),
        body: String::from_utf8_lossy(&body).into_owned(),
        note: service_name(uri.path()).into(),
    });
    let reply = match dispatch(&st, &method, uri.path(), &media_type(&headers), &body, peer) {
        EcrfStep::Reply(r) => r,
        EcrfStep::Recurse(r) => recurse(&st, &r).await,
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_LENGTH, reply.body.len());
    if let Some(t) = reply.content_type {
        builder = builder.header(header::CONTENT_TYPE, t);
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        builder = builder.header(header::ALLOW, "POST");
    }
    let response = builder
        .body(Body::from(reply.body.clone()))
        .unwrap_or_else(|_| {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            r
        });
    st.log.push(HttpRecord {
        at: SystemTime::now(),
        instant: Instant::now(),
        src: st.local,
        dst: peer,
        direction: HttpDirection::Response,
        start_line: format!(
            "{version:?} {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        ),
        headers: header_list(response.headers()),
        body: reply.body,
        note: service_name(uri.path()).into(),
    });
    response
}
