//! Validation equivalent to the OASIS schema `cap12.xsd`, on the namespace-resolved tree.
//!
//! The schema is transcribed below as a table (element name, simple or complex type, minOccurs,
//! maxOccurs) and checked with the XML Schema rules it relies on:
//!
//! * the validation root is one of the schema's global elements (`alert`, `valueName`,
//!   `value`) in the CAP 1.2 namespace;
//! * `xs:sequence` order, `minOccurs`/`maxOccurs`, unknown or foreign elements; the only
//!   wildcard is `alert`'s trailing `<any namespace="http://www.w3.org/2000/09/xmldsig#"
//!   processContents="lax">`: no schema is loaded for XML Signature, so its content is only
//!   checked where it contains a CAP global element (an embedded `alert`, `valueName`,
//!   `value`), which is validated;
//! * no attributes (other than `xmlns` declarations and `xsi:schemaLocation` /
//!   `xsi:noNamespaceSchemaLocation`), no character data in element-only content, no child
//!   elements in simple content;
//! * simple types: enumerations (`xs:string` base, whitespace preserved: `" Actual"` is not
//!   `Actual`), the date-time pattern plus the `xs:dateTime` value space, `xs:language`,
//!   `xs:decimal`, `xs:integer`, `xs:anyURI` (checked as libxml2 does: after collapsing,
//!   characters that are not allowed in a URI are replaced and the result must be an RFC 3986
//!   URI reference); `language`'s `default="en-US"` makes an empty `<language/>` valid.
//!
//! Known differences from libxml2 (`xmllint`):
//!
//! * libxml2 accepts an XML Signature element *between* `info` blocks (`info, Signature,
//!   info`), which the schema's sequence `info*, any*` does not allow; this validator follows
//!   the schema.
//! * `xsi:type` is always reported as a violation; XML Schema (and libxml2) accept it when it
//!   names the declared type or a type derived from it (e.g. `xsi:type="xs:string"` on
//!   `event`). CAP documents have no reason to carry it.

use lmpe_location::xml::{Element, Node};
use lmpe_location::ParseOptions;

use super::NS_CAP;
use crate::error::WarningError;

/// XML Signature namespace (the schema's only wildcard).
pub const NS_XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// One way a document breaks the CAP 1.2 schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Element path, e.g. `alert/info[0]/urgency` (repeatable elements carry their index among
    /// same-named siblings).
    pub path: String,
    /// The rule broken, e.g. `"Soon" is not one of Immediate, Expected, Future, Past, Unknown`.
    pub rule: String,
    /// 1-based source line (0 if unknown).
    pub line: u32,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.rule)?;
        if self.line > 0 {
            write!(f, " (line {})", self.line)?;
        }
        Ok(())
    }
}

/// Joins violations for an error message.
pub(crate) fn join(v: &[Violation]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Enum(&'static [&'static str]),
    DateTime,
    Language,
    Decimal,
    Integer,
    AnyUri,
    Complex(&'static [Particle]),
}

#[derive(Clone, Copy)]
struct Particle {
    /// Element local name in the CAP namespace; `None` = the xmldsig wildcard.
    name: Option<&'static str>,
    ty: Ty,
    min: u32,
    /// `None` = unbounded.
    max: Option<u32>,
}

const fn el(name: &'static str, ty: Ty, min: u32, max: Option<u32>) -> Particle {
    Particle {
        name: Some(name),
        ty,
        min,
        max,
    }
}

const ONE: Option<u32> = Some(1);
const MANY: Option<u32> = None;

const STATUS: &[&str] = &["Actual", "Exercise", "System", "Test", "Draft"];
const MSG_TYPE: &[&str] = &["Alert", "Update", "Cancel", "Ack", "Error"];
const SCOPE: &[&str] = &["Public", "Restricted", "Private"];
const CATEGORY: &[&str] = &[
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
];
const RESPONSE_TYPE: &[&str] = &[
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None",
];
const URGENCY: &[&str] = &["Immediate", "Expected", "Future", "Past", "Unknown"];
const SEVERITY: &[&str] = &["Extreme", "Severe", "Moderate", "Minor", "Unknown"];
const CERTAINTY: &[&str] = &["Observed", "Likely", "Possible", "Unlikely", "Unknown"];

const PAIR: &[Particle] = &[
    el("valueName", Ty::Str, 1, ONE),
    el("value", Ty::Str, 1, ONE),
];

const RESOURCE: &[Particle] = &[
    el("resourceDesc", Ty::Str, 1, ONE),
    el("mimeType", Ty::Str, 1, ONE),
    el("size", Ty::Integer, 0, ONE),
    el("uri", Ty::AnyUri, 0, ONE),
    el("derefUri", Ty::Str, 0, ONE),
    el("digest", Ty::Str, 0, ONE),
];

