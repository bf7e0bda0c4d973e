//! The cucumber World: one embedded ESInet (or, later, a real target) and one simulated APP per
//! scenario, plus everything observed on the wire.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lmpe_net::{spawn_endpoint, EndpointHandle, SipSocketConfig};
use lmpe_proto::endpoint::TransportKind;
use lmpe_proto::roles::{AppConfig, AppRole, PsapConfig, PsapRole, RoleEvent, WireRecord};
use lmpe_proto::session::{ChatParams, SessionEvent};
use lmpe_proto::ua::UaConfig;

use crate::esinet::{EmbeddedEsinet, EsinetOptions};
use crate::RunConfig;

/// Marks a failure in a precondition: the verdict is inconclusive, not fail.
pub(crate) const INCONCLUSIVE: &str = "INCONCLUSIVE: ";
/// Marks a scenario the target cannot run: the verdict is skipped, with the reason.
pub(crate) const SKIPPED: &str = "SKIPPED: ";

/// Skips the scenario (the target lacks what it needs).
macro_rules! skip {
    ($($arg:tt)*) => { panic!("{}{}", $crate::world::SKIPPED, format!($($arg)*)) };
}
pub(crate) use skip;

/// Fails the scenario as inconclusive (the preamble could not be completed).
macro_rules! inconclusive {
    ($($arg:tt)*) => { panic!("{}{}", $crate::world::INCONCLUSIVE, format!($($arg)*)) };
}
pub(crate) use inconclusive;

/// Per-scenario state.
#[derive(cucumber::World)]
#[world(init = Self::new)]
pub(crate) struct LmpeWorld {
    /// Run-wide settings.
    pub(crate) run: Arc<RunConfig>,
    /// ESInet options (set by Given steps before it starts).
    pub(crate) esinet_opts: EsinetOptions,
    /// The embedded ESInet, once started.
    pub(crate) esinet: Option<EmbeddedEsinet>,
    /// Identifier forms the APP writes (default: the run's profile).
    pub(crate) app_profile: Option<lmpe_wire::lmpe::IdentifierProfile>,
    /// Whether the harness plays the PSAP behind the ESRP (the ESInet's routing is the IUT).
    pub(crate) harness_psap: bool,
    /// The harness-played PSAP, once started.
    pub(crate) psap: Option<EndpointHandle<PsapRole>>,
    /// Extra headers on the APP's messages.
    pub(crate) app_headers: Vec<(String, String)>,
    /// Extra body parts on the APP's messages.
    pub(crate) app_parts: Vec<lmpe_wire::multipart::Part>,
    /// APP heartbeat interval.
    pub(crate) app_heartbeat: Option<Duration>,
    /// The simulated APP.
    pub(crate) app: Option<EndpointHandle<AppRole>>,
    /// The current chat's Call Identifier unique part.
    pub(crate) chat: Option<String>,
    /// Every event the APP reported, with when it was seen.
    pub(crate) events: Vec<(Instant, RoleEvent)>,
    /// Handle of the last message the scenario sent (session handle or raw handle).
    pub(crate) last_sent: Option<Sent>,
    /// in-chat/259 messages the APP sent in this scenario.
    pub(crate) in_chats_sent: usize,
    /// Scenario start.
    pub(crate) started: Instant,
    /// Wire records collected so far (taken at the end).
    pub(crate) wire: Vec<(&'static str, WireRecord)>,
    /// APP scenarios: the embedded reference APP under test (none against a real APP).
    pub(crate) iut_app: Option<EndpointHandle<AppRole>>,
    /// APP scenarios: the chat the APP under test opened, as the harness PSAP knows it.
    pub(crate) iut_chat: Option<String>,
    /// APP scenarios: heartbeat interval of the embedded reference APP under test.
    pub(crate) iut_heartbeat: Option<Duration>,
    /// APP scenarios: every event the harness PSAP reported, with when it was collected.
    pub(crate) psap_events: Vec<(Instant, RoleEvent)>,
    /// Scenario start, wall clock (HTTP records carry wall-clock times).
    pub(crate) started_wall: std::time::SystemTime,
    /// HTTP-3 messages exchanged (collected at the end).
    pub(crate) http: Vec<lmpe_transfer::http::HttpRecord>,
    /// The log the harness's own HTTP-3 ends write to.
    pub(crate) http_log: lmpe_transfer::http::HttpLog,
    /// Transfer scenarios: what the harness plays.
    pub(crate) transfer: crate::steps::transfer::HarnessTransfer,
    /// Notes for the report (e.g. a transport fallback), whatever the verdict.
    pub(crate) notes: Vec<String>,
    /// SIP-1 over TLS between the APP and the BCF (6.1.1), when a scenario asks for it.
    pub(crate) tls: crate::steps::transport::TlsSetup,
    /// The APP sends over UDP up to this size (default: RFC 3261's 1300 bytes, then TCP).
    pub(crate) app_udp_limit: Option<usize>,
    /// Location services: the LIS/ECRF under test or played, PSAP B, the APP's location.
    pub(crate) loc: crate::steps::location::LocState,
    /// Public-warning scenario state.
    pub(crate) warn: crate::steps::warning::WarnState,
    /// Integrated SIP+XMPP endpoint scenario state.
    pub(crate) cusax: crate::steps::cusax::CusaxState,
}

/// What the scenario last sent, to match its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// A chat message by session handle.
    Chat(u64),
    /// A raw request by UA handle.
    Raw(u64),
}

