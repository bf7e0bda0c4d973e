//! Chat transfer (6.2.6) and its web service (HTTP-3, 6.3) with the PSAP as the IUT: the
//! harness plays the APP and, as needed, the other PSAP (the transferor against the PSAP's
//! transferee service, or the transferee the PSAP transfers to).

use std::time::{Duration, Instant};

use cucumber::{given, then, when};
use lmpe_net::EndpointHandle;
use lmpe_proto::roles::{PsapRole, RoleEvent};
use lmpe_proto::session::SessionEvent;
use lmpe_transfer::checks::{check_execution_response, check_negotiation_response};
use lmpe_transfer::http::{ServicePaths, TransferClient};
use lmpe_transfer::transferee::Service;
use lmpe_transfer::transferor::ReceivedResponse;
use lmpe_transfer::TimeScale;
use lmpe_wire::lmpe::MessageType;
use serde_json::json;

use super::verdicts::{fail, fail_text};
use crate::transfer::{
    start_transferee, start_transferor, transferee_config, transferor_config, TransferTarget,
    TransfereeService, TransferorService, EMBEDDED_SECOND,
};
use crate::world::{inconclusive, skip, LmpeWorld};

/// What the harness plays in a transfer scenario (kept in the World, stopped at its end).
#[derive(Default)]
pub(crate) struct HarnessTransfer {
    /// The PSAP role of the harness transferee.
    pub(crate) transferee_psap: Option<EndpointHandle<PsapRole>>,
    /// The harness transferee web service (the IUT transfers to it).
    pub(crate) transferee: Option<TransfereeService>,
    /// The harness transferor (the harness PSAP transfers to the IUT).
    pub(crate) transferor: Option<TransferorService>,
    /// The IUT's transfer service: (SIP URI, base URL).
    pub(crate) iut: Option<(String, String)>,
    /// The last raw exchange: (CallId, service, response or error).
    pub(crate) last: Option<(String, Service, Result<ReceivedResponse, String>)>,
}

impl HarnessTransfer {
    /// Stops the harness ends.
    pub(crate) fn stop(&mut self) {
        self.transferee = None;
        self.transferor = None;
    }
}

/// One `ExpiryTime` second: scaled for the embedded ESInet, real for a real PSAP.
fn scale(w: &LmpeWorld) -> TimeScale {
    if w.run.target.is_some() {
        TimeScale::REAL
    } else {
        TimeScale {
            per_second: EMBEDDED_SECOND,
        }
    }
}

/// The IUT's transfer service (embedded: the reference PSAP B's).
async fn iut(w: &mut LmpeWorld) -> (String, String) {
    if let Some(i) = &w.transfer.iut {
        return i.clone();
    }
    let i = match w.run.target.clone() {
        Some(t) => match t.psap.and_then(|p| p.transfer_url.map(|u| (p.uri, u))) {
            Some(i) => i,
            None => skip!(
                "needs the PSAP's chat transfer web service: add [psap] with uri and transfer_url to the target file"
            ),
        },
        None => {
            w.ensure_app().await;
            let Some(e) = &w.esinet else {
                inconclusive!("no ESInet")
            };
            (
                format!("sip:psap-b@{}", e.public_addr()),
                e.transferee.base_url.clone(),
            )
        }
    };
    w.transfer.iut = Some(i.clone());
    i
}

/// A Call Identifier for a transfer that has no chat behind it.
fn fresh_call_id(w: &LmpeWorld) -> String {
    let n = w.started.elapsed().as_nanos() % 1_000_000_000;
    format!("urn:emergency:uid:callid:httptransfer{n:09}:harness.test")
}

async fn exchange(w: &mut LmpeWorld, service: Service, call_id: String, body: serde_json::Value) {
    let (_, base) = iut(w).await;
    let client = match TransferClient::new(&base, ServicePaths::default(), w.http_log.clone()) {
        Ok(c) => c,
        Err(e) => inconclusive!("transfer client for {base}: {e}"),
    };
    let wait = w.run.response_timeout;
    let r = client
        .send_body(
            service,
            "application/json",
            body.to_string().into_bytes(),
            wait,
        )
        .await
        .map_err(|e| e.to_string());
    w.transfer.last = Some((call_id, service, r));
}

fn negotiation(call_id: &str, iut_uri: &str) -> serde_json::Value {
    json!({
        "CallId": call_id,
        "TransferFrom": "sip:transferor@harness.test",
        "TransferTo": iut_uri,
        "ReasonText": "conformance test",
    })
}

#[when("the harness negotiates a transfer with the PSAP's transfer service")]
async fn negotiate(w: &mut LmpeWorld) {
    let (uri, _) = iut(w).await;
    let call_id = fresh_call_id(w);
    let body = negotiation(&call_id, &uri);
    exchange(w, Service::Negotiation, call_id, body).await;
}

