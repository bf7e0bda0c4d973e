//! The transferor's HTTP client (hyper-util legacy client, plain HTTP).

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::{HttpConnector, HttpInfo};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::log::header_pairs;
use super::{HttpLog, HttpRecord, ServicePaths, MAX_BODY};
use crate::checks::JSON_CONTENT_TYPE;
use crate::transferee::Service;
use crate::transferor::{OutgoingRequest, ReceivedResponse};
use crate::TransferError;

/// Sends the transferor's requests to one transferee.
#[derive(Debug, Clone)]
pub struct TransferClient {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    paths: ServicePaths,
    log: HttpLog,
    max_body: usize,
}

impl TransferClient {
    /// A client for the transferee at `base_url` (e.g. `http://127.0.0.1:8080`; `https` is
    /// not supported yet); every message goes into `log`.
    pub fn new(base_url: &str, paths: ServicePaths, log: HttpLog) -> Result<Self, TransferError> {
        paths.check()?;
        let base = base_url.trim_end_matches('/').to_string();
        let uri: Uri = base
            .parse()
            .map_err(|e| TransferError::Config(format!("base URL {base_url:?}: {e}")))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(TransferError::Config(format!(
                "base URL {base_url:?} must be http://host[:port] (HTTPS is not supported yet)"
            )));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Self {
            client,
            base,
            paths,
            log,
            max_body: MAX_BODY,
        })
    }

    /// Changes the largest response body accepted (default [`MAX_BODY`]).
    pub fn set_max_body(&mut self, max_body: usize) {
        self.max_body = max_body;
    }

    /// The shared message log.
    pub fn log(&self) -> &HttpLog {
        &self.log
    }

    /// The URL of `service`.
    pub fn url(&self, service: Service) -> String {
        format!("{}{}", self.base, self.paths.path(service))
    }

    /// Sends a request of the [`crate::transferor::Transferor`], waiting until its
    /// `wait_until` at most.
    pub async fn send(&self, req: &OutgoingRequest) -> Result<ReceivedResponse, TransferError> {
        let timeout = req.wait_until.saturating_duration_since(Instant::now());
        self.send_body(req.service, JSON_CONTENT_TYPE, req.body.clone(), timeout)
            .await
    }

    /// Sends any body (also a deliberately invalid one) to `service` with `content_type`,
    /// waiting `timeout` at most for the whole exchange.
    pub async fn send_body(
        &self,
        service: Service,
        content_type: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<ReceivedResponse, TransferError> {
        let url = self.url(service);
        let uri: Uri = url
            .parse()
            .map_err(|e| TransferError::Config(format!("URL {url:?}: {e}")))?;
        let host = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let request = Request::builder()
            .method(Method::POST)
            .uri(uri.clone())
            .header(HOST, host)
            .header(CONTENT_TYPE, content_type)
            .header(CONTENT_LENGTH, body.len())
            .body(Full::new(Bytes::from(body.clone())))
            .map_err(|e| TransferError::Config(format!("request: {e}")))?;
        let dst: Option<SocketAddr> = uri.authority().and_then(|a| a.as_str().parse().ok());
        let index = self.log.record(HttpRecord {
            at: SystemTime::now(),
            src: None,
            dst,
            start_line: format!("POST {} HTTP/1.1", uri.path()),
            headers: header_pairs(request.headers()),
            body,
            note: "transferor: sent".into(),
        });
        let exchange = async {
            let resp = self
                .client
                .request(request)
                .await
                .map_err(|e| TransferError::Transport(error_chain(&e)))?;
            let info = resp.extensions().get::<HttpInfo>().cloned();
            let (parts, body) = resp.into_parts();
            let bytes = match Limited::new(body, self.max_body).collect().await {
                Ok(c) => c.to_bytes().to_vec(),
                Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
                    return Err(TransferError::BodyTooLarge {
                        size: self.max_body,
                        limit: self.max_body,
                    })
                }
                Err(e) => {
                    return Err(TransferError::Transport(format!(
                        "reading the response body: {e}"
                    )))
                }
            };
            Ok((parts, bytes, info))
        };
        let result = tokio::time::timeout(timeout, exchange).await;
        let (parts, bytes, info) = match result {
            Err(_) => {
                self.log.update(index, |r| {
                    r.note
                        .push_str(&format!("; no complete response within {timeout:?}"))
                });
                return Err(TransferError::Timeout(timeout));
            }
            Ok(Err(e)) => {
                let text = e.to_string();
                self.log
                    .update(index, |r| r.note.push_str(&format!("; failed: {text}")));
                return Err(e);
            }
            Ok(Ok(x)) => x,
        };
        if let Some(info) = &info {
            let (local, remote) = (info.local_addr(), info.remote_addr());
            self.log.update(index, |r| {
                r.src = Some(local);
                r.dst = Some(remote);
            });
        }
        let status = parts.status.as_u16();
        self.log.record(HttpRecord {
            at: SystemTime::now(),
            src: info.as_ref().map(HttpInfo::remote_addr).or(dst),
            dst: info.as_ref().map(HttpInfo::local_addr),
            start_line: format!(
                "{:?} {} {}",
                parts.version,
                status,
                parts.status.canonical_reason().unwrap_or("")
            ),
            headers: header_pairs(&parts.headers),
            body: bytes.clone(),
            note: "transferor: received".into(),
        });
        Ok(ReceivedResponse {
            status,
            content_type: parts
                .headers
                .get(CONTENT_TYPE)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
            body: bytes,
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
