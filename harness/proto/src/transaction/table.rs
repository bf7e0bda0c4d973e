//! Many transactions multiplexed over one timer heap and one output queue.

use std::cmp::{Ordering, Reverse};
use std::collections::hash_map::{Entry as MapEntry, HashMap};
use std::collections::{BinaryHeap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;
use std::time::Instant;

use super::{
    is_valid_status, ClientEvent, ClientState, ClientTransaction, ServerState, ServerTransaction,
    TimerConfig, TransactionError,
};

/// Stale heap entries tolerated beyond twice the live count before compaction.
const COMPACT_SLACK: usize = 1024;

/// What [`TransactionTable::on_request`] did with an incoming request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestDisposition {
    /// A new server transaction was created; pass the request to the TU.
    New,
    /// A retransmission was absorbed by the existing server transaction (the
    /// last response, if any, is queued again); do not pass it to the TU.
    Retransmission,
}

/// What [`TransactionTable::on_response`] did with an incoming response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseDisposition {
    /// Matched a client transaction and was passed up (see [`TransactionTable::poll_event`]).
    Delivered,
    /// Matched a client transaction in Completed and was absorbed (a retransmitted final).
    Absorbed,
    /// No client transaction has this key; the caller should report a stray response.
    Stray,
}

/// Cumulative counters of a [`TransactionTable`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TableStats {
    /// Client transactions started.
    pub client_started: u64,
    /// Server transactions created (new requests).
    pub server_started: u64,
    /// Client transactions that received a final response.
    pub completed: u64,
    /// Client transactions that hit Timer F.
    pub timed_out: u64,
    /// Transport errors that terminated a transaction (client or server).
    pub transport_errors: u64,
    /// Client request retransmissions (Timer E).
    pub retransmissions: u64,
    /// Request retransmissions absorbed by server transactions.
    pub absorbed_requests: u64,
    /// Responses absorbed by client transactions in Completed.
    pub absorbed_responses: u64,
    /// Responses that matched no client transaction.
    pub stray_responses: u64,
    /// Transactions that terminated and were removed from the table.
    pub terminated: u64,
}

/// A set of transactions keyed by `K` (the caller's key, e.g. Via branch +
/// method, plus direction if both roles share a table), with one timer heap.
///
/// Timers live in a few FIFO lanes and a binary heap (see `Timers`) with lazy
/// deletion: each entry remembers the sequence number of its one valid item;
/// superseded items are skipped when popped and the queues are compacted when
/// stale items dominate.
/// Terminated transactions are removed immediately; their queued output
/// stays in the table's queues. All operations are O(log n) amortised.
#[derive(Debug)]
pub struct TransactionTable<K> {
    cfg: TimerConfig,
    entries: HashMap<K, Entry, ahash::RandomState>,
    out: Outputs<K>,
}

#[derive(Debug)]
struct Entry {
    /// Boxed, so the map's slots stay small (a resize of a table holding millions of
    /// transactions moves 48-byte slots, not whole transactions).
    tx: Box<Tx>,
    /// Deadline and sequence number of this entry's valid heap item.
    scheduled: Option<(Instant, u64)>,
}

#[derive(Debug)]
enum Tx {
    Client(ClientTransaction),
    Server(ServerTransaction),
}

impl Tx {
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Tx::Client(c) => c.poll_timeout(),
            Tx::Server(s) => s.poll_timeout(),
        }
    }

    fn is_terminated(&self) -> bool {
        match self {
            Tx::Client(c) => c.is_terminated(),
            Tx::Server(s) => s.is_terminated(),
        }
    }
}

/// Heap item; ordered by (deadline, sequence number) only.
#[derive(Debug)]
struct Scheduled<K> {
    at: Instant,
    seq: u64,
    key: K,
}

impl<K> PartialEq for Scheduled<K> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}

impl<K> Eq for Scheduled<K> {}

impl<K> PartialOrd for Scheduled<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Scheduled<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// FIFO lanes beside the heap (see [`Timers`]).
const LANES: usize = 4;

