//! Encoding a typed [`Alert`] as CAP 1.2 XML with `quick_xml::Writer`.

use std::io;

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::model::{Alert, Area, Info, Resource, ValuePair};
use super::NS_CAP;

/// Escapes character data so that it reads back byte-identical (`\r` would otherwise be
/// normalised to `\n` by the reader).
pub(crate) fn escape_text(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '\r' => o.push_str("&#13;"),
            _ => o.push(c),
        }
    }
    o
}

/// A thin layer over `quick_xml::Writer` writing CAP elements (unprefixed, with the
/// default namespace declared on the root).
pub(crate) struct XmlOut {
    w: Writer<Vec<u8>>,
}

impl XmlOut {
    pub(crate) fn new() -> Self {
        XmlOut {
            w: Writer::new_with_indent(Vec::new(), b' ', 2),
        }
    }
    pub(crate) fn decl(&mut self) -> io::Result<()> {
        self.w
            .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
    }
    pub(crate) fn start(&mut self, name: &str, attrs: &[(&str, &str)]) -> io::Result<()> {
        let mut s = BytesStart::new(name);
        for a in attrs {
            s.push_attribute(*a);
        }
        self.w.write_event(Event::Start(s))
    }
    pub(crate) fn end(&mut self, name: &str) -> io::Result<()> {
        self.w.write_event(Event::End(BytesEnd::new(name)))
    }
    pub(crate) fn text(&mut self, name: &str, text: &str) -> io::Result<()> {
        if text.is_empty() {
            return self.w.write_event(Event::Empty(BytesStart::new(name)));
        }
        self.start(name, &[])?;
        self.w
            .write_event(Event::Text(BytesText::from_escaped(escape_text(text))))?;
        self.end(name)
    }
    pub(crate) fn opt(&mut self, name: &str, text: Option<&str>) -> io::Result<()> {
        match text {
            Some(t) => self.text(name, t),
            None => Ok(()),
        }
    }
    /// Writes already serialised markup on its own line.
    pub(crate) fn raw(&mut self, markup: &str) -> io::Result<()> {
        self.w.write_indent()?;
        self.w
            .write_event(Event::Text(BytesText::from_escaped(markup)))
    }
    pub(crate) fn finish(self) -> String {
        String::from_utf8_lossy(&self.w.into_inner()).into_owned()
    }
}

fn pairs(o: &mut XmlOut, name: &str, pairs: &[ValuePair]) -> io::Result<()> {
    for p in pairs {
        o.start(name, &[])?;
        o.text("valueName", &p.value_name)?;
        o.text("value", &p.value)?;
        o.end(name)?;
    }
    Ok(())
}

/// Writes the `<alert>` element (with its namespace declaration) into `o`.
pub(crate) fn write_alert(o: &mut XmlOut, a: &Alert) -> io::Result<()> {
    o.start("alert", &[("xmlns", NS_CAP)])?;
    o.text("identifier", &a.identifier)?;
    o.text("sender", &a.sender)?;
    o.text("sent", a.sent.as_str())?;
    o.text("status", a.status.as_str())?;
    o.text("msgType", a.msg_type.as_str())?;
    o.opt("source", a.source.as_deref())?;
    o.text("scope", a.scope.as_str())?;
    o.opt("restriction", a.restriction.as_deref())?;
    o.opt("addresses", a.addresses.as_deref())?;
    for c in &a.codes {
        o.text("code", c)?;
    }
    o.opt("note", a.note.as_deref())?;
    o.opt("references", a.references.as_deref())?;
    o.opt("incidents", a.incidents.as_deref())?;
    for i in &a.infos {
        write_info(o, i)?;
    }
    for s in &a.signatures {
        o.raw(&s.to_xml())?;
    }
    o.end("alert")
}

fn write_info(o: &mut XmlOut, i: &Info) -> io::Result<()> {
    o.start("info", &[])?;
    o.opt("language", i.language.as_deref())?;
    for c in &i.categories {
        o.text("category", c.as_str())?;
    }
    o.text("event", &i.event)?;
    for r in &i.response_types {
        o.text("responseType", r.as_str())?;
    }
    o.text("urgency", i.urgency.as_str())?;
    o.text("severity", i.severity.as_str())?;
    o.text("certainty", i.certainty.as_str())?;
    o.opt("audience", i.audience.as_deref())?;
    pairs(o, "eventCode", &i.event_codes)?;
    o.opt("effective", i.effective.as_ref().map(|d| d.as_str()))?;
    o.opt("onset", i.onset.as_ref().map(|d| d.as_str()))?;
    o.opt("expires", i.expires.as_ref().map(|d| d.as_str()))?;
    o.opt("senderName", i.sender_name.as_deref())?;
    o.opt("headline", i.headline.as_deref())?;
    o.opt("description", i.description.as_deref())?;
    o.opt("instruction", i.instruction.as_deref())?;
    o.opt("web", i.web.as_deref())?;
    o.opt("contact", i.contact.as_deref())?;
    pairs(o, "parameter", &i.parameters)?;
    for r in &i.resources {
        write_resource(o, r)?;
    }
    for a in &i.areas {
        write_area(o, a)?;
    }
    o.end("info")
}

fn write_resource(o: &mut XmlOut, r: &Resource) -> io::Result<()> {
    o.start("resource", &[])?;
    o.text("resourceDesc", &r.resource_desc)?;
    o.text("mimeType", &r.mime_type)?;
    o.opt("size", r.size.as_deref())?;
    o.opt("uri", r.uri.as_deref())?;
    o.opt("derefUri", r.deref_uri.as_deref())?;
    o.opt("digest", r.digest.as_deref())?;
    o.end("resource")
}

fn write_area(o: &mut XmlOut, a: &Area) -> io::Result<()> {
    o.start("area", &[])?;
    o.text("areaDesc", &a.area_desc)?;
    for p in &a.polygons {
        o.text("polygon", &p.to_cap())?;
    }
    for c in &a.circles {
        o.text("circle", &c.to_cap())?;
    }
    pairs(o, "geocode", &a.geocodes)?;
    o.opt("altitude", a.altitude.map(|v| v.to_string()).as_deref())?;
    o.opt("ceiling", a.ceiling.map(|v| v.to_string()).as_deref())?;
    o.end("area")
}

impl Alert {
    /// The alert as a CAP 1.2 document: XML declaration, then `<alert
    /// xmlns="urn:oasis:names:tc:emergency:cap:1.2">` (indented).
    pub fn to_xml(&self) -> String {
        let mut o = XmlOut::new();
        let r = o.decl().and_then(|()| write_alert(&mut o, self));
        debug_assert!(r.is_ok(), "writing to a Vec cannot fail");
        o.finish()
    }

    /// The `<alert>` element alone, without XML declaration, for embedding (an XMPP pubsub
    /// item, an Atom `<content>`, a SIP NOTIFY body part).
    pub fn to_xml_element(&self) -> String {
        let mut o = XmlOut::new();
        let r = write_alert(&mut o, self);
        debug_assert!(r.is_ok(), "writing to a Vec cannot fail");
        o.finish()
    }
}
