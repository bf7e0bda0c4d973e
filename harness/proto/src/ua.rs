//! A sans-IO SIP user-agent core for out-of-dialog MESSAGE traffic: Via and branch handling,
//! client/server transaction bookkeeping, response routing (RFC 3261 18.2.2, RFC 3581) and the
//! 1300-byte rule of RFC 3261 18.1.1.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use lmpe_wire::sip::{Method, RsipParser, SipMessage, SipParser, ViaRef};

use crate::endpoint::{Incoming, Transmit, TransportKind};
use crate::transaction::{
    ClientEvent, RequestDisposition, ResponseDisposition, TableStats, TimerConfig,
    TransactionError, TransactionTable,
};

/// RFC 3261 18.1.1: a request within 200 bytes of the path MTU (1500) must go over a
/// congestion-controlled transport.
pub const UDP_SIZE_LIMIT: usize = 1300;

/// Transaction ids in the table: client transactions use their branch sequence number (also
/// the handle `send_request` returns), server transactions this bit plus a counter.
const SERVER_ID: u64 = 1 << 63;

/// An id no transaction ever has (used to count responses that match nothing).
const NO_TX: u64 = u64::MAX;

/// An incoming request awaiting our response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerTxId(u64);

/// A client transaction: what its responses must match and where it goes.
#[derive(Debug, Clone)]
struct ClientTx {
    /// The branch salt it was sent with (the salt changes with `set_local`).
    salt: u64,
    method: Method,
    transport: TransportKind,
    dest: SocketAddr,
}

/// A server transaction: where its responses go and its key in the index.
#[derive(Debug, Clone)]
struct ServerTx {
    transport: TransportKind,
    dest: SocketAddr,
    /// `branch|sent-by|method` (RFC 3261 17.2.3), shared with the index.
    key: Arc<str>,
}

