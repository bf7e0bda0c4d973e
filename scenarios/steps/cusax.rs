//! The integrated SIP+XMPP endpoint (draft-veikkolainen-sip-xmpp-coex-reqs-02 REQ-1..REQ-4,
//! on the RFC 7081 profile of `docs/cusax.md`): the harness is a second integrated endpoint
//! (the tester) and, for the forged-contact scenario, a SIP-only decoy whose SIP address
//! belongs to another XMPP user. The endpoint under test is the harness's own peer endpoint
//! (embedded XMPP server, direct SIP) or a real one named in the target file's `[cusax]`.

use std::net::SocketAddr;
use std::time::Duration;

use cucumber::{given, then, when};
use lmpe_cusax::profile::{self, Correlation};
use lmpe_cusax::{EndpointConfig, IntegratedEndpoint, PhoneEvent, Seen};
use lmpe_wire::sip::SipMessage;
use lmpe_xmpp::xmpp_parsers::message::Message;
use lmpe_xmpp::xmpp_parsers::presence::{Presence, Type as PresenceType};
use lmpe_xmpp::{EmbeddedServer, ServerOptions, XmppEvent};

use crate::world::{inconclusive, skip, LmpeWorld};

/// Budget of each setup step and of each answer awaited.
const SETUP: Duration = Duration::from_secs(10);
/// The XMPP domain of the embedded run.
const DOMAIN: &str = "cusax.test";

const REQ1: &str = "draft-veikkolainen-sip-xmpp-coex-reqs REQ-1";
const REQ2: &str = "draft-veikkolainen-sip-xmpp-coex-reqs REQ-2";
const REQ3: &str = "draft-veikkolainen-sip-xmpp-coex-reqs REQ-3";
const REQ4: &str = "draft-veikkolainen-sip-xmpp-coex-reqs REQ-4";
const OPEN: &str = "draft-veikkolainen-sip-xmpp-coex-reqs 4 (open issue: corner cases)";
const SEC: &str = "draft-veikkolainen-sip-xmpp-coex-reqs 6 (RFC 7081 11)";

/// The endpoints of one scenario.
struct CusaxNet {
    /// The embedded XMPP server (embedded runs).
    server: Option<EmbeddedServer>,
    /// The harness's peer endpoint as the endpoint under test (embedded runs).
    peer: Option<IntegratedEndpoint>,
    tester: IntegratedEndpoint,
    decoy: IntegratedEndpoint,
    iut_sip: String,
    iut_jid: String,
}

/// Scenario state.
#[derive(Default)]
pub(crate) struct CusaxState {
    net: Option<CusaxNet>,
    /// The conversation token the scenario works with.
    thread: Option<String>,
    /// The conversation the endpoint under test opened (`#open`).
    opened: Option<String>,
    /// The tester's current call.
    call: Option<String>,
    /// The last answer to the tester's OPTIONS.
    options: Option<SipMessage>,
    /// Log mark of the tester before the last action.
    mark: usize,
}

impl std::fmt::Debug for CusaxState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CusaxState")
            .field("thread", &self.thread)
            .field("call", &self.call)
            .finish()
    }
}

