//! The transferee: the responding web service of 6.3 (the transfer target PSAP), sans-IO.
//!
//! The caller (e.g. [`crate::http::TransfereeServer`]) hands every received request to
//! [`Transferee::handle_request`] with an id of its choosing, then drains
//! [`Transferee::poll_output`]: [`TransfereeOutput::Respond`] / [`TransfereeOutput::Abandon`]
//! answer (or deliberately do not answer) that request, [`TransfereeOutput::Action`] tells
//! the PSAP role what to do on the SIP side, [`TransfereeOutput::Violation`] reports what the
//! transferor got wrong. Timers: [`Transferee::poll_timeout`] / [`Transferee::handle_timeout`].

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::checks::{check_execution_request, check_negotiation_request, JSON_CONTENT_TYPE};
use crate::model::{ChatData, ACCEPTED, MIN_EXPIRY_TIME, NOT_ACCEPTABLE, OK, SERVICE_UNAVAILABLE};
use crate::schema::{validate, SchemaKind};
use crate::timers::TimerHeap;
use crate::{TimeScale, TransferError, TransfereeFaults, Violation};

/// The caller's id for one received HTTP request.
pub type RequestId = u64;

/// The two web services of 6.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// 6.3.2 `chatTransferNegotiation`.
    Negotiation,
    /// 6.3.3 `chatTransferExecution`.
    Execution,
}

impl Service {
    /// The request's Annex A schema.
    pub fn request_kind(self) -> SchemaKind {
        match self {
            Service::Negotiation => SchemaKind::NegotiationRequest,
            Service::Execution => SchemaKind::ExecutionRequest,
        }
    }
    /// The response's Annex A schema.
    pub fn response_kind(self) -> SchemaKind {
        match self {
            Service::Negotiation => SchemaKind::NegotiationResponse,
            Service::Execution => SchemaKind::ExecutionResponse,
        }
    }
}

/// An HTTP response to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status. Harness profile: equal to the body's `StatusCode`; 400 (text/plain) for a
    /// request that is not JSON or fails its schema (the spec defines no answer for those).
    pub status: u16,
    /// Content-Type.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

/// Which negotiations the transferee accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptPolicy {
    /// Accept every negotiation (202).
    AcceptAll,
    /// Refuse every negotiation (406).
    RefuseAll,
    /// Accept while fewer than this many accepted negotiations are live (not expired, not
    /// executed); refuse (406) beyond.
    AcceptUpTo(usize),
}

/// Configuration of a [`Transferee`].
#[derive(Debug, Clone)]
pub struct TransfereeConfig {
    /// Which negotiations to accept.
    pub policy: AcceptPolicy,
    /// `ExpiryTime` of negotiation responses, seconds; at least 10 (A.2).
    pub expiry_time: u32,
    /// How long an `ExpiryTime` second lasts.
    pub time_scale: TimeScale,
    /// Time taken to process an execution request before answering (a simulated call
    /// taker); if the request's own `ExpiryTime` passes first, the transfer is not continued
    /// (6.3.3).
    pub processing_delay: Duration,
    /// How long expired, refused and executed negotiations are remembered (to tell "expired"
    /// from "never negotiated" and to decline a second execution).
    pub retention: Duration,
    /// Deliberate faults.
    pub faults: TransfereeFaults,
}

impl Default for TransfereeConfig {
    fn default() -> Self {
        Self {
            policy: AcceptPolicy::AcceptAll,
            expiry_time: 30,
            time_scale: TimeScale::REAL,
            processing_delay: Duration::ZERO,
            retention: Duration::from_secs(300),
            faults: TransfereeFaults::default(),
        }
    }
}

