//! Parse + serialise throughput of the three codecs on RFC examples:
//! a LoST findService with a GML point (RFC 5222 Fig. 1), a findServiceResponse with a
//! polygon service boundary (Fig. 2, srsName corrected), and a HELD locationResponse carrying a
//! PIDF-LO with a circle and a civic address (RFC 5985 Section 10.3).
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use lmpe_location::{held, lost};

fn load(rel: &str) -> String {
    let path = format!("{}/../../../shared/ref/{rel}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("reference file");
    let mut out = String::new();
    let mut header = true;
    for line in text.split_inclusive('\n') {
        if header {
            header = line.trim_end() != "#---";
            continue;
        }
        out.push_str(line);
    }
    out
}

fn codecs(c: &mut Criterion) {
    let find_service = load("lost/rfc5222-fig01-findService-geodetic.xml");
    let fsr = load("lost/rfc5222-fig02-findServiceResponse-geodetic.xml")
        .replace("urn:ogc:def::crs:EPSG::4326", "urn:ogc:def:crs:EPSG::4326");
    let held_resp = load("held/rfc5985-10.3-locationResponse-uris-circle-civic.xml");

    c.bench_function("lost findService (point) parse", |b| {
        b.iter(|| lost::parse(black_box(&find_service)).expect("parses"))
    });
    let m = lost::parse(&find_service).expect("parses");
    c.bench_function("lost findService (point) to_xml", |b| {
        b.iter(|| black_box(&m).to_xml())
    });

    c.bench_function("lost findServiceResponse (polygon) parse", |b| {
        b.iter(|| lost::parse(black_box(&fsr)).expect("parses"))
    });
    let m = lost::parse(&fsr).expect("parses");
    c.bench_function("lost findServiceResponse (polygon) to_xml", |b| {
        b.iter(|| black_box(&m).to_xml())
    });

    c.bench_function("held locationResponse (PIDF-LO) parse", |b| {
        b.iter(|| held::parse(black_box(&held_resp)).expect("parses"))
    });
    let m = held::parse(&held_resp).expect("parses");
    c.bench_function("held locationResponse (PIDF-LO) to_xml", |b| {
        b.iter(|| black_box(&m).to_xml())
    });
    c.bench_function("held locationResponse (PIDF-LO) parse+to_xml", |b| {
        b.iter(|| held::parse(black_box(&held_resp)).expect("parses").to_xml())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = codecs
}
criterion_main!(benches);
