//! `name-addr` / `addr-spec` values with parameters (RFC 3261 25.1), and list splitting.

use std::fmt;

use super::chars;
use super::uri::check_uri;
use crate::WireError;

/// A `;name[=value]` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Parameter name (case preserved; compare case-insensitively).
    pub name: String,
    /// Value without surrounding quotes and with quoted-pairs resolved, if any.
    pub value: Option<String>,
}

impl Param {
    /// A parameter with a value.
    pub fn new(name: &str, value: &str) -> Self {
        Self {
            name: name.to_string(),
            value: Some(value.to_string()),
        }
    }

    /// A parameter without value (a flag such as `lr`).
    pub fn flag(name: &str) -> Self {
        Self {
            name: name.to_string(),
            value: None,
        }
    }
}

impl fmt::Display for Param {
    /// `name`, `name=value` (token or host) or `name="quoted value"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match &self.value {
            None => Ok(()),
            Some(v) if !v.is_empty() && v.bytes().all(is_gen_value_char) => write!(f, "={v}"),
            Some(v) => {
                f.write_str("=")?;
                write_quoted(f, v)
            }
        }
    }
}

/// Writes `;p1;p2=v` for each parameter.
pub(crate) fn write_params(f: &mut fmt::Formatter<'_>, params: &[Param]) -> fmt::Result {
    for p in params {
        write!(f, ";{p}")?;
    }
    Ok(())
}

/// Writes `value` as a quoted-string, escaping `"`, `\` and control characters.
pub(crate) fn write_quoted(f: &mut fmt::Formatter<'_>, value: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in value.chars() {
        if c == '"' || c == '\\' || (c.is_ascii_control() && c != '\t') {
            f.write_str("\\")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

/// Characters of an unquoted `gen-value` (`token / host`; `:` `[` `]` for IPv6 hosts).
fn is_gen_value_char(b: u8) -> bool {
    chars::is(&chars::GEN_VALUE, b)
}

/// Splits a header value on top-level commas (not inside `"…"` or `<…>`), trimming each item.
/// Empty items are dropped. Inside `<…>` a `"` has no meaning. Does not allocate.
pub fn split_list(value: &str) -> impl Iterator<Item = &str> + '_ {
    SplitList { rest: Some(value) }
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Like [`split_list`] but keeps empty items (untrimmed), to detect `a,,b`.
pub(crate) fn split_list_raw(value: &str) -> impl Iterator<Item = &str> + '_ {
    SplitList { rest: Some(value) }
}

struct SplitList<'a> {
    rest: Option<&'a str>,
}

impl<'a> Iterator for SplitList<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let value = self.rest?;
        let bytes = value.as_bytes();
        if !bytes.contains(&b',') {
            // Fast path (most header lines hold one value): no scan for quotes or brackets.
            self.rest = None;
            return Some(value);
        }
        let (mut in_quote, mut in_angle, mut i) = (false, false, 0usize);
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if in_quote => i += 1,
                b'"' if !in_angle => in_quote = !in_quote,
                b'<' if !in_quote => in_angle = true,
                b'>' if !in_quote => in_angle = false,
                b',' if !in_quote && !in_angle => {
                    self.rest = Some(&value[i + 1..]);
                    return Some(&value[..i]);
                }
                _ => {}
            }
            i += 1;
        }
        self.rest = None;
        Some(value)
    }
}

/// Scans a quoted-string at the start of `text` (which must begin with `"`).
/// Returns the raw inner text (quoted-pairs not yet resolved) and the text after the closing quote.
pub(crate) fn scan_quoted(text: &str) -> Result<(&str, &str), String> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'"') {
        return Err("expected a quoted-string".into());
    }
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                if i + 1 >= bytes.len() {
                    break;
                }
                i += 2;
                continue;
            }
            b'"' => return Ok((&text[1..i], &text[i + 1..])),
            b'\r' | b'\n' => return Err("line break inside a quoted-string".into()),
            c if c < 0x20 && c != b'\t' || c == 0x7F => {
                return Err(format!(
                    "control character 0x{c:02X} inside a quoted-string must be escaped"
                ))
            }
            _ => {}
        }
        i += 1;
    }
    Err(format!("unterminated quoted-string {text:?}"))
}

