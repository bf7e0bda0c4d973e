//! The embedded reference ESInet: a BCF and an ESRP (stateless SIP proxies with ESInet policy)
//! and the reference PSAP, all sans-IO. The default target of `lmpe-harness` when no real
//! element is named; built from the same `lmpe-proto` pieces the simulated roles use.

pub mod proxy;

pub use proxy::{Proxy, ProxyConfig, ProxyFaults, ProxyRole, ProxyStats, Route};
