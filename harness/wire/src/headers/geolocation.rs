//! Geolocation, Geolocation-Routing and Geolocation-Error (RFC 6442 4.1, 4.2, 4.4).

use std::fmt;

use super::bad;
use crate::sip::{
    parse_params_opt, raw_params, split_bracketed, split_list, write_params, write_quoted, Param,
    SipMessage,
};
use crate::WireError;

/// The kind of a `locationURI` (RFC 6442 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocationUriKind {
    /// `cid:` — location by value in a body part (RFC 2392).
    Cid,
    /// `sip:` location URI.
    Sip,
    /// `sips:` location URI.
    Sips,
    /// `pres:` location URI.
    Pres,
    /// `http:` location URI.
    Http,
    /// `https:` location URI.
    Https,
    /// Any other `absoluteURI` (RFC 6442 requires review of such schemes; `geo:` is unsuitable).
    Other,
}

/// `locationValue = LAQUOT locationURI RAQUOT *( SEMI geoloc-param )`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationValue {
    /// The URI without angle brackets.
    pub uri: String,
    /// The generic parameters, in order (RFC 6442 defines none; they are kept, not removed).
    pub params: Vec<Param>,
}

impl LocationValue {
    /// A value with no parameters.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            params: Vec::new(),
        }
    }

    /// A `<cid:content-id>` value for a body part with `Content-ID: <content-id>`.
    pub fn cid(content_id: &str) -> Self {
        Self::new(format!("cid:{content_id}"))
    }

    /// Parses one locationValue.
    pub fn parse(value: &str) -> Result<Self, WireError> {
        let value = value.trim();
        if !value.starts_with('<') {
            return Err(bad(
                Geolocation::NAME,
                format!("{value:?} is not <locationURI> (RFC 6442 4.1)"),
            ));
        }
        let (uri, params) = split_bracketed(value).map_err(|e| bad(Geolocation::NAME, e))?;
        Ok(Self {
            uri: uri.to_string(),
            params: parse_params_opt(params).map_err(|e| bad(Geolocation::NAME, e))?,
        })
    }

    /// The kind of URI.
    pub fn kind(&self) -> LocationUriKind {
        let scheme = self.uri.split(':').next().unwrap_or_default();
        [
            ("cid", LocationUriKind::Cid),
            ("sip", LocationUriKind::Sip),
            ("sips", LocationUriKind::Sips),
            ("pres", LocationUriKind::Pres),
            ("http", LocationUriKind::Http),
            ("https", LocationUriKind::Https),
        ]
        .into_iter()
        .find(|(s, _)| s.eq_ignore_ascii_case(scheme))
        .map_or(LocationUriKind::Other, |(_, k)| k)
    }

    /// For a `cid:` URI, the part after `cid:` (still `%`-escaped, as RFC 2392 writes it).
    pub fn content_id(&self) -> Option<&str> {
        (self.kind() == LocationUriKind::Cid).then(|| &self.uri[4..])
    }

    /// Value of a parameter (name case-insensitive); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_deref())
    }

    /// The `inserted-by` parameter (from the RFC 6442 drafts; a generic-param in the RFC).
    pub fn inserted_by(&self) -> Option<&str> {
        self.param("inserted-by").flatten()
    }

    /// Whether the `used-for-routing` parameter is present (from the RFC 6442 drafts).
    pub fn used_for_routing(&self) -> bool {
        self.param("used-for-routing").is_some()
    }
}

impl fmt::Display for LocationValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.uri)?;
        write_params(f, &self.params)
    }
}

/// `Geolocation: locationValue *( COMMA locationValue )` (RFC 6442 4.1), at least one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geolocation {
    /// The location values in order (an intermediary appends its own last).
    pub values: Vec<LocationValue>,
}

impl Geolocation {
    /// The header name.
    pub const NAME: &'static str = "Geolocation";

    /// A header with one value.
    pub fn new(value: LocationValue) -> Self {
        Self {
            values: vec![value],
        }
    }

