//! The wire profile (sans-IO): how the information of REQ-1..REQ-4 of
//! draft-veikkolainen-sip-xmpp-coex-reqs-02 rides in SIP and XMPP, after RFC 7081 (CUSAX),
//! RFC 6993 (`purpose=impp`), RFC 5122 (XMPP URIs), XEP-0152 (reachability), XEP-0108 (user
//! activity) and XEP-0201 (threads). Every element and header is built and parsed here only;
//! `docs/cusax.md` is the prose version of this module.
//!
//! | information | where | encoding |
//! |---|---|---|
//! | SIP contact (REQ-1, REQ-3) | XMPP message (first of a thread), presence | `<reach xmlns='urn:xmpp:reach:0'><addr uri='sip:…'/></reach>` |
//! | correlation token | XMPP message | `<thread>T</thread>` |
//! | XMPP contact + token (REQ-1, REQ-2) | INVITE, 2xx to INVITE | `Call-Info: <xmpp:jid?message;thread=T>;purpose=impp` |
//! | XMPP contact (REQ-4) | 200 to OPTIONS | `Call-Info: <xmpp:jid>;purpose=impp` |
//! | media capabilities (REQ-3) | presence, disco#info | XEP-0115 `<c/>`; disco feature `urn:xmpp:lmpe:cusax:0:sip:audio` |
//! | "on the phone" (REQ-3) | presence | `<activity xmlns='http://jabber.org/protocol/activity'><talking><on_the_phone/></talking></activity>` |
//! | correlation report (test support) | XMPP message | `<correlation xmlns='urn:xmpp:lmpe:cusax:0' state='…' call-id='…'/>` |

use std::fmt;
use std::net::SocketAddr;

use lmpe_wire::sip::{split_list, NameAddr, SipMessage};
use lmpe_xmpp::xmpp_parsers::caps::{compute_disco, hash_caps, Caps};
use lmpe_xmpp::xmpp_parsers::disco::{DiscoInfoResult, Identity};
use lmpe_xmpp::xmpp_parsers::hashes::Algo;
use lmpe_xmpp::Element;

/// XEP-0152 reachability namespace.
pub const REACH_NS: &str = "urn:xmpp:reach:0";
/// XEP-0108 user activity namespace.
pub const ACTIVITY_NS: &str = "http://jabber.org/protocol/activity";
/// Namespace of this profile's own elements (correlation reports) and features.
pub const CUSAX_NS: &str = "urn:xmpp:lmpe:cusax:0";
/// Content type of the session descriptions.
pub const SDP: &str = "application/sdp";

/// A fresh correlation token: 128 bits from the standard library's randomly keyed hasher,
/// as 32 hex digits (`cx` prefix), unguessable enough for a test endpoint.
pub fn new_token() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut parts = [0u64; 2];
    for (i, p) in parts.iter_mut().enumerate() {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u64(nanos);
        h.write_usize(i);
        h.write_u32(std::process::id());
        *p = h.finish();
    }
    format!("cx{:016x}{:016x}", parts[0], parts[1])
}

/// Whether a token is acceptable: 1..=64 characters of `[A-Za-z0-9_-]` (safe in an XMPP
/// URI query and in a SIP header without escaping).
pub fn valid_token(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 64
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The XMPP contact of an RFC 6993 `Call-Info … purpose=impp`, with the correlation token
/// (RFC 5122 `?message;thread=` query) when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impp {
    /// The bare JID.
    pub jid: String,
    /// The correlation token (an XMPP thread id).
    pub thread: Option<String>,
}

impl Impp {
    /// The `xmpp:` URI.
    pub fn uri(&self) -> String {
        match &self.thread {
            Some(t) => format!("xmpp:{}?message;thread={t}", self.jid),
            None => format!("xmpp:{}", self.jid),
        }
    }

    /// The Call-Info header value: `<xmpp:…>;purpose=impp`.
    pub fn header_value(&self) -> String {
        format!("<{}>;purpose=impp", self.uri())
    }

    /// Parses an `xmpp:` URI of this profile (RFC 5122: optional `//authority/` not
    /// supported; the only query accepted is `message` with an optional `thread` key).
    pub fn parse_uri(uri: &str) -> Result<Impp, String> {
        let rest = uri
            .strip_prefix("xmpp:")
            .ok_or_else(|| format!("{uri:?} is not an xmpp: URI"))?;
        if rest.starts_with("//") {
            return Err(format!("{uri:?}: an authority component is not supported"));
        }
        let (jid, query) = match rest.split_once('?') {
            Some((j, q)) => (j, Some(q)),
            None => (rest, None),
        };
        let jid = bare_jid(jid).ok_or_else(|| format!("{uri:?}: {jid:?} is not a JID"))?;
        let mut thread = None;
        if let Some(q) = query {
            let mut parts = q.split(';');
            let kind = parts.next().unwrap_or_default();
            if kind != "message" {
                return Err(format!(
                    "{uri:?}: query type {kind:?} (expected \"message\")"
                ));
            }
            for kv in parts {
                if let Some(t) = kv.strip_prefix("thread=") {
                    if !valid_token(t) {
                        return Err(format!("{uri:?}: thread {t:?} is not a valid token"));
                    }
                    thread = Some(t.to_owned());
                }
            }
        }
        Ok(Impp { jid, thread })
    }
}

