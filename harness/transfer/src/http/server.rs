//! The transferee's HTTP server: axum routes served by hyper with read timeouts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Extension, Router};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

use super::log::header_pairs;
use super::{reason_phrase, HttpLog, HttpRecord, ServicePaths, DEFAULT_READ_TIMEOUT, MAX_BODY};
use crate::transferee::{
    Reply, RequestId, Service, Transferee, TransfereeAction, TransfereeOutput,
};
use crate::{TransferError, Violation};

/// Configuration of a [`TransfereeServer`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// URL paths of the two services.
    pub paths: ServicePaths,
    /// Largest request body accepted (413 beyond).
    pub max_body: usize,
    /// Time allowed for a request's headers, also the keep-alive idle limit (slowloris);
    /// the connection is closed when it passes.
    pub header_timeout: Duration,
    /// Time allowed for a request's body once its headers arrived (408 when it passes).
    pub body_timeout: Duration,
    /// 6.3.3: an abandoned execution request gets no response; the exchange is held open
    /// this long (normally the transferor gives up first) and then closed with a 503.
    pub abandon_hold: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            paths: ServicePaths::default(),
            max_body: MAX_BODY,
            header_timeout: DEFAULT_READ_TIMEOUT,
            body_timeout: DEFAULT_READ_TIMEOUT,
            abandon_hold: Duration::from_secs(60),
        }
    }
}

/// What the server reports besides responses.
#[derive(Debug, Clone, PartialEq)]
pub enum TransfereeEvent {
    /// Something for the PSAP role (e.g. send `start|transfer/265`).
    Action(TransfereeAction),
    /// The transferor deviated from TS 103 698.
    Violation(Violation),
    /// A request rejected at the HTTP level before reaching the machine (wrong method or
    /// path, oversized or slow body, ...).
    BadInput {
        /// The service, if the path was one of them.
        service: Option<Service>,
        /// The HTTP status sent.
        status: u16,
        /// What was wrong.
        detail: String,
    },
}

#[derive(Debug, Clone, Copy)]
struct Peer {
    remote: SocketAddr,
    local: SocketAddr,
}

type Waiting = HashMap<RequestId, oneshot::Sender<Option<Reply>>>;

struct Shared {
    machine: Mutex<Transferee>,
    waiting: Mutex<Waiting>,
    next_id: AtomicU64,
    events: mpsc::UnboundedSender<TransfereeEvent>,
    log: HttpLog,
    cfg: ServerConfig,
    timer_wake: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    /// Routes the machine's outputs; called with the machine locked.
    fn pump(&self, m: &mut Transferee) {
        while let Some(out) = m.poll_output() {
            match out {
                TransfereeOutput::Respond { request, reply } => {
                    if let Some(tx) = lock(&self.waiting).remove(&request) {
                        let _ = tx.send(Some(reply));
                    }
                }
                TransfereeOutput::Abandon { request } => {
                    if let Some(tx) = lock(&self.waiting).remove(&request) {
                        let _ = tx.send(None);
                    }
                }
                TransfereeOutput::Action(a) => {
                    let _ = self.events.send(TransfereeEvent::Action(a));
                }
                TransfereeOutput::Violation(v) => {
                    let _ = self.events.send(TransfereeEvent::Violation(v));
                }
            }
        }
        self.timer_wake.notify_one();
    }
}

