//! Report writers for lmpe-harness.
//!
//! * the result model ([`RunReport`], [`ScenarioResult`], ...),
//!   whose serde form is the `results.json` format;
//! * [`junit_xml`] / [`write_junit`]: JUnit XML for Jenkins / GitLab;
//! * [`write_results_json`]: `results.json`;
//! * [`console_summary`]: human-readable run summary;
//! * [`write_all`]: both files into one directory.

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
