//! A stateless SIP proxy (RFC 3261 16.11) with the policy of a BCF or an ESRP.
//!
//! * BCF (5.1): the public entry point. Polices Resource-Priority on emergency requests
//!   (6.1.2.5: marked with the provisioned value, default `esnet.1`; see
//!   [`ProxyConfig::provisioned_priority`]), forwards service URNs to the ESRP, maps its public
//!   URIs (the PSAP's Reply-To, NOTE 2 of 6.2.2) to internal elements, and forwards
//!   PSAP-originated requests out to the APP.
//! * ESRP (5.2): routes `urn:service:sos` and its sub-services by location when
//!   [`Proxy::set_location_routing`] is on (LoST via the driver: [`Proxy::poll_lookup`],
//!   [`Proxy::lookup_done`]; see [`lookup`] for the outcomes and SIP answers), else or as the
//!   default route by a static table, retargeting the Request-URI and adding History-Info with a
//!   Reason (6.1.2.6).
//!
//! Call-Info, bodies and every header it does not own pass untouched (6.1.2.7, 6.1.2.8). The
//! headers a proxy owns are: its own Via on top, `received`/`rport` on the previous Via
//! (RFC 3261 18.2.1, RFC 3581), Max-Forwards, History-Info entries it appends (ESRP),
//! Resource-Priority on emergency requests (BCF), and Content-Length only when a datagram without
//! one has to go out over a stream transport (RFC 3261 18.3).
//!
//! Request processing follows RFC 3261 16.3: syntax (400), URI scheme (416), Max-Forwards (483),
//! Proxy-Require (420), then routing (404). The proxy never answers 503 (6.1.2.9) and never
//! answers an ACK (RFC 3261 17): an ACK it cannot forward is dropped. Every input is counted
//! exactly once in [`ProxyStats`].

pub mod lookup;

use std::collections::hash_map::DefaultHasher;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lmpe_proto::endpoint::{Endpoint, Incoming, Transmit, TransportKind};
use lmpe_proto::roles::{WireLog, WireRecord};
use lmpe_proto::ua::UDP_SIZE_LIMIT;
use lmpe_wire::headers::{HiEntry, HiIndex, HistoryInfo, Reason};
use lmpe_wire::sip::{
    canonical_name, reason_phrase, split_list, Header, Method, NameAddr, ResponseBuilder,
    RsipParser, Severity, SipMessage, SipParser, StartLine, Via,
};

pub use lookup::{LocationRouting, LookupError, LookupRequest, PidfOrUri, RouteDecision};

/// Which policy the proxy applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyRole {
    /// Border Control Function.
    Bcf,
    /// Emergency Service Routing Proxy.
    Esrp,
}

/// A static route for a service URN (and its sub-services).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Service URN prefix, e.g. `urn:service:sos` (also matches `urn:service:sos.police`).
    pub service: String,
    /// New Request-URI (ESRP retargeting to a PSAP), or `None` to forward unchanged (BCF).
    pub target: Option<String>,
    /// Next hop.
    pub next_hop: SocketAddr,
}

/// Configuration of a proxy.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Element name (logs, History-Info reason text).
    pub name: String,
    /// BCF or ESRP.
    pub role: ProxyRole,
    /// Our address (set by the driver after binding).
    pub local: SocketAddr,
    /// Service routes, longest prefix wins.
    pub routes: Vec<Route>,
    /// Users of our own host that map to internal elements (BCF: the PSAP's public URI).
    pub user_map: Vec<(String, SocketAddr)>,
    /// BCF: the provisioned Resource-Priority for emergency requests (6.1.2.5).
    ///
    /// Policing replaces *every* Resource-Priority value of a request for `urn:service:sos` or
    /// a sub-service with exactly this one, including a valid `esnet` value the request already
    /// carries. 6.1.2.5 says BCFs "shall police Resource Priority for incoming SIP calls" and
    /// that calls that appear to be emergency calls "shall be marked with a provisioned Resource
    /// Priority": the mark is the BCF's provisioning, not the caller's claim. The other `esnet`
    /// levels of Table 3 are assigned inside the ESInet (`esnet.0` for PSAP callbacks during an
    /// incident, `esnet.2` for critical incident-related calls), so an external caller cannot
    /// legitimately present them, and foreign namespaces mean nothing to ESInet queues. For the
    /// same reason a malformed incoming Resource-Priority does not make the BCF answer 400: it
    /// is replaced, and the emergency call proceeds. Requests that are not emergency service
    /// URNs (PSAP callbacks leaving through the BCF, chat messages to a mapped public URI) are
    /// not marked and keep what they carry ("Callbacks outside of an incident are not marked").
    pub provisioned_priority: Option<String>,
    /// Transport towards the next hop.
    pub transport: TransportKind,
    /// Deliberate deviations, to prove the routing checks fail against a broken element.
    pub faults: ProxyFaults,
}

