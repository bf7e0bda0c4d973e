//! The parser trait and its default implementation on top of rsipstack's `rsip` module.

use super::addr::is_token_char;
use super::framing::split_datagram;
use super::message::{Header, Method, SipMessage, StartLine};
use crate::WireError;

/// Turns one framed message (a datagram, or one message cut out of a stream by
/// [`StreamFramer`](super::StreamFramer)) into a [`SipMessage`].
///
/// Implementations must never panic on any input. Syntax errors are `Err`; semantic defects of a
/// syntactically valid message are reported by [`SipMessage::defects`].
pub trait SipParser: Send + Sync {
    /// Parses one message.
    fn parse(&self, bytes: &[u8]) -> Result<SipMessage, WireError>;
}

/// The default parser: our framing and line splitting, with the start line and Request-URI checked
/// by the `rsip` module of rsipstack (the maintained continuation of the rsip crate; rsip 0.4.0
/// rejects `MESSAGE urn:service:sos SIP/2.0`, this one accepts it).
///
/// Two documented adjustments keep rsip from rejecting valid messages: extension methods are
/// replaced by `OPTIONS` for the rsip pass only (RFC 3261 allows any token; RFC 4475 `intmeth`,
/// `esc02`, `mismatch02`), and the extra colon RFC 5118 4.10 asks to tolerate in IPv6 references
/// is removed for the rsip pass only. The returned message is always the received one.
#[derive(Debug, Clone, Copy, Default)]
pub struct RsipParser {
    /// Skip the rsip grammar pass (our own structural checks still run). Used on hot load paths.
    pub skip_grammar: bool,
}

impl SipParser for RsipParser {
    fn parse(&self, bytes: &[u8]) -> Result<SipMessage, WireError> {
        let parts = split_datagram(bytes)?;
        let (start_raw, header_lines) = split_lines(parts.head)?;
        let start = parse_start_line(start_raw)?;
        if !self.skip_grammar {
            rsip_check(start_raw, &start)?;
        }
        Ok(SipMessage {
            start,
            headers: header_lines,
            body: parts.body.to_vec(),
        })
    }
}

/// Runs the rsip grammar over the start line (method, Request-URI or status code, version).
///
/// Only the start line is handed to rsip: its header pass cannot fail (every header line becomes
/// an untyped header, whatever its value), so giving it the header lines too would cost time
/// (about half of a full parse of an LMPE start/257) without ever changing the verdict. Header
/// structure is checked by our own line splitting, semantics by [`SipMessage::defects`].
///
/// rsip only knows the methods it implements and rejects every extension method, although
/// RFC 3261 allows any `token` (RFC 4475 3.1.1.2 `intmeth`, 3.1.1.5 `esc02`). When the method of a
/// request is a token rsip does not know, it has already been validated as a token by
/// [`parse_start_line`], so the rsip pass runs with `OPTIONS` substituted for it: the rest of the
/// message still gets the grammar check, the method keeps ours. The substitution only happens in
/// this private copy; the parsed message keeps the method as received.
fn rsip_check(head: &[u8], start: &StartLine) -> Result<(), WireError> {
    let mut buf = Vec::with_capacity(head.len() + 8);
    // `head` is the start line alone (see above).
    match start {
        StartLine::Request { method, .. }
            if method.as_str().parse::<rsipstack::rsip::Method>().is_err() =>
        {
            let sp = head.iter().position(|&b| b == b' ').unwrap_or(head.len());
            buf.extend_from_slice(b"OPTIONS");
            buf.extend_from_slice(&head[sp..]);
        }
        _ => buf.extend_from_slice(head),
    }
    collapse_ipv6_extra_colon(&mut buf);
    buf.extend_from_slice(b"\r\n\r\n");
    match std::panic::catch_unwind(|| rsipstack::rsip::SipMessage::try_from(buf.as_slice())) {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(WireError::Grammar(e.to_string())),
        Err(_) => Err(WireError::Grammar(
            "the rsip parser panicked on this input".into(),
        )),
    }
}

