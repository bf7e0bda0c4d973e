//! Location → service area: shapes to `geo` geometries and the mapping rule.
//!
//! Rule: a point maps to the first area, in file order, that contains it (its boundary
//! included, so a point on the border of two areas goes to the earlier one). Any other shape
//! is turned into a polygon (circles, ellipses and arc bands approximated by 64-gons in a
//! local equirectangular projection) and maps to the first area containing it completely,
//! else to the area with the largest overlap (ties: file order); a shape overlapping no area
//! maps nowhere (`notFound`). Civic addresses map by the areas' civic keys (most specific key
//! wins, ties: file order).
//!
//! Civic validation ([`validate_civic`], LoST `validateLocation`, RFC 5222 8.3.5 / 8.4.2 with
//! the namespace-qualified names of RFC 6848 Section 6) checks the elements the areas' civic
//! keys know: `country`, `A1` and `A3`, hierarchically (A1 only under a known country, A3 only
//! under a known country and an A1 that is not invalid). An element is valid when a key
//! has it, invalid when the data knows values for that level there but none matches, and
//! unchecked otherwise (also every other element of the address, RFC 6848 extensions
//! included).

use geo::{Area, BooleanOps, Contains, Coord, Intersects, LineString, Point, Polygon};
use lmpe_location::lost::LocationValidation;
use lmpe_location::pidf::{
    CivicAddress, Polygon as PidfPolygon, Position, Shape, NS_CIVIC_ADDR, NS_CIVIC_ADDR_EXT,
};
use lmpe_location::QualifiedName;

use crate::areas::{CivicKey, ServiceArea, ServiceAreas};

/// Metres per degree of latitude (and of longitude at the equator), spherical approximation.
const M_PER_DEG: f64 = 111_320.0;
/// Vertices of the polygon approximating a circle or an ellipse.
const SEGMENTS: usize = 64;
/// Largest radius or axis accepted, metres (beyond, the shape is `locationInvalid`).
pub const MAX_RADIUS_M: f64 = 1_000_000.0;

/// A location the ECRF can map, after validation.
#[derive(Debug, Clone, PartialEq)]
pub enum MapInput {
    /// A single position.
    Point(Point<f64>),
    /// An area (any shape other than a point).
    Area(Polygon<f64>),
}

/// Why a shape cannot be mapped (LoST `locationInvalid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidShape(pub String);

fn coord(p: &Position) -> Result<Coord<f64>, InvalidShape> {
    if !p.lat.is_finite() || !p.lon.is_finite() || p.lat.abs() > 90.0 || p.lon.abs() > 180.0 {
        return Err(InvalidShape(format!(
            "position {} {} is outside WGS 84 ranges",
            p.lat, p.lon
        )));
    }
    Ok(Coord { x: p.lon, y: p.lat })
}

fn length(what: &str, m: f64) -> Result<f64, InvalidShape> {
    if !(0.0..=MAX_RADIUS_M).contains(&m) {
        return Err(InvalidShape(format!(
            "{what} {m} m is not in 0..={MAX_RADIUS_M} m"
        )));
    }
    Ok(m)
}

/// The point `north`/`east` metres from `c` (equirectangular, good to well below a metre at
/// the sizes accepted).
fn offset(c: Coord<f64>, north: f64, east: f64) -> Coord<f64> {
    let cos = c.y.to_radians().cos().max(1e-6);
    Coord {
        x: c.x + east / (M_PER_DEG * cos),
        y: c.y + north / M_PER_DEG,
    }
}

/// An ellipse (semi-axes in metres, orientation of the major axis in degrees clockwise from
/// north) as a polygon.
fn ellipse(c: Coord<f64>, major: f64, minor: f64, orientation_deg: f64) -> Polygon<f64> {
    let o = orientation_deg.to_radians();
    let mut pts: Vec<Coord<f64>> = (0..SEGMENTS)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / SEGMENTS as f64;
            let (a, b) = (major * t.cos(), minor * t.sin());
            // Major axis along bearing `o`: north = a cos o - b sin o, east = a sin o + b cos o.
            offset(c, a * o.cos() - b * o.sin(), a * o.sin() + b * o.cos())
        })
        .collect();
    if let Some(first) = pts.first().copied() {
        pts.push(first);
    }
    Polygon::new(LineString::new(pts), vec![])
}

