//! Launches the embedded reference ESInet (BCF, ESRP, PSAP) on loopback.

use std::net::SocketAddr;
use std::time::Duration;

use lmpe_net::{spawn_endpoint, EndpointHandle, SipSocketConfig, TlsConfig};
use lmpe_proto::endpoint::TransportKind;
use lmpe_proto::roles::{AppFaults, PsapConfig, PsapFaults, PsapRole, WireRecord};
use lmpe_proto::session::ChatParams;
use lmpe_proto::transaction::TimerConfig;
use lmpe_proto::ua::UaConfig;
use lmpe_reference::{Proxy, ProxyConfig, ProxyFaults, ProxyRole, Route};
use lmpe_transfer::http::HttpLog;
use lmpe_transfer::TimeScale;
use lmpe_wire::lmpe::IdentifierProfile;

use crate::location::{LocFaults, LookupTargets};
use crate::transfer::{
    start_transferee, start_transferor, transferee_config, transferor_config, TransferFaults,
    TransferTarget, TransfereeService, TransferorService, EMBEDDED_SECOND,
};

/// Deliberate faults of the reference elements (to show that checks fail).
#[derive(Debug, Clone, Default)]
pub(crate) struct Faults {
    /// Reference PSAP.
    pub(crate) psap: PsapFaults,
    /// BCF.
    pub(crate) bcf: ProxyFaults,
    /// ESRP.
    pub(crate) esrp: ProxyFaults,
    /// The reference APP under test (APP scenarios).
    pub(crate) app: AppFaults,
    /// The reference PSAPs' HTTP-3 side (chat transfer, 6.3).
    pub(crate) transfer: TransferFaults,
    /// 6.1.1: the BCF also trusts client certificates of a CA it was never given (in the
    /// embedded ESInet: the foreign CA a scenario presents).
    pub(crate) bcf_trusts_unknown_ca: bool,
    /// 6.1.1: the BCF closes idle connections after a third of the 3-minute session timeout.
    pub(crate) bcf_short_session_timeout: bool,
    /// The embedded ECRF and LIS (`ecrf-…`, `lis-…`).
    pub(crate) loc: LocFaults,
    /// RFC 6881 8 / RFC 5222 8: the ESRP reduces the caller's location to one point (the
    /// first position of its shape) before asking the ECRF, as an ESRP that understands only
    /// points would.
    pub(crate) esrp_points_only: bool,
    /// RFC 5222 8.3.3 / 13.3: the ESRP treats a LoST `<redirect>` as a failed lookup instead of
    /// asking the server it names.
    pub(crate) esrp_ignores_redirect: bool,
    /// RFC 5222 6: the ESRP follows redirects without a loop check (up to 50).
    pub(crate) esrp_redirect_loops: bool,
    /// The reference alert server (`alert-…`, warning scenarios).
    pub(crate) alerts: lmpe_alerts::AlertFaults,
    /// The harness's integrated SIP+XMPP peer endpoint under test (`cusax-…`).
    pub(crate) cusax: lmpe_cusax::Faults,
}

