//! LoST (RFC 5222, normative RelaxNG in Section 15): every request and response, errors,
//! warnings and redirect, RFC 6848 qualified location validation, and the
//! `urn:service:warning` services of draft-rosen-atoca-server-discovery ([`warning`]).

pub mod boundary;
pub mod errors;
pub mod find_service;
pub mod list;
pub mod warning;

pub use boundary::{
    GetServiceBoundary, GetServiceBoundaryResponse, ServiceBoundary, ServiceBoundaryReference,
};
pub use errors::{ExceptionKind, LostErrors, LostException, Redirect, Warnings};
pub use find_service::{
    parse_location_validation, parse_location_validation_with, DisplayName, Expires, FindService,
    FindServiceResponse, LocationValidation, Mapping, MappingBoundary, ServiceBoundaryMode,
};
pub use list::{
    ListServices, ListServicesByLocation, ListServicesByLocationResponse, ListServicesResponse,
};
pub use warning::{
    validate_warning_mapping, validate_warning_response, WarningService, WarningViolation,
};

use crate::error::{LocationError, Result};
use crate::pidf::{self, LocationObject};
use crate::xml::{self, Element};
use crate::{Ctx, ParseOptions};

/// LoST namespace.
pub const NS_LOST: &str = "urn:ietf:params:xml:ns:lost1";

/// Any LoST message (the RelaxNG `start` alternatives).
#[derive(Debug, Clone, PartialEq)]
pub enum LostMessage {
    /// `findService`.
    FindService(FindService),
    /// `findServiceResponse`.
    FindServiceResponse(FindServiceResponse),
    /// `listServices`.
    ListServices(ListServices),
    /// `listServicesResponse`.
    ListServicesResponse(ListServicesResponse),
    /// `listServicesByLocation`.
    ListServicesByLocation(ListServicesByLocation),
    /// `listServicesByLocationResponse`.
    ListServicesByLocationResponse(ListServicesByLocationResponse),
    /// `getServiceBoundary`.
    GetServiceBoundary(GetServiceBoundary),
    /// `getServiceBoundaryResponse`.
    GetServiceBoundaryResponse(GetServiceBoundaryResponse),
    /// `errors`.
    Errors(LostErrors),
    /// `redirect`.
    Redirect(Redirect),
}

impl LostMessage {
    /// The message as an element tree.
    pub fn to_element(&self) -> Element {
        match self {
            LostMessage::FindService(m) => m.to_element(),
            LostMessage::FindServiceResponse(m) => m.to_element(),
            LostMessage::ListServices(m) => m.to_element(),
            LostMessage::ListServicesResponse(m) => m.to_element(),
            LostMessage::ListServicesByLocation(m) => m.to_element(),
            LostMessage::ListServicesByLocationResponse(m) => m.to_element(),
            LostMessage::GetServiceBoundary(m) => m.to_element(),
            LostMessage::GetServiceBoundaryResponse(m) => m.to_element(),
            LostMessage::Errors(m) => m.to_element(),
            LostMessage::Redirect(m) => m.to_element(),
        }
    }

    /// The message as XML (with XML declaration).
    pub fn to_xml(&self) -> String {
        xml::with_decl(xml::write_document(&self.to_element()))
    }
}

macro_rules! to_xml_impl {
    ($($t:ty),*) => {$(
        impl $t {
            /// The message as XML (with XML declaration).
            pub fn to_xml(&self) -> String {
                xml::with_decl(xml::write_document(&self.to_element()))
            }
        }
    )*};
}
to_xml_impl!(
    FindService,
    FindServiceResponse,
    ListServices,
    ListServicesResponse,
    ListServicesByLocation,
    ListServicesByLocationResponse,
    GetServiceBoundary,
    GetServiceBoundaryResponse,
    LostErrors,
    Redirect
);

/// Parses a LoST message with default (strict) options.
pub fn parse(input: &str) -> Result<LostMessage> {
    parse_with(input, &ParseOptions::default())
}

/// Parses a LoST message from bytes (must be UTF-8).
pub fn parse_bytes(input: &[u8]) -> Result<LostMessage> {
    parse(xml::utf8(input)?)
}

