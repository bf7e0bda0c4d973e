//! Typed header views against the reference vectors: the ng112-js Call-Info / History-Info
//! strings (third-party, not normative) and the RFC 6442 header and message examples.

#![allow(clippy::unwrap_used)] // tests may unwrap

use lmpe_wire::headers::{
    CallInfo, Geolocation, GeolocationError, GeolocationRouting, HistoryInfo, LocationUriKind,
};
use lmpe_wire::multipart::{LmpeBody, Multipart};
use lmpe_wire::sip::{Method, RequestBuilder, RsipParser, SipParser};

const REF: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/ref");

/// A reference file without its `#` header block (README convention: drop up to the first `#---`).
fn ref_text(path: &str) -> String {
    let text = std::fs::read_to_string(format!("{REF}/{path}")).unwrap();
    let start = text.find("\n#---\n").map_or(0, |i| i + 6);
    text[start..].to_string()
}

#[test]
fn ng112js_call_info_vectors() {
    let text = ref_text("lmpe/ng112js-ts103698-call-info-header-vectors.txt");
    let (mut call_info, mut history) = (0, 0);
    for line in text.lines() {
        if line.is_empty() || line.starts_with("##") {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            assert_eq!(
                line, "something",
                "only the `something` vector has no colon"
            );
            assert!(CallInfo::parse(line).is_err());
            continue;
        };
        if name == "History-Info" {
            let h = HistoryInfo::parse(value).unwrap();
            assert_eq!(h.entries[0].target, "sip:target@dec112.at");
            assert_eq!(h.entries[0].index.to_string(), "1");
            history += 1;
            continue;
        }
        // The header name ("Call Info", "Invalid", …) is the test's business, not the value's.
        let parsed = CallInfo::parse_list(value);
        if value.contains("#\"asdf") {
            // ng112-js returns '12345+*?~#"asdf' as is; '#' and '"' are not URI characters.
            let e = parsed.unwrap_err().to_string();
            assert!(e.contains("'#'"), "{e}");
            continue;
        }
        let values = parsed.unwrap_or_else(|e| panic!("{line}: {e}"));
        for v in &values {
            if value.contains("prurpose") {
                assert_eq!(v.purpose, None);
                assert_eq!(v.param("prurpose"), Some(Some("EmergencyCallData.CallId")));
            } else {
                assert!(v.purpose.is_some(), "{line}");
            }
            // Canonical text re-parses to the same value.
            assert_eq!(&CallInfo::parse(&v.to_string()).unwrap(), v);
        }
        call_info += values.len();
    }
    assert_eq!(history, 2);
    assert_eq!(call_info, 27);
}

#[test]
fn ng112js_client_header_set_in_a_message() {
    let msg = RequestBuilder::new(Method::Message, "sip:target@dec112.at")
        .header("History-Info", "<sip:target@dec112.at>;index=1")
        .header(
            "Call-Info",
            "<urn:emergency:uid:callid:cid-1:dec112.at>; purpose=EmergencyCallData.CallId",
        )
        .header(
            "Call-Info",
            "<urn:emergency:service:uid:msgid:67:dec112.at>; purpose=EmergencyCallData.MsgId",
        )
        .header(
            "Call-Info",
            "<urn:emergency:service:uid:msgtype:259:dec112.at>; purpose=EmergencyCallData.MsgType",
        )
        .header(
            "Call-Info",
            "<did:example:123456789abcdefghi>; purpose=EmergencyCallData.DID",
        )
        .build();
    let all = CallInfo::all_from(&msg).unwrap();
    assert_eq!(all.len(), 4);
    let uri = |p| CallInfo::find_uri(&msg, p).unwrap();
    assert_eq!(
        uri(CallInfo::PURPOSE_CALL_ID),
        Some("urn:emergency:uid:callid:cid-1:dec112.at")
    );
    assert_eq!(
        uri(CallInfo::PURPOSE_MSG_ID),
        Some("urn:emergency:service:uid:msgid:67:dec112.at")
    );
    assert_eq!(
        uri(CallInfo::PURPOSE_MSG_TYPE),
        Some("urn:emergency:service:uid:msgtype:259:dec112.at")
    );
    assert_eq!(
        uri(CallInfo::PURPOSE_DID),
        Some("did:example:123456789abcdefghi")
    );
    assert_eq!(uri(CallInfo::PURPOSE_CHAT_MSG_ID), None);
    let h = HistoryInfo::from_message(&msg).unwrap().unwrap();
    assert_eq!(h.next_index().to_string(), "1.1");
}

/// Unfolds the header examples (continuation lines join with one space, as the SIP parser does).
fn header_examples() -> Vec<(String, String)> {
    let text = ref_text("sip-geolocation/rfc6442-header-examples.txt");
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("## ") || line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let last = out.last_mut().unwrap();
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (n, v) = line.split_once(':').unwrap();
            out.push((n.to_string(), v.trim().to_string()));
        }
    }
    out
}

