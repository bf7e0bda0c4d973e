//! A throw-away Prosody 0.12 server on loopback, for tests and for runs against a real
//! XMPP server.
//!
//! [`Prosody::start`] fills in the configuration template kept in the repository
//! (`harness/xmpp/prosody/prosody.cfg.lua.in`, [`CONFIG_TEMPLATE`]) in a fresh temporary
//! directory, registers the users with `prosodyctl register` (offline), starts
//! `prosody --config <cfg> -F` (foreground) and waits, bounded, until its client port
//! accepts connections. Dropping the [`Prosody`] kills the process and removes the
//! directory.
//!
//! Prosody must not run as root: when the harness runs as root (CI, containers), both
//! `prosodyctl` and `prosody` are run as the `prosody` system user (created by the Debian
//! package) with `setpriv --reuid=prosody --regid=prosody --init-groups --`, and the
//! temporary directory is given to that user. Otherwise they run as the current user.

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::XmppError;

/// The configuration template (`prosody/prosody.cfg.lua.in`), with `@DIR@`, `@PORT@`,
/// `@DOMAIN@` and `@ADMINS@` placeholders.
pub const CONFIG_TEMPLATE: &str = include_str!("../prosody/prosody.cfg.lua.in");

/// The system user Prosody runs as when the harness runs as root.
pub const PROSODY_USER: &str = "prosody";

/// How to start Prosody.
#[derive(Debug, Clone)]
pub struct ProsodyOptions {
    /// The XMPP domain (default `lmpe.test`); the pubsub service is `pubsub.<domain>`.
    pub domain: String,
    /// Accounts to register: (local part, password).
    pub users: Vec<(String, String)>,
    /// Local parts of the users that may create pubsub nodes and publish to them (Prosody
    /// `admins`, owners of every node). Anyone may subscribe.
    pub publishers: Vec<String>,
    /// The longest wait for Prosody to listen (default 15 s).
    pub start_timeout: Duration,
    /// The `prosody` program (default: `prosody` looked up in `PATH`).
    pub prosody: Option<PathBuf>,
    /// The `prosodyctl` program (default: `prosodyctl` looked up in `PATH`).
    pub prosodyctl: Option<PathBuf>,
}

impl Default for ProsodyOptions {
    fn default() -> Self {
        Self {
            domain: "lmpe.test".to_owned(),
            users: Vec::new(),
            publishers: Vec::new(),
            start_timeout: Duration::from_secs(15),
            prosody: None,
            prosodyctl: None,
        }
    }
}

impl ProsodyOptions {
    /// Options for `domain` with these users (local part, password).
    pub fn new(domain: &str, users: &[(&str, &str)]) -> Self {
        Self {
            domain: domain.to_owned(),
            users: users
                .iter()
                .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
                .collect(),
            ..Self::default()
        }
    }

    /// Adds a user that may create pubsub nodes and publish.
    pub fn publisher(mut self, local: &str) -> Self {
        self.publishers.push(local.to_owned());
        self
    }
}

/// A running Prosody; killed, and its directory removed, on drop.
#[derive(Debug)]
pub struct Prosody {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
    domain: String,
}

