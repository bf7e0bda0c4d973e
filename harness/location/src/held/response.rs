//! `locationResponse` and `error` (RFC 5985), location URI checks.

use crate::error::Result;
use crate::pidf::{Presence, NS_PIDF};
use crate::xml::{self, Element, QualifiedName};
use crate::Ctx;

use super::identity::{qname_list_el, required_identifiers};
use super::routing::RoutingInformation;
use super::{NS_HELD, NS_HELD_ID, NS_HELD_RI};

/// `locationUriSet`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationUriSet {
    /// `expires` (xs:dateTime, verbatim).
    pub expires: String,
    /// The `locationURI`s (whitespace-collapsed, otherwise verbatim: see
    /// [`check_location_uri`]).
    pub uris: Vec<String>,
}

/// A HELD `locationResponse`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocationResponse {
    /// `locationUriSet`.
    pub location_uri_set: Option<LocationUriSet>,
    /// The PIDF-LO `presence`.
    pub presence: Option<Presence>,
    /// RFC 7840 `routingInformation`.
    pub routing_information: Option<RoutingInformation>,
    /// Other elements.
    pub extensions: Vec<Element>,
}

impl LocationResponse {
    pub(crate) fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let mut r = LocationResponse::default();
        for c in el.elements() {
            match (c.ns.as_str(), c.name.as_str()) {
                (NS_HELD, "locationUriSet") if r.location_uri_set.is_none() => {
                    let expires = xml::req_attr(c, "expires")?.trim().to_owned();
                    let mut uris = Vec::new();
                    for u in c.elements() {
                        if u.is(NS_HELD, "locationURI") {
                            uris.push(xml::simple_token(u)?);
                        } else {
                            return Err(xml::unexpected(c, u));
                        }
                    }
                    if uris.is_empty() {
                        return Err(xml::missing(c, "locationURI"));
                    }
                    r.location_uri_set = Some(LocationUriSet { expires, uris });
                }
                (NS_PIDF, "presence") if r.presence.is_none() => {
                    r.presence = Some(Presence::from_element(c, ctx)?)
                }
                (NS_HELD_RI, "routingInformation") if r.routing_information.is_none() => {
                    r.routing_information = Some(RoutingInformation::from_element(c)?)
                }
                (_, "presence") if c.ns != NS_HELD => xml::expect_ns(c, NS_PIDF)?,
                (NS_HELD, _) | ("", _) | (NS_PIDF | NS_HELD_RI, _) => {
                    return Err(xml::unexpected(el, c))
                }
                _ => r.extensions.push(c.clone()),
            }
        }
        Ok(r)
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new(NS_HELD, "locationResponse");
        if let Some(s) = &self.location_uri_set {
            el = el.with_child(
                Element::new(NS_HELD, "locationUriSet")
                    .with_attr("expires", s.expires.as_str())
                    .with_children(
                        s.uris
                            .iter()
                            .map(|u| Element::new(NS_HELD, "locationURI").with_text(u.as_str())),
                    ),
            );
        }
        if let Some(p) = &self.presence {
            el = el.with_child(p.to_element());
        }
        if let Some(r) = &self.routing_information {
            el = el.with_child(r.to_element());
        }
        el.with_children(self.extensions.iter().cloned())
    }

    /// The response as XML.
    pub fn to_xml(&self) -> String {
        xml::with_decl(xml::write_document(&self.to_element()))
    }
}

/// A problem with a location URI found by [`check_location_uri`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocationUriIssue {
    /// The URI has no scheme.
    NoScheme,
    /// A scheme RFC 5985 does not mention (it names https and sip/sips location URIs).
    UnexpectedScheme(String),
    /// The authority ends in `:` with no port (RFC 5985 Section 10.3's second URI).
    EmptyPort,
    /// Whitespace inside the URI.
    Whitespace,
}

/// Checks a location URI that the parser kept verbatim. Flags the stray `:` of RFC 5985
/// Section 10.3 (`sip:...@ls.example.com:`) as [`LocationUriIssue::EmptyPort`].
pub fn check_location_uri(uri: &str) -> std::result::Result<(), LocationUriIssue> {
    if uri.chars().any(char::is_whitespace) {
        return Err(LocationUriIssue::Whitespace);
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err(LocationUriIssue::NoScheme);
    };
    if scheme.is_empty() {
        return Err(LocationUriIssue::NoScheme);
    }
    let scheme_lc = scheme.to_ascii_lowercase();
    if !matches!(
        scheme_lc.as_str(),
        "https" | "http" | "sip" | "sips" | "pres"
    ) {
        return Err(LocationUriIssue::UnexpectedScheme(scheme.to_owned()));
    }
    let host_part = match rest.strip_prefix("//") {
        Some(r) => r.split(['/', '?', '#']).next().unwrap_or(""),
        None => rest.split([';', '?']).next().unwrap_or(""),
    };
    if host_part.ends_with(':') {
        return Err(LocationUriIssue::EmptyPort);
    }
    Ok(())
}