#[when("the harness sends a negotiation request without TransferTo")]
async fn negotiate_invalid(w: &mut LmpeWorld) {
    let call_id = fresh_call_id(w);
    let body = json!({ "CallId": call_id, "TransferFrom": "sip:transferor@harness.test" });
    exchange(w, Service::Negotiation, call_id, body).await;
}

#[when("the harness requests the execution of a transfer it never negotiated")]
async fn execute_unnegotiated(w: &mut LmpeWorld) {
    let call_id = fresh_call_id(w);
    let body = json!({ "CallId": call_id, "MessageId": 3, "ExpiryTime": 10 });
    exchange(w, Service::Execution, call_id, body).await;
}

#[when("the harness requests the execution after the negotiation's ExpiryTime")]
async fn execute_after_expiry(w: &mut LmpeWorld) {
    let Some((call_id, Service::Negotiation, Ok(resp))) = w.transfer.last.clone() else {
        inconclusive!("preamble: no negotiation response to wait out")
    };
    let checked =
        check_negotiation_response(Some(&call_id), resp.content_type.as_deref(), &resp.body);
    let expiry = match checked.message {
        Ok(m) if m.status_code == 202 => m.expiry_time,
        Ok(m) => inconclusive!(
            "preamble: the negotiation was answered StatusCode {}",
            m.status_code
        ),
        Err(e) => inconclusive!("preamble: the negotiation response is unusable: {e}"),
    };
    let wait = scale(w).wait(expiry) + Duration::from_millis(200);
    tokio::time::sleep(wait).await;
    let body = json!({ "CallId": call_id, "MessageId": 3, "ExpiryTime": 10 });
    exchange(w, Service::Execution, call_id, body).await;
}

fn last(w: &LmpeWorld) -> (String, Service, ReceivedResponse) {
    match &w.transfer.last {
        Some((c, s, Ok(r))) => (c.clone(), *s, r.clone()),
        Some((_, s, Err(e))) => fail(
            w,
            "6.3",
            &format!("the PSAP's transfer web service answers the {s:?} request"),
            e,
        ),
        None => inconclusive!("no HTTP-3 request was sent"),
    }
}

fn show(r: &ReceivedResponse) -> String {
    format!(
        "HTTP {} ({}) {}",
        r.status,
        r.content_type.as_deref().unwrap_or("no Content-Type"),
        String::from_utf8_lossy(&r.body)
    )
}

#[then(
    regex = r"^the negotiation response is valid, with StatusCode 202 or 406 and ExpiryTime of at least 10 \(clause 6\.3\.2\)$"
)]
async fn negotiation_valid(w: &mut LmpeWorld) {
    let (call_id, _, r) = last(w);
    let checked = check_negotiation_response(Some(&call_id), r.content_type.as_deref(), &r.body);
    if let Some(v) = checked.violations.first() {
        fail_text(w, &format!("{v}\n--- offending message ---\n{}", show(&r)));
    }
    if let Err(e) = checked.message {
        fail(
            w,
            "6.3.2",
            "the chatTransferNegotiationResponse is valid",
            &format!("{e}; {}", show(&r)),
        );
    }
}

#[then(regex = r"^the request is not accepted \(clause (\S+)\)$")]
async fn not_accepted(w: &mut LmpeWorld, clause: String) {
    let (_, _, r) = last(w);
    let accepted_status = serde_json::from_slice::<serde_json::Value>(&r.body)
        .ok()
        .and_then(|v| v.get("StatusCode").and_then(serde_json::Value::as_u64));
    if (200..300).contains(&r.status) && accepted_status == Some(202) {
        fail(
            w,
            &clause,
            "a chatTransferNegotiationRequest that fails the Annex A.1 schema is not accepted (202)",
            &show(&r),
        );
    }
}

#[then(regex = r"^the execution is declined with StatusCode 503 \(clause (\S+)\)$")]
async fn declined_503(w: &mut LmpeWorld, clause: String) {
    let (call_id, _, r) = last(w);
    let checked = check_execution_response(&call_id, r.content_type.as_deref(), &r.body);
    match checked.message {
        Ok(m) if m.status_code == 503 => {}
        Ok(m) => fail(
            w,
            &clause,
            "an execution without a live 202 negotiation is declined with 503 Service Unavailable",
            &format!("StatusCode {}; {}", m.status_code, show(&r)),
        ),
        Err(e) => fail(
            w,
            &clause,
            "the chatTransferExecutionResponse is valid (A.4) and declines with 503",
            &format!("{e}; {}", show(&r)),
        ),
    }
}

