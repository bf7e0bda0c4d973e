//! LMPE identifiers carried in Call-Info (ETSI TS 103 698 6.1.2.7, 6.1.2.11, Annex A.5).
//!
//! The ETSI text and its own examples disagree on two strings (see `shared/seeds/README.md`):
//! the Call Identifier prefix (`urn:emergency:service:uid:callid:` in the text,
//! `urn:emergency:uid:callid:` in the example and in DEC112's ng112-js) and the Message Identifier
//! purpose (`EmergencyChatData.MsgId` in the text, `EmergencyCallData.MsgId` in the example).
//! These are an [`IdentifierProfile`], never a silent guess: a profile says which forms are
//! accepted and which are emitted, and a form outside the profile is reported precisely.

use std::fmt;

use crate::sip::{NameAddr, SipMessage};
use crate::WireError;

/// Call-Info purpose of the Call Identifier.
pub const PURPOSE_CALL_ID: &str = "EmergencyCallData.CallId";
/// Call-Info purpose of the Message Type.
pub const PURPOSE_MSG_TYPE: &str = "EmergencyCallData.MsgType";
/// Call-Info purpose of the DID (6.1.2.11).
pub const PURPOSE_DID: &str = "EmergencyCallData.DID";
/// Message Identifier purpose as written in the text of 6.1.2.7.
pub const PURPOSE_MSG_ID_TEXT: &str = "EmergencyChatData.MsgId";
/// Message Identifier purpose as in the example of 6.1.2.7 (and ng112-js).
pub const PURPOSE_MSG_ID_EXAMPLE: &str = "EmergencyCallData.MsgId";
/// Call Identifier prefix as written in the text of 6.1.2.7.
pub const CALL_ID_PREFIX_TEXT: &str = "urn:emergency:service:uid:callid:";
/// Call Identifier prefix as in the example of 6.1.2.7 (and ng112-js).
pub const CALL_ID_PREFIX_EXAMPLE: &str = "urn:emergency:uid:callid:";
/// Message Identifier prefix (text and example agree).
pub const MSG_ID_PREFIX: &str = "urn:emergency:service:uid:msgid:";
/// Message Type prefix (text and example agree).
pub const MSG_TYPE_PREFIX: &str = "urn:emergency:service:uid:msgtype:";

/// Which identifier forms are accepted and which are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierProfile {
    /// Profile name, reported in verdicts.
    pub name: &'static str,
    /// Accepted Call Identifier prefixes; the first is emitted.
    pub call_id_prefixes: &'static [&'static str],
    /// Accepted Message Identifier purposes; the first is emitted.
    pub msg_id_purposes: &'static [&'static str],
}

impl IdentifierProfile {
    /// Exactly the normative text of 6.1.2.7.
    pub const STRICT_TEXT: Self = Self {
        name: "strict-text",
        call_id_prefixes: &[CALL_ID_PREFIX_TEXT],
        msg_id_purposes: &[PURPOSE_MSG_ID_TEXT],
    };
    /// The forms of the 6.1.2.7 examples, as deployed implementations (DEC112 ng112-js) send them.
    pub const DEPLOYED: Self = Self {
        name: "deployed",
        call_id_prefixes: &[CALL_ID_PREFIX_EXAMPLE],
        msg_id_purposes: &[PURPOSE_MSG_ID_EXAMPLE],
    };
    /// Accepts both forms, emits the deployed form (the default: interoperates with both).
    pub const LENIENT: Self = Self {
        name: "lenient",
        call_id_prefixes: &[CALL_ID_PREFIX_EXAMPLE, CALL_ID_PREFIX_TEXT],
        msg_id_purposes: &[PURPOSE_MSG_ID_EXAMPLE, PURPOSE_MSG_ID_TEXT],
    };

    /// Looks a profile up by name.
    pub fn by_name(name: &str) -> Option<Self> {
        [Self::STRICT_TEXT, Self::DEPLOYED, Self::LENIENT]
            .into_iter()
            .find(|p| p.name == name)
    }
}

impl Default for IdentifierProfile {
    fn default() -> Self {
        Self::LENIENT
    }
}

