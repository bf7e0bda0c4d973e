//! Resource-Priority (RFC 4412 3.1) and the `esnet` namespace (RFC 7135, TS 103 698 6.1.2.5).

use std::fmt;

use super::bad;
use crate::sip::{split_list, SipMessage};
use crate::WireError;

const NAME: &str = "Resource-Priority";

/// RFC 4412 `token-nodot`: token characters without `.`.
fn is_token_nodot(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-!%*_+`'~".contains(&b)
}

/// Splits and validates `namespace "." r-priority` without allocating.
fn split_rvalue(text: &str) -> Result<(&str, &str), WireError> {
    let text = text.trim();
    let (ns, pr) = text.split_once('.').ok_or_else(|| {
        bad(
            NAME,
            format!("r-value {text:?} is not namespace.priority (RFC 4412 3.1)"),
        )
    })?;
    for (what, part) in [("namespace", ns), ("priority", pr)] {
        if part.is_empty() {
            return Err(bad(NAME, format!("r-value {text:?} has an empty {what}")));
        }
        if let Some(c) = part.bytes().find(|&b| !is_token_nodot(b)) {
            return Err(bad(
                NAME,
                format!(
                    "r-value {text:?}: {what} contains {:?}, not allowed in token-nodot",
                    char::from(c)
                ),
            ));
        }
    }
    Ok((ns, pr))
}

/// One r-value, `namespace.priority`. Both parts compare case-insensitively (RFC 4412 3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RValue {
    /// The namespace, e.g. `esnet`.
    pub namespace: String,
    /// The priority within the namespace, e.g. `1`.
    pub priority: String,
}

impl RValue {
    /// Parses one r-value.
    pub fn parse(text: &str) -> Result<Self, WireError> {
        let (ns, pr) = split_rvalue(text)?;
        Ok(Self {
            namespace: ns.to_string(),
            priority: pr.to_string(),
        })
    }

    /// Whether the namespace is `namespace` (case-insensitive).
    pub fn in_namespace(&self, namespace: &str) -> bool {
        self.namespace.eq_ignore_ascii_case(namespace)
    }

    /// The `esnet` priority: `None` for other namespaces, an error for an esnet priority that
    /// is not 0..=7.
    pub fn esnet(&self) -> Option<Result<Esnet, WireError>> {
        self.in_namespace(Esnet::NAMESPACE)
            .then(|| Esnet::parse_priority(&self.priority))
    }
}

impl fmt::Display for RValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.namespace, self.priority)
    }
}

/// A priority of the `esnet` namespace. Ordering follows priority: `esnet.2 > esnet.1 > esnet.0`,
/// so sorting a queue in descending order serves the most urgent first.
///
/// TS 103 698 Table 3: `esnet.0` calls related to an incident in progress (not critical, also
/// PSAP callbacks), `esnet.1` emergency calls (the default a BCF sets), `esnet.2` critical
/// incident-related calls, `esnet.3` to `esnet.7` not defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Esnet(u8);

impl Esnet {
    /// The namespace name.
    pub const NAMESPACE: &'static str = "esnet";
    /// `esnet.0`: incident in progress, not critical (PSAP callbacks during an incident).
    pub const INCIDENT: Self = Self(0);
    /// `esnet.1`: emergency calls traversing the ESInet (the BCF default).
    pub const EMERGENCY: Self = Self(1);
    /// `esnet.2`: incident in progress, deemed critical.
    pub const CRITICAL: Self = Self(2);
    /// The highest level accepted (`esnet.7`).
    pub const MAX: Self = Self(7);

    /// The level `n`, if 0..=7.
    pub const fn new(n: u8) -> Option<Self> {
        if n <= Self::MAX.0 {
            Some(Self(n))
        } else {
            None
        }
    }

    /// The numeric level.
    pub const fn level(self) -> u8 {
        self.0
    }

    fn parse_priority(p: &str) -> Result<Self, WireError> {
        if p.len() == 1 {
            if let Some(e) = p
                .bytes()
                .next()
                .filter(u8::is_ascii_digit)
                .and_then(|d| Self::new(d - b'0'))
            {
                return Ok(e);
            }
        }
        Err(bad(
            NAME,
            format!("esnet priority {p:?} is not one of 0..=7"),
        ))
    }

    /// Parses `esnet.N` (namespace case-insensitive).
    pub fn parse(text: &str) -> Result<Self, WireError> {
        let (ns, pr) = split_rvalue(text)?;
        if !ns.eq_ignore_ascii_case(Self::NAMESPACE) {
            return Err(bad(NAME, format!("{text:?} is not in the esnet namespace")));
        }
        Self::parse_priority(pr)
    }

    /// The highest `esnet` priority in the message's Resource-Priority headers, without
    /// allocating. Every r-value is validated; other namespaces are ignored.
    pub fn from_message(msg: &SipMessage) -> Result<Option<Self>, WireError> {
        let mut best = None;
        for v in msg.header_values(NAME) {
            let (ns, pr) = split_rvalue(v)?;
            if ns.eq_ignore_ascii_case(Self::NAMESPACE) {
                best = best.max(Some(Self::parse_priority(pr)?));
            }
        }
        Ok(best)
    }
}

impl fmt::Display for Esnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "esnet.{}", self.0)
    }
}

/// `Resource-Priority: r-value *( "," r-value )`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePriority {
    /// The r-values in order.
    pub values: Vec<RValue>,
}

impl ResourcePriority {
    /// The header name.
    pub const NAME: &'static str = NAME;

    /// A header with one esnet value.
    pub fn esnet_value(level: Esnet) -> Self {
        Self {
            values: vec![RValue {
                namespace: Esnet::NAMESPACE.into(),
                priority: level.0.to_string(),
            }],
        }
    }

    /// Parses a header line.
    pub fn parse(value: &str) -> Result<Self, WireError> {
        let values = split_list(value)
            .map(RValue::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if values.is_empty() {
            return Err(bad(NAME, "no r-value"));
        }
        Ok(Self { values })
    }

    /// All r-values of all Resource-Priority lines, if any.
    pub fn from_message(msg: &SipMessage) -> Result<Option<Self>, WireError> {
        let values = msg
            .header_values(NAME)
            .map(RValue::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((!values.is_empty()).then_some(Self { values }))
    }

    /// The highest esnet priority present; an error if an esnet value is out of range.
    pub fn esnet(&self) -> Result<Option<Esnet>, WireError> {
        let mut best = None;
        for v in &self.values {
            if let Some(e) = v.esnet() {
                best = best.max(Some(e?));
            }
        }
        Ok(best)
    }
}

impl fmt::Display for ResourcePriority {
    /// r-values separated by `,`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            v.fmt(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{Method, RequestBuilder};

    #[test]
    fn parses_lists_and_orders_esnet() {
        let rp = ResourcePriority::parse("dsn.flash, ESNET.1 ,wps.3").unwrap();
        assert_eq!(rp.values.len(), 3);
        assert_eq!(rp.esnet().unwrap(), Some(Esnet::EMERGENCY));
        assert_eq!(rp.to_string(), "dsn.flash,ESNET.1,wps.3");
        let mut q = vec![Esnet::EMERGENCY, Esnet::CRITICAL, Esnet::INCIDENT];
        q.sort_by(|a, b| b.cmp(a));
        assert_eq!(q, vec![Esnet::CRITICAL, Esnet::EMERGENCY, Esnet::INCIDENT]);
        assert_eq!(Esnet::parse("esnet.7").unwrap(), Esnet::MAX);
        assert_eq!(
            ResourcePriority::esnet_value(Esnet::CRITICAL).to_string(),
            "esnet.2"
        );
        let msg = RequestBuilder::new(Method::Message, "urn:service:sos")
            .header("Resource-Priority", "esnet.0")
            .header("Resource-Priority", "wps.1, esnet.2")
            .build();
        assert_eq!(Esnet::from_message(&msg).unwrap(), Some(Esnet::CRITICAL));
    }

    #[test]
    fn rejects_malformed_r_values() {
        for v in [
            "esnet",
            "esnet.",
            ".1",
            "esnet . 1",
            "esnet.1.2",
            "es net.1",
            "esnet.1;x",
            "",
        ] {
            assert!(ResourcePriority::parse(v).is_err(), "{v:?}");
        }
        for v in ["esnet.8", "esnet.01", "esnet.x", "wps.1"] {
            assert!(Esnet::parse(v).is_err(), "{v:?}");
        }
        assert!(ResourcePriority::parse("esnet.9").unwrap().esnet().is_err());
    }
}