/// Parses a LoST message.
pub fn parse_with(input: &str, opts: &ParseOptions) -> Result<LostMessage> {
    let root = xml::parse_document(input, opts)?;
    let mut ctx = Ctx::new(opts);
    const NAMES: &[&str] = &[
        "findService",
        "findServiceResponse",
        "listServices",
        "listServicesResponse",
        "listServicesByLocation",
        "listServicesByLocationResponse",
        "getServiceBoundary",
        "getServiceBoundaryResponse",
        "errors",
        "redirect",
    ];
    if !NAMES.contains(&root.name.as_str()) {
        return Err(LocationError::WrongRoot {
            expected: "a LoST message (findService, listServices, ..., errors, redirect)",
            found: root.qualified(),
        });
    }
    xml::expect_ns(&root, NS_LOST)?;
    let c = &mut ctx;
    Ok(match root.name.as_str() {
        "findService" => LostMessage::FindService(FindService::from_element(&root, c)?),
        "findServiceResponse" => {
            LostMessage::FindServiceResponse(FindServiceResponse::from_element(&root, c)?)
        }
        "listServices" => LostMessage::ListServices(ListServices::from_element(&root)?),
        "listServicesResponse" => {
            LostMessage::ListServicesResponse(ListServicesResponse::from_element(&root)?)
        }
        "listServicesByLocation" => {
            LostMessage::ListServicesByLocation(ListServicesByLocation::from_element(&root, c)?)
        }
        "listServicesByLocationResponse" => LostMessage::ListServicesByLocationResponse(
            ListServicesByLocationResponse::from_element(&root)?,
        ),
        "getServiceBoundary" => {
            LostMessage::GetServiceBoundary(GetServiceBoundary::from_element(&root)?)
        }
        "getServiceBoundaryResponse" => LostMessage::GetServiceBoundaryResponse(
            GetServiceBoundaryResponse::from_element(&root, c)?,
        ),
        "errors" => LostMessage::Errors(LostErrors::from_element(&root)?),
        _ => LostMessage::Redirect(Redirect::from_element(&root)?),
    })
}

// ---- common patterns -------------------------------------------------------------------

/// A `location` of a request: `id`, optional `profile`, one or more location objects.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    /// `id` (xs:token).
    pub id: String,
    /// `profile` (e.g. `geodetic-2d`, `civic`).
    pub profile: Option<String>,
    /// The location objects (shapes, civic addresses, other extension elements).
    pub objects: Vec<LocationObject>,
}

/// Why a `location` does not fit its `profile` (RFC 5222 Section 12 baseline profiles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileIssue {
    /// A profile other than `geodetic-2d` and `civic` (answer `locationProfileUnrecognized`).
    Unrecognized(String),
    /// The content is not allowed by the profile (answer `locationInvalid`).
    ContentMismatch {
        /// The profile.
        profile: &'static str,
        /// The offending element (local name).
        element: String,
    },
}

impl Location {
    /// Checks the content against the baseline profile: `geodetic-2d` allows 2-D (EPSG::4326)
    /// Point, Polygon, Circle, Ellipse and ArcBand; `civic` allows civicAddress. No profile is
    /// accepted as is.
    pub fn check_profile(&self) -> std::result::Result<(), ProfileIssue> {
        let Some(profile) = self.profile.as_deref() else {
            return Ok(());
        };
        let (name, geodetic) = match profile {
            "geodetic-2d" => ("geodetic-2d", true),
            "civic" => ("civic", false),
            other => return Err(ProfileIssue::Unrecognized(other.to_owned())),
        };
        for o in &self.objects {
            let bad = match o {
                LocationObject::Geodetic { shape, .. } => {
                    let ok2d = shape.crs == pidf::Crs::Wgs84_2D
                        && matches!(
                            shape.shape,
                            pidf::Shape::Point { .. }
                                | pidf::Shape::Polygon(_)
                                | pidf::Shape::Circle { .. }
                                | pidf::Shape::Ellipse { .. }
                                | pidf::Shape::ArcBand { .. }
                        );
                    (!geodetic || !ok2d).then(|| shape.shape.element_name().to_owned())
                }
                LocationObject::Civic(_) => geodetic.then(|| "civicAddress".to_owned()),
                LocationObject::Other(e) => Some(e.name.clone()),
            };
            if let Some(element) = bad {
                return Err(ProfileIssue::ContentMismatch {
                    profile: name,
                    element,
                });
            }
        }
        Ok(())
    }

    /// A representative WGS 84 point of the first shape, for mapping.
    pub fn representative_point(&self) -> Option<pidf::Position> {
        self.objects.iter().find_map(|o| match o {
            LocationObject::Geodetic { shape, .. } => shape.shape.representative_point(),
            _ => None,
        })
    }

    pub(crate) fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let id = xml::req_attr(el, "id")?.trim().to_owned();
        let objects = location_objects(el, ctx)?;
        Ok(Location {
            id,
            profile: el.attr("profile").map(|p| p.trim().to_owned()),
            objects,
        })
    }

    pub(crate) fn to_element(&self) -> Element {
        Element::new(NS_LOST, "location")
            .with_attr("id", self.id.as_str())
            .with_opt_attr("profile", self.profile.as_deref())
            .with_children(self.objects.iter().map(LocationObject::to_element))
    }
}

/// The `extensionPoint+` content of a `location` / `serviceBoundary`: elements not in the
/// LoST namespace, at least one.
pub(crate) fn location_objects(el: &Element, ctx: &mut Ctx<'_>) -> Result<Vec<LocationObject>> {
    let mut objects = Vec::new();
    for c in el.elements() {
        if c.ns == NS_LOST {
            return Err(xml::unexpected(el, c));
        }
        objects.push(pidf::location_object(c, ctx)?);
    }
    if objects.is_empty() {
        return Err(xml::missing(el, "location information"));
    }
    Ok(objects)
}

