//! RFC 5491 geodetic shapes (GML 3.1.1 and the `gs:` PIDF-LO shape namespace), WGS 84 only.

use crate::error::{LocationError, Pos, Result};
use crate::xml::{self, Element};
use crate::Ctx;

use super::{NS_GML, NS_GML_OLD, NS_GS};

/// CRS URN of 2-D WGS 84 (latitude, longitude).
pub const CRS_4326: &str = "urn:ogc:def:crs:EPSG::4326";
/// CRS URN of 3-D WGS 84 (latitude, longitude, ellipsoidal height).
pub const CRS_4979: &str = "urn:ogc:def:crs:EPSG::4979";
/// Unit of length: metre.
pub const UOM_METRE: &str = "urn:ogc:def:uom:EPSG::9001";
/// Unit of angle: degree.
pub const UOM_DEGREE: &str = "urn:ogc:def:uom:EPSG::9102";

/// The two CRSs RFC 5491 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    /// EPSG::4326: 2-D.
    Wgs84_2D,
    /// EPSG::4979: 3-D.
    Wgs84_3D,
}

impl Crs {
    /// The URN.
    pub fn urn(self) -> &'static str {
        match self {
            Crs::Wgs84_2D => CRS_4326,
            Crs::Wgs84_3D => CRS_4979,
        }
    }

    /// Values per position (2 or 3).
    pub fn dimension(self) -> usize {
        match self {
            Crs::Wgs84_2D => 2,
            Crs::Wgs84_3D => 3,
        }
    }

    /// Parses an `srsName`, reporting the published misspellings precisely.
    pub fn parse(srs_name: &str, lenient: bool, pos: Pos) -> Result<Crs> {
        match srs_name {
            CRS_4326 => return Ok(Crs::Wgs84_2D),
            CRS_4979 => return Ok(Crs::Wgs84_3D),
            _ => {}
        }
        let known = [
            (
                "urn:ogc:def::crs:EPSG::4326",
                Crs::Wgs84_2D,
                "RFC 5222 Figs. 2/10/16/18 doubled colon after `def`",
            ),
            (
                "urn:ogc:def::crs:EPSG::4979",
                Crs::Wgs84_3D,
                "RFC 5222 doubled colon after `def`",
            ),
            (
                "urn:ogc:def:crs:EPSG:4326",
                Crs::Wgs84_2D,
                "RFC 5222 Fig. 15 missing empty version field (`EPSG::4326`)",
            ),
            (
                "urn:ogc:def:crs:EPSG:4979",
                Crs::Wgs84_3D,
                "missing empty version field (`EPSG::4979`)",
            ),
        ];
        for (bad, crs, defect) in known {
            if srs_name == bad {
                return if lenient {
                    Ok(crs)
                } else {
                    Err(LocationError::MalformedSrsName {
                        srs_name: srs_name.to_owned(),
                        canonical: crs.urn(),
                        defect,
                        pos,
                    })
                };
            }
        }
        Err(LocationError::UnsupportedCrs {
            srs_name: srs_name.to_owned(),
            pos,
        })
    }
}

/// A WGS 84 position in degrees (and metres for the height).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Latitude in degrees, [-90, 90].
    pub lat: f64,
    /// Longitude in degrees, [-180, 180].
    pub lon: f64,
    /// Height above the WGS 84 ellipsoid in metres (EPSG::4979 only).
    pub alt: Option<f64>,
}

impl Position {
    /// A 2-D position.
    pub fn new(lat: f64, lon: f64) -> Self {
        Position {
            lat,
            lon,
            alt: None,
        }
    }

    fn write(&self, out: &mut String) {
        use std::fmt::Write;
        let _ = write!(out, "{} {}", self.lat, self.lon);
        if let Some(a) = self.alt {
            let _ = write!(out, " {a}");
        }
    }

