//! The open-model arrival schedule: when chat number `g` arrives, its priority class, and which
//! shard plays it. Arrival times follow only from the profile, never from the SUT.

use std::time::Duration;

use crate::class::Class;
use crate::profile::{Phase, Profile};
use crate::LoadError;

/// `--shard K/N`: this process plays arrivals `g` with `g % N == K`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// This shard (0-based).
    pub k: u32,
    /// Number of shards.
    pub n: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Self { k: 0, n: 1 }
    }
}

impl Shard {
    /// Parses `K/N`.
    pub fn parse(s: &str) -> Result<Self, LoadError> {
        let bad = || LoadError::Shard(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k >= n {
            return Err(bad());
        }
        Ok(Self { k, n })
    }
}

/// One arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    /// Global arrival number (the same in every shard).
    pub g: u64,
    /// Offset from the common start.
    pub at: Duration,
    /// Priority class.
    pub class: Class,
    /// The phase (ramp step) it belongs to.
    pub phase: usize,
}

/// Iterates the arrivals of one shard in time order.
#[derive(Debug, Clone)]
pub struct Schedule {
    phases: Vec<Phase>,
    /// Cumulative arrival counts at the start of each phase.
    first_g: Vec<u64>,
    total: u64,
    weights: [u32; 4],
    seed: u64,
    shard: Shard,
    next_g: u64,
    /// No arrivals at or after this offset (set when a ramp stops early).
    cutoff: Option<Duration>,
}

impl Schedule {
    /// The schedule of `profile` for `shard`.
    pub fn new(profile: &Profile, shard: Shard) -> Self {
        let phases = profile.phases();
        let mut first_g = Vec::with_capacity(phases.len());
        let mut total = 0;
        for p in &phases {
            first_g.push(total);
            total += p.arrivals();
        }
        Self {
            phases,
            first_g,
            total,
            weights: profile.weights(),
            seed: profile.seed,
            shard,
            next_g: u64::from(shard.k),
            cutoff: None,
        }
    }

    /// Arrivals in all shards together.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The phases.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// The arrival `g` (any shard).
    pub fn arrival(&self, g: u64) -> Option<Arrival> {
        if g >= self.total {
            return None;
        }
        let phase = self.first_g.partition_point(|f| *f <= g).saturating_sub(1);
        let p = self.phases.get(phase)?;
        let j = g - self.first_g[phase];
        let at = Duration::from_secs_f64(p.start_s + j as f64 / p.rate);
        Some(Arrival {
            g,
            at,
            class: self.class_of(g),
            phase,
        })
    }

    /// The class of arrival `g`: a weighted draw from a hash of `g` and the seed, so every
    /// shard agrees and the mix holds for any sub-sequence.
    pub fn class_of(&self, g: u64) -> Class {
        let total: u64 = self.weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = splitmix64(g ^ self.seed.rotate_left(17)) % total.max(1);
        for c in Class::ALL {
            let w = u64::from(self.weights[c.index()]);
            if x < w {
                return c;
            }
            x -= w;
        }
        Class::None
    }

    /// The next arrival of this shard, without consuming it.
    pub fn peek(&self) -> Option<Arrival> {
        let a = self.arrival(self.next_g)?;
        match self.cutoff {
            Some(c) if a.at >= c => None,
            _ => Some(a),
        }
    }

    /// Consumes the next arrival.
    pub fn advance(&mut self) {
        self.next_g += u64::from(self.shard.n);
    }

    /// No arrivals from offset `at` on.
    pub fn stop_at(&mut self, at: Duration) {
        self.cutoff = Some(self.cutoff.map_or(at, |c| c.min(at)));
    }

    /// When the last arrival of the whole schedule is (offset).
    pub fn end(&self) -> Duration {
        let last = self.phases.last().map_or(0.0, |p| p.start_s + p.duration_s);
        let end = Duration::from_secs_f64(last);
        self.cutoff.map_or(end, |c| c.min(end))
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        toml::from_str(include_str!("../profiles/smoke.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn shards_partition_the_arrivals_and_agree_on_classes() {
        let p = profile();
        let whole: Vec<Arrival> = {
            let mut s = Schedule::new(&p, Shard::default());
            std::iter::from_fn(|| {
                let a = s.peek()?;
                s.advance();
                Some(a)
            })
            .collect()
        };
        assert_eq!(whole.len() as u64, 30);
        let mut parts = Vec::new();
        for k in 0..3 {
            let mut s = Schedule::new(&p, Shard { k, n: 3 });
            while let Some(a) = s.peek() {
                parts.push(a);
                s.advance();
            }
        }
        parts.sort_by_key(|a| a.g);
        assert_eq!(parts, whole);
        // Open model: arrival times are 1/rate apart, whatever happens to the SUT.
        assert_eq!(whole[3].at, Duration::from_secs(1));
    }

    #[test]
    fn the_mix_is_respected() {
        let p = profile();
        let s = Schedule::new(&p, Shard::default());
        let mut n = [0u32; 4];
        for g in 0..10_000 {
            n[s.class_of(g).index()] += 1;
        }
        // Weights 1:2:1:1 (esnet.0, esnet.1, esnet.2, none).
        assert!((3700..4300).contains(&n[1]), "{n:?}");
        assert!((1700..2300).contains(&n[0]), "{n:?}");
    }

    #[test]
    fn shard_syntax() {
        assert_eq!(Shard::parse("1/4").ok(), Some(Shard { k: 1, n: 4 }));
        assert!(Shard::parse("4/4").is_err());
        assert!(Shard::parse("x").is_err());
        assert!(Shard::parse("0/0").is_err());
    }

    #[test]
    fn a_cutoff_ends_the_arrivals() {
        let p = profile();
        let mut s = Schedule::new(&p, Shard::default());
        s.stop_at(Duration::from_secs(2));
        let mut n = 0;
        while s.peek().is_some() {
            s.advance();
            n += 1;
        }
        assert_eq!(n, 6);
    }
}