/// What the PSAP role has to know or do.
#[derive(Debug, Clone, PartialEq)]
pub enum TransfereeAction {
    /// A negotiation was accepted (202); execution requests are accepted until `expires_at`.
    NegotiationAccepted {
        /// The chat.
        call_id: String,
        /// `TransferFrom`.
        transfer_from: String,
        /// `TransferTo`.
        transfer_to: String,
        /// `ReasonText`.
        reason_text: Option<String>,
        /// End of the negotiation (`ExpiryTime` after the response).
        expires_at: Instant,
    },
    /// A negotiation was refused (406).
    NegotiationRefused {
        /// The chat.
        call_id: String,
    },
    /// An accepted negotiation expired without execution.
    NegotiationExpired {
        /// The chat.
        call_id: String,
    },
    /// 6.2.6: the transfer is executed (200 sent): send SIP `start|transfer/265` to the APP
    /// with Message Identifier `next_msg_id` (the execution request's `MessageId` + 1).
    StartTransferredChat {
        /// The chat.
        call_id: String,
        /// The Message Identifier of the `start|transfer/265`.
        next_msg_id: u64,
        /// `Data` of the execution request.
        history: Option<ChatData>,
        /// `TransferFrom` of the negotiation (None if there was none: `accept-after-expiry`).
        transfer_from: Option<String>,
    },
    /// An execution request was declined with 503.
    ExecutionDeclined {
        /// The chat.
        call_id: String,
        /// Why.
        reason: DeclineReason,
    },
    /// 6.3.3: the execution request's `ExpiryTime` passed before the response could be sent:
    /// the transfer is not continued and no response is sent.
    ExecutionAbandoned {
        /// The chat.
        call_id: String,
    },
}

/// Why an execution request was declined with 503.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineReason {
    /// The negotiation expired (6.3.2).
    NegotiationExpired,
    /// There was no negotiation (or it was refused).
    NoNegotiation,
    /// The negotiation was already used by an earlier execution.
    AlreadyExecuted,
}

/// One output of the [`Transferee`].
#[derive(Debug, Clone, PartialEq)]
pub enum TransfereeOutput {
    /// Answer request `request` with `reply`.
    Respond {
        /// The request.
        request: RequestId,
        /// The response.
        reply: Reply,
    },
    /// Do not answer request `request` (6.3.3: the transfer is not continued); the HTTP
    /// layer ends the exchange without a response.
    Abandon {
        /// The request.
        request: RequestId,
    },
    /// Something for the PSAP role.
    Action(TransfereeAction),
    /// The transferor deviated from TS 103 698.
    Violation(Violation),
}

/// State of one negotiation, by CallId.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegotiationState {
    /// Accepted and not expired: an execution request will be executed.
    Live,
    /// Refused with 406.
    Refused,
    /// Accepted but expired: execution requests get 503.
    Expired,
    /// Executed: further execution requests get 503.
    Executed,
}

#[derive(Debug)]
struct Negotiation {
    state: NegotiationState,
    transfer_from: String,
    expires_at: Instant,
    gen: u64,
}

#[derive(Debug)]
struct Pending {
    call_id: String,
    message_id: u64,
    history: Option<ChatData>,
    transfer_from: Option<String>,
    deadline: Instant,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Expire { call_id: String, gen: u64 },
    Forget { call_id: String, gen: u64 },
    Respond { request: RequestId },
}

/// The transferee machine.
#[derive(Debug)]
pub struct Transferee {
    cfg: TransfereeConfig,
    negotiations: HashMap<String, Negotiation>,
    live: usize,
    pending: HashMap<RequestId, Pending>,
    timers: TimerHeap<Timer>,
    out: VecDeque<TransfereeOutput>,
    gen: u64,
}