/// Resolves quoted-pairs (`\x` → `x`) in the inner text of a quoted-string.
pub(crate) fn unescape_quoted(inner: &str) -> std::borrow::Cow<'_, str> {
    if !inner.contains('\\') {
        return std::borrow::Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A parameter as written: name and raw value (a quoted value keeps its quotes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawParam<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: Option<&'a str>,
}

impl<'a> RawParam<'a> {
    /// The value with quotes removed and quoted-pairs resolved.
    pub(crate) fn value(&self) -> Option<std::borrow::Cow<'a, str>> {
        self.value.map(|v| match v.strip_prefix('"') {
            Some(q) => unescape_quoted(q.strip_suffix('"').unwrap_or(q)),
            None => std::borrow::Cow::Borrowed(v),
        })
    }

    pub(crate) fn to_param(self) -> Param {
        Param {
            name: self.name.to_string(),
            value: self.value().map(std::borrow::Cow::into_owned),
        }
    }
}

/// Iterates over `;`-separated parameters (the text after the first `;`), validating each against
/// `generic-param = token [ EQUAL gen-value ]`, `gen-value = token / host / quoted-string`
/// (RFC 3261 25.1). LWS around `;` and `=` is allowed. Does not allocate unless it fails.
pub(crate) fn raw_params(text: &str) -> impl Iterator<Item = Result<RawParam<'_>, String>> + '_ {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        let bytes = t.as_bytes();
        let (mut in_quote, mut i) = (false, 0usize);
        let mut end = t.len();
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if in_quote => i += 1,
                b'"' => in_quote = !in_quote,
                b';' if !in_quote => {
                    end = i;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        rest = if end < t.len() {
            Some(&t[end + 1..])
        } else {
            None
        };
        Some(check_param(t[..end].trim()))
    })
}

fn check_param(p: &str) -> Result<RawParam<'_>, String> {
    if p.is_empty() {
        return Err("empty parameter (stray ';')".into());
    }
    let (name, value) = match p.split_once('=') {
        Some((n, v)) => (n.trim_end(), Some(v.trim_start())),
        None => (p, None),
    };
    if name.is_empty() || !name.bytes().all(is_token_char) {
        return Err(format!("parameter name {name:?} is not a token"));
    }
    if let Some(v) = value {
        if v.is_empty() {
            return Err(format!("parameter {name} has an empty value"));
        }
        if v.starts_with('"') {
            let (_, after) = scan_quoted(v).map_err(|e| format!("parameter {name}: {e}"))?;
            if !after.is_empty() {
                return Err(format!(
                    "parameter {name}: text {after:?} after the quoted-string"
                ));
            }
        } else if !v.bytes().all(is_gen_value_char) {
            return Err(format!(
                "value {v:?} of parameter {name} is neither a token, a host nor a quoted-string"
            ));
        }
    }
    Ok(RawParam { name, value })
}

/// Splits `;`-separated parameters (the text after the first `;`) into [`Param`]s.
pub(crate) fn parse_params(text: &str) -> Result<Vec<Param>, String> {
    raw_params(text)
        .map(|r| r.map(RawParam::to_param))
        .collect()
}

/// [`parse_params`] for optional parameter text (`None`: no `;` at all).
pub(crate) fn parse_params_opt(text: Option<&str>) -> Result<Vec<Param>, String> {
    text.map_or(Ok(Vec::new()), parse_params)
}

/// RFC 3261 `token` characters.
#[inline]
pub(crate) fn is_token_char(b: u8) -> bool {
    chars::is(&chars::TOKEN, b)
}

