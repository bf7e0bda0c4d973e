//! PIDF-LO: RFC 3863 presence/tuple/status, RFC 4119 geopriv (location-info, usage-rules,
//! method, provided-by), RFC 4479 `dm:device`/`dm:person`, RFC 5491 shapes
//! ([`shapes`]) and RFC 5139 civic addresses ([`civic`]).

pub mod civic;
pub mod shapes;

pub use civic::{parse_civic_address, parse_civic_address_with, CivicAddress, CivicExt};
pub use shapes::{Crs, GeoShape, Polygon, Position, Shape};

use crate::error::{LocationError, Result};
use crate::xml::{self, Element};
use crate::{Ctx, ParseOptions};

/// PIDF namespace (RFC 3863).
pub const NS_PIDF: &str = "urn:ietf:params:xml:ns:pidf";
/// RFC 4479 data model namespace (`dm:device`, `dm:person`).
pub const NS_DATA_MODEL: &str = "urn:ietf:params:xml:ns:pidf:data-model";
/// RFC 4119 geopriv namespace.
pub const NS_GEOPRIV10: &str = "urn:ietf:params:xml:ns:pidf:geopriv10";
/// RFC 4119 basic policy namespace (usage-rules children).
pub const NS_BASIC_POLICY: &str = "urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy";
/// GML 3.1.1 namespace.
pub const NS_GML: &str = "http://www.opengis.net/gml";
/// RFC 5491 PIDF-LO shape namespace.
pub const NS_GS: &str = "http://www.opengis.net/pidflo/1.0";
/// RFC 5139 civic address namespace.
pub const NS_CIVIC_ADDR: &str = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr";
/// RFC 6848 civic address extension namespace.
pub const NS_CIVIC_ADDR_EXT: &str = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr:ext";
/// RFC 4119 historic civicLoc namespace (unsupported: reported as such).
pub const NS_CIVIC_LOC: &str = "urn:ietf:params:xml:ns:pidf:geopriv10:civicLoc";
/// Pre-RFC 5491 GML 3.0 namespace used by RFC 4119 (unsupported: reported as such).
pub const NS_GML_OLD: &str = "urn:opengis:specification:gml:schema-xsd:feature:v3.0";

/// A PIDF document (`presence`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Presence {
    /// `entity` attribute (`pres:` URI).
    pub entity: String,
    /// `tuple` elements.
    pub tuples: Vec<Tuple>,
    /// RFC 4479 `dm:device` elements.
    pub devices: Vec<DmDevice>,
    /// RFC 4479 `dm:person` elements.
    pub persons: Vec<DmPerson>,
    /// `note` elements of the presence.
    pub notes: Vec<Note>,
    /// Elements from other namespaces.
    pub extensions: Vec<Element>,
}

/// A PIDF `note` with optional `xml:lang`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Note {
    /// `xml:lang`.
    pub lang: Option<String>,
    /// The text.
    pub text: String,
}

/// A PIDF `tuple`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tuple {
    /// `id` attribute.
    pub id: String,
    /// `status`: geopriv objects (RFC 4119) and an optional `basic`.
    pub geopriv: Vec<Geopriv>,
    /// `status/basic` (`open` / `closed`).
    pub basic: Option<String>,
    /// Other elements in `status`.
    pub status_extensions: Vec<Element>,
    /// `contact`.
    pub contact: Option<String>,
    /// `note` elements.
    pub notes: Vec<Note>,
    /// `timestamp` (xs:dateTime, verbatim).
    pub timestamp: Option<String>,
    /// Other elements in the tuple.
    pub extensions: Vec<Element>,
}

/// An RFC 4479 `dm:device`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DmDevice {
    /// `id` attribute.
    pub id: String,
    /// Geopriv objects.
    pub geopriv: Vec<Geopriv>,
    /// `dm:deviceID` values (e.g. `mac:8asd7d7d70cf`).
    pub device_ids: Vec<String>,
    /// `dm:note` elements.
    pub notes: Vec<Note>,
    /// `dm:timestamp`.
    pub timestamp: Option<String>,
    /// Other elements.
    pub extensions: Vec<Element>,
}

