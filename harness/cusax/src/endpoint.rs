//! [`IntegratedEndpoint`]: one SIP [`Phone`] and one [`XmppClient`] behaving as the
//! draft's integrated endpoint on the profile of [`crate::profile`], with a log of
//! everything it saw ([`Seen`]).
//!
//! Behaviour of every endpoint (the harness's tester and the peer under test alike):
//! - presence (REQ-3): available with XEP-0152 `<reach/>` (its SIP URI), XEP-0115 caps
//!   (disco#info answered with the media features)
//!   and, while a call is up, XEP-0108 "on the phone"; presence subscriptions are approved
//!   without asking (the user pre-authorised them) and the presence re-sent;
//! - OPTIONS (REQ-4): answered 200 with `Call-Info: <xmpp:bare-jid>;purpose=impp`
//!   (pre-authorised disclosure, RFC 6993);
//! - INVITE (REQ-1, REQ-2): answered 200 with an SDP audio answer and `Call-Info:
//!   <xmpp:bare-jid?message;thread=T>;purpose=impp`: `T` is the INVITE's token when that
//!   names one of our conversations with the same peer (correlated) or is unknown (the
//!   caller's new token for this session), or a fresh one when the INVITE has none;
//! - a SIP contact learnt over XMPP is verified before it is called (draft Section 6,
//!   RFC 7081 11): an OPTIONS to it must be answered 200 with an impp naming the JID that
//!   claimed it.
//!
//! The peer under test also has a scripted user (`scripted`), driven by the bodies of
//! incoming chat messages: `#open` opens a new conversation to the sender (first message
//! with the SIP contact, a second without), `#call` calls the SIP contact claimed in this
//! conversation (after verification), `#bye` ends the SIP session of this conversation, and
//! any other text is answered on the same thread with a correlation report
//! ([`profile::report`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lmpe_net::{spawn_endpoint, EndpointHandle, SipSocketConfig};
use lmpe_proto::roles::WireRecord;
use lmpe_wire::sip::{SipMessage, SipUri};
use lmpe_xmpp::xmpp_parsers::disco::{DiscoInfoQuery, DiscoInfoResult};
use lmpe_xmpp::xmpp_parsers::presence::Type as PresenceType;
use lmpe_xmpp::{IqKind, PresenceOut, XmppClient, XmppEvent};
use tokio::sync::Mutex;

use crate::phone::{CallState, Phone, PhoneConfig, PhoneEvent};
use crate::profile::{self, Correlation, Impp};
use crate::Faults;

/// The media the endpoint's SIP side offers (its SDP has one audio stream).
const MEDIA: &[&str] = &["audio"];

/// The media advertised in the XEP-0115 capabilities.
fn media(f: &Faults) -> &'static [&'static str] {
    if f.no_media_caps {
        &[]
    } else {
        MEDIA
    }
}

/// How often the endpoint's task looks at its SIP and XMPP sides.
const TICK: Duration = Duration::from_millis(10);

/// Configuration of an [`IntegratedEndpoint`].
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// A name for logs and ladders.
    pub name: String,
    /// The SIP address-of-record; `None`: `sip:<name>@<bound address>` (direct SIP, no proxy).
    pub sip_uri: Option<String>,
    /// Where the SIP socket binds (UDP).
    pub sip_listen: SocketAddr,
    /// The SIP proxy (and registrar): every out-of-dialog request goes there.
    pub sip_proxy: Option<SocketAddr>,
    /// Register the Contact with the proxy at start (and unregister at close).
    pub register: bool,
    /// The XMPP account (`user@domain`); also the JID the impp of our SIP side names.
    pub jid: String,
    /// The XMPP server and the account's password; `None`: a SIP-only endpoint that still
    /// claims `jid` in its impp (a decoy for the forged-contact scenario).
    pub xmpp: Option<(SocketAddr, String)>,
    /// The scripted user of the peer under test (see the module documentation).
    pub scripted: bool,
    /// Deliberate faults.
    pub faults: Faults,
    /// Bound of every wait (login, registration).
    pub timeout: Duration,
}

