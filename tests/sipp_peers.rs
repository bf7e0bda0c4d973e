//! SIPp (an independent SIP implementation, in a separate process) as the element under test:
//! a correct SIPp peer passes the matching conformance scenarios, deliberately broken ones fail
//! them citing the clause.
//!
//! * PSAP under test: `tests/sipp/psap_uas.xml` behind `lmpe-harness sut --route-to-psap`
//!   (the reference BCF/ESRP, its own process), driven by `conformance --target` (the harness
//!   plays the APP). Broken variants: `-key fault no-reply-to | wrong-call-id | first-msg-id-2 |
//!   frozen-msg-id`. Only the scenarios a real PSAP can serve run (`TP_PSAP_IM2…`; those tagged
//!   `@reference-psap` are skipped against a target).
//! * APP under test: `tests/sipp/app_uac.xml` (with its out-of-call half `app_ooc.xml`) sending
//!   to `conformance --target` with `[app] harness_listen` (the harness plays its BCF and PSAP).
//!   Broken variants: `-key fault no-location | wrong-type | bad-call-id`.
//!
//! Every verdict is read from the run's results.json. Needs `sipp` on PATH (`apt-get install
//! sip-tester`): without it the tests are skipped, unless `CI` is set, where they fail. Each
//! child process (sut, SIPp, conformance) is killed on drop; every wait is bounded.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::sipp::sipp_present;
use crate::support::{free_port, run_conformance, start_sut_with, verdict, Scratch, Sut};

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sipp");
/// SIPp ends itself after this (`-timeout`); the Drop guard kills it earlier.
const SIPP_TIMEOUT: &str = "30s";
/// Backstop for one conformance run against a SIPp APP.
const CONFORMANCE_DEADLINE: Duration = Duration::from_secs(40);
/// The `>>> ACTION` prompt of an APP scenario, i.e. the harness PSAP listens.
const PROMPT_DEADLINE: Duration = Duration::from_secs(20);

/// A child process, killed on drop; its screen output goes to `log`.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh scratch directory for one run.
fn work_dir(name: &str) -> Scratch {
    Scratch::new(&format!("sipp-peers-{name}"))
}

/// Starts SIPp in `dir` with `args`; its screen goes to `dir/sipp.log`, errors to `dir/errors.log`.
fn spawn_sipp(dir: &Path, args: &[String]) -> Proc {
    let log = dir.join("sipp.log");
    let screen = File::create(&log).expect("sipp log");
    let child = Command::new("sipp")
        .current_dir(dir)
        .args(args)
        .args(["-trace_err", "-error_file"])
        .arg(dir.join("errors.log"))
        .args(["-nostdin", "-timeout", SIPP_TIMEOUT])
        .stdin(Stdio::null())
        .stdout(screen.try_clone().expect("sipp log"))
        .stderr(screen)
        .spawn()
        .expect("spawn sipp");
    Proc { child, log }
}

fn scenario(name: &str) -> String {
    Path::new(SCENARIOS).join(name).display().to_string()
}

// ---------------------------------------------------------------------------------------------
// SIPp as the PSAP under test, behind the reference BCF/ESRP (`sut --route-to-psap`).
// ---------------------------------------------------------------------------------------------

/// The sut routing emergency chats to a SIPp PSAP (`psap_uas.xml` with `fault`).
struct SippPsap {
    // Field order: SIPp goes first, then the sut.
    sipp: Proc,
    sut: Sut,
    dir: Scratch,
}

fn start_sipp_psap(name: &str, fault: &str) -> SippPsap {
    let dir = work_dir(name);
    let psap = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let sut = start_sut_with(&["--route-to-psap", &psap.to_string()]);
    let args: Vec<String> = [
        "-sf",
        &scenario("psap_uas.xml"),
        // The ESRP forwards the APP's messages (with PIDF-LO, > 1300 bytes) over TCP.
        "-t",
        "tn",
        "-max_socket",
        "100",
        // Each APP message is a SIPp call of its own (see psap_uas.xml).
        "-deadcall_wait",
        "0",
        "-default_behaviors",
        "all,-bye",
        "-i",
        "127.0.0.1",
        "-p",
        &psap.port().to_string(),
        "-key",
        "bcf",
        &sut.addr().to_string(),
        "-key",
        "fault",
        fault,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut sipp = spawn_sipp(&dir, &args);
    // Bounded wait until SIPp accepts TCP on its port.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if TcpStream::connect_timeout(&psap, Duration::from_millis(200)).is_ok() {
            break;
        }
        if let Ok(Some(status)) = sipp.child.try_wait() {
            panic!(
                "SIPp PSAP exited with {status} before listening on {psap}:\n{}",
                sipp.log_tail()
            );
        }
        assert!(
            Instant::now() < deadline,
            "SIPp PSAP not listening on {psap} after 10 s:\n{}",
            sipp.log_tail()
        );
        thread::sleep(Duration::from_millis(50));
    }
    SippPsap { sipp, sut, dir }
}

