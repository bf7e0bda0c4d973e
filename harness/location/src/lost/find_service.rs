//! `findService`, `findServiceResponse`, `mapping` and RFC 6848 location validation.

use crate::error::{LocationError, Result};
use crate::pidf::{NS_CIVIC_ADDR, NS_CIVIC_ADDR_EXT};
use crate::xml::{self, Element, QualifiedName};
use crate::{Ctx, ParseOptions};

use super::boundary::{ServiceBoundary, ServiceBoundaryReference};
use super::list::request_pattern as common_request;
use super::{
    location_used, location_used_el, service_el, source_attr, Location, Message, Path,
    ResponseTail, Warnings, NS_LOST,
};

/// `serviceBoundary` attribute of `findService`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceBoundaryMode {
    /// `reference` (the default).
    Reference,
    /// `value`.
    Value,
}

/// `findService`.
#[derive(Debug, Clone, PartialEq)]
pub struct FindService {
    /// The locations (one or more, each with an `id`).
    pub locations: Vec<Location>,
    /// `service` URN.
    pub service: Option<String>,
    /// `path`.
    pub path: Option<Path>,
    /// `validateLocation` (default false).
    pub validate_location: bool,
    /// `serviceBoundary` (default `reference`).
    pub service_boundary: ServiceBoundaryMode,
    /// `recursive` (default false).
    pub recursive: bool,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

impl FindService {
    pub(crate) fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let service_boundary = match el.attr("serviceBoundary").map(str::trim) {
            None | Some("reference") => ServiceBoundaryMode::Reference,
            Some("value") => ServiceBoundaryMode::Value,
            Some(v) => {
                return Err(xml::bad_attr(
                    el,
                    "serviceBoundary",
                    v,
                    "must be `value` or `reference`",
                ))
            }
        };
        let mut m = FindService {
            locations: Vec::new(),
            service: None,
            path: None,
            validate_location: xml::bool_attr(el, "validateLocation")?.unwrap_or(false),
            service_boundary,
            recursive: xml::bool_attr(el, "recursive")?.unwrap_or(false),
            extensions: Vec::new(),
        };
        for c in el.elements() {
            if c.is(NS_LOST, "location") {
                m.locations.push(Location::from_element(c, ctx)?);
            } else {
                common_request(el, c, &mut m.service, &mut m.path, &mut m.extensions)?;
            }
        }
        if m.locations.is_empty() {
            return Err(xml::missing(el, "location"));
        }
        Ok(m)
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        Element::new(NS_LOST, "findService")
            .with_attr(
                "serviceBoundary",
                match self.service_boundary {
                    ServiceBoundaryMode::Reference => "reference",
                    ServiceBoundaryMode::Value => "value",
                },
            )
            .with_attr("recursive", if self.recursive { "true" } else { "false" })
            .with_attr(
                "validateLocation",
                if self.validate_location {
                    "true"
                } else {
                    "false"
                },
            )
            .with_children(self.locations.iter().map(Location::to_element))
            .with_children(service_el(self.service.as_ref()))
            .with_children(self.path.as_ref().map(Path::to_element))
            .with_children(self.extensions.iter().cloned())
    }
}

/// `displayName` with its `xml:lang`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName {
    /// `xml:lang` (required by the schema).
    pub lang: String,
    /// The name (xs:string; surrounding whitespace trimmed).
    pub text: String,
}

/// `expires` of a mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expires {
    /// An xs:dateTime (verbatim).
    At(String),
    /// `NO-CACHE`.
    NoCache,
    /// `NO-EXPIRATION`.
    NoExpiration,
}