/// Something the endpoint saw or did.
// The log is read far more than written and entries are few per scenario: unboxed variants
// keep matching on them simple.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Seen {
    /// From the SIP side.
    Sip {
        /// When.
        at: Instant,
        /// What.
        event: PhoneEvent,
    },
    /// An incoming XMPP stanza.
    XmppIn {
        /// When.
        at: Instant,
        /// What.
        event: XmppEvent,
    },
    /// A stanza sent, as XML.
    XmppOut {
        /// When.
        at: Instant,
        /// The XML.
        xml: String,
    },
    /// A decision of the endpoint (correlation, verification), in words.
    Note {
        /// When.
        at: Instant,
        /// What.
        text: String,
    },
}

#[derive(Debug, Clone)]
struct Conversation {
    peer: String,
    claimed_sip: Option<String>,
}

#[derive(Debug, Clone)]
struct Session {
    thread: String,
    peer: Option<String>,
    active: bool,
}

#[derive(Debug, Clone)]
struct Verifying {
    thread: String,
    peer: String,
    sip: String,
}

struct Inner {
    cfg: EndpointConfig,
    sip_uri: String,
    jid: String,
    sip: EndpointHandle<Phone>,
    xmpp: Option<XmppClient>,
    log: Vec<Seen>,
    convs: HashMap<String, Conversation>,
    sessions: HashMap<String, Session>,
    verifying: HashMap<u64, Verifying>,
    on_phone: bool,
}

/// The integrated endpoint. Dropping it stops its task; [`IntegratedEndpoint::close`] also
/// unregisters and ends the XMPP stream.
pub struct IntegratedEndpoint {
    inner: Arc<Mutex<Inner>>,
    sip: EndpointHandle<Phone>,
    sip_uri: String,
    jid: String,
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for IntegratedEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntegratedEndpoint")
            .field("sip_uri", &self.sip_uri)
            .field("jid", &self.jid)
            .finish()
    }
}

impl Drop for IntegratedEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn sip_err(e: lmpe_net::NetError) -> String {
    format!("the SIP driver stopped: {e}")
}

impl IntegratedEndpoint {
    /// Binds the SIP side, registers (if asked), logs in to XMPP, fetches the roster, sends
    /// the initial presence and starts the endpoint's task.
    pub async fn start(cfg: EndpointConfig) -> Result<IntegratedEndpoint, String> {
        let jid =
            profile::bare_jid(&cfg.jid).ok_or_else(|| format!("{:?} is not a JID", cfg.jid))?;
        let phone = Phone::new(PhoneConfig {
            local: cfg.sip_listen,
            aor: cfg
                .sip_uri
                .clone()
                .unwrap_or_else(|| "sip:lmpe@invalid".into()),
            proxy: cfg.sip_proxy,
        });
        let sip = spawn_endpoint(phone, SipSocketConfig::new(cfg.sip_listen))
            .await
            .map_err(|e| format!("{}: SIP socket: {e}", cfg.name))?;
        let local = sip.local_addr();
        let sip_uri = match &cfg.sip_uri {
            Some(u) => u.clone(),
            None => format!("sip:{}@{local}", cfg.name),
        };
        if let Err(e) = SipUri::parse(&sip_uri) {
            return Err(format!("{}: {sip_uri}: {e}", cfg.name));
        }
        let aor = sip_uri.clone();
        let proxy = cfg.sip_proxy;
        // The address-of-record may name the bound port: the phone starts afresh with it.
        sip.with(move |p, _| {
            *p = Phone::new(PhoneConfig { local, aor, proxy });
        })
        .await
        .map_err(sip_err)?;
        let xmpp = match &cfg.xmpp {
            Some((addr, pw)) => {
                let mut c = XmppClient::connect(*addr, &cfg.jid, pw, cfg.timeout)
                    .await
                    .map_err(|e| format!("{}: XMPP login: {e}", cfg.name))?;
                c.roster()
                    .await
                    .map_err(|e| format!("{}: roster: {e}", cfg.name))?;
                c.set_disco_info(Some(profile::disco_info(media(&cfg.faults)).into()));
                Some(c)
            }
            None => None,
        };
        let mut inner = Inner {
            cfg: cfg.clone(),
            sip_uri: sip_uri.clone(),
            jid: jid.clone(),
            sip: sip.clone(),
            xmpp,
            log: Vec::new(),
            convs: HashMap::new(),
            sessions: HashMap::new(),
            verifying: HashMap::new(),
            on_phone: false,
        };
        if cfg.register {
            inner.register(3600).await?;
        }
        inner.publish_presence(None)?;
        let inner = Arc::new(Mutex::new(inner));
        let task = tokio::spawn(run(inner.clone()));
        Ok(IntegratedEndpoint {
            inner,
            sip,
            sip_uri,
            jid,
            local,
            task,
        })
    }

