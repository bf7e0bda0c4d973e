//! Location services around the ESInet: the embedded ECRF and LIS (lmpe-locsvc on loopback), the
//! HELD and LoST request bodies the harness sends, and the async glue that performs the
//! reference ESRP's lookups (`Proxy::poll_lookup` → HELD dereference / LoST findService / RFC
//! 7840 routing request → `Proxy::lookup_done`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use lmpe_location::held::{self, HeldMessage};
use lmpe_location::lost::{
    self, ExceptionKind, FindService, Location, LostMessage, ServiceBoundaryMode,
};
use lmpe_location::pidf::{self, LocationObject, Presence};
use lmpe_location::{MIME_HELD, MIME_LOST};
use lmpe_locsvc::client::LocClient;
use lmpe_locsvc::http::{serve, HttpServer, LocServices};
use lmpe_locsvc::{
    fill_template, Ecrf, EcrfConfig, EcrfFaults, HttpLog, Lis, LisConfig, LisFaults, LisTable,
    ServiceAreas, SAMPLE_AREAS, SAMPLE_FOREST_CHILD, SAMPLE_FOREST_CHILD_SOURCE, SAMPLE_LIS,
};
use lmpe_net::EndpointHandle;
use lmpe_reference::proxy::{LookupError, LookupRequest, PidfOrUri, RouteDecision};
use lmpe_reference::Proxy;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// HELD namespace (RFC 5985).
pub(crate) const NS_HELD: &str = "urn:ietf:params:xml:ns:geopriv:held";
/// HELD device identity namespace (RFC 6155).
pub(crate) const NS_HELD_ID: &str = "urn:ietf:params:xml:ns:geopriv:held:id";
/// HELD flow identity namespace (RFC 6915).
pub(crate) const NS_HELD_FLOW: &str = "urn:ietf:params:xml:ns:geopriv:held:flow";

/// HELD routing information namespace (RFC 7840).
pub(crate) const NS_HELD_RI: &str = "urn:ietf:params:xml:ns:geopriv:held:ri";
/// GML namespace.
pub(crate) const NS_GML: &str = "http://www.opengis.net/gml";

/// Faults of the embedded ECRF and LIS.
#[derive(Debug, Clone, Default)]
pub(crate) struct LocFaults {
    /// ECRF.
    pub(crate) ecrf: EcrfFaults,
    /// LIS.
    pub(crate) lis: LisFaults,
}

impl LocFaults {
    /// A fault by name (`ecrf-…`, `lis-…`, as lmpe-locsvc names them); `None` if it is neither.
    pub(crate) fn by_name(name: &str) -> Option<Self> {
        if name.starts_with("ecrf-") {
            return EcrfFaults::from_name(name).ok().map(|ecrf| Self {
                ecrf,
                ..Self::default()
            });
        }
        if name.starts_with("lis-") {
            return LisFaults::from_name(name).ok().map(|lis| Self {
                lis,
                ..Self::default()
            });
        }
        None
    }

    /// Every name.
    pub(crate) fn names() -> Vec<&'static str> {
        EcrfFaults::NAMES
            .iter()
            .chain(LisFaults::NAMES.iter())
            .copied()
            .collect()
    }
}

/// The location services of a run: the ECRF and LIS on one HTTP server, and the second LoST
/// server of the forest (the ECRF leaves area C to it, `ecrf-c.lmpe.test`: RFC 5222 8.3.3).
#[derive(Debug)]
pub(crate) struct LocServers {
    /// ECRF (`/lost`) and LIS (`/held`, `/loc/…`).
    pub(crate) main: HttpServer,
    /// The ECRF of area C (`/lost`), named [`SAMPLE_FOREST_CHILD_SOURCE`].
    pub(crate) child: HttpServer,
}

