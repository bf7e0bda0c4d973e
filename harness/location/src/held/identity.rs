//! RFC 6155 device identity and RFC 6915 flow identity.

use crate::error::{LocationError, Result};
use crate::xml::{self, Element, QualifiedName};
use crate::{Ctx, ParseOptions};

use super::{NS_HELD_FLOW, NS_HELD_ID};

/// One RFC 6155 device identifier.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceIdentifier {
    /// `ip` with its `v` (IP version) attribute.
    Ip {
        /// The `v` attribute (`4`, `6`; the schema allows one hex digit).
        version: String,
        /// The address text.
        address: String,
    },
    /// `mac` (`A0-12-34-56-78-90`).
    Mac(String),
    /// `udpport`.
    UdpPort(u16),
    /// `tcpport`.
    TcpPort(u16),
    /// `sctpport`.
    SctpPort(u16),
    /// `dccpport`.
    DccpPort(u16),
    /// `nai`.
    Nai(String),
    /// `uri`.
    Uri(String),
    /// `fqdn`.
    Fqdn(String),
    /// `duid` (hexBinary).
    Duid(String),
    /// `msisdn` (E.164 digits, 6..15).
    Msisdn(String),
    /// `imsi` (6..15 digits).
    Imsi(String),
    /// `imei` (up to 15 digits).
    Imei(String),
    /// `min` (10 digits).
    Min(String),
    /// `mdn` (6..15 digits).
    Mdn(String),
    /// An identifier from another namespace (the `device` content model is `##any`).
    Other(Element),
}

/// An RFC 6155 `device` element.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Device {
    /// The identifiers, in document order.
    pub identifiers: Vec<DeviceIdentifier>,
}

fn digits(el: &Element, v: &str, min: usize, max: usize) -> Result<()> {
    if v.len() < min || v.len() > max || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(xml::bad_value(
            el,
            v,
            if min == max {
                format!("must be exactly {min} digits")
            } else {
                format!("must be {min} to {max} digits")
            },
        ));
    }
    Ok(())
}

fn port(el: &Element) -> Result<u16> {
    let v = xml::simple_token(el)?;
    v.parse::<u16>()
        .map_err(|_| xml::bad_value(el, &v, "not a port number (0..65535)"))
}

fn is_mac(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    (parts.len() == 6 || parts.len() == 8)
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Device {
    /// Converts a `device` element.
    pub(crate) fn from_element(el: &Element, _ctx: &mut Ctx<'_>) -> Result<Self> {
        xml::expect_ns(el, NS_HELD_ID)?;
        let mut d = Device::default();
        for c in el.elements() {
            if c.ns != NS_HELD_ID {
                if c.ns.is_empty() {
                    return Err(xml::unexpected(el, c));
                }
                d.identifiers.push(DeviceIdentifier::Other(c.clone()));
                continue;
            }
            let id = match c.name.as_str() {
                "ip" => {
                    let v = xml::req_attr(c, "v")?;
                    if v.len() != 1 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(xml::bad_attr(
                            c,
                            "v",
                            v,
                            "must be one hex digit (IP version)",
                        ));
                    }
                    DeviceIdentifier::Ip {
                        version: v.to_owned(),
                        address: xml::simple_token(c)?,
                    }
                }
                "mac" => {
                    let v = xml::simple_token(c)?;
                    if !is_mac(&v) {
                        return Err(xml::bad_value(
                            c,
                            &v,
                            "not a MAC address (xx-xx-xx-xx-xx-xx)",
                        ));
                    }
                    DeviceIdentifier::Mac(v)
                }
                "udpport" => DeviceIdentifier::UdpPort(port(c)?),
                "tcpport" => DeviceIdentifier::TcpPort(port(c)?),
                "sctpport" => DeviceIdentifier::SctpPort(port(c)?),
                "dccpport" => DeviceIdentifier::DccpPort(port(c)?),
                "nai" => DeviceIdentifier::Nai(xml::simple_token(c)?),
                "uri" => DeviceIdentifier::Uri(xml::simple_token(c)?),
                "fqdn" => DeviceIdentifier::Fqdn(xml::simple_token(c)?),
                "duid" => {
                    let v = xml::simple_token(c)?;
                    if v.len() % 2 != 0 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(xml::bad_value(c, &v, "not xs:hexBinary"));
                    }
                    DeviceIdentifier::Duid(v)
                }
                "msisdn" | "imsi" | "mdn" => {
                    let v = xml::simple_token(c)?;
                    digits(c, &v, 6, 15)?;
                    match c.name.as_str() {
                        "msisdn" => DeviceIdentifier::Msisdn(v),
                        "imsi" => DeviceIdentifier::Imsi(v),
                        _ => DeviceIdentifier::Mdn(v),
                    }
                }
                "imei" => {
                    let v = xml::simple_token(c)?;
                    digits(c, &v, 1, 15)?;
                    DeviceIdentifier::Imei(v)
                }
                "min" => {
                    let v = xml::simple_token(c)?;
                    digits(c, &v, 10, 10)?;
                    DeviceIdentifier::Min(v)
                }
                _ => return Err(xml::unexpected(el, c)),
            };
            d.identifiers.push(id);
        }
        Ok(d)
    }

    /// The device as an element tree.
    pub fn to_element(&self) -> Element {
        let mut el = Element::new(NS_HELD_ID, "device");
        for id in &self.identifiers {
            let t = |name: &str, v: &str| Element::new(NS_HELD_ID, name).with_text(v);
            let c = match id {
                DeviceIdentifier::Ip { version, address } => {
                    t("ip", address).with_attr("v", version.as_str())
                }
                DeviceIdentifier::Mac(v) => t("mac", v),
                DeviceIdentifier::UdpPort(p) => t("udpport", &p.to_string()),
                DeviceIdentifier::TcpPort(p) => t("tcpport", &p.to_string()),
                DeviceIdentifier::SctpPort(p) => t("sctpport", &p.to_string()),
                DeviceIdentifier::DccpPort(p) => t("dccpport", &p.to_string()),
                DeviceIdentifier::Nai(v) => t("nai", v),
                DeviceIdentifier::Uri(v) => t("uri", v),
                DeviceIdentifier::Fqdn(v) => t("fqdn", v),
                DeviceIdentifier::Duid(v) => t("duid", v),
                DeviceIdentifier::Msisdn(v) => t("msisdn", v),
                DeviceIdentifier::Imsi(v) => t("imsi", v),
                DeviceIdentifier::Imei(v) => t("imei", v),
                DeviceIdentifier::Min(v) => t("min", v),
                DeviceIdentifier::Mdn(v) => t("mdn", v),
                DeviceIdentifier::Other(e) => e.clone(),
            };
            el = el.with_child(c);
        }
        el
    }

    /// The device as a standalone XML fragment.
    pub fn to_xml(&self) -> String {
        xml::write_document(&self.to_element())
    }
}