impl CusaxState {
    /// Ends the scenario: calls hung up, SIP messages to the ladder, endpoints closed.
    pub(crate) async fn finish(
        &mut self,
        wire: &mut Vec<(&'static str, lmpe_proto::roles::WireRecord)>,
    ) {
        let Some(n) = self.net.take() else { return };
        // Every call the tester is in (also those the endpoint under test started) ends here,
        // so that a real peer is not left on the phone for the next scenario.
        self.call = None;
        n.tester.hangup_all().await;
        n.decoy.hangup_all().await;
        wire.extend(n.tester.sip_wire().await.into_iter().map(|r| ("Tester", r)));
        wire.extend(n.decoy.sip_wire().await.into_iter().map(|r| ("Decoy", r)));
        n.tester.close().await;
        n.decoy.close().await;
        if let Some(p) = n.peer {
            wire.extend(
                p.sip_wire()
                    .await
                    .into_iter()
                    .map(|r| ("Endpoint under test", r)),
            );
            p.close().await;
        }
        drop(n.server);
    }
}

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

#[given("an integrated SIP and XMPP endpoint under test")]
async fn deployment(w: &mut LmpeWorld) {
    let target = match &w.run.target {
        Some(t) => match &t.cusax {
            Some(c) => Some(c.clone()),
            None => skip!(
                "needs an integrated SIP+XMPP endpoint: add [cusax] (sip_proxy, sip_domain, [cusax.xmpp], [cusax.peer]) to the target file"
            ),
        },
        None => None,
    };
    let faults = w.run.faults.cusax.clone();
    let net = match target {
        None => embedded(faults).await,
        Some(t) => real(&t).await,
    };
    match net {
        Ok(n) => {
            w.notes.push(format!(
                "endpoint under test: {} / xmpp:{}",
                n.iut_sip, n.iut_jid
            ));
            w.cusax.net = Some(n);
        }
        Err(e) => inconclusive!("the CUSAX deployment did not start: {e}"),
    }
}

fn config(name: &str, jid: &str, xmpp: Option<(SocketAddr, String)>) -> EndpointConfig {
    EndpointConfig {
        name: name.into(),
        sip_uri: None,
        sip_listen: any_port(),
        sip_proxy: None,
        register: false,
        jid: jid.into(),
        xmpp,
        scripted: false,
        faults: lmpe_cusax::Faults::default(),
        timeout: SETUP,
    }
}

async fn embedded(faults: lmpe_cusax::Faults) -> Result<CusaxNet, String> {
    let server = EmbeddedServer::start(
        any_port(),
        ServerOptions::new(DOMAIN, &[("tester", "tester-pw"), ("peer", "peer-pw")]),
    )
    .await
    .map_err(|e| format!("embedded XMPP server: {e}"))?;
    let addr = server.addr();
    let peer = IntegratedEndpoint::start(EndpointConfig {
        scripted: true,
        faults,
        ..config(
            "peer",
            &format!("peer@{DOMAIN}"),
            Some((addr, "peer-pw".into())),
        )
    })
    .await?;
    let tester = IntegratedEndpoint::start(config(
        "tester",
        &format!("tester@{DOMAIN}"),
        Some((addr, "tester-pw".into())),
    ))
    .await?;
    let decoy =
        IntegratedEndpoint::start(config("decoy", &format!("mallory@{DOMAIN}"), None)).await?;
    Ok(CusaxNet {
        server: Some(server),
        iut_sip: peer.sip_uri().to_owned(),
        iut_jid: peer.jid().to_owned(),
        peer: Some(peer),
        tester,
        decoy,
    })
}

async fn real(t: &crate::target::CusaxTarget) -> Result<CusaxNet, String> {
    let [user, pw] = t.xmpp.tester.clone();
    let jid = if user.contains('@') {
        user
    } else {
        format!("{user}@{}", t.xmpp.domain)
    };
    let sip =
        |u: &Option<String>, d: &str| format!("sip:{}@{}", u.as_deref().unwrap_or(d), t.sip_domain);
    let tester = IntegratedEndpoint::start(EndpointConfig {
        sip_uri: Some(sip(&t.tester_sip_user, "tester")),
        sip_proxy: Some(t.sip_proxy),
        register: true,
        ..config("tester", &jid, Some((t.xmpp.server, pw)))
    })
    .await?;
    let decoy = IntegratedEndpoint::start(EndpointConfig {
        sip_uri: Some(sip(&t.decoy_sip_user, "decoy")),
        sip_proxy: Some(t.sip_proxy),
        register: true,
        ..config("decoy", &format!("mallory@{}", t.xmpp.domain), None)
    })
    .await?;
    Ok(CusaxNet {
        server: None,
        peer: None,
        tester,
        decoy,
        iut_sip: t.peer.sip_uri.clone(),
        iut_jid: profile::bare_jid(&t.peer.jid).unwrap_or_else(|| t.peer.jid.clone()),
    })
}

fn net(w: &LmpeWorld) -> &CusaxNet {
    match &w.cusax.net {
        Some(n) => n,
        None => inconclusive!("no CUSAX deployment (the Background step did not run)"),
    }
}

fn thread(w: &LmpeWorld) -> String {
    match &w.cusax.thread {
        Some(t) => t.clone(),
        None => inconclusive!("no conversation token yet"),
    }
}

fn call(w: &LmpeWorld) -> String {
    match &w.cusax.call {
        Some(c) => c.clone(),
        None => inconclusive!("no call yet"),
    }
}

fn from_bare(m: &Message) -> String {
    m.from
        .as_ref()
        .and_then(|j| profile::bare_jid(j.as_str()))
        .unwrap_or_default()
}

fn thread_of(m: &Message) -> Option<String> {
    m.thread.as_ref().map(|t| t.id.clone())
}

/// The first chat message from the endpoint under test after `from` for which `pick` holds.
async fn message_from_iut(
    w: &LmpeWorld,
    from: usize,
    wait: Duration,
    mut pick: impl FnMut(&Message) -> bool,
) -> Option<(Message, String)> {
    let n = net(w);
    let iut = n.iut_jid.clone();
    n.tester
        .wait(from, wait, |s| match s {
            Seen::XmppIn {
                event: XmppEvent::Message(m),
                ..
            } if from_bare(&m.stanza) == iut && pick(&m.stanza) => {
                Some((m.stanza.clone(), m.xml.clone()))
            }
            _ => None,
        })
        .await
}

/// Sends a text on `thread` and returns the correlation report the endpoint answers with.
async fn ask_report(w: &LmpeWorld, thread: &str, clause: &str) -> (Correlation, String) {
    let n = net(w);
    let from = n.tester.mark().await;
    if let Err(e) = n
        .tester
        .send_message(&n.iut_jid, "what is this about?", thread, false)
        .await
    {
        inconclusive!("the tester's message was not sent: {e}");
    }
    let t = thread.to_owned();
    let Some((m, xml)) = message_from_iut(w, from, SETUP, |m| {
        thread_of(m).as_deref() == Some(t.as_str()) && profile::report_of(&m.payloads).is_some()
    })
    .await
    else {
        inconclusive!(
            "{clause}: the endpoint under test answers a message on thread {thread} (its scripted user reports the correlation, docs/cusax.md); nothing in {SETUP:?}"
        );
    };
    match profile::report_of(&m.payloads) {
        Some(Ok(c)) => (c, xml),
        Some(Err(e)) => panic!(
            "docs/cusax.md: the correlation report is well-formed; {e}\n--- message ---\n{xml}"
        ),
        None => inconclusive!("no report"),
    }
}

#[when("the tester asks the endpoint under test to open a conversation")]
async fn ask_open(w: &mut LmpeWorld) {
    let n = net(w);
    let t0 = profile::new_token();
    let from = n.tester.mark().await;
    if let Err(e) = n.tester.send_message(&n.iut_jid, "#open", &t0, true).await {
        inconclusive!("the tester's message was not sent: {e}");
    }
    w.cusax.mark = from;
    let Some((m, _)) = message_from_iut(w, from, SETUP, |m| {
        thread_of(m).is_some_and(|t| t != t0) && profile::report_of(&m.payloads).is_none()
    })
    .await
    else {
        inconclusive!("the endpoint under test opened no conversation (its scripted user's #open, docs/cusax.md) within {SETUP:?}");
    };
    w.cusax.thread = thread_of(&m);
    w.cusax.opened = thread_of(&m);
}

#[then("the first message of the conversation carries the SIP URI of the endpoint in a XEP-0152 reach element, and later ones do not repeat it (REQ-1)")]
async fn first_message_has_contact(w: &mut LmpeWorld) {
    let t = thread(w);
    let from = w.cusax.mark;
    let iut_sip = net(w).iut_sip.clone();
    let tt = t.clone();
    let on_thread = |m: &Message| thread_of(m).as_deref() == Some(tt.as_str());
    let Some((first, xml)) = message_from_iut(w, from, SETUP, on_thread).await else {
        inconclusive!("no message on {t}");
    };
    let sips = profile::reach_sip(&first.payloads);
    if !sips.iter().any(|s| s.eq_ignore_ascii_case(&iut_sip)) {
        panic!("{REQ1}: the first XMPP message of a conversation includes the sender's SIP address (docs/cusax.md: <reach xmlns='urn:xmpp:reach:0'><addr uri='{iut_sip}'/></reach>); it has {sips:?}\n--- message ---\n{xml}");
    }
    // The second message of the thread: the contact is conveyed once per conversation.
    let mut seen = 0;
    let later = message_from_iut(w, from, Duration::from_millis(1500), |m| {
        if thread_of(m).as_deref() == Some(t.as_str()) {
            seen += 1;
        }
        seen == 2
    })
    .await;
    match later {
        Some((m, _)) if !profile::reach_sip(&m.payloads).is_empty() => w.notes.push(format!(
            "{REQ1}: the SIP contact is repeated in later messages of the conversation (desirable: once per conversation)"
        )),
        Some(_) => {}
        None => w
            .notes
            .push("only one message of the conversation arrived".into()),
    }
}

/// The tester verifies a SIP contact claimed for `jid` (OPTIONS, impp must name `jid`).
async fn verify(w: &LmpeWorld, sip: &str, jid: &str, clause: &str) {
    let n = net(w);
    let answer = match n.tester.options(sip, SETUP).await {
        Ok(a) => a,
        Err(e) => {
            panic!("{clause}: the SIP address {sip} given for xmpp:{jid} answers OPTIONS; {e}")
        }
    };
    match profile::one_impp(&answer) {
        Ok(Some(i)) if i.jid == jid => {}
        other => panic!(
            "{clause}: OPTIONS to the SIP address {sip} is answered with Call-Info <xmpp:{jid}>;purpose=impp (RFC 6993), so the contact can be verified; got {other:?}\n--- answer ---\n{}",
            answer.to_text()
        ),
    }
}

#[when("the tester verifies the SIP contact of the conversation and calls it, referring to the conversation")]
async fn call_contact(w: &mut LmpeWorld) {
    let t = thread(w);
    let (sip, jid) = (net(w).iut_sip.clone(), net(w).iut_jid.clone());
    verify(w, &sip, &jid, REQ1).await;
    let mark = net(w).tester.mark().await;
    match net(w).tester.call(&sip, Some(&t), true).await {
        Ok(c) => {
            w.cusax.call = Some(c);
            w.cusax.mark = mark;
        }
        Err(e) => inconclusive!("the tester's INVITE was not sent: {e}"),
    }
}

#[when("the tester calls the endpoint under test with its impp and a new token")]
async fn call_new(w: &mut LmpeWorld) {
    let t = profile::new_token();
    let sip = net(w).iut_sip.clone();
    let mark = net(w).tester.mark().await;
    match net(w).tester.call(&sip, Some(&t), true).await {
        Ok(c) => {
            w.cusax.call = Some(c);
            w.cusax.thread = Some(t);
            w.cusax.mark = mark;
        }
        Err(e) => inconclusive!("the tester's INVITE was not sent: {e}"),
    }
    answered(w, REQ2).await;
}

/// The final response to the tester's INVITE.
async fn answered(w: &LmpeWorld, clause: &str) -> SipMessage {
    let c = call(w);
    let from = w.cusax.mark;
    let got = net(w)
        .tester
        .wait(from, SETUP, |s| match s {
            Seen::Sip {
                event: PhoneEvent::InviteResponse { call, msg },
                ..
            } if *call == c => Some(msg.clone()),
            Seen::Sip {
                event: PhoneEvent::Ended { call, reason },
                ..
            } if *call == c && reason.contains("timed out") => Some(SipMessage {
                start: lmpe_wire::sip::StartLine::Response {
                    code: 408,
                    reason: reason.clone(),
                },
                headers: vec![],
                body: vec![],
            }),
            _ => None,
        })
        .await;
    match got {
        Some(m) if m.status() == Some(200) => m,
        Some(m) => panic!("{clause}: the endpoint under test accepts the call (RFC 3261 13.3.1.4); it answered {}\n--- answer ---\n{}", m.status().unwrap_or(0), m.to_text()),
        None => panic!("{clause}: the endpoint under test answers the INVITE; no final response in {SETUP:?}"),
    }
}

fn check_answer(m: &SipMessage, jid: &str, token: &str, clause: &str) {
    if let Err(e) = profile::check_sdp_audio(&m.body) {
        panic!("{clause}: the 200 to the INVITE carries an SDP answer with an audio stream (RFC 3264); {e}\n--- answer ---\n{}", m.to_text());
    }
    match profile::one_impp(m) {
        Ok(Some(i)) if i.jid == jid && i.thread.as_deref() == Some(token) => {}
        other => panic!(
            "{clause}: the 200 to the INVITE carries the answerer's XMPP contact and the correlation token: Call-Info: <xmpp:{jid}?message;thread={token}>;purpose=impp (RFC 6993, docs/cusax.md); got {other:?}\n--- answer ---\n{}",
            m.to_text()
        ),
    }
}

#[then("the endpoint answers with an audio answer and an impp naming its JID and the conversation's token (REQ-1)")]
async fn answer_req1(w: &mut LmpeWorld) {
    let m = answered(w, REQ1).await;
    check_answer(&m, &net(w).iut_jid, &thread(w), REQ1);
}

#[then("the endpoint answers with an audio answer and an impp naming its JID and the same token (REQ-2)")]
async fn answer_req2(w: &mut LmpeWorld) {
    let m = answered(w, REQ2).await;
    check_answer(&m, &net(w).iut_jid, &thread(w), REQ2);
}

#[then(
    regex = r"^a message on the token's thread is correlated with the SIP session \((REQ-1|REQ-2)\)$"
)]
async fn correlated(w: &mut LmpeWorld, req: String) {
    let clause = if req == "REQ-1" { REQ1 } else { REQ2 };
    let c = call(w);
    let (r, xml) = ask_report(w, &thread(w), clause).await;
    if r != Correlation::Session(c.clone()) {
        panic!("{clause}: an XMPP message carrying the session's token is correlated by its recipient with the SIP session (Call-ID {c}); it reported {r:?}\n--- report ---\n{xml}");
    }
}

