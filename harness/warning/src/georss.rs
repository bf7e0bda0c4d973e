//! An Atom 1.0 feed (RFC 4287) whose entries each carry one CAP 1.2 alert inline
//! (`<content type="application/cap+xml">` with the `<alert>` element as its only child), with
//! the alert's areas repeated as GeoRSS-Simple shapes (`georss:polygon` "lat lon lat lon ...",
//! `georss:circle` "lat lon radius_m") so that feed readers can filter by location.
//!
//! Building derives the entry from the alert: `id` = CAP identifier, `title` = the first
//! headline (else the first event, else the identifier), `updated` = `sent`, `author` =
//! sender (RFC 4287 requires an author per entry or feed), shapes from the CAP areas (CAP
//! writes `lat,lon` pairs and km, GeoRSS space-separated numbers and metres).

use lmpe_location::xml::Element;
use lmpe_location::ParseOptions;

use crate::cap::validate::{is_decimal, parse_tree};
use crate::cap::{self, other_cap_version, Alert, Area, Point, NS_CAP};
use crate::error::{Result, WarningError};

/// The Atom namespace.
pub const NS_ATOM: &str = "http://www.w3.org/2005/Atom";
/// The GeoRSS-Simple namespace.
pub const NS_GEORSS: &str = "http://www.georss.org/georss";
/// The `type` of an entry's `<content>` carrying a CAP alert.
pub const CONTENT_TYPE_CAP: &str = "application/cap+xml";
/// MIME type of Atom feeds.
pub const MIME_ATOM: &str = "application/atom+xml";

/// A GeoRSS-Simple shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// `georss:polygon`: a closed ring.
    Polygon(Vec<Point>),
    /// `georss:circle`: centre and radius in metres.
    Circle {
        /// Centre.
        center: Point,
        /// Radius in metres.
        radius_m: f64,
    },
}

impl Shape {
    /// The shapes of a CAP area: each polygon, then each circle (km converted to m).
    pub fn from_area(area: &Area) -> Vec<Shape> {
        area.polygons
            .iter()
            .map(|p| Shape::Polygon(p.points.clone()))
            .chain(area.circles.iter().map(|c| Shape::Circle {
                center: c.center,
                radius_m: c.radius_km * 1000.0,
            }))
            .collect()
    }

    /// The shapes of every area of every `info` of an alert.
    pub fn from_alert(alert: &Alert) -> Vec<Shape> {
        alert
            .infos
            .iter()
            .flat_map(|i| &i.areas)
            .flat_map(Shape::from_area)
            .collect()
    }

    /// The GeoRSS element name and text.
    pub fn to_georss(&self) -> (&'static str, String) {
        match self {
            Shape::Polygon(points) => (
                "polygon",
                points
                    .iter()
                    .map(|p| format!("{} {}", p.lat, p.lon))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Shape::Circle { center, radius_m } => (
                "circle",
                format!("{} {} {}", center.lat, center.lon, radius_m),
            ),
        }
    }

    /// Parses `georss:polygon` (`name` = "polygon") or `georss:circle` ("circle") text.
    pub fn parse_georss(name: &str, text: &str) -> std::result::Result<Shape, String> {
        let nums = text
            .split_whitespace()
            .map(|t| {
                if is_decimal(t) {
                    t.parse::<f64>()
                        .map_err(|_| format!("{t:?} is not a decimal number"))
                } else {
                    Err(format!("{t:?} is not a decimal number"))
                }
            })
            .collect::<std::result::Result<Vec<f64>, String>>()?;
        match name {
            "polygon" => {
                if nums.len() % 2 != 0 || nums.len() < 8 {
                    return Err(format!(
                        "a polygon is at least 4 \"lat lon\" pairs, got {} numbers",
                        nums.len()
                    ));
                }
                let points = nums
                    .chunks(2)
                    .map(|c| Point::checked(c[0], c[1]))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                if points.first() != points.last() {
                    return Err("the ring is not closed (first point != last point)".into());
                }
                Ok(Shape::Polygon(points))
            }
            "circle" => match nums[..] {
                [lat, lon, r] if r >= 0.0 => Ok(Shape::Circle {
                    center: Point::checked(lat, lon)?,
                    radius_m: r,
                }),
                _ => Err("a circle is \"lat lon radius_m\" with a radius >= 0".into()),
            },
            other => Err(format!("unsupported GeoRSS shape `{other}`")),
        }
    }
}

/// One feed entry: an alert with its Atom metadata and GeoRSS shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// `atom:id` (the CAP identifier when built by [`Entry::from_alert`]).
    pub id: String,
    /// `atom:title`.
    pub title: String,
    /// `atom:updated` (RFC 3339).
    pub updated: String,
    /// GeoRSS shapes, in document order.
    pub shapes: Vec<Shape>,
    /// The alert carried in `<content>`.
    pub alert: Alert,
}

