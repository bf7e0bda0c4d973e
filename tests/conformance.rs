//! `lmpe-harness conformance` passes against the embedded ESInet and every check fails against a
//! deliberately broken PSAP, citing the clause.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{run_conformance, verdict, Scratch};

fn run(report_dir: &Path, fault: Option<&str>) -> (i32, serde_json::Value) {
    let mut args = vec!["conformance".to_string()];
    if let Some(f) = fault {
        args.extend(["--inject-fault".to_string(), f.to_string()]);
    }
    run_conformance(&args, report_dir)
}

fn dir(name: &str) -> Scratch {
    Scratch::new(name)
}

#[test]
fn every_scenario_passes_against_the_embedded_esinet() {
    let d = dir("clean");
    let (code, r) = run(&d, None);
    let summary = &r["summary"];
    assert_eq!(code, 0, "summary: {summary}");
    assert!(summary["total"].as_u64().unwrap_or(0) >= 33, "{summary}");
    assert_eq!(summary["pass"], summary["total"], "{summary}");
    for s in r["scenarios"].as_array().expect("scenarios") {
        assert!(s["id"].as_str().unwrap_or("").starts_with("TP_"), "{s}");
        assert!(!s["clause"].as_str().unwrap_or("").is_empty(), "{s}");
        assert!(
            !s["messages"].as_array().expect("ladder").is_empty(),
            "ladder of {}",
            s["id"]
        );
    }
    let junit = std::fs::read_to_string(d.join("junit.xml")).expect("junit.xml");
    assert!(junit.contains("<testsuites") && junit.contains("failures=\"0\""));
    let html = std::fs::read_to_string(d.join("report.html")).expect("report.html");
    assert!(html.contains("TP_PSAP_IM2_START_BV_01") && html.contains("<details"));
    let pcaps = std::fs::read_dir(d.join("pcap")).expect("pcap dir").count();
    assert_eq!(
        pcaps as u64,
        summary["total"].as_u64().unwrap_or(0),
        "one pcap per scenario"
    );
}