#[when("the tester opens a conversation with its SIP contact and asks the endpoint under test to call it")]
async fn ask_call(w: &mut LmpeWorld) {
    let t = profile::new_token();
    let n = net(w);
    let mark = n.tester.mark().await;
    if let Err(e) = n.tester.send_message(&n.iut_jid, "#call", &t, true).await {
        inconclusive!("the tester's message was not sent: {e}");
    }
    w.cusax.thread = Some(t);
    w.cusax.mark = mark;
}

#[then("the endpoint calls the tester's SIP contact with an audio offer and an impp naming its JID and the conversation's token (REQ-1)")]
async fn called_back(w: &mut LmpeWorld) {
    let t = thread(w);
    let from = w.cusax.mark;
    let n = net(w);
    let invite = n
        .tester
        .wait(from, SETUP, |s| match s {
            Seen::Sip {
                event: PhoneEvent::Invite { call, msg },
                ..
            } => Some((call.clone(), msg.clone())),
            _ => None,
        })
        .await;
    let Some((c, msg)) = invite else {
        panic!("{REQ1}: given the tester's SIP contact in the conversation, the endpoint under test can start a SIP session with it (#call); no INVITE in {SETUP:?}");
    };
    if let Err(e) = profile::check_sdp_audio(&msg.body) {
        panic!(
            "{REQ1}: the INVITE offers an audio stream (SDP, RFC 3264); {e}\n--- INVITE ---\n{}",
            msg.to_text()
        );
    }
    match profile::one_impp(&msg) {
        Ok(Some(i)) if i.jid == n.iut_jid && i.thread.as_deref() == Some(t.as_str()) => {}
        other => panic!(
            "{REQ1}: the SIP session initiation carries what lets the peer correlate it with the conversation: Call-Info: <xmpp:{}?message;thread={t}>;purpose=impp (docs/cusax.md); got {other:?}\n--- INVITE ---\n{}",
            n.iut_jid,
            msg.to_text()
        ),
    }
    let verified = n.tester.log_since(from).await.iter().any(|s| {
        matches!(
            s,
            Seen::Sip {
                event: PhoneEvent::Options { .. },
                ..
            }
        )
    });
    let acked = n
        .tester
        .wait(from, SETUP, |s| match s {
            Seen::Sip {
                event: PhoneEvent::Acked { call },
                ..
            } if *call == c => Some(()),
            _ => None,
        })
        .await;
    if acked.is_none() {
        panic!("RFC 3261 13.2.2.4: the caller acknowledges the 2xx with an ACK; none for {c} in {SETUP:?}");
    }
    if !verified {
        w.notes.push(format!(
            "{SEC}: the endpoint called without verifying the contact with OPTIONS first"
        ));
    }
}

