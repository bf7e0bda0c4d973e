//! Deliberate faults of the reference alert server, by name, to prove that the harness's
//! delivery checks fail against a broken deployment.

use crate::AlertsError;

/// Deviations of the reference alert server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFaults {
    /// Send no SIP NOTIFY for alerts.
    pub drops_sip: bool,
    /// Publish nothing on the XMPP pubsub nodes.
    pub drops_xmpp: bool,
    /// Leave alerts out of the GeoRSS feeds.
    pub drops_http: bool,
    /// Deliver each alert with its headline changed (on every channel).
    pub alters: bool,
    /// Deliver each alert to every distribution point of its services, whatever its area.
    pub wrong_area: bool,
    /// Deliver each alert without its mandatory `<sent>` element (not schema-valid).
    pub invalid_cap: bool,
    /// The SIP notifier accepts a SUBSCRIBE for any event package (RFC 6665 8.2.1 wants 489).
    pub accepts_any_event: bool,
}

impl AlertFaults {
    /// Names accepted by [`AlertFaults::from_name`].
    pub const NAMES: [&'static str; 7] = [
        "alert-drops-sip",
        "alert-drops-xmpp",
        "alert-drops-http",
        "alert-alters",
        "alert-wrong-area",
        "alert-invalid-cap",
        "alert-accepts-any-event",
    ];

    /// A single fault by name.
    pub fn from_name(name: &str) -> Result<Self, AlertsError> {
        let mut f = Self::default();
        match name {
            "alert-drops-sip" => f.drops_sip = true,
            "alert-drops-xmpp" => f.drops_xmpp = true,
            "alert-drops-http" => f.drops_http = true,
            "alert-alters" => f.alters = true,
            "alert-wrong-area" => f.wrong_area = true,
            "alert-invalid-cap" => f.invalid_cap = true,
            "alert-accepts-any-event" => f.accepts_any_event = true,
            _ => return Err(AlertsError::UnknownFault(name.to_owned())),
        }
        Ok(f)
    }
}