/// (fault, scenario that must fail, text the reason must contain)
const BROKEN: &[(&str, &str, &str)] = &[
    (
        "omit-reply-to",
        "TP_PSAP_IM2_START_BV_01",
        "6.2.2: the PSAP's message includes a Reply-To header value",
    ),
    ("no-start", "TP_PSAP_IM2_START_BV_02", "6.2.2"),
    ("reject-start", "TP_PSAP_IM2_START_BV_01", "answered 480"),
    ("wrong-call-id", "TP_PSAP_IM2_START_BV_01", "6.2.2"),
    ("fixed-id-forms", "TP_PSAP_IM2_START_BV_03", "6.1.2.7"),
    ("accept-any-start", "TP_PSAP_IM2_START_BI_01", "6.2.2"),
    ("accept-any-start", "TP_PSAP_IM2_START_BI_02", "6.1.2.7"),
    ("accept-any-start", "TP_PSAP_IM2_START_BI_03", "A.5"),
    ("no-reply", "TP_PSAP_IM2_INCHAT_BV_01", "6.2.3"),
    (
        "frozen-msg-id",
        "TP_PSAP_IM2_INCHAT_BV_02",
        "increases by one",
    ),
    ("accept-unknown-chat", "TP_PSAP_IM2_INCHAT_BI_01", "6.2.3"),
    ("reject-stop", "TP_PSAP_IM2_STOP_BV_01", "6.2.4"),
    ("frozen-msg-id", "TP_PSAP_IM2_STOP_BV_02", "6.2.4"),
    ("ignore-stop", "TP_PSAP_IM2_STOP_BI_01", "6.2.4"),
    ("accept-unknown-chat", "TP_PSAP_IM2_STOP_BI_02", "6.2.4"),
    ("reject-heartbeat", "TP_PSAP_IM2_HEARTBEAT_BV_01", "6.2.5"),
    ("reject-heartbeat", "TP_PSAP_IM2_HEARTBEAT_BV_02", "6.2.5"),
    ("no-heartbeat", "TP_PSAP_IM2_HEARTBEAT_BV_03", "6.2.5"),
    ("no-reply", "TP_PSAP_IM2_HEARTBEAT_BV_04", "6.2.3"),
    (
        "accept-unknown-chat",
        "TP_PSAP_IM2_HEARTBEAT_BI_01",
        "6.2.5",
    ),
    (
        "bcf-no-priority-policing",
        "TP_BCF_SIP2_RPRIO_BV_01",
        "6.1.2.5: the BCF marks",
    ),
    (
        "bcf-no-priority-policing",
        "TP_BCF_SIP2_RPRIO_BI_01",
        "received [\"esnet.2\"]",
    ),
    ("bcf-busy-503", "TP_BCF_SIP2_NO503_BI_01", "6.1.2.9"),
    (
        "bcf-crash",
        "TP_PSAP_IM2_START_BV_01",
        "BCF stopped (crashed)",
    ),
    (
        "esrp-no-history-info",
        "TP_ESRP_SIP2_HISTINFO_BV_01",
        "6.1.2.6",
    ),
    (
        "esrp-no-history-info",
        "TP_ESRP_SIP2_HISTINFO_BV_02",
        "6.1.2.6",
    ),
    (
        "esrp-drops-call-info",
        "TP_ESRP_SIP2_CALLINFO_BV_01",
        "6.1.2.7",
    ),
    (
        "esrp-strips-body-parts",
        "TP_ESRP_SIP2_BODY_BV_01",
        "6.1.2.8",
    ),
    (
        "test-no-close",
        "TP_PSAP_SIP2_TESTCALL_BV_01",
        "closes the chat at once",
    ),
    ("test-no-close", "TP_PSAP_SIP2_TESTCALL_BV_03", "6.1.2.10"),
    (
        "test-wrong-text",
        "TP_PSAP_SIP2_TESTCALL_BV_02",
        "the service URN received",
    ),
    (
        "test-no-refusal",
        "TP_PSAP_SIP2_TESTCALL_BI_01",
        "it answered 200",
    ),
    (
        "redirect-no-target",
        "TP_PSAP_IM2_REDIRECT_BV_01",
        "6.2.7: the PSAP's message includes a Reply-To",
    ),
    (
        "redirect-wrong-msg-id",
        "TP_PSAP_IM2_REDIRECT_BV_02",
        "stop|redirect/274 carries",
    ),
    (
        "reject-accept-contact",
        "TP_PSAP_SIP2_HEADERS_BV_01",
        "6.1.2.4",
    ),
    ("reject-did", "TP_PSAP_SIP2_DID_BV_01", "6.1.2.11"),
    // Fragmentation, Table 1 headers, callbacks, History-Info from upstream.
    (
        "bcf-drops-large-udp",
        "TP_BCF_SIP1_LARGE_BV_01",
        "fragmentation and reassembly",
    ),
    (
        "reject-p-access-network-info",
        "TP_PSAP_SIP2_HEADERS_BV_02",
        "6.1.2.3",
    ),
    (
        "no-callback-priority",
        "TP_PSAP_SIP2_RPRIO_BV_01",
        "esnet.0",
    ),
    (
        "esrp-no-history-info",
        "TP_ESRP_SIP2_HISTINFO_BV_03",
        "6.1.2.6",
    ),
    (
        "bcf-fifo",
        "TP_BCF_SIP2_RPRIO_BV_02",
        "process calls in priority order",
    ),
    // SIP-1 over TLS (6.1.1).
    (
        "bcf-no-flow-reuse",
        "TP_BCF_SIP1_TLS_BV_01",
        "went over Udp",
    ),
    ("bcf-no-flow-reuse", "TP_BCF_SIP1_TLS_BV_02", "6.1.1"),
    (
        "bcf-short-session-timeout",
        "TP_BCF_SIP1_TLS_BV_02",
        "2 TLS connection(s) opened",
    ),
    (
        "bcf-no-flow-reuse",
        "TP_BCF_SIP1_TLS_BV_03",
        "went over Udp",
    ),
    (
        "bcf-trusts-unknown-ca",
        "TP_BCF_SIP1_TLS_BI_01",
        "mutual authentication",
    ),
    // Transfer (6.2.6) and its web service (6.3).
    (
        "transfer-wrong-msg-id",
        "TP_PSAP_IM2_TRANSFER_BV_01",
        "stop|transfer/266 carries",
    ),
    (
        "transfer-wrong-msg-id",
        "TP_PSAP_IM2_TRANSFER_BV_02",
        "6.2.6",
    ),
    (
        "http3-transferee-short-expiry",
        "TP_PSAP_HTTP3_NEGOTIATION_BV_01",
        "A.2: chatTransferNegotiationResponse: ExpiryTime >= 10",
    ),
    (
        "http3-transferee-short-expiry",
        "TP_PSAP_IM2_TRANSFER_BV_01",
        "ExpiryTime >= 10",
    ),
    (
        "http3-transferee-accept-invalid",
        "TP_PSAP_HTTP3_NEGOTIATION_BI_01",
        "fails the Annex A.1 schema is not accepted",
    ),
    (
        "http3-transferee-accept-after-expiry",
        "TP_PSAP_HTTP3_EXECUTION_BI_01",
        "StatusCode 200",
    ),
    (
        "http3-transferee-accept-after-expiry",
        "TP_PSAP_HTTP3_EXECUTION_BI_02",
        "StatusCode 200",
    ),
    (
        "http3-transferee-wrong-call-id",
        "TP_PSAP_HTTP3_EXECUTION_BV_01",
        "returns the request's CallId",
    ),
    (
        "http3-transferor-message-id-zero",
        "TP_PSAP_HTTP3_TRANSFEROR_BV_01",
        "MessageId >= 1",
    ),
    (
        "transferor-no-reactivate",
        "TP_PSAP_HTTP3_TRANSFEROR_BI_01",
        "re-activates the chat",
    ),
    // The APP as the IUT (the reference APP, deliberately broken).
    ("app-no-location", "TP_APP_IM2_START_BV_01", "location"),
    ("app-no-location", "TP_APP_IM2_INCHAT_BV_01", "location"),
    (
        "app-frozen-msg-id",
        "TP_APP_IM2_INCHAT_BV_01",
        "increases by one",
    ),
    (
        "app-ignore-reply-to",
        "TP_APP_IM2_INCHAT_BV_01",
        "(Reply-To)",
    ),
    ("app-reject-stop", "TP_APP_IM2_STOP_BV_01", "answered 481"),
    ("app-no-heartbeat", "TP_APP_IM2_HEARTBEAT_BV_01", "6.2.5"),
    (
        "app-refuse-stop-transfer",
        "TP_APP_IM2_TRANSFER_BV_01",
        "answered 488",
    ),
    (
        "app-chat-during-transfer",
        "TP_APP_IM2_TRANSFER_BV_01",
        "stalls",
    ),
    (
        "app-accept-second-start-transfer",
        "TP_APP_IM2_TRANSFER_BI_01",
        "answered 200",
    ),
    (
        "app-redirect-no-history-info",
        "TP_APP_IM2_REDIRECT_BV_01",
        "History-Info",
    ),
    (
        "app-test-as-emergency",
        "TP_APP_SIP2_TESTCALL_BV_01",
        "urn:service:sos.test",
    ),
    // Location services (features/{lis,ecrf,esrp/location}; faults of the embedded lmpe-locsvc
    // ECRF/LIS and of the reference ESRP's location routing).
    ("lis-not-xml", "TP_LIS_HELD1_LOCREQ_BV_01", "RFC 5985 5.2"),
    ("lis-not-xml", "TP_LIS_HELD1_LOCREQ_BV_02", "RFC 5985 6.2.1"),
    ("lis-not-xml", "TP_LIS_HELD1_LOCREQ_BV_03", "RFC 5985 6.2.1"),
    ("lis-not-xml", "TP_LIS_HELD1_ERROR_BI_01", "RFC 5985 6.3"),
    ("lis-not-xml", "TP_LIS_HELD1_ROBUST_BI_01", "RFC 5985 6.3"),
    ("lis-not-xml", "TP_LIS_HELD1_ROBUST_BI_02", "RFC 5985 6.3"),
    ("lis-not-xml", "TP_LIS_HELD1_ROBUST_BI_03", "RFC 5985 6.3"),
    ("lis-bad-uri", "TP_ESRP_LOST2_ROUTE_BV_04", "RFC 6881 8"),
    (
        "lis-bad-uri",
        "TP_LIS_HELD2_LOCURI_BV_01",
        "RFC 5985 6.5.1: location URI",
    ),
    ("lis-no-routing", "TP_LIS_HELD2_ROUTING_BV_01", "RFC 7840 4"),
    (
        "lis-no-routing",
        "TP_ESRP_HELD2_ROUTING_BV_01",
        "RFC 6881 8",
    ),
    ("ecrf-wrong-psap", "TP_ECRF_LOST1_FIND_BV_01", "RFC 5222 8"),
    (
        "ecrf-wrong-psap",
        "TP_ECRF_LOST1_BOUNDARY_BV_01",
        "RFC 5222 8",
    ),
    (
        "ecrf-wrong-psap",
        "TP_ECRF_LOST1_BOUNDARY_BV_02",
        "RFC 5222 9",
    ),
    ("ecrf-wrong-psap", "TP_ESRP_LOST2_ROUTE_BV_01", "RFC 6881 8"),
    (
        "ecrf-unqualified-validation",
        "TP_ECRF_LOST1_VALIDATE_BV_01",
        "RFC 6848 6",
    ),
    (
        "ecrf-wrong-namespace",
        "TP_ECRF_LOST1_FIND_BV_02",
        "RFC 5222 8",
    ),
    (
        "ecrf-wrong-namespace",
        "TP_ECRF_LOST1_LIST_BV_01",
        "RFC 5222 10",
    ),
    (
        "ecrf-wrong-namespace",
        "TP_ECRF_LOST1_LIST_BV_02",
        "RFC 5222 10-11",
    ),
    (
        "ecrf-wrong-namespace",
        "TP_ECRF_LOST1_NOTFOUND_BI_01",
        "RFC 5222 13",
    ),
    (
        "ecrf-malformed-xml",
        "TP_ECRF_LOST1_ROBUST_BI_01",
        "RFC 5222 13",
    ),
    (
        "ecrf-malformed-xml",
        "TP_ECRF_LOST1_ROBUST_BI_02",
        "RFC 5222 13",
    ),
    (
        "ecrf-malformed-xml",
        "TP_ECRF_LOST1_ROBUST_BI_03",
        "RFC 5222 13",
    ),
    (
        "esrp-ignores-location",
        "TP_ESRP_LOST2_ROUTE_BV_02",
        "RFC 6881 8",
    ),
    (
        "esrp-ignores-location",
        "TP_ESRP_LOST2_ROUTE_BV_03",
        "RFC 6881 8",
    ),
    (
        "esrp-ignores-location",
        "TP_ESRP_LOST2_NOTFOUND_BI_01",
        "RFC 6881 8",
    ),
    (
        "esrp-lookup-failure-503",
        "TP_ESRP_LOST2_ROBUST_BI_01",
        "6.1.2.9",
    ),
    (
        "esrp-no-lookup-timeout",
        "TP_ESRP_LOST2_ROBUST_BI_02",
        "6.1.2.9",
    ),
    (
        "esrp-lookup-failure-503",
        "TP_ESRP_LOST2_ROBUST_BI_03",
        "6.1.2.9",
    ),
    (
        "esrp-lookup-failure-503",
        "TP_ESRP_LOST2_ROBUST_BI_04",
        "6.1.2.9",
    ),
    (
        "esrp-lookup-failure-503",
        "TP_ESRP_LOST2_ROBUST_BI_05",
        "6.1.2.9",
    ),
    (
        "esrp-lookup-failure-503",
        "TP_ESRP_LOST2_ROBUST_BI_06",
        "6.1.2.9",
    ),
    (
        "esrp-points-only",
        "TP_ESRP_LOST2_SHAPE_BV_01",
        "RFC 6881 8",
    ),
    (
        "esrp-ignores-redirect",
        "TP_ESRP_LOST2_REDIRECT_BV_01",
        "RFC 6881 8",
    ),
    (
        "esrp-redirect-loops",
        "TP_ESRP_LOST2_REDIRECT_BI_01",
        "RFC 5222 6",
    ),
    (
        "ecrf-path-incomplete",
        "TP_ECRF_LOST1_RECURSIVE_BV_01",
        "RFC 5222 6",
    ),
    (
        "ecrf-recurses-always",
        "TP_ECRF_LOST1_ITERATIVE_BV_01",
        "RFC 5222 8.3.3",
    ),
    (
        "ecrf-no-loop-detection",
        "TP_ECRF_LOST1_LOOP_BI_01",
        "RFC 5222 13",
    ),
    (
        "lis-generic-errors",
        "TP_LIS_HELD1_ERROR_BI_02",
        "RFC 5985 6.2.1, 6.3: the LIS answers with the HELD error code cannotProvideLiType",
    ),
    (
        "lis-generic-errors",
        "TP_LIS_HELD1_ERROR_BI_03",
        "RFC 5985 5.1: the LIS answers with the HELD error code unsupportedMessage",
    ),
    (
        "lis-uri-only",
        "TP_LIS_HELD2_IDENTITY_BV_01",
        "RFC 6155 3.7",
    ),
    ("lis-ignores-flow", "TP_LIS_HELD2_FLOW_BV_01", "RFC 6915 3"),
    (
        "ecrf-generic-errors",
        "TP_ECRF_LOST1_ERROR_BI_01",
        "RFC 5222 13.1: the ECRF answers with <errors><serviceNotImplemented/>",
    ),
    (
        "ecrf-generic-errors",
        "TP_ECRF_LOST1_ERROR_BI_02",
        "RFC 5222 13.1: the ECRF answers with <errors><locationInvalid/>",
    ),
    (
        "ecrf-generic-errors",
        "TP_ECRF_LOST1_ERROR_BI_03",
        "RFC 5222 13.1: the ECRF answers with <errors><locationProfileUnrecognized/>",
    ),
    // Public warnings (draft-rosen-atoca-server-discovery): the harness's warning ECRF and
    // reference alert server, broken.
    (
        "ecrf-warning-lists-sos",
        "TP_WARN_DISC_LIST_BV_01",
        "warning services only; also got [\"urn:service:sos\"]",
    ),
    (
        "ecrf-warning-bad-scheme",
        "TP_WARN_DISC_FIND_BV_01",
        "has scheme \"https\"; warning services allow only sip, xmpp, http",
    ),
    (
        "ecrf-warning-one-mapping",
        "TP_WARN_DISC_FIND_BV_02",
        "so the answer has 2 mappings; it has 1",
    ),
    (
        "alert-drops-sip",
        "TP_WARN_SIP_BV_01",
        "reaches the subscription on sip:alerts-warn-a@",
    ),
    (
        "alert-drops-xmpp",
        "TP_WARN_XMPP_BV_01",
        "reaches the subscription on xmpp:pubsub.lmpe.test?pubsub;action=subscribe;node=warn-a",
    ),
    (
        "alert-drops-http",
        "TP_WARN_HTTP_BV_01",
        "reaches the subscription on http://",
    ),
    (
        "alert-alters",
        "TP_WARN_XMPP_BV_01",
        "receives the alert intact; it differs: info[0].headline",
    ),
    (
        "alert-alters",
        "TP_WARN_SIP_BV_01",
        "receives the alert intact; it differs: info[0].headline",
    ),
    (
        "alert-wrong-area",
        "TP_WARN_AREA_BV_01",
        "so the citizen in area A gets none for the other area",
    ),
    (
        "alert-invalid-cap",
        "TP_WARN_HTTP_BV_01",
        "receives the alert as valid CAP 1.2",
    ),
    (
        "alert-invalid-cap",
        "TP_WARN_SIP_BV_01",
        "required `sent` is missing",
    ),
    (
        "alert-accepts-any-event",
        "TP_WARN_SIP_BI_01",
        "is refused with 489 (Bad Event); it was answered 200",
    ),
    // The integrated SIP+XMPP endpoint (draft-veikkolainen-sip-xmpp-coex-reqs, RFC 7081): the
    // harness's peer endpoint under test, broken.
    (
        "cusax-no-sip-in-xmpp",
        "TP_CUSAX_REQ1_BV_01",
        "the first XMPP message of a conversation includes the sender's SIP address",
    ),
    (
        "cusax-no-impp",
        "TP_CUSAX_REQ1_BV_02",
        "the SIP session initiation carries what lets the peer correlate it with the conversation",
    ),
    (
        "cusax-no-impp",
        "TP_CUSAX_REQ4_BV_01",
        "the 200 to OPTIONS carries Call-Info: <xmpp:peer@cusax.test>;purpose=impp",
    ),
    (
        "cusax-no-reach",
        "TP_CUSAX_REQ3_BV_01",
        "XMPP presence includes the SIP contact address",
    ),
    (
        "cusax-no-media-caps",
        "TP_CUSAX_REQ3_BV_01",
        "the media capabilities include audio (disco feature urn:xmpp:lmpe:cusax:0:sip:audio); they are []",
    ),
    (
        "cusax-ignores-correlation",
        "TP_CUSAX_REQ1_BV_01",
        "the 200 to the INVITE carries the answerer's XMPP contact and the correlation token",
    ),
    (
        "cusax-ignores-correlation",
        "TP_CUSAX_REQ2_BV_01",
        "the 200 to the INVITE carries the answerer's XMPP contact and the correlation token",
    ),
    (
        "cusax-stale-correlation",
        "TP_CUSAX_STALE_BI_01",
        "is not tied to a live session",
    ),
    (
        "cusax-correlates-by-peer",
        "TP_CUSAX_UNKNOWN_BI_01",
        "an unknown correlation token opens a new context",
    ),
    (
        "cusax-correlates-by-peer",
        "TP_CUSAX_UNKNOWN_BI_02",
        "an unknown token in an INVITE opens a new context",
    ),
    (
        "cusax-accepts-forged-contact",
        "TP_CUSAX_FORGED_BI_01",
        "a forged SIP contact (its OPTIONS answer names another XMPP user) is not called",
    ),
];

