//! `--target FILE`: which elements are real. Today: a real ESInet reached at its BCF's public
//! address (the harness plays the APP), optionally with a harness-played PSAP the SUT routes to.

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
    /// The ESInet's public SIP entry point.
    pub(crate) bcf: Endpoint,
    /// A PSAP the harness plays, to which the SUT's ESRP routes emergency chats (enables the
    /// BCF/ESRP scenarios).
    pub(crate) harness_psap: Option<HarnessPsap>,
    /// Identifier profile (`lenient`, `deployed`, `strict-text`).
    #[serde(default)]
    pub(crate) profile: Option<String>,
    /// Seconds to wait for each answer.
    #[serde(default)]
    pub(crate) response_timeout_s: Option<f64>,
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

/// A target resolved for a run.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// Report name.
    pub(crate) name: String,
    /// BCF address.
    pub(crate) bcf: SocketAddr,
    /// Transport towards the BCF.
    pub(crate) transport: TransportKind,
    /// Harness PSAP, if the SUT routes to one.
    pub(crate) harness_psap: Option<HarnessPsap>,
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
        let transport = match self.bcf.transport.to_ascii_lowercase().as_str() {
            "udp" => TransportKind::Udp,
            "tcp" => TransportKind::Tcp,
            "tls" => {
                return Err(
                    "transport tls: SIP-1 over TLS is not supported yet; use udp or tcp".into(),
                )
            }
            other => return Err(format!("unknown transport {other:?} (udp or tcp)")),
        };
        Ok(Target {
            name: self.name.clone(),
            bcf: self.bcf.address,
            transport,
            harness_psap: self.harness_psap.clone(),
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
        assert!(tls.target().is_err_and(|e| e.contains("TLS")));
    }
}