impl fmt::Display for Impp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri())
    }
}

/// `user@domain` of a JID (resource dropped), lower-cased; `None` unless it has a local part
/// and a domain.
pub fn bare_jid(jid: &str) -> Option<String> {
    let bare = jid.split('/').next().unwrap_or_default();
    let (local, domain) = bare.split_once('@')?;
    if local.is_empty()
        || domain.is_empty()
        || bare.contains(['<', '>', '"', ' ', '?', ';'])
        || domain.contains('@')
    {
        return None;
    }
    Some(bare.to_ascii_lowercase())
}

/// Every `purpose=impp` Call-Info value of a SIP message (RFC 6993), parsed. A value that
/// does not parse is an error naming it.
pub fn impp_of(msg: &SipMessage) -> Result<Vec<Impp>, String> {
    let mut out = Vec::new();
    for v in msg.header_values("Call-Info") {
        for item in split_list(v) {
            let na = NameAddr::parse("Call-Info", item).map_err(|e| e.to_string())?;
            let impp = na.params.iter().any(|p| {
                p.name.eq_ignore_ascii_case("purpose") && p.value.as_deref() == Some("impp")
            });
            if impp {
                out.push(Impp::parse_uri(&na.uri)?);
            }
        }
    }
    Ok(out)
}

/// The single impp contact of a message: `Ok(None)` when there is none, an error when it
/// does not parse or there are several.
pub fn one_impp(msg: &SipMessage) -> Result<Option<Impp>, String> {
    let mut v = impp_of(msg)?;
    match v.len() {
        0 => Ok(None),
        1 => Ok(v.pop()),
        n => Err(format!(
            "{n} Call-Info values with purpose=impp (expected one)"
        )),
    }
}

use lmpe_xmpp::xmpp_parsers::minidom::rxml::NcName;
use lmpe_xmpp::xmpp_parsers::minidom::ElementBuilder;

fn el(name: &str, ns: &str) -> ElementBuilder {
    Element::builder(name, ns)
}

/// Adds an attribute; the names used here are constant NCNames.
fn attr(b: ElementBuilder, name: &'static str, value: &str) -> ElementBuilder {
    match NcName::try_from(name) {
        Ok(n) => b.attr(n, value),
        Err(_) => b,
    }
}

/// XEP-0152 `<reach/>` with one `<addr uri='sip:…'/>`.
pub fn reach(sip_uri: &str) -> Element {
    el("reach", REACH_NS)
        .append(attr(el("addr", REACH_NS), "uri", sip_uri).build())
        .build()
}

/// The `sip:`/`sips:` addresses of every XEP-0152 `<reach/>` among `payloads`.
pub fn reach_sip(payloads: &[Element]) -> Vec<String> {
    payloads
        .iter()
        .filter(|p| p.is("reach", REACH_NS))
        .flat_map(|r| r.children().filter(|a| a.is("addr", REACH_NS)))
        .filter_map(|a| a.attr("uri"))
        .filter(|u| {
            let l = u.to_ascii_lowercase();
            l.starts_with("sip:") || l.starts_with("sips:")
        })
        .map(str::to_owned)
        .collect()
}

/// The XEP-0115 node of the harness's endpoints.
pub const CAPS_NODE: &str = "https://lmpe-harness.test/cusax";

/// The disco feature saying "SIP sessions with this medium" (`audio`, `video`): our own
/// names, since no registered feature means a SIP (not Jingle) medium.
pub fn media_feature(kind: &str) -> String {
    format!("{CUSAX_NS}:sip:{kind}")
}

