//! Turns an [`OutgoingChat`] into a SIP MESSAGE (6.1.2.3, 6.1.2.7, 6.1.2.8).

use lmpe_wire::lmpe::{
    IdentifierProfile, MSG_ID_PREFIX, MSG_TYPE_PREFIX, PURPOSE_CALL_ID, PURPOSE_MSG_TYPE,
};
use lmpe_wire::multipart::{Multipart, Part};
use lmpe_wire::sip::{Method, NameAddr, RequestBuilder, SipMessage};

use crate::session::{pidf_point, OutgoingChat};

/// A `multipart/mixed` body with the chat text and a PIDF-LO referenced by `cid:` (6.1.2.8).
/// Returns the Content-Type value and the body.
pub fn multipart_body(
    text: Option<&str>,
    pidf: &str,
    cid: &str,
    extra_parts: &[Part],
) -> (String, Vec<u8>) {
    let mut parts = Vec::with_capacity(2 + extra_parts.len());
    if let Some(t) = text {
        parts.push(Part::new("text/plain; charset=utf-8", t.as_bytes()));
    }
    parts.push(Part::new("application/pidf+xml", pidf.as_bytes()).with_content_id(cid));
    parts.extend(extra_parts.iter().cloned());
    let m = Multipart::new(parts);
    (m.content_type_value(), m.to_bytes())
}

/// Everything a role knows about how to write its messages.
#[derive(Debug, Clone)]
pub struct Sender<'a> {
    /// Identifier forms.
    pub profile: &'a IdentifierProfile,
    /// Our From URI.
    pub from_uri: &'a str,
    /// From tag.
    pub from_tag: &'a str,
    /// SIP Call-ID of this chat.
    pub sip_call_id: &'a str,
    /// CSeq.
    pub cseq: u32,
    /// Location to attach (lat, lon) when the message asks for it.
    pub location: Option<(f64, f64)>,
    /// A whole PIDF-LO document sent instead of the point of `location` (any RFC 5491 shape,
    /// civic address): attached when the message asks for location.
    pub pidf: Option<&'a str>,
    /// Extra headers (e.g. Resource-Priority).
    pub extra: &'a [(String, String)],
    /// Additional body parts (images, vCards, eCall MSD: 6.1.2.8) sent with location.
    pub extra_parts: &'a [Part],
}

/// Builds the SIP MESSAGE for an LMPE message.
pub fn chat_request(out: &OutgoingChat, s: &Sender<'_>) -> SipMessage {
    let mut b = RequestBuilder::new(Method::Message, out.target.clone())
        .header("Max-Forwards", "70")
        .from(&NameAddr::new(s.from_uri).with_param("tag", Some(s.from_tag)))
        .to(&NameAddr::new(out.target.clone()))
        .call_id(s.sip_call_id)
        .cseq(s.cseq);
    // Call-Info: the Call Identifier as received/assigned, then Message Identifier and Type.
    let element = &out.call_id.element;
    b = b.header(
        "Call-Info",
        format!("<{}>;purpose={PURPOSE_CALL_ID}", out.call_id_urn),
    );
    if let Some(id) = out.msg_id {
        b = b.header(
            "Call-Info",
            format!(
                "<{MSG_ID_PREFIX}{id}:{element}>;purpose={}",
                out.msg_id_purpose.unwrap_or(s.profile.msg_id_purposes[0])
            ),
        );
    }
    b = b.header(
        "Call-Info",
        format!(
            "<{MSG_TYPE_PREFIX}{}:{element}>;purpose={PURPOSE_MSG_TYPE}",
            out.msg_type.0
        ),
    );
    if let Some(r) = &out.reply_to {
        b = b.header("Reply-To", format!("<{r}>"));
    }
    if let Some(h) = &out.history_info {
        b = b.header("History-Info", h.clone());
    }
    for (n, v) in s.extra {
        b = b.header(n, v.clone());
    }
    let pidf = match (out.with_location, s.pidf, s.location) {
        (false, _, _) => None,
        (true, Some(doc), _) => Some(doc.to_owned()),
        (true, None, Some((lat, lon))) => {
            Some(pidf_point(s.from_uri, lat, lon, "2026-01-01T00:00:00Z"))
        }
        (true, None, None) => None,
    };
    match pidf {
        Some(pidf) => {
            let cid = format!("loc{}{}@{}", s.cseq, s.from_tag, element);
            b = b
                .header("Geolocation", format!("<cid:{cid}>"))
                .header("Geolocation-Routing", "yes");
            let (ct, body) = multipart_body(out.text.as_deref(), &pidf, &cid, s.extra_parts);
            b = b.body(&ct, body);
        }
        None => {
            if let Some(t) = &out.text {
                b = b.body("text/plain; charset=utf-8", t.clone().into_bytes());
            }
        }
    }
    b.build()
}