/// An RFC 4479 `dm:person`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DmPerson {
    /// `id` attribute.
    pub id: String,
    /// Geopriv objects.
    pub geopriv: Vec<Geopriv>,
    /// `dm:note` elements.
    pub notes: Vec<Note>,
    /// `dm:timestamp`.
    pub timestamp: Option<String>,
    /// Other elements.
    pub extensions: Vec<Element>,
}

/// An RFC 4119 `geopriv` object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Geopriv {
    /// `location-info`.
    pub location_info: LocationInfo,
    /// `usage-rules`.
    pub usage_rules: UsageRules,
    /// `method` (e.g. `Wiremap`, `GPS`).
    pub method: Option<String>,
    /// `provided-by`, kept opaque.
    pub provided_by: Option<Element>,
    /// Other elements.
    pub extensions: Vec<Element>,
}

/// `location-info`: geodetic shapes, civic addresses and other location formats.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocationInfo {
    /// The location objects, in document order.
    pub objects: Vec<LocationObject>,
}

/// One location object.
#[derive(Debug, Clone, PartialEq)]
pub enum LocationObject {
    /// An RFC 5491 shape. `in_gml_location` records an enclosing `gml:location` element (as in
    /// the RFC 6442 examples) so it is written back the same way.
    Geodetic {
        /// The shape.
        shape: GeoShape,
        /// Was it wrapped in `gml:location`?
        in_gml_location: bool,
    },
    /// An RFC 5139 civic address.
    Civic(Box<CivicAddress>),
    /// An element of another namespace, kept opaque.
    Other(Element),
}

impl LocationInfo {
    /// The geodetic shapes.
    pub fn shapes(&self) -> impl Iterator<Item = &GeoShape> {
        self.objects.iter().filter_map(|o| match o {
            LocationObject::Geodetic { shape, .. } => Some(shape),
            _ => None,
        })
    }

    /// The civic addresses.
    pub fn civic(&self) -> impl Iterator<Item = &CivicAddress> {
        self.objects.iter().filter_map(|o| match o {
            LocationObject::Civic(c) => Some(&**c),
            _ => None,
        })
    }
}

/// RFC 4119 basic policy `usage-rules`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UsageRules {
    /// `retransmission-allowed`.
    pub retransmission_allowed: Option<bool>,
    /// `retention-expiry` (xs:dateTime, collapsed).
    pub retention_expiry: Option<String>,
    /// `external-ruleset` URI.
    pub external_ruleset: Option<String>,
    /// `note-well`.
    pub note_well: Option<String>,
    /// Elements of other namespaces.
    pub extensions: Vec<Element>,
}

const BASIC_POLICY_NAMES: &[&str] = &[
    "retransmission-allowed",
    "retention-expiry",
    "external-ruleset",
    "note-well",
];

/// Parses a PIDF-LO document with default options.
pub fn parse(input: &str) -> Result<Presence> {
    parse_with(input, &ParseOptions::default())
}

/// Parses a PIDF-LO document.
pub fn parse_with(input: &str, opts: &ParseOptions) -> Result<Presence> {
    let root = xml::parse_document(input, opts)?;
    if root.name != "presence" {
        return Err(LocationError::WrongRoot {
            expected: "{urn:ietf:params:xml:ns:pidf}presence",
            found: root.qualified(),
        });
    }
    let mut ctx = Ctx::new(opts);
    Presence::from_element(&root, &mut ctx)
}

/// Parses a PIDF-LO document from bytes (must be UTF-8).
pub fn parse_bytes(input: &[u8]) -> Result<Presence> {
    parse(xml::utf8(input)?)
}