    /// Our SIP address-of-record.
    pub fn sip_uri(&self) -> &str {
        &self.sip_uri
    }

    /// Our bare JID.
    pub fn jid(&self) -> &str {
        &self.jid
    }

    /// Our SIP socket's address.
    pub fn sip_addr(&self) -> SocketAddr {
        self.local
    }

    /// How many entries the log has (a mark for [`IntegratedEndpoint::wait`]).
    pub async fn mark(&self) -> usize {
        self.inner.lock().await.log.len()
    }

    /// A copy of the log from entry `from` on.
    pub async fn log_since(&self, from: usize) -> Vec<Seen> {
        let g = self.inner.lock().await;
        g.log.get(from..).map(<[Seen]>::to_vec).unwrap_or_default()
    }

    /// Waits, at most `timeout`, for the first log entry from `from` on for which `pick`
    /// gives `Some`.
    pub async fn wait<T>(
        &self,
        from: usize,
        timeout: Duration,
        mut pick: impl FnMut(&Seen) -> Option<T>,
    ) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut next = from;
        loop {
            {
                let g = self.inner.lock().await;
                if let Some(rest) = g.log.get(next..) {
                    for s in rest {
                        if let Some(t) = pick(s) {
                            return Some(t);
                        }
                    }
                    next = g.log.len();
                }
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(TICK).await;
        }
    }

    /// Sends a chat message on `thread`, with our SIP contact (`<reach/>`) when `with_contact`.
    pub async fn send_message(
        &self,
        to: &str,
        body: &str,
        thread: &str,
        with_contact: bool,
    ) -> Result<(), String> {
        let mut g = self.inner.lock().await;
        let payloads = if with_contact {
            vec![profile::reach(&g.sip_uri)]
        } else {
            vec![]
        };
        if let Some(peer) = profile::bare_jid(to) {
            g.convs.entry(thread.to_owned()).or_insert(Conversation {
                peer,
                claimed_sip: None,
            });
        }
        g.message(to, body, thread, payloads)
    }

    /// Sends a chat message claiming `sip` as our SIP contact (a forged claim when it is not).
    pub async fn send_claim(
        &self,
        to: &str,
        body: &str,
        thread: &str,
        sip: &str,
    ) -> Result<(), String> {
        let mut g = self.inner.lock().await;
        g.message(to, body, thread, vec![profile::reach(sip)])
    }

