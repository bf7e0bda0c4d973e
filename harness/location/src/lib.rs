//! HELD (RFC 5985, 6155, 6915, 6753, 7840), LoST (RFC 5222, RFC 6848 location validation, the
//! `urn:service:warning` services) and PIDF-LO (RFC 4119, 4479, 5491, 5139, 6848) codecs:
//! typed messages, parsed with `quick_xml::NsReader` (namespaces resolved: names are matched
//! on namespace URI + local name, never on prefixes) and serialised with correct namespace
//! declarations. Sans-IO: strings in, strings out.
//!
//! Entry points: [`held::parse`], [`lost::parse`], [`pidf::parse`] (each with a `_with`
//! variant taking [`ParseOptions`] and a `_bytes` variant), fragment parsers
//! ([`held::parse_device`], [`pidf::parse_civic_address`], [`lost::parse_location_validation`])
//! and `to_xml()` on every message. All failures are one [`LocationError`] with the element,
//! attribute, expected and found namespace and the line/byte position; no input makes these
//! functions panic, and [`ParseOptions`] bounds document size, nesting depth and point count.
//!
//! ```
//! use lmpe_location::{lost, pidf::Shape};
//! let q = r#"<findService xmlns="urn:ietf:params:xml:ns:lost1"
//!     xmlns:gml="http://www.opengis.net/gml" serviceBoundary="value">
//!   <location id="l1" profile="geodetic-2d">
//!     <gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>48.1 11.5</gml:pos></gml:Point>
//!   </location>
//!   <service>urn:service:sos</service>
//! </findService>"#;
//! let lost::LostMessage::FindService(fs) = lost::parse(q)? else { unreachable!() };
//! let p = fs.locations[0].representative_point().expect("a point");
//! assert_eq!((p.lat, p.lon), (48.1, 11.5));
//! assert_eq!(lost::parse(&fs.to_xml())?, lost::LostMessage::FindService(fs));
//! # Ok::<(), lmpe_location::LocationError>(())
//! ```
//!
//! # Defects in the published examples, and how they are reported
//!
//! | published text | result |
//! |---|---|
//! | RFC 5222 Figs. 2/10/16/18 `urn:ogc:def::crs:EPSG::4326` | [`LocationError::MalformedSrsName`]; accepted with [`ParseOptions::lenient_srs_name`] |
//! | RFC 5222 Fig. 15 `urn:ogc:def:crs:EPSG:4326` (no empty version field; not in the collection's list) | same as above |
//! | RFC 5222 Fig. 10 `p2:` never declared | [`LocationError::UndeclaredPrefix`] (not well-formed: no option) |
//! | RFC 5222 Figs. 16/18 `p2` bound to `http://www.opengis.net/` | [`LocationError::WrongNamespace`] for `Polygon` |
//! | RFC 5222 Fig. 6 / RFC 6848 Fig. 9 unqualified `valid`/`invalid`/`unchecked` names | [`LocationError::UnqualifiedName`]; read as civicAddr names with [`ParseOptions::lenient_validation_names`] |
//! | RFC 4119 civicLoc namespace (with leading space), pre-RFC 5491 GML namespace | [`LocationError::Unsupported`] (historic encodings) |
//! | RFC 6753 Fig. 5 `...geopriv10:basic-policy` | [`LocationError::WrongNamespace`] for `retransmission-allowed` |
//! | RFC 5985 Section 10.3 location URI ending in `:` | kept verbatim; [`held::check_location_uri`] returns [`held::LocationUriIssue::EmptyPort`] |
//! | draft-rosen-atoca-server-discovery IANA section `urn:service:warning:geo` | [`lost::WarningService::from_urn`] returns `ColonSeparator` with the RFC 5031 spelling |

pub mod error;
pub mod held;
pub mod lost;
pub mod pidf;
pub mod xml;

pub use error::{LocationError, Pos, Result};
pub use xml::QualifiedName;

/// MIME type of HELD messages (RFC 5985).
pub const MIME_HELD: &str = "application/held+xml";
/// MIME type of LoST messages (RFC 5222).
pub const MIME_LOST: &str = "application/lost+xml";
/// MIME type of PIDF(-LO) documents (RFC 3863, RFC 4119).
pub const MIME_PIDF: &str = "application/pidf+xml";

/// Limits and leniency switches for parsing. `Default` is strict with generous limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Largest accepted document in bytes (default 1 MiB).
    pub max_document_size: usize,
    /// Deepest accepted element nesting (default 64).
    pub max_depth: usize,
    /// Most coordinate tuples (positions) accepted in one document (default 10,000).
    pub max_points: usize,
    /// Accept the published misspellings of the WGS 84 CRS URN: RFC 5222's doubled colon
    /// `urn:ogc:def::crs:EPSG::4326` (Figs. 2, 10, 16, 18) and the missing empty version
    /// field `urn:ogc:def:crs:EPSG:4326` (Fig. 15). Default `false`: they are reported as
    /// [`LocationError::MalformedSrsName`]. Either way the value is written back correctly.
    pub lenient_srs_name: bool,
    /// Accept unqualified names in LoST `<valid>/<invalid>/<unchecked>` lists (RFC 5222
    /// Fig. 6, which RFC 6848 Section 6 declares erroneous) and read them as RFC 5139
    /// civicAddr names. Default `false`: reported as [`LocationError::UnqualifiedName`].
    pub lenient_validation_names: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_document_size: 1024 * 1024,
            max_depth: 64,
            max_points: 10_000,
            lenient_srs_name: false,
            lenient_validation_names: false,
        }
    }
}

impl ParseOptions {
    /// Default limits with every documented leniency switched on.
    pub fn lenient() -> Self {
        ParseOptions {
            lenient_srs_name: true,
            lenient_validation_names: true,
            ..ParseOptions::default()
        }
    }
}

/// Per-parse state threaded through the typed conversion (options and the point budget).
pub(crate) struct Ctx<'a> {
    pub(crate) opts: &'a ParseOptions,
    pub(crate) points: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(opts: &'a ParseOptions) -> Self {
        Ctx { opts, points: 0 }
    }

    /// Counts `n` more positions against the limit.
    pub(crate) fn count_points(&mut self, n: usize, pos: Pos) -> Result<()> {
        self.points = self.points.saturating_add(n);
        if self.points > self.opts.max_points {
            Err(LocationError::TooManyPoints {
                max: self.opts.max_points,
                pos,
            })
        } else {
            Ok(())
        }
    }
}
