//! Deliberate deviations from TS 103 698 6.3 / Annex A, for proving that each peer-side
//! check fails against a broken peer ("broken peer" tests, `--inject-fault`).
//!
//! | fault | broken end | the peer reports |
//! |---|---|---|
//! | `short-expiry` | transferee | `A.2` ExpiryTime >= 10 |
//! | `wrong-call-id` | transferee | `6.3.2` (and `6.3.3`) response returns the request's CallId |
//! | `status-200-on-negotiation` | transferee | `6.3.2` StatusCode is 202 or 406 (and `A.2`) |
//! | `accept-after-expiry` | transferee | `6.3.2` execution after the negotiation's ExpiryTime is declined with 503 (needs a transferor `execute_delay` beyond the expiry) |
//! | `non-json` | transferee | `A.2` the body is JSON (and `6.3` Content-Type) |
//! | `missing-status-code` | transferee | `A.2` required members |
//! | `slow-execution` | transferee | `6.3.3` execution response arrives before ExpiryTime |
//! | `refuse-all` | transferee | `6.2.6` an agreed transfer is accepted (transferor `expect_accept`) |
//! | `accept-invalid` | transferee | `6.3.2` a request failing the A.1 schema is not accepted (needs a deliberately invalid request, transferor `missing-call-id`) |
//! | `message-id-zero` | transferor | `A.3` MessageId >= 1 |
//! | `no-negotiation` | transferor | `6.3.1` execution follows an accepted negotiation |
//! | `missing-call-id` | transferor | `A.1` required members |
//! | `short-expiry` | transferor | `A.3` ExpiryTime >= 10 |

/// Faults of the harness transferee (the responding web service).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransfereeFaults {
    /// A.2: answer negotiations with `ExpiryTime` 5 (and expire them after 5 s).
    pub short_expiry: bool,
    /// 6.3.2/6.3.3: answer with a different `CallId` than the request's.
    pub wrong_call_id: bool,
    /// 6.3.2: answer (and accept) negotiations with `StatusCode` 200 instead of 202.
    pub status_200_on_negotiation: bool,
    /// 6.3.2: execute (200) transfers whose negotiation expired or never existed instead of
    /// declining them with 503.
    pub accept_after_expiry: bool,
    /// A.2: answer negotiations with a body that is not JSON.
    pub non_json: bool,
    /// A.2: leave `StatusCode` out of negotiation responses.
    pub missing_status_code: bool,
    /// 6.3.3: answer executions only after the request's `ExpiryTime` (and still with 200).
    pub slow_execution: bool,
    /// Refuse every negotiation with 406 (conformant, but breaks an agreed transfer).
    pub refuse_all: bool,
    /// 6.3.2/A.1: accept (202) a negotiation request that fails the A.1 schema.
    pub accept_invalid: bool,
}

impl TransfereeFaults {
    /// Names accepted by [`TransfereeFaults::from_name`].
    pub const NAMES: [&'static str; 9] = [
        "short-expiry",
        "wrong-call-id",
        "status-200-on-negotiation",
        "accept-after-expiry",
        "non-json",
        "missing-status-code",
        "slow-execution",
        "refuse-all",
        "accept-invalid",
    ];

    /// The fault names.
    pub fn names() -> &'static [&'static str] {
        &Self::NAMES
    }

    /// A single fault by name.
    pub fn from_name(name: &str) -> Option<Self> {
        let mut f = Self::default();
        match name {
            "short-expiry" => f.short_expiry = true,
            "wrong-call-id" => f.wrong_call_id = true,
            "status-200-on-negotiation" => f.status_200_on_negotiation = true,
            "accept-after-expiry" => f.accept_after_expiry = true,
            "non-json" => f.non_json = true,
            "missing-status-code" => f.missing_status_code = true,
            "slow-execution" => f.slow_execution = true,
            "refuse-all" => f.refuse_all = true,
            "accept-invalid" => f.accept_invalid = true,
            _ => return None,
        }
        Some(f)
    }
}

/// Faults of the harness transferor (the requesting client).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransferorFaults {
    /// A.3: send `MessageId` 0.
    pub message_id_zero: bool,
    /// 6.3.1: send the execution request without a prior negotiation.
    pub no_negotiation: bool,
    /// A.1: leave `CallId` out of the negotiation request.
    pub missing_call_id: bool,
    /// A.3: send the execution request with `ExpiryTime` 5 (and wait only 5 s).
    pub short_expiry: bool,
}

impl TransferorFaults {
    /// Names accepted by [`TransferorFaults::from_name`].
    pub const NAMES: [&'static str; 4] = [
        "message-id-zero",
        "no-negotiation",
        "missing-call-id",
        "short-expiry",
    ];

    /// The fault names.
    pub fn names() -> &'static [&'static str] {
        &Self::NAMES
    }

    /// A single fault by name.
    pub fn from_name(name: &str) -> Option<Self> {
        let mut f = Self::default();
        match name {
            "message-id-zero" => f.message_id_zero = true,
            "no-negotiation" => f.no_negotiation = true,
            "missing-call-id" => f.missing_call_id = true,
            "short-expiry" => f.short_expiry = true,
            _ => return None,
        }
        Some(f)
    }
}
