//! Typed, validating views of the headers LMPE relies on (ETSI TS 103 698 6.1.2.3 to 6.1.2.11).
//!
//! Every type has `parse(&str)` for one header value (validating, with a precise error),
//! `Display` producing canonical text, and accessors that read it from a [`SipMessage`] across
//! all header lines and comma-separated values. The views do not interpret the URIs they carry
//! (LMPE identifiers are interpreted by [`crate::lmpe`]).
//!
//! Zero-allocation helpers exist for hot paths: [`CallInfo::find_uri`], [`Esnet::from_message`]
//! and [`media_type_is`].
//!
//! [`SipMessage`]: crate::sip::SipMessage

mod call_info;
mod content_type;
mod geolocation;
mod history_info;
mod p_asserted_identity;
mod reason;
mod reply_to;
mod resource_priority;

pub use call_info::CallInfo;
pub use content_type::{media_type_is, ContentType};
pub use geolocation::{
    Geolocation, GeolocationError, GeolocationRouting, LocationUriKind, LocationValue,
};
pub use history_info::{HiEntry, HiIndex, HistoryInfo};
pub use p_asserted_identity::PAssertedIdentity;
pub use reason::Reason;
pub use reply_to::ReplyTo;
pub use resource_priority::{Esnet, RValue, ResourcePriority};

use crate::sip::{split_list, SipMessage};
use crate::WireError;

fn bad(header: &'static str, reason: impl Into<String>) -> WireError {
    WireError::BadHeader {
        header,
        reason: reason.into(),
    }
}

/// Parses every comma-separated value of every `name` line with `parse`.
fn all_values<T>(
    msg: &SipMessage,
    name: &str,
    parse: impl Fn(&str) -> Result<T, WireError>,
) -> Result<Vec<T>, WireError> {
    msg.header_values(name).map(parse).collect()
}

/// Parses a comma-separated header line with `parse`; an empty list is an error.
fn list<T>(
    header: &'static str,
    line: &str,
    parse: impl Fn(&str) -> Result<T, WireError>,
) -> Result<Vec<T>, WireError> {
    let out = split_list(line).map(parse).collect::<Result<Vec<_>, _>>()?;
    if out.is_empty() {
        return Err(bad(header, "no value"));
    }
    Ok(out)
}