#[when("the tester subscribes to the presence of the endpoint under test")]
async fn subscribe(w: &mut LmpeWorld) {
    let n = net(w);
    let mark = n.tester.mark().await;
    if let Err(e) = n.tester.subscribe(&n.iut_jid).await {
        inconclusive!("the subscription request was not sent: {e}");
    }
    w.cusax.mark = mark;
}

/// The latest available presence of the endpoint under test after `from` that satisfies `pick`.
async fn presence(
    w: &LmpeWorld,
    from: usize,
    wait: Duration,
    mut pick: impl FnMut(&Presence) -> bool,
) -> Option<(Presence, String)> {
    let n = net(w);
    let iut = n.iut_jid.clone();
    n.tester
        .wait(from, wait, |s| match s {
            Seen::XmppIn {
                event: XmppEvent::Presence(p),
                ..
            } if p.stanza.type_ == PresenceType::None
                && p.stanza
                    .from
                    .as_ref()
                    .and_then(|j| profile::bare_jid(j.as_str()))
                    .as_deref()
                    == Some(iut.as_str())
                && pick(&p.stanza) =>
            {
                Some((p.stanza.clone(), p.xml.clone()))
            }
            _ => None,
        })
        .await
}

#[then("its presence carries its SIP URI in a XEP-0152 reach element and XEP-0115 capabilities with audio, and not on the phone (REQ-3)")]
async fn presence_contact(w: &mut LmpeWorld) {
    let from = w.cusax.mark;
    let sip = net(w).iut_sip.clone();
    let Some((p, xml)) = presence(w, from, SETUP, |_| true).await else {
        panic!("{REQ3}: a subscriber that was authorised receives the endpoint's presence; none in {SETUP:?}");
    };
    let sips = profile::reach_sip(&p.payloads);
    if !sips.iter().any(|s| s.eq_ignore_ascii_case(&sip)) {
        panic!("{REQ3}: XMPP presence includes the SIP contact address (XEP-0152 <reach><addr uri='{sip}'/></reach>, RFC 7081); it has {sips:?}\n--- presence ---\n{xml}");
    }
    let Some(node) = profile::caps_node_ver(&p.payloads) else {
        panic!("{REQ3}: XMPP presence includes the media capabilities (XEP-0115 <c xmlns='http://jabber.org/protocol/caps' node=… ver=…/>, RFC 7081); none\n--- presence ---\n{xml}");
    };
    let caps = match profile::caps_of(&p.payloads) {
        Some(Ok(c)) => c,
        other => panic!(
            "XEP-0115 4: the <c/> element is well-formed; {other:?}\n--- presence ---\n{xml}"
        ),
    };
    let Some(full) = p.from.as_ref().map(|j| j.to_string()) else {
        inconclusive!("a presence without from");
    };
    let (info, info_xml) = match net(w).tester.disco_info(&full, &node).await {
        Ok(i) => i,
        Err(e) => panic!("XEP-0115 5.4: the capabilities advertised in presence can be retrieved with disco#info at {node}; {e}"),
    };
    match profile::check_caps(&caps, &info) {
        Ok(media) if media.iter().any(|m| m == "audio") => {}
        Ok(media) => panic!("{REQ3}: the media capabilities include audio (disco feature {}); they are {media:?}\n--- disco#info ---\n{info_xml}", profile::media_feature("audio")),
        Err(e) => panic!("XEP-0115 5.4: the verification string matches the disco#info answer; {e}\n--- presence ---\n{xml}\n--- disco#info ---\n{info_xml}"),
    }
    if profile::is_on_the_phone(&p.payloads) {
        panic!("{REQ3}: without a call the presence does not say \"on the phone\"\n--- presence ---\n{xml}");
    }
    w.cusax.mark = net(w).tester.mark().await;
}