impl std::fmt::Debug for LmpeWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmpeWorld")
            .field("chat", &self.chat)
            .finish()
    }
}

impl LmpeWorld {
    fn new() -> Self {
        let run = crate::run_config();
        let esinet_opts = EsinetOptions {
            faults: run.faults.clone(),
            profile: run.profile.clone(),
            // Conformance runs: the reference ESRP routes by location (embedded ECRF/LIS).
            location_routing: true,
            ..EsinetOptions::default()
        };
        Self {
            run,
            esinet_opts,
            esinet: None,
            app_profile: None,
            app_heartbeat: None,
            harness_psap: false,
            psap: None,
            app_headers: Vec::new(),
            app_parts: Vec::new(),
            app: None,
            chat: None,
            events: Vec::new(),
            last_sent: None,
            in_chats_sent: 0,
            started: Instant::now(),
            wire: Vec::new(),
            iut_app: None,
            iut_chat: None,
            iut_heartbeat: None,
            psap_events: Vec::new(),
            started_wall: std::time::SystemTime::now(),
            http: Vec::new(),
            http_log: lmpe_transfer::http::HttpLog::new(),
            transfer: Default::default(),
            notes: Vec::new(),
            tls: Default::default(),
            app_udp_limit: None,
            loc: Default::default(),
            warn: Default::default(),
            cusax: Default::default(),
        }
    }

    /// Starts the embedded ESInet (and the harness PSAP behind it, if asked for) unless it
    /// runs; returns the BCF's public (UDP/TCP) address.
    pub(crate) async fn ensure_esinet(&mut self) -> SocketAddr {
        if self.esinet.is_none() {
            if self.harness_psap && self.psap.is_none() {
                let psap = self
                    .start_harness_psap(SocketAddr::from(([127, 0, 0, 1], 0)))
                    .await;
                self.esinet_opts.psap_override = Some(psap.local_addr());
            }
            match EmbeddedEsinet::start(self.esinet_opts.clone()).await {
                Ok(e) => self.esinet = Some(e),
                Err(e) => inconclusive!("the embedded reference ESInet did not start: {e}"),
            }
            if let (Some(psap), Some(bcf)) = (
                &self.psap,
                self.esinet.as_ref().map(EmbeddedEsinet::public_addr),
            ) {
                let _ = psap
                    .with(move |p, _| {
                        p.set_outbound((TransportKind::Udp, bcf));
                        p.set_reply_to(&format!("sip:psap@{bcf}"));
                    })
                    .await;
            }
        }
        let Some(bcf) = self.esinet.as_ref().map(EmbeddedEsinet::public_addr) else {
            inconclusive!("no ESInet")
        };
        bcf
    }

