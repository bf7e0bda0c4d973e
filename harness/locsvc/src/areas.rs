//! Service areas: PSAP service boundaries with the services they serve, from GeoJSON.

use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;

use crate::LocsvcError;

/// A civic match key: country, and optionally A1 (state/region) and A3 (city). Compared
/// case-insensitively after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CivicKey {
    /// ISO 3166 country code.
    pub country: String,
    /// National subdivision (state, region), if the key restricts it.
    pub a1: Option<String>,
    /// City, if the key restricts it.
    pub a3: Option<String>,
}

impl CivicKey {
    /// How specifically this key matches the address parts (`None`: no match; higher is more
    /// specific).
    pub fn score(&self, country: Option<&str>, a1: Option<&str>, a3: Option<&str>) -> Option<u8> {
        fn eq(a: &str, b: Option<&str>) -> bool {
            b.is_some_and(|b| a.trim().eq_ignore_ascii_case(b.trim()))
        }
        if !eq(&self.country, country) {
            return None;
        }
        let mut score = 1;
        if let Some(k) = &self.a1 {
            if !eq(k, a1) {
                return None;
            }
            score += 1;
        }
        if let Some(k) = &self.a3 {
            if !eq(k, a3) {
                return None;
            }
            score += 1;
        }
        Some(score)
    }
}

/// One PSAP's service area.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceArea {
    /// Identifier (the feature's `id`, or its `id` property); also the LoST service-boundary
    /// key and the mapping's `sourceId`.
    pub id: String,
    /// Service URNs served (a URN also covers its sub-services: `urn:service:sos` covers
    /// `urn:service:sos.fire`).
    pub services: Vec<String>,
    /// PSAP URIs returned in LoST `<uri>` and RFC 7840 `<dest>` (empty for a delegated area).
    pub uris: Vec<String>,
    /// The LoST application unique string of the server that serves this area instead
    /// (the feature's `delegate` property, e.g. `ecrf-c.lmpe.test`): the ECRF answers a
    /// findService for it with a `<redirect>` or by recursion (RFC 5222 8.3.3).
    pub delegate: Option<String>,
    /// LoST `<displayName>` (English).
    pub display_name: String,
    /// LoST `<serviceNumber>` (e.g. `112`).
    pub service_number: Option<String>,
    /// The boundary, x = longitude, y = latitude (WGS 84 degrees).
    pub boundary: MultiPolygon<f64>,
    /// Civic match keys.
    pub civic: Vec<CivicKey>,
}

impl ServiceArea {
    /// Whether this area serves `urn` (equal to a listed service or a sub-service of one;
    /// the test forms `urn:service:sos.test` and `urn:service:test.sos…` count as the service
    /// they test).
    pub fn serves(&self, urn: &str) -> bool {
        let urn = normalise_service(urn);
        self.services.iter().any(|s| {
            let s = normalise_service(s);
            urn == s
                || urn
                    .strip_prefix(s.as_str())
                    .is_some_and(|r| r.starts_with('.'))
        })
    }
}

/// Lower-cases a service URN and maps the test forms onto the service they test:
/// `urn:service:sos.fire.test` and `urn:service:test.sos.fire` → `urn:service:sos.fire`.
pub(crate) fn normalise_service(urn: &str) -> String {
    let u = urn.trim().to_ascii_lowercase();
    if let Some(rest) = u.strip_prefix("urn:service:test.") {
        return format!("urn:service:{rest}");
    }
    if let Some(base) = u.strip_suffix(".test") {
        if base.starts_with("urn:service:") {
            return base.to_owned();
        }
    }
    u
}

/// All service areas, in file order (the order breaks ties).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceAreas {
    /// The areas.
    pub areas: Vec<ServiceArea>,
}