/// The 16-bit Message Type of Annex A.5 (version 1): bit 8 (0x100) is the version, the low byte
/// the type flags, bits 9..15 reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageType(pub u16);

impl MessageType {
    /// Version 1 bit.
    pub const VERSION_1: u16 = 0x100;
    /// start flag.
    pub const START_BIT: u16 = 0x01;
    /// stop flag.
    pub const STOP_BIT: u16 = 0x02;
    /// heartbeat flag.
    pub const HEARTBEAT_BIT: u16 = 0x04;
    /// transfer flag.
    pub const TRANSFER_BIT: u16 = 0x08;
    /// redirect flag.
    pub const REDIRECT_BIT: u16 = 0x10;
    /// Reserved type bits (`001xxxxx` and `01xxxxxx` rows of A.5).
    pub const RESERVED_TYPE_BITS: u16 = 0x60;
    /// inactive flag.
    pub const INACTIVE_BIT: u16 = 0x80;
    /// Reserved high bits.
    pub const RESERVED_HIGH_BITS: u16 = 0xFE00;

    /// unknown (256).
    pub const UNKNOWN: Self = Self(256);
    /// start (257).
    pub const START: Self = Self(257);
    /// stop (258).
    pub const STOP: Self = Self(258);
    /// in-chat (259).
    pub const IN_CHAT: Self = Self(259);
    /// heartbeat (260).
    pub const HEARTBEAT: Self = Self(260);
    /// start|transfer (265).
    pub const START_TRANSFER: Self = Self(265);
    /// stop|transfer (266).
    pub const STOP_TRANSFER: Self = Self(266);
    /// start|redirect (273).
    pub const START_REDIRECT: Self = Self(273);
    /// stop|redirect (274).
    pub const STOP_REDIRECT: Self = Self(274);
    /// heartbeat|inactive (388).
    pub const HEARTBEAT_INACTIVE: Self = Self(388);

    /// All named values of Annex A.5 / clause 6.2.
    pub const NAMED: [Self; 10] = [
        Self::UNKNOWN,
        Self::START,
        Self::STOP,
        Self::IN_CHAT,
        Self::HEARTBEAT,
        Self::START_TRANSFER,
        Self::STOP_TRANSFER,
        Self::START_REDIRECT,
        Self::STOP_REDIRECT,
        Self::HEARTBEAT_INACTIVE,
    ];

    /// The name used in the spec (`start`, `stop|transfer`, …), or `None` for an unnamed value.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            256 => "unknown",
            257 => "start",
            258 => "stop",
            259 => "in-chat",
            260 => "heartbeat",
            265 => "start|transfer",
            266 => "stop|transfer",
            273 => "start|redirect",
            274 => "stop|redirect",
            388 => "heartbeat|inactive",
            _ => return None,
        })
    }

    /// Checks the value against Annex A.5: version 1, no reserved bit, a named combination.
    pub fn validate(self) -> Result<Self, String> {
        let v = self.0;
        if v & Self::RESERVED_HIGH_BITS != 0 {
            return Err(format!(
                "message type {v} sets reserved bits 9..15 (Annex A.5)"
            ));
        }
        if v & Self::VERSION_1 == 0 {
            return Err(format!(
                "message type {v} lacks the version-1 bit 0x100 (Annex A.5)"
            ));
        }
        if v & Self::RESERVED_TYPE_BITS != 0 {
            return Err(format!(
                "message type {v} uses a reserved type range (Annex A.5 rows 001xxxxx / 01xxxxxx)"
            ));
        }
        if self.name().is_none() {
            return Err(format!(
                "message type {v} is not a combination defined in clause 6.2 / Annex A.5"
            ));
        }
        Ok(self)
    }

    /// Whether the start flag is set.
    pub fn is_start(self) -> bool {
        self.0 & Self::START_BIT != 0 && self.0 & Self::STOP_BIT == 0
    }
    /// Whether the stop flag is set (and not start).
    pub fn is_stop(self) -> bool {
        self.0 & Self::STOP_BIT != 0 && self.0 & Self::START_BIT == 0
    }
    /// Whether this is a heartbeat (with or without inactive).
    pub fn is_heartbeat(self) -> bool {
        self.0 & Self::HEARTBEAT_BIT != 0
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}/{}", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// A Call Identifier (6.1.2.7): prefix, unique string (10..=30 alphanumerics), element id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallId {
    /// The unique part.
    pub unique: String,
    /// Element Identifier of the element that first handled the call.
    pub element: String,
}