/// RFC 5118 4.10: the RFC 3261 `IPv6reference` ABNF (inherited from RFC 2373) admits an extra
/// colon, as in `[2001:db8:::192.0.2.1]`, and implementations must tolerate it. rsip rejects it,
/// so in the private copy checked by rsip every `:::` inside an IPv6 reference (`[` hex digits,
/// colons and dots `]`) becomes `::`. Our own host check accepts both forms.
fn collapse_ipv6_extra_colon(buf: &mut Vec<u8>) {
    let mut i = 0;
    while i < buf.len() {
        if buf[i] != b'[' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let len = buf[start..]
            .iter()
            .take_while(|&&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            .count();
        let end = start + len;
        if buf.get(end) == Some(&b']') {
            if let Some(p) = buf[start..end].windows(3).position(|w| w == b":::") {
                buf.remove(start + p);
                continue;
            }
        }
        i = end.max(i + 1);
    }
}

/// `part` (a sub-slice of `head`) as text: sliced out of `text` (`head` validated as UTF-8 once,
/// so each line costs a bounds check instead of another validation) when that is possible,
/// otherwise validated on its own (a head with invalid UTF-8 somewhere reports the first bad
/// line exactly as before).
fn sub_str<'a>(
    head: &'a [u8],
    text: Option<&'a str>,
    part: &'a [u8],
) -> Result<&'a str, std::str::Utf8Error> {
    if let Some(t) = text {
        let off = (part.as_ptr() as usize).wrapping_sub(head.as_ptr() as usize);
        if let Some(s) = off.checked_add(part.len()).and_then(|end| t.get(off..end)) {
            return Ok(s);
        }
    }
    std::str::from_utf8(part)
}

/// Splits the header section into the start line and unfolded header lines.
fn split_lines(head: &[u8]) -> Result<(&[u8], Vec<Header>), WireError> {
    let text = std::str::from_utf8(head).ok();
    let mut lines = memchr::memchr_iter(b'\n', head)
        .map(Some)
        .chain(std::iter::once(None))
        .scan(0usize, |from, nl| {
            let start = *from;
            let end = nl.unwrap_or(head.len());
            *from = end + 1;
            let l = &head[start..end];
            Some(l.strip_suffix(b"\r").unwrap_or(l))
        });
    let start = lines
        .next()
        .ok_or_else(|| WireError::BadStartLine("empty message".into()))?;
    let mut headers: Vec<Header> = Vec::with_capacity(16);
    for (idx, line) in lines.enumerate() {
        let lineno = idx + 2;
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            let cont = sub_str(head, text, line).map_err(|_| {
                WireError::NonUtf8Header(
                    headers.last().map_or_else(String::new, |h| h.name.clone()),
                )
            })?;
            let Some(last) = headers.last_mut() else {
                return Err(WireError::BadHeaderLine {
                    line: lineno,
                    text: cont.to_string(),
                });
            };
            let cont = cont.trim();
            if !cont.is_empty() {
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(cont);
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(WireError::BadHeaderLine {
                line: lineno,
                text: String::from_utf8_lossy(line).into_owned(),
            });
        };
        let name_raw = &line[..colon];
        let name_trimmed = name_raw
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(&name_raw[..0], |e| &name_raw[..=e]);
        if name_trimmed.is_empty() || !name_trimmed.iter().all(|&b| is_token_char(b)) {
            return Err(WireError::BadHeaderLine {
                line: lineno,
                text: String::from_utf8_lossy(line).into_owned(),
            });
        }
        // Token characters are ASCII, so this is valid UTF-8 (the lossy path never runs).
        let name = match sub_str(head, text, name_trimmed) {
            Ok(name) => name.to_owned(),
            Err(_) => String::from_utf8_lossy(name_trimmed).into_owned(),
        };
        let value = sub_str(head, text, &line[colon + 1..])
            .map_err(|_| WireError::NonUtf8Header(name.clone()))?
            .trim()
            .to_string();
        headers.push(Header { name, value });
    }
    Ok((start, headers))
}