impl Faults {
    /// One fault by name (PSAP faults, `bcf-…`, `esrp-…`).
    pub(crate) fn by_name(name: &str) -> Result<Self, String> {
        let mut f = Self::default();
        if let Some(p) = PsapFaults::by_name(name) {
            f.psap = p;
        } else if let Some(a) = AppFaults::by_name(name) {
            f.app = a;
        } else if let Some(t) = TransferFaults::by_name(name) {
            f.transfer = t;
        } else if let Some(l) = LocFaults::by_name(name) {
            f.loc = l;
        } else if name.starts_with("alert-") {
            f.alerts = lmpe_alerts::AlertFaults::from_name(name).map_err(|e| e.to_string())?;
        } else if name.starts_with("cusax-") {
            if !f.cusax.set(name) {
                return Err(format!(
                    "unknown fault {name:?}; the integrated endpoint's: {}",
                    lmpe_cusax::Faults::NAMES.join(", ")
                ));
            }
        } else if name == "bcf-trusts-unknown-ca" {
            f.bcf_trusts_unknown_ca = true;
        } else if name == "bcf-short-session-timeout" {
            f.bcf_short_session_timeout = true;
        } else if name == "esrp-points-only" {
            f.esrp_points_only = true;
        } else if name == "esrp-ignores-redirect" {
            f.esrp_ignores_redirect = true;
        } else if name == "esrp-redirect-loops" {
            f.esrp_redirect_loops = true;
        } else if let Some((element, p)) = ProxyFaults::by_name(name) {
            if element == "bcf" {
                f.bcf = p;
            } else {
                f.esrp = p;
            }
        } else {
            return Err(format!(
                "unknown fault {name:?}; known: {}, bcf-trusts-unknown-ca, bcf-short-session-timeout, esrp-points-only, esrp-ignores-redirect, esrp-redirect-loops, {}, {}, {}, {}, {}, {} (ecrf-slow:N and lis-slow:N take seconds)",
                PsapFaults::NAMES.join(", "),
                ProxyFaults::NAMES.join(", "),
                AppFaults::NAMES.join(", "),
                TransferFaults::names().join(", "),
                LocFaults::names().join(", "),
                lmpe_alerts::AlertFaults::NAMES.join(", "),
                lmpe_cusax::Faults::NAMES.join(", ")
            ));
        }
        Ok(f)
    }
}

/// Options for the embedded ESInet.
#[derive(Debug, Clone)]
pub(crate) struct EsinetOptions {
    /// The BCF's public address (port 0: any free port).
    pub(crate) listen: SocketAddr,
    /// Deliberate faults (to show checks fail).
    pub(crate) faults: Faults,
    /// Route emergency chats to this PSAP (e.g. one the harness plays) instead of the
    /// reference PSAP; the BCF maps its public `psap` user there too.
    pub(crate) psap_override: Option<SocketAddr>,
    /// The PSAP's optional heartbeats.
    pub(crate) psap_heartbeat: Option<Duration>,
    /// Identifier profile of the PSAP.
    pub(crate) profile: IdentifierProfile,
    /// Transaction timers.
    pub(crate) timers: TimerConfig,
    /// Test calls from the same source within this window are refused (6.1.2.10).
    pub(crate) test_repeat_window: Duration,
    /// Where the reference PSAP transfers chats (6.2.6); `None`: the reference PSAP B.
    pub(crate) transfer_target: Option<TransferTarget>,
    /// More users the BCF maps to an address (`sip:user@<BCF>`), e.g. a harness-played PSAP.
    pub(crate) extra_users: Vec<(String, SocketAddr)>,
    /// SIP-1 over TLS on the BCF (6.1.1), on its own port next to UDP and TCP.
    pub(crate) tls: Option<TlsConfig>,
    /// The BCF's idle timeout for TCP/TLS connections (6.1.1: at least 3 minutes; scaled
    /// down by scenarios that wait it out). `None`: the transport's default (180 s).
    pub(crate) bcf_session_timeout: Option<Duration>,
    /// The BCF's simulated capacity: one request per interval, a priority queue behind it.
    pub(crate) bcf_service_interval: Option<Duration>,
    /// The ESRP routes by location through an embedded ECRF and LIS (conformance runs; off
    /// for `sut` and load runs, which keep the static routes).
    pub(crate) location_routing: bool,
    /// Where the ECRF maps area B (default: reference PSAP B), e.g. a second harness PSAP.
    pub(crate) psap_b_override: Option<SocketAddr>,
    /// Budget of each ESRP lookup (HTTP exchange and the request's wait).
    pub(crate) lookup_timeout: Duration,
    /// The ESRP has no ECRF, only the LIS (RFC 7840 routing information).
    pub(crate) lis_routing_only: bool,
}

impl Default for EsinetOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            faults: Faults::default(),
            psap_override: None,
            psap_heartbeat: None,
            profile: IdentifierProfile::default(),
            timers: TimerConfig::default(),
            test_repeat_window: Duration::from_secs(120),
            transfer_target: None,
            extra_users: Vec::new(),
            tls: None,
            bcf_session_timeout: None,
            bcf_service_interval: None,
            location_routing: false,
            psap_b_override: None,
            lookup_timeout: Duration::from_millis(1000),
            lis_routing_only: false,
        }
    }
}

