//! SIP (RFC 3261) message model, framing, parsing and building.
//!
//! The model ([`SipMessage`]) keeps header lines as they were received or built, in order, so
//! that a message can be re-emitted byte-exactly and so that the harness can build malformed
//! messages on purpose. Grammar validation is delegated to a [`SipParser`]; the default one,
//! [`RsipParser`], uses the `rsip` module of the maintained rsipstack crate behind our own trait.

mod addr;
mod builder;
mod chars;
mod framing;
mod message;
mod parser;
mod uri;
mod validate;
mod via;

pub use addr::{has_header_param, split_list, NameAddr, Param};
pub(crate) use addr::{
    is_token_char, parse_params_opt, raw_params, split_bracketed, write_params, write_quoted,
};
pub use builder::{reason_phrase, write_response_for, RequestBuilder, ResponseBuilder};
pub use framing::{split_datagram, DatagramParts, StreamFramer, MAX_MESSAGE_SIZE};
pub(crate) use message::write_header_block;
pub use message::{canonical_name, Header, Method, SipMessage, StartLine};
pub use parser::{RsipParser, SipParser};
pub use uri::{check_uri, is_hvalue_char, percent_decode, percent_encode, SipUri};
pub use validate::{Defect, Severity};
pub use via::{Via, ViaRef};
