//! Shared XML machinery: a small namespace-resolved element tree built with
//! `quick_xml::NsReader` (with size, depth and entity guards), the reader helpers the typed
//! codecs use, and one serialiser that writes correct namespace declarations.
//!
//! Names are always matched on namespace URI + local name, never on prefixes.

use std::sync::Arc;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use crate::error::{LocationError, Pos, Result};
use crate::ParseOptions;

/// The XML namespace (`xml:lang`).
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// An attribute with its resolved namespace (`""` for none, the usual case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Namespace URI, `""` if unqualified.
    pub ns: String,
    /// Local name.
    pub name: String,
    /// Value after entity expansion and attribute-value normalisation.
    pub value: String,
}

/// A node of the tree: an element or a piece of character data.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data (entities expanded, CDATA merged).
    Text(String),
}

/// A namespace-resolved XML element. Used for the parse tree and, in the typed messages,
/// for opaque extension content (elements from other namespaces that a schema allows).
///
/// Equality compares namespace, name, attributes and children; the source position and the
/// in-scope prefix bindings are ignored.
#[derive(Debug, Clone)]
pub struct Element {
    /// Namespace URI, `""` if none.
    pub ns: String,
    /// Local name.
    pub name: String,
    /// Attributes (namespace declarations excluded).
    pub attrs: Vec<Attribute>,
    /// Children in document order.
    pub children: Vec<Node>,
    /// Prefix bindings in scope at this element (`""` = default namespace); used to resolve
    /// QName-valued content.
    pub(crate) scope: Arc<Vec<(String, String)>>,
    /// Extra prefix declarations to write on this element (for QName-valued content).
    pub(crate) decls: Vec<(String, String)>,
    /// Where the element starts in the source (default for built elements).
    pub(crate) pos: Pos,
}

impl PartialEq for Element {
    fn eq(&self, other: &Self) -> bool {
        self.ns == other.ns
            && self.name == other.name
            && self.attrs == other.attrs
            && self.children == other.children
    }
}

impl Element {
    /// A new element without attributes or children.
    pub fn new(ns: &str, name: &str) -> Self {
        Element {
            ns: ns.to_owned(),
            name: name.to_owned(),
            attrs: Vec::new(),
            children: Vec::new(),
            scope: Arc::new(Vec::new()),
            decls: Vec::new(),
            pos: Pos::default(),
        }
    }

    /// Where the element starts in the source it was parsed from.
    pub fn position(&self) -> Pos {
        self.pos
    }

    /// `{namespace}local`, for messages.
    pub fn qualified(&self) -> String {
        if self.ns.is_empty() {
            self.name.clone()
        } else {
            format!("{{{}}}{}", self.ns, self.name)
        }
    }