/// The harness PSAP (behind the ESRP, with the APP's chat) transfers to the PSAP under test.
#[given("the harness PSAP transfers its chats to the PSAP under test")]
async fn harness_transfers_to_iut(w: &mut LmpeWorld) {
    w.harness_psap = true;
    let (uri, base) = iut(w).await;
    w.ensure_app().await;
    let Some(psap) = w.psap.clone() else {
        inconclusive!("no harness PSAP")
    };
    let _ = psap.with(|p, _| p.set_transfer_trigger(true)).await;
    let from = format!("sip:psap@{}", psap.local_addr());
    let cfg = transferor_config(&from, scale(w), Default::default());
    match start_transferor(
        psap,
        TransferTarget {
            sip_uri: uri,
            base_url: base,
        },
        cfg,
        w.http_log.clone(),
        false,
    ) {
        Ok(t) => w.transfer.transferor = Some(t),
        Err(e) => inconclusive!("{e}"),
    }
}

/// The PSAP under test (the reference PSAP A) transfers to a harness transferee; `slow`
/// makes the harness take longer than any ExpiryTime to execute (a conformant way to make the
/// transfer fail).
async fn iut_transfers_to_harness(w: &mut LmpeWorld, slow: bool) {
    if w.run.target.is_some() {
        skip!("needs the embedded reference PSAP's transfer target setting; a real PSAP is configured by its operator to transfer to the harness");
    }
    let any = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let psap = w.start_harness_psap(any).await;
    // start_harness_psap made it the harness PSAP; it is the transferee here instead.
    w.psap = None;
    let mut cfg = transferee_config(scale(w), Default::default());
    if slow {
        cfg.processing_delay = Duration::from_secs(30);
    }
    let service = match start_transferee(psap.clone(), any, cfg, w.http_log.clone()).await {
        Ok(s) => s,
        Err(e) => inconclusive!("{e}"),
    };
    w.esinet_opts.transfer_target = Some(TransferTarget {
        sip_uri: format!("sip:psap-h@{}", psap.local_addr()),
        base_url: service.base_url.clone(),
    });
    w.esinet_opts
        .extra_users
        .push(("psap-h".into(), psap.local_addr()));
    w.transfer.transferee = Some(service);
    w.transfer.transferee_psap = Some(psap.clone());
    // Its messages go out through the BCF; the APP answers to sip:psap-h@<BCF>.
    w.ensure_app().await;
    let Some(bcf) = w
        .esinet
        .as_ref()
        .map(crate::esinet::EmbeddedEsinet::public_addr)
    else {
        inconclusive!("no ESInet")
    };
    let _ = psap
        .with(move |p, _| {
            p.set_outbound((lmpe_proto::endpoint::TransportKind::Udp, bcf));
            p.set_reply_to(&format!("sip:psap-h@{bcf}"));
        })
        .await;
}

#[given("the PSAP under test transfers its chats to the harness")]
async fn to_harness(w: &mut LmpeWorld) {
    iut_transfers_to_harness(w, false).await;
}

#[given("the PSAP under test transfers its chats to a harness transferee that never completes an execution")]
async fn to_slow_harness(w: &mut LmpeWorld) {
    iut_transfers_to_harness(w, true).await;
}

/// The Reply-To the APP knew before the transfer.
fn first_reply_to(w: &LmpeWorld) -> Option<String> {
    w.events.iter().find_map(|(_, e)| match e {
        RoleEvent::Session {
            event: SessionEvent::Established { reply_to },
            ..
        } => Some(reply_to.clone()),
        _ => None,
    })
}

#[then(regex = r"^the PSAP announces the transfer with stop\|transfer/266 \(clause 6\.2\.6\)$")]
async fn announces(w: &mut LmpeWorld) {
    let wait = w.run.response_timeout;
    let got = w
        .wait_for(wait, |e| {
            matches!(
                e,
                RoleEvent::Session {
                    event: SessionEvent::TransferPending,
                    ..
                }
            )
        })
        .await;
    let v = w.violations(&["6.2.6"]);
    if let Some(first) = v.first() {
        fail_text(w, first);
    }
    if got.is_none() {
        fail(
            w,
            "6.2.6",
            "the transferring PSAP sends stop|transfer/266 to the APP",
            &format!("none within {} ms{}", wait.as_millis(), findings(w)),
        );
    }
}

async fn start_transfer_265(w: &mut LmpeWorld) -> Option<String> {
    let wait = w.run.response_timeout * 2;
    let i = w
        .wait_for(wait, |e| {
            matches!(e, RoleEvent::Session { event: SessionEvent::Received { msg_type, .. }, .. } if *msg_type == MessageType::START_TRANSFER)
        })
        .await?;
    let after = w.events[i..].iter().find_map(|(_, e)| match e {
        RoleEvent::Session {
            event: SessionEvent::Established { reply_to },
            ..
        } => Some(reply_to.clone()),
        _ => None,
    });
    after
}

