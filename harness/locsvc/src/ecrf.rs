//! The simulated ECRF: a LoST server (RFC 5222) over the service areas, sans-IO.
//!
//! A server of a LoST forest: an area may be delegated to another LoST server
//! ([`ServiceArea::delegate`]); a findService for it is answered iteratively with a
//! `<redirect>` or recursively (RFC 5222 8.3.3) through [`Ecrf::step`] / [`Ecrf::recursed`],
//! the HTTP request to the peer being left to the caller ([`crate::http`]).

use std::collections::BTreeMap;
use std::time::Duration;

use lmpe_location::lost::{
    self, DisplayName, ExceptionKind, Expires, FindService, FindServiceResponse,
    GetServiceBoundaryResponse, ListServicesByLocationResponse, ListServicesResponse, Location,
    LocationValidation, LostErrors, LostMessage, Mapping, MappingBoundary, Message, Path, Redirect,
    ServiceBoundary, ServiceBoundaryMode, ServiceBoundaryReference, WarningService, NS_LOST,
};
use lmpe_location::pidf::{GeoShape, LocationObject, Polygon as PidfPolygon, Position, Shape};
use lmpe_location::{LocationError, ParseOptions, QualifiedName, MIME_LOST};

use crate::areas::{ServiceArea, ServiceAreas};
use crate::faults::EcrfFaults;
use crate::mapping::{map_civic, map_geodetic, to_input, validate_civic};
use crate::ServiceReply;

/// Default of [`EcrfConfig::recursion_timeout`].
pub const RECURSION_TIMEOUT: Duration = Duration::from_secs(3);

/// A findService whose `<path>` already holds this many `<via>`s is not recursed any further
/// (answered with `<loop>`), even under the `ecrf-no-loop-detection` fault, so that a
/// misconfigured forest cannot recurse without end.
pub const MAX_PATH_VIAS: usize = 16;

/// ECRF settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrfConfig {
    /// The server's appUniqueString (`source` of mappings and errors, `<via>` in `<path>`).
    pub source: String,
    /// `lastUpdated` of every mapping.
    pub last_updated: String,
    /// The other LoST servers of the forest: application unique string (as in an area's
    /// `delegate`) → LoST URL (`http://127.0.0.1:7001/lost`). This table stands in for the
    /// U-NAPTR resolution of an application unique string (RFC 5222 Section 4); a delegate
    /// missing here is answered with a `<redirect>` even when recursion was asked for.
    pub peers: BTreeMap<String, String>,
    /// Answer every findService for a delegated area with a `<redirect>`, even when
    /// `recursive="true"` ("a server MAY always answer a query by providing a LoST application
    /// unique string", RFC 5222 8.3.3).
    pub iterative_only: bool,
    /// How long the HTTP binding waits for a peer's complete answer when recursing.
    pub recursion_timeout: Duration,
}

impl Default for EcrfConfig {
    fn default() -> Self {
        EcrfConfig {
            source: "ecrf.lmpe-harness.test".into(),
            last_updated: "2026-01-01T00:00:00Z".into(),
            peers: BTreeMap::new(),
            iterative_only: false,
            recursion_timeout: RECURSION_TIMEOUT,
        }
    }
}

/// What the ECRF does with one request: answer it, or first ask a peer (recursion).
#[derive(Debug, Clone, PartialEq)]
pub enum EcrfStep {
    /// The answer, ready to send.
    Reply(ServiceReply),
    /// POST [`Recursion::body`] to [`Recursion::url`], then hand the outcome to
    /// [`Ecrf::recursed`] for the answer.
    Recurse(Recursion),
}

/// A recursion step: the findService to forward to the LoST server serving a delegated area
/// (RFC 5222 8.3.3), with `recursive="true"` and this server's `<via>` appended to the path.
#[derive(Debug, Clone, PartialEq)]
pub struct Recursion {
    /// The peer's application unique string (the area's `delegate`).
    pub peer: String,
    /// The peer's LoST URL (from [`EcrfConfig::peers`]).
    pub url: String,
    /// The forwarded findService (`application/lost+xml`).
    pub body: String,
    /// How long to wait for the peer's complete answer.
    pub timeout: Duration,
    /// The iterative answer for the same request (what [`Ecrf::handle`] answers instead).
    pub redirect: Redirect,
}

/// Why a recursion step got no HTTP answer from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecurseFailure {
    /// No complete answer within [`Recursion::timeout`] (LoST `serverTimeout`).
    Timeout,
    /// The peer could not be reached (connection refused, reset; LoST `serverTimeout`).
    Unreachable(String),
    /// The peer answered, but not usably (answer too large, broken HTTP; LoST `serverError`).
    BadAnswer(String),
}

