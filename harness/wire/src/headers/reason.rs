//! Reason (RFC 3326), also carried escaped inside History-Info URIs (RFC 4244).

use std::fmt;

use super::{all_values, bad, list};
use crate::sip::{is_token_char, raw_params, write_params, write_quoted, Param, SipMessage};
use crate::WireError;

/// `reason-value = protocol *( ";" reason-params )` with `cause=1*DIGIT` and
/// `text=quoted-string` split out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The protocol: `SIP`, `Q.850` or another token.
    pub protocol: String,
    /// The `cause` parameter.
    pub cause: Option<u32>,
    /// The `text` parameter, unquoted.
    pub text: Option<String>,
    /// Other (extension) parameters, in order.
    pub params: Vec<Param>,
}

impl Reason {
    /// The header name.
    pub const NAME: &'static str = "Reason";

    /// A reason with a protocol and a cause.
    pub fn new(protocol: &str, cause: u32) -> Self {
        Self {
            protocol: protocol.to_string(),
            cause: Some(cause),
            text: None,
            params: Vec::new(),
        }
    }

    /// `SIP;cause=code;text="text"`.
    pub fn sip(code: u16, text: &str) -> Self {
        Self::new("SIP", u32::from(code)).with_text(text)
    }

    /// Sets the text (builder style).
    pub fn with_text(mut self, text: &str) -> Self {
        self.text = Some(text.to_string());
        self
    }

    /// Parses one reason-value.
    pub fn parse(value: &str) -> Result<Self, WireError> {
        let value = value.trim();
        let (protocol, params) = match value.find(';') {
            Some(i) => (value[..i].trim_end(), Some(&value[i + 1..])),
            None => (value, None),
        };
        if protocol.is_empty() || !protocol.bytes().all(is_token_char) {
            return Err(bad(
                Self::NAME,
                format!("protocol {protocol:?} is not a token"),
            ));
        }
        let mut out = Self {
            protocol: protocol.to_string(),
            cause: None,
            text: None,
            params: Vec::new(),
        };
        for p in params.map(raw_params).into_iter().flatten() {
            let p = p.map_err(|e| bad(Self::NAME, e))?;
            if p.name.eq_ignore_ascii_case("cause") {
                let v = p.value.unwrap_or("");
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad(Self::NAME, format!("cause {v:?} is not 1*DIGIT")));
                }
                let n = v
                    .parse()
                    .map_err(|_| bad(Self::NAME, format!("cause {v} is out of range")))?;
                if out.cause.replace(n).is_some() {
                    return Err(bad(Self::NAME, "cause appears twice"));
                }
            } else if p.name.eq_ignore_ascii_case("text") {
                if !p.value.is_some_and(|v| v.starts_with('"')) {
                    return Err(bad(Self::NAME, "text must be a quoted-string"));
                }
                let t = p.value().map(std::borrow::Cow::into_owned);
                if std::mem::replace(&mut out.text, t).is_some() {
                    return Err(bad(Self::NAME, "text appears twice"));
                }
            } else {
                out.params.push(p.to_param());
            }
        }
        Ok(out)
    }

    /// Parses a header line holding a comma-separated list.
    pub fn parse_list(line: &str) -> Result<Vec<Self>, WireError> {
        list(Self::NAME, line, Self::parse)
    }

    /// Every Reason value of the message.
    pub fn all_from(msg: &SipMessage) -> Result<Vec<Self>, WireError> {
        all_values(msg, Self::NAME, Self::parse)
    }

    /// Whether the protocol is `protocol` (case-insensitive).
    pub fn is_protocol(&self, protocol: &str) -> bool {
        self.protocol.eq_ignore_ascii_case(protocol)
    }
}

impl fmt::Display for Reason {
    /// `protocol;cause=N;text="…";other-params`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.protocol)?;
        if let Some(c) = self.cause {
            write!(f, ";cause={c}")?;
        }
        if let Some(t) = &self.text {
            f.write_str(";text=")?;
            write_quoted(f, t)?;
        }
        write_params(f, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc3326_examples() {
        let r = Reason::parse("SIP ;cause=200 ;text=\"Call completed elsewhere\"").unwrap();
        assert!(r.is_protocol("sip"));
        assert_eq!(r.cause, Some(200));
        assert_eq!(r.text.as_deref(), Some("Call completed elsewhere"));
        assert_eq!(
            r.to_string(),
            "SIP;cause=200;text=\"Call completed elsewhere\""
        );
        let rs = Reason::parse_list("Q.850;cause=16;text=\"Terminated\", SIP;cause=600").unwrap();
        assert_eq!(rs.len(), 2);
        assert_eq!(rs[0].protocol, "Q.850");
        let r = Reason::parse("SIP;cause=302;text=\"a \\\"b\\\"\";x-ext=1").unwrap();
        assert_eq!(r.text.as_deref(), Some("a \"b\""));
        assert_eq!(r.to_string(), "SIP;cause=302;text=\"a \\\"b\\\"\";x-ext=1");
        assert_eq!(
            Reason::sip(302, "Moved").to_string(),
            "SIP;cause=302;text=\"Moved\""
        );
    }

    #[test]
    fn rejects_malformed() {
        for v in [
            "",
            ";cause=1",
            "SIP;cause=abc",
            "SIP;cause=",
            "SIP;cause=99999999999",
            "SIP;text=unquoted",
            "SIP;text=\"unterminated",
            "SIP;cause=1;cause=2",
            "S IP;cause=1",
        ] {
            assert!(Reason::parse(v).is_err(), "{v:?}");
        }
    }
}
