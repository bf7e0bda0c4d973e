//! Semantic and header-grammar checks on a parsed message (RFC 3261 8.1.1, 20, 25; RFC 4475).
//!
//! The parser only frames the message and splits header lines; this module checks the grammar
//! of the header values an element relies on, and the rules RFC 4475 exercises. Every check is
//! generic (grammar or RFC rule), never keyed on a particular test message.

use std::fmt;

use super::addr::{is_token_char, NameAddr};
use super::message::{canonical_name, SipMessage, StartLine};
use super::uri::{check_uri, SipUri};
use super::via::Via;
use crate::headers::{
    CallInfo, ContentType, Geolocation, GeolocationError, GeolocationRouting, HistoryInfo,
    PAssertedIdentity, Reason, ReplyTo, ResourcePriority,
};

/// How serious a [`Defect`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// The message is invalid: a UAS or proxy answers 400 (or drops a response).
    Reject,
    /// The message breaks a rule that the RFCs allow an element to tolerate, e.g. an RFC 2543
    /// message without Max-Forwards, an out-of-range Max-Forwards or expiry value that may be
    /// treated as absent (RFC 4475 3.1.2.4), a non-GMT Date that may be ignored (3.1.2.12), or a
    /// bare `z9hG4bK` branch (3.2.1).
    Tolerable,
}

/// One defect of a parsed message. A message with defects is still returned by the parser (an
/// element must not break on it, RFC 4475); [`Severity`] says whether to reject it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    /// The header concerned, or `None` for the start line.
    pub header: Option<&'static str>,
    /// What is wrong.
    pub reason: String,
    /// Whether the message must be rejected.
    pub severity: Severity,
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.header {
            Some(h) => write!(f, "{h}: {}", self.reason)?,
            None => write!(f, "start line: {}", self.reason)?,
        }
        if self.severity == Severity::Tolerable {
            f.write_str(" (tolerable)")?;
        }
        Ok(())
    }
}

/// The header names counted in one pass: the required ones first (RFC 3261 8.1.1), and from
/// "From" on those that carry exactly one value (RFC 3261 7.3.1 and 20; RFC 6442 4.2).
const PRESENCE: [&str; 11] = [
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Content-Type",
    "Date",
    "Expires",
    "Reply-To",
    "Geolocation-Routing",
];
/// Headers every message must carry.
const REQUIRED: &[&str] = PRESENCE.split_at(5).0;
/// Headers that carry exactly one value.
const SINGLE: &[&str] = PRESENCE.split_at(1).1;

struct Sink(Vec<Defect>);

impl Sink {
    fn reject(&mut self, header: Option<&'static str>, reason: impl Into<String>) {
        self.0.push(Defect {
            header,
            reason: reason.into(),
            severity: Severity::Reject,
        });
    }

    fn tolerable(&mut self, header: Option<&'static str>, reason: impl Into<String>) {
        self.0.push(Defect {
            header,
            reason: reason.into(),
            severity: Severity::Tolerable,
        });
    }
}

impl SipMessage {
    /// Defects of this message (empty for a well-formed one), in a stable order.
    pub fn defects(&self) -> Vec<Defect> {
        let mut out = Sink(Vec::new());
        self.check_presence(&mut out);
        self.check_start_line(&mut out);
        self.check_core_headers(&mut out);
        self.check_address_headers(&mut out);
        self.check_scalars(&mut out);
        self.check_lmpe_headers(&mut out);
        out.0
    }

    /// Whether any defect requires rejecting the message.
    pub fn must_reject(&self) -> bool {
        self.defects()
            .iter()
            .any(|d| d.severity == Severity::Reject)
    }

