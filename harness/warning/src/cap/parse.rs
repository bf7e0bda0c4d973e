//! Decoding: bytes -> schema validation -> typed [`Alert`].

use lmpe_location::xml::Element;
use lmpe_location::ParseOptions;

use super::datetime::CapDateTime;
use super::model::{
    Alert, Area, Category, Certainty, Circle, Info, MsgType, Polygon, Resource, ResponseType,
    Scope, Severity, Status, Urgency, ValuePair,
};
use super::validate::{parse_tree, validate_element, NS_XMLDSIG};
use super::NS_CAP;
use crate::error::{Result, WarningError};

impl Alert {
    /// Parses and validates a CAP 1.2 alert document with the default limits (1 MiB,
    /// nesting depth 64).
    ///
    /// The document must be well-formed, have `{urn:oasis:names:tc:emergency:cap:1.2}alert`
    /// as its root, be valid against `cap12.xsd` (all violations are returned in
    /// [`WarningError::Invalid`]) and have CAP-conformant polygons and circles.
    pub fn parse(input: &[u8]) -> Result<Alert> {
        Alert::parse_with(input, &ParseOptions::default())
    }

    /// [`Alert::parse`] with explicit limits (only `max_document_size` and `max_depth` are
    /// used).
    pub fn parse_with(input: &[u8], opts: &ParseOptions) -> Result<Alert> {
        let root = parse_tree(input, opts)?;
        Alert::from_element(&root)
    }

    /// Decodes an already parsed `<alert>` element (for alerts embedded in other documents).
    pub fn from_element(el: &Element) -> Result<Alert> {
        if el.name == "alert" && el.ns != NS_CAP {
            if let Some(version) = other_cap_version(&el.ns) {
                return Err(WarningError::UnsupportedCapVersion {
                    ns: el.ns.clone(),
                    version,
                });
            }
        }
        if !el.is(NS_CAP, "alert") {
            return Err(WarningError::NotCapAlert {
                found: el.qualified(),
            });
        }
        let violations = validate_element(el);
        if !violations.is_empty() {
            return Err(WarningError::Invalid(violations));
        }
        build_alert(el)
    }
}

/// The CAP versions before 1.2, by namespace.
pub(crate) fn other_cap_version(ns: &str) -> Option<&'static str> {
    match ns {
        "http://www.incident.com/cap/1.0" => Some("CAP 1.0"),
        "urn:oasis:names:tc:emergency:cap:1.1" => Some("CAP 1.1"),
        _ => None,
    }
}

/// Children of a validated element grouped by local name, in document order.
struct Kids<'a> {
    el: &'a Element,
    path: String,
}

impl<'a> Kids<'a> {
    fn all(&self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.el
            .elements()
            .filter(move |c| c.ns == NS_CAP && c.name == name)
    }
    fn opt(&self, name: &str) -> Option<String> {
        self.el
            .elements()
            .find(|c| c.ns == NS_CAP && c.name == name)
            .map(Element::text)
    }
    fn req(&self, name: &'static str) -> Result<String> {
        self.opt(name).ok_or_else(|| WarningError::BadValue {
            path: self.path.clone(),
            value: String::new(),
            reason: format!("required `{name}` is missing"),
        })
    }
    fn enumerated<T>(&self, name: &'static str, f: fn(&str) -> Option<T>) -> Result<T> {
        let s = self.req(name)?;
        f(&s).ok_or_else(|| WarningError::BadValue {
            path: format!("{}/{name}", self.path),
            value: s,
            reason: "not a value of the enumeration".into(),
        })
    }
    fn date(&self, name: &'static str) -> Result<Option<CapDateTime>> {
        self.opt(name)
            .map(|s| {
                CapDateTime::parse(&s).map_err(|reason| WarningError::BadValue {
                    path: format!("{}/{name}", self.path),
                    value: s,
                    reason,
                })
            })
            .transpose()
    }
    fn pairs(&self, name: &'static str) -> Vec<ValuePair> {
        self.all(name)
            .map(|p| {
                let k = Kids {
                    el: p,
                    path: String::new(),
                };
                ValuePair {
                    value_name: k.opt("valueName").unwrap_or_default(),
                    value: k.opt("value").unwrap_or_default(),
                }
            })
            .collect()
    }
    fn decimal(&self, name: &'static str) -> Result<Option<f64>> {
        self.opt(name)
            .map(|s| {
                let c = s.trim();
                c.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| WarningError::BadValue {
                        path: format!("{}/{name}", self.path),
                        value: s.clone(),
                        reason: "not representable as a finite number".into(),
                    })
            })
            .transpose()
    }
}

