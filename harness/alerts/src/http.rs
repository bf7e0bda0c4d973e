//! A small HTTP/1.1 client: `GET` with `If-None-Match` (feed polling) and `POST` of a CAP
//! alert (the originator). Bounded: each exchange has a timeout, each answer a size limit.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, ETAG, HOST, IF_NONE_MATCH};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Largest answer accepted (4 MiB).
pub const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// `ETag`, if any.
    pub etag: Option<String>,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Body (lossy UTF-8).
    pub body: String,
}

/// The client (cheap to clone; keeps connections alive for polling).
#[derive(Debug, Clone)]
pub struct HttpGet {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for HttpGet {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpGet {
    /// A client.
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(3)));
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// `GET url`, conditional on `etag`.
    pub async fn get(
        &self,
        url: &str,
        etag: Option<&str>,
        timeout: Duration,
    ) -> Result<Answer, String> {
        self.exchange(Method::GET, url, etag, None, timeout).await
    }

    /// `POST url` with `body` of type `content_type`.
    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Answer, String> {
        self.exchange(Method::POST, url, None, Some((content_type, body)), timeout)
            .await
    }

    async fn exchange(
        &self,
        method: Method,
        url: &str,
        etag: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
        timeout: Duration,
    ) -> Result<Answer, String> {
        let uri: Uri = url.parse().map_err(|e| format!("bad URL {url:?}: {e}"))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(format!(
                "{url:?}: only http://host:port/… URLs are supported"
            ));
        }
        let host = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header(HOST, host);
        if let Some(e) = etag {
            b = b.header(IF_NONE_MATCH, e);
        }
        let request = match body {
            Some((ct, bytes)) => b
                .header(CONTENT_TYPE, ct)
                .body(Full::new(Bytes::from(bytes))),
            None => b.body(Full::new(Bytes::new())),
        }
        .map_err(|e| format!("request: {e}"))?;
        let exchange = async {
            let resp = self
                .client
                .request(request)
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            let (parts, body) = resp.into_parts();
            let bytes = Limited::new(body, MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| format!("{url}: answer body: {e}"))?
                .to_bytes();
            let header = |name| {
                parts
                    .headers
                    .get(name)
                    .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
                    .map(str::to_owned)
            };
            Ok(Answer {
                status: parts.status.as_u16(),
                etag: header(ETAG),
                content_type: header(CONTENT_TYPE),
                body: String::from_utf8_lossy(&bytes).into_owned(),
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| format!("{url}: no answer in {timeout:?}"))?
    }
}
