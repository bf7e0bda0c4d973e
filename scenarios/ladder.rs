//! Turns the wire records of all elements into one message ladder for the report.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use lmpe_proto::roles::WireRecord;
use lmpe_reports::WireMessage;

/// One ladder from every element's outgoing messages, ordered by time, with names for addresses.
pub(crate) fn ladder(records: &[(&'static str, WireRecord)], start: Instant) -> Vec<WireMessage> {
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
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, m)| m).collect()
}