#[test]
fn every_check_fails_against_a_deliberately_broken_element() {
    let mut faults: Vec<&str> = BROKEN.iter().map(|b| b.0).collect();
    faults.sort_unstable();
    faults.dedup();
    // The runs mostly wait on the SUT, so four at a time is safe on two cores.
    let results: Vec<(&str, i32, serde_json::Value)> = std::thread::scope(|scope| {
        let chunks: Vec<Vec<&str>> = faults
            .chunks(faults.len().div_ceil(4))
            .map(<[&str]>::to_vec)
            .collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|fault| {
                            let (code, r) = run(&dir(fault), Some(fault));
                            (fault, code, r)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("fault run thread"))
            .collect()
    });
    let mut covered = std::collections::BTreeSet::new();
    for (fault, code, r) in &results {
        assert_eq!(*code, 1, "{fault}: exit code; summary {}", r["summary"]);
        for (_, id, needle) in BROKEN.iter().filter(|b| b.0 == *fault) {
            let (v, reason) = verdict(r, id);
            assert_eq!(v, "fail", "{fault} must fail {id}; reason: {reason}");
            assert!(
                reason.contains(needle),
                "{fault}/{id}: reason lacks {needle:?}: {reason}"
            );
            covered.insert(*id);
        }
    }
    // Every scenario of the suite is shown to fail against some broken PSAP.
    let (_, all) = run(&dir("all"), None);
    for s in all["scenarios"].as_array().expect("scenarios") {
        let id = s["id"].as_str().unwrap_or("");
        assert!(covered.contains(id), "no broken-peer test makes {id} fail");
    }
}

