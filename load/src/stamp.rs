//! The load stamp carried in every chat text: which chat (global arrival number), its class and
//! the message's *intended* send time as an offset from the run's common epoch. The receiving
//! side, on the same clock, computes one-way latency from it without any shared state.

use std::time::{Duration, Instant};

use crate::class::Class;

/// A decoded stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Global arrival number of the chat.
    pub g: u64,
    /// Priority class.
    pub class: Class,
    /// Intended send time, offset from the epoch.
    pub intended: Duration,
}

impl Stamp {
    /// A stamp for a message intended at `at`.
    pub fn new(g: u64, class: Class, epoch: Instant, at: Instant) -> Self {
        Self {
            g,
            class,
            intended: at.saturating_duration_since(epoch),
        }
    }

    /// The chat text: the stamp and a human-readable note.
    pub fn text(&self, note: &str) -> String {
        format!(
            "lmpe-load g={} c={} t={} {note}",
            self.g,
            self.class.name(),
            self.intended.as_micros()
        )
    }

    /// Reads a stamp from a chat text.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.split_once("lmpe-load ")?.1;
        let mut g = None;
        let mut class = None;
        let mut t = None;
        for tok in rest.split_ascii_whitespace().take(3) {
            match tok.split_once('=')? {
                ("g", v) => g = v.parse().ok(),
                ("c", v) => class = Class::by_name(v),
                ("t", v) => t = v.parse::<u64>().ok(),
                _ => return None,
            }
        }
        Some(Self {
            g: g?,
            class: class?,
            intended: Duration::from_micros(t?),
        })
    }

    /// Microseconds from the intended time to `now` (0 for a stamp from the future, which
    /// only a garbled or foreign stamp can be: it comes from the network).
    pub fn latency_us(&self, epoch: Instant, now: Instant) -> u64 {
        epoch
            .checked_add(self.intended)
            .map_or(0, |at| now.saturating_duration_since(at).as_micros())
            .min(u128::from(u64::MAX)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects_garbage() {
        let e = Instant::now();
        let s = Stamp::new(42, Class::Esnet2, e, e + Duration::from_micros(1234));
        let text = s.text("message 2 of chat 42");
        assert_eq!(Stamp::parse(&text), Some(s));
        assert_eq!(s.latency_us(e, e + Duration::from_micros(2234)), 1000);
        assert_eq!(Stamp::parse("hello"), None);
        let far = Stamp::parse(&format!("lmpe-load g=1 c=none t={}", u64::MAX));
        assert_eq!(far.map(|s| s.latency_us(e, e)), Some(0));
        assert_eq!(Stamp::parse("lmpe-load g=x c=none t=1"), None);
        assert_eq!(Stamp::parse("lmpe-load g=1 c=esnet.7 t=1"), None);
    }
}
