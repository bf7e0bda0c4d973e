//! Call-Info (RFC 3261 20.9), as LMPE uses it (ETSI TS 103 698 6.1.2.7 and 6.1.2.11).

use std::fmt;

use super::{all_values, bad, list};
use crate::sip::{is_token_char, raw_params, split_bracketed, write_params, Param, SipMessage};
use crate::WireError;

/// One Call-Info value: `<absoluteURI> *( ";" info-param )`, with the `purpose` parameter split out.
///
/// The URI is validated (RFC 3261 `absoluteURI`) but not interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// The URI, without angle brackets.
    pub uri: String,
    /// The `purpose` parameter, if present.
    pub purpose: Option<String>,
    /// The other parameters, in order.
    pub params: Vec<Param>,
}

/// One value scanned without allocating: URI, raw purpose, raw parameter text.
struct Scanned<'a> {
    uri: &'a str,
    purpose: Option<&'a str>,
    params: Option<&'a str>,
}

fn scan(value: &str) -> Result<Scanned<'_>, WireError> {
    let value = value.trim();
    if !value.starts_with('<') {
        return Err(bad(
            CallInfo::NAME,
            format!("{value:?} is not <URI>;params (RFC 3261 20.9)"),
        ));
    }
    let (uri, params) = split_bracketed(value).map_err(|e| bad(CallInfo::NAME, e))?;
    let mut purpose = None;
    for p in params.map(raw_params).into_iter().flatten() {
        let p = p.map_err(|e| bad(CallInfo::NAME, e))?;
        if !p.name.eq_ignore_ascii_case("purpose") {
            continue;
        }
        let v = p
            .value
            .ok_or_else(|| bad(CallInfo::NAME, "purpose parameter without value"))?;
        if !v.bytes().all(is_token_char) {
            return Err(bad(CallInfo::NAME, format!("purpose {v:?} is not a token")));
        }
        if purpose.replace(v).is_some() {
            return Err(bad(CallInfo::NAME, "purpose parameter appears twice"));
        }
    }
    Ok(Scanned {
        uri,
        purpose,
        params,
    })
}

impl CallInfo {
    /// The header name.
    pub const NAME: &'static str = "Call-Info";
    /// Purpose of the Call Identifier (TS 103 698 6.1.2.7).
    pub const PURPOSE_CALL_ID: &'static str = "EmergencyCallData.CallId";
    /// Purpose of the Message Identifier as the TS example writes it.
    pub const PURPOSE_MSG_ID: &'static str = "EmergencyCallData.MsgId";
    /// Purpose of the Message Identifier as the TS prose writes it.
    pub const PURPOSE_CHAT_MSG_ID: &'static str = "EmergencyChatData.MsgId";
    /// Purpose of the Message Type (TS 103 698 6.1.2.7).
    pub const PURPOSE_MSG_TYPE: &'static str = "EmergencyCallData.MsgType";
    /// Purpose of the Decentralised Identifier (TS 103 698 6.1.2.11).
    pub const PURPOSE_DID: &'static str = "EmergencyCallData.DID";

    /// A value with a purpose and no other parameters.
    pub fn new(uri: impl Into<String>, purpose: &str) -> Self {
        Self {
            uri: uri.into(),
            purpose: Some(purpose.to_string()),
            params: Vec::new(),
        }
    }

    /// Parses one value (LWS around `;` and `=` is tolerated, as in `<urn:…>; purpose=X`).
    pub fn parse(value: &str) -> Result<Self, WireError> {
        let s = scan(value)?;
        let mut params = Vec::new();
        for p in s.params.map(raw_params).into_iter().flatten() {
            let p = p.map_err(|e| bad(Self::NAME, e))?;
            if !p.name.eq_ignore_ascii_case("purpose") {
                params.push(p.to_param());
            }
        }
        Ok(Self {
            uri: s.uri.to_string(),
            purpose: s.purpose.map(str::to_string),
            params,
        })
    }

    /// Validates one value like [`parse`](Self::parse) without building it (no allocation
    /// unless it fails).
    pub fn validate(value: &str) -> Result<(), WireError> {
        scan(value).map(drop)
    }

    /// Parses a header line holding a comma-separated list.
    pub fn parse_list(line: &str) -> Result<Vec<Self>, WireError> {
        list(Self::NAME, line, Self::parse)
    }

    /// Every Call-Info value of the message, across all lines and comma lists, in order.
    pub fn all_from(msg: &SipMessage) -> Result<Vec<Self>, WireError> {
        all_values(msg, Self::NAME, Self::parse)
    }

