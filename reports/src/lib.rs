//! Report writers for lmpe-harness.
//!
//! * The result model ([`RunReport`], [`ScenarioResult`], ...), whose serde
//!   form is the `results.json` format.
//! * JUnit XML for Jenkins / GitLab: [`junit_xml`] and [`write_junit`].
//! * The `results.json` file: [`write_results_json`].
//! * A human-readable run summary: [`console_summary`].
//! * A self-contained HTML report with clause matrix and message ladders:
//!   [`report_html`] and [`write_html`].
//! * Message ladders as libpcap captures for Wireshark: [`pcap_bytes`],
//!   [`pcap_capture`], [`write_pcap`] and, per scenario,
//!   [`write_scenario_pcaps`].
//! * JUnit, JSON and HTML into one directory: [`write_all`].

mod console;
mod error;
mod html;
mod json;
mod junit;
mod model;
mod pcap;
mod time;

pub use console::console_summary;
pub use error::ReportError;
pub use html::{report_html, write_html};
pub use json::{results_json, write_results_json};
pub use junit::{junit_xml, write_junit};
pub use model::{RunReport, ScenarioResult, Summary, Verdict, WireMessage};
pub use pcap::{
    pcap_bytes, pcap_capture, write_pcap, PcapCapture, LINKTYPE_RAW, MAX_PAYLOAD,
    PCAP_EPOCH_BASE_SECS, PCAP_SNAPLEN, TCP_INITIAL_SEQ,
};
pub use time::rfc3339;

use std::path::{Path, PathBuf};

/// File name of the JUnit report written by [`write_all`].
pub const JUNIT_FILE: &str = "junit.xml";
/// File name of the JSON report written by [`write_all`].
pub const RESULTS_FILE: &str = "results.json";
/// File name of the HTML report written by [`write_all`].
pub const HTML_FILE: &str = "report.html";
/// Subdirectory that [`write_scenario_pcaps`] writes its captures into.
pub const PCAP_DIR: &str = "pcap";

/// Creates `dir` (and its parents) and writes [`JUNIT_FILE`],
/// [`RESULTS_FILE`] and [`HTML_FILE`] into it; returns the written paths in
/// that order. Captures are not written here: see [`write_scenario_pcaps`].
pub fn write_all(report: &RunReport, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    let junit = dir.join(JUNIT_FILE);
    write_junit(report, &junit)?;
    let results = dir.join(RESULTS_FILE);
    write_results_json(report, &results)?;
    let html = dir.join(HTML_FILE);
    write_html(report, &html)?;
    Ok(vec![junit, results, html])
}

/// Writes one capture per scenario that has messages, as
/// `dir/`[`PCAP_DIR`]`/<scenario id>.pcap` (creating the directories), and
/// returns the written paths in scenario order.
///
/// The id is made file-name safe: characters other than ASCII letters,
/// digits, `_`, `-` and `.` become `_`, a leading `.` becomes `_`, it is cut
/// to 100 characters, and an empty id becomes `scenario`. When two scenarios
/// map to the same name, `-2`, `-3`, ... is appended. A scenario whose
/// messages all lack addresses still gets a (valid, empty) capture.
pub fn write_scenario_pcaps(report: &RunReport, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let pcap_dir = dir.join(PCAP_DIR);
    let mut written: Vec<PathBuf> = Vec::new();
    let mut used = std::collections::HashSet::new();
    for scenario in report.scenarios.iter().filter(|s| !s.messages.is_empty()) {
        if written.is_empty() {
            std::fs::create_dir_all(&pcap_dir).map_err(|e| ReportError::io(&pcap_dir, e))?;
        }
        let base = sanitize_name(&scenario.id);
        let mut name = base.clone();
        let mut n = 1;
        // Compare case-insensitively: the file system may fold case.
        while !used.insert(name.to_ascii_lowercase()) {
            n += 1;
            name = format!("{base}-{n}");
        }
        let path = pcap_dir.join(format!("{name}.pcap"));
        write_pcap(&scenario.messages, &path)?;
        written.push(path);
    }
    Ok(written)
}