#[test]
fn a_missing_reply_to_is_cited_with_the_offending_message() {
    let (_, r) = run(&dir("cite"), Some("omit-reply-to"));
    let (_, reason) = verdict(&r, "TP_PSAP_IM2_START_BV_01");
    assert!(reason.contains("TS 103 698 6.2.2"), "{reason}");
    assert!(reason.contains("--- offending message ---"), "{reason}");
    assert!(
        reason.contains("urn:emergency:service:uid:msgtype:257"),
        "{reason}"
    );
    assert!(!reason.contains("\nReply-To:"), "{reason}");
    // Scenarios whose preamble needs an established chat cannot run: inconclusive, not fail.
    let (v, reason) = verdict(&r, "TP_PSAP_IM2_INCHAT_BV_01");
    assert_eq!(v, "inconclusive", "{reason}");
    assert!(reason.starts_with("preamble:"), "{reason}");
    assert!(reason.contains("(6.2.2)"), "{reason}");
}

#[test]
fn bad_command_lines_are_clear_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_lmpe-harness"))
        .args(["conformance", "--inject-fault", "no-such-fault"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fault"));
    let out = Command::new(env!("CARGO_BIN_EXE_lmpe-harness"))
        .args(["conformance", "--features", "/nonexistent/features"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    // A target replaces the embedded elements: only the harness's own alert server can still
    // be broken.
    let scratch = Scratch::new("fault-target");
    let target = scratch.write("fault.toml", "name = \"t\"\n[warning]\n");
    let out = Command::new(env!("CARGO_BIN_EXE_lmpe-harness"))
        .args(["conformance", "--inject-fault", "omit-reply-to", "--target"])
        .arg(&target)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("only the harness's own alert server"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An expectations file with `waivers`, in a scratch directory that lives as long as the pair.
fn expectations(name: &str, waivers: &[(&str, &str)]) -> (Scratch, PathBuf) {
    let mut text = "sut = \"test\"\n".to_string();
    for (id, reason) in waivers {
        text.push_str(&format!(
            "[[waive]]\nid = \"{id}\"\nreason = \"{reason}\"\n"
        ));
    }
    let scratch = Scratch::new(&format!("exp-{name}"));
    let p = scratch.write("expectations.toml", text);
    (scratch, p)
}

#[test]
fn waived_failures_pass_the_gate_and_stale_waivers_fail_it() {
    // Waive every failure of a broken SUT: the run passes, each failure carries its waiver.
    let (_, first) = run(&dir("waive-1"), Some("omit-reply-to"));
    let failed: Vec<String> = first["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .filter(|s| s["verdict"] == "fail")
        .map(|s| s["id"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(!failed.is_empty());
    let waivers: Vec<(&str, &str)> = failed
        .iter()
        .map(|id| (id.as_str(), "known defect"))
        .collect();
    let (_scratch, file) = expectations("all", &waivers);
    let args: Vec<String> = [
        "conformance",
        "--inject-fault",
        "omit-reply-to",
        "--expectations",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([file.display().to_string()])
    .collect();
    let (code, r) = run_conformance(&args, &dir("waive-2"));
    assert_eq!(code, 0, "{}", r["summary"]);
    for id in &failed {
        let s = r["scenarios"]
            .as_array()
            .expect("scenarios")
            .iter()
            .find(|s| s["id"] == id.as_str())
            .expect("scenario");
        assert_eq!(s["verdict"], "fail");
        assert_eq!(s["waiver"], "known defect");
    }
    // A waiver on a scenario that passes makes the gate fail, so the waiver is removed.
    let (_scratch, file) = expectations("stale", &[("TP_PSAP_IM2_START_BV_01", "was broken once")]);
    let args = vec![
        "conformance".to_string(),
        "--expectations".to_string(),
        file.display().to_string(),
    ];
    let (code, r) = run_conformance(&args, &dir("waive-3"));
    assert_eq!(code, 1, "{}", r["summary"]);
    let (v, _) = verdict(&r, "TP_PSAP_IM2_START_BV_01");
    assert_eq!(v, "pass");
    // A waiver naming no scenario is an error, not a silent no-op.
    let (_scratch, file) = expectations("typo", &[("TP_NO_SUCH_BV_99", "typo")]);
    let out = Command::new(env!("CARGO_BIN_EXE_lmpe-harness"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["conformance", "--report-dir"])
        .arg(dir("waive-4"))
        .arg("--expectations")
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TP_NO_SUCH_BV_99"));
}
