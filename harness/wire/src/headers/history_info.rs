//! History-Info (RFC 4244, updated by RFC 7044) with embedded Reason (RFC 3326),
//! as TS 103 698 6.1.2.6 requires for retargeting.

use std::fmt;

use super::{bad, Reason};
use crate::sip::{
    check_uri, is_hvalue_char, percent_decode, percent_encode, split_list, write_params,
    write_quoted, NameAddr, Param, SipMessage, SipUri,
};
use crate::WireError;

const NAME: &str = "History-Info";

/// `hi-index = 1*DIGIT *( "." 1*DIGIT )`. Orders like the RFC reads it:
/// `1 < 1.1 < 1.1.1 < 1.2 < 2`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HiIndex(Vec<u32>);

impl HiIndex {
    /// The first index, `1`.
    pub fn root() -> Self {
        Self(vec![1])
    }

    /// An index from its components; `None` if empty.
    pub fn from_components(components: &[u32]) -> Option<Self> {
        (!components.is_empty()).then(|| Self(components.to_vec()))
    }

    /// Parses `1.2.3`.
    pub fn parse(text: &str) -> Result<Self, WireError> {
        let mut out = Vec::with_capacity(4);
        for c in text.split('.') {
            if c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(
                    NAME,
                    format!("index {text:?} is not 1*DIGIT *(\".\" 1*DIGIT)"),
                ));
            }
            out.push(c.parse().map_err(|_| {
                bad(
                    NAME,
                    format!("index component {c} of {text:?} is too large"),
                )
            })?);
        }
        Ok(Self(out))
    }

    /// The components.
    pub fn components(&self) -> &[u32] {
        &self.0
    }

    /// The index of the `n`-th child (`1.2` → `1.2.n`): a request forwarded by the element that
    /// added this entry (RFC 4244 4.3.3.1.1).
    pub fn child(&self, n: u32) -> Self {
        let mut c = self.0.clone();
        c.push(n);
        Self(c)
    }

    /// The next index at the same level (`1.2` → `1.3`): the next branch of the same element.
    pub fn next_sibling(&self) -> Self {
        let mut c = self.0.clone();
        if let Some(last) = c.last_mut() {
            *last = last.saturating_add(1);
        }
        Self(c)
    }

    /// The parent index (`1.2` → `1`), `None` at the top level.
    pub fn parent(&self) -> Option<Self> {
        (self.0.len() > 1).then(|| Self(self.0[..self.0.len() - 1].to_vec()))
    }
}

impl fmt::Display for HiIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// One `hi-entry = hi-targeted-to-uri *( ";" hi-param )`.
///
/// The embedded headers of a SIP/SIPS `hi-targeted-to-uri` are split out: `Reason` values are
/// unescaped and parsed into [`reasons`](Self::reasons), others are kept escaped in
/// [`headers`](Self::headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiEntry {
    /// Display name, if any.
    pub display: Option<String>,
    /// The targeted-to URI without its `?headers` component.
    pub target: String,
    /// Reason values embedded as `?Reason=…`.
    pub reasons: Vec<Reason>,
    /// Other embedded headers as `(hname, hvalue)`, still `%`-escaped.
    pub headers: Vec<(String, String)>,
    /// The `index` parameter.
    pub index: HiIndex,
    /// Other parameters (`rc`, `mp`, `np` of RFC 7044, extensions), in order.
    pub params: Vec<Param>,
}

impl HiEntry {
    /// An entry without reason.
    pub fn new(target: impl Into<String>, index: HiIndex) -> Self {
        Self {
            display: None,
            target: target.into(),
            reasons: Vec::new(),
            headers: Vec::new(),
            index,
            params: Vec::new(),
        }
    }

    /// Adds an embedded Reason (builder style).
    pub fn with_reason(mut self, reason: Reason) -> Self {
        self.reasons.push(reason);
        self
    }

    /// The first embedded Reason.
    pub fn reason(&self) -> Option<&Reason> {
        self.reasons.first()
    }

