//! Byte-exact builders for outgoing messages.
//!
//! Builders never reorder or normalise what they are given, so the harness can also emit
//! deliberately malformed messages (wrong Content-Length, duplicate headers, broken values).

use super::addr::NameAddr;
use super::message::{Header, Method, SipMessage, StartLine};
use super::via::Via;

/// How the builder writes Content-Length.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ContentLength {
    /// Computed from the body (the default).
    Auto,
    /// Written verbatim (for malformed messages).
    Verbatim(String),
    /// Left out.
    Omit,
}

/// Builds a request.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    method: Method,
    uri: String,
    headers: Vec<Header>,
    body: Vec<u8>,
    content_length: ContentLength,
}

impl RequestBuilder {
    /// Starts a request line `method uri SIP/2.0`.
    pub fn new(method: Method, uri: impl Into<String>) -> Self {
        Self {
            method,
            uri: uri.into(),
            headers: Vec::with_capacity(16),
            body: Vec::new(),
            content_length: ContentLength::Auto,
        }
    }

    /// Appends any header line verbatim.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push(Header {
            name: name.to_string(),
            value: value.into(),
        });
        self
    }

    /// Appends a Via.
    pub fn via(self, via: &Via) -> Self {
        self.header("Via", via.to_string())
    }

    /// Appends From.
    pub fn from(self, from: &NameAddr) -> Self {
        self.header("From", from.to_string())
    }

    /// Appends To.
    pub fn to(self, to: &NameAddr) -> Self {
        self.header("To", to.to_string())
    }

    /// Appends Call-ID.
    pub fn call_id(self, id: &str) -> Self {
        self.header("Call-ID", id)
    }

    /// Appends CSeq with this request's method.
    pub fn cseq(self, seq: u32) -> Self {
        let v = format!("{seq} {}", self.method);
        self.header("CSeq", v)
    }

    /// Appends Max-Forwards.
    pub fn max_forwards(self, n: u32) -> Self {
        self.header("Max-Forwards", n.to_string())
    }

    /// Sets the body and appends its Content-Type.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self.header("Content-Type", content_type)
    }

    /// Writes this Content-Length value instead of the computed one (malformed on purpose).
    pub fn content_length_verbatim(mut self, value: impl Into<String>) -> Self {
        self.content_length = ContentLength::Verbatim(value.into());
        self
    }

    /// Leaves Content-Length out.
    pub fn without_content_length(mut self) -> Self {
        self.content_length = ContentLength::Omit;
        self
    }

    /// The message.
    pub fn build(self) -> SipMessage {
        finish(
            StartLine::Request {
                method: self.method,
                uri: self.uri,
            },
            self.headers,
            self.body,
            self.content_length,
        )
    }
}

fn finish(
    start: StartLine,
    mut headers: Vec<Header>,
    body: Vec<u8>,
    cl: ContentLength,
) -> SipMessage {
    match cl {
        ContentLength::Auto => headers.push(Header {
            name: "Content-Length".into(),
            value: body.len().to_string(),
        }),
        ContentLength::Verbatim(v) => headers.push(Header {
            name: "Content-Length".into(),
            value: v,
        }),
        ContentLength::Omit => {}
    }
    SipMessage {
        start,
        headers,
        body,
    }
}

/// Builds a response to a request (RFC 3261 8.2.6.2: Via, From, To, Call-ID and CSeq copied).
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    code: u16,
    reason: String,
    headers: Vec<Header>,
    body: Vec<u8>,
    content_length: ContentLength,
}

impl ResponseBuilder {
    /// A response to `request`; `to_tag` is added to To when To has no tag yet.
    pub fn for_request(
        request: &SipMessage,
        code: u16,
        reason: &str,
        to_tag: Option<&str>,
    ) -> Self {
        let mut headers = Vec::with_capacity(8);
        for h in &request.headers {
            let canon = super::message::canonical_name(&h.name);
            let copy = ["Via", "From", "Call-ID", "CSeq"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(canon));
            if copy {
                headers.push(h.clone());
            } else if canon.eq_ignore_ascii_case("To") {
                let mut value = h.value.clone();
                if let Some(tag) = to_tag {
                    let has_tag = NameAddr::parse("To", &h.value)
                        .map(|na| na.param("tag").is_some())
                        .unwrap_or(true);
                    if !has_tag {
                        value.push_str(";tag=");
                        value.push_str(tag);
                    }
                }
                headers.push(Header {
                    name: h.name.clone(),
                    value,
                });
            }
        }
        Self {
            code,
            reason: reason.to_string(),
            headers,
            body: Vec::new(),
            content_length: ContentLength::Auto,
        }
    }

