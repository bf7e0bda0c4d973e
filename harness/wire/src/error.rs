//! The one error type of this crate.

use thiserror::Error;

/// Everything that can be wrong with bytes or values handed to the codecs.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// The header section is not terminated by an empty line (CRLF CRLF).
    #[error("SIP framing: no empty line ends the header section")]
    MissingHeaderTerminator,
    /// The start line is neither a request line nor a status line.
    #[error("SIP start line is malformed: {0}")]
    BadStartLine(String),
    /// The SIP version is not SIP/2.0.
    #[error("unsupported SIP version {0:?} (only SIP/2.0)")]
    UnsupportedVersion(String),
    /// The status code is not a three-digit code from 100 to 699.
    #[error("status code {0:?} is out of range 100..=699")]
    BadStatusCode(String),
    /// A header line has no colon or an empty name.
    #[error("header line {line} is malformed: {text:?}")]
    BadHeaderLine {
        /// 1-based line number within the message.
        line: usize,
        /// The offending line (lossy UTF-8).
        text: String,
    },
    /// A header value is not valid UTF-8.
    #[error("header {0} is not valid UTF-8")]
    NonUtf8Header(String),
    /// Content-Length is missing where it is required (stream transports).
    #[error("Content-Length is required on a stream transport")]
    MissingContentLength,
    /// Content-Length appears more than once.
    #[error("Content-Length appears {0} times")]
    MultipleContentLength(usize),
    /// Content-Length is not a non-negative decimal integer.
    #[error("Content-Length {0:?} is not a non-negative integer")]
    BadContentLength(String),
    /// The body is shorter than Content-Length says.
    #[error("body has {available} bytes but Content-Length says {declared}")]
    TruncatedBody {
        /// Content-Length value.
        declared: usize,
        /// Bytes actually present.
        available: usize,
    },
    /// A message exceeds the configured size limit.
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size seen so far.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// The underlying SIP grammar parser rejected the message.
    #[error("SIP grammar: {0}")]
    Grammar(String),
    /// A required header is absent.
    #[error("required header {0} is missing")]
    MissingHeader(&'static str),
    /// A header's value does not follow its grammar.
    #[error("header {header} is malformed: {reason}")]
    BadHeader {
        /// Header name.
        header: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A URI does not follow its grammar.
    #[error("URI {uri:?} is malformed: {reason}")]
    BadUri {
        /// The URI text.
        uri: String,
        /// What is wrong.
        reason: String,
    },
    /// A multipart body is malformed.
    #[error("multipart body: {0}")]
    Multipart(String),
    /// An LMPE identifier (Call-Info URN) is malformed or not allowed by the profile.
    #[error("LMPE identifier {value:?}: {reason}")]
    BadIdentifier {
        /// The offending value.
        value: String,
        /// What is wrong, with the clause.
        reason: String,
    },
}