fn arc_band(c: Coord<f64>, inner: f64, outer: f64, start: f64, opening: f64) -> Polygon<f64> {
    let steps = SEGMENTS / 2;
    let at = |r: f64, deg: f64| {
        let a = deg.to_radians();
        offset(c, r * a.cos(), r * a.sin())
    };
    let mut pts: Vec<Coord<f64>> = (0..=steps)
        .map(|i| at(outer, start + opening * i as f64 / steps as f64))
        .collect();
    pts.extend(
        (0..=steps)
            .rev()
            .map(|i| at(inner, start + opening * i as f64 / steps as f64)),
    );
    if let Some(first) = pts.first().copied() {
        pts.push(first);
    }
    Polygon::new(LineString::new(pts), vec![])
}

fn polygon(p: &PidfPolygon) -> Result<Polygon<f64>, InvalidShape> {
    let ring = |r: &[Position]| -> Result<LineString<f64>, InvalidShape> {
        if r.len() < 4 {
            return Err(InvalidShape(
                "a polygon ring needs at least 4 positions".into(),
            ));
        }
        Ok(LineString::new(
            r.iter().map(coord).collect::<Result<_, _>>()?,
        ))
    };
    Ok(Polygon::new(
        ring(&p.exterior)?,
        p.interiors
            .iter()
            .map(|r| ring(r))
            .collect::<Result<_, _>>()?,
    ))
}

/// Validates a PIDF-LO shape and turns it into something to map (3-D shapes by their 2-D
/// footprint).
pub fn to_input(shape: &Shape) -> Result<MapInput, InvalidShape> {
    Ok(match shape {
        Shape::Point { pos } => MapInput::Point(Point(coord(pos)?)),
        Shape::Circle { center, radius } | Shape::Sphere { center, radius } => {
            let r = length("radius", *radius)?;
            MapInput::Area(ellipse(coord(center)?, r, r, 0.0))
        }
        Shape::Ellipse {
            center,
            semi_major,
            semi_minor,
            orientation,
        }
        | Shape::Ellipsoid {
            center,
            semi_major,
            semi_minor,
            orientation,
            ..
        } => MapInput::Area(ellipse(
            coord(center)?,
            length("semi-major axis", *semi_major)?,
            length("semi-minor axis", *semi_minor)?,
            *orientation,
        )),
        Shape::ArcBand {
            center,
            inner_radius,
            outer_radius,
            start_angle,
            opening_angle,
        } => MapInput::Area(arc_band(
            coord(center)?,
            length("inner radius", *inner_radius)?,
            length("outer radius", *outer_radius)?,
            *start_angle,
            *opening_angle,
        )),
        Shape::Polygon(p) | Shape::Prism { base: p, .. } => MapInput::Area(polygon(p)?),
    })
}

/// The area `input` maps to among the areas serving `service`, by the rule above.
pub fn map_geodetic<'a>(
    areas: &'a ServiceAreas,
    input: &MapInput,
    service: &str,
) -> Option<&'a ServiceArea> {
    let serving = areas.areas.iter().filter(|a| a.serves(service));
    match input {
        MapInput::Point(p) => serving.into_iter().find(|a| a.boundary.intersects(p)),
        MapInput::Area(shape) => {
            let candidates: Vec<&ServiceArea> = serving.collect();
            if let Some(a) = candidates.iter().find(|a| a.boundary.contains(shape)) {
                return Some(a);
            }
            let mut best: Option<(&ServiceArea, f64)> = None;
            for a in candidates {
                // Belt and braces: a clipping failure on a pathological polygon counts as
                // no overlap instead of taking the service down.
                let overlap = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    a.boundary.intersection(shape).unsigned_area()
                }))
                .unwrap_or(0.0);
                let better = match best {
                    Some((_, b)) => overlap > b,
                    None => overlap > 0.0,
                };
                if better {
                    best = Some((a, overlap));
                }
            }
            best.map(|(a, _)| a)
        }
    }
}

/// The area a civic address maps to among the areas serving `service`.
pub fn map_civic<'a>(
    areas: &'a ServiceAreas,
    civic: &CivicAddress,
    service: &str,
) -> Option<&'a ServiceArea> {
    let mut best: Option<(&ServiceArea, u8)> = None;
    for a in areas.areas.iter().filter(|a| a.serves(service)) {
        let score = a
            .civic
            .iter()
            .filter_map(|k| {
                k.score(
                    civic.country.as_deref(),
                    civic.a1.as_deref(),
                    civic.a3.as_deref(),
                )
            })
            .max();
        if let Some(s) = score {
            let better = match best {
                Some((_, b)) => s > b,
                None => true,
            };
            if better {
                best = Some((a, s));
            }
        }
    }
    best.map(|(a, _)| a)
}

