//! The URIs a LoST mapping for a warning service carries, as subscription targets
//! (draft-rosen-atoca-server-discovery 3: sip, xmpp or http).

use std::net::SocketAddr;

use crate::{AlertsError, Channel};

/// Where and how to subscribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// SUBSCRIBE to `uri`, sent to `dest`.
    Sip {
        /// The SIP URI (Request-URI of the SUBSCRIBE).
        uri: String,
        /// Where the SUBSCRIBE goes.
        dest: SocketAddr,
    },
    /// Subscribe to `node` at the pubsub service `service` (XEP-0060, RFC 5122 URI with the
    /// `pubsub` query type).
    Xmpp {
        /// The pubsub service JID.
        service: String,
        /// The node.
        node: String,
    },
    /// Poll the feed at `url`.
    Http {
        /// The feed URL.
        url: String,
    },
}

impl Target {
    /// The channel.
    pub fn channel(&self) -> Channel {
        match self {
            Target::Sip { .. } => Channel::Sip,
            Target::Xmpp { .. } => Channel::Xmpp,
            Target::Http { .. } => Channel::Http,
        }
    }

    /// Parses a mapping URI. `sip_proxy`, if given, is where SUBSCRIBEs go when the URI's
    /// host is not an IP literal (a real deployment's outbound proxy).
    pub fn parse(uri: &str, sip_proxy: Option<SocketAddr>) -> Result<Target, AlertsError> {
        let bad = |reason: &str| AlertsError::BadUri {
            uri: uri.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = uri.split_once(':').ok_or_else(|| bad("no scheme"))?;
        match scheme.to_ascii_lowercase().as_str() {
            "sip" => {
                let u = lmpe_wire::sip::SipUri::parse(uri).map_err(|e| bad(&e.to_string()))?;
                let dest = u.ip_addr().or(sip_proxy).ok_or_else(|| {
                    bad("the host is a name and no SIP proxy is configured ([warning] sip_proxy)")
                })?;
                Ok(Target::Sip {
                    uri: uri.to_owned(),
                    dest,
                })
            }
            "xmpp" => {
                let rest = rest.strip_prefix("//").map_or(rest, |r| {
                    // xmpp://auth@host/jid?query: the authority names the account to use; skip it.
                    r.split_once('/').map_or("", |(_, p)| p)
                });
                let (jid, query) = rest
                    .split_once('?')
                    .ok_or_else(|| bad("no ?pubsub query: the node to subscribe to is unknown"))?;
                if jid.is_empty() {
                    return Err(bad("no pubsub service JID"));
                }
                let mut parts = query.split(';');
                if parts.next() != Some("pubsub") {
                    return Err(bad("the query type is not pubsub (XEP-0060 14.4)"));
                }
                let mut node = None;
                for p in parts {
                    if let Some(n) = p.strip_prefix("node=") {
                        node = Some(n.to_owned());
                    }
                }
                let node = node
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| bad("no node"))?;
                Ok(Target::Xmpp {
                    service: jid.to_owned(),
                    node,
                })
            }
            "http" => Ok(Target::Http {
                url: uri.to_owned(),
            }),
            other => Err(bad(&format!(
                "scheme {other:?} is none of sip, xmpp, http (draft-rosen-atoca-server-discovery 3)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_schemes_parse_and_others_are_refused() {
        assert_eq!(
            Target::parse("sip:alerts-warn-a@127.0.0.1:5090", None).expect("sip"),
            Target::Sip {
                uri: "sip:alerts-warn-a@127.0.0.1:5090".into(),
                dest: "127.0.0.1:5090".parse().expect("addr"),
            }
        );
        assert_eq!(
            Target::parse(
                "xmpp:pubsub.lmpe.test?pubsub;action=subscribe;node=warn-a",
                None
            )
            .expect("xmpp"),
            Target::Xmpp {
                service: "pubsub.lmpe.test".into(),
                node: "warn-a".into(),
            }
        );
        assert_eq!(
            Target::parse("http://127.0.0.1:1/feeds/warn-a.atom", None)
                .expect("http")
                .channel(),
            Channel::Http
        );
        for bad in [
            "https://127.0.0.1/feed",
            "xmpp:alerts@lmpe.test",
            "xmpp:pubsub.lmpe.test?message",
            "sip:alerts@example.com",
            "nonsense",
        ] {
            assert!(Target::parse(bad, None).is_err(), "{bad}");
        }
        assert!(Target::parse(
            "sip:alerts@example.com",
            Some("127.0.0.1:5060".parse().expect("a"))
        )
        .is_ok());
    }
}
