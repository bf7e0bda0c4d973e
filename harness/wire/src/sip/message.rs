//! The SIP message model.

use std::fmt;

use crate::WireError;

/// A SIP method. Unknown methods are kept verbatim (RFC 3261 allows extension methods).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// MESSAGE (RFC 3428), the method LMPE is built on.
    Message,
    /// OPTIONS.
    Options,
    /// INVITE.
    Invite,
    /// ACK.
    Ack,
    /// BYE.
    Bye,
    /// CANCEL.
    Cancel,
    /// REGISTER.
    Register,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// Any other (extension) method, verbatim.
    Other(String),
}

impl Method {
    /// Parses a method token (case-sensitive, as RFC 3261 requires).
    pub fn from_token(token: &str) -> Self {
        match token {
            "MESSAGE" => Self::Message,
            "OPTIONS" => Self::Options,
            "INVITE" => Self::Invite,
            "ACK" => Self::Ack,
            "BYE" => Self::Bye,
            "CANCEL" => Self::Cancel,
            "REGISTER" => Self::Register,
            "SUBSCRIBE" => Self::Subscribe,
            "NOTIFY" => Self::Notify,
            other => Self::Other(other.to_string()),
        }
    }

    /// The method token.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Message => "MESSAGE",
            Self::Options => "OPTIONS",
            Self::Invite => "INVITE",
            Self::Ack => "ACK",
            Self::Bye => "BYE",
            Self::Cancel => "CANCEL",
            Self::Register => "REGISTER",
            Self::Subscribe => "SUBSCRIBE",
            Self::Notify => "NOTIFY",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first line of a SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `Method SP Request-URI SP SIP/2.0`.
    Request {
        /// The method.
        method: Method,
        /// The Request-URI, verbatim.
        uri: String,
    },
    /// `SIP/2.0 SP Status-Code SP Reason-Phrase`.
    Response {
        /// Status code, 100..=699.
        code: u16,
        /// Reason phrase, verbatim (may be empty).
        reason: String,
    },
}

/// One header line: name and value as they appear (value without leading/trailing white space;
/// folded continuation lines are joined with a single space).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Header name as written (may be a compact form such as `v`).
    pub name: String,
    /// Header value.
    pub value: String,
}

/// Maps compact header forms (RFC 3261 7.3.3 and extensions) to their full names.
pub fn canonical_name(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    match name.as_bytes()[0].to_ascii_lowercase() {
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'e' => "Content-Encoding",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'f' => "From",
        b's' => "Subject",
        b'k' => "Supported",
        b't' => "To",
        b'v' => "Via",
        b'o' => "Event",
        b'r' => "Refer-To",
        b'b' => "Referred-By",
        b'a' => "Accept-Contact",
        b'j' => "Reject-Contact",
        b'd' => "Request-Disposition",
        b'u' => "Allow-Events",
        b'x' => "Session-Expires",
        b'y' => "Identity",
        _ => name,
    }
}

fn same_name(a: &str, b: &str) -> bool {
    canonical_name(a).eq_ignore_ascii_case(canonical_name(b))
}

