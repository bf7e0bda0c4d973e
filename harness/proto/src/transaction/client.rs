//! Non-INVITE client transaction (RFC 3261 section 17.1.2).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::timers::{deadline, Timer, TimerConfig};
use super::{is_valid_status, InlineQueue, TransactionError};

/// State of a non-INVITE client transaction (RFC 3261 Figure 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// Request sent, no response yet.
    Trying,
    /// A provisional (1xx) response was received.
    Proceeding,
    /// A final response was received; waiting out Timer K to absorb retransmissions.
    Completed,
    /// The transaction is over and may be discarded.
    Terminated,
}

/// Notification for the transaction user (TU), obtained with
/// [`ClientTransaction::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientEvent {
    /// A provisional (1xx) response was received in Trying or Proceeding.
    Provisional(u16),
    /// The final (200-699) response; reported once, retransmissions are absorbed.
    Final(u16),
    /// Timer F fired before a final response; the TU treats this as a 408.
    Timeout,
    /// The transport reported a failure while the request was outstanding.
    TransportError,
}

/// RFC 3261 non-INVITE client transaction as a sans-IO state machine.
///
/// Created when the TU sends a request; the request bytes are queued for
/// transmission at once. Feed it responses, transport errors and timeouts;
/// drain [`poll_transmit`](Self::poll_transmit) and
/// [`poll_event`](Self::poll_event) after every input.
#[derive(Debug, Clone)]
pub struct ClientTransaction {
    state: ClientState,
    reliable: bool,
    cfg: TimerConfig,
    /// Dropped once the transaction has a final answer (nothing is resent after it).
    request: Option<Arc<[u8]>>,
    /// Copies of the request still to be handed to the transport.
    pending_sends: u32,
    timer_e: Option<Instant>,
    /// Interval Timer E was last armed with.
    e_interval: Duration,
    timer_f: Option<Instant>,
    timer_k: Option<Instant>,
    events: InlineQueue<ClientEvent>,
    retransmissions: u32,
    absorbed_responses: u32,
}

impl ClientTransaction {
    /// Starts the transaction: the request (already serialized bytes) is
    /// queued for immediate transmission, Timer F is armed and, over an
    /// unreliable transport, Timer E is armed at T1.
    pub fn new(now: Instant, request: Arc<[u8]>, reliable: bool, cfg: &TimerConfig) -> Self {
        Self {
            state: ClientState::Trying,
            reliable,
            cfg: *cfg,
            request: Some(request),
            pending_sends: 1,
            timer_e: if reliable {
                None
            } else {
                deadline(now, cfg.t1)
            },
            e_interval: cfg.t1,
            timer_f: deadline(now, cfg.timer_f()),
            timer_k: None,
            events: InlineQueue::new(),
            retransmissions: 0,
            absorbed_responses: 0,
        }
    }

    /// Next bytes to hand to the transport (the request or a retransmission of it).
    pub fn poll_transmit(&mut self) -> Option<Arc<[u8]>> {
        if self.pending_sends == 0 {
            return None;
        }
        self.pending_sends -= 1;
        self.request.clone()
    }

