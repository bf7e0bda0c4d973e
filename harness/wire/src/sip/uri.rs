//! URI grammar checks (RFC 3261 19.1 and 25.1) and `%HH` escaping.
//!
//! [`SipUri`] is a borrowed, validating view of a `sip:`/`sips:` URI: parsing never allocates.
//! Other schemes are checked against the RFC 3261 `absoluteURI` character set only.

use std::borrow::Cow;

use super::chars::{is, Class, HNV, PARAMCHAR, PASSWORD, URIC, USER};
use crate::WireError;

fn bad(uri: &str, reason: impl Into<String>) -> WireError {
    WireError::BadUri {
        uri: uri.to_string(),
        reason: reason.into(),
    }
}

/// Checks that every byte of `text` is in `allowed` or is part of a `%HH` escape.
fn check_chars(text: &str, allowed: &Class) -> Result<(), String> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if i + 2 >= b.len() {
                return Err(format!("incomplete %-escape at offset {i}"));
            }
            if !(b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
                return Err(format!(
                    "'%' at offset {i} is not followed by two hex digits"
                ));
            }
            i += 3;
            continue;
        }
        if !is(allowed, c) {
            return Err(format!("character {:?} is not allowed here", char::from(c)));
        }
        i += 1;
    }
    Ok(())
}

/// A `scheme` per RFC 3261 / RFC 2396: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || b"+-.".contains(&c))
}

/// A borrowed view of a `sip:` or `sips:` URI (RFC 3261 19.1.1, 25.1), validated on parse.
///
/// All fields are slices of the parsed text, still `%`-escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipUri<'a> {
    /// `sip` or `sips` as written (compare case-insensitively).
    pub scheme: &'a str,
    /// The user part, if a userinfo is present.
    pub user: Option<&'a str>,
    /// The password, if present (deprecated by RFC 3261, still grammatical).
    pub password: Option<&'a str>,
    /// The host: a host name, an IPv4 address, or an IPv6 reference with its brackets.
    pub host: &'a str,
    /// The port, if present.
    pub port: Option<u16>,
    /// The URI parameters without the leading `;` (empty when there are none).
    pub params: &'a str,
    /// The headers component without the leading `?`, if present.
    pub headers: Option<&'a str>,
}

impl<'a> SipUri<'a> {
    /// Parses and validates a SIP or SIPS URI.
    pub fn parse(uri: &'a str) -> Result<Self, WireError> {
        let (scheme, rest) = uri.split_once(':').ok_or_else(|| bad(uri, "no scheme"))?;
        if !(scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")) {
            return Err(bad(uri, format!("scheme {scheme:?} is not sip or sips")));
        }
        if rest.is_empty() {
            return Err(bad(uri, "nothing after the scheme"));
        }
        // No '@' may appear outside the userinfo (host, params and headers exclude it), so the
        // first '@' ends the userinfo.
        let (userinfo, after) = match rest.find('@') {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let (mut user, mut password) = (None, None);
        if let Some(ui) = userinfo {
            let (u, p) = match ui.find(':') {
                Some(c) => (&ui[..c], Some(&ui[c + 1..])),
                None => (ui, None),
            };
            if u.is_empty() {
                return Err(bad(uri, "empty user part before '@'"));
            }
            check_chars(u, &USER).map_err(|e| bad(uri, format!("user part: {e}")))?;
            if let Some(p) = p {
                check_chars(p, &PASSWORD).map_err(|e| bad(uri, format!("password: {e}")))?;
            }
            user = Some(u);
            password = p;
        }
        let (before_headers, headers) = match after.find('?') {
            Some(q) => (&after[..q], Some(&after[q + 1..])),
            None => (after, None),
        };
        let (hostport, params) = match before_headers.find(';') {
            Some(s) => (&before_headers[..s], &before_headers[s + 1..]),
            None => (before_headers, ""),
        };
        let (host, port) = split_hostport(hostport).map_err(|e| bad(uri, e))?;
        if before_headers.len() > hostport.len() {
            for p in params.split(';') {
                if p.is_empty() {
                    return Err(bad(uri, "empty URI parameter"));
                }
                let (name, value) = match p.split_once('=') {
                    Some((n, v)) => (n, Some(v)),
                    None => (p, None),
                };
                if name.is_empty() {
                    return Err(bad(uri, format!("URI parameter {p:?} has no name")));
                }
                check_chars(name, &PARAMCHAR)
                    .map_err(|e| bad(uri, format!("URI parameter name {name:?}: {e}")))?;
                if let Some(v) = value {
                    if v.is_empty() {
                        return Err(bad(
                            uri,
                            format!("URI parameter {name:?} has an empty value"),
                        ));
                    }
                    check_chars(v, &PARAMCHAR)
                        .map_err(|e| bad(uri, format!("URI parameter {name:?}: {e}")))?;
                }
            }
        }
        if let Some(h) = headers {
            for hdr in h.split('&') {
                let Some((name, value)) = hdr.split_once('=') else {
                    return Err(bad(uri, format!("URI header {hdr:?} is not hname=hvalue")));
                };
                if name.is_empty() {
                    return Err(bad(uri, "URI header with an empty name"));
                }
                check_chars(name, &HNV)
                    .map_err(|e| bad(uri, format!("URI header name {name:?}: {e}")))?;
                check_chars(value, &HNV)
                    .map_err(|e| bad(uri, format!("URI header {name:?}: {e}")))?;
            }
        }
        Ok(Self {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }

    /// The socket address the URI names when its host is an IP literal (IPv4, or an IPv6
    /// reference), with its port or 5060; `None` for a host name.
    pub fn ip_addr(&self) -> Option<std::net::SocketAddr> {
        let ip: std::net::IpAddr = self
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()?;
        Some(std::net::SocketAddr::new(ip, self.port.unwrap_or(5060)))
    }

    /// Whether the scheme is `sips`.
    pub fn is_secure(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("sips")
    }

    /// The URI parameters as `(name, value)` pairs, still escaped.
    pub fn params(&self) -> impl Iterator<Item = (&'a str, Option<&'a str>)> + 'a {
        let params = self.params;
        params
            .split(';')
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (p, None),
            })
    }

