//! Annex A schemas: verbatim, compiled, each accepts a valid example and rejects each kind of
//! invalid one with a precise path; the typed model round-trips.
#![allow(clippy::unwrap_used, clippy::type_complexity)]

use lmpe_transfer::checks::{check_body, is_json_content_type, is_sip_uri};
use lmpe_transfer::model::{
    is_rfc3339, ChatData, ChatHistory, ChatMessage, Direction, ExecutionRequest, ExecutionResponse,
    Message, NegotiationRequest, NegotiationResponse,
};
use lmpe_transfer::schema::{self, validate, SchemaKind};
use lmpe_transfer::TransferError;
use serde_json::{json, Value};

fn valid(kind: SchemaKind) -> Value {
    match kind {
        SchemaKind::NegotiationRequest => json!({
            "CallId": "urn:emergency:uid:callid:a56e556d871:dec112.at",
            "TransferFrom": "sip:psap-a@example.at",
            "TransferTo": "sip:psap-b@example.at",
            "ReasonText": "language"
        }),
        SchemaKind::NegotiationResponse => {
            json!({"CallId": "c1", "ExpiryTime": 10, "StatusCode": 202})
        }
        SchemaKind::ExecutionRequest => {
            json!({"CallId": "c1", "MessageId": 1, "ExpiryTime": 10, "Data": {}})
        }
        SchemaKind::ExecutionResponse => json!({"CallId": "c1", "StatusCode": 503}),
    }
}

fn with(kind: SchemaKind, member: &str, value: Option<Value>) -> Value {
    let mut v = valid(kind);
    let m = v.as_object_mut().unwrap();
    match value {
        Some(x) => m.insert(member.into(), x),
        None => m.remove(member),
    };
    v
}

/// Asserts exactly the violations' instance paths and that each names what was expected.
fn rejects(kind: SchemaKind, instance: &Value, path: &str, expected_words: &str) {
    let errs = validate(kind, instance).expect_err(&format!("{kind} must reject {instance}"));
    assert!(
        errs.iter()
            .any(|e| e.instance_path == path && e.expected.contains(expected_words)),
        "{kind}: no violation at {path:?} expecting {expected_words:?}: {errs:?}"
    );
}

#[test]
fn embedded_schemas_compile_and_are_draft07_verbatim() {
    schema::self_check().unwrap();
    for kind in SchemaKind::ALL {
        let doc = schema::schema_document(kind).unwrap();
        assert_eq!(doc["$schema"], "http://json-schema.org/draft-07/schema#");
        assert!(
            doc["$id"].as_str().unwrap().ends_with(kind.file_name()),
            "{kind}"
        );
        assert!(kind.schema_text().starts_with("{\n  \"definitions\": {},"));
    }
    // The known defects of the ETSI text are kept, not silently fixed.
    assert!(SchemaKind::NegotiationResponse.schema_text().contains(
        "\"description\": \"Free text describing the reason of the transfer\"\n    }\n  }"
    ));
    assert!(SchemaKind::ExecutionRequest
        .schema_text()
        .contains("\"MessageId\": {\n      \"type\": \"integer\",\n      \"description\": \"SIP URI of transfer initiating entity\""));
    assert!(SchemaKind::NegotiationRequest
        .schema_text()
        .contains("\"title\": \" ChatTransferNegotiationRequest\""));
    // Where the specification text is at hand (the project's seed directory), the embedded
    // files are byte-for-byte excerpts of it.
    let spec = std::path::Path::new("/work/shared/seeds/004_feceeab374cf8ab1.txt");
    if let Ok(text) = std::fs::read_to_string(spec) {
        for kind in SchemaKind::ALL {
            assert!(
                text.contains(kind.schema_text()),
                "{kind} differs from Annex A"
            );
        }
    }
}

