//! Content-Type (RFC 3261 20.15, RFC 2045 5.1).

use std::fmt;

use super::bad;
use crate::sip::{is_token_char, raw_params, Param, SipMessage};
use crate::WireError;

/// A media type with parameters: `type "/" subtype *( ";" attribute "=" value )`.
///
/// Type, subtype and parameter names compare case-insensitively; they are kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    /// The top-level type, e.g. `text`, `multipart`.
    pub mtype: String,
    /// The subtype, e.g. `plain`, `pidf+xml`.
    pub subtype: String,
    /// Parameters (`charset`, `boundary`, …), values unquoted.
    pub params: Vec<Param>,
}

impl ContentType {
    /// The header name.
    pub const NAME: &'static str = "Content-Type";

    /// A media type without parameters.
    pub fn new(mtype: &str, subtype: &str) -> Self {
        Self {
            mtype: mtype.to_string(),
            subtype: subtype.to_string(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter (builder style).
    pub fn with_param(mut self, name: &str, value: &str) -> Self {
        self.params.push(Param::new(name, value));
        self
    }

    /// Parses a Content-Type value (`media-type` of RFC 3261 25.1; LWS is allowed around `/`).
    pub fn parse(value: &str) -> Result<Self, WireError> {
        let value = value.trim();
        let (essence, params) = match value.find(';') {
            Some(i) => (&value[..i], Some(&value[i + 1..])),
            None => (value, None),
        };
        let (t, s) = split_essence(essence)
            .ok_or_else(|| bad(Self::NAME, format!("{value:?} is not type/subtype")))?;
        let mut out = Self::new(t, s);
        if let Some(params) = params {
            for p in raw_params(params) {
                let p = p.map_err(|e| bad(Self::NAME, e))?;
                let Some(v) = p.value else {
                    return Err(bad(
                        Self::NAME,
                        format!("media-type parameter {} has no value", p.name),
                    ));
                };
                if !v.starts_with('"') && !v.bytes().all(is_token_char) {
                    return Err(bad(
                        Self::NAME,
                        format!(
                            "value {v:?} of {} is neither token nor quoted-string",
                            p.name
                        ),
                    ));
                }
                out.params.push(p.to_param());
            }
        }
        Ok(out)
    }

    /// The message's Content-Type, if present.
    pub fn from_message(msg: &SipMessage) -> Result<Option<Self>, WireError> {
        msg.content_type().map(Self::parse).transpose()
    }

    /// Whether this is `mtype/subtype` (case-insensitive).
    pub fn is(&self, mtype: &str, subtype: &str) -> bool {
        self.mtype.eq_ignore_ascii_case(mtype) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// Whether the top-level type is `multipart`.
    pub fn is_multipart(&self) -> bool {
        self.mtype.eq_ignore_ascii_case("multipart")
    }

    /// The value of a parameter (name case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .and_then(|p| p.value.as_deref())
    }

    /// The `charset` parameter.
    pub fn charset(&self) -> Option<&str> {
        self.param("charset")
    }
}

impl fmt::Display for ContentType {
    /// `type/subtype; name=value` (one space after each `;`, as RFC examples and TS 103 698 write it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.mtype, self.subtype)?;
        for p in &self.params {
            write!(f, "; {p}")?;
        }
        Ok(())
    }
}

fn split_essence(essence: &str) -> Option<(&str, &str)> {
    let (t, s) = essence.split_once('/')?;
    let (t, s) = (t.trim(), s.trim());
    let token = |x: &str| !x.is_empty() && x.bytes().all(is_token_char);
    (token(t) && token(s)).then_some((t, s))
}

/// Whether a Content-Type header value has the media type `essence` (`"type/subtype"`),
/// ignoring parameters, LWS and case. Does not allocate or validate parameters.
pub fn media_type_is(value: &str, essence: &str) -> bool {
    let head = value.split(';').next().unwrap_or_default();
    match (split_essence(head), essence.split_once('/')) {
        (Some((t, s)), Some((et, es))) => t.eq_ignore_ascii_case(et) && s.eq_ignore_ascii_case(es),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let ct = ContentType::parse("multipart/mixed;boundary=\"a b\"").unwrap();
        assert!(ct.is("Multipart", "MIXED"));
        assert_eq!(ct.param("BOUNDARY"), Some("a b"));
        assert_eq!(ct.to_string(), "multipart/mixed; boundary=\"a b\"");
        let ct = ContentType::parse("text/plain ; charset=UTF-8").unwrap();
        assert_eq!(ct.charset(), Some("UTF-8"));
        assert!(ContentType::parse("application / sdp").is_ok());
        assert!(media_type_is("Text/Plain; charset=utf-8", "text/plain"));
        assert!(!media_type_is("text/plainx", "text/plain"));
    }

    #[test]
    fn rejects_malformed() {
        for v in [
            "text",
            "text/",
            "/plain",
            "text/plain;charset",
            "text/pl ain",
            "a/b;c=d e",
            "a/b;;c=d",
        ] {
            assert!(ContentType::parse(v).is_err(), "{v}");
        }
    }
}