impl ServiceAreas {
    /// Parses a GeoJSON `FeatureCollection`. Each feature has a `Polygon` or `MultiPolygon`
    /// geometry (positions `[longitude, latitude]`, as GeoJSON has them) and properties:
    /// `service` (string) or `services` (array), `uri` (string) or `uris` (array),
    /// `displayName`, optional `serviceNumber`, optional `civic` (array of
    /// `{"country": "AT", "A1": "…", "A3": "…"}`, A1/A3 optional), and `id` unless the feature
    /// has one. Instead of `uri`/`uris` a feature may name the LoST server that serves the
    /// area: `"delegate": "<LoST application unique string>"` (see [`ServiceArea::delegate`]).
    pub fn from_geojson(text: &str) -> Result<Self, LocsvcError> {
        let doc: Value = serde_json::from_str(text).map_err(|source| LocsvcError::Json {
            what: "service boundaries",
            source,
        })?;
        if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
            return Err(data(
                "service boundaries",
                "not a GeoJSON FeatureCollection",
            ));
        }
        let features = doc
            .get("features")
            .and_then(Value::as_array)
            .ok_or_else(|| data("service boundaries", "no `features` array"))?;
        let areas = features
            .iter()
            .enumerate()
            .map(|(i, f)| feature(i, f))
            .collect::<Result<Vec<_>, _>>()?;
        if areas.is_empty() {
            return Err(data("service boundaries", "no features"));
        }
        Ok(ServiceAreas { areas })
    }

    /// Reads and parses a GeoJSON file, filling in `${NAME}` variables first.
    pub fn load(path: &std::path::Path, vars: &[(&str, &str)]) -> Result<Self, LocsvcError> {
        let text = std::fs::read_to_string(path).map_err(|source| LocsvcError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_geojson(&crate::fill_template(&text, vars)?)
    }

    /// Appends `more` (e.g. [`crate::SAMPLE_WARNING_AREAS`] to the sample areas).
    pub fn extend(&mut self, more: ServiceAreas) {
        self.areas.extend(more.areas);
    }

    /// The area with identifier `id`.
    pub fn by_id(&self, id: &str) -> Option<&ServiceArea> {
        self.areas.iter().find(|a| a.id == id)
    }

    /// Whether any area serves `urn` (otherwise LoST `serviceNotImplemented`).
    pub fn implements(&self, urn: &str) -> bool {
        self.areas.iter().any(|a| a.serves(urn))
    }

    /// Every service URN listed, once, in file order.
    pub fn services(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in self.areas.iter().flat_map(|a| a.services.iter()) {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }
}

fn data(what: impl Into<String>, reason: impl Into<String>) -> LocsvcError {
    LocsvcError::Data {
        what: what.into(),
        reason: reason.into(),
    }
}

fn strings(props: &Value, one: &str, many: &str, what: &str) -> Result<Vec<String>, LocsvcError> {
    if let Some(s) = props.get(one).and_then(Value::as_str) {
        return Ok(vec![s.to_owned()]);
    }
    let list = props
        .get(many)
        .and_then(Value::as_array)
        .ok_or_else(|| data(what, format!("no `{one}` or `{many}` property")))?;
    let out: Vec<String> = list
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or_else(|| data(what, format!("`{many}` must hold strings")))?;
    if out.is_empty() {
        return Err(data(what, format!("`{many}` is empty")));
    }
    Ok(out)
}

fn feature(i: usize, f: &Value) -> Result<ServiceArea, LocsvcError> {
    let what = format!("service boundaries, feature {i}");
    let props = f
        .get("properties")
        .filter(|p| p.is_object())
        .ok_or_else(|| data(&what, "no `properties` object"))?;
    let id = f
        .get("id")
        .or_else(|| props.get("id"))
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .ok_or_else(|| data(&what, "no `id`"))?;
    let geometry = f
        .get("geometry")
        .ok_or_else(|| data(&what, "no `geometry`"))?;
    let boundary = multipolygon(geometry).map_err(|r| data(&what, r))?;
    let civic = match props.get("civic") {
        None => Vec::new(),
        Some(Value::Array(keys)) => keys
            .iter()
            .map(|k| {
                let s = |n: &str| k.get(n).and_then(Value::as_str).map(str::to_owned);
                Ok(CivicKey {
                    country: s("country")
                        .ok_or_else(|| data(&what, "civic key without country"))?,
                    a1: s("A1"),
                    a3: s("A3"),
                })
            })
            .collect::<Result<_, LocsvcError>>()?,
        Some(_) => return Err(data(&what, "`civic` must be an array")),
    };
    let delegate = match props.get("delegate") {
        None => None,
        Some(Value::String(d)) if !d.trim().is_empty() => Some(d.trim().to_owned()),
        Some(_) => return Err(data(&what, "`delegate` must be a non-empty string")),
    };
    let uris = match &delegate {
        None => strings(props, "uri", "uris", &what)?,
        Some(_) if props.get("uri").is_some() || props.get("uris").is_some() => {
            return Err(data(&what, "`delegate` excludes `uri`/`uris`"))
        }
        Some(_) => Vec::new(),
    };
    Ok(ServiceArea {
        services: strings(props, "service", "services", &what)?,
        uris,
        delegate,
        display_name: props
            .get("displayName")
            .and_then(Value::as_str)
            .unwrap_or(&id)
            .to_owned(),
        service_number: props.get("serviceNumber").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }),
        id,
        boundary,
        civic,
    })
}

