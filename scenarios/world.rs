//! The cucumber World: one embedded ESInet (or, later, a real target) and one simulated APP per
//! scenario, plus everything observed on the wire.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lmpe_net::{spawn_endpoint, EndpointHandle, SipSocketConfig};
use lmpe_proto::endpoint::TransportKind;
use lmpe_proto::roles::{AppConfig, AppRole, RoleEvent, WireRecord};
use lmpe_proto::session::{ChatParams, SessionEvent};
use lmpe_proto::ua::UaConfig;

use crate::esinet::{EmbeddedEsinet, EsinetOptions};
use crate::RunConfig;

/// Marks a failure in a precondition: the verdict is inconclusive, not fail.
pub(crate) const INCONCLUSIVE: &str = "INCONCLUSIVE: ";

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
            ..EsinetOptions::default()
        };
        Self {
            run,
            esinet_opts,
            esinet: None,
            app_profile: None,
            app_heartbeat: None,
            app: None,
            chat: None,
            events: Vec::new(),
            last_sent: None,
            in_chats_sent: 0,
            started: Instant::now(),
            wire: Vec::new(),
        }
    }

    /// Starts the embedded ESInet and the APP if not yet running.
    pub(crate) async fn ensure_app(&mut self) -> EndpointHandle<AppRole> {
        if let Some(app) = &self.app {
            return app.clone();
        }
        if self.esinet.is_none() {
            match EmbeddedEsinet::start(self.esinet_opts.clone()).await {
                Ok(e) => self.esinet = Some(e),
                Err(e) => inconclusive!("the embedded reference ESInet did not start: {e}"),
            }
        }
        let Some(bcf) = self.esinet.as_ref().map(EmbeddedEsinet::public_addr) else {
            inconclusive!("no ESInet")
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
            outbound: (TransportKind::Udp, bcf),
            params,
            location: (48.208_49, 16.372_08),
            extra_headers: Vec::new(),
            ua: UaConfig::new(SocketAddr::from(([127, 0, 0, 1], 0))),
        });
        let cfg = SipSocketConfig::loopback();
        let handle = match spawn_endpoint(app, cfg).await {
            Ok(h) => h,
            Err(e) => inconclusive!("the simulated APP could not bind: {e}"),
        };
        let addr = handle.local_addr();
        let _ = handle.with(move |a, _| a.set_local(addr)).await;
        self.app = Some(handle.clone());
        handle
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
        self.events
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
        if let Some(e) = self.esinet.take() {
            self.wire.extend(e.take_wire().await);
            e.shutdown().await;
        }
    }
}

use std::net::SocketAddr;