/// Parses a standalone RFC 6155 `device` fragment.
pub fn parse_device(input: &str) -> Result<Device> {
    let opts = ParseOptions::default();
    let root = xml::parse_document(input, &opts)?;
    if root.name != "device" {
        return Err(LocationError::WrongRoot {
            expected: "{urn:ietf:params:xml:ns:geopriv:held:id}device",
            found: root.qualified(),
        });
    }
    Device::from_element(&root, &mut Ctx::new(&opts))
}

/// Parses an RFC 6155 `requiredIdentifiers` QName list (unprefixed names resolve to the
/// default namespace in scope, as XML Schema QNames do).
pub(crate) fn required_identifiers(el: &Element) -> Result<Vec<QualifiedName>> {
    xml::expect_ns(el, NS_HELD_ID)?;
    let text = xml::simple_text(el)?;
    let mut out = Vec::new();
    for tok in text.split_whitespace() {
        let (ns, local) = el
            .resolve_qname(tok)
            .ok_or_else(|| xml::bad_value(el, tok, "QName with an undeclared prefix"))?;
        out.push(QualifiedName { ns, local });
    }
    Ok(out)
}

/// Writes a QName list element, declaring a prefix for every namespace used.
pub(crate) fn qname_list_el(ns: &str, name: &str, names: &[QualifiedName]) -> Element {
    let mut el = Element::new(ns, name);
    let mut prefixes: Vec<(String, String)> = Vec::new();
    let mut text = String::new();
    for q in names {
        let p = match prefixes.iter().find(|(_, n)| *n == q.ns) {
            Some((p, _)) => p.clone(),
            None if q.ns.is_empty() => String::new(),
            None => {
                let p = preferred_prefix(&q.ns)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("q{}", prefixes.len()));
                prefixes.push((p.clone(), q.ns.clone()));
                p
            }
        };
        if !text.is_empty() {
            text.push(' ');
        }
        if !p.is_empty() {
            text.push_str(&p);
            text.push(':');
        }
        text.push_str(&q.local);
    }
    for (p, n) in &prefixes {
        el = el.with_decl(p, n);
    }
    el.with_text(text)
}

fn preferred_prefix(ns: &str) -> Option<&'static str> {
    match ns {
        crate::pidf::NS_CIVIC_ADDR => Some("ca"),
        crate::pidf::NS_CIVIC_ADDR_EXT => Some("cae"),
        NS_HELD_ID => Some("id"),
        _ => None,
    }
}

/// RFC 6915 layer-3 protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer3 {
    /// `ipv4`.
    Ipv4,
    /// `ipv6`.
    Ipv6,
}

