//! Turns the wire records of all elements into one message ladder for the report.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use lmpe_proto::roles::WireRecord;
use lmpe_reports::WireMessage;
use lmpe_transfer::http::HttpRecord;

/// One ladder from every element's outgoing SIP messages and the HTTP-3 messages (both ends
/// of an exchange may record it: each message is kept once), ordered by time, with names for
/// addresses.
pub(crate) fn ladder(
    records: &[(&'static str, WireRecord)],
    http: &[HttpRecord],
    start: Instant,
    start_wall: std::time::SystemTime,
) -> Vec<WireMessage> {
    let mut names: HashMap<SocketAddr, &'static str> = HashMap::new();
    for (who, r) in records {
        names.insert(r.local, who);
    }
    let mut out: Vec<(Instant, WireMessage)> = records
        .iter()
        .filter(|(_, r)| r.outgoing)
        .map(|(who, r)| {
            let text = String::from_utf8_lossy(&r.bytes).into_owned();
            let to = names
                .get(&r.remote)
                .map_or_else(|| r.remote.to_string(), |n| (*n).to_string());
            (
                r.at,
                WireMessage {
                    at_ms: r.at.saturating_duration_since(start).as_secs_f64() * 1000.0,
                    direction: format!("{who} -> {to}"),
                    transport: format!("{:?}", r.transport).to_uppercase(),
                    summary: text.lines().next().unwrap_or_default().to_string(),
                    text,
                    src: Some(r.local.to_string()),
                    dst: Some(r.remote.to_string()),
                },
            )
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for h in http {
        let key = (h.src, h.dst, h.start_line.clone(), h.body.clone());
        if !seen.insert(key) {
            continue;
        }
        let since = h.at.duration_since(start_wall).unwrap_or_default();
        let at = start + since;
        let name = |a: Option<SocketAddr>| {
            a.map_or_else(
                || "?".to_string(),
                |a| {
                    names
                        .get(&a)
                        .map_or_else(|| a.to_string(), |n| (*n).to_string())
                },
            )
        };
        out.push((
            at,
            WireMessage {
                at_ms: since.as_secs_f64() * 1000.0,
                direction: format!("{} -> {}", name(h.src), name(h.dst)),
                transport: "HTTP".into(),
                summary: h.start_line.clone(),
                text: h.to_text(),
                src: h.src.map(|a| a.to_string()),
                dst: h.dst.map(|a| a.to_string()),
            },
        ));
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, m)| m).collect()
}