    /// Starts the embedded ESInet and the APP if not yet running.
    pub(crate) async fn ensure_app(&mut self) -> EndpointHandle<AppRole> {
        if let Some(app) = &self.app {
            return app.clone();
        }
        let (bcf, transport) = match self.run.target.clone() {
            _ if self.tls.app.is_some() => crate::steps::transport::tls_peer(self).await,
            Some(t) => {
                let Some(bcf) = t.bcf else {
                    crate::world::skip!("needs an ESInet: add [bcf] to the target file")
                };
                // A real ESRP that queries the harness's ECRF ([ecrf] listen).
                crate::steps::location::ensure_target_ecrf(self).await;
                if self.harness_psap && self.psap.is_none() {
                    let Some(hp) = t.harness_psap.clone() else {
                        crate::world::skip!("needs a harness-played PSAP behind the SUT: add [harness_psap] to the target file")
                    };
                    let psap = self.start_harness_psap(hp.listen).await;
                    let transport = t.transport;
                    let _ = psap
                        .with(move |p, _| {
                            p.set_outbound((transport, bcf));
                            p.set_reply_to(&hp.reply_to);
                        })
                        .await;
                }
                (bcf, t.transport)
            }
            None => (self.ensure_esinet().await, TransportKind::Udp),
        };
        let params = ChatParams {
            profile: self
                .app_profile
                .clone()
                .unwrap_or_else(|| self.run.profile.clone()),
            heartbeat_interval: self.app_heartbeat,
            peer_heartbeat_limit: self.run.heartbeat_limit,
            psap_start_timeout: self.run.response_timeout,
        };
        let app = AppRole::new(AppConfig {
            user: "app".into(),
            element_id: "app.harness.test".into(),
            outbound: (transport, bcf),
            params,
            location: self.loc.app_location.unwrap_or((48.208_49, 16.372_08)),
            extra_headers: self.app_headers.clone(),
            extra_parts: self.app_parts.clone(),
            ua: {
                let mut ua = UaConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
                if let Some(limit) = self.app_udp_limit {
                    ua.udp_size_limit = limit;
                }
                ua
            },
        });
        let cfg = match (&self.tls.app, transport) {
            (Some(tls), TransportKind::Tls) => SipSocketConfig::loopback().with_tls(tls.clone()),
            _ => SipSocketConfig::loopback(),
        };
        let handle = match spawn_endpoint(app, cfg).await {
            Ok(h) => h,
            Err(e) => inconclusive!("the simulated APP could not bind: {e}"),
        };
        let addr = handle.local_addr();
        let _ = handle.with(move |a, _| a.set_local(addr)).await;
        self.app = Some(handle.clone());
        handle
    }

    /// Starts the PSAP the harness plays on `listen`.
    pub(crate) async fn start_harness_psap(
        &mut self,
        listen: SocketAddr,
    ) -> EndpointHandle<PsapRole> {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let psap = PsapRole::new(PsapConfig {
            name: "lmpe-harness PSAP".into(),
            reply_to: String::new(),
            uri: String::new(),
            outbound: (TransportKind::Udp, any),
            params: ChatParams {
                profile: self.run.profile.clone(),
                heartbeat_interval: None,
                ..ChatParams::default()
            },
            greeting: "112 emergency chat (harness PSAP), what is your emergency?".into(),
            auto_reply: Some("Received: {text}".into()),
            close_trigger: Some("#close".into()),
            redirect_target: None,
            faults: Default::default(),
            ua: UaConfig::new(any),
            test_repeat_window: std::time::Duration::from_secs(120),
            test_call_limit: None,
        });
        let handle = match spawn_endpoint(psap, SipSocketConfig::new(listen)).await {
            Ok(h) => h,
            Err(e) => inconclusive!("the harness PSAP could not bind {listen}: {e}"),
        };
        let addr = handle.local_addr();
        let _ = handle
            .with(move |p, _| {
                p.set_local(addr);
                p.set_uri(&format!("sip:psap@{addr}"));
            })
            .await;
        self.psap = Some(handle.clone());
        handle
    }

