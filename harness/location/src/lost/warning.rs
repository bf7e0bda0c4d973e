//! The `urn:service:warning` services of draft-rosen-atoca-server-discovery-00 (LoST-based
//! discovery of servers distributing alerts) and the rule of its Section 3: the `uri`s of a
//! mapping for a warning service are sip, xmpp or http URIs.
//!
//! The draft spells the sub-services two ways: its examples use the RFC 5031 form
//! `urn:service:warning.geo`, its IANA section writes `urn:service:warning:geo`. The RFC 5031
//! (dot) form is canonical here; [`WarningService::from_urn`] reports the colon form
//! precisely instead of guessing.

use super::find_service::{FindServiceResponse, Mapping};

/// `urn:service:warning` and its eleven sub-services (draft Section 6.1, from CAP categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningService {
    /// `urn:service:warning`: any early warning.
    Warning,
    /// `warning.geo`: geophysical (incl. landslide).
    Geo,
    /// `warning.met`: meteorological (incl. flood).
    Met,
    /// `warning.safety`: general emergency and public safety.
    Safety,
    /// `warning.security`: law enforcement, military, homeland and local/private security.
    Security,
    /// `warning.rescue`: rescue and recovery.
    Rescue,
    /// `warning.fire`: fire suppression and rescue.
    Fire,
    /// `warning.health`: medical and public health.
    Health,
    /// `warning.env`: pollution and other environmental.
    Env,
    /// `warning.transport`: public and private transportation.
    Transport,
    /// `warning.infra`: utility, telecommunication, other non-transport infrastructure.
    Infra,
    /// `warning.cbrne`: chemical, biological, radiological, nuclear or high-yield explosive.
    Cbrne,
}

/// Why a string is not a warning service URN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningUrnError {
    /// Not under `urn:service:warning`.
    NotWarning,
    /// The draft's IANA-section spelling with `:`; the URN is `suggestion` (RFC 5031 form).
    ColonSeparator {
        /// The RFC 5031 spelling.
        suggestion: &'static str,
    },
    /// Under `urn:service:warning.` but not one of the eleven sub-services.
    UnknownSubService(String),
}

impl WarningService {
    /// All twelve, top-level first.
    pub const ALL: [WarningService; 12] = [
        WarningService::Warning,
        WarningService::Geo,
        WarningService::Met,
        WarningService::Safety,
        WarningService::Security,
        WarningService::Rescue,
        WarningService::Fire,
        WarningService::Health,
        WarningService::Env,
        WarningService::Transport,
        WarningService::Infra,
        WarningService::Cbrne,
    ];

    /// The service URN (RFC 5031 form).
    pub fn urn(self) -> &'static str {
        match self {
            WarningService::Warning => "urn:service:warning",
            WarningService::Geo => "urn:service:warning.geo",
            WarningService::Met => "urn:service:warning.met",
            WarningService::Safety => "urn:service:warning.safety",
            WarningService::Security => "urn:service:warning.security",
            WarningService::Rescue => "urn:service:warning.rescue",
            WarningService::Fire => "urn:service:warning.fire",
            WarningService::Health => "urn:service:warning.health",
            WarningService::Env => "urn:service:warning.env",
            WarningService::Transport => "urn:service:warning.transport",
            WarningService::Infra => "urn:service:warning.infra",
            WarningService::Cbrne => "urn:service:warning.cbrne",
        }
    }

    /// The draft's description.
    pub fn description(self) -> &'static str {
        match self {
            WarningService::Warning => "Generic early warning message of any type",
            WarningService::Geo => "Geophysical (inc. landslide)",
            WarningService::Met => "Meteorological (inc. flood)",
            WarningService::Safety => "General emergency and public safety",
            WarningService::Security => {
                "Law enforcement, military, homeland and local/private security"
            }
            WarningService::Rescue => "Rescue and recovery",
            WarningService::Fire => "Fire suppression and rescue",
            WarningService::Health => "Medical and public health",
            WarningService::Env => "Pollution and other environmental",
            WarningService::Transport => "Public and private transportation",
            WarningService::Infra => {
                "Utility, telecommunication, other non-transport infrastructure"
            }
            WarningService::Cbrne => {
                "Chemical, Biological, Radiological, Nuclear or High-Yield Explosive threat or attack"
            }
        }
    }

    /// Parses a service URN (case-insensitive, as URNs are).
    pub fn from_urn(urn: &str) -> Result<Self, WarningUrnError> {
        let lc = urn.trim().to_ascii_lowercase();
        if let Some(s) = WarningService::ALL.iter().find(|s| s.urn() == lc) {
            return Ok(*s);
        }
        if let Some(sub) = lc.strip_prefix("urn:service:warning:") {
            if let Some(s) = WarningService::ALL
                .iter()
                .find(|s| s.urn().strip_prefix("urn:service:warning.") == Some(sub))
            {
                return Err(WarningUrnError::ColonSeparator {
                    suggestion: s.urn(),
                });
            }
        }
        if let Some(sub) = lc.strip_prefix("urn:service:warning.") {
            return Err(WarningUrnError::UnknownSubService(sub.to_owned()));
        }
        Err(WarningUrnError::NotWarning)
    }
}

