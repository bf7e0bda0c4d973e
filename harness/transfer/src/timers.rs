//! One timer heap with lazy cancellation, shared by both machines.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// Deadlines of kind `T`; stale entries are skipped by the owner (generation checks).
#[derive(Debug)]
pub(crate) struct TimerHeap<T: Ord> {
    heap: BinaryHeap<Reverse<(Instant, u64, T)>>,
    seq: u64,
}

impl<T: Ord> TimerHeap<T> {
    pub(crate) fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    pub(crate) fn schedule(&mut self, at: Instant, item: T) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, item)));
    }

    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Drops entries from the top while `stale` says they no longer matter, so that
    /// [`TimerHeap::next`] reports a deadline that is still wanted.
    pub(crate) fn prune(&mut self, mut stale: impl FnMut(&T) -> bool) {
        while let Some(Reverse((_, _, item))) = self.heap.peek() {
            if !stale(item) {
                break;
            }
            self.heap.pop();
        }
    }

    /// The earliest item due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, T)> {
        if self.next()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse((at, _, item))| (at, item))
    }
}
