//! The simulated LIS: HELD locationRequest (RFC 5985, device identity RFC 6155, routing
//! information RFC 7840) and dereference of the location URIs it mints (RFC 6753), sans-IO.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use lmpe_location::held::{
    self, DeviceIdentifier, ErrorCode, Flow, HeldError, HeldMessage, LocationKind, LocationRequest,
    LocationResponse, LocationUriSet, RoutingInformation, RoutingService,
};
use lmpe_location::pidf::{
    self, DmDevice, GeoShape, Geopriv, LocationInfo, LocationObject, Polygon as PidfPolygon,
    Position, Presence, Shape,
};
use lmpe_location::{ParseOptions, MIME_HELD};
use serde::Deserialize;

use crate::areas::ServiceAreas;
use crate::faults::LisFaults;
use crate::mapping::{map_civic, map_geodetic, to_input};
use crate::{LocsvcError, ServiceReply};

/// Where a device is. JSON: `{"point": [lat, lon]}`,
/// `{"circle": {"center": [lat, lon], "radius": m}}`,
/// `{"ellipse": {"center": [lat, lon], "semi_major": m, "semi_minor": m, "orientation": deg}}`,
/// `{"polygon": [[lat, lon], …]}` (closed), `{"civic": {"country": "AT", "A1": …}}` (RFC 5139
/// element names) or `{"pidf": "<presence …>"}` (a whole PIDF-LO document, served as it is).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum DeviceLocation {
    /// A point, `[latitude, longitude]`.
    Point([f64; 2]),
    /// A circle.
    Circle {
        /// `[latitude, longitude]`.
        center: [f64; 2],
        /// Metres.
        radius: f64,
    },
    /// An ellipse.
    Ellipse {
        /// `[latitude, longitude]`.
        center: [f64; 2],
        /// Metres.
        semi_major: f64,
        /// Metres.
        semi_minor: f64,
        /// Degrees clockwise from north.
        orientation: f64,
    },
    /// A polygon, `[latitude, longitude]` positions, first = last.
    Polygon(Vec<[f64; 2]>),
    /// A civic address: RFC 5139 element name → value.
    Civic(BTreeMap<String, String>),
    /// A complete PIDF-LO document.
    Pidf(String),
}

/// One row of the LIS table: identities of a device and its location.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceEntry {
    /// IP address (also matched against the HTTP client's address when the request names no
    /// device).
    #[serde(default)]
    pub ip: Option<String>,
    /// SIP/tel URI.
    #[serde(default)]
    pub uri: Option<String>,
    /// MSISDN.
    #[serde(default)]
    pub msisdn: Option<String>,
    /// IMSI.
    #[serde(default)]
    pub imsi: Option<String>,
    /// IMEI.
    #[serde(default)]
    pub imei: Option<String>,
    /// MAC address.
    #[serde(default)]
    pub mac: Option<String>,
    /// NAI.
    #[serde(default)]
    pub nai: Option<String>,
    /// FQDN.
    #[serde(default)]
    pub fqdn: Option<String>,
    /// PIDF-LO `<method>` (e.g. `GPS`, `Cell`).
    #[serde(default)]
    pub method: Option<String>,
    /// The location.
    pub location: DeviceLocation,
}

/// The LIS table. JSON: `{"devices": [DeviceEntry, …]}`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LisTable {
    /// The devices, matched in order.
    pub devices: Vec<DeviceEntry>,
}

impl LisTable {
    /// Parses the JSON table; every location is checked to build a valid PIDF-LO.
    pub fn from_json(text: &str) -> Result<Self, LocsvcError> {
        let t: LisTable = serde_json::from_str(text).map_err(|source| LocsvcError::Json {
            what: "LIS table",
            source,
        })?;
        for (i, d) in t.devices.iter().enumerate() {
            location_objects(&d.location).map_err(|reason| LocsvcError::Data {
                what: format!("LIS table, device {i}"),
                reason,
            })?;
        }
        Ok(t)
    }

    /// Reads and parses a JSON file, filling in `${NAME}` variables first.
    pub fn load(path: &std::path::Path, vars: &[(&str, &str)]) -> Result<Self, LocsvcError> {
        let text = std::fs::read_to_string(path).map_err(|source| LocsvcError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&crate::fill_template(&text, vars)?)
    }

