//! Measures MESSAGE transactions/s of the UA + transaction layer + tokio transport over loopback
//! UDP (UAC and UAS in one process), latency from the intended send time.
//!
//! `cargo run --release -p lmpe-load --example message_throughput -- [COUNT] [RATE] [MAX_IN_FLIGHT]`
//! (RATE 0 = unthrottled; MAX_IN_FLIGHT default 2048, 0 = no limit: the pure open model, which
//! falls into Timer E retransmissions once the receiver falls behind).

use lmpe_load::{run_message_throughput, ThroughputConfig};

/// mimalloc: allocation is a large share of the per-message cost of the load engine (about a
/// quarter less CPU per MESSAGE transaction than glibc's allocator, measured with
/// `load/examples/message_throughput.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let rate = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let defaults = ThroughputConfig::default();
    let max_in_flight = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(defaults.max_in_flight);
    let cfg = ThroughputConfig {
        count,
        rate,
        max_in_flight,
        ..defaults
    };
    match run_message_throughput(cfg).await {
        Ok(r) => match serde_json::to_string_pretty(&r) {
            Ok(j) => println!("{j}"),
            Err(e) => eprintln!("error: {e}"),
        },
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
