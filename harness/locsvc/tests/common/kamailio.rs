//! Kamailio as a child process for tests (shared by harness/locsvc/tests/kamailio.rs and the
//! root package's tests/kamailio_conformance.rs, included by path): finds the binary and the
//! `lost` module (skips with the reason, or fails under `CI`), runs it unprivileged on
//! loopback in its own process group and kills the whole group on drop.

#![allow(dead_code)] // each including test uses a different subset

use std::net::{SocketAddr, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// tests/kamailio/kamailio.cfg, from the root package or from harness/locsvc.
pub(crate) fn config_path() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let here = root.join("tests/kamailio/kamailio.cfg");
    if here.exists() {
        here
    } else {
        root.join("../../tests/kamailio/kamailio.cfg")
    }
}
const MODULE_DIRS: [&str; 3] = [
    "/usr/lib/x86_64-linux-gnu/kamailio/modules",
    "/usr/lib/kamailio/modules",
    "/usr/local/lib64/kamailio/modules",
];

/// The Kamailio binary: on PATH, else Debian's /usr/sbin (not on a normal user's PATH).
pub(crate) fn kamailio_bin() -> &'static str {
    let on_path = Command::new("kamailio")
        .arg("-v")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !on_path && Path::new("/usr/sbin/kamailio").exists() {
        "/usr/sbin/kamailio"
    } else {
        "kamailio"
    }
}

/// Kamailio's module directory, when Kamailio with the lost module is installed.
pub(crate) fn kamailio_modules(test: &str) -> Option<&'static str> {
    let runs = Command::new(kamailio_bin())
        .arg("-v")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let dir = MODULE_DIRS
        .into_iter()
        .find(|d| Path::new(d).join("lost.so").exists());
    let missing = match (runs, dir) {
        (true, Some(d)) => return Some(d),
        (false, _) => "kamailio is neither on PATH nor in /usr/sbin",
        (true, None) => "Kamailio's lost module (lost.so) is not installed",
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {missing} but CI is set; install it (apt-get install kamailio \
         kamailio-utils-modules, as .ci/run does)"
    );
    eprintln!("{test}: skipped: {missing} (apt-get install kamailio kamailio-utils-modules)");
    None
}

/// A port free for TCP and UDP alike (Kamailio listens on both), outside the ephemeral range.
pub(crate) fn free_port() -> u16 {
    lmpe_net::unused_port([127, 0, 0, 1].into()).unwrap_or_else(|e| panic!("{e}"))
}

/// Kamailio as a child process, killed on drop; its stderr log in `dir`.
pub(crate) struct Kamailio {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) dir: PathBuf,
    /// Started as nobody by a root test run.
    pub(crate) dropped_root: bool,
}

impl Kamailio {
    pub(crate) fn start(
        modules: &str,
        ecrf_url: &str,
        lis_url: &str,
        http_timeout_s: u64,
    ) -> Kamailio {
        let mut last = String::new();
        for attempt in 0..3 {
            match Self::start_on(
                free_port(),
                attempt,
                modules,
                ecrf_url,
                lis_url,
                http_timeout_s,
            ) {
                Ok(k) => return k,
                Err(log) => last = log,
            }
        }
        panic!("Kamailio did not start; its log:\n{last}");
    }

    /// Starts Kamailio on `port` (UDP and TCP); `Err` with its log when it does not come up.
    /// `attempt` makes the run directory unique.
    pub(crate) fn start_on(
        port: u16,
        attempt: u32,
        modules: &str,
        ecrf_url: &str,
        lis_url: &str,
        http_timeout_s: u64,
    ) -> Result<Kamailio, String> {
        Self::launch(
            &format!("{port}-{attempt}"),
            &config_path(),
            port,
            modules,
            true,
            &[
                format!("ECRF_CON=\"ecrf=>{ecrf_url}\""),
                format!("LIS_CON=\"lis=>{lis_url}\""),
                format!("HTTP_TIMEOUT={http_timeout_s}"),
            ],
        )
    }