impl CallId {
    /// Validates and builds a Call Identifier.
    pub fn new(unique: &str, element: &str) -> Result<Self, WireError> {
        let bad = |reason: String| WireError::BadIdentifier {
            value: format!("{unique}:{element}"),
            reason,
        };
        if !(10..=30).contains(&unique.chars().count()) {
            return Err(bad(format!(
                "unique string has {} characters; 6.1.2.7 requires 10 to 30",
                unique.chars().count()
            )));
        }
        if !unique.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(bad(
                "unique string must contain alpha and/or numeric characters only (6.1.2.7)".into(),
            ));
        }
        check_element(element).map_err(bad)?;
        Ok(Self {
            unique: unique.to_string(),
            element: element.to_string(),
        })
    }

    /// Parses a Call Identifier URN in either known form (text or example prefix), returning
    /// it with the prefix it used. Whether the prefix is acceptable is the caller's profile
    /// question; this only checks the syntax of 6.1.2.7.
    pub fn from_urn(uri: &str) -> Result<(Self, &'static str), WireError> {
        let known = [CALL_ID_PREFIX_TEXT, CALL_ID_PREFIX_EXAMPLE];
        let bad = |reason: String| WireError::BadIdentifier {
            value: uri.to_string(),
            reason,
        };
        let prefix = known
            .into_iter()
            .find(|p| uri.len() >= p.len() && uri.is_char_boundary(p.len()) && uri[..p.len()].eq_ignore_ascii_case(p))
            .ok_or_else(|| {
                bad(format!(
                    "6.1.2.7: has neither prefix {CALL_ID_PREFIX_TEXT:?} (text) nor {CALL_ID_PREFIX_EXAMPLE:?} (example)"
                ))
            })?;
        let (unique, element) = uri[prefix.len()..]
            .split_once(':')
            .ok_or_else(|| bad("6.1.2.7: lacks `:` and the Element Identifier".into()))?;
        Ok((Self::new(unique, element)?, prefix))
    }

    /// The URN with a given prefix.
    pub fn urn(&self, prefix: &str) -> String {
        format!("{prefix}{}:{}", self.unique, self.element)
    }
}

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.unique, self.element)
    }
}

fn check_element(element: &str) -> Result<(), String> {
    if element.is_empty() {
        return Err("Element Identifier is empty".into());
    }
    if !element
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
    {
        return Err(format!(
            "Element Identifier {element:?} is not a domain-style identifier"
        ));
    }
    Ok(())
}

/// A Decentralised Identifier (6.1.2.11, W3C DID syntax `did:method:method-specific-id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Did(pub String);

impl Did {
    /// Validates DID syntax.
    pub fn parse(text: &str) -> Result<Self, WireError> {
        let bad = |reason: &str| WireError::BadIdentifier {
            value: text.to_string(),
            reason: format!("{reason} (6.1.2.11, W3C DID Core syntax)"),
        };
        let rest = text
            .strip_prefix("did:")
            .ok_or_else(|| bad("does not start with did:"))?;
        let (method, id) = rest
            .split_once(':')
            .ok_or_else(|| bad("no method-specific id"))?;
        if method.is_empty()
            || !method
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(bad("method name must be lower-case letters and digits"));
        }
        if id.is_empty()
            || id.ends_with(':')
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_:%".contains(&b))
        {
            return Err(bad("method-specific id has characters outside idchar"));
        }
        Ok(Self(text.to_string()))
    }
}

/// The LMPE identifiers found in a message's Call-Info headers, with every problem found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LmpeIds {
    /// Call Identifier, if present and well-formed.
    pub call_id: Option<CallId>,
    /// The Call Identifier URN exactly as received.
    pub call_id_urn: Option<String>,
    /// Message Identifier sequence number.
    pub msg_id: Option<u32>,
    /// Message Type.
    pub msg_type: Option<MessageType>,
    /// DID.
    pub did: Option<Did>,
    /// Which Message Identifier purpose form was used ([`PURPOSE_MSG_ID_TEXT`] or
    /// [`PURPOSE_MSG_ID_EXAMPLE`]), so an answer can mirror it.
    pub msg_id_purpose: Option<&'static str>,
    /// Problems, each citing the clause (empty when all is well).
    pub issues: Vec<String>,
}

