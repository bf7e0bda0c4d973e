//! P-Asserted-Identity (RFC 3325 9.1).

use std::fmt;

use super::bad;
use crate::sip::{check_uri, split_list, NameAddr, SipMessage};
use crate::WireError;

/// `P-Asserted-Identity: PAssertedID-value *( "," PAssertedID-value )`,
/// `PAssertedID-value = name-addr / addr-spec` (no header parameters).
///
/// RFC 3325 9.1 allows one or two values; with two, one is a `sip`/`sips` URI and the other a
/// `tel` URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PAssertedIdentity {
    /// The asserted identities (one or two).
    pub identities: Vec<NameAddr>,
}

fn parse_value(value: &str) -> Result<NameAddr, WireError> {
    let name = PAssertedIdentity::NAME;
    let mut na = NameAddr::parse(name, value)?;
    if na.bracketed {
        if !na.params.is_empty() {
            return Err(bad(
                name,
                "P-Asserted-Identity values take no parameters (RFC 3325 9.1)",
            ));
        }
    } else if !na.params.is_empty() {
        // Without header parameters, everything after ';' in an addr-spec belongs to the URI.
        let uri = value.trim();
        check_uri(uri).map_err(|e| bad(name, e.to_string()))?;
        na.uri = uri.to_string();
        na.params.clear();
    }
    Ok(na)
}

impl PAssertedIdentity {
    /// The header name.
    pub const NAME: &'static str = "P-Asserted-Identity";

    /// One asserted identity.
    pub fn new(identity: NameAddr) -> Self {
        Self {
            identities: vec![identity],
        }
    }

    /// Parses a header line (one or two comma-separated values).
    pub fn parse(value: &str) -> Result<Self, WireError> {
        let identities = split_list(value)
            .map(parse_value)
            .collect::<Result<Vec<_>, _>>()?;
        Self::check(identities)
    }

    fn check(identities: Vec<NameAddr>) -> Result<Self, WireError> {
        match identities.as_slice() {
            [] => Err(bad(Self::NAME, "no value")),
            [_] => Ok(Self { identities }),
            [a, b] => {
                let sip = |n: &NameAddr| n.has_scheme("sip") || n.has_scheme("sips");
                if (sip(a) && b.has_scheme("tel")) || (a.has_scheme("tel") && sip(b)) {
                    Ok(Self { identities })
                } else {
                    Err(bad(
                        Self::NAME,
                        "two values must be one sip/sips URI and one tel URI (RFC 3325 9.1)",
                    ))
                }
            }
            more => Err(bad(
                Self::NAME,
                format!("{} values, at most two allowed (RFC 3325 9.1)", more.len()),
            )),
        }
    }

    /// The identities of all P-Asserted-Identity lines of the message, if any.
    pub fn from_message(msg: &SipMessage) -> Result<Option<Self>, WireError> {
        let identities = msg
            .header_values(Self::NAME)
            .map(parse_value)
            .collect::<Result<Vec<_>, _>>()?;
        if identities.is_empty() {
            return Ok(None);
        }
        Self::check(identities).map(Some)
    }

    /// The `sip` or `sips` identity, if any.
    pub fn sip(&self) -> Option<&NameAddr> {
        self.identities
            .iter()
            .find(|n| n.has_scheme("sip") || n.has_scheme("sips"))
    }

    /// The `tel` identity, if any.
    pub fn tel(&self) -> Option<&NameAddr> {
        self.identities.iter().find(|n| n.has_scheme("tel"))
    }
}

impl fmt::Display for PAssertedIdentity {
    /// Values in name-addr form, separated by `, `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.identities.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            let mut id = id.clone();
            id.bracketed = true;
            id.fmt(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{Method, RequestBuilder};

    #[test]
    fn parses_rfc3325_examples() {
        let p = PAssertedIdentity::parse("\"Cullen Jennings\" <sip:fluffy@cisco.com>").unwrap();
        assert_eq!(p.sip().unwrap().display.as_deref(), Some("Cullen Jennings"));
        let p = PAssertedIdentity::parse("tel:+14085264000").unwrap();
        assert_eq!(p.tel().unwrap().uri, "tel:+14085264000");
        let p = PAssertedIdentity::parse("sip:+43123@ims.example.at;user=phone").unwrap();
        assert_eq!(p.identities[0].uri, "sip:+43123@ims.example.at;user=phone");
        assert_eq!(p.to_string(), "<sip:+43123@ims.example.at;user=phone>");
        let msg = RequestBuilder::new(Method::Message, "urn:service:sos")
            .header("P-Asserted-Identity", "<sip:alice@example.at>")
            .header("P-Asserted-Identity", "<tel:+43123>")
            .build();
        let p = PAssertedIdentity::from_message(&msg).unwrap().unwrap();
        assert_eq!(p.to_string(), "<sip:alice@example.at>, <tel:+43123>");
    }

    #[test]
    fn rejects_invalid() {
        for v in [
            "<sip:a@b>;tag=1",
            "<sip:a@b>, <sip:c@d>",
            "<tel:+1>, <tel:+2>",
            "<sip:a@b>, <tel:+1>, <sip:c@d>",
            "",
            "Bell, Alexander <sip:a@b>",
        ] {
            assert!(PAssertedIdentity::parse(v).is_err(), "{v}");
        }
    }
}
