//! Shared test helpers: an in-memory transferor ↔ transferee pair on virtual time.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use lmpe_transfer::model::{ChatData, ChatHistory, ChatMessage, Direction};
use lmpe_transfer::transferee::{
    RequestId, Service, Transferee, TransfereeAction, TransfereeConfig, TransfereeOutput,
};
use lmpe_transfer::transferor::{
    ReceivedResponse, TransferRequest, Transferor, TransferorConfig, TransferorOutput,
};
use lmpe_transfer::Violation;

pub const S: Duration = Duration::from_secs(1);
pub const CALL: &str = "urn:emergency:uid:callid:a56e556d871:dec112.at";

pub fn history() -> ChatData {
    ChatData::History(ChatHistory {
        app_uri: None,
        service: None,
        messages: vec![
            ChatMessage {
                msg_id: 1,
                direction: Direction::AppToPsap,
                message_type: "start/257".into(),
                text: "I need help".into(),
                at: "2026-11-21T12:00:00Z".into(),
            },
            ChatMessage {
                msg_id: 1,
                direction: Direction::PsapToApp,
                message_type: "start/257".into(),
                text: "Where are you?".into(),
                at: "2026-11-21T12:00:01Z".into(),
            },
        ],
    })
}

pub fn transfer(call_id: &str, last_msg_id: u64) -> TransferRequest {
    TransferRequest {
        call_id: call_id.into(),
        transfer_to: "sip:psap-b@example.at".into(),
        reason_text: Some("language".into()),
        last_msg_id,
        history: Some(history()),
    }
}

/// A transferor and a transferee wired back to back with zero latency; time is virtual.
pub struct Pair {
    pub now: Instant,
    pub tor: Transferor,
    pub tee: Transferee,
    pub tor_out: Vec<TransferorOutput>,
    pub tee_out: Vec<TransfereeOutput>,
    /// Requests the transferee has not answered: id → (call, service).
    in_flight: HashMap<RequestId, (String, Service)>,
    next_id: RequestId,
}

impl Pair {
    pub fn new(tor: TransferorConfig, tee: TransfereeConfig) -> Self {
        Self {
            now: Instant::now(),
            tor: Transferor::new(tor).unwrap(),
            tee: Transferee::new(tee).unwrap(),
            tor_out: Vec::new(),
            tee_out: Vec::new(),
            in_flight: HashMap::new(),
            next_id: 0,
        }
    }

    pub fn start(&mut self, req: TransferRequest) {
        self.tor.start(self.now, req).unwrap();
    }

    /// Delivers everything and fires timers until `limit` of virtual time has passed or
    /// nothing is left to do.
    pub fn run_for(&mut self, limit: Duration) {
        let end = self.now + limit;
        loop {
            let mut busy = false;
            while let Some(o) = self.tor.poll_output() {
                busy = true;
                match o {
                    TransferorOutput::Send(req) => {
                        self.next_id += 1;
                        self.in_flight
                            .insert(self.next_id, (req.call_id.clone(), req.service));
                        self.tee.handle_request(
                            self.now,
                            self.next_id,
                            req.service,
                            Some("application/json"),
                            &req.body,
                        );
                    }
                    other => self.tor_out.push(other),
                }
            }
            while let Some(o) = self.tee.poll_output() {
                busy = true;
                match o {
                    TransfereeOutput::Respond { request, reply } => {
                        let (call_id, service) = self.in_flight.remove(&request).unwrap();
                        let resp = ReceivedResponse {
                            status: reply.status,
                            content_type: Some(reply.content_type.into()),
                            body: reply.body.clone(),
                        };
                        // Late answers to a finished transfer are errors; keep going.
                        let _ = self.tor.handle_response(self.now, &call_id, service, &resp);
                        self.tee_out
                            .push(TransfereeOutput::Respond { request, reply });
                    }
                    TransfereeOutput::Abandon { request } => {
                        self.in_flight.remove(&request);
                        self.tee_out.push(TransfereeOutput::Abandon { request });
                    }
                    other => self.tee_out.push(other),
                }
            }
            if busy {
                continue;
            }
            let next = [self.tor.poll_timeout(), self.tee.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.tor.handle_timeout(self.now);
                    self.tee.handle_timeout(self.now);
                }
                _ => {
                    self.now = end;
                    return;
                }
            }
        }
    }

    /// Violations the transferor found in the transferee's messages.
    pub fn tor_violations(&self) -> Vec<Violation> {
        self.tor_out
            .iter()
            .filter_map(|o| match o {
                TransferorOutput::Violation { violation, .. } => Some(violation.clone()),
                _ => None,
            })
            .collect()
    }

    /// Violations the transferee found in the transferor's messages.
    pub fn tee_violations(&self) -> Vec<Violation> {
        self.tee_out
            .iter()
            .filter_map(|o| match o {
                TransfereeOutput::Violation(v) => Some(v.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn tee_actions(&self) -> Vec<TransfereeAction> {
        self.tee_out
            .iter()
            .filter_map(|o| match o {
                TransfereeOutput::Action(a) => Some(a.clone()),
                _ => None,
            })
            .collect()
    }

    /// Transferor outputs other than violations.
    pub fn tor_outcomes(&self) -> Vec<TransferorOutput> {
        self.tor_out
            .iter()
            .filter(|o| !matches!(o, TransferorOutput::Violation { .. }))
            .cloned()
            .collect()
    }
}