    /// Asks `jid` for a presence subscription.
    pub async fn subscribe(&self, jid: &str) -> Result<(), String> {
        let mut g = self.inner.lock().await;
        let c = g.xmpp_mut()?;
        c.subscribe(jid).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Asks `to` (a full JID) for its XEP-0030 disco#info at `node`; returns the answer and
    /// its XML.
    pub async fn disco_info(
        &self,
        to: &str,
        node: &str,
    ) -> Result<(DiscoInfoResult, String), String> {
        let q: lmpe_xmpp::Element = DiscoInfoQuery {
            node: Some(node.to_owned()),
        }
        .into();
        let mut g = self.inner.lock().await;
        let r = g
            .xmpp_mut()?
            .iq(Some(to), IqKind::Get, q, "disco#info")
            .await
            .map_err(|e| e.to_string())?;
        let payload = r
            .stanza
            .ok_or_else(|| format!("an empty disco#info result: {}", r.xml))?;
        DiscoInfoResult::try_from(payload)
            .map(|d| (d, r.xml.clone()))
            .map_err(|e| format!("{e}: {}", r.xml))
    }

    /// Calls `target` with an impp carrying `thread` (none: without a token; `impp` false:
    /// no Call-Info at all); returns the Call-ID.
    pub async fn call(
        &self,
        target: &str,
        thread: Option<&str>,
        impp: bool,
    ) -> Result<String, String> {
        let mut g = self.inner.lock().await;
        g.call(target, thread, impp).await
    }

    /// Ends a call with BYE.
    pub async fn hangup(&self, call: &str) -> Result<(), String> {
        let call = call.to_owned();
        self.sip
            .with(move |p, now| p.bye(now, &call))
            .await
            .map_err(sip_err)?
            .map(|_| ())
    }

    /// Sends OPTIONS to `target` and waits, at most `timeout`, for the final response.
    pub async fn options(&self, target: &str, timeout: Duration) -> Result<SipMessage, String> {
        let from = self.mark().await;
        let t = target.to_owned();
        let h = self
            .sip
            .with(move |p, now| p.options(now, &t))
            .await
            .map_err(sip_err)??;
        self.wait(from, timeout, |s| match s {
            Seen::Sip {
                event: PhoneEvent::Response { handle, msg },
                ..
            } if *handle == h => Some(Ok(msg.clone())),
            Seen::Sip {
                event: PhoneEvent::Failed { handle, reason },
                ..
            } if *handle == h => Some(Err(reason.clone())),
            _ => None,
        })
        .await
        .unwrap_or_else(|| {
            Err(format!(
                "no final response to OPTIONS {target} in {timeout:?}"
            ))
        })
    }

    /// A call's state.
    pub async fn call_state(&self, call: &str) -> Option<CallState> {
        let call = call.to_owned();
        self.sip
            .with(move |p, _| p.state(&call))
            .await
            .ok()
            .flatten()
    }

    /// Every SIP message sent and received.
    pub async fn sip_wire(&self) -> Vec<WireRecord> {
        self.sip
            .with(|p, _| p.wire().to_vec())
            .await
            .unwrap_or_default()
    }

    /// Hangs up every call that is up, waiting at most 1 s for the BYEs' answers.
    pub async fn hangup_all(&self) {
        let from = self.mark().await;
        let byes = self
            .sip
            .with(|p, now| {
                p.calls_up()
                    .into_iter()
                    .filter_map(|c| p.bye(now, &c).ok())
                    .collect::<Vec<u64>>()
            })
            .await
            .unwrap_or_default();
        if !byes.is_empty() {
            let mut left = byes.len();
            self.wait(from, Duration::from_secs(1), |s| match s {
                Seen::Sip {
                    event: PhoneEvent::Response { handle, .. } | PhoneEvent::Failed { handle, .. },
                    ..
                } if byes.contains(handle) => {
                    left -= 1;
                    (left == 0).then_some(())
                }
                _ => None,
            })
            .await;
        }
    }

    /// Hangs up every call that is up ([`IntegratedEndpoint::hangup_all`]), unregisters (if
    /// registered), ends the XMPP stream and stops the SIP side.
    pub async fn close(self) {
        self.hangup_all().await;
        self.task.abort();
        let mut g = self.inner.lock().await;
        if g.cfg.register {
            let _ = g.register(0).await;
        }
        if let Some(c) = g.xmpp.take() {
            let _ = c.close().await;
        }
        drop(g);
        self.sip.shutdown().await;
    }
}

async fn run(inner: Arc<Mutex<Inner>>) {
    loop {
        {
            let mut g = inner.lock().await;
            if let Err(e) = g.step().await {
                let at = Instant::now();
                g.log.push(Seen::Note {
                    at,
                    text: format!("stopped: {e}"),
                });
                return;
            }
        }
        tokio::time::sleep(TICK).await;
    }
}

fn body_of(m: &lmpe_xmpp::xmpp_parsers::message::Message) -> Option<String> {
    m.bodies.values().next().cloned()
}

impl Inner {
    fn note(&mut self, text: String) {
        tracing::debug!(endpoint = %self.cfg.name, "{text}");
        self.log.push(Seen::Note {
            at: Instant::now(),
            text,
        });
    }

