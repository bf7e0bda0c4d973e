//! Two integrated endpoints over the embedded XMPP server and direct SIP on loopback: the
//! REQ-2 flow (INVITE/200/ACK with impp and token, a correlated message, BYE, then the same
//! token reported as ended), REQ-4 (impp in the 200 to OPTIONS) and REQ-3 presence with
//! "on the phone" while the call is up, with XEP-0115 caps verified by disco#info.

use std::net::SocketAddr;
use std::time::Duration;

use lmpe_cusax::profile::{self, Correlation};
use lmpe_cusax::{CallState, EndpointConfig, Faults, IntegratedEndpoint, PhoneEvent, Seen};
use lmpe_xmpp::{EmbeddedServer, ServerOptions, XmppEvent};

const WAIT: Duration = Duration::from_secs(5);

fn cfg(name: &str, server: SocketAddr, scripted: bool) -> EndpointConfig {
    EndpointConfig {
        name: name.into(),
        sip_uri: None,
        sip_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        sip_proxy: None,
        register: false,
        jid: format!("{name}@cusax.test"),
        xmpp: Some((server, format!("{name}-pw"))),
        scripted,
        faults: Faults::default(),
        timeout: WAIT,
    }
}

async fn report(a: &IntegratedEndpoint, b: &IntegratedEndpoint, thread: &str) -> Correlation {
    let from = a.mark().await;
    a.send_message(b.jid(), "status?", thread, false)
        .await
        .expect("message sent");
    let t = thread.to_owned();
    a.wait(from, WAIT, |s| match s {
        Seen::XmppIn {
            event: XmppEvent::Message(m),
            ..
        } if m.stanza.thread.as_ref().map(|x| x.id.as_str()) == Some(t.as_str()) => {
            profile::report_of(&m.stanza.payloads).and_then(Result::ok)
        }
        _ => None,
    })
    .await
    .expect("a correlation report")
}

#[tokio::test]
async fn call_with_token_then_correlated_message_then_ended() {
    let server = EmbeddedServer::start(
        ([127, 0, 0, 1], 0).into(),
        ServerOptions::new("cusax.test", &[("a", "a-pw"), ("b", "b-pw")]),
    )
    .await
    .expect("server");
    let a = IntegratedEndpoint::start(cfg("a", server.addr(), false))
        .await
        .expect("a");
    let b = IntegratedEndpoint::start(cfg("b", server.addr(), true))
        .await
        .expect("b");

    // REQ-4: the SIP URI gives the XMPP URI.
    let opt = a
        .options(b.sip_uri(), WAIT)
        .await
        .expect("OPTIONS answered");
    assert_eq!(opt.status(), Some(200));
    assert_eq!(
        profile::one_impp(&opt),
        Ok(Some(profile::Impp {
            jid: "b@cusax.test".into(),
            thread: None
        }))
    );

    // REQ-3: subscribe, then see "on the phone" while the call is up.
    let from = a.mark().await;
    a.subscribe(b.jid()).await.expect("subscribe");

    // REQ-2: the token rides in the INVITE and comes back in the 200.
    let token = profile::new_token();
    let call = a
        .call(b.sip_uri(), Some(&token), true)
        .await
        .expect("INVITE sent");
    let answer = a
        .wait(from, WAIT, |s| match s {
            Seen::Sip {
                event: PhoneEvent::InviteResponse { call: c, msg },
                ..
            } if *c == call => Some(msg.clone()),
            _ => None,
        })
        .await
        .expect("a final response");
    assert_eq!(answer.status(), Some(200));
    assert_eq!(profile::check_sdp_audio(&answer.body), Ok(()));
    assert_eq!(
        profile::one_impp(&answer).expect("impp parses"),
        Some(profile::Impp {
            jid: "b@cusax.test".into(),
            thread: Some(token.clone())
        })
    );
    assert_eq!(a.call_state(&call).await, Some(CallState::Confirmed));
    // b's presence: the server also echoes a's own presence to a, and a is on the phone too.
    let b_jid = b.jid().to_owned();
    let on_phone = a
        .wait(from, WAIT, |s| match s {
            Seen::XmppIn {
                event: XmppEvent::Presence(p),
                ..
            } if profile::is_on_the_phone(&p.stanza.payloads)
                && p.stanza.from.as_ref().map(|j| j.to_bare().to_string())
                    == Some(b_jid.clone()) =>
            {
                Some((
                    profile::reach_sip(&p.stanza.payloads),
                    p.stanza
                        .from
                        .as_ref()
                        .map(|j| j.to_string())
                        .unwrap_or_default(),
                    profile::caps_node_ver(&p.stanza.payloads).unwrap_or_default(),
                    profile::caps_of(&p.stanza.payloads)?.ok()?,
                ))
            }
            _ => None,
        })
        .await
        .expect("presence on the phone");
    assert_eq!(on_phone.0, vec![b.sip_uri().to_owned()]);
    // REQ-3 media: the XEP-0115 caps verify against b's disco#info answer.
    let (info, _) = a
        .disco_info(&on_phone.1, &on_phone.2)
        .await
        .expect("disco#info");
    assert_eq!(
        profile::check_caps(&on_phone.3, &info),
        Ok(vec!["audio".to_owned()])
    );

    assert_eq!(
        report(&a, &b, &token).await,
        Correlation::Session(call.clone())
    );
    a.hangup(&call).await.expect("BYE");
    // The BYE is answered and the session reported as ended.
    let mut ended = None;
    for _ in 0..50 {
        let r = report(&a, &b, &token).await;
        if r != Correlation::Session(call.clone()) {
            ended = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ended, Some(Correlation::Ended(call)));
    a.close().await;
    b.close().await;
}
