//! The four Annex A JSON Schemas, embedded verbatim (`schemas/*.json`, copied from the
//! specification text; file names follow the schemas' `$id`), compiled once as draft-07.
//!
//! Known defects of the ETSI text, kept as they are (the schemas are normative, their
//! `description` strings are not): A.2 describes `StatusCode` as "Free text describing the
//! reason of the transfer" although it is an integer enum (202, 406); A.3 describes `MessageId`
//! as "SIP URI of transfer initiating entity" although it is an integer >= 1 ("Last message ID
//! used in this chat", Table 7). The harness follows the types and constraints, not those
//! descriptions. The schemas allow additional properties; so does the harness.

use std::fmt;
use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::Value;

use crate::TransferError;

/// One of the four Annex A messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaKind {
    /// A.1 ChatTransferNegotiationRequest (Table 5).
    NegotiationRequest,
    /// A.2 ChatTransferNegotiationResponse (Table 6).
    NegotiationResponse,
    /// A.3 ChatTransferExecutionRequest (Table 7).
    ExecutionRequest,
    /// A.4 ChatTransferExecutionResponse (Table 8).
    ExecutionResponse,
}

impl SchemaKind {
    /// All four, in Annex order.
    pub const ALL: [SchemaKind; 4] = [
        SchemaKind::NegotiationRequest,
        SchemaKind::NegotiationResponse,
        SchemaKind::ExecutionRequest,
        SchemaKind::ExecutionResponse,
    ];

    /// The Annex A clause: `A.1` .. `A.4`.
    pub fn clause(self) -> &'static str {
        match self {
            SchemaKind::NegotiationRequest => "A.1",
            SchemaKind::NegotiationResponse => "A.2",
            SchemaKind::ExecutionRequest => "A.3",
            SchemaKind::ExecutionResponse => "A.4",
        }
    }

    /// The message name used in clause 6.3, e.g. `chatTransferNegotiationRequest`.
    pub fn name(self) -> &'static str {
        match self {
            SchemaKind::NegotiationRequest => "chatTransferNegotiationRequest",
            SchemaKind::NegotiationResponse => "chatTransferNegotiationResponse",
            SchemaKind::ExecutionRequest => "chatTransferExecutionRequest",
            SchemaKind::ExecutionResponse => "chatTransferExecutionResponse",
        }
    }

    /// The schema's file name (the last segment of its `$id`).
    pub fn file_name(self) -> &'static str {
        match self {
            SchemaKind::NegotiationRequest => "chattrnegrequ.json",
            SchemaKind::NegotiationResponse => "chattrnegresp.json",
            SchemaKind::ExecutionRequest => "chattrexerequ.json",
            SchemaKind::ExecutionResponse => "chattrexeresp.json",
        }
    }

    /// The schema text exactly as in Annex A.
    pub fn schema_text(self) -> &'static str {
        match self {
            SchemaKind::NegotiationRequest => include_str!("../schemas/chattrnegrequ.json"),
            SchemaKind::NegotiationResponse => include_str!("../schemas/chattrnegresp.json"),
            SchemaKind::ExecutionRequest => include_str!("../schemas/chattrexerequ.json"),
            SchemaKind::ExecutionResponse => include_str!("../schemas/chattrexeresp.json"),
        }
    }

    fn index(self) -> usize {
        match self {
            SchemaKind::NegotiationRequest => 0,
            SchemaKind::NegotiationResponse => 1,
            SchemaKind::ExecutionRequest => 2,
            SchemaKind::ExecutionResponse => 3,
        }
    }
}

impl fmt::Display for SchemaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (Annex {})", self.name(), self.clause())
    }
}

/// One way in which an instance fails its schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON Pointer to the offending value (`""` is the whole document).
    pub instance_path: String,
    /// JSON Pointer into the schema to the keyword that failed, e.g.
    /// `/properties/ExpiryTime/minimum`.
    pub schema_path: String,
    /// What the schema expects, in words, e.g. `ExpiryTime >= 10`.
    pub expected: String,
    /// What the validator found, e.g. `5 is less than the minimum of 10`.
    pub message: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.instance_path.is_empty() {
            "(document root)"
        } else {
            &self.instance_path
        };
        write!(
            f,
            "at {at}: expected {}; {} (schema keyword {})",
            self.expected, self.message, self.schema_path
        )
    }
}

