//! The sans-IO machines on virtual time.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

mod common;

use std::time::{Duration, Instant};

use common::{history, transfer, Pair, CALL, S};
use lmpe_transfer::model::{ExecutionRequest, Message, NegotiationRequest};
use lmpe_transfer::transferee::{
    AcceptPolicy, DeclineReason, NegotiationState, Reply, Service, Transferee, TransfereeAction,
    TransfereeConfig, TransfereeOutput,
};
use lmpe_transfer::transferor::{
    ReactivateReason, ReceivedResponse, TransferState, Transferor, TransferorConfig,
    TransferorOutput,
};
use lmpe_transfer::{TimeScale, TransferError};
use serde_json::{json, Value};

const JSON: Option<&str> = Some("application/json");

fn negotiation(call_id: &str) -> Vec<u8> {
    NegotiationRequest {
        call_id: call_id.into(),
        transfer_from: "sip:psap-a@example.at".into(),
        transfer_to: "sip:psap-b@example.at".into(),
        reason_text: None,
    }
    .to_body()
}

fn execution(call_id: &str, message_id: u64, expiry_time: u32) -> Vec<u8> {
    ExecutionRequest {
        call_id: call_id.into(),
        message_id,
        expiry_time,
        data: Some(history()),
    }
    .to_body()
}

/// The single reply to `request` among the outputs, and the other outputs.
fn drain(
    tee: &mut Transferee,
) -> (
    Vec<(u64, Reply)>,
    Vec<TransfereeAction>,
    Vec<lmpe_transfer::Violation>,
    Vec<u64>,
) {
    let (mut replies, mut actions, mut violations, mut abandoned) =
        (vec![], vec![], vec![], vec![]);
    while let Some(o) = tee.poll_output() {
        match o {
            TransfereeOutput::Respond { request, reply } => replies.push((request, reply)),
            TransfereeOutput::Action(a) => actions.push(a),
            TransfereeOutput::Violation(v) => violations.push(v),
            TransfereeOutput::Abandon { request } => abandoned.push(request),
        }
    }
    (replies, actions, violations, abandoned)
}

fn body(reply: &Reply) -> Value {
    serde_json::from_slice(&reply.body).unwrap()
}

fn tee(cfg: TransfereeConfig) -> Transferee {
    Transferee::new(cfg).unwrap()
}

