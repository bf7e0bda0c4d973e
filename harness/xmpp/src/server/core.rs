//! The sans-IO core of the embedded server: sessions, routing (RFC 6120 10, RFC 6121 8),
//! rosters and presence subscriptions (RFC 6121 2-4), and the XEP-0060 pubsub service.
//!
//! [`Core`] is fed with bound sessions ([`Core::bind`], [`Core::unbind`]) and the stanzas
//! they send ([`Core::handle`]), and returns the stanzas to deliver, each to one session
//! ([`Delivery`]). It never does I/O; the tokio binding (`server::conn`) reads and writes.
//!
//! Simplifications (documented in the crate docs): no offline storage (a chat/normal
//! message to a user with no available resource is bounced with `service-unavailable`,
//! a headline is dropped), no privacy lists or blocking, no pre-approval, a message to a bare
//! JID goes to every available resource with a non-negative priority, and subscription
//! approvals and roster pushes go to the resources that fetched the roster ("interested
//! resources"), like Prosody.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use tokio_xmpp::jid::{BareJid, FullJid, Jid, ResourcePart};
use tokio_xmpp::minidom::Element;
use xmpp_parsers::ns;

use crate::xml::{build, elem, set_attr, stanza_error};

/// A connection's id, chosen by the I/O layer.
pub type SessionId = u64;

/// A stanza to write to one session.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The session.
    pub session: SessionId,
    /// The stanza.
    pub stanza: Element,
}

/// Who may create pubsub nodes (and publish to nodes they do not own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publishers {
    /// Every user.
    Anyone,
    /// Only these bare JIDs.
    Only(BTreeSet<String>),
}

/// The most items a node keeps (older ones are dropped).
pub const MAX_ITEMS: usize = 256;

const SESSION_NS: &str = "urn:ietf:params:xml:ns:xmpp-session";

#[derive(Debug)]
struct Session {
    jid: FullJid,
    /// The last broadcast available presence (`None`: unavailable).
    presence: Option<Element>,
    /// Has fetched the roster (RFC 6121 2.1.6).
    interested: bool,
}

#[derive(Debug, Default, Clone)]
struct RosterEntry {
    to: bool,
    from: bool,
    ask: bool,
    name: Option<String>,
    groups: Vec<String>,
}

impl RosterEntry {
    fn subscription(&self) -> &'static str {
        match (self.to, self.from) {
            (true, true) => "both",
            (true, false) => "to",
            (false, true) => "from",
            (false, false) => "none",
        }
    }
}

#[derive(Debug)]
struct Node {
    owner: String,
    subscribers: BTreeSet<String>,
    items: Vec<(String, Option<Element>)>,
}

/// Routing, rosters, presence and pubsub state of the embedded server.
#[derive(Debug)]
pub struct Core {
    domain: String,
    pubsub: String,
    publishers: Publishers,
    sessions: BTreeMap<SessionId, Session>,
    /// bare JID → its sessions (so that routing to a user does not scan every session).
    by_bare: HashMap<String, BTreeSet<SessionId>>,
    /// user bare JID → contact bare JID → entry.
    rosters: HashMap<String, BTreeMap<String, RosterEntry>>,
    /// user bare JID → contacts that asked to subscribe and wait for an answer.
    pending_in: HashMap<String, BTreeSet<String>>,
    nodes: BTreeMap<String, Node>,
    next_id: u64,
}

/// The fields of a stanza being handled.
struct In<'a> {
    session: SessionId,
    from: &'a FullJid,
    stanza: &'a Element,
}

impl Core {
    /// A server for `domain`, with its pubsub service at `pubsub.<domain>`.
    pub fn new(domain: &str, publishers: Publishers) -> Self {
        Self {
            domain: domain.to_owned(),
            pubsub: format!("pubsub.{domain}"),
            publishers,
            sessions: BTreeMap::new(),
            by_bare: HashMap::new(),
            rosters: HashMap::new(),
            pending_in: HashMap::new(),
            nodes: BTreeMap::new(),
            next_id: 0,
        }
    }

    /// The domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The pubsub service's JID.
    pub fn pubsub_jid(&self) -> &str {
        &self.pubsub
    }

    /// The full JIDs of the bound sessions.
    pub fn sessions(&self) -> Vec<FullJid> {
        self.sessions.values().map(|s| s.jid.clone()).collect()
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("lmpe-srv-{}", self.next_id)
    }

    /// Binds a resource for `user` (local part) on `session`: the requested one when it is
    /// valid and free, otherwise a generated one (RFC 6120 7.7.2.2).
    pub fn bind(
        &mut self,
        session: SessionId,
        user: &str,
        resource: Option<&str>,
    ) -> Result<FullJid, String> {
        let bare = BareJid::new(&format!("{user}@{}", self.domain))
            .map_err(|e| format!("invalid user {user:?}: {e}"))?;
        let taken = |core: &Self, r: &str| {
            core.by_bare.get(bare.as_str()).is_some_and(|ids| {
                ids.iter().any(|id| {
                    core.sessions
                        .get(id)
                        .is_some_and(|s| s.jid.resource().as_str() == r)
                })
            })
        };
        let wanted = resource
            .filter(|r| !r.is_empty() && !taken(self, r))
            .and_then(|r| ResourcePart::new(r).ok().map(|p| p.into_owned()));
        let resource = match wanted {
            Some(r) => r,
            None => loop {
                let id = self.new_id();
                if !taken(self, &id) {
                    break ResourcePart::new(&id)
                        .map_err(|e| format!("generated resource: {e}"))?
                        .into_owned();
                }
            },
        };
        let jid = bare.with_resource(&resource);
        self.by_bare
            .entry(bare.as_str().to_owned())
            .or_default()
            .insert(session);
        self.sessions.insert(
            session,
            Session {
                jid: jid.clone(),
                presence: None,
                interested: false,
            },
        );
        Ok(jid)
    }

