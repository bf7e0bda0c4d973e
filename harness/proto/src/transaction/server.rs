//! Non-INVITE server transaction (RFC 3261 section 17.2.2).

use std::sync::Arc;
use std::time::Instant;

use super::timers::{deadline, Timer, TimerConfig};
use super::{is_valid_status, InlineQueue, TransactionError};

/// State of a non-INVITE server transaction (RFC 3261 Figure 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// Request received and passed to the TU; no response sent yet.
    Trying,
    /// A provisional (1xx) response was sent.
    Proceeding,
    /// A final response was sent; waiting out Timer J to absorb request retransmissions.
    Completed,
    /// The transaction is over and may be discarded.
    Terminated,
}

/// RFC 3261 non-INVITE server transaction as a sans-IO state machine.
///
/// Created when a new request arrives (and is passed to the TU). The TU
/// answers with [`send_response`](Self::send_response); the bytes to put on
/// the wire come out of [`poll_transmit`](Self::poll_transmit).
#[derive(Debug, Clone)]
pub struct ServerTransaction {
    state: ServerState,
    reliable: bool,
    cfg: TimerConfig,
    last_response: Option<Arc<[u8]>>,
    outbox: InlineQueue<Arc<[u8]>>,
    timer_j: Option<Instant>,
    absorbed: u32,
}

impl ServerTransaction {
    /// Creates the transaction for a request that was just received (state Trying).
    pub fn new(_now: Instant, reliable: bool, cfg: &TimerConfig) -> Self {
        Self {
            state: ServerState::Trying,
            reliable,
            cfg: *cfg,
            last_response: None,
            outbox: InlineQueue::new(),
            timer_j: None,
            absorbed: 0,
        }
    }

    /// A retransmission of the request arrived. It is absorbed (never passed
    /// to the TU); in Proceeding and Completed the last response is queued
    /// again. Ignored once Terminated.
    pub fn handle_request_retransmission(&mut self, _now: Instant) {
        match self.state {
            ServerState::Trying => {
                self.absorbed = self.absorbed.saturating_add(1);
            }
            ServerState::Proceeding | ServerState::Completed => {
                self.absorbed = self.absorbed.saturating_add(1);
                if let Some(last) = &self.last_response {
                    self.outbox.push(Arc::clone(last));
                }
            }
            ServerState::Terminated => {}
        }
    }

    /// The TU sends a response (`status` 100..=699; `bytes` already serialized).
    ///
    /// A 1xx moves Trying/Proceeding to Proceeding. A final response moves to
    /// Completed and arms Timer J (64 * T1), or over a reliable transport
    /// moves straight to Terminated; the response is still queued for
    /// transmission in that case.
    ///
    /// # Errors
    /// [`TransactionError::InvalidStatus`] for a status outside 100..=699,
    /// [`TransactionError::FinalResponseAlreadySent`] in Completed and
    /// [`TransactionError::Terminated`] in Terminated.
    pub fn send_response(
        &mut self,
        now: Instant,
        status: u16,
        bytes: Arc<[u8]>,
    ) -> Result<(), TransactionError> {
        if !is_valid_status(status) {
            return Err(TransactionError::InvalidStatus(status));
        }
        match self.state {
            ServerState::Completed => Err(TransactionError::FinalResponseAlreadySent),
            ServerState::Terminated => Err(TransactionError::Terminated),
            ServerState::Trying | ServerState::Proceeding => {
                self.outbox.push(Arc::clone(&bytes));
                if status < 200 {
                    self.state = ServerState::Proceeding;
                    self.last_response = Some(bytes);
                } else {
                    let j = self.cfg.timer_j(self.reliable);
                    if j.is_zero() {
                        self.state = ServerState::Terminated;
                        self.last_response = None;
                    } else {
                        self.state = ServerState::Completed;
                        self.last_response = Some(bytes);
                        self.timer_j = deadline(now, j);
                    }
                }
                Ok(())
            }
        }
    }

    /// Next bytes to hand to the transport (responses and their re-sends, in order).
    pub fn poll_transmit(&mut self) -> Option<Arc<[u8]>> {
        self.outbox.pop()
    }