impl SippPsap {
    /// `conformance --target` (the sut's BCF) with `--filter filter`: exit code, results.json.
    fn conformance(&self, filter: &str) -> (i32, serde_json::Value) {
        let target = self.dir.write(
            "target.toml",
            format!(
                "name = \"sut with a SIPp PSAP\"\nresponse_timeout_s = 2.0\n[bcf]\naddress = \"{}\"\ntransport = \"udp\"\n",
                self.sut.addr()
            ),
        );
        let args = [
            "conformance".to_string(),
            "--target".to_string(),
            target.display().to_string(),
            "--filter".to_string(),
            filter.to_string(),
        ];
        run_conformance(&args, &self.dir.join("report"))
    }

    fn diagnostics(&self) -> String {
        let errors = std::fs::read_to_string(self.dir.join("errors.log")).unwrap_or_default();
        format!(
            "--- SIPp PSAP errors ---\n{errors}\n--- SIPp PSAP screen ---\n{}",
            self.sipp.log_tail()
        )
    }
}

/// Asserts the verdict of `id` and that its reason contains every text of `cites`.
fn expect(r: &serde_json::Value, id: &str, want: &str, cites: &[&str], diag: &dyn Fn() -> String) {
    let (v, reason) = verdict(r, id);
    assert_eq!(v, want, "{id}: {reason}\n{}", diag());
    for c in cites {
        assert!(
            reason.contains(c),
            "{id}: {want}, but the reason does not cite {c:?}: {reason}"
        );
    }
}

#[test]
fn a_correct_sipp_psap_passes_the_psap_chat_scenarios() {
    if !sipp_present("a_correct_sipp_psap_passes_the_psap_chat_scenarios") {
        return;
    }
    let p = start_sipp_psap("psap-correct", "none");
    let (code, r) = p.conformance("TP_PSAP_IM2");
    let diag = || p.diagnostics();
    for id in [
        "TP_PSAP_IM2_START_BV_01",
        "TP_PSAP_IM2_START_BV_02",
        "TP_PSAP_IM2_START_BV_03",
        "TP_PSAP_IM2_START_BI_01",
        "TP_PSAP_IM2_START_BI_02",
        "TP_PSAP_IM2_START_BI_03",
        "TP_PSAP_IM2_INCHAT_BI_01",
        "TP_PSAP_IM2_STOP_BV_01",
        "TP_PSAP_IM2_STOP_BI_01",
        "TP_PSAP_IM2_STOP_BI_02",
        "TP_PSAP_IM2_HEARTBEAT_BV_01",
        "TP_PSAP_IM2_HEARTBEAT_BV_02",
        "TP_PSAP_IM2_HEARTBEAT_BI_01",
    ] {
        expect(&r, id, "pass", &[], &diag);
    }
    // What only the reference PSAP's call taker can do is skipped, with the reason.
    expect(
        &r,
        "TP_PSAP_IM2_INCHAT_BV_01",
        "skipped",
        &["automatic call taker"],
        &diag,
    );
    assert_eq!(code, 0, "{}\n{}", r["summary"], diag());
}

#[test]
fn a_sipp_psap_without_reply_to_fails_6_2_2() {
    if !sipp_present("a_sipp_psap_without_reply_to_fails_6_2_2") {
        return;
    }
    let p = start_sipp_psap("psap-no-reply-to", "no-reply-to");
    let (code, r) = p.conformance("TP_PSAP_IM2_START_BV_01");
    let diag = || p.diagnostics();
    expect(
        &r,
        "TP_PSAP_IM2_START_BV_01",
        "fail",
        &["TS 103 698 6.2.2", "Reply-To"],
        &diag,
    );
    assert_eq!(code, 1, "{}", r["summary"]);
}

#[test]
fn a_sipp_psap_answering_with_another_call_identifier_fails_6_2_2() {
    if !sipp_present("a_sipp_psap_answering_with_another_call_identifier_fails_6_2_2") {
        return;
    }
    let p = start_sipp_psap("psap-wrong-call-id", "wrong-call-id");
    let (code, r) = p.conformance("TP_PSAP_IM2_START_BV_01");
    let diag = || p.diagnostics();
    // The APP cannot tie the PSAP's start/257 to its chat (it answers 481): no start arrives.
    expect(
        &r,
        "TP_PSAP_IM2_START_BV_01",
        "fail",
        &["TS 103 698 6.2.2", "the PSAP sends start/257 to the APP"],
        &diag,
    );
    assert_eq!(code, 1, "{}", r["summary"]);
}