    fn check_presence(&self, out: &mut Sink) {
        // One pass over the header lines: counts[i] is the number of lines named PRESENCE[i].
        let mut counts = [0usize; PRESENCE.len()];
        for h in &self.headers {
            let name = canonical_name(&h.name);
            if let Some(i) = PRESENCE
                .iter()
                .position(|n| n.len() == name.len() && n.eq_ignore_ascii_case(name))
            {
                counts[i] += 1;
            }
        }
        let count = |name: &str| {
            PRESENCE
                .iter()
                .position(|n| *n == name)
                .map_or(0, |i| counts[i])
        };
        for &name in REQUIRED {
            if count(name) == 0 {
                out.reject(Some(name), "required header is missing");
            }
        }
        if self.is_request() && count("Max-Forwards") == 0 {
            // RFC 3261 8.1.1 makes it mandatory, but proxies add it when missing (16.6 step 3)
            // and RFC 2543 requests lack it (RFC 4475 3.4.1).
            out.tolerable(Some("Max-Forwards"), "required header is missing");
        }
        for &name in SINGLE {
            let n = count(name);
            if n > 1 {
                out.reject(
                    Some(name),
                    format!("appears {n} times but allows one value"),
                );
            }
        }
    }

    fn check_start_line(&self, out: &mut Sink) {
        let StartLine::Request { method, uri } = &self.start else {
            return;
        };
        if uri.starts_with('<') || uri.ends_with('>') {
            out.reject(None, format!("Request-URI {uri:?} is enclosed in <>"));
        } else if !uri.contains(':') {
            out.reject(None, format!("Request-URI {uri:?} has no scheme"));
        } else {
            let scheme = uri.split(':').next().unwrap_or_default();
            if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
                match SipUri::parse(uri) {
                    Ok(u) if u.headers.is_some() => out.reject(
                        None,
                        format!(
                            "Request-URI {uri:?} carries headers, which RFC 3261 19.1.5 forbids there"
                        ),
                    ),
                    Ok(_) => {}
                    Err(e) => out.reject(None, format!("Request-URI: {e}")),
                }
            } else if let Err(e) = check_uri(uri) {
                out.reject(None, format!("Request-URI: {e}"));
            }
        }
        if let Ok((_, cseq_method)) = self.cseq() {
            if &cseq_method != method {
                out.reject(
                    Some("CSeq"),
                    format!("CSeq method {cseq_method} differs from request method {method}"),
                );
            }
        }
    }

    fn check_core_headers(&self, out: &mut Sink) {
        if let Some(v) = self.header("CSeq") {
            match self.cseq() {
                Err(e) => out.reject(Some("CSeq"), reason_of(e)),
                Ok((_, m)) => {
                    if !m.as_str().bytes().all(is_token_char) {
                        out.reject(Some("CSeq"), format!("method in {v:?} is not a token"));
                    }
                }
            }
        }
        if let Some(v) = self.header("Call-ID") {
            if let Err(e) = check_call_id(v) {
                out.reject(Some("Call-ID"), e);
            }
        }
        for v in self.header_values("Via") {
            match Via::parse(v) {
                Err(e) => out.reject(Some("Via"), reason_of(e)),
                Ok(via) => {
                    if via.branch().is_some_and(|b| b == "z9hG4bK") {
                        out.tolerable(
                            Some("Via"),
                            "branch is the bare magic cookie z9hG4bK without a transaction identifier (RFC 4475 3.2.1)",
                        );
                    }
                }
            }
        }
        // Empty Via list elements (`a, ,b`) are invalid: via-parm *(COMMA via-parm).
        for line in self.headers_named("Via") {
            if has_empty_list_element(line) {
                out.reject(Some("Via"), "empty element in the Via list");
            }
        }
        if let Some(v) = self.header("Content-Type") {
            if let Err(e) = ContentType::parse(v) {
                out.reject(Some("Content-Type"), reason_of(e));
            }
        }
        if let Some(v) = self.header("Date") {
            if let Err(e) = check_date(v) {
                out.tolerable(Some("Date"), e);
            }
        }
        for v in self.header_values("Warning") {
            if let Err(e) = check_warning(v) {
                out.reject(Some("Warning"), e);
            }
        }
    }

    fn check_address_headers(&self, out: &mut Sink) {
        for name in ["From", "To"] {
            if let Some(v) = self.header(name) {
                if let Err(e) = NameAddr::parse(name, v) {
                    out.reject(Some(name), reason_of(e));
                }
            }
        }
        for name in ["Route", "Record-Route"] {
            for v in self.header_values(name) {
                match NameAddr::parse(name, v) {
                    Err(e) => out.reject(Some(name), reason_of(e)),
                    Ok(na) if !na.bracketed => {
                        out.reject(Some(name), format!("{v:?} must be a name-addr <…>"))
                    }
                    Ok(_) => {}
                }
            }
        }
        for line in self.headers_named("Contact") {
            if line.trim() == "*" {
                continue;
            }
            for v in super::addr::split_list(line) {
                let na = match NameAddr::parse("Contact", v) {
                    Ok(na) => na,
                    Err(e) => {
                        out.reject(Some("Contact"), reason_of(e));
                        continue;
                    }
                };
                if let Some(q) = na.param("q") {
                    if !q.is_some_and(is_qvalue) {
                        out.reject(
                            Some("Contact"),
                            format!("q={} is not a qvalue (0..1, 3 decimals)", q.unwrap_or("")),
                        );
                    }
                }
                if let Some(exp) = na.param("expires") {
                    if !exp.is_some_and(is_delta_seconds) {
                        out.tolerable(
                            Some("Contact"),
                            format!(
                                "expires={} is not a 32-bit delta-seconds value",
                                exp.unwrap_or("")
                            ),
                        );
                    }
                }
            }
        }
    }

    fn check_scalars(&self, out: &mut Sink) {
        if let Some(mf) = self.header("Max-Forwards") {
            if mf.is_empty() || !mf.bytes().all(|b| b.is_ascii_digit()) {
                out.reject(Some("Max-Forwards"), format!("{mf:?} is not 1*DIGIT"));
            } else if mf.parse::<u8>().is_err() {
                out.tolerable(
                    Some("Max-Forwards"),
                    format!("{mf:?} is not an integer 0..=255"),
                );
            }
        }
        for name in ["Expires", "Retry-After"] {
            let label = if name == "Expires" {
                "Expires"
            } else {
                "Retry-After"
            };
            if let Some(v) = self.header(name) {
                let num = v.split([';', '(']).next().unwrap_or("").trim();
                if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                    out.reject(Some(label), format!("{num:?} is not delta-seconds"));
                } else if !is_delta_seconds(num) {
                    out.tolerable(Some(label), format!("{num} exceeds 2**32-1 seconds"));
                }
            }
        }
    }

    fn check_lmpe_headers(&self, out: &mut Sink) {
        let mut push = |r: Result<(), crate::WireError>, header: &'static str| {
            if let Err(e) = r {
                out.reject(Some(header), reason_of(e));
            }
        };
        push(
            self.header_values(CallInfo::NAME)
                .try_for_each(CallInfo::validate),
            CallInfo::NAME,
        );
        push(ReplyTo::from_message(self).map(drop), ReplyTo::NAME);
        push(
            PAssertedIdentity::from_message(self).map(drop),
            PAssertedIdentity::NAME,
        );
        push(
            ResourcePriority::from_message(self)
                .and_then(|rp| rp.map_or(Ok(None), |rp| rp.esnet()).map(drop)),
            ResourcePriority::NAME,
        );
        push(HistoryInfo::from_message(self).map(drop), HistoryInfo::NAME);
        push(Reason::all_from(self).map(drop), Reason::NAME);
        push(Geolocation::from_message(self).map(drop), Geolocation::NAME);
        push(
            GeolocationRouting::from_message(self).map(drop),
            GeolocationRouting::NAME,
        );
        push(
            GeolocationError::from_message(self).map(drop),
            GeolocationError::NAME,
        );
    }
}

