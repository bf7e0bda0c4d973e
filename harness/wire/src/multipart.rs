//! `multipart/*` bodies (RFC 2046 5.1, RFC 5621) and the LMPE body shape (TS 103 698 6.1.2.8).
//!
//! Parsing follows RFC 2046: the boundary parameter may be quoted; a delimiter is `--boundary`
//! at the start of a line, optionally followed by linear white space, and the line break before
//! it belongs to the delimiter; the close delimiter is `--boundary--`; preamble and epilogue are
//! ignored. Body bytes are kept exactly (binary parts included). LF-only line ends are accepted
//! as well as CRLF.
//!
//! [`Multipart::parse`] has one documented leniency for interoperability with ng112-js and
//! similar stacks: when no RFC 2046 opening *or* close delimiter exists, delimiter lines are
//! matched as "two or more dashes, then the boundary without its leading dashes", and a missing
//! close delimiter ends the last part at the end of the body. [`Multipart::lenient_delimiters`]
//! records that this was needed; [`Multipart::parse_strict`] never does it.

use std::fmt;

use crate::headers::{media_type_is, ContentType, Geolocation, LocationValue};
use crate::sip::{is_token_char, percent_decode, Header, SipMessage};
use crate::WireError;

fn err(reason: impl Into<String>) -> WireError {
    WireError::Multipart(reason.into())
}

/// One body part: its MIME headers and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Part headers in order (`Content-Type`, `Content-ID`, `Content-Disposition`, …).
    pub headers: Vec<Header>,
    /// The part body, byte-exact.
    pub body: Vec<u8>,
}

impl Part {
    /// A part with a Content-Type.
    pub fn new(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            headers: vec![Header {
                name: "Content-Type".into(),
                value: content_type.to_string(),
            }],
            body: body.into(),
        }
    }

    /// Appends a header (builder style).
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push(Header {
            name: name.to_string(),
            value: value.into(),
        });
        self
    }

    /// Sets `Content-ID: <id>` (builder style; `id` without angle brackets).
    pub fn with_content_id(self, id: &str) -> Self {
        self.with_header("Content-ID", format!("<{id}>"))
    }

    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The Content-Type value, if present.
    pub fn content_type(&self) -> Option<&str> {
        self.header("Content-Type")
    }

    /// The Content-ID without its angle brackets (RFC 2045 7), if present.
    pub fn content_id(&self) -> Option<&str> {
        self.header("Content-ID").map(|v| {
            let v = v.trim();
            v.strip_prefix('<')
                .and_then(|x| x.strip_suffix('>'))
                .unwrap_or(v)
        })
    }

    /// The Content-Disposition value, if present.
    pub fn content_disposition(&self) -> Option<&str> {
        self.header("Content-Disposition")
    }

    /// Whether the media type is `essence` (`"type/subtype"`, case-insensitive, parameters
    /// ignored). A part without Content-Type is `text/plain` (RFC 2045 5.2).
    pub fn is_media_type(&self, essence: &str) -> bool {
        match self.content_type() {
            Some(ct) => media_type_is(ct, essence),
            None => essence.eq_ignore_ascii_case("text/plain"),
        }
    }

    /// The body as UTF-8 text, if it is valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        crate::sip::write_header_block(&self.headers, &self.body, out);
    }
}

/// A multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    /// The multipart subtype, e.g. `mixed`.
    pub subtype: String,
    /// The boundary (without the leading `--`).
    pub boundary: String,
    /// The parts in order.
    pub parts: Vec<Part>,
    /// True when parsing needed the ng112-js-compatible delimiter matching (see the module docs).
    pub lenient_delimiters: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Strict,
    Lenient,
}

struct Delimiter {
    /// Offset where the line break before the delimiter starts (end of the previous part).
    prev_end: usize,
    /// Offset after the delimiter line's line break (start of the next part).
    next_start: usize,
    close: bool,
}

/// RFC 2046 `bcharsnospace` and space.
fn is_bchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&b)
}