    /// Ends a session: broadcasts its unavailable presence if it was available.
    pub fn unbind(&mut self, session: SessionId) -> Vec<Delivery> {
        let mut out = Vec::new();
        let available = self
            .sessions
            .get(&session)
            .is_some_and(|s| s.presence.is_some());
        if available {
            if let Some(jid) = self.sessions.get(&session).map(|s| s.jid.clone()) {
                let p = elem(
                    "presence",
                    ns::JABBER_CLIENT,
                    &[("type", "unavailable"), ("from", jid.as_str())],
                );
                self.broadcast(session, &jid, p, &mut out);
            }
        }
        if let Some(s) = self.sessions.remove(&session) {
            let bare = s.jid.to_bare();
            if let Some(ids) = self.by_bare.get_mut(bare.as_str()) {
                ids.remove(&session);
                if ids.is_empty() {
                    self.by_bare.remove(bare.as_str());
                }
            }
        }
        out
    }

    /// Handles a stanza sent by a bound session; returns what to deliver.
    pub fn handle(&mut self, session: SessionId, mut stanza: Element) -> Vec<Delivery> {
        let mut out = Vec::new();
        let Some(from) = self.sessions.get(&session).map(|s| s.jid.clone()) else {
            return out;
        };
        // RFC 6120 8.1.2.1: the server stamps the sender's full JID.
        set_attr(&mut stanza, "from", Some(from.as_str()));
        let to = match stanza.attr("to").map(Jid::new) {
            None => None,
            Some(Ok(j)) => Some(j),
            Some(Err(_)) => {
                let i = In {
                    session,
                    from: &from,
                    stanza: &stanza,
                };
                self.error(&i, "modify", "jid-malformed", None, &mut out);
                return out;
            }
        };
        let i = In {
            session,
            from: &from,
            stanza: &stanza,
        };
        match stanza.name() {
            "iq" => self.iq(&i, to, &mut out),
            "message" => self.message(&i, to, &mut out),
            "presence" => self.presence(&i, to, &mut out),
            _ => {}
        }
        out
    }

    // ----- helpers -----

    fn deliver(out: &mut Vec<Delivery>, session: SessionId, stanza: Element) {
        out.push(Delivery { session, stanza });
    }