const AREA: &[Particle] = &[
    el("areaDesc", Ty::Str, 1, ONE),
    el("polygon", Ty::Str, 0, MANY),
    el("circle", Ty::Str, 0, MANY),
    el("geocode", Ty::Complex(PAIR), 0, MANY),
    el("altitude", Ty::Decimal, 0, ONE),
    el("ceiling", Ty::Decimal, 0, ONE),
];

const INFO: &[Particle] = &[
    el("language", Ty::Language, 0, ONE),
    el("category", Ty::Enum(CATEGORY), 1, MANY),
    el("event", Ty::Str, 1, ONE),
    el("responseType", Ty::Enum(RESPONSE_TYPE), 0, MANY),
    el("urgency", Ty::Enum(URGENCY), 1, ONE),
    el("severity", Ty::Enum(SEVERITY), 1, ONE),
    el("certainty", Ty::Enum(CERTAINTY), 1, ONE),
    el("audience", Ty::Str, 0, ONE),
    el("eventCode", Ty::Complex(PAIR), 0, MANY),
    el("effective", Ty::DateTime, 0, ONE),
    el("onset", Ty::DateTime, 0, ONE),
    el("expires", Ty::DateTime, 0, ONE),
    el("senderName", Ty::Str, 0, ONE),
    el("headline", Ty::Str, 0, ONE),
    el("description", Ty::Str, 0, ONE),
    el("instruction", Ty::Str, 0, ONE),
    el("web", Ty::AnyUri, 0, ONE),
    el("contact", Ty::Str, 0, ONE),
    el("parameter", Ty::Complex(PAIR), 0, MANY),
    el("resource", Ty::Complex(RESOURCE), 0, MANY),
    el("area", Ty::Complex(AREA), 0, MANY),
];

const ALERT: &[Particle] = &[
    el("identifier", Ty::Str, 1, ONE),
    el("sender", Ty::Str, 1, ONE),
    el("sent", Ty::DateTime, 1, ONE),
    el("status", Ty::Enum(STATUS), 1, ONE),
    el("msgType", Ty::Enum(MSG_TYPE), 1, ONE),
    el("source", Ty::Str, 0, ONE),
    el("scope", Ty::Enum(SCOPE), 1, ONE),
    el("restriction", Ty::Str, 0, ONE),
    el("addresses", Ty::Str, 0, ONE),
    el("code", Ty::Str, 0, MANY),
    el("note", Ty::Str, 0, ONE),
    el("references", Ty::Str, 0, ONE),
    el("incidents", Ty::Str, 0, ONE),
    el("info", Ty::Complex(INFO), 0, MANY),
    Particle {
        name: None,
        ty: Ty::Str,
        min: 0,
        max: MANY,
    },
];

/// Validates a document against the CAP 1.2 schema. A document that is not well-formed
/// (or exceeds the default [`ParseOptions`] limits) gives one violation at path `/`.
pub fn validate(input: &[u8]) -> Result<(), Vec<Violation>> {
    validate_with(input, &ParseOptions::default())
}

/// [`validate`] with explicit size/depth limits.
pub fn validate_with(input: &[u8], opts: &ParseOptions) -> Result<(), Vec<Violation>> {
    let root = parse_tree(input, opts).map_err(|e| {
        vec![Violation {
            path: "/".into(),
            rule: e.to_string(),
            line: 0,
        }]
    })?;
    let v = validate_element(&root);
    if v.is_empty() {
        Ok(())
    } else {
        Err(v)
    }
}

/// Parses bytes into the namespace-resolved tree with the crate's limits.
pub(crate) fn parse_tree(input: &[u8], opts: &ParseOptions) -> Result<Element, WarningError> {
    if input.len() > opts.max_document_size {
        return Err(WarningError::TooLarge {
            size: input.len(),
            max: opts.max_document_size,
        });
    }
    let text = lmpe_location::xml::utf8(input)?;
    Ok(lmpe_location::xml::parse_document(text, opts)?)
}

/// Validates an already parsed element as a validation root (an `alert`, or one of the
/// schema's other global elements `valueName` / `value`). Empty result = valid.
pub fn validate_element(root: &Element) -> Vec<Violation> {
    let mut out = Vec::new();
    let ty = if root.ns == NS_CAP {
        match root.name.as_str() {
            "alert" => Some(Ty::Complex(ALERT)),
            "valueName" | "value" => Some(Ty::Str),
            _ => None,
        }
    } else {
        None
    };
    match ty {
        Some(ty) => check_element(root, ty, &root.name, &mut out),
        None => out.push(Violation {
            path: root.name.clone(),
            rule: format!(
                "no global element `{}` in the CAP 1.2 schema (expected `{{{NS_CAP}}}alert`)",
                root.qualified()
            ),
            line: root.position().line,
        }),
    }
    out
}