fn note(el: &Element) -> Result<Note> {
    Ok(Note {
        lang: el.lang().map(str::to_owned),
        text: xml::simple_text(el)?,
    })
}

fn note_el(ns: &str, n: &Note) -> Element {
    Element::new(ns, "note")
        .with_lang(n.lang.as_deref())
        .with_text(n.text.as_str())
}

impl Presence {
    /// Converts a `presence` element.
    pub(crate) fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        xml::expect_ns(el, NS_PIDF)?;
        let mut p = Presence {
            entity: xml::req_attr(el, "entity")?.to_owned(),
            ..Presence::default()
        };
        for c in el.elements() {
            match (c.ns.as_str(), c.name.as_str()) {
                (NS_PIDF, "tuple") => p.tuples.push(Tuple::from_element(c, ctx)?),
                (NS_PIDF, "note") => p.notes.push(note(c)?),
                (NS_DATA_MODEL, "device") => p.devices.push(DmDevice::from_element(c, ctx)?),
                (NS_DATA_MODEL, "person") => p.persons.push(DmPerson::from_element(c, ctx)?),
                (NS_PIDF, _) | ("", _) => return Err(xml::unexpected(el, c)),
                _ => p.extensions.push(c.clone()),
            }
        }
        Ok(p)
    }

    /// The document as an element tree.
    pub fn to_element(&self) -> Element {
        Element::new(NS_PIDF, "presence")
            .with_attr("entity", self.entity.as_str())
            .with_children(self.tuples.iter().map(Tuple::to_element))
            .with_children(self.notes.iter().map(|n| note_el(NS_PIDF, n)))
            .with_children(self.devices.iter().map(DmDevice::to_element))
            .with_children(self.persons.iter().map(DmPerson::to_element))
            .with_children(self.extensions.iter().cloned())
    }

    /// The document as XML (with XML declaration).
    pub fn to_xml(&self) -> String {
        xml::with_decl(xml::write_document(&self.to_element()))
    }

    /// Every geopriv object of tuples, devices and persons.
    pub fn geopriv(&self) -> impl Iterator<Item = &Geopriv> {
        self.tuples
            .iter()
            .flat_map(|t| t.geopriv.iter())
            .chain(self.devices.iter().flat_map(|d| d.geopriv.iter()))
            .chain(self.persons.iter().flat_map(|d| d.geopriv.iter()))
    }

    /// Every geodetic shape in the document.
    pub fn shapes(&self) -> impl Iterator<Item = &GeoShape> {
        self.geopriv().flat_map(|g| g.location_info.shapes())
    }

    /// Every civic address in the document.
    pub fn civic_addresses(&self) -> impl Iterator<Item = &CivicAddress> {
        self.geopriv().flat_map(|g| g.location_info.civic())
    }

    /// A representative WGS 84 point of the first geodetic shape, for mapping.
    pub fn representative_point(&self) -> Option<Position> {
        self.shapes().find_map(|s| s.shape.representative_point())
    }
}

