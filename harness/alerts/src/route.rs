//! The alert server's decisions, sans-IO: which distribution points an alert goes to and what
//! each channel carries.
//!
//! A distribution point is one LoST mapping of a warning service (one service area of the
//! ECRF data: its id, the warning services it serves, its boundary). An alert goes to every
//! point that serves one of the alert's services (`urn:service:warning` and the sub-service
//! of each CAP category, [`lmpe_warning::cap::Alert::services`]) and whose boundary
//! intersects one of the alert's areas (CAP polygons, circles approximated by 32-gons).

use geo::{Coord, Intersects, LineString, MultiPolygon, Polygon};
use lmpe_locsvc::ServiceAreas;
use lmpe_warning::cap::Alert;

use crate::{AlertFaults, AlertsError};

/// The three ways a warning reaches a subscriber (draft-rosen-atoca-server-discovery 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// SIP SUBSCRIBE/NOTIFY, event package `common-alerting-protocol`.
    Sip,
    /// XMPP publish-subscribe, CAP over XMPP (XEP-0127).
    Xmpp,
    /// An Atom feed with GeoRSS shapes carrying CAP.
    Http,
}

impl Channel {
    /// All three.
    pub const ALL: [Channel; 3] = [Channel::Sip, Channel::Xmpp, Channel::Http];

    /// The URI scheme of the channel.
    pub fn scheme(self) -> &'static str {
        match self {
            Channel::Sip => "sip",
            Channel::Xmpp => "xmpp",
            Channel::Http => "http",
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.scheme())
    }
}

/// One distribution point.
#[derive(Debug, Clone, PartialEq)]
pub struct DistributionPoint {
    /// Identifier (the area id, e.g. `warn-a`): SIP resource `alerts-<id>`, pubsub node `<id>`,
    /// feed `/feeds/<id>.atom`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Warning service URNs served.
    pub services: Vec<String>,
    /// Boundary (x = longitude, y = latitude).
    pub boundary: MultiPolygon<f64>,
}

impl DistributionPoint {
    /// The points of every area in `areas` that serves a warning service.
    pub fn from_areas(areas: &ServiceAreas) -> Vec<DistributionPoint> {
        areas
            .areas
            .iter()
            .filter(|a| a.delegate.is_none())
            .filter(|a| {
                a.services
                    .iter()
                    .any(|s| s.to_ascii_lowercase().starts_with("urn:service:warning"))
            })
            .map(|a| DistributionPoint {
                id: a.id.clone(),
                name: a.display_name.clone(),
                services: a.services.iter().map(|s| s.to_ascii_lowercase()).collect(),
                boundary: a.boundary.clone(),
            })
            .collect()
    }

    /// The points of lmpe-locsvc's sample warning areas ([`lmpe_locsvc::SAMPLE_WARNING_AREAS`]:
    /// `warn-a`, `warn-a-met`, `warn-b`). Points do not depend on the areas' URIs, which are
    /// filled with placeholders here.
    pub fn sample() -> Result<Vec<DistributionPoint>, AlertsError> {
        let text = lmpe_locsvc::fill_template(
            lmpe_locsvc::SAMPLE_WARNING_AREAS,
            &[
                ("ALERTS_SIP", "127.0.0.1:1"),
                ("ALERTS_PUBSUB", "pubsub.invalid"),
                ("ALERTS_HTTP", "http://127.0.0.1:1"),
            ],
        )
        .and_then(|t| ServiceAreas::from_geojson(&t))
        .map_err(|e| AlertsError::Profile(format!("the sample warning areas: {e}")))?;
        Ok(DistributionPoint::from_areas(&text))
    }

    /// The SIP resource (user part) of the point.
    pub fn sip_resource(&self) -> String {
        format!("alerts-{}", self.id)
    }

    /// Whether the point serves one of `alert`'s services.
    pub fn serves(&self, alert: &Alert) -> bool {
        alert
            .services()
            .iter()
            .any(|s| self.services.iter().any(|p| p == s.urn()))
    }

