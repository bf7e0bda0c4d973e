//! `--target FILE`: which elements are real. A real ESInet reached at its BCF's public address
//! (the harness plays the APP), optionally with a harness-played PSAP the SUT routes to; and/or
//! a real APP that sends its chats to the harness (which plays its BCF and PSAP).

use std::net::SocketAddr;
use std::path::Path;

use lmpe_proto::endpoint::TransportKind;
use serde::Deserialize;

/// A target file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TargetFile {
    /// What the target is called in reports.
    pub(crate) name: String,
    /// The ESInet's public SIP entry point (absent: no real ESInet; BCF, ESRP and PSAP
    /// scenarios are skipped).
    #[serde(default)]
    pub(crate) bcf: Option<Endpoint>,
    /// A PSAP the harness plays, to which the SUT's ESRP routes emergency chats (enables the
    /// BCF/ESRP scenarios).
    pub(crate) harness_psap: Option<HarnessPsap>,
    /// A real APP under test (the APP scenarios run against it).
    #[serde(default)]
    pub(crate) app: Option<RealApp>,
    /// The real PSAP behind the ESInet, as far as the HTTP-3 scenarios need it.
    #[serde(default)]
    pub(crate) psap: Option<RealPsap>,
    /// The APP's TLS identity towards a BCF reached over TLS (6.1.1, mutual authentication).
    #[serde(default)]
    pub(crate) tls: Option<TlsFiles>,
    /// Identifier profile (`lenient`, `deployed`, `strict-text`).
    #[serde(default)]
    pub(crate) profile: Option<String>,
    /// Seconds to wait for each answer.
    #[serde(default)]
    pub(crate) response_timeout_s: Option<f64>,
    /// A real LIS under test (HELD, RFC 5985), features/lis/**.
    #[serde(default)]
    pub(crate) lis: Option<LisTarget>,
    /// A real ECRF under test (LoST, RFC 5222), and/or where the harness plays the ECRF for a
    /// real ESRP (features/ecrf/**, features/esrp/location/**).
    #[serde(default)]
    pub(crate) ecrf: Option<EcrfTarget>,
    /// A public-warning deployment (draft-rosen-atoca-server-discovery): its ECRF, alert
    /// ingest and XMPP server.
    #[serde(default)]
    pub(crate) warning: Option<WarningTarget>,
    /// An integrated SIP+XMPP endpoint under test (draft-veikkolainen-sip-xmpp-coex-reqs,
    /// RFC 7081): its SIP proxy, XMPP server and identities.
    #[serde(default)]
    pub(crate) cusax: Option<CusaxTarget>,
}

/// `[cusax]`: an integrated SIP+XMPP endpoint under test in a real deployment. The harness's
/// tester endpoint (SIP `sip:<tester_sip_user>@<sip_domain>` registered at `sip_proxy`, XMPP
/// account `[cusax.xmpp] tester`) and its SIP-only decoy (`sip:<decoy_sip_user>@<sip_domain>`,
/// registered too, claiming the XMPP JID `mallory@<xmpp domain>`) talk to the peer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CusaxTarget {
    /// The SIP proxy and registrar (UDP): every out-of-dialog request goes there; it must
    /// accept REGISTER without authentication and must not record-route.
    pub(crate) sip_proxy: SocketAddr,
    /// The domain of the harness endpoints' SIP addresses-of-record.
    pub(crate) sip_domain: String,
    /// SIP user of the harness's tester endpoint (default `tester`).
    #[serde(default)]
    pub(crate) tester_sip_user: Option<String>,
    /// SIP user of the decoy the forged-contact scenario points at (default `decoy`).
    #[serde(default)]
    pub(crate) decoy_sip_user: Option<String>,
    /// The XMPP server and the tester's account.
    pub(crate) xmpp: CusaxXmpp,
    /// The endpoint under test.
    pub(crate) peer: CusaxPeer,
}

/// `[cusax.xmpp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CusaxXmpp {
    /// Client-to-server address (plain TCP, SASL PLAIN).
    pub(crate) server: SocketAddr,
    /// The accounts' domain.
    pub(crate) domain: String,
    /// The harness tester's account: `[user, password]`.
    pub(crate) tester: [String; 2],
}

