//! The one error type of the crate.

use thiserror::Error;

/// Where in the input a problem was found: 1-based line and 0-based byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// 1-based line number.
    pub line: u32,
    /// 0-based byte offset into the document.
    pub offset: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, byte {}", self.line, self.offset)
    }
}

/// Every way parsing (or checking) a HELD, LoST or PIDF-LO document can fail.
///
/// Element names are given as `{namespace}local` (or just `local` where the namespace is
/// implied by the message), so a wrong namespace is visible in the message.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum LocationError {
    /// The document is larger than [`crate::ParseOptions::max_document_size`].
    #[error("document is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// Configured limit.
        max: usize,
    },
    /// Elements nest deeper than [`crate::ParseOptions::max_depth`].
    #[error("element nesting deeper than {max} at {pos}")]
    TooDeep {
        /// Configured limit.
        max: usize,
        /// Where the limit was crossed.
        pos: Pos,
    },
    /// More coordinates than [`crate::ParseOptions::max_points`] in one document.
    #[error("more than {max} points at {pos}")]
    TooManyPoints {
        /// Configured limit.
        max: usize,
        /// Where the limit was crossed.
        pos: Pos,
    },
    /// The input is not UTF-8.
    #[error("input is not UTF-8 (first invalid byte at offset {offset})")]
    NotUtf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// The input is not well-formed XML (as reported by quick-xml, or found by our own checks).
    #[error("malformed XML at {pos}: {message}")]
    Malformed {
        /// What is wrong.
        message: String,
        /// Where.
        pos: Pos,
    },
    /// An element or attribute uses a namespace prefix that is not declared in scope.
    #[error("undeclared namespace prefix `{prefix}:` on `{name}` at {pos}")]
    UndeclaredPrefix {
        /// The prefix.
        prefix: String,
        /// The qualified name as written.
        name: String,
        /// Where.
        pos: Pos,
    },
    /// A DOCTYPE or an entity reference other than the five predefined ones.
    #[error("unsupported XML construct at {pos}: {what}")]
    UnsupportedXml {
        /// What was found.
        what: String,
        /// Where.
        pos: Pos,
    },
    /// No root element (empty document, or only whitespace/comments).
    #[error("no root element")]
    NoRootElement,
    /// The root element is not one this parser accepts.
    #[error("unexpected root element `{found}`, expected {expected}")]
    WrongRoot {
        /// What the parser accepts.
        expected: &'static str,
        /// `{namespace}local` of the root found.
        found: String,
    },
    /// An element has the right local name but is in the wrong namespace.
    #[error("element `{element}` at {pos} is in namespace `{found}`, expected `{expected}`")]
    WrongNamespace {
        /// Local name.
        element: String,
        /// Expected namespace URI.
        expected: &'static str,
        /// Namespace found (empty: no namespace).
        found: String,
        /// Where.
        pos: Pos,
    },
    /// An element that is not allowed where it is.
    #[error("unexpected element `{found}` in `{parent}` at {pos}")]
    UnexpectedElement {
        /// Local name of the parent.
        parent: String,
        /// `{namespace}local` of the element found.
        found: String,
        /// Where.
        pos: Pos,
    },
    /// A required child element is missing.
    #[error("`{parent}` at {pos} lacks required element `{expected}`")]
    MissingElement {
        /// Local name of the parent.
        parent: String,
        /// Local name of the missing child.
        expected: &'static str,
        /// Where the parent starts.
        pos: Pos,
    },
    /// A required attribute is missing.
    #[error("`{element}` at {pos} lacks required attribute `{attribute}`")]
    MissingAttribute {
        /// Local name of the element.
        element: String,
        /// Name of the attribute.
        attribute: &'static str,
        /// Where the element starts.
        pos: Pos,
    },
    /// An attribute value is not valid.
    #[error(
        "attribute `{attribute}` of `{element}` at {pos} has invalid value {value:?}: {reason}"
    )]
    InvalidAttribute {
        /// Local name of the element.
        element: String,
        /// Name of the attribute.
        attribute: &'static str,
        /// The value found.
        value: String,
        /// Why it is invalid.
        reason: String,
        /// Where the element starts.
        pos: Pos,
    },
    /// Element text content is not valid.
    #[error("content of `{element}` at {pos} is invalid: {value:?}: {reason}")]
    InvalidValue {
        /// Local name of the element.
        element: String,
        /// The text found.
        value: String,
        /// Why it is invalid.
        reason: String,
        /// Where the element starts.
        pos: Pos,
    },
    /// A coordinate that is not a finite number.
    #[error("non-numeric coordinate {value:?} in `{element}` at {pos}")]
    InvalidCoordinate {
        /// Local name of the element holding the coordinate.
        element: String,
        /// The token found.
        value: String,
        /// Where.
        pos: Pos,
    },
    /// A latitude outside [-90, 90] or a longitude outside [-180, 180].
    #[error("{axis} {value} out of range in `{element}` at {pos}")]
    CoordinateOutOfRange {
        /// `latitude` or `longitude`.
        axis: &'static str,
        /// The value found.
        value: f64,
        /// Local name of the element.
        element: String,
        /// Where.
        pos: Pos,
    },
    /// A wrong number of coordinates for the CRS (2 for EPSG::4326, 3 for EPSG::4979).
    #[error("`{element}` at {pos} has {found} coordinates, the CRS needs {expected}")]
    WrongDimension {
        /// Local name of the element.
        element: String,
        /// Expected number of values per position.
        expected: usize,
        /// Number found.
        found: usize,
        /// Where.
        pos: Pos,
    },
    /// A shape without any `srsName` in scope.
    #[error("`{element}` at {pos} has no srsName")]
    MissingSrsName {
        /// Local name of the shape.
        element: String,
        /// Where.
        pos: Pos,
    },
    /// An `srsName` that is not WGS 84 (`urn:ogc:def:crs:EPSG::4326` or `::4979`).
    #[error("unsupported srsName {srs_name:?} at {pos}: only urn:ogc:def:crs:EPSG::4326 and urn:ogc:def:crs:EPSG::4979 (WGS 84)")]
    UnsupportedCrs {
        /// The value found.
        srs_name: String,
        /// Where.
        pos: Pos,
    },
    /// A known misspelling of the WGS 84 URN, e.g. RFC 5222's doubled colon
    /// `urn:ogc:def::crs:EPSG::4326`; accepted with
    /// [`crate::ParseOptions::lenient_srs_name`].
    #[error("malformed srsName {srs_name:?} at {pos} (known defect: {defect}); the correct form is {canonical:?}")]
    MalformedSrsName {
        /// The value found.
        srs_name: String,
        /// The URN it was meant to be.
        canonical: &'static str,
        /// Which published defect this is.
        defect: &'static str,
        /// Where.
        pos: Pos,
    },
    /// An unprefixed name in a QName list where a qualified name is required (RFC 6848
    /// Section 6: location validation lists); accepted with
    /// [`crate::ParseOptions::lenient_validation_names`].
    #[error("unqualified name {token:?} in `{element}` at {pos}: RFC 6848 requires namespace-qualified names (e.g. ca:{token})")]
    UnqualifiedName {
        /// Local name of the list element.
        element: String,
        /// The token found.
        token: String,
        /// Where.
        pos: Pos,
    },
    /// A historic or otherwise unsupported encoding (RFC 4119 civicLoc, pre-RFC 5491 GML).
    #[error("unsupported {feature} at {pos}: {detail}")]
    Unsupported {
        /// What is unsupported.
        feature: &'static str,
        /// Details (namespace found etc.).
        detail: String,
        /// Where.
        pos: Pos,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = LocationError> = std::result::Result<T, E>;
