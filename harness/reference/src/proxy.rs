//! A stateless SIP proxy (RFC 3261 16.11) with the policy of a BCF or an ESRP.
//!
//! * BCF (5.1): the public entry point. Polices Resource-Priority on emergency requests
//!   (6.1.2.5: marked with the provisioned value, default `esnet.1`), forwards service URNs to the
//!   ESRP, maps its public URIs (the PSAP's Reply-To, NOTE 2 of 6.2.2) to internal elements, and
//!   forwards PSAP-originated requests out to the APP.
//! * ESRP (5.2): routes `urn:service:sos` and its sub-services by a static table (LoST comes
//!   later), retargeting the Request-URI and adding History-Info with a Reason (6.1.2.6).
//!
//! Call-Info, bodies and every header it does not own pass untouched (6.1.2.7, 6.1.2.8).

use std::collections::hash_map::DefaultHasher;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use lmpe_proto::endpoint::{Endpoint, Incoming, Transmit, TransportKind};
use lmpe_proto::roles::WireRecord;
use lmpe_proto::ua::UDP_SIZE_LIMIT;
use lmpe_wire::sip::{
    reason_phrase, NameAddr, ResponseBuilder, RsipParser, SipMessage, SipParser, Via,
};

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
    pub provisioned_priority: Option<String>,
    /// Transport towards the next hop.
    pub transport: TransportKind,
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyStats {
    /// Requests forwarded.
    pub requests_forwarded: u64,
    /// Responses forwarded.
    pub responses_forwarded: u64,
    /// Requests answered by the proxy itself (errors).
    pub rejected: u64,
    /// Messages dropped (unparseable, or responses not for us).
    pub dropped: u64,
}

/// The proxy endpoint.
#[derive(Debug)]
pub struct Proxy {
    cfg: ProxyConfig,
    parser: RsipParser,
    transmits: VecDeque<Transmit>,
    wire: Vec<WireRecord>,
    record: bool,
    last_now: Option<Instant>,
    stats: ProxyStats,
    notes: Vec<String>,
}

impl Proxy {
    /// A proxy.
    pub fn new(cfg: ProxyConfig) -> Self {
        Self {
            cfg,
            parser: RsipParser::default(),
            transmits: VecDeque::new(),
            wire: Vec::new(),
            record: true,
            last_now: None,
            stats: ProxyStats::default(),
            notes: Vec::new(),
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
        std::mem::take(&mut self.wire)
    }
    /// Takes diagnostic notes (why something was dropped or rejected).
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }
    /// Stops recording wire messages (load runs).
    pub fn set_recording(&mut self, on: bool) {
        self.record = on;
    }