    /// Parses a header line.
    pub fn parse(value: &str) -> Result<Self, WireError> {
        let values = split_list(value)
            .map(LocationValue::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if values.is_empty() {
            return Err(bad(Self::NAME, "at least one locationValue is required"));
        }
        Ok(Self { values })
    }

    /// All location values of all Geolocation lines, if any.
    pub fn from_message(msg: &SipMessage) -> Result<Option<Self>, WireError> {
        let values = msg
            .header_values(Self::NAME)
            .map(LocationValue::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((!values.is_empty()).then_some(Self { values }))
    }

    /// The content ids referenced by `cid:` values, in order.
    pub fn content_ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.values.iter().filter_map(LocationValue::content_id)
    }
}

impl fmt::Display for Geolocation {
    /// Values separated by `, `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            v.fmt(f)?;
        }
        Ok(())
    }
}

/// `Geolocation-Routing: "yes" / "no" / generic-value` (RFC 6442 4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeolocationRouting {
    /// Location may be used for routing.
    Yes,
    /// Location must not be viewed by intermediaries (the default when the header is absent).
    No,
    /// A future extension value; treated as [`No`](Self::No) by [`allows_routing`](Self::allows_routing).
    Other(Param),
}

impl GeolocationRouting {
    /// The header name.
    pub const NAME: &'static str = "Geolocation-Routing";

    /// Parses the value (`yes`/`no` case-insensitively, as ABNF literals are).
    pub fn parse(value: &str) -> Result<Self, WireError> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("yes") {
            return Ok(Self::Yes);
        }
        if value.eq_ignore_ascii_case("no") {
            return Ok(Self::No);
        }
        if value.is_empty() {
            return Err(bad(Self::NAME, "empty value"));
        }
        if value.contains([',', ';']) {
            return Err(bad(
                Self::NAME,
                format!("{value:?} is not a single yes / no / generic-value"),
            ));
        }
        let mut it = raw_params(value);
        match (it.next(), it.next()) {
            (Some(Ok(p)), None) => Ok(Self::Other(p.to_param())),
            (Some(Err(e)), _) => Err(bad(Self::NAME, e)),
            _ => Err(bad(Self::NAME, format!("{value:?} is not a generic-value"))),
        }
    }

    /// The message's value: [`No`](Self::No) when absent (RFC 6442 4.2); an error when malformed
    /// or present more than once.
    pub fn from_message(msg: &SipMessage) -> Result<Self, WireError> {
        let mut lines = msg.headers_named(Self::NAME);
        match (lines.next(), lines.next()) {
            (None, _) => Ok(Self::No),
            (Some(v), None) => Self::parse(v),
            (Some(_), Some(_)) => Err(bad(Self::NAME, "header appears more than once")),
        }
    }

    /// Whether intermediaries may route on location (only for `yes`).
    pub fn allows_routing(&self) -> bool {
        matches!(self, Self::Yes)
    }
}

impl fmt::Display for GeolocationRouting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Yes => f.write_str("yes"),
            Self::No => f.write_str("no"),
            Self::Other(p) => p.fmt(f),
        }
    }
}

/// `Geolocation-Error: location-error-code *( SEMI location-error-params )` (RFC 6442 4.4),
/// with `code="text"` split out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeolocationError {
    /// The error code (1 to 3 digits: 100 cannot process, 2xx permission, 300 dereference).
    pub code: u16,
    /// The `code` parameter text, unquoted.
    pub text: Option<String>,
    /// Other parameters.
    pub params: Vec<Param>,
}

impl GeolocationError {
    /// The header name.
    pub const NAME: &'static str = "Geolocation-Error";

    /// An error with a code and its text.
    pub fn new(code: u16, text: &str) -> Self {
        Self {
            code,
            text: Some(text.to_string()),
            params: Vec::new(),
        }
    }