/// All violations, `; `-separated.
pub fn describe(violations: &[SchemaViolation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Longest message kept from the validator (it may quote large instances, e.g. `Data`).
const MAX_MESSAGE: usize = 300;

type Compiled = Result<Validator, String>;

fn compiled() -> &'static [Compiled; 4] {
    static CELL: OnceLock<[Compiled; 4]> = OnceLock::new();
    CELL.get_or_init(|| SchemaKind::ALL.map(compile))
}

/// The parsed schema documents, for words about failed keywords.
fn documents() -> &'static [Option<Value>; 4] {
    static CELL: OnceLock<[Option<Value>; 4]> = OnceLock::new();
    CELL.get_or_init(|| SchemaKind::ALL.map(|k| serde_json::from_str(k.schema_text()).ok()))
}

fn compile(kind: SchemaKind) -> Compiled {
    let schema: Value = serde_json::from_str(kind.schema_text()).map_err(|e| e.to_string())?;
    jsonschema::draft7::new(&schema).map_err(|e| e.to_string())
}

/// Checks that all four embedded schemas compile (they always should).
pub fn self_check() -> Result<(), TransferError> {
    for kind in SchemaKind::ALL {
        if let Err(reason) = &compiled()[kind.index()] {
            return Err(TransferError::SchemaCompile {
                kind,
                reason: reason.clone(),
            });
        }
    }
    Ok(())
}

/// The parsed schema document (for reports).
pub fn schema_document(kind: SchemaKind) -> Result<Value, TransferError> {
    serde_json::from_str(kind.schema_text()).map_err(|e| TransferError::SchemaCompile {
        kind,
        reason: e.to_string(),
    })
}

/// Validates `instance` against the Annex A schema of `kind`; on failure every violation,
/// each with its instance path and what was expected.
pub fn validate(kind: SchemaKind, instance: &Value) -> Result<(), Vec<SchemaViolation>> {
    let validator = match &compiled()[kind.index()] {
        Ok(v) => v,
        Err(reason) => {
            return Err(vec![SchemaViolation {
                instance_path: String::new(),
                schema_path: String::new(),
                expected: format!("{kind} schema compiles"),
                message: format!("embedded schema {kind} does not compile: {reason}"),
            }])
        }
    };
    let violations: Vec<SchemaViolation> = validator
        .iter_errors(instance)
        .map(|e| {
            let mut message = e.to_string();
            if message.len() > MAX_MESSAGE {
                let mut cut = MAX_MESSAGE;
                while !message.is_char_boundary(cut) {
                    cut -= 1;
                }
                message.truncate(cut);
                message.push_str("...");
            }
            let instance_path = e.instance_path().to_string();
            let schema_path = e.schema_path().to_string();
            SchemaViolation {
                expected: expectation(kind, &instance_path, &schema_path),
                instance_path,
                schema_path,
                message,
            }
        })
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

/// Parses `body` as JSON and validates it against the schema of `kind`.
pub fn parse_and_validate(kind: SchemaKind, body: &[u8]) -> Result<Value, TransferError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| TransferError::NotJson {
        kind,
        reason: e.to_string(),
    })?;
    validate(kind, &value).map_err(|violations| TransferError::Schema { kind, violations })?;
    Ok(value)
}

/// Words for the schema keyword at `schema_path`, e.g. `ExpiryTime >= 10`.
fn expectation(kind: SchemaKind, instance_path: &str, schema_path: &str) -> String {
    let subject = match instance_path.trim_start_matches('/') {
        "" => "the body".to_string(),
        p => p.replace('/', "."),
    };
    let keyword = schema_path.rsplit('/').next().unwrap_or_default();
    let value = documents()[kind.index()]
        .as_ref()
        .and_then(|doc| doc.pointer(schema_path).cloned())
        .unwrap_or(Value::Null);
    match keyword {
        "required" => format!("{subject} has the members {value}"),
        "type" if subject == "the body" => format!("the body is a JSON {value}"),
        "type" => format!("{subject} is of type {value}"),
        "minimum" => format!("{subject} >= {value}"),
        "enum" => format!("{subject} is one of {value}"),
        other => format!("{subject} satisfies \"{other}\": {value}"),
    }
}