    fn text(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
}

/// A polygon: one exterior ring and optional interior rings, each closed (first == last).
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    /// The exterior ring.
    pub exterior: Vec<Position>,
    /// Interior rings (holes).
    pub interiors: Vec<Vec<Position>>,
    /// Whether the rings were written as one `gml:posList` (RFC 5491 Fig. 8) rather than
    /// `gml:pos` elements (kept so a round trip writes the same encoding).
    pub pos_list: bool,
}

impl Polygon {
    /// Ray-casting point-in-polygon test on latitude/longitude (planar approximation, fine for
    /// service-boundary sized polygons not crossing the antimeridian). Points in a hole are
    /// outside.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        ring_contains(&self.exterior, lat, lon)
            && !self.interiors.iter().any(|r| ring_contains(r, lat, lon))
    }

    /// Mean of the distinct exterior vertices (closing vertex excluded).
    pub fn vertex_centroid(&self) -> Option<Position> {
        let ring = match (self.exterior.first(), self.exterior.last()) {
            (Some(f), Some(l)) if self.exterior.len() > 1 && f == l => {
                self.exterior.get(..self.exterior.len() - 1)?
            }
            _ => &self.exterior[..],
        };
        if ring.is_empty() {
            return None;
        }
        let n = ring.len() as f64;
        let lat = ring.iter().map(|p| p.lat).sum::<f64>() / n;
        let lon = ring.iter().map(|p| p.lon).sum::<f64>() / n;
        Some(Position::new(lat, lon))
    }
}

fn ring_contains(ring: &[Position], lat: f64, lon: f64) -> bool {
    let mut inside = false;
    let n = ring.len();
    if n < 3 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let (Some(a), Some(b)) = (ring.get(i), ring.get(j)) else {
            break;
        };
        if (a.lat > lat) != (b.lat > lat) {
            let x = (b.lon - a.lon) * (lat - a.lat) / (b.lat - a.lat) + a.lon;
            if lon < x {
                inside = !inside;
            }
        }
        j = i;
    }
    inside
}

/// An RFC 5491 shape. Lengths are metres, angles degrees.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// `gml:Point`.
    Point {
        /// The position.
        pos: Position,
    },
    /// `gs:Circle`.
    Circle {
        /// Centre.
        center: Position,
        /// Radius (m).
        radius: f64,
    },
    /// `gs:Ellipse`.
    Ellipse {
        /// Centre.
        center: Position,
        /// Semi-major axis (m).
        semi_major: f64,
        /// Semi-minor axis (m).
        semi_minor: f64,
        /// Orientation of the major axis from north (degrees).
        orientation: f64,
    },
    /// `gs:ArcBand`.
    ArcBand {
        /// Centre.
        center: Position,
        /// Inner radius (m).
        inner_radius: f64,
        /// Outer radius (m).
        outer_radius: f64,
        /// Start angle from north (degrees).
        start_angle: f64,
        /// Opening angle (degrees).
        opening_angle: f64,
    },
    /// `gml:Polygon`.
    Polygon(Polygon),
    /// `gs:Sphere` (3-D).
    Sphere {
        /// Centre.
        center: Position,
        /// Radius (m).
        radius: f64,
    },
    /// `gs:Ellipsoid` (3-D).
    Ellipsoid {
        /// Centre.
        center: Position,
        /// Semi-major axis (m).
        semi_major: f64,
        /// Semi-minor axis (m).
        semi_minor: f64,
        /// Vertical axis (m).
        vertical: f64,
        /// Orientation (degrees).
        orientation: f64,
    },
    /// `gs:Prism` (3-D): a polygon base extruded by a height.
    Prism {
        /// The base polygon.
        base: Polygon,
        /// Height (m).
        height: f64,
    },
}

impl Shape {
    /// One WGS 84 point that represents the shape for point-in-polygon mapping: the point
    /// itself, the centre of circles/ellipses/arc bands/spheres/ellipsoids (for an arc band the
    /// centre lies outside the band), the vertex centroid of polygons and prism bases.
    pub fn representative_point(&self) -> Option<Position> {
        match self {
            Shape::Point { pos } => Some(*pos),
            Shape::Circle { center, .. }
            | Shape::Ellipse { center, .. }
            | Shape::ArcBand { center, .. }
            | Shape::Sphere { center, .. }
            | Shape::Ellipsoid { center, .. } => Some(*center),
            Shape::Polygon(p) | Shape::Prism { base: p, .. } => p.vertex_centroid(),
        }
    }