/// Deliberate deviations of a BCF or ESRP from TS 103 698 ("broken peer").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyFaults {
    /// 6.1.2.6: retarget without adding History-Info.
    pub no_history_info: bool,
    /// 6.1.2.7: drop Call-Info header fields when forwarding.
    pub drop_call_info: bool,
    /// 6.1.2.8: keep only the first part of a multipart body.
    pub strip_body_parts: bool,
    /// 6.1.2.5: forward Resource-Priority unpoliced.
    pub no_priority_policing: bool,
    /// 6.1.2.9: answer 503 where it would answer 404 (no route).
    pub busy_503: bool,
    /// Robustness: crash (panic) on the first emergency request, like a SUT that dies.
    pub crash: bool,
    /// 6.1.1: send requests for a UA that connected over TCP/TLS on a new hop (UDP to its
    /// URI) instead of over its connection.
    pub no_flow_reuse: bool,
    /// 6.1.1: drop UDP datagrams larger than an Ethernet MTU (1500 bytes), as an element that
    /// does not support fragmentation and reassembly.
    pub drop_large_udp: bool,
    /// 6.1.2.5: serve the waiting queue in arrival order instead of priority order.
    pub fifo: bool,
    /// RFC 6881 / RFC 5222: route by the static table, ignoring the location (no lookup).
    pub ignore_location: bool,
    /// 6.1.2.9: answer 503 when the ECRF lookup fails.
    pub lookup_failure_503: bool,
    /// Robustness: wait for an ECRF answer forever (no lookup timeout).
    pub no_lookup_timeout: bool,
}

impl ProxyFaults {
    /// Fault names for the BCF (`bcf-…`) and the ESRP (`esrp-…`).
    pub const NAMES: [&'static str; 12] = [
        "bcf-fifo",
        "bcf-drops-large-udp",
        "bcf-no-flow-reuse",
        "bcf-crash",
        "bcf-no-priority-policing",
        "bcf-busy-503",
        "esrp-no-history-info",
        "esrp-drops-call-info",
        "esrp-strips-body-parts",
        "esrp-ignores-location",
        "esrp-lookup-failure-503",
        "esrp-no-lookup-timeout",
    ];

    /// The element (`"bcf"` or `"esrp"`) and fault for a name.
    pub fn by_name(name: &str) -> Option<(&'static str, Self)> {
        let mut f = Self::default();
        let element = match name {
            "bcf-no-priority-policing" => {
                f.no_priority_policing = true;
                "bcf"
            }
            "bcf-crash" => {
                f.crash = true;
                "bcf"
            }
            "bcf-busy-503" => {
                f.busy_503 = true;
                "bcf"
            }
            "bcf-no-flow-reuse" => {
                f.no_flow_reuse = true;
                "bcf"
            }
            "bcf-drops-large-udp" => {
                f.drop_large_udp = true;
                "bcf"
            }
            "bcf-fifo" => {
                f.fifo = true;
                "bcf"
            }
            "esrp-no-history-info" => {
                f.no_history_info = true;
                "esrp"
            }
            "esrp-drops-call-info" => {
                f.drop_call_info = true;
                "esrp"
            }
            "esrp-strips-body-parts" => {
                f.strip_body_parts = true;
                "esrp"
            }
            "esrp-ignores-location" => {
                f.ignore_location = true;
                "esrp"
            }
            "esrp-lookup-failure-503" => {
                f.lookup_failure_503 = true;
                "esrp"
            }
            "esrp-no-lookup-timeout" => {
                f.no_lookup_timeout = true;
                "esrp"
            }
            _ => return None,
        };
        Some((element, f))
    }
}

/// Counters. Every input is counted exactly once:
/// `received == requests_forwarded + responses_forwarded + rejected + dropped`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Messages fed to the proxy.
    pub received: u64,
    /// Requests forwarded.
    pub requests_forwarded: u64,
    /// Responses forwarded.
    pub responses_forwarded: u64,
    /// Requests answered by the proxy itself (errors).
    pub rejected: u64,
    /// Messages dropped (unparseable, responses not for us or not routable, ACKs that cannot
    /// be forwarded).
    pub dropped: u64,
}

/// The proxy endpoint.
#[derive(Debug)]
pub struct Proxy {
    cfg: ProxyConfig,
    parser: RsipParser,
    transmits: VecDeque<Transmit>,
    wire: WireLog,
    stats: ProxyStats,
    notes: Vec<String>,
    /// BCF: the connection each UA in front of it last sent a request on (TCP or TLS), by
    /// its address of record (P-A-I, else From), so requests for it reuse the connection
    /// (6.1.1: one TLS connection for all messages of a chat).
    flows: HashMap<String, (TransportKind, SocketAddr)>,
    /// A simulated service capacity: one request per interval (`None`: as fast as inputs
    /// come). Requests waiting for service queue in priority order (6.1.2.5).
    service_interval: Option<Duration>,
    /// When the next queued request can be served.
    next_service: Option<Instant>,
    /// Requests waiting for service: highest priority first, then arrival order.
    queue: BinaryHeap<Queued>,
    /// Arrival counter (FIFO tie-break).
    arrivals: u64,
    /// Location-based routing (`None`: static routes only).
    location: Option<LocationRouting>,
    /// Lookups for the driver to perform.
    lookups: VecDeque<LookupRequest>,
    /// Requests waiting for their lookup, by lookup id.
    parked: HashMap<u64, lookup::Parked>,
    /// Lookup id counter.
    next_lookup: u64,
    /// Called when a lookup is queued (the driver's wake-up).
    lookup_waker: Waker,
}