impl Transferee {
    /// A new transferee; `expiry_time` must be at least 10 (A.2; the `short-expiry` fault
    /// sends 5 regardless).
    pub fn new(cfg: TransfereeConfig) -> Result<Self, TransferError> {
        if cfg.expiry_time < MIN_EXPIRY_TIME {
            return Err(TransferError::Config(format!(
                "ExpiryTime {} < {MIN_EXPIRY_TIME} violates Annex A.2 (use TimeScale to wait less, or the short-expiry fault)",
                cfg.expiry_time
            )));
        }
        Ok(Self {
            cfg,
            negotiations: HashMap::new(),
            live: 0,
            pending: HashMap::new(),
            timers: TimerHeap::new(),
            out: VecDeque::new(),
            gen: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TransfereeConfig {
        &self.cfg
    }
    /// Replaces the deliberate faults.
    pub fn set_faults(&mut self, faults: TransfereeFaults) {
        self.cfg.faults = faults;
    }
    /// Replaces the accept policy.
    pub fn set_policy(&mut self, policy: AcceptPolicy) {
        self.cfg.policy = policy;
    }
    /// The state of the negotiation for `call_id`, if remembered.
    pub fn negotiation_state(&self, call_id: &str) -> Option<NegotiationState> {
        self.negotiations.get(call_id).map(|n| n.state)
    }
    /// Accepted negotiations that are neither expired nor executed.
    pub fn live_negotiations(&self) -> usize {
        self.live
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<TransfereeOutput> {
        self.out.pop_front()
    }
    /// When [`Transferee::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((_, timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::Expire { call_id, gen } => {
                    if let Some(n) = self.negotiations.get_mut(&call_id) {
                        if n.gen == gen && n.state == NegotiationState::Live {
                            n.state = NegotiationState::Expired;
                            self.live -= 1;
                            self.out.push_back(TransfereeOutput::Action(
                                TransfereeAction::NegotiationExpired { call_id },
                            ));
                        }
                    }
                }
                Timer::Forget { call_id, gen } => {
                    if self
                        .negotiations
                        .get(&call_id)
                        .is_some_and(|n| n.gen == gen && n.state != NegotiationState::Live)
                    {
                        self.negotiations.remove(&call_id);
                    }
                }
                Timer::Respond { request } => {
                    if let Some(p) = self.pending.remove(&request) {
                        self.finish_execution(now, request, p);
                    }
                }
            }
        }
        self.prune();
    }

    /// Drops timers that no longer matter, so `poll_timeout` stays exact.
    fn prune(&mut self) {
        let (negotiations, pending) = (&self.negotiations, &self.pending);
        self.timers.prune(|timer| match timer {
            Timer::Expire { call_id, gen } => !negotiations
                .get(call_id)
                .is_some_and(|n| n.gen == *gen && n.state == NegotiationState::Live),
            Timer::Forget { call_id, gen } => {
                negotiations.get(call_id).is_none_or(|n| n.gen != *gen)
            }
            Timer::Respond { request } => !pending.contains_key(request),
        });
    }

    /// A request received on `service`; `content_type` is the Content-Type header (None:
    /// absent).
    pub fn handle_request(
        &mut self,
        now: Instant,
        request: RequestId,
        service: Service,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        // Timers due now (e.g. an expiry at exactly `now`) take effect first.
        self.handle_timeout(now);
        match service {
            Service::Negotiation => self.on_negotiation(now, request, content_type, body),
            Service::Execution => self.on_execution(now, request, content_type, body),
        }
        self.prune();
    }

    fn violations(&mut self, v: Vec<Violation>) {
        self.out
            .extend(v.into_iter().map(TransfereeOutput::Violation));
    }

    fn bad_request(&mut self, request: RequestId, err: &TransferError) {
        self.out.push_back(TransfereeOutput::Respond {
            request,
            reply: Reply {
                status: 400,
                content_type: "text/plain; charset=utf-8",
                body: err.to_string().into_bytes(),
            },
        });
    }

    /// Sends `value` unless it fails the schema without a fault asking for that (then 500:
    /// the harness never sends an invalid body by accident).
    fn respond_json(
        &mut self,
        request: RequestId,
        status: u16,
        kind: SchemaKind,
        value: &Value,
        faulted: bool,
    ) {
        if !faulted {
            if let Err(violations) = validate(kind, value) {
                let err = TransferError::Schema { kind, violations };
                tracing::error!(%err, "transferee built an invalid response");
                self.out.push_back(TransfereeOutput::Respond {
                    request,
                    reply: Reply {
                        status: 500,
                        content_type: "text/plain; charset=utf-8",
                        body: format!("harness error: {err}").into_bytes(),
                    },
                });
                return;
            }
        }
        self.out.push_back(TransfereeOutput::Respond {
            request,
            reply: Reply {
                status,
                content_type: JSON_CONTENT_TYPE,
                body: value.to_string().into_bytes(),
            },
        });
    }

    fn answered_call_id(&self, call_id: &str) -> String {
        if self.cfg.faults.wrong_call_id {
            format!("{call_id}-wrong")
        } else {
            call_id.to_string()
        }
    }