#[test]
fn sipp_psaps_with_wrong_message_identifiers_fail_6_1_2_7_and_6_2_3() {
    if !sipp_present("sipp_psaps_with_wrong_message_identifiers_fail_6_1_2_7_and_6_2_3") {
        return;
    }
    // start/257 with Message Identifier 2.
    let p = start_sipp_psap("psap-first-id-2", "first-msg-id-2");
    let (code, r) = p.conformance("TP_PSAP_IM2_ST");
    let diag = || p.diagnostics();
    for id in ["TP_PSAP_IM2_START_BV_01", "TP_PSAP_IM2_STOP_BV_01"] {
        expect(
            &r,
            id,
            "fail",
            &["TS 103 698 6.1.2.7", "starts at 1", "Message Identifier 2"],
            &diag,
        );
    }
    assert_eq!(code, 1, "{}", r["summary"]);
    drop(p);
    // An in-chat/259 right after start/257 repeats Message Identifier 1 (its 200 to the APP's
    // start comes 300 ms late, so the APP has the in-chat before the scenario goes on).
    let p = start_sipp_psap("psap-frozen-id", "frozen-msg-id");
    let (code, r) = p.conformance("TP_PSAP_IM2_START_BV_01");
    let diag = || p.diagnostics();
    expect(
        &r,
        "TP_PSAP_IM2_START_BV_01",
        "fail",
        &["TS 103 698 6.2.3", "increases by one", "carries 1 after 1"],
        &diag,
    );
    assert_eq!(code, 1, "{}", r["summary"]);
}

// ---------------------------------------------------------------------------------------------
// SIPp as the APP under test, sending to the harness ([app] harness_listen).
// ---------------------------------------------------------------------------------------------

/// Runs `conformance --target` with `[app]` for one test purpose (app-iut scenarios each bind
/// `harness_listen`, so one per run) and a SIPp APP with `fault`; returns results.json.
fn app_conformance(name: &str, id: &str, fault: &str) -> serde_json::Value {
    let dir = work_dir(name);
    let harness = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let target = dir.write(
        "target.toml",
        format!(
            "name = \"SIPp APP\"\nresponse_timeout_s = 2.0\n[app]\nharness_listen = \"{harness}\"\noperator_timeout_s = 3.0\n"
        ),
    );
    let report = dir.join("report");
    let child = Command::new(env!("CARGO_BIN_EXE_lmpe-harness"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("conformance")
        .arg("--target")
        .arg(&target)
        .args(["--filter", id])
        .arg("--report-dir")
        .arg(&report)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn lmpe-harness conformance");
    let mut conformance = Proc {
        child,
        log: dir.join("conformance.log"),
    };
    // Forward the run's stderr; the prompt means the harness PSAP listens.
    let stderr = conformance.child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel::<String>();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + PROMPT_DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let prompt = line.contains(">>> ACTION on the APP under test");
                seen.push(line);
                if prompt {
                    break;
                }
            }
            // The run ended without prompting: results.json tells why.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!(
                    "{id}: no ACTION prompt within {PROMPT_DEADLINE:?}; stderr:\n{}",
                    seen.join("\n")
                )
            }
        }
    }
    let args: Vec<String> = [
        "-sf",
        &scenario("app_uac.xml"),
        "-oocsf",
        &scenario("app_ooc.xml"),
        "-key",
        "fault",
        fault,
        "-m",
        "1",
        "-i",
        "127.0.0.1",
        "-p",
        &free_port().to_string(),
        "-default_behaviors",
        "all,-bye",
        "-deadcall_wait",
        "0",
        &harness.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let sipp = spawn_sipp(&dir, &args);
    let deadline = Instant::now() + CONFORMANCE_DEADLINE;
    let status = loop {
        if let Some(status) = conformance.child.try_wait().expect("wait for conformance") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "{id}: conformance still running after {CONFORMANCE_DEADLINE:?}\n--- SIPp APP ---\n{}",
            sipp.log_tail()
        );
        thread::sleep(Duration::from_millis(20));
    };
    drop(sipp);
    let text = std::fs::read_to_string(report.join("results.json")).unwrap_or_else(|e| {
        panic!(
            "{id}: no results.json ({e}); conformance exited with {status}; stderr:\n{}",
            seen.join("\n")
        )
    });
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn a_correct_sipp_app_passes_the_app_scenarios() {
    if !sipp_present("a_correct_sipp_app_passes_the_app_scenarios") {
        return;
    }
    for (n, id) in [
        "TP_APP_IM2_START_BV_01",
        "TP_APP_IM2_INCHAT_BV_01",
        "TP_APP_IM2_STOP_BV_01",
    ]
    .into_iter()
    .enumerate()
    {
        let r = app_conformance(&format!("app-correct-{n}"), id, "none");
        expect(&r, id, "pass", &[], &|| r["summary"].to_string());
    }
}

#[test]
fn broken_sipp_apps_fail_the_start_scenario_citing_6_2_2() {
    if !sipp_present("broken_sipp_apps_fail_the_start_scenario_citing_6_2_2") {
        return;
    }
    let id = "TP_APP_IM2_START_BV_01";
    for (fault, cites) in [
        // Accepted, but flagged: no Geolocation / PIDF-LO.
        (
            "no-location",
            &["TS 103 698 6.2.2", "location information"][..],
        ),
        // Refused by the harness PSAP: no chat opens.
        (
            "wrong-type",
            &[
                "TS 103 698 6.2.2",
                "start/257",
                "in-chat/259 for no known chat",
            ][..],
        ),
        (
            "bad-call-id",
            &["TS 103 698 6.2.2", "no valid Call Identifier", "6.1.2.7"][..],
        ),
    ] {
        let r = app_conformance(&format!("app-{fault}"), id, fault);
        expect(&r, id, "fail", cites, &|| format!("fault {fault}"));
    }
}