impl Tuple {
    fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let mut t = Tuple {
            id: xml::req_attr(el, "id")?.to_owned(),
            ..Tuple::default()
        };
        let mut saw_status = false;
        for c in el.elements() {
            match (c.ns.as_str(), c.name.as_str()) {
                (NS_PIDF, "status") if !saw_status => {
                    saw_status = true;
                    for s in c.elements() {
                        match (s.ns.as_str(), s.name.as_str()) {
                            (NS_GEOPRIV10, "geopriv") => {
                                t.geopriv.push(Geopriv::from_element(s, ctx)?)
                            }
                            (NS_PIDF, "basic") if t.basic.is_none() => {
                                t.basic = Some(xml::simple_token(s)?)
                            }
                            (_, "geopriv") => xml::expect_ns(s, NS_GEOPRIV10)?,
                            (NS_PIDF, _) | ("", _) => return Err(xml::unexpected(c, s)),
                            _ => t.status_extensions.push(s.clone()),
                        }
                    }
                }
                (NS_PIDF, "contact") if t.contact.is_none() => {
                    t.contact = Some(xml::simple_token(c)?)
                }
                (NS_PIDF, "note") => t.notes.push(note(c)?),
                (NS_PIDF, "timestamp") if t.timestamp.is_none() => {
                    t.timestamp = Some(xml::simple_token(c)?)
                }
                (NS_PIDF, _) | ("", _) => return Err(xml::unexpected(el, c)),
                _ => t.extensions.push(c.clone()),
            }
        }
        if !saw_status {
            return Err(xml::missing(el, "status"));
        }
        Ok(t)
    }

    fn to_element(&self) -> Element {
        let mut status = Element::new(NS_PIDF, "status");
        if let Some(b) = &self.basic {
            status = status.with_text_child(NS_PIDF, "basic", b.as_str());
        }
        status = status
            .with_children(self.geopriv.iter().map(Geopriv::to_element))
            .with_children(self.status_extensions.iter().cloned());
        let mut el = Element::new(NS_PIDF, "tuple")
            .with_attr("id", self.id.as_str())
            .with_child(status)
            .with_children(self.extensions.iter().cloned());
        if let Some(c) = &self.contact {
            el = el.with_text_child(NS_PIDF, "contact", c.as_str());
        }
        el = el.with_children(self.notes.iter().map(|n| note_el(NS_PIDF, n)));
        if let Some(ts) = &self.timestamp {
            el = el.with_text_child(NS_PIDF, "timestamp", ts.as_str());
        }
        el
    }
}

impl DmDevice {
    fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let mut d = DmDevice {
            id: xml::req_attr(el, "id")?.to_owned(),
            ..DmDevice::default()
        };
        for c in el.elements() {
            match (c.ns.as_str(), c.name.as_str()) {
                (NS_GEOPRIV10, "geopriv") => d.geopriv.push(Geopriv::from_element(c, ctx)?),
                (NS_DATA_MODEL, "deviceID") => d.device_ids.push(xml::simple_token(c)?),
                (NS_DATA_MODEL, "note") => d.notes.push(note(c)?),
                (NS_DATA_MODEL, "timestamp") if d.timestamp.is_none() => {
                    d.timestamp = Some(xml::simple_token(c)?)
                }
                (_, "geopriv") => xml::expect_ns(c, NS_GEOPRIV10)?,
                (NS_DATA_MODEL, _) | ("", _) => return Err(xml::unexpected(el, c)),
                _ => d.extensions.push(c.clone()),
            }
        }
        Ok(d)
    }

    fn to_element(&self) -> Element {
        let mut el = Element::new(NS_DATA_MODEL, "device")
            .with_attr("id", self.id.as_str())
            .with_children(self.geopriv.iter().map(Geopriv::to_element))
            .with_children(self.extensions.iter().cloned())
            .with_children(
                self.device_ids
                    .iter()
                    .map(|i| Element::new(NS_DATA_MODEL, "deviceID").with_text(i.as_str())),
            )
            .with_children(self.notes.iter().map(|n| note_el(NS_DATA_MODEL, n)));
        if let Some(ts) = &self.timestamp {
            el = el.with_text_child(NS_DATA_MODEL, "timestamp", ts.as_str());
        }
        el
    }
}