fn check_boundary(b: &str) -> Result<(), WireError> {
    if b.is_empty() || b.len() > 70 {
        return Err(err(format!(
            "boundary {b:?} must have 1 to 70 characters (RFC 2046 5.1.1)"
        )));
    }
    if let Some(c) = b.bytes().find(|&c| !is_bchar(c)) {
        return Err(err(format!(
            "boundary {b:?} contains {:?}, not a bchar (RFC 2046 5.1.1)",
            char::from(c)
        )));
    }
    if b.ends_with(' ') {
        return Err(err(format!("boundary {b:?} ends with a space")));
    }
    Ok(())
}

/// Finds the delimiter at line start `p`, if there is one.
fn delimiter_at(body: &[u8], p: usize, boundary: &[u8], mode: Mode) -> Option<Delimiter> {
    let rest = &body[p..];
    let dashes = match mode {
        Mode::Strict => {
            if !rest.starts_with(b"--") {
                return None;
            }
            2
        }
        Mode::Lenient => {
            let d = rest.iter().take_while(|&&b| b == b'-').count();
            if d < 2 {
                return None;
            }
            d
        }
    };
    let mut q = p + dashes;
    if !body[q..].starts_with(boundary) {
        return None;
    }
    q += boundary.len();
    let close = body[q..].starts_with(b"--");
    if close {
        q += 2;
    }
    while q < body.len() && (body[q] == b' ' || body[q] == b'\t') {
        q += 1;
    }
    let next_start = if q == body.len() {
        q
    } else if body[q..].starts_with(b"\r\n") {
        q + 2
    } else if body[q] == b'\n' {
        q + 1
    } else {
        return None;
    };
    let prev_end = if p >= 2 && &body[p - 2..p] == b"\r\n" {
        p - 2
    } else {
        p.saturating_sub(1)
    };
    Some(Delimiter {
        prev_end,
        next_start,
        close,
    })
}

/// Iterates over the delimiters of `body`, in order.
fn delimiters<'a>(
    body: &'a [u8],
    boundary: &'a [u8],
    mode: Mode,
) -> impl Iterator<Item = Delimiter> + 'a {
    let line_starts = std::iter::once(0).chain(
        body.iter()
            .enumerate()
            .filter(|(_, &b)| b == b'\n')
            .map(|(i, _)| i + 1)
            .filter(move |&i| i < body.len()),
    );
    line_starts.filter_map(move |p| delimiter_at(body, p, boundary, mode))
}

/// Splits a body into part byte ranges.
fn frame(body: &[u8], boundary: &[u8], mode: Mode) -> Result<Vec<(usize, usize)>, String> {
    let mut it = delimiters(body, boundary, mode);
    let b = String::from_utf8_lossy(boundary);
    let first = match it.next() {
        Some(d) if !d.close => d,
        Some(_) => {
            return Err(format!(
                "close delimiter --{b}-- before any opening delimiter --{b}"
            ))
        }
        None => return Err(format!("no delimiter line --{b} at the start of a line")),
    };
    let mut ranges = Vec::new();
    let mut start = first.next_start;
    for d in it {
        ranges.push((start, d.prev_end.max(start)));
        if d.close {
            return Ok(ranges);
        }
        start = d.next_start;
    }
    match mode {
        Mode::Strict => Err(format!("no close delimiter --{b}--")),
        Mode::Lenient => {
            ranges.push((start, body.len()));
            Ok(ranges)
        }
    }
}

/// Parses one part: header lines up to the first empty line, then the body.
fn parse_part(bytes: &[u8], n: usize) -> Result<Part, WireError> {
    let mut headers: Vec<Header> = Vec::new();
    let mut pos = 0;
    let body_start = loop {
        if pos >= bytes.len() {
            break bytes.len();
        }
        let (line, next) = match bytes[pos..].iter().position(|&b| b == b'\n') {
            Some(i) => (&bytes[pos..pos + i], pos + i + 1),
            None => (&bytes[pos..], bytes.len()),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break next;
        }
        let text = std::str::from_utf8(line)
            .map_err(|_| err(format!("part {n}: header line is not UTF-8")))?;
        if text.starts_with([' ', '\t']) {
            let Some(last) = headers.last_mut() else {
                return Err(err(format!(
                    "part {n}: continuation line {text:?} before any header"
                )));
            };
            last.value.push(' ');
            last.value.push_str(text.trim());
        } else {
            let (name, value) = text.split_once(':').ok_or_else(|| {
                err(format!(
                    "part {n}: header line {text:?} is not `Name: value`"
                ))
            })?;
            let name = name.trim_end();
            if name.is_empty() || !name.bytes().all(is_token_char) {
                return Err(err(format!(
                    "part {n}: header name {name:?} is not a token"
                )));
            }
            headers.push(Header {
                name: name.to_string(),
                value: value.trim().to_string(),
            });
        }
        pos = next;
    };
    Ok(Part {
        headers,
        body: bytes[body_start..].to_vec(),
    })
}