/// HELD error codes (RFC 5985 Section 6.3, RFC 6155 `badIdentifier`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    /// `requestError`.
    RequestError,
    /// `xmlError`.
    XmlError,
    /// `generalLisError`.
    GeneralLisError,
    /// `locationUnknown`.
    LocationUnknown,
    /// `unsupportedMessage`.
    UnsupportedMessage,
    /// `timeout`.
    Timeout,
    /// `cannotProvideLiType`.
    CannotProvideLiType,
    /// `notLocatable`.
    NotLocatable,
    /// `badIdentifier` (RFC 6155).
    BadIdentifier,
    /// Any other (future IANA-registered) code.
    Other(String),
}

impl ErrorCode {
    /// Every known code.
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::RequestError,
        ErrorCode::XmlError,
        ErrorCode::GeneralLisError,
        ErrorCode::LocationUnknown,
        ErrorCode::UnsupportedMessage,
        ErrorCode::Timeout,
        ErrorCode::CannotProvideLiType,
        ErrorCode::NotLocatable,
        ErrorCode::BadIdentifier,
    ];

    /// The code token.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::RequestError => "requestError",
            ErrorCode::XmlError => "xmlError",
            ErrorCode::GeneralLisError => "generalLisError",
            ErrorCode::LocationUnknown => "locationUnknown",
            ErrorCode::UnsupportedMessage => "unsupportedMessage",
            ErrorCode::Timeout => "timeout",
            ErrorCode::CannotProvideLiType => "cannotProvideLiType",
            ErrorCode::NotLocatable => "notLocatable",
            ErrorCode::BadIdentifier => "badIdentifier",
            ErrorCode::Other(s) => s,
        }
    }

    /// Parses a code token.
    pub fn parse(s: &str) -> Self {
        ErrorCode::ALL
            .iter()
            .find(|c| c.as_str() == s)
            .cloned()
            .unwrap_or_else(|| ErrorCode::Other(s.to_owned()))
    }
}

/// An error `message` with `xml:lang`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMessage {
    /// `xml:lang`.
    pub lang: Option<String>,
    /// The text (xs:token, collapsed).
    pub text: String,
}

/// A HELD `error`.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldError {
    /// `code`.
    pub code: ErrorCode,
    /// `message` elements.
    pub messages: Vec<ErrorMessage>,
    /// RFC 6155 `requiredIdentifiers` (with `badIdentifier`).
    pub required_identifiers: Option<Vec<QualifiedName>>,
    /// Other elements.
    pub extensions: Vec<Element>,
}

impl HeldError {
    /// An error with one English message.
    pub fn new(code: ErrorCode, message: &str) -> Self {
        HeldError {
            code,
            messages: vec![ErrorMessage {
                lang: Some("en".into()),
                text: message.to_owned(),
            }],
            required_identifiers: None,
            extensions: Vec::new(),
        }
    }

    pub(crate) fn from_element(el: &Element) -> Result<Self> {
        let code = xml::req_attr(el, "code")?.trim();
        if code.is_empty() {
            return Err(xml::bad_attr(el, "code", code, "empty error code"));
        }
        let mut e = HeldError {
            code: ErrorCode::parse(code),
            messages: Vec::new(),
            required_identifiers: None,
            extensions: Vec::new(),
        };
        for c in el.elements() {
            match (c.ns.as_str(), c.name.as_str()) {
                (NS_HELD, "message") => e.messages.push(ErrorMessage {
                    lang: c.lang().map(str::to_owned),
                    text: xml::simple_token(c)?,
                }),
                (NS_HELD_ID, "requiredIdentifiers") if e.required_identifiers.is_none() => {
                    e.required_identifiers = Some(required_identifiers(c)?)
                }
                (NS_HELD, _) | ("", _) => return Err(xml::unexpected(el, c)),
                _ => e.extensions.push(c.clone()),
            }
        }
        Ok(e)
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new(NS_HELD, "error")
            .with_attr("code", self.code.as_str())
            .with_children(self.messages.iter().map(|m| {
                Element::new(NS_HELD, "message")
                    .with_lang(m.lang.as_deref())
                    .with_text(m.text.as_str())
            }));
        if let Some(ids) = &self.required_identifiers {
            el = el.with_child(qname_list_el(NS_HELD_ID, "requiredIdentifiers", ids));
        }
        el.with_children(self.extensions.iter().cloned())
    }

    /// The error as XML.
    pub fn to_xml(&self) -> String {
        xml::with_decl(xml::write_document(&self.to_element()))
    }
}

impl std::fmt::Display for HeldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HELD error {}", self.code.as_str())?;
        if let Some(m) = self.messages.first() {
            write!(f, ": {}", m.text)?;
        }
        Ok(())
    }
}
