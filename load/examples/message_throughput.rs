//! Measures MESSAGE transactions/s of the UA + transaction layer + tokio transport over loopback
//! UDP (UAC and UAS in one process), latency from the intended send time.
//!
//! `cargo run --release -p lmpe-load --example message_throughput -- [COUNT] [RATE]`
//! (RATE 0 = unthrottled).

use lmpe_load::{run_message_throughput, ThroughputConfig};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let count = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let rate = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let cfg = ThroughputConfig {
        count,
        rate,
        ..ThroughputConfig::default()
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