/// The transferee web service over HTTP: `POST` on the two [`ServicePaths`].
pub struct TransfereeServer {
    local: SocketAddr,
    shared: Arc<Shared>,
    events: mpsc::UnboundedReceiver<TransfereeEvent>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for TransfereeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransfereeServer")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl TransfereeServer {
    /// Binds `addr` (port 0: any) and serves `machine`; every message goes into `log`.
    pub async fn bind(
        addr: SocketAddr,
        machine: Transferee,
        cfg: ServerConfig,
        log: HttpLog,
    ) -> Result<Self, TransferError> {
        cfg.paths.check()?;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| TransferError::Server(format!("bind {addr}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| TransferError::Server(format!("local address: {e}")))?;
        let (tx, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            machine: Mutex::new(machine),
            waiting: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            events: tx,
            log,
            cfg,
            timer_wake: Notify::new(),
        });
        let neg = shared.cfg.paths.path(Service::Negotiation);
        let exe = shared.cfg.paths.path(Service::Execution);
        let router: Router = Router::new()
            .route(
                &neg,
                any(|s: State<Arc<Shared>>, p: Extension<Peer>, r: Request| {
                    handle(s, p, r, Some(Service::Negotiation))
                }),
            )
            .route(
                &exe,
                any(|s: State<Arc<Shared>>, p: Extension<Peer>, r: Request| {
                    handle(s, p, r, Some(Service::Execution))
                }),
            )
            .fallback(|s: State<Arc<Shared>>, p: Extension<Peer>, r: Request| handle(s, p, r, None))
            .with_state(shared.clone());
        let header_timeout = shared.cfg.header_timeout;
        let accept = tokio::spawn(async move {
            loop {
                let (stream, remote) = match listener.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::warn!(%e, "transferee accept failed");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let svc = TowerToHyperService::new(
                    router.clone().layer(Extension(Peer { remote, local })),
                );
                tokio::spawn(async move {
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_timeout)
                        .serve_connection(TokioIo::new(stream), svc);
                    if let Err(e) = conn.await {
                        tracing::debug!(%e, %remote, "transferee connection ended with an error");
                    }
                });
            }
        });
        let timer_shared = shared.clone();
        let timers = tokio::spawn(async move {
            loop {
                let next = lock(&timer_shared.machine).poll_timeout();
                match next {
                    Some(at) => {
                        tokio::select! {
                            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(at)) => {}
                            _ = timer_shared.timer_wake.notified() => continue,
                        }
                    }
                    None => {
                        timer_shared.timer_wake.notified().await;
                        continue;
                    }
                }
                let mut m = lock(&timer_shared.machine);
                m.handle_timeout(Instant::now());
                timer_shared.pump(&mut m);
            }
        });
        Ok(Self {
            local,
            shared,
            events,
            tasks: vec![accept, timers],
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
    /// `http://{local_addr}`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local)
    }
    /// The shared message log.
    pub fn log(&self) -> &HttpLog {
        &self.shared.log
    }
    /// The next event, waiting for one.
    pub async fn next_event(&mut self) -> Option<TransfereeEvent> {
        self.events.recv().await
    }
    /// The next event, if one is ready.
    pub fn try_next_event(&mut self) -> Option<TransfereeEvent> {
        self.events.try_recv().ok()
    }
    /// Runs `f` on the machine (e.g. to change faults or policy), then routes its outputs.
    pub fn with_machine<R>(&self, f: impl FnOnce(&mut Transferee) -> R) -> R {
        let mut m = lock(&self.shared.machine);
        let r = f(&mut m);
        self.shared.pump(&mut m);
        r
    }
    /// Stops accepting and stops the timers (open connections end on their own).
    pub fn shutdown(self) {}
}

impl Drop for TransfereeServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn text_response(status: u16, text: String) -> (u16, &'static str, Vec<u8>) {
    (status, "text/plain; charset=utf-8", text.into_bytes())
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Extension(peer): Extension<Peer>,
    req: Request,
    service: Option<Service>,
) -> Response {
    let (parts, body) = req.into_parts();
    let start_line = format!("{} {} {:?}", parts.method, parts.uri, parts.version);
    let headers = header_pairs(&parts.headers);
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut record = HttpRecord {
        at: SystemTime::now(),
        src: Some(peer.remote),
        dst: Some(peer.local),
        start_line,
        headers,
        body: Vec::new(),
        note: "transferee: received".into(),
    };
    let body = tokio::time::timeout(
        shared.cfg.body_timeout,
        Limited::new(body, shared.cfg.max_body).collect(),
    )
    .await;
    let rejected = match body {
        Err(_) => Some(text_response(
            408,
            format!(
                "request body not received within {:?}",
                shared.cfg.body_timeout
            ),
        )),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Some(text_response(
            413,
            format!("request body exceeds {} bytes", shared.cfg.max_body),
        )),
        Ok(Err(e)) => Some(text_response(
            400,
            format!("request body could not be read: {e}"),
        )),
        Ok(Ok(c)) => {
            record.body = c.to_bytes().to_vec();
            None
        }
    };
    let rejected = rejected.or_else(|| match service {
        None => Some(text_response(
            404,
            format!(
                "no such service; use POST {} or POST {}",
                shared.cfg.paths.path(Service::Negotiation),
                shared.cfg.paths.path(Service::Execution)
            ),
        )),
        Some(_) if parts.method != Method::POST => Some(text_response(
            405,
            format!("method {} not allowed; use POST", parts.method),
        )),
        Some(_) => None,
    });
    let index = shared.log.record(record.clone());
    if let Some((status, ct, body)) = rejected {
        let detail = String::from_utf8_lossy(&body).into_owned();
        let _ = shared.events.send(TransfereeEvent::BadInput {
            service,
            status,
            detail,
        });
        return respond(&shared, peer, status, ct, body, status == 405);
    }
    let Some(service) = service else {
        return respond(&shared, peer, 500, "text/plain", Vec::new(), false);
    };
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = oneshot::channel();
    lock(&shared.waiting).insert(id, tx);
    {
        let mut m = lock(&shared.machine);
        m.handle_request(
            Instant::now(),
            id,
            service,
            content_type.as_deref(),
            &record.body,
        );
        shared.pump(&mut m);
    }
    match rx.await {
        Ok(Some(reply)) => respond(
            &shared,
            peer,
            reply.status,
            reply.content_type,
            reply.body,
            false,
        ),
        Ok(None) => {
            shared.log.update(index, |r| {
                r.note.push_str(
                    "; transfer not continued after the request's ExpiryTime (6.3.3): no response",
                )
            });
            tokio::time::sleep(shared.cfg.abandon_hold).await;
            respond(
                &shared,
                peer,
                503,
                "text/plain; charset=utf-8",
                b"execution request expired (6.3.3)".to_vec(),
                false,
            )
        }
        Err(_) => respond(
            &shared,
            peer,
            500,
            "text/plain; charset=utf-8",
            b"harness error: request dropped".to_vec(),
            false,
        ),
    }
}

fn respond(
    shared: &Shared,
    peer: Peer,
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    allow: bool,
) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = vec![
        (CONTENT_TYPE.as_str().to_string(), content_type.to_string()),
        (CONTENT_LENGTH.as_str().to_string(), body.len().to_string()),
    ];
    if allow {
        headers.push((ALLOW.as_str().to_string(), "POST".into()));
    }
    shared.log.record(HttpRecord {
        at: SystemTime::now(),
        src: Some(peer.local),
        dst: Some(peer.remote),
        start_line: format!(
            "HTTP/1.1 {} {}",
            code.as_u16(),
            reason_phrase(code.as_u16())
        ),
        headers,
        body: body.clone(),
        note: "transferee: sent".into(),
    });
    let mut resp = (code, [(CONTENT_TYPE, content_type)], Body::from(body)).into_response();
    if allow {
        resp.headers_mut()
            .insert(ALLOW, axum::http::HeaderValue::from_static("POST"));
    }
    resp
}