impl DmPerson {
    fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let mut d = DmPerson {
            id: xml::req_attr(el, "id")?.to_owned(),
            ..DmPerson::default()
        };
        for c in el.elements() {
            match (c.ns.as_str(), c.name.as_str()) {
                (NS_GEOPRIV10, "geopriv") => d.geopriv.push(Geopriv::from_element(c, ctx)?),
                (NS_DATA_MODEL, "note") => d.notes.push(note(c)?),
                (NS_DATA_MODEL, "timestamp") if d.timestamp.is_none() => {
                    d.timestamp = Some(xml::simple_token(c)?)
                }
                (_, "geopriv") => xml::expect_ns(c, NS_GEOPRIV10)?,
                (NS_DATA_MODEL, _) | ("", _) => return Err(xml::unexpected(el, c)),
                _ => d.extensions.push(c.clone()),
            }
        }
        Ok(d)
    }

    fn to_element(&self) -> Element {
        let mut el = Element::new(NS_DATA_MODEL, "person")
            .with_attr("id", self.id.as_str())
            .with_children(self.geopriv.iter().map(Geopriv::to_element))
            .with_children(self.extensions.iter().cloned())
            .with_children(self.notes.iter().map(|n| note_el(NS_DATA_MODEL, n)));
        if let Some(ts) = &self.timestamp {
            el = el.with_text_child(NS_DATA_MODEL, "timestamp", ts.as_str());
        }
        el
    }
}

impl Geopriv {
    fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let mut g = Geopriv::default();
        let mut saw_li = false;
        let mut saw_ur = false;
        for c in el.elements() {
            match (c.ns.as_str(), c.name.as_str()) {
                (NS_GEOPRIV10, "location-info") if !saw_li => {
                    saw_li = true;
                    g.location_info = LocationInfo::from_element(c, ctx)?;
                }
                (NS_GEOPRIV10, "usage-rules") if !saw_ur => {
                    saw_ur = true;
                    g.usage_rules = UsageRules::from_element(c)?;
                }
                (NS_GEOPRIV10, "method") if g.method.is_none() => {
                    g.method = Some(xml::simple_token(c)?)
                }
                (NS_GEOPRIV10, "provided-by") if g.provided_by.is_none() => {
                    g.provided_by = Some(c.clone())
                }
                (NS_GEOPRIV10, _) | ("", _) => return Err(xml::unexpected(el, c)),
                _ => g.extensions.push(c.clone()),
            }
        }
        if !saw_li {
            return Err(xml::missing(el, "location-info"));
        }
        if !saw_ur {
            return Err(xml::missing(el, "usage-rules"));
        }
        Ok(g)
    }

    /// The geopriv object as an element tree.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new(NS_GEOPRIV10, "geopriv")
            .with_child(self.location_info.to_element())
            .with_child(self.usage_rules.to_element());
        if let Some(m) = &self.method {
            el = el.with_text_child(NS_GEOPRIV10, "method", m.as_str());
        }
        if let Some(p) = &self.provided_by {
            el = el.with_child(p.clone());
        }
        el.with_children(self.extensions.iter().cloned())
    }
}

/// Converts one location element (shape, civic address, `gml:location` wrapper, or other);
/// used by `location-info` here and by LoST `location`/`serviceBoundary`.
pub(crate) fn location_object(c: &Element, ctx: &mut Ctx<'_>) -> Result<LocationObject> {
    if c.ns.trim() == NS_CIVIC_LOC {
        return Err(LocationError::Unsupported {
            feature: "RFC 4119 civicLoc civic address (superseded by RFC 5139 civicAddr)",
            detail: format!("`{}` in namespace {:?}", c.name, c.ns),
            pos: c.position(),
        });
    }
    shapes::check_shape_namespace(c)?;
    if shapes::is_shape(c) {
        return Ok(LocationObject::Geodetic {
            shape: shapes::parse_shape(c, ctx)?,
            in_gml_location: false,
        });
    }
    if c.is(NS_GML, "location") {
        let mut it = c.elements();
        let inner = it.next().ok_or_else(|| xml::missing(c, "Point"))?;
        if let Some(extra) = it.next() {
            return Err(xml::unexpected(c, extra));
        }
        shapes::check_shape_namespace(inner)?;
        if !shapes::is_shape(inner) {
            return Err(xml::unexpected(c, inner));
        }
        return Ok(LocationObject::Geodetic {
            shape: shapes::parse_shape(inner, ctx)?,
            in_gml_location: true,
        });
    }
    if c.name == "civicAddress" {
        return Ok(LocationObject::Civic(Box::new(CivicAddress::from_element(
            c, ctx,
        )?)));
    }
    if c.ns == NS_GML || c.ns == NS_GS || c.ns.is_empty() {
        return Err(LocationError::UnexpectedElement {
            parent: "location".into(),
            found: c.qualified(),
            pos: c.position(),
        });
    }
    Ok(LocationObject::Other(c.clone()))
}