/// The XEP-0030 disco#info of an integrated endpoint: identity `client/phone`, features
/// disco#info, caps, this profile and one [`media_feature`] per medium.
pub fn disco_info(media: &[&str]) -> DiscoInfoResult {
    let mut features: std::collections::BTreeSet<String> = [
        "http://jabber.org/protocol/disco#info",
        "http://jabber.org/protocol/caps",
        CUSAX_NS,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    features.extend(media.iter().map(|m| media_feature(m)));
    DiscoInfoResult {
        node: None,
        identities: vec![Identity::new("client", "phone", "en", "lmpe-cusax")],
        features,
        extensions: vec![],
    }
}

/// The XEP-0115 `<c/>` for `info` (SHA-1 verification string, node [`CAPS_NODE`]).
pub fn caps(info: &DiscoInfoResult) -> Result<Element, String> {
    let hash = hash_caps(&compute_disco(info), Algo::Sha_1)?;
    Ok(Caps::new(CAPS_NODE, hash).into())
}

/// `node#ver` of the XEP-0115 `<c/>` among `payloads`: the node a disco#info request for
/// the advertised capabilities names (XEP-0115 5.4).
pub fn caps_node_ver(payloads: &[Element]) -> Option<String> {
    let c = payloads
        .iter()
        .find(|p| p.is("c", "http://jabber.org/protocol/caps"))?;
    Some(format!("{}#{}", c.attr("node")?, c.attr("ver")?))
}

/// The XEP-0115 `<c/>` among `payloads`, parsed.
pub fn caps_of(payloads: &[Element]) -> Option<Result<Caps, String>> {
    payloads
        .iter()
        .find(|p| p.is("c", "http://jabber.org/protocol/caps"))
        .map(|c| Caps::try_from(c.clone()).map_err(|e| e.to_string()))
}

/// Checks a disco#info answer against the caps it was fetched for (XEP-0115 5.4: the
/// verification string recomputed from the answer equals `ver`) and returns the media it
/// offers.
pub fn check_caps(caps: &Caps, info: &DiscoInfoResult) -> Result<Vec<String>, String> {
    let hash = hash_caps(&compute_disco(info), caps.hash.clone())?;
    if hash.hash != caps.ver {
        return Err("the verification string does not match the disco#info answer".into());
    }
    let prefix = format!("{CUSAX_NS}:sip:");
    Ok(info
        .features
        .iter()
        .filter_map(|f| f.strip_prefix(&prefix).map(str::to_owned))
        .collect())
}

/// XEP-0108 activity "talking / on_the_phone".
pub fn on_the_phone() -> Element {
    el("activity", ACTIVITY_NS)
        .append(
            el("talking", ACTIVITY_NS)
                .append(el("on_the_phone", ACTIVITY_NS).build())
                .build(),
        )
        .build()
}

/// Whether `payloads` say "on the phone" (XEP-0108 talking/on_the_phone).
pub fn is_on_the_phone(payloads: &[Element]) -> bool {
    payloads
        .iter()
        .filter(|p| p.is("activity", ACTIVITY_NS))
        .flat_map(|a| a.children().filter(|c| c.is("talking", ACTIVITY_NS)))
        .any(|t| t.has_child("on_the_phone", ACTIVITY_NS))
}

/// What the endpoint tied a received XMPP message to (the scripted user's report, see
/// [`report`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Correlation {
    /// An active SIP session established with this token (its Call-ID).
    Session(String),
    /// A SIP session with this token that has ended (its Call-ID).
    Ended(String),
    /// A known XMPP conversation without a SIP session.
    Conversation,
    /// An unknown token: a new conversation, tied to nothing else.
    New,
    /// The SIP contact claimed in this conversation failed verification (RFC 7081 11,
    /// draft Section 6): no call was placed.
    RejectedContact(String),
}

impl Correlation {
    /// The `state` attribute value.
    pub fn state(&self) -> &'static str {
        match self {
            Self::Session(_) => "session",
            Self::Ended(_) => "ended",
            Self::Conversation => "conversation",
            Self::New => "new",
            Self::RejectedContact(_) => "rejected-contact",
        }
    }
}

/// The correlation report `<correlation xmlns='urn:xmpp:lmpe:cusax:0' state='…'
/// [call-id='…'] [reason='…']/>` (test support: what the scripted user of an endpoint
/// tells its peer; not needed by two real integrated endpoints).
pub fn report(c: &Correlation) -> Element {
    let b = attr(el("correlation", CUSAX_NS), "state", c.state());
    match c {
        Correlation::Session(id) | Correlation::Ended(id) => attr(b, "call-id", id),
        Correlation::RejectedContact(r) => attr(b, "reason", r),
        _ => b,
    }
    .build()
}

/// Parses a correlation report among `payloads`.
pub fn report_of(payloads: &[Element]) -> Option<Result<Correlation, String>> {
    let r = payloads.iter().find(|p| p.is("correlation", CUSAX_NS))?;
    let call_id = || {
        r.attr("call-id")
            .map(str::to_owned)
            .ok_or_else(|| "no call-id".to_owned())
    };
    Some(match r.attr("state") {
        Some("session") => call_id().map(Correlation::Session),
        Some("ended") => call_id().map(Correlation::Ended),
        Some("conversation") => Ok(Correlation::Conversation),
        Some("new") => Ok(Correlation::New),
        Some("rejected-contact") => Ok(Correlation::RejectedContact(
            r.attr("reason").unwrap_or_default().to_owned(),
        )),
        other => Err(format!("unknown state {other:?}")),
    })
}

