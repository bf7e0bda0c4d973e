//! Report writers for lmpe-harness.
//!
//! * The result model ([`RunReport`], [`ScenarioResult`], ...), whose serde
//!   form is the `results.json` format.
//! * JUnit XML for Jenkins / GitLab: [`junit_xml`] and [`write_junit`].
//! * The `results.json` file: [`write_results_json`].
//! * A human-readable run summary: [`console_summary`].
//! * Both files into one directory: [`write_all`].

mod console;
mod error;
mod json;
mod junit;
mod model;

pub use console::console_summary;
pub use error::ReportError;
pub use json::{results_json, write_results_json};
pub use junit::{junit_xml, write_junit};
pub use model::{RunReport, ScenarioResult, Summary, Verdict, WireMessage};

use std::path::{Path, PathBuf};

/// File name of the JUnit report written by [`write_all`].
pub const JUNIT_FILE: &str = "junit.xml";
/// File name of the JSON report written by [`write_all`].
pub const RESULTS_FILE: &str = "results.json";

/// Creates `dir` (and its parents) and writes [`JUNIT_FILE`] and
/// [`RESULTS_FILE`] into it; returns the written paths in that order.
pub fn write_all(report: &RunReport, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::io(dir, e))?;
    let junit = dir.join(JUNIT_FILE);
    write_junit(report, &junit)?;
    let results = dir.join(RESULTS_FILE);
    write_results_json(report, &results)?;
    Ok(vec![junit, results])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::sample_report;

    #[test]
    fn write_all_creates_dir_and_both_files() {
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
        assert_eq!(paths, [out.join(JUNIT_FILE), out.join(RESULTS_FILE)]);

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
}
