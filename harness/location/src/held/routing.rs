//! RFC 7840 routing-information extension (draft-winterbottom-ecrit-held-routing).

use crate::error::Result;
use crate::xml::{self, Element};

use super::NS_HELD_RI;

/// Default of `requestRoutingInformation/@service`.
pub const DEFAULT_ROUTING_SERVICE: &str = "urn:service:sos";

/// `requestRoutingInformation` (in a `locationRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestRoutingInformation {
    /// Optional `service` attribute (xs:anyURI; absent means `urn:service:sos`).
    pub service: Option<String>,
}

impl RequestRoutingInformation {
    /// The effective service URN.
    pub fn effective_service(&self) -> &str {
        self.service.as_deref().unwrap_or(DEFAULT_ROUTING_SERVICE)
    }

    pub(crate) fn from_element(el: &Element) -> Result<Self> {
        xml::expect_ns(el, NS_HELD_RI)?;
        if let Some(c) = el.elements().next() {
            return Err(xml::unexpected(el, c));
        }
        Ok(RequestRoutingInformation {
            service: el.attr("service").map(|s| s.trim().to_owned()),
        })
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        Element::new(NS_HELD_RI, "requestRoutingInformation")
            .with_opt_attr("service", self.service.as_deref())
    }
}

/// One `service` of a `routingInformation`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingService {
    /// `serviceUri` (required), e.g. `urn:service:sos`.
    pub service_uri: String,
    /// `defaultRoute` (default false).
    pub default_route: bool,
    /// `dest` URIs (one or more).
    pub dests: Vec<String>,
    /// Elements of other namespaces.
    pub extensions: Vec<Element>,
}

/// `routingInformation` (in a `locationResponse`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoutingInformation {
    /// The services (RFC 7840 schema: one; the draft: one or more).
    pub services: Vec<RoutingService>,
    /// Elements of other namespaces.
    pub extensions: Vec<Element>,
}

impl RoutingInformation {
    pub(crate) fn from_element(el: &Element) -> Result<Self> {
        xml::expect_ns(el, NS_HELD_RI)?;
        let mut ri = RoutingInformation::default();
        for c in el.elements() {
            match (c.ns.as_str(), c.name.as_str()) {
                (NS_HELD_RI, "service") => {
                    let service_uri = xml::req_attr(c, "serviceUri")?.trim().to_owned();
                    let default_route = xml::bool_attr(c, "defaultRoute")?.unwrap_or(false);
                    let mut dests = Vec::new();
                    let mut extensions = Vec::new();
                    for d in c.elements() {
                        match (d.ns.as_str(), d.name.as_str()) {
                            (NS_HELD_RI, "dest") => dests.push(xml::simple_token(d)?),
                            (NS_HELD_RI, _) | ("", _) => return Err(xml::unexpected(c, d)),
                            _ => extensions.push(d.clone()),
                        }
                    }
                    if dests.is_empty() {
                        return Err(xml::missing(c, "dest"));
                    }
                    ri.services.push(RoutingService {
                        service_uri,
                        default_route,
                        dests,
                        extensions,
                    });
                }
                (NS_HELD_RI, _) | ("", _) => return Err(xml::unexpected(el, c)),
                _ => ri.extensions.push(c.clone()),
            }
        }
        if ri.services.is_empty() {
            return Err(xml::missing(el, "service"));
        }
        Ok(ri)
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        Element::new(NS_HELD_RI, "routingInformation")
            .with_children(self.services.iter().map(|s| {
                let mut e = Element::new(NS_HELD_RI, "service");
                if s.default_route {
                    e = e.with_attr("defaultRoute", "true");
                }
                e.with_attr("serviceUri", s.service_uri.as_str())
                    .with_children(
                        s.dests
                            .iter()
                            .map(|d| Element::new(NS_HELD_RI, "dest").with_text(d.as_str())),
                    )
                    .with_children(s.extensions.iter().cloned())
            }))
            .with_children(self.extensions.iter().cloned())
    }
}