/// A callback that wakes the driver of lookups.
#[derive(Default)]
struct Waker(Option<Box<dyn Fn() + Send>>);

impl std::fmt::Debug for Waker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Waker(set)"
        } else {
            "Waker(none)"
        })
    }
}

/// A request waiting for service.
#[derive(Debug)]
struct Queued {
    priority: u8,
    seq: u64,
    req: SipMessage,
    input: Incoming,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.priority, self.seq) == (other.priority, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    /// Higher priority first; among equals, the earlier arrival.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.priority
            .cmp(&other.priority)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// Service priority of a Resource-Priority value in the `esnet` namespace (RFC 7135; TS
/// 103 698 Table 3: esnet.2 critical > esnet.1 emergency > esnet.0 not critical); unmarked and
/// other namespaces rank lowest.
fn esnet_rank(value: &str) -> u8 {
    value
        .split(',')
        .filter_map(|v| {
            v.trim()
                .to_ascii_lowercase()
                .strip_prefix("esnet.")?
                .parse::<u8>()
                .ok()
        })
        .map(|n| n.saturating_add(1))
        .max()
        .unwrap_or(0)
}

/// `user@host:port` of a SIP URI (scheme and parameters dropped, host lower-cased): the key
/// that matches a UA's From URI with the Request-URI of requests sent back to it.
fn aor_key(uri: &str) -> Option<String> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))?;
    let rest = rest.split([';', '?', '>']).next()?;
    Some(rest.to_ascii_lowercase())
}

impl Proxy {
    /// A proxy.
    pub fn new(cfg: ProxyConfig) -> Self {
        Self {
            cfg,
            parser: RsipParser::default(),
            transmits: VecDeque::new(),
            wire: WireLog::default(),
            stats: ProxyStats::default(),
            notes: Vec::new(),
            flows: HashMap::new(),
            service_interval: None,
            next_service: None,
            queue: BinaryHeap::new(),
            arrivals: 0,
            location: None,
            lookups: VecDeque::new(),
            parked: HashMap::new(),
            next_lookup: 0,
            lookup_waker: Waker::default(),
        }
    }

    /// Switches location-based routing on (ESRP; `None`: off). Emergency requests then wait
    /// for a lookup ([`Proxy::poll_lookup`], [`Proxy::lookup_done`]).
    pub fn set_location_routing(&mut self, routing: Option<LocationRouting>) {
        self.location = routing;
    }

    /// A callback run whenever a lookup is queued, so that a driver need not poll.
    pub fn set_lookup_waker(&mut self, waker: Option<Box<dyn Fn() + Send>>) {
        self.lookup_waker = Waker(waker);
    }

    /// The next lookup to perform, if any.
    pub fn poll_lookup(&mut self) -> Option<LookupRequest> {
        self.lookups.pop_front()
    }

    /// Requests waiting for a lookup now.
    pub fn pending_lookups(&self) -> usize {
        self.parked.len()
    }

    /// The outcome of lookup `id`; an unknown id (a late answer after the timeout) is ignored.
    pub fn lookup_done(
        &mut self,
        _now: Instant,
        id: u64,
        result: Result<RouteDecision, LookupError>,
    ) {
        let Some(p) = self.parked.remove(&id) else {
            self.notes.push(format!(
                "{}: late or unknown lookup {id} ignored",
                self.cfg.name
            ));
            return;
        };
        match result {
            Ok(d) => match uri_hop(&d.uri) {
                Some(hop) => {
                    let mut req = p.req;
                    let uri = req.request_uri().unwrap_or_default().to_string();
                    self.retarget_to(&mut req, &uri, &d.uri);
                    self.send_forward(req, &p.input, hop, None);
                }
                None => self.lookup_failed(
                    p,
                    &format!("the ECRF's URI {} is not sip:user@IP:port", d.uri),
                ),
            },
            Err(LookupError::NotFound(why)) => self.reject(
                &p.req,
                &p.input,
                404,
                &format!("ECRF: no PSAP for this location ({why})"),
            ),
            Err(LookupError::Failed(why)) => self.lookup_failed(p, &why),
        }
    }

    /// A lookup failed: the default route, or the configured failure status.
    fn lookup_failed(&mut self, p: lookup::Parked, why: &str) {
        let uri = p.req.request_uri().unwrap_or_default().to_string();
        let cfg = self.location.clone().unwrap_or_default();
        if cfg.default_route {
            if let Some(route) = self.route_for(&uri).cloned() {
                self.notes.push(format!(
                    "{}: {why}; default route to {}",
                    self.cfg.name, route.next_hop
                ));
                let mut req = p.req;
                if let Some(t) = &route.target {
                    self.retarget_to(&mut req, &uri, t);
                }
                return self.send_forward(req, &p.input, route.next_hop, None);
            }
        }
        let status = if self.cfg.faults.lookup_failure_503 {
            503
        } else {
            cfg.failure_status
        };
        self.reject_with(
            &p.req,
            &p.input,
            status,
            &format!("location-based routing failed: {why}"),
            Vec::new(),
        );
    }

