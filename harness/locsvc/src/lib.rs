//! Simulated LIS and ECRF: HELD and LoST services over HTTP, backed by data files (service
//! boundaries, device-identity to location tables), with point/shape-in-area mapping.
//!
//! The service logic is sans-IO: [`Ecrf::handle`] and [`Lis::handle`] take a request body
//! (and, for the LIS, the HTTP path and the client's IP address) and return a
//! [`ServiceReply`] (status, content type, body and an artificial delay for the `*-slow`
//! faults). [`http::serve`] binds both to an axum HTTP server and records every HTTP message
//! in an [`HttpLog`] for the conformance report's ladder.
//!
//! Data files:
//! - service boundaries: a GeoJSON `FeatureCollection` of `Polygon`/`MultiPolygon` features,
//!   see [`ServiceAreas::from_geojson`] (`data/areas.geojson`);
//! - the LIS table: JSON, device identities to locations, see [`LisTable::from_json`]
//!   (`data/lis.json`).
//!
//! Both may hold `${NAME}` template variables, filled in with [`fill_template`] before
//! parsing (PSAP ports are only known at run time).
//!
//! Faults by name: [`EcrfFaults::NAMES`] and [`LisFaults::NAMES`] (`ecrf-slow:N` and
//! `lis-slow:N` with a delay in seconds). The `lmpe-locsvc` binary serves both services
//! stand-alone.
//!
//! LoST forest (RFC 5222 8.3.3): an area may be delegated to another LoST server (GeoJSON
//! property `delegate`, [`ServiceArea::delegate`]); the ECRF answers a findService for it
//! with a `<redirect>` (iterative) or, for `recursive="true"` and a delegate listed in
//! [`EcrfConfig::peers`], by asking that server ([`Ecrf::step`] → [`EcrfStep::Recurse`], the
//! HTTP binding POSTs and hands the outcome to [`Ecrf::recursed`]), with `<loop>` detection
//! on the request's `<path>`. [`SAMPLE_AREAS`] delegates area C to [`SAMPLE_FOREST_CHILD`].
//!
//! [`client::LocClient`] is the other side: a small HTTP client for HELD and LoST requests
//! (the harness's ESRP glue and its LIS/ECRF conformance checks), recording into an [`HttpLog`].
//!
//! Mapping rule (see [`mapping`]): a point maps to the first area, in file order, that
//! contains it (boundary included); a shape (circle, ellipse, arc band, polygon, …) maps to
//! the first area that contains it completely, otherwise to the area with the largest overlap
//! (ties: file order); no overlap at all is `notFound`. Civic locations match the areas'
//! `civic` keys (country, and A1/A3 where the key gives them; the most specific key wins).
//! A civic findService with `validateLocation="true"` is answered with a `locationValidation`
//! of namespace-qualified names (RFC 5222 8.4.2, RFC 6848 Section 6), see
//! [`mapping::validate_civic`]; geodetic locations are not validated.

mod areas;
pub mod client;
mod ecrf;
mod error;
mod faults;
pub mod http;
mod lis;
mod log;
pub mod mapping;
mod reply;
mod template;

pub use areas::{CivicKey, ServiceArea, ServiceAreas};
pub use ecrf::{
    Ecrf, EcrfConfig, EcrfStep, RecurseFailure, Recursion, MAX_PATH_VIAS, RECURSION_TIMEOUT,
};
pub use error::LocsvcError;
pub use faults::{EcrfFaults, LisFaults, SLOW_DELAY};
pub use lis::{DeviceEntry, DeviceLocation, Lis, LisConfig, LisTable};
pub use log::{HttpDirection, HttpLog, HttpRecord};
pub use reply::ServiceReply;
pub use template::fill_template;

/// The sample service boundaries (WGS 84, `${PSAP_A}`/`${PSAP_B}` URIs): area A
/// (16.0-16.4 E, 48.0-48.4 N) → `${PSAP_A}`, area B (16.4-16.8 E, 48.0-48.4 N) →
/// `${PSAP_B}`, and area C (16.8-17.2 E, 48.0-48.4 N), delegated to the LoST server
/// [`SAMPLE_FOREST_CHILD_SOURCE`] (see [`SAMPLE_FOREST_CHILD`]).
pub const SAMPLE_AREAS: &str = include_str!("../data/areas.geojson");
/// The application unique string that area C of [`SAMPLE_AREAS`] is delegated to.
pub const SAMPLE_FOREST_CHILD_SOURCE: &str = "ecrf-c.lmpe.test";
/// The service boundaries of the child ECRF of the sample forest (run it with
/// `EcrfConfig { source: SAMPLE_FOREST_CHILD_SOURCE, .. }`): area C (16.8-17.2 E,
/// 48.0-48.4 N, id `area-c`) → `${PSAP_B}`.
pub const SAMPLE_FOREST_CHILD: &str = include_str!("../data/forest-child.geojson");
/// The sample warning-distribution areas (draft-rosen-atoca-server-discovery): `warn-a`
/// (civil protection, area A: `urn:service:warning` and all eleven sub-services),
/// `warn-a-met` (a weather service, area A: `urn:service:warning.met` only) and `warn-b`
/// (civil protection, area B), each with a sip, an xmpp (XEP-0060 subscribe URI) and an http
/// (GeoRSS feed) URI built from `${ALERTS_SIP}` (host:port of the SIP notifier),
/// `${ALERTS_PUBSUB}` (the pubsub service JID) and `${ALERTS_HTTP}` (feed base URL). Append
/// them to [`SAMPLE_AREAS`] ([`ServiceAreas::extend`]).
pub const SAMPLE_WARNING_AREAS: &str = include_str!("../data/warning.geojson");
/// The sample LIS table.
pub const SAMPLE_LIS: &str = include_str!("../data/lis.json");
