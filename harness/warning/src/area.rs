//! Area logic: CAP polygons and circles (text syntax and containment), [`Alert::covers`],
//! and the mapping between CAP categories and the `urn:service:warning` sub-services of
//! draft-rosen-atoca-server-discovery.

use geo::{Distance, Haversine, Intersects};
use lmpe_location::lost::WarningService;

use crate::cap::validate::is_decimal;
use crate::cap::{Alert, Area, Category, Circle, Point, Polygon};

fn coordinate(s: &str, what: &str, limit: f64) -> Result<f64, String> {
    if !is_decimal(s) {
        return Err(format!("{what} {s:?} is not a decimal number"));
    }
    let v: f64 = s
        .parse()
        .map_err(|_| format!("{what} {s:?} is not a decimal number"))?;
    if !v.is_finite() || v.abs() > limit {
        return Err(format!("{what} {s:?} is outside -{limit}..={limit}"));
    }
    Ok(v)
}

fn pair(s: &str) -> Result<Point, String> {
    let (lat, lon) = s
        .split_once(',')
        .ok_or_else(|| format!("{s:?} is not a \"lat,lon\" pair"))?;
    Ok(Point {
        lat: coordinate(lat, "latitude", 90.0)?,
        lon: coordinate(lon, "longitude", 180.0)?,
    })
}

impl Point {
    /// The point if `lat` is within -90..=90 and `lon` within -180..=180 (both finite).
    pub fn checked(lat: f64, lon: f64) -> Result<Point, String> {
        if lat.is_finite() && lon.is_finite() && lat.abs() <= 90.0 && lon.abs() <= 180.0 {
            Ok(Point { lat, lon })
        } else {
            Err(format!("({lat}, {lon}) is not a WGS 84 latitude/longitude"))
        }
    }

    fn geo(self) -> geo::Point<f64> {
        geo::Point::new(self.lon, self.lat)
    }
}

impl Polygon {
    /// A polygon from its vertices; the ring is closed if it is not already. At least three
    /// distinct vertices are needed (four pairs once closed, as CAP requires).
    pub fn new(points: Vec<Point>) -> Result<Polygon, String> {
        let mut points = points;
        for p in &points {
            Point::checked(p.lat, p.lon)?;
        }
        if points.first() != points.last() || points.len() == 1 {
            if let Some(&first) = points.first() {
                points.push(first);
            }
        }
        if points.len() < 4 {
            return Err(format!(
                "a polygon needs at least 4 coordinate pairs (first == last), got {}",
                points.len()
            ));
        }
        Ok(Polygon { points })
    }

    /// An axis-aligned rectangle (south-west and north-east corners), closed.
    pub fn rectangle(south: f64, west: f64, north: f64, east: f64) -> Result<Polygon, String> {
        Polygon::new(vec![
            Point::new(south, west),
            Point::new(south, east),
            Point::new(north, east),
            Point::new(north, west),
        ])
    }

    /// Parses CAP `<polygon>` content: whitespace-separated `lat,lon` pairs, at least four,
    /// first == last (CAP 1.2 Section 3.2.4).
    pub fn parse_cap(s: &str) -> Result<Polygon, String> {
        let points = s
            .split_whitespace()
            .map(pair)
            .collect::<Result<Vec<_>, _>>()?;
        if points.len() < 4 {
            return Err(format!(
                "a polygon needs at least 4 coordinate pairs, got {}",
                points.len()
            ));
        }
        if points.first() != points.last() {
            return Err("the first and last coordinate pairs differ (ring not closed)".into());
        }
        Ok(Polygon { points })
    }

    /// The CAP `<polygon>` text.
    pub fn to_cap(&self) -> String {
        self.points
            .iter()
            .map(|p| format!("{},{}", p.lat, p.lon))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// True if the point is inside the polygon or on its boundary (planar test in degrees,
    /// as CAP areas are drawn; rings crossing the antimeridian are not supported).
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let ring: Vec<geo::Coord<f64>> = self
            .points
            .iter()
            .map(|p| geo::Coord { x: p.lon, y: p.lat })
            .collect();
        let poly = geo::Polygon::new(geo::LineString::new(ring), Vec::new());
        poly.intersects(&Point::new(lat, lon).geo())
    }
}

impl Circle {
    /// A circle; the centre must be a WGS 84 point and the radius finite and not negative.
    pub fn new(center: Point, radius_km: f64) -> Result<Circle, String> {
        Point::checked(center.lat, center.lon)?;
        if !radius_km.is_finite() || radius_km < 0.0 {
            return Err(format!("radius {radius_km} km is not a distance"));
        }
        Ok(Circle { center, radius_km })
    }

    /// Parses CAP `<circle>` content: `lat,lon radius` (radius in km).
    pub fn parse_cap(s: &str) -> Result<Circle, String> {
        let mut it = s.split_whitespace();
        let (Some(c), Some(r), None) = (it.next(), it.next(), it.next()) else {
            return Err("a circle is \"lat,lon radius_km\"".into());
        };
        let center = pair(c)?;
        if !is_decimal(r) {
            return Err(format!("radius {r:?} is not a decimal number"));
        }
        let radius_km: f64 = r
            .parse()
            .map_err(|_| format!("radius {r:?} is not a decimal number"))?;
        Circle::new(center, radius_km)
    }

    /// The CAP `<circle>` text.
    pub fn to_cap(&self) -> String {
        format!("{},{} {}", self.center.lat, self.center.lon, self.radius_km)
    }