    /// Whether this request is routed by location.
    fn routes_by_location(&self, uri: &str) -> bool {
        let lower = uri.to_ascii_lowercase();
        self.cfg.role == ProxyRole::Esrp
            && self.location.is_some()
            && !self.cfg.faults.ignore_location
            && (is_emergency_service(uri) || lower.starts_with("urn:service:test.sos"))
    }

    /// Parks a request and queues its lookup.
    fn park(&mut self, now: Instant, req: SipMessage, input: &Incoming, location: PidfOrUri) {
        let cfg = self.location.clone().unwrap_or_default();
        if self.parked.len() >= cfg.max_pending {
            let status = if self.cfg.faults.lookup_failure_503 {
                503
            } else {
                cfg.failure_status
            };
            return self.reject_with(
                &req,
                input,
                status,
                &format!("{} requests already wait for the ECRF", cfg.max_pending),
                Vec::new(),
            );
        }
        self.next_lookup += 1;
        let id = self.next_lookup;
        let identity = req
            .header("P-Asserted-Identity")
            .or_else(|| req.header("From"))
            .and_then(|v| NameAddr::parse("From", v).ok())
            .map(|na| na.uri);
        self.lookups.push_back(LookupRequest {
            id,
            service: req.request_uri().unwrap_or_default().to_string(),
            location,
            identity,
        });
        let deadline = if self.cfg.faults.no_lookup_timeout {
            now + Duration::from_secs(86_400 * 365)
        } else {
            now + cfg.timeout
        };
        self.parked.insert(
            id,
            lookup::Parked {
                req,
                input: input.clone(),
                deadline,
            },
        );
        if let Some(w) = &self.lookup_waker.0 {
            w();
        }
    }