#[then(
    regex = r"^the transferee takes the chat over with start\|transfer/265 and its own Reply-To \(clause 6\.2\.6\)$"
)]
async fn taken_over(w: &mut LmpeWorld) {
    let before = first_reply_to(w);
    let got = start_transfer_265(w).await;
    let v = w.violations(&["6.2.6", "6.1.2.7"]);
    if let Some(first) = v.first() {
        fail_text(w, first);
    }
    match got {
        None => fail(
            w,
            "6.2.6",
            "the transferee sends start|transfer/265 (the transferor's last Message Identifier + 1, its Reply-To) to the APP",
            &format!("none arrived{}", findings(w)),
        ),
        Some(r) if Some(&r) == before.as_ref() => fail(
            w,
            "6.2.6",
            "start|transfer/265 comes from the transferee, with its own Reply-To",
            &format!("Reply-To is still the transferor's {r}{}", findings(w)),
        ),
        Some(_) => {}
    }
}

#[then(regex = r"^the PSAP re-activates the chat \(clause 6\.3\.3\)$")]
async fn reactivated(w: &mut LmpeWorld) {
    let before = first_reply_to(w);
    let got = start_transfer_265(w).await;
    match got {
        None => fail(
            w,
            "6.3.3",
            "when the transfer fails the transferor re-activates the chat (harness profile: start|transfer/265 from the transferor releases the APP's input)",
            &format!("the APP's input stayed stalled{}", findings(w)),
        ),
        Some(r) if Some(&r) != before.as_ref() => fail(
            w,
            "6.3.3",
            "the chat is re-activated by the transferor itself",
            &format!("start|transfer/265 came with Reply-To {r}"),
        ),
        Some(_) => {}
    }
}

/// What the harness's HTTP-3 ends reported, for failure reasons.
fn findings(w: &LmpeWorld) -> String {
    let mut all = Vec::new();
    let esinet = w.esinet.as_ref();
    for f in [
        w.transfer.transferee.as_ref().map(|t| t.findings.clone()),
        w.transfer.transferor.as_ref().map(|t| t.findings.clone()),
        esinet.map(|e| e.transferee.findings.clone()),
        esinet.map(|e| e.transferor.findings.clone()),
    ]
    .into_iter()
    .flatten()
    {
        if let Ok(f) = f.lock() {
            all.extend(f.iter().cloned());
        }
    }
    if all.is_empty() {
        String::new()
    } else {
        format!(
            "\n--- reported by the harness's HTTP-3 end ---\n{}",
            all.join("\n")
        )
    }
}

#[then(regex = r"^the harness saw no violation of the chat transfer web service \(clause 6\.3\)$")]
async fn http_clean(w: &mut LmpeWorld) {
    // Let a late response arrive.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let f = findings(w);
    if !f.is_empty() {
        fail_text(w, f.trim_start_matches('\n'));
    }
}

#[then(regex = r"^the execution request carried the chat history in Data \(clause 6\.3\.3\)$")]
async fn history_in_data(w: &mut LmpeWorld) {
    let deadline = Instant::now() + w.run.response_timeout;
    loop {
        let found = w.http_log.records().into_iter().find_map(|r| {
            (r.is_request() && r.start_line.contains("chatTransferExecution"))
                .then(|| serde_json::from_slice::<serde_json::Value>(&r.body).ok())
                .flatten()
        });
        if let Some(body) = found {
            let messages = body
                .get("Data")
                .and_then(|d| d.get("Messages"))
                .and_then(serde_json::Value::as_array)
                .map_or(0, Vec::len);
            if messages == 0 {
                fail(
                    w,
                    "6.3.3",
                    "the chatTransferExecutionRequest provides the complete chat history (Data)",
                    &format!("Data is {:?}", body.get("Data")),
                );
            }
            return;
        }
        if Instant::now() >= deadline {
            fail(
                w,
                "6.3.3",
                "the transferor sends a chatTransferExecutionRequest",
                &format!("none arrived{}", findings(w)),
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[then(regex = r"^the transferee replies with in-chat/259 \(clause 6\.2\.3\)$")]
async fn transferee_replies(w: &mut LmpeWorld) {
    let wait = w.run.response_timeout;
    let from = w
        .events
        .iter()
        .rposition(|(_, e)| matches!(e, RoleEvent::Session { event: SessionEvent::Received { msg_type, .. }, .. } if *msg_type == MessageType::START_TRANSFER))
        .unwrap_or(0);
    let deadline = Instant::now() + wait;
    loop {
        w.collect().await;
        if w.events[from..].iter().any(|(_, e)| matches!(e, RoleEvent::Session { event: SessionEvent::Received { msg_type, .. }, .. } if *msg_type == MessageType::IN_CHAT)) {
            return;
        }
        if Instant::now() >= deadline {
            fail(
                w,
                "6.2.3",
                "the transferee answers the APP's chat message (in-chat/259)",
                &format!("no in-chat/259 within {} ms", wait.as_millis()),
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
