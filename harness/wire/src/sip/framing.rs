//! Message framing: where a SIP message ends in a datagram or in a byte stream (RFC 3261 18.3).

use crate::WireError;

/// Default upper bound for one message on a stream transport (bodies may carry images).
pub const MAX_MESSAGE_SIZE: usize = 1 << 20;

/// A datagram split into header section and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DatagramParts<'a> {
    /// Start line and header lines, without the terminating empty line.
    pub head: &'a [u8],
    /// The body: exactly Content-Length bytes, or the rest of the datagram without Content-Length.
    pub body: &'a [u8],
    /// Octets after the body that were ignored (RFC 4475 3.1.1.8).
    pub trailing: usize,
    /// Whether a Content-Length header was present.
    pub had_content_length: bool,
}

fn find_header_end(bytes: &[u8]) -> Option<usize> {
    static FINDER: std::sync::OnceLock<memchr::memmem::Finder<'static>> =
        std::sync::OnceLock::new();
    FINDER
        .get_or_init(|| memchr::memmem::Finder::new(b"\r\n\r\n"))
        .find(bytes)
}

/// The Content-Length (or compact `l`) values of a header section: none, one, or how many.
enum Lengths<'a> {
    None,
    One(&'a [u8]),
    Many(usize),
}

/// Finds every Content-Length (or compact `l`) value in a header section (no allocation).
fn content_lengths(head: &[u8]) -> Lengths<'_> {
    let (mut first, mut count) = (None, 0usize);
    // Header lines start after a '\n'; the start line is skipped.
    for start in memchr::memchr_iter(b'\n', head).map(|nl| nl + 1) {
        let rest = &head[start..];
        let line = match memchr::memchr(b'\n', rest) {
            Some(end) => &rest[..end],
            None => rest,
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let name = trim(&line[..colon]);
        if name.len() != 14 && name.len() != 1 {
            continue;
        }
        if name.eq_ignore_ascii_case(b"content-length") || name.eq_ignore_ascii_case(b"l") {
            count += 1;
            first.get_or_insert(trim(&line[colon + 1..]));
        }
    }
    match (first, count) {
        (None, _) => Lengths::None,
        (Some(one), 1) => Lengths::One(one),
        (Some(_), n) => Lengths::Many(n),
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn parse_length(value: &[u8]) -> Result<usize, WireError> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) || value.len() > 10 {
        return Err(WireError::BadContentLength(
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| WireError::BadContentLength(String::from_utf8_lossy(value).into_owned()))
}

/// Splits one datagram into header section and body (RFC 3261 18.3: Content-Length, if present,
/// frames the body; without it the body is the rest of the datagram).
pub fn split_datagram(bytes: &[u8]) -> Result<DatagramParts<'_>, WireError> {
    let end = find_header_end(bytes).ok_or(WireError::MissingHeaderTerminator)?;
    let head = &bytes[..end];
    let rest = &bytes[end + 4..];
    match content_lengths(head) {
        Lengths::None => Ok(DatagramParts {
            head,
            body: rest,
            trailing: 0,
            had_content_length: false,
        }),
        Lengths::One(one) => {
            let declared = parse_length(one)?;
            if declared > rest.len() {
                return Err(WireError::TruncatedBody {
                    declared,
                    available: rest.len(),
                });
            }
            Ok(DatagramParts {
                head,
                body: &rest[..declared],
                trailing: rest.len() - declared,
                had_content_length: true,
            })
        }
        Lengths::Many(n) => Err(WireError::MultipleContentLength(n)),
    }
}

/// Frames SIP messages out of a byte stream (TCP, TLS): header section, then exactly
/// Content-Length body bytes. CRLF keep-alives between messages are skipped (RFC 5626 4.4.1).
/// After an error the stream cannot be resynchronised and the connection should be closed.
#[derive(Debug)]
pub struct StreamFramer {
    buf: Vec<u8>,
    limit: usize,
    failed: bool,
}

impl Default for StreamFramer {
    fn default() -> Self {
        Self::new(MAX_MESSAGE_SIZE)
    }
}

impl StreamFramer {
    /// A framer that refuses messages larger than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            buf: Vec::with_capacity(8192),
            limit,
            failed: false,
        }
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet framed.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete message, `None` when more bytes are needed, or the framing error.
    pub fn next_message(&mut self) -> Option<Result<Vec<u8>, WireError>> {
        if self.failed {
            return None;
        }
        let skip = self
            .buf
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .unwrap_or(self.buf.len());
        if skip > 0 {
            self.buf.drain(..skip);
        }
        if self.buf.is_empty() {
            return None;
        }
        let Some(end) = find_header_end(&self.buf) else {
            if self.buf.len() > self.limit {
                return Some(self.fail(WireError::TooLarge {
                    size: self.buf.len(),
                    limit: self.limit,
                }));
            }
            return None;
        };
        let declared = match content_lengths(&self.buf[..end]) {
            Lengths::None => return Some(self.fail(WireError::MissingContentLength)),
            Lengths::One(one) => match parse_length(one) {
                Ok(n) => n,
                Err(e) => return Some(self.fail(e)),
            },
            Lengths::Many(n) => return Some(self.fail(WireError::MultipleContentLength(n))),
        };
        let total = end + 4 + declared;
        if total > self.limit {
            return Some(self.fail(WireError::TooLarge {
                size: total,
                limit: self.limit,
            }));
        }
        if self.buf.len() < total {
            return None;
        }
        let msg: Vec<u8> = self.buf.drain(..total).collect();
        Some(Ok(msg))
    }

    fn fail(&mut self, e: WireError) -> Result<Vec<u8>, WireError> {
        self.failed = true;
        self.buf.clear();
        Err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"MESSAGE urn:service:sos SIP/2.0\r\nContent-Length: 5\r\n\r\nhello";

    #[test]
    fn datagram_frames_by_content_length() {
        let mut d = MSG.to_vec();
        d.extend_from_slice(b"TRAILING");
        let p = split_datagram(&d).unwrap();
        assert_eq!(p.body, b"hello");
        assert_eq!(p.trailing, 8);
    }

    #[test]
    fn datagram_errors() {
        assert_eq!(
            split_datagram(b"A b SIP/2.0\r\nl: 9\r\n\r\nabc"),
            Err(WireError::TruncatedBody {
                declared: 9,
                available: 3
            })
        );
        assert!(matches!(
            split_datagram(b"A b SIP/2.0\r\nContent-Length: -9\r\n\r\n"),
            Err(WireError::BadContentLength(_))
        ));
        assert_eq!(
            split_datagram(b"A b SIP/2.0\r\nContent-Length: 0\r\nl: 0\r\n\r\n"),
            Err(WireError::MultipleContentLength(2))
        );
        assert_eq!(
            split_datagram(b"A b SIP/2.0\r\n"),
            Err(WireError::MissingHeaderTerminator)
        );
    }

    #[test]
    fn stream_frames_byte_by_byte_with_keepalives() {
        let mut f = StreamFramer::default();
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(MSG);
        stream.extend_from_slice(MSG);
        let mut out = Vec::new();
        for b in stream {
            f.push(&[b]);
            while let Some(m) = f.next_message() {
                out.push(m.unwrap());
            }
        }
        assert_eq!(out, vec![MSG.to_vec(), MSG.to_vec()]);
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn stream_requires_content_length_and_limits_size() {
        let mut f = StreamFramer::default();
        f.push(b"MESSAGE a SIP/2.0\r\nTo: x\r\n\r\n");
        assert_eq!(f.next_message(), Some(Err(WireError::MissingContentLength)));
        assert_eq!(f.next_message(), None);
        let mut f = StreamFramer::new(64);
        f.push(&[b'a'; 100]);
        assert!(matches!(
            f.next_message(),
            Some(Err(WireError::TooLarge { .. }))
        ));
    }
}