impl Expires {
    fn parse(v: &str) -> Self {
        match v {
            "NO-CACHE" => Expires::NoCache,
            "NO-EXPIRATION" => Expires::NoExpiration,
            d => Expires::At(d.to_owned()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            Expires::At(s) => s,
            Expires::NoCache => "NO-CACHE",
            Expires::NoExpiration => "NO-EXPIRATION",
        }
    }
}

/// The boundary of a mapping: by value or by reference.
#[derive(Debug, Clone, PartialEq)]
pub enum MappingBoundary {
    /// One or more `serviceBoundary` elements.
    Value(Vec<ServiceBoundary>),
    /// `serviceBoundaryReference`.
    Reference(ServiceBoundaryReference),
}

/// A `mapping`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// `displayName`s.
    pub display_names: Vec<DisplayName>,
    /// `service`.
    pub service: Option<String>,
    /// Boundary.
    pub boundary: Option<MappingBoundary>,
    /// `uri`s.
    pub uris: Vec<String>,
    /// `serviceNumber` (`[0-9*#]+`).
    pub service_number: Option<String>,
    /// `expires`.
    pub expires: Expires,
    /// `lastUpdated` (xs:dateTime, verbatim).
    pub last_updated: String,
    /// `source`.
    pub source: String,
    /// `sourceId`.
    pub source_id: String,
    /// `message` + `xml:lang`.
    pub message: Option<Message>,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

impl Mapping {
    pub(crate) fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let mut m = Mapping {
            display_names: Vec::new(),
            service: None,
            boundary: None,
            uris: Vec::new(),
            service_number: None,
            expires: Expires::parse(xml::req_attr(el, "expires")?.trim()),
            last_updated: xml::req_attr(el, "lastUpdated")?.trim().to_owned(),
            source: source_attr(el)?,
            source_id: xml::req_attr(el, "sourceId")?.trim().to_owned(),
            message: Message::from_attrs(el),
            extensions: Vec::new(),
        };
        for c in el.elements() {
            match (c.ns.as_str(), c.name.as_str()) {
                (NS_LOST, "displayName") => {
                    let lang = c.lang().ok_or_else(|| LocationError::MissingAttribute {
                        element: "displayName".into(),
                        attribute: "xml:lang",
                        pos: c.position(),
                    })?;
                    m.display_names.push(DisplayName {
                        lang: lang.to_owned(),
                        text: xml::simple_text(c)?.trim().to_owned(),
                    });
                }
                (NS_LOST, "service") if m.service.is_none() => {
                    m.service = Some(xml::simple_token(c)?)
                }
                (NS_LOST, "serviceBoundary") => match &mut m.boundary {
                    None => {
                        m.boundary =
                            Some(MappingBoundary::Value(vec![ServiceBoundary::from_element(
                                c, ctx,
                            )?]))
                    }
                    Some(MappingBoundary::Value(v)) => {
                        v.push(ServiceBoundary::from_element(c, ctx)?)
                    }
                    Some(MappingBoundary::Reference(_)) => return Err(xml::unexpected(el, c)),
                },
                (NS_LOST, "serviceBoundaryReference") if m.boundary.is_none() => {
                    m.boundary = Some(MappingBoundary::Reference(
                        ServiceBoundaryReference::from_element(c)?,
                    ))
                }
                (NS_LOST, "uri") => m.uris.push(xml::simple_token(c)?),
                (NS_LOST, "serviceNumber") if m.service_number.is_none() => {
                    let v = xml::simple_token(c)?;
                    if v.is_empty()
                        || !v
                            .bytes()
                            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
                    {
                        return Err(xml::bad_value(c, &v, "serviceNumber must match [0-9*#]+"));
                    }
                    m.service_number = Some(v);
                }
                (NS_LOST, _) | ("", _) => return Err(xml::unexpected(el, c)),
                _ => m.extensions.push(c.clone()),
            }
        }
        Ok(m)
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        let el = Element::new(NS_LOST, "mapping")
            .with_attr("expires", self.expires.as_str())
            .with_attr("lastUpdated", self.last_updated.as_str())
            .with_attr("source", self.source.as_str())
            .with_attr("sourceId", self.source_id.as_str());
        let mut el = Message::apply(self.message.as_ref(), el)
            .with_children(self.display_names.iter().map(|d| {
                Element::new(NS_LOST, "displayName")
                    .with_lang(Some(&d.lang))
                    .with_text(d.text.as_str())
            }))
            .with_children(service_el(self.service.as_ref()));
        match &self.boundary {
            Some(MappingBoundary::Value(v)) => {
                el = el.with_children(v.iter().map(ServiceBoundary::to_element))
            }
            Some(MappingBoundary::Reference(r)) => el = el.with_child(r.to_element()),
            None => {}
        }
        el = el.with_children(
            self.uris
                .iter()
                .map(|u| Element::new(NS_LOST, "uri").with_text(u.as_str())),
        );
        if let Some(n) = &self.service_number {
            el = el.with_text_child(NS_LOST, "serviceNumber", n.as_str());
        }
        el.with_children(self.extensions.iter().cloned())
    }
}

