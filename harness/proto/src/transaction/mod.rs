//! RFC 3261 non-INVITE client and server transactions as sans-IO state
//! machines (sections 17.1.2 and 17.2.2).
//!
//! Nothing here performs I/O, reads a clock, spawns or awaits. Every input
//! carries the current time (`now`), and outputs are polled:
//!
//! * `poll_transmit` – bytes the caller must hand to the transport, in order;
//! * `poll_timeout` – the earliest instant at which `handle_timeout` must be
//!   called;
//! * `poll_event` – notifications for the transaction user (client side).
//!
//! [`ClientTransaction`] and [`ServerTransaction`] model a single transaction;
//! [`TransactionTable`] multiplexes many of them over one timer heap and one
//! output queue. Messages are opaque bytes: the machines never parse SIP.

mod client;
mod server;
mod table;
mod timers;

use std::collections::VecDeque;

pub use client::{ClientEvent, ClientState, ClientTransaction};
pub use server::{ServerState, ServerTransaction};
pub use table::{RequestDisposition, ResponseDisposition, TableStats, TransactionTable};
pub use timers::{Timer, TimerConfig};

/// Errors reported by transactions and by the [`TransactionTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    /// A status code outside the SIP range 100..=699.
    #[error("invalid SIP status code {0} (expected 100..=699)")]
    InvalidStatus(u16),
    /// The server transaction already sent a final response (state Completed).
    #[error("a final response was already sent on this server transaction")]
    FinalResponseAlreadySent,
    /// The transaction is in the Terminated state.
    #[error("the transaction is terminated")]
    Terminated,
    /// A live transaction already uses this key.
    #[error("a live transaction already uses this key")]
    DuplicateKey,
    /// No live transaction has this key.
    #[error("no live transaction has this key")]
    UnknownTransaction,
    /// The key belongs to a client transaction, but a server transaction was required.
    #[error("the key belongs to a client transaction, not a server transaction")]
    NotAServerTransaction,
}

/// Whether `status` is a SIP status code (100..=699).
pub(crate) fn is_valid_status(status: u16) -> bool {
    (100..=699).contains(&status)
}

/// FIFO that holds its first element inline, so the common case of at most
/// one pending item never allocates.
#[derive(Debug, Clone)]
pub(crate) struct InlineQueue<T> {
    head: Option<T>,
    rest: VecDeque<T>,
}

impl<T> InlineQueue<T> {
    pub(crate) const fn new() -> Self {
        Self {
            head: None,
            rest: VecDeque::new(),
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        if self.head.is_none() && self.rest.is_empty() {
            self.head = Some(item);
        } else {
            self.rest.push_back(item);
        }
    }

    pub(crate) fn pop(&mut self) -> Option<T> {
        self.head.take().or_else(|| self.rest.pop_front())
    }

    pub(crate) fn clear(&mut self) {
        self.head = None;
        self.rest.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_queue_is_fifo() {
        let mut q = InlineQueue::new();
        q.push(1);
        q.push(2);
        assert_eq!(q.pop(), Some(1));
        q.push(3);
        assert_eq!(q.pop(), Some(2));
        q.push(4);
        assert_eq!(q.pop(), Some(3));
        assert_eq!(q.pop(), Some(4));
        assert_eq!(q.pop(), None);
        q.push(5);
        q.clear();
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn status_range() {
        assert!(!is_valid_status(99));
        assert!(is_valid_status(100));
        assert!(is_valid_status(699));
        assert!(!is_valid_status(700));
    }
}