    /// The polygon of a `Polygon` or the base of a `Prism`.
    pub fn polygon(&self) -> Option<&Polygon> {
        match self {
            Shape::Polygon(p) | Shape::Prism { base: p, .. } => Some(p),
            _ => None,
        }
    }

    /// Every position of the shape (centre, or all ring vertices).
    pub fn positions(&self) -> Vec<Position> {
        match self {
            Shape::Point { pos } => vec![*pos],
            Shape::Circle { center, .. }
            | Shape::Ellipse { center, .. }
            | Shape::ArcBand { center, .. }
            | Shape::Sphere { center, .. }
            | Shape::Ellipsoid { center, .. } => vec![*center],
            Shape::Polygon(p) | Shape::Prism { base: p, .. } => p
                .exterior
                .iter()
                .chain(p.interiors.iter().flatten())
                .copied()
                .collect(),
        }
    }

    /// Local element name (`Point`, `Circle`, ...).
    pub fn element_name(&self) -> &'static str {
        match self {
            Shape::Point { .. } => "Point",
            Shape::Circle { .. } => "Circle",
            Shape::Ellipse { .. } => "Ellipse",
            Shape::ArcBand { .. } => "ArcBand",
            Shape::Polygon(_) => "Polygon",
            Shape::Sphere { .. } => "Sphere",
            Shape::Ellipsoid { .. } => "Ellipsoid",
            Shape::Prism { .. } => "Prism",
        }
    }
}

/// A shape with its CRS and identifying attributes, as it appears in a document.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoShape {
    /// The CRS of the `srsName` attribute.
    pub crs: Crs,
    /// The shape.
    pub shape: Shape,
    /// Unqualified `id` attribute (as in RFC 5222 Fig. 1).
    pub id: Option<String>,
    /// `gml:id` attribute.
    pub gml_id: Option<String>,
}

impl GeoShape {
    /// A shape without ids; the CRS is 2-D unless a position has a height.
    pub fn new(shape: Shape) -> Self {
        let crs = if shape.positions().iter().any(|p| p.alt.is_some()) {
            Crs::Wgs84_3D
        } else {
            Crs::Wgs84_2D
        };
        GeoShape {
            crs,
            shape,
            id: None,
            gml_id: None,
        }
    }
}

/// Local names of all shapes (used to report shapes in a wrong namespace precisely).
pub(crate) const SHAPE_NAMES: &[&str] = &[
    "Point",
    "Circle",
    "Ellipse",
    "ArcBand",
    "Polygon",
    "Sphere",
    "Ellipsoid",
    "Prism",
];

/// Is `el` a shape (by namespace and name)?
pub(crate) fn is_shape(el: &Element) -> bool {
    (el.ns == NS_GML && matches!(el.name.as_str(), "Point" | "Polygon"))
        || (el.ns == NS_GS
            && matches!(
                el.name.as_str(),
                "Circle" | "Ellipse" | "ArcBand" | "Sphere" | "Ellipsoid" | "Prism"
            ))
}

/// Checks for a shape-named element in a wrong namespace, with precise errors for the
/// historic GML namespace and for near misses.
pub(crate) fn check_shape_namespace(el: &Element) -> Result<()> {
    if el.ns == NS_GML_OLD {
        return Err(LocationError::Unsupported {
            feature: "pre-RFC 5491 GML encoding (RFC 4119)",
            detail: format!(
                "`{}` in namespace {NS_GML_OLD}; RFC 5491 requires {NS_GML}",
                el.name
            ),
            pos: el.position(),
        });
    }
    if SHAPE_NAMES.contains(&el.name.as_str()) && !is_shape(el) {
        let expected = if matches!(el.name.as_str(), "Point" | "Polygon") {
            NS_GML
        } else {
            NS_GS
        };
        return xml::expect_ns(el, expected);
    }
    Ok(())
}

