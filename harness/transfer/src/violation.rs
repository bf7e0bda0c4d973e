//! Conformance violations found in what the peer sent.

/// A deviation of the peer from TS 103 698 (same shape as `lmpe_proto::session::Violation`,
/// so reports can treat both alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The clause, e.g. `6.3.2` or `A.2`.
    pub clause: &'static str,
    /// What the clause requires.
    pub expectation: String,
    /// What was seen instead.
    pub detail: String,
}

impl Violation {
    /// A violation of `clause`.
    pub fn new(
        clause: &'static str,
        expectation: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            clause,
            expectation: expectation.into(),
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TS 103 698 {}: {}; {}",
            self.clause, self.expectation, self.detail
        )
    }
}