    /// The first request the APP sent and the harness PSAP received with this LMPE Message
    /// Type (parsed), waiting up to the response timeout for the PSAP's side.
    pub(crate) async fn sent_and_received(
        &mut self,
        msg_type: lmpe_wire::lmpe::MessageType,
    ) -> (
        Option<lmpe_wire::sip::SipMessage>,
        Option<lmpe_wire::sip::SipMessage>,
    ) {
        let Some(psap) = self.psap.clone() else {
            inconclusive!("this step needs `Given the harness plays the PSAP behind the ESRP`")
        };
        // The APP's message by its LMPE type; the PSAP's copy by SIP Call-ID and CSeq, which
        // proxies do not change (an element that mangles Call-Info must still be found).
        let parse = |records: Vec<WireRecord>, outgoing: bool| -> Vec<lmpe_wire::sip::SipMessage> {
            use lmpe_wire::sip::SipParser as _;
            records
                .iter()
                .filter(|r| r.outgoing == outgoing)
                .filter_map(|r| lmpe_wire::sip::RsipParser::default().parse(&r.bytes).ok())
                .filter(lmpe_wire::sip::SipMessage::is_request)
                .collect()
        };
        let find_sent = move |records: Vec<WireRecord>| {
            parse(records, true).into_iter().find(|m| {
                lmpe_wire::lmpe::LmpeIds::extract(m, &lmpe_wire::lmpe::IdentifierProfile::LENIENT)
                    .msg_type
                    == Some(msg_type)
            })
        };
        let find_received = move |records: Vec<WireRecord>, sent: &lmpe_wire::sip::SipMessage| {
            parse(records, false).into_iter().find(|m| {
                m.call_id().ok() == sent.call_id().ok() && m.header("CSeq") == sent.header("CSeq")
            })
        };
        let deadline = Instant::now() + self.run.response_timeout;
        let mut sent = None;
        loop {
            if sent.is_none() {
                let records = self.app(|a, _| a.wire_records().to_vec()).await;
                sent = find_sent(records);
            }
            let got = psap
                .with(|p, _| p.wire_records().to_vec())
                .await
                .unwrap_or_default();
            let received = sent.as_ref().and_then(|m| find_received(got, m));
            if (sent.is_some() && received.is_some()) || Instant::now() >= deadline {
                return (sent, received);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Runs a closure on the APP.
    pub(crate) async fn app<R: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut AppRole, Instant) -> R + Send + 'static,
    ) -> R {
        let app = self.ensure_app().await;
        match app.with(f).await {
            Ok(r) => r,
            Err(e) => inconclusive!("the simulated APP stopped: {e}"),
        }
    }

    /// Pulls new APP events into `events`.
    pub(crate) async fn collect(&mut self) {
        let new = self
            .app(|a, now| {
                let mut v = Vec::new();
                while let Some(e) = a.poll_event() {
                    v.push((now, e));
                }
                v
            })
            .await;
        self.events.extend(new);
    }

    /// Waits until `pred` matches a collected event (index into `events`) or the timeout.
    pub(crate) async fn wait_for(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&RoleEvent) -> bool,
    ) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        let mut seen = 0;
        loop {
            self.collect().await;
            if let Some(i) = self.events[seen..].iter().position(|(_, e)| pred(e)) {
                return Some(seen + i);
            }
            seen = self.events.len();
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The current chat or an inconclusive verdict.
    pub(crate) fn chat_id(&self) -> String {
        match &self.chat {
            Some(c) => c.clone(),
            None => inconclusive!("no chat was started in this scenario"),
        }
    }

    /// Violations seen so far whose clause is one of `clauses`, formatted with the message.
    pub(crate) fn violations(&self, clauses: &[&str]) -> Vec<String> {
        violations_in(&self.events, clauses)
    }

    /// Elements whose driver has stopped (an endpoint that panicked), for failure reasons.
    pub(crate) fn stopped_elements(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if let Some(e) = &self.esinet {
            for (name, running) in [
                ("BCF", e.bcf.is_running()),
                ("ESRP", e.esrp.is_running()),
                ("reference PSAP", e.psap.is_running()),
            ] {
                if !running {
                    out.push(name);
                }
            }
        }
        if self.psap.as_ref().is_some_and(|p| !p.is_running()) {
            out.push("harness PSAP");
        }
        if self.app.as_ref().is_some_and(|a| !a.is_running()) {
            out.push("harness APP");
        }
        if self.iut_app.as_ref().is_some_and(|a| !a.is_running()) {
            out.push("APP under test");
        }
        out
    }

    /// Unparseable messages the APP received, as text (for failure reasons).
    pub(crate) fn malformed_inputs(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                RoleEvent::Malformed { error, remote } => Some(format!("from {remote}: {error}")),
                _ => None,
            })
            .collect()
    }

    /// Whether a session event matching `pred` was seen for the current chat.
    pub(crate) fn saw(&self, mut pred: impl FnMut(&SessionEvent) -> bool) -> bool {
        self.events
            .iter()
            .any(|(_, e)| matches!(e, RoleEvent::Session { event, .. } if pred(event)))
    }

    /// Collects the wire records of every element and shuts everything down.
    pub(crate) async fn finish(&mut self) {
        if let Some(app) = self.app.take() {
            if let Ok(w) = app.with(|a, _| a.take_wire()).await {
                self.wire.extend(w.into_iter().map(|r| ("APP", r)));
            }
            app.shutdown().await;
        }
        if let Some(app) = self.iut_app.take() {
            if let Ok(w) = app.with(|a, _| a.take_wire()).await {
                self.wire
                    .extend(w.into_iter().map(|r| ("APP (under test)", r)));
            }
            app.shutdown().await;
        }
        if let Some(psap) = self.psap.take() {
            if let Ok(w) = psap.with(|p, _| p.take_wire()).await {
                self.wire
                    .extend(w.into_iter().map(|r| ("PSAP (harness)", r)));
            }
            psap.shutdown().await;
        }
        if let Some(t) = self.transfer.transferee_psap.take() {
            if let Ok(w) = t.with(|p, _| p.take_wire()).await {
                self.wire
                    .extend(w.into_iter().map(|r| ("PSAP (harness transferee)", r)));
            }
            t.shutdown().await;
        }
        self.transfer.stop();
        self.http.extend(self.http_log.take());
        // HELD/LoST messages (lmpe-locsvc records) in the same ladder.
        let loc_http = self.loc.take_http();
        self.http
            .extend(loc_http.into_iter().map(crate::steps::location::to_report));
        if self.run.target.is_some() {
            self.http.extend(
                crate::steps::location::target_ecrf_http(self.started_wall)
                    .into_iter()
                    .map(crate::steps::location::to_report),
            );
            crate::steps::location::reset_target_ecrf();
        }
        let mut warn_http = Vec::new();
        self.warn.finish(&mut self.wire, &mut warn_http).await;
        self.http
            .extend(warn_http.into_iter().map(crate::steps::location::to_report));
        self.cusax.finish(&mut self.wire).await;
        let psap_b = self.loc.stop().await;
        self.wire
            .extend(psap_b.into_iter().map(|r| ("PSAP B (harness)", r)));
        if let Some(e) = self.esinet.take() {
            self.wire.extend(e.take_wire().await);
            self.http.extend(e.http.take());
            self.http.extend(
                e.take_loc_http()
                    .into_iter()
                    .map(crate::steps::location::to_report),
            );
            e.shutdown().await;
        }
        self.http.sort_by_key(|r| r.at);
    }
}

/// Violations among `events` whose clause is one of `clauses`, each with its offending message.
pub(crate) fn violations_in(events: &[(Instant, RoleEvent)], clauses: &[&str]) -> Vec<String> {
    events
        .iter()
        .filter_map(|(_, e)| match e {
            RoleEvent::Violation {
                violation, message, ..
            } if clauses.contains(&violation.clause) => {
                Some(format!("{violation}\n--- offending message ---\n{message}"))
            }
            _ => None,
        })
        .collect()
}