    /// The first URI parameter with this name (case-insensitive); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        self.params()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The embedded headers as `(hname, hvalue)` pairs, still escaped.
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.headers
            .unwrap_or("")
            .split('&')
            .filter_map(|h| h.split_once('='))
    }
}

/// Splits and validates `host [":" port]` (RFC 3261 25.1).
pub(crate) fn split_hostport(text: &str) -> Result<(&str, Option<u16>), String> {
    if text.is_empty() {
        return Err("empty host".into());
    }
    let (host, port) = if text.starts_with('[') {
        let end = text
            .find(']')
            .ok_or_else(|| format!("unterminated IPv6 reference in {text:?}"))?;
        let host = &text[..=end];
        match &text[end + 1..] {
            "" => (host, None),
            rest => (
                host,
                Some(
                    rest.strip_prefix(':')
                        .ok_or_else(|| format!("garbage {rest:?} after IPv6 reference"))?,
                ),
            ),
        }
    } else {
        if text.bytes().filter(|&b| b == b':').count() > 1 {
            return Err(format!(
                "{text:?} looks like an IPv6 address, which must be enclosed in [] (RFC 3261 IPv6reference, RFC 5118 4.2)"
            ));
        }
        match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    check_host(host)?;
    let port = match port {
        None => None,
        Some(p) => {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("port {p:?} is not a decimal number"));
            }
            Some(
                p.parse::<u16>()
                    .map_err(|_| format!("port {p} is out of range 0..=65535"))?,
            )
        }
    };
    Ok((host, port))
}

/// Validates `host = hostname / IPv4address / IPv6reference` (RFC 3261 25.1).
///
/// IPv6 references are checked loosely (hex digits, `:` and `.`, at least two colons): RFC 5118
/// 4.10 asks elements to tolerate the extra colon that a bug in the RFC 3261 ABNF allows.
pub(crate) fn check_host(host: &str) -> Result<(), String> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| format!("unterminated IPv6 reference {host:?}"))?;
        let ok = !inner.is_empty()
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            && inner.bytes().filter(|&b| b == b':').count() >= 2;
        return if ok {
            Ok(())
        } else {
            Err(format!("{host:?} is not an IPv6 reference"))
        };
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    let labels = || name.split('.');
    if labels().all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit())) {
        let ok = labels().count() == 4 && labels().all(|l| l.len() <= 3 && l.parse::<u8>().is_ok());
        return if ok {
            Ok(())
        } else {
            Err(format!("{host:?} is not an IPv4 address"))
        };
    }
    for l in labels() {
        let b = l.as_bytes();
        let ok = !b.is_empty()
            && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-';
        if !ok {
            return Err(format!("{host:?} is not a host name (label {l:?})"));
        }
    }
    if !labels()
        .next_back()
        .is_some_and(|l| l.as_bytes()[0].is_ascii_alphabetic())
    {
        return Err(format!(
            "{host:?} is not a host name (the top label must start with a letter)"
        ));
    }
    Ok(())
}

