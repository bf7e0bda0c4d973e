//! The shared record of every HTTP message exchanged, for the report's message ladder.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// One HTTP message (request or response) as sent or received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRecord {
    /// When it was sent or received.
    pub at: SystemTime,
    /// Sender's socket address (None when unknown, e.g. a request whose connection failed).
    pub src: Option<SocketAddr>,
    /// Receiver's socket address (None when unknown).
    pub dst: Option<SocketAddr>,
    /// `POST /chatTransferNegotiation HTTP/1.1` or `HTTP/1.1 202 Accepted`.
    pub start_line: String,
    /// Header fields in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Who recorded it and anything notable (e.g. `transferor: timed out`).
    pub note: String,
}

impl HttpRecord {
    /// Whether this is a request (its start line does not begin with `HTTP/`).
    pub fn is_request(&self) -> bool {
        !self.start_line.starts_with("HTTP/")
    }
    /// The message as text (start line, headers, blank line, body lossily decoded).
    pub fn to_text(&self) -> String {
        let mut s = format!("{}\r\n", self.start_line);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.push_str(&String::from_utf8_lossy(&self.body));
        s
    }
}

/// A log shared by the server, the client and the report (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct HttpLog(Arc<Mutex<Vec<HttpRecord>>>);

impl HttpLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }
    fn lock(&self) -> MutexGuard<'_, Vec<HttpRecord>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    /// Appends a record; returns its index.
    pub fn record(&self, record: HttpRecord) -> usize {
        let mut v = self.lock();
        v.push(record);
        v.len() - 1
    }
    /// Changes record `index` (no-op if it was taken meanwhile).
    pub fn update(&self, index: usize, f: impl FnOnce(&mut HttpRecord)) {
        if let Some(r) = self.lock().get_mut(index) {
            f(r);
        }
    }
    /// A copy of all records.
    pub fn records(&self) -> Vec<HttpRecord> {
        self.lock().clone()
    }
    /// Takes all records, leaving the log empty.
    pub fn take(&self) -> Vec<HttpRecord> {
        std::mem::take(&mut *self.lock())
    }
    /// Number of records.
    pub fn len(&self) -> usize {
        self.lock().len()
    }
    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

pub(crate) fn header_pairs(headers: &hyper::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}
