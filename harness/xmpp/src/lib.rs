//! XMPP for lmpe-harness.
//!
//! - [`prosody`]: a throw-away Prosody 0.12 server on loopback (configuration template in
//!   `harness/xmpp/prosody/prosody.cfg.lua.in`), started unprivileged for tests.
//! - [`client`]: [`XmppClient`], a client on tokio-xmpp.
//! - [`pubsub`]: XEP-0060 requests and event items (XEP-0127 CAP alerts).

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
pub use tokio_xmpp::minidom::Element;
pub use xml::error_condition;
pub use xmpp_parsers;