    /// Whether the point's boundary intersects one of `alert`'s areas.
    pub fn covers(&self, alert: &Alert) -> bool {
        alert_geometry(alert).intersects(&self.boundary)
    }
}

/// The areas of an alert as one multipolygon (circles as 32-gons).
pub fn alert_geometry(alert: &Alert) -> MultiPolygon<f64> {
    let mut out = Vec::new();
    for area in alert.infos.iter().flat_map(|i| &i.areas) {
        for p in &area.polygons {
            let ring: Vec<Coord<f64>> = p
                .points
                .iter()
                .map(|pt| Coord {
                    x: pt.lon,
                    y: pt.lat,
                })
                .collect();
            out.push(Polygon::new(LineString::from(ring), Vec::new()));
        }
        for c in &area.circles {
            // Degrees of latitude per km ≈ 1/111.32; longitude scaled by cos(lat).
            let dlat = c.radius_km / 111.32;
            let dlon = dlat / c.center.lat.to_radians().cos().abs().max(1e-6);
            let ring: Vec<Coord<f64>> = (0..=32)
                .map(|k| {
                    let t = f64::from(k) / 32.0 * std::f64::consts::TAU;
                    Coord {
                        x: c.center.lon + dlon * t.cos(),
                        y: c.center.lat + dlat * t.sin(),
                    }
                })
                .collect();
            out.push(Polygon::new(LineString::from(ring), Vec::new()));
        }
    }
    MultiPolygon(out)
}

/// What one channel of one point gets for an alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The distribution point.
    pub point: String,
    /// The channel.
    pub channel: Channel,
    /// The alert as delivered (differs from the published one only under a fault).
    pub alert: Alert,
    /// The CAP document as delivered (with XML declaration).
    pub xml: String,
}

/// The routing core of the alert server.
#[derive(Debug, Clone)]
pub struct Router {
    points: Vec<DistributionPoint>,
    faults: AlertFaults,
}

impl Router {
    /// A router over `points`.
    pub fn new(points: Vec<DistributionPoint>) -> Self {
        Self {
            points,
            faults: AlertFaults::default(),
        }
    }

    /// Sets deliberate faults.
    pub fn set_faults(&mut self, faults: AlertFaults) {
        self.faults = faults;
    }

    /// The faults in force.
    pub fn faults(&self) -> &AlertFaults {
        &self.faults
    }

    /// The points.
    pub fn points(&self) -> &[DistributionPoint] {
        &self.points
    }

    /// The points an alert belongs to (serving one of its services, intersecting its area).
    pub fn targets(&self, alert: &Alert) -> Vec<&DistributionPoint> {
        self.points
            .iter()
            .filter(|p| p.serves(alert) && p.covers(alert))
            .collect()
    }

    /// Every delivery of an alert, faults applied.
    pub fn route(&self, alert: &Alert) -> Vec<Delivery> {
        let points: Vec<&DistributionPoint> = if self.faults.wrong_area {
            self.points.iter().filter(|p| p.serves(alert)).collect()
        } else {
            self.targets(alert)
        };
        let mut delivered = alert.clone();
        if self.faults.alters {
            for info in &mut delivered.infos {
                info.headline = Some(format!(
                    "{} (edited by the distributor)",
                    info.headline.as_deref().unwrap_or(&info.event)
                ));
            }
        }
        let mut xml = delivered.to_xml();
        if self.faults.invalid_cap {
            xml = strip_element(&xml, "sent");
        }
        let mut out = Vec::new();
        for p in points {
            for channel in Channel::ALL {
                let dropped = match channel {
                    Channel::Sip => self.faults.drops_sip,
                    Channel::Xmpp => self.faults.drops_xmpp,
                    Channel::Http => self.faults.drops_http,
                };
                if !dropped {
                    out.push(Delivery {
                        point: p.id.clone(),
                        channel,
                        alert: delivered.clone(),
                        xml: xml.clone(),
                    });
                }
            }
        }
        out
    }
}

