//! CAP 1.2 (OASIS Common Alerting Protocol v1.2): the typed model, a decoder that validates
//! against the schema, an encoder, a validator equivalent to `cap12.xsd`, test-alert
//! builders and the "intact" comparison ([`Alert::diff`], [`digest`]).

mod datetime;
mod diff;
mod model;
mod parse;
mod sample;
pub mod validate;
mod write;

pub use datetime::CapDateTime;
pub use diff::{canonical, digest};
pub use model::{
    Alert, Area, Category, Certainty, Circle, Geocode, Info, MsgType, Point, Polygon, Resource,
    ResponseType, Scope, Severity, Status, Urgency, ValuePair,
};
pub use sample::AlertBuilder;
pub use validate::{validate, validate_element, validate_with, Violation, NS_XMLDSIG};

pub(crate) use parse::other_cap_version;
pub(crate) use write::{escape_text, write_alert, XmlOut};

/// The CAP 1.2 namespace.
pub const NS_CAP: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// MIME type of CAP documents (as registered for CAP, and used in SIP NOTIFY bodies of the
/// `common-alerting-protocol` event package).
pub const MIME_CAP: &str = "application/common-alerting-protocol+xml";

/// The SIP event package name for CAP (SUBSCRIBE/NOTIFY `Event:` header).
pub const SIP_EVENT_PACKAGE: &str = "common-alerting-protocol";
