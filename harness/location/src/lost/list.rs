//! `listServices`, `listServicesByLocation` and their responses.

use crate::error::Result;
use crate::xml::{self, Element};
use crate::Ctx;

use super::{
    location_used, location_used_el, service_el, service_list, service_list_el, Location, Path,
    ResponseTail, Warnings, NS_LOST,
};

/// `listServices`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListServices {
    /// `service` (list the sub-services of this one).
    pub service: Option<String>,
    /// `path`.
    pub path: Option<Path>,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

/// Reads the `commonRequestPattern` (`service?, path?, extensionPoint`) children.
pub(crate) fn request_pattern(
    el: &Element,
    c: &Element,
    service: &mut Option<String>,
    path: &mut Option<Path>,
    extensions: &mut Vec<Element>,
) -> Result<()> {
    match (c.ns.as_str(), c.name.as_str()) {
        (NS_LOST, "service") if service.is_none() => *service = Some(xml::simple_token(c)?),
        (NS_LOST, "path") if path.is_none() => *path = Some(Path::from_element(c)?),
        (NS_LOST, _) | ("", _) => return Err(xml::unexpected(el, c)),
        _ => extensions.push(c.clone()),
    }
    Ok(())
}

impl ListServices {
    pub(crate) fn from_element(el: &Element) -> Result<Self> {
        let mut m = ListServices::default();
        for c in el.elements() {
            request_pattern(el, c, &mut m.service, &mut m.path, &mut m.extensions)?;
        }
        Ok(m)
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        Element::new(NS_LOST, "listServices")
            .with_children(service_el(self.service.as_ref()))
            .with_children(self.path.as_ref().map(Path::to_element))
            .with_children(self.extensions.iter().cloned())
    }
}

/// `listServicesResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListServicesResponse {
    /// `serviceList`.
    pub services: Vec<String>,
    /// `warnings`.
    pub warnings: Vec<Warnings>,
    /// `path`.
    pub path: Path,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

impl ListServicesResponse {
    pub(crate) fn from_element(el: &Element) -> Result<Self> {
        let mut services = None;
        let mut tail = ResponseTail::new();
        for c in el.elements() {
            if c.is(NS_LOST, "serviceList") && services.is_none() {
                services = Some(service_list(c)?);
            } else if !tail.take(el, c)? {
                return Err(xml::unexpected(el, c));
            }
        }
        Ok(ListServicesResponse {
            services: services.ok_or_else(|| xml::missing(el, "serviceList"))?,
            path: tail.path(el)?,
            warnings: tail.warnings,
            extensions: tail.extensions,
        })
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        Element::new(NS_LOST, "listServicesResponse")
            .with_child(service_list_el(&self.services))
            .with_children(self.warnings.iter().map(Warnings::to_warnings_element))
            .with_child(self.path.to_element())
            .with_children(self.extensions.iter().cloned())
    }
}

/// `listServicesByLocation`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListServicesByLocation {
    /// The locations (one or more).
    pub locations: Vec<Location>,
    /// `service`.
    pub service: Option<String>,
    /// `path`.
    pub path: Option<Path>,
    /// `recursive` (default true here).
    pub recursive: bool,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

impl ListServicesByLocation {
    pub(crate) fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let mut m = ListServicesByLocation {
            locations: Vec::new(),
            service: None,
            path: None,
            recursive: xml::bool_attr(el, "recursive")?.unwrap_or(true),
            extensions: Vec::new(),
        };
        for c in el.elements() {
            if c.is(NS_LOST, "location") {
                m.locations.push(Location::from_element(c, ctx)?);
            } else {
                request_pattern(el, c, &mut m.service, &mut m.path, &mut m.extensions)?;
            }
        }
        if m.locations.is_empty() {
            return Err(xml::missing(el, "location"));
        }
        Ok(m)
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        Element::new(NS_LOST, "listServicesByLocation")
            .with_attr("recursive", if self.recursive { "true" } else { "false" })
            .with_children(self.locations.iter().map(Location::to_element))
            .with_children(service_el(self.service.as_ref()))
            .with_children(self.path.as_ref().map(Path::to_element))
            .with_children(self.extensions.iter().cloned())
    }
}

/// `listServicesByLocationResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListServicesByLocationResponse {
    /// `serviceList`.
    pub services: Vec<String>,
    /// `warnings`.
    pub warnings: Vec<Warnings>,
    /// `path`.
    pub path: Path,
    /// `locationUsed/@id`.
    pub location_used: Option<String>,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

impl ListServicesByLocationResponse {
    pub(crate) fn from_element(el: &Element) -> Result<Self> {
        let mut services = None;
        let mut used = None;
        let mut tail = ResponseTail::new();
        for c in el.elements() {
            if c.is(NS_LOST, "serviceList") && services.is_none() {
                services = Some(service_list(c)?);
            } else if c.is(NS_LOST, "locationUsed") && used.is_none() {
                used = Some(location_used(c)?);
            } else if !tail.take(el, c)? {
                return Err(xml::unexpected(el, c));
            }
        }
        Ok(ListServicesByLocationResponse {
            services: services.ok_or_else(|| xml::missing(el, "serviceList"))?,
            path: tail.path(el)?,
            warnings: tail.warnings,
            location_used: used,
            extensions: tail.extensions,
        })
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        Element::new(NS_LOST, "listServicesByLocationResponse")
            .with_child(service_list_el(&self.services))
            .with_children(self.warnings.iter().map(Warnings::to_warnings_element))
            .with_child(self.path.to_element())
            .with_children(self.extensions.iter().cloned())
            .with_children(location_used_el(self.location_used.as_ref()))
    }
}
