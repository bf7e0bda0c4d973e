//! The four Annex A messages as serde types with the exact JSON member names, and the
//! harness's profile for the execution request's `Data` member.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};

use crate::schema::{parse_and_validate, SchemaKind};
use crate::TransferError;

/// Negotiation `StatusCode`: the transferee accepts (6.3.2).
pub const ACCEPTED: u16 = 202;
/// Negotiation `StatusCode`: the transferee refuses (6.3.2).
pub const NOT_ACCEPTABLE: u16 = 406;
/// Execution `StatusCode`: the transfer is executed (6.3.3).
pub const OK: u16 = 200;
/// Execution `StatusCode`: declined, e.g. the negotiation expired (6.3.2, 6.3.3).
pub const SERVICE_UNAVAILABLE: u16 = 503;
/// The smallest `ExpiryTime` Annex A.2 and A.3 allow, in seconds.
pub const MIN_EXPIRY_TIME: u32 = 10;

/// A.1 / Table 5: `chatTransferNegotiationRequest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NegotiationRequest {
    /// `CallId`: Call Identifier of the chat to be transferred.
    pub call_id: String,
    /// `TransferFrom`: SIP URI of the transferring entity.
    pub transfer_from: String,
    /// `TransferTo`: SIP URI of the transfer target.
    pub transfer_to: String,
    /// `ReasonText`: free text describing the transfer reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_text: Option<String>,
}

/// A.2 / Table 6: `chatTransferNegotiationResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NegotiationResponse {
    /// `CallId`: Call Identifier of the chat to be transferred.
    pub call_id: String,
    /// `ExpiryTime`: seconds after which the negotiation expires (>= 10).
    pub expiry_time: u32,
    /// `StatusCode`: [`ACCEPTED`] or [`NOT_ACCEPTABLE`].
    pub status_code: u16,
}

/// A.3 / Table 7: `chatTransferExecutionRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionRequest {
    /// `CallId`: Call Identifier of the chat to be transferred.
    pub call_id: String,
    /// `MessageId`: the last Message Identifier used in this chat (>= 1).
    pub message_id: u64,
    /// `ExpiryTime`: seconds after which the request expires (>= 10).
    pub expiry_time: u32,
    /// `Data`: the complete chat (the spec says "tbd"; see [`ChatData`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<ChatData>,
}

/// A.4 / Table 8: `chatTransferExecutionResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionResponse {
    /// `CallId`: Call Identifier of the chat to be transferred.
    pub call_id: String,
    /// `StatusCode`: [`OK`] or [`SERVICE_UNAVAILABLE`].
    pub status_code: u16,
}

/// The execution request's `Data` member. Annex A.3 only says `"type": "object"`,
/// `"description": "tbd"`, Table 7 "JSON object containing the complete chat". The harness
/// sends its own profile, [`ChatHistory`], and accepts any JSON object: one that is not
/// exactly the profile is kept as it came ([`ChatData::Other`]), so nothing is lost or
/// guessed.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatData {
    /// The harness profile.
    History(ChatHistory),
    /// Any other object, kept raw.
    Other(Map<String, Value>),
}

impl ChatData {
    /// Whether this is the harness profile (false: an unknown shape, kept raw).
    pub fn is_profile(&self) -> bool {
        matches!(self, ChatData::History(_))
    }
    /// The history, when in the harness profile.
    pub fn history(&self) -> Option<&ChatHistory> {
        match self {
            ChatData::History(h) => Some(h),
            ChatData::Other(_) => None,
        }
    }
    /// As a JSON value.
    pub fn to_value(&self) -> Value {
        match self {
            ChatData::History(h) => h.to_value(),
            ChatData::Other(m) => Value::Object(m.clone()),
        }
    }
    /// Classifies an object: the profile if it matches exactly, else raw.
    pub fn from_object(map: Map<String, Value>) -> Self {
        let value = Value::Object(map);
        match ChatHistory::deserialize(&value) {
            Ok(h) => ChatData::History(h),
            Err(_) => match value {
                Value::Object(m) => ChatData::Other(m),
                _ => ChatData::Other(Map::new()),
            },
        }
    }
}

impl Serialize for ChatData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ChatData::History(h) => h.serialize(s),
            ChatData::Other(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ChatData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Map::<String, Value>::deserialize(d).map(ChatData::from_object)
    }
}

/// The harness profile of `Data` (not from the spec, which leaves it "tbd"):
/// `{"Messages": [{"MsgId": 1, "Direction": "app-to-psap", "MessageType": "start/257",
/// "Text": "...", "At": "2026-11-21T12:00:00Z"}, ...]}`, member names in the PascalCase of
/// Annex A. Unknown members make an object "not the profile" (kept raw instead).
///
/// `AppUri` (the APP's P-A-I, else From URI) and `Service` (the service URN of the start) are
/// part of the profile because nothing else tells the transferee where to send its
/// start|transfer/265: neither request of 6.3 carries the APP's URI, yet 6.2.6 has the
/// transferee send to it. Without them the transferee cannot complete a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ChatHistory {
    /// The APP's URI (P-A-I, else From of its start/257).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_uri: Option<String>,
    /// The service URN the APP asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The messages of the chat, oldest first.
    pub messages: Vec<ChatMessage>,
}

