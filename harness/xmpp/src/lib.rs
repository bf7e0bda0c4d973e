//! XMPP for lmpe-harness.
//!
//! - [`prosody`]: a throw-away Prosody 0.12 server on loopback (configuration template in
//!   `harness/xmpp/prosody/prosody.cfg.lua.in`), started unprivileged for tests.

mod error;
pub mod prosody;

pub use error::XmppError;
pub use prosody::{Prosody, ProsodyOptions};
