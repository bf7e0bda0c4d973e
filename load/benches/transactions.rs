//! User-space cost of one MESSAGE transaction through two UA cores (UAC and UAS), without
//! sockets: transmits are moved between the endpoints in memory on a frozen clock. The kernel's
//! share (UDP send/receive) is measured by the `message_throughput` example instead.
//!
//! `cargo bench -p lmpe-load --bench transactions`

use std::net::SocketAddr;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use lmpe_load::transactions::{Uac, Uas};
use lmpe_load::ThroughputConfig;
use lmpe_proto::endpoint::{Endpoint, Incoming, TransportKind};
use lmpe_proto::ua::UaConfig;

const N: u64 = 1000;

fn pair() -> (Uac, Uas, SocketAddr, SocketAddr) {
    let a = SocketAddr::from(([10, 0, 0, 1], 5060));
    let b = SocketAddr::from(([10, 0, 0, 2], 5060));
    let mut ua = UaConfig::new(a);
    ua.grammar_check = false;
    let uac = Uac::new(
        ua.clone(),
        b,
        format!("sip:uas@{b}"),
        ThroughputConfig {
            count: N,
            ..ThroughputConfig::default()
        },
    );
    ua.local = b;
    (uac, Uas::new(ua), a, b)
}

/// Runs all N transactions; returns how many were answered.
fn run((mut uac, mut uas, a, b): (Uac, Uas, SocketAddr, SocketAddr)) -> u64 {
    let now = Instant::now();
    uac.begin(now);
    loop {
        let mut moved = false;
        while let Some(t) = uac.poll_transmit() {
            moved = true;
            uas.handle_input(
                now,
                Incoming {
                    transport: TransportKind::Udp,
                    remote: a,
                    local: b,
                    bytes: t.bytes.to_vec(),
                },
            );
        }
        while let Some(t) = uas.poll_transmit() {
            moved = true;
            uac.handle_input(
                now,
                Incoming {
                    transport: TransportKind::Udp,
                    remote: b,
                    local: a,
                    bytes: t.bytes.to_vec(),
                },
            );
        }
        if !moved {
            uac.handle_timeout(now);
            if uac.finished(now) {
                return uac.report().answered_2xx;
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    assert_eq!(run(pair()), N, "every transaction must complete");
    let mut g = c.benchmark_group("MESSAGE transactions, UAC+UAS user space");
    g.throughput(Throughput::Elements(N));
    g.bench_function("1000 transactions", |b| {
        b.iter_batched(pair, run, BatchSize::SmallInput)
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
