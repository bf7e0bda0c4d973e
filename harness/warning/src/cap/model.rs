//! The typed CAP 1.2 model (OASIS CAP v1.2, Section 3.2).

use lmpe_location::xml::Element;

use super::datetime::CapDateTime;

macro_rules! cap_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident = $s:literal,)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vm])* $var,)+
        }

        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$var,)+];

            /// The value as written in CAP.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$var => $s,)+
                }
            }

            /// The value for its CAP spelling (exact, case-sensitive, as the schema).
            pub fn from_cap(s: &str) -> Option<Self> {
                match s {
                    $($s => Some($name::$var),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

cap_enum!(
    /// `alert/status`.
    Status {
        /// Actionable by all targeted recipients.
        Actual = "Actual",
        /// Actionable only by designated exercise participants.
        Exercise = "Exercise",
        /// For messages that support alert network internal functions.
        System = "System",
        /// Technical testing only.
        Test = "Test",
        /// A preliminary template or draft.
        Draft = "Draft",
    }
);

cap_enum!(
    /// `alert/msgType`.
    MsgType {
        /// Initial information requiring attention.
        Alert = "Alert",
        /// Updates and supersedes earlier messages.
        Update = "Update",
        /// Cancels earlier messages.
        Cancel = "Cancel",
        /// Acknowledges receipt.
        Ack = "Ack",
        /// Indicates rejection of a message.
        Error = "Error",
    }
);

cap_enum!(
    /// `alert/scope`.
    Scope {
        /// For general dissemination to unrestricted audiences.
        Public = "Public",
        /// Restricted to users with a known operational requirement (see `restriction`).
        Restricted = "Restricted",
        /// For dissemination only to specified addresses (see `addresses`).
        Private = "Private",
    }
);

cap_enum!(
    /// `info/category`.
    Category {
        /// Geophysical (including landslide).
        Geo = "Geo",
        /// Meteorological (including flood).
        Met = "Met",
        /// General emergency and public safety.
        Safety = "Safety",
        /// Law enforcement, military, homeland and local/private security.
        Security = "Security",
        /// Rescue and recovery.
        Rescue = "Rescue",
        /// Fire suppression and rescue.
        Fire = "Fire",
        /// Medical and public health.
        Health = "Health",
        /// Pollution and other environmental.
        Env = "Env",
        /// Public and private transportation.
        Transport = "Transport",
        /// Utility, telecommunication, other non-transport infrastructure.
        Infra = "Infra",
        /// Chemical, biological, radiological, nuclear or high-yield explosive threat or attack.
        Cbrne = "CBRNE",
        /// Other events.
        Other = "Other",
    }
);

cap_enum!(
    /// `info/responseType`.
    ResponseType {
        /// Take shelter in place.
        Shelter = "Shelter",
        /// Relocate.
        Evacuate = "Evacuate",
        /// Make preparations.
        Prepare = "Prepare",
        /// Execute a pre-planned activity.
        Execute = "Execute",
        /// Avoid the subject event.
        Avoid = "Avoid",
        /// Attend to information sources.
        Monitor = "Monitor",
        /// Evaluate the information in this message (not for public warnings).
        Assess = "Assess",
        /// The subject event no longer poses a threat.
        AllClear = "AllClear",
        /// No action recommended.
        None = "None",
    }
);

cap_enum!(
    /// `info/urgency`.
    Urgency {
        /// Responsive action should be taken immediately.
        Immediate = "Immediate",
        /// Within the next hour.
        Expected = "Expected",
        /// In the near future.
        Future = "Future",
        /// No longer required.
        Past = "Past",
        /// Not known.
        Unknown = "Unknown",
    }
);

cap_enum!(
    /// `info/severity`.
    Severity {
        /// Extraordinary threat to life or property.
        Extreme = "Extreme",
        /// Significant threat to life or property.
        Severe = "Severe",
        /// Possible threat to life or property.
        Moderate = "Moderate",
        /// Minimal to no known threat.
        Minor = "Minor",
        /// Not known.
        Unknown = "Unknown",
    }
);

cap_enum!(
    /// `info/certainty`.
    Certainty {
        /// Determined to have occurred or to be ongoing.
        Observed = "Observed",
        /// Likely (p > ~50%).
        Likely = "Likely",
        /// Possible but not likely (p <= ~50%).
        Possible = "Possible",
        /// Not expected to occur (p ~ 0).
        Unlikely = "Unlikely",
        /// Not known.
        Unknown = "Unknown",
    }
);

/// A CAP 1.2 alert message (`<alert>`).
///
/// Text fields are kept exactly as received (the schema types them `xs:string`, whose
/// whitespace is significant); date-times, enumerations, coordinates and numbers are typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `identifier`: unique for the sender.
    pub identifier: String,
    /// `sender`: globally unique originator.
    pub sender: String,
    /// `sent`: origination time.
    pub sent: CapDateTime,
    /// `status`.
    pub status: Status,
    /// `msgType`.
    pub msg_type: MsgType,
    /// `source`.
    pub source: Option<String>,
    /// `scope`.
    pub scope: Scope,
    /// `restriction` (for `Restricted` scope).
    pub restriction: Option<String>,
    /// `addresses` (for `Private` scope).
    pub addresses: Option<String>,
    /// `code` elements (special handling codes).
    pub codes: Vec<String>,
    /// `note`.
    pub note: Option<String>,
    /// `references`: earlier messages, `sender,identifier,sent` triples separated by spaces.
    pub references: Option<String>,
    /// `incidents`.
    pub incidents: Option<String>,
    /// `info` blocks.
    pub infos: Vec<Info>,
    /// XML Signature (`http://www.w3.org/2000/09/xmldsig#`) elements after the `info` blocks,
    /// kept opaque.
    pub signatures: Vec<Element>,
}

/// An `<info>` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// `language` as written (the schema default is `en-US`, see [`Info::effective_language`]).
    pub language: Option<String>,
    /// `category` (at least one).
    pub categories: Vec<Category>,
    /// `event`: the subject event.
    pub event: String,
    /// `responseType`.
    pub response_types: Vec<ResponseType>,
    /// `urgency`.
    pub urgency: Urgency,
    /// `severity`.
    pub severity: Severity,
    /// `certainty`.
    pub certainty: Certainty,
    /// `audience`.
    pub audience: Option<String>,
    /// `eventCode` pairs.
    pub event_codes: Vec<ValuePair>,
    /// `effective`.
    pub effective: Option<CapDateTime>,
    /// `onset`.
    pub onset: Option<CapDateTime>,
    /// `expires`.
    pub expires: Option<CapDateTime>,
    /// `senderName`.
    pub sender_name: Option<String>,
    /// `headline`.
    pub headline: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `instruction`.
    pub instruction: Option<String>,
    /// `web` (an `xs:anyURI`).
    pub web: Option<String>,
    /// `contact`.
    pub contact: Option<String>,
    /// `parameter` pairs.
    pub parameters: Vec<ValuePair>,
    /// `resource` elements.
    pub resources: Vec<Resource>,
    /// `area` elements.
    pub areas: Vec<Area>,
}

impl Info {
    /// The language, with the schema default `en-US` when absent or empty.
    pub fn effective_language(&self) -> &str {
        match self.language.as_deref() {
            None | Some("") => "en-US",
            Some(l) => l,
        }
    }
}

/// A `valueName`/`value` pair (`eventCode`, `parameter`, `geocode`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValuePair {
    /// `valueName`.
    pub value_name: String,
    /// `value`.
    pub value: String,
}