impl Multipart {
    /// A `multipart/mixed` body with a boundary that occurs in none of the parts.
    pub fn new(parts: Vec<Part>) -> Self {
        let boundary = choose_boundary(&parts);
        Self {
            subtype: "mixed".into(),
            boundary,
            parts,
            lenient_delimiters: false,
        }
    }

    /// A body with a caller-chosen boundary; fails if the boundary is malformed or occurs in a part.
    pub fn with_boundary(boundary: &str, parts: Vec<Part>) -> Result<Self, WireError> {
        check_boundary(boundary)?;
        let m = Self {
            subtype: "mixed".into(),
            boundary: boundary.to_string(),
            parts,
            lenient_delimiters: false,
        };
        if !m.boundary_is_safe() {
            return Err(err(format!("boundary {boundary:?} occurs inside a part")));
        }
        Ok(m)
    }

    /// Parses a body given the Content-Type header value (see the module docs for the one
    /// leniency).
    pub fn parse(content_type_value: &str, body: &[u8]) -> Result<Self, WireError> {
        Self::parse_with(content_type_value, body, true)
    }

    /// Parses a body strictly per RFC 2046 (no lenient delimiter fallback).
    pub fn parse_strict(content_type_value: &str, body: &[u8]) -> Result<Self, WireError> {
        Self::parse_with(content_type_value, body, false)
    }

    fn parse_with(content_type_value: &str, body: &[u8], lenient: bool) -> Result<Self, WireError> {
        let ct = ContentType::parse(content_type_value).map_err(|e| err(e.to_string()))?;
        if !ct.is_multipart() {
            return Err(err(format!(
                "Content-Type {content_type_value:?} is not multipart/*"
            )));
        }
        let boundary = ct
            .param("boundary")
            .ok_or_else(|| err("Content-Type has no boundary parameter"))?
            .to_string();
        let boundary = boundary.as_str();
        check_boundary(boundary)?;
        let (ranges, used_lenient) = match frame(body, boundary.as_bytes(), Mode::Strict) {
            Ok(r) => (r, false),
            Err(strict) => {
                let stripped = boundary.trim_start_matches('-');
                match (lenient && !stripped.is_empty())
                    .then(|| frame(body, stripped.as_bytes(), Mode::Lenient))
                {
                    Some(Ok(r)) => (r, true),
                    _ => return Err(err(strict)),
                }
            }
        };
        let parts = ranges
            .iter()
            .enumerate()
            .map(|(i, &(s, e))| parse_part(&body[s..e], i + 1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            subtype: ct.subtype.clone(),
            boundary: boundary.to_string(),
            parts,
            lenient_delimiters: used_lenient,
        })
    }

    /// Whether `--boundary` occurs in none of the parts (headers or bodies).
    pub fn boundary_is_safe(&self) -> bool {
        let needle = format!("--{}", self.boundary);
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        !self.parts.iter().any(|p| part_contains(p, &finder))
    }

    /// Picks a new boundary that occurs in none of the parts.
    pub fn renew_boundary(&mut self) {
        self.boundary = choose_boundary(&self.parts);
    }

    /// The Content-Type header value: `multipart/<subtype>; boundary=<boundary>` (quoted when
    /// the boundary is not a token).
    pub fn content_type_value(&self) -> String {
        if self.boundary.bytes().all(is_token_char) {
            format!("multipart/{}; boundary={}", self.subtype, self.boundary)
        } else {
            format!("multipart/{}; boundary=\"{}\"", self.subtype, self.boundary)
        }
    }

