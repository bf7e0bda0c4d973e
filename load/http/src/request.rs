//! The request types of the HTTP load: valid LoST (RFC 5222) and HELD (RFC 5985, 6155, 6753)
//! requests built with lmpe-location, and the check of each answer (HTTP status, content
//! type, the expected LoST/HELD message; a LoST/HELD error document is an error by its kind).

use lmpe_location::held::{
    self, Device, DeviceIdentifier, HeldMessage, LocationKind, LocationRequest, LocationType,
    ResponseTime,
};
use lmpe_location::lost::{
    self, FindService, ListServicesByLocation, Location, LostMessage, ServiceBoundaryMode,
};
use lmpe_location::pidf::{CivicAddress, GeoShape, LocationObject, Position, Shape};
use lmpe_location::{MIME_HELD, MIME_LOST};

/// One request type of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RequestKind {
    /// ECRF: LoST `findService` for a WGS 84 point (spread over the profile's box).
    FindServiceGeodetic,
    /// ECRF: LoST `findService` for a civic address.
    FindServiceCivic,
    /// ECRF: LoST `listServicesByLocation` for a point.
    ListServicesByLocation,
    /// LIS: HELD `locationRequest` by device identity (RFC 6155 `uri`), location by value.
    HeldLocationRequest,
    /// LIS: dereference (RFC 6753) of a location URI the LIS minted before the run.
    HeldDereference,
}

impl RequestKind {
    /// Every type, in report order.
    pub const ALL: [RequestKind; 5] = [
        RequestKind::FindServiceGeodetic,
        RequestKind::FindServiceCivic,
        RequestKind::ListServicesByLocation,
        RequestKind::HeldLocationRequest,
        RequestKind::HeldDereference,
    ];