/// Parses a shape element (`is_shape(el)` must hold, else an error is returned).
pub(crate) fn parse_shape(el: &Element, ctx: &mut Ctx<'_>) -> Result<GeoShape> {
    check_shape_namespace(el)?;
    if !is_shape(el) {
        return Err(LocationError::UnexpectedElement {
            parent: "location-info".into(),
            found: el.qualified(),
            pos: el.position(),
        });
    }
    let srs = el.attr("srsName").ok_or(LocationError::MissingSrsName {
        element: el.name.clone(),
        pos: el.position(),
    })?;
    let crs = Crs::parse(srs, ctx.opts.lenient_srs_name, el.position())?;
    let shape = match el.name.as_str() {
        "Point" => Shape::Point {
            pos: single_pos(el, crs, ctx)?,
        },
        "Polygon" => Shape::Polygon(parse_polygon(el, crs, ctx)?),
        "Circle" => {
            let c = Children::new(el, &["pos", "radius"])?;
            Shape::Circle {
                center: parse_pos(c.get(el, "pos")?, crs, ctx)?,
                radius: length(c.get(el, "radius")?)?,
            }
        }
        "Sphere" => {
            let c = Children::new(el, &["pos", "radius"])?;
            Shape::Sphere {
                center: parse_pos(c.get(el, "pos")?, crs, ctx)?,
                radius: length(c.get(el, "radius")?)?,
            }
        }
        "Ellipse" => {
            let c = Children::new(
                el,
                &["pos", "semiMajorAxis", "semiMinorAxis", "orientation"],
            )?;
            Shape::Ellipse {
                center: parse_pos(c.get(el, "pos")?, crs, ctx)?,
                semi_major: length(c.get(el, "semiMajorAxis")?)?,
                semi_minor: length(c.get(el, "semiMinorAxis")?)?,
                orientation: angle(c.get(el, "orientation")?)?,
            }
        }
        "ArcBand" => {
            let c = Children::new(
                el,
                &[
                    "pos",
                    "innerRadius",
                    "outerRadius",
                    "startAngle",
                    "openingAngle",
                ],
            )?;
            Shape::ArcBand {
                center: parse_pos(c.get(el, "pos")?, crs, ctx)?,
                inner_radius: length(c.get(el, "innerRadius")?)?,
                outer_radius: length(c.get(el, "outerRadius")?)?,
                start_angle: angle(c.get(el, "startAngle")?)?,
                opening_angle: angle(c.get(el, "openingAngle")?)?,
            }
        }
        "Ellipsoid" => {
            let c = Children::new(
                el,
                &[
                    "pos",
                    "semiMajorAxis",
                    "semiMinorAxis",
                    "verticalAxis",
                    "orientation",
                ],
            )?;
            Shape::Ellipsoid {
                center: parse_pos(c.get(el, "pos")?, crs, ctx)?,
                semi_major: length(c.get(el, "semiMajorAxis")?)?,
                semi_minor: length(c.get(el, "semiMinorAxis")?)?,
                vertical: length(c.get(el, "verticalAxis")?)?,
                orientation: angle(c.get(el, "orientation")?)?,
            }
        }
        "Prism" => {
            let c = Children::new(el, &["base", "height"])?;
            let base = c.get(el, "base")?;
            let mut polys = base.elements();
            let poly = polys.next().ok_or_else(|| xml::missing(base, "Polygon"))?;
            if let Some(extra) = polys.next() {
                return Err(xml::unexpected(base, extra));
            }
            if !poly.is(NS_GML, "Polygon") {
                if poly.name == "Polygon" {
                    xml::expect_ns(poly, NS_GML)?;
                }
                return Err(xml::unexpected(base, poly));
            }
            let inner_crs = match poly.attr("srsName") {
                Some(s) => Crs::parse(s, ctx.opts.lenient_srs_name, poly.position())?,
                None => crs,
            };
            Shape::Prism {
                base: parse_polygon(poly, inner_crs, ctx)?,
                height: length(c.get(el, "height")?)?,
            }
        }
        _ => {
            return Err(LocationError::UnexpectedElement {
                parent: "location-info".into(),
                found: el.qualified(),
                pos: el.position(),
            })
        }
    };
    Ok(GeoShape {
        crs,
        shape,
        id: el.attr("id").map(str::to_owned),
        gml_id: el.attr_ns(NS_GML, "id").map(str::to_owned),
    })
}