    /// Expires lookups whose time is up.
    fn expire_lookups(&mut self, now: Instant) {
        let due: Vec<u64> = self
            .parked
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            if let Some(p) = self.parked.remove(&id) {
                let ms = self.location.as_ref().map_or(0, |l| l.timeout.as_millis());
                self.lookup_failed(p, &format!("no ECRF answer within {ms} ms"));
            }
        }
    }

    /// Sets the Request-URI to `target`, with History-Info unless the fault says otherwise.
    fn retarget_to(&self, req: &mut SipMessage, uri: &str, target: &str) {
        if self.cfg.faults.no_history_info {
            if let StartLine::Request { uri, .. } = &mut req.start {
                *uri = target.to_string();
            }
        } else {
            retarget(req, uri, target, &self.cfg.name);
        }
    }

    /// Gives the proxy a finite capacity: it serves one request per `interval`; requests
    /// arriving meanwhile wait in a queue served in Resource-Priority order (6.1.2.5).
    pub fn set_capacity(&mut self, interval: Option<Duration>) {
        self.service_interval = interval;
    }

    /// Requests waiting for service now.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The priority a request is served with: the provisioned value for an emergency call
    /// the BCF polices, else its own Resource-Priority.
    fn priority_of(&self, req: &SipMessage) -> u8 {
        if self.cfg.faults.fifo {
            return 0;
        }
        let uri = req.request_uri().unwrap_or_default();
        if self.polices(uri) && !self.cfg.faults.no_priority_policing {
            if let Some(p) = &self.cfg.provisioned_priority {
                return esnet_rank(p);
            }
        }
        req.header_values("Resource-Priority")
            .map(esnet_rank)
            .max()
            .unwrap_or(0)
    }

    /// Serves queued requests whose turn has come.
    fn serve(&mut self, now: Instant) {
        let Some(interval) = self.service_interval else {
            return;
        };
        while self.next_service.is_none_or(|t| t <= now) {
            let Some(q) = self.queue.pop() else {
                return;
            };
            self.on_request(now, q.req, &q.input);
            let base = match (self.next_service, now.checked_sub(interval)) {
                (Some(t), Some(floor)) => t.max(floor),
                _ => now,
            };
            self.next_service = Some(base + interval);
        }
    }

    /// The configuration (mutable, to wire elements together after binding).
    pub fn config_mut(&mut self) -> &mut ProxyConfig {
        &mut self.cfg
    }
    /// Counters.
    pub fn stats(&self) -> ProxyStats {
        self.stats
    }
    /// Takes the recorded wire messages.
    pub fn take_wire(&mut self) -> Vec<WireRecord> {
        self.wire.take()
    }
    /// Takes diagnostic notes (why something was dropped or rejected).
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }
    /// Stops recording wire messages (load runs).
    pub fn set_recording(&mut self, on: bool) {
        self.wire.set_enabled(on);
    }

    fn send(&mut self, transport: TransportKind, remote: SocketAddr, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit {
            transport,
            remote,
            bytes: Arc::from(bytes),
        });
    }

    fn drop_request(&mut self, req: &SipMessage, why: &str) {
        self.stats.dropped += 1;
        self.notes.push(format!(
            "{}: {} dropped: {why}",
            self.cfg.name,
            req.summary()
        ));
    }

    fn reject(&mut self, req: &SipMessage, input: &Incoming, status: u16, why: &str) {
        let status = if status == 404 && self.cfg.faults.busy_503 {
            503
        } else {
            status
        };
        self.reject_with(req, input, status, why, Vec::new());
    }

    /// Answers a request with an error (never 503, 6.1.2.9, unless the `busy_503` fault asks
    /// for it), or drops it if it is an ACK.
    fn reject_with(
        &mut self,
        req: &SipMessage,
        input: &Incoming,
        status: u16,
        why: &str,
        extra: Vec<Header>,
    ) {
        debug_assert!(
            status != 503
                || self.cfg.faults.busy_503
                || self.cfg.faults.lookup_failure_503
                || self
                    .location
                    .as_ref()
                    .is_some_and(|l| l.failure_status == 503),
            "6.1.2.9"
        );
        if req.method() == Some(Method::Ack) {
            // RFC 3261 17: an ACK is never answered.
            return self.drop_request(req, &format!("would be {status}: {why}"));
        }
        self.stats.rejected += 1;
        self.notes.push(format!(
            "{}: {} -> {status}: {why}",
            self.cfg.name,
            req.summary()
        ));
        // RFC 3261 18.2.1 / RFC 3581 4: the response carries received (and the rport value).
        let mut req = req.clone();
        let top = req.top_via().ok();
        if let Some(mut v) = top.clone() {
            mark_received(&mut v, input.remote);
            replace_top_via(&mut req, &v.to_string());
        }
        let mut resp =
            ResponseBuilder::for_request(&req, status, reason_phrase(status), Some(&self.cfg.name))
                .header(
                    "Warning",
                    format!(
                        "399 {} \"{}\"",
                        self.cfg.name,
                        why.replace(['"', '\\'], "'")
                    ),
                );
        for h in extra {
            resp = resp.header(&h.name, h.value);
        }
        // RFC 3261 18.2.2: unreliable transport without rport: source address, sent-by port.
        let dest = match top {
            Some(v) if !input.transport.is_reliable() && v.rport().is_none() => {
                SocketAddr::new(input.remote.ip(), v.port.unwrap_or(5060))
            }
            _ => input.remote,
        };
        self.send(input.transport, dest, resp.build().to_bytes());
    }

    fn route_for(&self, uri: &str) -> Option<&Route> {
        let lower = uri.to_ascii_lowercase();
        self.cfg
            .routes
            .iter()
            .filter(|r| {
                let p = r.service.to_ascii_lowercase();
                lower == p || lower.starts_with(&format!("{p}."))
            })
            .max_by_key(|r| r.service.len())
    }

    /// Whether this proxy polices Resource-Priority on a request for `uri` (6.1.2.5).
    fn polices(&self, uri: &str) -> bool {
        self.cfg.role == ProxyRole::Bcf
            && self.cfg.provisioned_priority.is_some()
            && is_emergency_service(uri)
    }

    fn on_request(&mut self, now: Instant, mut req: SipMessage, input: &Incoming) {
        let uri = req.request_uri().unwrap_or_default().to_string();
        assert!(
            !(self.cfg.faults.crash && is_emergency_service(&uri)),
            "deliberate fault bcf-crash: the BCF dies on an emergency request"
        );
        let policed = self.polices(&uri);
        // RFC 3261 16.3 step 1. A Resource-Priority the BCF replaces anyway does not stop an
        // emergency call (see `ProxyConfig::provisioned_priority`).
        let defects: Vec<String> = req
            .defects()
            .into_iter()
            .filter(|d| d.severity == Severity::Reject)
            .filter(|d| !(policed && d.header == Some("Resource-Priority")))
            .map(|d| d.to_string())
            .collect();
        if !defects.is_empty() {
            return self.reject(&req, input, 400, &defects.join("; "));
        }
        // Step 2: URI schemes this proxy routes.
        let scheme = uri.split(':').next().unwrap_or_default();
        if !["sip", "sips", "urn"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(scheme))
        {
            return self.reject(&req, input, 416, &format!("cannot route {scheme}: URIs"));
        }
        // Step 3.
        match req.header("Max-Forwards").map(|v| v.trim().parse::<u8>()) {
            Some(Ok(0)) => return self.reject(&req, input, 483, "Max-Forwards reached 0"),
            Some(Ok(n)) => req.set_header("Max-Forwards", (n - 1).to_string()),
            Some(Err(_)) => return self.reject(&req, input, 400, "Max-Forwards is not 0..=255"),
            None => req.set_header("Max-Forwards", "70"),
        }
        // Step 5: this proxy supports no extension.
        let required: Vec<String> = req
            .header_values("Proxy-Require")
            .map(str::to_string)
            .collect();
        if !required.is_empty() {
            let unsupported = Header {
                name: "Unsupported".into(),
                value: required.join(", "),
            };
            let why = format!("Proxy-Require {} not supported", unsupported.value);
            return self.reject_with(&req, input, 420, &why, vec![unsupported]);
        }
        let is_service = uri.to_ascii_lowercase().starts_with("urn:service:");
        let bcf = self.cfg.role == ProxyRole::Bcf;
        if bcf && input.transport.is_reliable() {
            let originator = req
                .header("P-Asserted-Identity")
                .or_else(|| req.header("From"))
                .and_then(|v| lmpe_wire::sip::NameAddr::parse("From", v).ok())
                .and_then(|na| aor_key(&na.uri));
            if let Some(key) = originator {
                self.flows.insert(key, (input.transport, input.remote));
            }
        }
        let flow = (bcf && !is_service && !self.cfg.faults.no_flow_reuse)
            .then(|| aor_key(&uri).and_then(|k| self.flows.get(&k).copied()))
            .flatten();
        let next_hop = if let Some((_, hop)) = flow {
            hop
        } else if is_service {
            if self.routes_by_location(&uri) {
                match lookup::location_of(&req) {
                    Ok(location) => return self.park(now, req, input, location),
                    Err(why) => self.notes.push(format!(
                        "{}: {why}; static (default) route for {uri}",
                        self.cfg.name
                    )),
                }
            }
            let Some(route) = self.route_for(&uri).cloned() else {
                return self.reject(&req, input, 404, &format!("no route for {uri}"));
            };
            if let (true, Some(p), false) = (
                policed,
                self.cfg.provisioned_priority.clone(),
                self.cfg.faults.no_priority_policing,
            ) {
                replace_headers(&mut req, "Resource-Priority", &p);
            }
            if let Some(target) = &route.target {
                self.retarget_to(&mut req, &uri, target);
            }
            route.next_hop
        } else {
            match self.hop_for_uri(&uri) {
                Ok(hop) => hop,
                Err(why) => return self.reject(&req, input, 404, &why),
            }
        };
        self.send_forward(req, input, next_hop, flow);
    }

    /// RFC 3261 16.6 steps 8-10: Via, transport choice, Content-Length; sends the request.
    fn send_forward(
        &mut self,
        mut req: SipMessage,
        input: &Incoming,
        next_hop: SocketAddr,
        flow: Option<(TransportKind, SocketAddr)>,
    ) {
        // RFC 3261 16.6 / RFC 3581: record where the request came from, then add our Via.
        let Ok(mut top) = req.top_via() else {
            return self.reject(&req, input, 400, "top Via is malformed");
        };
        let branch = branch_for(&req, &top, &self.cfg.name, input.remote);
        mark_received(&mut top, input.remote);
        replace_top_via(&mut req, &top.to_string());
        let mut transport = flow.map_or(self.cfg.transport, |(t, _)| t);
        let local = self.cfg.local;
        let via = |t: TransportKind| {
            Via::new(t.via_token(), &host_of(local.ip()), local.port(), &branch).to_string()
        };
        req.prepend_header("Via", via(transport));
        // RFC 3261 18.1.1: a request larger than 1300 bytes goes over a congestion-controlled
        // transport.
        if transport == TransportKind::Udp && req.to_bytes().len() > UDP_SIZE_LIMIT {
            transport = TransportKind::Tcp;
            req.headers[0].value = via(transport);
        }
        // RFC 3261 18.3: Content-Length is mandatory on stream transports; a datagram may have
        // come without it.
        if transport.is_reliable() && req.header("Content-Length").is_none() {
            req.headers.push(Header {
                name: "Content-Length".into(),
                value: req.body.len().to_string(),
            });
        }
        apply_forwarding_faults(&self.cfg.faults, &mut req);
        self.stats.requests_forwarded += 1;
        let bytes = req.to_bytes();
        self.send(transport, next_hop, bytes);
    }

    fn hop_for_uri(&self, uri: &str) -> Result<SocketAddr, String> {
        let rest = uri
            .strip_prefix("sip:")
            .or_else(|| uri.strip_prefix("sips:"))
            .ok_or_else(|| format!("cannot route Request-URI {uri}"))?;
        let rest = rest.split([';', '?']).next().unwrap_or(rest);
        let (user, hostport) = rest.rsplit_once('@').unwrap_or(("", rest));
        let addr = parse_hostport(hostport)
            .ok_or_else(|| format!("Request-URI host {hostport} is not an IP address and port"))?;
        if addr == self.cfg.local
            || (addr.ip() == self.cfg.local.ip() && addr.port() == self.cfg.local.port())
        {
            return self
                .cfg
                .user_map
                .iter()
                .find(|(u, _)| u.eq_ignore_ascii_case(user))
                .map(|(_, a)| *a)
                .ok_or_else(|| format!("no element {user} behind {}", self.cfg.name));
        }
        Ok(addr)
    }

    fn on_response(&mut self, mut resp: SipMessage) {
        let vias: Vec<String> = resp.header_values("Via").map(str::to_string).collect();
        let ours = vias.first().and_then(|v| Via::parse(v).ok());
        let is_ours = ours.as_ref().is_some_and(|v| {
            v.port == Some(self.cfg.local.port())
                && v.host.trim_matches(['[', ']']).parse::<IpAddr>().ok()
                    == Some(self.cfg.local.ip())
        });
        if !is_ours {
            self.stats.dropped += 1;
            self.notes.push(format!(
                "{}: response {} not for us; dropped",
                self.cfg.name,
                resp.summary()
            ));
            return;
        }
        let Some(next) = vias.get(1).and_then(|v| Via::parse(v).ok()) else {
            self.stats.dropped += 1;
            self.notes.push(format!(
                "{}: response {} has no next Via; dropped",
                self.cfg.name,
                resp.summary()
            ));
            return;
        };
        remove_top_via(&mut resp);
        let ip: Option<IpAddr> = next
            .received()
            .and_then(|r| r.parse().ok())
            .or_else(|| next.host.trim_matches(['[', ']']).parse().ok());
        let port = next.rport().flatten().or(next.port).unwrap_or(5060);
        let Some(ip) = ip else {
            self.stats.dropped += 1;
            self.notes.push(format!(
                "{}: cannot route response to Via host {}",
                self.cfg.name, next.host
            ));
            return;
        };
        let transport = TransportKind::from_token(&next.transport).unwrap_or(TransportKind::Udp);
        self.stats.responses_forwarded += 1;
        self.send(transport, SocketAddr::new(ip, port), resp.to_bytes());
    }
}

