//! The HTTP binding end to end over loopback: server and client in one test, both recording.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{history, transfer, CALL};
use lmpe_transfer::http::{
    HttpLog, ServerConfig, ServicePaths, TransferClient, TransfereeEvent, TransfereeServer,
    TransferorRunner, MAX_BODY,
};
use lmpe_transfer::transferee::{Service, Transferee, TransfereeAction, TransfereeConfig};
use lmpe_transfer::transferor::{ReactivateReason, Transferor, TransferorConfig, TransferorOutput};
use lmpe_transfer::{TimeScale, TransferError, TransfereeFaults, Violation};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const LOOPBACK: &str = "127.0.0.1:0";
const WAIT: Duration = Duration::from_secs(5);

/// 10 ms per ExpiryTime second: ExpiryTime 10 (valid) lasts 100 ms.
fn fast() -> TimeScale {
    TimeScale {
        per_second: Duration::from_millis(10),
    }
}

async fn server(tee: TransfereeConfig, cfg: ServerConfig) -> TransfereeServer {
    let addr: SocketAddr = LOOPBACK.parse().unwrap();
    TransfereeServer::bind(addr, Transferee::new(tee).unwrap(), cfg, HttpLog::new())
        .await
        .unwrap()
}

fn runner(server: &TransfereeServer, tor: TransferorConfig) -> TransferorRunner {
    let client =
        TransferClient::new(&server.base_url(), ServicePaths::default(), HttpLog::new()).unwrap();
    TransferorRunner::new(Transferor::new(tor).unwrap(), client)
}

async fn next(r: &mut TransferorRunner) -> TransferorOutput {
    timeout(WAIT, r.next_output())
        .await
        .expect("runner stalled")
        .expect("runner idle")
}

async fn event(s: &mut TransfereeServer) -> TransfereeEvent {
    timeout(WAIT, s.next_event())
        .await
        .expect("no server event")
        .expect("server gone")
}

async fn events_until(
    s: &mut TransfereeServer,
    mut stop: impl FnMut(&TransfereeEvent) -> bool,
) -> Vec<TransfereeEvent> {
    let mut out = Vec::new();
    loop {
        let e = event(s).await;
        let done = stop(&e);
        out.push(e);
        if done {
            return out;
        }
    }
}

