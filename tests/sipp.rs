//! SIPp (an independent SIP implementation) plays the APP against `lmpe-harness sut`: one chat,
//! twenty chats, and a PSAP that leaves out Reply-To, which SIPp must fail.
//!
//! The scenario is `tests/sipp/lmpe_app_uac.xml` with its out-of-call half
//! `tests/sipp/lmpe_app_psap_requests.xml` (the PSAP's requests carry the PSAP's own SIP Call-ID,
//! and SIPp maps requests to calls by Call-ID only). Needs `sipp` on PATH
//! (`apt-get install sip-tester`): without it the tests are skipped, unless `CI` is set, where
//! they fail.

use std::fs::File;

use crate::support::{free_port, start_sut, Sut};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const SCENARIOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sipp");
/// Every UDP message of the scenario stays below this (RFC 3261 18.1.1: larger ones need TCP).
const UDP_LIMIT: usize = 1300;
/// SIPp stops itself after `-timeout 20s`; this is only a backstop against a hung process.
const SIPP_DEADLINE: Duration = Duration::from_secs(60);

/// Whether `sipp` can run here; panics under CI when it cannot, so CI never skips silently.
pub(crate) fn sipp_present(test: &str) -> bool {
    let found = Command::new("sipp")
        .arg("-v")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: sipp is not on PATH but CI is set; install it (apt-get install sip-tester, \
             as .ci/run does)"
        );
        eprintln!("{test}: skipped: sipp not installed (apt-get install sip-tester)");
    }
    found
}

/// What one SIPp run left behind.
struct SippRun {
    status: ExitStatus,
    /// SIPp's stdout and stderr (statistics screens).
    screen: String,
    /// The `-trace_err` log.
    errors: String,
    /// The `-trace_msg` log, when asked for.
    messages: String,
}

impl SippRun {
    fn report(&self) -> String {
        let screen: Vec<&str> = self.screen.lines().collect();
        let tail = screen[screen.len().saturating_sub(80)..].join("\n");
        format!(
            "sipp exited with {}\n--- SIPp error log ---\n{}\n--- SIPp screen (tail) ---\n{tail}",
            self.status, self.errors
        )
    }
}

/// Runs the APP scenario against the sut; `calls` are SIPp's call-count/rate options. A run that
/// could not bind its ports (exit code 254, a port taken meanwhile) is retried on other ports.
fn run_sipp(sut: &Sut, calls: &[&str], trace_msg: bool) -> SippRun {
    let mut run = run_sipp_once(sut, calls, trace_msg);
    for _ in 0..2 {
        if run.status.code() != Some(254) {
            break;
        }
        run = run_sipp_once(sut, calls, trace_msg);
    }
    run
}

fn run_sipp_once(sut: &Sut, calls: &[&str], trace_msg: bool) -> SippRun {
    let dir = std::env::temp_dir().join(format!("lmpe-sipp-{}-{}", std::process::id(), sut.port));
    std::fs::create_dir_all(&dir).expect("sipp work dir");
    let error_file = dir.join("errors.log");
    let message_file = dir.join("messages.log");
    let screen_file = dir.join("screen.log");
    let screen = File::create(&screen_file).expect("screen file");
    let scenario = |name: &str| Path::new(SCENARIOS).join(name);

    let mut cmd = Command::new("sipp");
    cmd.current_dir(&dir)
        .arg("-sf")
        .arg(scenario("lmpe_app_uac.xml"))
        .arg("-oocsf")
        .arg(scenario("lmpe_app_psap_requests.xml"))
        .args(calls)
        .args(["-i", "127.0.0.1", "-p", &free_port().to_string()])
        .args(["-cp", &free_port().to_string()])
        .arg("-trace_err")
        .arg("-error_file")
        .arg(&error_file)
        .args([
            "-timeout",
            "20s",
            "-timeout_error",
            "-max_recv_loops",
            "1000",
        ])
        // A chat is no INVITE dialog: an aborted call must not send BYE.
        .args(["-default_behaviors", "all,-bye"])
        .arg("-nostdin");
    if trace_msg {
        cmd.arg("-trace_msg")
            .arg("-message_file")
            .arg(&message_file);
    }
    let mut child = cmd
        .arg(format!("127.0.0.1:{}", sut.port))
        .stdin(Stdio::null())
        .stdout(screen.try_clone().expect("screen file"))
        .stderr(screen)
        .spawn()
        .expect("spawn sipp");

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for sipp") {
            break status;
        }
        if started.elapsed() > SIPP_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sipp still running after {SIPP_DEADLINE:?}");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let read = |p: &PathBuf| std::fs::read_to_string(p).unwrap_or_default();
    let run = SippRun {
        status,
        screen: read(&screen_file),
        errors: read(&error_file),
        messages: read(&message_file),
    };
    let _ = std::fs::remove_dir_all(&dir);
    run
}

/// Sizes of the UDP messages SIPp sent, from its `-trace_msg` log ("UDP message sent (N bytes):").
fn sent_udp_sizes(messages: &str) -> Vec<usize> {
    messages
        .lines()
        .filter_map(|l| l.strip_prefix("UDP message sent ("))
        .filter_map(|l| l.split(' ').next()?.parse().ok())
        .collect()
}

#[test]
fn sipp_app_carries_one_chat_through_the_sut() {
    if !sipp_present("sipp_app_carries_one_chat_through_the_sut") {
        return;
    }
    let sut = start_sut(None);
    let run = run_sipp(&sut, &["-m", "1"], true);
    assert!(run.status.success(), "{}", run.report());
    // start/257, 200 to the PSAP's start, in-chat/259, 200 to its in-chat, heartbeat, stop.
    let sizes = sent_udp_sizes(&run.messages);
    assert_eq!(sizes.len(), 6, "sent {sizes:?}\n{}", run.report());
    assert!(
        sizes.iter().all(|&n| n < UDP_LIMIT),
        "a UDP message of {sizes:?} bytes is not below {UDP_LIMIT}"
    );
}

#[test]
fn sipp_app_carries_twenty_chats_through_the_sut() {
    if !sipp_present("sipp_app_carries_twenty_chats_through_the_sut") {
        return;
    }
    let sut = start_sut(None);
    let run = run_sipp(&sut, &["-m", "20", "-r", "10"], false);
    assert!(run.status.success(), "{}", run.report());
}

#[test]
fn sipp_app_fails_against_a_psap_without_reply_to() {
    if !sipp_present("sipp_app_fails_against_a_psap_without_reply_to") {
        return;
    }
    let sut = start_sut(Some("omit-reply-to"));
    let run = run_sipp(&sut, &["-m", "1"], false);
    // 1: at least one call failed (not a start-up error, which SIPp reports as 255 or 254).
    assert_eq!(run.status.code(), Some(1), "{}", run.report());
    assert!(
        run.errors.contains("Reply-To"),
        "failed, but not on the missing Reply-To:\n{}",
        run.report()
    );
}