    /// Serialises the body with CRLF line ends: each part as `--boundary CRLF headers CRLF
    /// body`, parts separated by CRLF, then `CRLF --boundary-- CRLF`. The boundary is used as
    /// is (see [`boundary_is_safe`](Self::boundary_is_safe)). A body without parts is not valid
    /// RFC 2046; it is written as the close delimiter alone.
    pub fn to_bytes(&self) -> Vec<u8> {
        let b = self.boundary.as_bytes();
        let size: usize = self
            .parts
            .iter()
            .map(|p| p.body.len() + p.headers.len() * 40 + b.len() + 8)
            .sum();
        let mut out = Vec::with_capacity(size + b.len() + 8);
        for (i, p) in self.parts.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"--");
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
            p.write_to(&mut out);
        }
        if !self.parts.is_empty() {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--");
        out.extend_from_slice(b);
        out.extend_from_slice(b"--\r\n");
        out
    }

    /// The part whose Content-ID matches a `cid:` URL or bare content id (RFC 2392: the URL is
    /// `%`-decoded, compared case-insensitively with the Content-ID inside `<>`).
    pub fn find_by_cid(&self, cid: &str) -> Option<&Part> {
        find_by_cid(&self.parts, cid)
    }

    /// The parts with media type `essence` (`"type/subtype"`).
    pub fn parts_of_type<'a>(&'a self, essence: &'a str) -> impl Iterator<Item = &'a Part> + 'a {
        self.parts.iter().filter(move |p| p.is_media_type(essence))
    }
}

impl fmt::Display for Multipart {
    /// The serialised body as text (non-UTF-8 bytes replaced).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

fn part_contains(p: &Part, needle: &memchr::memmem::Finder<'_>) -> bool {
    let has = |hay: &[u8]| needle.find(hay).is_some();
    has(&p.body) || p.headers.iter().any(|h| has(h.value.as_bytes()))
}

/// A hash of `bytes` eight at a time (multiply-rotate): deterministic, varies with the content.
fn hash_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    let mut w = [0u8; 8];
    w[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h ^ u64::from_le_bytes(w) ^ bytes.len() as u64)
        .wrapping_mul(K)
        .rotate_left(29);
    h
}

fn choose_boundary(parts: &[Part]) -> String {
    // A hash of the content: deterministic (reproducible tests), varies with the content.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        h = hash_bytes(h, &p.body);
        for header in &p.headers {
            h = hash_bytes(h, header.value.as_bytes());
        }
    }
    let mut salt: u64 = 0;
    loop {
        let candidate = format!("lmpe-{:016x}", h ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let needle = format!("--{candidate}");
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        if !parts.iter().any(|p| part_contains(p, &finder)) {
            return candidate;
        }
        salt += 1;
    }
}

/// The part whose Content-ID matches `cid`: a `cid:` URL (`%`-decoded per RFC 2392) or a bare
/// content id (with or without `<>`), compared ASCII case-insensitively.
pub fn find_by_cid<'a>(parts: &'a [Part], cid: &str) -> Option<&'a Part> {
    let id = match cid.get(..4) {
        Some(s) if s.eq_ignore_ascii_case("cid:") => percent_decode(&cid[4..]).ok()?,
        _ => std::borrow::Cow::Borrowed(cid.trim().trim_start_matches('<').trim_end_matches('>')),
    };
    find_by_id(parts, &id)
}

fn find_by_id<'a>(parts: &'a [Part], id: &str) -> Option<&'a Part> {
    parts
        .iter()
        .find(|p| p.content_id().is_some_and(|c| c.eq_ignore_ascii_case(id)))
}

/// The body of a message as parts: the parts of a `multipart/*` body, or the whole body as one
/// part carrying the message's `Content-*` headers, or nothing for an empty body.
pub fn body_parts(msg: &SipMessage) -> Result<Vec<Part>, WireError> {
    match msg.content_type() {
        Some(ct)
            if ct
                .trim_start()
                .get(..10)
                .is_some_and(|s| s.eq_ignore_ascii_case("multipart/")) =>
        {
            Multipart::parse(ct, &msg.body).map(|m| m.parts)
        }
        _ if msg.body.is_empty() => Ok(Vec::new()),
        _ => {
            let headers = [
                "Content-Type",
                "Content-ID",
                "Content-Disposition",
                "Content-Encoding",
                "Content-Language",
                "Content-Transfer-Encoding",
            ]
            .into_iter()
            .filter_map(|n| {
                msg.header(n).map(|v| Header {
                    name: n.to_string(),
                    value: v.to_string(),
                })
            })
            .collect();
            Ok(vec![Part {
                headers,
                body: msg.body.clone(),
            }])
        }
    }
}