/// RFC 6915 layer-4 protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer4 {
    /// `udp`.
    Udp,
    /// `tcp`.
    Tcp,
    /// `sctp`.
    Sctp,
    /// `dccp`.
    Dccp,
    /// A protocol number (`\d+`).
    Number(String),
}

/// One end of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowEndpoint {
    /// `address`.
    pub address: String,
    /// `port` (1..65535).
    pub port: u16,
}

/// An RFC 6915 `flow` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    /// `layer3`.
    pub layer3: Layer3,
    /// `layer4`.
    pub layer4: Layer4,
    /// `target`: is the Device the source (`false`, default) or destination (`true`)?
    pub target_is_dst: bool,
    /// `src`.
    pub src: FlowEndpoint,
    /// `dst`.
    pub dst: FlowEndpoint,
}

fn endpoint(el: &Element) -> Result<FlowEndpoint> {
    xml::expect_ns(el, NS_HELD_FLOW)?;
    let mut address = None;
    let mut port = None;
    for c in el.elements() {
        match (c.ns.as_str(), c.name.as_str()) {
            (NS_HELD_FLOW, "address") if address.is_none() => address = Some(xml::simple_token(c)?),
            (NS_HELD_FLOW, "port") if port.is_none() => {
                let v = xml::simple_token(c)?;
                port = Some(match v.parse::<u16>() {
                    Ok(p) if p >= 1 => p,
                    _ => return Err(xml::bad_value(c, &v, "port must be 1..65535")),
                });
            }
            _ => return Err(xml::unexpected(el, c)),
        }
    }
    Ok(FlowEndpoint {
        address: address.ok_or_else(|| xml::missing(el, "address"))?,
        port: port.ok_or_else(|| xml::missing(el, "port"))?,
    })
}

impl Flow {
    /// Converts a `flow` element.
    pub(crate) fn from_element(el: &Element) -> Result<Self> {
        xml::expect_ns(el, NS_HELD_FLOW)?;
        let l3 = xml::req_attr(el, "layer3")?;
        let layer3 = match l3.trim() {
            "ipv4" => Layer3::Ipv4,
            "ipv6" => Layer3::Ipv6,
            _ => return Err(xml::bad_attr(el, "layer3", l3, "must be ipv4 or ipv6")),
        };
        let l4 = xml::req_attr(el, "layer4")?;
        let layer4 = match l4.trim() {
            "udp" => Layer4::Udp,
            "tcp" => Layer4::Tcp,
            "sctp" => Layer4::Sctp,
            "dccp" => Layer4::Dccp,
            n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                Layer4::Number(n.to_owned())
            }
            _ => {
                return Err(xml::bad_attr(
                    el,
                    "layer4",
                    l4,
                    "must be udp, tcp, sctp, dccp or a protocol number",
                ))
            }
        };
        let target_is_dst = match el.attr("target").map(str::trim) {
            None | Some("src") => false,
            Some("dst") => true,
            Some(v) => return Err(xml::bad_attr(el, "target", v, "must be src or dst")),
        };
        let mut src = None;
        let mut dst = None;
        for c in el.elements() {
            match (c.ns.as_str(), c.name.as_str()) {
                (NS_HELD_FLOW, "src") if src.is_none() => src = Some(endpoint(c)?),
                (NS_HELD_FLOW, "dst") if dst.is_none() && src.is_some() => dst = Some(endpoint(c)?),
                _ => return Err(xml::unexpected(el, c)),
            }
        }
        Ok(Flow {
            layer3,
            layer4,
            target_is_dst,
            src: src.ok_or_else(|| xml::missing(el, "src"))?,
            dst: dst.ok_or_else(|| xml::missing(el, "dst"))?,
        })
    }

    /// The flow as an element tree.
    pub fn to_element(&self) -> Element {
        let ep = |name: &str, e: &FlowEndpoint| {
            Element::new(NS_HELD_FLOW, name)
                .with_text_child(NS_HELD_FLOW, "address", e.address.as_str())
                .with_text_child(NS_HELD_FLOW, "port", e.port.to_string())
        };
        let mut el = Element::new(NS_HELD_FLOW, "flow")
            .with_attr(
                "layer3",
                match self.layer3 {
                    Layer3::Ipv4 => "ipv4",
                    Layer3::Ipv6 => "ipv6",
                },
            )
            .with_attr(
                "layer4",
                match &self.layer4 {
                    Layer4::Udp => "udp",
                    Layer4::Tcp => "tcp",
                    Layer4::Sctp => "sctp",
                    Layer4::Dccp => "dccp",
                    Layer4::Number(n) => n.as_str(),
                },
            );
        if self.target_is_dst {
            el = el.with_attr("target", "dst");
        }
        el.with_child(ep("src", &self.src))
            .with_child(ep("dst", &self.dst))
    }
}