/// Reduces `id` to a safe file name / fragment: `[A-Za-z0-9_.-]`, no leading
/// `.`, at most 100 characters, never empty.
pub(crate) fn sanitize_name(id: &str) -> String {
    let mut name: String = id
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with('.') {
        name.replace_range(..1, "_");
    }
    if name.is_empty() {
        name.push_str("scenario");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::sample_report;

    #[test]
    fn write_all_creates_dir_and_all_files() {
        let dir = std::env::temp_dir().join(format!(
            "lmpe-reports-test-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        let out = dir.join("nested/out");
        let report = sample_report();

        let paths = write_all(&report, &out).expect("write_all");
        assert_eq!(
            paths,
            [
                out.join(JUNIT_FILE),
                out.join(RESULTS_FILE),
                out.join(HTML_FILE)
            ]
        );
        let html = std::fs::read_to_string(&paths[2]).expect("read report.html");
        assert_eq!(html, report_html(&report));
        assert!(!out.join(PCAP_DIR).exists(), "write_all writes no captures");

        let xml = std::fs::read_to_string(&paths[0]).expect("read junit.xml");
        assert_eq!(xml, junit_xml(&report));
        let json = std::fs::read_to_string(&paths[1]).expect("read results.json");
        let back: RunReport = serde_json::from_str(&json).expect("parse results.json");
        assert_eq!(back, report);

        // Writing again over existing files succeeds.
        write_all(&report, &out).expect("second write_all");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn write_all_reports_unusable_directory() {
        let file = std::env::temp_dir().join(format!("lmpe-reports-file-{}", std::process::id()));
        std::fs::write(&file, b"not a dir").expect("create file");
        let err = write_all(&sample_report(), &file).expect_err("dir is a file");
        assert!(
            matches!(&err, ReportError::Io { path, .. } if path == &file),
            "{err:?}"
        );
        let _ = std::fs::remove_file(&file);
    }

    #[test]
    fn sanitize_name_keeps_safe_characters_only() {
        assert_eq!(
            sanitize_name("TP_PSAP_IM2_START_BV_01"),
            "TP_PSAP_IM2_START_BV_01"
        );
        assert_eq!(sanitize_name("../etc/passwd"), "_._etc_passwd");
        assert_eq!(sanitize_name("a b:c\\d\0é"), "a_b_c_d__");
        assert_eq!(sanitize_name(""), "scenario");
        assert_eq!(sanitize_name(&"x".repeat(300)).len(), 100);
    }

    #[test]
    fn write_scenario_pcaps_one_file_per_scenario_with_messages() {
        let dir = std::env::temp_dir().join(format!(
            "lmpe-reports-pcaps-{}-{:?}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        let mut report = sample_report();
        for (i, m) in report.scenarios[1].messages.iter_mut().enumerate() {
            let (a, b) = ("127.0.0.1:40000".to_owned(), "127.0.0.1:5060".to_owned());
            (m.src, m.dst) = if i % 2 == 0 {
                (Some(a), Some(b))
            } else {
                (Some(b), Some(a))
            };
        }
        // Same sanitised name as scenario 1, differing only in case: unsafe
        // characters and a case-folding file system must not overwrite.
        report.scenarios[2].id = "tp_psap_im2_start_bv_02".to_owned();
        report.scenarios[2].messages = report.scenarios[1].messages[..1].to_vec();
        report.scenarios[3].id = "../x y".to_owned();
        report.scenarios[3].messages = report.scenarios[1].messages.clone();
        report.scenarios[3].messages[0].src = None;

        let paths = write_scenario_pcaps(&report, &dir).expect("write pcaps");
        let pcap = dir.join(PCAP_DIR);
        assert_eq!(
            paths,
            [
                pcap.join("TP_PSAP_IM2_START_BV_02.pcap"),
                pcap.join("tp_psap_im2_start_bv_02-2.pcap"),
                pcap.join("_._x_y.pcap"),
            ]
        );
        for (path, scenario) in paths.iter().zip(&report.scenarios[1..]) {
            let bytes = std::fs::read(path).expect("read pcap");
            assert_eq!(bytes, pcap_bytes(&scenario.messages));
        }
        assert_eq!(pcap_capture(&report.scenarios[3].messages).packets, 1);
        std::fs::remove_dir_all(&dir).expect("cleanup");

        // No scenario with messages: nothing written, no directory created.
        let mut quiet = sample_report();
        quiet.scenarios.iter_mut().for_each(|s| s.messages.clear());
        assert!(write_scenario_pcaps(&quiet, &dir).expect("none").is_empty());
        assert!(!dir.exists());
    }
}
