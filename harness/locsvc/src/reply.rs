//! What a service answers, independent of HTTP.

use std::time::Duration;

/// One HTTP answer of the LIS or ECRF, before it is put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceReply {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type` (`None`: no body type, e.g. an empty 404).
    pub content_type: Option<&'static str>,
    /// The body.
    pub body: String,
    /// Wait this long before answering (the `*-slow` faults).
    pub delay: Duration,
}

impl ServiceReply {
    /// A 200 answer with `body` of type `content_type`.
    pub fn ok(content_type: &'static str, body: String) -> Self {
        ServiceReply {
            status: 200,
            content_type: Some(content_type),
            body,
            delay: Duration::ZERO,
        }
    }

    /// An answer with status `status`.
    pub fn status(status: u16, content_type: Option<&'static str>, body: String) -> Self {
        ServiceReply {
            status,
            content_type,
            body,
            delay: Duration::ZERO,
        }
    }
}
