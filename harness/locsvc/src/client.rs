//! A small HTTP/1.1 client for HELD and LoST (`POST` with a body, plain `http://` URLs), every
//! message recorded in an [`HttpLog`] (requests as [`HttpDirection::Request`], answers as
//! [`HttpDirection::Response`]). Bounded: a whole exchange has a timeout, an answer body a
//! size limit.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::{HttpConnector, HttpInfo};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::{HttpDirection, HttpLog, HttpRecord, LocsvcError};

/// Largest answer body accepted (4 MiB).
pub const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// The start of the `reason` of a [`LocsvcError::Http`] when the answer exceeded
/// [`MAX_ANSWER`].
const TOO_LARGE: &str = "answer larger than";

/// Whether the `reason` of a [`LocsvcError::Http`] says the answer was larger than [`MAX_ANSWER`].
pub(crate) fn is_too_large(reason: &str) -> bool {
    reason.starts_with(TOO_LARGE)
}

/// One HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientResponse {
    /// Status code.
    pub status: u16,
    /// `Content-Type` as received.
    pub content_type: Option<String>,
    /// The body (lossy UTF-8).
    pub body: String,
    /// How long the exchange took.
    pub elapsed: Duration,
}

/// The client (cheap to clone).
#[derive(Debug, Clone)]
pub struct LocClient {
    client: Client<HttpConnector, Full<Bytes>>,
    log: HttpLog,
    note: String,
}

impl LocClient {
    /// A client recording into `log`, each record noted with `note` (e.g. `ESRP -> ECRF`).
    pub fn new(log: HttpLog, note: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(3)));
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        Self {
            client,
            log,
            note: note.to_owned(),
        }
    }

    /// The log.
    pub fn log(&self) -> &HttpLog {
        &self.log
    }

    /// `POST url` with `body` of type `content_type`; waits `timeout` at most for the whole
    /// exchange.
    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<ClientResponse, LocsvcError> {
        let http = |reason: String| LocsvcError::Http {
            url: url.to_owned(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|e| http(format!("bad URL: {e}")))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(http("only http://host:port/… URLs are supported".into()));
        }
        let host = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(HOST, host)
            .header(CONTENT_TYPE, content_type)
            .header(CONTENT_LENGTH, body.len())
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| http(format!("request: {e}")))?;
        let dst: SocketAddr = uri
            .authority()
            .and_then(|a| a.as_str().parse().ok())
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        let started = Instant::now();
        let headers: Vec<(String, String)> = request
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut sent = HttpRecord {
            at: SystemTime::now(),
            instant: started,
            src: SocketAddr::from(([127, 0, 0, 1], 0)),
            dst,
            direction: HttpDirection::Request,
            start_line: format!(
                "POST {} HTTP/1.1",
                uri.path_and_query().map_or("/", |p| p.as_str())
            ),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            note: self.note.clone(),
        };
        let exchange = async {
            let resp = self
                .client
                .request(request)
                .await
                .map_err(|e| http(error_chain(&e)))?;
            let info = resp.extensions().get::<HttpInfo>().cloned();
            let (parts, body) = resp.into_parts();
            let bytes = match Limited::new(body, MAX_ANSWER).collect().await {
                Ok(c) => c.to_bytes().to_vec(),
                Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    return Err(http(format!("{TOO_LARGE} {MAX_ANSWER} bytes")))
                }
                Err(e) => return Err(http(format!("reading the answer: {e}"))),
            };
            Ok((parts, bytes, info))
        };
        let result = tokio::time::timeout(timeout, exchange).await;
        let (parts, bytes, info) = match result {
            Err(_) => {
                sent.note
                    .push_str(&format!(": no complete answer within {timeout:?}"));
                self.log.push(sent);
                return Err(LocsvcError::Timeout {
                    url: url.to_owned(),
                    timeout,
                });
            }
            Ok(Err(e)) => {
                sent.note.push_str(&format!(": {e}"));
                self.log.push(sent);
                return Err(e);
            }
            Ok(Ok(x)) => x,
        };
        if let Some(i) = &info {
            sent.src = i.local_addr();
            sent.dst = i.remote_addr();
        }
        let (src, dst) = (sent.dst, sent.src);
        self.log.push(sent);
        let status = parts.status.as_u16();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        self.log.push(HttpRecord {
            at: SystemTime::now(),
            instant: Instant::now(),
            src,
            dst,
            direction: HttpDirection::Response,
            start_line: format!(
                "{:?} {} {}",
                parts.version,
                status,
                parts.status.canonical_reason().unwrap_or("")
            ),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.clone(),
            note: self.note.clone(),
        });
        Ok(ClientResponse {
            status,
            content_type: parts
                .headers
                .get(CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            body,
            elapsed: started.elapsed(),
        })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
