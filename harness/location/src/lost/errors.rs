//! `errors`, `warnings` (the RFC 5222 exception container) and `redirect`.

use crate::error::Result;
use crate::xml::{self, Element};

use super::{named_app_unique, source_attr, Message, NS_LOST};

/// The exception kinds of RFC 5222 Section 13 / the RelaxNG `exceptionContainer`
/// (plus `locationValidationUnavailable`, which the schema defines but leaves out of the
/// container).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExceptionKind {
    /// `badRequest`.
    BadRequest,
    /// `internalError`.
    InternalError,
    /// `serviceSubstitution`.
    ServiceSubstitution,
    /// `defaultMappingReturned`.
    DefaultMappingReturned,
    /// `forbidden`.
    Forbidden,
    /// `notFound`.
    NotFound,
    /// `loop`.
    Loop,
    /// `serviceNotImplemented`.
    ServiceNotImplemented,
    /// `serverTimeout`.
    ServerTimeout,
    /// `serverError`.
    ServerError,
    /// `locationInvalid`.
    LocationInvalid,
    /// `locationProfileUnrecognized` (carries `unsupportedProfiles`).
    LocationProfileUnrecognized,
    /// `locationValidationUnavailable`.
    LocationValidationUnavailable,
}

impl ExceptionKind {
    /// Every kind.
    pub const ALL: [ExceptionKind; 13] = [
        ExceptionKind::BadRequest,
        ExceptionKind::InternalError,
        ExceptionKind::ServiceSubstitution,
        ExceptionKind::DefaultMappingReturned,
        ExceptionKind::Forbidden,
        ExceptionKind::NotFound,
        ExceptionKind::Loop,
        ExceptionKind::ServiceNotImplemented,
        ExceptionKind::ServerTimeout,
        ExceptionKind::ServerError,
        ExceptionKind::LocationInvalid,
        ExceptionKind::LocationProfileUnrecognized,
        ExceptionKind::LocationValidationUnavailable,
    ];

    /// The element name.
    pub fn element_name(self) -> &'static str {
        match self {
            ExceptionKind::BadRequest => "badRequest",
            ExceptionKind::InternalError => "internalError",
            ExceptionKind::ServiceSubstitution => "serviceSubstitution",
            ExceptionKind::DefaultMappingReturned => "defaultMappingReturned",
            ExceptionKind::Forbidden => "forbidden",
            ExceptionKind::NotFound => "notFound",
            ExceptionKind::Loop => "loop",
            ExceptionKind::ServiceNotImplemented => "serviceNotImplemented",
            ExceptionKind::ServerTimeout => "serverTimeout",
            ExceptionKind::ServerError => "serverError",
            ExceptionKind::LocationInvalid => "locationInvalid",
            ExceptionKind::LocationProfileUnrecognized => "locationProfileUnrecognized",
            ExceptionKind::LocationValidationUnavailable => "locationValidationUnavailable",
        }
    }

    /// The kind for an element name.
    pub fn from_element_name(name: &str) -> Option<Self> {
        ExceptionKind::ALL
            .iter()
            .copied()
            .find(|k| k.element_name() == name)
    }
}

/// One exception (error or warning).
#[derive(Debug, Clone, PartialEq)]
pub struct LostException {
    /// Which one.
    pub kind: ExceptionKind,
    /// `message` + `xml:lang`.
    pub message: Option<Message>,
    /// `unsupportedProfiles` (only for `locationProfileUnrecognized`).
    pub unsupported_profiles: Vec<String>,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

impl LostException {
    /// An exception with an English message.
    pub fn new(kind: ExceptionKind, message: &str) -> Self {
        LostException {
            kind,
            message: Some(Message {
                text: message.to_owned(),
                lang: Some("en".into()),
            }),
            unsupported_profiles: Vec::new(),
            extensions: Vec::new(),
        }
    }
}

/// The exception container: `errors` and `warnings` share it.
#[derive(Debug, Clone, PartialEq)]
pub struct LostErrors {
    /// `source` (appUniqueString).
    pub source: String,
    /// The exceptions (each kind at most once).
    pub exceptions: Vec<LostException>,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

/// `warnings` has the same content as `errors`.
pub type Warnings = LostErrors;

impl LostErrors {
    /// A container with one exception carrying an English message.
    pub fn single(source: &str, kind: ExceptionKind, message: &str) -> Self {
        LostErrors {
            source: source.to_owned(),
            exceptions: vec![LostException::new(kind, message)],
            extensions: Vec::new(),
        }
    }