    /// Parses one entry. The `index` parameter is required (RFC 7044 9.1).
    pub fn parse(value: &str) -> Result<Self, WireError> {
        let na = NameAddr::parse(NAME, value)?;
        if !na.bracketed {
            return Err(bad(
                NAME,
                format!("hi-targeted-to-uri {:?} must be a name-addr <…>", na.uri),
            ));
        }
        let is_sip = na.has_scheme("sip") || na.has_scheme("sips");
        let mut index = None;
        let mut params = Vec::with_capacity(na.params.len());
        for p in na.params {
            if p.name.eq_ignore_ascii_case("index") {
                let i = HiIndex::parse(p.value.as_deref().unwrap_or(""))?;
                if index.replace(i).is_some() {
                    return Err(bad(NAME, "index appears twice in one entry"));
                }
            } else {
                params.push(p);
            }
        }
        let index = index.ok_or_else(|| bad(NAME, format!("entry {value:?} has no index")))?;
        let mut entry = Self {
            display: na.display,
            target: na.uri.clone(),
            reasons: Vec::new(),
            headers: Vec::new(),
            index,
            params,
        };
        if is_sip {
            let uri = SipUri::parse(&na.uri).map_err(|e| bad(NAME, e.to_string()))?;
            if let Some(h) = uri.headers {
                entry.target = na.uri[..na.uri.len() - h.len() - 1].to_string();
                for (name, v) in uri.headers() {
                    if name.eq_ignore_ascii_case("Reason") {
                        let text = percent_decode(v).map_err(|e| bad(NAME, e.to_string()))?;
                        entry.reasons.extend(
                            Reason::parse_list(&text).map_err(|e| bad(NAME, e.to_string()))?,
                        );
                    } else {
                        entry.headers.push((name.to_string(), v.to_string()));
                    }
                }
            }
        } else if let Some((target, query)) = na.uri.split_once('?') {
            // Non-SIP targets (e.g. the service URN an ESRP retargeted from) have no headers
            // component in their own grammar, but elements do escape a Reason into them the
            // SIP way; read `?Reason=…` liberally so the reason is never lost.
            let mut reasons = Vec::new();
            let mut others = Vec::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (name, v) = pair.split_once('=').unwrap_or((pair, ""));
                if name.eq_ignore_ascii_case("Reason") {
                    let text = percent_decode(v).map_err(|e| bad(NAME, e.to_string()))?;
                    reasons
                        .extend(Reason::parse_list(&text).map_err(|e| bad(NAME, e.to_string()))?);
                } else {
                    others.push((name.to_string(), v.to_string()));
                }
            }
            if !reasons.is_empty() {
                entry.target = target.to_string();
                entry.reasons = reasons;
                entry.headers = others;
            }
        }
        Ok(entry)
    }

    /// The full hi-targeted-to-uri, with Reason and other headers escaped into it.
    pub fn uri(&self) -> String {
        let mut uri = self.target.clone();
        let mut sep = '?';
        for r in &self.reasons {
            uri.push(sep);
            uri.push_str("Reason=");
            uri.push_str(&percent_encode(&r.to_string(), is_hvalue_char));
            sep = '&';
        }
        for (n, v) in &self.headers {
            uri.push(sep);
            uri.push_str(n);
            uri.push('=');
            uri.push_str(v);
            sep = '&';
        }
        uri
    }
}

impl fmt::Display for HiEntry {
    /// `["display" ]<uri?Reason=…>;index=N;params`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write_quoted(f, d)?;
            f.write_str(" ")?;
        }
        write!(f, "<{}>;index={}", self.uri(), self.index)?;
        write_params(f, &self.params)
    }
}

/// `History-Info: hi-entry *( "," hi-entry )`, entries in header order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryInfo {
    /// The entries.
    pub entries: Vec<HiEntry>,
}

impl HistoryInfo {
    /// The header name.
    pub const NAME: &'static str = NAME;

