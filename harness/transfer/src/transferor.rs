//! The transferor: the requesting client of 6.3 (the transferring PSAP), sans-IO.
//!
//! Per chat: Idle → Negotiating (negotiation request sent) → on 202:
//! [`TransferorOutput::SendStopTransfer`] (the caller sends SIP `stop|transfer/266` with the
//! last Message Identifier used) and Executing (execution request sent, `MessageId` = last
//! Message Identifier used, `Data` = the history) → on 200: Completed. On 406, 503, a
//! response that fails its schema or answers another CallId, a transport error, or no
//! response before the deadline: [`TransferorOutput::Reactivate`] (6.3.3: "the transferor
//! shall re-activate the emergency chat").
//!
//! The caller sends every [`TransferorOutput::Send`] (e.g. with
//! [`crate::http::TransferClient`]) and reports the outcome with
//! [`Transferor::handle_response`] or [`Transferor::handle_transport_error`]; timers via
//! [`Transferor::poll_timeout`] / [`Transferor::handle_timeout`].

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::checks::{check_execution_response, check_negotiation_response, Checked};
use crate::model::{
    ChatData, ExecutionRequest, Message, NegotiationRequest, ACCEPTED, MIN_EXPIRY_TIME, OK,
    SERVICE_UNAVAILABLE,
};
use crate::schema::{validate, SchemaKind};
use crate::timers::TimerHeap;
use crate::transferee::Service;
use crate::{TimeScale, TransferError, TransferorFaults, Violation};

/// Configuration of a [`Transferor`].
#[derive(Debug, Clone)]
pub struct TransferorConfig {
    /// `TransferFrom`: the transferor's own SIP URI.
    pub transfer_from: String,
    /// `ExpiryTime` of execution requests, seconds; at least 10 (A.3).
    pub expiry_time: u32,
    /// How long an `ExpiryTime` second lasts.
    pub time_scale: TimeScale,
    /// How long to wait for a negotiation response. The negotiation request carries no
    /// `ExpiryTime`, so the spec sets no limit; this is the harness's.
    pub negotiation_timeout: Duration,
    /// Time between the 202 and the execution request (a simulated call taker confirming);
    /// longer than the negotiation's `ExpiryTime` tests the transferee's 503 (6.3.2).
    pub execute_delay: Duration,
    /// How long after the execution request's `ExpiryTime` a late response is still awaited,
    /// only to report it (6.3.3); the chat is re-activated at the `ExpiryTime` regardless.
    pub late_grace: Duration,
    /// The scenario premise that transferor and transferee hold a transfer agreement
    /// (6.2.6): a 406 is then reported as a violation.
    pub expect_accept: bool,
    /// Deliberate faults.
    pub faults: TransferorFaults,
}

impl Default for TransferorConfig {
    fn default() -> Self {
        Self {
            transfer_from: "sip:transferor@lmpe-harness.invalid".into(),
            expiry_time: 30,
            time_scale: TimeScale::REAL,
            negotiation_timeout: Duration::from_secs(10),
            execute_delay: Duration::ZERO,
            late_grace: Duration::from_secs(5),
            expect_accept: false,
            faults: TransferorFaults::default(),
        }
    }
}

/// What to transfer.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferRequest {
    /// `CallId` of the chat.
    pub call_id: String,
    /// `TransferTo`: the transferee's SIP URI.
    pub transfer_to: String,
    /// `ReasonText`.
    pub reason_text: Option<String>,
    /// The last Message Identifier the transferor used in the chat (>= 1): the
    /// `stop|transfer/266` carries it and so does the execution request's `MessageId`.
    pub last_msg_id: u64,
    /// `Data` of the execution request.
    pub history: Option<ChatData>,
}

