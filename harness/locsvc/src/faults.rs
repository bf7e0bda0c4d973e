//! Deliberate faults of the simulated ECRF and LIS, by name, for robustness tests and for
//! proving that location checks fail ("broken peer").

use std::time::Duration;

use crate::LocsvcError;

/// Default delay of `ecrf-slow` and `lis-slow`.
pub const SLOW_DELAY: Duration = Duration::from_secs(5);

/// `NAME:SECONDS` → that delay; `None` when `name` is not `NAME:…`.
fn slow_suffix(name: &str, base: &str) -> Result<Option<Duration>, LocsvcError> {
    let Some(secs) = name.strip_prefix(base).and_then(|r| r.strip_prefix(':')) else {
        return Ok(None);
    };
    secs.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && (0.0..=3600.0).contains(s))
        .map(|s| Some(Duration::from_secs_f64(s)))
        .ok_or_else(|| LocsvcError::UnknownFault(name.to_owned()))
}

/// Deliberate deviations of the ECRF from RFC 5222 / the data it serves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EcrfFaults {
    /// Answer every request with a plain-text body that is not XML.
    pub not_xml: bool,
    /// Answer with a LoST document cut off in the middle (not well-formed).
    pub malformed_xml: bool,
    /// Answer with the right document in a wrong namespace (`urn:ietf:params:xml:ns:lost2`).
    pub wrong_namespace: bool,
    /// Answer only after this delay.
    pub slow: Option<Duration>,
    /// Return a by-value service boundary with coordinates far outside WGS 84 ranges, written
    /// with hundreds of digits.
    pub oversize_coordinates: bool,
    /// Map every location to the next area's PSAP (in file order) instead of its own.
    pub wrong_psap: bool,
    /// Answer every findService with a `notFound` error.
    pub notfound_always: bool,
    /// Answer with HTTP 500 and an empty body.
    pub http_error: bool,
    /// Write the element names of `locationValidation` unqualified (`<valid>country A1</valid>`,
    /// the RFC 5222 Fig. 6 defect that RFC 6848 Section 6 corrects).
    pub unqualified_validation: bool,
    /// Answer every findService with a `<redirect>` whose `target` is this server's own
    /// source (a redirect loop).
    pub redirect_loop: bool,
    /// Recurse to the delegate's peer even when the request says `recursive="false"`
    /// (RFC 5222 8.3.3: the server "MUST NOT recurse if the attribute is false").
    pub recurses_always: bool,
    /// Leave this server's `<via>` out of the path: a recursive answer is passed back with
    /// it removed, a direct answer has no `<via>` at all (RFC 5222 Section 6).
    pub path_incomplete: bool,
    /// Recurse even when the delegate is already a `<via>` of the request's path (no
    /// `<loop>` error; a hard limit of [`crate::MAX_PATH_VIAS`] still ends the recursion).
    pub no_loop_detection: bool,
    /// Answer every LoST error with `<internalError>` instead of the one RFC 5222 13.1
    /// prescribes (`serviceNotImplemented`, `locationInvalid`, `notFound`, …).
    pub generic_errors: bool,
    /// Answer a findService for a warning service with the first mapping only, although
    /// other areas serve it at that location too (draft-rosen-atoca-server-discovery 3:
    /// several organisations may warn for one place).
    pub warning_one_mapping: bool,
    /// Turn the `http:` URIs of warning mappings into `https:` (draft-rosen-atoca-server-
    /// discovery 3 allows only sip, xmpp and http).
    pub warning_bad_scheme: bool,
    /// List `urn:service:sos` among the services of a listServicesByLocation under
    /// `urn:service:warning` (draft-rosen-atoca-server-discovery 6.1: warning services only).
    pub warning_lists_sos: bool,
}

impl EcrfFaults {
    /// Names accepted by [`EcrfFaults::from_name`].
    pub const NAMES: [&'static str; 17] = [
        "ecrf-not-xml",
        "ecrf-malformed-xml",
        "ecrf-wrong-namespace",
        "ecrf-slow",
        "ecrf-oversize-coordinates",
        "ecrf-wrong-psap",
        "ecrf-notfound-always",
        "ecrf-http-error",
        "ecrf-unqualified-validation",
        "ecrf-redirect-loop",
        "ecrf-recurses-always",
        "ecrf-path-incomplete",
        "ecrf-no-loop-detection",
        "ecrf-generic-errors",
        "ecrf-warning-one-mapping",
        "ecrf-warning-bad-scheme",
        "ecrf-warning-lists-sos",
    ];