    fn by_identifier(&self, id: &DeviceIdentifier) -> Option<usize> {
        let same = |a: &Option<String>, b: &str| {
            a.as_deref()
                .is_some_and(|a| a.trim().eq_ignore_ascii_case(b.trim()))
        };
        self.devices.iter().position(|d| match id {
            DeviceIdentifier::Ip { address, .. } => same(&d.ip, address),
            DeviceIdentifier::Uri(u) => same(&d.uri, u),
            DeviceIdentifier::Msisdn(v) => same(&d.msisdn, v),
            DeviceIdentifier::Imsi(v) => same(&d.imsi, v),
            DeviceIdentifier::Imei(v) => same(&d.imei, v),
            DeviceIdentifier::Mac(v) => same(&d.mac, v),
            DeviceIdentifier::Nai(v) => same(&d.nai, v),
            DeviceIdentifier::Fqdn(v) => same(&d.fqdn, v),
            _ => false,
        })
    }

    fn by_ip(&self, ip: IpAddr) -> Option<usize> {
        self.devices.iter().position(|d| {
            d.ip.as_deref()
                .and_then(|a| a.trim().parse::<IpAddr>().ok())
                .is_some_and(|a| a == ip)
        })
    }

    /// RFC 6915 Section 3: the Target is the flow's `src` end, or its `dst` end with
    /// `target="dst"`; its address is matched against the table's `ip`.
    fn by_flow(&self, flow: &Flow) -> Option<usize> {
        let end = if flow.target_is_dst {
            &flow.dst
        } else {
            &flow.src
        };
        end.address
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok()
            .and_then(|ip| self.by_ip(ip))
    }
}

fn position(p: [f64; 2]) -> Position {
    Position::new(p[0], p[1])
}

fn geodetic(shape: Shape) -> LocationObject {
    LocationObject::Geodetic {
        shape: GeoShape::new(shape),
        in_gml_location: false,
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The PIDF-LO location objects of a table location.
fn location_objects(loc: &DeviceLocation) -> Result<Vec<LocationObject>, String> {
    Ok(match loc {
        DeviceLocation::Point(p) => vec![geodetic(Shape::Point { pos: position(*p) })],
        DeviceLocation::Circle { center, radius } => vec![geodetic(Shape::Circle {
            center: position(*center),
            radius: *radius,
        })],
        DeviceLocation::Ellipse {
            center,
            semi_major,
            semi_minor,
            orientation,
        } => vec![geodetic(Shape::Ellipse {
            center: position(*center),
            semi_major: *semi_major,
            semi_minor: *semi_minor,
            orientation: *orientation,
        })],
        DeviceLocation::Polygon(pts) => vec![geodetic(Shape::Polygon(PidfPolygon {
            exterior: pts.iter().copied().map(position).collect(),
            interiors: Vec::new(),
            pos_list: false,
        }))],
        DeviceLocation::Civic(fields) => {
            let mut xml = format!("<civicAddress xmlns=\"{}\">", pidf::NS_CIVIC_ADDR);
            for (k, v) in fields {
                if !k.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(format!("civic element name {k:?} is not a plain name"));
                }
                xml.push_str(&format!("<{k}>{}</{k}>", escape(v)));
            }
            xml.push_str("</civicAddress>");
            let civic = pidf::parse_civic_address(&xml).map_err(|e| e.to_string())?;
            vec![LocationObject::Civic(Box::new(civic))]
        }
        DeviceLocation::Pidf(doc) => {
            let p = pidf::parse_with(doc, &ParseOptions::lenient()).map_err(|e| e.to_string())?;
            p.geopriv()
                .flat_map(|g| g.location_info.objects.iter().cloned())
                .collect()
        }
    })
}

/// LIS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LisConfig {
    /// Base of minted location URIs, e.g. `http://127.0.0.1:8080` (set by
    /// [`crate::http::serve`] once it knows its address).
    pub base_url: String,
    /// Whether the LIS understands RFC 7840 `<requestRoutingInformation>`; when `false` it
    /// ignores the element, as a LIS without the extension would.
    pub routing_support: bool,
    /// `expires` of minted location URI sets.
    pub uri_expires: String,
}

impl Default for LisConfig {
    fn default() -> Self {
        LisConfig {
            base_url: "http://127.0.0.1".into(),
            routing_support: true,
            uri_expires: "2099-12-31T23:59:59Z".into(),
        }
    }
}