#[test]
fn transferee_accepts_then_executes_with_message_id_plus_one() {
    let t0 = Instant::now();
    let mut t = tee(TransfereeConfig::default());
    t.handle_request(t0, 1, Service::Negotiation, JSON, &negotiation(CALL));
    let (replies, actions, violations, _) = drain(&mut t);
    assert_eq!(violations, []);
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].0, 1);
    assert_eq!(replies[0].1.status, 202);
    assert_eq!(
        body(&replies[0].1),
        json!({"CallId": CALL, "ExpiryTime": 30, "StatusCode": 202})
    );
    assert!(
        matches!(&actions[..], [TransfereeAction::NegotiationAccepted { call_id, expires_at, .. }]
        if call_id == CALL && *expires_at == t0 + 30 * S)
    );
    assert_eq!(t.negotiation_state(CALL), Some(NegotiationState::Live));
    assert_eq!(t.live_negotiations(), 1);

    t.handle_request(
        t0 + 29 * S,
        2,
        Service::Execution,
        JSON,
        &execution(CALL, 7, 10),
    );
    let (replies, actions, violations, _) = drain(&mut t);
    assert_eq!(violations, []);
    assert_eq!(replies[0].1.status, 200);
    assert_eq!(
        body(&replies[0].1),
        json!({"CallId": CALL, "StatusCode": 200})
    );
    match &actions[..] {
        [TransfereeAction::StartTransferredChat {
            call_id,
            next_msg_id,
            history: h,
            transfer_from,
        }] => {
            assert_eq!(call_id, CALL);
            assert_eq!(*next_msg_id, 8);
            assert_eq!(h.as_ref(), Some(&history()));
            assert_eq!(transfer_from.as_deref(), Some("sip:psap-a@example.at"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.negotiation_state(CALL), Some(NegotiationState::Executed));
    assert_eq!(t.live_negotiations(), 0);
}

#[test]
fn transferee_declines_execution_with_503_after_expiry() {
    let t0 = Instant::now();
    let mut t = tee(TransfereeConfig {
        expiry_time: 10,
        ..Default::default()
    });
    t.handle_request(t0, 1, Service::Negotiation, JSON, &negotiation(CALL));
    drain(&mut t);
    assert_eq!(t.poll_timeout(), Some(t0 + 10 * S));
    t.handle_timeout(t0 + 10 * S);
    let (_, actions, _, _) = drain(&mut t);
    assert_eq!(
        actions,
        [TransfereeAction::NegotiationExpired {
            call_id: CALL.into()
        }]
    );
    t.handle_request(
        t0 + 11 * S,
        2,
        Service::Execution,
        JSON,
        &execution(CALL, 3, 10),
    );
    let (replies, actions, violations, _) = drain(&mut t);
    assert_eq!(
        violations,
        [],
        "an execution after expiry is not the transferor's fault"
    );
    assert_eq!(replies[0].1.status, 503);
    assert_eq!(
        body(&replies[0].1),
        json!({"CallId": CALL, "StatusCode": 503})
    );
    assert_eq!(
        actions,
        [TransfereeAction::ExecutionDeclined {
            call_id: CALL.into(),
            reason: DeclineReason::NegotiationExpired
        }]
    );
}

#[test]
fn transferee_expiry_at_the_exact_instant_counts_even_before_the_timer_fires() {
    let t0 = Instant::now();
    let mut t = tee(TransfereeConfig {
        expiry_time: 10,
        ..Default::default()
    });
    t.handle_request(t0, 1, Service::Negotiation, JSON, &negotiation(CALL));
    drain(&mut t);
    // No handle_timeout call in between: the request itself brings the clock forward.
    t.handle_request(
        t0 + 10 * S,
        2,
        Service::Execution,
        JSON,
        &execution(CALL, 3, 10),
    );
    let (replies, actions, _, _) = drain(&mut t);
    assert_eq!(replies[0].1.status, 503);
    assert!(actions.contains(&TransfereeAction::NegotiationExpired {
        call_id: CALL.into()
    }));
}

#[test]
fn transferee_declines_duplicate_execution_with_503() {
    let t0 = Instant::now();
    let mut t = tee(TransfereeConfig::default());
    t.handle_request(t0, 1, Service::Negotiation, JSON, &negotiation(CALL));
    t.handle_request(t0 + S, 2, Service::Execution, JSON, &execution(CALL, 3, 10));
    drain(&mut t);
    t.handle_request(
        t0 + 2 * S,
        3,
        Service::Execution,
        JSON,
        &execution(CALL, 3, 10),
    );
    let (replies, actions, violations, _) = drain(&mut t);
    assert_eq!(replies[0].0, 3);
    assert_eq!(replies[0].1.status, 503);
    assert_eq!(violations, []);
    assert_eq!(
        actions,
        [TransfereeAction::ExecutionDeclined {
            call_id: CALL.into(),
            reason: DeclineReason::AlreadyExecuted
        }]
    );
}

#[test]
fn transferee_without_negotiation_declines_and_reports_6_3_1() {
    let mut t = tee(TransfereeConfig::default());
    t.handle_request(
        Instant::now(),
        1,
        Service::Execution,
        JSON,
        &execution(CALL, 3, 10),
    );
    let (replies, actions, violations, _) = drain(&mut t);
    assert_eq!(replies[0].1.status, 503);
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].clause, "6.3.1");
    assert_eq!(
        actions,
        [TransfereeAction::ExecutionDeclined {
            call_id: CALL.into(),
            reason: DeclineReason::NoNegotiation
        }]
    );
}

