//! "Intact" comparison: what a subscriber received against what was published.

use super::model::{Alert, Area, Info, Resource, ValuePair};

/// The canonical form of an alert: its `<alert>` element as written by
/// [`Alert::to_xml_element`]. Two alerts are equal exactly when their canonical forms are.
pub fn canonical(alert: &Alert) -> String {
    alert.to_xml_element()
}

/// A stable 64-bit FNV-1a digest of [`canonical`], as 16 hex digits: a short tag for logs
/// and reports (not a cryptographic hash).
pub fn digest(alert: &Alert) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in canonical(alert).bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

struct Diff {
    out: Vec<String>,
}

impl Diff {
    fn field<T: std::fmt::Debug + PartialEq>(&mut self, path: &str, a: &T, b: &T) {
        if a != b {
            self.out.push(format!("{path}: {a:?} != {b:?}"));
        }
    }
    fn list<T: PartialEq + std::fmt::Debug>(
        &mut self,
        path: &str,
        a: &[T],
        b: &[T],
        each: impl Fn(&mut Diff, &str, &T, &T),
    ) {
        if a.len() != b.len() {
            self.out
                .push(format!("{path}: {} element(s) != {}", a.len(), b.len()));
        }
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            each(self, &format!("{path}[{i}]"), x, y);
        }
    }
    fn pairs(&mut self, path: &str, a: &[ValuePair], b: &[ValuePair]) {
        self.list(path, a, b, |d, p, x, y| {
            d.field(&format!("{p}.valueName"), &x.value_name, &y.value_name);
            d.field(&format!("{p}.value"), &x.value, &y.value);
        });
    }
}

impl Alert {
    /// The fields in which `other` differs from `self`, one line each, naming the field by
    /// its CAP path and showing both values, e.g.
    /// `info[0].area[0].polygon[0]: "38.47,-120.14 ..." != "38.47,-120.15 ..."` or
    /// `info[0].urgency: Immediate != Expected`. Empty exactly when `self == other`.
    pub fn diff(&self, other: &Alert) -> Vec<String> {
        let mut d = Diff { out: Vec::new() };
        let (a, b) = (self, other);
        d.field("identifier", &a.identifier, &b.identifier);
        d.field("sender", &a.sender, &b.sender);
        d.field("sent", &a.sent, &b.sent);
        d.field("status", &a.status, &b.status);
        d.field("msgType", &a.msg_type, &b.msg_type);
        d.field("source", &a.source, &b.source);
        d.field("scope", &a.scope, &b.scope);
        d.field("restriction", &a.restriction, &b.restriction);
        d.field("addresses", &a.addresses, &b.addresses);
        d.field("code", &a.codes, &b.codes);
        d.field("note", &a.note, &b.note);
        d.field("references", &a.references, &b.references);
        d.field("incidents", &a.incidents, &b.incidents);
        d.list("info", &a.infos, &b.infos, diff_info);
        d.list("signature", &a.signatures, &b.signatures, |d, p, x, y| {
            d.field(p, x, y)
        });
        d.out
    }
}

fn diff_info(d: &mut Diff, p: &str, a: &Info, b: &Info) {
    d.field(&format!("{p}.language"), &a.language, &b.language);
    d.field(&format!("{p}.category"), &a.categories, &b.categories);
    d.field(&format!("{p}.event"), &a.event, &b.event);
    d.field(
        &format!("{p}.responseType"),
        &a.response_types,
        &b.response_types,
    );
    d.field(&format!("{p}.urgency"), &a.urgency, &b.urgency);
    d.field(&format!("{p}.severity"), &a.severity, &b.severity);
    d.field(&format!("{p}.certainty"), &a.certainty, &b.certainty);
    d.field(&format!("{p}.audience"), &a.audience, &b.audience);
    d.pairs(&format!("{p}.eventCode"), &a.event_codes, &b.event_codes);
    d.field(&format!("{p}.effective"), &a.effective, &b.effective);
    d.field(&format!("{p}.onset"), &a.onset, &b.onset);
    d.field(&format!("{p}.expires"), &a.expires, &b.expires);
    d.field(&format!("{p}.senderName"), &a.sender_name, &b.sender_name);
    d.field(&format!("{p}.headline"), &a.headline, &b.headline);
    d.field(&format!("{p}.description"), &a.description, &b.description);
    d.field(&format!("{p}.instruction"), &a.instruction, &b.instruction);
    d.field(&format!("{p}.web"), &a.web, &b.web);
    d.field(&format!("{p}.contact"), &a.contact, &b.contact);
    d.pairs(&format!("{p}.parameter"), &a.parameters, &b.parameters);
    d.list(
        &format!("{p}.resource"),
        &a.resources,
        &b.resources,
        diff_resource,
    );
    d.list(&format!("{p}.area"), &a.areas, &b.areas, diff_area);
}

fn diff_resource(d: &mut Diff, p: &str, a: &Resource, b: &Resource) {
    d.field(
        &format!("{p}.resourceDesc"),
        &a.resource_desc,
        &b.resource_desc,
    );
    d.field(&format!("{p}.mimeType"), &a.mime_type, &b.mime_type);
    d.field(&format!("{p}.size"), &a.size, &b.size);
    d.field(&format!("{p}.uri"), &a.uri, &b.uri);
    d.field(&format!("{p}.derefUri"), &a.deref_uri, &b.deref_uri);
    d.field(&format!("{p}.digest"), &a.digest, &b.digest);
}

fn diff_area(d: &mut Diff, p: &str, a: &Area, b: &Area) {
    d.field(&format!("{p}.areaDesc"), &a.area_desc, &b.area_desc);
    d.list(
        &format!("{p}.polygon"),
        &a.polygons,
        &b.polygons,
        |d, p, x, y| {
            if x != y {
                d.out
                    .push(format!("{p}: {:?} != {:?}", x.to_cap(), y.to_cap()));
            }
        },
    );
    d.list(
        &format!("{p}.circle"),
        &a.circles,
        &b.circles,
        |d, p, x, y| {
            if x != y {
                d.out
                    .push(format!("{p}: {:?} != {:?}", x.to_cap(), y.to_cap()));
            }
        },
    );
    d.pairs(&format!("{p}.geocode"), &a.geocodes, &b.geocodes);
    d.field(&format!("{p}.altitude"), &a.altitude, &b.altitude);
    d.field(&format!("{p}.ceiling"), &a.ceiling, &b.ceiling);
}