/// `locationValidation` (RFC 5222 Section 8.4.2 as corrected by RFC 6848 Section 6: names
/// are namespace-qualified).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocationValidation {
    /// `valid` names.
    pub valid: Option<Vec<QualifiedName>>,
    /// `invalid` names.
    pub invalid: Option<Vec<QualifiedName>>,
    /// `unchecked` names.
    pub unchecked: Option<Vec<QualifiedName>>,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

fn qname_list(el: &Element, lenient: bool) -> Result<Vec<QualifiedName>> {
    let text = xml::simple_text(el)?;
    let mut out = Vec::new();
    for tok in text.split_whitespace() {
        if !tok.contains(':') {
            if lenient {
                out.push(QualifiedName::new(NS_CIVIC_ADDR, tok));
                continue;
            }
            return Err(LocationError::UnqualifiedName {
                element: el.name.clone(),
                token: tok.to_owned(),
                pos: el.position(),
            });
        }
        let (ns, local) = el
            .resolve_qname(tok)
            .ok_or_else(|| xml::bad_value(el, tok, "QName with an undeclared prefix"))?;
        out.push(QualifiedName { ns, local });
    }
    Ok(out)
}

impl LocationValidation {
    pub(crate) fn from_element(el: &Element, opts: &ParseOptions) -> Result<Self> {
        let lenient = opts.lenient_validation_names;
        let mut v = LocationValidation::default();
        // Children are in the element's own namespace (LoST; none for an RFC 6848 fragment
        // printed without the LoST declaration).
        let own = el.ns.as_str();
        for c in el.elements() {
            if c.ns == own {
                let slot = match c.name.as_str() {
                    "valid" => &mut v.valid,
                    "invalid" => &mut v.invalid,
                    "unchecked" => &mut v.unchecked,
                    _ => return Err(xml::unexpected(el, c)),
                };
                if slot.is_some() {
                    return Err(xml::unexpected(el, c));
                }
                *slot = Some(qname_list(c, lenient)?);
            } else if c.ns == NS_LOST || c.ns.is_empty() {
                return Err(xml::unexpected(el, c));
            } else {
                v.extensions.push(c.clone());
            }
        }
        Ok(v)
    }

    /// The element tree (LoST namespace; `ca`/`cae` prefixes declared for the names).
    pub fn to_element(&self) -> Element {
        let mut el = Element::new(NS_LOST, "locationValidation");
        let mut decl_ca = false;
        let mut decl_cae = false;
        let mut others: Vec<String> = Vec::new();
        let all = [&self.valid, &self.invalid, &self.unchecked];
        for q in all.iter().copied().flatten().flatten() {
            match q.ns.as_str() {
                NS_CIVIC_ADDR => decl_ca = true,
                NS_CIVIC_ADDR_EXT => decl_cae = true,
                "" => {}
                o => {
                    if !others.iter().any(|x| x == o) {
                        others.push(o.to_owned())
                    }
                }
            }
        }
        if decl_ca {
            el = el.with_decl("ca", NS_CIVIC_ADDR);
        }
        if decl_cae {
            el = el.with_decl("cae", NS_CIVIC_ADDR_EXT);
        }
        for (i, o) in others.iter().enumerate() {
            el = el.with_decl(&format!("v{i}"), o);
        }
        let prefix = |ns: &str| -> String {
            match ns {
                NS_CIVIC_ADDR => "ca:".into(),
                NS_CIVIC_ADDR_EXT => "cae:".into(),
                "" => String::new(),
                o => others
                    .iter()
                    .position(|x| x == o)
                    .map(|i| format!("v{i}:"))
                    .unwrap_or_default(),
            }
        };
        for (name, list) in [
            ("valid", &self.valid),
            ("invalid", &self.invalid),
            ("unchecked", &self.unchecked),
        ] {
            if let Some(list) = list {
                let text = list
                    .iter()
                    .map(|q| format!("{}{}", prefix(&q.ns), q.local))
                    .collect::<Vec<_>>()
                    .join(" ");
                el = el.with_text_child(NS_LOST, name, text);
            }
        }
        el.with_children(self.extensions.iter().cloned())
    }