    /// Appends any header line verbatim.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push(Header {
            name: name.to_string(),
            value: value.into(),
        });
        self
    }

    /// Sets the body and appends its Content-Type.
    pub fn body(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self.header("Content-Type", content_type)
    }

    /// Writes this Content-Length value instead of the computed one.
    pub fn content_length_verbatim(mut self, value: impl Into<String>) -> Self {
        self.content_length = ContentLength::Verbatim(value.into());
        self
    }

    /// The message.
    pub fn build(self) -> SipMessage {
        finish(
            StartLine::Response {
                code: self.code,
                reason: self.reason,
            },
            self.headers,
            self.body,
            self.content_length,
        )
    }
}

/// Writes the response [`ResponseBuilder::for_request`] builds (Via, From, To with `to_tag` added
/// when it has none, Call-ID, CSeq, then `Content-Length: 0`) straight into `out`: the same bytes
/// as `ResponseBuilder::for_request(request, code, reason, to_tag).build().to_bytes()`, without
/// building the message (for load hot paths).
pub fn write_response_for(
    request: &SipMessage,
    code: u16,
    reason: &str,
    to_tag: Option<&str>,
    out: &mut Vec<u8>,
) {
    use std::io::Write;
    out.reserve(
        64 + request
            .headers
            .iter()
            .map(|h| h.name.len() + h.value.len() + 4)
            .sum::<usize>(),
    );
    let _ = write!(out, "SIP/2.0 {code} ");
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    for h in &request.headers {
        let canon = super::message::canonical_name(&h.name);
        let copy = ["Via", "From", "Call-ID", "CSeq"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(canon));
        let is_to = canon.eq_ignore_ascii_case("To");
        if !copy && !is_to {
            continue;
        }
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value.as_bytes());
        if let (true, Some(tag)) = (is_to, to_tag) {
            let has_tag = super::addr::has_header_param(&h.value, "tag").unwrap_or(true);
            if !has_tag {
                out.extend_from_slice(b";tag=");
                out.extend_from_slice(tag.as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Content-Length: 0\r\n\r\n");
}

/// The standard reason phrase for a status code.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        483 => "Too Many Hops",
        486 => "Busy Here",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{RsipParser, SipParser};

    #[test]
    fn builds_and_reparses_byte_exactly() {
        let req = RequestBuilder::new(Method::Message, "urn:service:sos")
            .via(&Via::new("UDP", "127.0.0.1", 5070, "z9hG4bKabc"))
            .from(&NameAddr::new("sip:app@127.0.0.1").with_param("tag", Some("t1")))
            .to(&NameAddr::new("urn:service:sos"))
            .call_id("c1")
            .cseq(1)
            .max_forwards(70)
            .body("text/plain; charset=utf-8", "Hilfe")
            .build();
        let bytes = req.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("MESSAGE urn:service:sos SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKabc;rport\r\n"));
        assert!(text.ends_with("Content-Length: 5\r\n\r\nHilfe"));
        let back = RsipParser::default().parse(&bytes).unwrap();
        assert_eq!(back, req);
        let resp = ResponseBuilder::for_request(&back, 200, "OK", Some("pt")).build();
        assert_eq!(resp.header("To"), Some("<urn:service:sos>;tag=pt"));
        assert_eq!(resp.header("CSeq"), Some("1 MESSAGE"));
        assert_eq!(resp.header("Content-Length"), Some("0"));
        for tag in [Some("pt"), None] {
            let mut direct = Vec::new();
            write_response_for(&back, 200, "OK", tag, &mut direct);
            let built = ResponseBuilder::for_request(&back, 200, "OK", tag).build();
            assert_eq!(direct, built.to_bytes());
        }
        let mut tagged = back.clone();
        tagged.set_header("To", "<urn:service:sos>;tag=x");
        tagged.prepend_header("v", "SIP/2.0/TCP 10.0.0.1;branch=z9hG4bKb");
        let mut direct = Vec::new();
        write_response_for(&tagged, 486, "Busy Here", Some("pt"), &mut direct);
        let built = ResponseBuilder::for_request(&tagged, 486, "Busy Here", Some("pt")).build();
        assert_eq!(direct, built.to_bytes());
    }

    #[test]
    fn can_build_malformed_content_length() {
        let req = RequestBuilder::new(Method::Message, "sip:x@y")
            .body("text/plain", "abc")
            .content_length_verbatim("-1")
            .build();
        assert_eq!(req.header("Content-Length"), Some("-1"));
        assert!(RsipParser::default().parse(&req.to_bytes()).is_err());
    }
}
