//! A sans-IO SIP user-agent core for out-of-dialog MESSAGE traffic: Via and branch handling,
//! client/server transaction bookkeeping, response routing (RFC 3261 18.2.2, RFC 3581) and the
//! 1300-byte rule of RFC 3261 18.1.1.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lmpe_wire::sip::{RsipParser, SipMessage, SipParser, Via};

use crate::endpoint::{Incoming, Transmit, TransportKind};
use crate::transaction::{
    ClientEvent, RequestDisposition, ResponseDisposition, TableStats, TimerConfig,
    TransactionError, TransactionTable,
};

/// RFC 3261 18.1.1: a request within 200 bytes of the path MTU (1500) must go over a
/// congestion-controlled transport.
pub const UDP_SIZE_LIMIT: usize = 1300;

/// Identifies a transaction in the table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TxKey {
    client: bool,
    branch: String,
    method: String,
}

/// An incoming request awaiting our response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerTxId(TxKey);

/// What the user-agent core reports.
#[derive(Debug, Clone)]
pub enum UaEvent {
    /// A new request (retransmissions are absorbed). Answer it with [`UserAgent::respond`].
    Request {
        /// Pass to `respond`.
        id: ServerTxId,
        /// The request.
        msg: SipMessage,
        /// How it arrived.
        transport: TransportKind,
        /// From where.
        remote: SocketAddr,
    },
    /// A response to one of our requests (each distinct response once).
    Response {
        /// The handle `send_request` returned.
        handle: u64,
        /// The response.
        msg: SipMessage,
    },
    /// Timer F fired: no final response (treat as 408).
    Timeout {
        /// The handle.
        handle: u64,
    },
    /// The transport reported an error for this request.
    TransportError {
        /// The handle.
        handle: u64,
    },
    /// Input that cannot be parsed or matched; never dropped silently.
    Malformed {
        /// How it arrived.
        transport: TransportKind,
        /// From where.
        remote: SocketAddr,
        /// Why it was refused.
        error: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A response that matches no transaction.
    StrayResponse {
        /// The response.
        msg: SipMessage,
    },
}

/// Configuration of a [`UserAgent`].
#[derive(Debug, Clone)]
pub struct UaConfig {
    /// Our address (written into Via; the driver's bound address).
    pub local: SocketAddr,
    /// Transaction timers.
    pub timers: TimerConfig,
    /// Largest request sent over UDP; larger ones switch to TCP (RFC 3261 18.1.1).
    pub udp_size_limit: usize,
    /// Run the rsip grammar pass on every received message (off only on load hot paths, where
    /// our own framing and structural checks still run).
    pub grammar_check: bool,
}

impl UaConfig {
    /// Defaults for an address.
    pub fn new(local: SocketAddr) -> Self {
        Self {
            local,
            timers: TimerConfig::default(),
            udp_size_limit: UDP_SIZE_LIMIT,
            grammar_check: true,
        }
    }
}

/// The user-agent core.
#[derive(Debug)]
pub struct UserAgent {
    cfg: UaConfig,
    parser: RsipParser,
    table: TransactionTable<TxKey>,
    clients: HashMap<TxKey, (u64, TransportKind, SocketAddr), ahash::RandomState>,
    servers: HashMap<TxKey, (TransportKind, SocketAddr), ahash::RandomState>,
    server_expiry: VecDeque<(Instant, TxKey)>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<UaEvent>,
    next_handle: u64,
    branch_seq: u64,
    branch_salt: u64,
}

impl UserAgent {
    /// A user agent bound (by its driver) to `cfg.local`.
    pub fn new(cfg: UaConfig) -> Self {
        let salt = branch_salt(cfg.local);
        let parser = RsipParser {
            skip_grammar: !cfg.grammar_check,
        };
        Self {
            table: TransactionTable::new(cfg.timers),
            cfg,
            parser,
            clients: HashMap::default(),
            servers: HashMap::default(),
            server_expiry: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_handle: 1,
            branch_seq: 0,
            branch_salt: salt,
        }
    }

    /// Our address.
    pub fn local(&self) -> SocketAddr {
        self.cfg.local
    }