/// The children of a `gs:` shape, each exactly once: `pos` in GML, the others in `gs`.
struct Children<'a> {
    found: Vec<(&'static str, &'a Element)>,
}

impl<'a> Children<'a> {
    fn new(el: &'a Element, names: &[&'static str]) -> Result<Self> {
        let mut found: Vec<(&'static str, &'a Element)> = Vec::new();
        for c in el.elements() {
            let Some(name) = names.iter().copied().find(|n| *n == c.name) else {
                return Err(xml::unexpected(el, c));
            };
            let ns = if name == "pos" { NS_GML } else { NS_GS };
            xml::expect_ns(c, ns)?;
            if found.iter().any(|(n, _)| *n == name) {
                return Err(xml::unexpected(el, c));
            }
            found.push((name, c));
        }
        Ok(Children { found })
    }

    fn get(&self, parent: &Element, name: &'static str) -> Result<&'a Element> {
        self.found
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, e)| *e)
            .ok_or_else(|| xml::missing(parent, name))
    }
}

fn number(el: &Element) -> Result<f64> {
    let text = xml::simple_token(el)?;
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(LocationError::InvalidCoordinate {
            element: el.name.clone(),
            value: text,
            pos: el.position(),
        }),
    }
}

fn length(el: &Element) -> Result<f64> {
    match el.attr("uom") {
        Some(UOM_METRE) => {}
        Some(other) => {
            return Err(xml::bad_attr(
                el,
                "uom",
                other,
                format!("lengths must be in metres ({UOM_METRE})"),
            ))
        }
        None => {
            return Err(LocationError::MissingAttribute {
                element: el.name.clone(),
                attribute: "uom",
                pos: el.position(),
            })
        }
    }
    let v = number(el)?;
    if v < 0.0 {
        return Err(xml::bad_value(
            el,
            &v.to_string(),
            "a length must not be negative",
        ));
    }
    Ok(v)
}

fn angle(el: &Element) -> Result<f64> {
    match el.attr("uom") {
        Some(UOM_DEGREE) => number(el),
        Some(other) => Err(xml::bad_attr(
            el,
            "uom",
            other,
            format!("angles must be in degrees ({UOM_DEGREE})"),
        )),
        None => Err(LocationError::MissingAttribute {
            element: el.name.clone(),
            attribute: "uom",
            pos: el.position(),
        }),
    }
}

fn single_pos(el: &Element, crs: Crs, ctx: &mut Ctx<'_>) -> Result<Position> {
    let mut it = el.elements();
    let pos = it.next().ok_or_else(|| xml::missing(el, "pos"))?;
    if let Some(extra) = it.next() {
        return Err(xml::unexpected(el, extra));
    }
    if pos.name != "pos" {
        return Err(xml::unexpected(el, pos));
    }
    xml::expect_ns(pos, NS_GML)?;
    parse_pos(pos, crs, ctx)
}