impl ChatHistory {
    /// As a JSON value.
    pub fn to_value(&self) -> Value {
        let mut v = json!({ "Messages": self.messages.iter().map(ChatMessage::to_value).collect::<Vec<_>>() });
        if let Some(obj) = v.as_object_mut() {
            if let Some(u) = &self.app_uri {
                obj.insert("AppUri".into(), Value::String(u.clone()));
            }
            if let Some(s) = &self.service {
                obj.insert("Service".into(), Value::String(s.clone()));
            }
        }
        v
    }
    /// The highest Message Identifier in the history.
    pub fn last_msg_id(&self) -> Option<u64> {
        self.messages.iter().map(|m| m.msg_id).max()
    }
}

/// One message of a [`ChatHistory`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ChatMessage {
    /// The Message Identifier's integer (6.1.2.7).
    pub msg_id: u64,
    /// Who sent it.
    pub direction: Direction,
    /// The Message Type as `name/number`, e.g. `in-chat/259`.
    pub message_type: String,
    /// The chat text.
    pub text: String,
    /// When it was sent or received, RFC 3339 (e.g. `2026-11-21T12:00:00Z`).
    pub at: String,
}

impl ChatMessage {
    /// As a JSON value.
    pub fn to_value(&self) -> Value {
        json!({
            "MsgId": self.msg_id,
            "Direction": self.direction.as_str(),
            "MessageType": self.message_type,
            "Text": self.text,
            "At": self.at,
        })
    }
}

/// Direction of a [`ChatMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    /// From the APP to the PSAP.
    #[serde(rename = "app-to-psap")]
    AppToPsap,
    /// From the PSAP to the APP.
    #[serde(rename = "psap-to-app")]
    PsapToApp,
}

impl Direction {
    /// The JSON string.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::AppToPsap => "app-to-psap",
            Direction::PsapToApp => "psap-to-app",
        }
    }
}

/// Parsing (JSON, then the Annex A schema, then the typed decode) and encoding.
pub trait Message: Sized + DeserializeOwned {
    /// Which Annex A message this is.
    const KIND: SchemaKind;

    /// The message as a JSON value (never fails).
    fn to_value(&self) -> Value;

    /// The message as a body (compact JSON).
    fn to_body(&self) -> Vec<u8> {
        self.to_value().to_string().into_bytes()
    }

    /// Parses and validates a received body.
    fn parse(body: &[u8]) -> Result<Self, TransferError> {
        let value = parse_and_validate(Self::KIND, body)?;
        Self::from_valid(value)
    }

    /// Decodes a value that already passed the schema.
    fn from_valid(value: Value) -> Result<Self, TransferError> {
        serde_json::from_value(value).map_err(|e| TransferError::Decode {
            kind: Self::KIND,
            reason: e.to_string(),
        })
    }
}

impl Message for NegotiationRequest {
    const KIND: SchemaKind = SchemaKind::NegotiationRequest;
    fn to_value(&self) -> Value {
        let mut v = json!({
            "CallId": self.call_id,
            "TransferFrom": self.transfer_from,
            "TransferTo": self.transfer_to,
        });
        if let (Some(text), Value::Object(m)) = (&self.reason_text, &mut v) {
            m.insert("ReasonText".into(), Value::String(text.clone()));
        }
        v
    }
}

impl Message for NegotiationResponse {
    const KIND: SchemaKind = SchemaKind::NegotiationResponse;
    fn to_value(&self) -> Value {
        json!({
            "CallId": self.call_id,
            "ExpiryTime": self.expiry_time,
            "StatusCode": self.status_code,
        })
    }
}

impl Message for ExecutionRequest {
    const KIND: SchemaKind = SchemaKind::ExecutionRequest;
    fn to_value(&self) -> Value {
        let mut v = json!({
            "CallId": self.call_id,
            "MessageId": self.message_id,
            "ExpiryTime": self.expiry_time,
        });
        if let (Some(data), Value::Object(m)) = (&self.data, &mut v) {
            m.insert("Data".into(), data.to_value());
        }
        v
    }
}

impl Message for ExecutionResponse {
    const KIND: SchemaKind = SchemaKind::ExecutionResponse;
    fn to_value(&self) -> Value {
        json!({
            "CallId": self.call_id,
            "StatusCode": self.status_code,
        })
    }
}

/// Whether `s` has the shape of an RFC 3339 date-time
/// (`YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`, `T`/`t`/space and `Z`/`z` accepted).
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
        || !matches!(b[10], b'T' | b't' | b' ')
        || !digits(11..13)
        || b[13] != b':'
        || !digits(14..16)
        || b[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match b.get(i) {
        Some(b'Z' | b'z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            b.len() == i + 6 && digits(i + 1..i + 3) && b[i + 3] == b':' && digits(i + 4..i + 6)
        }
        _ => false,
    }
}