/// Starts an ECRF and a LIS on one HTTP server at `listen` over the sample service areas, with
/// PSAP A's and PSAP B's URIs filled into the data, and the ECRF of area C at `child_listen`
/// (mapping to PSAP B), which the first one recurses to or redirects to. `faults` apply to
/// the first server; the child behaves.
pub(crate) async fn start_services(
    listen: SocketAddr,
    child_listen: SocketAddr,
    psap_a: &str,
    psap_b: &str,
    faults: &LocFaults,
) -> Result<LocServers, String> {
    let child_text =
        fill_template(SAMPLE_FOREST_CHILD, &[("PSAP_B", psap_b)]).map_err(|e| e.to_string())?;
    let child_areas = ServiceAreas::from_geojson(&child_text).map_err(|e| e.to_string())?;
    let child = serve(
        child_listen,
        LocServices {
            ecrf: Some(Ecrf::new(
                child_areas,
                EcrfConfig {
                    source: SAMPLE_FOREST_CHILD_SOURCE.into(),
                    ..EcrfConfig::default()
                },
            )),
            lis: None,
        },
    )
    .await
    .map_err(|e| format!("ECRF of area C on {child_listen}: {e}"))?;
    let text = fill_template(SAMPLE_AREAS, &[("PSAP_A", psap_a), ("PSAP_B", psap_b)])
        .map_err(|e| e.to_string())?;
    let areas = ServiceAreas::from_geojson(&text).map_err(|e| e.to_string())?;
    let table = LisTable::from_json(SAMPLE_LIS).map_err(|e| e.to_string())?;
    let mut cfg = EcrfConfig::default();
    cfg.peers
        .insert(SAMPLE_FOREST_CHILD_SOURCE.into(), child.url("/lost"));
    let mut ecrf = Ecrf::new(areas.clone(), cfg);
    ecrf.set_faults(faults.ecrf.clone());
    let mut lis = Lis::new(table, areas, LisConfig::default());
    lis.set_faults(faults.lis.clone());
    let main = serve(
        listen,
        LocServices {
            ecrf: Some(ecrf),
            lis: Some(lis),
        },
    )
    .await
    .map_err(|e| format!("ECRF/LIS on {listen}: {e}"))?;
    Ok(LocServers { main, child })
}

/// The harness's ECRF and LIS for a real ESRP (`[ecrf] listen` of a target; `None` without
/// it): area A maps to `psap_a`, area B to `[ecrf] psap_b_listen`, and area C is left to the
/// second server at `[ecrf] redirect_listen` (any free port without it).
pub(crate) async fn start_for_target(
    e: &crate::target::EcrfTarget,
    psap_a: &str,
) -> Option<Result<LocServers, String>> {
    let listen = e.listen?;
    let psap_b = e
        .psap_b_listen
        .map(|b| format!("sip:psap-b@{b}"))
        .unwrap_or_else(|| "sip:psap-b@127.0.0.1:9".into());
    let child = e
        .redirect_listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    Some(
        start_services(listen, child, psap_a, &psap_b, &LocFaults::default())
            .await
            .map_err(|err| format!("the harness ECRF on {listen}: {err}")),
    )
}

/// The name → URL table a LoST client of these servers resolves redirect targets with.
pub(crate) fn lost_servers(s: &LocServers) -> std::collections::BTreeMap<String, String> {
    let source = s
        .main
        .with_services(|l| l.ecrf.as_ref().map(|e| e.config().source.clone()))
        .unwrap_or_else(|| EcrfConfig::default().source);
    [
        (source, s.main.url("/lost")),
        (SAMPLE_FOREST_CHILD_SOURCE.to_string(), s.child.url("/lost")),
    ]
    .into_iter()
    .collect()
}

/// A HELD `locationRequest`: `kinds` (`any` or a list such as `geodetic civic`), `exact`, an
/// optional `responseTime`, device URI (RFC 6155) and RFC 7840 routing request for `service`.
pub(crate) fn held_request(
    kinds: &str,
    exact: bool,
    response_time: Option<&str>,
    device: Option<&str>,
    routing_for: Option<&str>,
) -> String {
    let rt = response_time
        .map(|r| format!(" responseTime=\"{r}\""))
        .unwrap_or_default();
    let dev = device
        .map(|d| format!("<device xmlns=\"{NS_HELD_ID}\"><uri>{d}</uri></device>"))
        .unwrap_or_default();
    let ri = routing_for
        .map(|s| format!("<requestRoutingInformation xmlns=\"{NS_HELD_RI}\" service=\"{s}\"/>"))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\"?>\n<locationRequest xmlns=\"{NS_HELD}\"{rt}><locationType exact=\"{exact}\">{kinds}</locationType>{dev}{ri}</locationRequest>\n"
    )
}