#[test]
fn each_schema_accepts_its_valid_example() {
    for kind in SchemaKind::ALL {
        assert_eq!(validate(kind, &valid(kind)), Ok(()), "{kind}");
    }
    // Optional members may be absent; additional members are allowed by Annex A.
    let mut v = with(SchemaKind::NegotiationRequest, "ReasonText", None);
    v["Extra"] = json!(1);
    assert_eq!(validate(SchemaKind::NegotiationRequest, &v), Ok(()));
    assert_eq!(
        validate(
            SchemaKind::ExecutionRequest,
            &with(SchemaKind::ExecutionRequest, "Data", None)
        ),
        Ok(())
    );
    assert_eq!(
        validate(
            SchemaKind::NegotiationResponse,
            &with(
                SchemaKind::NegotiationResponse,
                "StatusCode",
                Some(json!(406))
            )
        ),
        Ok(())
    );
    assert_eq!(
        validate(
            SchemaKind::ExecutionResponse,
            &with(
                SchemaKind::ExecutionResponse,
                "StatusCode",
                Some(json!(200))
            )
        ),
        Ok(())
    );
}

#[test]
fn expiry_time_below_ten_is_rejected() {
    let v = with(
        SchemaKind::NegotiationResponse,
        "ExpiryTime",
        Some(json!(9)),
    );
    rejects(
        SchemaKind::NegotiationResponse,
        &v,
        "/ExpiryTime",
        "ExpiryTime >= 10",
    );
    let v = with(SchemaKind::ExecutionRequest, "ExpiryTime", Some(json!(9)));
    rejects(
        SchemaKind::ExecutionRequest,
        &v,
        "/ExpiryTime",
        "ExpiryTime >= 10",
    );
}

#[test]
fn status_codes_outside_the_enums_are_rejected() {
    let v = with(
        SchemaKind::NegotiationResponse,
        "StatusCode",
        Some(json!(201)),
    );
    rejects(
        SchemaKind::NegotiationResponse,
        &v,
        "/StatusCode",
        "StatusCode is one of [202,406]",
    );
    let v = with(
        SchemaKind::NegotiationResponse,
        "StatusCode",
        Some(json!(200)),
    );
    rejects(
        SchemaKind::NegotiationResponse,
        &v,
        "/StatusCode",
        "one of [202,406]",
    );
    let v = with(
        SchemaKind::ExecutionResponse,
        "StatusCode",
        Some(json!(202)),
    );
    rejects(
        SchemaKind::ExecutionResponse,
        &v,
        "/StatusCode",
        "one of [200,503]",
    );
}

#[test]
fn missing_mandatory_members_are_rejected() {
    for (kind, member) in [
        (SchemaKind::NegotiationRequest, "CallId"),
        (SchemaKind::NegotiationRequest, "TransferFrom"),
        (SchemaKind::NegotiationRequest, "TransferTo"),
        (SchemaKind::NegotiationResponse, "CallId"),
        (SchemaKind::NegotiationResponse, "ExpiryTime"),
        (SchemaKind::NegotiationResponse, "StatusCode"),
        (SchemaKind::ExecutionRequest, "CallId"),
        (SchemaKind::ExecutionRequest, "MessageId"),
        (SchemaKind::ExecutionRequest, "ExpiryTime"),
        (SchemaKind::ExecutionResponse, "CallId"),
        (SchemaKind::ExecutionResponse, "StatusCode"),
    ] {
        let v = with(kind, member, None);
        let errs = validate(kind, &v).unwrap_err();
        assert!(
            errs.iter().any(|e| e.instance_path.is_empty()
                && e.schema_path == "/required"
                && e.message.contains(member)
                && e.expected.contains("has the members")),
            "{kind} without {member}: {errs:?}"
        );
    }
}

#[test]
fn message_id_zero_is_rejected() {
    let v = with(SchemaKind::ExecutionRequest, "MessageId", Some(json!(0)));
    rejects(
        SchemaKind::ExecutionRequest,
        &v,
        "/MessageId",
        "MessageId >= 1",
    );
}

