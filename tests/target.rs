//! `conformance --target FILE` against `lmpe-harness sut` running as a separate process: the
//! applicable scenarios pass, the others are skipped with a reason; a broken SUT fails them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{free_port, run_conformance, start_sut, start_sut_with, verdict, Scratch};

/// A target file in a scratch directory that lives as long as the pair.
fn write_target(name: &str, body: &str) -> (Scratch, PathBuf) {
    let scratch = Scratch::new(&format!("target-{name}"));
    let p = scratch.write("target.toml", body);
    (scratch, p)
}

fn run(target: &Path, dir: &str) -> (i32, serde_json::Value) {
    let report = Scratch::new(&format!("target-{dir}"));
    let args = [
        "conformance".to_string(),
        "--target".to_string(),
        target.display().to_string(),
    ];
    run_conformance(&args, &report)
}

#[test]
fn a_separate_process_esinet_passes_and_unavailable_scenarios_are_skipped() {
    let sut = start_sut(None);
    let (_scratch, target) = write_target(
        "clean",
        &format!(
            "name = \"sut process\"\n[bcf]\naddress = \"{}\"\ntransport = \"udp\"\n",
            sut.addr()
        ),
    );
    let (code, r) = run(&target, "clean");
    assert_eq!(code, 0, "{}", r["summary"]);
    assert!(r["target"].as_str().unwrap_or("").contains("sut process"));
    let (v, reason) = verdict(&r, "TP_PSAP_IM2_START_BV_01");
    assert_eq!(v, "pass", "{reason}");
    let (v, reason) = verdict(&r, "TP_PSAP_IM2_REDIRECT_BV_01");
    assert_eq!(v, "skipped");
    assert!(reason.contains("automatic call taker"), "{reason}");
    let (v, reason) = verdict(&r, "TP_ESRP_SIP2_HISTINFO_BV_01");
    assert_eq!(v, "skipped");
    assert!(reason.contains("[harness_psap]"), "{reason}");
    assert!(
        r["summary"]["pass"].as_u64().unwrap_or(0) >= 15,
        "{}",
        r["summary"]
    );
}

#[test]
fn a_separate_process_esinet_with_a_broken_psap_fails_with_the_clause() {
    let sut = start_sut(Some("omit-reply-to"));
    let (_scratch, target) = write_target(
        "broken",
        &format!(
            "name = \"broken sut\"\n[bcf]\naddress = \"{}\"\n",
            sut.addr()
        ),
    );
    let (code, r) = run(&target, "broken");
    assert_eq!(code, 1, "{}", r["summary"]);
    let (v, reason) = verdict(&r, "TP_PSAP_IM2_START_BV_01");
    assert_eq!(v, "fail");
    assert!(
        reason.contains("6.2.2") && reason.contains("Reply-To"),
        "{reason}"
    );
}

#[test]
fn routing_scenarios_run_when_the_sut_routes_to_a_harness_psap() {
    let psap = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let sut = start_sut_with(&["--route-to-psap", &psap.to_string()]);
    let (_scratch, target) = write_target(
        "routing",
        &format!(
            "name = \"sut routing\"\n[bcf]\naddress = \"{a}\"\n[harness_psap]\nlisten = \"{psap}\"\nreply_to = \"sip:psap@{a}\"\n",
            a = sut.addr()
        ),
    );
    let (_, r) = run(&target, "routing");
    for id in [
        "TP_ESRP_SIP2_HISTINFO_BV_01",
        "TP_ESRP_SIP2_CALLINFO_BV_01",
        "TP_ESRP_SIP2_BODY_BV_01",
        "TP_BCF_SIP2_RPRIO_BV_01",
    ] {
        let (v, reason) = verdict(&r, id);
        assert_eq!(v, "pass", "{id}: {reason}");
    }
}

#[test]
fn bad_target_files_are_clear_errors() {
    let (_scratch, target) =
        write_target("bad", "name = \"x\"\n[bcf]\naddress = \"not an address\"\n");
    let out = Command::new(env!("CARGO_BIN_EXE_lmpe-harness"))
        .args(["conformance", "--target"])
        .arg(&target)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("target file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_example_target_file_is_accepted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("targets");
    let report = Scratch::new("examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("targets/") {
        let path = entry.expect("entry").path();
        if !path.to_string_lossy().ends_with(".example.toml") {
            continue;
        }
        // A filter that matches nothing: the run stops after loading the target file.
        let out = Command::new(env!("CARGO_BIN_EXE_lmpe-harness"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["conformance", "--filter", "TP_NO_SUCH_SCENARIO", "--target"])
            .arg(&path)
            .arg("--report-dir")
            .arg(&report)
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no scenario ran") && !stderr.contains("target"),
            "{}: {stderr}",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 4, "{checked} example target files");
}
