//! The simulated ECRF: a LoST server (RFC 5222) over the service areas, sans-IO.

use lmpe_location::lost::{
    self, DisplayName, ExceptionKind, Expires, FindService, FindServiceResponse,
    GetServiceBoundaryResponse, ListServicesByLocationResponse, ListServicesResponse, Location,
    LocationValidation, LostErrors, LostMessage, Mapping, MappingBoundary, Path, ServiceBoundary,
    ServiceBoundaryMode, ServiceBoundaryReference, NS_LOST,
};
use lmpe_location::pidf::{GeoShape, LocationObject, Polygon as PidfPolygon, Position, Shape};
use lmpe_location::{LocationError, ParseOptions, QualifiedName, MIME_LOST};

use crate::areas::{ServiceArea, ServiceAreas};
use crate::faults::EcrfFaults;
use crate::mapping::{map_civic, map_geodetic, to_input, validate_civic};
use crate::ServiceReply;

/// ECRF settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrfConfig {
    /// The server's appUniqueString (`source` of mappings and errors, `<via>` in `<path>`).
    pub source: String,
    /// `lastUpdated` of every mapping.
    pub last_updated: String,
}

impl Default for EcrfConfig {
    fn default() -> Self {
        EcrfConfig {
            source: "ecrf.lmpe-harness.test".into(),
            last_updated: "2026-01-01T00:00:00Z".into(),
        }
    }
}

/// The ECRF: answers findService (geodetic and civic), listServices,
/// listServicesByLocation and getServiceBoundary from [`ServiceAreas`].
///
/// A findService with `validateLocation="true"` whose mapped location is a civic address
/// gets a `locationValidation` listing each element of that address once as valid, invalid or
/// unchecked, with namespace-qualified names (RFC 5222 8.3.5 / 8.4.2 as updated by RFC 6848
/// Section 6; the rule is [`crate::mapping::validate_civic`]). RFC 5222 defines validation
/// for civic location only: a geodetic location is mapped without `locationValidation`.
#[derive(Debug, Clone)]
pub struct Ecrf {
    areas: ServiceAreas,
    cfg: EcrfConfig,
    faults: EcrfFaults,
}

/// The outcome of locating one `<location>`.
enum Located<'a> {
    Area(&'a ServiceArea),
    Nowhere,
    Invalid(String),
    Unrecognized,
}

impl Ecrf {
    /// An ECRF over `areas`.
    pub fn new(areas: ServiceAreas, cfg: EcrfConfig) -> Self {
        Ecrf {
            areas,
            cfg,
            faults: EcrfFaults::default(),
        }
    }

    /// Switches deliberate faults on (or off with the default).
    pub fn set_faults(&mut self, faults: EcrfFaults) {
        self.faults = faults;
    }

    /// The faults in force.
    pub fn faults(&self) -> &EcrfFaults {
        &self.faults
    }

    /// The service areas served.
    pub fn areas(&self) -> &ServiceAreas {
        &self.areas
    }

    /// Answers one HTTP request body (a LoST request) with an HTTP answer, faults applied.
    /// LoST-level errors are `<errors>` documents with status 200 (RFC 5222 Section 13).
    pub fn handle(&self, body: &[u8]) -> ServiceReply {
        let parsed = std::str::from_utf8(body)
            .map_err(|e| (ExceptionKind::BadRequest, format!("body is not UTF-8: {e}")))
            .and_then(|s| {
                lost::parse_with(s, &ParseOptions::lenient()).map_err(|e| {
                    // A well-formed request whose coordinates are unusable is locationInvalid
                    // (RFC 5222 Section 13.1), anything else badRequest.
                    let kind = match e {
                        LocationError::InvalidCoordinate { .. }
                        | LocationError::CoordinateOutOfRange { .. }
                        | LocationError::WrongDimension { .. } => ExceptionKind::LocationInvalid,
                        _ => ExceptionKind::BadRequest,
                    };
                    (kind, e.to_string())
                })
            });
        let answer = match parsed {
            Ok(msg) => self.answer(&msg),
            Err((kind, e)) => LostMessage::Errors(self.error(kind, &e)),
        };
        self.render(&answer)
    }

