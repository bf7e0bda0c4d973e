//! When: the simulated APP acts (valid and deliberately invalid behaviour).

use cucumber::when;
use lmpe_proto::session::OutgoingChat;
use lmpe_wire::lmpe::{CallId, MessageType};

use crate::world::{inconclusive, LmpeWorld, Sent};

/// Starts a chat and remembers it.
pub(crate) async fn start_chat(w: &mut LmpeWorld, service: &str, text: &str) {
    let (service, text) = (service.to_string(), text.to_string());
    let r = w
        .app(move |a, now| a.start_chat(now, &service, &text))
        .await;
    match r {
        Ok(chat) => w.chat = Some(chat),
        Err(e) => inconclusive!("the APP could not start a chat: {e}"),
    }
    w.last_sent = Some(Sent::Chat(1));
}

#[when(expr = "the APP starts a chat to {string} with the text {string}")]
async fn app_starts(w: &mut LmpeWorld, service: String, text: String) {
    start_chat(w, &service, &text).await;
}

#[when(expr = "the APP sends the chat message {string}")]
async fn app_sends(w: &mut LmpeWorld, text: String) {
    let chat = w.chat_id();
    match w.app(move |a, now| a.send_chat(now, &chat, &text)).await {
        Ok(h) => {
            w.last_sent = Some(Sent::Chat(h));
            w.in_chats_sent += 1;
        }
        Err(e) => inconclusive!("the APP could not send in-chat/259: {e}"),
    }
}

#[when(expr = "the APP stops the chat with the text {string}")]
async fn app_stops(w: &mut LmpeWorld, text: String) {
    let chat = w.chat_id();
    match w.app(move |a, now| a.stop(now, &chat, &text)).await {
        Ok(h) => w.last_sent = Some(Sent::Chat(h)),
        Err(e) => inconclusive!("the APP could not send stop/258: {e}"),
    }
}

#[when(regex = r"^the APP sends an? (active|inactive) heartbeat$")]
async fn app_heartbeat(w: &mut LmpeWorld, kind: String) {
    let chat = w.chat_id();
    let inactive = kind == "inactive";
    match w.app(move |a, now| a.heartbeat(now, &chat, inactive)).await {
        Ok(h) => w.last_sent = Some(Sent::Chat(h)),
        Err(e) => inconclusive!("the APP could not send a heartbeat: {e}"),
    }
}

#[when(expr = "{int} ms pass")]
async fn time_passes(_w: &mut LmpeWorld, ms: u64) {
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

/// Builds an LMPE message of a fresh (never started) chat and sends it raw.
async fn send_crafted(
    w: &mut LmpeWorld,
    target: Option<String>,
    msg_type: MessageType,
    msg_id: Option<u32>,
    unique: &str,
    alter: impl FnOnce(&mut lmpe_wire::sip::SipMessage) + Send + 'static,
) {
    let chat = w.chat.clone();
    let unique = unique.to_string();
    let r = w
        .app(move |a, now| {
            // A throw-away chat gives the message a From tag, SIP Call-ID and CSeq.
            let scratch = a.start_chat_silently(now)?;
            // Invalid unique parts (e.g. too short, for BI scenarios) cannot be a `CallId`: build
            // a valid placeholder and write the invalid text into the URN itself.
            let call_id = CallId::new(&unique, "app.harness.test")
                .or_else(|_| CallId::new("aaaaaaaaaa", "app.harness.test"))
                .map_err(|e| e.to_string())?;
            let urn = call_id
                .urn(lmpe_wire::lmpe::CALL_ID_PREFIX_EXAMPLE)
                .replace("aaaaaaaaaa", &unique);
            let target = target
                .or_else(|| {
                    chat.as_ref()
                        .and_then(|c| a.session(c))
                        .and_then(|s| s.reply_to().map(str::to_string))
                })
                .unwrap_or_else(|| "urn:service:sos".to_string());
            let out = OutgoingChat {
                handle: 0,
                target,
                msg_type,
                msg_id,
                call_id,
                call_id_urn: urn,
                text: Some("crafted by lmpe-harness".into()),
                reply_to: None,
                with_location: true,
                history_info: None,
                msg_id_purpose: None,
            };
            let mut msg = a.build_message(&scratch, &out).ok_or("no scratch chat")?;
            alter(&mut msg);
            a.send_request(now, msg).map_err(|e| e.to_string())
        })
        .await;
    match r {
        Ok(h) => w.last_sent = Some(Sent::Raw(h)),
        Err(e) => inconclusive!("could not send the crafted message: {e}"),
    }
}

#[when(
    regex = r"^the APP sends (in-chat/259|stop/258|heartbeat/260) for a Call Identifier that was never started$"
)]
async fn unknown_call(w: &mut LmpeWorld, kind: String) {
    let t = match kind.as_str() {
        "in-chat/259" => MessageType::IN_CHAT,
        "stop/258" => MessageType::STOP,
        _ => MessageType::HEARTBEAT,
    };
    let id = (t != MessageType::HEARTBEAT).then_some(2);
    let target = w.chat.is_none().then(|| "urn:service:sos".to_string());
    send_crafted(w, target, t, id, "neverstarted0000x1", |_| {}).await;
}

#[when("the APP sends start/257 without a Call Identifier")]
async fn start_without_call_id(w: &mut LmpeWorld) {
    send_crafted(
        w,
        Some("urn:service:sos".into()),
        MessageType::START,
        Some(1),
        "nocallid00000001",
        |m| {
            m.headers.retain(|h| {
                !(h.name.eq_ignore_ascii_case("Call-Info") && h.value.contains("CallId"))
            });
        },
    )
    .await;
}

#[when(regex = r"^the APP sends start/257 whose Call Identifier unique part has (\d+) characters$")]
async fn start_bad_length(w: &mut LmpeWorld, n: usize) {
    let unique: String = "k".repeat(n);
    send_crafted(
        w,
        Some("urn:service:sos".into()),
        MessageType::START,
        Some(1),
        &unique,
        |_| {},
    )
    .await;
}

#[when(regex = r"^the APP sends start/257 with the reserved Message Type (\d+)$")]
async fn start_reserved(w: &mut LmpeWorld, value: u16) {
    send_crafted(
        w,
        Some("urn:service:sos".into()),
        MessageType(value),
        Some(1),
        "reservedtype0001",
        |_| {},
    )
    .await;
}

#[when(expr = "the APP sends the chat message {string} after the chat ended")]
async fn after_end(w: &mut LmpeWorld, _text: String) {
    let chat = w.chat_id();
    let next = w
        .app(move |a, _| {
            a.session(&chat)
                .map(|s| (s.next_msg_id(), s.call_id().unique.clone()))
        })
        .await;
    let Some((id, unique)) = next else {
        inconclusive!("no chat to continue")
    };
    send_crafted(w, None, MessageType::IN_CHAT, Some(id), &unique, |_| {}).await;
}