#[test]
fn transferee_policies_refuse_all_and_accept_up_to_n() {
    let t0 = Instant::now();
    let mut t = tee(TransfereeConfig {
        policy: AcceptPolicy::RefuseAll,
        ..Default::default()
    });
    t.handle_request(t0, 1, Service::Negotiation, JSON, &negotiation(CALL));
    let (replies, actions, _, _) = drain(&mut t);
    assert_eq!(replies[0].1.status, 406);
    assert_eq!(body(&replies[0].1)["StatusCode"], 406);
    assert_eq!(
        body(&replies[0].1)["ExpiryTime"],
        30,
        "A.2 requires ExpiryTime in a 406 too"
    );
    assert_eq!(
        actions,
        [TransfereeAction::NegotiationRefused {
            call_id: CALL.into()
        }]
    );
    // An execution after a refusal is declined and flagged.
    t.handle_request(t0 + S, 2, Service::Execution, JSON, &execution(CALL, 3, 10));
    let (replies, _, violations, _) = drain(&mut t);
    assert_eq!(replies[0].1.status, 503);
    assert_eq!(violations[0].clause, "6.3.1");

    let mut t = tee(TransfereeConfig {
        policy: AcceptPolicy::AcceptUpTo(2),
        expiry_time: 10,
        ..Default::default()
    });
    let statuses: Vec<u16> = ["a", "b", "c", "a"]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            t.handle_request(t0, i as u64, Service::Negotiation, JSON, &negotiation(c));
            drain(&mut t).0[0].1.status
        })
        .collect();
    // The third chat is refused; renegotiating a live one does not count twice.
    assert_eq!(statuses, [202, 202, 406, 202]);
    assert_eq!(t.live_negotiations(), 2);
    // Executing one frees a slot.
    t.handle_request(t0 + S, 9, Service::Execution, JSON, &execution("a", 1, 10));
    drain(&mut t);
    t.handle_request(t0 + S, 10, Service::Negotiation, JSON, &negotiation("c"));
    assert_eq!(drain(&mut t).0[0].1.status, 202);
    // Expiry frees slots too.
    t.handle_timeout(t0 + 20 * S);
    assert_eq!(t.live_negotiations(), 0);
}

#[test]
fn transferee_does_not_continue_when_the_response_would_be_late() {
    let t0 = Instant::now();
    let mut t = tee(TransfereeConfig {
        processing_delay: 15 * S,
        ..Default::default()
    });
    t.handle_request(t0, 1, Service::Negotiation, JSON, &negotiation(CALL));
    drain(&mut t);
    t.handle_request(t0, 2, Service::Execution, JSON, &execution(CALL, 3, 10));
    let (replies, _, _, _) = drain(&mut t);
    assert_eq!(replies, [], "nothing before the processing delay");
    assert_eq!(
        t.poll_timeout(),
        Some(t0 + 10 * S),
        "capped at the request's expiry"
    );
    t.handle_timeout(t0 + 10 * S);
    let (replies, actions, _, abandoned) = drain(&mut t);
    assert_eq!(replies, []);
    assert_eq!(abandoned, [2]);
    assert_eq!(
        actions,
        [TransfereeAction::ExecutionAbandoned {
            call_id: CALL.into()
        }]
    );

    // Within the expiry, a delayed answer is an ordinary 200.
    let mut t = tee(TransfereeConfig {
        processing_delay: 3 * S,
        ..Default::default()
    });
    t.handle_request(t0, 1, Service::Negotiation, JSON, &negotiation(CALL));
    t.handle_request(t0, 2, Service::Execution, JSON, &execution(CALL, 3, 10));
    drain(&mut t);
    t.handle_timeout(t0 + 3 * S);
    let (replies, actions, _, _) = drain(&mut t);
    assert_eq!(replies[0].1.status, 200);
    assert!(matches!(
        actions[0],
        TransfereeAction::StartTransferredChat { next_msg_id: 4, .. }
    ));
}