#[then(regex = r"^its presence says it is on the phone within (\d+) ms \(REQ-3\)$")]
async fn presence_on_phone(w: &mut LmpeWorld, ms: u64) {
    let from = w.cusax.mark;
    if presence(w, from, Duration::from_millis(ms), |p| {
        profile::is_on_the_phone(&p.payloads)
    })
    .await
    .is_none()
    {
        panic!("{REQ3}: during a SIP session the XMPP presence says the user is on the phone (XEP-0108 <activity><talking><on_the_phone/></talking></activity>); no such presence in {ms} ms");
    }
}

#[when("the tester hangs up")]
async fn hang_up(w: &mut LmpeWorld) {
    let c = call(w);
    let mark = net(w).tester.mark().await;
    if let Err(e) = net(w).tester.hangup(&c).await {
        inconclusive!("the BYE was not sent: {e}");
    }
    w.cusax.call = None;
    w.cusax.mark = mark;
    let ok = net(w)
        .tester
        .wait(mark, SETUP, |s| match s {
            Seen::Sip {
                event: PhoneEvent::Response { msg, .. },
                ..
            } if msg.cseq_method() == Some("BYE") => msg.status(),
            _ => None,
        })
        .await;
    if ok != Some(200) {
        panic!("RFC 3261 15.1.2: the endpoint under test answers the BYE with 200; got {ok:?}");
    }
}

