//! Sans-IO protocol machines for lmpe-harness.
//!
//! Nothing here owns a socket or reads a clock: every input carries `now`, and outputs are
//! polled. [`endpoint`] is the contract with the transport driver (`lmpe-net`); [`transaction`]
//! holds the RFC 3261 non-INVITE transactions; [`session`] the LMPE chat session machines
//! (ETSI TS 103 698 clause 6.2); [`ua`] the user-agent core that turns LMPE messages into SIP.

pub mod endpoint;
pub mod events;
pub mod roles;
pub mod session;
pub mod testing;
pub mod transaction;
pub mod ua;
