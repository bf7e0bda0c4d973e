//! The Via header (RFC 3261 20.42, RFC 3581 `rport`).

use std::borrow::Cow;
use std::fmt;

use super::addr::{parse_params, raw_params, Param, RawParam};
use crate::WireError;

/// One Via value: `SIP/2.0/UDP host:port;branch=z9hG4bK…;received=…;rport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport token, upper-cased (`UDP`, `TCP`, `TLS`, …).
    pub transport: String,
    /// sent-by host (IPv6 references keep their brackets).
    pub host: String,
    /// sent-by port, if given.
    pub port: Option<u16>,
    /// Parameters in order.
    pub params: Vec<Param>,
}

impl Via {
    /// A Via with a branch parameter (and `rport`, so responses follow NATs per RFC 3581).
    pub fn new(transport: &str, host: &str, port: u16, branch: &str) -> Self {
        Self {
            transport: transport.to_ascii_uppercase(),
            host: host.to_string(),
            port: Some(port),
            params: vec![
                Param {
                    name: "branch".into(),
                    value: Some(branch.to_string()),
                },
                Param {
                    name: "rport".into(),
                    value: None,
                },
            ],
        }
    }

    /// Parses one Via value.
    pub fn parse(text: &str) -> Result<Self, WireError> {
        let v = ViaRef::parse(text)?;
        let params = match v.params {
            Some(p) => parse_params(p).map_err(|reason| WireError::BadHeader {
                header: "Via",
                reason,
            })?,
            None => Vec::new(),
        };
        Ok(Self {
            transport: v.transport.to_ascii_uppercase(),
            host: v.host.to_string(),
            port: v.port,
            params,
        })
    }

    fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_deref())
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&str> {
        self.param("received").flatten()
    }

    /// The `rport` parameter: `Some(None)` when present without value.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport").map(|v| v.and_then(|v| v.parse().ok()))
    }

    /// Sets (or replaces) a parameter.
    pub fn set_param(&mut self, name: &str, value: Option<String>) {
        if let Some(p) = self
            .params
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            p.value = value;
        } else {
            self.params.push(Param {
                name: name.to_string(),
                value,
            });
        }
    }

    /// Whether the transport is reliable (anything but UDP).
    pub fn is_reliable(&self) -> bool {
        self.transport != "UDP"
    }
}

/// Splits `host[:port]`, keeping IPv6 brackets on the host (allocates only for the error).
fn split_host_port(text: &str) -> Result<(&str, Option<u16>), String> {
    if text.is_empty() {
        return Err("empty host".into());
    }
    let (host, port) = if let Some(stripped) = text.strip_prefix('[') {
        let end = stripped
            .find(']')
            .ok_or_else(|| format!("unterminated IPv6 reference in {text:?}"))?;
        let host = &text[..end + 2];
        match &stripped[end + 1..] {
            "" => (host, None),
            p => (
                host,
                Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| format!("garbage after IPv6 reference in {text:?}"))?,
                ),
            ),
        }
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    if host.contains(char::is_whitespace) || host.is_empty() {
        return Err(format!("bad host {host:?}"));
    }
    let port = port
        .map(|p| {
            p.trim()
                .parse::<u16>()
                .map_err(|_| format!("bad port {p:?}"))
        })
        .transpose()?;
    Ok((host, port))
}

/// A borrowed view of one Via value, validated exactly like [`Via::parse`] but without
/// allocating (only an error allocates). Used on hot receive paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViaRef<'a> {
    /// Transport token as written (compare case-insensitively).
    pub transport: &'a str,
    /// sent-by host (IPv6 references keep their brackets).
    pub host: &'a str,
    /// sent-by port, if given.
    pub port: Option<u16>,
    /// The (validated) parameter text after the first `;`, if any.
    params: Option<&'a str>,
    /// The first `branch` parameter, found while the parameters were validated.
    branch: Option<RawParam<'a>>,
    /// Whether an `rport` parameter is present (with or without value).
    rport: bool,
}