/// The deadlines of a table: a few FIFO lanes and a binary heap, ordered by (deadline, sequence
/// number). Transactions arm timers of a few fixed durations (E, F, K, J), so the deadlines armed
/// with one duration come in order: a new item goes to the lane whose last deadline is the latest
/// one not after its own (O(1)), only an item that fits no lane to the heap (O(log n)). The
/// earliest item is the least of the lane fronts and the heap top.
#[derive(Debug)]
struct Timers<K> {
    lanes: [VecDeque<Scheduled<K>>; LANES],
    heap: BinaryHeap<Reverse<Scheduled<K>>>,
}

impl<K> Timers<K> {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            lanes: std::array::from_fn(|_| VecDeque::new()),
            heap: BinaryHeap::with_capacity(capacity),
        }
    }

    fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(VecDeque::len).sum::<usize>()
    }

    fn push(&mut self, item: Scheduled<K>) {
        let mut best: Option<(usize, Instant)> = None;
        let mut empty = None;
        for (i, lane) in self.lanes.iter().enumerate() {
            match lane.back() {
                Some(last) if last.at <= item.at => {
                    if !matches!(best, Some((_, at)) if last.at <= at) {
                        best = Some((i, last.at));
                    }
                }
                Some(_) => {}
                None => {
                    empty.get_or_insert(i);
                }
            }
        }
        match best.map(|(i, _)| i).or(empty) {
            Some(i) => self.lanes[i].push_back(item),
            None => self.heap.push(Reverse(item)),
        }
    }

    /// Where the earliest item is: `Some(lane)` or `None` for the heap.
    fn earliest(&self) -> Option<Option<usize>> {
        let mut best: Option<(&Scheduled<K>, Option<usize>)> =
            self.heap.peek().map(|Reverse(top)| (top, None));
        for (i, lane) in self.lanes.iter().enumerate() {
            if let Some(front) = lane.front() {
                if !matches!(best, Some((b, _)) if front >= b) {
                    best = Some((front, Some(i)));
                }
            }
        }
        best.map(|(_, at)| at)
    }

    fn peek(&self) -> Option<&Scheduled<K>> {
        match self.earliest()? {
            Some(i) => self.lanes[i].front(),
            None => self.heap.peek().map(|Reverse(top)| top),
        }
    }

    fn pop(&mut self) -> Option<Scheduled<K>> {
        match self.earliest()? {
            Some(i) => self.lanes[i].pop_front(),
            None => self.heap.pop().map(|Reverse(top)| top),
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&Scheduled<K>) -> bool) {
        self.heap.retain(|Reverse(item)| keep(item));
        for lane in &mut self.lanes {
            lane.retain(&mut keep);
        }
    }
}

/// Everything but the map, so entries and outputs can be borrowed separately.
#[derive(Debug)]
struct Outputs<K> {
    heap: Timers<K>,
    next_seq: u64,
    transmits: VecDeque<(K, Arc<[u8]>)>,
    events: VecDeque<(K, ClientEvent)>,
    removed: VecDeque<K>,
    stats: TableStats,
}

impl<K: Clone> Outputs<K> {
    /// Moves the transaction's output into the table queues and re-arms its
    /// heap item if its deadline changed. Returns whether it terminated.
    fn settle(&mut self, key: &K, entry: &mut Entry) -> bool {
        match &mut *entry.tx {
            Tx::Client(c) => {
                while let Some(bytes) = c.poll_transmit() {
                    self.transmits.push_back((key.clone(), bytes));
                }
                while let Some(ev) = c.poll_event() {
                    match ev {
                        ClientEvent::Provisional(_) => {}
                        ClientEvent::Final(_) => self.stats.completed += 1,
                        ClientEvent::Timeout => self.stats.timed_out += 1,
                        ClientEvent::TransportError => self.stats.transport_errors += 1,
                    }
                    self.events.push_back((key.clone(), ev));
                }
            }
            Tx::Server(s) => {
                while let Some(bytes) = s.poll_transmit() {
                    self.transmits.push_back((key.clone(), bytes));
                }
            }
        }
        if entry.tx.is_terminated() {
            self.stats.terminated += 1;
            return true;
        }
        let want = entry.tx.poll_timeout();
        if want != entry.scheduled.map(|(at, _)| at) {
            entry.scheduled = want.map(|at| {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.heap.push(Scheduled {
                    at,
                    seq,
                    key: key.clone(),
                });
                (at, seq)
            });
        }
        false
    }
}