/// The LIS: answers HELD locationRequests on `/held` and dereferences on `/loc/<token>`.
#[derive(Debug, Clone)]
pub struct Lis {
    table: LisTable,
    areas: ServiceAreas,
    cfg: LisConfig,
    faults: LisFaults,
    /// Minted token → device row.
    minted: HashMap<String, usize>,
    next_token: u64,
}

impl Lis {
    /// A LIS serving `table`; `areas` (the ECRF's data) answer RFC 7840 routing requests.
    pub fn new(table: LisTable, areas: ServiceAreas, cfg: LisConfig) -> Self {
        Lis {
            table,
            areas,
            cfg,
            faults: LisFaults::default(),
            minted: HashMap::new(),
            next_token: 0,
        }
    }

    /// Switches deliberate faults on (or off with the default).
    pub fn set_faults(&mut self, faults: LisFaults) {
        self.faults = faults;
    }

    /// The settings.
    pub fn config(&self) -> &LisConfig {
        &self.cfg
    }

    /// Sets the base of minted location URIs.
    pub fn set_base_url(&mut self, base_url: &str) {
        self.cfg.base_url = base_url.trim_end_matches('/').to_owned();
    }

    /// Answers one HTTP POST: `path` `/held` (locationRequest) or `/loc/<token>`
    /// (dereference, RFC 6753); `client` is the HTTP client's address (identifies the device
    /// when the request names none).
    pub fn handle(&mut self, path: &str, body: &[u8], client: IpAddr) -> ServiceReply {
        let mut reply = if self.faults.not_xml {
            ServiceReply::ok(MIME_HELD, "LIS fault: this body is not XML\n".into())
        } else if path == "/held" {
            self.location_request(body, client)
        } else if let Some(token) = path.strip_prefix("/loc/") {
            self.dereference(token, body)
        } else {
            ServiceReply::status(404, None, String::new())
        };
        if let Some(d) = self.faults.slow {
            reply.delay = d;
        }
        reply
    }

    fn parse(body: &[u8]) -> Result<Option<LocationRequest>, HeldError> {
        let text = std::str::from_utf8(body)
            .map_err(|e| HeldError::new(ErrorCode::XmlError, &format!("not UTF-8: {e}")))?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        match held::parse_with(text, &ParseOptions::lenient()) {
            Ok(HeldMessage::LocationRequest(r)) => Ok(Some(r)),
            Ok(_) => Err(HeldError::new(
                ErrorCode::UnsupportedMessage,
                "only locationRequest is served",
            )),
            Err(e) => Err(HeldError::new(ErrorCode::XmlError, &e.to_string())),
        }
    }

    /// A HELD error answer (HTTP 200, RFC 5985 6.3); `lis-generic-errors` turns every code
    /// into `generalLisError`.
    fn error(&self, mut e: HeldError) -> ServiceReply {
        if self.faults.generic_errors {
            e.code = ErrorCode::GeneralLisError;
        }
        ServiceReply::ok(MIME_HELD, e.to_xml())
    }

    /// The device row a locationRequest names: by RFC 6155 device identity, else by RFC 6915
    /// flow identity, else by the HTTP client's address (RFC 5985 5.1).
    fn target_row(&self, req: &LocationRequest, client: IpAddr) -> Result<usize, HeldError> {
        let unknown = |why: &str| HeldError::new(ErrorCode::LocationUnknown, why);
        if let Some(dev) = &req.device {
            if self.faults.uri_only {
                if let Some(other) = dev
                    .identifiers
                    .iter()
                    .find(|i| !matches!(i, DeviceIdentifier::Uri(_) | DeviceIdentifier::Ip { .. }))
                {
                    return Err(HeldError::new(
                        ErrorCode::BadIdentifier,
                        &format!("identifier not supported (fault): {other:?}"),
                    ));
                }
            }
            return dev
                .identifiers
                .iter()
                .find_map(|i| self.table.by_identifier(i))
                .ok_or_else(|| unknown("no location for this device"));
        }
        if let Some(flow) = &req.flow {
            if self.faults.ignores_flow {
                return Err(unknown("flow identity is not understood (fault)"));
            }
            return self
                .table
                .by_flow(flow)
                .ok_or_else(|| unknown("no device at that end of the flow"));
        }
        self.table
            .by_ip(client)
            .ok_or_else(|| unknown("no location for this device"))
    }