/// The namespace-qualified names of the elements of a civic address, in document order
/// (RFC 5139 elements, then RFC 6848 `civicAddr:ext` elements, then other extensions), each
/// name once.
pub fn civic_element_names(civic: &CivicAddress) -> Vec<QualifiedName> {
    let mut out: Vec<QualifiedName> = CivicAddress::ELEMENTS
        .iter()
        .filter(|n| civic.get(n).is_some())
        .map(|n| QualifiedName::new(NS_CIVIC_ADDR, n))
        .collect();
    let ext = &civic.ext;
    for (name, v) in [
        ("PN", &ext.pn),
        ("MP", &ext.mp),
        ("STP", &ext.stp),
        ("HNP", &ext.hnp),
    ] {
        if v.is_some() {
            out.push(QualifiedName::new(NS_CIVIC_ADDR_EXT, name));
        }
    }
    for e in &civic.extensions {
        let q = QualifiedName::new(&e.ns, &e.name);
        if !out.contains(&q) {
            out.push(q);
        }
    }
    out
}

/// The outcome of checking one element against the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Valid,
    Invalid,
    Unchecked,
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Checks `value` among the values `known` for one level: unchecked when the data knows none.
fn check_level<'a>(value: Option<&str>, mut known: impl Iterator<Item = &'a str>) -> Check {
    let Some(v) = value else {
        return Check::Unchecked;
    };
    let mut any = false;
    for k in known.by_ref() {
        any = true;
        if same(k, v) {
            return Check::Valid;
        }
    }
    if any {
        Check::Invalid
    } else {
        Check::Unchecked
    }
}

