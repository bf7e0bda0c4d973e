//! Shared helpers for the reference-file tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

/// The shared reference directory.
pub(crate) fn ref_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/ref"))
}

/// Reads a reference file and drops the `#` header up to and including the first `#---` line.
pub(crate) fn load(rel: &str) -> String {
    let path = ref_dir().join(rel);
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

/// Splits an HTTP message as printed (LF or CRLF) into head and body.
pub(crate) fn http_body(msg: &str) -> (String, String) {
    let (head, body) = match msg.find("\r\n\r\n") {
        Some(i) => (&msg[..i], &msg[i + 4..]),
        None => match msg.find("\n\n") {
            Some(i) => (&msg[..i], &msg[i + 2..]),
            None => (msg, ""),
        },
    };
    (head.to_owned(), body.to_owned())
}

/// Every file (relative path) with one of the extensions in a reference subdirectory.
pub(crate) fn files(dir: &str, exts: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(ref_dir().join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| exts.iter().any(|x| n.ends_with(x)))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    v.sort();
    v
}