fn v(out: &mut Vec<Violation>, el: &Element, path: &str, rule: String) {
    out.push(Violation {
        path: path.to_owned(),
        rule,
        line: el.position().line,
    });
}

fn check_attributes(el: &Element, path: &str, out: &mut Vec<Violation>) {
    for a in &el.attrs {
        let allowed = a.ns == NS_XSI
            && matches!(
                a.name.as_str(),
                "schemaLocation" | "noNamespaceSchemaLocation"
            );
        if !allowed {
            let name = if a.ns.is_empty() {
                a.name.clone()
            } else {
                format!("{{{}}}{}", a.ns, a.name)
            };
            v(out, el, path, format!("attribute `{name}` is not allowed"));
        }
    }
}

fn check_element(el: &Element, ty: Ty, path: &str, out: &mut Vec<Violation>) {
    check_attributes(el, path, out);
    match ty {
        Ty::Complex(particles) => {
            for n in &el.children {
                if let Node::Text(t) = n {
                    if !t.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
                        v(
                            out,
                            el,
                            path,
                            format!(
                                "character data {:?} is not allowed in element-only content",
                                t.trim()
                            ),
                        );
                        break;
                    }
                }
            }
            check_sequence(el, particles, path, out);
        }
        simple => {
            if let Some(child) = el.elements().next() {
                v(
                    out,
                    el,
                    path,
                    format!(
                        "child element `{}` is not allowed: the type is simple",
                        child.qualified()
                    ),
                );
                return;
            }
            let text = el.text();
            if let Err(rule) = check_simple(simple, &text, el.children.is_empty(), el.name.as_str())
            {
                v(out, el, path, rule);
            }
        }
    }
}

fn check_sequence(el: &Element, particles: &[Particle], path: &str, out: &mut Vec<Violation>) {
    // Index of the current particle and how many elements matched it.
    let mut cur = 0usize;
    let mut count = 0u32;
    let mut seen: Vec<(String, usize)> = Vec::new();
    for child in el.elements() {
        let idx = {
            let entry = seen.iter_mut().find(|(n, _)| *n == child.name);
            match entry {
                Some((_, i)) => {
                    *i += 1;
                    *i
                }
                None => {
                    seen.push((child.name.clone(), 0));
                    0
                }
            }
        };
        let pos = particles.iter().position(|p| match p.name {
            Some(n) => child.ns == NS_CAP && child.name == n,
            None => child.ns == NS_XMLDSIG,
        });
        let Some(j) = pos else {
            let cpath = format!("{path}/{}", child.name);
            let rule = if child.ns == NS_CAP {
                format!("unknown element `{}` in the CAP namespace", child.name)
            } else if particles
                .iter()
                .any(|p| p.name == Some(child.name.as_str()))
            {
                format!(
                    "`{}` is in namespace {:?}, expected the CAP 1.2 namespace",
                    child.name, child.ns
                )
            } else {
                format!("element `{}` is not allowed here", child.qualified())
            };
            v(out, child, &cpath, rule);
            continue;
        };
        let p = particles[j];
        let repeatable = p.max != ONE;
        let cpath = match (p.name, repeatable) {
            (Some(n), true) => format!("{path}/{n}[{idx}]"),
            (Some(n), false) => format!("{path}/{n}"),
            (None, _) => format!("{path}/{}", child.qualified()),
        };
        if j == cur && count > 0 {
            if p.max.is_some_and(|m| count >= m) {
                v(
                    out,
                    child,
                    &cpath,
                    format!(
                        "{} may occur at most {} time(s)",
                        what(&p),
                        p.max.unwrap_or(1)
                    ),
                );
            } else {
                count += 1;
            }
        } else if j >= cur {
            // Moving forward: everything skipped must be optional.
            for (k, q) in particles.iter().enumerate().take(j).skip(cur) {
                let have = if k == cur { count } else { 0 };
                if have < q.min {
                    v(
                        out,
                        child,
                        &cpath,
                        format!("required {} is missing before {}", what(q), what(&p)),
                    );
                }
            }
            cur = j;
            count = 1;
        } else {
            v(
                out,
                child,
                &cpath,
                format!(
                    "{} is out of order: it must come before {}",
                    what(&p),
                    what(&particles[cur])
                ),
            );
        }
        if p.name.is_some() {
            check_element(child, p.ty, &cpath, out);
        } else {
            check_lax(child, &cpath, out);
        }
    }
    for (k, q) in particles.iter().enumerate().skip(cur) {
        let have = if k == cur { count } else { 0 };
        if have < q.min {
            v(out, el, path, format!("required {} is missing", what(q)));
        }
    }
}

