//! The load engine of lmpe-harness.
//!
//! * [`transactions`]: an open-model MESSAGE transaction generator (`Uac`) and responder
//!   (`Uas`) on the UA core, for raw transaction throughput.
//! * Chat load: [`LoadApp`] (many APP chats on one UA core, each the LMPE APP session machine
//!   of `lmpe-proto`, arriving on an open schedule with a Resource-Priority class) and
//!   [`LoadPsap`] (the simulated PSAP role of `lmpe-proto` plus a measuring adapter). Both are
//!   sans-IO endpoints; [`run`] drives them over loopback with `lmpe-net`. Every APP message
//!   carries a load stamp (chat, class, intended send time), so the PSAP measures one-way
//!   routing latency on the same clock, and the run joins what was sent with what arrived so
//!   that counts reconcile exactly.
//! * [`output`]: `load.json`, HDR interval logs, `load.html`, SLO verdicts, and `merge` of
//!   shard reports.

pub mod app;
pub mod class;
mod error;
pub mod html;
pub mod metrics;
pub mod output;
pub mod profile;
pub mod psap;
pub mod report;
pub mod run;
pub mod schedule;
pub mod stamp;
pub mod transactions;

pub use app::{LoadApp, LoadAppConfig};
pub use class::{Class, Kind};
pub use error::LoadError;
pub use output::{merge, summarise, write_reports, Verdict};
pub use profile::Profile;
pub use psap::{LoadPsap, LoadPsapConfig};
pub use run::{prepare, Prepared, RunData, RunOptions, SutAddress};
pub use schedule::{Schedule, Shard};
pub use transactions::{run_message_throughput, ThroughputConfig, ThroughputReport};
