//! Runs a chat-load profile with the APP talking to the load PSAP directly (no SUT), to measure
//! what the harness itself sustains: chats, messages/s, memory per concurrent chat.
//!
//! `cargo run --release -p lmpe-load --example chat_load -- PROFILE.toml [REPORT_DIR]`
//!
//! Prints the summary as JSON and writes the usual reports (default `reports/load-direct`);
//! also prints the process's peak RSS (VmHWM) from /proc/self/status.

use std::path::PathBuf;

use lmpe_load::{prepare, write_reports, Profile, RunOptions, Shard};

/// mimalloc: allocation is a large share of the per-message cost of the load engine (about a
/// quarter less CPU per MESSAGE transaction than glibc's allocator, measured with
/// `load/examples/message_throughput.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: chat_load PROFILE.toml [REPORT_DIR]");
        std::process::exit(2);
    };
    let dir = PathBuf::from(args.get(2).map_or("reports/load-direct", String::as_str));
    let profile = match Profile::load(path.as_ref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let opts = RunOptions {
        profile,
        shard: Shard::default(),
        start_at_epoch_s: None,
        progress: true,
        psap_listen: "127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!()),
    };
    let prepared = match prepare(opts).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let sut = prepared.direct();
    let data = match prepared.run(sut).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    match write_reports(&data, &dir) {
        Ok((r, v)) => {
            let t = r.counts.total();
            let c = r.counts.chats_total();
            let max_held = r.timeline.iter().map(|t| t.active_chats).max().unwrap_or(0);
            println!(
                "{}",
                serde_json::json!({
                    "verdict": r.verdict,
                    "reconciled": r.reconciled,
                    "elapsed_s": r.elapsed_s,
                    "chats_arrived": c.arrived,
                    "chats_completed": c.completed,
                    "max_chats_held": max_held,
                    "app_messages_sent": t.sent,
                    "app_messages_ok": t.ok,
                    "timed_out": t.timed_out,
                    "psap_replies": r.counts.side.psap_replies_sent,
                    "routing_us": r.latency_us.get("all").and_then(|m| m.get("routing")),
                    "peak_rss_kib": peak_rss_kib(),
                })
            );
            std::process::exit(i32::from(v.exit_code()));
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