/// `processContents="lax"`: elements with a global declaration (the CAP globals) are
/// validated, everything else is skipped while its children are processed laxly.
fn check_lax(el: &Element, path: &str, out: &mut Vec<Violation>) {
    for child in el.elements() {
        let cpath = format!("{path}/{}", child.qualified());
        let global = if child.ns == NS_CAP {
            match child.name.as_str() {
                "alert" => Some(Ty::Complex(ALERT)),
                "valueName" | "value" => Some(Ty::Str),
                _ => None,
            }
        } else {
            None
        };
        match global {
            Some(ty) => check_element(child, ty, &cpath, out),
            None => check_lax(child, &cpath, out),
        }
    }
}

fn what(p: &Particle) -> String {
    p.name
        .map_or_else(|| "{xmldsig}*".to_owned(), |n| format!("`{n}`"))
}

fn collapse(s: &str) -> String {
    s.split([' ', '\t', '\n', '\r'])
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn check_simple(ty: Ty, text: &str, no_content: bool, name: &str) -> Result<(), String> {
    match ty {
        Ty::Str | Ty::Complex(_) => Ok(()),
        Ty::Enum(values) => {
            if values.contains(&text) {
                Ok(())
            } else {
                Err(format!("{text:?} is not one of {}", values.join(", ")))
            }
        }
        Ty::DateTime => {
            super::datetime::check(&collapse(text)).map_err(|e| format!("{text:?} {e}"))
        }
        Ty::Language => {
            // `language` has default="en-US": an element without any content takes it.
            if no_content && name == "language" {
                return Ok(());
            }
            let c = collapse(text);
            if is_language(&c) {
                Ok(())
            } else {
                Err(format!("{text:?} is not an xs:language"))
            }
        }
        Ty::Decimal => {
            if is_decimal(&collapse(text)) {
                Ok(())
            } else {
                Err(format!("{text:?} is not an xs:decimal"))
            }
        }
        Ty::Integer => {
            let c = collapse(text);
            let digits = c.strip_prefix(['+', '-']).unwrap_or(&c);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err(format!("{text:?} is not an xs:integer"))
            }
        }
        Ty::AnyUri => {
            if is_any_uri(&collapse(text)) {
                Ok(())
            } else {
                Err(format!("{text:?} is not an xs:anyURI"))
            }
        }
    }
}

