//! RFC 3261 timer values (section 17, Table 4) and timer identities.
//!
//! Timers are plain data: a transaction stores an optional deadline per
//! timer and reports the earliest one through `poll_timeout`.

use std::time::{Duration, Instant};

/// RFC 3261 timer base values; every transaction timer is derived from them.
///
/// All three values should be non-zero; a zero `t1`/`t2` makes Timer E fire
/// on every `handle_timeout` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerConfig {
    /// T1, the round-trip time estimate (RFC default 500 ms).
    pub t1: Duration,
    /// T2, the maximum retransmit interval for non-INVITE requests (RFC default 4 s).
    pub t2: Duration,
    /// T4, the maximum time a message remains in the network (RFC default 5 s).
    pub t4: Duration,
}

impl TimerConfig {
    /// The RFC 3261 defaults: T1 = 500 ms, T2 = 4 s, T4 = 5 s.
    pub const RFC3261: Self = Self {
        t1: Duration::from_millis(500),
        t2: Duration::from_secs(4),
        t4: Duration::from_secs(5),
    };

    /// Timer F, the client transaction timeout: 64 * T1.
    pub fn timer_f(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// Timer K, the client's wait for response retransmissions in Completed:
    /// T4 over an unreliable transport, zero over a reliable one.
    pub fn timer_k(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t4
        }
    }

    /// Timer J, the server's wait for request retransmissions in Completed:
    /// 64 * T1 over an unreliable transport, zero over a reliable one.
    pub fn timer_j(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            self.t1.saturating_mul(64)
        }
    }
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self::RFC3261
    }
}

/// Identity of a non-INVITE transaction timer (RFC 3261 Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Client request retransmission (unreliable transports only).
    E,
    /// Client transaction timeout (64 * T1).
    F,
    /// Client wait for response retransmissions in Completed.
    K,
    /// Server wait for request retransmissions in Completed.
    J,
}

/// `now + after`, or `None` (never) if the instant is not representable.
pub(crate) fn deadline(now: Instant, after: Duration) -> Option<Instant> {
    now.checked_add(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_defaults_and_derived_timers() {
        let cfg = TimerConfig::default();
        assert_eq!(cfg, TimerConfig::RFC3261);
        assert_eq!(cfg.t1, Duration::from_millis(500));
        assert_eq!(cfg.timer_f(), Duration::from_secs(32));
        assert_eq!(cfg.timer_k(false), Duration::from_secs(5));
        assert_eq!(cfg.timer_k(true), Duration::ZERO);
        assert_eq!(cfg.timer_j(false), Duration::from_secs(32));
        assert_eq!(cfg.timer_j(true), Duration::ZERO);
    }

    #[test]
    fn huge_values_saturate_instead_of_panicking() {
        let cfg = TimerConfig {
            t1: Duration::MAX,
            ..TimerConfig::default()
        };
        assert_eq!(cfg.timer_f(), Duration::MAX);
        let now = Instant::now();
        assert_eq!(deadline(now, Duration::MAX), None);
    }
}