fn ring(v: &Value) -> Result<LineString<f64>, String> {
    let pts = v.as_array().ok_or("a ring must be an array of positions")?;
    let coords = pts
        .iter()
        .map(|p| {
            let p = p.as_array().ok_or("a position must be an array")?;
            let x = p.first().and_then(Value::as_f64);
            let y = p.get(1).and_then(Value::as_f64);
            match (x, y) {
                (Some(x), Some(y))
                    if (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y) =>
                {
                    Ok(Coord { x, y })
                }
                _ => Err("a position must be [longitude, latitude] within WGS 84 ranges"),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    if coords.len() < 4 {
        return Err("a ring needs at least 4 positions".into());
    }
    Ok(LineString::new(coords))
}

fn polygon(v: &Value) -> Result<Polygon<f64>, String> {
    let rings = v.as_array().ok_or("polygon coordinates must be an array")?;
    let mut rings = rings.iter().map(ring);
    let exterior = rings.next().ok_or("a polygon needs an exterior ring")??;
    let interiors = rings.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, interiors))
}

fn multipolygon(g: &Value) -> Result<MultiPolygon<f64>, String> {
    let coords = g.get("coordinates").ok_or("geometry without coordinates")?;
    match g.get("type").and_then(Value::as_str) {
        Some("Polygon") => Ok(MultiPolygon::new(vec![polygon(coords)?])),
        Some("MultiPolygon") => Ok(MultiPolygon::new(
            coords
                .as_array()
                .ok_or("MultiPolygon coordinates must be an array")?
                .iter()
                .map(polygon)
                .collect::<Result<_, _>>()?,
        )),
        other => Err(format!(
            "geometry type {other:?} is not Polygon or MultiPolygon"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ServiceAreas {
        let text = crate::fill_template(
            crate::SAMPLE_AREAS,
            &[
                ("PSAP_A", "sip:psap-a@127.0.0.1:5070"),
                ("PSAP_B", "sip:psap-b@127.0.0.1:5071"),
            ],
        );
        ServiceAreas::from_geojson(&text.unwrap_or_default()).unwrap_or_default()
    }

    #[test]
    fn sample_data_loads() {
        let a = sample();
        assert_eq!(a.areas.len(), 3);
        assert_eq!(a.areas[0].uris, ["sip:psap-a@127.0.0.1:5070"]);
        assert_eq!(a.areas[0].delegate, None);
        assert_eq!(a.areas[1].display_name, "PSAP B");
        assert_eq!(a.areas[2].id, "area-c");
        assert!(a.areas[2].uris.is_empty());
        assert_eq!(
            a.areas[2].delegate.as_deref(),
            Some(crate::SAMPLE_FOREST_CHILD_SOURCE)
        );
        assert_eq!(a.services(), ["urn:service:sos"]);
        let child = crate::fill_template(
            crate::SAMPLE_FOREST_CHILD,
            &[("PSAP_B", "sip:psap-b@127.0.0.1:5071")],
        )
        .ok()
        .and_then(|t| ServiceAreas::from_geojson(&t).ok())
        .unwrap_or_default();
        assert_eq!(child.areas.len(), 1);
        assert_eq!(child.areas[0].id, "area-c");
        assert_eq!(child.areas[0].uris, ["sip:psap-b@127.0.0.1:5071"]);
        assert_eq!(child.areas[0].boundary, a.areas[2].boundary);
        assert!(a.implements("urn:service:sos.fire"));
        assert!(a.implements("urn:service:test.sos.fire"));
        assert!(a.implements("urn:service:sos.test"));
        assert!(!a.implements("urn:service:sosx"));
        assert!(!a.implements("urn:service:counseling"));
    }

    #[test]
    fn bad_files_are_precise_errors() {
        assert!(matches!(
            ServiceAreas::from_geojson("{"),
            Err(LocsvcError::Json { .. })
        ));
        let no_uri = r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"x",
            "properties":{"service":"urn:service:sos"},
            "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}"#;
        let e = ServiceAreas::from_geojson(no_uri)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("`uri`")));
        let bad_pos = no_uri
            .replace(
                r#""service":"urn:service:sos""#,
                r#""service":"urn:service:sos","uri":"sip:p@h""#,
            )
            .replace("[1,1]", "[1,91]");
        let e = ServiceAreas::from_geojson(&bad_pos)
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("WGS 84")));
    }

    #[test]
    fn delegate_replaces_uris() {
        let doc = |props: &str| {
            format!(
                r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","id":"x",
                "properties":{{"service":"urn:service:sos"{props}}},
                "geometry":{{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}}}]}}"#
            )
        };
        let a = ServiceAreas::from_geojson(&doc(r#","delegate":" ecrf-c.example ""#));
        let a = a.ok().and_then(|a| a.areas.into_iter().next());
        assert!(a.as_ref().is_some_and(|a| a.uris.is_empty()));
        assert_eq!(
            a.and_then(|a| a.delegate).as_deref(),
            Some("ecrf-c.example")
        );
        for bad in [
            r#","delegate":"d","uri":"sip:p@h""#,
            r#","delegate":"""#,
            r#","delegate":7"#,
        ] {
            let e = ServiceAreas::from_geojson(&doc(bad)).err();
            assert!(
                matches!(&e, Some(LocsvcError::Data { reason, .. }) if reason.contains("delegate")),
                "{bad}: {e:?}"
            );
        }
    }

    #[test]
    fn civic_keys_score_by_specificity() {
        let k = CivicKey {
            country: "AT".into(),
            a1: Some("Wien".into()),
            a3: None,
        };
        assert_eq!(k.score(Some("at"), Some("WIEN"), Some("x")), Some(2));
        assert_eq!(k.score(Some("AT"), Some("Tirol"), None), None);
        assert_eq!(k.score(None, Some("Wien"), None), None);
    }
}