    fn xmpp_mut(&mut self) -> Result<&mut XmppClient, String> {
        self.xmpp
            .as_mut()
            .ok_or_else(|| format!("{} has no XMPP account", self.cfg.name))
    }

    fn impp(&self, thread: Option<&str>) -> Vec<(String, String)> {
        if self.cfg.faults.no_impp {
            return vec![];
        }
        let i = Impp {
            jid: self.jid.clone(),
            thread: thread.map(str::to_owned),
        };
        vec![("Call-Info".into(), i.header_value())]
    }

    async fn register(&mut self, expires: u32) -> Result<(), String> {
        let from = self.log.len();
        let h = self
            .sip
            .with(move |p, now| p.register(now, expires))
            .await
            .map_err(sip_err)??;
        let deadline = Instant::now() + self.cfg.timeout;
        loop {
            self.drain_sip().await?;
            let done = self.log[from..].iter().find_map(|s| match s {
                Seen::Sip {
                    event: PhoneEvent::Response { handle, msg },
                    ..
                } if *handle == h => Some(msg.status().unwrap_or(0)),
                Seen::Sip {
                    event: PhoneEvent::Failed { handle, .. },
                    ..
                } if *handle == h => Some(0),
                _ => None,
            });
            match done {
                Some(s) if (200..300).contains(&s) => return Ok(()),
                Some(s) => return Err(format!("{}: REGISTER answered {s}", self.cfg.name)),
                None if Instant::now() >= deadline => {
                    return Err(format!("{}: no answer to REGISTER", self.cfg.name))
                }
                None => tokio::time::sleep(TICK).await,
            }
        }
    }

    fn message(
        &mut self,
        to: &str,
        body: &str,
        thread: &str,
        payloads: Vec<lmpe_xmpp::Element>,
    ) -> Result<(), String> {
        use lmpe_xmpp::xmpp_parsers::message::{Lang, Message, MessageType, Thread};
        let to_jid = lmpe_xmpp::jid::Jid::new(to).map_err(|e| format!("{to:?}: {e}"))?;
        let mut m = Message::new(Some(to_jid));
        m.type_ = MessageType::Chat;
        m.bodies.insert(Lang::new(), body.to_owned());
        m.thread = Some(Thread {
            parent: None,
            id: thread.to_owned(),
        });
        m.payloads = payloads;
        let el = lmpe_xmpp::Element::from(m);
        let xml = String::from(&el);
        self.xmpp_mut()?.send(el).map_err(|e| e.to_string())?;
        self.log.push(Seen::XmppOut {
            at: Instant::now(),
            xml,
        });
        Ok(())
    }

    fn publish_presence(&mut self, to: Option<String>) -> Result<(), String> {
        if self.xmpp.is_none() {
            return Ok(());
        }
        let mut payloads = Vec::new();
        if !self.cfg.faults.no_reach {
            payloads.push(profile::reach(&self.sip_uri));
        }
        payloads.push(profile::caps(&profile::disco_info(media(
            &self.cfg.faults,
        )))?);
        if self.on_phone {
            payloads.push(profile::on_the_phone());
        }
        let xml: String = payloads.iter().map(String::from).collect();
        let p = PresenceOut {
            to,
            ..PresenceOut::available(payloads)
        };
        self.xmpp_mut()?
            .send_presence(p)
            .map_err(|e| e.to_string())?;
        self.log.push(Seen::XmppOut {
            at: Instant::now(),
            xml: format!("<presence>{xml}</presence>"),
        });
        Ok(())
    }