    /// Sessions of `bare`, with a filter.
    fn sessions_of(&self, bare: &str, pick: impl Fn(&Session) -> bool) -> Vec<SessionId> {
        self.by_bare
            .get(bare)
            .map(|ids| {
                ids.iter()
                    .filter(|id| self.sessions.get(id).is_some_and(&pick))
                    .copied()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn available(&self, bare: &str) -> Vec<SessionId> {
        self.sessions_of(bare, |s| s.presence.is_some())
    }

    fn interested(&self, bare: &str) -> Vec<SessionId> {
        self.sessions_of(bare, |s| s.interested)
    }

    fn session_by_full(&self, full: &str) -> Option<SessionId> {
        let bare = full.split_once('/').map_or(full, |(b, _)| b);
        self.by_bare
            .get(bare)?
            .iter()
            .find(|id| {
                self.sessions
                    .get(id)
                    .is_some_and(|s| s.jid.as_str() == full)
            })
            .copied()
    }

    fn is_local_user(&self, j: &Jid) -> bool {
        j.node().is_some() && j.domain().as_str() == self.domain
    }

    /// An error reply to the stanza being handled (never to an error or an IQ reply).
    fn error(
        &mut self,
        i: &In<'_>,
        kind: &str,
        condition: &str,
        app: Option<Element>,
        out: &mut Vec<Delivery>,
    ) {
        let t = i.stanza.attr("type").unwrap_or_default();
        if t == "error" || (i.stanza.name() == "iq" && t == "result") {
            return;
        }
        let replier = i
            .stanza
            .attr("to")
            .map(str::to_owned)
            .unwrap_or_else(|| i.from.to_bare().to_string());
        let mut attrs = vec![("type", "error"), ("from", replier.as_str())];
        attrs.push(("to", i.from.as_str()));
        let id = i.stanza.attr("id").map(str::to_owned);
        if let Some(id) = &id {
            attrs.push(("id", id.as_str()));
        }
        let mut err = stanza_error(kind, condition);
        if let Some(a) = app {
            err.append_child(a);
        }
        let reply = build(i.stanza.name(), ns::JABBER_CLIENT, &attrs)
            .append(err)
            .build();
        Self::deliver(out, i.session, reply);
    }

    /// An IQ result to the request being handled, from `replier`.
    fn result(i: &In<'_>, replier: &str, payload: Option<Element>, out: &mut Vec<Delivery>) {
        let id = i.stanza.attr("id").unwrap_or_default();
        let mut b = build(
            "iq",
            ns::JABBER_CLIENT,
            &[
                ("type", "result"),
                ("id", id),
                ("from", replier),
                ("to", i.from.as_str()),
            ],
        );
        if let Some(p) = payload {
            b = b.append(p);
        }
        Self::deliver(out, i.session, b.build());
    }

    // ----- IQ -----

    fn iq(&mut self, i: &In<'_>, to: Option<Jid>, out: &mut Vec<Delivery>) {
        let t = i.stanza.attr("type").unwrap_or_default();
        let request = t == "get" || t == "set";
        let own_bare = i.from.to_bare();
        match to {
            None => self.server_iq(i, &own_bare.to_string(), out),
            Some(j) if j.node().is_none() && j.domain().as_str() == self.domain => {
                self.server_iq(i, &self.domain.clone(), out)
            }
            Some(j) if j.node().is_none() && j.domain().as_str() == self.pubsub => {
                if j.resource().is_none() {
                    self.pubsub_iq(i, out)
                } else if request {
                    self.error(i, "cancel", "service-unavailable", None, out)
                }
            }
            Some(j) if !self.is_local_user(&j) => {
                if request {
                    self.error(i, "cancel", "remote-server-not-found", None, out)
                }
            }
            Some(j) => match j.resource() {
                Some(_) => match self.session_by_full(j.as_str()) {
                    Some(s) => Self::deliver(out, s, i.stanza.clone()),
                    None if request => self.error(i, "cancel", "service-unavailable", None, out),
                    None => {}
                },
                None if j.to_bare() == own_bare => self.server_iq(i, j.as_str(), out),
                None if request => self.error(i, "cancel", "service-unavailable", None, out),
                None => {}
            },
        }
    }

    /// IQs the server answers itself (to the domain or the user's own account).
    fn server_iq(&mut self, i: &In<'_>, replier: &str, out: &mut Vec<Delivery>) {
        let t = i.stanza.attr("type").unwrap_or_default();
        if t != "get" && t != "set" {
            return;
        }
        let Some(payload) = i.stanza.children().next() else {
            return self.error(i, "modify", "bad-request", None, out);
        };
        if t == "get" && payload.is("ping", ns::PING) {
            return Self::result(i, replier, None, out);
        }
        if t == "set" && payload.is("session", SESSION_NS) {
            return Self::result(i, replier, None, out);
        }
        if payload.is("query", ns::ROSTER) {
            return self.roster_iq(i, t, payload, replier, out);
        }
        let to_server = replier == self.domain;
        if to_server && t == "get" && payload.is("query", ns::DISCO_INFO) {
            let q = build("query", ns::DISCO_INFO, &[])
                .append(elem(
                    "identity",
                    ns::DISCO_INFO,
                    &[
                        ("category", "server"),
                        ("type", "im"),
                        ("name", "lmpe-harness embedded XMPP server"),
                    ],
                ))
                .append_all(
                    [ns::DISCO_INFO, ns::DISCO_ITEMS, ns::ROSTER, ns::PING]
                        .iter()
                        .map(|f| elem("feature", ns::DISCO_INFO, &[("var", f)])),
                )
                .build();
            return Self::result(i, replier, Some(q), out);
        }
        if to_server && t == "get" && payload.is("query", ns::DISCO_ITEMS) {
            let q = build("query", ns::DISCO_ITEMS, &[])
                .append(elem(
                    "item",
                    ns::DISCO_ITEMS,
                    &[("jid", self.pubsub.as_str()), ("name", "Publish-Subscribe")],
                ))
                .build();
            return Self::result(i, replier, Some(q), out);
        }
        self.error(i, "cancel", "service-unavailable", None, out)
    }

    fn roster_item(contact: &str, e: &RosterEntry) -> Element {
        let mut attrs = vec![("jid", contact), ("subscription", e.subscription())];
        if e.ask {
            attrs.push(("ask", "subscribe"));
        }
        if let Some(n) = &e.name {
            attrs.push(("name", n.as_str()));
        }
        build("item", ns::ROSTER, &attrs)
            .append_all(e.groups.iter().map(|g| {
                let mut ge = elem("group", ns::ROSTER, &[]);
                ge.append_text(g.as_str());
                ge
            }))
            .build()
    }

    /// Roster pushes of `contact`'s entry in `user`'s roster to `user`'s interested
    /// resources (a removed entry is pushed as `subscription="remove"`).
    fn push(&mut self, user: &str, contact: &str, out: &mut Vec<Delivery>) {
        let item = match self.rosters.get(user).and_then(|r| r.get(contact)) {
            Some(e) => Self::roster_item(contact, e),
            None => elem(
                "item",
                ns::ROSTER,
                &[("jid", contact), ("subscription", "remove")],
            ),
        };
        for s in self.interested(user) {
            let Some(to) = self.sessions.get(&s).map(|x| x.jid.to_string()) else {
                continue;
            };
            let id = self.new_id();
            let iq = build(
                "iq",
                ns::JABBER_CLIENT,
                &[("type", "set"), ("id", &id), ("to", &to)],
            )
            .append(build("query", ns::ROSTER, &[]).append(item.clone()).build())
            .build();
            Self::deliver(out, s, iq);
        }
    }

    fn roster_iq(
        &mut self,
        i: &In<'_>,
        t: &str,
        query: &Element,
        replier: &str,
        out: &mut Vec<Delivery>,
    ) {
        let user = i.from.to_bare().to_string();
        if t == "get" {
            if let Some(s) = self.sessions.get_mut(&i.session) {
                s.interested = true;
            }
            let items: Vec<Element> = self
                .rosters
                .get(&user)
                .map(|r| r.iter().map(|(c, e)| Self::roster_item(c, e)).collect())
                .unwrap_or_default();
            let q = build("query", ns::ROSTER, &[]).append_all(items).build();
            return Self::result(i, replier, Some(q), out);
        }
        let items: Vec<&Element> = query
            .children()
            .filter(|c| c.is("item", ns::ROSTER))
            .collect();
        let [item] = items.as_slice() else {
            return self.error(i, "modify", "bad-request", None, out);
        };
        let Some(contact) = item
            .attr("jid")
            .and_then(|j| BareJid::new(j).ok())
            .map(|j| j.to_string())
        else {
            return self.error(i, "modify", "bad-request", None, out);
        };
        if item.attr("subscription") == Some("remove") {
            let entry = self
                .rosters
                .get(&user)
                .and_then(|r| r.get(&contact))
                .cloned();
            if let Some(e) = entry {
                if e.to || e.ask {
                    self.unsubscribe(i.from, &contact, out);
                }
                if e.from {
                    self.unsubscribed(i.from, &contact, out);
                }
                if let Some(r) = self.rosters.get_mut(&user) {
                    r.remove(&contact);
                }
            }
        } else {
            let e = self
                .rosters
                .entry(user.clone())
                .or_default()
                .entry(contact.clone())
                .or_default();
            e.name = item.attr("name").map(str::to_owned);
            e.groups = item
                .children()
                .filter(|g| g.is("group", ns::ROSTER))
                .map(|g| g.text())
                .collect();
        }
        Self::result(i, replier, None, out);
        self.push(&user, &contact, out);
    }

    // ----- messages -----

    fn message(&mut self, i: &In<'_>, to: Option<Jid>, out: &mut Vec<Delivery>) {
        let t = i.stanza.attr("type").unwrap_or("normal").to_owned();
        let to = to.unwrap_or_else(|| Jid::from(i.from.to_bare()));
        if to.node().is_none() {
            // To the server or the pubsub service: nothing handles messages there.
            if t == "chat" || t == "normal" {
                self.error(i, "cancel", "service-unavailable", None, out);
            }
            return;
        }
        if !self.is_local_user(&to) {
            return self.error(i, "cancel", "remote-server-not-found", None, out);
        }
        if to.resource().is_some() {
            if let Some(s) = self.session_by_full(to.as_str()) {
                return Self::deliver(out, s, i.stanza.clone());
            }
        }
        let bare = to.to_bare().to_string();
        let targets: Vec<SessionId> = self
            .available(&bare)
            .into_iter()
            .filter(|s| self.priority(*s) >= 0)
            .collect();
        if targets.is_empty() {
            if t == "chat" || t == "normal" {
                self.error(i, "cancel", "service-unavailable", None, out);
            }
            return;
        }
        for s in targets {
            Self::deliver(out, s, i.stanza.clone());
        }
    }

    fn priority(&self, s: SessionId) -> i32 {
        self.sessions
            .get(&s)
            .and_then(|x| x.presence.as_ref())
            .and_then(|p| p.get_child("priority", ns::JABBER_CLIENT))
            .and_then(|p| p.text().trim().parse().ok())
            .unwrap_or(0)
    }

    // ----- presence -----

    fn presence(&mut self, i: &In<'_>, to: Option<Jid>, out: &mut Vec<Delivery>) {
        let t = i.stanza.attr("type").unwrap_or_default().to_owned();
        match (t.as_str(), to) {
            ("" | "unavailable", None) => {
                let mut p = i.stanza.clone();
                set_attr(&mut p, "to", None);
                self.broadcast(i.session, i.from, p, out);
            }
            ("" | "unavailable" | "error", Some(to)) => {
                // Directed presence.
                if !self.is_local_user(&to) {
                    return;
                }
                let targets = match to.resource() {
                    Some(_) => self.session_by_full(to.as_str()).into_iter().collect(),
                    None => self.available(to.to_bare().as_str()),
                };
                for s in targets {
                    Self::deliver(out, s, i.stanza.clone());
                }
            }
            ("subscribe" | "subscribed" | "unsubscribe" | "unsubscribed" | "probe", Some(to)) => {
                if !self.is_local_user(&to) {
                    return;
                }
                let contact = to.to_bare().to_string();
                match t.as_str() {
                    "subscribe" => self.subscribe(i.from, &contact, out),
                    "subscribed" => self.subscribed(i.from, &contact, out),
                    "unsubscribe" => self.unsubscribe(i.from, &contact, out),
                    "unsubscribed" => self.unsubscribed(i.from, &contact, out),
                    _ => self.probe(i.session, i.from, &contact, out),
                }
            }
            ("error", None) => {}
            _ => self.error(i, "modify", "bad-request", None, out),
        }
    }

    /// Presence broadcast (RFC 6121 4.2.2, 4.4.2, 4.5.2): to contacts with a `from`
    /// subscription and to the user's available resources; initial presence also gets the
    /// contacts' presence (the answer to the implicit probes).
    fn broadcast(
        &mut self,
        session: SessionId,
        from: &FullJid,
        p: Element,
        out: &mut Vec<Delivery>,
    ) {
        let user = from.to_bare().to_string();
        let available = p.attr("type").is_none();
        let initial = available
            && self
                .sessions
                .get(&session)
                .is_some_and(|s| s.presence.is_none());
        if let Some(s) = self.sessions.get_mut(&session) {
            s.presence = available.then(|| p.clone());
        }
        let watchers: Vec<String> = self
            .rosters
            .get(&user)
            .map(|r| {
                r.iter()
                    .filter(|(_, e)| e.from)
                    .map(|(c, _)| c.clone())
                    .collect()
            })
            .unwrap_or_default();
        for w in &watchers {
            for s in self.available(w) {
                let mut c = p.clone();
                set_attr(&mut c, "to", Some(w));
                Self::deliver(out, s, c);
            }
        }
        let own: Vec<SessionId> = self.available(&user);
        for s in own.into_iter().chain((!available).then_some(session)) {
            Self::deliver(out, s, p.clone());
        }
        if initial {
            let contacts: Vec<String> = self
                .rosters
                .get(&user)
                .map(|r| {
                    r.iter()
                        .filter(|(_, e)| e.to)
                        .map(|(c, _)| c.clone())
                        .collect()
                })
                .unwrap_or_default();
            for c in contacts {
                self.presences_of(&c, session, from, out);
            }
        }
    }

    /// The available presences of `contact`'s resources, delivered to `session` (`to`).
    fn presences_of(
        &self,
        contact: &str,
        session: SessionId,
        to: &FullJid,
        out: &mut Vec<Delivery>,
    ) {
        for s in self.available(contact) {
            if let Some(p) = self.sessions.get(&s).and_then(|x| x.presence.clone()) {
                let mut p = p;
                set_attr(&mut p, "to", Some(to.as_str()));
                Self::deliver(out, session, p);
            }
        }
    }

    /// Unavailable presence of each available resource of `of`, to the available
    /// resources of `to`.
    fn unavailable_of(&self, of: &str, to: &str, out: &mut Vec<Delivery>) {
        for s in self.available(of) {
            let Some(from) = self.sessions.get(&s).map(|x| x.jid.to_string()) else {
                continue;
            };
            for t in self.available(to) {
                let p = elem(
                    "presence",
                    ns::JABBER_CLIENT,
                    &[("type", "unavailable"), ("from", &from), ("to", to)],
                );
                Self::deliver(out, t, p);
            }
        }
    }

    fn subscription_stanza(kind: &str, from: &str, to: &str) -> Element {
        elem(
            "presence",
            ns::JABBER_CLIENT,
            &[("type", kind), ("from", from), ("to", to)],
        )
    }

    fn entry(&mut self, user: &str, contact: &str) -> &mut RosterEntry {
        self.rosters
            .entry(user.to_owned())
            .or_default()
            .entry(contact.to_owned())
            .or_default()
    }

    /// `from` asks to see `contact`'s presence (RFC 6121 3.1).
    fn subscribe(&mut self, from: &FullJid, contact: &str, out: &mut Vec<Delivery>) {
        let user = from.to_bare().to_string();
        let already = self
            .rosters
            .get(contact)
            .and_then(|r| r.get(&user))
            .is_some_and(|e| e.from);
        if already {
            // RFC 6121 3.1.3: the contact's server auto-replies.
            let e = self.entry(&user, contact);
            e.to = true;
            e.ask = false;
            self.push(&user, contact, out);
            for s in self.interested(&user) {
                Self::deliver(
                    out,
                    s,
                    Self::subscription_stanza("subscribed", contact, &user),
                );
            }
            for s in self.available(&user) {
                if let Some(jid) = self.sessions.get(&s).map(|x| x.jid.clone()) {
                    self.presences_of(contact, s, &jid, out);
                }
            }
            return;
        }
        let e = self.entry(&user, contact);
        if !e.to {
            e.ask = true;
        }
        self.push(&user, contact, out);
        self.pending_in
            .entry(contact.to_owned())
            .or_default()
            .insert(user.clone());
        for s in self.available(contact) {
            Self::deliver(
                out,
                s,
                Self::subscription_stanza("subscribe", &user, contact),
            );
        }
    }

    /// `from` approves `contact`'s request to see its presence (RFC 6121 3.1.5).
    fn subscribed(&mut self, from: &FullJid, contact: &str, out: &mut Vec<Delivery>) {
        let user = from.to_bare().to_string();
        let was_pending = self
            .pending_in
            .get_mut(&user)
            .is_some_and(|p| p.remove(contact));
        if !was_pending {
            return; // no pre-approval
        }
        self.entry(&user, contact).from = true;
        self.push(&user, contact, out);
        let e = self.entry(contact, &user);
        e.to = true;
        e.ask = false;
        self.push(contact, &user, out);
        for s in self.interested(contact) {
            Self::deliver(
                out,
                s,
                Self::subscription_stanza("subscribed", &user, contact),
            );
        }
        for t in self.available(contact) {
            if let Some(jid) = self.sessions.get(&t).map(|x| x.jid.clone()) {
                self.presences_of(&user, t, &jid, out);
            }
        }
    }

    /// `from` no longer wants `contact`'s presence (RFC 6121 3.3).
    fn unsubscribe(&mut self, from: &FullJid, contact: &str, out: &mut Vec<Delivery>) {
        let user = from.to_bare().to_string();
        if let Some(p) = self.pending_in.get_mut(contact) {
            p.remove(&user);
        }
        if let Some(e) = self.rosters.get_mut(&user).and_then(|r| r.get_mut(contact)) {
            e.to = false;
            e.ask = false;
            self.push(&user, contact, out);
        }
        if let Some(e) = self.rosters.get_mut(contact).and_then(|r| r.get_mut(&user)) {
            e.from = false;
            self.push(contact, &user, out);
        }
        for s in self.interested(contact) {
            Self::deliver(
                out,
                s,
                Self::subscription_stanza("unsubscribe", &user, contact),
            );
        }
        self.unavailable_of(contact, &user, out);
    }

    /// `from` denies or cancels `contact`'s subscription to its presence (RFC 6121 3.2).
    fn unsubscribed(&mut self, from: &FullJid, contact: &str, out: &mut Vec<Delivery>) {
        let user = from.to_bare().to_string();
        if let Some(p) = self.pending_in.get_mut(&user) {
            p.remove(contact);
        }
        if let Some(e) = self.rosters.get_mut(&user).and_then(|r| r.get_mut(contact)) {
            e.from = false;
            self.push(&user, contact, out);
        }
        if let Some(e) = self.rosters.get_mut(contact).and_then(|r| r.get_mut(&user)) {
            e.to = false;
            e.ask = false;
            self.push(contact, &user, out);
        }
        for s in self.interested(contact) {
            Self::deliver(
                out,
                s,
                Self::subscription_stanza("unsubscribed", &user, contact),
            );
        }
        self.unavailable_of(&user, contact, out);
    }

    /// A probe from `from` for `contact`'s presence (RFC 6121 4.3).
    fn probe(
        &mut self,
        session: SessionId,
        from: &FullJid,
        contact: &str,
        out: &mut Vec<Delivery>,
    ) {
        let user = from.to_bare().to_string();
        let subscribed = self
            .rosters
            .get(&user)
            .and_then(|r| r.get(contact))
            .is_some_and(|e| e.to);
        if !subscribed {
            return;
        }
        if self.available(contact).is_empty() {
            let p = elem(
                "presence",
                ns::JABBER_CLIENT,
                &[
                    ("type", "unavailable"),
                    ("from", contact),
                    ("to", from.as_str()),
                ],
            );
            Self::deliver(out, session, p);
        } else {
            self.presences_of(contact, session, from, out);
        }
    }

    // ----- pubsub (XEP-0060) -----

    fn may_create(&self, user: &str) -> bool {
        match &self.publishers {
            Publishers::Anyone => true,
            Publishers::Only(set) => set.contains(user),
        }
    }

    fn pubsub_iq(&mut self, i: &In<'_>, out: &mut Vec<Delivery>) {
        let t = i.stanza.attr("type").unwrap_or_default();
        if t != "get" && t != "set" {
            return;
        }
        let service = self.pubsub.clone();
        let Some(payload) = i.stanza.children().next() else {
            return self.error(i, "modify", "bad-request", None, out);
        };
        if t == "get" && payload.is("query", ns::DISCO_INFO) {
            return self.pubsub_disco_info(i, payload.attr("node"), out);
        }
        if t == "get" && payload.is("query", ns::DISCO_ITEMS) {
            let q = build("query", ns::DISCO_ITEMS, &[])
                .append_all(
                    self.nodes
                        .keys()
                        .map(|n| elem("item", ns::DISCO_ITEMS, &[("jid", &service), ("node", n)])),
                )
                .build();
            return Self::result(i, &service, Some(q), out);
        }
        if !payload.is("pubsub", ns::PUBSUB) {
            return self.error(i, "cancel", "service-unavailable", None, out);
        }
        let Some(op) = payload.children().next() else {
            return self.error(i, "modify", "bad-request", None, out);
        };
        let user = i.from.to_bare().to_string();
        match (t, op.name()) {
            ("set", "create") => self.ps_create(i, op, &user, out),
            ("set", "subscribe") => self.ps_subscribe(i, op, out),
            ("set", "unsubscribe") => self.ps_unsubscribe(i, op, out),
            ("set", "publish") => self.ps_publish(i, op, &user, out),
            ("get", "items") => self.ps_items(i, op, out),
            _ => self.error(
                i,
                "cancel",
                "feature-not-implemented",
                Some(elem(
                    "unsupported",
                    ns::PUBSUB_ERRORS,
                    &[("feature", op.name())],
                )),
                out,
            ),
        }
    }

    fn pubsub_disco_info(&mut self, i: &In<'_>, node: Option<&str>, out: &mut Vec<Delivery>) {
        let service = self.pubsub.clone();
        let (identity, attrs): (Element, Vec<(&str, &str)>) = match node {
            None => (
                elem(
                    "identity",
                    ns::DISCO_INFO,
                    &[
                        ("category", "pubsub"),
                        ("type", "service"),
                        ("name", "lmpe-harness pubsub"),
                    ],
                ),
                vec![],
            ),
            Some(n) if self.nodes.contains_key(n) => (
                elem(
                    "identity",
                    ns::DISCO_INFO,
                    &[("category", "pubsub"), ("type", "leaf")],
                ),
                vec![("node", n)],
            ),
            Some(_) => return self.error(i, "cancel", "item-not-found", None, out),
        };
        let features = [
            ns::DISCO_INFO.to_owned(),
            ns::DISCO_ITEMS.to_owned(),
            ns::PUBSUB.to_owned(),
            format!("{}#create-nodes", ns::PUBSUB),
            format!("{}#publish", ns::PUBSUB),
            format!("{}#subscribe", ns::PUBSUB),
            format!("{}#retrieve-items", ns::PUBSUB),
            format!("{}#item-ids", ns::PUBSUB),
        ];
        let q = build("query", ns::DISCO_INFO, &attrs)
            .append(identity)
            .append_all(
                features
                    .iter()
                    .map(|f| elem("feature", ns::DISCO_INFO, &[("var", f.as_str())])),
            )
            .build();
        Self::result(i, &service, Some(q), out);
    }

    fn ps_create(&mut self, i: &In<'_>, op: &Element, user: &str, out: &mut Vec<Delivery>) {
        if !self.may_create(user) {
            return self.error(i, "auth", "forbidden", None, out);
        }
        let (node, instant) = match op.attr("node").filter(|n| !n.is_empty()) {
            Some(n) => (n.to_owned(), false),
            None => (self.new_id(), true),
        };
        if self.nodes.contains_key(&node) {
            return self.error(i, "cancel", "conflict", None, out);
        }
        self.nodes.insert(
            node.clone(),
            Node {
                owner: user.to_owned(),
                subscribers: BTreeSet::new(),
                items: Vec::new(),
            },
        );
        let payload = instant.then(|| {
            build("pubsub", ns::PUBSUB, &[])
                .append(elem("create", ns::PUBSUB, &[("node", &node)]))
                .build()
        });
        let service = self.pubsub.clone();
        Self::result(i, &service, payload, out);
    }

    fn node_of<'a>(
        &mut self,
        i: &In<'_>,
        op: &'a Element,
        out: &mut Vec<Delivery>,
    ) -> Option<&'a str> {
        match op.attr("node") {
            Some(n) if self.nodes.contains_key(n) => Some(n),
            Some(_) => {
                self.error(i, "cancel", "item-not-found", None, out);
                None
            }
            None => {
                self.error(
                    i,
                    "modify",
                    "bad-request",
                    Some(elem("nodeid-required", ns::PUBSUB_ERRORS, &[])),
                    out,
                );
                None
            }
        }
    }

    /// The bare JID in the request's `jid` attribute, if it is the sender's.
    fn own_jid(&mut self, i: &In<'_>, op: &Element, out: &mut Vec<Delivery>) -> Option<String> {
        let jid = op.attr("jid").and_then(|j| Jid::new(j).ok());
        match jid {
            Some(j) if j.to_bare() == i.from.to_bare() => Some(j.to_bare().to_string()),
            _ => {
                self.error(
                    i,
                    "modify",
                    "bad-request",
                    Some(elem("invalid-jid", ns::PUBSUB_ERRORS, &[])),
                    out,
                );
                None
            }
        }
    }

    fn ps_subscribe(&mut self, i: &In<'_>, op: &Element, out: &mut Vec<Delivery>) {
        let Some(node) = self.node_of(i, op, out) else {
            return;
        };
        let Some(jid) = self.own_jid(i, op, out) else {
            return;
        };
        if let Some(n) = self.nodes.get_mut(node) {
            n.subscribers.insert(jid.clone());
        }
        let payload = build("pubsub", ns::PUBSUB, &[])
            .append(elem(
                "subscription",
                ns::PUBSUB,
                &[
                    ("node", node),
                    ("jid", &jid),
                    ("subscription", "subscribed"),
                ],
            ))
            .build();
        let service = self.pubsub.clone();
        Self::result(i, &service, Some(payload), out);
    }

    fn ps_unsubscribe(&mut self, i: &In<'_>, op: &Element, out: &mut Vec<Delivery>) {
        let Some(node) = self.node_of(i, op, out) else {
            return;
        };
        let Some(jid) = self.own_jid(i, op, out) else {
            return;
        };
        let removed = self
            .nodes
            .get_mut(node)
            .is_some_and(|n| n.subscribers.remove(&jid));
        if !removed {
            return self.error(
                i,
                "cancel",
                "unexpected-request",
                Some(elem("not-subscribed", ns::PUBSUB_ERRORS, &[])),
                out,
            );
        }
        let service = self.pubsub.clone();
        Self::result(i, &service, None, out);
    }

    fn ps_publish(&mut self, i: &In<'_>, op: &Element, user: &str, out: &mut Vec<Delivery>) {
        let Some(node) = self.node_of(i, op, out) else {
            return;
        };
        let allowed =
            self.nodes.get(node).is_some_and(|n| n.owner == user) || self.may_create(user);
        if !allowed {
            return self.error(i, "auth", "forbidden", None, out);
        }
        let items: Vec<&Element> = op.children().filter(|c| c.is("item", ns::PUBSUB)).collect();
        let [item] = items.as_slice() else {
            return self.error(
                i,
                "modify",
                "bad-request",
                Some(elem("item-required", ns::PUBSUB_ERRORS, &[])),
                out,
            );
        };
        let id = match item.attr("id").filter(|x| !x.is_empty()) {
            Some(x) => x.to_owned(),
            None => self.new_id(),
        };
        let payload = item.children().next().cloned();
        let subscribers = match self.nodes.get_mut(node) {
            Some(n) => {
                n.items.retain(|(x, _)| *x != id);
                n.items.push((id.clone(), payload.clone()));
                if n.items.len() > MAX_ITEMS {
                    let excess = n.items.len() - MAX_ITEMS;
                    n.items.drain(..excess);
                }
                n.subscribers.iter().cloned().collect::<Vec<_>>()
            }
            None => Vec::new(),
        };
        let service = self.pubsub.clone();
        let result = build("pubsub", ns::PUBSUB, &[])
            .append(
                build("publish", ns::PUBSUB, &[("node", node)])
                    .append(elem("item", ns::PUBSUB, &[("id", &id)]))
                    .build(),
            )
            .build();
        Self::result(i, &service, Some(result), out);
        // Notifications (XEP-0060 7.1.2): a headline message to each subscriber's
        // available resources.
        for sub in subscribers {
            let mut it = build("item", ns::PUBSUB_EVENT, &[("id", &id)]);
            if let Some(p) = &payload {
                it = it.append(p.clone());
            }
            let event = build("event", ns::PUBSUB_EVENT, &[])
                .append(
                    build("items", ns::PUBSUB_EVENT, &[("node", node)])
                        .append(it.build())
                        .build(),
                )
                .build();
            let msg_id = self.new_id();
            for s in self.available(&sub) {
                let m = build(
                    "message",
                    ns::JABBER_CLIENT,
                    &[
                        ("type", "headline"),
                        ("from", &service),
                        ("to", &sub),
                        ("id", &msg_id),
                    ],
                )
                .append(event.clone())
                .build();
                Self::deliver(out, s, m);
            }
        }
    }

    fn ps_items(&mut self, i: &In<'_>, op: &Element, out: &mut Vec<Delivery>) {
        let Some(node) = self.node_of(i, op, out) else {
            return;
        };
        let max = op
            .attr("max_items")
            .and_then(|m| m.parse::<usize>().ok())
            .unwrap_or(usize::MAX);
        let wanted: BTreeSet<&str> = op
            .children()
            .filter(|c| c.is("item", ns::PUBSUB))
            .filter_map(|c| c.attr("id"))
            .collect();
        let items: Vec<Element> = self
            .nodes
            .get(node)
            .map(|n| {
                let chosen: Vec<&(String, Option<Element>)> = n
                    .items
                    .iter()
                    .filter(|(id, _)| wanted.is_empty() || wanted.contains(id.as_str()))
                    .collect();
                let from = chosen.len().saturating_sub(max);
                chosen[from..]
                    .iter()
                    .map(|(id, p)| {
                        let mut b = build("item", ns::PUBSUB, &[("id", id)]);
                        if let Some(p) = p {
                            b = b.append(p.clone());
                        }
                        b.build()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let payload = build("pubsub", ns::PUBSUB, &[])
            .append(
                build("items", ns::PUBSUB, &[("node", node)])
                    .append_all(items)
                    .build(),
            )
            .build();
        let service = self.pubsub.clone();
        Self::result(i, &service, Some(payload), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(xml: &str) -> Element {
        match xml.parse() {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        }
    }

    fn core() -> Core {
        Core::new(
            "lmpe.test",
            Publishers::Only(["alerts@lmpe.test".to_owned()].into()),
        )
    }

    fn bind(c: &mut Core, s: SessionId, user: &str) -> FullJid {
        match c.bind(s, user, Some("r")) {
            Ok(j) => j,
            Err(e) => panic!("{e}"),
        }
    }

    const AVAILABLE: &str = "<presence xmlns='jabber:client'/>";

    #[test]
    fn message_to_bare_jid_reaches_available_resources_and_is_stamped() {
        let mut c = core();
        let a = bind(&mut c, 1, "alice");
        bind(&mut c, 2, "bob");
        c.handle(2, parse(AVAILABLE));
        let out = c.handle(
            1,
            parse("<message xmlns='jabber:client' to='bob@lmpe.test' type='chat'><body>hi</body><thread>t</thread></message>"),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].session, 2);
        assert_eq!(out[0].stanza.attr("from"), Some(a.as_str()));
        // Nobody available: bounced.
        let out = c.handle(
            2,
            parse("<message xmlns='jabber:client' to='alice@lmpe.test' type='chat' id='m1'/>"),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].session, 2);
        assert_eq!(
            crate::xml::error_condition(&out[0].stanza),
            "service-unavailable"
        );
    }

    #[test]
    fn subscription_then_presence_reaches_the_watcher() {
        let mut c = core();
        bind(&mut c, 1, "carol");
        let bob = bind(&mut c, 2, "bob");
        for s in [1, 2] {
            c.handle(s, parse("<iq xmlns='jabber:client' type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>"));
            c.handle(s, parse(AVAILABLE));
        }
        let out = c.handle(
            1,
            parse("<presence xmlns='jabber:client' to='bob@lmpe.test' type='subscribe'/>"),
        );
        assert!(out
            .iter()
            .any(|d| d.session == 2 && d.stanza.attr("type") == Some("subscribe")));
        let out = c.handle(
            2,
            parse("<presence xmlns='jabber:client' to='carol@lmpe.test' type='subscribed'/>"),
        );
        assert!(out
            .iter()
            .any(|d| d.session == 1 && d.stanza.attr("type") == Some("subscribed")));
        let out = c.handle(
            2,
            parse("<presence xmlns='jabber:client'><status>x</status></presence>"),
        );
        assert!(out
            .iter()
            .any(|d| d.session == 1 && d.stanza.attr("from") == Some(bob.as_str())));
        let out = c.unbind(2);
        assert!(out
            .iter()
            .any(|d| d.session == 1 && d.stanza.attr("type") == Some("unavailable")));
    }

    #[test]
    fn pubsub_publish_notifies_subscribers_only() {
        let mut c = core();
        bind(&mut c, 1, "alerts");
        bind(&mut c, 2, "alice");
        bind(&mut c, 3, "bob");
        for s in [1, 2, 3] {
            c.handle(s, parse(AVAILABLE));
        }
        let out = c.handle(1, parse("<iq xmlns='jabber:client' type='set' id='c' to='pubsub.lmpe.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><create node='n'/></pubsub></iq>"));
        assert_eq!(out[0].stanza.attr("type"), Some("result"));
        let out = c.handle(3, parse("<iq xmlns='jabber:client' type='set' id='c' to='pubsub.lmpe.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><create node='m'/></pubsub></iq>"));
        assert_eq!(crate::xml::error_condition(&out[0].stanza), "forbidden");
        let out = c.handle(2, parse("<iq xmlns='jabber:client' type='set' id='s' to='pubsub.lmpe.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='n' jid='alice@lmpe.test'/></pubsub></iq>"));
        assert_eq!(out[0].stanza.attr("type"), Some("result"));
        let out = c.handle(1, parse("<iq xmlns='jabber:client' type='set' id='p' to='pubsub.lmpe.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='n'><item id='i1'><x xmlns='urn:x'/></item></publish></pubsub></iq>"));
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out
            .iter()
            .any(|d| d.session == 1 && d.stanza.attr("type") == Some("result")));
        assert!(out
            .iter()
            .any(|d| d.session == 2 && d.stanza.name() == "message"));
        let out = c.handle(2, parse("<iq xmlns='jabber:client' type='set' id='s' to='pubsub.lmpe.test'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='nope' jid='alice@lmpe.test'/></pubsub></iq>"));
        assert_eq!(
            crate::xml::error_condition(&out[0].stanza),
            "item-not-found"
        );
    }

    fn subscribed_pair(c: &mut Core) {
        for s in [1, 2] {
            c.handle(s, parse(ROSTER_GET));
            c.handle(s, parse(AVAILABLE));
        }
        c.handle(
            1,
            parse("<presence xmlns='jabber:client' to='bob@lmpe.test' type='subscribe'/>"),
        );
        c.handle(
            2,
            parse("<presence xmlns='jabber:client' to='carol@lmpe.test' type='subscribed'/>"),
        );
    }

    const ROSTER_GET: &str =
        "<iq xmlns='jabber:client' type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>";

    #[test]
    fn bind_keeps_resources_unique() {
        let mut c = core();
        let a = bind(&mut c, 1, "alice");
        let b = bind(&mut c, 2, "alice");
        assert_eq!(a.as_str(), "alice@lmpe.test/r");
        assert_ne!(a, b);
        assert_eq!(c.sessions().len(), 2);
    }

    #[test]
    fn probe_is_answered_for_subscribers_only() {
        let mut c = core();
        bind(&mut c, 1, "carol");
        let bob = bind(&mut c, 2, "bob");
        subscribed_pair(&mut c);
        let probe = "<presence xmlns='jabber:client' to='bob@lmpe.test' type='probe'/>";
        let out = c.handle(1, parse(probe));
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].stanza.attr("from"), Some(bob.as_str()));
        // bob is not subscribed to carol: his probe is not answered.
        let out = c.handle(
            2,
            parse("<presence xmlns='jabber:client' to='carol@lmpe.test' type='probe'/>"),
        );
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn roster_shows_subscription_states_and_unsubscribe_cleans_up() {
        let mut c = core();
        bind(&mut c, 1, "carol");
        bind(&mut c, 2, "bob");
        subscribed_pair(&mut c);
        let out = c.handle(1, parse(ROSTER_GET));
        let x = crate::xml::to_xml(&out[0].stanza);
        assert!(
            x.contains("jid='bob@lmpe.test'") || x.contains("jid=\"bob@lmpe.test\""),
            "{x}"
        );
        assert!(
            x.contains("subscription='to'") || x.contains("subscription=\"to\""),
            "{x}"
        );
        let out = c.handle(
            1,
            parse("<presence xmlns='jabber:client' to='bob@lmpe.test' type='unsubscribe'/>"),
        );
        // A roster push to each side, bob is told, carol sees bob go unavailable.
        assert!(out
            .iter()
            .any(|d| d.session == 2 && d.stanza.attr("type") == Some("unsubscribe")));
        assert!(out
            .iter()
            .any(|d| d.session == 1 && d.stanza.attr("type") == Some("unavailable")));
        assert_eq!(
            out.iter().filter(|d| d.stanza.name() == "iq").count(),
            2,
            "{out:?}"
        );
        // Presence no longer reaches carol.
        let out = c.handle(2, parse(AVAILABLE));
        assert!(out.iter().all(|d| d.session == 2), "{out:?}");
    }

    #[test]
    fn iq_to_own_bare_jid_is_handled_by_the_server_and_unknown_payloads_are_refused() {
        let mut c = core();
        bind(&mut c, 1, "alice");
        let out = c.handle(
            1,
            parse("<iq xmlns='jabber:client' type='get' id='v' to='lmpe.test'><query xmlns='jabber:iq:version'/></iq>"),
        );
        assert_eq!(
            crate::xml::error_condition(&out[0].stanza),
            "service-unavailable"
        );
        assert_eq!(out[0].stanza.attr("id"), Some("v"));
        let out = c.handle(
            1,
            parse("<iq xmlns='jabber:client' type='get' id='p' to='alice@lmpe.test'><ping xmlns='urn:xmpp:ping'/></iq>"),
        );
        assert_eq!(out[0].stanza.attr("type"), Some("result"));
        let out = c.handle(
            1,
            parse("<message xmlns='jabber:client' to='x@elsewhere.example' type='chat'/>"),
        );
        assert_eq!(
            crate::xml::error_condition(&out[0].stanza),
            "remote-server-not-found"
        );
    }
}
