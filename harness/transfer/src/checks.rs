//! Validators of what the PEER sent: each finding is a [`Violation`] with its clause.
//!
//! Clauses used (see the crate documentation for which fault trips which):
//!
//! * `A.1` .. `A.4`: the body is JSON and satisfies the Annex A schema (one violation per
//!   schema error, e.g. "ExpiryTime >= 10", "MessageId >= 1", "the body has the members
//!   [\"CallId\", ...]");
//! * `6.3.2`: `TransferFrom` / `TransferTo` are SIP URIs (Table 5); the negotiation response
//!   returns the request's `CallId` and a `StatusCode` of 202 or 406;
//! * `6.3.3`: the execution response returns the request's `CallId` and a `StatusCode` of 200
//!   or 503;
//! * `6.3`: (harness HTTP profile) bodies are sent as `application/json`.
//!
//! The machines add the checks that need time or state (`6.3.1`, `6.3.2` expiry, `6.3.3`
//! timeliness, `6.2.6` agreement).

use serde_json::Value;

use crate::model::{
    ExecutionRequest, ExecutionResponse, Message, NegotiationRequest, NegotiationResponse,
    ACCEPTED, NOT_ACCEPTABLE, OK, SERVICE_UNAVAILABLE,
};
use crate::schema::{validate, SchemaKind};
use crate::{TransferError, Violation};

/// The media type of every body (harness HTTP profile; the spec names none).
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// The result of checking one received body.
#[derive(Debug, Clone)]
pub struct Checked<T> {
    /// Everything the peer got wrong.
    pub violations: Vec<Violation>,
    /// The typed message, or why there is none.
    pub message: Result<T, TransferError>,
    /// The JSON document, when the body was JSON.
    pub raw: Option<Value>,
}

/// Whether a Content-Type value is JSON (`application/json`, parameters allowed).
pub fn is_json_content_type(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(JSON_CONTENT_TYPE))
}

/// Whether `uri` is a SIP or SIPS URI (scheme check only).
pub fn is_sip_uri(uri: &str) -> bool {
    let lower = uri.trim().to_ascii_lowercase();
    (lower.starts_with("sip:") && lower.len() > 4)
        || (lower.starts_with("sips:") && lower.len() > 5)
}

/// JSON, schema and typed decode of a body of `T`; `content_type` is the Content-Type
/// header (None: absent, which the harness profile flags like any non-JSON type).
pub fn check_body<T: Message>(content_type: Option<&str>, body: &[u8]) -> Checked<T> {
    let kind = T::KIND;
    let mut violations = Vec::new();
    if !content_type.is_some_and(is_json_content_type) {
        violations.push(Violation::new(
            "6.3",
            format!(
                "(harness HTTP profile) the {} is sent as {JSON_CONTENT_TYPE}",
                kind.name()
            ),
            match content_type {
                Some(ct) => format!("Content-Type: {ct}"),
                None => "no Content-Type header".to_string(),
            },
        ));
    }
    let raw: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            violations.push(Violation::new(
                kind.clause(),
                format!("the {} is a JSON document", kind.name()),
                format!("{e}; body: {}", excerpt(body)),
            ));
            return Checked {
                violations,
                message: Err(TransferError::NotJson {
                    kind,
                    reason: e.to_string(),
                }),
                raw: None,
            };
        }
    };
    let message = match validate(kind, &raw) {
        Ok(()) => T::from_valid(raw.clone()),
        Err(schema) => {
            for sv in &schema {
                let at = if sv.instance_path.is_empty() {
                    "(document root)"
                } else {
                    &sv.instance_path
                };
                violations.push(Violation::new(
                    kind.clause(),
                    format!("{}: {}", kind.name(), sv.expected),
                    format!("at {at}: {}", sv.message),
                ));
            }
            Err(TransferError::Schema {
                kind,
                violations: schema,
            })
        }
    };
    if let Err(TransferError::Decode { reason, .. }) = &message {
        violations.push(Violation::new(
            kind.clause(),
            format!(
                "the {} has members of the Annex {} types and ranges",
                kind.name(),
                kind.clause()
            ),
            reason.clone(),
        ));
    }
    Checked {
        violations,
        message,
        raw: Some(raw),
    }
}