impl LmpeIds {
    /// Reads the identifiers from all Call-Info values of `msg`, judging forms by `profile`.
    pub fn extract(msg: &SipMessage, profile: &IdentifierProfile) -> Self {
        let mut out = Self::default();
        let mut seen_call = 0;
        let mut seen_id = 0;
        let mut seen_type = 0;
        for value in msg.header_values("Call-Info") {
            let na = match NameAddr::parse("Call-Info", value) {
                Ok(na) => na,
                Err(e) => {
                    out.issues.push(format!("6.1.2.7: {e}"));
                    continue;
                }
            };
            let purpose = na.param("purpose").flatten().unwrap_or("");
            let uri = na.uri.as_str();
            if purpose.eq_ignore_ascii_case(PURPOSE_CALL_ID) {
                seen_call += 1;
                out.read_call_id(uri, profile);
            } else if purpose.eq_ignore_ascii_case(PURPOSE_MSG_ID_TEXT)
                || purpose.eq_ignore_ascii_case(PURPOSE_MSG_ID_EXAMPLE)
            {
                seen_id += 1;
                out.msg_id_purpose = Some(if purpose.eq_ignore_ascii_case(PURPOSE_MSG_ID_TEXT) {
                    PURPOSE_MSG_ID_TEXT
                } else {
                    PURPOSE_MSG_ID_EXAMPLE
                });
                if !profile
                    .msg_id_purposes
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(purpose))
                {
                    out.issues.push(format!(
                        "6.1.2.7: Message Identifier purpose {purpose:?} is not accepted by profile {} (accepted: {})",
                        profile.name,
                        profile.msg_id_purposes.join(", ")
                    ));
                }
                match parse_numbered(uri, MSG_ID_PREFIX) {
                    Ok((n, _)) => match n.parse::<u32>() {
                        Ok(0) => out
                            .issues
                            .push("6.1.2.7: Message Identifier 0; it starts at 1".into()),
                        Ok(v) => out.msg_id = Some(v),
                        Err(_) => out.issues.push(format!(
                            "6.1.2.7: Message Identifier {n:?} is not an integer"
                        )),
                    },
                    Err(e) => out.issues.push(e),
                }
            } else if purpose.eq_ignore_ascii_case(PURPOSE_MSG_TYPE) {
                seen_type += 1;
                match parse_numbered(uri, MSG_TYPE_PREFIX) {
                    Ok((n, _)) => match n.parse::<u16>() {
                        Ok(v) => match MessageType(v).validate() {
                            Ok(t) => out.msg_type = Some(t),
                            Err(e) => out.issues.push(format!("6.1.2.7/A.5: {e}")),
                        },
                        Err(_) => out.issues.push(format!(
                            "6.1.2.7: Message Type {n:?} is not a 16-bit integer"
                        )),
                    },
                    Err(e) => out.issues.push(e),
                }
            } else if purpose.eq_ignore_ascii_case(PURPOSE_DID) {
                match Did::parse(uri) {
                    Ok(d) => out.did = Some(d),
                    Err(e) => out.issues.push(e.to_string()),
                }
            }
        }
        for (n, what) in [
            (seen_call, "Call Identifier"),
            (seen_id, "Message Identifier"),
            (seen_type, "Message Type"),
        ] {
            if n > 1 {
                out.issues
                    .push(format!("6.1.2.7: {n} Call-Info values carry a {what}"));
            }
        }
        out
    }

    fn read_call_id(&mut self, uri: &str, profile: &IdentifierProfile) {
        self.call_id_urn = Some(uri.to_string());
        match CallId::from_urn(uri) {
            Ok((call_id, prefix)) => {
                if !profile.call_id_prefixes.contains(&prefix) {
                    self.issues.push(format!(
                        "6.1.2.7: Call Identifier prefix {prefix:?} is not accepted by profile {} (accepted: {})",
                        profile.name,
                        profile.call_id_prefixes.join(", ")
                    ));
                }
                self.call_id = Some(call_id);
            }
            Err(WireError::BadIdentifier { reason, .. }) if reason.starts_with("6.1.2.7: ") => {
                let why = reason.strip_prefix("6.1.2.7: ").unwrap_or(&reason);
                self.issues
                    .push(format!("6.1.2.7: Call Identifier {uri:?} {why}"));
            }
            Err(e) => self.issues.push(format!("6.1.2.7: {e}")),
        }
    }

    /// The Call-Info header values for an outgoing message.
    pub fn call_info_values(
        profile: &IdentifierProfile,
        call_id: &CallId,
        msg_id: Option<u32>,
        msg_type: MessageType,
        did: Option<&Did>,
    ) -> Vec<String> {
        let element = &call_id.element;
        let mut v = Vec::with_capacity(4);
        v.push(format!(
            "<{}>;purpose={PURPOSE_CALL_ID}",
            call_id.urn(profile.call_id_prefixes[0])
        ));
        if let Some(id) = msg_id {
            v.push(format!(
                "<{MSG_ID_PREFIX}{id}:{element}>;purpose={}",
                profile.msg_id_purposes[0]
            ));
        }
        v.push(format!(
            "<{MSG_TYPE_PREFIX}{}:{element}>;purpose={PURPOSE_MSG_TYPE}",
            msg_type.0
        ));
        if let Some(d) = did {
            v.push(format!("<{}>;purpose={PURPOSE_DID}", d.0));
        }
        v
    }
}