    /// True if the element is `{ns}name`.
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// The child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The concatenated character data of the direct children.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// An unqualified attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attr_ns("", name)
    }

    /// A namespace-qualified attribute's value.
    pub fn attr_ns(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns == ns && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// `xml:lang`.
    pub fn lang(&self) -> Option<&str> {
        self.attr_ns(NS_XML, "lang")
    }

    // ---- builder helpers (serialisation) ----

    /// Adds an unqualified attribute (builder style).
    pub fn with_attr(mut self, name: &str, value: impl Into<String>) -> Self {
        self.attrs.push(Attribute {
            ns: String::new(),
            name: name.to_owned(),
            value: value.into(),
        });
        self
    }

    /// Adds an unqualified attribute if `value` is `Some`.
    pub fn with_opt_attr(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.with_attr(name, v),
            None => self,
        }
    }

    /// Adds `xml:lang` if `Some`.
    pub fn with_lang(mut self, lang: Option<&str>) -> Self {
        if let Some(l) = lang {
            self.attrs.push(Attribute {
                ns: NS_XML.to_owned(),
                name: "lang".to_owned(),
                value: l.to_owned(),
            });
        }
        self
    }

    /// Appends text.
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.children.push(Node::Text(text.into()));
        self
    }

    /// Appends a child element.
    pub fn with_child(mut self, child: Element) -> Self {
        self.children.push(Node::Element(child));
        self
    }

    /// Appends child elements.
    pub fn with_children(mut self, children: impl IntoIterator<Item = Element>) -> Self {
        self.children
            .extend(children.into_iter().map(Node::Element));
        self
    }

    /// Appends a child `{ns}name` with text content.
    pub fn with_text_child(self, ns: &str, name: &str, text: impl Into<String>) -> Self {
        self.with_child(Element::new(ns, name).with_text(text))
    }

    /// Declares `xmlns:prefix="ns"` on this element when written.
    pub(crate) fn with_decl(mut self, prefix: &str, ns: &str) -> Self {
        self.decls.push((prefix.to_owned(), ns.to_owned()));
        self
    }

    /// Resolves a QName (`p:local` or `local`) against the prefix bindings in scope.
    /// Unprefixed names resolve to the default namespace (XML Schema QName rules); returns
    /// `None` for an undeclared prefix.
    pub(crate) fn resolve_qname(&self, token: &str) -> Option<(String, String)> {
        let (prefix, local) = match token.split_once(':') {
            Some((p, l)) => (p, l),
            None => ("", token),
        };
        if prefix == "xml" {
            return Some((NS_XML.to_owned(), local.to_owned()));
        }
        match self.scope.iter().rev().find(|(p, _)| p == prefix) {
            Some((_, ns)) => Some((ns.clone(), local.to_owned())),
            None if prefix.is_empty() => Some((String::new(), local.to_owned())),
            None => None,
        }
    }

    /// Writes this element as a standalone document (no XML declaration).
    pub fn to_xml(&self) -> String {
        write_document(self)
    }
}

// ------------------------------------------------------------------------------------------
// Parsing

/// Line number for a byte offset, computed incrementally (offsets only grow).
struct LineCounter<'a> {
    input: &'a str,
    offset: usize,
    line: u32,
}

impl LineCounter<'_> {
    fn pos(&mut self, offset: usize) -> Pos {
        let offset = offset.min(self.input.len());
        if offset >= self.offset {
            let add = self
                .input
                .as_bytes()
                .get(self.offset..offset)
                .map_or(0, |s| s.iter().filter(|&&b| b == b'\n').count());
            self.line = self
                .line
                .saturating_add(u32::try_from(add).unwrap_or(u32::MAX));
            self.offset = offset;
        } else {
            let add = self
                .input
                .as_bytes()
                .get(..offset)
                .map_or(0, |s| s.iter().filter(|&&b| b == b'\n').count());
            return Pos {
                line: u32::try_from(add).unwrap_or(u32::MAX).saturating_add(1),
                offset,
            };
        }
        Pos {
            line: self.line,
            offset,
        }
    }
}