impl LocationObject {
    /// The object as an element tree.
    pub fn to_element(&self) -> Element {
        match self {
            LocationObject::Geodetic {
                shape,
                in_gml_location,
            } => {
                let s = shape.to_element();
                if *in_gml_location {
                    Element::new(NS_GML, "location").with_child(s)
                } else {
                    s
                }
            }
            LocationObject::Civic(c) => c.to_element(),
            LocationObject::Other(e) => e.clone(),
        }
    }
}

impl LocationInfo {
    fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let mut li = LocationInfo::default();
        for c in el.elements() {
            li.objects.push(location_object(c, ctx)?);
        }
        Ok(li)
    }

    fn to_element(&self) -> Element {
        Element::new(NS_GEOPRIV10, "location-info")
            .with_children(self.objects.iter().map(LocationObject::to_element))
    }
}

impl UsageRules {
    fn from_element(el: &Element) -> Result<Self> {
        let mut u = UsageRules::default();
        for c in el.elements() {
            if c.ns != NS_BASIC_POLICY {
                if BASIC_POLICY_NAMES.contains(&c.name.as_str()) {
                    if c.ns == NS_GEOPRIV10 {
                        return Err(LocationError::Unsupported {
                            feature: "RFC 4119 example usage-rules in the geopriv10 namespace",
                            detail: format!(
                                "`{}` must be in {NS_BASIC_POLICY} (RFC 4119 schema)",
                                c.name
                            ),
                            pos: c.position(),
                        });
                    }
                    xml::expect_ns(c, NS_BASIC_POLICY)?;
                }
                if c.ns.is_empty() || c.ns == NS_GEOPRIV10 {
                    return Err(xml::unexpected(el, c));
                }
                u.extensions.push(c.clone());
                continue;
            }
            match c.name.as_str() {
                "retransmission-allowed" if u.retransmission_allowed.is_none() => {
                    let v = xml::simple_token(c)?;
                    u.retransmission_allowed = Some(
                        xml::parse_bool(&v)
                            .ok_or_else(|| xml::bad_value(c, &v, "not an xs:boolean"))?,
                    );
                }
                "retention-expiry" if u.retention_expiry.is_none() => {
                    u.retention_expiry = Some(xml::simple_token(c)?)
                }
                "external-ruleset" if u.external_ruleset.is_none() => {
                    u.external_ruleset = Some(xml::simple_token(c)?)
                }
                "note-well" if u.note_well.is_none() => u.note_well = Some(xml::simple_text(c)?),
                _ => return Err(xml::unexpected(el, c)),
            }
        }
        Ok(u)
    }

    fn to_element(&self) -> Element {
        let mut el = Element::new(NS_GEOPRIV10, "usage-rules");
        if let Some(r) = self.retransmission_allowed {
            el = el.with_text_child(
                NS_BASIC_POLICY,
                "retransmission-allowed",
                if r { "true" } else { "false" },
            );
        }
        if let Some(v) = &self.retention_expiry {
            el = el.with_text_child(NS_BASIC_POLICY, "retention-expiry", v.as_str());
        }
        if let Some(v) = &self.external_ruleset {
            el = el.with_text_child(NS_BASIC_POLICY, "external-ruleset", v.as_str());
        }
        if let Some(v) = &self.note_well {
            el = el.with_text_child(NS_BASIC_POLICY, "note-well", v.as_str());
        }
        el.with_children(self.extensions.iter().cloned())
    }
}
