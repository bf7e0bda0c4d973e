//! Location-based routing for the ESRP, sans-IO: the proxy parks an emergency request, emits a
//! [`LookupRequest`] (the service URN and the location the request carries) and resumes when
//! the driver reports the outcome with [`super::Proxy::lookup_done`]. The driver performs the
//! LoST findService (RFC 5222) with the PIDF-LO by value, dereferences a location URI first
//! (HELD, RFC 6753), or asks a LIS for routing information (RFC 7840) when no ECRF is
//! configured.
//!
//! Outcomes (documented behaviour of the reference ESRP):
//!
//! | outcome | SIP answer |
//! |---|---|
//! | a PSAP URI | the request is retargeted there (History-Info + Reason, 6.1.2.6) |
//! | [`LookupError::NotFound`] (LoST `notFound`: no PSAP serves the location) | `404 Not Found` |
//! | [`LookupError::Failed`] (ECRF/LIS unreachable, HTTP error, not XML, other LoST error) or no answer within [`LocationRouting::timeout`] | the static route as a default route when [`LocationRouting::default_route`] is set, else [`LocationRouting::failure_status`] (default `500`: TS 103 698 6.1.2.9 reserves 503 for overload, so an ECRF failure is not reported as 503 unless configured) |
//! | the request carries no location | the static route (the default route), else `404` |
//! | more than [`LocationRouting::max_pending`] requests waiting | [`LocationRouting::failure_status`] at once |

use std::time::{Duration, Instant};

use lmpe_proto::endpoint::Incoming;
use lmpe_wire::headers::{Geolocation, LocationUriKind};
use lmpe_wire::multipart::Multipart;
use lmpe_wire::sip::SipMessage;

/// Settings of location-based routing (an ESRP with an ECRF and/or a LIS).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationRouting {
    /// Use the static route (`ProxyConfig::routes`) when the lookup fails (not for
    /// `notFound`, which is an answer).
    pub default_route: bool,
    /// SIP status for a failed lookup without a default route (default 500; never 503 unless
    /// configured so, TS 103 698 6.1.2.9).
    pub failure_status: u16,
    /// How long a request waits for its lookup.
    pub timeout: Duration,
    /// Most requests waiting for a lookup at once.
    pub max_pending: usize,
}

impl Default for LocationRouting {
    fn default() -> Self {
        Self {
            default_route: false,
            failure_status: 500,
            timeout: Duration::from_secs(2),
            max_pending: 256,
        }
    }
}

/// Where the location of a request is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidfOrUri {
    /// A PIDF-LO document by value (the body part a `cid:` Geolocation names).
    Pidf(String),
    /// A location URI (`http:`/`https:`) to dereference (HELD, RFC 6753).
    Uri(String),
}

/// A lookup the driver should perform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupRequest {
    /// Identifies the parked request in [`super::Proxy::lookup_done`].
    pub id: u64,
    /// The service URN (the Request-URI), e.g. `urn:service:sos.fire`.
    pub service: String,
    /// The location.
    pub location: PidfOrUri,
    /// The caller's identity (P-Asserted-Identity, else From URI) for a LIS request by
    /// device identity.
    pub identity: Option<String>,
}

/// The outcome of a successful lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecision {
    /// The PSAP URI (e.g. `sip:psap@127.0.0.1:5070`); its host and port are the next hop.
    pub uri: String,
}

/// Why a lookup gave no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The ECRF answered `notFound` (no PSAP for this location and service).
    NotFound(String),
    /// The ECRF or LIS failed: unreachable, HTTP error, not XML, another LoST/HELD error.
    Failed(String),
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::NotFound(why) => write!(f, "ECRF notFound: {why}"),
            LookupError::Failed(why) => write!(f, "lookup failed: {why}"),
        }
    }
}

/// A request waiting for its lookup.
#[derive(Debug)]
pub(super) struct Parked {
    pub(super) req: SipMessage,
    pub(super) input: Incoming,
    pub(super) deadline: Instant,
}

/// The location a request carries: the first `cid:` Geolocation value whose body part is a
/// PIDF-LO, else the first `http(s):` location URI; `Err` with the reason when there is none.
pub(super) fn location_of(req: &SipMessage) -> Result<PidfOrUri, String> {
    let geo = match Geolocation::from_message(req) {
        Ok(Some(g)) => g,
        Ok(None) => return Err("no Geolocation header".into()),
        Err(e) => return Err(format!("Geolocation is malformed: {e}")),
    };
    let ct = req.content_type().unwrap_or_default().to_string();
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    for v in &geo.values {
        match v.kind() {
            LocationUriKind::Cid => {
                let Some(cid) = v.content_id() else { continue };
                if essence.starts_with("multipart/") {
                    if let Ok(m) = Multipart::parse(&ct, &req.body) {
                        if let Some(p) = m
                            .parts
                            .iter()
                            .find(|p| p.content_id().is_some_and(|c| c.eq_ignore_ascii_case(cid)))
                        {
                            return Ok(PidfOrUri::Pidf(
                                String::from_utf8_lossy(&p.body).into_owned(),
                            ));
                        }
                    }
                } else if essence == "application/pidf+xml" {
                    return Ok(PidfOrUri::Pidf(
                        String::from_utf8_lossy(&req.body).into_owned(),
                    ));
                }
            }
            LocationUriKind::Http | LocationUriKind::Https => {
                return Ok(PidfOrUri::Uri(v.uri.clone()))
            }
            _ => {}
        }
    }
    Err("no Geolocation value names a PIDF-LO body part or an HTTP location URI".into())
}