#[test]
fn wrong_types_are_rejected() {
    for (kind, member, value, words) in [
        (
            SchemaKind::NegotiationRequest,
            "CallId",
            json!(12),
            "CallId is of type \"string\"",
        ),
        (
            SchemaKind::NegotiationRequest,
            "ReasonText",
            json!(["x"]),
            "ReasonText is of type \"string\"",
        ),
        (
            SchemaKind::NegotiationResponse,
            "ExpiryTime",
            json!("30"),
            "ExpiryTime is of type \"integer\"",
        ),
        (
            SchemaKind::NegotiationResponse,
            "ExpiryTime",
            json!(10.5),
            "ExpiryTime is of type \"integer\"",
        ),
        (
            SchemaKind::ExecutionRequest,
            "MessageId",
            json!("7"),
            "MessageId is of type \"integer\"",
        ),
        (
            SchemaKind::ExecutionRequest,
            "Data",
            json!("chat"),
            "Data is of type \"object\"",
        ),
        (
            SchemaKind::ExecutionResponse,
            "StatusCode",
            json!("200"),
            "StatusCode is of type \"integer\"",
        ),
    ] {
        rejects(
            kind,
            &with(kind, member, Some(value)),
            &format!("/{member}"),
            words,
        );
    }
    for kind in SchemaKind::ALL {
        rejects(kind, &json!([1, 2]), "", "the body is a JSON \"object\"");
    }
}

#[test]
fn violations_are_displayed_with_path_and_expectation() {
    let v = with(
        SchemaKind::NegotiationResponse,
        "ExpiryTime",
        Some(json!(5)),
    );
    let errs = validate(SchemaKind::NegotiationResponse, &v).unwrap_err();
    let text = errs[0].to_string();
    assert!(
        text.starts_with("at /ExpiryTime: expected ExpiryTime >= 10;"),
        "{text}"
    );
    assert!(text.contains("/properties/ExpiryTime/minimum"), "{text}");
}

#[test]
fn typed_messages_round_trip_with_the_exact_json_names() {
    let history = ChatData::History(ChatHistory {
        app_uri: None,
        service: None,
        messages: vec![ChatMessage {
            msg_id: 1,
            direction: Direction::AppToPsap,
            message_type: "start/257".into(),
            text: "Help".into(),
            at: "2026-11-21T12:00:00Z".into(),
        }],
    });
    let neg = NegotiationRequest {
        call_id: "c1".into(),
        transfer_from: "sip:a@x".into(),
        transfer_to: "sip:b@x".into(),
        reason_text: None,
    };
    assert_eq!(
        neg.to_value(),
        json!({"CallId": "c1", "TransferFrom": "sip:a@x", "TransferTo": "sip:b@x"})
    );
    assert_eq!(NegotiationRequest::parse(&neg.to_body()).unwrap(), neg);
    let resp = NegotiationResponse {
        call_id: "c1".into(),
        expiry_time: 30,
        status_code: 202,
    };
    assert_eq!(
        resp.to_value(),
        json!({"CallId": "c1", "ExpiryTime": 30, "StatusCode": 202})
    );
    assert_eq!(NegotiationResponse::parse(&resp.to_body()).unwrap(), resp);
    let exe = ExecutionRequest {
        call_id: "c1".into(),
        message_id: 4,
        expiry_time: 10,
        data: Some(history.clone()),
    };
    let v = exe.to_value();
    assert_eq!(v["Data"]["Messages"][0]["Direction"], "app-to-psap");
    assert_eq!(v["Data"]["Messages"][0]["MsgId"], 1);
    assert_eq!(v["MessageId"], 4);
    let back = ExecutionRequest::parse(&exe.to_body()).unwrap();
    assert_eq!(back, exe);
    assert!(back.data.unwrap().is_profile());
    // serde derive and the hand-written to_value agree.
    assert_eq!(serde_json::to_value(&exe).unwrap(), v);
    let er = ExecutionResponse {
        call_id: "c1".into(),
        status_code: 200,
    };
    assert_eq!(ExecutionResponse::parse(&er.to_body()).unwrap(), er);
}