/// Validates a civic address against the areas' civic keys (the rule in the module
/// documentation): every element of the address appears in exactly one of the `valid`,
/// `invalid` and `unchecked` lists, with its namespace-qualified name (RFC 6848 Section 6);
/// empty lists are left out.
pub fn validate_civic(areas: &ServiceAreas, civic: &CivicAddress) -> LocationValidation {
    let keys: Vec<&CivicKey> = areas.areas.iter().flat_map(|a| a.civic.iter()).collect();
    let country = check_level(
        civic.country.as_deref(),
        keys.iter().map(|k| k.country.as_str()),
    );
    let in_country: Vec<&CivicKey> = match (country, civic.country.as_deref()) {
        (Check::Valid, Some(c)) => keys
            .iter()
            .copied()
            .filter(|k| same(&k.country, c))
            .collect(),
        _ => Vec::new(),
    };
    let a1 = check_level(
        civic.a1.as_deref(),
        in_country.iter().filter_map(|k| k.a1.as_deref()),
    );
    let a3 = if country == Check::Valid && a1 != Check::Invalid {
        check_level(
            civic.a3.as_deref(),
            in_country
                .iter()
                .filter(|k| match (k.a1.as_deref(), civic.a1.as_deref()) {
                    (None, _) => true,
                    (Some(k), Some(v)) => same(k, v),
                    (Some(_), None) => false,
                })
                .filter_map(|k| k.a3.as_deref()),
        )
    } else {
        Check::Unchecked
    };
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    let mut unchecked = Vec::new();
    for q in civic_element_names(civic) {
        let check = match (q.ns.as_str(), q.local.as_str()) {
            (NS_CIVIC_ADDR, "country") => country,
            (NS_CIVIC_ADDR, "A1") => a1,
            (NS_CIVIC_ADDR, "A3") => a3,
            _ => Check::Unchecked,
        };
        match check {
            Check::Valid => valid.push(q),
            Check::Invalid => invalid.push(q),
            Check::Unchecked => unchecked.push(q),
        }
    }
    let list = |v: Vec<QualifiedName>| (!v.is_empty()).then_some(v);
    LocationValidation {
        valid: list(valid),
        invalid: list(invalid),
        unchecked: list(unchecked),
        extensions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn areas() -> ServiceAreas {
        let text = crate::fill_template(
            crate::SAMPLE_AREAS,
            &[("PSAP_A", "sip:a@127.0.0.1"), ("PSAP_B", "sip:b@127.0.0.1")],
        )
        .unwrap_or_default();
        ServiceAreas::from_geojson(&text).unwrap_or_default()
    }

    fn id(a: Option<&ServiceArea>) -> Option<&str> {
        a.map(|a| a.id.as_str())
    }

    fn map(shape: Shape) -> Option<String> {
        let a = areas();
        let input = to_input(&shape).ok()?;
        id(map_geodetic(&a, &input, "urn:service:sos")).map(str::to_owned)
    }

    #[test]
    fn points_map_to_the_containing_area_and_borders_to_the_first() {
        let p = |lat, lon| Shape::Point {
            pos: Position::new(lat, lon),
        };
        assert_eq!(map(p(48.2, 16.2)).as_deref(), Some("area-a"));
        assert_eq!(map(p(48.2, 16.6)).as_deref(), Some("area-b"));
        assert_eq!(map(p(48.2, 16.4)).as_deref(), Some("area-a"));
        assert_eq!(map(p(47.0, 10.0)), None);
    }

    #[test]
    fn shapes_map_by_containment_then_largest_overlap() {
        let circle = |lon, r| Shape::Circle {
            center: Position::new(48.2, lon),
            radius: r,
        };
        // Inside B entirely.
        assert_eq!(map(circle(16.6, 500.0)).as_deref(), Some("area-b"));
        // Straddles the border (16.4), mostly in B.
        assert_eq!(map(circle(16.41, 3000.0)).as_deref(), Some("area-b"));
        // Straddles, mostly in A.
        assert_eq!(map(circle(16.39, 3000.0)).as_deref(), Some("area-a"));
        // An ellipse oriented east-west, centred in A but reaching far into B: more in A.
        let e = Shape::Ellipse {
            center: Position::new(48.2, 16.38),
            semi_major: 5000.0,
            semi_minor: 100.0,
            orientation: 90.0,
        };
        assert_eq!(map(e).as_deref(), Some("area-a"));
        // Outside everything.
        assert_eq!(map(circle(10.0, 100.0)), None);
    }

    #[test]
    fn invalid_shapes_are_rejected() {
        let huge = Shape::Circle {
            center: Position::new(48.2, 16.2),
            radius: 1e9,
        };
        assert!(to_input(&huge).is_err());
        let off = Shape::Point {
            pos: Position::new(91.0, 0.0),
        };
        assert!(to_input(&off).is_err());
        let nan = Shape::Point {
            pos: Position::new(f64::NAN, 0.0),
        };
        assert!(to_input(&nan).is_err());
    }

    #[test]
    fn civic_maps_by_key() {
        let a = areas();
        let mut c = CivicAddress {
            country: Some("AT".into()),
            a1: Some("Niederösterreich".into()),
            ..CivicAddress::default()
        };
        assert_eq!(id(map_civic(&a, &c, "urn:service:sos")), Some("area-b"));
        c.a1 = Some("Tirol".into());
        assert_eq!(id(map_civic(&a, &c, "urn:service:sos")), None);
    }

    fn names(l: &Option<Vec<QualifiedName>>) -> Vec<String> {
        l.iter()
            .flatten()
            .map(|q| {
                let p = match q.ns.as_str() {
                    NS_CIVIC_ADDR => "ca",
                    NS_CIVIC_ADDR_EXT => "cae",
                    _ => "?",
                };
                format!("{p}:{}", q.local)
            })
            .collect()
    }

    #[test]
    fn civic_validation_checks_country_a1_a3_hierarchically() {
        let a = areas();
        let mut c = CivicAddress {
            country: Some("AT".into()),
            a1: Some("wien".into()),
            a3: Some("Wien".into()),
            rd: Some("Karlsplatz".into()),
            ..CivicAddress::default()
        };
        c.ext.hnp = Some("A".into());
        let v = validate_civic(&a, &c);
        assert_eq!(names(&v.valid), ["ca:country", "ca:A1", "ca:A3"]);
        assert_eq!(v.invalid, None);
        assert_eq!(names(&v.unchecked), ["ca:RD", "cae:HNP"]);
        // A wrong A3 under a known A1 is invalid; the rest is unchanged.
        c.a3 = Some("Graz".into());
        let v = validate_civic(&a, &c);
        assert_eq!(names(&v.valid), ["ca:country", "ca:A1"]);
        assert_eq!(names(&v.invalid), ["ca:A3"]);
        // Below an invalid A1, A3 is not checked.
        c.a1 = Some("Tirol".into());
        let v = validate_civic(&a, &c);
        assert_eq!(names(&v.valid), ["ca:country"]);
        assert_eq!(names(&v.invalid), ["ca:A1"]);
        assert_eq!(names(&v.unchecked), ["ca:A3", "ca:RD", "cae:HNP"]);
        // An unknown country: invalid, nothing below checked.
        c.country = Some("DE".into());
        let v = validate_civic(&a, &c);
        assert_eq!(v.valid, None);
        assert_eq!(names(&v.invalid), ["ca:country"]);
        assert_eq!(names(&v.unchecked), ["ca:A1", "ca:A3", "ca:RD", "cae:HNP"]);
    }
}
