//! Shared helpers for the integration tests: the reference files of `../shared/ref/cap`.
#![allow(dead_code)]

use std::path::PathBuf;

/// The CAP reference directory (`<workspace>/../shared/ref/cap`).
pub(crate) fn cap_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/ref/cap"
    ))
}

/// The four CAP 1.2 Appendix A examples.
pub(crate) const EXAMPLES: [&str; 4] = [
    "cap12-appendix-A1-HomelandAlert.xml",
    "cap12-appendix-A2-ThunderstormWarning.xml",
    "cap12-appendix-A3-EarthquakeReport.xml",
    "cap12-appendix-A4-AmberAlert.xml",
];

/// Reads a reference file and drops the `#` header up to and including the first `#---`
/// line.
pub(crate) fn load(name: &str) -> String {
    let path = cap_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    strip_header(&text)
}

/// Drops lines up to and including the first `#---` line.
pub(crate) fn strip_header(text: &str) -> String {
    let mut out = String::new();
    let mut in_header = true;
    for line in text.split_inclusive('\n') {
        if in_header {
            if line.trim_end_matches(['\r', '\n']) == "#---" {
                in_header = false;
            }
            continue;
        }
        out.push_str(line);
    }
    out
}

/// All four examples, (file name, text).
pub(crate) fn examples() -> Vec<(&'static str, String)> {
    EXAMPLES.iter().map(|n| (*n, load(n))).collect()
}
