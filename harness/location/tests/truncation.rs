//! Fuzz-ish robustness: every prefix of every reference file (37-byte steps) parses to `Ok` or
//! `Err` with every parser, never a panic; also a few byte-level mutations.

mod common;

use lmpe_location::{held, lost, pidf, ParseOptions};

fn all_parsers(s: &str) -> usize {
    let lenient = ParseOptions::lenient();
    let results = [
        held::parse(s).is_ok(),
        lost::parse(s).is_ok(),
        lost::parse_with(s, &lenient).is_ok(),
        pidf::parse(s).is_ok(),
        held::parse_device(s).is_ok(),
        pidf::parse_civic_address(s).is_ok(),
        lost::parse_location_validation(s).is_ok(),
    ];
    results.iter().filter(|ok| **ok).count()
}

fn reference_bodies() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for dir in ["held", "lost", "pidf-lo"] {
        for f in common::files(dir, &[".xml", ".http"]) {
            v.push((f.clone(), common::load(&f)));
        }
    }
    v
}

#[test]
fn every_truncation_prefix_is_ok_or_err() {
    let files = reference_bodies();
    assert!(files.len() >= 70, "{}", files.len());
    let mut prefixes = 0;
    let mut complete_ok = 0;
    for (name, text) in &files {
        let body = if name.ends_with(".http") {
            common::http_body(text).1
        } else {
            text.clone()
        };
        let mut cut = 0;
        while cut < body.len() {
            if body.is_char_boundary(cut) {
                all_parsers(&body[..cut]);
                prefixes += 1;
            }
            cut += 37;
        }
        if all_parsers(&body) > 0 {
            complete_ok += 1;
        }
    }
    assert!(prefixes > 1000, "{prefixes}");
    // Sanity: the full files do parse with some parser (all but the defective/empty ones).
    assert!(complete_ok >= 60, "{complete_ok}");
}

#[test]
fn byte_mutations_never_panic() {
    for (_, text) in reference_bodies().iter().take(80) {
        let bytes = text.as_bytes();
        for i in (0..bytes.len()).step_by(53) {
            for b in [b'<', b'>', b'&', b'"', b':', 0xff, b'\n'] {
                let mut m = bytes.to_vec();
                m[i] = b;
                let _ = held::parse_bytes(&m);
                let _ = lost::parse_bytes(&m);
                let _ = pidf::parse_bytes(&m);
            }
        }
    }
}