fn to_usize(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Parses a whole document into an element tree, enforcing the size and depth limits.
pub fn parse_document(input: &str, opts: &ParseOptions) -> Result<Element> {
    if input.len() > opts.max_document_size {
        return Err(LocationError::TooLarge {
            size: input.len(),
            max: opts.max_document_size,
        });
    }
    let mut reader = NsReader::from_str(input);
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;
    let mut lines = LineCounter {
        input,
        offset: 0,
        line: 1,
    };
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let start = to_usize(reader.buffer_position());
        let (res, event) = match reader.read_resolved_event() {
            Ok((r, e)) => (owned_resolve(r), e),
            Err(e) => {
                let pos = lines.pos(to_usize(reader.error_position()));
                return Err(LocationError::Malformed {
                    message: e.to_string(),
                    pos,
                });
            }
        };
        match event {
            Event::Start(ref s) | Event::Empty(ref s) => {
                let is_empty = matches!(event, Event::Empty(_));
                let pos = lines.pos(start);
                if root.is_some() {
                    return Err(LocationError::Malformed {
                        message: "content after the root element".into(),
                        pos,
                    });
                }
                if stack.len() >= opts.max_depth {
                    return Err(LocationError::TooDeep {
                        max: opts.max_depth,
                        pos,
                    });
                }
                let ns = match res {
                    OwnedResolve::Unbound => String::new(),
                    OwnedResolve::Bound(ns) => ns,
                    OwnedResolve::Unknown(prefix) => {
                        return Err(LocationError::UndeclaredPrefix {
                            prefix,
                            name: s.name().into_inner().to_owned(),
                            pos,
                        })
                    }
                };
                let name = s.local_name().into_inner().to_owned();
                let parent_scope = stack
                    .last()
                    .map(|p| p.scope.clone())
                    .unwrap_or_else(|| Arc::new(Vec::new()));
                let mut new_bindings: Vec<(String, String)> = Vec::new();
                let mut attrs = Vec::new();
                for a in s.attributes() {
                    let a = a.map_err(|e| LocationError::Malformed {
                        message: e.to_string(),
                        pos,
                    })?;
                    let key = a.key.into_inner();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::default())
                        .map_err(|e| LocationError::Malformed {
                            message: format!("attribute {key}: {e}"),
                            pos,
                        })?;
                    // XML 1.0 attribute-value normalisation for CDATA attributes.
                    let value: String = value
                        .chars()
                        .map(|c| {
                            if matches!(c, '\t' | '\n' | '\r') {
                                ' '
                            } else {
                                c
                            }
                        })
                        .collect();
                    if key == "xmlns" {
                        new_bindings.push((String::new(), value));
                        continue;
                    }
                    if let Some(p) = key.strip_prefix("xmlns:") {
                        new_bindings.push((p.to_owned(), value));
                        continue;
                    }
                    let (ares, alocal) = reader.resolver().resolve_attribute(a.key);
                    let ans = match ares {
                        ResolveResult::Unbound => String::new(),
                        ResolveResult::Bound(n) => n.into_inner().to_owned(),
                        ResolveResult::Unknown(prefix) => {
                            return Err(LocationError::UndeclaredPrefix {
                                prefix,
                                name: key.to_owned(),
                                pos,
                            })
                        }
                    };
                    attrs.push(Attribute {
                        ns: ans,
                        name: alocal.into_inner().to_owned(),
                        value,
                    });
                }
                let scope = if new_bindings.is_empty() {
                    parent_scope
                } else {
                    let mut v = (*parent_scope).clone();
                    v.extend(new_bindings);
                    Arc::new(v)
                };
                let el = Element {
                    ns,
                    name,
                    attrs,
                    children: Vec::new(),
                    scope,
                    decls: Vec::new(),
                    pos,
                };
                if is_empty {
                    close(el, &mut stack, &mut root);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => match stack.pop() {
                Some(el) => close(el, &mut stack, &mut root),
                None => {
                    return Err(LocationError::Malformed {
                        message: "unmatched end tag".into(),
                        pos: lines.pos(start),
                    })
                }
            },
            Event::Text(t) => {
                let text = t.xml10_content();
                push_text(&mut stack, &text, lines.pos(start))?;
            }
            Event::CData(c) => {
                let text = c.xml10_content();
                if stack.is_empty() {
                    return Err(LocationError::Malformed {
                        message: "CDATA outside the root element".into(),
                        pos: lines.pos(start),
                    });
                }
                push_text(&mut stack, &text, lines.pos(start))?;
            }
            Event::GeneralRef(r) => {
                let pos = lines.pos(start);
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match &*r.into_inner() {
                        "lt" => "<".to_owned(),
                        "gt" => ">".to_owned(),
                        "amp" => "&".to_owned(),
                        "apos" => "'".to_owned(),
                        "quot" => "\"".to_owned(),
                        other => {
                            return Err(LocationError::UnsupportedXml {
                                what: format!("entity reference &{other};"),
                                pos,
                            })
                        }
                    },
                    Err(e) => {
                        return Err(LocationError::Malformed {
                            message: e.to_string(),
                            pos,
                        })
                    }
                };
                if stack.is_empty() {
                    return Err(LocationError::Malformed {
                        message: "character data outside the root element".into(),
                        pos,
                    });
                }
                push_text(&mut stack, &ch, pos)?;
            }
            Event::DocType(_) => {
                return Err(LocationError::UnsupportedXml {
                    what: "DOCTYPE declaration".into(),
                    pos: lines.pos(start),
                })
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(LocationError::Malformed {
            message: format!("unexpected end of input inside `{}`", open.name),
            pos: lines.pos(input.len()),
        });
    }
    root.ok_or(LocationError::NoRootElement)
}

enum OwnedResolve {
    Unbound,
    Bound(String),
    Unknown(String),
}

fn owned_resolve(r: ResolveResult<'_>) -> OwnedResolve {
    match r {
        ResolveResult::Unbound => OwnedResolve::Unbound,
        ResolveResult::Bound(n) => OwnedResolve::Bound(n.into_inner().to_owned()),
        ResolveResult::Unknown(p) => OwnedResolve::Unknown(p),
    }
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(el)),
        None => *root = Some(el),
    }
}