#[then(regex = r"^its presence no longer says it is on the phone within (\d+) ms \(REQ-3\)$")]
async fn presence_off_phone(w: &mut LmpeWorld, ms: u64) {
    let from = w.cusax.mark;
    if presence(w, from, Duration::from_millis(ms), |p| {
        !profile::is_on_the_phone(&p.payloads)
    })
    .await
    .is_none()
    {
        panic!("{REQ3}: after the SIP session the XMPP presence no longer says \"on the phone\"; no such presence in {ms} ms");
    }
}

#[when("the tester sends OPTIONS to the SIP URI of the endpoint under test")]
async fn options(w: &mut LmpeWorld) {
    let sip = net(w).iut_sip.clone();
    match net(w).tester.options(&sip, SETUP).await {
        Ok(m) => w.cusax.options = Some(m),
        Err(e) => {
            panic!("{REQ4}: the endpoint under test answers OPTIONS at {sip} (RFC 3261 11); {e}")
        }
    }
}

#[then("the 200 answer carries an impp naming the XMPP JID of the endpoint (REQ-4)")]
async fn options_impp(w: &mut LmpeWorld) {
    let Some(m) = w.cusax.options.clone() else {
        inconclusive!("no OPTIONS answer");
    };
    let jid = net(w).iut_jid.clone();
    if m.status() != Some(200) {
        panic!("{REQ4}: OPTIONS is answered 200 (RFC 3261 11.2); it was answered {}\n--- answer ---\n{}", m.status().unwrap_or(0), m.to_text());
    }
    match profile::one_impp(&m) {
        Ok(Some(i)) if i.jid == jid => {}
        other => panic!("{REQ4}: who knows only the SIP URI learns the XMPP URI without bothering the user: the 200 to OPTIONS carries Call-Info: <xmpp:{jid}>;purpose=impp (RFC 6993, RFC 7081); got {other:?}\n--- answer ---\n{}", m.to_text()),
    }
}

