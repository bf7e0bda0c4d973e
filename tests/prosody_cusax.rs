//! A real CUSAX deployment: Prosody 0.12 as the XMPP server, Kamailio 5.6 as the SIP proxy
//! and registrar (tests/kamailio/cusax.cfg, unprivileged on loopback) and the harness's peer
//! endpoint (lmpe-cusax, with its scripted user) as the integrated endpoint under test, run
//! in this test process and registered at Kamailio as `sip:peer@cusax.test`. The harness
//! binary runs every `TP_CUSAX_*` scenario against it through a target file's `[cusax]`: all
//! must pass; with the peer accepting forged contacts the forged-contact scenario must fail.
//!
//! Needs `prosody` and `kamailio` (with its registrar and usrloc modules): skipped with the
//! reason when one is missing, unless `CI` is set (then it fails).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use lmpe_cusax::{EndpointConfig, Faults, IntegratedEndpoint};
use lmpe_xmpp::{Prosody, ProsodyOptions, XmppError};

use crate::support::{run_conformance, verdict, Scratch};

// Kamailio's launcher (harness/locsvc/tests/common/kamailio.rs), shared with that test.
use crate::kamailio_conformance::launch;

const IDS: [&str; 9] = [
    "TP_CUSAX_REQ1_BV_01",
    "TP_CUSAX_REQ1_BV_02",
    "TP_CUSAX_REQ2_BV_01",
    "TP_CUSAX_REQ3_BV_01",
    "TP_CUSAX_REQ4_BV_01",
    "TP_CUSAX_STALE_BI_01",
    "TP_CUSAX_UNKNOWN_BI_01",
    "TP_CUSAX_UNKNOWN_BI_02",
    "TP_CUSAX_FORGED_BI_01",
];

const DOMAIN: &str = "cusax.test";

/// The module directory holding what tests/kamailio/cusax.cfg loads, or why not.
fn kamailio_modules() -> Result<&'static str, String> {
    let runs = std::process::Command::new(launch::kamailio_bin())
        .arg("-v")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !runs {
        return Err("kamailio is neither on PATH nor in /usr/sbin".into());
    }
    [
        "/usr/lib/x86_64-linux-gnu/kamailio/modules",
        "/usr/lib/kamailio/modules",
        "/usr/local/lib64/kamailio/modules",
    ]
    .into_iter()
    .find(|d| {
        ["registrar.so", "usrloc.so", "tm.so"]
            .iter()
            .all(|m| Path::new(d).join(m).exists())
    })
    .ok_or_else(|| "Kamailio's registrar/usrloc/tm modules are not installed".into())
}

/// Kamailio with tests/kamailio/cusax.cfg on a free UDP port; killed on drop.
fn start_kamailio(modules: &str) -> launch::Kamailio {
    let mut last = String::new();
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio/cusax.cfg");
    for attempt in 0..3 {
        let port = launch::free_port();
        match launch::Kamailio::launch(
            &format!("cusax-{port}-{attempt}"),
            &config,
            port,
            modules,
            false,
            &[format!("CUSAX_DOMAIN=\"{DOMAIN}\"")],
        ) {
            Ok(k) => return k,
            Err(log) => last = log,
        }
    }
    panic!("Kamailio did not start; its log:\n{last}");
}

/// The harness's peer endpoint as the endpoint under test, registered at Kamailio.
async fn peer(
    prosody: SocketAddr,
    proxy: SocketAddr,
    faults: Faults,
) -> Result<IntegratedEndpoint, String> {
    IntegratedEndpoint::start(EndpointConfig {
        name: "peer".into(),
        sip_uri: Some(format!("sip:peer@{DOMAIN}")),
        sip_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        sip_proxy: Some(proxy),
        register: true,
        jid: format!("peer@{DOMAIN}"),
        xmpp: Some((prosody, "peer-pw".into())),
        scripted: true,
        faults,
        timeout: Duration::from_secs(10),
    })
    .await
}

#[test]
fn the_cusax_feature_passes_against_prosody_and_kamailio() {
    let in_ci = std::env::var_os("CI").is_some();
    let modules = match kamailio_modules() {
        Ok(m) => m,
        Err(why) => {
            assert!(!in_ci, "{why} but CI is set; install kamailio");
            eprintln!("SKIPPED: {why}");
            return;
        }
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let prosody = match rt.block_on(Prosody::start(ProsodyOptions::new(
        DOMAIN,
        &[("tester", "tester-pw"), ("peer", "peer-pw")],
    ))) {
        Ok(p) => p,
        Err(e @ XmppError::ProsodyNotInstalled { .. }) if !in_ci => {
            eprintln!("SKIPPED: {e}");
            return;
        }
        Err(e) => panic!("Prosody did not start: {e}"),
    };
    let kamailio = start_kamailio(modules);
    let dir = Scratch::new("prosody-cusax");
    let target = dir.write(
        "cusax.toml",
        format!(
            "name = \"Prosody 0.12 and Kamailio 5.6 with the harness's peer endpoint\"\n\
             [cusax]\nsip_proxy = \"{}\"\nsip_domain = \"{DOMAIN}\"\n\
             [cusax.xmpp]\nserver = \"{}\"\ndomain = \"{DOMAIN}\"\ntester = [\"tester\", \"tester-pw\"]\n\
             [cusax.peer]\nsip_uri = \"sip:peer@{DOMAIN}\"\njid = \"peer@{DOMAIN}\"\n",
            kamailio.addr,
            prosody.addr()
        ),
    );
    let args = |filter: &str| {
        vec![
            "conformance".to_string(),
            "--filter".into(),
            filter.into(),
            "--target".into(),
            target.display().to_string(),
        ]
    };
    let logs = |k: &launch::Kamailio| {
        format!(
            "Kamailio log:\n{}\nProsody log:\n{}",
            k.log_tail(),
            prosody.log_tail(30)
        )
    };

    let iut = rt
        .block_on(peer(prosody.addr(), kamailio.addr, Faults::default()))
        .unwrap_or_else(|e| panic!("the peer endpoint did not start: {e}\n{}", logs(&kamailio)));
    let (code, results) = run_conformance(&args("TP_CUSAX"), &dir.join("ok"));
    for id in IDS {
        let (v, reason) = verdict(&results, id);
        assert_eq!(
            v,
            "pass",
            "{id} against Prosody and Kamailio: {reason}\n{}",
            logs(&kamailio)
        );
    }
    assert_eq!(code, 0);
    rt.block_on(iut.close());

    let mut broken = Faults::default();
    assert!(broken.set("cusax-accepts-forged-contact"));
    let iut = rt
        .block_on(peer(prosody.addr(), kamailio.addr, broken))
        .unwrap_or_else(|e| panic!("the broken peer did not start: {e}\n{}", logs(&kamailio)));
    let (code, results) = run_conformance(&args("TP_CUSAX_FORGED"), &dir.join("broken"));
    let (v, reason) = verdict(&results, "TP_CUSAX_FORGED_BI_01");
    assert_eq!(v, "fail", "{reason}");
    assert!(
        reason.contains("is not called; the endpoint under test sent an INVITE to it"),
        "{reason}"
    );
    assert_eq!(code, 1);
    rt.block_on(iut.close());
}