    /// True if the point is within the radius (great-circle distance, mean Earth radius;
    /// boundary included, so a radius of 0 contains the centre itself).
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        let d = Haversine.distance(self.center.geo(), Point::new(lat, lon).geo());
        d <= self.radius_km * 1000.0
    }
}

impl Area {
    /// True if any polygon or circle of the area contains the point. An area described only
    /// by `areaDesc` / geocodes has no geometry and contains nothing.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        self.polygons.iter().any(|p| p.contains(lat, lon))
            || self.circles.iter().any(|c| c.contains(lat, lon))
    }
}

impl Category {
    /// The warning sub-service for this category; `Other` has none.
    pub fn warning_service(self) -> Option<WarningService> {
        Some(match self {
            Category::Geo => WarningService::Geo,
            Category::Met => WarningService::Met,
            Category::Safety => WarningService::Safety,
            Category::Security => WarningService::Security,
            Category::Rescue => WarningService::Rescue,
            Category::Fire => WarningService::Fire,
            Category::Health => WarningService::Health,
            Category::Env => WarningService::Env,
            Category::Transport => WarningService::Transport,
            Category::Infra => WarningService::Infra,
            Category::Cbrne => WarningService::Cbrne,
            Category::Other => return None,
        })
    }

    /// The category of a warning sub-service; the top-level `urn:service:warning` has none.
    pub fn from_warning_service(s: WarningService) -> Option<Category> {
        Category::ALL
            .iter()
            .copied()
            .find(|c| c.warning_service() == Some(s))
    }
}

impl Alert {
    /// True if any area of any `info` block contains the point.
    pub fn covers(&self, lat: f64, lon: f64) -> bool {
        self.infos
            .iter()
            .flat_map(|i| &i.areas)
            .any(|a| a.contains(lat, lon))
    }

    /// The warning services the alert belongs to: `urn:service:warning` first, then the
    /// sub-service of each category of each `info` (deduplicated, in order of appearance;
    /// `Other` adds none).
    pub fn services(&self) -> Vec<WarningService> {
        let mut out = vec![WarningService::Warning];
        for s in self
            .infos
            .iter()
            .flat_map(|i| &i.categories)
            .filter_map(|c| c.warning_service())
        {
            if !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygon_text_round_trip_and_containment() {
        let p = Polygon::parse_cap(
            "38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14",
        )
        .expect("valid");
        assert_eq!(p.points.len(), 5);
        assert_eq!(Polygon::parse_cap(&p.to_cap()), Ok(p.clone()));
        assert!(p.contains(38.48, -119.92));
        assert!(!p.contains(38.0, -119.92));
        // A vertex is on the boundary.
        assert!(p.contains(38.34, -119.95));
    }

    #[test]
    fn polygon_errors_are_precise() {
        assert!(Polygon::parse_cap("1,1 2,2 1,1")
            .expect_err("3 pairs")
            .contains("at least 4"));
        assert!(Polygon::parse_cap("1,1 2,2 3,1 1,2")
            .expect_err("open")
            .contains("not closed"));
        assert!(Polygon::parse_cap("1,1 2 3,1 1,1")
            .expect_err("no comma")
            .contains("lat,lon"));
        assert!(Polygon::parse_cap("91,1 2,2 3,1 91,1")
            .expect_err("lat")
            .contains("latitude"));
        assert!(Polygon::parse_cap("1,1 2,NaN 3,1 1,1").is_err());
        assert_eq!(
            Polygon::new(vec![
                Point::new(0.0, 0.0),
                Point::new(0.0, 1.0),
                Point::new(1.0, 1.0)
            ])
            .expect("closed automatically")
            .points
            .len(),
            4
        );
        assert!(Polygon::new(vec![Point::new(0.0, 0.0), Point::new(1.0, 1.0)]).is_err());
    }

    #[test]
    fn circle_containment_in_km() {
        let c = Circle::parse_cap("32.9525,-115.5527 10").expect("valid");
        assert_eq!(c.radius_km, 10.0);
        assert!(c.contains(32.9525, -115.5527));
        // ~5.6 km north.
        assert!(c.contains(33.0025, -115.5527));
        // ~16.7 km north.
        assert!(!c.contains(33.1025, -115.5527));
        let zero = Circle::parse_cap("32.9525,-115.5527 0").expect("valid");
        assert!(zero.contains(32.9525, -115.5527));
        assert!(!zero.contains(32.9526, -115.5527));
        assert!(Circle::parse_cap("32.9,-115.5").is_err());
        assert!(Circle::parse_cap("32.9,-115.5 -1").is_err());
        assert!(Circle::parse_cap("32.9,-115.5 1 2").is_err());
    }

    #[test]
    fn categories_map_to_the_eleven_sub_services() {
        let mapped: Vec<_> = Category::ALL
            .iter()
            .filter_map(|c| c.warning_service())
            .collect();
        assert_eq!(mapped.len(), 11);
        assert_eq!(&mapped[..], &WarningService::ALL[1..]);
        for c in Category::ALL {
            if let Some(s) = c.warning_service() {
                assert_eq!(Category::from_warning_service(s), Some(*c));
            }
        }
        assert_eq!(Category::Other.warning_service(), None);
        assert_eq!(
            Category::from_warning_service(WarningService::Warning),
            None
        );
        assert_eq!(
            Category::Cbrne.warning_service().map(WarningService::urn),
            Some("urn:service:warning.cbrne")
        );
    }
}