#[then("a message to that JID reaches the endpoint as a new conversation (REQ-4)")]
async fn message_to_learnt(w: &mut LmpeWorld) {
    let (r, xml) = ask_report(w, &profile::new_token(), REQ4).await;
    if r != Correlation::New {
        panic!("{REQ4}: a message on a new thread to the JID learnt over SIP opens a new conversation; it was reported as {r:?}\n--- report ---\n{xml}");
    }
}

#[then("a message on the token's thread is not correlated with the ended SIP session (draft 4, open issue)")]
async fn stale(w: &mut LmpeWorld) {
    let t = thread(w);
    let (r, xml) = ask_report(w, &t, OPEN).await;
    if let Correlation::Session(c) = &r {
        panic!("{OPEN}: an XMPP message correlated with a SIP session that has ended is not tied to a live session (the endpoint reports it as ended or as a conversation); it reported the session {c} as active\n--- report ---\n{xml}");
    }
}

#[then("the endpoint answers with the INVITE's own token, not the token of its conversation with the tester (draft 4, open issue)")]
async fn unknown_invite(w: &mut LmpeWorld) {
    let m = answered(w, OPEN).await;
    let token = thread(w);
    let Some(conv) = w.cusax.opened.clone() else {
        inconclusive!("the endpoint under test opened no conversation");
    };
    match profile::one_impp(&m) {
        Ok(Some(i)) if i.thread.as_deref() == Some(token.as_str()) => {}
        Ok(Some(i)) if i.thread.as_deref() == Some(conv.as_str()) => panic!(
            "{OPEN}: an unknown token in an INVITE opens a new context; the endpoint tied the call to its conversation {conv} with the same peer instead\n--- answer ---\n{}",
            m.to_text()
        ),
        other => panic!(
            "{OPEN}: an unknown token in an INVITE opens a new context, so the 200 carries that token (Call-Info: <xmpp:…?message;thread={token}>;purpose=impp); got {other:?}\n--- answer ---\n{}",
            m.to_text()
        ),
    }
}