    /// A single fault by name (`ecrf-slow` waits [`SLOW_DELAY`], `ecrf-slow:N` N seconds).
    pub fn from_name(name: &str) -> Result<Self, LocsvcError> {
        let mut f = Self::default();
        if let Some(d) = slow_suffix(name, "ecrf-slow")? {
            f.slow = Some(d);
            return Ok(f);
        }
        match name {
            "ecrf-not-xml" => f.not_xml = true,
            "ecrf-malformed-xml" => f.malformed_xml = true,
            "ecrf-wrong-namespace" => f.wrong_namespace = true,
            "ecrf-slow" => f.slow = Some(SLOW_DELAY),
            "ecrf-oversize-coordinates" => f.oversize_coordinates = true,
            "ecrf-wrong-psap" => f.wrong_psap = true,
            "ecrf-notfound-always" => f.notfound_always = true,
            "ecrf-http-error" => f.http_error = true,
            "ecrf-unqualified-validation" => f.unqualified_validation = true,
            "ecrf-redirect-loop" => f.redirect_loop = true,
            "ecrf-recurses-always" => f.recurses_always = true,
            "ecrf-path-incomplete" => f.path_incomplete = true,
            "ecrf-no-loop-detection" => f.no_loop_detection = true,
            "ecrf-generic-errors" => f.generic_errors = true,
            "ecrf-warning-one-mapping" => f.warning_one_mapping = true,
            "ecrf-warning-bad-scheme" => f.warning_bad_scheme = true,
            "ecrf-warning-lists-sos" => f.warning_lists_sos = true,
            _ => return Err(LocsvcError::UnknownFault(name.to_owned())),
        }
        Ok(f)
    }
}

/// Deliberate deviations of the LIS from RFC 5985 / 6753 / 7840.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LisFaults {
    /// Leave out RFC 7840 routing information even when asked for and known.
    pub no_routing: bool,
    /// Mint location URIs with an empty port (`http://127.0.0.1:/loc/...`, RFC 5985 10.3's
    /// published defect), which cannot be dereferenced.
    pub bad_uri: bool,
    /// Answer every request with a plain-text body that is not XML.
    pub not_xml: bool,
    /// Answer only after this delay.
    pub slow: Option<Duration>,
    /// Answer every locationRequest and dereference with the HELD error `locationUnknown`.
    pub location_unknown: bool,
    /// Answer every HELD error with the code `generalLisError` instead of the one RFC 5985
    /// 5.1 / 6.3 or RFC 6155 prescribes (`cannotProvideLiType`, `unsupportedMessage`, …).
    pub generic_errors: bool,
    /// Not understand RFC 6915 flow identity: a request naming its Target by `<flow>` only
    /// is answered with `locationUnknown`.
    pub ignores_flow: bool,
    /// Understand only the RFC 6155 `uri` and `ip` device identifiers: a `device` with any
    /// other (`msisdn`, `imsi`, `mac`, …) is answered with `badIdentifier`.
    pub uri_only: bool,
}

impl LisFaults {
    /// Names accepted by [`LisFaults::from_name`].
    pub const NAMES: [&'static str; 8] = [
        "lis-no-routing",
        "lis-bad-uri",
        "lis-not-xml",
        "lis-slow",
        "lis-location-unknown",
        "lis-generic-errors",
        "lis-ignores-flow",
        "lis-uri-only",
    ];

    /// A single fault by name (`lis-slow` waits [`SLOW_DELAY`], `lis-slow:N` N seconds).
    pub fn from_name(name: &str) -> Result<Self, LocsvcError> {
        let mut f = Self::default();
        if let Some(d) = slow_suffix(name, "lis-slow")? {
            f.slow = Some(d);
            return Ok(f);
        }
        match name {
            "lis-no-routing" => f.no_routing = true,
            "lis-bad-uri" => f.bad_uri = true,
            "lis-not-xml" => f.not_xml = true,
            "lis-slow" => f.slow = Some(SLOW_DELAY),
            "lis-location-unknown" => f.location_unknown = true,
            "lis-generic-errors" => f.generic_errors = true,
            "lis-ignores-flow" => f.ignores_flow = true,
            "lis-uri-only" => f.uri_only = true,
            _ => return Err(LocsvcError::UnknownFault(name.to_owned())),
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_to_a_distinct_fault() {
        let mut seen = Vec::new();
        for n in EcrfFaults::NAMES {
            let f = EcrfFaults::from_name(n).ok();
            assert!(
                f.as_ref().is_some_and(|f| *f != EcrfFaults::default()),
                "{n}"
            );
            assert!(!seen.contains(&f), "{n} is not distinct");
            seen.push(f);
        }
        let mut seen = Vec::new();
        for n in LisFaults::NAMES {
            let f = LisFaults::from_name(n).ok();
            assert!(
                f.as_ref().is_some_and(|f| *f != LisFaults::default()),
                "{n}"
            );
            assert!(!seen.contains(&f), "{n} is not distinct");
            seen.push(f);
        }
        assert!(EcrfFaults::from_name("lis-slow").is_err());
        assert_eq!(
            EcrfFaults::from_name("ecrf-slow:2.5")
                .ok()
                .and_then(|f| f.slow),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            LisFaults::from_name("lis-slow:1").ok().and_then(|f| f.slow),
            Some(Duration::from_secs(1))
        );
        assert!(EcrfFaults::from_name("ecrf-slow:x").is_err());
        assert!(EcrfFaults::from_name("ecrf-slow:-1").is_err());
        assert!(LisFaults::from_name("nope").is_err());
    }
}