fn push_text(stack: &mut [Element], text: &str, pos: Pos) -> Result<()> {
    match stack.last_mut() {
        Some(parent) => {
            if let Some(Node::Text(prev)) = parent.children.last_mut() {
                prev.push_str(text);
            } else {
                parent.children.push(Node::Text(text.to_owned()));
            }
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(LocationError::Malformed {
            message: "character data outside the root element".into(),
            pos,
        }),
    }
}

/// Converts bytes to `&str` with a precise error.
pub fn utf8(input: &[u8]) -> Result<&str> {
    std::str::from_utf8(input).map_err(|e| LocationError::NotUtf8 {
        offset: e.valid_up_to(),
    })
}

// ------------------------------------------------------------------------------------------
// Typed-conversion helpers

/// Local names each container namespace defines, to tell "wrong namespace" from "unknown
/// element" when a child is not accepted.
const KNOWN_NAMES: &[(&str, &[&str])] = &[
    (
        crate::lost::NS_LOST,
        &[
            "location",
            "service",
            "path",
            "via",
            "mapping",
            "displayName",
            "serviceBoundary",
            "serviceBoundaryReference",
            "uri",
            "serviceNumber",
            "locationValidation",
            "valid",
            "invalid",
            "unchecked",
            "warnings",
            "locationUsed",
            "serviceList",
        ],
    ),
    (
        crate::held::NS_HELD,
        &["locationType", "locationUriSet", "locationURI", "message"],
    ),
    (
        crate::pidf::NS_PIDF,
        &["tuple", "status", "basic", "contact", "note", "timestamp"],
    ),
    (
        crate::pidf::NS_GEOPRIV10,
        &["location-info", "usage-rules", "method", "provided-by"],
    ),
    (
        crate::pidf::NS_DATA_MODEL,
        &["deviceID", "timestamp", "note"],
    ),
    (crate::held::NS_HELD_RI, &["service", "dest"]),
    (
        crate::held::NS_HELD_FLOW,
        &["src", "dst", "address", "port"],
    ),
];

/// Error for a child that is not allowed in `parent`: [`LocationError::WrongNamespace`] when
/// the child has a local name of the parent's namespace but another (or no) namespace,
/// [`LocationError::UnexpectedElement`] otherwise.
pub(crate) fn unexpected(parent: &Element, child: &Element) -> LocationError {
    if child.ns != parent.ns {
        if let Some((ns, _)) = KNOWN_NAMES
            .iter()
            .find(|(ns, names)| *ns == parent.ns && names.contains(&child.name.as_str()))
        {
            return LocationError::WrongNamespace {
                element: child.name.clone(),
                expected: ns,
                found: child.ns.clone(),
                pos: child.pos,
            };
        }
    }
    LocationError::UnexpectedElement {
        parent: parent.name.clone(),
        found: child.qualified(),
        pos: child.pos,
    }
}

/// Error for a missing child.
pub(crate) fn missing(parent: &Element, expected: &'static str) -> LocationError {
    LocationError::MissingElement {
        parent: parent.name.clone(),
        expected,
        pos: parent.pos,
    }
}

/// A required unqualified attribute.
pub(crate) fn req_attr<'a>(el: &'a Element, name: &'static str) -> Result<&'a str> {
    el.attr(name)
        .ok_or_else(|| LocationError::MissingAttribute {
            element: el.name.clone(),
            attribute: name,
            pos: el.pos,
        })
}

/// An invalid attribute error.
pub(crate) fn bad_attr(
    el: &Element,
    attribute: &'static str,
    value: &str,
    reason: impl Into<String>,
) -> LocationError {
    LocationError::InvalidAttribute {
        element: el.name.clone(),
        attribute,
        value: value.to_owned(),
        reason: reason.into(),
        pos: el.pos,
    }
}

/// An invalid content error.
pub(crate) fn bad_value(el: &Element, value: &str, reason: impl Into<String>) -> LocationError {
    LocationError::InvalidValue {
        element: el.name.clone(),
        value: value.to_owned(),
        reason: reason.into(),
        pos: el.pos,
    }
}

/// Optional xs:boolean attribute.
pub(crate) fn bool_attr(el: &Element, name: &'static str) -> Result<Option<bool>> {
    match el.attr(name) {
        None => Ok(None),
        Some(v) => parse_bool(v.trim())
            .map(Some)
            .ok_or_else(|| bad_attr(el, name, v, "not an xs:boolean (true, false, 1, 0)")),
    }
}

/// xs:boolean.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// XML Schema whitespace collapse.
pub(crate) fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text content that must not contain child elements.
pub(crate) fn simple_text(el: &Element) -> Result<String> {
    if let Some(child) = el.elements().next() {
        return Err(unexpected(el, child));
    }
    Ok(el.text())
}

/// Collapsed text content that must not contain child elements.
pub(crate) fn simple_token(el: &Element) -> Result<String> {
    simple_text(el).map(|s| collapse(&s))
}

/// A namespace-qualified name as found in QName-list content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QualifiedName {
    /// Namespace URI (`""` for none).
    pub ns: String,
    /// Local name.
    pub local: String,
}

