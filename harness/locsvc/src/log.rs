//! The HTTP message log shared with the conformance report's ladder.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

/// Request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpDirection {
    /// A request received by the LIS/ECRF.
    Request,
    /// A response it sent.
    Response,
}

/// One HTTP message as it crossed the wire (headers as received or as sent; the response's
/// `date` header added by the server is not shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRecord {
    /// When it was received or sent (wall clock).
    pub at: SystemTime,
    /// The same moment on the monotonic clock, to merge with the SIP ladder's
    /// `WireRecord::at`.
    pub instant: Instant,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Request or response.
    pub direction: HttpDirection,
    /// Request line (`POST /lost HTTP/1.1`) or status line (`HTTP/1.1 200 OK`).
    pub start_line: String,
    /// Header fields in order.
    pub headers: Vec<(String, String)>,
    /// The body (lossy UTF-8).
    pub body: String,
    /// Which service handled it: `ECRF`, `LIS` or `locsvc` (no service matched).
    pub note: String,
}

impl HttpRecord {
    /// The message as text: start line, headers, blank line, body.
    pub fn to_text(&self) -> String {
        let mut s = format!("{}\r\n", self.start_line);
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.push_str(&self.body);
        s
    }
}

/// A shared, append-only log of HTTP messages (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct HttpLog(Arc<Mutex<Vec<HttpRecord>>>);

impl HttpLog {
    fn lock(&self) -> MutexGuard<'_, Vec<HttpRecord>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends a record.
    pub fn push(&self, r: HttpRecord) {
        self.lock().push(r);
    }

    /// A copy of every record so far.
    pub fn records(&self) -> Vec<HttpRecord> {
        self.lock().clone()
    }

    /// Removes and returns every record so far.
    pub fn take(&self) -> Vec<HttpRecord> {
        std::mem::take(&mut *self.lock())
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was logged.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