/// The reason text of a header error (the header name is already in the defect).
fn reason_of(e: crate::WireError) -> String {
    match e {
        crate::WireError::BadHeader { reason, .. } => reason,
        other => other.to_string(),
    }
}

fn has_empty_list_element(line: &str) -> bool {
    super::addr::split_list_raw(line).any(|item| item.trim().is_empty())
}

/// `callid = word [ "@" word ]` (RFC 3261 25.1).
fn check_call_id(v: &str) -> Result<(), String> {
    let is_word =
        |w: &str| !w.is_empty() && w.bytes().all(|b| super::chars::is(&super::chars::WORD, b));
    let ok = match v.split_once('@') {
        Some((a, b)) => is_word(a) && is_word(b),
        None => is_word(v),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{v:?} is not word [\"@\" word]"))
    }
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`.
fn is_qvalue(q: &str) -> bool {
    let (int, frac) = q.split_once('.').unwrap_or((q, ""));
    frac.len() <= 3
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || (int == "1" && frac.bytes().all(|b| b == b'0')))
}

fn is_delta_seconds(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && v.parse::<u32>().is_ok()
}

/// `rfc1123-date = wkday "," SP date1 SP time SP "GMT"` (RFC 3261 25.1).
fn check_date(v: &str) -> Result<(), String> {
    const WKDAY: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTH: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let err = |what: &str| Err(format!("{v:?} is not an RFC 1123 date: {what}"));
    let Some((wkday, rest)) = v.split_once(", ") else {
        return err("expected `wkday, `");
    };
    if !WKDAY.contains(&wkday) {
        return err("unknown weekday");
    }
    let f: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, zone] = f.as_slice() else {
        return err("expected `DD Mon YYYY HH:MM:SS GMT`");
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(day, 2) || !(1..=31).contains(&day.parse::<u8>().unwrap_or(0)) {
        return err("bad day");
    }
    if !MONTH.contains(month) {
        return err("unknown month");
    }
    if !digits(year, 4) {
        return err("bad year");
    }
    let t: Vec<&str> = time.split(':').collect();
    let ok_time = t.len() == 3
        && t.iter().all(|x| digits(x, 2))
        && t[0] < "24"
        && t[1] < "60"
        && t[2] <= "60";
    if !ok_time {
        return err("bad time");
    }
    if *zone != "GMT" {
        return err(&format!("time zone {zone:?} is not GMT (RFC 3261 20.17)"));
    }
    Ok(())
}

/// `warning-value = warn-code SP warn-agent SP warn-text`, `warn-code = 3DIGIT`.
fn check_warning(v: &str) -> Result<(), String> {
    let mut it = v.splitn(3, ' ');
    let (code, agent, text) = (it.next().unwrap_or(""), it.next(), it.next());
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("warn-code {code:?} is not 3DIGIT"));
    }
    if agent.is_none_or(str::is_empty) {
        return Err(format!("{v:?} has no warn-agent"));
    }
    let text = text.unwrap_or("").trim();
    match super::addr::scan_quoted(text) {
        Ok((_, "")) => Ok(()),
        _ => Err(format!("warn-text {text:?} is not a quoted-string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_helpers() {
        assert!(check_date("Sat, 15 Oct 2005 04:44:56 GMT").is_ok());
        assert!(check_date("Fri, 01 Jan 2010 16:00:00 EST").is_err());
        assert!(check_date("Fri, 1 Jan 2010 16:00:00 GMT").is_err());
        assert!(check_warning("399 example.com \"Incompatible\"").is_ok());
        assert!(check_warning("1812 overture \"In Progress\"").is_err());
        assert!(check_call_id("a@b").is_ok());
        assert!(check_call_id("a b").is_err());
        assert!(check_call_id("a@b@c").is_err());
        assert!(is_qvalue("0.33") && is_qvalue("1") && is_qvalue("1.000") && is_qvalue("0."));
        assert!(!is_qvalue("1.1") && !is_qvalue("0.1234") && !is_qvalue("2"));
        assert!(has_empty_list_element("a;;,;,,"));
        assert!(!has_empty_list_element("a, b"));
        assert!(!has_empty_list_element("\"x,y\" a, b"));
    }
}