/// Checks a received `chatTransferNegotiationRequest` (the transferee's view).
pub fn check_negotiation_request(
    content_type: Option<&str>,
    body: &[u8],
) -> Checked<NegotiationRequest> {
    let mut c = check_body::<NegotiationRequest>(content_type, body);
    if let Some(raw) = &c.raw {
        for member in ["TransferFrom", "TransferTo"] {
            if let Some(uri) = raw.get(member).and_then(Value::as_str) {
                if !is_sip_uri(uri) {
                    c.violations.push(Violation::new(
                        "6.3.2",
                        format!("{member} is a SIP URI (Table 5)"),
                        format!("{member}: {uri:?}"),
                    ));
                }
            }
        }
    }
    c
}

/// Checks a received `chatTransferNegotiationResponse` against the request it answers (the
/// transferor's view).
pub fn check_negotiation_response(
    request_call_id: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Checked<NegotiationResponse> {
    let mut c = check_body::<NegotiationResponse>(content_type, body);
    if let Some(raw) = &c.raw {
        check_call_id(
            &mut c.violations,
            "6.3.2",
            "chatTransferNegotiationResponse",
            request_call_id,
            raw,
        );
        check_status(
            &mut c.violations,
            "6.3.2",
            "chatTransferNegotiationResponse",
            &[ACCEPTED, NOT_ACCEPTABLE],
            "202 Accepted or 406 Not Acceptable",
            raw,
        );
    }
    if let Ok(m) = &c.message {
        if request_call_id.is_some_and(|id| id != m.call_id) {
            c.message = Err(TransferError::Decode {
                kind: SchemaKind::NegotiationResponse,
                reason: format!("CallId {:?} is not the request's", m.call_id),
            });
        }
    }
    c
}

/// Checks a received `chatTransferExecutionRequest` (the transferee's view).
pub fn check_execution_request(
    content_type: Option<&str>,
    body: &[u8],
) -> Checked<ExecutionRequest> {
    check_body::<ExecutionRequest>(content_type, body)
}

/// Checks a received `chatTransferExecutionResponse` against the request it answers (the
/// transferor's view).
pub fn check_execution_response(
    request_call_id: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Checked<ExecutionResponse> {
    let mut c = check_body::<ExecutionResponse>(content_type, body);
    if let Some(raw) = &c.raw {
        check_call_id(
            &mut c.violations,
            "6.3.3",
            "chatTransferExecutionResponse",
            Some(request_call_id),
            raw,
        );
        check_status(
            &mut c.violations,
            "6.3.3",
            "chatTransferExecutionResponse",
            &[OK, SERVICE_UNAVAILABLE],
            "200 OK or 503 Service Unavailable",
            raw,
        );
    }
    if let Ok(m) = &c.message {
        if m.call_id != request_call_id {
            c.message = Err(TransferError::Decode {
                kind: SchemaKind::ExecutionResponse,
                reason: format!("CallId {:?} is not the request's", m.call_id),
            });
        }
    }
    c
}

fn check_call_id(
    out: &mut Vec<Violation>,
    clause: &'static str,
    name: &str,
    expected: Option<&str>,
    raw: &Value,
) {
    let (Some(expected), Some(got)) = (expected, raw.get("CallId").and_then(Value::as_str)) else {
        return;
    };
    if got != expected {
        out.push(Violation::new(
            clause,
            format!("the {name} returns the request's CallId"),
            format!("CallId {got:?}, request had {expected:?}"),
        ));
    }
}

fn check_status(
    out: &mut Vec<Violation>,
    clause: &'static str,
    name: &str,
    allowed: &[u16],
    words: &str,
    raw: &Value,
) {
    let Some(status) = raw.get("StatusCode") else {
        return;
    };
    let ok = status
        .as_u64()
        .is_some_and(|s| allowed.iter().any(|a| u64::from(*a) == s));
    if !ok {
        out.push(Violation::new(
            clause,
            format!("the {name} StatusCode is {words}"),
            format!("StatusCode {status}"),
        ));
    }
}

/// At most 200 characters of a body, lossily decoded, for messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        out.push_str("...");
    }
    out
}
