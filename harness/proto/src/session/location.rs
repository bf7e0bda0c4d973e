//! Location conveyance checks (5.6.4, RFC 6442) and a minimal PIDF-LO for simulated APPs.

use lmpe_wire::sip::{split_list, Header, NameAddr, SipMessage};

/// One body part (a non-multipart body is a single part).
#[derive(Debug)]
pub(crate) struct Part {
    headers: Vec<Header>,
    body: Vec<u8>,
}

/// Splits a SIP body into parts (RFC 2046 multipart/mixed; otherwise the body is one part).
pub(crate) fn body_parts(msg: &SipMessage) -> Result<Vec<Part>, String> {
    let ct = msg.content_type().unwrap_or("text/plain");
    if media_type(ct) != "multipart/mixed" {
        return Ok(vec![Part {
            headers: vec![Header {
                name: "Content-Type".into(),
                value: ct.to_string(),
            }],
            body: msg.body.clone(),
        }]);
    }
    let boundary = ct
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .ok_or("multipart/mixed without boundary")?;
    let delim = format!("--{boundary}");
    let text = &msg.body;
    let mut parts = Vec::new();
    let mut starts = Vec::new();
    let mut i = 0;
    while let Some(pos) = find(&text[i..], delim.as_bytes()) {
        let at = i + pos;
        if at == 0 || text[at - 1] == b'\n' {
            starts.push(at);
        }
        i = at + delim.len();
    }
    for w in starts.windows(2) {
        let seg = &text[w[0] + delim.len()..w[1]];
        let seg = seg.strip_prefix(b"\r\n").unwrap_or(seg);
        let seg = seg.strip_suffix(b"\r\n").unwrap_or(seg);
        let (head, body) = match find(seg, b"\r\n\r\n") {
            Some(p) => (&seg[..p], &seg[p + 4..]),
            None => (&seg[..0], seg),
        };
        let headers = String::from_utf8_lossy(head)
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| Header {
                name: n.trim().to_string(),
                value: v.trim().to_string(),
            })
            .collect();
        parts.push(Part {
            headers,
            body: body.to_vec(),
        });
    }
    if parts.is_empty() {
        return Err(format!("multipart body has no part delimited by {delim}"));
    }
    Ok(parts)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn part_header<'a>(part: &'a Part, name: &str) -> Option<&'a str> {
    part.headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The first `text/plain` part of the body (a non-multipart body counts as one part).
pub(crate) fn text_part(msg: &SipMessage) -> Option<String> {
    let parts = body_parts(msg).ok()?;
    parts
        .iter()
        .find(|p| part_header(p, "Content-Type").is_some_and(|ct| media_type(ct) == "text/plain"))
        .map(|p| String::from_utf8_lossy(&p.body).into_owned())
}

/// Checks that a message carries location as 5.6.4 / 6.2.2 require: a Geolocation header whose
/// `cid:` reference resolves to an `application/pidf+xml` body part with a `tuple` and WGS84
/// geodetic data (or a location-by-reference URI). Returns what is wrong.
pub fn check_location(msg: &SipMessage) -> Result<(), String> {
    let geo: Vec<&str> = msg
        .headers_named("Geolocation")
        .flat_map(split_list)
        .collect();
    if geo.is_empty() {
        return Err("no Geolocation header (RFC 6442)".into());
    }
    let parts = body_parts(msg).map_err(|e| format!("body cannot be read: {e}"))?;
    for value in geo {
        let na = NameAddr::parse("Geolocation", value).map_err(|e| e.to_string())?;
        match na.scheme().as_str() {
            "cid" => {
                let cid = &na.uri[4..];
                let part = parts
                    .iter()
                    .find(|p| {
                        part_header(p, "Content-ID").is_some_and(|id| {
                            id.trim()
                                .trim_start_matches('<')
                                .trim_end_matches('>')
                                .eq_ignore_ascii_case(cid)
                        })
                    })
                    .ok_or_else(|| {
                        format!("Geolocation references cid:{cid} but no body part has Content-ID <{cid}>")
                    })?;
                let ct = part_header(part, "Content-Type").map(media_type);
                if ct.as_deref() != Some("application/pidf+xml") {
                    return Err(format!(
                        "the part cid:{cid} is {:?}, not application/pidf+xml",
                        ct.unwrap_or_default()
                    ));
                }
                let xml = String::from_utf8_lossy(&part.body);
                if !xml.contains("tuple") {
                    return Err("PIDF-LO has no <tuple> element (5.6.4, RFC 4119)".into());
                }
                if xml.contains("srsName") && !xml.contains("4326") && !xml.contains("4979") {
                    return Err(
                        "PIDF-LO geodetic data is not WGS84 (EPSG 4326/4979) (5.6.4)".into(),
                    );
                }
            }
            "sip" | "sips" | "http" | "https" | "pres" => {}
            other => {
                return Err(format!(
                    "Geolocation URI scheme {other:?} is not allowed (RFC 6442 4.1)"
                ))
            }
        }
    }
    Ok(())
}

/// A PIDF-LO document with a WGS84 point in a `tuple` (RFC 4119, RFC 5491 5.2.1).
pub fn pidf_point(entity: &str, lat: f64, lon: f64, timestamp: &str) -> String {
    format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n",
            "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:gp=\"urn:ietf:params:xml:ns:pidf:geopriv10\" ",
            "xmlns:gml=\"http://www.opengis.net/gml\" entity=\"{entity}\">\r\n",
            "  <tuple id=\"loc1\">\r\n",
            "    <status>\r\n",
            "      <gp:geopriv>\r\n",
            "        <gp:location-info>\r\n",
            "          <gml:Point srsName=\"urn:ogc:def:crs:EPSG::4326\">\r\n",
            "            <gml:pos>{lat:.6} {lon:.6}</gml:pos>\r\n",
            "          </gml:Point>\r\n",
            "        </gp:location-info>\r\n",
            "        <gp:usage-rules/>\r\n",
            "        <gp:method>GPS</gp:method>\r\n",
            "      </gp:geopriv>\r\n",
            "    </status>\r\n",
            "    <timestamp>{timestamp}</timestamp>\r\n",
            "  </tuple>\r\n",
            "</presence>\r\n"
        ),
        entity = entity,
        lat = lat,
        lon = lon,
        timestamp = timestamp
    )
}