    pub(crate) fn from_element(el: &Element) -> Result<Self> {
        let source = source_attr(el)?;
        let mut exceptions: Vec<LostException> = Vec::new();
        let mut extensions = Vec::new();
        for c in el.elements() {
            if c.ns != NS_LOST {
                if c.ns.is_empty() {
                    return Err(xml::unexpected(el, c));
                }
                extensions.push(c.clone());
                continue;
            }
            let kind =
                ExceptionKind::from_element_name(&c.name).ok_or_else(|| xml::unexpected(el, c))?;
            if exceptions.iter().any(|e| e.kind == kind) {
                return Err(xml::unexpected(el, c));
            }
            let unsupported_profiles = if kind == ExceptionKind::LocationProfileUnrecognized {
                xml::req_attr(c, "unsupportedProfiles")?
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect()
            } else {
                Vec::new()
            };
            let mut ext = Vec::new();
            for e in c.elements() {
                if e.ns == NS_LOST || e.ns.is_empty() {
                    return Err(xml::unexpected(c, e));
                }
                ext.push(e.clone());
            }
            exceptions.push(LostException {
                kind,
                message: Message::from_attrs(c),
                unsupported_profiles,
                extensions: ext,
            });
        }
        Ok(LostErrors {
            source,
            exceptions,
            extensions,
        })
    }

    fn build(&self, name: &str) -> Element {
        Element::new(NS_LOST, name)
            .with_attr("source", self.source.as_str())
            .with_children(self.exceptions.iter().map(|e| {
                let mut el = Element::new(NS_LOST, e.kind.element_name());
                if e.kind == ExceptionKind::LocationProfileUnrecognized {
                    el = el.with_attr("unsupportedProfiles", e.unsupported_profiles.join(" "));
                }
                Message::apply(e.message.as_ref(), el).with_children(e.extensions.iter().cloned())
            }))
            .with_children(self.extensions.iter().cloned())
    }

    /// As an `errors` element.
    pub fn to_element(&self) -> Element {
        self.build("errors")
    }

    /// As a `warnings` element.
    pub fn to_warnings_element(&self) -> Element {
        self.build("warnings")
    }
}

/// `redirect`.
#[derive(Debug, Clone, PartialEq)]
pub struct Redirect {
    /// `target` (appUniqueString of the server to ask instead).
    pub target: String,
    /// `source`.
    pub source: String,
    /// `message` + `xml:lang`.
    pub message: Option<Message>,
    /// Extension elements.
    pub extensions: Vec<Element>,
}

impl Redirect {
    pub(crate) fn from_element(el: &Element) -> Result<Self> {
        let mut extensions = Vec::new();
        for c in el.elements() {
            if c.ns == NS_LOST || c.ns.is_empty() {
                return Err(xml::unexpected(el, c));
            }
            extensions.push(c.clone());
        }
        Ok(Redirect {
            target: named_app_unique(el, "target")?,
            source: source_attr(el)?,
            message: Message::from_attrs(el),
            extensions,
        })
    }

    /// The element tree.
    pub fn to_element(&self) -> Element {
        let el = Element::new(NS_LOST, "redirect")
            .with_attr("target", self.target.as_str())
            .with_attr("source", self.source.as_str());
        Message::apply(self.message.as_ref(), el).with_children(self.extensions.iter().cloned())
    }
}