type FastMap<K, V> = HashMap<K, V, ahash::RandomState>;

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
    table: TransactionTable<u64>,
    clients: FastMap<u64, ClientTx>,
    servers: FastMap<u64, ServerTx>,
    /// Server transaction key → id.
    server_index: FastMap<Arc<str>, u64>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<UaEvent>,
    next_server: u64,
    branch_seq: u64,
    branch_salt: u64,
    /// Reused to build server keys without allocating for retransmissions.
    scratch: String,
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
            server_index: HashMap::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            next_server: 0,
            branch_seq: 0,
            branch_salt: salt,
            scratch: String::new(),
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

    /// Reserves room for `additional` more transactions of each kind, so a load run does not
    /// stall on growing its tables (a resize of millions of entries takes tens of ms).
    pub fn reserve(&mut self, additional: usize) {
        self.table.reserve(additional);
        self.clients.reserve(additional);
        self.servers.reserve(additional);
        self.server_index.reserve(additional);
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
        let method = msg.method().unwrap_or(Method::Other(String::new()));
        msg.prepend_header("Via", String::new());
        self.send_request_with(now, method, transport, dest, |via, out| {
            msg.headers[0].value.clear();
            msg.headers[0].value.push_str(via);
            out.reserve(256 + msg.headers.len() * 48 + msg.body.len());
            msg.write_to(out);
        })
    }

    /// [`UserAgent::send_request`] for a request the caller serialises itself (load hot paths):
    /// `write(via, out)` appends the whole request to `out` with `Via: <via>` as its first
    /// header line; `method` is its method. `write` is called again with the TCP Via when the
    /// request is over the UDP size limit.
    pub fn send_request_with(
        &mut self,
        now: Instant,
        method: Method,
        transport: TransportKind,
        dest: SocketAddr,
        mut write: impl FnMut(&str, &mut Vec<u8>),
    ) -> Result<u64, TransactionError> {
        self.branch_seq += 1;
        let id = self.branch_seq;
        let salt = self.branch_salt;
        let local = self.cfg.local;
        let mut via = String::with_capacity(96);
        let via_for = |via: &mut String, t: TransportKind| {
            use std::fmt::Write;
            via.clear();
            // `SocketAddr`'s Display brackets an IPv6 address, as sent-by requires.
            let _ = write!(
                via,
                "SIP/2.0/{} {local};branch=z9hG4bK{salt:x}x{id:x};rport",
                t.via_token(),
            );
        };
        let mut transport = transport;
        via_for(&mut via, transport);
        let mut bytes = Vec::new();
        write(&via, &mut bytes);
        if transport == TransportKind::Udp && bytes.len() > self.cfg.udp_size_limit {
            transport = TransportKind::Tcp;
            via_for(&mut via, transport);
            bytes.clear();
            write(&via, &mut bytes);
        }
        self.table
            .start_client(now, id, Arc::from(bytes), transport.is_reliable())?;
        self.clients.insert(
            id,
            ClientTx {
                salt,
                method,
                transport,
                dest,
            },
        );
        self.drain();
        Ok(id)
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

    /// [`UserAgent::respond`] with a response the caller serialised itself (load hot paths, e.g.
    /// with [`lmpe_wire::sip::write_response_for`]); `status` is its status code.
    pub fn respond_bytes(
        &mut self,
        now: Instant,
        id: &ServerTxId,
        status: u16,
        bytes: Vec<u8>,
    ) -> Result<(), TransactionError> {
        self.table.respond(now, &id.0, status, Arc::from(bytes))?;
        self.drain();
        Ok(())
    }

    /// Feeds received bytes.
    pub fn handle_input(&mut self, now: Instant, input: Incoming) {
        let msg = match self.parser.parse(&input.bytes) {
            Ok(m) => m,
            Err(e) => return self.malformed(&input, e.to_string()),
        };
        let via = match msg.top_via_ref() {
            Ok(v) => v,
            Err(e) => return self.malformed(&input, e.to_string()),
        };
        let Some(branch) = via.branch() else {
            return self.malformed(&input, "top Via has no branch parameter".into());
        };
        if let Some(status) = msg.status() {
            let id = self.match_client(&branch, &msg);
            match self.table.on_response(now, &id, status) {
                Ok(ResponseDisposition::Delivered) => {
                    self.events.push_back(UaEvent::Response { handle: id, msg });
                }
                Ok(ResponseDisposition::Absorbed) => {}
                Ok(ResponseDisposition::Stray) | Err(_) => {
                    self.events.push_back(UaEvent::StrayResponse { msg })
                }
            }
        } else {
            use std::fmt::Write;
            // RFC 3261 17.2.3: branch, sent-by and method.
            self.scratch.clear();
            let _ = write!(
                self.scratch,
                "{branch}|{}:{}|{}",
                via.host,
                via.port.unwrap_or(5060),
                msg.request_method().map_or("", Method::as_str)
            );
            let dest = response_destination(&via, &input);
            let reliable = input.transport.is_reliable();
            let id = match self.server_index.get(self.scratch.as_str()) {
                Some(&id) if self.table.contains_key(&id) => id,
                _ => {
                    let id = SERVER_ID | self.next_server;
                    self.next_server += 1;
                    id
                }
            };
            match self.table.on_request(now, id, reliable) {
                Ok(RequestDisposition::New) => {
                    let key: Arc<str> = Arc::from(self.scratch.as_str());
                    self.server_index.insert(key.clone(), id);
                    self.servers.insert(
                        id,
                        ServerTx {
                            transport: input.transport,
                            dest,
                            key,
                        },
                    );
                    self.events.push_back(UaEvent::Request {
                        id: ServerTxId(id),
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

    /// The client transaction a response belongs to (RFC 3261 17.1.3: our branch and the
    /// CSeq method), or [`NO_TX`].
    fn match_client(&self, branch: &str, msg: &SipMessage) -> u64 {
        let Some((salt, seq)) = parse_branch(branch) else {
            return NO_TX;
        };
        match self.clients.get(&seq) {
            Some(c) if c.salt == salt && msg.cseq_method() == Some(c.method.as_str()) => seq,
            _ => NO_TX,
        }
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
        let ids: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, c)| c.dest == remote)
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            self.table.on_transport_error(now, &id);
        }
        self.drain();
    }

    fn drain(&mut self) {
        while let Some((id, bytes)) = self.table.poll_transmit() {
            let dest = if id & SERVER_ID == 0 {
                self.clients.get(&id).map(|c| (c.transport, c.dest))
            } else {
                self.servers.get(&id).map(|s| (s.transport, s.dest))
            };
            if let Some((transport, remote)) = dest {
                self.transmits.push_back(Transmit {
                    transport,
                    remote,
                    bytes,
                });
            }
        }
        while let Some((id, ev)) = self.table.poll_event() {
            match ev {
                ClientEvent::Timeout => {
                    if self.clients.remove(&id).is_some() {
                        self.events.push_back(UaEvent::Timeout { handle: id });
                    }
                }
                ClientEvent::TransportError => {
                    if self.clients.remove(&id).is_some() {
                        self.events
                            .push_back(UaEvent::TransportError { handle: id });
                    }
                }
                ClientEvent::Provisional(_) | ClientEvent::Final(_) => {}
            }
        }
        // Per-transaction data lives exactly as long as the transaction.
        while let Some(id) = self.table.poll_removed() {
            if id & SERVER_ID == 0 {
                self.clients.remove(&id);
            } else if let Some(server) = self.servers.remove(&id) {
                if self.server_index.get(&server.key) == Some(&id) {
                    self.server_index.remove(&server.key);
                }
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
        self.table.poll_timeout()
    }

    /// Fires due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.table.handle_timeout(now);
        self.drain();
    }
}

/// Splits one of our branches, `z9hG4bK<salt>x<seq>` (hex), into salt and sequence number.
fn parse_branch(branch: &str) -> Option<(u64, u64)> {
    let rest = branch.strip_prefix("z9hG4bK")?;
    let (salt, seq) = rest.split_once('x')?;
    let hex = |s: &str| {
        if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(s, 16).ok()
    };
    Some((hex(salt)?, hex(seq)?))
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
fn response_destination(via: &ViaRef<'_>, input: &Incoming) -> SocketAddr {
    if input.transport.is_reliable() || via.has_rport() {
        input.remote
    } else {
        SocketAddr::new(input.remote.ip(), via.port.unwrap_or(5060))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lmpe_wire::sip::{reason_phrase, write_response_for};

    fn deliver(to: &mut UserAgent, now: Instant, from: SocketAddr, t: Transmit) {
        to.handle_input(
            now,
            Incoming {
                transport: t.transport,
                remote: from,
                local: to.local(),
                bytes: t.bytes.to_vec(),
            },
        );
    }

    /// RFC 3261 sent-by: an IPv6 address is written as an IPv6 reference (`[::1]:5062`), and a
    /// transaction completes over IPv6 both ways.
    #[test]
    fn ipv6_via_is_bracketed_and_a_transaction_completes() {
        let now = Instant::now();
        let a = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 5062));
        let b = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 5060));
        let mut uac = UserAgent::new(UaConfig::new(a));
        let mut uas = UserAgent::new(UaConfig::new(b));
        let handle = uac
            .send_request_with(now, Method::Message, TransportKind::Udp, b, |via, out| {
                out.extend_from_slice(
                    format!(
                        "MESSAGE sip:b@[::1]:5060 SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\n\
                         From: <sip:a@[::1]>;tag=1\r\nTo: <sip:b@[::1]>\r\nCall-ID: v6\r\n\
                         CSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n"
                    )
                    .as_bytes(),
                );
            })
            .expect("a new transaction");
        let request = uac.poll_transmit().expect("the request");
        let parsed = RsipParser::default().parse(&request.bytes).expect("parses");
        let via = parsed.top_via_ref().expect("a valid Via");
        assert_eq!((via.host, via.port), ("[::1]", Some(5062)));
        deliver(&mut uas, now, a, request);
        let Some(UaEvent::Request { id, msg, .. }) = uas.poll_event() else {
            panic!("the UAS gets the request");
        };
        let mut resp = Vec::new();
        write_response_for(&msg, 200, reason_phrase(200), Some("b"), &mut resp);
        uas.respond_bytes(now, &id, 200, resp).expect("answered");
        let response = uas.poll_transmit().expect("the response");
        assert_eq!(response.remote, a);
        deliver(&mut uac, now, b, response);
        match uac.poll_event() {
            Some(UaEvent::Response { handle: h, msg }) => {
                assert_eq!((h, msg.status()), (handle, Some(200)));
            }
            other => panic!("expected the 200, got {other:?}"),
        }
    }
}
