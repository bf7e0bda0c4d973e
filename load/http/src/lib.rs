//! The HTTP plane of the lmpe-harness load engine: a HELD/LoST load against a LIS and an ECRF,
//! driven by [goose](https://docs.rs/goose) 0.19, with the report conventions of the SIP load
//! (`load.json`, HDR interval logs, `load.html`, exit code by thresholds).
//!
//! * [`profile`]: `plane = "http"` profiles (rate, duration, users, request mix, thresholds).
//! * [`request`]: the request types (LoST findService geodetic/civic, listServicesByLocation;
//!   HELD locationRequest by device identity, dereference), built with lmpe-location, and the
//!   check of each answer.
//! * [`engine`]: the goose attack carrying an open schedule; latency from the due time in µs.
//! * [`ramp`]: capacity search: the schedule as steps, each judged by the thresholds.
//! * [`report`]: counts, histograms, thresholds, reconciliation and the report files.
//!
//! A crate of its own (not a module of lmpe-load) because goose brings reqwest, clap, chrono,
//! regex and more, which the SIP engine and its builds do not need.

pub mod engine;
pub mod profile;
pub mod ramp;
pub mod report;
pub mod request;

pub use engine::{run, HttpRunOptions, HttpTarget};
pub use profile::{plane_of, HttpProfile};
pub use report::{write_reports, HttpReport, RunData};
pub use request::{RequestKind, Subjects};
