//! MESSAGE transactions UAC → UAS over loopback UDP, SIPp and the harness in one run, one after
//! the other on the same machine: SIPp (`sip-tester`, `load/sipp/message_{uac,uas}.xml`, two
//! processes, 1 ms resolution) first, then the harness (UAC and UAS in one process, µs
//! latency from the intended send time) with the same count and rate. Prints one JSON object
//! with both results, the CPU time of each side and the load average before each part.
//!
//! `cargo run --release -p lmpe-load --example side_by_side -- [COUNT] [RATE]`
//! (defaults 100000 and 10000; `sipp` and GNU `time` at /usr/bin/time must be installed).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lmpe_load::{run_message_throughput, ThroughputConfig};
use serde_json::{json, Value};

/// mimalloc: allocation is a large share of the per-message cost of the load engine (about a
/// quarter less CPU per MESSAGE transaction than glibc's allocator, measured with
/// `load/examples/message_throughput.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// utime + stime of this process, seconds.
fn own_cpu_s() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the `(comm)`: state is field 3; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// `user sys` as GNU time printed it with `-f "cpu %U %S"`.
fn time_cpu(stderr: &str) -> Option<f64> {
    let line = stderr.lines().rev().find(|l| l.starts_with("cpu "))?;
    let mut it = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse::<f64>().ok());
    Some(it.next()? + it.next()?)
}

/// A cumulative counter of SIPp's statistics screen (`| periodic | cumulative`).
fn screen_counter(screen: &str, name: &str) -> Option<f64> {
    let line = screen.lines().find(|l| l.trim_start().starts_with(name))?;
    line.rsplit('|')
        .next()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The MESSAGE row of SIPp's scenario screen: (messages, retransmissions, timeouts).
fn screen_message_row(screen: &str) -> Option<(u64, u64, u64)> {
    let line = screen.lines().find(|l| l.contains("MESSAGE ---------->"))?;
    let n: Vec<u64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    Some((*n.first()?, *n.get(1)?, *n.get(2)?))
}

/// The `Total-time` of SIPp's scenario screen, seconds.
fn screen_total_time(screen: &str) -> Option<f64> {
    let mut lines = screen.lines();
    lines.find(|l| l.contains("Total-time"))?;
    let values = lines.next()?;
    let mut it = values.split_whitespace();
    while let Some(v) = it.next() {
        if it.clone().next() == Some("s") {
            return v.parse().ok();
        }
    }
    None
}

/// A port for SIPp, outside the ephemeral range (see `lmpe_net::unused_port`).
fn free_udp_port() -> u16 {
    lmpe_net::unused_port([127, 0, 0, 1].into()).unwrap_or(5098)
}

fn sipp(count: u64, rate: f64, dir: &Path, repo: &Path) -> Result<Value, String> {
    let (uas_port, uac_port) = (free_udp_port(), free_udp_port());
    let budget = (count as f64 / rate.max(1.0)) as u64 + 40;
    let scenario = |name: &str| repo.join("load/sipp").join(name).display().to_string();
    let uas = Command::new("/usr/bin/time")
        .args([
            "-f",
            "cpu %U %S",
            "sipp",
            "-sf",
            &scenario("message_uas.xml"),
        ])
        .args(["-i", "127.0.0.1", "-p", &uas_port.to_string(), "-nostdin"])
        .args(["-m", &count.to_string(), "-timeout", &format!("{budget}s")])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("sipp (UAS): {e}; install sip-tester"))?;
    std::thread::sleep(Duration::from_millis(300));
    let screen = dir.join("uac_screen.log");
    let started = Instant::now();
    let uac = Command::new("/usr/bin/time")
        .args([
            "-f",
            "cpu %U %S",
            "sipp",
            "-sf",
            &scenario("message_uac.xml"),
        ])
        .arg(format!("127.0.0.1:{uas_port}"))
        .args(["-i", "127.0.0.1", "-p", &uac_port.to_string(), "-nostdin"])
        .args([
            "-m",
            &count.to_string(),
            "-r",
            &format!("{rate}"),
            "-rp",
            "1000",
        ])
        .args(["-l", &count.to_string(), "-timeout", &format!("{budget}s")])
        .args([
            "-trace_screen",
            "-screen_file",
            &screen.display().to_string(),
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("sipp (UAC): {e}"))?;
    let wall = started.elapsed().as_secs_f64();
    let uas = uas
        .wait_with_output()
        .map_err(|e| format!("sipp (UAS): {e}"))?;
    let text = std::fs::read_to_string(&screen)
        .map_err(|e| format!("SIPp wrote no screen file {}: {e}", screen.display()))?;
    let (messages, retrans, timeouts) = screen_message_row(&text).unwrap_or_default();
    let ok = screen_counter(&text, "Successful call").unwrap_or(0.0);
    let total_time = screen_total_time(&text);
    let uac_cpu = time_cpu(&String::from_utf8_lossy(&uac.stderr));
    let uas_cpu = time_cpu(&String::from_utf8_lossy(&uas.stderr));
    Ok(json!({
        "successful": ok,
        "failed": screen_counter(&text, "Failed call"),
        "messages_sent": messages,
        "retransmissions": retrans,
        "timeouts": timeouts,
        "total_time_s": total_time,
        "wall_s": wall,
        "tx_per_s": total_time.filter(|t| *t > 0.0).map(|t| ok / t),
        "cpu_s": { "uac": uac_cpu, "uas": uas_cpu },
        "cpu_us_per_tx": match (uac_cpu, uas_cpu) {
            (Some(a), Some(b)) if ok > 0.0 => Some((a + b) / ok * 1e6),
            _ => None,
        },
        "latency_resolution": "1 ms (SIPp response-time repartition)",
        "exit_codes": { "uac": uac.status.code(), "uas": uas.status.code() },
    }))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let rate: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000.0);
    if count == 0 || !(rate.is_finite() && rate > 0.0) {
        eprintln!("usage: side_by_side [COUNT > 0] [RATE > 0]");
        std::process::exit(2);
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(format!("lmpe-side-by-side-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: {}: {e}", dir.display());
        std::process::exit(2);
    }
    let load_sipp = load_average();
    let sipp = match sipp(count, rate, &dir, &repo) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    // Let the machine settle between the two parts.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let load_harness = load_average();
    let cpu0 = own_cpu_s();
    let harness = match run_message_throughput(ThroughputConfig {
        count,
        rate,
        ..ThroughputConfig::default()
    })
    .await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let cpu = own_cpu_s() - cpu0;
    let per_tx = (harness.answered_2xx > 0).then(|| cpu / harness.answered_2xx as f64 * 1e6);
    let out = json!({
        "count": count,
        "rate": rate,
        "sipp": { "load_average_before": load_sipp, "result": sipp },
        "harness": {
            "load_average_before": load_harness,
            "result": harness,
            "cpu_s": cpu,
            "cpu_us_per_tx": per_tx,
            "latency_resolution": "1 µs (HDR histogram from the intended send time)",
        },
    });
    match serde_json::to_string_pretty(&out) {
        Ok(j) => println!("{j}"),
        Err(e) => eprintln!("error: {e}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
