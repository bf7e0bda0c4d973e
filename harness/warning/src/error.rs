//! The one error type of the crate.

use lmpe_location::LocationError;
use thiserror::Error;

use crate::cap::Violation;

/// Every way decoding (or building) a CAP alert, an Atom/GeoRSS feed or an XEP-0127 payload
/// can fail.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum WarningError {
    /// The input is larger than the configured limit.
    #[error("document is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// Configured limit.
        max: usize,
    },
    /// Elements nest deeper than the configured limit.
    #[error("element nesting deeper than {max} at {pos}")]
    TooDeep {
        /// Configured limit.
        max: usize,
        /// Where the limit was crossed.
        pos: lmpe_location::Pos,
    },
    /// The input is not UTF-8.
    #[error("input is not UTF-8 (first invalid byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The input is not well-formed XML (or uses a construct the reader refuses, such as a
    /// DOCTYPE); the inner error has the position.
    #[error("not well-formed XML: {0}")]
    Xml(LocationError),
    /// The root element is not `{urn:oasis:names:tc:emergency:cap:1.2}alert`.
    #[error("root element is `{found}`, expected `{{urn:oasis:names:tc:emergency:cap:1.2}}alert`")]
    NotCapAlert {
        /// The root element found, as `{namespace}local`.
        found: String,
    },
    /// An `alert` element in the namespace of another CAP version (CAP 1.0 / 1.1), e.g. the
    /// XEP-0127 examples, which carry CAP 1.0.
    #[error("`alert` is in namespace `{ns}` ({version}); only CAP 1.2 (`urn:oasis:names:tc:emergency:cap:1.2`) is supported")]
    UnsupportedCapVersion {
        /// The namespace found.
        ns: String,
        /// Human name of that version.
        version: &'static str,
    },
    /// No CAP `alert` element anywhere in the fragment.
    #[error("no CAP 1.2 `alert` element in the fragment")]
    NoAlert,
    /// The alert is not valid against the CAP 1.2 schema; every violation is listed.
    #[error("CAP alert is not schema-valid: {}", crate::cap::validate::join(.0))]
    Invalid(Vec<Violation>),
    /// A schema-valid value that the CAP specification's prose constrains further is not
    /// acceptable: a polygon or circle that is not the CAP coordinate syntax, or an
    /// altitude/ceiling that is not a finite `f64`.
    #[error("{path}: {value:?}: {reason}")]
    BadValue {
        /// Element path, e.g. `alert/info[0]/area[0]/polygon[0]`.
        path: String,
        /// The offending value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// The root element of a feed is not `{http://www.w3.org/2005/Atom}feed`.
    #[error("root element is `{found}`, expected `{{http://www.w3.org/2005/Atom}}feed`")]
    NotAtomFeed {
        /// The root element found, as `{namespace}local`.
        found: String,
    },
    /// A required Atom element is missing or repeated.
    #[error("{path}: {reason}")]
    Atom {
        /// Path of the element, e.g. `feed/entry[2]/updated`.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An Atom entry's content is not exactly one CAP 1.2 alert (`<content
    /// type="application/cap+xml">` with an `<alert>` child).
    #[error("feed/entry[{index}] (id {id:?}): content is not a CAP alert: {reason}")]
    EntryContent {
        /// Index of the entry in the feed.
        index: usize,
        /// The entry's `atom:id` (empty if missing).
        id: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<LocationError> for WarningError {
    fn from(e: LocationError) -> Self {
        match e {
            LocationError::TooLarge { size, max } => WarningError::TooLarge { size, max },
            LocationError::TooDeep { max, pos } => WarningError::TooDeep { max, pos },
            LocationError::NotUtf8 { offset } => WarningError::NotUtf8 { offset },
            other => WarningError::Xml(other),
        }
    }
}

/// Result alias of the crate.
pub type Result<T, E = WarningError> = std::result::Result<T, E>;