/// Adds History-Info for a retarget from `original` (the received Request-URI) to `target`, and
/// sets the Request-URI (RFC 7044, TS 103 698 6.1.2.6). Received entries are never modified.
///
/// * No History-Info yet: `<original?Reason=SIP;cause=302;…>;index=1`, `<target>;index=1.1`.
/// * The last received entry is not `original` (the element before us retargeted without
///   recording it): the same two entries, below the last received one (`n.1`, `n.1.1`), so that
///   the original intended recipient and the reason are still recorded.
/// * The last received entry already records `original`: it belongs to another element and is
///   left as it is, so the new entry `<target?Reason=…>;index=n.1` carries the Reason.
///
/// New indices are children of the last received entry, skipping any index already in use, so
/// the result never has a duplicate index (which would make the next hop answer 400).
/// The deliberate Call-Info and body faults (no-ops without faults).
fn apply_forwarding_faults(f: &ProxyFaults, req: &mut SipMessage) {
    if f.drop_call_info {
        req.remove_headers("Call-Info");
    }
    if f.strip_body_parts {
        let ct = req.content_type().unwrap_or_default().to_string();
        if let Ok(mut m) = lmpe_wire::multipart::Multipart::parse(&ct, &req.body) {
            m.parts.truncate(1);
            req.body = m.to_bytes();
            req.set_header("Content-Type", m.content_type_value());
            req.set_header("Content-Length", req.body.len().to_string());
        }
    }
}