fn parse_start_line(raw: &[u8]) -> Result<StartLine, WireError> {
    let text = std::str::from_utf8(raw)
        .map_err(|_| WireError::BadStartLine("start line is not valid UTF-8".into()))?;
    if let Some(rest) = text.strip_prefix("SIP/") {
        let (version, rest) = rest
            .split_once(' ')
            .ok_or_else(|| WireError::BadStartLine(text.to_string()))?;
        if version != "2.0" {
            return Err(WireError::UnsupportedVersion(format!("SIP/{version}")));
        }
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(WireError::BadStatusCode(code.to_string()));
        }
        let code: u16 = code
            .parse()
            .map_err(|_| WireError::BadStatusCode(code.to_string()))?;
        if !(100..=699).contains(&code) {
            return Err(WireError::BadStatusCode(code.to_string()));
        }
        return Ok(StartLine::Response {
            code,
            reason: reason.to_string(),
        });
    }
    let mut parts = text.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(WireError::BadStartLine(format!(
            "request line {text:?} is not `Method SP Request-URI SP SIP-Version`"
        )));
    };
    if method.is_empty() || !method.bytes().all(is_token_char) {
        return Err(WireError::BadStartLine(format!(
            "method {method:?} is not a token"
        )));
    }
    if uri.is_empty() {
        return Err(WireError::BadStartLine("empty Request-URI".into()));
    }
    if version != "SIP/2.0" {
        return Err(WireError::UnsupportedVersion(version.to_string()));
    }
    Ok(StartLine::Request {
        method: Method::from_token(method),
        uri: uri.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ng112_request_uri() {
        let m = b"MESSAGE urn:service:sos SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <urn:service:sos>\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\nContent-Length: 2\r\n\r\nhi";
        let msg = RsipParser::default().parse(m).unwrap();
        assert_eq!(msg.request_uri(), Some("urn:service:sos"));
        assert_eq!(msg.method(), Some(Method::Message));
        assert_eq!(msg.body, b"hi");
        assert_eq!(msg.to_bytes(), m.to_vec());
    }

    #[test]
    fn unfolds_continuation_lines() {
        let m = b"SIP/2.0 200 OK\r\nSubject: a\r\n  b\r\nContent-Length: 0\r\n\r\n";
        let msg = RsipParser::default().parse(m).unwrap();
        assert_eq!(msg.header("subject"), Some("a b"));
        assert_eq!(msg.status(), Some(200));
    }

    #[test]
    fn utf8_in_values_and_the_first_bad_line_is_reported() {
        let p = RsipParser::default();
        let ok = "MESSAGE sip:a@b SIP/2.0\r\nSubject: Notruf für Zürich\r\n  – Folgezeile\r\nContent-Length: 0\r\n\r\n";
        let msg = p.parse(ok.as_bytes()).unwrap();
        assert_eq!(
            msg.header("Subject"),
            Some("Notruf für Zürich – Folgezeile")
        );
        let bad_value = b"MESSAGE sip:a@b SIP/2.0\r\nSubject: \xff\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(p.parse(bad_value), Err(WireError::NonUtf8Header(h)) if h == "Subject"));
        let bad_cont =
            b"MESSAGE sip:a@b SIP/2.0\r\nSubject: a\r\n \xfe\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(p.parse(bad_cont), Err(WireError::NonUtf8Header(h)) if h == "Subject"));
        // A syntax error before the bad bytes is still the one reported.
        let first = b"MESSAGE sip:a@b SIP/2.0\r\nno colon here\r\nSubject: \xff\r\n\r\n";
        assert!(matches!(
            p.parse(first),
            Err(WireError::BadHeaderLine { line: 2, .. })
        ));
        let start = b"MESSAGE sip:\xff@b SIP/2.0\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(p.parse(start), Err(WireError::BadStartLine(_))));
    }

    #[test]
    fn collapses_only_ipv6_triple_colons() {
        let mut b = b"OPTIONS sip:u@[2001:db8:::192.0.2.1] SIP/2.0\r\nX: a:::b [::::1]".to_vec();
        collapse_ipv6_extra_colon(&mut b);
        assert_eq!(
            b,
            b"OPTIONS sip:u@[2001:db8::192.0.2.1] SIP/2.0\r\nX: a:::b [::1]".to_vec()
        );
    }

    #[test]
    fn rejects_bad_start_lines() {
        let p = RsipParser::default();
        assert!(matches!(
            p.parse(b"SIP/2.0 2000 OK\r\n\r\n"),
            Err(WireError::BadStatusCode(_))
        ));
        assert!(matches!(
            p.parse(b"OPTIONS sip:a SIP/7.0\r\n\r\n"),
            Err(WireError::UnsupportedVersion(_))
        ));
        assert!(matches!(
            p.parse(b"OPTIONS  sip:a SIP/2.0\r\n\r\n"),
            Err(WireError::BadStartLine(_))
        ));
    }
}