/// `[cusax.peer]`: the integrated endpoint under test.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CusaxPeer {
    /// Its SIP URI (registered at the proxy).
    pub(crate) sip_uri: String,
    /// Its XMPP JID (bare).
    pub(crate) jid: String,
}

/// `[warning]`: a warning-distribution deployment. Without `ecrf` and `ingest` the harness
/// runs its own ECRF (sample warning areas) and alert server, and only the XMPP server (if
/// given) is real.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WarningTarget {
    /// LoST server to discover alert servers from (`http://IP:port/path`).
    pub(crate) ecrf: Option<String>,
    /// Where the originator POSTs CAP 1.2 alerts (`http://IP:port/path`).
    pub(crate) ingest: Option<String>,
    /// A location in the first area (`[lat, lon]`; default: the sample data's area A).
    pub(crate) point_a: Option<[f64; 2]>,
    /// A location in a second area whose alerts do not overlap the first's (default: area B).
    pub(crate) point_b: Option<[f64; 2]>,
    /// Mappings `urn:service:warning.met` has at `point_a` (several organisations; the
    /// scenario is skipped without it for a real ECRF).
    pub(crate) met_mappings: Option<usize>,
    /// Where SUBSCRIBEs to SIP URIs with a host name go.
    pub(crate) sip_proxy: Option<SocketAddr>,
    /// The XMPP server.
    pub(crate) xmpp: Option<XmppTarget>,
}

/// `[warning.xmpp]`: the XMPP server the citizens (and the harness's alert server) use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct XmppTarget {
    /// Client-to-server address (plain TCP; the harness does not use STARTTLS).
    pub(crate) server: SocketAddr,
    /// The accounts' domain.
    pub(crate) domain: String,
    /// Accounts for the citizens in area A and area B (`[[user, password], [user, password]]`).
    pub(crate) citizens: Vec<[String; 2]>,
    /// The account the harness's alert server publishes with (needed without `ingest`).
    pub(crate) publisher: Option<[String; 2]>,
    /// The pubsub service JID (default: `pubsub.<domain>`).
    pub(crate) pubsub: Option<String>,
}

/// A real LIS.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LisTarget {
    /// Its HELD URL (`http://IP:port/path`).
    pub(crate) url: String,
    /// A device identity (RFC 6155 `uri`) the LIS can locate (default: the sample LIS's
    /// `sip:app-a@127.0.0.1`).
    #[serde(default)]
    pub(crate) device: Option<String>,
    /// An identity it cannot locate (default `sip:nobody@192.0.2.1`).
    #[serde(default)]
    pub(crate) unknown_device: Option<String>,
    /// An identity the LIS locates by a civic address (default: the sample LIS's
    /// `sip:app-civic@127.0.0.1`).
    #[serde(default)]
    pub(crate) civic_device: Option<String>,
    /// An identity (RFC 6155 `uri`) the LIS locates but has no civic address for, so that an
    /// exact request for `civic` must be answered with `cannotProvideLiType` (RFC 5985 6.2.1;
    /// default: the sample LIS's `sip:app-a@127.0.0.1`, a point). Without it a real LIS's
    /// scenario is skipped.
    #[serde(default)]
    pub(crate) geodetic_only_device: Option<String>,
    /// The MSISDN (RFC 6155 3.7, 6 to 15 digits) of a device the LIS locates (default: the
    /// sample LIS's `436641000002`, sip:app-b). Without it a real LIS's scenario is skipped.
    #[serde(default)]
    pub(crate) msisdn: Option<String>,
    /// An IP address the LIS locates as the source of a flow (RFC 6915 3; default: the
    /// sample LIS's `192.0.2.2`, sip:app-b). Without it a real LIS's scenario is skipped.
    #[serde(default)]
    pub(crate) flow_ip: Option<String>,
}

