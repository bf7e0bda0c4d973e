//! Semantic checks on a syntactically parsed message (RFC 3261 8.1.1, 20; RFC 4475 3.1.2, 3.3).

use std::fmt;

use super::addr::NameAddr;
use super::message::{SipMessage, StartLine};
use super::via::Via;

/// One semantic defect of a parsed message. A message with defects is still returned by the
/// parser (an element must not break on it, RFC 4475), but a UAS would answer 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    /// The header concerned, or `None` for the start line.
    pub header: Option<&'static str>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.header {
            Some(h) => write!(f, "{h}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

const REQUIRED: [&str; 5] = ["Via", "From", "To", "Call-ID", "CSeq"];
const SINGLE: [&str; 6] = [
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Content-Type",
];

impl SipMessage {
    /// Semantic defects of this message (empty for a well-formed one).
    pub fn defects(&self) -> Vec<Defect> {
        let mut out = Vec::new();
        let mut push =
            |header: Option<&'static str>, reason: String| out.push(Defect { header, reason });
        for name in REQUIRED {
            if self.header(name).is_none() {
                push(Some(name), "required header is missing".into());
            }
        }
        if self.is_request() && self.header("Max-Forwards").is_none() {
            push(Some("Max-Forwards"), "required header is missing".into());
        }
        for name in SINGLE {
            let n = self.header_values(name).count();
            if n > 1 {
                push(
                    Some(name),
                    format!("appears {n} times but allows one value"),
                );
            }
        }
        if let StartLine::Request { method, uri } = &self.start {
            if uri.starts_with('<') || uri.ends_with('>') {
                push(None, format!("Request-URI {uri:?} is enclosed in <>"));
            }
            if !uri.contains(':') {
                push(None, format!("Request-URI {uri:?} has no scheme"));
            }
            if let Ok((_, cseq_method)) = self.cseq() {
                if &cseq_method != method {
                    push(
                        Some("CSeq"),
                        format!("CSeq method {cseq_method} differs from request method {method}"),
                    );
                }
            }
        }
        if self.header("CSeq").is_some() {
            if let Err(e) = self.cseq() {
                push(Some("CSeq"), e.to_string());
            }
        }
        if let Some(mf) = self.header("Max-Forwards") {
            if mf.parse::<u8>().is_err() {
                push(
                    Some("Max-Forwards"),
                    format!("{mf:?} is not an integer 0..=255"),
                );
            }
        }
        for name in ["Expires", "Retry-After"] {
            if let Some(v) = self.header(name) {
                let num = v
                    .split(|c: char| c == ';' || c == '(')
                    .next()
                    .unwrap_or("")
                    .trim();
                if num.parse::<u32>().is_err() {
                    push(
                        Some(if name == "Expires" {
                            "Expires"
                        } else {
                            "Retry-After"
                        }),
                        format!("{num:?} is not a 32-bit delta-seconds value"),
                    );
                }
            }
        }
        for v in self.header_values("Via") {
            if let Err(e) = Via::parse(v) {
                push(Some("Via"), e.to_string());
            }
        }
        for (name, label) in [("From", "From"), ("To", "To")] {
            if let Some(v) = self.header(name) {
                if let Err(e) = NameAddr::parse(label, v) {
                    push(Some(label), e.to_string());
                }
            }
        }
        out
    }
}