impl ValuePair {
    /// A new pair.
    pub fn new(value_name: impl Into<String>, value: impl Into<String>) -> Self {
        ValuePair {
            value_name: value_name.into(),
            value: value.into(),
        }
    }
}

/// A `geocode` (a [`ValuePair`]).
pub type Geocode = ValuePair;

/// A `<resource>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// `resourceDesc`.
    pub resource_desc: String,
    /// `mimeType`.
    pub mime_type: String,
    /// `size` in bytes: the `xs:integer` as written (whitespace collapsed; the schema puts no
    /// bound on it), see [`Resource::size_bytes`].
    pub size: Option<String>,
    /// `uri` (an `xs:anyURI`).
    pub uri: Option<String>,
    /// `derefUri`: base64 content.
    pub deref_uri: Option<String>,
    /// `digest`: SHA-1 of the resource.
    pub digest: Option<String>,
}

impl Resource {
    /// `size` as a number of bytes, if present and within `u64`.
    pub fn size_bytes(&self) -> Option<u64> {
        let s = self.size.as_deref()?;
        s.strip_prefix('+').unwrap_or(s).parse().ok()
    }
}

/// A WGS 84 point (degrees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Latitude, -90..=90.
    pub lat: f64,
    /// Longitude, -180..=180.
    pub lon: f64,
}

impl Point {
    /// A new point (not range-checked).
    pub fn new(lat: f64, lon: f64) -> Self {
        Point { lat, lon }
    }
}

/// A CAP `<polygon>`: a closed ring of at least four points, first == last.
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon {
    /// The ring, closed (the last point equals the first).
    pub points: Vec<Point>,
}

/// A CAP `<circle>`: centre and radius in kilometres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Circle {
    /// Centre.
    pub center: Point,
    /// Radius in km (0 = the point itself).
    pub radius_km: f64,
}

/// An `<area>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// `areaDesc`.
    pub area_desc: String,
    /// `polygon` elements.
    pub polygons: Vec<Polygon>,
    /// `circle` elements.
    pub circles: Vec<Circle>,
    /// `geocode` pairs.
    pub geocodes: Vec<Geocode>,
    /// `altitude` (feet above mean sea level, `xs:decimal`).
    pub altitude: Option<f64>,
    /// `ceiling` (feet above mean sea level, `xs:decimal`).
    pub ceiling: Option<f64>,
}