/// A running reference ESInet.
pub(crate) struct EmbeddedEsinet {
    /// Border Control Function (public address).
    pub(crate) bcf: EndpointHandle<Proxy>,
    /// Routing proxy.
    pub(crate) esrp: EndpointHandle<Proxy>,
    /// Reference PSAP.
    pub(crate) psap: EndpointHandle<PsapRole>,
    /// Second reference PSAP, the redirect and transfer target.
    pub(crate) psap_b: EndpointHandle<PsapRole>,
    /// Every HTTP-3 message of the reference PSAPs (both ends record).
    pub(crate) http: HttpLog,
    /// PSAP B's transferee web service (6.3).
    pub(crate) transferee: TransfereeService,
    /// PSAP A's transferor.
    pub(crate) transferor: TransferorService,
    /// The embedded ECRF and LIS (with location routing).
    pub(crate) locsvc: Option<lmpe_locsvc::http::HttpServer>,
    /// The second LoST server of the forest (area C), which the ECRF redirects or recurses to.
    pub(crate) locsvc_child: Option<lmpe_locsvc::http::HttpServer>,
    /// The ESRP's HTTP client (its lookups).
    pub(crate) loc_client: lmpe_locsvc::client::LocClient,
    /// The task performing the ESRP's lookups.
    glue: Option<tokio::task::JoinHandle<()>>,
}

fn socket(bind: SocketAddr) -> SipSocketConfig {
    SipSocketConfig::new(bind)
}

fn any_local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

