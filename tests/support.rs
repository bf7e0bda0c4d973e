//! Shared test support: `lmpe-harness sut` as a child process.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::thread;

/// `lmpe-harness sut` as a child process, killed on drop.
pub(crate) struct Sut {
    child: Child,
    /// The BCF's public port (UDP and TCP) on 127.0.0.1.
    pub(crate) port: u16,
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

/// A port that is free for TCP and UDP alike (the sut binds both).
fn free_tcp_udp_port() -> u16 {
    (0..50)
        .find_map(|_| {
            let tcp = TcpListener::bind("127.0.0.1:0").ok()?;
            let port = tcp.local_addr().ok()?.port();
            UdpSocket::bind(("127.0.0.1", port)).ok().map(|_| port)
        })
        .expect("no port free for both TCP and UDP")
}

/// Starts the sut; retries on another port when the chosen one was taken meanwhile.
pub(crate) fn start_sut(fault: Option<&str>) -> Sut {
    let mut first = String::new();
    for _ in 0..5 {
        let port = free_tcp_udp_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lmpe-harness"));
        cmd.args(["sut", "--listen", &format!("127.0.0.1:{port}")]);
        if let Some(f) = fault {
            cmd.args(["--fault", f]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn lmpe-harness sut");
        let stdout = child.stdout.take().expect("sut stdout");
        let sut = Sut { child, port };
        let mut lines = BufReader::new(stdout).lines();
        first = lines.next().and_then(Result::ok).unwrap_or_default();
        if first.starts_with("reference ESInet listening on") {
            // Keep draining stdout so that the sut never writes into a closed or full pipe.
            thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
            return sut;
        }
    }
    panic!("the sut did not start; last first line: {first:?}");
}