impl<'a> ViaRef<'a> {
    /// Parses and validates one Via value (the same checks as [`Via::parse`]).
    pub fn parse(text: &'a str) -> Result<Self, WireError> {
        let bad = |reason: String| WireError::BadHeader {
            header: "Via",
            reason,
        };
        let text = text.trim();
        // sent-protocol = name SLASH version SLASH transport, where SLASH allows LWS around '/'.
        let mut fields = [""; 3];
        let mut rest = text;
        for (i, field) in fields.iter_mut().enumerate() {
            rest = rest.trim_start();
            let end = rest
                .find(|c: char| c == '/' || c.is_ascii_whitespace())
                .unwrap_or(rest.len());
            *field = &rest[..end];
            rest = rest[end..].trim_start();
            if i < 2 {
                rest = rest.strip_prefix('/').ok_or_else(|| {
                    bad(format!(
                        "sent-protocol in {text:?} is not NAME/VERSION/TRANSPORT"
                    ))
                })?;
            }
        }
        let [name, version, transport] = fields;
        if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
            return Err(bad(format!(
                "sent-protocol {name}/{version} is not SIP/2.0"
            )));
        }
        if transport.is_empty() || !transport.bytes().all(super::addr::is_token_char) {
            return Err(bad(format!("bad transport {transport:?}")));
        }
        if rest.is_empty() {
            return Err(bad(format!("no sent-by in {text:?}")));
        }
        let rest = rest.trim();
        // One pass over the parameters validates them and finds the two the UA needs.
        let (mut branch, mut rport) = (None, false);
        let (sent_by, params) = match rest.find(';') {
            Some(i) => {
                let p = &rest[i + 1..];
                for r in raw_params(p) {
                    let p = r.map_err(bad)?;
                    if branch.is_none() && p.name.eq_ignore_ascii_case("branch") {
                        branch = Some(p);
                    } else if p.name.eq_ignore_ascii_case("rport") {
                        rport = true;
                    }
                }
                (rest[..i].trim(), Some(p))
            }
            None => (rest, None),
        };
        let (host, port) = split_host_port(sent_by).map_err(bad)?;
        super::uri::check_host(host).map_err(bad)?;
        Ok(Self {
            transport,
            host,
            port,
            params,
            branch,
            rport,
        })
    }

    /// The branch parameter (borrowed unless it was a quoted-string with escapes; quotes
    /// removed, as in [`Via`]).
    pub fn branch(&self) -> Option<Cow<'a, str>> {
        self.branch.and_then(|p| p.value())
    }

    /// Whether the `rport` parameter is present (with or without value).
    pub fn has_rport(&self) -> bool {
        self.rport
    }

    /// Whether the transport is reliable (anything but UDP).
    pub fn is_reliable(&self) -> bool {
        !self.transport.eq_ignore_ascii_case("UDP")
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        super::addr::write_params(f, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        let v = Via::parse("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK77;rport").unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "127.0.0.1");
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.branch(), Some("z9hG4bK77"));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK77;rport"
        );
    }

    #[test]
    fn ipv6_and_spaces() {
        let v = Via::parse("SIP / 2.0 / TCP [2001:db8::9:1]:5070 ;branch=z9hG4bKa").unwrap();
        assert_eq!(v.host, "[2001:db8::9:1]");
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.transport, "TCP");
    }

    #[test]
    fn borrowed_view_finds_branch_and_rport_in_one_pass() {
        let v = ViaRef::parse("SIP/2.0/UDP h;RPORT=5;Branch=\"z9hG4bK\\1\";branch=second").unwrap();
        assert_eq!(v.branch().as_deref(), Some("z9hG4bK1"));
        assert!(v.has_rport());
        let v = ViaRef::parse("SIP/2.0/UDP h:5060;received=10.0.0.1").unwrap();
        assert_eq!((v.branch(), v.has_rport()), (None, false));
        let v = ViaRef::parse("SIP/2.0/UDP h;branch;rport").unwrap();
        assert_eq!((v.branch(), v.has_rport()), (None, true));
        assert!(ViaRef::parse("SIP/2.0/UDP h;branch=a;;rport").is_err());
    }

    #[test]
    fn rejects_garbage() {
        assert!(Via::parse("SIP/2.0/UDP").is_err());
        assert!(Via::parse("HTTP/1.1/TCP a").is_err());
        assert!(Via::parse("SIP/2.0/UDP host:99999").is_err());
    }
}
