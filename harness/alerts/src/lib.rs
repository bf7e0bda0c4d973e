//! Public-warning distribution for lmpe-harness (draft-rosen-atoca-server-discovery: warning
//! servers found by LoST, reached over SIP, XMPP or HTTP).
//!
//! - [`route`]: the sans-IO core of the reference alert server: distribution points (one per
//!   LoST mapping of a warning service), which of them an alert belongs to (service and
//!   area), what each channel carries, with deliberate [`AlertFaults`].
//! - [`server`]: the reference alert server: `POST /alerts` ingest, a SIP notifier for the CAP
//!   event package, XMPP publish-subscribe through a [`server::Publisher`], Atom/GeoRSS feeds.
//! - [`citizen`]: the subscriber side: subscribes on sip, xmpp and http URIs and collects every
//!   alert received with its arrival time and carrier.
//! - [`uri`]: mapping URIs as subscription targets; [`http`]: the small HTTP client.
//! - [`xmpp`]: the XMPP side of both, on `lmpe-xmpp` (XEP-0060 / XEP-0127).

pub mod citizen;
mod error;
mod faults;
pub mod http;
pub mod load;
pub mod route;
pub mod server;
pub mod uri;
pub mod xmpp;

pub use citizen::{Citizen, CitizenConfig, Received, Subscribed, XmppSubscriber};
pub use error::AlertsError;
pub use faults::AlertFaults;
pub use route::{Channel, Delivery, DistributionPoint, Router};
pub use server::{AlertServer, AlertServerConfig, Published, Publisher};
pub use uri::Target;