/// The ECRF's decision on a parsed request.
enum Decision {
    Answer(LostMessage),
    Recurse(Recursion),
}

/// The ECRF: answers findService (geodetic and civic), listServices,
/// listServicesByLocation and getServiceBoundary from [`ServiceAreas`].
///
/// A findService with `validateLocation="true"` whose mapped location is a civic address
/// gets a `locationValidation` listing each element of that address once as valid, invalid or
/// unchecked, with namespace-qualified names (RFC 5222 8.3.5 / 8.4.2 as updated by RFC 6848
/// Section 6; the rule is [`crate::mapping::validate_civic`]). RFC 5222 defines validation
/// for civic location only: a geodetic location is mapped without `locationValidation`.
///
/// A findService whose location lies in a delegated area ([`ServiceArea::delegate`]) is
/// answered with a `<redirect>` to the delegate unless it asks for recursion
/// (`recursive="true"`), the server is not [`EcrfConfig::iterative_only`] and the delegate is
/// one of [`EcrfConfig::peers`]; then [`Ecrf::step`] returns a [`Recursion`] (or `<loop>`
/// when the delegate already is a `<via>` of the request's path, or this server itself).
/// A findService answered here gets the request's `<via>`s followed by this server's own as
/// its path (RFC 5222 Section 6); listServices, listServicesByLocation and
/// getServiceBoundary carry this server's `<via>` only.
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

    /// The settings.
    pub fn config(&self) -> &EcrfConfig {
        &self.cfg
    }

    /// The settings, to change (e.g. [`EcrfConfig::iterative_only`] for one scenario).
    pub fn config_mut(&mut self) -> &mut EcrfConfig {
        &mut self.cfg
    }

    /// Answers one HTTP request body (a LoST request) with an HTTP answer, faults applied.
    /// LoST-level errors are `<errors>` documents with status 200 (RFC 5222 Section 13).
    ///
    /// Never recurses: where [`Ecrf::step`] would ask a peer, this answers the
    /// `<redirect>` to it instead ([`Recursion::redirect`]), as RFC 5222 8.3.3 allows.
    pub fn handle(&self, body: &[u8]) -> ServiceReply {
        match self.step(body) {
            EcrfStep::Reply(r) => r,
            EcrfStep::Recurse(r) => self.render(&LostMessage::Redirect(r.redirect)),
        }
    }

    /// The first step of answering one HTTP request body (a LoST request): the answer
    /// (as [`Ecrf::handle`]), or a [`Recursion`] to perform before [`Ecrf::recursed`] answers.
    pub fn step(&self, body: &[u8]) -> EcrfStep {
        match self.parse(body) {
            Ok(msg) => match self.decide(&msg) {
                Decision::Answer(a) => EcrfStep::Reply(self.render(&a)),
                Decision::Recurse(r) => EcrfStep::Recurse(r),
            },
            Err((kind, e)) => {
                EcrfStep::Reply(self.render(&LostMessage::Errors(self.error(kind, &e))))
            }
        }
    }

    /// The answer after a recursion step, from the peer's HTTP answer (`(status, body)`) or
    /// why there was none. A LoST answer to a findService (`findServiceResponse`, `errors`,
    /// `redirect`) with status 200 is passed back verbatim (RFC 5222 Section 6: the path is
    /// not modified on the way back); an HTTP error or anything else is `<serverError>`; a
    /// timeout or an unreachable peer is `<serverTimeout>`. Faults apply.
    pub fn recursed(
        &self,
        r: &Recursion,
        outcome: Result<(u16, String), RecurseFailure>,
    ) -> ServiceReply {
        let peer = format!("LoST server {} at {}", r.peer, r.url);
        let fail = |kind, why: String| {
            self.render(&LostMessage::Errors(
                self.error(kind, &format!("{peer}: {why}")),
            ))
        };
        let (status, body) = match outcome {
            Err(RecurseFailure::Timeout) => {
                return fail(
                    ExceptionKind::ServerTimeout,
                    format!("no answer within {:?}", r.timeout),
                )
            }
            Err(RecurseFailure::Unreachable(why)) => {
                return fail(ExceptionKind::ServerTimeout, format!("unreachable: {why}"))
            }
            Err(RecurseFailure::BadAnswer(why)) => return fail(ExceptionKind::ServerError, why),
            Ok(x) => x,
        };
        if status != 200 {
            return fail(
                ExceptionKind::ServerError,
                format!("answered HTTP {status}"),
            );
        }
        match lost::parse_with(&body, &ParseOptions::lenient()) {
            Ok(LostMessage::FindServiceResponse(mut resp)) if self.faults.path_incomplete => {
                resp.path.vias.retain(|v| *v != self.cfg.source);
                self.render(&LostMessage::FindServiceResponse(resp))
            }
            Ok(
                LostMessage::FindServiceResponse(_)
                | LostMessage::Errors(_)
                | LostMessage::Redirect(_),
            ) => self.render_xml(body),
            Ok(_) => fail(
                ExceptionKind::ServerError,
                "answered a LoST message that does not answer findService".into(),
            ),
            Err(e) => fail(
                ExceptionKind::ServerError,
                format!("answered something that is not LoST: {e}"),
            ),
        }
    }

    fn parse(&self, body: &[u8]) -> Result<LostMessage, (ExceptionKind, String)> {
        std::str::from_utf8(body)
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
            })
    }

    /// The typed answer to a typed LoST request (no faults but those that change content
    /// rather than encoding: `wrong-psap`, `notfound-always`, the path and redirect faults).
    /// Like [`Ecrf::handle`], answers a `<redirect>` where [`Ecrf::step`] would recurse.
    pub fn answer(&self, msg: &LostMessage) -> LostMessage {
        match self.decide(msg) {
            Decision::Answer(a) => a,
            Decision::Recurse(r) => LostMessage::Redirect(r.redirect),
        }
    }

    fn decide(&self, msg: &LostMessage) -> Decision {
        let msg = match msg {
            LostMessage::FindService(fs) => return self.find_service(fs),
            other => other,
        };
        Decision::Answer(match msg {
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
                                return Decision::Answer(LostMessage::Errors(
                                    self.error(ExceptionKind::LocationInvalid, &why),
                                ))
                            }
                            Located::Nowhere | Located::Unrecognized => {}
                        }
                    }
                }
                let warning_parent = l
                    .service
                    .as_deref()
                    .is_some_and(|p| WarningService::from_urn(p).is_ok());
                if self.faults.warning_lists_sos && warning_parent {
                    services.push("urn:service:sos".into());
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
        })
    }

    fn find_service(&self, fs: &FindService) -> Decision {
        if self.faults.redirect_loop {
            return Decision::Answer(LostMessage::Redirect(Redirect {
                target: self.cfg.source.clone(),
                source: self.cfg.source.clone(),
                message: Some(en("ask this server again (fault)")),
                extensions: Vec::new(),
            }));
        }
        Decision::Answer(match self.find_service_here(fs) {
            Ok(answer) => answer,
            Err((area, delegate)) => return self.delegated(fs, area, delegate),
        })
    }

    /// The answer to a findService, or the delegated area its location lies in.
    fn find_service_here<'a>(
        &'a self,
        fs: &FindService,
    ) -> Result<LostMessage, (&'a ServiceArea, &'a str)> {
        let Some(service) = fs.service.as_deref() else {
            return Ok(LostMessage::Errors(
                self.error(ExceptionKind::BadRequest, "no <service>"),
            ));
        };
        if !self.areas.implements(service) {
            return Ok(LostMessage::Errors(self.error(
                ExceptionKind::ServiceNotImplemented,
                &format!("{service} is not served here"),
            )));
        }
        if self.faults.notfound_always {
            return Ok(LostMessage::Errors(
                self.error(ExceptionKind::NotFound, "no area (fault)"),
            ));
        }
        // RFC 5222 Section 8.3.2: use the first location the server understands.
        let mut unrecognized = Vec::new();
        for loc in &fs.locations {
            match self.locate(loc, service) {
                Located::Area(area) => {
                    if let Some(d) = area.delegate.as_deref() {
                        return Err((area, d));
                    }
                    let area = if self.faults.wrong_psap {
                        self.next_area(area)
                    } else {
                        area
                    };
                    let mut response = self.mapping(area, service, fs.service_boundary, &loc.id);
                    if WarningService::from_urn(service).is_ok() {
                        self.warning_mappings(&mut response, area, loc, service, fs);
                    }
                    if fs.validate_location {
                        response.location_validation = self.validation(loc);
                    }
                    response.path = self.direct_path(fs);
                    return Ok(LostMessage::FindServiceResponse(response));
                }
                Located::Nowhere => {
                    return Ok(LostMessage::Errors(self.error(
                        ExceptionKind::NotFound,
                        &format!("no {service} area for location {:?}", loc.id),
                    )))
                }
                Located::Invalid(why) => {
                    return Ok(LostMessage::Errors(
                        self.error(ExceptionKind::LocationInvalid, &why),
                    ))
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
        if let Some(x) = e
            .exceptions
            .first_mut()
            .filter(|x| x.kind == ExceptionKind::LocationProfileUnrecognized)
        {
            x.unsupported_profiles = unrecognized;
        }
        Ok(LostMessage::Errors(e))
    }

    /// A findService for a location in `area`, delegated to `delegate`: redirect, loop or
    /// recursion (RFC 5222 8.3.3, Section 6).
    fn delegated(&self, fs: &FindService, area: &ServiceArea, delegate: &str) -> Decision {
        let redirect = Redirect {
            target: delegate.to_owned(),
            source: self.cfg.source.clone(),
            message: Some(en(&format!("{} is served by {delegate}", area.id))),
            extensions: Vec::new(),
        };
        let recurse = (fs.recursive && !self.cfg.iterative_only) || self.faults.recurses_always;
        if !recurse {
            return Decision::Answer(LostMessage::Redirect(redirect));
        }
        let mut vias = fs.path.as_ref().map(|p| p.vias.clone()).unwrap_or_default();
        let seen = vias.iter().any(|v| v.eq_ignore_ascii_case(delegate))
            || delegate.eq_ignore_ascii_case(&self.cfg.source);
        if (seen && !self.faults.no_loop_detection) || vias.len() >= MAX_PATH_VIAS {
            return Decision::Answer(LostMessage::Errors(self.error(
                ExceptionKind::Loop,
                &format!(
                    "{} is served by {delegate}, which is already in the path ({})",
                    area.id,
                    vias.join(" ")
                ),
            )));
        }
        let Some(url) = self.cfg.peers.get(delegate) else {
            return Decision::Answer(LostMessage::Redirect(redirect));
        };
        if vias.last() != Some(&self.cfg.source) {
            vias.push(self.cfg.source.clone());
        }
        let forward = FindService {
            recursive: true,
            path: Some(Path { vias }),
            ..fs.clone()
        };
        Decision::Recurse(Recursion {
            peer: delegate.to_owned(),
            url: url.clone(),
            body: forward.to_xml(),
            timeout: self.cfg.recursion_timeout,
            redirect,
        })
    }

    /// The path of a findService answered here: the request's `<via>`s, then this server's
    /// own unless it is last already (RFC 5222 Section 6).
    fn direct_path(&self, fs: &FindService) -> Path {
        if self.faults.path_incomplete {
            return Path { vias: Vec::new() };
        }
        let mut vias = fs.path.as_ref().map(|p| p.vias.clone()).unwrap_or_default();
        if vias.last() != Some(&self.cfg.source) {
            vias.push(self.cfg.source.clone());
        }
        Path { vias }
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

    /// Warning services (draft-rosen-atoca-server-discovery Section 3): many organisations
    /// may warn for one place, so every area that serves the service there gets a mapping, in
    /// file order after the first. The faults `ecrf-warning-one-mapping` and
    /// `ecrf-warning-bad-scheme` break this.
    fn warning_mappings(
        &self,
        response: &mut FindServiceResponse,
        first: &ServiceArea,
        loc: &Location,
        service: &str,
        fs: &FindService,
    ) {
        if !self.faults.warning_one_mapping {
            for other in self
                .areas
                .areas
                .iter()
                .filter(|a| a.id != first.id && a.delegate.is_none() && a.serves(service))
            {
                let alone = ServiceAreas {
                    areas: vec![other.clone()],
                };
                let here = Ecrf::new(alone, self.cfg.clone());
                if matches!(here.locate(loc, service), Located::Area(_)) {
                    let more = self.mapping(other, service, fs.service_boundary, &loc.id);
                    response.mappings.extend(more.mappings);
                }
            }
        }
        if self.faults.warning_bad_scheme {
            for m in &mut response.mappings {
                for uri in &mut m.uris {
                    if let Some(rest) = uri.strip_prefix("http:") {
                        *uri = format!("https:{rest}");
                    }
                }
            }
        }
    }

    /// The next area after `area` in file order (wrapping) that is not delegated.
    fn next_area<'a>(&'a self, area: &'a ServiceArea) -> &'a ServiceArea {
        let all = &self.areas.areas;
        let i = all.iter().position(|a| a.id == area.id).unwrap_or(0);
        (1..=all.len())
            .filter_map(|k| all.get((i + k) % all.len()))
            .find(|a| a.delegate.is_none())
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

    /// A LoST error from this server; `ecrf-generic-errors` turns every kind into
    /// `internalError`.
    fn error(&self, kind: ExceptionKind, message: &str) -> LostErrors {
        let kind = if self.faults.generic_errors {
            ExceptionKind::InternalError
        } else {
            kind
        };
        LostErrors::single(&self.cfg.source, kind, message)
    }

    fn render(&self, answer: &LostMessage) -> ServiceReply {
        self.render_xml(answer.to_xml())
    }

    /// The HTTP answer with LoST document `xml`, faults applied.
    fn render_xml(&self, mut xml: String) -> ServiceReply {
        let f = &self.faults;
        let mut reply = if f.http_error {
            ServiceReply::status(500, None, String::new())
        } else if f.not_xml {
            ServiceReply::ok(MIME_LOST, "ECRF fault: this body is not XML\n".into())
        } else {
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

/// An English LoST message attribute.
fn en(text: &str) -> Message {
    Message {
        text: text.to_owned(),
        lang: Some("en".into()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{fill_template, SAMPLE_AREAS, SAMPLE_FOREST_CHILD, SAMPLE_FOREST_CHILD_SOURCE};

    const PSAP_A: &str = "sip:psap-a@127.0.0.1:5070";
    const PSAP_B: &str = "sip:psap-b@127.0.0.1:5071";
    const TOP: &str = "ecrf.lmpe-harness.test";
    const CHILD: &str = SAMPLE_FOREST_CHILD_SOURCE;
    const CHILD_URL: &str = "http://127.0.0.1:7001/lost";
    /// In area C (delegated) and in area A.
    const IN_C: (f64, f64) = (48.2, 17.0);
    const IN_A: (f64, f64) = (48.2, 16.2);

    fn areas(text: &str) -> ServiceAreas {
        fill_template(text, &[("PSAP_A", PSAP_A), ("PSAP_B", PSAP_B)])
            .ok()
            .and_then(|t| ServiceAreas::from_geojson(&t).ok())
            .unwrap_or_default()
    }

    fn top_cfg() -> EcrfConfig {
        EcrfConfig {
            peers: [(CHILD.to_owned(), CHILD_URL.to_owned())].into(),
            ..EcrfConfig::default()
        }
    }

    fn top_with(cfg: EcrfConfig, fault: Option<&str>) -> Ecrf {
        let mut e = Ecrf::new(areas(SAMPLE_AREAS), cfg);
        if let Some(f) = fault {
            e.set_faults(EcrfFaults::from_name(f).unwrap_or_default());
        }
        e
    }

    fn top() -> Ecrf {
        top_with(top_cfg(), None)
    }

    fn child() -> Ecrf {
        Ecrf::new(
            areas(SAMPLE_FOREST_CHILD),
            EcrfConfig {
                source: CHILD.into(),
                ..EcrfConfig::default()
            },
        )
    }

    /// A findService for a point, built with the typed codec.
    fn find_service(at: (f64, f64), recursive: bool, path: &[&str]) -> String {
        let xml = format!(
            r#"<findService xmlns="urn:ietf:params:xml:ns:lost1"><location id="loc1" profile="geodetic-2d"><gml:Point xmlns:gml="http://www.opengis.net/gml" srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{} {}</gml:pos></gml:Point></location><service>urn:service:sos</service></findService>"#,
            at.0, at.1
        );
        let Ok(LostMessage::FindService(mut fs)) = lost::parse(&xml) else {
            panic!("test request does not parse");
        };
        fs.recursive = recursive;
        fs.path = (!path.is_empty()).then(|| Path {
            vias: path.iter().map(|v| (*v).to_owned()).collect(),
        });
        fs.to_xml()
    }

    fn parse(r: &ServiceReply) -> LostMessage {
        assert_eq!(r.status, 200, "{r:?}");
        lost::parse(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
    }

    fn reply(s: EcrfStep) -> LostMessage {
        match s {
            EcrfStep::Reply(r) => parse(&r),
            EcrfStep::Recurse(r) => panic!("recursion, not an answer: {r:?}"),
        }
    }

    fn recursion(s: EcrfStep) -> Recursion {
        match s {
            EcrfStep::Recurse(r) => r,
            EcrfStep::Reply(r) => panic!("an answer, not a recursion: {r:?}"),
        }
    }

    fn error_kind(m: &LostMessage) -> Option<ExceptionKind> {
        match m {
            LostMessage::Errors(e) => e.exceptions.first().map(|x| x.kind),
            _ => None,
        }
    }

    fn vias(m: &LostMessage) -> Vec<String> {
        match m {
            LostMessage::FindServiceResponse(r) => r.path.vias.clone(),
            other => panic!("not a findServiceResponse: {other:?}"),
        }
    }

    #[test]
    fn iterative_answers_a_redirect_to_the_delegate() {
        for (e, recursive) in [
            (top(), false),
            (top_with(EcrfConfig::default(), None), true), // peer unknown
            (
                top_with(
                    EcrfConfig {
                        iterative_only: true,
                        ..top_cfg()
                    },
                    None,
                ),
                true,
            ),
        ] {
            let m = reply(e.step(find_service(IN_C, recursive, &[]).as_bytes()));
            let LostMessage::Redirect(r) = m else {
                panic!("not a redirect: {m:?}")
            };
            assert_eq!(r.target, CHILD);
            assert_eq!(r.source, TOP);
            assert_eq!(
                r.message.and_then(|m| m.lang).as_deref(),
                Some("en"),
                "message with xml:lang"
            );
        }
    }

    #[test]
    fn recursive_forwards_with_the_path_and_passes_the_answer_back_verbatim() {
        let top = top();
        let r = recursion(top.step(find_service(IN_C, true, &[]).as_bytes()));
        assert_eq!(r.peer, CHILD);
        assert_eq!(r.url, CHILD_URL);
        assert_eq!(r.timeout, RECURSION_TIMEOUT);
        let Ok(LostMessage::FindService(fwd)) = lost::parse(&r.body) else {
            panic!("forwarded request: {}", r.body)
        };
        assert!(fwd.recursive);
        assert_eq!(fwd.service.as_deref(), Some("urn:service:sos"));
        assert_eq!(fwd.locations.len(), 1);
        assert_eq!(fwd.path.map(|p| p.vias), Some(vec![TOP.to_owned()]));

        // The child answers the forwarded request itself: path [top, child].
        let answer = child().handle(r.body.as_bytes());
        let reply = top.recursed(&r, Ok((200, answer.body.clone())));
        assert_eq!(reply.body, answer.body, "verbatim");
        let m = parse(&reply);
        assert_eq!(vias(&m), [TOP, CHILD]);
        let LostMessage::FindServiceResponse(f) = m else {
            unreachable!()
        };
        assert_eq!(f.mappings[0].uris, [PSAP_B]);
        assert_eq!(f.mappings[0].source, CHILD);

        // Errors and redirects of the peer come back verbatim too.
        for peer_answer in [
            LostMessage::Errors(LostErrors::single(CHILD, ExceptionKind::NotFound, "x")),
            LostMessage::Redirect(Redirect {
                target: "elsewhere.example".into(),
                source: CHILD.into(),
                message: None,
                extensions: Vec::new(),
            }),
        ] {
            let body = peer_answer.to_xml();
            assert_eq!(top.recursed(&r, Ok((200, body.clone()))).body, body);
        }
        // handle() does not recurse: the redirect instead.
        let m = parse(&top.handle(find_service(IN_C, true, &[]).as_bytes()));
        assert!(
            matches!(m, LostMessage::Redirect(ref x) if x.target == CHILD),
            "{m:?}"
        );
        assert!(matches!(
            top.answer(
                &lost::parse(&find_service(IN_C, true, &[])).unwrap_or_else(|e| panic!("{e}"))
            ),
            LostMessage::Redirect(_)
        ));
    }

    #[test]
    fn failed_recursion_is_server_timeout_or_server_error() {
        let top = top();
        let r = recursion(top.step(find_service(IN_C, true, &[]).as_bytes()));
        let kind = |o| error_kind(&parse(&top.recursed(&r, o)));
        assert_eq!(
            kind(Err(RecurseFailure::Timeout)),
            Some(ExceptionKind::ServerTimeout)
        );
        assert_eq!(
            kind(Err(RecurseFailure::Unreachable("refused".into()))),
            Some(ExceptionKind::ServerTimeout)
        );
        assert_eq!(
            kind(Err(RecurseFailure::BadAnswer("too large".into()))),
            Some(ExceptionKind::ServerError)
        );
        let list = LostMessage::ListServicesResponse(ListServicesResponse {
            services: vec!["urn:service:sos".into()],
            warnings: Vec::new(),
            path: Path {
                vias: vec![CHILD.into()],
            },
            extensions: Vec::new(),
        })
        .to_xml();
        let ok = child().handle(r.body.as_bytes()).body;
        for (status, body) in [
            (500, String::new()),
            (404, ok.clone()),
            (200, "not XML".into()),
            (200, "<a/>".into()),
            (200, ok.replace(NS_LOST, "urn:x")),
            (200, list),
        ] {
            assert_eq!(
                kind(Ok((status, body.clone()))),
                Some(ExceptionKind::ServerError),
                "{status} {body}"
            );
        }
    }

    #[test]
    fn a_delegate_in_the_path_is_a_loop() {
        let top = top();
        for path in [&[CHILD][..], &["x.example", CHILD]] {
            let m = reply(top.step(find_service(IN_C, true, path).as_bytes()));
            assert_eq!(error_kind(&m), Some(ExceptionKind::Loop), "{path:?}");
        }
        // Delegated to itself.
        let mut own = areas(SAMPLE_AREAS);
        for a in &mut own.areas {
            if a.delegate.is_some() {
                a.delegate = Some(TOP.into());
            }
        }
        let e = Ecrf::new(
            own,
            EcrfConfig {
                peers: [(TOP.to_owned(), CHILD_URL.to_owned())].into(),
                ..EcrfConfig::default()
            },
        );
        let m = reply(e.step(find_service(IN_C, true, &[]).as_bytes()));
        assert_eq!(error_kind(&m), Some(ExceptionKind::Loop));
        // Iteratively, a redirect all the same (the querier's business).
        let m = reply(top.step(find_service(IN_C, false, &[CHILD]).as_bytes()));
        assert!(matches!(m, LostMessage::Redirect(_)), "{m:?}");
    }

    #[test]
    fn direct_answers_extend_the_request_path() {
        let top = top();
        let at = |path: &[&str]| vias(&reply(top.step(find_service(IN_A, true, path).as_bytes())));
        assert_eq!(at(&[]), [TOP]);
        assert_eq!(at(&["a.example"]), ["a.example", TOP]);
        assert_eq!(at(&["a.example", TOP]), ["a.example", TOP]);
        // Other queries: this server's via only.
        let ls = top.answer(&LostMessage::ListServices(lost::ListServices {
            service: None,
            path: Some(Path {
                vias: vec!["a.example".into()],
            }),
            extensions: Vec::new(),
        }));
        assert!(matches!(ls, LostMessage::ListServicesResponse(ref r) if r.path.vias == [TOP]));
    }

    #[test]
    fn delegated_area_in_other_queries() {
        let top = top();
        let lsl = find_service(IN_C, false, &[])
            .replace("<findService", "<listServicesByLocation")
            .replace("</findService>", "</listServicesByLocation>")
            .replace("<service>urn:service:sos</service>", "");
        let m = parse(&top.handle(lsl.as_bytes()));
        assert!(
            matches!(&m, LostMessage::ListServicesByLocationResponse(r) if r.services == ["urn:service:sos"]),
            "{m:?}"
        );
        let gsb = r#"<getServiceBoundary xmlns="urn:ietf:params:xml:ns:lost1" key="area-c"/>"#;
        let m = parse(&top.handle(gsb.as_bytes()));
        assert!(
            matches!(&m, LostMessage::GetServiceBoundaryResponse(r) if r.boundaries[0].contains(48.2, 17.0)),
            "{m:?}"
        );
        // wrong-psap skips the delegated area: B → A.
        let e = top_with(top_cfg(), Some("ecrf-wrong-psap"));
        let m = reply(e.step(find_service((48.2, 16.6), false, &[]).as_bytes()));
        assert!(
            matches!(&m, LostMessage::FindServiceResponse(r) if r.mappings[0].uris == [PSAP_A]),
            "{m:?}"
        );
    }

    #[test]
    fn forest_faults_change_the_outcome() {
        // ecrf-redirect-loop: a redirect to itself, for every findService.
        let e = top_with(top_cfg(), Some("ecrf-redirect-loop"));
        for at in [IN_A, IN_C] {
            let m = reply(e.step(find_service(at, true, &[]).as_bytes()));
            assert!(
                matches!(&m, LostMessage::Redirect(r) if r.target == TOP && r.source == TOP),
                "{m:?}"
            );
        }
        // ecrf-recurses-always: recursion although recursive="false".
        let e = top_with(top_cfg(), Some("ecrf-recurses-always"));
        let r = recursion(e.step(find_service(IN_C, false, &[]).as_bytes()));
        assert_eq!(r.url, CHILD_URL);
        // ecrf-no-loop-detection: recursion with the delegate already in the path, until
        // MAX_PATH_VIAS.
        let e = top_with(top_cfg(), Some("ecrf-no-loop-detection"));
        let r = recursion(e.step(find_service(IN_C, true, &[CHILD]).as_bytes()));
        let Ok(LostMessage::FindService(fwd)) = lost::parse(&r.body) else {
            panic!("{}", r.body)
        };
        assert_eq!(
            fwd.path.map(|p| p.vias),
            Some(vec![CHILD.into(), TOP.into()])
        );
        let long: Vec<&str> = std::iter::repeat_n(CHILD, MAX_PATH_VIAS).collect();
        let m = reply(e.step(find_service(IN_C, true, &long).as_bytes()));
        assert_eq!(error_kind(&m), Some(ExceptionKind::Loop));
        // ecrf-path-incomplete: the recursive answer loses this server's via, a direct
        // answer has none.
        let e = top_with(top_cfg(), Some("ecrf-path-incomplete"));
        let r = recursion(e.step(find_service(IN_C, true, &[]).as_bytes()));
        let answer = child().handle(r.body.as_bytes()).body;
        assert_eq!(vias(&parse(&e.recursed(&r, Ok((200, answer))))), [CHILD]);
        let direct = e.handle(find_service(IN_A, false, &[]).as_bytes());
        assert!(lost::parse(&direct.body).is_err(), "{}", direct.body);
        assert!(!direct.body.contains("via"), "{}", direct.body);
        // Encoding faults apply to recursive answers too.
        let e = top_with(top_cfg(), Some("ecrf-http-error"));
        let r = recursion(e.step(find_service(IN_C, true, &[]).as_bytes()));
        let answer = child().handle(r.body.as_bytes()).body;
        assert_eq!(e.recursed(&r, Ok((200, answer))).status, 500);
    }

    #[test]
    fn request_errors_follow_rfc5222_13_1_and_the_generic_errors_fault_hides_them() {
        let req = |location: &str, service: &str| {
            format!(
                r#"<findService xmlns="urn:ietf:params:xml:ns:lost1">{location}<service>{service}</service></findService>"#
            )
        };
        let point = |lat: f64, lon: f64| {
            format!(
                r#"<location id="loc1" profile="geodetic-2d"><gml:Point xmlns:gml="http://www.opengis.net/gml" srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{lat} {lon}</gml:pos></gml:Point></location>"#
            )
        };
        let unknown_profile = r#"<location id="loc1" profile="urn:lmpe:unknown-profile"><x:place xmlns:x="urn:lmpe:test:unknown-location">somewhere</x:place></location>"#;
        let cases = [
            (
                req(&point(IN_A.0, IN_A.1), "urn:service:counseling.children"),
                ExceptionKind::ServiceNotImplemented,
            ),
            (
                req(&point(95.0, IN_A.1), "urn:service:sos"),
                ExceptionKind::LocationInvalid,
            ),
            (
                req(unknown_profile, "urn:service:sos"),
                ExceptionKind::LocationProfileUnrecognized,
            ),
        ];
        for (body, kind) in &cases {
            let m = parse(&top().handle(body.as_bytes()));
            assert_eq!(error_kind(&m), Some(*kind), "{body}: {m:?}");
        }
        let faulty = top_with(top_cfg(), Some("ecrf-generic-errors"));
        for (body, _) in &cases {
            let m = parse(&faulty.handle(body.as_bytes()));
            assert_eq!(error_kind(&m), Some(ExceptionKind::InternalError), "{body}");
        }
        let ok = parse(&faulty.handle(find_service(IN_A, false, &[]).as_bytes()));
        assert!(matches!(ok, LostMessage::FindServiceResponse(_)), "{ok:?}");
    }

    fn warning_ecrf(fault: Option<&str>) -> Ecrf {
        let mut a = areas(SAMPLE_AREAS);
        let w = fill_template(
            crate::SAMPLE_WARNING_AREAS,
            &[
                ("ALERTS_SIP", "127.0.0.1:5090"),
                ("ALERTS_PUBSUB", "pubsub.lmpe.test"),
                ("ALERTS_HTTP", "http://127.0.0.1:8090"),
            ],
        )
        .ok()
        .and_then(|t| ServiceAreas::from_geojson(&t).ok())
        .unwrap_or_default();
        a.extend(w);
        let mut e = Ecrf::new(a, top_cfg());
        if let Some(f) = fault {
            e.set_faults(EcrfFaults::from_name(f).unwrap_or_default());
        }
        e
    }

    fn warning_answer(e: &Ecrf, service: &str) -> FindServiceResponse {
        let body = find_service(IN_A, false, &[]).replace("urn:service:sos", service);
        match reply(e.step(body.as_bytes())) {
            LostMessage::FindServiceResponse(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn warning_services_get_every_mapping_of_the_place_with_sip_xmpp_and_http_uris() {
        let e = warning_ecrf(None);
        let met = warning_answer(&e, "urn:service:warning.met");
        let ids: Vec<&str> = met.mappings.iter().map(|m| m.source_id.as_str()).collect();
        assert_eq!(ids, ["warn-a", "warn-a-met"]);
        assert!(lost::validate_warning_response(&met).is_ok());
        assert_eq!(
            met.mappings[0].uris,
            [
                "sip:alerts-warn-a@127.0.0.1:5090",
                "xmpp:pubsub.lmpe.test?pubsub;action=subscribe;node=warn-a",
                "http://127.0.0.1:8090/feeds/warn-a.atom"
            ]
        );
        let fire = warning_answer(&e, "urn:service:warning.fire");
        assert_eq!(
            fire.mappings.len(),
            1,
            "only civil protection warns of fire"
        );
        // sos keeps one mapping.
        let sos = warning_answer(&e, "urn:service:sos");
        assert_eq!(sos.mappings.len(), 1);

        let one = warning_answer(
            &warning_ecrf(Some("ecrf-warning-one-mapping")),
            "urn:service:warning.met",
        );
        assert_eq!(one.mappings.len(), 1);
        let bad = warning_answer(
            &warning_ecrf(Some("ecrf-warning-bad-scheme")),
            "urn:service:warning",
        );
        let v = lost::validate_warning_response(&bad).expect_err("https is not allowed");
        assert!(v.iter().any(|v| v.to_string().contains("https")), "{v:?}");
    }
}