fn retarget(req: &mut SipMessage, original: &str, target: &str, by: &str) {
    // The request passed the defect check, so History-Info parses; be defensive anyway.
    let existing = HistoryInfo::from_message(req)
        .ok()
        .flatten()
        .unwrap_or_default();
    let reason = Reason::sip(302, &format!("routed by {by}"));
    let free_child = |parent: &HiIndex| {
        let mut n = 1;
        loop {
            let c = parent.child(n);
            let used = existing
                .entries
                .iter()
                .any(|e| e.index.components().starts_with(c.components()));
            if !used || n == u32::MAX {
                return c;
            }
            n += 1;
        }
    };
    let new: Vec<HiEntry> = match existing.entries.last() {
        None => vec![
            HiEntry::new(original, HiIndex::root()).with_reason(reason),
            HiEntry::new(target, HiIndex::root().child(1)),
        ],
        Some(last) if same_uri(&last.target, original) => {
            vec![HiEntry::new(target, free_child(&last.index)).with_reason(reason)]
        }
        Some(last) => {
            let idx = free_child(&last.index);
            let child = idx.child(1);
            vec![
                HiEntry::new(original, idx).with_reason(reason),
                HiEntry::new(target, child),
            ]
        }
    };
    for e in new {
        req.headers.push(Header {
            name: HistoryInfo::NAME.into(),
            value: e.to_string(),
        });
    }
    if let StartLine::Request { uri, .. } = &mut req.start {
        *uri = target.to_string();
    }
}

/// Whether an hi-targeted-to-uri (which keeps `?headers` for non-SIP URIs) is `uri`.
fn same_uri(hi_target: &str, uri: &str) -> bool {
    let bare = |u: &str| u.split('?').next().unwrap_or(u).to_string();
    bare(hi_target).eq_ignore_ascii_case(&bare(uri))
}

/// `urn:service:sos` or one of its sub-services (RFC 5031: service URNs compare
/// case-insensitively).
fn is_emergency_service(uri: &str) -> bool {
    let lower = uri.to_ascii_lowercase();
    lower == "urn:service:sos" || lower.starts_with("urn:service:sos.")
}

/// The sent-by host for an address (RFC 3261 25.1: an IPv6 address is an `IPv6reference`).
fn host_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// RFC 3261 18.2.1 and RFC 3581 4: `received` with the source address, and the source port in
/// `rport` when the client asked for it.
fn mark_received(via: &mut Via, remote: SocketAddr) {
    via.set_param("received", Some(remote.ip().to_string()));
    if via.rport().is_some() {
        via.set_param("rport", Some(remote.port().to_string()));
    }
}

