//! The chat transfer web service (HTTP-3, TS 103 698 6.3) wired to the SIP PSAP roles (6.2.6):
//! the transferee's execution opens the chat in its PSAP role (start|transfer/265), the
//! transferor's call taker (`#transfer`) starts a negotiation, and its outcome drives the SIP
//! side (stop|transfer/266, completion or re-activation). The HTTP machines and their checks
//! live in `lmpe-transfer`; this is only the async glue around the two endpoints.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use lmpe_net::EndpointHandle;
use lmpe_proto::roles::PsapRole;
use lmpe_transfer::http::{
    HttpLog, ServerConfig, ServicePaths, TransferClient, TransfereeEvent, TransfereeServer,
    TransferorRunner,
};
use lmpe_transfer::model::{ChatData, ChatHistory, ChatMessage, Direction};
use lmpe_transfer::transferee::{Transferee, TransfereeAction, TransfereeConfig};
use lmpe_transfer::transferor::{TransferRequest, Transferor, TransferorConfig, TransferorOutput};
use lmpe_transfer::{TimeScale, TransfereeFaults, TransferorFaults};
use tokio::task::JoinHandle;

/// How one `ExpiryTime` second lasts in the embedded ESInet (TS 103 698 requires ExpiryTime
/// >= 10, i.e. 10 s; scaled so the suite stays fast; real elements keep real seconds).
pub(crate) const EMBEDDED_SECOND: Duration = Duration::from_millis(50);

/// Deliberate faults of the reference PSAPs' HTTP-3 side.
#[derive(Debug, Clone, Default)]
pub(crate) struct TransferFaults {
    /// Of the reference transferee (PSAP B's web service).
    pub(crate) transferee: TransfereeFaults,
    /// Of the reference transferor (PSAP A's client).
    pub(crate) transferor: TransferorFaults,
    /// 6.3.3: the reference transferor does not re-activate a chat whose transfer failed.
    pub(crate) no_reactivate: bool,
}

impl TransferFaults {
    /// Fault names, as `--inject-fault` takes them.
    pub(crate) fn names() -> Vec<String> {
        let mut v: Vec<String> = TransfereeFaults::names()
            .iter()
            .map(|n| format!("http3-transferee-{n}"))
            .collect();
        v.extend(
            TransferorFaults::names()
                .iter()
                .map(|n| format!("http3-transferor-{n}")),
        );
        v.push("transferor-no-reactivate".into());
        v
    }

    /// One fault by name.
    pub(crate) fn by_name(name: &str) -> Option<Self> {
        let mut f = Self::default();
        if let Some(n) = name.strip_prefix("http3-transferee-") {
            f.transferee = TransfereeFaults::from_name(n)?;
        } else if let Some(n) = name.strip_prefix("http3-transferor-") {
            f.transferor = TransferorFaults::from_name(n)?;
        } else if name == "transferor-no-reactivate" {
            f.no_reactivate = true;
        } else {
            return None;
        }
        Some(f)
    }
}

/// What the glue saw that a verdict may cite: the peer's violations and bad input.
pub(crate) type Findings = Arc<Mutex<Vec<String>>>;

fn note(findings: &Findings, text: String) {
    if let Ok(mut f) = findings.lock() {
        f.push(text);
    }
}

/// A PSAP's transferee web service, running.
pub(crate) struct TransfereeService {
    /// `http://addr` of the service.
    pub(crate) base_url: String,
    /// Violations of the transferor (the peer) and refused input.
    pub(crate) findings: Findings,
    task: JoinHandle<()>,
}

impl Drop for TransfereeService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The text of a transferee's start|transfer/265 (6.2.6: "a predefined text").
pub(crate) const TRANSFERRED_TEXT: &str = "Your chat has been transferred to this PSAP.";