impl Prosody {
    /// Writes the configuration, registers the users and starts Prosody on a free
    /// 127.0.0.1 port; returns once the port accepts connections.
    pub async fn start(opts: ProsodyOptions) -> Result<Prosody, XmppError> {
        let prosody = locate(opts.prosody.as_deref(), "prosody")?;
        let prosodyctl = locate(opts.prosodyctl.as_deref(), "prosodyctl")?;
        let as_prosody = if effective_uid()? == 0 {
            Some(user_ids(PROSODY_USER)?)
        } else {
            None
        };
        let dir = make_dir()?;
        // From here on, `guard` removes the directory on every early return.
        let guard = DirGuard(dir.clone());
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let config = fill(&opts, &dir, port);
        let cfg = dir.join("prosody.cfg.lua");
        write(&cfg, &config)?;
        for sub in ["data", "certs"] {
            let p = dir.join(sub);
            fs::create_dir(&p).map_err(|e| XmppError::io(format!("mkdir {}", p.display()), e))?;
        }
        if let Some((uid, gid)) = as_prosody {
            for p in [
                dir.clone(),
                dir.join("data"),
                dir.join("certs"),
                cfg.clone(),
            ] {
                std::os::unix::fs::chown(&p, Some(uid), Some(gid))
                    .map_err(|e| XmppError::io(format!("chown {}", p.display()), e))?;
            }
        }

        let cfg_s = cfg.display().to_string();
        for (user, password) in &opts.users {
            let args = [
                "--config",
                cfg_s.as_str(),
                "register",
                user.as_str(),
                opts.domain.as_str(),
                password.as_str(),
            ];
            let mut cmd = command(&prosodyctl, &args, as_prosody.is_some());
            let shown = format!(
                "{} --config {cfg_s} register {user} {} ***",
                prosodyctl.display(),
                opts.domain
            );
            let out = run_bounded(&mut cmd, &shown, opts.start_timeout).await?;
            if !out.status.success() {
                return Err(XmppError::ProsodyCommand {
                    command: shown,
                    reason: format!(
                        "{}: {}{}",
                        out.status,
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    ),
                });
            }
        }

        let out_path = dir.join("prosody.out");
        let out = fs::File::create(&out_path)
            .map_err(|e| XmppError::io(format!("create {}", out_path.display()), e))?;
        let err = out
            .try_clone()
            .map_err(|e| XmppError::io("duplicate output file", e))?;
        let mut cmd = command(
            &prosody,
            &["--config", cfg_s.as_str(), "-F"],
            as_prosody.is_some(),
        );
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().map_err(|e| {
            let via = if as_prosody.is_some() {
                format!(" as user {PROSODY_USER} (via setpriv)")
            } else {
                String::new()
            };
            XmppError::io(format!("start {}{via}", prosody.display()), e)
        })?;
        std::mem::forget(guard);
        let mut server = Prosody {
            child,
            dir,
            addr,
            domain: opts.domain.clone(),
        };
        server.wait_listening(opts.start_timeout).await?;
        tracing::debug!(addr = %server.addr, dir = %server.dir.display(), "prosody started");
        Ok(server)
    }