/// A real ECRF under test (`url`) and/or the harness-played ECRF for a real ESRP (`listen`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EcrfTarget {
    /// The ECRF under test: its LoST URL (`http://IP:port/path`).
    #[serde(default)]
    pub(crate) url: Option<String>,
    /// A WGS 84 point `[lat, lon]` the ECRF maps for `urn:service:sos` (default: the sample
    /// data's area A, `[48.2, 16.2]`).
    #[serde(default)]
    pub(crate) point: Option<[f64; 2]>,
    /// The URI the ECRF should map `point` to (checked when given).
    #[serde(default)]
    pub(crate) expect_uri: Option<String>,
    /// A point no PSAP serves (default `[47.0, 10.0]`).
    #[serde(default)]
    pub(crate) outside: Option<[f64; 2]>,
    /// A civic address the ECRF maps for `urn:service:sos`, RFC 5139 element name → value
    /// (`civic = { country = "AT", A1 = "Wien", A3 = "Wien", RD = "Karlsplatz" }`; default: the
    /// sample data's area A address). The validateLocation scenario sends it with its A3
    /// replaced by `wrong_a3`.
    #[serde(default)]
    pub(crate) civic: Option<std::collections::BTreeMap<String, String>>,
    /// A city (A3) the ECRF does not know under that country and A1 (default `Nirgendwo`).
    #[serde(default)]
    pub(crate) wrong_a3: Option<String>,
    /// A service URN the ECRF does not serve at `point`, answered with
    /// `serviceNotImplemented` (RFC 5222 13.1; default `urn:service:counseling.children`).
    #[serde(default)]
    pub(crate) unserved_service: Option<String>,
    /// The real ESRP queries the harness's ECRF and LIS here (`IP:port`; the SUT is configured
    /// with `http://<listen>/lost` and `http://<listen>/held`).
    #[serde(default)]
    pub(crate) listen: Option<SocketAddr>,
    /// Where the harness's PSAP B listens (the ECRF maps area B to `sip:psap-b@<this>`).
    #[serde(default)]
    pub(crate) psap_b_listen: Option<SocketAddr>,
    /// A WGS 84 point `[lat, lon]` the ECRF under test leaves to another LoST server of its
    /// forest (RFC 5222 8.3.3: recursion, iteration, loops; default for the embedded ECRF:
    /// area C, `[48.2, 17.0]`). Without it a real ECRF's forest scenarios are skipped.
    #[serde(default)]
    pub(crate) forest_point: Option<[f64; 2]>,
    /// The application unique string of the LoST server that serves `forest_point`.
    #[serde(default)]
    pub(crate) forest_server: Option<String>,
    /// (ESRP under test) Where the harness's second ECRF listens, the one the harness's ECRF
    /// redirects area C to by the name `ecrf-c.lmpe.test`: the SUT must resolve that name to
    /// `http://<this>/lost` (U-NAPTR, RFC 5222 4, or a static table). Without it the redirect
    /// scenarios are skipped.
    #[serde(default)]
    pub(crate) redirect_listen: Option<SocketAddr>,
}

/// A SIP address and transport.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Endpoint {
    /// `IP:port` (loopback or a test network).
    pub(crate) address: SocketAddr,
    /// `udp` or `tcp` (TLS comes with SIP-1 support).
    #[serde(default = "udp")]
    pub(crate) transport: String,
}

fn udp() -> String {
    "udp".into()
}

/// The harness PSAP the SUT routes to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HarnessPsap {
    /// Where the harness PSAP listens (the SUT's ESRP routes here).
    pub(crate) listen: SocketAddr,
    /// Its public URI as the SUT knows it (Reply-To), e.g. `sip:psap@<BCF address>`.
    pub(crate) reply_to: String,
}

/// A real APP under test: it is configured to send its chats to `harness_listen`, where the
/// harness plays its BCF and PSAP. A person operates it when prompted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RealApp {
    /// Where the harness listens (UDP and TCP) as the APP's BCF + PSAP.
    pub(crate) harness_listen: SocketAddr,
    /// Seconds to wait for the operator to act on the APP (start a chat, type a message).
    #[serde(default = "operator_timeout")]
    pub(crate) operator_timeout_s: f64,
}

fn operator_timeout() -> f64 {
    60.0
}

/// PEM files of the harness's TLS identity and the CA that issued the SUT's certificate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsFiles {
    /// The harness APP's certificate chain (leaf first), issued by a CA the BCF trusts.
    pub(crate) cert: std::path::PathBuf,
    /// Its private key.
    pub(crate) key: std::path::PathBuf,
    /// The CA(s) that issued the BCF's certificate.
    pub(crate) ca: std::path::PathBuf,
    /// The BCF's TCP address for the fallback scenario (6.1.1 allows TCP without TLS).
    #[serde(default)]
    pub(crate) fallback_tcp: Option<SocketAddr>,
}