#[test]
fn data_of_unknown_shape_is_kept_raw_and_flagged() {
    let body =
        br#"{"CallId":"c1","MessageId":3,"ExpiryTime":10,"Data":{"vendor":{"lines":["a","b"]}}}"#;
    let req = ExecutionRequest::parse(body).unwrap();
    let data = req.data.unwrap();
    assert!(!data.is_profile());
    assert_eq!(data.history(), None);
    assert_eq!(data.to_value(), json!({"vendor": {"lines": ["a", "b"]}}));
    // The profile plus an unknown member is not silently trimmed.
    let body = br#"{"CallId":"c1","MessageId":3,"ExpiryTime":10,"Data":{"Messages":[],"X":1}}"#;
    let data = ExecutionRequest::parse(body).unwrap().data.unwrap();
    assert!(!data.is_profile());
    assert_eq!(data.to_value()["X"], 1);
}

#[test]
fn parse_errors_are_precise() {
    match NegotiationResponse::parse(b"not json") {
        Err(TransferError::NotJson { kind, reason }) => {
            assert_eq!(kind, SchemaKind::NegotiationResponse);
            assert!(reason.contains("line 1"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    match NegotiationResponse::parse(br#"{"CallId":"c","ExpiryTime":9,"StatusCode":202}"#) {
        Err(e @ TransferError::Schema { .. }) => {
            assert!(e.to_string().contains("ExpiryTime >= 10"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    // Passes the schema (draft-07 counts 5e9 as an integer) but does not fit ExpiryTime: u32.
    match NegotiationResponse::parse(br#"{"CallId":"c","ExpiryTime":5000000000,"StatusCode":202}"#)
    {
        Err(TransferError::Decode { kind, .. }) => {
            assert_eq!(kind, SchemaKind::NegotiationResponse)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn body_checks_report_each_problem_under_its_clause() {
    let c = check_body::<ExecutionRequest>(
        Some("text/plain"),
        br#"{"CallId":"c","MessageId":0,"ExpiryTime":10}"#,
    );
    let clauses: Vec<&str> = c.violations.iter().map(|v| v.clause).collect();
    assert_eq!(clauses, ["6.3", "A.3"], "{:?}", c.violations);
    assert!(c.violations[1].expectation.contains("MessageId >= 1"));
    assert!(c.message.is_err());
    let c = check_body::<ExecutionResponse>(None, b"<html/>");
    assert_eq!(c.violations.len(), 2);
    assert_eq!(c.violations[0].clause, "6.3");
    assert_eq!(c.violations[0].detail, "no Content-Type header");
    assert_eq!(c.violations[1].clause, "A.4");
    assert!(c.raw.is_none());
    let c = check_body::<ExecutionResponse>(
        Some("application/json"),
        br#"{"CallId":"c","StatusCode":200}"#,
    );
    assert_eq!(c.violations, []);
    assert!(c.message.is_ok());
}

#[test]
fn helpers() {
    assert!(is_json_content_type("application/json"));
    assert!(is_json_content_type("Application/JSON; charset=utf-8"));
    assert!(!is_json_content_type("text/json"));
    assert!(is_sip_uri("sip:psap@example.at"));
    assert!(is_sip_uri("SIPS:psap@example.at"));
    assert!(!is_sip_uri("tel:112"));
    assert!(!is_sip_uri("sip:"));
    assert!(is_rfc3339("2026-11-21T12:00:00Z"));
    assert!(is_rfc3339("2026-11-21T12:00:00.123+01:00"));
    assert!(!is_rfc3339("2026-11-21 12:00"));
    assert!(!is_rfc3339("2026-11-21T12:00:00"));
}