fn is_live<K: Eq + Hash>(
    entries: &HashMap<K, Entry, ahash::RandomState>,
    item: &Scheduled<K>,
) -> bool {
    entries
        .get(&item.key)
        .is_some_and(|e| e.scheduled.map(|(_, seq)| seq) == Some(item.seq))
}

impl<K: Clone + Eq + Hash> TransactionTable<K> {
    /// An empty table whose transactions use `cfg`.
    pub fn new(cfg: TimerConfig) -> Self {
        Self::with_capacity(cfg, 0)
    }

    /// An empty table with room for `capacity` live transactions.
    pub fn with_capacity(cfg: TimerConfig, capacity: usize) -> Self {
        Self {
            cfg,
            entries: HashMap::with_capacity_and_hasher(capacity, ahash::RandomState::new()),
            out: Outputs {
                heap: Timers::with_capacity(capacity),
                next_seq: 0,
                transmits: VecDeque::new(),
                events: VecDeque::new(),
                removed: VecDeque::new(),
                stats: TableStats::default(),
            },
        }
    }

    /// Reserves room for `additional` more live transactions (no resize until then).
    pub fn reserve(&mut self, additional: usize) {
        self.entries.reserve(additional);
    }

    /// The timer configuration used for new transactions.
    pub fn config(&self) -> &TimerConfig {
        &self.cfg
    }

    /// Starts a client transaction; the request is queued for transmission at once.
    ///
    /// # Errors
    /// [`TransactionError::DuplicateKey`] if a live transaction (of either role) uses `key`.
    pub fn start_client(
        &mut self,
        now: Instant,
        key: K,
        request: Arc<[u8]>,
        reliable: bool,
    ) -> Result<(), TransactionError> {
        match self.entries.entry(key) {
            MapEntry::Occupied(_) => Err(TransactionError::DuplicateKey),
            MapEntry::Vacant(slot) => {
                let key = slot.key().clone();
                let entry = slot.insert(Entry {
                    tx: Box::new(Tx::Client(ClientTransaction::new(
                        now, request, reliable, &self.cfg,
                    ))),
                    scheduled: None,
                });
                self.out.stats.client_started += 1;
                self.out.settle(&key, entry);
                self.maintain_heap();
                Ok(())
            }
        }
    }

    /// A response with `status` arrived for the client transaction `key`.
    ///
    /// # Errors
    /// [`TransactionError::InvalidStatus`] for a status outside 100..=699
    /// (checked before matching, so such a response is not counted as stray).
    pub fn on_response(
        &mut self,
        now: Instant,
        key: &K,
        status: u16,
    ) -> Result<ResponseDisposition, TransactionError> {
        if !is_valid_status(status) {
            return Err(TransactionError::InvalidStatus(status));
        }
        let Some(entry) = self.entries.get_mut(key) else {
            self.out.stats.stray_responses += 1;
            return Ok(ResponseDisposition::Stray);
        };
        let Tx::Client(client) = &mut *entry.tx else {
            self.out.stats.stray_responses += 1;
            return Ok(ResponseDisposition::Stray);
        };
        let before = client.absorbed_responses();
        client.handle_response(now, status)?;
        let disposition = if client.absorbed_responses() > before {
            self.out.stats.absorbed_responses += 1;
            ResponseDisposition::Absorbed
        } else {
            ResponseDisposition::Delivered
        };
        if self.out.settle(key, entry) {
            self.entries.remove(key);
            self.out.removed.push_back(key.clone());
        }
        self.maintain_heap();
        Ok(disposition)
    }