#[test]
fn rfc6442_header_examples() {
    let ex = header_examples();
    assert_eq!(ex.len(), 8);
    for (name, value) in &ex {
        match name.as_str() {
            "Geolocation-Routing" => {
                assert_eq!(
                    GeolocationRouting::parse(value).unwrap(),
                    GeolocationRouting::No
                )
            }
            "Geolocation-Error" => {
                let e = GeolocationError::parse(value).unwrap();
                assert!([100, 200, 201, 202, 300].contains(&e.code));
                let t = e.text.as_deref().unwrap();
                assert!(!t.contains("  ") && !t.contains('\n'), "{t:?}");
                assert_eq!(GeolocationError::parse(&e.to_string()).unwrap(), e);
            }
            "Geolocation" => {
                let g = Geolocation::parse(value).unwrap();
                assert_eq!(g.values.len(), 1);
                assert!(matches!(
                    g.values[0].kind(),
                    LocationUriKind::Cid | LocationUriKind::Sips
                ));
                assert_eq!(g.to_string(), *value);
            }
            other => panic!("unexpected header {other}"),
        }
    }
    let e = GeolocationError::parse(
        &ex.iter()
            .find(|(n, v)| n == "Geolocation-Error" && v.starts_with("200"))
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(
        e.text.as_deref(),
        Some("Permission To Use Location Information")
    );
}

/// The RFC 6442 5.1 / 5.2 INVITEs as printed: LF line ends, `Content-Length: ...`, and a blank
/// line after each boundary line instead of after the part headers (see the reference README).
fn rfc6442_invite(file: &str, repair_parts: bool) -> Vec<u8> {
    let mut text = ref_text(&format!("sip-geolocation/{file}"));
    if repair_parts {
        text = text.replace("--boundary1\n\n", "--boundary1\n").replace(
            "Content-ID: <target123@atlanta.example.com>\n",
            "Content-ID: <target123@atlanta.example.com>\n\n",
        );
    }
    let text = text.replace('\n', "\r\n");
    let body_len = text.len() - text.find("\r\n\r\n").unwrap() - 4;
    text.replace(
        "Content-Length: ...",
        &format!("Content-Length: {body_len}"),
    )
    .into_bytes()
}

#[test]
fn rfc6442_invites_with_location_by_value() {
    for file in [
        "rfc6442-5.1-INVITE-location-by-value.sip.txt",
        "rfc6442-5.2-INVITE-two-locations-composed.sip.txt",
    ] {
        // As printed: the MIME structure puts every part's headers into its body.
        let m = RsipParser::default()
            .parse(&rfc6442_invite(file, false))
            .unwrap();
        // The examples write `Via: SIPS/2.0/TLS …`; the protocol name is always SIP (RFC 3261
        // 20.42 and 26.2.1 use SIP/2.0/TLS for sips), so that is the only defect.
        let d = m.defects();
        assert_eq!(d.len(), 1, "{file}: {d:?}");
        assert_eq!(d[0].header, Some("Via"));
        assert!(
            d[0].reason.contains("SIPS/2.0 is not SIP/2.0"),
            "{file}: {d:?}"
        );
        let g = Geolocation::from_message(&m).unwrap().unwrap();
        assert_eq!(
            g.content_ids().collect::<Vec<_>>(),
            vec!["target123@atlanta.example.com"]
        );
        assert!(!GeolocationRouting::from_message(&m)
            .unwrap()
            .allows_routing());
        let mp = Multipart::parse(m.content_type().unwrap(), &m.body).unwrap();
        assert_eq!(mp.parts.len(), 2);
        assert!(mp.parts.iter().all(|p| p.headers.is_empty()));
        let e = LmpeBody::from_message(&m).unwrap_err().to_string();
        assert!(e.contains("no body part has Content-ID"), "{e}");

        // Repaired: the cid: reference resolves to the PIDF-LO part.
        let m = RsipParser::default()
            .parse(&rfc6442_invite(file, true))
            .unwrap();
        let body = LmpeBody::from_message(&m).unwrap();
        let loc = body.location.as_ref().unwrap();
        assert!(loc.is_media_type("application/pidf+xml"));
        assert!(loc
            .text()
            .unwrap()
            .contains("<gml:pos>32.86726 -97.16054</gml:pos>"));
        assert_eq!(body.others.len(), 1);
        assert!(body.others[0].is_media_type("application/sdp"));
        assert_eq!(body.text, None);
        assert_eq!(
            body.geolocation().unwrap().to_string(),
            "<cid:target123@atlanta.example.com>"
        );
    }
}
