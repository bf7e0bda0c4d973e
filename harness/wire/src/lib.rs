//! Codecs for lmpe-harness, with no I/O.
//!
//! * [`sip`]: the SIP message model, framing, the parser trait (backed by the maintained
//!   `rsip` module of rsipstack) and byte-exact builders that can also emit malformed messages.
//! * [`headers`]: typed, validating views of the headers LMPE relies on.
//! * [`multipart`]: `multipart/mixed` bodies (RFC 2046 / RFC 5621).
//! * [`lmpe`]: LMPE identifiers (ETSI TS 103 698 6.1.2.7, 6.1.2.11, Annex A.5) and profiles.

pub mod error;
pub mod headers;
pub mod lmpe;
pub mod multipart;
pub mod sip;

pub use error::WireError;