/// `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`
fn is_language(s: &str) -> bool {
    let mut parts = s.split('-');
    let Some(first) = parts.next() else {
        return false;
    };
    let ok_len = |p: &str| (1..=8).contains(&p.len());
    ok_len(first)
        && first.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| ok_len(p) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// `[+-]?(\d+(\.\d*)?|\.\d+)`
pub(crate) fn is_decimal(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    digits(int)
        && frac.is_none_or(digits)
        && (!int.is_empty() || frac.is_some_and(|f| !f.is_empty()))
}

/// `xs:anyURI` as libxml2 checks it: empty is fine; otherwise characters outside printable
/// ASCII and ` <>"{}|\^`'` are replaced by `_`, and the result must be an RFC 3986
/// URI-reference.
pub(crate) fn is_any_uri(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let mapped: Vec<u8> = s
        .bytes()
        .map(|b| {
            if !(32..127).contains(&b) || b" <>\"{}|\\^`'".contains(&b) {
                b'_'
            } else {
                b
            }
        })
        .collect();
    uri::is_uri_reference(&mapped)
}

mod uri {
    //! RFC 3986 URI-reference recogniser (as libxml2's `xmlParse3986URIReference`).

    fn unreserved(b: u8) -> bool {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
    }
    fn sub_delim(b: u8) -> bool {
        matches!(
            b,
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
        )
    }

    /// Length of a pct-encoded triple at `s[i..]`, if any.
    fn pct(s: &[u8], i: usize) -> Option<usize> {
        match s.get(i..i + 3) {
            Some([b'%', a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => Some(3),
            _ => None,
        }
    }

    /// Consumes characters matching `ok` or pct-encoded triples.
    fn run(s: &[u8], mut i: usize, ok: impl Fn(u8) -> bool) -> usize {
        loop {
            match s.get(i) {
                Some(&b) if ok(b) => i += 1,
                Some(b'%') => match pct(s, i) {
                    Some(n) => i += n,
                    None => return i,
                },
                _ => return i,
            }
        }
    }

    fn pchar(b: u8) -> bool {
        unreserved(b) || sub_delim(b) || b == b':' || b == b'@'
    }

    /// Parses `[ "?" query ] [ "#" fragment ]` from `i`; true if it reaches the end.
    fn query_fragment(s: &[u8], mut i: usize) -> bool {
        if s.get(i) == Some(&b'?') {
            i = run(s, i + 1, |b| pchar(b) || b == b'/' || b == b'?');
        }
        if s.get(i) == Some(&b'#') {
            i = run(s, i + 1, |b| {
                pchar(b) || matches!(b, b'/' | b'?' | b'[' | b']')
            });
        }
        i == s.len()
    }

    /// path-abempty: `*( "/" segment )`.
    fn path_abempty(s: &[u8], mut i: usize) -> usize {
        while s.get(i) == Some(&b'/') {
            i = run(s, i + 1, pchar);
        }
        i
    }

    /// authority after `//`; returns the index after it, or None.
    fn authority(s: &[u8], i: usize) -> Option<usize> {
        // userinfo "@" ?
        let u = run(s, i, |b| unreserved(b) || sub_delim(b) || b == b':');
        let mut h = if s.get(u) == Some(&b'@') { u + 1 } else { i };
        if s.get(h) == Some(&b'[') {
            let close = s[h..].iter().position(|&b| b == b']')?;
            h += close + 1;
        } else {
            h = run(s, h, |b| unreserved(b) || sub_delim(b));
        }
        if s.get(h) == Some(&b':') {
            h += 1;
            while s.get(h).is_some_and(u8::is_ascii_digit) {
                h += 1;
            }
        }
        Some(h)
    }

    /// hier-part / relative-part after the scheme (or at the start): authority + path-abempty,
    /// path-absolute, path-rootless (or path-noscheme) or path-empty.
    fn hier(s: &[u8], i: usize, noscheme: bool) -> bool {
        if s.get(i..i + 2) == Some(b"//") {
            let Some(j) = authority(s, i + 2) else {
                return false;
            };
            return query_fragment(s, path_abempty(s, j));
        }
        if s.get(i) == Some(&b'/') {
            // path-absolute: "/" [ segment-nz *( "/" segment ) ]
            return query_fragment(s, path_abempty(s, i));
        }
        let seg_end = if noscheme {
            run(s, i, |b| unreserved(b) || sub_delim(b) || b == b'@')
        } else {
            run(s, i, pchar)
        };
        if seg_end > i {
            return query_fragment(s, path_abempty(s, seg_end));
        }
        query_fragment(s, i)
    }

    pub(super) fn is_uri_reference(s: &[u8]) -> bool {
        // Absolute URI: scheme ":" hier-part.
        if s.first().is_some_and(u8::is_ascii_alphabetic) {
            let mut i = 1;
            while s
                .get(i)
                .is_some_and(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
            {
                i += 1;
            }
            if s.get(i) == Some(&b':') && hier(s, i + 1, false) {
                return true;
            }
        }
        hier(s, 0, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_uri_like_libxml2() {
        for ok in [
            "a:b",
            "http://[::1]:80/",
            "http://x/#a[b]",
            "mailto:a@b",
            "//host",
            "#frag",
            "a b",
            "ü",
            "http://x/a b",
            "x://",
            "%41",
            "a/b:c",
            "./a:b",
            "http://x y/",
            "http://www.dhs.gov/dhspublic/display?theme=29",
        ] {
            assert!(is_any_uri(ok), "{ok}");
        }
        for bad in [
            "http://x/a%2",
            "http://x/a%zz",
            ":a",
            "http://x:8a/",
            "http://x/?a[b]",
            "http://a@b@c/",
            "foo bar:baz",
            "1a:b",
            "http://[x",
            "http://x]/",
            "::%%zz[",
        ] {
            assert!(!is_any_uri(bad), "{bad}");
        }
    }

    #[test]
    fn decimal_and_language() {
        for ok in ["1", "+1.", ".5", "-0.25", "10"] {
            assert!(is_decimal(ok), "{ok}");
        }
        for bad in ["", ".", "1e3", "+", "1.2.3", "0x1"] {
            assert!(!is_decimal(bad), "{bad}");
        }
        for ok in ["en-US", "es", "x-klingon-123", "abcdefgh"] {
            assert!(is_language(ok), "{ok}");
        }
        for bad in ["", "abcdefghi", "english_us", "en--US", "1en", "en-"] {
            assert!(!is_language(bad), "{bad}");
        }
    }
}
