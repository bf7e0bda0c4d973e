//! Service boundaries: by value, by reference, and `getServiceBoundary`(+Response).

use crate::error::Result;
use crate::pidf::LocationObject;
use crate::xml::{self, Element};
use crate::Ctx;

use super::{location_objects, source_attr, Path, ResponseTail, Warnings, NS_LOST};

/// A `serviceBoundary` by value.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceBoundary {
    /// `profile` (`geodetic-2d`, `civic`, ...).
    pub profile: Option<String>,
    /// The boundary (shapes or civic addresses).
    pub objects: Vec<LocationObject>,
}

impl ServiceBoundary {
    pub(crate) fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        Ok(ServiceBoundary {
            profile: el.attr("profile").map(|p| p.trim().to_owned()),
            objects: location_objects(el, ctx)?,
        })
    }

    pub(crate) fn to_element(&self) -> Element {
        Element::new(NS_LOST, "serviceBoundary")
            .with_opt_attr("profile", self.profile.as_deref())
            .with_children(self.objects.iter().map(LocationObject::to_element))
    }

    /// Does any polygon of this boundary contain the point? (Civic boundaries: `false`.)
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        self.objects.iter().any(|o| match o {
            LocationObject::Geodetic { shape, .. } => {
                shape.shape.polygon().is_some_and(|p| p.contains(lat, lon))
            }
            _ => false,
        })
    }
}

/// A `serviceBoundaryReference`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceBoundaryReference {
    /// `source`.
    pub source: String,
    /// `key`.
    pub key: String,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

impl ServiceBoundaryReference {
    pub(crate) fn from_element(el: &Element) -> Result<Self> {
        let mut extensions = Vec::new();
        for c in el.elements() {
            if c.ns == NS_LOST || c.ns.is_empty() {
                return Err(xml::unexpected(el, c));
            }
            extensions.push(c.clone());
        }
        Ok(ServiceBoundaryReference {
            source: source_attr(el)?,
            key: xml::req_attr(el, "key")?.trim().to_owned(),
            extensions,
        })
    }

    pub(crate) fn to_element(&self) -> Element {
        Element::new(NS_LOST, "serviceBoundaryReference")
            .with_attr("source", self.source.as_str())
            .with_attr("key", self.key.as_str())
            .with_children(self.extensions.iter().cloned())
    }
}

/// `getServiceBoundary`.
#[derive(Debug, Clone, PartialEq)]
pub struct GetServiceBoundary {
    /// `key`.
    pub key: String,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

impl GetServiceBoundary {
    pub(crate) fn from_element(el: &Element) -> Result<Self> {
        let mut extensions = Vec::new();
        for c in el.elements() {
            if c.ns == NS_LOST || c.ns.is_empty() {
                return Err(xml::unexpected(el, c));
            }
            extensions.push(c.clone());
        }
        Ok(GetServiceBoundary {
            key: xml::req_attr(el, "key")?.trim().to_owned(),
            extensions,
        })
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        Element::new(NS_LOST, "getServiceBoundary")
            .with_attr("key", self.key.as_str())
            .with_children(self.extensions.iter().cloned())
    }
}

/// `getServiceBoundaryResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct GetServiceBoundaryResponse {
    /// The boundaries (one or more).
    pub boundaries: Vec<ServiceBoundary>,
    /// `warnings`.
    pub warnings: Vec<Warnings>,
    /// `path`.
    pub path: Path,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

impl GetServiceBoundaryResponse {
    pub(crate) fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let mut boundaries = Vec::new();
        let mut tail = ResponseTail::new();
        for c in el.elements() {
            if c.is(NS_LOST, "serviceBoundary") && tail.path.is_none() && tail.warnings.is_empty() {
                boundaries.push(ServiceBoundary::from_element(c, ctx)?);
            } else if !tail.take(el, c)? {
                return Err(xml::unexpected(el, c));
            }
        }
        if boundaries.is_empty() {
            return Err(xml::missing(el, "serviceBoundary"));
        }
        Ok(GetServiceBoundaryResponse {
            boundaries,
            path: tail.path(el)?,
            warnings: tail.warnings,
            extensions: tail.extensions,
        })
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        Element::new(NS_LOST, "getServiceBoundaryResponse")
            .with_children(self.boundaries.iter().map(ServiceBoundary::to_element))
            .with_children(self.warnings.iter().map(Warnings::to_warnings_element))
            .with_child(self.path.to_element())
            .with_children(self.extensions.iter().cloned())
    }
}