    /// The earliest pending timer deadline, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_timer().map(|(_, at)| at)
    }

    /// The earliest pending timer and its deadline. On a tie, Timer F wins
    /// over Timer E (a timeout makes the retransmission pointless).
    pub fn next_timer(&self) -> Option<(Timer, Instant)> {
        let candidates = [
            (Timer::F, self.timer_f),
            (Timer::K, self.timer_k),
            (Timer::E, self.timer_e),
        ];
        let mut best: Option<(Timer, Instant)> = None;
        for (timer, at) in candidates {
            match (at, best) {
                (Some(at), Some((_, b))) if at < b => best = Some((timer, at)),
                (Some(at), None) => best = Some((timer, at)),
                _ => {}
            }
        }
        best
    }

    /// Fires every timer whose deadline is at or before `now`.
    ///
    /// Timer F (in Trying/Proceeding) terminates the transaction with a
    /// [`ClientEvent::Timeout`]. Timer E queues one retransmission and is
    /// re-armed relative to its own deadline, so the schedule does not drift
    /// with polling latency: MIN(2 * previous, T2) in Trying, T2 in
    /// Proceeding. If the caller was so late that the next deadline has also
    /// passed, only one retransmission is queued and the schedule restarts
    /// from `now`. Timer K (in Completed) terminates the transaction.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            ClientState::Trying | ClientState::Proceeding => {
                if self.timer_f.is_some_and(|f| f <= now) {
                    self.terminate();
                    self.events.push(ClientEvent::Timeout);
                    return;
                }
                if let Some(e) = self.timer_e.filter(|&e| e <= now) {
                    self.pending_sends = self.pending_sends.saturating_add(1);
                    self.retransmissions = self.retransmissions.saturating_add(1);
                    let next = if self.state == ClientState::Trying {
                        self.e_interval.saturating_mul(2).min(self.cfg.t2)
                    } else {
                        self.cfg.t2
                    };
                    self.e_interval = next;
                    self.timer_e = match deadline(e, next) {
                        Some(at) if at > now => Some(at),
                        _ => deadline(now, next),
                    };
                }
            }
            ClientState::Completed => {
                if self.timer_k.is_some_and(|k| k <= now) {
                    self.terminate();
                }
            }
            ClientState::Terminated => {}
        }
    }

    /// A response matching this transaction was received (`status` 100..=699).
    ///
    /// In Trying/Proceeding a 1xx moves to Proceeding and is passed up as
    /// [`ClientEvent::Provisional`]; a final response is passed up as
    /// [`ClientEvent::Final`], stops Timers E and F and moves to Completed
    /// (Timer K = T4), or straight to Terminated over a reliable transport.
    /// In Completed and Terminated responses are absorbed (counted by
    /// [`absorbed_responses`](Self::absorbed_responses)).
    pub fn handle_response(&mut self, now: Instant, status: u16) -> Result<(), TransactionError> {
        if !is_valid_status(status) {
            return Err(TransactionError::InvalidStatus(status));
        }
        match self.state {
            ClientState::Trying | ClientState::Proceeding => {
                if status < 200 {
                    self.state = ClientState::Proceeding;
                    self.events.push(ClientEvent::Provisional(status));
                } else {
                    self.events.push(ClientEvent::Final(status));
                    self.enter_completed(now);
                }
            }
            ClientState::Completed | ClientState::Terminated => {
                self.absorbed_responses = self.absorbed_responses.saturating_add(1);
            }
        }
        Ok(())
    }

    /// The transport failed to send the request (RFC 3261 section 17.1.4).
    ///
    /// In Trying/Proceeding the transaction terminates and reports
    /// [`ClientEvent::TransportError`]. In Completed nothing is being sent, so
    /// the report is ignored (the TU already has its final response).
    pub fn handle_transport_error(&mut self, _now: Instant) {
        if matches!(self.state, ClientState::Trying | ClientState::Proceeding) {
            self.terminate();
            self.events.push(ClientEvent::TransportError);
        }
    }

    /// Next notification for the TU.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop()
    }

    /// Current state.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// Whether the transaction reached Terminated (it may still have
    /// undrained events).
    pub fn is_terminated(&self) -> bool {
        self.state == ClientState::Terminated
    }

    /// Whether the transaction runs over a reliable transport.
    pub fn is_reliable(&self) -> bool {
        self.reliable
    }

    /// Number of Timer E retransmissions queued so far.
    pub fn retransmissions(&self) -> u32 {
        self.retransmissions
    }

    /// Number of responses absorbed in Completed/Terminated (retransmitted finals, late 1xx).
    pub fn absorbed_responses(&self) -> u32 {
        self.absorbed_responses
    }

    fn enter_completed(&mut self, now: Instant) {
        self.pending_sends = 0;
        self.request = None;
        self.timer_e = None;
        self.timer_f = None;
        let k = self.cfg.timer_k(self.reliable);
        if k.is_zero() {
            self.state = ClientState::Terminated;
        } else {
            self.state = ClientState::Completed;
            self.timer_k = deadline(now, k);
        }
    }

    fn terminate(&mut self) {
        self.state = ClientState::Terminated;
        self.pending_sends = 0;
        self.request = None;
        self.timer_e = None;
        self.timer_f = None;
        self.timer_k = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn req() -> Arc<[u8]> {
        Arc::from(&b"MESSAGE sip:psap@example.net SIP/2.0\r\n\r\n"[..])
    }

    fn drain(tx: &mut ClientTransaction) -> usize {
        std::iter::from_fn(|| tx.poll_transmit()).count()
    }

    fn events(tx: &mut ClientTransaction) -> Vec<ClientEvent> {
        std::iter::from_fn(|| tx.poll_event()).collect()
    }

    #[test]
    fn udp_retransmission_schedule_and_timer_f() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut tx = ClientTransaction::new(t0, req(), false, &cfg);
        assert_eq!(tx.poll_transmit().as_deref(), Some(&req()[..]));
        assert_eq!(tx.poll_transmit(), None);
        assert_eq!(tx.next_timer(), Some((Timer::E, t0 + cfg.t1)));

        // Intervals T1, 2T1, 4T1, then capped at T2 = 8T1.
        let mut expected = Vec::new();
        let (mut at, mut iv) = (t0, cfg.t1);
        while at + iv < t0 + cfg.timer_f() {
            at += iv;
            expected.push(at);
            iv = (iv * 2).min(cfg.t2);
        }
        let offsets_ms: Vec<u128> = expected.iter().map(|e| (*e - t0).as_millis()).collect();
        assert_eq!(
            offsets_ms,
            [500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
        );

        let mut fired = Vec::new();
        while let Some(at) = tx.poll_timeout() {
            // Nothing fires one tick early.
            tx.handle_timeout(at - MS);
            assert_eq!(drain(&mut tx), 0);
            tx.handle_timeout(at);
            if drain(&mut tx) == 1 {
                fired.push(at);
            }
            if tx.is_terminated() {
                assert_eq!(at, t0 + Duration::from_secs(32));
                break;
            }
        }
        assert_eq!(fired, expected);
        assert_eq!(tx.retransmissions(), 10);
        assert_eq!(events(&mut tx), [ClientEvent::Timeout]);
        assert_eq!(tx.state(), ClientState::Terminated);
        assert_eq!(tx.poll_timeout(), None);
    }

    #[test]
    fn proceeding_retransmits_every_t2() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut tx = ClientTransaction::new(t0, req(), false, &cfg);
        drain(&mut tx);
        tx.handle_timeout(t0 + cfg.t1); // first retransmission, next at 1.5 s
        assert_eq!(drain(&mut tx), 1);
        tx.handle_response(t0 + 600 * MS, 100).expect("valid");
        assert_eq!(tx.state(), ClientState::Proceeding);
        assert_eq!(events(&mut tx), [ClientEvent::Provisional(100)]);
        // Timer E keeps its deadline, then fires every T2.
        assert_eq!(tx.poll_timeout(), Some(t0 + 1500 * MS));
        tx.handle_timeout(t0 + 1500 * MS);
        assert_eq!(drain(&mut tx), 1);
        assert_eq!(tx.poll_timeout(), Some(t0 + 5500 * MS));
        tx.handle_timeout(t0 + 5500 * MS);
        assert_eq!(tx.poll_timeout(), Some(t0 + 9500 * MS));
        assert_eq!(tx.retransmissions(), 3);
    }

    #[test]
    fn late_caller_gets_one_retransmission_not_a_burst() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut tx = ClientTransaction::new(t0, req(), false, &cfg);
        drain(&mut tx);
        let late = t0 + Duration::from_secs(10);
        tx.handle_timeout(late);
        assert_eq!(drain(&mut tx), 1);
        assert_eq!(tx.poll_timeout(), Some(late + 2 * cfg.t1));
    }

    #[test]
    fn reliable_never_retransmits_and_times_out() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut tx = ClientTransaction::new(t0, req(), true, &cfg);
        assert!(tx.is_reliable());
        assert_eq!(drain(&mut tx), 1);
        assert_eq!(tx.next_timer(), Some((Timer::F, t0 + cfg.timer_f())));
        tx.handle_timeout(t0 + cfg.timer_f() - MS);
        assert_eq!(drain(&mut tx), 0);
        assert!(!tx.is_terminated());
        tx.handle_timeout(t0 + cfg.timer_f());
        assert_eq!(drain(&mut tx), 0);
        assert_eq!(tx.retransmissions(), 0);
        assert_eq!(events(&mut tx), [ClientEvent::Timeout]);
        assert!(tx.is_terminated());
    }

    #[test]
    fn provisional_then_final_then_timer_k() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut tx = ClientTransaction::new(t0, req(), false, &cfg);
        drain(&mut tx);
        tx.handle_response(t0 + 10 * MS, 100).expect("valid");
        tx.handle_response(t0 + 20 * MS, 180).expect("valid");
        assert_eq!(tx.state(), ClientState::Proceeding);
        let fin = t0 + 30 * MS;
        tx.handle_response(fin, 202).expect("valid");
        assert_eq!(tx.state(), ClientState::Completed);
        assert_eq!(
            events(&mut tx),
            [
                ClientEvent::Provisional(100),
                ClientEvent::Provisional(180),
                ClientEvent::Final(202)
            ]
        );
        // Retransmitted finals and late provisionals are absorbed.
        tx.handle_response(fin + MS, 202).expect("valid");
        tx.handle_response(fin + 2 * MS, 180).expect("valid");
        assert_eq!(events(&mut tx), []);
        assert_eq!(tx.absorbed_responses(), 2);
        // Timers E and F are gone; only K remains, and no retransmission happens.
        assert_eq!(tx.next_timer(), Some((Timer::K, fin + cfg.t4)));
        tx.handle_timeout(t0 + cfg.t1);
        assert_eq!(drain(&mut tx), 0);
        tx.handle_timeout(fin + cfg.t4 - MS);
        assert_eq!(tx.state(), ClientState::Completed);
        tx.handle_timeout(fin + cfg.t4);
        assert!(tx.is_terminated());
        assert_eq!(tx.poll_timeout(), None);
        assert_eq!(events(&mut tx), []);
    }

    #[test]
    fn final_in_trying_drops_queued_retransmission() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut tx = ClientTransaction::new(t0, req(), false, &cfg);
        drain(&mut tx);
        tx.handle_timeout(t0 + cfg.t1);
        tx.handle_response(t0 + cfg.t1, 404).expect("valid");
        assert_eq!(drain(&mut tx), 0);
        assert_eq!(events(&mut tx), [ClientEvent::Final(404)]);
    }

    #[test]
    fn reliable_final_terminates_immediately() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut tx = ClientTransaction::new(t0, req(), true, &cfg);
        drain(&mut tx);
        tx.handle_response(t0 + MS, 200).expect("valid");
        assert!(tx.is_terminated());
        assert_eq!(tx.poll_timeout(), None);
        assert_eq!(events(&mut tx), [ClientEvent::Final(200)]);
    }

    #[test]
    fn transport_error_and_invalid_status() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut tx = ClientTransaction::new(t0, req(), false, &cfg);
        assert_eq!(
            tx.handle_response(t0, 99),
            Err(TransactionError::InvalidStatus(99))
        );
        assert_eq!(
            tx.handle_response(t0, 700),
            Err(TransactionError::InvalidStatus(700))
        );
        assert_eq!(tx.state(), ClientState::Trying);
        tx.handle_transport_error(t0 + MS);
        assert!(tx.is_terminated());
        assert_eq!(drain(&mut tx), 0);
        assert_eq!(tx.poll_timeout(), None);
        assert_eq!(events(&mut tx), [ClientEvent::TransportError]);

        // Ignored in Completed.
        let mut tx = ClientTransaction::new(t0, req(), false, &cfg);
        tx.handle_response(t0, 200).expect("valid");
        tx.handle_transport_error(t0);
        assert_eq!(tx.state(), ClientState::Completed);
        assert_eq!(events(&mut tx), [ClientEvent::Final(200)]);
    }
}
