//! XMPP for lmpe-harness: public warnings (XEP-0127 CAP alerts over XEP-0060 pubsub) and the
//! XMPP side of the integrated SIP+XMPP endpoint (RFC 7081 CUSAX: messages with a
//! `<thread/>`, presence carrying SIP contact information such as XEP-0152 `<reach/>`).
//!
//! Three parts, one client API:
//!
//! - [`XmppClient`] ([`client`]): an RFC 6120/6121 client on tokio-xmpp's XML streams and
//!   xmpp-parsers' stanza types. Plain TCP (no TLS; loopback only by policy), SASL PLAIN when
//!   offered (otherwise tokio-xmpp's SCRAM), resource binding. Messages with body, thread and
//!   extra payloads, presence with show/status/priority/payloads, subscription helpers
//!   (`subscribe`, `approve`, `unsubscribe`), roster, `ping`, disco#info answers
//!   ([`XmppClient::set_disco_info`], for XEP-0115 caps), IQ requests matched by id with a
//!   bounded wait ([`XmppClient::iq`]), XEP-0060 helpers (`pubsub_create`,
//!   `pubsub_subscribe`, `pubsub_unsubscribe`, `pubsub_publish`, `pubsub_get_items`), and
//!   incoming stanzas as [`XmppEvent`]s, each with the stanza's XML ([`Received::xml`]),
//!   read with [`XmppClient::next_event`] / [`XmppClient::wait_for`] (events passed over stay
//!   queued). [`pubsub_items`] extracts `(node, item id, payload)` from a notification.
//!   Every wait has a timeout and ends in [`XmppError::Timeout`], never a hang.
//! - [`Prosody`] ([`prosody`]): a throw-away Prosody 0.12 (Debian `prosody`) for tests, from
//!   the configuration template kept in `harness/xmpp/prosody/prosody.cfg.lua.in`: domain,
//!   pubsub component `pubsub.<domain>`, c2s on a free 127.0.0.1 port, no TLS/s2s/HTTP,
//!   users registered offline with `prosodyctl register`, publishers as `admins` (node
//!   owners), run as the `prosody` user when the harness runs as root.
//! - [`EmbeddedServer`] ([`server`]): a minimal in-process server, so that the harness's
//!   embedded reference network has XMPP on a machine without Prosody.
//!
//! # Pointing the client at a real server
//!
//! Any XMPP server that accepts plain-TCP client connections on loopback with PLAIN (or
//! SCRAM) authentication works: give [`XmppClient::connect`] its client-to-server address,
//! a JID of an existing account (`user@domain`, or `user@domain/resource` to ask for a
//! resource) and the password. For Prosody, `c2s_require_encryption = false` and
//! `allow_unencrypted_plain_auth = true` (see the template); the pubsub service is the
//! component's JID (e.g. `pubsub.lmpe.test`), and creating nodes needs owner rights (in
//! Prosody: the publisher is one of the `admins`). Clients should fetch the roster
//! ([`XmppClient::roster`]) before relying on subscription approvals and roster pushes:
//! servers send those only to "interested resources" (RFC 6121 2.1.6).
//!
//! ```no_run
//! # async fn demo() -> Result<(), lmpe_xmpp::XmppError> {
//! use std::time::Duration;
//! use lmpe_xmpp::{EmbeddedServer, PresenceOut, ServerOptions, XmppClient};
//!
//! let server = EmbeddedServer::start(([127, 0, 0, 1], 0).into(), ServerOptions::default()).await?;
//! let mut alice =
//!     XmppClient::connect(server.addr(), "alice@lmpe.test", "pw", Duration::from_secs(5)).await?;
//! alice.roster().await?;
//! alice.send_presence(PresenceOut::default())?;
//! alice.send_message("bob@lmpe.test", Some("hello"), Some("thread-1"), vec![])?;
//! # Ok(()) }
//! ```
//!
//! # What the embedded server supports
//!
//! - RFC 6120 client streams: stream header check (`host-unknown` for another domain),
//!   SASL PLAIN against a user table or any user/password ([`Accounts`]), stream restart,
//!   resource binding (requested resource, or a generated one if taken), the legacy session
//!   IQ (advertised as optional), XEP-0199 pings both ways.
//! - Routing: `from` stamped with the sender's full JID; messages to a full JID, or to a bare
//!   JID (every available resource with priority ≥ 0; none available: chat/normal bounced
//!   with `service-unavailable`, headline dropped); IQs to full JIDs; errors
//!   `service-unavailable`, `remote-server-not-found` (other domains), `jid-malformed`.
//! - RFC 6121: roster get/set/remove with pushes, subscribe / subscribed / unsubscribe /
//!   unsubscribed with roster state (`none`/`to`/`from`/`both`, `ask`), broadcast of
//!   available/unavailable presence to subscribers and own resources, initial presence
//!   answered with the contacts' presence, probes, directed presence.
//! - Service discovery (disco#info/#items) of the server and the pubsub service.
//! - XEP-0060 at `pubsub.<domain>`: create (named or instant; `forbidden` unless the user is a
//!   publisher, `conflict`), subscribe / unsubscribe (own JID only: `bad-request` +
//!   `invalid-jid`), publish (one item, id generated if absent; the owner or a publisher;
//!   the last [`server::core::MAX_ITEMS`] items kept) with a headline event message to each
//!   subscriber's available resources, items retrieval (`max_items`, item ids);
//!   `item-not-found` for unknown nodes, `feature-not-implemented` for the rest.
//! - Bounds: stanza size ([`ServerOptions::max_stanza_bytes`], `policy-violation`),
//!   connections ([`ServerOptions::max_connections`]), negotiation time.
//!
//! Not supported: TLS (STARTTLS or direct), SCRAM, server-to-server, MUC, persistence
//! (everything is in memory and lost on drop), offline messages, message carbons, stream
//! management (XEP-0198), privacy lists / blocking, subscription pre-approval, PEP,
//! pubsub node configuration, affiliations management, retract and purge. Roster pushes and
//! subscription approvals go to the resources that fetched the roster, as in Prosody.
//!
//! The protocol logic is the sans-IO [`server::core::Core`]; `server` is its tokio binding.

pub mod client;
mod error;
pub mod prosody;
pub mod pubsub;
pub mod server;
mod xml;

pub use client::{IqKind, PresenceOut, Received, XmppClient, XmppEvent};
pub use error::XmppError;
pub use prosody::{Prosody, ProsodyOptions};
pub use pubsub::{pubsub_items, PubsubItem, CAP_NS};
pub use server::{Accounts, EmbeddedServer, ServerOptions};
pub use tokio_xmpp::jid;
pub use tokio_xmpp::minidom::Element;
pub use xml::error_condition;
pub use xmpp_parsers;