    /// Sets our address (once the driver has bound).
    pub fn set_local(&mut self, local: SocketAddr) {
        self.cfg.local = local;
        self.branch_salt = branch_salt(local);
    }

    /// Transaction statistics.
    pub fn stats(&self) -> TableStats {
        self.table.stats()
    }

    /// Sends a request (without Via: the top Via is added here) to `dest`. UDP requests larger
    /// than the limit go over TCP instead (RFC 3261 18.1.1). Returns a handle for the outcome.
    pub fn send_request(
        &mut self,
        now: Instant,
        mut msg: SipMessage,
        transport: TransportKind,
        dest: SocketAddr,
    ) -> Result<u64, TransactionError> {
        self.branch_seq += 1;
        let branch = format!("z9hG4bK{:x}x{:x}", self.branch_salt, self.branch_seq);
        let method = msg.method().map(|m| m.to_string()).unwrap_or_default();
        let mut transport = transport;
        let via_for = |t: TransportKind, local: SocketAddr| {
            Via::new(
                t.via_token(),
                &local.ip().to_string(),
                local.port(),
                &branch,
            )
            .to_string()
        };
        msg.prepend_header("Via", via_for(transport, self.cfg.local));
        let mut bytes = msg.to_bytes();
        if transport == TransportKind::Udp && bytes.len() > self.cfg.udp_size_limit {
            transport = TransportKind::Tcp;
            msg.headers[0].value = via_for(transport, self.cfg.local);
            bytes = msg.to_bytes();
        }
        let key = TxKey {
            client: true,
            branch,
            method,
        };
        let handle = self.next_handle;
        self.next_handle += 1;
        self.table
            .start_client(now, key.clone(), Arc::from(bytes), transport.is_reliable())?;
        self.clients.insert(key, (handle, transport, dest));
        self.drain();
        Ok(handle)
    }

    /// Sends bytes outside any transaction (malformed or out-of-order messages on purpose).
    pub fn send_raw(&mut self, transport: TransportKind, dest: SocketAddr, bytes: Vec<u8>) {
        self.transmits.push_back(Transmit {
            transport,
            remote: dest,
            bytes: Arc::from(bytes),
        });
    }

    /// Answers a request received as [`UaEvent::Request`].
    pub fn respond(
        &mut self,
        now: Instant,
        id: &ServerTxId,
        response: &SipMessage,
    ) -> Result<(), TransactionError> {
        let status = response.status().unwrap_or(500);
        self.table
            .respond(now, &id.0, status, Arc::from(response.to_bytes()))?;
        self.drain();
        Ok(())
    }

    /// Feeds received bytes.
    pub fn handle_input(&mut self, now: Instant, input: Incoming) {
        let msg = match self.parser.parse(&input.bytes) {
            Ok(m) => m,
            Err(e) => return self.malformed(&input, e.to_string()),
        };
        let via = match msg.top_via() {
            Ok(v) => v,
            Err(e) => return self.malformed(&input, e.to_string()),
        };
        let Some(branch) = via.branch().map(str::to_string) else {
            return self.malformed(&input, "top Via has no branch parameter".into());
        };
        let method = msg.method().map(|m| m.to_string()).unwrap_or_default();
        if let Some(status) = msg.status() {
            let key = TxKey {
                client: true,
                branch,
                method,
            };
            match self.table.on_response(now, &key, status) {
                Ok(ResponseDisposition::Delivered) => {
                    if let Some(&(handle, _, _)) = self.clients.get(&key) {
                        if status >= 200 {
                            self.clients.remove(&key);
                        }
                        self.events.push_back(UaEvent::Response { handle, msg });
                    }
                }
                Ok(ResponseDisposition::Absorbed) => {}
                Ok(ResponseDisposition::Stray) | Err(_) => {
                    self.events.push_back(UaEvent::StrayResponse { msg })
                }
            }
        } else {
            let sent_by = format!("{}:{}", via.host, via.port.unwrap_or(5060));
            let key = TxKey {
                client: false,
                branch: format!("{branch}|{sent_by}"),
                method,
            };
            let reliable = input.transport.is_reliable();
            match self.table.on_request(now, key.clone(), reliable) {
                Ok(RequestDisposition::New) => {
                    let dest = response_destination(&via, &input);
                    self.servers.insert(key.clone(), (input.transport, dest));
                    let linger = self.cfg.timers.timer_f() + Duration::from_secs(5);
                    self.server_expiry.push_back((now + linger, key.clone()));
                    self.events.push_back(UaEvent::Request {
                        id: ServerTxId(key),
                        msg,
                        transport: input.transport,
                        remote: input.remote,
                    });
                }
                Ok(RequestDisposition::Retransmission) => {}
                Err(e) => self.malformed(&input, format!("request cannot be matched: {e}")),
            }
        }
        self.drain();
    }