    fn on_negotiation(
        &mut self,
        now: Instant,
        request: RequestId,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        let checked = check_negotiation_request(content_type, body);
        self.violations(checked.violations);
        let req = match checked.message {
            Ok(r) => r,
            Err(_) if self.cfg.faults.accept_invalid => {
                // Deliberately broken: accept what should have been refused.
                let call_id = serde_json::from_slice::<Value>(body)
                    .ok()
                    .and_then(|v| v.get("CallId").and_then(Value::as_str).map(str::to_string))
                    .unwrap_or_default();
                let value = serde_json::json!({
                    "CallId": call_id,
                    "ExpiryTime": self.cfg.expiry_time,
                    "StatusCode": 202,
                });
                return self.respond_json(
                    request,
                    202,
                    SchemaKind::NegotiationResponse,
                    &value,
                    true,
                );
            }
            Err(e) => return self.bad_request(request, &e),
        };
        let faults = self.cfg.faults.clone();
        let existing = self.negotiations.get(&req.call_id).map(|n| n.state);
        let accept = !faults.refuse_all
            && match self.cfg.policy {
                AcceptPolicy::AcceptAll => true,
                AcceptPolicy::RefuseAll => false,
                // A renegotiation of a live one does not count against the limit.
                AcceptPolicy::AcceptUpTo(n) => {
                    existing == Some(NegotiationState::Live) || self.live < n
                }
            };
        let expiry = if faults.short_expiry {
            5
        } else {
            self.cfg.expiry_time
        };
        self.gen += 1;
        let gen = self.gen;
        let expires_at = now + self.cfg.time_scale.wait(expiry);
        if existing == Some(NegotiationState::Live) {
            self.live -= 1;
        }
        let state = if accept {
            self.live += 1;
            self.timers.schedule(
                expires_at,
                Timer::Expire {
                    call_id: req.call_id.clone(),
                    gen,
                },
            );
            self.out.push_back(TransfereeOutput::Action(
                TransfereeAction::NegotiationAccepted {
                    call_id: req.call_id.clone(),
                    transfer_from: req.transfer_from.clone(),
                    transfer_to: req.transfer_to.clone(),
                    reason_text: req.reason_text.clone(),
                    expires_at,
                },
            ));
            NegotiationState::Live
        } else {
            self.out.push_back(TransfereeOutput::Action(
                TransfereeAction::NegotiationRefused {
                    call_id: req.call_id.clone(),
                },
            ));
            NegotiationState::Refused
        };
        self.timers.schedule(
            expires_at.max(now) + self.cfg.retention,
            Timer::Forget {
                call_id: req.call_id.clone(),
                gen,
            },
        );
        self.negotiations.insert(
            req.call_id.clone(),
            Negotiation {
                state,
                transfer_from: req.transfer_from.clone(),
                expires_at,
                gen,
            },
        );
        let status = match (accept, faults.status_200_on_negotiation) {
            (true, true) => OK,
            (true, false) => ACCEPTED,
            (false, _) => NOT_ACCEPTABLE,
        };
        if faults.non_json {
            self.out.push_back(TransfereeOutput::Respond {
                request,
                reply: Reply {
                    status,
                    content_type: "text/plain; charset=utf-8",
                    body: format!("Transfer of {} accepted", req.call_id).into_bytes(),
                },
            });
            return;
        }
        let mut value = json!({
            "CallId": self.answered_call_id(&req.call_id),
            "ExpiryTime": expiry,
            "StatusCode": status,
        });
        if faults.missing_status_code {
            if let Value::Object(m) = &mut value {
                m.remove("StatusCode");
            }
        }
        let faulted = faults.short_expiry
            || faults.status_200_on_negotiation
            || faults.missing_status_code
            || faults.wrong_call_id;
        self.respond_json(
            request,
            status,
            SchemaKind::NegotiationResponse,
            &value,
            faulted,
        );
    }