#[test]
fn transferee_answers_invalid_requests_with_400_and_violations() {
    let mut t = tee(TransfereeConfig::default());
    let now = Instant::now();
    t.handle_request(now, 1, Service::Negotiation, JSON, b"{oops");
    let (replies, _, violations, _) = drain(&mut t);
    assert_eq!(replies[0].1.status, 400);
    assert!(String::from_utf8_lossy(&replies[0].1.body).contains("not JSON"));
    assert_eq!(violations[0].clause, "A.1");
    t.handle_request(
        now,
        2,
        Service::Negotiation,
        JSON,
        br#"{"CallId":"c","TransferFrom":"tel:112","TransferTo":"sip:b@x"}"#,
    );
    let (replies, _, violations, _) = drain(&mut t);
    assert_eq!(
        replies[0].1.status, 202,
        "a non-SIP TransferFrom is flagged, not refused"
    );
    assert_eq!(violations[0].clause, "6.3.2");
    assert!(violations[0]
        .expectation
        .contains("TransferFrom is a SIP URI"));
    t.handle_request(
        now,
        3,
        Service::Execution,
        Some("text/plain"),
        &execution("c", 2, 10),
    );
    let (replies, _, violations, _) = drain(&mut t);
    assert_eq!(
        replies[0].1.status, 200,
        "JSON with the wrong Content-Type is still processed"
    );
    assert_eq!(violations[0].clause, "6.3");
}

#[test]
fn configs_below_the_annex_minimum_are_refused() {
    assert!(matches!(
        Transferee::new(TransfereeConfig {
            expiry_time: 9,
            ..Default::default()
        }),
        Err(TransferError::Config(_))
    ));
    assert!(matches!(
        Transferor::new(TransferorConfig {
            expiry_time: 9,
            ..Default::default()
        }),
        Err(TransferError::Config(_))
    ));
}

// ---- transferor, driven by hand ----

fn tor(cfg: TransferorConfig) -> Transferor {
    Transferor::new(cfg).unwrap()
}

fn outputs(t: &mut Transferor) -> Vec<TransferorOutput> {
    std::iter::from_fn(|| t.poll_output()).collect()
}

fn json_resp(status: u16, v: Value) -> ReceivedResponse {
    ReceivedResponse {
        status,
        content_type: Some("application/json".into()),
        body: v.to_string().into_bytes(),
    }
}

