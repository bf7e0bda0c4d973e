//! Reply-To (RFC 3261 20.31): the public identity of a PSAP (TS 103 698 Table 1).

use std::fmt;

use super::bad;
use crate::sip::{split_list, NameAddr, SipMessage};
use crate::WireError;

/// `Reply-To: ( name-addr / addr-spec ) *( ";" generic-param )`; exactly one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    /// The address with its parameters.
    pub addr: NameAddr,
}

impl ReplyTo {
    /// The header name.
    pub const NAME: &'static str = "Reply-To";

    /// A Reply-To for this address.
    pub fn new(addr: NameAddr) -> Self {
        Self { addr }
    }

    /// Parses the value (a single name-addr or addr-spec, not a list).
    pub fn parse(value: &str) -> Result<Self, WireError> {
        let mut items = split_list(value);
        let first = items.next().ok_or_else(|| bad(Self::NAME, "empty value"))?;
        if items.next().is_some() {
            return Err(bad(Self::NAME, "Reply-To takes exactly one address"));
        }
        NameAddr::parse(Self::NAME, first).map(Self::new)
    }

    /// The message's Reply-To, if present; an error if it is malformed or appears more than once.
    pub fn from_message(msg: &SipMessage) -> Result<Option<Self>, WireError> {
        let mut lines = msg.headers_named(Self::NAME);
        let Some(first) = lines.next() else {
            return Ok(None);
        };
        if lines.next().is_some() {
            return Err(bad(Self::NAME, "header appears more than once"));
        }
        Self::parse(first).map(Some)
    }

    /// The URI.
    pub fn uri(&self) -> &str {
        &self.addr.uri
    }
}

impl fmt::Display for ReplyTo {
    /// The address in name-addr form (`"Name" <uri>;params` or `<uri>;params`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut addr = self.addr.clone();
        addr.bracketed = true;
        addr.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{Method, RequestBuilder};

    #[test]
    fn parses_and_prints() {
        let r = ReplyTo::parse("\"PSAP Wien\" <sip:psap@wien.example.at>;x=1").unwrap();
        assert_eq!(r.uri(), "sip:psap@wien.example.at");
        assert_eq!(
            r.to_string(),
            "\"PSAP Wien\" <sip:psap@wien.example.at>;x=1"
        );
        let r = ReplyTo::parse("sip:psap@example.at").unwrap();
        assert_eq!(r.to_string(), "<sip:psap@example.at>");
        assert!(ReplyTo::parse("<sip:a@b>, <sip:c@d>").is_err());
        assert!(ReplyTo::parse("PSAP, Wien <sip:a@b>").is_err());
        let msg = RequestBuilder::new(Method::Message, "sip:a@b")
            .header("Reply-To", "<sip:psap@example.at>")
            .build();
        assert_eq!(
            ReplyTo::from_message(&msg).unwrap().unwrap().uri(),
            "sip:psap@example.at"
        );
    }
}
