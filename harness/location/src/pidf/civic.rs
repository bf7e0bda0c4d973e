//! RFC 5139 civic addresses with the RFC 6848 extension elements (the registered
//! `civicAddr:ext` ones typed, any other namespace kept as opaque extension entries).

use crate::error::{LocationError, Result};
use crate::xml::{self, Element};
use crate::{Ctx, ParseOptions};

use super::{NS_CIVIC_ADDR, NS_CIVIC_ADDR_EXT, NS_CIVIC_LOC};

macro_rules! civic_fields {
    ($( $(#[$doc:meta])* $field:ident => $name:literal ),* $(,)?) => {
        /// An RFC 5139 `civicAddress` (values verbatim, whitespace kept as in the document).
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct CivicAddress {
            /// `xml:lang` of the address.
            pub lang: Option<String>,
            $( $(#[$doc])* pub $field: Option<String>, )*
            /// RFC 6848 registered extension elements (`civicAddr:ext`).
            pub ext: CivicExt,
            /// Elements from any other namespace (RFC 6848 extensions), kept opaque.
            pub extensions: Vec<Element>,
        }

        impl CivicAddress {
            /// The RFC 5139 element names, in schema order.
            pub const ELEMENTS: &'static [&'static str] = &[$($name),*];

            fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
                match name {
                    $( $name => Some(&mut self.$field), )*
                    _ => None,
                }
            }

            /// The value of an RFC 5139 element by its name (`"A1"`, `"HNO"`, ...).
            pub fn get(&self, name: &str) -> Option<&str> {
                match name {
                    $( $name => self.$field.as_deref(), )*
                    _ => None,
                }
            }

            fn pairs(&self) -> Vec<(&'static str, &Option<String>)> {
                vec![$( ($name, &self.$field) ),*]
            }
        }
    };
}

civic_fields! {
    /// ISO 3166 country code.
    country => "country",
    /// National subdivision (state, region).
    a1 => "A1",
    /// County, parish.
    a2 => "A2",
    /// City, township.
    a3 => "A3",
    /// City division, borough.
    a4 => "A4",
    /// Neighbourhood, block.
    a5 => "A5",
    /// Street (RFC 4776 A6).
    a6 => "A6",
    /// Road pre-modifier.
    prm => "PRM",
    /// Leading street direction.
    prd => "PRD",
    /// Primary road or street.
    rd => "RD",
    /// Street suffix.
    sts => "STS",
    /// Trailing street suffix.
    pod => "POD",
    /// Road post-modifier.
    pom => "POM",
    /// Road section.
    rdsec => "RDSEC",
    /// Road branch.
    rdbr => "RDBR",
    /// Road sub-branch.
    rdsubbr => "RDSUBBR",
    /// House number.
    hno => "HNO",
    /// House number suffix.
    hns => "HNS",
    /// Landmark or vanity address.
    lmk => "LMK",
    /// Additional location information.
    loc => "LOC",
    /// Floor.
    flr => "FLR",
    /// Name (residence, business or office occupant).
    nam => "NAM",
    /// Postal code.
    pc => "PC",
    /// Building.
    bld => "BLD",
    /// Unit.
    unit => "UNIT",
    /// Room.
    room => "ROOM",
    /// Seat.
    seat => "SEAT",
    /// Place type.
    plc => "PLC",
    /// Postal community name.
    pcn => "PCN",
    /// Post office box.
    pobox => "POBOX",
    /// Additional code.
    addcode => "ADDCODE",
}

/// RFC 6848 Section 5 registered extension elements (`urn:...:civicAddr:ext`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CivicExt {
    /// Post number.
    pub pn: Option<String>,
    /// Milepost.
    pub mp: Option<String>,
    /// Street type prefix.
    pub stp: Option<String>,
    /// House number prefix.
    pub hnp: Option<String>,
}

impl CivicExt {
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        match name {
            "PN" => Some(&mut self.pn),
            "MP" => Some(&mut self.mp),
            "STP" => Some(&mut self.stp),
            "HNP" => Some(&mut self.hnp),
            _ => None,
        }
    }

    fn pairs(&self) -> [(&'static str, &Option<String>); 4] {
        [
            ("PN", &self.pn),
            ("MP", &self.mp),
            ("STP", &self.stp),
            ("HNP", &self.hnp),
        ]
    }
}

/// Parses a standalone `civicAddress` fragment (RFC 5139 Section 5, RFC 6848 figures).
pub fn parse_civic_address(input: &str) -> Result<CivicAddress> {
    parse_civic_address_with(input, &ParseOptions::default())
}

/// [`parse_civic_address`] with options.
pub fn parse_civic_address_with(input: &str, opts: &ParseOptions) -> Result<CivicAddress> {
    let root = xml::parse_document(input, opts)?;
    if root.name != "civicAddress" {
        return Err(LocationError::WrongRoot {
            expected: "civicAddress",
            found: root.qualified(),
        });
    }
    let mut ctx = Ctx::new(opts);
    CivicAddress::from_element(&root, &mut ctx)
}

impl CivicAddress {
    /// Converts a `civicAddress` element.
    pub(crate) fn from_element(el: &Element, _ctx: &mut Ctx<'_>) -> Result<Self> {
        if el.ns.trim() == NS_CIVIC_LOC {
            return Err(LocationError::Unsupported {
                feature: "RFC 4119 civicLoc civic address (superseded by RFC 5139 civicAddr)",
                detail: format!("namespace {:?}", el.ns),
                pos: el.position(),
            });
        }
        xml::expect_ns(el, NS_CIVIC_ADDR)?;
        let mut ca = CivicAddress {
            lang: el.lang().map(str::to_owned),
            ..CivicAddress::default()
        };
        for c in el.elements() {
            if c.ns == NS_CIVIC_ADDR {
                let value = xml::simple_text(c)?;
                match ca.slot(&c.name) {
                    Some(slot @ None) => *slot = Some(value),
                    _ => return Err(xml::unexpected(el, c)),
                }
            } else if c.ns == NS_CIVIC_ADDR_EXT {
                let value = xml::simple_text(c)?;
                match ca.ext.slot(&c.name) {
                    Some(slot @ None) => *slot = Some(value),
                    _ => return Err(xml::unexpected(el, c)),
                }
            } else if c.ns.is_empty() {
                return Err(xml::unexpected(el, c));
            } else {
                ca.extensions.push(c.clone());
            }
        }
        Ok(ca)
    }

    /// The address as an element tree.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new(NS_CIVIC_ADDR, "civicAddress").with_lang(self.lang.as_deref());
        for (name, v) in self.pairs() {
            if let Some(v) = v {
                el = el.with_text_child(NS_CIVIC_ADDR, name, v.as_str());
            }
        }
        for (name, v) in self.ext.pairs() {
            if let Some(v) = v {
                el = el.with_text_child(NS_CIVIC_ADDR_EXT, name, v.as_str());
            }
        }
        el.with_children(self.extensions.iter().cloned())
    }

    /// The address as a standalone XML document.
    pub fn to_xml(&self) -> String {
        xml::write_document(&self.to_element())
    }
}