    fn on_execution(
        &mut self,
        now: Instant,
        request: RequestId,
        content_type: Option<&str>,
        body: &[u8],
    ) {
        let checked = check_execution_request(content_type, body);
        self.violations(checked.violations);
        let req = match checked.message {
            Ok(r) => r,
            Err(e) => return self.bad_request(request, &e),
        };
        let deadline = now + self.cfg.time_scale.wait(req.expiry_time);
        let mut state = self
            .negotiations
            .get(&req.call_id)
            .map(|n| (n.state, n.expires_at));
        if let Some((NegotiationState::Live, expires_at)) = state {
            if now >= expires_at {
                // Expired at this instant; the timer has not fired yet.
                self.expire_now(&req.call_id);
                state = Some((NegotiationState::Expired, expires_at));
            }
        }
        let decline = match state.map(|(s, _)| s) {
            Some(NegotiationState::Live) => None,
            Some(NegotiationState::Expired) => Some(DeclineReason::NegotiationExpired),
            Some(NegotiationState::Executed) => Some(DeclineReason::AlreadyExecuted),
            Some(NegotiationState::Refused) | None => {
                self.out.push_back(TransfereeOutput::Violation(Violation::new(
                    "6.3.1",
                    "a chatTransferExecutionRequest follows an accepted (202) chatTransferNegotiation for its CallId",
                    match state {
                        None => format!("no negotiation for CallId {:?}", req.call_id),
                        Some(_) => format!("the negotiation for CallId {:?} was refused (406)", req.call_id),
                    },
                )));
                Some(DeclineReason::NoNegotiation)
            }
        };
        if let Some(reason) = decline {
            if !self.cfg.faults.accept_after_expiry {
                self.out.push_back(TransfereeOutput::Action(
                    TransfereeAction::ExecutionDeclined {
                        call_id: req.call_id.clone(),
                        reason,
                    },
                ));
                let value = json!({
                    "CallId": self.answered_call_id(&req.call_id),
                    "StatusCode": SERVICE_UNAVAILABLE,
                });
                let faulted = self.cfg.faults.wrong_call_id;
                self.respond_json(
                    request,
                    SERVICE_UNAVAILABLE,
                    SchemaKind::ExecutionResponse,
                    &value,
                    faulted,
                );
                return;
            }
        }
        let transfer_from = match self.negotiations.get_mut(&req.call_id) {
            Some(n) => {
                if n.state == NegotiationState::Live {
                    self.live -= 1;
                }
                n.state = NegotiationState::Executed;
                Some(n.transfer_from.clone())
            }
            None => None,
        };
        let pending = Pending {
            call_id: req.call_id,
            message_id: req.message_id,
            history: req.data,
            transfer_from,
            deadline,
        };
        let respond_at = if self.cfg.faults.slow_execution {
            deadline + self.cfg.time_scale.per_second
        } else {
            // Never later than the request's expiry: then the transfer is abandoned.
            (now + self.cfg.processing_delay).min(deadline)
        };
        if respond_at <= now {
            self.finish_execution(now, request, pending);
        } else {
            self.pending.insert(request, pending);
            self.timers.schedule(respond_at, Timer::Respond { request });
        }
    }

    fn expire_now(&mut self, call_id: &str) {
        if let Some(n) = self.negotiations.get_mut(call_id) {
            if n.state == NegotiationState::Live {
                n.state = NegotiationState::Expired;
                self.live -= 1;
                self.out.push_back(TransfereeOutput::Action(
                    TransfereeAction::NegotiationExpired {
                        call_id: call_id.to_string(),
                    },
                ));
            }
        }
    }

    fn finish_execution(&mut self, now: Instant, request: RequestId, p: Pending) {
        if now >= p.deadline && !self.cfg.faults.slow_execution {
            // 6.3.3: the response would be pending after expiry: do not continue.
            self.out.push_back(TransfereeOutput::Abandon { request });
            self.out.push_back(TransfereeOutput::Action(
                TransfereeAction::ExecutionAbandoned { call_id: p.call_id },
            ));
            return;
        }
        let value = json!({
            "CallId": self.answered_call_id(&p.call_id),
            "StatusCode": OK,
        });
        let faulted = self.cfg.faults.wrong_call_id;
        self.respond_json(request, OK, SchemaKind::ExecutionResponse, &value, faulted);
        self.out.push_back(TransfereeOutput::Action(
            TransfereeAction::StartTransferredChat {
                call_id: p.call_id,
                next_msg_id: p.message_id.saturating_add(1),
                history: p.history,
                transfer_from: p.transfer_from,
            },
        ));
    }
}