    /// Parses the value.
    pub fn parse(value: &str) -> Result<Self, WireError> {
        let value = value.trim();
        let (code, params) = match value.find(';') {
            Some(i) => (value[..i].trim_end(), Some(&value[i + 1..])),
            None => (value, None),
        };
        if code.is_empty() || code.len() > 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                Self::NAME,
                format!("location-error-code {code:?} is not 1*3DIGIT"),
            ));
        }
        let mut out = Self {
            code: code.parse().map_err(|_| bad(Self::NAME, "bad code"))?,
            text: None,
            params: Vec::new(),
        };
        for p in params.map(raw_params).into_iter().flatten() {
            let p = p.map_err(|e| bad(Self::NAME, e))?;
            if p.name.eq_ignore_ascii_case("code") {
                if !p.value.is_some_and(|v| v.starts_with('"')) {
                    return Err(bad(Self::NAME, "code text must be a quoted-string"));
                }
                let t = p.value().map(std::borrow::Cow::into_owned);
                if std::mem::replace(&mut out.text, t).is_some() {
                    return Err(bad(Self::NAME, "code parameter appears twice"));
                }
            } else {
                out.params.push(p.to_param());
            }
        }
        Ok(out)
    }

    /// The message's Geolocation-Error, if present.
    pub fn from_message(msg: &SipMessage) -> Result<Option<Self>, WireError> {
        let mut lines = msg.headers_named(Self::NAME);
        match (lines.next(), lines.next()) {
            (None, _) => Ok(None),
            (Some(v), None) => Self::parse(v).map(Some),
            (Some(_), Some(_)) => Err(bad(Self::NAME, "header appears more than once")),
        }
    }
}

impl fmt::Display for GeolocationError {
    /// `code;code="text";params`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(t) = &self.text {
            f.write_str(";code=")?;
            write_quoted(f, t)?;
        }
        write_params(f, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values() {
        let g = Geolocation::parse(
            "<cid:target123@atlanta.example.com>, <sips:target123@server5.atlanta.example.com>;inserted-by=\"bcf.example\";used-for-routing",
        )
        .unwrap();
        assert_eq!(g.values[0].kind(), LocationUriKind::Cid);
        assert_eq!(
            g.content_ids().collect::<Vec<_>>(),
            vec!["target123@atlanta.example.com"]
        );
        assert_eq!(g.values[1].kind(), LocationUriKind::Sips);
        assert_eq!(g.values[1].inserted_by(), Some("bcf.example"));
        assert!(g.values[1].used_for_routing());
        assert_eq!(
            g.to_string(),
            "<cid:target123@atlanta.example.com>, <sips:target123@server5.atlanta.example.com>;inserted-by=bcf.example;used-for-routing"
        );
        assert_eq!(
            LocationValue::parse("<https://ls.example.com/loc/1>")
                .unwrap()
                .kind(),
            LocationUriKind::Https
        );
        for bad in ["cid:x@y", "<cid:x@y", "", "<cid:x y>", "<cid:x@y>;;a"] {
            assert!(Geolocation::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn routing_and_error() {
        assert_eq!(
            GeolocationRouting::parse("YES").unwrap(),
            GeolocationRouting::Yes
        );
        assert_eq!(
            GeolocationRouting::parse(" no ").unwrap(),
            GeolocationRouting::No
        );
        let o = GeolocationRouting::parse("maybe=\"later\"").unwrap();
        assert!(!o.allows_routing());
        assert_eq!(o.to_string(), "maybe=later");
        for bad in ["", "yes, no", "yes;x", "a b"] {
            assert!(GeolocationRouting::parse(bad).is_err(), "{bad:?}");
        }
        let e = GeolocationError::parse("100 ; code=\"Cannot Process Location\"").unwrap();
        assert_eq!(e.code, 100);
        assert_eq!(e.to_string(), "100;code=\"Cannot Process Location\"");
        for bad in [
            "",
            "1000",
            "abc",
            "100;code=unquoted",
            "100;code=\"a\";code=\"b\"",
        ] {
            assert!(GeolocationError::parse(bad).is_err(), "{bad:?}");
        }
    }
}
