//! How `ExpiryTime` seconds map to waiting time.

use std::time::Duration;

/// Maps the `ExpiryTime` seconds carried in the messages to the time the machines actually
/// wait. The messages (and the validators) always use real seconds, so the Annex A minimum of
/// 10 is enforced unchanged; tests over real sockets may shrink the wait (e.g. 10 ms per
/// second) without sending an invalid `ExpiryTime`. Conformance runs keep the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeScale {
    /// How long one `ExpiryTime` second lasts.
    pub per_second: Duration,
}

impl Default for TimeScale {
    fn default() -> Self {
        Self::REAL
    }
}

impl TimeScale {
    /// One second per second.
    pub const REAL: TimeScale = TimeScale {
        per_second: Duration::from_secs(1),
    };

    /// The wait for `seconds` of `ExpiryTime`.
    pub fn wait(&self, seconds: u32) -> Duration {
        self.per_second.saturating_mul(seconds)
    }
}