/// Parses whitespace-separated coordinates into positions of the CRS dimension.
fn coords(el: &Element, crs: Crs, ctx: &mut Ctx<'_>) -> Result<Vec<Position>> {
    let text = xml::simple_text(el)?;
    let dim = crs.dimension();
    let mut values = Vec::new();
    for tok in text.split_whitespace() {
        match tok.parse::<f64>() {
            Ok(v) if v.is_finite() => values.push(v),
            _ => {
                return Err(LocationError::InvalidCoordinate {
                    element: el.name.clone(),
                    value: tok.to_owned(),
                    pos: el.position(),
                })
            }
        }
        // Budget check before the vector can grow far beyond the limit.
        if values.len() / dim > ctx.opts.max_points {
            return Err(LocationError::TooManyPoints {
                max: ctx.opts.max_points,
                pos: el.position(),
            });
        }
    }
    if values.is_empty() || values.len() % dim != 0 {
        return Err(LocationError::WrongDimension {
            element: el.name.clone(),
            expected: dim,
            found: values.len(),
            pos: el.position(),
        });
    }
    ctx.count_points(values.len() / dim, el.position())?;
    let mut out = Vec::with_capacity(values.len() / dim);
    for chunk in values.chunks(dim) {
        let (lat, lon) = match chunk {
            [lat, lon, ..] => (*lat, *lon),
            _ => continue,
        };
        if !(-90.0..=90.0).contains(&lat) {
            return Err(LocationError::CoordinateOutOfRange {
                axis: "latitude",
                value: lat,
                element: el.name.clone(),
                pos: el.position(),
            });
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(LocationError::CoordinateOutOfRange {
                axis: "longitude",
                value: lon,
                element: el.name.clone(),
                pos: el.position(),
            });
        }
        out.push(Position {
            lat,
            lon,
            alt: chunk.get(2).copied(),
        });
    }
    Ok(out)
}

fn parse_pos(el: &Element, crs: Crs, ctx: &mut Ctx<'_>) -> Result<Position> {
    let v = coords(el, crs, ctx)?;
    match v.as_slice() {
        [p] => Ok(*p),
        _ => Err(LocationError::WrongDimension {
            element: el.name.clone(),
            expected: crs.dimension(),
            found: v.len() * crs.dimension(),
            pos: el.position(),
        }),
    }
}

fn parse_ring(el: &Element, crs: Crs, ctx: &mut Ctx<'_>) -> Result<(Vec<Position>, bool)> {
    // el is gml:exterior / gml:interior holding one gml:LinearRing.
    let mut it = el.elements();
    let ring = it.next().ok_or_else(|| xml::missing(el, "LinearRing"))?;
    if let Some(extra) = it.next() {
        return Err(xml::unexpected(el, extra));
    }
    if ring.name != "LinearRing" {
        return Err(xml::unexpected(el, ring));
    }
    xml::expect_ns(ring, NS_GML)?;
    let mut points = Vec::new();
    let mut pos_list = false;
    let mut saw_pos = false;
    for c in ring.elements() {
        match c.name.as_str() {
            "pos" if !pos_list => {
                xml::expect_ns(c, NS_GML)?;
                saw_pos = true;
                points.push(parse_pos(c, crs, ctx)?);
            }
            "posList" if !pos_list && !saw_pos => {
                xml::expect_ns(c, NS_GML)?;
                pos_list = true;
                points = coords(c, crs, ctx)?;
            }
            _ => return Err(xml::unexpected(ring, c)),
        }
    }
    if points.len() < 4 {
        return Err(xml::bad_value(
            ring,
            &format!("{} positions", points.len()),
            "a LinearRing needs at least 4 positions",
        ));
    }
    if points.first() != points.last() {
        return Err(xml::bad_value(
            ring,
            "first position differs from last",
            "a LinearRing must be closed",
        ));
    }
    Ok((points, pos_list))
}

fn parse_polygon(el: &Element, crs: Crs, ctx: &mut Ctx<'_>) -> Result<Polygon> {
    let mut exterior = None;
    let mut interiors = Vec::new();
    let mut pos_list = false;
    for c in el.elements() {
        match c.name.as_str() {
            "exterior" if exterior.is_none() && interiors.is_empty() => {
                xml::expect_ns(c, NS_GML)?;
                let (r, pl) = parse_ring(c, crs, ctx)?;
                pos_list = pl;
                exterior = Some(r);
            }
            "interior" if exterior.is_some() => {
                xml::expect_ns(c, NS_GML)?;
                interiors.push(parse_ring(c, crs, ctx)?.0);
            }
            _ => return Err(xml::unexpected(el, c)),
        }
    }
    Ok(Polygon {
        exterior: exterior.ok_or_else(|| xml::missing(el, "exterior"))?,
        interiors,
        pos_list,
    })
}

