//! Shared test support: `lmpe-harness sut` as a child process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;

/// `lmpe-harness sut` as a child process, killed on drop.
pub(crate) struct Sut {
    child: Child,
    /// The BCF's public port (UDP and TCP) on 127.0.0.1.
    pub(crate) port: u16,
    /// What the sut printed before its ESInet line (e.g. the `--warning` deployment's URLs).
    pub(crate) preamble: Vec<String>,
}

impl Sut {
    /// The BCF's public address.
    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for Sut {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the sut; retries on another port when the chosen one was taken meanwhile.
/// Starts the sut with extra arguments.
pub(crate) fn start_sut_with(args: &[&str]) -> Sut {
    start_sut_args(None, args)
}

/// Starts the sut, optionally with a deliberate fault.
pub(crate) fn start_sut(fault: Option<&str>) -> Sut {
    start_sut_args(fault, &[])
}

fn start_sut_args(fault: Option<&str>, args: &[&str]) -> Sut {
    let mut first = String::new();
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lmpe-harness"));
        cmd.args(["sut", "--listen", &format!("127.0.0.1:{port}")]);
        if let Some(f) = fault {
            cmd.args(["--fault", f]);
        }
        cmd.args(args);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn lmpe-harness sut");
        let stdout = child.stdout.take().expect("sut stdout");
        let mut sut = Sut {
            child,
            port,
            preamble: Vec::new(),
        };
        let mut lines = BufReader::new(stdout).lines();
        first = lines.next().and_then(Result::ok).unwrap_or_default();
        while first.starts_with("warning ") {
            sut.preamble.push(std::mem::take(&mut first));
            first = lines.next().and_then(Result::ok).unwrap_or_default();
        }
        if first.starts_with("reference ESInet listening on") {
            // Keep draining stdout so that the sut never writes into a closed or full pipe.
            thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
            return sut;
        }
    }
    panic!("the sut did not start; last first line: {first:?}");
}

/// Runs `lmpe-harness ARGS --report-dir DIR` from the repository root; returns the exit code and
/// the parsed results.json.
pub(crate) fn run_conformance(
    args: &[String],
    report_dir: &std::path::Path,
) -> (i32, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_lmpe-harness"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .arg("--report-dir")
        .arg(report_dir)
        .output()
        .expect("run lmpe-harness");
    let results = std::fs::read_to_string(report_dir.join("results.json")).unwrap_or_else(|e| {
        panic!(
            "no results.json ({e}); stdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&results).expect("valid JSON"),
    )
}

/// The verdict and reason of scenario `id` in a results.json.
pub(crate) fn verdict<'a>(results: &'a serde_json::Value, id: &str) -> (&'a str, &'a str) {
    let s = results["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("scenario {id} missing"));
    (
        s["verdict"].as_str().unwrap_or(""),
        s["reason"].as_str().unwrap_or(""),
    )
}

/// A port free for TCP and UDP on 127.0.0.1 (for listeners a test hands to the binary; the sut
/// binds both), outside the ephemeral range so that no outgoing connection of a parallel test
/// takes it before the child binds it.
pub(crate) fn free_port() -> u16 {
    lmpe_net::unused_port([127, 0, 0, 1].into()).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `lmpe-harness ARGS` from the repository root; returns the exit code, stdout and stderr.
pub(crate) fn run_harness(args: &[String]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lmpe-harness"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("run lmpe-harness");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A scratch directory for one test under the system temp dir, named `lmpe-it-<name>-<random>`.
///
/// Removed when the test passes; kept, with its path on stderr, when the test panics, so the
/// reports and logs of a failure can be read. (A CI run writes ~1.4 GB of reports; left behind
/// they filled the runner's disk.)
pub(crate) struct Scratch(tempfile::TempDir);

impl Scratch {
    /// A fresh, empty directory.
    pub(crate) fn new(name: &str) -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix(&format!("lmpe-it-{name}-"))
            .tempdir()
            .unwrap_or_else(|e| panic!("scratch directory for {name}: {e}"));
        Scratch(dir)
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `text` to `file` in the directory (a profile, a target or expectations file);
    /// returns its path.
    pub(crate) fn write(&self, file: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(file);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.path().as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if thread::panicking() {
            self.0.disable_cleanup(true);
            eprintln!(
                "test failed; its files are kept in {}",
                self.path().display()
            );
        }
    }
}
