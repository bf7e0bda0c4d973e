//! `name-addr` / `addr-spec` values with parameters (RFC 3261 25.1), and list splitting.

use std::fmt;

use crate::WireError;

/// A `;name[=value]` parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Parameter name (case preserved; compare case-insensitively).
    pub name: String,
    /// Value without surrounding quotes, if any.
    pub value: Option<String>,
}

/// Splits a header value on top-level commas (not inside `"…"` or `<…>`), trimming each item.
/// Empty items are dropped.
pub fn split_list(value: &str) -> impl Iterator<Item = &str> + '_ {
    let mut items = Vec::new();
    let bytes = value.as_bytes();
    let (mut start, mut in_quote, mut in_angle, mut i) = (0usize, false, false, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quote => i += 1,
            b'"' => in_quote = !in_quote,
            b'<' if !in_quote => in_angle = true,
            b'>' if !in_quote => in_angle = false,
            b',' if !in_quote && !in_angle => {
                items.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    items.push(&value[start.min(value.len())..]);
    items.into_iter().map(str::trim).filter(|s| !s.is_empty())
}

/// Splits `;`-separated parameters (outside quotes) into [`Param`]s.
pub(crate) fn parse_params(text: &str) -> Result<Vec<Param>, String> {
    let mut params = Vec::new();
    let bytes = text.as_bytes();
    let (mut start, mut in_quote, mut i) = (0usize, false, 0usize);
    let mut pieces = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quote => i += 1,
            b'"' => in_quote = !in_quote,
            b';' if !in_quote => {
                pieces.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if in_quote {
        return Err("unterminated quoted string in parameters".into());
    }
    pieces.push(&text[start.min(text.len())..]);
    for p in pieces {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let (name, value) = match p.split_once('=') {
            Some((n, v)) => {
                let v = v.trim();
                let v = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
                    v[1..v.len() - 1].to_string()
                } else {
                    v.to_string()
                };
                (n.trim().to_string(), Some(v))
            }
            None => (p.to_string(), None),
        };
        if name.is_empty() || !name.bytes().all(is_token_char) {
            return Err(format!("parameter name {name:?} is not a token"));
        }
        params.push(Param { name, value });
    }
    Ok(params)
}

/// RFC 3261 `token` characters.
pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// A `name-addr` (`"Display" <uri>;params`) or `addr-spec` (`uri;params`) with header parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name without quotes, if present.
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
    pub fn parse(header: &'static str, text: &str) -> Result<Self, WireError> {
        let bad = |reason: String| WireError::BadHeader { header, reason };
        let text = text.trim();
        if text.is_empty() {
            return Err(bad("empty value".into()));
        }
        if let Some(lt) = find_unquoted(text, b'<') {
            let display_raw = text[..lt].trim();
            let display = if display_raw.is_empty() {
                None
            } else if let Some(inner) = display_raw
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
            {
                Some(inner.to_string())
            } else if display_raw.starts_with('"') {
                return Err(bad("unterminated quoted display name".into()));
            } else {
                if !display_raw
                    .split_whitespace()
                    .all(|w| w.bytes().all(is_token_char))
                {
                    return Err(bad(format!(
                        "display name {display_raw:?} has non-token characters and is not quoted"
                    )));
                }
                Some(display_raw.to_string())
            };
            let rest = &text[lt + 1..];
            let gt = rest
                .find('>')
                .ok_or_else(|| bad("'<' without matching '>'".into()))?;
            let uri = rest[..gt].trim();
            if uri.is_empty() {
                return Err(bad("empty URI in <>".into()));
            }
            if uri.contains(char::is_whitespace) {
                return Err(bad(format!("URI {uri:?} contains white space")));
            }
            let after = rest[gt + 1..].trim();
            let params = match after.strip_prefix(';') {
                Some(p) => parse_params(p).map_err(bad)?,
                None if after.is_empty() => Vec::new(),
                None => return Err(bad(format!("unexpected text {after:?} after URI"))),
            };
            Ok(Self {
                display,
                uri: uri.to_string(),
                params,
                bracketed: true,
            })
        } else {
            if text.starts_with('"') {
                return Err(bad("quoted display name without <URI>".into()));
            }
            // addr-spec: parameters after ';' are header parameters (RFC 3261 20.10).
            let (uri, params) = match text.find(';') {
                Some(i) => (&text[..i], parse_params(&text[i + 1..]).map_err(bad)?),
                None => (text, Vec::new()),
            };
            if uri.contains(char::is_whitespace) {
                return Err(bad(format!("URI {uri:?} contains white space")));
            }
            if !uri.contains(':') {
                return Err(bad(format!("{uri:?} is not a URI (no scheme)")));
            }
            Ok(Self {
                display: None,
                uri: uri.to_string(),
                params,
                bracketed: false,
            })
        }
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
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "\"{}\" ", d.replace('\\', "\\\\").replace('"', "\\\""))?;
        }
        if self.bracketed || self.display.is_some() {
            write!(f, "<{}>", self.uri)?;
        } else {
            f.write_str(&self.uri)?;
        }
        for p in &self.params {
            match &p.value {
                Some(v) if v.bytes().all(is_token_char) && !v.is_empty() => {
                    write!(f, ";{}={}", p.name, v)?
                }
                Some(v) => write!(f, ";{}=\"{}\"", p.name, v)?,
                None => write!(f, ";{}", p.name)?,
            }
        }
        Ok(())
    }
}

fn find_unquoted(text: &str, needle: u8) -> Option<usize> {
    let mut in_quote = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quote => i += 1,
            b'"' => in_quote = !in_quote,
            b if b == needle && !in_quote => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn rejects_malformed() {
        assert!(NameAddr::parse("From", r#""unterminated <sip:a@b>"#).is_err());
        assert!(NameAddr::parse("From", "<sip:a@b").is_err());
        assert!(NameAddr::parse("From", "sip:a b@c").is_err());
        assert!(NameAddr::parse("From", "").is_err());
    }
}
