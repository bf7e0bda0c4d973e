//! Location conveyance checks (5.6.4, RFC 6442) and a minimal PIDF-LO for simulated APPs.

use lmpe_wire::multipart::{body_parts, find_by_cid};
use lmpe_wire::sip::{split_list, NameAddr, SipMessage};

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
        .find(|p| p.is_media_type("text/plain"))
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
                let part = find_by_cid(&parts, cid).ok_or_else(|| {
                    format!(
                        "Geolocation references cid:{cid} but no body part has Content-ID <{cid}>"
                    )
                })?;
                let ct = part.content_type().map(media_type);
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

/// The location reported with a message as natural text (6.1.2.10 test calls): the geodetic
/// shape of a PIDF-LO by value (`cid:`), or the reference URI.
pub fn location_text(msg: &SipMessage) -> String {
    let Some(value) = msg.headers_named("Geolocation").flat_map(split_list).next() else {
        return "no location provided".into();
    };
    let Ok(na) = NameAddr::parse("Geolocation", value) else {
        return format!("unreadable Geolocation {value}");
    };
    if na.scheme() != "cid" {
        return format!("location by reference {}", na.uri);
    }
    let cid = &na.uri[4..];
    let Some(xml) = body_parts(msg).ok().and_then(|parts| {
        find_by_cid(&parts, cid).map(|p| String::from_utf8_lossy(&p.body).into_owned())
    }) else {
        return format!("location by value cid:{cid} (body part missing)");
    };
    let inner = |tag: &str| -> Option<String> {
        let start = xml.find(&format!("{tag}>"))? + tag.len() + 1;
        let end = xml[start..].find('<')? + start;
        Some(xml[start..end].trim().to_string())
    };
    match (inner("pos"), inner("radius")) {
        (Some(pos), Some(r)) => format!("WGS84 circle around {pos} (lat lon), radius {r} m"),
        (Some(pos), None) => format!("WGS84 point {pos} (lat lon)"),
        _ => "location by value without a geodetic position".into(),
    }
}