    async fn call(
        &mut self,
        target: &str,
        thread: Option<&str>,
        impp: bool,
    ) -> Result<String, String> {
        let headers = if impp { self.impp(thread) } else { vec![] };
        let t = target.to_owned();
        let call = self
            .sip
            .with(move |p, now| p.invite(now, &t, &headers))
            .await
            .map_err(sip_err)??;
        if let Some(th) = thread {
            let peer = self.convs.get(th).map(|c| c.peer.clone());
            self.sessions.insert(
                call.clone(),
                Session {
                    thread: th.to_owned(),
                    peer,
                    active: false,
                },
            );
        }
        Ok(call)
    }

    async fn drain_sip(&mut self) -> Result<Vec<PhoneEvent>, String> {
        let evs = self
            .sip
            .with(|p, _| std::iter::from_fn(|| p.poll_event()).collect::<Vec<_>>())
            .await
            .map_err(sip_err)?;
        let at = Instant::now();
        self.log.extend(evs.iter().map(|e| Seen::Sip {
            at,
            event: e.clone(),
        }));
        Ok(evs)
    }

    async fn step(&mut self) -> Result<(), String> {
        for ev in self.drain_sip().await? {
            self.on_sip(ev).await?;
        }
        let evs = match self.xmpp.as_mut() {
            Some(c) => c.drain_events(),
            None => vec![],
        };
        for ev in evs {
            self.log.push(Seen::XmppIn {
                at: Instant::now(),
                event: ev.clone(),
            });
            self.on_xmpp(ev).await?;
        }
        let on_phone = self.sessions.values().any(|s| s.active);
        if on_phone != self.on_phone {
            self.on_phone = on_phone;
            self.publish_presence(None)?;
        }
        Ok(())
    }

    async fn on_sip(&mut self, ev: PhoneEvent) -> Result<(), String> {
        match ev {
            PhoneEvent::Options { id, msg } => {
                let mut headers = self.impp(None);
                headers.push(("Accept".into(), profile::SDP.into()));
                headers.push(("Allow".into(), "INVITE, ACK, BYE, OPTIONS".into()));
                self.sip
                    .with(move |p, now| p.respond(now, &id, &msg, 200, &headers))
                    .await
                    .map_err(sip_err)??;
            }
            PhoneEvent::Invite { call, msg } => {
                let offered = profile::one_impp(&msg);
                let (thread, peer) = self.correlate_invite(&call, &offered);
                let headers = self.impp(Some(&thread));
                let c = call.clone();
                self.sip
                    .with(move |p, now| p.answer(now, &c, 200, &headers))
                    .await
                    .map_err(sip_err)??;
                if let Some(peer) = &peer {
                    self.convs.entry(thread.clone()).or_insert(Conversation {
                        peer: peer.clone(),
                        claimed_sip: None,
                    });
                }
                self.sessions.insert(
                    call,
                    Session {
                        thread,
                        peer,
                        active: true,
                    },
                );
            }
            PhoneEvent::InviteResponse { call, msg } => {
                let ok = msg.status().is_some_and(|s| (200..300).contains(&s));
                let peer = profile::one_impp(&msg).ok().flatten();
                if let Some(s) = self.sessions.get_mut(&call) {
                    s.active = ok;
                    if s.peer.is_none() {
                        s.peer = peer.map(|i| i.jid);
                    }
                } else if ok {
                    if let Some(i) = peer {
                        self.sessions.insert(
                            call,
                            Session {
                                thread: i.thread.unwrap_or_default(),
                                peer: Some(i.jid),
                                active: true,
                            },
                        );
                    }
                }
            }
            PhoneEvent::Ended { call, .. } => {
                if let Some(s) = self.sessions.get_mut(&call) {
                    s.active = false;
                }
            }
            PhoneEvent::Response { handle, msg } => {
                if let Some(v) = self.verifying.remove(&handle) {
                    self.verified(v, Ok(msg)).await?;
                }
            }
            PhoneEvent::Failed { handle, reason } => {
                if let Some(v) = self.verifying.remove(&handle) {
                    self.verified(v, Err(reason)).await?;
                }
            }
            PhoneEvent::Acked { .. } | PhoneEvent::Malformed { .. } => {}
        }
        Ok(())
    }