/// The branch of our Via (RFC 3261 16.11): stateless, so a retransmission gets the same one.
/// With an RFC 3261 branch in the received top Via it is derived from that branch (CANCEL and
/// ACK for non-2xx carry the branch of their INVITE, so they get its branch too); without one
/// (RFC 2543) from the fields that identify the transaction: top Via, To tag, From tag, Call-ID,
/// CSeq number and Request-URI.
fn branch_for(req: &SipMessage, top: &Via, name: &str, remote: SocketAddr) -> String {
    let mut h = DefaultHasher::new();
    (name, remote).hash(&mut h);
    match top.branch() {
        Some(b) if b.len() > 7 && b.starts_with("z9hG4bK") => b.hash(&mut h),
        _ => {
            let tag = |header: &'static str| {
                req.header(header)
                    .and_then(|v| NameAddr::parse(header, v).ok())
                    .and_then(|na| na.param("tag").flatten().map(str::to_string))
            };
            let cseq = req.cseq().map(|(n, _)| n).ok();
            (
                top.to_string(),
                tag("To"),
                tag("From"),
                req.header("Call-ID"),
                cseq,
                req.request_uri(),
            )
                .hash(&mut h);
        }
    }
    format!("z9hG4bK{:016x}", h.finish())
}

/// Replaces every line of a header with one line holding `value`, where the first one was (or
/// at the end).
fn replace_headers(msg: &mut SipMessage, name: &str, value: &str) {
    let at = msg
        .headers
        .iter()
        .position(|h| canonical_name(&h.name).eq_ignore_ascii_case(name));
    msg.remove_headers(name);
    let h = Header {
        name: name.to_string(),
        value: value.to_string(),
    };
    match at {
        Some(i) => msg.headers.insert(i.min(msg.headers.len()), h),
        None => msg.headers.push(h),
    }
}

/// The next hop of a `sip:user@IP:port` URI (the form an ECRF names a PSAP in here).
fn uri_hop(uri: &str) -> Option<SocketAddr> {
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))?;
    let rest = rest.split([';', '?', '>']).next()?;
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    parse_hostport(hostport)
}

fn parse_hostport(hp: &str) -> Option<SocketAddr> {
    if let Ok(a) = hp.parse::<SocketAddr>() {
        return Some(a);
    }
    let ip: IpAddr = hp.trim_matches(['[', ']']).parse().ok()?;
    Some(SocketAddr::new(ip, 5060))
}

/// The text of a header line after its first list value, verbatim (from the second value on),
/// or `None` if the line holds one value.
fn list_tail(line: &str) -> Option<&str> {
    let second = split_list(line).nth(1)?;
    // `split_list` yields subslices of `line`.
    let offset = second.as_ptr() as usize - line.as_ptr() as usize;
    line.get(offset..)
}

/// Replaces the first Via value (which may share a line with others, kept byte-identical).
fn replace_top_via(msg: &mut SipMessage, value: &str) {
    if let Some(h) = msg
        .headers
        .iter_mut()
        .find(|h| canonical_name(&h.name).eq_ignore_ascii_case("Via"))
    {
        h.value = match list_tail(&h.value) {
            Some(rest) => format!("{value}, {rest}"),
            None => value.to_string(),
        };
    }
}

/// Removes the first Via value (the others on its line are kept byte-identical).
fn remove_top_via(msg: &mut SipMessage) {
    if let Some(i) = msg
        .headers
        .iter()
        .position(|h| canonical_name(&h.name).eq_ignore_ascii_case("Via"))
    {
        match list_tail(&msg.headers[i].value).map(str::to_string) {
            Some(rest) => msg.headers[i].value = rest,
            None => {
                msg.headers.remove(i);
            }
        }
    }
}

impl Endpoint for Proxy {
    fn handle_input(&mut self, now: Instant, input: Incoming) {
        self.stats.received += 1;
        self.wire.incoming(now, &input);
        if self.cfg.faults.drop_large_udp
            && input.transport == TransportKind::Udp
            && input.bytes.len() > 1500
        {
            self.stats.dropped += 1;
            self.notes.push(format!(
                "{}: deliberate fault bcf-drops-large-udp: dropped a {}-byte datagram",
                self.cfg.name,
                input.bytes.len()
            ));
            return;
        }
        match self.parser.parse(&input.bytes) {
            Ok(m) if m.is_request() && self.service_interval.is_some() => {
                let priority = self.priority_of(&m);
                self.arrivals += 1;
                self.queue.push(Queued {
                    priority,
                    seq: self.arrivals,
                    req: m,
                    input,
                });
                self.serve(now);
            }
            Ok(m) if m.is_request() => self.on_request(now, m, &input),
            Ok(m) => self.on_response(m),
            Err(e) => {
                self.stats.dropped += 1;
                self.notes.push(format!(
                    "{}: unparseable message from {}: {e}",
                    self.cfg.name, input.remote
                ));
            }
        }
    }

    fn handle_transport_error(
        &mut self,
        _now: Instant,
        t: TransportKind,
        remote: SocketAddr,
        error: &str,
    ) {
        self.notes.push(format!(
            "{}: {t:?} to {remote} failed: {error}",
            self.cfg.name
        ));
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        let t = self.transmits.pop_front()?;
        self.wire.outgoing(self.cfg.local, &t);
        Some(t)
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        let service = if self.queue.is_empty() {
            None
        } else {
            self.next_service
        };
        let lookup = self.parked.values().map(|p| p.deadline).min();
        match (service, lookup) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.expire_lookups(now);
        self.serve(now);
    }
}