    fn send(&mut self, transport: TransportKind, remote: SocketAddr, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit {
            transport,
            remote,
            bytes: Arc::from(bytes),
        });
    }

    fn reject(&mut self, req: &SipMessage, input: &Incoming, status: u16, why: &str) {
        self.stats.rejected += 1;
        self.notes.push(format!(
            "{}: {} -> {status}: {why}",
            self.cfg.name,
            req.summary()
        ));
        let resp =
            ResponseBuilder::for_request(req, status, reason_phrase(status), Some(&self.cfg.name))
                .header(
                    "Warning",
                    format!("399 {} \"{}\"", self.cfg.name, why.replace('"', "'")),
                )
                .build();
        let dest = match req.top_via() {
            Ok(v) if !input.transport.is_reliable() && v.rport().is_none() => {
                SocketAddr::new(input.remote.ip(), v.port.unwrap_or(5060))
            }
            _ => input.remote,
        };
        self.send(input.transport, dest, resp.to_bytes());
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

    fn on_request(&mut self, mut req: SipMessage, input: &Incoming) {
        let defects: Vec<_> = req
            .defects()
            .into_iter()
            .filter(|d| d.severity == lmpe_wire::sip::Severity::Reject)
            .collect();
        if !defects.is_empty() {
            let d: Vec<String> = defects.iter().map(ToString::to_string).collect();
            return self.reject(&req, input, 400, &d.join("; "));
        }
        let uri = req.request_uri().unwrap_or_default().to_string();
        match req.header("Max-Forwards").map(|v| v.trim().parse::<u8>()) {
            Some(Ok(0)) => return self.reject(&req, input, 483, "Max-Forwards reached 0"),
            Some(Ok(n)) => req.set_header("Max-Forwards", (n - 1).to_string()),
            Some(Err(_)) => return self.reject(&req, input, 400, "Max-Forwards is not a number"),
            None => req.set_header("Max-Forwards", "70"),
        }
        let is_service = uri.to_ascii_lowercase().starts_with("urn:service:");
        let next_hop = if is_service {
            let Some(route) = self.route_for(&uri).cloned() else {
                return self.reject(&req, input, 404, &format!("no route for {uri}"));
            };
            if self.cfg.role == ProxyRole::Bcf
                && uri.to_ascii_lowercase().starts_with("urn:service:sos")
            {
                if let Some(p) = self.cfg.provisioned_priority.clone() {
                    req.remove_headers("Resource-Priority");
                    req.set_header("Resource-Priority", p);
                }
            }
            if let Some(target) = &route.target {
                retarget(&mut req, &uri, target, &self.cfg.name);
            }
            route.next_hop
        } else {
            match self.hop_for_uri(&uri) {
                Ok(hop) => hop,
                Err(why) => return self.reject(&req, input, 404, &why),
            }
        };
        // RFC 3261 16.6 / RFC 3581: record where the request came from, then add our Via with a
        // branch derived from the incoming one (stateless: retransmissions get the same branch).
        let Ok(mut top) = req.top_via() else {
            return self.reject(&req, input, 400, "top Via is malformed");
        };
        let incoming_branch = top.branch().unwrap_or_default().to_string();
        top.set_param("received", Some(input.remote.ip().to_string()));
        if top.rport().is_some() {
            top.set_param("rport", Some(input.remote.port().to_string()));
        }
        replace_top_via(&mut req, &top.to_string());
        let mut h = DefaultHasher::new();
        (incoming_branch, &self.cfg.name, input.remote).hash(&mut h);
        let branch = format!("z9hG4bK{:016x}", h.finish());
        let mut transport = self.cfg.transport;
        let local = self.cfg.local;
        let via = |t: TransportKind| {
            Via::new(
                t.via_token(),
                &local.ip().to_string(),
                local.port(),
                &branch,
            )
            .to_string()
        };
        req.prepend_header("Via", via(transport));
        let mut bytes = req.to_bytes();
        if transport == TransportKind::Udp && bytes.len() > UDP_SIZE_LIMIT {
            transport = TransportKind::Tcp;
            req.headers[0].value = via(transport);
            bytes = req.to_bytes();
        }
        self.stats.requests_forwarded += 1;
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
            v.port == Some(self.cfg.local.port()) && v.host == self.cfg.local.ip().to_string()
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

/// RFC 4244 / RFC 7044: the original target with a Reason, then the new target.
fn retarget(req: &mut SipMessage, original: &str, target: &str, by: &str) {
    let existing: Vec<String> = req
        .header_values("History-Info")
        .map(str::to_string)
        .collect();
    let last_index = existing
        .iter()
        .rev()
        .filter_map(|e| NameAddr::parse("History-Info", e).ok())
        .find_map(|na| na.param("index").flatten().map(str::to_string));
    let reason = format!(
        "SIP%3Bcause%3D302%3Btext%3D%22routed%20by%20{}%22",
        by.replace(' ', "%20")
    );
    if existing.is_empty() {
        req.headers.push(lmpe_wire::sip::Header {
            name: "History-Info".into(),
            value: format!("<{original}?Reason={reason}>;index=1"),
        });
        req.headers.push(lmpe_wire::sip::Header {
            name: "History-Info".into(),
            value: format!("<{target}>;index=1.1"),
        });
    } else {
        let idx = format!("{}.1", last_index.unwrap_or_else(|| "1".into()));
        req.headers.push(lmpe_wire::sip::Header {
            name: "History-Info".into(),
            value: format!("<{target}?Reason={reason}>;index={idx}"),
        });
    }
    if let lmpe_wire::sip::StartLine::Request { uri, .. } = &mut req.start {
        *uri = target.to_string();
    }
}

fn parse_hostport(hp: &str) -> Option<SocketAddr> {
    if let Ok(a) = hp.parse::<SocketAddr>() {
        return Some(a);
    }
    let ip: IpAddr = hp.trim_matches(['[', ']']).parse().ok()?;
    Some(SocketAddr::new(ip, 5060))
}

/// Replaces the first Via value (which may share a line with others).
fn replace_top_via(msg: &mut SipMessage, value: &str) {
    if let Some(h) = msg
        .headers
        .iter_mut()
        .find(|h| lmpe_wire::sip::canonical_name(&h.name).eq_ignore_ascii_case("Via"))
    {
        let rest: Vec<&str> = lmpe_wire::sip::split_list(&h.value).skip(1).collect();
        h.value = std::iter::once(value)
            .chain(rest)
            .collect::<Vec<_>>()
            .join(", ");
    }
}

/// Removes the first Via value.
fn remove_top_via(msg: &mut SipMessage) {
    if let Some(i) = msg
        .headers
        .iter()
        .position(|h| lmpe_wire::sip::canonical_name(&h.name).eq_ignore_ascii_case("Via"))
    {
        let rest: Vec<String> = lmpe_wire::sip::split_list(&msg.headers[i].value)
            .skip(1)
            .map(str::to_string)
            .collect();
        if rest.is_empty() {
            msg.headers.remove(i);
        } else {
            msg.headers[i].value = rest.join(", ");
        }
    }
}

impl Endpoint for Proxy {
    fn handle_input(&mut self, now: Instant, input: Incoming) {
        self.last_now = Some(now);
        if self.record {
            self.wire.push(WireRecord {
                at: now,
                outgoing: false,
                transport: input.transport,
                local: input.local,
                remote: input.remote,
                bytes: input.bytes.clone().into(),
            });
        }
        match self.parser.parse(&input.bytes) {
            Ok(m) if m.is_request() => self.on_request(m, &input),
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
        if let (true, Some(at)) = (self.record, self.last_now) {
            self.wire.push(WireRecord {
                at,
                outgoing: true,
                transport: t.transport,
                local: self.cfg.local,
                remote: t.remote,
                bytes: t.bytes.clone(),
            });
        }
        Some(t)
    }

    fn poll_timeout(&mut self) -> Option<Instant> {
        None
    }

    fn handle_timeout(&mut self, _now: Instant) {}
}