/// Starts a transfer and answers the negotiation with 202; returns the outputs after it.
fn negotiated(t: &mut Transferor, t0: Instant) -> Vec<TransferorOutput> {
    t.start(t0, transfer(CALL, 5)).unwrap();
    let out = outputs(t);
    match &out[..] {
        [TransferorOutput::Send(req)] => {
            assert_eq!(req.service, Service::Negotiation);
            assert!(req.valid);
            let v: Value = serde_json::from_slice(&req.body).unwrap();
            assert_eq!(
                v,
                json!({"CallId": CALL, "TransferFrom": "sip:transferor@lmpe-harness.invalid",
                       "TransferTo": "sip:psap-b@example.at", "ReasonText": "language"})
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.state(CALL), Some(TransferState::Negotiating));
    t.handle_response(
        t0 + S,
        CALL,
        Service::Negotiation,
        &json_resp(
            202,
            json!({"CallId": CALL, "ExpiryTime": 30, "StatusCode": 202}),
        ),
    )
    .unwrap();
    outputs(t)
}

#[test]
fn transferor_happy_path_stop_transfer_then_execution() {
    let t0 = Instant::now();
    let mut t = tor(TransferorConfig::default());
    let out = negotiated(&mut t, t0);
    assert_eq!(out.len(), 2, "{out:?}");
    assert_eq!(
        out[0],
        TransferorOutput::SendStopTransfer {
            call_id: CALL.into(),
            last_msg_id: 5
        }
    );
    let TransferorOutput::Send(req) = &out[1] else {
        panic!("{out:?}")
    };
    assert_eq!(req.service, Service::Execution);
    assert_eq!(req.respond_by, t0 + S + 30 * S);
    let v: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(v["MessageId"], 5, "the last Message Identifier used");
    assert_eq!(v["ExpiryTime"], 30);
    assert_eq!(v["Data"], history().to_value());
    assert_eq!(t.state(CALL), Some(TransferState::Executing));
    t.handle_response(
        t0 + 2 * S,
        CALL,
        Service::Execution,
        &json_resp(200, json!({"CallId": CALL, "StatusCode": 200})),
    )
    .unwrap();
    assert_eq!(
        outputs(&mut t),
        [TransferorOutput::Completed {
            call_id: CALL.into()
        }]
    );
    assert_eq!(t.state(CALL), Some(TransferState::Completed));
    assert!(t.forget(CALL));
    assert_eq!(t.state(CALL), None);
}

#[test]
fn transferor_reactivates_on_406() {
    let t0 = Instant::now();
    let mut t = tor(TransferorConfig::default());
    t.start(t0, transfer(CALL, 5)).unwrap();
    outputs(&mut t);
    t.handle_response(
        t0,
        CALL,
        Service::Negotiation,
        &json_resp(
            406,
            json!({"CallId": CALL, "ExpiryTime": 10, "StatusCode": 406}),
        ),
    )
    .unwrap();
    assert_eq!(
        outputs(&mut t),
        [TransferorOutput::Reactivate {
            call_id: CALL.into(),
            reason: ReactivateReason::Refused
        }],
        "no stop|transfer before a 202, and no violation without an agreement premise"
    );
    // A new transfer of the same chat may start after a failure.
    t.start(t0 + S, transfer(CALL, 5)).unwrap();
    assert_eq!(t.state(CALL), Some(TransferState::Negotiating));
    assert!(matches!(
        t.start(t0 + S, transfer(CALL, 5)),
        Err(TransferError::TransferInProgress(_))
    ));
}

#[test]
fn transferor_reactivates_on_503() {
    let t0 = Instant::now();
    let mut t = tor(TransferorConfig::default());
    negotiated(&mut t, t0);
    t.handle_response(
        t0 + 2 * S,
        CALL,
        Service::Execution,
        &json_resp(503, json!({"CallId": CALL, "StatusCode": 503})),
    )
    .unwrap();
    assert_eq!(
        outputs(&mut t),
        [TransferorOutput::Reactivate {
            call_id: CALL.into(),
            reason: ReactivateReason::Declined
        }]
    );
}

#[test]
fn transferor_reactivates_at_the_execution_expiry_and_reports_a_late_answer() {
    let t0 = Instant::now();
    let mut t = tor(TransferorConfig {
        expiry_time: 10,
        ..Default::default()
    });
    negotiated(&mut t, t0);
    assert_eq!(t.poll_timeout(), Some(t0 + S + 10 * S));
    t.handle_timeout(t0 + 11 * S - Duration::from_millis(1));
    assert_eq!(outputs(&mut t), []);
    t.handle_timeout(t0 + 11 * S);
    assert_eq!(
        outputs(&mut t),
        [TransferorOutput::Reactivate {
            call_id: CALL.into(),
            reason: ReactivateReason::Timeout {
                service: Service::Execution
            }
        }]
    );
    // A 200 after the expiry: the transferee continued although it must not.
    t.handle_response(
        t0 + 12 * S,
        CALL,
        Service::Execution,
        &json_resp(200, json!({"CallId": CALL, "StatusCode": 200})),
    )
    .unwrap();
    let out = outputs(&mut t);
    assert!(
        matches!(&out[..], [TransferorOutput::Violation { violation, .. }] if violation.clause == "6.3.3"),
        "{out:?}"
    );
    assert_eq!(t.state(CALL), Some(TransferState::Reactivated));
}

#[test]
fn transferor_reactivates_on_negotiation_timeout_and_transport_error() {
    let t0 = Instant::now();
    let mut t = tor(TransferorConfig {
        negotiation_timeout: 4 * S,
        ..Default::default()
    });
    t.start(t0, transfer(CALL, 5)).unwrap();
    outputs(&mut t);
    t.handle_timeout(t0 + 4 * S);
    assert_eq!(
        outputs(&mut t),
        [TransferorOutput::Reactivate {
            call_id: CALL.into(),
            reason: ReactivateReason::Timeout {
                service: Service::Negotiation
            }
        }]
    );
    let mut t = tor(TransferorConfig::default());
    negotiated(&mut t, t0);
    t.handle_transport_error(t0 + 2 * S, CALL, Service::Execution, "connection reset")
        .unwrap();
    assert_eq!(
        outputs(&mut t),
        [TransferorOutput::Reactivate {
            call_id: CALL.into(),
            reason: ReactivateReason::Transport {
                service: Service::Execution,
                detail: "connection reset".into()
            }
        }]
    );
    // A transport error for a transfer already given up is harmless.
    t.handle_transport_error(t0 + 3 * S, CALL, Service::Execution, "late")
        .unwrap();
    assert_eq!(outputs(&mut t), []);
    assert!(matches!(
        t.handle_transport_error(t0, "nope", Service::Execution, "x"),
        Err(TransferError::UnknownTransfer(_))
    ));
}

#[test]
fn transferor_reactivates_on_schema_invalid_responses() {
    let t0 = Instant::now();
    for (resp, clause) in [
        (
            json_resp(
                202,
                json!({"CallId": CALL, "ExpiryTime": 9, "StatusCode": 202}),
            ),
            "A.2",
        ),
        (
            json_resp(202, json!({"CallId": CALL, "ExpiryTime": 30})),
            "A.2",
        ),
        (
            ReceivedResponse {
                status: 202,
                content_type: Some("text/html".into()),
                body: b"<p>ok</p>".to_vec(),
            },
            "A.2",
        ),
        (
            json_resp(
                202,
                json!({"CallId": "other", "ExpiryTime": 30, "StatusCode": 202}),
            ),
            "6.3.2",
        ),
    ] {
        let mut t = tor(TransferorConfig::default());
        t.start(t0, transfer(CALL, 5)).unwrap();
        outputs(&mut t);
        t.handle_response(t0, CALL, Service::Negotiation, &resp)
            .unwrap();
        let out = outputs(&mut t);
        assert!(
            out.iter().any(|o| matches!(o, TransferorOutput::Violation { violation, .. } if violation.clause == clause)),
            "{clause}: {out:?}"
        );
        assert!(
            matches!(
                out.last(),
                Some(TransferorOutput::Reactivate {
                    reason: ReactivateReason::InvalidResponse {
                        service: Service::Negotiation,
                        ..
                    },
                    ..
                })
            ),
            "{out:?}"
        );
        assert!(!out
            .iter()
            .any(|o| matches!(o, TransferorOutput::SendStopTransfer { .. })));
    }
    // An invalid execution response re-activates too.
    let mut t = tor(TransferorConfig::default());
    negotiated(&mut t, t0);
    t.handle_response(
        t0,
        CALL,
        Service::Execution,
        &json_resp(200, json!({"CallId": CALL, "StatusCode": 201})),
    )
    .unwrap();
    let out = outputs(&mut t);
    assert!(out.iter().any(
        |o| matches!(o, TransferorOutput::Violation { violation, .. } if violation.clause == "A.4")
    ));
    assert!(out.iter().any(|o| matches!(o, TransferorOutput::Violation { violation, .. } if violation.clause == "6.3.3")));
    assert!(matches!(
        out.last(),
        Some(TransferorOutput::Reactivate {
            reason: ReactivateReason::InvalidResponse { .. },
            ..
        })
    ));
}

#[test]
fn transferor_refuses_to_send_an_invalid_request_by_accident() {
    let mut t = tor(TransferorConfig::default());
    match t.start(Instant::now(), transfer(CALL, 0)) {
        Err(TransferError::Schema { kind, violations }) => {
            assert_eq!(kind, lmpe_transfer::schema::SchemaKind::ExecutionRequest);
            assert_eq!(violations[0].instance_path, "/MessageId");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(t.state(CALL), None);
    assert_eq!(t.poll_output(), None);
}

#[test]
fn transferor_execute_delay_and_responses_out_of_state() {
    let t0 = Instant::now();
    let mut t = tor(TransferorConfig {
        execute_delay: 3 * S,
        ..Default::default()
    });
    let out = negotiated(&mut t, t0);
    assert_eq!(
        out,
        [TransferorOutput::SendStopTransfer {
            call_id: CALL.into(),
            last_msg_id: 5
        }]
    );
    assert_eq!(t.state(CALL), Some(TransferState::AwaitingExecution));
    assert!(matches!(
        t.handle_response(
            t0 + 2 * S,
            CALL,
            Service::Execution,
            &json_resp(200, json!({"CallId": CALL, "StatusCode": 200}))
        ),
        Err(TransferError::NoRequestInFlight {
            state: "awaiting-execution",
            ..
        })
    ));
    t.handle_timeout(t0 + 4 * S);
    assert!(
        matches!(&outputs(&mut t)[..], [TransferorOutput::Send(r)] if r.service == Service::Execution)
    );
}

// ---- both machines together ----

fn scaled() -> TimeScale {
    TimeScale {
        per_second: Duration::from_millis(10),
    }
}

#[test]
fn pair_happy_path() {
    let mut p = Pair::new(TransferorConfig::default(), TransfereeConfig::default());
    p.start(transfer(CALL, 41));
    p.run_for(60 * S);
    assert_eq!(p.tor_violations(), []);
    assert_eq!(p.tee_violations(), []);
    assert_eq!(
        p.tor_outcomes(),
        [
            TransferorOutput::SendStopTransfer {
                call_id: CALL.into(),
                last_msg_id: 41
            },
            TransferorOutput::Completed {
                call_id: CALL.into()
            }
        ]
    );
    let started = p.tee_actions().into_iter().find_map(|a| match a {
        TransfereeAction::StartTransferredChat {
            next_msg_id,
            history,
            ..
        } => Some((next_msg_id, history)),
        _ => None,
    });
    assert_eq!(started, Some((42, Some(history()))));
}

#[test]
fn pair_execution_after_negotiation_expiry_gets_503_and_reactivates() {
    let mut p = Pair::new(
        TransferorConfig {
            execute_delay: 11 * S,
            ..Default::default()
        },
        TransfereeConfig {
            expiry_time: 10,
            ..Default::default()
        },
    );
    p.start(transfer(CALL, 2));
    p.run_for(60 * S);
    assert_eq!(p.tor_violations(), []);
    assert_eq!(p.tee_violations(), []);
    assert_eq!(
        p.tor_outcomes().last(),
        Some(&TransferorOutput::Reactivate {
            call_id: CALL.into(),
            reason: ReactivateReason::Declined
        })
    );
}

#[test]
fn pair_time_scale_shrinks_waits_but_not_the_numbers() {
    let mut p = Pair::new(
        TransferorConfig {
            time_scale: scaled(),
            execute_delay: Duration::from_millis(150),
            ..Default::default()
        },
        TransfereeConfig {
            time_scale: scaled(),
            expiry_time: 10,
            ..Default::default()
        },
    );
    let t0 = p.now;
    p.start(transfer(CALL, 2));
    p.run_for(S);
    // The negotiation said ExpiryTime 10 (valid) but lasted 100 ms.
    assert!(
        matches!(p.tee_actions()[0], TransfereeAction::NegotiationAccepted { expires_at, .. } if expires_at == t0 + Duration::from_millis(100))
    );
    assert_eq!(p.tor_violations(), []);
    assert!(matches!(
        p.tor_outcomes().last(),
        Some(TransferorOutput::Reactivate {
            reason: ReactivateReason::Declined,
            ..
        })
    ));
}