    fn location_request(&mut self, body: &[u8], client: IpAddr) -> ServiceReply {
        let req = match Self::parse(body) {
            Ok(Some(r)) => r,
            Ok(None) => {
                return self.error(HeldError::new(
                    ErrorCode::XmlError,
                    "empty body: a locationRequest is needed",
                ))
            }
            Err(e) => return self.error(e),
        };
        if self.faults.location_unknown {
            return self.error(HeldError::new(ErrorCode::LocationUnknown, "fault"));
        }
        let row = match self.target_row(&req, client) {
            Ok(row) => row,
            Err(e) => return self.error(e),
        };
        let kinds = req
            .location_type
            .as_ref()
            .and_then(|t| t.kinds.clone())
            .unwrap_or_else(|| {
                vec![
                    LocationKind::Civic,
                    LocationKind::Geodetic,
                    LocationKind::LocationUri,
                ]
            });
        let exact = req.location_type.as_ref().is_some_and(|t| t.exact);
        let presence = self.presence(row, &kinds);
        let uri_set = kinds
            .contains(&LocationKind::LocationUri)
            .then(|| self.mint(row));
        if presence.is_none() && uri_set.is_none() || exact && !self.provides_all(row, &kinds) {
            return self.error(HeldError::new(
                ErrorCode::CannotProvideLiType,
                "the requested location type is not available",
            ));
        }
        let routing_information = req
            .request_routing_information
            .as_ref()
            .filter(|_| self.cfg.routing_support && !self.faults.no_routing)
            .and_then(|r| self.routing(row, r.effective_service()));
        ServiceReply::ok(
            MIME_HELD,
            LocationResponse {
                location_uri_set: uri_set,
                presence,
                routing_information,
                extensions: Vec::new(),
            }
            .to_xml(),
        )
    }

    fn dereference(&mut self, token: &str, body: &[u8]) -> ServiceReply {
        if self.faults.location_unknown {
            return self.error(HeldError::new(ErrorCode::LocationUnknown, "fault"));
        }
        let Some(&row) = self.minted.get(token) else {
            return ServiceReply::status(
                404,
                Some(MIME_HELD),
                HeldError::new(
                    if self.faults.generic_errors {
                        ErrorCode::GeneralLisError
                    } else {
                        ErrorCode::LocationUnknown
                    },
                    "unknown location URI",
                )
                .to_xml(),
            );
        };
        let req = match Self::parse(body) {
            Ok(r) => r.unwrap_or_else(LocationRequest::dereference_get_equivalent),
            Err(e) => return self.error(e),
        };
        // RFC 6753 Section 6: a dereference never yields a location URI.
        let kinds: Vec<LocationKind> = req
            .dereference_kinds()
            .into_iter()
            .filter(|k| *k != LocationKind::LocationUri)
            .collect();
        let kinds = if kinds.is_empty() {
            vec![LocationKind::Civic, LocationKind::Geodetic]
        } else {
            kinds
        };
        match self.presence(row, &kinds) {
            Some(presence) => ServiceReply::ok(
                MIME_HELD,
                LocationResponse {
                    location_uri_set: None,
                    presence: Some(presence),
                    routing_information: None,
                    extensions: Vec::new(),
                }
                .to_xml(),
            ),
            None => self.error(HeldError::new(
                ErrorCode::CannotProvideLiType,
                "the requested location type is not available",
            )),
        }
    }

    fn objects(&self, row: usize) -> Vec<LocationObject> {
        self.table
            .devices
            .get(row)
            .and_then(|d| location_objects(&d.location).ok())
            .unwrap_or_default()
    }

    fn provides_all(&self, row: usize, kinds: &[LocationKind]) -> bool {
        let objs = self.objects(row);
        kinds.iter().all(|k| match k {
            LocationKind::Civic => objs.iter().any(|o| matches!(o, LocationObject::Civic(_))),
            LocationKind::Geodetic => objs
                .iter()
                .any(|o| matches!(o, LocationObject::Geodetic { .. })),
            LocationKind::LocationUri => true,
        })
    }