    /// The pending timer deadline (Timer J), if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer_j
    }

    /// The pending timer and its deadline, if any.
    pub fn next_timer(&self) -> Option<(Timer, Instant)> {
        self.timer_j.map(|at| (Timer::J, at))
    }

    /// Fires Timer J if its deadline is at or before `now` (Completed → Terminated).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == ServerState::Completed && self.timer_j.is_some_and(|j| j <= now) {
            self.timer_j = None;
            self.last_response = None;
            self.state = ServerState::Terminated;
        }
    }

    /// The transport failed to send a response: the transaction terminates
    /// at once and queued transmissions are dropped (RFC 3261 section 17.2.4).
    pub fn handle_transport_error(&mut self, _now: Instant) {
        self.state = ServerState::Terminated;
        self.timer_j = None;
        self.last_response = None;
        self.outbox.clear();
    }

    /// Current state.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// Whether the transaction reached Terminated (it may still have
    /// undrained transmissions, e.g. the final response over a reliable transport).
    pub fn is_terminated(&self) -> bool {
        self.state == ServerState::Terminated
    }

    /// Whether the transaction runs over a reliable transport.
    pub fn is_reliable(&self) -> bool {
        self.reliable
    }

    /// Number of request retransmissions absorbed (in any non-terminated state).
    pub fn absorbed_retransmissions(&self) -> u32 {
        self.absorbed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const MS: Duration = Duration::from_millis(1);

    fn bytes(s: &str) -> Arc<[u8]> {
        Arc::from(s.as_bytes())
    }

    fn drain(tx: &mut ServerTransaction) -> Vec<Arc<[u8]>> {
        std::iter::from_fn(|| tx.poll_transmit()).collect()
    }

    #[test]
    fn trying_absorbs_then_proceeding_and_completed_resend_last() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut tx = ServerTransaction::new(t0, false, &cfg);
        assert_eq!(tx.state(), ServerState::Trying);
        assert_eq!(tx.poll_timeout(), None);

        tx.handle_request_retransmission(t0 + MS);
        assert!(drain(&mut tx).is_empty());
        assert_eq!(tx.absorbed_retransmissions(), 1);

        let trying = bytes("SIP/2.0 100 Trying");
        tx.send_response(t0 + 2 * MS, 100, trying.clone())
            .expect("allowed");
        assert_eq!(tx.state(), ServerState::Proceeding);
        assert_eq!(drain(&mut tx), std::slice::from_ref(&trying));
        tx.handle_request_retransmission(t0 + 3 * MS);
        assert_eq!(drain(&mut tx), [trying]);

        let ok = bytes("SIP/2.0 200 OK");
        let fin = t0 + 4 * MS;
        tx.send_response(fin, 200, ok.clone()).expect("allowed");
        assert_eq!(tx.state(), ServerState::Completed);
        tx.handle_request_retransmission(fin + MS);
        tx.handle_request_retransmission(fin + 2 * MS);
        assert_eq!(drain(&mut tx), [ok.clone(), ok.clone(), ok]);
        assert_eq!(tx.absorbed_retransmissions(), 4);

        // Timer J = 64 * T1 over UDP.
        assert_eq!(tx.next_timer(), Some((Timer::J, fin + cfg.timer_j(false))));
        tx.handle_timeout(fin + cfg.timer_j(false) - MS);
        assert_eq!(tx.state(), ServerState::Completed);
        tx.handle_timeout(fin + cfg.timer_j(false));
        assert!(tx.is_terminated());
        assert_eq!(tx.poll_timeout(), None);
        tx.handle_request_retransmission(fin + cfg.timer_j(false));
        assert!(drain(&mut tx).is_empty());
    }

    #[test]
    fn reliable_final_terminates_immediately_but_is_still_sent() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut tx = ServerTransaction::new(t0, true, &cfg);
        assert!(tx.is_reliable());
        let ok = bytes("SIP/2.0 200 OK");
        tx.send_response(t0, 200, ok.clone()).expect("allowed");
        assert!(tx.is_terminated());
        assert_eq!(tx.poll_timeout(), None);
        assert_eq!(drain(&mut tx), [ok]);
    }

    #[test]
    fn send_response_errors() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut tx = ServerTransaction::new(t0, false, &cfg);
        assert_eq!(
            tx.send_response(t0, 42, bytes("x")),
            Err(TransactionError::InvalidStatus(42))
        );
        assert_eq!(tx.state(), ServerState::Trying);
        tx.send_response(t0, 486, bytes("busy")).expect("allowed");
        assert_eq!(
            tx.send_response(t0, 200, bytes("ok")),
            Err(TransactionError::FinalResponseAlreadySent)
        );
        assert_eq!(
            tx.send_response(t0, 180, bytes("ringing")),
            Err(TransactionError::FinalResponseAlreadySent)
        );
        assert_eq!(drain(&mut tx), [bytes("busy")]);
        tx.handle_timeout(t0 + cfg.timer_j(false));
        assert_eq!(
            tx.send_response(t0, 200, bytes("ok")),
            Err(TransactionError::Terminated)
        );
    }

    #[test]
    fn transport_error_terminates_and_drops_output() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut tx = ServerTransaction::new(t0, false, &cfg);
        tx.send_response(t0, 200, bytes("ok")).expect("allowed");
        tx.handle_transport_error(t0 + MS);
        assert!(tx.is_terminated());
        assert!(drain(&mut tx).is_empty());
        assert_eq!(tx.poll_timeout(), None);
    }
}
