//! The integrated SIP+XMPP endpoint of draft-veikkolainen-sip-xmpp-coex-reqs-02 (REQ-1..REQ-4)
//! on the recommendations of RFC 7081 (CUSAX), for lmpe-harness's conformance scenarios.
//!
//! - [`profile`]: the wire profile, sans-IO: building and parsing every header and element
//!   that carries the draft's information (`Call-Info … purpose=impp` with an RFC 5122
//!   `?message;thread=` correlation token, XEP-0152 `<reach/>`, XEP-0108 "on the phone",
//!   media capabilities, the correlation reports of the scripted user), SDP audio offers and
//!   their check. `docs/cusax.md` documents it.
//! - [`phone`]: a sans-IO SIP phone (INVITE client/server transactions and dialog, ACK, BYE,
//!   OPTIONS, REGISTER) driven by `lmpe-net`.
//! - [`endpoint`]: [`IntegratedEndpoint`], one phone plus one [`lmpe_xmpp::XmppClient`], a log
//!   of everything it saw, the draft's behaviour (correlation both ways, presence with the
//!   SIP contact, contact verification) and a scripted user for the peer under test, with
//!   deliberate [`Faults`].

pub mod endpoint;
pub mod phone;
pub mod profile;

pub use endpoint::{EndpointConfig, IntegratedEndpoint, Seen};
pub use phone::{CallState, Phone, PhoneConfig, PhoneEvent};

/// Deliberate faults of the endpoint, to prove the conformance checks fail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// `cusax-no-sip-in-xmpp`: the first message of a conversation carries no SIP contact.
    pub no_sip_in_xmpp: bool,
    /// `cusax-no-impp`: no `Call-Info … purpose=impp` in INVITEs, their 2xx and 200 to OPTIONS.
    pub no_impp: bool,
    /// `cusax-no-reach`: presence without the XEP-0152 SIP address.
    pub no_reach: bool,
    /// `cusax-no-media-caps`: the XEP-0115 capabilities offer no SIP medium.
    pub no_media_caps: bool,
    /// `cusax-accepts-forged-contact`: a SIP contact learnt over XMPP is called unverified.
    pub accepts_forged_contact: bool,
    /// `cusax-ignores-correlation`: correlation tokens are ignored (every INVITE and message
    /// opens a new context).
    pub ignores_correlation: bool,
    /// `cusax-stale-correlation`: an ended SIP session is still reported as active.
    pub stale_correlation: bool,
    /// `cusax-correlates-by-peer`: an unknown token is tied to the peer's latest context.
    pub correlates_by_peer: bool,
}

impl Faults {
    /// Every fault name.
    pub const NAMES: &'static [&'static str] = &[
        "cusax-no-sip-in-xmpp",
        "cusax-no-impp",
        "cusax-no-reach",
        "cusax-no-media-caps",
        "cusax-accepts-forged-contact",
        "cusax-ignores-correlation",
        "cusax-stale-correlation",
        "cusax-correlates-by-peer",
    ];

    /// Turns on the fault `name`; false when the name is not one of [`Faults::NAMES`].
    pub fn set(&mut self, name: &str) -> bool {
        let flag = match name {
            "cusax-no-sip-in-xmpp" => &mut self.no_sip_in_xmpp,
            "cusax-no-impp" => &mut self.no_impp,
            "cusax-no-reach" => &mut self.no_reach,
            "cusax-no-media-caps" => &mut self.no_media_caps,
            "cusax-accepts-forged-contact" => &mut self.accepts_forged_contact,
            "cusax-ignores-correlation" => &mut self.ignores_correlation,
            "cusax-stale-correlation" => &mut self.stale_correlation,
            "cusax-correlates-by-peer" => &mut self.correlates_by_peer,
            _ => return false,
        };
        *flag = true;
        true
    }

    /// Whether any fault is on.
    pub fn any(&self) -> bool {
        *self != Faults::default()
    }
}