    fn presence(&self, row: usize, kinds: &[LocationKind]) -> Option<Presence> {
        let dev = self.table.devices.get(row)?;
        let objects: Vec<LocationObject> = self
            .objects(row)
            .into_iter()
            .filter(|o| match o {
                LocationObject::Civic(_) => kinds.contains(&LocationKind::Civic),
                LocationObject::Geodetic { .. } => kinds.contains(&LocationKind::Geodetic),
                LocationObject::Other(_) => false,
            })
            .collect();
        if objects.is_empty() {
            return None;
        }
        let entity = dev
            .uri
            .as_deref()
            .map(|u| format!("pres:{}", u.trim_start_matches("sip:")))
            .unwrap_or_else(|| format!("pres:device{row}@lis.lmpe-harness.test"));
        Some(Presence {
            entity,
            devices: vec![DmDevice {
                id: format!("device{row}"),
                geopriv: vec![Geopriv {
                    location_info: LocationInfo { objects },
                    method: dev.method.clone(),
                    ..Geopriv::default()
                }],
                ..DmDevice::default()
            }],
            ..Presence::default()
        })
    }

    fn mint(&mut self, row: usize) -> LocationUriSet {
        self.next_token += 1;
        let token = format!("l{:08x}{row}", self.next_token.wrapping_mul(0x9E37_79B9));
        self.minted.insert(token.clone(), row);
        let base = if self.faults.bad_uri {
            // Keep the colon, drop the port: `http://127.0.0.1:`.
            let b = self.cfg.base_url.as_str();
            let host_start = b.find("://").map_or(0, |i| i + 3);
            match b[host_start..].rfind(':') {
                Some(i) => b[..host_start + i + 1].to_owned(),
                None => format!("{b}:"),
            }
        } else {
            self.cfg.base_url.clone()
        };
        LocationUriSet {
            expires: self.cfg.uri_expires.clone(),
            uris: vec![format!("{base}/loc/{token}")],
        }
    }