fn build_alert(el: &Element) -> Result<Alert> {
    let k = Kids {
        el,
        path: "alert".into(),
    };
    let sent = k.date("sent")?.ok_or_else(|| WarningError::BadValue {
        path: "alert".into(),
        value: String::new(),
        reason: "required `sent` is missing".into(),
    })?;
    let infos = k
        .all("info")
        .enumerate()
        .map(|(i, e)| build_info(e, &format!("alert/info[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    Ok(Alert {
        identifier: k.req("identifier")?,
        sender: k.req("sender")?,
        sent,
        status: k.enumerated("status", Status::from_cap)?,
        msg_type: k.enumerated("msgType", MsgType::from_cap)?,
        source: k.opt("source"),
        scope: k.enumerated("scope", Scope::from_cap)?,
        restriction: k.opt("restriction"),
        addresses: k.opt("addresses"),
        codes: k.all("code").map(Element::text).collect(),
        note: k.opt("note"),
        references: k.opt("references"),
        incidents: k.opt("incidents"),
        infos,
        signatures: el
            .elements()
            .filter(|c| c.ns == NS_XMLDSIG)
            .cloned()
            .collect(),
    })
}

fn build_info(el: &Element, path: &str) -> Result<Info> {
    let k = Kids {
        el,
        path: path.to_owned(),
    };
    let categories = k
        .all("category")
        .map(|c| {
            Category::from_cap(&c.text()).ok_or_else(|| WarningError::BadValue {
                path: format!("{path}/category"),
                value: c.text(),
                reason: "not a category".into(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let response_types = k
        .all("responseType")
        .map(|c| {
            ResponseType::from_cap(&c.text()).ok_or_else(|| WarningError::BadValue {
                path: format!("{path}/responseType"),
                value: c.text(),
                reason: "not a response type".into(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let resources = k
        .all("resource")
        .enumerate()
        .map(|(i, r)| build_resource(r, &format!("{path}/resource[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    let areas = k
        .all("area")
        .enumerate()
        .map(|(i, a)| build_area(a, &format!("{path}/area[{i}]")))
        .collect::<Result<Vec<_>>>()?;
    Ok(Info {
        language: k.opt("language").map(|l| l.split_whitespace().collect()),
        categories,
        event: k.req("event")?,
        response_types,
        urgency: k.enumerated("urgency", Urgency::from_cap)?,
        severity: k.enumerated("severity", Severity::from_cap)?,
        certainty: k.enumerated("certainty", Certainty::from_cap)?,
        audience: k.opt("audience"),
        event_codes: k.pairs("eventCode"),
        effective: k.date("effective")?,
        onset: k.date("onset")?,
        expires: k.date("expires")?,
        sender_name: k.opt("senderName"),
        headline: k.opt("headline"),
        description: k.opt("description"),
        instruction: k.opt("instruction"),
        web: k.opt("web"),
        contact: k.opt("contact"),
        parameters: k.pairs("parameter"),
        resources,
        areas,
    })
}

fn build_resource(el: &Element, path: &str) -> Result<Resource> {
    let k = Kids {
        el,
        path: path.to_owned(),
    };
    let size = k
        .opt("size")
        .map(|s| s.split_whitespace().collect::<String>());
    Ok(Resource {
        resource_desc: k.req("resourceDesc")?,
        mime_type: k.req("mimeType")?,
        size,
        uri: k.opt("uri"),
        deref_uri: k.opt("derefUri"),
        digest: k.opt("digest"),
    })
}

fn build_area(el: &Element, path: &str) -> Result<Area> {
    let k = Kids {
        el,
        path: path.to_owned(),
    };
    let polygons = k
        .all("polygon")
        .enumerate()
        .map(|(i, p)| {
            let t = p.text();
            Polygon::parse_cap(&t).map_err(|reason| WarningError::BadValue {
                path: format!("{path}/polygon[{i}]"),
                value: t,
                reason,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let circles = k
        .all("circle")
        .enumerate()
        .map(|(i, p)| {
            let t = p.text();
            Circle::parse_cap(&t).map_err(|reason| WarningError::BadValue {
                path: format!("{path}/circle[{i}]"),
                value: t,
                reason,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Area {
        area_desc: k.req("areaDesc")?,
        polygons,
        circles,
        geocodes: k.pairs("geocode"),
        altitude: k.decimal("altitude")?,
        ceiling: k.decimal("ceiling")?,
    })
}