impl QualifiedName {
    /// A new qualified name.
    pub fn new(ns: &str, local: &str) -> Self {
        QualifiedName {
            ns: ns.to_owned(),
            local: local.to_owned(),
        }
    }
}

/// Checks an element's namespace for a known local name; returns a precise
/// [`LocationError::WrongNamespace`] when the local name matches but the namespace does not.
pub(crate) fn expect_ns(el: &Element, expected: &'static str) -> Result<()> {
    if el.ns == expected {
        Ok(())
    } else {
        Err(LocationError::WrongNamespace {
            element: el.name.clone(),
            expected,
            found: el.ns.clone(),
            pos: el.pos,
        })
    }
}

// ------------------------------------------------------------------------------------------
// Serialisation

/// Namespaces written with a fixed prefix declared on the root element; every other
/// namespace is written as a default-namespace declaration where it changes.
const PREFIXED: &[(&str, &str)] = &[
    ("http://www.opengis.net/gml", "gml"),
    ("http://www.opengis.net/pidflo/1.0", "gs"),
    ("urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr", "ca"),
    ("urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr:ext", "cae"),
    ("urn:ietf:params:xml:ns:pidf:data-model", "dm"),
    ("urn:ietf:params:xml:ns:pidf:geopriv10:basicPolicy", "gbp"),
];

fn fixed_prefix(ns: &str) -> Option<&'static str> {
    PREFIXED.iter().find(|(n, _)| *n == ns).map(|(_, p)| *p)
}

fn collect_prefixed(el: &Element, root_ns: &str, used: &mut Vec<&'static str>) {
    if el.ns != root_ns {
        if let Some(p) = fixed_prefix(&el.ns) {
            if !used.contains(&p) {
                used.push(p);
            }
        }
    }
    for a in &el.attrs {
        if let Some(p) = fixed_prefix(&a.ns) {
            if !used.contains(&p) {
                used.push(p);
            }
        }
    }
    for c in el.elements() {
        collect_prefixed(c, root_ns, used);
    }
}

/// Writes an element tree as a document (without XML declaration).
pub fn write_document(root: &Element) -> String {
    let mut used = Vec::new();
    collect_prefixed(root, &root.ns, &mut used);
    let mut out = String::with_capacity(512);
    let mut gen = 0usize;
    write_el(root, "", true, &used, &mut gen, &mut out);
    out
}