/// Checks a URI of any scheme: `sip`/`sips` against the full SIP-URI grammar, anything else
/// against `absoluteURI` (scheme, then only `uric` characters and `%HH` escapes; `[` `]` are
/// tolerated for IPv6 literals as in RFC 3986).
pub fn check_uri(uri: &str) -> Result<(), WireError> {
    let (scheme, rest) = uri.split_once(':').ok_or_else(|| bad(uri, "no scheme"))?;
    if !is_scheme(scheme) {
        return Err(bad(uri, format!("{scheme:?} is not a URI scheme")));
    }
    if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
        return SipUri::parse(uri).map(|_| ());
    }
    if rest.is_empty() {
        return Err(bad(uri, "nothing after the scheme"));
    }
    check_chars(rest, &URIC).map_err(|e| bad(uri, e))
}

/// Decodes `%HH` escapes. Fails on a malformed escape or when the result is not UTF-8.
pub fn percent_decode(text: &str) -> Result<Cow<'_, str>, WireError> {
    if !text.contains('%') {
        return Ok(Cow::Borrowed(text));
    }
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad(text, format!("malformed %-escape at offset {i}")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| bad(text, "%-decoded text is not UTF-8"))
}

/// Escapes every byte that `keep` rejects as `%HH` (upper-case hex).
pub fn percent_encode(text: &str, keep: impl Fn(u8) -> bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(text.len() + 16);
    for &b in text.as_bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
    out
}

/// Characters allowed unescaped in a SIP URI header value (`hnv-unreserved / unreserved`).
pub fn is_hvalue_char(b: u8) -> bool {
    is(&HNV, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_addr_only_for_ip_literal_hosts() {
        let at = |u: &str| SipUri::parse(u).ok().and_then(|u| u.ip_addr());
        assert_eq!(
            at("sip:a@127.0.0.1:5090"),
            Some("127.0.0.1:5090".parse().expect("addr"))
        );
        assert_eq!(
            at("sip:a@127.0.0.1"),
            Some("127.0.0.1:5060".parse().expect("addr"))
        );
        assert_eq!(
            at("sip:a@[::1]:5070"),
            Some("[::1]:5070".parse().expect("addr"))
        );
        assert_eq!(at("sip:a@example.com:5090"), None);
    }

    #[test]
    fn parses_unusual_but_valid_sip_uris() {
        let u = SipUri::parse(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        )
        .unwrap();
        assert_eq!(u.host, "example.com");
        assert!(u.password.is_some());
        assert!(u.headers.is_none());
        let u = SipUri::parse("sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(u.user, Some("user;par=u%40example.net"));
        let u = SipUri::parse("sip:[2001:db8::10]:5070;transport=tcp;lr").unwrap();
        assert_eq!(u.host, "[2001:db8::10]");
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.param("LR"), Some(None));
        assert_eq!(u.param("transport"), Some(Some("tcp")));
        let u = SipUri::parse("sip:user@example.com?Route=%3Csip:example.com%3E").unwrap();
        assert_eq!(u.headers().next(), Some(("Route", "%3Csip:example.com%3E")));
    }

    #[test]
    fn rejects_bad_sip_uris() {
        for u in [
            "sip:2001:db8::10",
            "sip:user@host:99999",
            "sip:user@exa mple.com",
            "sip:us%zzer@example.com",
            "sip:user@example.com;;lr",
            "sip:@example.com",
            "sip:user@-bad.example.com",
            "sip:user@256.1.1.1",
            "sip:user@[2001:db8::1",
        ] {
            assert!(SipUri::parse(u).is_err(), "{u}");
        }
    }

    #[test]
    fn checks_other_schemes_loosely() {
        for u in [
            "urn:service:sos",
            "did:example:123456789abcdefghi",
            "cid:target123@atlanta.example.com",
            "soap.beep://192.0.2.103:3002",
            "tel:+1-201-555-0123",
            "http://[2001:db8::1]/x?y=z",
        ] {
            check_uri(u).unwrap();
        }
        for u in [
            "no-scheme",
            "1x:abc",
            "urn:a b",
            "urn:a\"b",
            "urn:a#b",
            "x:",
        ] {
            assert!(check_uri(u).is_err(), "{u}");
        }
    }

    #[test]
    fn escapes_round_trip() {
        let s = "SIP;cause=302;text=\"Moved Temporarily\"";
        let e = percent_encode(s, is_hvalue_char);
        assert_eq!(e, "SIP%3Bcause%3D302%3Btext%3D%22Moved%20Temporarily%22");
        assert_eq!(percent_decode(&e).unwrap(), s);
        assert!(percent_decode("%4").is_err());
        assert!(percent_decode("%FF").is_err());
    }
}