/// A HELD `locationRequest` for `kinds` (`any` or a list), not exact, in `emergencyRouting`
/// time, whose Target is named by `target` (an RFC 6155 `device` or RFC 6915 `flow` element).
pub(crate) fn held_request_for(kinds: &str, target: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<locationRequest xmlns=\"{NS_HELD}\" responseTime=\"emergencyRouting\"><locationType exact=\"false\">{kinds}</locationType>{target}</locationRequest>\n"
    )
}

/// An RFC 6155 `device` element with one `msisdn` (digits only, checked by the caller).
pub(crate) fn held_device_msisdn(msisdn: &str) -> String {
    format!("<device xmlns=\"{NS_HELD_ID}\"><msisdn>{msisdn}</msisdn></device>")
}

/// An RFC 6915 `flow` element: a TCP flow from `src` (the Target, `target` left at its
/// default `src`) port 49152 to 198.51.100.238 (or 2001:db8::238) port 443.
pub(crate) fn held_flow_from(src: std::net::IpAddr) -> String {
    let (layer3, dst) = match src {
        std::net::IpAddr::V4(_) => ("ipv4", "198.51.100.238"),
        std::net::IpAddr::V6(_) => ("ipv6", "2001:db8::238"),
    };
    format!(
        "<flow xmlns=\"{NS_HELD_FLOW}\" layer3=\"{layer3}\" layer4=\"tcp\"><src><address>{src}</address><port>49152</port></src><dst><address>{dst}</address><port>443</port></dst></flow>"
    )
}

/// A HELD `locationResponse` (a location URI set): a valid HELD document that is not a
/// request, for a LIS to refuse with `unsupportedMessage` (RFC 5985 5.1).
pub(crate) fn held_location_response() -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<locationResponse xmlns=\"{NS_HELD}\"><locationUriSet expires=\"2099-12-31T23:59:59Z\"><locationURI>https://lis.example.invalid/loc/0</locationURI></locationUriSet></locationResponse>\n"
    )
}

/// A LoST `findService` for `service` at a location in a profile no LoST server knows
/// (`urn:lmpe:unknown-profile`, its content in a foreign namespace): RFC 5222 12, 13.1
/// `locationProfileUnrecognized`.
pub(crate) fn find_service_unknown_profile(service: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<findService xmlns=\"urn:ietf:params:xml:ns:lost1\" serviceBoundary=\"reference\"><location id=\"loc1\" profile=\"urn:lmpe:unknown-profile\"><x:place xmlns:x=\"urn:lmpe:test:unknown-location\">somewhere</x:place></location><service>{service}</service></findService>\n"
    )
}

/// A LoST `findService` for the location objects (profile from the first object), typed.
pub(crate) fn find_service_query(
    objects: Vec<LocationObject>,
    service: &str,
    boundary: ServiceBoundaryMode,
    validate: bool,
) -> FindService {
    let profile = match objects.first() {
        Some(LocationObject::Civic(_)) => Some("civic".to_string()),
        Some(LocationObject::Geodetic { .. }) => Some("geodetic-2d".to_string()),
        _ => None,
    };
    FindService {
        locations: vec![Location {
            id: "loc1".into(),
            profile,
            objects,
        }],
        service: Some(service.to_string()),
        path: None,
        validate_location: validate,
        service_boundary: boundary,
        recursive: false,
        extensions: Vec::new(),
    }
}

/// A LoST `findService` for the location objects, typed and serialised by lmpe-location.
pub(crate) fn find_service(
    objects: Vec<LocationObject>,
    service: &str,
    boundary: ServiceBoundaryMode,
    validate: bool,
) -> String {
    LostMessage::FindService(find_service_query(objects, service, boundary, validate)).to_xml()
}

/// A `findService` for a WGS 84 point.
pub(crate) fn find_service_point(lat: f64, lon: f64, service: &str, boundary: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<findService xmlns=\"urn:ietf:params:xml:ns:lost1\" serviceBoundary=\"{boundary}\"><location id=\"loc1\" profile=\"geodetic-2d\"><gml:Point xmlns:gml=\"{NS_GML}\" srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>{lat} {lon}</gml:pos></gml:Point></location><service>{service}</service></findService>\n"
    )
}