fn parse_numbered<'a>(uri: &'a str, prefix: &str) -> Result<(&'a str, &'a str), String> {
    if uri.len() < prefix.len() || !uri[..prefix.len()].eq_ignore_ascii_case(prefix) {
        return Err(format!("6.1.2.7: {uri:?} does not start with {prefix:?}"));
    }
    let rest = &uri[prefix.len()..];
    let (n, element) = rest
        .split_once(':')
        .ok_or_else(|| format!("6.1.2.7: {uri:?} lacks `:` and the Element Identifier"))?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "6.1.2.7: {uri:?}: the unique part {n:?} must be numeric"
        ));
    }
    check_element(element).map_err(|e| format!("6.1.2.7: {e}"))?;
    Ok((n, element))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{Method, RequestBuilder};

    fn msg(values: &[&str]) -> SipMessage {
        let mut b = RequestBuilder::new(Method::Message, "urn:service:sos");
        for v in values {
            b = b.header("Call-Info", *v);
        }
        b.build()
    }

    #[test]
    fn named_values_match_annex_a5() {
        assert_eq!(
            MessageType::NAMED.map(|t| t.0),
            [256, 257, 258, 259, 260, 265, 266, 273, 274, 388]
        );
        for t in MessageType::NAMED {
            assert!(t.validate().is_ok(), "{t}");
        }
        assert_eq!(
            MessageType::START.0 | MessageType::TRANSFER_BIT,
            MessageType::START_TRANSFER.0
        );
        assert_eq!(
            MessageType::HEARTBEAT.0 | MessageType::INACTIVE_BIT,
            MessageType::HEARTBEAT_INACTIVE.0
        );
        assert!(MessageType(257 | 0x20)
            .validate()
            .unwrap_err()
            .contains("reserved"));
        assert!(MessageType(257 | 0x40)
            .validate()
            .unwrap_err()
            .contains("reserved"));
        assert!(MessageType(0x200 | 257)
            .validate()
            .unwrap_err()
            .contains("reserved bits"));
        assert!(MessageType(1).validate().unwrap_err().contains("version"));
        assert!(MessageType(256 | 5)
            .validate()
            .unwrap_err()
            .contains("not a combination"));
        assert_eq!(
            MessageType::HEARTBEAT_INACTIVE.to_string(),
            "heartbeat|inactive/388"
        );
    }

    #[test]
    fn call_id_length_rules() {
        assert!(CallId::new("a56e556d87", "dec112.at").is_ok());
        assert!(CallId::new("a56e556d8", "dec112.at").is_err());
        assert!(CallId::new(&"a".repeat(30), "x").is_ok());
        assert!(CallId::new(&"a".repeat(31), "x").is_err());
        assert!(CallId::new("a56e556d87+", "x").is_err());
        assert!(CallId::new("a56e556d87", "").is_err());
    }

    #[test]
    fn extracts_the_spec_example_under_lenient_and_deployed() {
        let m = msg(&[
            "<urn:emergency:uid:callid:a56e556d871:dec112.at>;purpose=EmergencyCallData.CallId",
            "<urn:emergency:service:uid:msgid:1:service.dec112.at>;purpose=EmergencyCallData.MsgId",
            "<urn:emergency:service:uid:msgtype:259:service.dec112.at>;purpose=EmergencyCallData.MsgType",
            "<did:example:123456789abcdefghi>;purpose=EmergencyCallData.DID",
        ]);
        for p in [IdentifierProfile::LENIENT, IdentifierProfile::DEPLOYED] {
            let ids = LmpeIds::extract(&m, &p);
            assert!(ids.issues.is_empty(), "{:?}", ids.issues);
            assert_eq!(
                ids.call_id.as_ref().map(|c| c.unique.as_str()),
                Some("a56e556d871")
            );
            assert_eq!(ids.msg_id, Some(1));
            assert_eq!(ids.msg_type, Some(MessageType::IN_CHAT));
            assert_eq!(ids.did, Some(Did("did:example:123456789abcdefghi".into())));
        }
        let strict = LmpeIds::extract(&m, &IdentifierProfile::STRICT_TEXT);
        assert_eq!(strict.issues.len(), 2, "{:?}", strict.issues);
        assert!(strict.issues[0].contains("not accepted by profile strict-text"));
    }

    #[test]
    fn comma_separated_values_and_issues() {
        let m = msg(&["<urn:emergency:uid:callid:12345qwertz:dec112.at>;purpose=EmergencyCallData.CallId,<urn:emergency:service:uid:msgid:5:dec112.at>;purpose=EmergencyCallData.MsgId,<urn:emergency:service:uid:msgtype:257:dec112.at>;purpose=EmergencyCallData.MsgType"]);
        let ids = LmpeIds::extract(&m, &IdentifierProfile::LENIENT);
        assert!(ids.issues.is_empty(), "{:?}", ids.issues);
        assert_eq!(
            (ids.msg_id, ids.msg_type),
            (Some(5), Some(MessageType::START))
        );
        let bad = msg(&[
            "<urn:emergency:uid:callid:short:x>;purpose=EmergencyCallData.CallId",
            "<urn:emergency:service:uid:msgid:0:x>;purpose=EmergencyCallData.MsgId",
            "<urn:emergency:service:uid:msgtype:999:x>;purpose=EmergencyCallData.MsgType",
        ]);
        let ids = LmpeIds::extract(&bad, &IdentifierProfile::LENIENT);
        assert_eq!(ids.issues.len(), 3, "{:?}", ids.issues);
        assert!(ids.call_id.is_none() && ids.msg_id.is_none() && ids.msg_type.is_none());
    }

    #[test]
    fn emits_profile_forms() {
        let c = CallId::new("abcdefghij12", "harness.test").unwrap();
        let v = LmpeIds::call_info_values(
            &IdentifierProfile::STRICT_TEXT,
            &c,
            Some(3),
            MessageType::STOP,
            None,
        );
        assert_eq!(v[0], "<urn:emergency:service:uid:callid:abcdefghij12:harness.test>;purpose=EmergencyCallData.CallId");
        assert_eq!(
            v[1],
            "<urn:emergency:service:uid:msgid:3:harness.test>;purpose=EmergencyChatData.MsgId"
        );
        assert_eq!(v[2], "<urn:emergency:service:uid:msgtype:258:harness.test>;purpose=EmergencyCallData.MsgType");
        let m = msg(&v.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(LmpeIds::extract(&m, &IdentifierProfile::STRICT_TEXT)
            .issues
            .is_empty());
    }

    #[test]
    fn did_syntax() {
        assert!(Did::parse("did:example:123456789abcdefghi").is_ok());
        assert!(Did::parse("did:Example:1").is_err());
        assert!(Did::parse("did:example:").is_err());
        assert!(Did::parse("urn:x").is_err());
    }
}