/// The real PSAP's chat transfer web service (TS 103 698 6.3).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RealPsap {
    /// Its SIP URI (`TransferTo` of a transfer to it).
    pub(crate) uri: String,
    /// Base URL of its transfer web service (`POST {url}/chatTransferNegotiation`, …).
    pub(crate) transfer_url: Option<String>,
}

/// A target resolved for a run.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Report name.
    pub(crate) name: String,
    /// BCF address (`None`: no real ESInet).
    pub(crate) bcf: Option<SocketAddr>,
    /// Transport towards the BCF.
    pub(crate) transport: TransportKind,
    /// Harness PSAP, if the SUT routes to one.
    pub(crate) harness_psap: Option<HarnessPsap>,
    /// A real APP under test.
    pub(crate) app: Option<RealApp>,
    /// The real PSAP's transfer service.
    pub(crate) psap: Option<RealPsap>,
    /// TLS identity files.
    pub(crate) tls: Option<TlsFiles>,
    /// A real LIS.
    pub(crate) lis: Option<LisTarget>,
    /// A real ECRF / the harness-played ECRF.
    pub(crate) ecrf: Option<EcrfTarget>,
    /// A warning-distribution deployment.
    pub(crate) warning: Option<WarningTarget>,
    /// An integrated SIP+XMPP endpoint under test.
    pub(crate) cusax: Option<CusaxTarget>,
}