/// The LMPE body shape (TS 103 698 6.1.2.8): chat text as `text/plain; charset=utf-8`, an
/// optional PIDF-LO part referenced by `Geolocation: <cid:…>`, and any other parts (images,
/// vCards, eCall MSD, …) passed through untouched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LmpeBody {
    /// The chat text (the first `text/plain` part), if any.
    pub text: Option<String>,
    /// The location part (`application/pidf+xml` with a Content-ID), if any.
    pub location: Option<Part>,
    /// Every other part, untouched, in order.
    pub others: Vec<Part>,
}

impl LmpeBody {
    /// The Content-Type of chat text.
    pub const TEXT_CONTENT_TYPE: &'static str = "text/plain; charset=utf-8";
    /// The Content-Type of a PIDF-LO location.
    pub const PIDF_CONTENT_TYPE: &'static str = "application/pidf+xml";

    /// A body with chat text only.
    pub fn text(text: &str) -> Self {
        Self {
            text: Some(text.to_string()),
            ..Self::default()
        }
    }

    /// Adds a PIDF-LO location part with this Content-ID (builder style).
    pub fn with_location(mut self, pidf_xml: impl Into<Vec<u8>>, content_id: &str) -> Self {
        self.location =
            Some(Part::new(Self::PIDF_CONTENT_TYPE, pidf_xml).with_content_id(content_id));
        self
    }

    /// Adds another part, passed through untouched (builder style).
    pub fn with_part(mut self, part: Part) -> Self {
        self.others.push(part);
        self
    }

