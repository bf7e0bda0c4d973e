//! Measures MESSAGE transactions/s of the UA + transaction layer + tokio transport over loopback
//! UDP (UAC and UAS in one process), latency from the intended send time.
//!
//! `cargo run --release -p lmpe-load --example message_throughput -- [COUNT] [RATE] [MAX_IN_FLIGHT]
//! [--via ADDR] [--uri URI] [--uas ADDR]`
//! (RATE 0 = unthrottled; MAX_IN_FLIGHT default 2048, 0 = no limit: the pure open model, which
//! falls into Timer E retransmissions once the receiver falls behind).
//!
//! Through a proxy: `--via ADDR` sends every request to ADDR, which must route its
//! Request-URI (`--uri`, default `sip:uas@<UAS address>`) to the UAS bound at `--uas ADDR`. E.g.
//! through the embedded reference ESInet (BCF → ESRP → the UAS as PSAP):
//! `lmpe-harness sut --listen 127.0.0.1:5070 --route-to-psap 127.0.0.1:5090` and
//! `… -- 300000 20000 --via 127.0.0.1:5070 --uri urn:service:sos --uas 127.0.0.1:5090`;
//! through Kamailio (stateless relay by Request-URI, `tests/kamailio/kamailio.cfg`):
//! `… -- 300000 20000 --via 127.0.0.1:5080 --uas 127.0.0.1:5090`.

use lmpe_load::{run_message_throughput, ThroughputConfig};

/// mimalloc: allocation is a large share of the per-message cost of the load engine (about a
/// quarter less CPU per MESSAGE transaction than glibc's allocator, measured with
/// `load/examples/message_throughput.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn usage(error: &str) -> ! {
    eprintln!(
        "error: {error}\nusage: message_throughput [COUNT] [RATE] [MAX_IN_FLIGHT] \
         [--via ADDR] [--uri URI] [--uas ADDR]"
    );
    std::process::exit(2);
}

fn addr(value: Option<String>, flag: &str) -> std::net::SocketAddr {
    match value.as_deref().map(str::parse) {
        Some(Ok(a)) => a,
        _ => usage(&format!("{flag} needs an IP:port")),
    }
}

fn number<T: std::str::FromStr>(value: &str) -> T {
    value
        .parse()
        .unwrap_or_else(|_| usage(&format!("{value:?} is not a number")))
}

#[tokio::main]
async fn main() {
    let mut cfg = ThroughputConfig {
        count: 200_000,
        ..ThroughputConfig::default()
    };
    let mut args = std::env::args().skip(1);
    let mut position = 0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--via" => cfg.next_hop = Some(addr(args.next(), "--via")),
            "--uas" => cfg.uas_bind = Some(addr(args.next(), "--uas")),
            "--uri" => match args.next() {
                Some(uri) if !uri.is_empty() => cfg.request_uri = Some(uri),
                _ => usage("--uri needs a URI"),
            },
            value => {
                match position {
                    0 => cfg.count = number(value),
                    1 => cfg.rate = number(value),
                    2 => cfg.max_in_flight = number(value),
                    _ => usage(&format!("unexpected argument {value:?}")),
                }
                position += 1;
            }
        }
    }
    if cfg.count == 0 || !(cfg.rate.is_finite() && cfg.rate >= 0.0) {
        usage("COUNT must be > 0 and RATE >= 0");
    }
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