/// The location objects of a PIDF-LO (tuples, then dm:device, then dm:person).
pub(crate) fn objects_of(p: &Presence) -> Vec<LocationObject> {
    p.tuples
        .iter()
        .flat_map(|t| t.geopriv.iter())
        .chain(p.devices.iter().flat_map(|d| d.geopriv.iter()))
        .chain(p.persons.iter().flat_map(|d| d.geopriv.iter()))
        .flat_map(|g| g.location_info.objects.iter().cloned())
        .filter(|o| !matches!(o, LocationObject::Other(_)))
        .collect()
}

/// A geodetic shape reduced to its first position (a point), for the fault `esrp-points-only`.
fn first_point(o: LocationObject) -> LocationObject {
    match o {
        LocationObject::Geodetic {
            shape,
            in_gml_location,
        } => match shape.shape.positions().first() {
            Some(pos) => LocationObject::Geodetic {
                shape: pidf::GeoShape::new(pidf::Shape::Point { pos: *pos }),
                in_gml_location,
            },
            None => LocationObject::Geodetic {
                shape,
                in_gml_location,
            },
        },
        other => other,
    }
}

/// Where the ESRP glue sends its queries.
#[derive(Debug, Clone)]
pub(crate) struct LookupTargets {
    /// The ECRF's LoST URL (`None`: route by LIS routing information, RFC 7840).
    pub(crate) ecrf: Option<String>,
    /// The LIS's HELD URL (for RFC 7840 routing requests by identity).
    pub(crate) lis: Option<String>,
    /// Budget of each HTTP exchange.
    pub(crate) timeout: Duration,
    /// Fault `esrp-points-only`: every shape is reduced to its first position before the
    /// findService.
    pub(crate) points_only: bool,
    /// LoST servers a `<redirect>` may name, by application unique string, with their URLs
    /// (what U-NAPTR resolution, RFC 5222 4, gives a deployed ESRP).
    pub(crate) lost_servers: std::collections::BTreeMap<String, String>,
    /// Fault `esrp-ignores-redirect`: a `<redirect>` is a failed lookup.
    pub(crate) ignores_redirect: bool,
    /// Fault `esrp-redirect-loops`: no loop check on redirects, up to 50 of them.
    pub(crate) redirect_loops: bool,
}

/// Performs one lookup: dereference if needed, then LoST findService, or an RFC 7840 routing
/// request at the LIS when no ECRF is configured.
pub(crate) async fn resolve(
    client: &LocClient,
    targets: &LookupTargets,
    req: &LookupRequest,
) -> Result<RouteDecision, LookupError> {
    let failed = |why: String| LookupError::Failed(why);
    let Some(ecrf) = &targets.ecrf else {
        let Some(lis) = &targets.lis else {
            return Err(failed("neither an ECRF nor a LIS is configured".into()));
        };
        let body = held_request(
            "locationURI",
            false,
            Some("emergencyRouting"),
            req.identity.as_deref(),
            Some(&req.service),
        );
        let r = client
            .post(lis, MIME_HELD, body.into_bytes(), targets.timeout)
            .await
            .map_err(|e| failed(e.to_string()))?;
        return match held::parse(&r.body) {
            Ok(HeldMessage::LocationResponse(lr)) => lr
                .routing_information
                .and_then(|ri| {
                    ri.services
                        .into_iter()
                        .find(|s| req.service.starts_with(&s.service_uri) || s.default_route)
                })
                .and_then(|s| s.dests.into_iter().find(|d| d.starts_with("sip")))
                .map(|uri| RouteDecision { uri })
                .ok_or_else(|| failed("the LIS gave no RFC 7840 routing information".into())),
            Ok(HeldMessage::Error(e)) => Err(failed(format!("LIS: {}", e.code.as_str()))),
            Ok(other) => Err(failed(format!("LIS answered {other:?}"))),
            Err(e) => Err(failed(format!("LIS answer: {e}"))),
        };
    };
    let pidf_text = match &req.location {
        PidfOrUri::Pidf(p) => p.clone(),
        PidfOrUri::Uri(u) => {
            let body = held_request("any", false, Some("emergencyRouting"), None, None);
            let r = client
                .post(u, MIME_HELD, body.into_bytes(), targets.timeout)
                .await
                .map_err(|e| failed(format!("dereference: {e}")))?;
            match held::parse(&r.body) {
                Ok(HeldMessage::LocationResponse(lr)) => match lr.presence {
                    Some(p) => p.to_xml(),
                    None => return Err(failed("dereference gave no PIDF-LO".into())),
                },
                Ok(HeldMessage::Error(e)) => {
                    return Err(failed(format!("dereference: {}", e.code.as_str())))
                }
                Ok(_) => return Err(failed("dereference: not a locationResponse".into())),
                Err(e) => return Err(failed(format!("dereference answer: {e}"))),
            }
        }
    };
    let presence = pidf::parse(&pidf_text).map_err(|e| failed(format!("PIDF-LO: {e}")))?;
    let mut objects = objects_of(&presence);
    if targets.points_only {
        objects = objects.into_iter().map(first_point).collect();
    }
    if objects.is_empty() {
        return Err(failed("the PIDF-LO holds no location".into()));
    }
    lost_route(client, targets, ecrf, objects, &req.service).await
}