    /// Name in profiles and reports.
    pub fn name(self) -> &'static str {
        match self {
            RequestKind::FindServiceGeodetic => "lost-find-service-geodetic",
            RequestKind::FindServiceCivic => "lost-find-service-civic",
            RequestKind::ListServicesByLocation => "lost-list-services-by-location",
            RequestKind::HeldLocationRequest => "held-location-request",
            RequestKind::HeldDereference => "held-dereference",
        }
    }

    /// The type of a name.
    pub fn by_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Index in [`RequestKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Does it go to the LIS (else the ECRF)?
    pub fn is_held(self) -> bool {
        matches!(
            self,
            RequestKind::HeldLocationRequest | RequestKind::HeldDereference
        )
    }

    /// The content type of request and answer.
    pub fn media_type(self) -> &'static str {
        if self.is_held() {
            MIME_HELD
        } else {
            MIME_LOST
        }
    }
}

/// How one request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// HTTP 200, right type, the expected message.
    Ok,
    /// An HTTP status other than 200.
    HttpError(u16),
    /// HTTP 200 but not the expected message: a LoST/HELD error by kind
    /// (`lost-error:notFound`, `held-error:locationUnknown`), `lost-redirect`,
    /// `wrong-content-type`, `lost-unparsable`, `held-unparsable`, `unexpected:<message>`.
    ProtocolError(String),
    /// No complete answer within the budget.
    Timeout,
    /// The connection failed (refused, reset, …).
    TransportError,
}

/// What the requests are about: the service, the civic address, the device identity, and
/// the box geodetic points are drawn from.
#[derive(Debug, Clone)]
pub struct Subjects {
    /// Service URN of the LoST queries.
    pub service: String,
    /// The civic address of `lost-find-service-civic`.
    pub civic: CivicAddress,
    /// RFC 6155 `uri` of the HELD location requests.
    pub device: String,
    /// `[lat_min, lon_min, lat_max, lon_max]` of the geodetic points.
    pub bbox: [f64; 4],
}

impl Default for Subjects {
    /// The embedded sample data: areas A and B (48.0-48.4 N, 16.0-16.8 E), a Vienna address of
    /// area A, and the sample LIS's `sip:app-a@127.0.0.1`.
    fn default() -> Self {
        Self {
            service: "urn:service:sos".into(),
            civic: CivicAddress {
                country: Some("AT".into()),
                a1: Some("Wien".into()),
                a3: Some("Wien".into()),
                rd: Some("Karlsplatz".into()),
                hno: Some("13".into()),
                pc: Some("1040".into()),
                ..CivicAddress::default()
            },
            device: "sip:app-a@127.0.0.1".into(),
            bbox: [48.0, 16.0, 48.4, 16.8],
        }
    }
}

/// SplitMix64: a deterministic point per request index.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn unit(z: u64) -> f64 {
    (z >> 11) as f64 / (1u64 << 53) as f64
}

impl Subjects {
    /// The point of request `k` (seeded), inside the box, rounded to 1e-5 degrees.
    pub fn point(&self, seed: u64, k: u64) -> (f64, f64) {
        let a = mix64(seed ^ k.wrapping_mul(2));
        let b = mix64(a);
        let [la0, lo0, la1, lo1] = self.bbox;
        let r = |v: f64| (v * 1e5).round() / 1e5;
        (
            r(la0 + (la1 - la0) * unit(a)),
            r(lo0 + (lo1 - lo0) * unit(b)),
        )
    }

    fn geodetic(&self, seed: u64, k: u64) -> Location {
        let (lat, lon) = self.point(seed, k);
        Location {
            id: "loc1".into(),
            profile: Some("geodetic-2d".into()),
            objects: vec![LocationObject::Geodetic {
                shape: GeoShape::new(Shape::Point {
                    pos: Position::new(lat, lon),
                }),
                in_gml_location: false,
            }],
        }
    }

    /// The body of request `k` of type `kind` (the dereference body is an RFC 6753 HELD
    /// `locationRequest` for any location type).
    pub fn body(&self, kind: RequestKind, seed: u64, k: u64) -> String {
        let find = |location: Location| {
            LostMessage::FindService(FindService {
                locations: vec![location],
                service: Some(self.service.clone()),
                path: None,
                validate_location: false,
                service_boundary: ServiceBoundaryMode::Reference,
                recursive: false,
                extensions: Vec::new(),
            })
            .to_xml()
        };
        match kind {
            RequestKind::FindServiceGeodetic => find(self.geodetic(seed, k)),
            RequestKind::FindServiceCivic => find(Location {
                id: "loc1".into(),
                profile: Some("civic".into()),
                objects: vec![LocationObject::Civic(Box::new(self.civic.clone()))],
            }),
            RequestKind::ListServicesByLocation => {
                LostMessage::ListServicesByLocation(ListServicesByLocation {
                    locations: vec![self.geodetic(seed, k)],
                    service: Some("urn:service:sos".into()),
                    path: None,
                    recursive: false,
                    extensions: Vec::new(),
                })
                .to_xml()
            }
            RequestKind::HeldLocationRequest => {
                self.held(Some(vec![LocationKind::Geodetic, LocationKind::Civic]))
            }
            RequestKind::HeldDereference => HeldMessage::LocationRequest(LocationRequest {
                response_time: Some(ResponseTime::EmergencyRouting),
                location_type: None,
                device: None,
                flow: None,
                request_routing_information: None,
                extensions: Vec::new(),
            })
            .to_xml(),
        }
    }

    /// A HELD `locationRequest` for `kinds` (`None`: any) by this device's identity.
    pub fn held(&self, kinds: Option<Vec<LocationKind>>) -> String {
        HeldMessage::LocationRequest(LocationRequest {
            response_time: Some(ResponseTime::EmergencyRouting),
            location_type: Some(LocationType {
                kinds,
                exact: false,
            }),
            device: Some(Device {
                identifiers: vec![DeviceIdentifier::Uri(self.device.clone())],
            }),
            flow: None,
            request_routing_information: None,
            extensions: Vec::new(),
        })
        .to_xml()
    }
}

/// The media type of a `Content-Type` value, lower case, without parameters.
fn media_type(content_type: Option<&str>) -> String {
    content_type
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Checks an answer of `kind`: status, content type, and that the body parses as the
/// expected LoST/HELD message.
pub fn check(kind: RequestKind, status: u16, content_type: Option<&str>, body: &[u8]) -> Outcome {
    if status != 200 {
        return Outcome::HttpError(status);
    }
    if media_type(content_type) != kind.media_type() {
        return Outcome::ProtocolError("wrong-content-type".into());
    }
    let proto = |s: &str| Outcome::ProtocolError(s.to_string());
    if kind.is_held() {
        return match held::parse_bytes(body) {
            Err(_) => proto("held-unparsable"),
            Ok(HeldMessage::Error(e)) => proto(&format!("held-error:{}", e.code.as_str())),
            Ok(HeldMessage::LocationResponse(r)) if r.presence.is_some() => Outcome::Ok,
            Ok(HeldMessage::LocationResponse(_)) => proto("held-no-location"),
            Ok(HeldMessage::LocationRequest(_)) => proto("unexpected:locationRequest"),
        };
    }
    match lost::parse_bytes(body) {
        Err(_) => proto("lost-unparsable"),
        Ok(LostMessage::Errors(e)) => proto(&format!(
            "lost-error:{}",
            e.exceptions
                .first()
                .map_or("empty", |x| x.kind.element_name())
        )),
        Ok(LostMessage::Redirect(_)) => proto("lost-redirect"),
        Ok(LostMessage::FindServiceResponse(r))
            if kind != RequestKind::ListServicesByLocation && !r.mappings.is_empty() =>
        {
            Outcome::Ok
        }
        Ok(LostMessage::ListServicesByLocationResponse(_))
            if kind == RequestKind::ListServicesByLocation =>
        {
            Outcome::Ok
        }
        Ok(other) => Outcome::ProtocolError(format!("unexpected:{}", other.to_element().name)),
    }
}

/// The location URIs of a HELD `locationResponse` (for the dereference requests).
pub fn location_uris(body: &[u8]) -> Result<Vec<String>, String> {
    match held::parse_bytes(body) {
        Ok(HeldMessage::LocationResponse(r)) => {
            let uris = r.location_uri_set.map(|s| s.uris).unwrap_or_default();
            if uris.is_empty() {
                Err("a locationResponse without locationURI".into())
            } else {
                Ok(uris)
            }
        }
        Ok(HeldMessage::Error(e)) => Err(format!("HELD error {}", e.code.as_str())),
        Ok(_) => Err("not a locationResponse".into()),
        Err(e) => Err(format!("not HELD: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_valid_lost_and_held() {
        let s = Subjects::default();
        for kind in RequestKind::ALL {
            let body = s.body(kind, 7, 3);
            if kind.is_held() {
                assert!(matches!(
                    held::parse(&body),
                    Ok(HeldMessage::LocationRequest(_))
                ));
            } else {
                assert!(lost::parse(&body).is_ok(), "{body}");
            }
            assert_eq!(RequestKind::by_name(kind.name()), Some(kind));
        }
        for k in 0..1000 {
            let (lat, lon) = s.point(1, k);
            assert!((48.0..=48.4).contains(&lat) && (16.0..=16.8).contains(&lon));
        }
        assert_eq!(s.point(1, 5), s.point(1, 5));
        assert_ne!(s.point(1, 5), s.point(1, 6));
    }

    #[test]
    fn answers_are_checked() {
        let k = RequestKind::FindServiceGeodetic;
        assert_eq!(check(k, 500, None, b""), Outcome::HttpError(500));
        assert_eq!(
            check(k, 200, Some("text/plain"), b"x"),
            Outcome::ProtocolError("wrong-content-type".into())
        );
        assert_eq!(
            check(k, 200, Some("application/lost+xml; charset=utf-8"), b"<x"),
            Outcome::ProtocolError("lost-unparsable".into())
        );
        let err = lost::LostErrors::single("ecrf.lmpe.test", lost::ExceptionKind::NotFound, "no");
        assert_eq!(
            check(
                k,
                200,
                Some(MIME_LOST),
                LostMessage::Errors(err).to_xml().as_bytes()
            ),
            Outcome::ProtocolError("lost-error:notFound".into())
        );
        let req = Subjects::default().body(k, 0, 0);
        assert_eq!(
            check(k, 200, Some(MIME_LOST), req.as_bytes()),
            Outcome::ProtocolError("unexpected:findService".into())
        );
    }
}