/// Serves the transferee web service on `listen` for `psap`: an executed transfer opens the
/// chat there, which sends start|transfer/265 to the APP named in `Data`.
pub(crate) async fn start_transferee(
    psap: EndpointHandle<PsapRole>,
    listen: SocketAddr,
    cfg: TransfereeConfig,
    log: HttpLog,
) -> Result<TransfereeService, String> {
    let machine = Transferee::new(cfg).map_err(|e| format!("transferee configuration: {e}"))?;
    let mut server = TransfereeServer::bind(listen, machine, ServerConfig::default(), log)
        .await
        .map_err(|e| format!("the transferee web service did not start on {listen}: {e}"))?;
    let base_url = server.base_url();
    let findings: Findings = Arc::default();
    let seen = findings.clone();
    let task = tokio::spawn(async move {
        while let Some(ev) = server.next_event().await {
            match ev {
                TransfereeEvent::Action(TransfereeAction::StartTransferredChat {
                    call_id,
                    next_msg_id,
                    history,
                    ..
                }) => {
                    let app_uri = match &history {
                        Some(ChatData::History(h)) => h.app_uri.clone(),
                        _ => None,
                    };
                    let Some(app_uri) = app_uri else {
                        note(&seen, format!("TS 103 698 6.2.6: the transferee sends start|transfer/265 to the APP's URI; the chatTransferExecutionRequest for {call_id} gives none (no AppUri in Data), so the transfer cannot be completed"));
                        continue;
                    };
                    let last = u32::try_from(next_msg_id.saturating_sub(1)).unwrap_or(u32::MAX);
                    let r = psap
                        .with(move |p, now| {
                            p.accept_transfer(now, &call_id, &app_uri, last, TRANSFERRED_TEXT)
                        })
                        .await;
                    match r {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => note(&seen, format!("transferee: {e}")),
                        Err(_) => return,
                    }
                }
                TransfereeEvent::Action(_) => {}
                TransfereeEvent::Violation(v) => note(&seen, v.to_string()),
                TransfereeEvent::BadInput { status, detail, .. } => {
                    note(&seen, format!("refused with HTTP {status}: {detail}"))
                }
            }
        }
    });
    Ok(TransfereeService {
        base_url,
        findings,
        task,
    })
}

/// A PSAP's transferor: runs the transfers its call taker asks for.
pub(crate) struct TransferorService {
    /// Violations of the transferee (the peer).
    pub(crate) findings: Findings,
    task: JoinHandle<()>,
}

impl Drop for TransferorService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Where a transferor transfers to.
#[derive(Debug, Clone)]
pub(crate) struct TransferTarget {
    /// The transferee PSAP's SIP URI (`TransferTo`).
    pub(crate) sip_uri: String,
    /// The base URL of its web service.
    pub(crate) base_url: String,
}

/// The chat data a transfer carries: the transcript, the APP's URI and the service.
fn chat_data(
    p: &PsapRole,
    chat: &str,
    wall: SystemTime,
    now: std::time::Instant,
) -> Option<(String, u64, ChatData)> {
    let s = p.session(chat)?;
    let messages = s
        .transcript()
        .iter()
        .map(|e| {
            let at = wall
                .checked_sub(now.saturating_duration_since(e.at))
                .unwrap_or(wall);
            ChatMessage {
                msg_id: u64::from(e.msg_id),
                direction: if e.from_app {
                    Direction::AppToPsap
                } else {
                    Direction::PsapToApp
                },
                message_type: e.msg_type.to_string(),
                text: e.text.clone(),
                at: lmpe_reports::rfc3339(at),
            }
        })
        .collect();
    Some((
        s.call_id_urn().to_string(),
        u64::from(s.last_msg_id().max(1)),
        ChatData::History(ChatHistory {
            app_uri: Some(s.app_uri().to_string()),
            service: Some(s.service().to_string()),
            messages,
        }),
    ))
}