fn violations(events: &[TransfereeEvent]) -> Vec<Violation> {
    events
        .iter()
        .filter_map(|e| match e {
            TransfereeEvent::Violation(v) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn transfer_end_to_end_over_loopback_and_both_ends_record_it() {
    // Real time: nothing here waits for an expiry.
    let mut srv = server(TransfereeConfig::default(), ServerConfig::default()).await;
    let mut r = runner(&srv, TransferorConfig::default());
    r.start(transfer(CALL, 41)).unwrap();
    assert_eq!(
        next(&mut r).await,
        TransferorOutput::SendStopTransfer {
            call_id: CALL.into(),
            last_msg_id: 41
        }
    );
    assert_eq!(
        next(&mut r).await,
        TransferorOutput::Completed {
            call_id: CALL.into()
        }
    );

    let events = events_until(&mut srv, |e| {
        matches!(
            e,
            TransfereeEvent::Action(TransfereeAction::StartTransferredChat { .. })
        )
    })
    .await;
    assert_eq!(violations(&events), []);
    assert!(
        matches!(&events[0], TransfereeEvent::Action(TransfereeAction::NegotiationAccepted { call_id, .. }) if call_id == CALL)
    );
    match events.last().unwrap() {
        TransfereeEvent::Action(TransfereeAction::StartTransferredChat {
            call_id,
            next_msg_id,
            history: h,
            ..
        }) => {
            assert_eq!(call_id, CALL);
            assert_eq!(*next_msg_id, 42);
            assert_eq!(h.as_ref(), Some(&history()));
        }
        other => panic!("{other:?}"),
    }

    let server_log = srv.log().records();
    let client_log = r.client().log().records();
    for (log, who) in [(&server_log, "transferee"), (&client_log, "transferor")] {
        let lines: Vec<&str> = log.iter().map(|x| x.start_line.as_str()).collect();
        assert_eq!(
            lines,
            [
                "POST /chatTransferNegotiation HTTP/1.1",
                "HTTP/1.1 202 Accepted",
                "POST /chatTransferExecution HTTP/1.1",
                "HTTP/1.1 200 OK"
            ],
            "{who}"
        );
        for rec in log.iter() {
            assert!(rec.note.starts_with(who), "{rec:?}");
            let (src, dst) = (rec.src.unwrap(), rec.dst.unwrap());
            assert!(src.ip().is_loopback() && dst.ip().is_loopback());
            let server_side = if rec.is_request() { dst } else { src };
            assert_eq!(server_side, srv.local_addr());
            assert!(rec
                .headers
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v == "application/json"));
        }
        let body: serde_json::Value = serde_json::from_slice(&log[2].body).unwrap();
        assert_eq!(body["MessageId"], 41);
        assert_eq!(body["CallId"], CALL);
        assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
    }
    // Both ends saw the same connection.
    assert_eq!(client_log[0].src, server_log[0].src);
    assert!(server_log[1]
        .to_text()
        .starts_with("HTTP/1.1 202 Accepted\r\n"));
}

#[tokio::test]
async fn slow_execution_is_reported_after_reactivation() {
    // The negotiation lasts 1 s (no race with the execution); the execution request 100 ms.
    let tee = TransfereeConfig {
        time_scale: fast(),
        expiry_time: 100,
        faults: TransfereeFaults::from_name("slow-execution").unwrap(),
        ..Default::default()
    };
    let srv = server(tee, ServerConfig::default()).await;
    let tor = TransferorConfig {
        time_scale: fast(),
        expiry_time: 10,
        late_grace: Duration::from_millis(500),
        ..Default::default()
    };
    let mut r = runner(&srv, tor);
    r.start(transfer(CALL, 3)).unwrap();
    assert!(matches!(
        next(&mut r).await,
        TransferorOutput::SendStopTransfer { .. }
    ));
    assert_eq!(
        next(&mut r).await,
        TransferorOutput::Reactivate {
            call_id: CALL.into(),
            reason: ReactivateReason::Timeout {
                service: Service::Execution
            }
        }
    );
    match next(&mut r).await {
        TransferorOutput::Violation { violation, .. } => {
            assert_eq!(violation.clause, "6.3.3");
            assert!(violation.detail.contains("HTTP 200"), "{violation}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn non_json_negotiation_response_is_a_violation_and_reactivates() {
    let tee = TransfereeConfig {
        faults: TransfereeFaults::from_name("non-json").unwrap(),
        ..Default::default()
    };
    let srv = server(tee, ServerConfig::default()).await;
    let mut r = runner(&srv, TransferorConfig::default());
    r.start(transfer(CALL, 3)).unwrap();
    let mut clauses = Vec::new();
    loop {
        match next(&mut r).await {
            TransferorOutput::Violation { violation, .. } => clauses.push(violation.clause),
            TransferorOutput::Reactivate { reason, .. } => {
                assert!(matches!(
                    reason,
                    ReactivateReason::InvalidResponse {
                        service: Service::Negotiation,
                        ..
                    }
                ));
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    // text/plain (harness profile) and not JSON (A.2).
    assert_eq!(clauses, ["6.3", "A.2"]);
}

#[tokio::test]
async fn abandoned_execution_gets_no_response_and_the_transferor_times_out() {
    let tee = TransfereeConfig {
        time_scale: fast(),
        expiry_time: 100,
        processing_delay: Duration::from_secs(1),
        ..Default::default()
    };
    let cfg = ServerConfig {
        abandon_hold: Duration::from_secs(2),
        ..Default::default()
    };
    let mut srv = server(tee, cfg).await;
    let tor = TransferorConfig {
        time_scale: fast(),
        expiry_time: 10,
        late_grace: Duration::from_millis(50),
        ..Default::default()
    };
    let mut r = runner(&srv, tor);
    r.start(transfer(CALL, 3)).unwrap();
    assert!(matches!(
        next(&mut r).await,
        TransferorOutput::SendStopTransfer { .. }
    ));
    assert_eq!(
        next(&mut r).await,
        TransferorOutput::Reactivate {
            call_id: CALL.into(),
            reason: ReactivateReason::Timeout {
                service: Service::Execution
            }
        }
    );
    let events = events_until(&mut srv, |e| {
        matches!(
            e,
            TransfereeEvent::Action(TransfereeAction::ExecutionAbandoned { .. })
        )
    })
    .await;
    assert_eq!(violations(&events), []);
    // The runner waits out the exchange (no late answer comes) and then has nothing to do.
    assert_eq!(timeout(WAIT, r.next_output()).await.unwrap(), None);
    let client_log = r.client().log().records();
    assert!(
        client_log
            .last()
            .unwrap()
            .note
            .contains("no complete response within"),
        "{client_log:?}"
    );
    assert!(srv.log().records().last().unwrap().note.contains("(6.3.3)"));
}

#[tokio::test]
async fn server_reports_bad_input_precisely() {
    let mut srv = server(TransfereeConfig::default(), ServerConfig::default()).await;
    let client =
        TransferClient::new(&srv.base_url(), ServicePaths::default(), HttpLog::new()).unwrap();

    // Not JSON: 400 with the parser's message; A.1 violation.
    let resp = client
        .send_body(
            Service::Negotiation,
            "application/json",
            b"{\"CallId\":".to_vec(),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 400);
    assert!(String::from_utf8_lossy(&resp.body).contains("not JSON"));
    let v = violations(&[event(&mut srv).await]);
    assert_eq!(v[0].clause, "A.1");

    // Schema-invalid: 400 naming the member; A.3 violation with the path.
    let resp = client
        .send_body(
            Service::Execution,
            "application/json",
            br#"{"CallId":"c","MessageId":0,"ExpiryTime":10}"#.to_vec(),
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 400);
    assert!(String::from_utf8_lossy(&resp.body).contains("MessageId >= 1"));
    let v = violations(&[event(&mut srv).await]);
    assert_eq!(v[0].clause, "A.3");
    assert!(v[0].detail.contains("/MessageId"));

    // Wrong Content-Type with a valid body: processed, flagged under the profile.
    let body = br#"{"CallId":"c2","TransferFrom":"sip:a@x","TransferTo":"sip:b@x"}"#.to_vec();
    let resp = client
        .send_body(Service::Negotiation, "text/plain", body, WAIT)
        .await
        .unwrap();
    assert_eq!(resp.status, 202);
    let events = events_until(&mut srv, |e| matches!(e, TransfereeEvent::Action(_))).await;
    assert_eq!(violations(&events)[0].clause, "6.3");

    // Oversized: 413, not read to the end.
    let resp = client
        .send_body(
            Service::Negotiation,
            "application/json",
            vec![b' '; MAX_BODY + 1],
            WAIT,
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 413);
    assert!(matches!(
        event(&mut srv).await,
        TransfereeEvent::BadInput {
            status: 413,
            service: Some(Service::Negotiation),
            ..
        }
    ));

    // Wrong method and unknown path over a raw socket.
    for (request, status) in [
        (
            "GET /chatTransferNegotiation HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "405",
        ),
        (
            "POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            "404",
        ),
    ] {
        let mut s = TcpStream::connect(srv.local_addr()).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        timeout(WAIT, s.read_to_end(&mut buf))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&buf);
        assert!(text.starts_with(&format!("HTTP/1.1 {status}")), "{text}");
        assert!(matches!(
            event(&mut srv).await,
            TransfereeEvent::BadInput { .. }
        ));
    }
    let n = srv.log().len();
    assert!(
        n >= 12,
        "every exchange is recorded, also rejected ones: {n}"
    );
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let cfg = ServerConfig {
        header_timeout: Duration::from_millis(200),
        body_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let mut srv = server(TransfereeConfig::default(), cfg).await;

    // Slowloris: headers never finish; the connection is closed.
    let mut s = TcpStream::connect(srv.local_addr()).await.unwrap();
    s.write_all(b"POST /chatTransferNegotiation HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = timeout(WAIT, s.read_to_end(&mut buf))
        .await
        .expect("slowloris connection kept open");
    assert!(
        read.is_err() || !String::from_utf8_lossy(&buf).contains("202"),
        "{buf:?}"
    );

    // A connection that sends nothing at all is closed too.
    let mut s = TcpStream::connect(srv.local_addr()).await.unwrap();
    let mut buf = Vec::new();
    timeout(WAIT, s.read_to_end(&mut buf))
        .await
        .expect("idle connection kept open")
        .ok();

    // A body that stalls: 408.
    let mut s = TcpStream::connect(srv.local_addr()).await.unwrap();
    s.write_all(b"POST /chatTransferNegotiation HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"CallId\"")
        .await
        .unwrap();
    let mut buf = vec![0u8; 512];
    let n = timeout(WAIT, s.read(&mut buf)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(matches!(
        event(&mut srv).await,
        TransfereeEvent::BadInput { status: 408, .. }
    ));
}

#[tokio::test]
async fn client_errors_are_precise() {
    // Nothing listens: transport error, chat re-activated.
    let port = {
        let l = std::net::TcpListener::bind(LOOPBACK).unwrap();
        l.local_addr().unwrap().port()
    };
    let client = TransferClient::new(
        &format!("http://127.0.0.1:{port}"),
        ServicePaths::default(),
        HttpLog::new(),
    )
    .unwrap();
    let mut r = TransferorRunner::new(
        Transferor::new(TransferorConfig::default()).unwrap(),
        client,
    );
    r.start(transfer(CALL, 3)).unwrap();
    match next(&mut r).await {
        TransferorOutput::Reactivate {
            reason:
                ReactivateReason::Transport {
                    service: Service::Negotiation,
                    detail,
                },
            ..
        } => {
            assert!(detail.contains("HTTP transport error"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(r.client().log().records()[0].note.contains("failed"));

    // A response above the size limit.
    let srv = server(TransfereeConfig::default(), ServerConfig::default()).await;
    let mut client =
        TransferClient::new(&srv.base_url(), ServicePaths::default(), HttpLog::new()).unwrap();
    client.set_max_body(10);
    let body = br#"{"CallId":"c","TransferFrom":"sip:a@x","TransferTo":"sip:b@x"}"#.to_vec();
    let err = client
        .send_body(Service::Negotiation, "application/json", body, WAIT)
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransferError::BodyTooLarge { limit: 10, .. }),
        "{err}"
    );

    // Configuration is checked.
    assert!(matches!(
        TransferClient::new(
            "https://127.0.0.1:1",
            ServicePaths::default(),
            HttpLog::new()
        ),
        Err(TransferError::Config(_))
    ));
    let bad = ServicePaths {
        negotiation: "x".into(),
        ..Default::default()
    };
    assert!(matches!(
        TransferClient::new("http://127.0.0.1:1", bad, HttpLog::new()),
        Err(TransferError::Config(_))
    ));
}

#[tokio::test]
async fn custom_paths_are_served() {
    let paths = ServicePaths {
        base: "/ng112/transfer".into(),
        ..Default::default()
    };
    let srv = server(
        TransfereeConfig::default(),
        ServerConfig {
            paths: paths.clone(),
            ..Default::default()
        },
    )
    .await;
    let client = TransferClient::new(&srv.base_url(), paths, HttpLog::new()).unwrap();
    assert!(client
        .url(Service::Execution)
        .ends_with("/ng112/transfer/chatTransferExecution"));
    let body = br#"{"CallId":"c","TransferFrom":"sip:a@x","TransferTo":"sip:b@x"}"#.to_vec();
    let resp = client
        .send_body(Service::Negotiation, "application/json", body, WAIT)
        .await
        .unwrap();
    assert_eq!(resp.status, 202);
    assert_eq!(resp.content_type.as_deref(), Some("application/json"));
}