    /// The token a new INVITE's session gets, and the peer's JID.
    fn correlate_invite(
        &mut self,
        call: &str,
        offered: &Result<Option<Impp>, String>,
    ) -> (String, Option<String>) {
        let impp = match offered {
            Ok(Some(i)) => i.clone(),
            Ok(None) => {
                self.note(format!("INVITE {call}: no impp; a new context"));
                return (profile::new_token(), None);
            }
            Err(e) => {
                self.note(format!("INVITE {call}: impp unusable ({e}); a new context"));
                return (profile::new_token(), None);
            }
        };
        let peer = Some(impp.jid.clone());
        if self.cfg.faults.ignores_correlation {
            return (profile::new_token(), peer);
        }
        let Some(t) = impp.thread.clone() else {
            return (profile::new_token(), peer);
        };
        match self.convs.get(&t) {
            Some(c) if c.peer == impp.jid => {
                self.note(format!("INVITE {call} correlated with conversation {t}"));
                return (t, peer);
            }
            Some(c) => {
                self.note(format!(
                    "INVITE {call}: token {t} is a conversation with {}, not {}; a new context",
                    c.peer, impp.jid
                ));
                return (profile::new_token(), peer);
            }
            None => {}
        }
        if self.cfg.faults.correlates_by_peer {
            if let Some((th, _)) = self.convs.iter().find(|(_, c)| c.peer == impp.jid) {
                return (th.clone(), peer);
            }
        }
        self.note(format!("INVITE {call}: new token {t} for a new session"));
        (t, peer)
    }

    /// What a message on `thread` from `peer` is tied to (before the message is recorded).
    fn correlate_message(&self, thread: &str, peer: &str) -> Correlation {
        let f = &self.cfg.faults;
        if f.ignores_correlation {
            return Correlation::New;
        }
        let mut sessions: Vec<(&String, &Session)> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.thread == thread)
            .collect();
        sessions.sort_by_key(|(_, s)| !s.active);
        if let Some((call, s)) = sessions.first() {
            return if s.active || f.stale_correlation {
                Correlation::Session((*call).clone())
            } else {
                Correlation::Ended((*call).clone())
            };
        }
        if self.convs.contains_key(thread) {
            return Correlation::Conversation;
        }
        if f.correlates_by_peer {
            if let Some((call, _)) = self
                .sessions
                .iter()
                .find(|(_, s)| s.active && s.peer.as_deref() == Some(peer))
            {
                return Correlation::Session(call.clone());
            }
        }
        Correlation::New
    }