    /// The typed answer to a typed LoST request (no faults but `wrong-psap` and
    /// `notfound-always`, which change content rather than encoding).
    pub fn answer(&self, msg: &LostMessage) -> LostMessage {
        match msg {
            LostMessage::FindService(fs) => self.find_service(fs),
            LostMessage::ListServices(ls) => {
                let services = match &ls.service {
                    None => self.areas.services(),
                    Some(parent) => self
                        .areas
                        .services()
                        .into_iter()
                        .filter(|s| {
                            s.strip_prefix(parent.as_str())
                                .is_some_and(|r| r.starts_with('.'))
                        })
                        .collect(),
                };
                LostMessage::ListServicesResponse(ListServicesResponse {
                    services,
                    warnings: Vec::new(),
                    path: self.path(),
                    extensions: Vec::new(),
                })
            }
            LostMessage::ListServicesByLocation(l) => {
                let mut services = Vec::new();
                let mut used = None;
                for s in self.areas.services() {
                    if let Some(parent) = &l.service {
                        if !(s == *parent || s.starts_with(&format!("{parent}."))) {
                            continue;
                        }
                    }
                    for loc in &l.locations {
                        match self.locate(loc, &s) {
                            Located::Area(_) => {
                                used.get_or_insert_with(|| loc.id.clone());
                                services.push(s.clone());
                                break;
                            }
                            Located::Invalid(why) => {
                                return LostMessage::Errors(
                                    self.error(ExceptionKind::LocationInvalid, &why),
                                )
                            }
                            Located::Nowhere | Located::Unrecognized => {}
                        }
                    }
                }
                LostMessage::ListServicesByLocationResponse(ListServicesByLocationResponse {
                    services,
                    warnings: Vec::new(),
                    path: self.path(),
                    location_used: used,
                    extensions: Vec::new(),
                })
            }
            LostMessage::GetServiceBoundary(g) => match self.areas.by_id(g.key.trim()) {
                Some(area) => LostMessage::GetServiceBoundaryResponse(GetServiceBoundaryResponse {
                    boundaries: vec![self.boundary_value(area)],
                    warnings: Vec::new(),
                    path: self.path(),
                    extensions: Vec::new(),
                }),
                None => LostMessage::Errors(self.error(
                    ExceptionKind::NotFound,
                    &format!("no service boundary with key {:?}", g.key),
                )),
            },
            _ => LostMessage::Errors(self.error(
                ExceptionKind::BadRequest,
                "not a LoST request (findService, listServices, listServicesByLocation, \
                 getServiceBoundary)",
            )),
        }
    }

    fn find_service(&self, fs: &FindService) -> LostMessage {
        let Some(service) = fs.service.as_deref() else {
            return LostMessage::Errors(self.error(ExceptionKind::BadRequest, "no <service>"));
        };
        if !self.areas.implements(service) {
            return LostMessage::Errors(self.error(
                ExceptionKind::ServiceNotImplemented,
                &format!("{service} is not served here"),
            ));
        }
        if self.faults.notfound_always {
            return LostMessage::Errors(self.error(ExceptionKind::NotFound, "no area (fault)"));
        }
        // RFC 5222 Section 8.3.2: use the first location the server understands.
        let mut unrecognized = Vec::new();
        for loc in &fs.locations {
            match self.locate(loc, service) {
                Located::Area(area) => {
                    let area = if self.faults.wrong_psap {
                        self.next_area(area)
                    } else {
                        area
                    };
                    let mut response = self.mapping(area, service, fs.service_boundary, &loc.id);
                    if fs.validate_location {
                        response.location_validation = self.validation(loc);
                    }
                    return LostMessage::FindServiceResponse(response);
                }
                Located::Nowhere => {
                    return LostMessage::Errors(self.error(
                        ExceptionKind::NotFound,
                        &format!("no {service} area for location {:?}", loc.id),
                    ))
                }
                Located::Invalid(why) => {
                    return LostMessage::Errors(self.error(ExceptionKind::LocationInvalid, &why))
                }
                Located::Unrecognized => {
                    unrecognized.extend(loc.profile.clone());
                }
            }
        }
        let mut e = self.error(
            ExceptionKind::LocationProfileUnrecognized,
            "no location in a profile this server understands (geodetic-2d, civic)",
        );
        if let Some(x) = e.exceptions.first_mut() {
            x.unsupported_profiles = unrecognized;
        }
        LostMessage::Errors(e)
    }

