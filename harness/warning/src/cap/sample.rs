//! Builders for test alerts: schema-valid CAP 1.2 alerts for an area in one call.

use super::datetime::CapDateTime;
use super::model::{
    Alert, Area, Category, Certainty, Circle, Info, MsgType, Polygon, Scope, Severity, Status,
    Urgency,
};

impl Alert {
    /// A minimal valid alert for a scenario: `Actual` / `Alert` / `Public`, one `info`
    /// (the category, the event, `Immediate` / `Severe` / `Observed`, the event as headline)
    /// with one area (the event as `areaDesc`) bounded by `area_polygon`.
    pub fn sample(
        identifier: &str,
        sender: &str,
        sent: CapDateTime,
        category: Category,
        event: &str,
        area_polygon: Polygon,
    ) -> Alert {
        AlertBuilder::new(identifier, sender, sent)
            .info(category, event)
            .headline(event)
            .polygon(event, area_polygon)
            .build()
    }
}

/// Builds an [`Alert`] step by step; `info`-level setters apply to the last `info` added
/// (one is created with category `Other` if there is none yet).
#[derive(Debug, Clone)]
pub struct AlertBuilder {
    alert: Alert,
}

impl AlertBuilder {
    /// `Actual` / `Alert` / `Public`, no `info` yet.
    pub fn new(identifier: &str, sender: &str, sent: CapDateTime) -> Self {
        AlertBuilder {
            alert: Alert {
                identifier: identifier.to_owned(),
                sender: sender.to_owned(),
                sent,
                status: Status::Actual,
                msg_type: MsgType::Alert,
                source: None,
                scope: Scope::Public,
                restriction: None,
                addresses: None,
                codes: Vec::new(),
                note: None,
                references: None,
                incidents: None,
                infos: Vec::new(),
                signatures: Vec::new(),
            },
        }
    }

    /// Sets `status`.
    pub fn status(mut self, status: Status) -> Self {
        self.alert.status = status;
        self
    }

    /// Sets `msgType` and, for updates/cancellations, `references`
    /// (`sender,identifier,sent` of the earlier alert).
    pub fn msg_type(mut self, msg_type: MsgType, references: Option<&Alert>) -> Self {
        self.alert.msg_type = msg_type;
        self.alert.references =
            references.map(|r| format!("{},{},{}", r.sender, r.identifier, r.sent));
        self
    }

    /// Sets `scope` (and `restriction` or `addresses` as the caller needs).
    pub fn scope(mut self, scope: Scope) -> Self {
        self.alert.scope = scope;
        self
    }

    /// Adds an `info` block with `Immediate` / `Severe` / `Observed`.
    pub fn info(mut self, category: Category, event: &str) -> Self {
        self.alert.infos.push(new_info(category, event));
        self
    }

    fn last_info(&mut self) -> &mut Info {
        if self.alert.infos.is_empty() {
            self.alert.infos.push(new_info(Category::Other, "Test"));
        }
        let n = self.alert.infos.len() - 1;
        &mut self.alert.infos[n]
    }

    /// Sets urgency, severity and certainty of the last `info`.
    pub fn grading(mut self, urgency: Urgency, severity: Severity, certainty: Certainty) -> Self {
        let i = self.last_info();
        i.urgency = urgency;
        i.severity = severity;
        i.certainty = certainty;
        self
    }

    /// Sets `language` of the last `info`.
    pub fn language(mut self, language: &str) -> Self {
        self.last_info().language = Some(language.to_owned());
        self
    }

    /// Sets `headline` of the last `info`.
    pub fn headline(mut self, headline: &str) -> Self {
        self.last_info().headline = Some(headline.to_owned());
        self
    }

    /// Sets `description` of the last `info`.
    pub fn description(mut self, description: &str) -> Self {
        self.last_info().description = Some(description.to_owned());
        self
    }

    /// Sets `expires` of the last `info`.
    pub fn expires(mut self, expires: CapDateTime) -> Self {
        self.last_info().expires = Some(expires);
        self
    }

    /// Adds an area with one polygon to the last `info`.
    pub fn polygon(mut self, area_desc: &str, polygon: Polygon) -> Self {
        self.last_info().areas.push(Area {
            area_desc: area_desc.to_owned(),
            polygons: vec![polygon],
            circles: Vec::new(),
            geocodes: Vec::new(),
            altitude: None,
            ceiling: None,
        });
        self
    }

    /// Adds an area with one circle to the last `info`.
    pub fn circle(mut self, area_desc: &str, circle: Circle) -> Self {
        self.last_info().areas.push(Area {
            area_desc: area_desc.to_owned(),
            polygons: Vec::new(),
            circles: vec![circle],
            geocodes: Vec::new(),
            altitude: None,
            ceiling: None,
        });
        self
    }

    /// The alert.
    pub fn build(self) -> Alert {
        self.alert
    }
}

fn new_info(category: Category, event: &str) -> Info {
    Info {
        language: None,
        categories: vec![category],
        event: event.to_owned(),
        response_types: Vec::new(),
        urgency: Urgency::Immediate,
        severity: Severity::Severe,
        certainty: Certainty::Observed,
        audience: None,
        event_codes: Vec::new(),
        effective: None,
        onset: None,
        expires: None,
        sender_name: None,
        headline: None,
        description: None,
        instruction: None,
        web: None,
        contact: None,
        parameters: Vec::new(),
        resources: Vec::new(),
        areas: Vec::new(),
    }
}