/// Runs `psap`'s call-taker transfers (`#transfer`) to `target`.
pub(crate) fn start_transferor(
    psap: EndpointHandle<PsapRole>,
    target: TransferTarget,
    cfg: TransferorConfig,
    log: HttpLog,
    no_reactivate: bool,
) -> Result<TransferorService, String> {
    let client = TransferClient::new(&target.base_url, ServicePaths::default(), log)
        .map_err(|e| format!("transfer client for {}: {e}", target.base_url))?;
    let machine = Transferor::new(cfg).map_err(|e| format!("transferor configuration: {e}"))?;
    let mut runner = TransferorRunner::new(machine, client);
    let findings: Findings = Arc::default();
    let seen = findings.clone();
    let task = tokio::spawn(async move {
        // Call Identifier URN → chat id in the role.
        let mut chats: HashMap<String, String> = HashMap::new();
        loop {
            let wall = SystemTime::now();
            let requests = psap
                .with(move |p, now| {
                    p.take_transfer_requests()
                        .into_iter()
                        .filter_map(|c| chat_data(p, &c, wall, now).map(|d| (c, d)))
                        .collect::<Vec<_>>()
                })
                .await;
            let Ok(requests) = requests else { return };
            for (chat, (urn, last, data)) in requests {
                chats.insert(urn.clone(), chat);
                let req = TransferRequest {
                    call_id: urn,
                    transfer_to: target.sip_uri.clone(),
                    reason_text: Some("Transfer requested by the call taker".into()),
                    last_msg_id: last,
                    history: Some(data),
                };
                if let Err(e) = runner.start(req) {
                    note(&seen, format!("transferor: {e}"));
                }
            }
            let out = tokio::time::timeout(Duration::from_millis(5), runner.next_output()).await;
            let out = match out {
                Ok(Some(o)) => o,
                Ok(None) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
                Err(_) => continue,
            };
            let chat_of = |urn: &str| chats.get(urn).cloned().unwrap_or_default();
            let r = match out {
                TransferorOutput::SendStopTransfer { call_id, .. } => {
                    let chat = chat_of(&call_id);
                    psap.with(move |p, now| {
                        p.transfer(now, &chat, "Your chat will be transferred to another PSAP.")
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    })
                    .await
                }
                TransferorOutput::Completed { call_id } => {
                    let chat = chat_of(&call_id);
                    psap.with(move |p, now| {
                        p.transfer_completed(now, &chat);
                        Ok(())
                    })
                    .await
                }
                TransferorOutput::Reactivate { call_id, reason } => {
                    if no_reactivate {
                        continue;
                    }
                    let chat = chat_of(&call_id);
                    let text = format!("The transfer did not take place ({reason:?}); you are still connected to this PSAP.");
                    psap.with(move |p, now| {
                        // Only a chat whose stop|transfer/266 went out is stalled at the APP;
                        // a transfer that failed before it leaves the chat as it was.
                        let away = p.session(&chat).is_some_and(|s| {
                            s.state() == lmpe_proto::session::PsapState::TransferringAway
                        });
                        if !away {
                            return Ok(());
                        }
                        p.reactivate(now, &chat, &text)
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    })
                    .await
                }
                TransferorOutput::Violation { violation, .. } => {
                    note(&seen, violation.to_string());
                    Ok(Ok(()))
                }
                TransferorOutput::Send(_) => Ok(Ok(())),
            };
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => note(&seen, format!("transferor: {e}")),
                Err(_) => return,
            }
        }
    });
    Ok(TransferorService { findings, task })
}

/// The transferor configuration of the embedded reference PSAP or the harness.
pub(crate) fn transferor_config(
    transfer_from: &str,
    scale: TimeScale,
    faults: TransferorFaults,
) -> TransferorConfig {
    TransferorConfig {
        transfer_from: transfer_from.to_string(),
        expiry_time: 10,
        time_scale: scale,
        negotiation_timeout: Duration::from_secs(5),
        // The call taker confirms the transfer a moment after the 202, so the APP has the
        // stop|transfer/266 before the transferee's start|transfer/265 (6.2.6 order).
        execute_delay: Duration::from_millis(200),
        faults,
        ..TransferorConfig::default()
    }
}

/// The transferee configuration of the embedded reference PSAP or the harness.
pub(crate) fn transferee_config(scale: TimeScale, faults: TransfereeFaults) -> TransfereeConfig {
    TransfereeConfig {
        expiry_time: 10,
        time_scale: scale,
        faults,
        ..TransfereeConfig::default()
    }
}