    /// Starts Kamailio with the configuration `config` (copied into a fresh run directory
    /// `lmpe-kamailio-<pid>-<name>`, which an unprivileged Kamailio can read even when the
    /// checkout cannot be, e.g. under /root) on 127.0.0.1:`port` (UDP, and TCP when `tcp`),
    /// with each of `defines` as a `-A` preprocessor define; `Err` with its log when it does
    /// not come up.
    pub(crate) fn launch(
        name: &str,
        config: &Path,
        port: u16,
        modules: &str,
        tcp: bool,
        defines: &[String],
    ) -> Result<Kamailio, String> {
        let dir = std::env::temp_dir().join(format!("lmpe-kamailio-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("run dir");
        let log = std::fs::File::create(dir.join("kamailio.log")).expect("log file");
        let copy = dir.join("kamailio.cfg");
        std::fs::copy(config, &copy).expect("copy the Kamailio configuration");
        let (mut cmd, dropped_root) = unprivileged_command(&dir);
        cmd.arg("-f")
            .arg(&copy)
            .args(["-L", modules, "-DD", "-E"])
            .arg("-Y")
            .arg(&dir)
            .arg("-P")
            .arg(dir.join("kamailio.pid"))
            .arg("-w")
            .arg(&dir)
            .args(["-m", "32", "-M", "8"])
            .arg("-l")
            .arg(format!("udp:127.0.0.1:{port}"));
        if tcp {
            cmd.arg("-l").arg(format!("tcp:127.0.0.1:{port}"));
        }
        for d in defines {
            cmd.arg("-A").arg(d);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            // Its own process group, so that drop can stop every Kamailio process.
            .process_group(0);
        let child = cmd.spawn().expect("spawn kamailio");
        let mut k = Kamailio {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
            dropped_root,
        };
        if k.wait_ready() {
            Ok(k)
        } else {
            Err(k.log_tail())
        }
    }

    /// Waits until Kamailio answers an OPTIONS ping (or exits).
    pub(crate) fn wait_ready(&mut self) -> bool {
        let Ok(sock) = UdpSocket::bind("127.0.0.1:0") else {
            return false;
        };
        let _ = sock.set_read_timeout(Some(Duration::from_millis(200)));
        let local = sock.local_addr().map(|a| a.port()).unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if !self.alive() {
                return false;
            }
            let ping = format!(
                "OPTIONS sip:{addr} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bKping{n}\r\n\
                 Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:{addr}>\r\n\
                 Call-ID: ping-{n}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
                addr = self.addr,
                n = deadline.elapsed().as_nanos()
            );
            let _ = sock.send_to(ping.as_bytes(), self.addr);
            let mut buf = [0u8; 2048];
            if let Ok(n) = sock.recv(&mut buf) {
                if buf[..n].starts_with(b"SIP/2.0 200") {
                    return true;
                }
            }
        }
        false
    }

    /// The real user id of the main process (from /proc).
    pub(crate) fn uid(&self) -> Option<u32> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }

    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub(crate) fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Kamailio {
    /// Sends `signal` to Kamailio's process group (the main process and its workers, also
    /// workers left behind when the main process died).
    fn signal_group(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.child.id())])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        // SIGTERM lets the main process stop its workers; SIGKILL the group after a grace
        // period catches whatever is left.
        self.signal_group("-TERM");
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.signal_group("-KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `kamailio`, run as nobody (uid/gid 65534, via `setpriv`) when the test runs as root, so
/// that the configuration is proven to need no privileges; as it is otherwise. The run dir is
/// made writable for it.
pub(crate) fn unprivileged_command(dir: &Path) -> (Command, bool) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let setpriv = Command::new("setpriv")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if root && setpriv {
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777));
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            kamailio_bin(),
        ]);
        (cmd, true)
    } else {
        (Command::new(kamailio_bin()), false)
    }
}
