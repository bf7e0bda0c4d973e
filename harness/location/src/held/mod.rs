//! HELD (RFC 5985) with device identity (RFC 6155), flow identity (RFC 6915), dereference
//! (RFC 6753) and the routing-information extension (RFC 7840).

pub mod identity;
pub mod request;
pub mod response;
pub mod routing;

pub use identity::{parse_device, Device, DeviceIdentifier, Flow, FlowEndpoint, Layer3, Layer4};
pub use request::{LocationKind, LocationRequest, LocationType, ResponseTime};
pub use response::{
    check_location_uri, ErrorCode, ErrorMessage, HeldError, LocationResponse, LocationUriIssue,
    LocationUriSet,
};
pub use routing::{RequestRoutingInformation, RoutingInformation, RoutingService};

use crate::error::{LocationError, Result};
use crate::xml;
use crate::{Ctx, ParseOptions};

/// HELD namespace.
pub const NS_HELD: &str = "urn:ietf:params:xml:ns:geopriv:held";
/// RFC 6155 device identity namespace.
pub const NS_HELD_ID: &str = "urn:ietf:params:xml:ns:geopriv:held:id";
/// RFC 6915 flow identity namespace.
pub const NS_HELD_FLOW: &str = "urn:ietf:params:xml:ns:geopriv:held:flow";
/// RFC 7840 routing information namespace.
pub const NS_HELD_RI: &str = "urn:ietf:params:xml:ns:geopriv:held:ri";

/// Any HELD message.
#[derive(Debug, Clone, PartialEq)]
pub enum HeldMessage {
    /// `locationRequest` (also the RFC 6753 dereference request).
    LocationRequest(LocationRequest),
    /// `locationResponse`.
    LocationResponse(LocationResponse),
    /// `error`.
    Error(HeldError),
}

impl HeldMessage {
    /// The message as XML (with XML declaration).
    pub fn to_xml(&self) -> String {
        match self {
            HeldMessage::LocationRequest(m) => m.to_xml(),
            HeldMessage::LocationResponse(m) => m.to_xml(),
            HeldMessage::Error(m) => m.to_xml(),
        }
    }
}

/// Parses a HELD message with default options.
pub fn parse(input: &str) -> Result<HeldMessage> {
    parse_with(input, &ParseOptions::default())
}

/// Parses a HELD message from bytes (must be UTF-8).
pub fn parse_bytes(input: &[u8]) -> Result<HeldMessage> {
    parse(xml::utf8(input)?)
}

/// Parses a HELD message.
pub fn parse_with(input: &str, opts: &ParseOptions) -> Result<HeldMessage> {
    let root = xml::parse_document(input, opts)?;
    let mut ctx = Ctx::new(opts);
    let known = matches!(
        root.name.as_str(),
        "locationRequest" | "locationResponse" | "error"
    );
    if !known {
        return Err(LocationError::WrongRoot {
            expected: "HELD locationRequest, locationResponse or error",
            found: root.qualified(),
        });
    }
    xml::expect_ns(&root, NS_HELD)?;
    Ok(match root.name.as_str() {
        "locationRequest" => {
            HeldMessage::LocationRequest(LocationRequest::from_element(&root, &mut ctx)?)
        }
        "locationResponse" => {
            HeldMessage::LocationResponse(LocationResponse::from_element(&root, &mut ctx)?)
        }
        _ => HeldMessage::Error(HeldError::from_element(&root)?),
    })
}
