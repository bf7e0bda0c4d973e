//! Prosody 0.12 as the XMPP server of a warning deployment: the whole warning feature
//! (`TP_WARN_*`) against a target file whose `[warning.xmpp]` names a Prosody started here
//! (harness/xmpp/prosody/prosody.cfg.lua.in, run unprivileged on loopback). The harness's ECRF
//! and reference alert server publish on Prosody's pubsub component and the citizens log in
//! to it. Every scenario must pass; with the alert server's XMPP side broken, the XMPP check
//! must fail.
//!
//! Needs `prosody`: skipped with the reason when missing, unless `CI` is set (then it fails).

use lmpe_xmpp::{Prosody, ProsodyOptions, XmppError};

use crate::support::{run_conformance, verdict, Scratch};

const IDS: [&str; 8] = [
    "TP_WARN_DISC_LIST_BV_01",
    "TP_WARN_DISC_FIND_BV_01",
    "TP_WARN_DISC_FIND_BV_02",
    "TP_WARN_SIP_BV_01",
    "TP_WARN_XMPP_BV_01",
    "TP_WARN_HTTP_BV_01",
    "TP_WARN_AREA_BV_01",
    "TP_WARN_SIP_BI_01",
];

#[test]
fn the_warning_feature_passes_with_prosody_as_the_xmpp_server() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let prosody = match rt.block_on(Prosody::start(
        ProsodyOptions::new(
            "lmpe.test",
            &[
                ("alerts", "alerts-pw"),
                ("citizen-a", "a-pw"),
                ("citizen-b", "b-pw"),
            ],
        )
        .publisher("alerts"),
    )) {
        Ok(p) => p,
        Err(e @ XmppError::ProsodyNotInstalled { .. }) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: {e}");
            return;
        }
        Err(e) => panic!("Prosody did not start: {e}"),
    };
    let dir = Scratch::new("prosody-warning");
    let target = dir.write(
        "prosody.toml",
        format!(
            "name = \"Prosody 0.12 as the XMPP server of the warning deployment\"\n\
             [warning.xmpp]\nserver = \"{}\"\ndomain = \"lmpe.test\"\npubsub = \"{}\"\n\
             citizens = [[\"citizen-a\", \"a-pw\"], [\"citizen-b\", \"b-pw\"]]\n\
             publisher = [\"alerts\", \"alerts-pw\"]\n",
            prosody.addr(),
            prosody.pubsub_jid()
        ),
    );
    let args = |fault: Option<&str>| {
        let mut a = vec![
            "conformance".to_string(),
            "--filter".into(),
            "TP_WARN".into(),
            "--target".into(),
            target.display().to_string(),
        ];
        if let Some(f) = fault {
            a.extend(["--inject-fault".into(), f.into()]);
        }
        a
    };
    let (code, results) = run_conformance(&args(None), &dir.join("ok"));
    for id in IDS {
        let (v, reason) = verdict(&results, id);
        assert_eq!(
            v,
            "pass",
            "{id} against Prosody: {reason}\nProsody log:\n{}",
            prosody.log_tail(30)
        );
    }
    assert_eq!(code, 0);
    let (code, results) = run_conformance(&args(Some("alert-drops-xmpp")), &dir.join("broken"));
    let (v, reason) = verdict(&results, "TP_WARN_XMPP_BV_01");
    assert_eq!(v, "fail", "{reason}");
    assert!(reason.contains("nothing arrived"), "{reason}");
    assert_eq!(code, 1);
}

/// The value after `key ` in the sut's `warning …` lines.
fn printed<'a>(lines: &'a [String], key: &str) -> &'a str {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(&format!("warning {key} ")))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or_else(|| panic!("the sut printed no `warning {key}`: {lines:?}"))
}

/// A warning deployment in another process (`lmpe-harness sut --warning`) tested as a real
/// one: `[warning] ecrf` and `ingest` name it, nothing of the harness's own runs in the test
/// run. A deployment that sends alerts to the wrong area fails the area check.
#[test]
fn a_separate_process_warning_deployment_passes_and_a_broken_one_fails() {
    for (fault, expect_fail) in [
        (None, None),
        (Some("alert-wrong-area"), Some("TP_WARN_AREA_BV_01")),
    ] {
        let mut args = vec!["--warning"];
        if let Some(f) = fault {
            args.extend(["--fault", f]);
        }
        let sut = crate::support::start_sut_with(&args);
        let (ecrf, ingest, xmpp) = (
            printed(&sut.preamble, "ecrf"),
            printed(&sut.preamble, "ingest"),
            printed(&sut.preamble, "xmpp"),
        );
        let dir = Scratch::new(&format!("warning-sut-{}", fault.unwrap_or("ok")));
        let target = dir.write(
            "warning.toml",
            format!(
                "name = \"lmpe-harness sut --warning\"\n[warning]\necrf = \"{ecrf}\"\ningest = \"{ingest}\"\nmet_mappings = 2\n\
                 [warning.xmpp]\nserver = \"{xmpp}\"\ndomain = \"lmpe.test\"\ncitizens = [[\"citizen-a\", \"x\"], [\"citizen-b\", \"y\"]]\n"
            ),
        );
        let args: Vec<String> = ["conformance", "--filter", "TP_WARN", "--target"]
            .iter()
            .map(|s| s.to_string())
            .chain([target.display().to_string()])
            .collect();
        let (code, results) = run_conformance(&args, &dir.join("r"));
        for id in IDS {
            let (v, reason) = verdict(&results, id);
            match expect_fail {
                None => assert_eq!(v, "pass", "{id}: {reason}"),
                // Every delivery scenario also checks the other area; the area scenario must
                // fail with the reason.
                Some(f) if f == id => {
                    assert_eq!(v, "fail", "{id}: {reason}");
                    assert!(reason.contains("gets none for the other area"), "{reason}");
                }
                Some(_) => {}
            }
        }
        assert_eq!(code, i32::from(expect_fail.is_some()));
    }
}