/// Splits `<uri>;params` (text starting with `<`) into the URI and the text after the first `;`
/// following `>` (`None` when there are no parameters). The URI is checked with [`check_uri`].
pub(crate) fn split_bracketed(text: &str) -> Result<(&str, Option<&str>), String> {
    let inner = text
        .strip_prefix('<')
        .ok_or_else(|| format!("{text:?} does not start with '<'"))?;
    let gt = inner
        .find('>')
        .ok_or_else(|| "'<' without matching '>'".to_string())?;
    let uri = &inner[..gt];
    if uri.is_empty() {
        return Err("empty URI in <>".into());
    }
    if let Err(e) = check_uri(uri) {
        // Name the white space precisely; the URI grammar error otherwise.
        if uri.starts_with(char::is_whitespace) || uri.ends_with(char::is_whitespace) {
            return Err(format!(
                "white space inside <{uri}> (RFC 3261 LAQUOT/RAQUOT allow none)"
            ));
        }
        if uri.contains(char::is_whitespace) {
            return Err(format!("URI {uri:?} contains white space"));
        }
        return Err(e.to_string());
    }
    let after = inner[gt + 1..].trim_start();
    if after.is_empty() {
        return Ok((uri, None));
    }
    match after.strip_prefix(';') {
        Some(p) => Ok((uri, Some(p))),
        None => Err(format!("unexpected text {after:?} after <{uri}>")),
    }
}

/// Whether the header parameters of a name-addr or addr-spec value (From, To, Contact, …)
/// include `name` (case-insensitive), without parsing the URI or allocating: the parameters
/// after the closing `>`, or after the first `;` of an addr-spec (RFC 3261 20.10). `None` when
/// the value is not structured as either (unterminated display name, `<` without `>`, a bad
/// parameter); [`NameAddr::parse`] gives the reason.
pub fn has_header_param(text: &str, name: &str) -> Option<bool> {
    let text = text.trim();
    let after_display = if text.starts_with('"') {
        scan_quoted(text).ok()?.1
    } else {
        text
    };
    let params = match after_display.find('<') {
        Some(lt) => {
            let rest = &after_display[lt..];
            let after = rest[rest.find('>')? + 1..].trim_start();
            if after.is_empty() {
                return Some(false);
            }
            after.strip_prefix(';')?
        }
        None if text.starts_with('"') => return None,
        None => match after_display.find(';') {
            Some(i) => &after_display[i + 1..],
            None => return Some(false),
        },
    };
    let mut found = false;
    for p in raw_params(params) {
        found |= p.ok()?.name.eq_ignore_ascii_case(name);
    }
    Some(found)
}

/// A `name-addr` (`"Display" <uri>;params`) or `addr-spec` (`uri;params`) with header parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name without quotes (quoted-pairs resolved), if present.
    pub display: Option<String>,
    /// The URI (without angle brackets).
    pub uri: String,
    /// Header parameters after the URI (e.g. `tag`, `purpose`, `index`).
    pub params: Vec<Param>,
    /// Whether the URI was enclosed in angle brackets.
    pub bracketed: bool,
}