/// Most redirects the reference ESRP follows for one lookup (RFC 5222 leaves the bound to the
/// client; a loop is also caught by the path).
pub(crate) const MAX_REDIRECTS: usize = 3;

/// LoST findService at `ecrf`, following `<redirect>` answers (RFC 5222 8.3.3, 13.3) to the
/// servers [`LookupTargets::lost_servers`] names: each further query carries in its `<path>`
/// every server already contacted (RFC 5222 6), and a redirect to one of them is a loop.
async fn lost_route(
    client: &LocClient,
    targets: &LookupTargets,
    ecrf: &str,
    objects: Vec<LocationObject>,
    service: &str,
) -> Result<RouteDecision, LookupError> {
    let failed = |why: String| LookupError::Failed(why);
    let mut query = find_service_query(objects, service, ServiceBoundaryMode::Reference, false);
    let mut url = ecrf.to_owned();
    let mut contacted: Vec<String> = Vec::new();
    let max = if targets.redirect_loops {
        50
    } else {
        MAX_REDIRECTS
    };
    for _ in 0..=max {
        let body = LostMessage::FindService(query.clone()).to_xml();
        let r = client
            .post(&url, MIME_LOST, body.into_bytes(), targets.timeout)
            .await
            .map_err(|e| failed(e.to_string()))?;
        if r.status != 200 {
            return Err(failed(format!("ECRF answered HTTP {}", r.status)));
        }
        match lost::parse(&r.body) {
            Ok(LostMessage::FindServiceResponse(f)) => {
                return f
                    .mappings
                    .iter()
                    .flat_map(|m| m.uris.iter())
                    .find(|u| u.starts_with("sip:") || u.starts_with("sips:"))
                    .map(|uri| RouteDecision { uri: uri.clone() })
                    .ok_or_else(|| failed("the ECRF's mapping has no SIP URI".into()))
            }
            Ok(LostMessage::Errors(e)) => {
                let kinds: Vec<String> = e
                    .exceptions
                    .iter()
                    .map(|x| format!("{:?}", x.kind))
                    .collect();
                return if e
                    .exceptions
                    .iter()
                    .any(|x| x.kind == ExceptionKind::NotFound)
                {
                    Err(LookupError::NotFound(kinds.join(", ")))
                } else {
                    Err(failed(format!("ECRF errors: {}", kinds.join(", "))))
                };
            }
            Ok(LostMessage::Redirect(rd)) => {
                if targets.ignores_redirect {
                    return Err(failed(format!(
                        "the ECRF redirected to {} (not followed)",
                        rd.target
                    )));
                }
                if !contacted.contains(&rd.source) {
                    contacted.push(rd.source.clone());
                }
                if !targets.redirect_loops && contacted.contains(&rd.target) {
                    return Err(failed(format!(
                        "LoST redirect loop: {} redirects to {}, already asked (path {})",
                        rd.source,
                        rd.target,
                        contacted.join(" > ")
                    )));
                }
                let Some(next) = targets.lost_servers.get(&rd.target) else {
                    return Err(failed(format!(
                        "the ECRF redirected to {}, a LoST server this ESRP cannot resolve",
                        rd.target
                    )));
                };
                url = next.clone();
                query.path = Some(lost::Path {
                    vias: contacted.clone(),
                });
            }
            Ok(_) => return Err(failed("the ECRF answered with another LoST message".into())),
            Err(e) => return Err(failed(format!("ECRF answer: {e}"))),
        }
    }
    Err(failed(format!(
        "more than {max} LoST redirects (path {})",
        contacted.join(" > ")
    )))
}

