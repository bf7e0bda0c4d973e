//! Given: the system under test and the simulated peers.

use std::time::Duration;

use cucumber::given;

use crate::world::LmpeWorld;

#[given("the embedded reference ESInet")]
async fn embedded(_w: &mut LmpeWorld) {}

#[given(expr = "the PSAP sends heartbeats every {int} ms")]
async fn psap_heartbeats(w: &mut LmpeWorld, ms: u64) {
    // Only the embedded reference PSAP can be configured; a real one is observed as it is
    // (the scenarios that need the interval are tagged @reference-psap).
    w.esinet_opts.psap_heartbeat = Some(Duration::from_millis(ms));
}

#[given(expr = "the APP sends heartbeats every {int} ms")]
async fn app_heartbeats(w: &mut LmpeWorld, ms: u64) {
    w.app_heartbeat = Some(Duration::from_millis(ms));
}

#[given(expr = "the APP writes LMPE identifiers in the {string} profile")]
async fn app_profile(w: &mut LmpeWorld, name: String) {
    match lmpe_wire::lmpe::IdentifierProfile::by_name(&name) {
        Some(p) => w.app_profile = Some(p),
        None => crate::world::inconclusive!("unknown identifier profile {name:?}"),
    }
}

/// The APP (and the ESInet) start lazily at the first step that needs them, so that Given
/// steps after the Background can still configure them.
#[given("a simulated APP")]
async fn simulated_app(_w: &mut LmpeWorld) {}

#[given(expr = "the APP has an established chat with the PSAP via {string}")]
async fn established(w: &mut LmpeWorld, service: String) {
    super::chat::start_chat(w, &service, "Help, I need assistance.").await;
    let chat = w.chat_id();
    let wait = w.run.response_timeout;
    let ok = w
        .wait_for(wait, |e| matches!(e, lmpe_proto::roles::RoleEvent::Session { chat: c, event: lmpe_proto::session::SessionEvent::Established { .. } } if *c == chat))
        .await;
    if ok.is_none() {
        crate::world::inconclusive!(
            "preamble: the chat could not be established via {service} within {} ms (6.2.2)",
            wait.as_millis()
        );
    }
}

#[given("the APP adds P-Asserted-Identity and P-Access-Network-Info to its messages")]
async fn table_1_headers(w: &mut LmpeWorld) {
    // P-Asserted-Identity is normally added by the provider's proxy (6.2.2 NOTE 1); here it
    // asserts the APP's own URI, which the PSAP must then use (6.2.3).
    let app = w.ensure_app().await;
    let uri = match app.with(|a, _| a.uri()).await {
        Ok(u) => u,
        Err(e) => crate::world::inconclusive!("the simulated APP stopped: {e}"),
    };
    w.app_headers
        .push(("P-Asserted-Identity".into(), format!("<{uri}>")));
    w.app_headers.push((
        "P-Access-Network-Info".into(),
        "3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=2620100000000101".into(),
    ));
    let (headers, parts) = (w.app_headers.clone(), w.app_parts.clone());
    let _ = app.with(move |a, _| a.set_extras(headers, parts)).await;
}