impl Entry {
    /// The entry for an alert (see the module documentation for the derivation).
    pub fn from_alert(alert: Alert) -> Entry {
        let title = alert
            .infos
            .iter()
            .find_map(|i| i.headline.clone())
            .or_else(|| alert.infos.first().map(|i| i.event.clone()))
            .unwrap_or_else(|| alert.identifier.clone());
        Entry {
            id: alert.identifier.clone(),
            title,
            updated: alert.sent.to_string(),
            shapes: Shape::from_alert(&alert),
            alert,
        }
    }

    /// True if the GeoRSS shapes are exactly those derived from the alert's areas (a
    /// receiver's consistency check).
    pub fn shapes_match_alert(&self) -> bool {
        self.shapes == Shape::from_alert(&self.alert)
    }
}

/// An Atom feed of CAP alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    /// `atom:id`.
    pub id: String,
    /// `atom:title`.
    pub title: String,
    /// `atom:updated` (RFC 3339).
    pub updated: String,
    /// The entries.
    pub entries: Vec<Entry>,
}

impl Feed {
    /// A feed of the given alerts; `updated` is the latest `sent` (or the epoch if empty).
    pub fn from_alerts(id: &str, title: &str, alerts: impl IntoIterator<Item = Alert>) -> Feed {
        let entries: Vec<Entry> = alerts.into_iter().map(Entry::from_alert).collect();
        let updated = entries
            .iter()
            .map(|e| &e.alert.sent)
            .max_by_key(|s| s.unix_seconds())
            .map_or_else(|| "1970-01-01T00:00:00Z".to_owned(), ToString::to_string);
        Feed {
            id: id.to_owned(),
            title: title.to_owned(),
            updated,
            entries,
        }
    }

    /// The alerts of the feed, in entry order.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.entries.iter().map(|e| &e.alert)
    }

    /// The feed document (with XML declaration).
    pub fn to_xml(&self) -> String {
        let mut o = cap::XmlOut::new();
        let r = write_feed(&mut o, self);
        debug_assert!(r.is_ok(), "writing to a Vec cannot fail");
        o.finish()
    }

    /// Parses a feed with the default limits. Every entry must carry exactly one valid CAP
    /// 1.2 alert in its `<content type="application/cap+xml">`; anything else is a
    /// [`WarningError::EntryContent`] naming the entry.
    pub fn parse(input: &[u8]) -> Result<Feed> {
        Feed::parse_with(input, &ParseOptions::default())
    }

    /// [`Feed::parse`] with explicit limits.
    pub fn parse_with(input: &[u8], opts: &ParseOptions) -> Result<Feed> {
        let root = parse_tree(input, opts)?;
        if !root.is(NS_ATOM, "feed") {
            return Err(WarningError::NotAtomFeed {
                found: root.qualified(),
            });
        }
        let entries = root
            .elements()
            .filter(|e| e.is(NS_ATOM, "entry"))
            .enumerate()
            .map(|(i, e)| parse_entry(e, i))
            .collect::<Result<Vec<_>>>()?;
        Ok(Feed {
            id: one_text(&root, "id", "feed")?,
            title: one_text(&root, "title", "feed")?,
            updated: one_text(&root, "updated", "feed")?,
            entries,
        })
    }
}