fn write_el(
    el: &Element,
    default_ns: &str,
    is_root: bool,
    used: &[&'static str],
    gen: &mut usize,
    out: &mut String,
) {
    let prefix = if is_root && !el.ns.is_empty() {
        None
    } else {
        fixed_prefix(&el.ns).filter(|p| used.contains(p))
    };
    let mut child_default = default_ns.to_owned();
    out.push('<');
    if let Some(p) = prefix {
        out.push_str(p);
        out.push(':');
    }
    out.push_str(&el.name);
    if prefix.is_none() && el.ns != default_ns {
        out.push_str(" xmlns=\"");
        out.push_str(&escape_attr(&el.ns));
        out.push('"');
        child_default = el.ns.clone();
    }
    if is_root {
        for (ns, p) in PREFIXED {
            if used.contains(p) {
                out.push_str(" xmlns:");
                out.push_str(p);
                out.push_str("=\"");
                out.push_str(ns);
                out.push('"');
            }
        }
    }
    for (p, ns) in &el.decls {
        out.push_str(" xmlns:");
        out.push_str(p);
        out.push_str("=\"");
        out.push_str(&escape_attr(ns));
        out.push('"');
    }
    for a in &el.attrs {
        out.push(' ');
        if a.ns == NS_XML {
            out.push_str("xml:");
        } else if !a.ns.is_empty() {
            match fixed_prefix(&a.ns).filter(|p| used.contains(p)) {
                Some(p) => {
                    out.push_str(p);
                    out.push(':');
                }
                None => {
                    let p = format!("a{gen}");
                    *gen += 1;
                    out.push_str("xmlns:");
                    out.push_str(&p);
                    out.push_str("=\"");
                    out.push_str(&escape_attr(&a.ns));
                    out.push_str("\" ");
                    out.push_str(&p);
                    out.push(':');
                }
            }
        }
        out.push_str(&a.name);
        out.push_str("=\"");
        out.push_str(&escape_attr(&a.value));
        out.push('"');
    }
    if el.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for c in &el.children {
        match c {
            Node::Text(t) => out.push_str(&escape_text(t)),
            Node::Element(e) => write_el(e, &child_default, false, used, gen, out),
        }
    }
    out.push_str("</");
    if let Some(p) = prefix {
        out.push_str(p);
        out.push(':');
    }
    out.push_str(&el.name);
    out.push('>');
}

fn escape_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '\r' => o.push_str("&#13;"),
            _ => o.push(c),
        }
    }
    o
}

fn escape_attr(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\n' => o.push_str("&#10;"),
            '\r' => o.push_str("&#13;"),
            '\t' => o.push_str("&#9;"),
            _ => o.push(c),
        }
    }
    o
}

/// Prepends the XML declaration.
pub(crate) fn with_decl(body: String) -> String {
    let mut s = String::with_capacity(body.len() + 40);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    s.push_str(&body);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_resolve_and_round_trip() {
        let doc = r#"<a xmlns="urn:x" xmlns:g="http://www.opengis.net/gml"><g:pos k="1">1 2</g:pos><b xmlns="">t&amp;</b></a>"#;
        let el = parse_document(doc, &ParseOptions::default()).unwrap();
        assert_eq!(el.ns, "urn:x");
        let pos = el.elements().next().unwrap();
        assert!(pos.is("http://www.opengis.net/gml", "pos"));
        let b = el.elements().nth(1).unwrap();
        assert!(b.is("", "b"));
        assert_eq!(b.text(), "t&");
        let again = parse_document(&el.to_xml(), &ParseOptions::default()).unwrap();
        assert_eq!(el, again);
    }

    #[test]
    fn undeclared_prefix_is_precise() {
        let err = parse_document("<a>\n<p:b/></a>", &ParseOptions::default()).unwrap_err();
        assert!(
            matches!(err, LocationError::UndeclaredPrefix { ref prefix, pos, .. } if prefix == "p" && pos.line == 2),
            "{err:?}"
        );
    }
}
