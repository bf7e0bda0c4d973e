//! Ports for listeners that a different socket or process binds later (tests, examples, a SUT
//! started as a child process).
//!
//! Asking the kernel for port 0 and handing the number on is racy in a busy test run: the port
//! comes from the ephemeral range, and until the listener binds it, any outgoing TCP connection
//! or unbound UDP socket on the machine may get it as its source port (a reference ESRP that
//! opens TCP connections to PSAPs does exactly that). [`unused_port`] picks from outside the
//! ephemeral range instead, where the kernel never allocates on its own.

use std::net::{IpAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use crate::NetError;

/// Lowest port [`unused_port`] hands out (below it live well-known and registered services).
const LOWEST: u16 = 10_000;

/// How many candidates [`unused_port`] tries before it gives up.
const ATTEMPTS: u32 = 1_000;

/// Linux's default ephemeral range, used when `/proc` does not say.
const DEFAULT_EPHEMERAL: (u16, u16) = (32_768, 60_999);

/// A port on `ip` that is free for TCP and UDP right now and lies outside the kernel's
/// ephemeral port range (`/proc/sys/net/ipv4/ip_local_port_range`), so that no connection the
/// kernel numbers itself takes it before the caller's listener binds it.
///
/// Successive calls in one process walk the range from a per-process random start, so parallel
/// tests (threads) and concurrent processes rarely try the same port. Falls back to a
/// kernel-chosen port when the ephemeral range leaves nothing above [`LOWEST`].
///
/// # Errors
/// [`NetError::NoFreePort`] when no port tried was free for both protocols.
pub fn unused_port(ip: IpAddr) -> Result<u16, NetError> {
    let ranges = outside(ephemeral_range());
    let total: u32 = ranges.iter().map(|(lo, hi)| u32::from(hi - lo) + 1).sum();
    let candidates = (0..ATTEMPTS).filter_map(|_| {
        if total == 0 {
            TcpListener::bind((ip, 0))
                .and_then(|l| l.local_addr())
                .ok()
                .map(|a| a.port())
        } else {
            Some(nth(&ranges, next_index() % total))
        }
    });
    first_free(ip, candidates).ok_or(NetError::NoFreePort {
        ip,
        tried: ATTEMPTS,
    })
}

/// The first of `candidates` that TCP and UDP can both bind on `ip` now.
fn first_free(ip: IpAddr, mut candidates: impl Iterator<Item = u16>) -> Option<u16> {
    candidates
        .find(|&port| TcpListener::bind((ip, port)).is_ok() && UdpSocket::bind((ip, port)).is_ok())
}

/// The next candidate index of this process: a random start, then one step per call.
fn next_index() -> u32 {
    static START: OnceLock<u32> = OnceLock::new();
    static CURSOR: AtomicU32 = AtomicU32::new(0);
    let start = *START.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        // Spread processes apart: the pid moves whole blocks, the clock the rest.
        std::process::id().wrapping_mul(2_654_435_761) ^ nanos
    });
    start.wrapping_add(CURSOR.fetch_add(1, Ordering::Relaxed))
}

/// The kernel's ephemeral port range, inclusive.
fn ephemeral_range() -> (u16, u16) {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|text| parse_range(&text))
        .unwrap_or(DEFAULT_EPHEMERAL)
}

/// `"32768\t60999\n"` → `(32768, 60999)`.
fn parse_range(text: &str) -> Option<(u16, u16)> {
    let mut it = text.split_whitespace().map(str::parse::<u16>);
    let lo = it.next()?.ok()?;
    let hi = it.next()?.ok()?;
    (lo <= hi).then_some((lo, hi))
}

/// The inclusive port ranges from [`LOWEST`] to 65535 outside `ephemeral`.
fn outside((lo, hi): (u16, u16)) -> Vec<(u16, u16)> {
    let mut ranges = Vec::with_capacity(2);
    if lo > LOWEST {
        ranges.push((LOWEST, lo - 1));
    }
    if hi < u16::MAX {
        ranges.push((hi.saturating_add(1).max(LOWEST), u16::MAX));
    }
    ranges
}

/// The `i`-th port (0-based) of `ranges` taken one after the other; `i` below their total.
fn nth(ranges: &[(u16, u16)], mut i: u32) -> u16 {
    for &(lo, hi) in ranges {
        let len = u32::from(hi - lo) + 1;
        if i < len {
            // i < len <= 65536 - lo, so lo + i fits in a u16.
            return lo + u16::try_from(i).unwrap_or(0);
        }
        i -= len;
    }
    LOWEST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_leave_out_the_ephemeral_ports() {
        assert_eq!(parse_range("32768\t60999\n"), Some((32_768, 60_999)));
        assert_eq!(parse_range("5 1"), None);
        assert_eq!(parse_range("x"), None);
        assert_eq!(
            outside((32_768, 60_999)),
            vec![(10_000, 32_767), (61_000, 65_535)]
        );
        assert_eq!(outside((1_024, 65_535)), vec![]);
        assert_eq!(outside((5_000, 20_000)), vec![(20_001, 65_535)]);
        let r = outside((32_768, 60_999));
        assert_eq!(nth(&r, 0), 10_000);
        assert_eq!(nth(&r, 22_767), 32_767);
        assert_eq!(nth(&r, 22_768), 61_000);
        assert_eq!(nth(&r, 22_768 + 4_535), 65_535);
    }

    #[test]
    fn ports_are_free_outside_the_ephemeral_range_and_distinct() {
        let (lo, hi) = ephemeral_range();
        let ip = IpAddr::from([127, 0, 0, 1]);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let port = unused_port(ip).unwrap_or_else(|e| panic!("{e}"));
            if !outside((lo, hi)).is_empty() {
                assert!(!(lo..=hi).contains(&port), "{port} in {lo}-{hi}");
                assert!(port >= LOWEST);
            }
            assert!(seen.insert(port), "{port} twice");
            TcpListener::bind((ip, port)).unwrap_or_else(|e| panic!("tcp {port}: {e}"));
            UdpSocket::bind((ip, port)).unwrap_or_else(|e| panic!("udp {port}: {e}"));
        }
    }

    #[test]
    fn a_port_taken_for_tcp_or_udp_is_skipped() {
        let ip = IpAddr::from([127, 0, 0, 1]);
        let port = |_| unused_port(ip).unwrap_or_else(|e| panic!("{e}"));
        let [tcp, udp, free] = [0, 1, 2].map(port);
        let _tcp = TcpListener::bind((ip, tcp)).unwrap_or_else(|e| panic!("{e}"));
        let _udp = UdpSocket::bind((ip, udp)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first_free(ip, [tcp, udp, free].into_iter()), Some(free));
        assert_eq!(first_free(ip, [tcp, udp].into_iter()), None);
    }
}