/// `xml` without the first `<name>…</name>` element (a fault).
pub fn strip_element(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    match (xml.find(&open), xml.find(&close)) {
        (Some(a), Some(b)) if b > a => format!("{}{}", &xml[..a], &xml[b + close.len()..]),
        _ => xml.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lmpe_warning::cap::{CapDateTime, Category, Circle, Point, Polygon};

    fn points() -> Vec<DistributionPoint> {
        DistributionPoint::sample().expect("sample points")
    }

    fn alert(category: Category, polygon: Polygon) -> Alert {
        let sent = CapDateTime::parse("2026-11-21T18:00:00-00:00").expect("time");
        Alert::sample(
            "T-1",
            "originator@lmpe.test",
            sent,
            category,
            "Test",
            polygon,
        )
    }

    fn ids(r: &Router, a: &Alert) -> Vec<String> {
        r.targets(a).iter().map(|p| p.id.clone()).collect()
    }

    #[test]
    fn alerts_go_to_the_points_of_their_area_and_service() {
        let r = Router::new(points());
        let in_a = Polygon::rectangle(48.1, 16.1, 48.2, 16.2).expect("poly");
        assert_eq!(
            ids(&r, &alert(Category::Met, in_a.clone())),
            ["warn-a", "warn-a-met"]
        );
        assert_eq!(ids(&r, &alert(Category::Fire, in_a)), ["warn-a"]);
        let in_b = Polygon::rectangle(48.1, 16.5, 48.2, 16.6).expect("poly");
        assert_eq!(ids(&r, &alert(Category::Geo, in_b)), ["warn-b"]);
        let both = Polygon::rectangle(48.1, 16.3, 48.2, 16.5).expect("poly");
        assert_eq!(ids(&r, &alert(Category::Geo, both)), ["warn-a", "warn-b"]);
        let far = Polygon::rectangle(40.0, 10.0, 40.1, 10.1).expect("poly");
        assert!(ids(&r, &alert(Category::Geo, far)).is_empty());
        // A circle around a point of area B.
        let mut a = alert(
            Category::Geo,
            Polygon::rectangle(40.0, 10.0, 40.1, 10.1).expect("poly"),
        );
        a.infos[0].areas[0].polygons.clear();
        a.infos[0].areas[0].circles.push(Circle {
            center: Point::new(48.2, 16.6),
            radius_km: 2.0,
        });
        assert_eq!(ids(&r, &a), ["warn-b"]);
    }

    #[test]
    fn deliveries_cover_every_channel_and_faults_change_them() {
        let mut r = Router::new(points());
        let a = alert(
            Category::Fire,
            Polygon::rectangle(48.1, 16.1, 48.2, 16.2).expect("poly"),
        );
        let d = r.route(&a);
        assert_eq!(d.len(), 3);
        assert!(d
            .iter()
            .all(|d| d.alert == a && lmpe_warning::cap::validate(d.xml.as_bytes()).is_ok()));

        r.set_faults(AlertFaults::from_name("alert-drops-xmpp").expect("fault"));
        assert!(r.route(&a).iter().all(|d| d.channel != Channel::Xmpp));
        r.set_faults(AlertFaults::from_name("alert-alters").expect("fault"));
        assert!(r.route(&a).iter().all(|d| !d.alert.diff(&a).is_empty()));
        r.set_faults(AlertFaults::from_name("alert-invalid-cap").expect("fault"));
        assert!(r
            .route(&a)
            .iter()
            .all(|d| lmpe_warning::cap::validate(d.xml.as_bytes()).is_err()));
        r.set_faults(AlertFaults::from_name("alert-wrong-area").expect("fault"));
        let points: std::collections::BTreeSet<String> =
            r.route(&a).into_iter().map(|d| d.point).collect();
        assert_eq!(points.into_iter().collect::<Vec<_>>(), ["warn-a", "warn-b"]);
        assert!(AlertFaults::from_name("alert-nonsense").is_err());
    }
}