    /// A request arrived for server transaction `key`: either it is new (a
    /// server transaction is created in Trying) or it is a retransmission
    /// (absorbed; the last response, if any, is queued again).
    ///
    /// # Errors
    /// [`TransactionError::NotAServerTransaction`] if `key` belongs to a live
    /// client transaction.
    pub fn on_request(
        &mut self,
        now: Instant,
        key: K,
        reliable: bool,
    ) -> Result<RequestDisposition, TransactionError> {
        match self.entries.entry(key) {
            MapEntry::Vacant(slot) => {
                slot.insert(Entry {
                    tx: Box::new(Tx::Server(ServerTransaction::new(now, reliable, &self.cfg))),
                    scheduled: None,
                });
                self.out.stats.server_started += 1;
                Ok(RequestDisposition::New)
            }
            MapEntry::Occupied(mut slot) => {
                let Tx::Server(server) = &mut *slot.get_mut().tx else {
                    return Err(TransactionError::NotAServerTransaction);
                };
                server.handle_request_retransmission(now);
                self.out.stats.absorbed_requests += 1;
                let key = slot.key().clone();
                // A retransmission only queues output; it never terminates.
                self.out.settle(&key, slot.get_mut());
                Ok(RequestDisposition::Retransmission)
            }
        }
    }

    /// The TU responds on server transaction `key`.
    ///
    /// # Errors
    /// [`TransactionError::UnknownTransaction`], [`TransactionError::NotAServerTransaction`],
    /// or any error of [`ServerTransaction::send_response`].
    pub fn respond(
        &mut self,
        now: Instant,
        key: &K,
        status: u16,
        bytes: Arc<[u8]>,
    ) -> Result<(), TransactionError> {
        let entry = self
            .entries
            .get_mut(key)
            .ok_or(TransactionError::UnknownTransaction)?;
        let Tx::Server(server) = &mut *entry.tx else {
            return Err(TransactionError::NotAServerTransaction);
        };
        server.send_response(now, status, bytes)?;
        if self.out.settle(key, entry) {
            self.entries.remove(key);
            self.out.removed.push_back(key.clone());
        }
        self.maintain_heap();
        Ok(())
    }

    /// The transport failed for transaction `key` (either role). Returns
    /// whether a live transaction matched.
    pub fn on_transport_error(&mut self, now: Instant, key: &K) -> bool {
        let Some(entry) = self.entries.get_mut(key) else {
            return false;
        };
        match &mut *entry.tx {
            Tx::Client(c) => c.handle_transport_error(now),
            Tx::Server(s) => {
                s.handle_transport_error(now);
                self.out.stats.transport_errors += 1;
            }
        }
        if self.out.settle(key, entry) {
            self.entries.remove(key);
            self.out.removed.push_back(key.clone());
        }
        self.maintain_heap();
        true
    }

    /// Next bytes to send, across all transactions, in the order they were queued.
    pub fn poll_transmit(&mut self) -> Option<(K, Arc<[u8]>)> {
        self.out.transmits.pop_front()
    }

    /// Next client event (provisional, final, timeout, transport error).
    pub fn poll_event(&mut self) -> Option<(K, ClientEvent)> {
        self.out.events.pop_front()
    }

    /// Next key of a transaction that terminated and was removed, in order of removal. Callers
    /// that keep per-transaction data use this to drop it; the queue grows until it is polled.
    pub fn poll_removed(&mut self) -> Option<K> {
        self.out.removed.pop_front()
    }