impl EmbeddedEsinet {
    /// Binds and wires the three elements.
    pub(crate) async fn start(opts: EsinetOptions) -> Result<Self, String> {
        let placeholder = any_local();
        let params = ChatParams {
            profile: opts.profile.clone(),
            heartbeat_interval: opts.psap_heartbeat,
            ..ChatParams::default()
        };
        let mut ua = UaConfig::new(placeholder);
        ua.timers = opts.timers;
        let params = params.clone();
        let psap_config = |name: &str, faults: PsapFaults| PsapConfig {
            name: name.into(),
            reply_to: String::new(),
            uri: String::new(),
            outbound: (TransportKind::Udp, placeholder),
            params: params.clone(),
            greeting: "112 emergency chat, what is your emergency?".into(),
            auto_reply: Some("Received: {text}".into()),
            close_trigger: Some("#close".into()),
            redirect_target: None,
            faults,
            ua: ua.clone(),
            test_repeat_window: opts.test_repeat_window,
            test_call_limit: None,
        };
        let psap = PsapRole::new(psap_config(
            "Reference PSAP (lmpe-harness)",
            opts.faults.psap.clone(),
        ));
        let psap = spawn_endpoint(psap, socket(any_local()))
            .await
            .map_err(|e| format!("PSAP: {e}"))?;
        // The redirect target (6.2.7): a second PSAP, reachable as sip:psap-b@<BCF>.
        let psap_b = PsapRole::new(psap_config(
            "Reference PSAP B (lmpe-harness)",
            PsapFaults::default(),
        ));
        let psap_b = spawn_endpoint(psap_b, socket(any_local()))
            .await
            .map_err(|e| format!("PSAP B: {e}"))?;
        let proxy = |name: &str, role, faults: &ProxyFaults| {
            Proxy::new(ProxyConfig {
                name: name.into(),
                role,
                local: placeholder,
                routes: Vec::new(),
                user_map: Vec::new(),
                provisioned_priority: (role == ProxyRole::Bcf).then(|| "esnet.1".to_string()),
                transport: TransportKind::Udp,
                faults: faults.clone(),
            })
        };
        let esrp = spawn_endpoint(
            proxy("esrp.esinet.test", ProxyRole::Esrp, &opts.faults.esrp),
            socket(any_local()),
        )
        .await
        .map_err(|e| format!("ESRP: {e}"))?;
        let mut bcf_socket = match opts.tls.clone() {
            Some(tls) => socket(opts.listen).with_tls(tls),
            None => socket(opts.listen),
        };
        if let Some(t) = opts.bcf_session_timeout {
            bcf_socket.tcp_idle_timeout = t;
        }
        let bcf = spawn_endpoint(
            proxy("bcf.esinet.test", ProxyRole::Bcf, &opts.faults.bcf),
            bcf_socket,
        )
        .await
        .map_err(|e| format!("BCF on {}: {e}", opts.listen))?;
        let (bcf_addr, esrp_addr, psap_addr) =
            (bcf.local_addr(), esrp.local_addr(), psap.local_addr());
        psap.with(move |p, _| {
            p.set_local(psap_addr);
            p.set_outbound((TransportKind::Udp, bcf_addr));
            p.set_reply_to(&format!("sip:psap@{bcf_addr}"));
            p.set_uri(&format!("sip:psap@{psap_addr}"));
            p.set_redirect_target(Some(format!("sip:psap-b@{bcf_addr}")));
        })
        .await
        .map_err(|e| e.to_string())?;
        let psap_b_addr = psap_b.local_addr();
        psap_b
            .with(move |p, _| {
                p.set_local(psap_b_addr);
                p.set_outbound((TransportKind::Udp, bcf_addr));
                p.set_reply_to(&format!("sip:psap-b@{bcf_addr}"));
                p.set_uri(&format!("sip:psap-b@{psap_b_addr}"));
            })
            .await
            .map_err(|e| e.to_string())?;
        // Chat transfer (6.2.6, 6.3): PSAP B serves the transferee web service; the reference
        // PSAP's call taker (`#transfer`) transfers there, or to the target in the options.
        let http = HttpLog::new();
        let scale = TimeScale {
            per_second: EMBEDDED_SECOND,
        };
        let transferee = start_transferee(
            psap_b.clone(),
            any_local(),
            transferee_config(scale, opts.faults.transfer.transferee.clone()),
            http.clone(),
        )
        .await?;
        let target = opts.transfer_target.clone().unwrap_or(TransferTarget {
            sip_uri: format!("sip:psap-b@{bcf_addr}"),
            base_url: transferee.base_url.clone(),
        });
        psap.with(|p, _| p.set_transfer_trigger(true))
            .await
            .map_err(|e| e.to_string())?;
        let transferor = start_transferor(
            psap.clone(),
            target,
            transferor_config(
                &format!("sip:psap@{bcf_addr}"),
                scale,
                opts.faults.transfer.transferor.clone(),
            ),
            http.clone(),
            opts.faults.transfer.no_reactivate,
        )?;
        // Where emergency chats go: the reference PSAP, or the one named in the options.
        let route_to = opts.psap_override.unwrap_or(psap_addr);
        esrp.with(move |p, _| {
            let c = p.config_mut();
            c.local = esrp_addr;
            // The RFC 6881 test form `urn:service:test.sos…` routes like the emergency services.
            c.routes = ["urn:service:sos", "urn:service:test"]
                .into_iter()
                .map(|service| Route {
                    service: service.into(),
                    target: Some(format!("sip:psap@{route_to}")),
                    next_hop: route_to,
                })
                .collect();
        })
        .await
        .map_err(|e| e.to_string())?;
        // Location-based routing (RFC 6881 / RFC 5222): area A -> the PSAP above, area B ->
        // reference PSAP B (or the one in the options); the static routes stay for requests
        // without a location.
        let loc_client = crate::location::esrp_client();
        let (locsvc, locsvc_child, glue) = if opts.location_routing {
            let b = opts.psap_b_override.unwrap_or(psap_b_addr);
            let servers = crate::location::start_services(
                any_local(),
                any_local(),
                &format!("sip:psap@{route_to}"),
                &format!("sip:psap-b@{b}"),
                &opts.faults.loc,
            )
            .await?;
            let routing = lmpe_reference::proxy::LocationRouting {
                timeout: opts.lookup_timeout,
                ..Default::default()
            };
            esrp.with(move |p, _| p.set_location_routing(Some(routing)))
                .await
                .map_err(|e| e.to_string())?;
            let targets = LookupTargets {
                ecrf: (!opts.lis_routing_only).then(|| servers.main.url("/lost")),
                lis: Some(servers.main.url("/held")),
                // The ESRP's own lookup timeout bounds the wait; the HTTP budget is longer so
                // that the fault esrp-no-lookup-timeout shows.
                timeout: Duration::from_secs(30),
                points_only: opts.faults.esrp_points_only,
                lost_servers: crate::location::lost_servers(&servers),
                ignores_redirect: opts.faults.esrp_ignores_redirect,
                redirect_loops: opts.faults.esrp_redirect_loops,
            };
            let glue =
                crate::location::spawn_glue(esrp.clone(), targets, loc_client.clone()).await?;
            (Some(servers.main), Some(servers.child), Some(glue))
        } else {
            (None, None, None)
        };
        let extra_users = opts.extra_users.clone();
        let capacity = opts.bcf_service_interval;
        bcf.with(move |p, _| {
            p.set_capacity(capacity);
            let c = p.config_mut();
            c.local = bcf_addr;
            c.routes = ["urn:service:sos", "urn:service:test"]
                .into_iter()
                .map(|service| Route {
                    service: service.into(),
                    target: None,
                    next_hop: esrp_addr,
                })
                .collect();
            c.user_map = vec![("psap".into(), route_to), ("psap-b".into(), psap_b_addr)];
            c.user_map.extend(extra_users);
        })
        .await
        .map_err(|e| e.to_string())?;
        Ok(Self {
            bcf,
            esrp,
            psap,
            psap_b,
            http,
            transferee,
            transferor,
            locsvc,
            locsvc_child,
            loc_client,
            glue,
        })
    }