    /// Splits a message body into the LMPE shape. The location is the part whose Content-ID a
    /// `cid:` Geolocation value references; an error if such a reference has no part, if the
    /// text is not UTF-8, or if the body or Geolocation header is malformed.
    pub fn from_message(msg: &SipMessage) -> Result<Self, WireError> {
        let parts = body_parts(msg)?;
        let geo = Geolocation::from_message(msg)?;
        let ids = geo
            .iter()
            .flat_map(Geolocation::content_ids)
            .map(|c| percent_decode(c).map_err(|e| err(format!("Geolocation cid:{c}: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        for id in &ids {
            if find_by_id(&parts, id).is_none() {
                return Err(err(format!(
                    "Geolocation references cid:{id} but no body part has Content-ID <{id}>"
                )));
            }
        }
        let mut out = Self::default();
        for part in parts {
            let referenced = part
                .content_id()
                .is_some_and(|c| ids.iter().any(|id| id.eq_ignore_ascii_case(c)));
            if out.location.is_none() && referenced {
                out.location = Some(part);
            } else if out.text.is_none() && part.is_media_type("text/plain") {
                let text = String::from_utf8(part.body)
                    .map_err(|_| err("the text/plain chat part is not valid UTF-8"))?;
                out.text = Some(text);
            } else {
                out.others.push(part);
            }
        }
        Ok(out)
    }

    /// The Geolocation value that references the location part (`<cid:…>`), if there is one.
    pub fn geolocation(&self) -> Option<LocationValue> {
        self.location
            .as_ref()
            .and_then(Part::content_id)
            .map(LocationValue::cid)
    }

    /// The body to send: `None` when empty; chat text alone as `text/plain; charset=utf-8`;
    /// otherwise `multipart/mixed` with the text first, then the location, then the other parts.
    /// Returns the Content-Type value and the bytes. Fails if the location part has no Content-ID.
    pub fn encode(&self) -> Result<Option<(String, Vec<u8>)>, WireError> {
        if let Some(loc) = &self.location {
            if loc.content_id().is_none_or(str::is_empty) {
                return Err(err(
                    "the location part needs a Content-ID for Geolocation: <cid:…>",
                ));
            }
        }
        if self.location.is_none() && self.others.is_empty() {
            return Ok(self
                .text
                .as_ref()
                .map(|t| (Self::TEXT_CONTENT_TYPE.to_string(), t.as_bytes().to_vec())));
        }
        let mut parts = Vec::with_capacity(self.others.len() + 2);
        if let Some(t) = &self.text {
            parts.push(Part::new(Self::TEXT_CONTENT_TYPE, t.as_bytes()));
        }
        parts.extend(self.location.iter().cloned());
        parts.extend(self.others.iter().cloned());
        let m = Multipart::new(parts);
        Ok(Some((m.content_type_value(), m.to_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_boundary_preamble_epilogue_and_padding() {
        let body = b"preamble\r\n--a b\t \r\nContent-Type: text/plain\r\n\r\none\r\n--a b\r\n\r\ntwo\r\n--a b--  \r\nepilogue";
        let m = Multipart::parse("multipart/mixed; boundary=\"a b\"", body).unwrap();
        assert_eq!(m.parts.len(), 2);
        assert_eq!(m.parts[0].body, b"one");
        assert!(m.parts[1].headers.is_empty());
        assert_eq!(m.parts[1].body, b"two");
        assert!(m.parts[1].is_media_type("text/plain"));
        assert!(!m.lenient_delimiters);
    }

    #[test]
    fn lf_only_and_folded_part_headers() {
        let body = b"--b\nContent-Type: text/plain;\n charset=utf-8\n\nhi\n--b--\n";
        let m = Multipart::parse("multipart/mixed;boundary=b", body).unwrap();
        assert_eq!(m.parts[0].content_type(), Some("text/plain; charset=utf-8"));
        assert_eq!(m.parts[0].body, b"hi");
    }

    #[test]
    fn errors_are_precise() {
        let e = |ct: &str, b: &[u8]| Multipart::parse(ct, b).unwrap_err().to_string();
        assert!(e("text/plain", b"").contains("not multipart"));
        assert!(e("multipart/mixed", b"").contains("no boundary"));
        assert!(e("multipart/mixed;boundary=\"a@b\"", b"").contains("not a bchar"));
        assert!(e("multipart/mixed;boundary=b", b"--bx\r\n").contains("no delimiter"));
        let m = Multipart::parse("multipart/mixed;boundary=b", b"--b\r\n\r\nx").unwrap();
        assert!(m.lenient_delimiters && m.parts[0].body == b"x");
        assert!(
            Multipart::parse_strict("multipart/mixed;boundary=b", b"--b\r\n\r\nx")
                .unwrap_err()
                .to_string()
                .contains("no close delimiter")
        );
        assert!(e(
            "multipart/mixed;boundary=b",
            b"--b\r\nbad header\r\n\r\nx\r\n--b--"
        )
        .contains("part 1: header line"));
        assert!(
            Multipart::parse_strict("multipart/mixed;boundary=b", b"----b\r\n\r\nx\r\n--b--")
                .is_err()
        );
    }

    #[test]
    fn build_round_trip_and_cid_lookup() {
        let parts = vec![
            Part::new("text/plain; charset=utf-8", "Hilfe --lmpe- ünd"),
            Part::new("application/pidf+xml", "<presence/>").with_content_id("Loc%1@app.example"),
            Part::new("application/octet-stream", vec![0u8, 13, 10, 45, 45, 0xFF]),
        ];
        let m = Multipart::new(parts);
        assert!(m.boundary_is_safe());
        let bytes = m.to_bytes();
        let back = Multipart::parse_strict(&m.content_type_value(), &bytes).unwrap();
        assert_eq!(back, m);
        assert!(back.find_by_cid("cid:loc%251@APP.example").is_some());
        assert!(back.find_by_cid("Loc%1@app.example").is_some());
        assert!(back.find_by_cid("cid:other@app.example").is_none());
        assert_eq!(back.parts_of_type("TEXT/plain").count(), 1);
        assert!(Multipart::with_boundary("lmpe", vec![Part::new("text/plain", "--lmpe")]).is_err());
    }
}