    /// The URIs of all values whose purpose equals `purpose` (ASCII case-insensitive), in order.
    /// Each value is validated; nothing is allocated unless a value is malformed.
    pub fn uris_with_purpose<'a>(
        msg: &'a SipMessage,
        purpose: &'a str,
    ) -> impl Iterator<Item = Result<&'a str, WireError>> + 'a {
        msg.header_values(Self::NAME)
            .filter_map(move |v| match scan(v) {
                Ok(s) => s
                    .purpose
                    .filter(|p| p.eq_ignore_ascii_case(purpose))
                    .map(|_| Ok(s.uri)),
                Err(e) => Some(Err(e)),
            })
    }

    /// The URI of the only value with this purpose: `Ok(None)` when there is none, an error when
    /// there are several or any Call-Info value is malformed. Does not allocate on success.
    pub fn find_uri<'a>(msg: &'a SipMessage, purpose: &str) -> Result<Option<&'a str>, WireError> {
        let mut found = None;
        for v in msg.header_values(Self::NAME) {
            let s = scan(v)?;
            if s.purpose.is_some_and(|p| p.eq_ignore_ascii_case(purpose))
                && found.replace(s.uri).is_some()
            {
                return Err(bad(
                    Self::NAME,
                    format!("more than one value with purpose {purpose}"),
                ));
            }
        }
        Ok(found)
    }

    /// Whether the purpose equals `purpose` (ASCII case-insensitive).
    pub fn has_purpose(&self, purpose: &str) -> bool {
        self.purpose
            .as_deref()
            .is_some_and(|p| p.eq_ignore_ascii_case(purpose))
    }

    /// Value of another parameter (name case-insensitive); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_deref())
    }
}

impl fmt::Display for CallInfo {
    /// `<uri>;purpose=X;other-params`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.uri)?;
        if let Some(p) = &self.purpose {
            write!(f, ";purpose={p}")?;
        }
        write_params(f, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{Method, RequestBuilder};

    #[test]
    fn parses_ts_examples_and_tolerates_spaces() {
        let c = CallInfo::parse(
            "<urn:emergency:uid:callid:a56e556d871:dec112.at>;purpose=EmergencyCallData.CallId",
        )
        .unwrap();
        assert_eq!(c.uri, "urn:emergency:uid:callid:a56e556d871:dec112.at");
        assert!(c.has_purpose(CallInfo::PURPOSE_CALL_ID));
        let c = CallInfo::parse(
            "<urn:emergency:uid:callid:x:d>;            purpose=EmergencyCallData.CallId",
        )
        .unwrap();
        assert_eq!(c.purpose.as_deref(), Some("EmergencyCallData.CallId"));
        assert_eq!(
            c.to_string(),
            "<urn:emergency:uid:callid:x:d>;purpose=EmergencyCallData.CallId"
        );
        let c =
            CallInfo::parse("<http://wwww.example.com/alice/photo.jpg> ;purpose=icon;x=\"a b\"")
                .unwrap();
        assert_eq!(c.param("x"), Some(Some("a b")));
        assert_eq!(
            c.to_string(),
            "<http://wwww.example.com/alice/photo.jpg>;purpose=icon;x=\"a b\""
        );
    }

    #[test]
    fn rejects_malformed() {
        for v in [
            "urn:a:b;purpose=x",
            "<urn:a:b",
            "<urn:a:b>;purpose",
            "<urn:a:b>;purpose=",
            "<urn:a:b>;purpose=x;purpose=y",
            "<urn:a:b>;purpose=\"x\"",
            "< urn:a:b>;purpose=x",
            "<urn:a:b\"c>;purpose=x",
            "<urn:a:b> purpose=x",
            "<urn:a:b>;;purpose=x",
        ] {
            assert!(CallInfo::parse(v).is_err(), "{v}");
        }
    }

    #[test]
    fn reads_lists_and_lines_from_a_message() {
        let msg = RequestBuilder::new(Method::Message, "urn:service:sos")
            .header(
                "Call-Info",
                "<urn:emergency:uid:callid:12345:dec112.at>;purpose=EmergencyCallData.CallId,<urn:emergency:service:uid:msgid:5:dec112.at>;purpose=EmergencyCallData.MsgId",
            )
            .header(
                "call-info",
                "<did:example:123456789abcdefghi>; purpose=EmergencyCallData.DID",
            )
            .build();
        let all = CallInfo::all_from(&msg).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(
            CallInfo::find_uri(&msg, CallInfo::PURPOSE_DID).unwrap(),
            Some("did:example:123456789abcdefghi")
        );
        assert_eq!(
            CallInfo::find_uri(&msg, "EmergencyCallData.MsgType").unwrap(),
            None
        );
        let ids: Vec<_> = CallInfo::uris_with_purpose(&msg, CallInfo::PURPOSE_MSG_ID)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ids, vec!["urn:emergency:service:uid:msgid:5:dec112.at"]);
        let dup = RequestBuilder::new(Method::Message, "urn:service:sos")
            .header("Call-Info", "<urn:a:1>;purpose=P, <urn:a:2>;purpose=p")
            .build();
        assert!(CallInfo::find_uri(&dup, "P").is_err());
    }
}