/// An SDP offer or answer with one audio stream (RFC 4566 / RFC 3264; PCMU, no RTP flows).
pub fn sdp_audio(local: SocketAddr, session_id: u64) -> String {
    let ip = local.ip();
    let fam = if ip.is_ipv4() { "IP4" } else { "IP6" };
    format!(
        "v=0\r\no=lmpe {session_id} 1 IN {fam} {ip}\r\ns=-\r\nc=IN {fam} {ip}\r\nt=0 0\r\nm=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
        local.port().wrapping_add(2)
    )
}

/// Checks an SDP body offers or accepts an audio stream: `v=0`, an `o=`, `c=` and a
/// `m=audio` line with a non-zero port.
pub fn check_sdp_audio(body: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(body).map_err(|_| "SDP is not UTF-8".to_owned())?;
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    if lines.first() != Some(&"v=0") {
        return Err("SDP does not start with v=0".into());
    }
    for p in ["o=", "c="] {
        if !lines.iter().any(|l| l.starts_with(p)) {
            return Err(format!("SDP has no {p} line"));
        }
    }
    let audio = lines
        .iter()
        .find_map(|l| l.strip_prefix("m=audio "))
        .ok_or_else(|| "SDP has no m=audio line".to_owned())?;
    let port = audio.split(' ').next().unwrap_or_default();
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err(format!(
            "m=audio port {port:?} (a rejected or invalid stream)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lmpe_wire::sip::{Method, RequestBuilder};

    #[test]
    fn impp_round_trip_with_and_without_thread() {
        let a = Impp {
            jid: "alice@x.test".into(),
            thread: Some(new_token()),
        };
        let msg = RequestBuilder::new(Method::Options, "sip:a@x.test")
            .header("Call-Info", "<http://x.test/p.png>;purpose=icon")
            .header("Call-Info", a.header_value())
            .build();
        assert_eq!(one_impp(&msg), Ok(Some(a.clone())));
        let bare = Impp {
            jid: "alice@x.test".into(),
            thread: None,
        };
        assert_eq!(Impp::parse_uri(&bare.uri()), Ok(bare));
        assert!(Impp::parse_uri("xmpp:alice@x.test?roster").is_err());
        assert!(Impp::parse_uri("sip:alice@x.test").is_err());
        assert!(Impp::parse_uri("xmpp:x.test").is_err());
    }

    #[test]
    fn tokens_are_valid_and_distinct() {
        let a = new_token();
        let b = new_token();
        assert!(valid_token(&a) && valid_token(&b));
        assert_ne!(a, b);
        assert!(!valid_token("a;b"));
        assert!(!valid_token(""));
    }

    #[test]
    fn presence_payloads_parse_back() {
        let c = caps(&disco_info(&["audio"])).expect("caps");
        let p = vec![reach("sip:a@x.test"), c, on_the_phone()];
        assert_eq!(reach_sip(&p), vec!["sip:a@x.test".to_owned()]);
        assert!(caps_node_ver(&p).is_some_and(|n| n.starts_with(CAPS_NODE)));
        assert!(is_on_the_phone(&p));
        assert!(!is_on_the_phone(&p[..2]));
    }

    #[test]
    fn caps_verify_against_the_disco_answer() {
        let info = disco_info(&["audio"]);
        let c = caps(&info).expect("caps");
        let parsed = caps_of(&[c]).expect("a <c/>").expect("parses");
        assert_eq!(check_caps(&parsed, &info), Ok(vec!["audio".to_owned()]));
        let other = disco_info(&["audio", "video"]);
        assert!(check_caps(&parsed, &other).is_err());
    }

    #[test]
    fn reports_parse_back() {
        for c in [
            Correlation::Session("c1".into()),
            Correlation::Ended("c1".into()),
            Correlation::Conversation,
            Correlation::New,
            Correlation::RejectedContact("impp names b@x".into()),
        ] {
            assert_eq!(report_of(&[report(&c)]), Some(Ok(c)));
        }
    }

    #[test]
    fn sdp_check() {
        let s = sdp_audio("127.0.0.1:5060".parse().expect("addr"), 1);
        assert_eq!(check_sdp_audio(s.as_bytes()), Ok(()));
        assert!(check_sdp_audio(s.replace("m=audio 5062", "m=audio 0").as_bytes()).is_err());
        assert!(check_sdp_audio(b"v=0\r\n").is_err());
    }
}