#[then("a message on an unknown thread is not tied to the SIP session (draft 4, open issue)")]
async fn unknown(w: &mut LmpeWorld) {
    let (r, xml) = ask_report(w, &profile::new_token(), OPEN).await;
    if r != Correlation::New {
        panic!("{OPEN}: an unknown correlation token opens a new context and is tied to no other conversation or session of the same peer; it was reported as {r:?}\n--- report ---\n{xml}");
    }
}

#[when("the tester claims a SIP contact that belongs to another XMPP user and asks the endpoint under test to call it")]
async fn forged(w: &mut LmpeWorld) {
    let t = profile::new_token();
    let n = net(w);
    let mark = n.tester.mark().await;
    let decoy = n.decoy.sip_uri().to_owned();
    // The decoy's OPTIONS answer names another JID: the claim is forged.
    verify_decoy(w, &decoy).await;
    let n = net(w);
    if let Err(e) = n.tester.send_claim(&n.iut_jid, "#call", &t, &decoy).await {
        inconclusive!("the tester's message was not sent: {e}");
    }
    w.cusax.thread = Some(t);
    w.cusax.mark = mark;
}

async fn verify_decoy(w: &LmpeWorld, decoy: &str) {
    match net(w).tester.options(decoy, SETUP).await {
        Ok(m) => match profile::one_impp(&m) {
            Ok(Some(i)) if i.jid != net(w).tester.jid() => {}
            other => inconclusive!("the decoy {decoy} should name another JID; {other:?}"),
        },
        Err(e) => inconclusive!("the decoy {decoy} does not answer OPTIONS: {e}"),
    }
}

#[then(regex = r"^the endpoint does not call the forged contact within (\d+) ms \(draft 6\)$")]
async fn not_called(w: &mut LmpeWorld, ms: u64) {
    let t = thread(w);
    let n = net(w);
    // The decoy is fresh in every scenario: its whole log counts.
    let from = 0;
    let invite = n
        .decoy
        .wait(from, Duration::from_millis(ms), |s| match s {
            Seen::Sip {
                event: PhoneEvent::Invite { msg, .. },
                ..
            } => Some(msg.clone()),
            _ => None,
        })
        .await;
    if let Some(msg) = invite {
        panic!("{SEC}: contact information learnt over XMPP is verified before use, so a forged SIP contact (its OPTIONS answer names another XMPP user) is not called; the endpoint under test sent an INVITE to it\n--- INVITE ---\n{}", msg.to_text());
    }
    let mark = w.cusax.mark;
    let tt = t.clone();
    if let Some((m, _)) = message_from_iut(w, mark, Duration::from_millis(200), |m| {
        thread_of(m).as_deref() == Some(tt.as_str())
    })
    .await
    {
        if let Some(Ok(r)) = profile::report_of(&m.payloads) {
            w.notes.push(format!("the endpoint reported: {r:?}"));
        }
    }
}