/// Writes `Name: value` lines, the empty line and the body (SIP messages and MIME parts alike).
pub(crate) fn write_header_block(headers: &[Header], body: &[u8], out: &mut Vec<u8>) {
    for h in headers {
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

/// A SIP request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage {
    /// Request line or status line.
    pub start: StartLine,
    /// Header lines in order.
    pub headers: Vec<Header>,
    /// The body (exactly Content-Length bytes when parsed).
    pub body: Vec<u8>,
}

impl SipMessage {
    /// True for requests.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method, or for a response the method of its CSeq.
    pub fn method(&self) -> Option<Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method.clone()),
            StartLine::Response { .. } => self.cseq().ok().map(|(_, m)| m),
        }
    }

    /// The method of a request (borrowed; `None` for a response).
    pub fn request_method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI of a request.
    pub fn request_uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    /// The first value of the named header (compact forms and case are handled).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| same_name(&h.name, name))
            .map(|h| h.value.as_str())
    }

    /// All header lines with this name, in order (one item per line, not per comma-separated value).
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |h| same_name(&h.name, name))
            .map(|h| h.value.as_str())
    }

    /// All comma-separated values of the named header across all its lines, in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers_named(name).flat_map(super::addr::split_list)
    }

    /// Number of header lines with this name.
    pub fn count_headers(&self, name: &str) -> usize {
        self.headers_named(name).count()
    }

    /// Replaces the first header with this name, or appends it.
    pub fn set_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        if let Some(h) = self.headers.iter_mut().find(|h| same_name(&h.name, name)) {
            h.value = value;
        } else {
            self.headers.push(Header {
                name: name.to_string(),
                value,
            });
        }
    }

    /// Removes every header line with this name; returns how many were removed.
    pub fn remove_headers(&mut self, name: &str) -> usize {
        let before = self.headers.len();
        self.headers.retain(|h| !same_name(&h.name, name));
        before - self.headers.len()
    }

    /// Inserts a header line before all others (used by proxies for Via).
    pub fn prepend_header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.insert(
            0,
            Header {
                name: name.to_string(),
                value: value.into(),
            },
        );
    }

    /// The Call-ID.
    pub fn call_id(&self) -> Result<&str, WireError> {
        self.header("Call-ID")
            .ok_or(WireError::MissingHeader("Call-ID"))
    }

    /// CSeq number and method.
    pub fn cseq(&self) -> Result<(u32, Method), WireError> {
        let v = self
            .header("CSeq")
            .ok_or(WireError::MissingHeader("CSeq"))?;
        let mut parts = v.split_whitespace();
        let (Some(n), Some(m), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(WireError::BadHeader {
                header: "CSeq",
                reason: format!("expected `number method`, got {v:?}"),
            });
        };
        let n: u32 = n.parse().map_err(|_| WireError::BadHeader {
            header: "CSeq",
            reason: format!("sequence number {n:?} is not a 32-bit unsigned integer"),
        })?;
        Ok((n, Method::from_token(m)))
    }

    /// The topmost Via value.
    pub fn top_via(&self) -> Result<super::Via, WireError> {
        let v = self
            .header_values("Via")
            .next()
            .ok_or(WireError::MissingHeader("Via"))?;
        super::Via::parse(v)
    }

    /// The topmost Via value, borrowed: the same checks as [`SipMessage::top_via`] without
    /// allocating.
    pub fn top_via_ref(&self) -> Result<super::ViaRef<'_>, WireError> {
        let v = self
            .header_values("Via")
            .next()
            .ok_or(WireError::MissingHeader("Via"))?;
        super::ViaRef::parse(v)
    }

    /// The CSeq method token, borrowed (`None` if CSeq is missing or not `number method`).
    pub fn cseq_method(&self) -> Option<&str> {
        let v = self.header("CSeq")?;
        let mut parts = v.split_whitespace();
        match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(m), None) if n.parse::<u32>().is_ok() => Some(m),
            _ => None,
        }
    }

    /// The Content-Type header, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }

    /// Serialises the message exactly as modelled (no header is added or fixed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.headers.len() * 48 + self.body.len());
        self.write_to(&mut out);
        out
    }

    /// Serialises into a reusable buffer (appends).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match &self.start {
            StartLine::Request { method, uri } => {
                out.extend_from_slice(method.as_str().as_bytes());
                out.push(b' ');
                out.extend_from_slice(uri.as_bytes());
                out.extend_from_slice(b" SIP/2.0\r\n");
            }
            StartLine::Response { code, reason } => {
                out.extend_from_slice(b"SIP/2.0 ");
                out.extend_from_slice(code.to_string().as_bytes());
                out.push(b' ');
                out.extend_from_slice(reason.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        write_header_block(&self.headers, &self.body, out);
    }

    /// The first line as text (for reports).
    pub fn summary(&self) -> String {
        match &self.start {
            StartLine::Request { method, uri } => format!("{method} {uri}"),
            StartLine::Response { code, reason } => format!("{code} {reason}"),
        }
    }

    /// The message as text for reports (body bytes that are not UTF-8 are replaced).
    pub fn to_text(&self) -> String {
        String::from_utf8_lossy(&self.to_bytes()).into_owned()
    }
}

impl fmt::Display for SipMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}
