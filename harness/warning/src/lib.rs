//! Public warnings for lmpe-harness (sans-IO codecs): CAP 1.2 alerts (OASIS Common
//! Alerting Protocol v1.2), their validation against `cap12.xsd`, area logic and the
//! CAP category / `urn:service:warning` mapping of draft-rosen-atoca-server-discovery, and the
//! three transports' payloads: Atom 1.0 feeds with GeoRSS shapes carrying CAP ([`georss`]),
//! XEP-0127 pubsub items ([`xep0127`]) and SIP `common-alerting-protocol` NOTIFY bodies
//! (the plain document, [`cap::Alert::to_xml`] with MIME type [`cap::MIME_CAP`]).
//!
//! XML is read with the namespace-resolving tree of `lmpe-location` (size, depth and entity
//! guards; names matched on namespace URI + local name) and written with `quick_xml::Writer`.
//! No input makes these functions panic; every failure is one [`WarningError`].
//!
//! Entry points:
//!
//! * [`cap::Alert::parse`] (well-formed, schema-valid, CAP-conformant coordinates, or a
//!   precise error), [`cap::Alert::to_xml`] / [`cap::Alert::to_xml_element`];
//! * [`cap::validate()`]: the `cap12.xsd` rules only, every violation with its element path
//!   (`alert/info[0]/urgency: "Soon" is not one of Immediate, Expected, Future, Past,
//!   Unknown`); `tests/xsd.rs` checks it against `xmllint --schema` (see the [`cap::validate`](mod@cap::validate)
//!   module docs for the two known libxml2 differences);
//! * [`cap::Alert::covers`], [`cap::Area::contains`], [`cap::Alert::services`],
//!   [`cap::Category::warning_service`];
//! * [`cap::Alert::diff`] / [`cap::digest`] to check that what arrived is what was published;
//! * [`cap::Alert::sample`] / [`cap::AlertBuilder`] for scenario alerts;
//! * [`georss::Feed`] (build with [`georss::Feed::from_alerts`], [`georss::Feed::parse`]);
//! * [`xep0127::item_payload`], [`xep0127::publish_iq`], [`xep0127::extract_alert`].
//!
//! ```
//! use lmpe_warning::cap::{Alert, CapDateTime, Category, Polygon};
//! let area = Polygon::rectangle(48.0, 11.0, 48.3, 11.8).map_err(|e| e.to_string())?;
//! let sent = CapDateTime::parse("2026-11-21T18:00:00-00:00").map_err(|e| e.to_string())?;
//! let alert = Alert::sample("A-1", "originator@example.org", sent, Category::Met, "Storm", area);
//! let xml = alert.to_xml();
//! assert!(lmpe_warning::cap::validate(xml.as_bytes()).is_ok());
//! let received = Alert::parse(xml.as_bytes()).map_err(|e| e.to_string())?;
//! assert!(received.diff(&alert).is_empty());
//! assert!(received.covers(48.14, 11.58));
//! # Ok::<(), String>(())
//! ```

pub mod area;
pub mod cap;
pub mod error;
pub mod georss;
pub mod xep0127;

pub use error::{Result, WarningError};
pub use lmpe_location::ParseOptions;