    /// Parses a header line.
    pub fn parse(value: &str) -> Result<Self, WireError> {
        let entries = split_list(value)
            .map(HiEntry::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if entries.is_empty() {
            return Err(bad(NAME, "no entry"));
        }
        Self::check(entries)
    }

    fn check(entries: Vec<HiEntry>) -> Result<Self, WireError> {
        for (i, e) in entries.iter().enumerate() {
            if entries[..i].iter().any(|o| o.index == e.index) {
                return Err(bad(NAME, format!("index {} appears twice", e.index)));
            }
        }
        Ok(Self { entries })
    }

    /// All entries of all History-Info lines, if any.
    pub fn from_message(msg: &SipMessage) -> Result<Option<Self>, WireError> {
        let entries = msg
            .header_values(NAME)
            .map(HiEntry::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if entries.is_empty() {
            return Ok(None);
        }
        Self::check(entries).map(Some)
    }

    /// The index a new entry appended by a retargeting element gets: `1` for the first entry,
    /// otherwise the first child of the last entry (RFC 4244 4.3.3.1.1).
    pub fn next_index(&self) -> HiIndex {
        self.entries
            .last()
            .map_or_else(HiIndex::root, |e| e.index.child(1))
    }

    /// Appends an entry for a retarget to `target`, with an optional Reason (why the request was
    /// retargeted), at [`next_index`](Self::next_index). Returns the new entry.
    pub fn append(&mut self, target: &str, reason: Option<Reason>) -> Result<&HiEntry, WireError> {
        check_uri(target).map_err(|e| bad(NAME, e.to_string()))?;
        if target.contains('?') {
            return Err(bad(
                NAME,
                "target must not carry headers; pass the Reason separately",
            ));
        }
        let mut entry = HiEntry::new(target, self.next_index());
        entry.reasons.extend(reason);
        self.entries.push(entry);
        let last = self.entries.len() - 1;
        Ok(&self.entries[last])
    }

    /// The entry with the highest index, i.e. the latest target.
    pub fn latest(&self) -> Option<&HiEntry> {
        self.entries.iter().max_by(|a, b| a.index.cmp(&b.index))
    }
}

impl fmt::Display for HistoryInfo {
    /// Entries separated by `,`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            e.fmt(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::{Method, RequestBuilder};

    #[test]
    fn parses_entries_with_escaped_reason() {
        let h = HistoryInfo::parse(
            "<sip:UserA@ims.example.com?Reason=SIP%3Bcause%3D302%3Btext%3D%22Moved%20Temporarily%22>;index=1.1, <sip:psap@example.at;lr>;index=1.1.1;rc=1.1",
        )
        .unwrap();
        assert_eq!(h.entries.len(), 2);
        let e = &h.entries[0];
        assert_eq!(e.target, "sip:UserA@ims.example.com");
        assert_eq!(e.index.to_string(), "1.1");
        let r = e.reason().unwrap();
        assert_eq!((r.protocol.as_str(), r.cause), ("SIP", Some(302)));
        assert_eq!(r.text.as_deref(), Some("Moved Temporarily"));
        assert_eq!(
            e.to_string(),
            "<sip:UserA@ims.example.com?Reason=SIP%3Bcause%3D302%3Btext%3D%22Moved%20Temporarily%22>;index=1.1"
        );
        assert_eq!(h.entries[1].params[0].name, "rc");
        assert_eq!(h.latest().unwrap().target, "sip:psap@example.at;lr");
    }

    #[test]
    fn builds_entries() {
        let msg = RequestBuilder::new(Method::Message, "urn:service:sos")
            .header("History-Info", "<sip:target@dec112.at>;index=1")
            .build();
        let mut h = HistoryInfo::from_message(&msg).unwrap().unwrap();
        let e = h
            .append(
                "sip:psap2@example.at",
                Some(Reason::sip(302, "PSAP overloaded")),
            )
            .unwrap();
        assert_eq!(e.index.to_string(), "1.1");
        assert_eq!(
            h.to_string(),
            "<sip:target@dec112.at>;index=1,<sip:psap2@example.at?Reason=SIP%3Bcause%3D302%3Btext%3D%22PSAP%20overloaded%22>;index=1.1"
        );
        let back = HistoryInfo::parse(&h.to_string()).unwrap();
        assert_eq!(back, h);
        assert_eq!(
            HiIndex::parse("1.2").unwrap().next_sibling().to_string(),
            "1.3"
        );
        assert_eq!(
            HiIndex::parse("1.2").unwrap().parent(),
            Some(HiIndex::root())
        );
        assert!(HiIndex::parse("1").unwrap() < HiIndex::parse("1.1").unwrap());
        assert!(HiIndex::parse("1.1.9").unwrap() < HiIndex::parse("1.2").unwrap());
        assert_eq!(HistoryInfo::default().next_index(), HiIndex::root());
    }

    #[test]
    fn rejects_malformed() {
        for v in [
            "sip:a@b;index=1",
            "<sip:a@b>",
            "<sip:a@b>;index=",
            "<sip:a@b>;index=1.",
            "<sip:a@b>;index=.1",
            "<sip:a@b>;index=1..2",
            "<sip:a@b>;index=a",
            "<sip:a@b>;index=99999999999",
            "<sip:a@b>;index=1;index=2",
            "<sip:a@b?Reason=SIP%3Bcause%3Dx>;index=1",
            "<sip:a@b?Reason=%ZZ>;index=1",
            "<sip:a@b>;index=1, <sip:c@d>;index=1",
        ] {
            assert!(HistoryInfo::parse(v).is_err(), "{v:?}");
        }
    }

    #[test]
    fn reason_escaped_into_a_service_urn_is_read() {
        let hi = HistoryInfo::parse(
            "<urn:service:sos?Reason=SIP%3Bcause%3D302%3Btext%3D%22routed%22>;index=1, <sip:psap@10.0.0.5>;index=1.1",
        )
        .unwrap();
        assert_eq!(hi.entries[0].target, "urn:service:sos");
        let r = hi.entries[0].reason().unwrap();
        assert_eq!((r.protocol.as_str(), r.cause), ("SIP", Some(302)));
        assert_eq!(hi.entries[1].target, "sip:psap@10.0.0.5");
    }
}