    /// The element as a standalone XML fragment.
    pub fn to_xml(&self) -> String {
        xml::write_document(&self.to_element())
    }
}

/// Parses a standalone `locationValidation` fragment (RFC 6848 Figures 9-11). The root may be
/// in the LoST namespace or, as printed in RFC 6848, in no namespace (the LoST declaration
/// belongs to an ancestor not shown).
pub fn parse_location_validation(input: &str) -> Result<LocationValidation> {
    parse_location_validation_with(input, &ParseOptions::default())
}

/// [`parse_location_validation`] with options.
pub fn parse_location_validation_with(
    input: &str,
    opts: &ParseOptions,
) -> Result<LocationValidation> {
    let root = xml::parse_document(input, opts)?;
    if root.name != "locationValidation" {
        return Err(LocationError::WrongRoot {
            expected: "locationValidation",
            found: root.qualified(),
        });
    }
    if !root.ns.is_empty() {
        xml::expect_ns(&root, NS_LOST)?;
    }
    LocationValidation::from_element(&root, opts)
}

/// `findServiceResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct FindServiceResponse {
    /// The mappings (one or more; several are common for warning services).
    pub mappings: Vec<Mapping>,
    /// `locationValidation`.
    pub location_validation: Option<LocationValidation>,
    /// `warnings`.
    pub warnings: Vec<Warnings>,
    /// `path`.
    pub path: Path,
    /// `locationUsed/@id`.
    pub location_used: Option<String>,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

impl FindServiceResponse {
    pub(crate) fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let mut mappings = Vec::new();
        let mut validation = None;
        let mut used = None;
        let mut tail = ResponseTail::new();
        for c in el.elements() {
            match (c.ns.as_str(), c.name.as_str()) {
                (NS_LOST, "mapping") => mappings.push(Mapping::from_element(c, ctx)?),
                (NS_LOST, "locationValidation") if validation.is_none() => {
                    validation = Some(LocationValidation::from_element(c, ctx.opts)?)
                }
                (NS_LOST, "locationUsed") if used.is_none() => used = Some(location_used(c)?),
                _ => {
                    if !tail.take(el, c)? {
                        return Err(xml::unexpected(el, c));
                    }
                }
            }
        }
        if mappings.is_empty() {
            return Err(xml::missing(el, "mapping"));
        }
        Ok(FindServiceResponse {
            mappings,
            location_validation: validation,
            path: tail.path(el)?,
            warnings: tail.warnings,
            location_used: used,
            extensions: tail.extensions,
        })
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        Element::new(NS_LOST, "findServiceResponse")
            .with_children(self.mappings.iter().map(Mapping::to_element))
            .with_children(
                self.location_validation
                    .as_ref()
                    .map(LocationValidation::to_element),
            )
            .with_children(self.warnings.iter().map(Warnings::to_warnings_element))
            .with_child(self.path.to_element())
            .with_children(self.extensions.iter().cloned())
            .with_children(location_used_el(self.location_used.as_ref()))
    }
}