    /// Every HTTP message of the ECRF/LIS (server side) and of the ESRP's lookups (client side).
    pub(crate) fn take_loc_http(&self) -> Vec<lmpe_locsvc::HttpRecord> {
        let mut v = self.loc_client.log().take();
        for s in [&self.locsvc, &self.locsvc_child].into_iter().flatten() {
            v.extend(s.log().take());
        }
        v
    }

    /// Stops the SIP elements recording the messages they pass (no ladder is wanted: load runs
    /// and `lmpe-harness sut`, where nothing ever takes the records and they would grow by
    /// about 6 kB per chat message through BCF and ESRP).
    pub(crate) async fn stop_recording(&self) -> Result<(), lmpe_net::NetError> {
        self.bcf.with(|p, _| p.set_recording(false)).await?;
        self.esrp.with(|p, _| p.set_recording(false)).await?;
        self.psap.with(|p, _| p.set_recording(false)).await?;
        self.psap_b.with(|p, _| p.set_recording(false)).await
    }

    /// Drops the HTTP records kept for ladders (HELD/LoST of the ESRP, ECRF and LIS; HTTP-3
    /// of the PSAPs), for a long-running `lmpe-harness sut` that shows no ladders.
    pub(crate) fn discard_http_records(&self) {
        drop(self.take_loc_http());
        drop(self.http.take());
    }

    /// The public (BCF) address.
    pub(crate) fn public_addr(&self) -> SocketAddr {
        self.bcf.local_addr()
    }

    /// The BCF's TLS address, when it serves TLS.
    pub(crate) fn tls_addr(&self) -> Option<SocketAddr> {
        self.bcf.tls_local_addr()
    }

    /// Every message each element saw, labelled by element.
    pub(crate) async fn take_wire(&self) -> Vec<(&'static str, WireRecord)> {
        let mut out = Vec::new();
        if let Ok(w) = self.bcf.with(|p, _| p.take_wire()).await {
            out.extend(w.into_iter().map(|r| ("BCF", r)));
        }
        if let Ok(w) = self.esrp.with(|p, _| p.take_wire()).await {
            out.extend(w.into_iter().map(|r| ("ESRP", r)));
        }
        if let Ok(w) = self.psap.with(|p, _| p.take_wire()).await {
            out.extend(w.into_iter().map(|r| ("PSAP", r)));
        }
        if let Ok(w) = self.psap_b.with(|p, _| p.take_wire()).await {
            out.extend(w.into_iter().map(|r| ("PSAP B", r)));
        }
        out
    }

    /// Stops all elements.
    pub(crate) async fn shutdown(&self) {
        if let Some(g) = &self.glue {
            g.abort();
        }
        self.bcf.shutdown().await;
        self.esrp.shutdown().await;
        self.psap.shutdown().await;
        self.psap_b.shutdown().await;
    }
}