// ------------------------------------------------------------------------------------------
// Writing

fn measure(name: &str, uom: &str, v: f64) -> Element {
    Element::new(NS_GS, name)
        .with_attr("uom", uom)
        .with_text(v.to_string())
}

fn pos_el(p: &Position) -> Element {
    Element::new(NS_GML, "pos").with_text(p.text())
}

fn ring_el(name: &str, ring: &[Position], pos_list: bool) -> Element {
    let lr = if pos_list {
        let mut s = String::new();
        for (i, p) in ring.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            p.write(&mut s);
        }
        Element::new(NS_GML, "LinearRing").with_text_child(NS_GML, "posList", s)
    } else {
        Element::new(NS_GML, "LinearRing").with_children(ring.iter().map(pos_el))
    };
    Element::new(NS_GML, name).with_child(lr)
}

fn polygon_el(p: &Polygon) -> Element {
    Element::new(NS_GML, "Polygon")
        .with_child(ring_el("exterior", &p.exterior, p.pos_list))
        .with_children(
            p.interiors
                .iter()
                .map(|r| ring_el("interior", r, p.pos_list)),
        )
}

impl GeoShape {
    /// The shape as an element tree.
    pub fn to_element(&self) -> Element {
        let el = match &self.shape {
            Shape::Point { pos } => Element::new(NS_GML, "Point").with_child(pos_el(pos)),
            Shape::Circle { center, radius } => Element::new(NS_GS, "Circle")
                .with_child(pos_el(center))
                .with_child(measure("radius", UOM_METRE, *radius)),
            Shape::Sphere { center, radius } => Element::new(NS_GS, "Sphere")
                .with_child(pos_el(center))
                .with_child(measure("radius", UOM_METRE, *radius)),
            Shape::Ellipse {
                center,
                semi_major,
                semi_minor,
                orientation,
            } => Element::new(NS_GS, "Ellipse")
                .with_child(pos_el(center))
                .with_child(measure("semiMajorAxis", UOM_METRE, *semi_major))
                .with_child(measure("semiMinorAxis", UOM_METRE, *semi_minor))
                .with_child(measure("orientation", UOM_DEGREE, *orientation)),
            Shape::ArcBand {
                center,
                inner_radius,
                outer_radius,
                start_angle,
                opening_angle,
            } => Element::new(NS_GS, "ArcBand")
                .with_child(pos_el(center))
                .with_child(measure("innerRadius", UOM_METRE, *inner_radius))
                .with_child(measure("outerRadius", UOM_METRE, *outer_radius))
                .with_child(measure("startAngle", UOM_DEGREE, *start_angle))
                .with_child(measure("openingAngle", UOM_DEGREE, *opening_angle)),
            Shape::Ellipsoid {
                center,
                semi_major,
                semi_minor,
                vertical,
                orientation,
            } => Element::new(NS_GS, "Ellipsoid")
                .with_child(pos_el(center))
                .with_child(measure("semiMajorAxis", UOM_METRE, *semi_major))
                .with_child(measure("semiMinorAxis", UOM_METRE, *semi_minor))
                .with_child(measure("verticalAxis", UOM_METRE, *vertical))
                .with_child(measure("orientation", UOM_DEGREE, *orientation)),
            Shape::Polygon(p) => polygon_el(p),
            Shape::Prism { base, height } => Element::new(NS_GS, "Prism")
                .with_child(Element::new(NS_GS, "base").with_child(polygon_el(base)))
                .with_child(measure("height", UOM_METRE, *height)),
        };
        let mut el = el.with_attr("srsName", self.crs.urn());
        if let Some(id) = &self.id {
            el = el.with_attr("id", id.as_str());
        }
        if let Some(id) = &self.gml_id {
            el.attrs.push(crate::xml::Attribute {
                ns: NS_GML.to_owned(),
                name: "id".to_owned(),
                value: id.clone(),
            });
        }
        el
    }
}