impl NameAddr {
    /// A bracketed name-addr with no display name and no parameters.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            display: None,
            uri: uri.into(),
            params: Vec::new(),
            bracketed: true,
        }
    }

    /// Adds a parameter (builder style).
    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.push(Param {
            name: name.to_string(),
            value: value.map(str::to_string),
        });
        self
    }

    /// Parses one value (not a comma-separated list; use [`split_list`] first).
    ///
    /// Validates the RFC 3261 grammar: display name as tokens or one quoted-string, no white
    /// space inside `<>`, the URI (SIP-URI grammar for `sip`/`sips`, `absoluteURI` otherwise),
    /// the header parameters, and that an addr-spec contains no `?` or `,` (RFC 3261 20.10:
    /// such URIs must be enclosed in `<>`).
    pub fn parse(header: &'static str, text: &str) -> Result<Self, WireError> {
        let bad = |reason: String| WireError::BadHeader { header, reason };
        let text = text.trim();
        if text.is_empty() {
            return Err(bad("empty value".into()));
        }
        let (display, bracketed_part) = if text.starts_with('"') {
            let (inner, rest) = scan_quoted(text).map_err(|e| bad(format!("display name: {e}")))?;
            let rest = rest.trim_start();
            if !rest.starts_with('<') {
                return Err(bad("quoted display name is not followed by <URI>".into()));
            }
            (Some(unescape_quoted(inner).into_owned()), rest)
        } else if let Some(lt) = text.find('<') {
            let display_raw = text[..lt].trim();
            if !display_raw
                .split_whitespace()
                .all(|w| w.bytes().all(is_token_char))
            {
                return Err(bad(format!(
                    "display name {display_raw:?} has non-token characters and is not quoted"
                )));
            }
            let display = (!display_raw.is_empty()).then(|| display_raw.to_string());
            (display, &text[lt..])
        } else {
            // addr-spec: parameters after ';' are header parameters (RFC 3261 20.10).
            let (uri, params) = match text.find(';') {
                Some(i) => (
                    text[..i].trim_end(),
                    parse_params(&text[i + 1..]).map_err(bad)?,
                ),
                None => (text, Vec::new()),
            };
            if uri.contains(char::is_whitespace) {
                return Err(bad(format!("URI {uri:?} contains white space")));
            }
            if uri.contains(['?', ',']) {
                return Err(bad(format!(
                    "URI {uri:?} contains '?' or ',' and must be enclosed in <> (RFC 3261 20.10)"
                )));
            }
            check_uri(uri).map_err(|e| bad(e.to_string()))?;
            return Ok(Self {
                display: None,
                uri: uri.to_string(),
                params,
                bracketed: false,
            });
        };
        let (uri, params) = split_bracketed(bracketed_part).map_err(bad)?;
        Ok(Self {
            display,
            uri: uri.to_string(),
            params: parse_params_opt(params).map_err(bad)?,
            bracketed: true,
        })
    }

    /// Value of the first parameter with this name (case-insensitive); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_deref())
    }

    /// The URI scheme (lower-cased), e.g. `sip`, `urn`.
    pub fn scheme(&self) -> String {
        self.uri
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase()
    }

    /// Whether the URI scheme is `scheme` (case-insensitive), without allocating.
    pub fn has_scheme(&self, scheme: &str) -> bool {
        self.uri
            .split_once(':')
            .is_some_and(|(s, _)| s.eq_ignore_ascii_case(scheme))
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write_quoted(f, d)?;
            f.write_str(" ")?;
        }
        if self.bracketed || self.display.is_some() {
            write!(f, "<{}>", self.uri)?;
        } else {
            f.write_str(&self.uri)?;
        }
        write_params(f, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_param_lookup_agrees_with_the_full_parse() {
        for text in [
            "<sip:a@b>;tag=1",
            "<sip:a@b;tag=uri-param>",
            "<sip:a@b;tag=uri-param>;x=1",
            "\"Tag <;tag=no>\" <sip:a@b>",
            "\"Tag <;tag=no>\" <sip:a@b> ; TAG = 7",
            "Bob <sip:a@b>;Tag",
            "sip:a@b;tag=9",
            "sip:a@b",
            "urn:service:sos",
            "<urn:service:sos>",
        ] {
            let full = NameAddr::parse("To", text).map(|na| na.param("tag").is_some());
            assert_eq!(has_header_param(text, "tag"), full.ok(), "{text}");
        }
        for bad in [
            "<sip:a@b",
            "\"open <sip:a@b>",
            "<sip:a@b>;;tag=1",
            "<sip:a@b> x",
        ] {
            assert!(NameAddr::parse("To", bad).is_err(), "{bad}");
            assert_eq!(has_header_param(bad, "tag"), None, "{bad}");
        }
    }

    #[test]
    fn splits_lists_outside_quotes_and_brackets() {
        let v = r#"<urn:a,b>;purpose=x, "A, B" <sip:a@b>;tag=1,sip:c@d"#;
        let items: Vec<_> = split_list(v).collect();
        assert_eq!(
            items,
            vec![
                "<urn:a,b>;purpose=x",
                r#""A, B" <sip:a@b>;tag=1"#,
                "sip:c@d"
            ]
        );
    }

    #[test]
    fn parses_name_addr_with_params() {
        let na = NameAddr::parse("From", r#""Alice" <sip:alice@example.com>;tag=abc"#).unwrap();
        assert_eq!(na.display.as_deref(), Some("Alice"));
        assert_eq!(na.uri, "sip:alice@example.com");
        assert_eq!(na.param("tag"), Some(Some("abc")));
        assert_eq!(na.to_string(), r#""Alice" <sip:alice@example.com>;tag=abc"#);
    }

    #[test]
    fn addr_spec_params_are_header_params() {
        let na = NameAddr::parse("To", "sip:bob@example.com;tag=1").unwrap();
        assert_eq!(na.uri, "sip:bob@example.com");
        assert_eq!(na.param("tag"), Some(Some("1")));
    }

    #[test]
    fn addr_spec_is_trimmed_before_params_and_quotes_are_unescaped() {
        // RFC 4475 wsinv: LWS between the addr-spec and ';', and around '='.
        let na = NameAddr::parse(
            "To",
            "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
        )
        .unwrap();
        assert_eq!(na.uri, "sip:vivekg@chair-dnrc.example.com");
        assert_eq!(na.param("tag"), Some(Some("1918181833n")));
        let na = NameAddr::parse("From", "\"J Rosenberg \\\\\\\"\"  <sip:j@example.com>").unwrap();
        assert_eq!(na.display.as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(
            na.to_string(),
            "\"J Rosenberg \\\\\\\"\" <sip:j@example.com>"
        );
        let na = NameAddr::parse("From", "caller<sip:caller@example.com>;tag=323").unwrap();
        assert_eq!(na.display.as_deref(), Some("caller"));
        let na = NameAddr::parse("To", "<sip:a@b>;p=\"x;y\";q").unwrap();
        assert_eq!(na.param("p"), Some(Some("x;y")));
        assert_eq!(na.to_string(), "<sip:a@b>;p=\"x;y\";q");
    }

    #[test]
    fn quotes_inside_angle_brackets_do_not_split_lists() {
        let items: Vec<_> = split_list("<urn:a\"b>;x=1, <sip:c@d>").collect();
        assert_eq!(items, vec!["<urn:a\"b>;x=1", "<sip:c@d>"]);
        let raw: Vec<_> = split_list_raw("a,,b").collect();
        assert_eq!(raw, vec!["a", "", "b"]);
    }

    #[test]
    fn rejects_malformed() {
        for v in [
            "< sip:a@b>",
            "<sip:a@b >",
            "<sip:a@b>;",
            "<sip:a@b>;;tag=1",
            "<sip:a@b>;tag=",
            "<sip:a@b>;tag=a b",
            "<sip:a@b>;tag=\"x\"y",
            "sip:a@b?x=y",
            "\"a\" b <sip:a@b>",
            "a\"b <sip:a@b>",
            "<sip:a b@c>",
            "<sip:a@b> x",
            "\"ctl \u{7}\" <sip:a@b>",
        ] {
            assert!(NameAddr::parse("To", v).is_err(), "{v:?}");
        }
        assert!(NameAddr::parse("From", r#""unterminated <sip:a@b>"#).is_err());
        assert!(NameAddr::parse("From", "<sip:a@b").is_err());
        assert!(NameAddr::parse("From", "sip:a b@c").is_err());
        assert!(NameAddr::parse("From", "").is_err());
    }
}