impl TargetFile {
    /// Reads and checks a target file.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read target file {}: {e}", path.display()))?;
        let t: Self =
            toml::from_str(&text).map_err(|e| format!("target file {}: {e}", path.display()))?;
        Ok(t)
    }

    /// The resolved target.
    pub(crate) fn target(&self) -> Result<Target, String> {
        let loc_iut = self.lis.is_some() || self.ecrf.as_ref().is_some_and(|e| e.url.is_some());
        if self.bcf.is_none()
            && self.app.is_none()
            && !loc_iut
            && self.warning.is_none()
            && self.cusax.is_none()
        {
            return Err(
                "the target names no real element: give [bcf], [app], [lis], [ecrf] url, [warning] and/or [cusax]"
                    .into(),
            );
        }
        if let Some(w) = &self.warning {
            for url in w.ecrf.iter().chain(w.ingest.iter()) {
                if !url.starts_with("http://") {
                    return Err(format!(
                        "[warning] {url:?}: URLs must be http://IP:port/path"
                    ));
                }
            }
            if w.ecrf.is_some() != w.ingest.is_some() {
                return Err("[warning] needs both ecrf and ingest (a real deployment) or neither (the harness's own ECRF and alert server)".into());
            }
            if let Some(x) = &w.xmpp {
                if x.citizens.len() < 2 {
                    return Err("[warning.xmpp] citizens needs two accounts: [[user, password], [user, password]]".into());
                }
                if w.ingest.is_none() && x.publisher.is_none() {
                    return Err("[warning.xmpp] publisher is needed when the harness runs the alert server (no ingest)".into());
                }
            }
        }
        if let Some(c) = &self.cusax {
            if !c.peer.sip_uri.starts_with("sip:") {
                return Err(format!(
                    "[cusax.peer] sip_uri {:?} is not a sip: URI",
                    c.peer.sip_uri
                ));
            }
            if !c.peer.jid.contains('@') || c.peer.jid.contains('/') {
                return Err(format!(
                    "[cusax.peer] jid {:?} is not a bare JID",
                    c.peer.jid
                ));
            }
        }
        for url in self
            .lis
            .iter()
            .map(|l| l.url.as_str())
            .chain(self.ecrf.iter().filter_map(|e| e.url.as_deref()))
        {
            if !url.starts_with("http://") {
                return Err(format!(
                    "{url:?}: LIS/ECRF URLs must be http://IP:port/path"
                ));
            }
        }
        if let Some(civic) = self.ecrf.as_ref().and_then(|e| e.civic.as_ref()) {
            let elements = lmpe_location::pidf::CivicAddress::ELEMENTS;
            if let Some(k) = civic.keys().find(|k| !elements.contains(&k.as_str())) {
                return Err(format!(
                    "[ecrf] civic: {k:?} is not an RFC 5139 element name ({})",
                    elements.join(", ")
                ));
            }
            if !civic.contains_key("country") {
                return Err("[ecrf] civic needs a country".into());
            }
        }
        if let Some(a) = &self.app {
            if !(a.operator_timeout_s.is_finite() && a.operator_timeout_s > 0.0) {
                return Err("[app] operator_timeout_s must be a positive number of seconds".into());
            }
        }
        let transport = match self.bcf.as_ref().map(|b| b.transport.to_ascii_lowercase()) {
            None => TransportKind::Udp,
            Some(t) => match t.as_str() {
                "udp" => TransportKind::Udp,
                "tcp" => TransportKind::Tcp,
                "tls" if self.tls.is_none() => {
                    return Err(
                        "transport tls needs a [tls] section with cert, key and ca (PEM files)"
                            .into(),
                    )
                }
                "tls" => TransportKind::Tls,
                other => return Err(format!("unknown transport {other:?} (udp, tcp or tls)")),
            },
        };
        Ok(Target {
            name: self.name.clone(),
            bcf: self.bcf.as_ref().map(|b| b.address),
            transport,
            harness_psap: self.harness_psap.clone(),
            app: self.app.clone(),
            psap: self.psap.clone(),
            tls: self.tls.clone(),
            lis: self.lis.clone(),
            ecrf: self.ecrf.clone(),
            warning: self.warning.clone(),
            cusax: self.cusax.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_example_and_rejects_mistakes() {
        let t: TargetFile = toml::from_str(
            "name = \"x\"\n[bcf]\naddress = \"127.0.0.1:5060\"\ntransport = \"tcp\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let r = t.target().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.transport, TransportKind::Tcp);
        assert!(toml::from_str::<TargetFile>("name = \"x\"\n[bcf]\naddress = \"nope\"\n").is_err());
        assert!(toml::from_str::<TargetFile>(
            "name = \"x\"\nbogus = 1\n[bcf]\naddress = \"127.0.0.1:1\"\n"
        )
        .is_err());
        let tls: TargetFile =
            toml::from_str("name = \"x\"\n[bcf]\naddress = \"127.0.0.1:1\"\ntransport = \"tls\"\n")
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(tls.target().is_err_and(|e| e.contains("[tls]")));
        let tls: TargetFile = toml::from_str(
            "name = \"x\"\n[bcf]\naddress = \"127.0.0.1:1\"\ntransport = \"tls\"\n[tls]\ncert = \"a.pem\"\nkey = \"k.pem\"\nca = \"ca.pem\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            tls.target().map(|t| t.transport).ok(),
            Some(TransportKind::Tls)
        );
        let none: TargetFile = toml::from_str("name = \"x\"\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(none.target().is_err_and(|e| e.contains("no real element")));
        let app: TargetFile =
            toml::from_str("name = \"x\"\n[app]\nharness_listen = \"127.0.0.1:5070\"\n")
                .unwrap_or_else(|e| panic!("{e}"));
        let r = app.target().unwrap_or_else(|e| panic!("{e}"));
        assert!(r.bcf.is_none());
        assert_eq!(r.app.map(|a| a.operator_timeout_s), Some(60.0));
        let loc: TargetFile = toml::from_str(
            "name = \"x\"\n[lis]\nurl = \"http://127.0.0.1:8080/held\"\n[ecrf]\nurl = \"http://127.0.0.1:8080/lost\"\npoint = [48.2, 16.2]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let r = loc.target().unwrap_or_else(|e| panic!("{e}"));
        assert!(r.bcf.is_none() && r.lis.is_some());
        let civic: TargetFile = toml::from_str(
            "name = \"x\"\n[ecrf]\nurl = \"http://127.0.0.1:8080/lost\"\ncivic = { country = \"AT\", A1 = \"Wien\" }\nwrong_a3 = \"Nowhere\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(civic.target().is_ok_and(|t| t
            .ecrf
            .and_then(|e| e.civic)
            .is_some_and(|c| c.get("A1").map(String::as_str) == Some("Wien"))));
        let civic_bad: TargetFile = toml::from_str(
            "name = \"x\"\n[ecrf]\nurl = \"http://127.0.0.1:8080/lost\"\ncivic = { country = \"AT\", city = \"Wien\" }\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(civic_bad.target().is_err_and(|e| e.contains("\"city\"")));
        let bad: TargetFile = toml::from_str("name = \"x\"\n[lis]\nurl = \"ftp://x\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(bad.target().is_err_and(|e| e.contains("http://")));
    }
}