    async fn wait_listening(&mut self, timeout: Duration) -> Result<(), XmppError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .map_err(|e| XmppError::io("wait for prosody", e))?
            {
                return Err(XmppError::ProsodyExited {
                    status: status.to_string(),
                    log: self.log_tail(40),
                });
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(XmppError::ProsodyStartTimeout {
                    addr: self.addr,
                    timeout,
                    log: self.log_tail(40),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The client-to-server address (127.0.0.1, plain TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The XMPP domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The JID of the pubsub service, `pubsub.<domain>`.
    pub fn pubsub_jid(&self) -> String {
        format!("pubsub.{}", self.domain)
    }

    /// The process id of the Prosody process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The temporary directory (configuration, data, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The last `lines` lines of Prosody's log file and of its standard output/error.
    pub fn log_tail(&self, lines: usize) -> String {
        let mut text = String::new();
        for name in ["prosody.log", "prosody.out"] {
            let all = fs::read_to_string(self.dir.join(name)).unwrap_or_default();
            let v: Vec<&str> = all.lines().collect();
            let from = v.len().saturating_sub(lines);
            for l in &v[from..] {
                text.push_str(l);
                text.push('\n');
            }
        }
        text
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        if let Err(e) = self.child.kill() {
            tracing::debug!("kill prosody: {e}");
        }
        let _ = self.child.wait();
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            tracing::debug!("remove {}: {e}", self.dir.display());
        }
    }
}

/// Removes a directory on drop unless forgotten.
struct DirGuard(PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Fills in the template.
fn fill(opts: &ProsodyOptions, dir: &Path, port: u16) -> String {
    let admins = opts
        .publishers
        .iter()
        .map(|u| format!("{:?}", format!("{u}@{}", opts.domain)))
        .collect::<Vec<_>>()
        .join(", ");
    CONFIG_TEMPLATE
        .replace("@DIR@", &dir.display().to_string())
        .replace("@PORT@", &port.to_string())
        .replace("@DOMAIN@", &opts.domain)
        .replace("@ADMINS@", &admins)
}

/// The command, run as [`PROSODY_USER`] through `setpriv` when `as_prosody`.
fn command(program: &Path, args: &[&str], as_prosody: bool) -> Command {
    if as_prosody {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid",
            PROSODY_USER,
            "--regid",
            PROSODY_USER,
            "--init-groups",
            "--",
        ]);
        c.arg(program).args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    }
}

/// Runs a short command to completion, bounded by `timeout`.
async fn run_bounded(
    cmd: &mut Command,
    shown: &str,
    timeout: Duration,
) -> Result<std::process::Output, XmppError> {
    let mut cmd = tokio::process::Command::from(std::mem::replace(cmd, Command::new("true")));
    cmd.kill_on_drop(true).stdin(Stdio::null());
    match tokio::time::timeout(timeout, cmd.output()).await {
        Ok(Ok(out)) => Ok(out),
        Ok(Err(e)) => Err(XmppError::io(format!("run {shown}"), e)),
        Err(_) => Err(XmppError::Timeout {
            what: shown.to_owned(),
            timeout,
        }),
    }
}

/// The given program, or `name` looked up in `PATH` (then `/usr/bin`, `/usr/sbin`).
fn locate(given: Option<&Path>, name: &str) -> Result<PathBuf, XmppError> {
    if let Some(p) = given {
        return if p.is_file() {
            Ok(p.to_owned())
        } else {
            Err(XmppError::ProsodyNotInstalled {
                binary: p.to_owned(),
            })
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| XmppError::ProsodyNotInstalled {
            binary: PathBuf::from(name),
        })
}

/// The effective user id, from `/proc/self/status` (no libc needed).
fn effective_uid() -> Result<u32, XmppError> {
    let status = fs::read_to_string("/proc/self/status")
        .map_err(|e| XmppError::io("read /proc/self/status", e))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| XmppError::Io {
            what: "read /proc/self/status".to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "no Uid: line"),
        })
}

/// The uid and gid of a system user, from `/etc/passwd`.
fn user_ids(user: &str) -> Result<(u32, u32), XmppError> {
    let passwd =
        fs::read_to_string("/etc/passwd").map_err(|e| XmppError::io("read /etc/passwd", e))?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&user))
        .and_then(|f| Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?)))
        .ok_or_else(|| XmppError::ProsodyCommand {
            command: format!("run prosody as user {user:?} (running as root)"),
            reason: format!(
                "no user {user:?} in /etc/passwd (the Debian package creates it: apt-get install -y prosody)"
            ),
        })
}

/// A new, empty directory under the system's temporary directory.
fn make_dir() -> Result<PathBuf, XmppError> {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "lmpe-prosody-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir(&dir).map_err(|e| XmppError::io(format!("mkdir {}", dir.display()), e))?;
    Ok(dir)
}

/// A 127.0.0.1 port that is free now, outside the ephemeral range (so that no outgoing
/// connection takes it before Prosody binds it).
fn free_port() -> Result<u16, XmppError> {
    lmpe_net::unused_port([127, 0, 0, 1].into()).map_err(XmppError::NoFreePort)
}

fn write(path: &Path, text: &str) -> Result<(), XmppError> {
    fs::write(path, text).map_err(|e| XmppError::io(format!("write {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_is_filled_completely() {
        let opts = ProsodyOptions::new("lmpe.test", &[("a", "b")]).publisher("alerts");
        let text = fill(&opts, Path::new("/tmp/x"), 5999);
        for p in ["@DIR@", "@PORT@", "@DOMAIN@", "@ADMINS@"] {
            assert!(!text.contains(p), "{p} left in the configuration");
        }
        assert!(text.contains("admins = { \"alerts@lmpe.test\" }"));
        assert!(text.contains("c2s_ports = { 5999 }"));
        assert!(text.contains("Component \"pubsub.lmpe.test\" \"pubsub\""));
    }

    #[test]
    fn a_missing_prosody_names_the_package() {
        let e = locate(Some(Path::new("/nonexistent/prosody")), "prosody");
        let text = match e {
            Err(e @ XmppError::ProsodyNotInstalled { .. }) => e.to_string(),
            other => panic!("{other:?}"),
        };
        assert!(text.contains("apt-get install -y prosody"), "{text}");
    }
}