/// An HTTP response as the machine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedResponse {
    /// HTTP status.
    pub status: u16,
    /// Content-Type header (None: absent; flagged under the harness HTTP profile).
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// A request the caller has to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingRequest {
    /// The chat.
    pub call_id: String,
    /// Which web service.
    pub service: Service,
    /// The JSON body.
    pub body: Vec<u8>,
    /// Whether the body satisfies its schema (false only under a fault).
    pub valid: bool,
    /// The machine re-activates the chat if no response arrived by then.
    pub respond_by: Instant,
    /// How long the HTTP layer keeps the exchange open (`respond_by` plus the grace for
    /// observing a late response).
    pub wait_until: Instant,
}

/// Why a chat is re-activated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReactivateReason {
    /// The negotiation was refused (406).
    Refused,
    /// The execution was declined (503).
    Declined,
    /// The response is not JSON, fails its schema or answers another CallId.
    InvalidResponse {
        /// Which web service.
        service: Service,
        /// What was wrong.
        detail: String,
    },
    /// A deliberately invalid request (fault) was rejected with this HTTP status.
    Rejected {
        /// Which web service.
        service: Service,
        /// HTTP status.
        status: u16,
    },
    /// The HTTP exchange failed.
    Transport {
        /// Which web service.
        service: Service,
        /// What failed.
        detail: String,
    },
    /// No response in time (the execution request's `ExpiryTime`, 6.3.3, or the harness's
    /// negotiation timeout).
    Timeout {
        /// Which web service.
        service: Service,
    },
}

/// One output of the [`Transferor`].
#[derive(Debug, Clone, PartialEq)]
pub enum TransferorOutput {
    /// Send this request.
    Send(OutgoingRequest),
    /// 6.2.6: send SIP `stop|transfer/266` to the APP with Message Identifier `last_msg_id`,
    /// then send no more chat messages.
    SendStopTransfer {
        /// The chat.
        call_id: String,
        /// The last Message Identifier used.
        last_msg_id: u64,
    },
    /// The transfer is executed (200): the chat now belongs to the transferee.
    Completed {
        /// The chat.
        call_id: String,
    },
    /// 6.3.3: the transfer failed: re-activate the chat.
    Reactivate {
        /// The chat.
        call_id: String,
        /// Why.
        reason: ReactivateReason,
    },
    /// The transferee deviated from TS 103 698.
    Violation {
        /// The chat.
        call_id: String,
        /// What.
        violation: Violation,
    },
}

/// Where a transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferState {
    /// Negotiation request sent.
    Negotiating,
    /// 202 received; the execution request goes out after `execute_delay`.
    AwaitingExecution,
    /// Execution request sent.
    Executing,
    /// 200 received.
    Completed,
    /// Failed; the chat is re-activated.
    Reactivated,
}

impl TransferState {
    fn name(self) -> &'static str {
        match self {
            TransferState::Negotiating => "negotiating",
            TransferState::AwaitingExecution => "awaiting-execution",
            TransferState::Executing => "executing",
            TransferState::Completed => "completed",
            TransferState::Reactivated => "reactivated",
        }
    }
    fn is_terminal(self) -> bool {
        matches!(self, TransferState::Completed | TransferState::Reactivated)
    }
}

#[derive(Debug)]
struct Transfer {
    req: TransferRequest,
    state: TransferState,
    gen: u64,
    /// Whether the last request sent satisfied its schema.
    sent_valid: bool,
    negotiation_expires_at: Option<Instant>,
    /// Execution: the request's deadline and whether it went out after the negotiation
    /// expired.
    execution: Option<(Instant, u32, bool)>,
    /// After an execution timeout: a late response is reported until then.
    late_until: Option<Instant>,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    Deadline {
        call_id: String,
        gen: u64,
        service: Service,
    },
    Execute {
        call_id: String,
        gen: u64,
    },
}

/// The transferor machine.
#[derive(Debug)]
pub struct Transferor {
    cfg: TransferorConfig,
    transfers: HashMap<String, Transfer>,
    timers: TimerHeap<Timer>,
    out: VecDeque<TransferorOutput>,
    gen: u64,
}