/// `path`: the `via` elements (sources the answer passed through).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Path {
    /// `via/@source` values, in order.
    pub vias: Vec<String>,
}

impl Path {
    pub(crate) fn from_element(el: &Element) -> Result<Self> {
        let mut vias = Vec::new();
        for c in el.elements() {
            if c.is(NS_LOST, "via") {
                vias.push(source_attr(c)?);
            } else {
                return Err(xml::unexpected(el, c));
            }
        }
        if vias.is_empty() {
            return Err(xml::missing(el, "via"));
        }
        Ok(Path { vias })
    }

    pub(crate) fn to_element(&self) -> Element {
        Element::new(NS_LOST, "path").with_children(
            self.vias
                .iter()
                .map(|v| Element::new(NS_LOST, "via").with_attr("source", v.as_str())),
        )
    }
}

/// The optional `message` + `xml:lang` attribute pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `message` (xs:token, collapsed).
    pub text: String,
    /// `xml:lang`.
    pub lang: Option<String>,
}

impl Message {
    pub(crate) fn from_attrs(el: &Element) -> Option<Self> {
        el.attr("message").map(|m| Message {
            text: xml::collapse(m),
            lang: el.lang().map(str::to_owned),
        })
    }

    pub(crate) fn apply(m: Option<&Message>, el: Element) -> Element {
        match m {
            Some(m) => el
                .with_attr("message", m.text.as_str())
                .with_lang(m.lang.as_deref()),
            None => el,
        }
    }
}

/// RelaxNG `appUniqueString`: `([a-zA-Z0-9\-]+\.)+[a-zA-Z0-9]+`.
pub fn is_app_unique_string(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels.iter().enumerate().all(|(i, l)| {
            !l.is_empty()
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || (b == b'-' && i + 1 < labels.len()))
        })
}

/// A required `source` attribute checked against `appUniqueString`.
pub(crate) fn source_attr(el: &Element) -> Result<String> {
    named_app_unique(el, "source")
}

pub(crate) fn named_app_unique(el: &Element, name: &'static str) -> Result<String> {
    let v = xml::req_attr(el, name)?.trim();
    if !is_app_unique_string(v) {
        return Err(xml::bad_attr(
            el,
            name,
            v,
            "not an application-unique string ([a-zA-Z0-9-]+.)+[a-zA-Z0-9]+",
        ));
    }
    Ok(v.to_owned())
}

/// The common response tail: `warnings*`, `path`, extension elements. Returns the children not
/// consumed for the caller to handle first.
pub(crate) struct ResponseTail {
    pub(crate) warnings: Vec<Warnings>,
    pub(crate) path: Option<Path>,
    pub(crate) extensions: Vec<Element>,
}

impl ResponseTail {
    pub(crate) fn new() -> Self {
        ResponseTail {
            warnings: Vec::new(),
            path: None,
            extensions: Vec::new(),
        }
    }

    /// Takes `c` if it is part of the tail; `Ok(false)` if not.
    pub(crate) fn take(&mut self, parent: &Element, c: &Element) -> Result<bool> {
        match (c.ns.as_str(), c.name.as_str()) {
            (NS_LOST, "warnings") => self.warnings.push(Warnings::from_element(c)?),
            (NS_LOST, "path") if self.path.is_none() => self.path = Some(Path::from_element(c)?),
            (NS_LOST, _) => return Ok(false),
            ("", _) => return Err(xml::unexpected(parent, c)),
            _ => self.extensions.push(c.clone()),
        }
        Ok(true)
    }

    pub(crate) fn path(&mut self, parent: &Element) -> Result<Path> {
        self.path.take().ok_or_else(|| xml::missing(parent, "path"))
    }
}

/// Optional `service` element (xs:anyURI).
pub(crate) fn service_el(s: Option<&String>) -> Option<Element> {
    s.map(|s| Element::new(NS_LOST, "service").with_text(s.as_str()))
}

/// `serviceList` content.
pub(crate) fn service_list(el: &Element) -> Result<Vec<String>> {
    Ok(xml::simple_text(el)?
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

pub(crate) fn service_list_el(services: &[String]) -> Element {
    Element::new(NS_LOST, "serviceList").with_text(services.join(" "))
}

pub(crate) fn location_used_el(id: Option<&String>) -> Option<Element> {
    id.map(|i| Element::new(NS_LOST, "locationUsed").with_attr("id", i.as_str()))
}

pub(crate) fn location_used(el: &Element) -> Result<String> {
    if let Some(c) = el.elements().next() {
        return Err(xml::unexpected(el, c));
    }
    Ok(xml::req_attr(el, "id")?.trim().to_owned())
}