/// Drives the ESRP's lookups until the ESRP stops; every HTTP message goes into `client`'s log.
pub(crate) async fn spawn_glue(
    esrp: EndpointHandle<Proxy>,
    targets: LookupTargets,
    client: LocClient,
) -> Result<JoinHandle<()>, String> {
    let notify = Arc::new(Notify::new());
    let n = notify.clone();
    esrp.with(move |p, _| {
        p.set_lookup_waker(Some(Box::new(move || n.notify_one())));
    })
    .await
    .map_err(|e| e.to_string())?;
    Ok(tokio::spawn(async move {
        loop {
            notify.notified().await;
            let Ok(lookups) = esrp
                .with(|p, _| std::iter::from_fn(|| p.poll_lookup()).collect::<Vec<_>>())
                .await
            else {
                return;
            };
            for l in lookups {
                let (esrp, client, targets) = (esrp.clone(), client.clone(), targets.clone());
                tokio::spawn(async move {
                    let result = resolve(&client, &targets, &l).await;
                    let _ = esrp
                        .with(move |p, now| p.lookup_done(now, l.id, result))
                        .await;
                });
            }
        }
    }))
}

/// The client log for the ESRP's queries.
pub(crate) fn esrp_client() -> LocClient {
    LocClient::new(HttpLog::default(), "ESRP lookup")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requests_the_harness_sends_are_valid_held_and_lost() {
        let r = held_request(
            "geodetic locationURI",
            true,
            Some("emergencyRouting"),
            Some("sip:app-a@127.0.0.1"),
            Some("urn:service:sos"),
        );
        let Ok(HeldMessage::LocationRequest(lr)) = held::parse(&r) else {
            panic!("not a locationRequest: {r}")
        };
        assert!(lr.device.is_some() && lr.request_routing_information.is_some());
        assert!(lr.location_type.is_some_and(|t| t.exact));
        let q = find_service_point(48.2, 16.2, "urn:service:sos", "value");
        let Ok(LostMessage::FindService(fs)) = lost::parse(&q) else {
            panic!("not a findService: {q}")
        };
        assert_eq!(fs.service_boundary, ServiceBoundaryMode::Value);
        let pidf = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:gp=\"urn:ietf:params:xml:ns:pidf:geopriv10\" xmlns:gml=\"http://www.opengis.net/gml\" entity=\"pres:a@b\"><tuple id=\"t\"><status><gp:geopriv><gp:location-info><gml:Point srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>48.2 16.6</gml:pos></gml:Point></gp:location-info><gp:usage-rules/></gp:geopriv></status></tuple></presence>";
        let objects = objects_of(&pidf::parse(pidf).unwrap_or_default());
        assert_eq!(objects.len(), 1);
        let q = find_service(
            objects,
            "urn:service:sos.fire",
            ServiceBoundaryMode::Reference,
            false,
        );
        let Ok(LostMessage::FindService(fs)) = lost::parse(&q) else {
            panic!("not a findService: {q}")
        };
        assert_eq!(fs.service.as_deref(), Some("urn:service:sos.fire"));
        assert_eq!(fs.locations[0].profile.as_deref(), Some("geodetic-2d"));
    }

    #[test]
    fn every_locsvc_fault_name_is_known_and_others_are_not() {
        for n in LocFaults::names() {
            assert!(LocFaults::by_name(n).is_some(), "{n}");
        }
        assert!(LocFaults::by_name("ecrf-slow:2").is_some());
        assert!(LocFaults::by_name("esrp-no-history-info").is_none());
        assert!(LocFaults::by_name("ecrf-bogus").is_none());
    }
}