impl Transferor {
    /// A new transferor; `expiry_time` must be at least 10 (A.3; the `short-expiry` fault
    /// sends 5 regardless).
    pub fn new(cfg: TransferorConfig) -> Result<Self, TransferError> {
        if cfg.expiry_time < MIN_EXPIRY_TIME {
            return Err(TransferError::Config(format!(
                "ExpiryTime {} < {MIN_EXPIRY_TIME} violates Annex A.3 (use TimeScale to wait less, or the short-expiry fault)",
                cfg.expiry_time
            )));
        }
        Ok(Self {
            cfg,
            transfers: HashMap::new(),
            timers: TimerHeap::new(),
            out: VecDeque::new(),
            gen: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TransferorConfig {
        &self.cfg
    }
    /// Replaces the deliberate faults.
    pub fn set_faults(&mut self, faults: TransferorFaults) {
        self.cfg.faults = faults;
    }
    /// Where the transfer of `call_id` stands.
    pub fn state(&self, call_id: &str) -> Option<TransferState> {
        self.transfers.get(call_id).map(|t| t.state)
    }
    /// Forgets a finished transfer (returns false if unknown or still under way).
    pub fn forget(&mut self, call_id: &str) -> bool {
        if self.state(call_id).is_some_and(TransferState::is_terminal) {
            self.transfers.remove(call_id);
            self.prune();
            true
        } else {
            false
        }
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<TransferorOutput> {
        self.out.pop_front()
    }
    /// When [`Transferor::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Starts transferring a chat: sends the negotiation request (6.3.2), or with the
    /// `no-negotiation` fault the execution request at once. Fails (sending nothing) if a
    /// transfer of the chat is under way or if a request would violate its schema without a
    /// fault asking for that (e.g. `last_msg_id` 0).
    pub fn start(&mut self, now: Instant, req: TransferRequest) -> Result<(), TransferError> {
        let r = self.start_inner(now, req);
        self.prune();
        r
    }

    fn start_inner(&mut self, now: Instant, req: TransferRequest) -> Result<(), TransferError> {
        if self.state(&req.call_id).is_some_and(|s| !s.is_terminal()) {
            return Err(TransferError::TransferInProgress(req.call_id));
        }
        let faults = self.cfg.faults.clone();
        // Both bodies must satisfy their schemas unless a fault breaks them on purpose.
        if !faults.message_id_zero && !faults.short_expiry {
            let probe = self.execution_request(&req);
            validate(SchemaKind::ExecutionRequest, &probe.to_value()).map_err(|violations| {
                TransferError::Schema {
                    kind: SchemaKind::ExecutionRequest,
                    violations,
                }
            })?;
        }
        let mut neg = NegotiationRequest {
            call_id: req.call_id.clone(),
            transfer_from: self.cfg.transfer_from.clone(),
            transfer_to: req.transfer_to.clone(),
            reason_text: req.reason_text.clone(),
        }
        .to_value();
        if faults.missing_call_id {
            if let Value::Object(m) = &mut neg {
                m.remove("CallId");
            }
        }
        let valid = validate(SchemaKind::NegotiationRequest, &neg).is_ok();
        if !valid && !faults.missing_call_id {
            validate(SchemaKind::NegotiationRequest, &neg).map_err(|violations| {
                TransferError::Schema {
                    kind: SchemaKind::NegotiationRequest,
                    violations,
                }
            })?;
        }
        self.gen += 1;
        let call_id = req.call_id.clone();
        self.transfers.insert(
            call_id.clone(),
            Transfer {
                req,
                state: TransferState::Negotiating,
                gen: self.gen,
                sent_valid: valid,
                negotiation_expires_at: None,
                execution: None,
                late_until: None,
            },
        );
        if faults.no_negotiation {
            self.stop_and_execute(now, &call_id);
            return Ok(());
        }
        let respond_by = now + self.cfg.negotiation_timeout;
        self.timers.schedule(
            respond_by,
            Timer::Deadline {
                call_id: call_id.clone(),
                gen: self.gen,
                service: Service::Negotiation,
            },
        );
        self.out.push_back(TransferorOutput::Send(OutgoingRequest {
            call_id,
            service: Service::Negotiation,
            body: neg.to_string().into_bytes(),
            valid,
            respond_by,
            wait_until: respond_by,
        }));
        Ok(())
    }

    fn execution_request(&self, req: &TransferRequest) -> ExecutionRequest {
        ExecutionRequest {
            call_id: req.call_id.clone(),
            message_id: if self.cfg.faults.message_id_zero {
                0
            } else {
                req.last_msg_id
            },
            expiry_time: if self.cfg.faults.short_expiry {
                5
            } else {
                self.cfg.expiry_time
            },
            data: req.history.clone(),
        }
    }

    fn stop_and_execute(&mut self, now: Instant, call_id: &str) {
        let Some(t) = self.transfers.get(call_id) else {
            return;
        };
        self.out.push_back(TransferorOutput::SendStopTransfer {
            call_id: call_id.to_string(),
            last_msg_id: t.req.last_msg_id,
        });
        if self.cfg.execute_delay.is_zero() {
            self.send_execution(now, call_id);
        } else {
            let gen = t.gen;
            if let Some(t) = self.transfers.get_mut(call_id) {
                t.state = TransferState::AwaitingExecution;
            }
            self.timers.schedule(
                now + self.cfg.execute_delay,
                Timer::Execute {
                    call_id: call_id.to_string(),
                    gen,
                },
            );
        }
    }

    fn send_execution(&mut self, now: Instant, call_id: &str) {
        let Some(t) = self.transfers.get(call_id) else {
            return;
        };
        let exec = self.execution_request(&t.req);
        let value = exec.to_value();
        let valid = validate(SchemaKind::ExecutionRequest, &value).is_ok();
        let respond_by = now + self.cfg.time_scale.wait(exec.expiry_time);
        let wait_until = respond_by + self.cfg.late_grace;
        let after_expiry = t.negotiation_expires_at.is_some_and(|e| now >= e);
        let gen = t.gen;
        if let Some(t) = self.transfers.get_mut(call_id) {
            t.state = TransferState::Executing;
            t.sent_valid = valid;
            t.execution = Some((respond_by, exec.expiry_time, after_expiry));
        }
        self.timers.schedule(
            respond_by,
            Timer::Deadline {
                call_id: call_id.to_string(),
                gen,
                service: Service::Execution,
            },
        );
        self.out.push_back(TransferorOutput::Send(OutgoingRequest {
            call_id: call_id.to_string(),
            service: Service::Execution,
            body: value.to_string().into_bytes(),
            valid,
            respond_by,
            wait_until,
        }));
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((_, timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::Deadline { call_id, gen, .. } => {
                    let Some(t) = self.transfers.get_mut(&call_id) else {
                        continue;
                    };
                    if t.gen != gen {
                        continue;
                    }
                    let service = match t.state {
                        TransferState::Negotiating => Service::Negotiation,
                        TransferState::Executing => Service::Execution,
                        _ => continue,
                    };
                    if service == Service::Execution {
                        t.late_until = Some(now + self.cfg.late_grace);
                    }
                    self.reactivate(&call_id, ReactivateReason::Timeout { service });
                }
                Timer::Execute { call_id, gen } => {
                    if self.transfers.get(&call_id).is_some_and(|t| {
                        t.gen == gen && t.state == TransferState::AwaitingExecution
                    }) {
                        self.send_execution(now, &call_id);
                    }
                }
            }
        }
        self.prune();
    }

    /// Drops timers of transfers that moved on, so `poll_timeout` stays exact.
    fn prune(&mut self) {
        let transfers = &self.transfers;
        self.timers.prune(|timer| match timer {
            Timer::Deadline {
                call_id,
                gen,
                service,
            } => !transfers.get(call_id).is_some_and(|t| {
                t.gen == *gen
                    && matches!(
                        (t.state, service),
                        (TransferState::Negotiating, Service::Negotiation)
                            | (TransferState::Executing, Service::Execution)
                    )
            }),
            Timer::Execute { call_id, gen } => !transfers
                .get(call_id)
                .is_some_and(|t| t.gen == *gen && t.state == TransferState::AwaitingExecution),
        });
    }

    fn reactivate(&mut self, call_id: &str, reason: ReactivateReason) {
        if let Some(t) = self.transfers.get_mut(call_id) {
            t.state = TransferState::Reactivated;
        }
        self.out.push_back(TransferorOutput::Reactivate {
            call_id: call_id.to_string(),
            reason,
        });
    }

    fn violation(&mut self, call_id: &str, violation: Violation) {
        self.out.push_back(TransferorOutput::Violation {
            call_id: call_id.to_string(),
            violation,
        });
    }

    /// The HTTP exchange for `call_id`'s request on `service` failed (ignored if the transfer
    /// already ended, e.g. the exchange outlived the deadline).
    pub fn handle_transport_error(
        &mut self,
        now: Instant,
        call_id: &str,
        service: Service,
        detail: &str,
    ) -> Result<(), TransferError> {
        let r = self.transport_error_inner(now, call_id, service, detail);
        self.prune();
        r
    }

    fn transport_error_inner(
        &mut self,
        now: Instant,
        call_id: &str,
        service: Service,
        detail: &str,
    ) -> Result<(), TransferError> {
        self.handle_timeout(now);
        let t = self
            .transfers
            .get(call_id)
            .ok_or_else(|| TransferError::UnknownTransfer(call_id.to_string()))?;
        let expected = match t.state {
            TransferState::Negotiating => Service::Negotiation,
            TransferState::Executing => Service::Execution,
            // Already given up (e.g. the exchange outlived the deadline): nothing to do.
            TransferState::Reactivated | TransferState::Completed => return Ok(()),
            TransferState::AwaitingExecution => {
                return Err(TransferError::NoRequestInFlight {
                    call_id: call_id.to_string(),
                    state: t.state.name(),
                })
            }
        };
        if expected != service {
            return Err(TransferError::NoRequestInFlight {
                call_id: call_id.to_string(),
                state: t.state.name(),
            });
        }
        self.reactivate(
            call_id,
            ReactivateReason::Transport {
                service,
                detail: detail.to_string(),
            },
        );
        Ok(())
    }

    /// The response to `call_id`'s request on `service`. A response after the execution
    /// request's deadline (within `late_grace`) is reported as a 6.3.3 violation; other
    /// responses without a request in flight are errors.
    pub fn handle_response(
        &mut self,
        now: Instant,
        call_id: &str,
        service: Service,
        resp: &ReceivedResponse,
    ) -> Result<(), TransferError> {
        let r = self.response_inner(now, call_id, service, resp);
        self.prune();
        r
    }

    fn response_inner(
        &mut self,
        now: Instant,
        call_id: &str,
        service: Service,
        resp: &ReceivedResponse,
    ) -> Result<(), TransferError> {
        self.handle_timeout(now);
        let t = self
            .transfers
            .get_mut(call_id)
            .ok_or_else(|| TransferError::UnknownTransfer(call_id.to_string()))?;
        match (t.state, service) {
            (TransferState::Negotiating, Service::Negotiation) => {
                self.on_negotiation_response(now, call_id, resp);
                Ok(())
            }
            (TransferState::Executing, Service::Execution) => {
                self.on_execution_response(call_id, resp);
                Ok(())
            }
            (TransferState::Reactivated, Service::Execution)
                if t.late_until.is_some_and(|u| now <= u) =>
            {
                t.late_until = None;
                let (deadline, expiry, _) = t.execution.unwrap_or((now, 0, false));
                let late = now.saturating_duration_since(deadline);
                let detail = format!(
                    "HTTP {} ({}) arrived {late:?} after the request's ExpiryTime of {expiry} s; the chat was re-activated",
                    resp.status,
                    crate::checks::excerpt(&resp.body)
                );
                self.violation(
                    call_id,
                    Violation::new(
                        "6.3.3",
                        "the chatTransferExecutionResponse arrives before the request's ExpiryTime (the transferee does not continue processing after it)",
                        detail,
                    ),
                );
                Ok(())
            }
            (state, _) => Err(TransferError::NoRequestInFlight {
                call_id: call_id.to_string(),
                state: state.name(),
            }),
        }
    }

    /// Emits the violations of `checked` unless our own request was deliberately invalid and
    /// the peer rejected it (then the rejection is right); returns whether it was such a
    /// rejection.
    fn report<T>(
        &mut self,
        call_id: &str,
        service: Service,
        checked: &Checked<T>,
        resp: &ReceivedResponse,
    ) -> bool {
        let sent_valid = self.transfers.get(call_id).is_none_or(|t| t.sent_valid);
        if !sent_valid && checked.message.is_err() && (400..600).contains(&resp.status) {
            self.reactivate(
                call_id,
                ReactivateReason::Rejected {
                    service,
                    status: resp.status,
                },
            );
            return true;
        }
        for v in &checked.violations {
            self.violation(call_id, v.clone());
        }
        false
    }

    fn on_negotiation_response(&mut self, now: Instant, call_id: &str, resp: &ReceivedResponse) {
        let request_call_id = if self.cfg.faults.missing_call_id {
            None
        } else {
            Some(call_id)
        };
        let checked =
            check_negotiation_response(request_call_id, resp.content_type.as_deref(), &resp.body);
        if self.report(call_id, Service::Negotiation, &checked, resp) {
            return;
        }
        match checked.message {
            Ok(m) if m.status_code == ACCEPTED => {
                if self.cfg.faults.missing_call_id {
                    self.violation(
                        call_id,
                        Violation::new(
                            "6.3.2",
                            "a chatTransferNegotiationRequest that fails the Annex A.1 schema is not accepted (202)",
                            "the request had no CallId and was answered StatusCode 202".to_string(),
                        ),
                    );
                }
                let expires = now + self.cfg.time_scale.wait(m.expiry_time);
                if let Some(t) = self.transfers.get_mut(call_id) {
                    t.negotiation_expires_at = Some(expires);
                }
                self.stop_and_execute(now, call_id);
            }
            Ok(m) => {
                if self.cfg.expect_accept {
                    self.violation(
                        call_id,
                        Violation::new(
                            "6.2.6",
                            "a transferee holding a transfer agreement with the transferor accepts the chatTransferNegotiationRequest (202)",
                            format!("StatusCode {}", m.status_code),
                        ),
                    );
                }
                self.reactivate(call_id, ReactivateReason::Refused);
            }
            Err(e) => self.reactivate(
                call_id,
                ReactivateReason::InvalidResponse {
                    service: Service::Negotiation,
                    detail: e.to_string(),
                },
            ),
        }
    }

    fn on_execution_response(&mut self, call_id: &str, resp: &ReceivedResponse) {
        let checked = check_execution_response(call_id, resp.content_type.as_deref(), &resp.body);
        if self.report(call_id, Service::Execution, &checked, resp) {
            return;
        }
        let after_expiry = self
            .transfers
            .get(call_id)
            .and_then(|t| t.execution)
            .is_some_and(|(_, _, after)| after);
        match checked.message {
            Ok(m) if m.status_code == OK => {
                if after_expiry {
                    self.violation(
                        call_id,
                        Violation::new(
                            "6.3.2",
                            "a chatTransferExecutionRequest sent after the negotiation's ExpiryTime is declined with 503",
                            "StatusCode 200",
                        ),
                    );
                }
                if let Some(t) = self.transfers.get_mut(call_id) {
                    t.state = TransferState::Completed;
                }
                self.out.push_back(TransferorOutput::Completed {
                    call_id: call_id.to_string(),
                });
            }
            Ok(m) if m.status_code == SERVICE_UNAVAILABLE => {
                self.reactivate(call_id, ReactivateReason::Declined)
            }
            Ok(m) => self.reactivate(
                call_id,
                ReactivateReason::InvalidResponse {
                    service: Service::Execution,
                    detail: format!("StatusCode {}", m.status_code),
                },
            ),
            Err(e) => self.reactivate(
                call_id,
                ReactivateReason::InvalidResponse {
                    service: Service::Execution,
                    detail: e.to_string(),
                },
            ),
        }
    }
}