/// URI schemes allowed in a warning-service mapping (draft Section 3).
pub const WARNING_URI_SCHEMES: &[&str] = &["sip", "xmpp", "http"];

/// A violation of the warning-service rules in a mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarningViolation {
    /// The mapping's `service` is not a warning service.
    NotWarningService {
        /// Index of the mapping in the response (0 for a single mapping).
        mapping: usize,
        /// The service found (empty if absent).
        service: String,
        /// Why.
        reason: WarningUrnError,
    },
    /// A `uri` whose scheme is not sip, xmpp or http.
    DisallowedScheme {
        /// Index of the mapping.
        mapping: usize,
        /// Index of the `uri` in the mapping.
        uri_index: usize,
        /// The URI.
        uri: String,
        /// Its scheme (empty if it has none).
        scheme: String,
    },
    /// The mapping has no `uri` at all.
    NoUri {
        /// Index of the mapping.
        mapping: usize,
    },
}

impl std::fmt::Display for WarningViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WarningViolation::NotWarningService {
                mapping,
                service,
                reason,
            } => write!(
                f,
                "mapping {mapping}: service {service:?} is not a warning service ({reason:?})"
            ),
            WarningViolation::DisallowedScheme {
                mapping,
                uri_index,
                uri,
                scheme,
            } => write!(
                f,
                "mapping {mapping}, uri {uri_index}: {uri:?} has scheme {scheme:?}; warning services allow only sip, xmpp, http"
            ),
            WarningViolation::NoUri { mapping } => write!(f, "mapping {mapping}: no uri"),
        }
    }
}

fn check(mapping_index: usize, m: &Mapping, out: &mut Vec<WarningViolation>) {
    let service = m.service.clone().unwrap_or_default();
    if let Err(reason) = WarningService::from_urn(&service) {
        out.push(WarningViolation::NotWarningService {
            mapping: mapping_index,
            service,
            reason,
        });
    }
    if m.uris.is_empty() {
        out.push(WarningViolation::NoUri {
            mapping: mapping_index,
        });
    }
    for (i, uri) in m.uris.iter().enumerate() {
        let scheme = uri
            .split_once(':')
            .map(|(s, _)| s.to_ascii_lowercase())
            .unwrap_or_default();
        if !WARNING_URI_SCHEMES.contains(&scheme.as_str()) {
            out.push(WarningViolation::DisallowedScheme {
                mapping: mapping_index,
                uri_index: i,
                uri: uri.clone(),
                scheme,
            });
        }
    }
}

/// Checks one mapping for a warning service: the service is a warning service and every URI
/// is sip, xmpp or http. Returns every violation found.
pub fn validate_warning_mapping(m: &Mapping) -> Result<(), Vec<WarningViolation>> {
    let mut v = Vec::new();
    check(0, m, &mut v);
    if v.is_empty() {
        Ok(())
    } else {
        Err(v)
    }
}

/// Checks every mapping of a response (warning services commonly return several).
pub fn validate_warning_response(r: &FindServiceResponse) -> Result<(), Vec<WarningViolation>> {
    let mut v = Vec::new();
    for (i, m) in r.mappings.iter().enumerate() {
        check(i, m, &mut v);
    }
    if v.is_empty() {
        Ok(())
    } else {
        Err(v)
    }
}