fn one_text(parent: &Element, name: &str, path: &str) -> Result<String> {
    let mut it = parent.elements().filter(|e| e.is(NS_ATOM, name));
    match (it.next(), it.next()) {
        (Some(e), None) => Ok(e.text()),
        (None, _) => Err(WarningError::Atom {
            path: format!("{path}/{name}"),
            reason: format!("required atom:{name} is missing"),
        }),
        (Some(_), Some(_)) => Err(WarningError::Atom {
            path: format!("{path}/{name}"),
            reason: format!("atom:{name} occurs more than once"),
        }),
    }
}

fn parse_entry(e: &Element, index: usize) -> Result<Entry> {
    let path = format!("feed/entry[{index}]");
    let id = one_text(e, "id", &path)?;
    let title = one_text(e, "title", &path)?;
    let updated = one_text(e, "updated", &path)?;
    let content_err = |reason: String| WarningError::EntryContent {
        index,
        id: id.clone(),
        reason,
    };
    let mut contents = e.elements().filter(|c| c.is(NS_ATOM, "content"));
    let content = match (contents.next(), contents.next()) {
        (Some(c), None) => c,
        (None, _) => return Err(content_err("no atom:content".into())),
        (Some(_), Some(_)) => return Err(content_err("more than one atom:content".into())),
    };
    match content.attr("type") {
        Some(CONTENT_TYPE_CAP) | Some(cap::MIME_CAP) => {}
        Some(t) => {
            return Err(content_err(format!(
                "content type is {t:?}, expected {CONTENT_TYPE_CAP:?}"
            )))
        }
        None => {
            return Err(content_err(format!(
                "content has no type (text), expected type={CONTENT_TYPE_CAP:?}"
            )))
        }
    }
    if content.attr("src").is_some() {
        return Err(content_err(
            "out-of-line content (src) instead of an inline alert".into(),
        ));
    }
    let text = content.text();
    if !text.trim().is_empty() {
        return Err(content_err(format!(
            "character data {:?} instead of an <alert> element",
            text.trim()
        )));
    }
    let mut kids = content.elements();
    let alert_el = match (kids.next(), kids.next()) {
        (Some(a), None) => a,
        (None, _) => return Err(content_err("content is empty".into())),
        (Some(_), Some(_)) => {
            return Err(content_err(
                "content has more than one child element".into(),
            ))
        }
    };
    if alert_el.name == "alert" && alert_el.ns != NS_CAP {
        if let Some(v) = other_cap_version(&alert_el.ns) {
            return Err(content_err(format!(
                "the alert is {v} (namespace {}), not CAP 1.2",
                alert_el.ns
            )));
        }
    }
    if !alert_el.is(NS_CAP, "alert") {
        return Err(content_err(format!(
            "child element is `{}`, expected `{{{NS_CAP}}}alert`",
            alert_el.qualified()
        )));
    }
    let alert = Alert::from_element(alert_el).map_err(|err| content_err(err.to_string()))?;
    let shapes = e
        .elements()
        .filter(|s| s.ns == NS_GEORSS && matches!(s.name.as_str(), "polygon" | "circle"))
        .enumerate()
        .map(|(k, s)| {
            Shape::parse_georss(&s.name, &s.text()).map_err(|reason| WarningError::Atom {
                path: format!("{path}/georss:{}[{k}]", s.name),
                reason,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Entry {
        id,
        title,
        updated,
        shapes,
        alert,
    })
}

fn write_feed(o: &mut cap::XmlOut, f: &Feed) -> std::io::Result<()> {
    o.decl()?;
    o.start("feed", &[("xmlns", NS_ATOM), ("xmlns:georss", NS_GEORSS)])?;
    o.text("id", &f.id)?;
    o.text("title", &f.title)?;
    o.text("updated", &f.updated)?;
    for e in &f.entries {
        o.start("entry", &[])?;
        o.text("id", &e.id)?;
        o.text("title", &e.title)?;
        o.text("updated", &e.updated)?;
        o.start("author", &[])?;
        o.text("name", &e.alert.sender)?;
        o.end("author")?;
        for s in &e.shapes {
            let (name, text) = s.to_georss();
            o.text(&format!("georss:{name}"), &text)?;
        }
        o.start("content", &[("type", CONTENT_TYPE_CAP)])?;
        cap::write_alert(o, &e.alert)?;
        o.end("content")?;
        o.end("entry")?;
    }
    o.end("feed")
}