    async fn on_xmpp(&mut self, ev: XmppEvent) -> Result<(), String> {
        match ev {
            XmppEvent::Presence(p) if p.stanza.type_ == PresenceType::Subscribe => {
                let Some(from) = p.stanza.from.as_ref().map(|j| j.to_bare().to_string()) else {
                    return Ok(());
                };
                self.xmpp_mut()?.approve(&from).map_err(|e| e.to_string())?;
                self.note(format!(
                    "presence subscription of {from} approved (pre-authorised)"
                ));
                self.publish_presence(None)?;
                self.publish_presence(Some(from))?;
            }
            XmppEvent::Message(m) => {
                let Some(from) = m.stanza.from.as_ref() else {
                    return Ok(());
                };
                let full = from.to_string();
                let peer = from.to_bare().to_string();
                let thread = m.stanza.thread.as_ref().map(|t| t.id.clone());
                let body = body_of(&m.stanza);
                let claims = profile::reach_sip(&m.stanza.payloads);
                let Some(thread) = thread else { return Ok(()) };
                let corr = self.correlate_message(&thread, &peer);
                let conv = self.convs.entry(thread.clone()).or_insert(Conversation {
                    peer: peer.clone(),
                    claimed_sip: None,
                });
                if conv.claimed_sip.is_none() && conv.peer == peer {
                    conv.claimed_sip = claims.first().cloned();
                }
                if !self.cfg.scripted {
                    return Ok(());
                }
                let Some(body) = body else { return Ok(()) };
                if profile::report_of(&m.stanza.payloads).is_some() {
                    return Ok(());
                }
                match body.trim() {
                    "#open" => {
                        let t = profile::new_token();
                        self.convs.insert(
                            t.clone(),
                            Conversation {
                                peer: peer.clone(),
                                claimed_sip: None,
                            },
                        );
                        let first = if self.cfg.faults.no_sip_in_xmpp {
                            vec![]
                        } else {
                            vec![profile::reach(&self.sip_uri)]
                        };
                        self.message(&peer, "hello", &t, first)?;
                        self.message(&peer, "how are you?", &t, vec![])?;
                    }
                    "#call" => self.call_claimed(&full, &peer, &thread).await?,
                    "#bye" => {
                        let calls: Vec<String> = self
                            .sessions
                            .iter()
                            .filter(|(_, s)| s.thread == thread && s.active)
                            .map(|(c, _)| c.clone())
                            .collect();
                        for c in calls {
                            self.sip
                                .with(move |p, now| p.bye(now, &c))
                                .await
                                .map_err(sip_err)??;
                        }
                    }
                    _ => {
                        self.note(format!("message on {thread} from {peer}: {corr:?}"));
                        self.message(&full, "correlation", &thread, vec![profile::report(&corr)])?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The scripted user calls the SIP contact claimed on `thread`, after verifying it.
    async fn call_claimed(&mut self, full: &str, peer: &str, thread: &str) -> Result<(), String> {
        let claimed = self.convs.get(thread).and_then(|c| c.claimed_sip.clone());
        let Some(sip) = claimed else {
            let r = Correlation::RejectedContact(
                "no SIP contact was given in this conversation".into(),
            );
            return self.message(full, "correlation", thread, vec![profile::report(&r)]);
        };
        if self.cfg.faults.accepts_forged_contact {
            self.note(format!("calling {sip} unverified"));
            self.call(&sip, Some(thread), true).await?;
            return Ok(());
        }
        let s = sip.clone();
        let h = self
            .sip
            .with(move |p, now| p.options(now, &s))
            .await
            .map_err(sip_err)?;
        match h {
            Ok(h) => {
                self.verifying.insert(
                    h,
                    Verifying {
                        thread: thread.to_owned(),
                        peer: peer.to_owned(),
                        sip,
                    },
                );
                Ok(())
            }
            Err(e) => {
                let r = Correlation::RejectedContact(format!("{sip} cannot be reached: {e}"));
                self.message(full, "correlation", thread, vec![profile::report(&r)])
            }
        }
    }

    /// The answer to a verification OPTIONS: call when the impp names the claimant.
    async fn verified(
        &mut self,
        v: Verifying,
        answer: Result<SipMessage, String>,
    ) -> Result<(), String> {
        let verdict = match &answer {
            Err(e) => Err(format!("OPTIONS {} failed: {e}", v.sip)),
            Ok(m) if m.status() != Some(200) => Err(format!(
                "OPTIONS {} answered {}",
                v.sip,
                m.status().unwrap_or(0)
            )),
            Ok(m) => match profile::one_impp(m) {
                Ok(Some(i)) if i.jid == v.peer => Ok(()),
                Ok(Some(i)) => Err(format!(
                    "{} belongs to xmpp:{}, not to {}",
                    v.sip, i.jid, v.peer
                )),
                Ok(None) => Err(format!("{} names no XMPP contact (no impp)", v.sip)),
                Err(e) => Err(format!("{}: {e}", v.sip)),
            },
        };
        match verdict {
            Ok(()) => {
                self.note(format!("{} verified as {}'s; calling", v.sip, v.peer));
                self.call(&v.sip, Some(&v.thread), true).await?;
                Ok(())
            }
            Err(reason) => {
                self.note(format!("contact rejected: {reason}"));
                let r = Correlation::RejectedContact(reason);
                self.message(&v.peer, "correlation", &v.thread, vec![profile::report(&r)])
            }
        }
    }
}
