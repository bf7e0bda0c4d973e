//! Every deliberate fault trips the peer-side check it exists for, under the right clause,
//! and the same scenario without the fault is clean. A fault name without a row in the
//! tables below fails `every_fault_name_has_a_test`.
#![allow(clippy::unwrap_used)]

mod common;

use common::{transfer, Pair, CALL, S};
use lmpe_transfer::transferee::{Service, TransfereeConfig};
use lmpe_transfer::transferor::{ReactivateReason, TransferorConfig, TransferorOutput};
use lmpe_transfer::{TransfereeFaults, TransferorFaults, Violation};

/// Transferee fault → (clause, words of the expectation) the harness transferor reports.
const TRANSFEREE_CASES: &[(&str, &str, &str)] = &[
    ("short-expiry", "A.2", "ExpiryTime >= 10"),
    ("wrong-call-id", "6.3.2", "returns the request's CallId"),
    (
        "status-200-on-negotiation",
        "6.3.2",
        "StatusCode is 202 Accepted or 406 Not Acceptable",
    ),
    (
        "accept-after-expiry",
        "6.3.2",
        "after the negotiation's ExpiryTime is declined with 503",
    ),
    ("non-json", "A.2", "is a JSON document"),
    ("missing-status-code", "A.2", "has the members"),
    (
        "slow-execution",
        "6.3.3",
        "arrives before the request's ExpiryTime",
    ),
    (
        "refuse-all",
        "6.2.6",
        "accepts the chatTransferNegotiationRequest (202)",
    ),
    (
        "accept-invalid",
        "6.3.2",
        "fails the Annex A.1 schema is not accepted",
    ),
];

/// Transferor fault → (clause, words of the expectation) the harness transferee reports.
const TRANSFEROR_CASES: &[(&str, &str, &str)] = &[
    ("message-id-zero", "A.3", "MessageId >= 1"),
    (
        "no-negotiation",
        "6.3.1",
        "follows an accepted (202) chatTransferNegotiation",
    ),
    ("missing-call-id", "A.1", "has the members"),
    ("short-expiry", "A.3", "ExpiryTime >= 10"),
];

/// The scenario a transferee fault is exercised in: an agreed transfer; for
/// `accept-after-expiry` the execution goes out after the negotiation expired.
fn against_transferee(name: &str, faults: TransfereeFaults) -> Pair {
    let mut tor = TransferorConfig {
        expect_accept: true,
        ..Default::default()
    };
    if name == "accept-after-expiry" {
        tor.execute_delay = 11 * S;
    }
    if name == "accept-invalid" {
        tor.faults.missing_call_id = true;
    }
    let tee = TransfereeConfig {
        expiry_time: 10,
        faults,
        ..Default::default()
    };
    let mut p = Pair::new(tor, tee);
    p.start(transfer(CALL, 3));
    p.run_for(120 * S);
    p
}

fn against_transferor(faults: TransferorFaults) -> Pair {
    let tor = TransferorConfig {
        faults,
        ..Default::default()
    };
    let mut p = Pair::new(tor, TransfereeConfig::default());
    p.start(transfer(CALL, 3));
    p.run_for(120 * S);
    p
}

fn assert_reported(name: &str, violations: &[Violation], clause: &str, words: &str) {
    assert!(
        violations
            .iter()
            .any(|v| v.clause == clause && v.expectation.contains(words)),
        "fault {name}: expected a {clause} violation expecting {words:?}, got {violations:#?}"
    );
}

#[test]
fn every_fault_name_has_a_test() {
    for name in TransfereeFaults::names() {
        assert!(
            TRANSFEREE_CASES.iter().any(|c| c.0 == *name),
            "no test for transferee fault {name}"
        );
        assert_ne!(
            TransfereeFaults::from_name(name).unwrap(),
            TransfereeFaults::default(),
            "{name}"
        );
    }
    for name in TransferorFaults::names() {
        assert!(
            TRANSFEROR_CASES.iter().any(|c| c.0 == *name),
            "no test for transferor fault {name}"
        );
        assert_ne!(
            TransferorFaults::from_name(name).unwrap(),
            TransferorFaults::default(),
            "{name}"
        );
    }
    assert_eq!(TRANSFEREE_CASES.len(), TransfereeFaults::names().len());
    assert_eq!(TRANSFEROR_CASES.len(), TransferorFaults::names().len());
    assert_eq!(TransfereeFaults::from_name("no-such-fault"), None);
    assert_eq!(TransferorFaults::from_name("no-such-fault"), None);
}

