//! `locationRequest` (RFC 5985), with device/flow identity and routing request, and the
//! RFC 6753 dereference rules.

use crate::error::Result;
use crate::xml::{self, Element};
use crate::Ctx;

use super::identity::{Device, Flow};
use super::routing::RequestRoutingInformation;
use super::{NS_HELD, NS_HELD_FLOW, NS_HELD_ID, NS_HELD_RI};

/// `responseTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseTime {
    /// `emergencyRouting`.
    EmergencyRouting,
    /// `emergencyDispatch`.
    EmergencyDispatch,
    /// A time in milliseconds.
    Milliseconds(u64),
}

impl ResponseTime {
    /// Parses the attribute value.
    pub fn parse(v: &str) -> Option<Self> {
        match v.trim() {
            "emergencyRouting" => Some(ResponseTime::EmergencyRouting),
            "emergencyDispatch" => Some(ResponseTime::EmergencyDispatch),
            n => n.parse::<u64>().ok().map(ResponseTime::Milliseconds),
        }
    }

    /// The attribute value.
    pub fn as_attr(&self) -> String {
        match self {
            ResponseTime::EmergencyRouting => "emergencyRouting".into(),
            ResponseTime::EmergencyDispatch => "emergencyDispatch".into(),
            ResponseTime::Milliseconds(ms) => ms.to_string(),
        }
    }
}

/// A kind of location (`locationType` list member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocationKind {
    /// `civic`.
    Civic,
    /// `geodetic`.
    Geodetic,
    /// `locationURI`.
    LocationUri,
}

impl LocationKind {
    fn as_str(self) -> &'static str {
        match self {
            LocationKind::Civic => "civic",
            LocationKind::Geodetic => "geodetic",
            LocationKind::LocationUri => "locationURI",
        }
    }
}

/// `locationType`: `any`, or a list of kinds, and `exact`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationType {
    /// `None` means `any`; otherwise the requested kinds in order.
    pub kinds: Option<Vec<LocationKind>>,
    /// `exact` (default false).
    pub exact: bool,
}

/// A HELD `locationRequest`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LocationRequest {
    /// `responseTime`.
    pub response_time: Option<ResponseTime>,
    /// `locationType` (absent means `any`, not exact).
    pub location_type: Option<LocationType>,
    /// RFC 6155 `device`.
    pub device: Option<Device>,
    /// RFC 6915 `flow`.
    pub flow: Option<Flow>,
    /// RFC 7840 `requestRoutingInformation`.
    pub request_routing_information: Option<RequestRoutingInformation>,
    /// Other elements (the schema allows `##other`).
    pub extensions: Vec<Element>,
}

impl LocationRequest {
    /// RFC 6753 Section 5: a GET on a location URI is equivalent to POSTing this request
    /// (`locationType exact="false"` with `geodetic civic`; Figure 1).
    pub fn dereference_get_equivalent() -> Self {
        LocationRequest {
            location_type: Some(LocationType {
                kinds: Some(vec![LocationKind::Geodetic, LocationKind::Civic]),
                exact: false,
            }),
            ..LocationRequest::default()
        }
    }

    /// RFC 6753 Section 4: which location types a dereference request asks for; an empty
    /// request and `any` mean "geodetic and/or civic" (a location URI is never returned by a
    /// dereference). `locationURI` in a dereference request cannot be satisfied.
    pub fn dereference_kinds(&self) -> Vec<LocationKind> {
        match self.location_type.as_ref().and_then(|t| t.kinds.as_ref()) {
            None => vec![LocationKind::Geodetic, LocationKind::Civic],
            Some(k) => k.clone(),
        }
    }

    pub(crate) fn from_element(el: &Element, ctx: &mut Ctx<'_>) -> Result<Self> {
        let mut r = LocationRequest::default();
        if let Some(v) = el.attr("responseTime") {
            r.response_time = Some(ResponseTime::parse(v).ok_or_else(|| {
                xml::bad_attr(
                    el,
                    "responseTime",
                    v,
                    "must be emergencyRouting, emergencyDispatch or a non-negative integer (ms)",
                )
            })?);
        }
        for c in el.elements() {
            match (c.ns.as_str(), c.name.as_str()) {
                (NS_HELD, "locationType") if r.location_type.is_none() => {
                    r.location_type = Some(location_type(c)?)
                }
                (NS_HELD_ID, "device") if r.device.is_none() => {
                    r.device = Some(Device::from_element(c, ctx)?)
                }
                (NS_HELD_FLOW, "flow") if r.flow.is_none() => r.flow = Some(Flow::from_element(c)?),
                (NS_HELD_RI, "requestRoutingInformation")
                    if r.request_routing_information.is_none() =>
                {
                    r.request_routing_information =
                        Some(RequestRoutingInformation::from_element(c)?)
                }
                (_, "device") if c.ns != NS_HELD_ID && c.ns != NS_HELD => {
                    xml::expect_ns(c, NS_HELD_ID)?
                }
                (_, "flow") if c.ns != NS_HELD_FLOW && c.ns != NS_HELD => {
                    xml::expect_ns(c, NS_HELD_FLOW)?
                }
                (NS_HELD, _) | ("", _) => return Err(xml::unexpected(el, c)),
                (NS_HELD_ID | NS_HELD_FLOW | NS_HELD_RI, _) => return Err(xml::unexpected(el, c)),
                _ => r.extensions.push(c.clone()),
            }
        }
        Ok(r)
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new(NS_HELD, "locationRequest");
        if let Some(rt) = &self.response_time {
            el = el.with_attr("responseTime", rt.as_attr());
        }
        if let Some(lt) = &self.location_type {
            let text = match &lt.kinds {
                None => "any".to_owned(),
                Some(k) => k.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" "),
            };
            el = el.with_child(
                Element::new(NS_HELD, "locationType")
                    .with_attr("exact", if lt.exact { "true" } else { "false" })
                    .with_text(text),
            );
        }
        if let Some(r) = &self.request_routing_information {
            el = el.with_child(r.to_element());
        }
        if let Some(d) = &self.device {
            el = el.with_child(d.to_element());
        }
        if let Some(f) = &self.flow {
            el = el.with_child(f.to_element());
        }
        el.with_children(self.extensions.iter().cloned())
    }

    /// The request as XML.
    pub fn to_xml(&self) -> String {
        xml::with_decl(xml::write_document(&self.to_element()))
    }
}

fn location_type(el: &Element) -> Result<LocationType> {
    let exact = xml::bool_attr(el, "exact")?.unwrap_or(false);
    let text = xml::simple_text(el)?;
    let toks: Vec<&str> = text.split_whitespace().collect();
    let kinds = match toks.as_slice() {
        [] => return Err(xml::bad_value(el, &text, "empty locationType")),
        ["any"] => None,
        list => {
            let mut v = Vec::new();
            for t in list {
                v.push(match *t {
                    "civic" => LocationKind::Civic,
                    "geodetic" => LocationKind::Geodetic,
                    "locationURI" => LocationKind::LocationUri,
                    other => {
                        return Err(xml::bad_value(
                            el,
                            other,
                            "must be `any` or a list of civic, geodetic, locationURI",
                        ))
                    }
                });
            }
            Some(v)
        }
    };
    Ok(LocationType { kinds, exact })
}