    fn locate(&self, loc: &Location, service: &str) -> Located<'_> {
        for obj in &loc.objects {
            match obj {
                LocationObject::Geodetic { shape, .. } => {
                    return match to_input(&shape.shape) {
                        Ok(input) => match map_geodetic(&self.areas, &input, service) {
                            Some(a) => Located::Area(a),
                            None => Located::Nowhere,
                        },
                        Err(why) => Located::Invalid(why.0),
                    }
                }
                LocationObject::Civic(c) => {
                    if c.country.is_none() {
                        return Located::Invalid("civic address without country".into());
                    }
                    return match map_civic(&self.areas, c, service) {
                        Some(a) => Located::Area(a),
                        None => Located::Nowhere,
                    };
                }
                LocationObject::Other(_) => {}
            }
        }
        Located::Unrecognized
    }

    /// The `locationValidation` for the location that was mapped: its civic address (the
    /// first civic or geodetic object, as [`Ecrf::locate`] takes it), `None` for geodetic.
    fn validation(&self, loc: &Location) -> Option<LocationValidation> {
        let civic = loc.objects.iter().find_map(|o| match o {
            LocationObject::Civic(c) => Some(Some(c)),
            LocationObject::Geodetic { .. } => Some(None),
            LocationObject::Other(_) => None,
        })??;
        let mut v = validate_civic(&self.areas, civic);
        if self.faults.unqualified_validation {
            // No namespace: the names are written bare (RFC 5222 Fig. 6).
            for list in [&mut v.valid, &mut v.invalid, &mut v.unchecked] {
                for q in list.iter_mut().flatten() {
                    *q = QualifiedName::new("", &q.local);
                }
            }
        }
        Some(v)
    }

    fn next_area<'a>(&'a self, area: &'a ServiceArea) -> &'a ServiceArea {
        let i = self
            .areas
            .areas
            .iter()
            .position(|a| a.id == area.id)
            .unwrap_or(0);
        self.areas
            .areas
            .get((i + 1) % self.areas.areas.len().max(1))
            .unwrap_or(area)
    }

    fn mapping(
        &self,
        area: &ServiceArea,
        service: &str,
        mode: ServiceBoundaryMode,
        location_id: &str,
    ) -> FindServiceResponse {
        let boundary = if self.faults.oversize_coordinates {
            Some(MappingBoundary::Value(vec![oversize_boundary()]))
        } else {
            Some(match mode {
                ServiceBoundaryMode::Value => {
                    MappingBoundary::Value(vec![self.boundary_value(area)])
                }
                ServiceBoundaryMode::Reference => {
                    MappingBoundary::Reference(ServiceBoundaryReference {
                        source: self.cfg.source.clone(),
                        key: area.id.clone(),
                        extensions: Vec::new(),
                    })
                }
            })
        };
        FindServiceResponse {
            mappings: vec![Mapping {
                display_names: vec![DisplayName {
                    lang: "en".into(),
                    text: area.display_name.clone(),
                }],
                service: Some(service.to_owned()),
                boundary,
                uris: area.uris.clone(),
                service_number: area.service_number.clone(),
                expires: Expires::NoCache,
                last_updated: self.cfg.last_updated.clone(),
                source: self.cfg.source.clone(),
                source_id: area.id.clone(),
                message: None,
                extensions: Vec::new(),
            }],
            location_validation: None,
            warnings: Vec::new(),
            path: self.path(),
            location_used: Some(location_id.to_owned()),
            extensions: Vec::new(),
        }
    }

    fn boundary_value(&self, area: &ServiceArea) -> ServiceBoundary {
        let ring = |r: &geo::LineString<f64>| -> Vec<Position> {
            r.coords().map(|c| Position::new(c.y, c.x)).collect()
        };
        ServiceBoundary {
            profile: Some("geodetic-2d".into()),
            objects: area
                .boundary
                .0
                .iter()
                .map(|p| LocationObject::Geodetic {
                    shape: GeoShape::new(Shape::Polygon(PidfPolygon {
                        exterior: ring(p.exterior()),
                        interiors: p.interiors().iter().map(ring).collect(),
                        pos_list: false,
                    })),
                    in_gml_location: false,
                })
                .collect(),
        }
    }

    fn path(&self) -> Path {
        Path {
            vias: vec![self.cfg.source.clone()],
        }
    }

    fn error(&self, kind: ExceptionKind, message: &str) -> LostErrors {
        LostErrors::single(&self.cfg.source, kind, message)
    }

    fn render(&self, answer: &LostMessage) -> ServiceReply {
        let f = &self.faults;
        let mut reply = if f.http_error {
            ServiceReply::status(500, None, String::new())
        } else if f.not_xml {
            ServiceReply::ok(MIME_LOST, "ECRF fault: this body is not XML\n".into())
        } else {
            let mut xml = answer.to_xml();
            if f.wrong_namespace {
                xml = xml.replace(NS_LOST, "urn:ietf:params:xml:ns:lost2");
            }
            if f.malformed_xml {
                let mut cut = xml.len() / 2;
                while !xml.is_char_boundary(cut) {
                    cut -= 1;
                }
                xml.truncate(cut);
            }
            ServiceReply::ok(MIME_LOST, xml)
        };
        if let Some(d) = f.slow {
            reply.delay = d;
        }
        reply
    }
}

/// A service boundary whose coordinates are far outside WGS 84 ranges (1e300 degrees, written
/// out in full: 301 digits each).
fn oversize_boundary() -> ServiceBoundary {
    let p = |lat: f64, lon: f64| Position::new(lat, lon);
    let big = 1e300;
    ServiceBoundary {
        profile: Some("geodetic-2d".into()),
        objects: vec![LocationObject::Geodetic {
            shape: GeoShape::new(Shape::Polygon(PidfPolygon {
                exterior: vec![p(big, big), p(big, -big), p(-big, -big), p(big, big)],
                interiors: Vec::new(),
                pos_list: false,
            })),
            in_gml_location: false,
        }],
    }
}