#[test]
fn each_transferee_fault_is_reported_by_the_transferor() {
    for (name, clause, words) in TRANSFEREE_CASES {
        let clean = against_transferee(name, TransfereeFaults::default());
        assert_eq!(
            clean.tor_violations(),
            [],
            "{name} scenario without the fault"
        );
        // `accept-invalid` needs a deliberately invalid request, which the transferee reports.
        let tee_expected: &[&str] = if *name == "accept-invalid" {
            &["A.1"]
        } else {
            &[]
        };
        let clauses = |v: Vec<Violation>| v.iter().map(|v| v.clause).collect::<Vec<_>>();
        assert_eq!(
            clauses(clean.tee_violations()),
            tee_expected,
            "{name} scenario without the fault"
        );
        let broken = against_transferee(name, TransfereeFaults::from_name(name).unwrap());
        assert_reported(name, &broken.tor_violations(), clause, words);
        // With `accept-invalid` the (invalid) negotiation was never recorded, so the
        // execution that follows it is reported too.
        let broken_expected: &[&str] = if *name == "accept-invalid" {
            &["A.1", "6.3.1"]
        } else {
            &[]
        };
        assert_eq!(
            clauses(broken.tee_violations()),
            broken_expected,
            "{name}: the harness transferor stayed conformant"
        );
    }
}

#[test]
fn each_transferor_fault_is_reported_by_the_transferee() {
    let clean = against_transferor(TransferorFaults::default());
    assert_eq!(clean.tee_violations(), []);
    assert!(clean.tor_outcomes().contains(&TransferorOutput::Completed {
        call_id: CALL.into()
    }));
    for (name, clause, words) in TRANSFEROR_CASES {
        let broken = against_transferor(TransferorFaults::from_name(name).unwrap());
        assert_reported(name, &broken.tee_violations(), clause, words);
        // The conformant transferee's answers to a broken request raise nothing on the
        // transferor's side, and the transfer is not completed.
        assert_eq!(broken.tor_violations(), [], "{name}");
        assert!(
            matches!(
                broken.tor_outcomes().last(),
                Some(TransferorOutput::Reactivate { .. })
            ),
            "{name}: {:?}",
            broken.tor_outcomes()
        );
    }
}

#[test]
fn transferee_fault_outcomes_on_the_transferor() {
    let outcome = |name: &str| {
        against_transferee(name, TransfereeFaults::from_name(name).unwrap())
            .tor_outcomes()
            .last()
            .cloned()
            .unwrap()
    };
    assert!(matches!(
        outcome("refuse-all"),
        TransferorOutput::Reactivate {
            reason: ReactivateReason::Refused,
            ..
        }
    ));
    assert!(matches!(
        outcome("slow-execution"),
        TransferorOutput::Reactivate {
            reason: ReactivateReason::Timeout {
                service: Service::Execution
            },
            ..
        }
    ));
    assert!(matches!(
        outcome("non-json"),
        TransferorOutput::Reactivate {
            reason: ReactivateReason::InvalidResponse {
                service: Service::Negotiation,
                ..
            },
            ..
        }
    ));
    // The broken transferee executed anyway: the transferor records the completion and the
    // violation.
    assert!(matches!(
        outcome("accept-after-expiry"),
        TransferorOutput::Completed { .. }
    ));
    // Rejected deliberately invalid requests are told apart from broken responses.
    let p = against_transferor(TransferorFaults::from_name("message-id-zero").unwrap());
    assert!(matches!(
        p.tor_outcomes().last(),
        Some(TransferorOutput::Reactivate {
            reason: ReactivateReason::Rejected {
                service: Service::Execution,
                status: 400
            },
            ..
        })
    ));
}