    /// The earliest deadline among all live transactions.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.out.heap.peek().map(|item| item.at)
    }

    /// Fires every timer whose deadline is at or before `now`, in deadline
    /// order, and removes transactions that terminated.
    ///
    /// Deadlines armed during this call are left for the next call even if
    /// already due (only possible with a zero T1/T2), so the call always ends.
    pub fn handle_timeout(&mut self, now: Instant) {
        let first_new_seq = self.out.next_seq;
        while let Some(top) = self.out.heap.peek() {
            if top.at > now || top.seq >= first_new_seq {
                break;
            }
            let Some(item) = self.out.heap.pop() else {
                break;
            };
            let Some(entry) = self.entries.get_mut(&item.key) else {
                continue;
            };
            if entry.scheduled.map(|(_, seq)| seq) != Some(item.seq) {
                continue; // stale: superseded by a later re-arm
            }
            entry.scheduled = None;
            match &mut *entry.tx {
                Tx::Client(c) => {
                    let before = c.retransmissions();
                    c.handle_timeout(now);
                    self.out.stats.retransmissions +=
                        u64::from(c.retransmissions().saturating_sub(before));
                }
                Tx::Server(s) => s.handle_timeout(now),
            }
            if self.out.settle(&item.key, entry) {
                self.entries.remove(&item.key);
                self.out.removed.push_back(item.key);
            }
        }
        self.maintain_heap();
    }

    /// Number of live transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no transaction is live.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a live transaction (of either role) uses `key`.
    pub fn contains_key(&self, key: &K) -> bool {
        self.entries.contains_key(key)
    }

    /// State of the live client transaction `key`.
    pub fn client_state(&self, key: &K) -> Option<ClientState> {
        match &*self.entries.get(key)?.tx {
            Tx::Client(c) => Some(c.state()),
            Tx::Server(_) => None,
        }
    }

    /// State of the live server transaction `key`.
    pub fn server_state(&self, key: &K) -> Option<ServerState> {
        match &*self.entries.get(key)?.tx {
            Tx::Server(s) => Some(s.state()),
            Tx::Client(_) => None,
        }
    }

    /// Cumulative counters.
    pub fn stats(&self) -> TableStats {
        self.out.stats
    }

    /// Drops stale items from the top of the heap (so `poll_timeout` is
    /// exact) and compacts the heap when stale items dominate.
    fn maintain_heap(&mut self) {
        let heap = &mut self.out.heap;
        if heap.len() > 2 * self.entries.len() + COMPACT_SLACK {
            heap.retain(|item| is_live(&self.entries, item));
        }
        while let Some(top) = heap.peek() {
            if is_live(&self.entries, top) {
                break;
            }
            heap.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const MS: Duration = Duration::from_millis(1);

    fn req(i: u32) -> Arc<[u8]> {
        Arc::from(format!("MESSAGE {i}").into_bytes())
    }

    fn transmits(t: &mut TransactionTable<u32>) -> Vec<u32> {
        std::iter::from_fn(|| t.poll_transmit())
            .map(|(k, _)| k)
            .collect()
    }

    fn events(t: &mut TransactionTable<u32>) -> Vec<(u32, ClientEvent)> {
        std::iter::from_fn(|| t.poll_event()).collect()
    }

    #[test]
    fn interleaved_timers_fire_in_deadline_order() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut t = TransactionTable::new(cfg);
        // Start transactions 100 ms apart, in reverse key order.
        for i in 0..5u32 {
            t.start_client(t0 + 100 * MS * i, 4 - i, req(4 - i), false)
                .expect("new key");
        }
        assert_eq!(transmits(&mut t), [4, 3, 2, 1, 0]);
        assert_eq!(t.poll_timeout(), Some(t0 + cfg.t1));

        // Step the virtual clock to each deadline; record who retransmits when.
        let mut fired = Vec::new();
        while let Some(at) = t.poll_timeout() {
            if at > t0 + 4 * cfg.t1 {
                break;
            }
            t.handle_timeout(at);
            for k in transmits(&mut t) {
                fired.push((k, (at - t0).as_millis()));
            }
        }
        assert_eq!(
            fired,
            [
                (4, 500),
                (3, 600),
                (2, 700),
                (1, 800),
                (0, 900),
                (4, 1500),
                (3, 1600),
                (2, 1700),
                (1, 1800),
                (0, 1900),
            ]
        );
        assert_eq!(t.stats().retransmissions, 10);

        // One big jump: everything times out, in order, and the table empties.
        t.handle_timeout(t0 + Duration::from_secs(60));
        assert_eq!(
            events(&mut t),
            [4, 3, 2, 1, 0].map(|k| (k, ClientEvent::Timeout))
        );
        assert!(t.is_empty());
        assert_eq!(t.poll_timeout(), None);
        assert_eq!(t.stats().timed_out, 5);
        assert_eq!(t.stats().terminated, 5);
    }

    #[test]
    fn responses_stray_absorbed_and_removal() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut t = TransactionTable::new(cfg);
        t.start_client(t0, 1, req(1), false).expect("new");
        t.start_client(t0, 2, req(2), true).expect("new");
        assert_eq!(
            t.start_client(t0, 1, req(1), false),
            Err(TransactionError::DuplicateKey)
        );
        assert_eq!(t.on_response(t0, &9, 200), Ok(ResponseDisposition::Stray));
        assert_eq!(
            t.on_response(t0, &1, 1000),
            Err(TransactionError::InvalidStatus(1000))
        );

        assert_eq!(
            t.on_response(t0 + MS, &1, 100),
            Ok(ResponseDisposition::Delivered)
        );
        assert_eq!(t.client_state(&1), Some(ClientState::Proceeding));
        assert_eq!(
            t.on_response(t0 + MS, &1, 200),
            Ok(ResponseDisposition::Delivered)
        );
        assert_eq!(
            t.on_response(t0 + MS, &1, 200),
            Ok(ResponseDisposition::Absorbed)
        );
        assert_eq!(t.client_state(&1), Some(ClientState::Completed));

        // Reliable: final terminates and removes at once; a retransmitted final is stray.
        assert_eq!(
            t.on_response(t0 + MS, &2, 202),
            Ok(ResponseDisposition::Delivered)
        );
        assert!(!t.contains_key(&2));
        assert_eq!(
            t.on_response(t0 + MS, &2, 202),
            Ok(ResponseDisposition::Stray)
        );
        assert_eq!(t.len(), 1);

        assert_eq!(
            events(&mut t),
            [
                (1, ClientEvent::Provisional(100)),
                (1, ClientEvent::Final(200)),
                (2, ClientEvent::Final(202)),
            ]
        );
        // Stale E/F heap items were dropped: next deadline is key 1's Timer K.
        assert_eq!(t.poll_timeout(), Some(t0 + MS + cfg.t4));
        t.handle_timeout(t0 + MS + cfg.t4);
        assert!(t.is_empty());
        assert_eq!(t.poll_timeout(), None);
        assert_eq!(transmits(&mut t), [1, 2]);

        let s = t.stats();
        assert_eq!(s.client_started, 2);
        assert_eq!(s.completed, 2);
        assert_eq!(s.absorbed_responses, 1);
        assert_eq!(s.stray_responses, 2);
        assert_eq!(s.terminated, 2);
        assert_eq!(s.retransmissions, 0);
        assert_eq!(s.timed_out, 0);
    }

    #[test]
    fn server_side_requests_responses_and_timer_j() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut t = TransactionTable::new(cfg);
        assert_eq!(t.on_request(t0, 7, false), Ok(RequestDisposition::New));
        assert_eq!(
            t.on_request(t0 + MS, 7, false),
            Ok(RequestDisposition::Retransmission)
        );
        assert!(transmits(&mut t).is_empty());
        assert_eq!(t.on_request(t0, 8, true), Ok(RequestDisposition::New));

        assert_eq!(
            t.respond(t0, &9, 200, req(9)),
            Err(TransactionError::UnknownTransaction)
        );
        t.respond(t0 + 2 * MS, &7, 200, req(7)).expect("allowed");
        assert_eq!(
            t.respond(t0 + 2 * MS, &7, 200, req(7)),
            Err(TransactionError::FinalResponseAlreadySent)
        );
        assert_eq!(
            t.on_request(t0 + 3 * MS, 7, false),
            Ok(RequestDisposition::Retransmission)
        );
        assert_eq!(transmits(&mut t), [7, 7]);
        assert_eq!(t.server_state(&7), Some(ServerState::Completed));

        // Reliable: final removes the transaction; the response is still sent.
        t.respond(t0, &8, 200, req(8)).expect("allowed");
        assert!(!t.contains_key(&8));
        assert_eq!(transmits(&mut t), [8]);

        // Client and server keys must not collide.
        t.start_client(t0, 1, req(1), false).expect("new");
        assert_eq!(
            t.on_request(t0, 1, false),
            Err(TransactionError::NotAServerTransaction)
        );
        assert_eq!(
            t.respond(t0, &1, 200, req(1)),
            Err(TransactionError::NotAServerTransaction)
        );
        assert!(t.on_transport_error(t0, &1));
        assert!(!t.on_transport_error(t0, &1));
        assert_eq!(events(&mut t), [(1, ClientEvent::TransportError)]);

        assert_eq!(t.poll_timeout(), Some(t0 + 2 * MS + cfg.timer_j(false)));
        t.handle_timeout(t0 + 2 * MS + cfg.timer_j(false));
        assert!(t.is_empty());
        // A request after Timer J starts a new transaction.
        assert_eq!(
            t.on_request(t0 + Duration::from_secs(40), 7, false),
            Ok(RequestDisposition::New)
        );

        let s = t.stats();
        assert_eq!(s.server_started, 3);
        assert_eq!(s.absorbed_requests, 2);
        assert_eq!(s.transport_errors, 1);
        assert_eq!(s.terminated, 3);
    }

    #[test]
    fn timer_lanes_pop_in_deadline_order() {
        let t0 = Instant::now();
        let mut q = Timers::with_capacity(0);
        let mut expected = Vec::new();
        let mut x: u64 = 12345;
        for seq in 0..5000u64 {
            // Three interleaved fixed durations (ordered streams) and random deadlines.
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let base = seq * 10;
            let at = match x >> 62 {
                0 => base + 500_000,
                1 => base + 5_000_000,
                2 => base + 32_000_000,
                _ => (x >> 20) % 40_000_000,
            };
            let at = t0 + Duration::from_micros(at);
            expected.push((at, seq));
            q.push(Scheduled { at, seq, key: seq });
            // Pop now and then, as handle_timeout does.
            if seq % 7 == 0 {
                expected.sort();
                let first = expected.remove(0);
                let got = q.pop().map(|s| (s.at, s.seq));
                assert_eq!(got, Some(first));
            }
        }
        assert_eq!(q.len(), expected.len());
        expected.sort();
        let got: Vec<_> = std::iter::from_fn(|| q.pop())
            .map(|s| (s.at, s.seq))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn many_transactions_drain_and_heap_stays_bounded() {
        let cfg = TimerConfig::default();
        let t0 = Instant::now();
        let mut t = TransactionTable::with_capacity(cfg, 1024);
        let n = 20_000u32;
        for i in 0..n {
            let now = t0 + Duration::from_micros(u64::from(i) * 50);
            t.start_client(now, i, req(i), i % 2 == 0).expect("new");
            // Half answered right away: their E/F heap items go stale.
            if i % 4 != 3 {
                t.on_response(now, &i, 200).expect("valid");
            }
        }
        assert!(t.out.heap.len() <= 2 * t.len() + COMPACT_SLACK + 1);
        let mut last = t0;
        let mut timeouts = 0;
        while let Some(at) = t.poll_timeout() {
            assert!(at >= last, "deadlines go forward");
            last = at;
            t.handle_timeout(at);
            timeouts += std::iter::from_fn(|| t.poll_event())
                .filter(|(_, e)| *e == ClientEvent::Timeout)
                .count();
        }
        assert!(t.is_empty());
        assert_eq!(timeouts, (n / 4) as usize);
        let s = t.stats();
        assert_eq!(s.client_started, u64::from(n));
        assert_eq!(s.completed + s.timed_out, u64::from(n));
        assert_eq!(s.terminated, u64::from(n));
        // Only unreliable unanswered ones (i % 4 == 3 is odd → UDP) retransmit:
        // 10 times each before Timer F.
        assert_eq!(s.retransmissions, 10 * u64::from(n / 4));
    }
}