    fn routing(&self, row: usize, service: &str) -> Option<RoutingInformation> {
        let area = self.objects(row).iter().find_map(|o| match o {
            LocationObject::Geodetic { shape, .. } => to_input(&shape.shape)
                .ok()
                .and_then(|i| map_geodetic(&self.areas, &i, service)),
            LocationObject::Civic(c) => map_civic(&self.areas, c, service),
            LocationObject::Other(_) => None,
        })?;
        // A delegated area has no PSAP URI here: no routing information.
        if area.uris.is_empty() {
            return None;
        }
        Some(RoutingInformation {
            services: vec![RoutingService {
                service_uri: service.to_owned(),
                default_route: false,
                dests: area.uris.clone(),
                extensions: Vec::new(),
            }],
            extensions: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SAMPLE_LIS;

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const NS: &str = r#"xmlns="urn:ietf:params:xml:ns:geopriv:held""#;

    fn lis(fault: Option<&str>) -> Lis {
        let table = LisTable::from_json(SAMPLE_LIS).unwrap_or_default();
        let mut l = Lis::new(table, ServiceAreas::default(), LisConfig::default());
        if let Some(f) = fault {
            l.set_faults(LisFaults::from_name(f).unwrap_or_default());
        }
        l
    }

    fn answer(l: &mut Lis, body: &str) -> HeldMessage {
        let r = l.handle("/held", body.as_bytes(), CLIENT);
        assert_eq!(r.status, 200, "{r:?}");
        held::parse(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
    }

    fn code(m: &HeldMessage) -> Option<&str> {
        match m {
            HeldMessage::Error(e) => Some(e.code.as_str()),
            _ => None,
        }
    }

    /// The first geodetic position of a locationResponse (circle centre or point).
    fn located_at(m: &HeldMessage) -> Option<(f64, f64)> {
        let HeldMessage::LocationResponse(r) = m else {
            return None;
        };
        r.presence.as_ref()?.geopriv().find_map(|g| {
            g.location_info.objects.iter().find_map(|o| match o {
                LocationObject::Geodetic { shape, .. } => match &shape.shape {
                    Shape::Point { pos } | Shape::Circle { center: pos, .. } => {
                        Some((pos.lat, pos.lon))
                    }
                    _ => None,
                },
                _ => None,
            })
        })
    }

    fn by_flow(src: &str, dst: &str, target: &str) -> String {
        format!(
            r#"<locationRequest {NS}><locationType exact="false">any</locationType><flow xmlns="urn:ietf:params:xml:ns:geopriv:held:flow" layer3="ipv4" layer4="tcp"{target}><src><address>{src}</address><port>49152</port></src><dst><address>{dst}</address><port>443</port></dst></flow></locationRequest>"#
        )
    }

    fn by_id(id: &str) -> String {
        format!(
            r#"<locationRequest {NS}><locationType exact="false">any</locationType><device xmlns="urn:ietf:params:xml:ns:geopriv:held:id">{id}</device></locationRequest>"#
        )
    }

    #[test]
    fn flow_identity_locates_the_target_end_of_the_flow() {
        let mut l = lis(None);
        // app-b (192.0.2.2) is a circle around 48.2 N 16.6 E; the client (127.0.0.1) is app-a.
        let src = answer(&mut l, &by_flow("192.0.2.2", "198.51.100.238", ""));
        assert_eq!(located_at(&src), Some((48.2, 16.6)), "{src:?}");
        let dst = answer(
            &mut l,
            &by_flow("198.51.100.238", "192.0.2.2", r#" target="dst""#),
        );
        assert_eq!(located_at(&dst), Some((48.2, 16.6)), "{dst:?}");
        // target="dst" names the other end: the source address is not the Target.
        let wrong_end = answer(
            &mut l,
            &by_flow("192.0.2.2", "198.51.100.238", r#" target="dst""#),
        );
        assert_eq!(code(&wrong_end), Some("locationUnknown"), "{wrong_end:?}");
        let unknown = answer(&mut l, &by_flow("203.0.113.9", "198.51.100.238", ""));
        assert_eq!(code(&unknown), Some("locationUnknown"), "{unknown:?}");
        let mut faulty = lis(Some("lis-ignores-flow"));
        let ignored = answer(&mut faulty, &by_flow("192.0.2.2", "198.51.100.238", ""));
        assert_eq!(code(&ignored), Some("locationUnknown"), "{ignored:?}");
    }

    #[test]
    fn rfc6155_identifiers_other_than_uri_locate_the_device() {
        let mut l = lis(None);
        let m = answer(&mut l, &by_id("<msisdn>436641000002</msisdn>"));
        assert_eq!(located_at(&m), Some((48.2, 16.6)), "{m:?}");
        let m = answer(&mut l, &by_id(r#"<ip v="4">192.0.2.2</ip>"#));
        assert_eq!(located_at(&m), Some((48.2, 16.6)), "{m:?}");
        let m = answer(&mut l, &by_id("<msisdn>436641999999</msisdn>"));
        assert_eq!(code(&m), Some("locationUnknown"), "{m:?}");
        let mut faulty = lis(Some("lis-uri-only"));
        let m = answer(&mut faulty, &by_id("<msisdn>436641000002</msisdn>"));
        assert_eq!(code(&m), Some("badIdentifier"), "{m:?}");
        let m = answer(&mut faulty, &by_id("<uri>sip:app-b@127.0.0.1</uri>"));
        assert_eq!(located_at(&m), Some((48.2, 16.6)), "{m:?}");
    }

    #[test]
    fn error_codes_follow_rfc5985_and_the_generic_errors_fault_hides_them() {
        let exact_civic = format!(
            r#"<locationRequest {NS}><locationType exact="true">civic</locationType><device xmlns="urn:ietf:params:xml:ns:geopriv:held:id"><uri>sip:app-a@127.0.0.1</uri></device></locationRequest>"#
        );
        let response = format!(
            r#"<locationResponse {NS}><locationUriSet expires="2099-01-01T00:00:00Z"><locationURI>https://lis.example/loc/1</locationURI></locationUriSet></locationResponse>"#
        );
        let mut l = lis(None);
        let m = answer(&mut l, &exact_civic);
        assert_eq!(code(&m), Some("cannotProvideLiType"), "{m:?}");
        let m = answer(&mut l, &response);
        assert_eq!(code(&m), Some("unsupportedMessage"), "{m:?}");
        let mut faulty = lis(Some("lis-generic-errors"));
        for body in [exact_civic.as_str(), response.as_str(), "not XML"] {
            let m = answer(&mut faulty, body);
            assert_eq!(code(&m), Some("generalLisError"), "{m:?}");
        }
        // Successful answers are unchanged.
        let m = answer(&mut faulty, &by_id("<msisdn>436641000002</msisdn>"));
        assert_eq!(located_at(&m), Some((48.2, 16.6)), "{m:?}");
    }
}