    fn malformed(&mut self, input: &Incoming, error: String) {
        self.events.push_back(UaEvent::Malformed {
            transport: input.transport,
            remote: input.remote,
            error,
            bytes: input.bytes.clone(),
        });
    }

    /// The driver could not send to `remote`.
    pub fn handle_transport_error(&mut self, now: Instant, remote: SocketAddr) {
        let keys: Vec<TxKey> = self
            .clients
            .iter()
            .filter(|(_, (_, _, d))| *d == remote)
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.table.on_transport_error(now, &k);
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some((key, bytes)) = self.table.poll_transmit() {
            let dest = if key.client {
                self.clients.get(&key).map(|&(_, t, d)| (t, d))
            } else {
                self.servers.get(&key).copied()
            };
            if let Some((transport, remote)) = dest {
                self.transmits.push_back(Transmit {
                    transport,
                    remote,
                    bytes,
                });
            }
        }
        while let Some((key, ev)) = self.table.poll_event() {
            let ev_handle = |clients: &mut HashMap<
                TxKey,
                (u64, TransportKind, SocketAddr),
                ahash::RandomState,
            >| { clients.remove(&key).map(|(h, _, _)| h) };
            match ev {
                ClientEvent::Timeout => {
                    if let Some(handle) = ev_handle(&mut self.clients) {
                        self.events.push_back(UaEvent::Timeout { handle });
                    }
                }
                ClientEvent::TransportError => {
                    if let Some(handle) = ev_handle(&mut self.clients) {
                        self.events.push_back(UaEvent::TransportError { handle });
                    }
                }
                ClientEvent::Provisional(_) | ClientEvent::Final(_) => {}
            }
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<UaEvent> {
        self.events.pop_front()
    }

    /// The next datagram/stream message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// When the transaction layer next needs a timeout.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let expiry = self.server_expiry.front().map(|(t, _)| *t);
        match (self.table.poll_timeout(), expiry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fires due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.table.handle_timeout(now);
        while let Some((t, key)) = self.server_expiry.front() {
            if *t > now {
                break;
            }
            if self.table.contains_key(key) {
                let key = key.clone();
                self.server_expiry.pop_front();
                self.server_expiry
                    .push_back((now + self.cfg.timers.timer_f(), key));
                continue;
            }
            let key = key.clone();
            self.server_expiry.pop_front();
            self.servers.remove(&key);
        }
        self.drain();
    }
}

/// A salt that makes our branches unique across space and time (RFC 3261 8.1.1.7): the full
/// local address plus a process-wide counter, so two user agents never share a branch even when
/// they share a port number or are created before their socket is bound.
fn branch_salt(local: SocketAddr) -> u64 {
    use std::hash::{Hash, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static INSTANCE: AtomicU64 = AtomicU64::new(1);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    local.hash(&mut h);
    INSTANCE.fetch_add(1, Ordering::Relaxed).hash(&mut h);
    std::process::id().hash(&mut h);
    h.finish() & 0xFFFF_FFFF_FFFF
}

/// RFC 3261 18.2.2 with RFC 3581: reliable → the same connection; UDP with rport → the source
/// address; otherwise the sent-by port at the source IP (the `received` address).
fn response_destination(via: &Via, input: &Incoming) -> SocketAddr {
    if input.transport.is_reliable() || via.rport().is_some() {
        input.remote
    } else {
        SocketAddr::new(input.remote.ip(), via.port.unwrap_or(5060))
    }
}
