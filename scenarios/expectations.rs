//! Per-SUT expectation files: scenarios waived for a SUT, each with a reason.
//!
//! ```toml
//! sut = "Kamailio 5.6.3 with tests/kamailio/esrp.cfg"
//! [[waive]]
//! id = "TP_BCF_SIP2_RPRIO_BV_01"
//! reason = "the configuration does not police Resource-Priority"
//! ```

use std::path::Path;

use lmpe_reports::ScenarioResult;
use serde::Deserialize;

/// An expectation file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Expectations {
    /// Which SUT the waivers are for (informational).
    #[serde(default)]
    pub(crate) sut: Option<String>,
    /// Waived scenarios.
    #[serde(default)]
    pub(crate) waive: Vec<Waiver>,
}

/// One waived scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Waiver {
    /// Test-purpose id.
    pub(crate) id: String,
    /// Why the SUT is expected to fail it.
    pub(crate) reason: String,
}

impl Expectations {
    /// Reads an expectation file.
    pub(crate) fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read expectation file {}: {e}", path.display()))?;
        let e: Self = toml::from_str(&text)
            .map_err(|e| format!("expectation file {}: {e}", path.display()))?;
        if let Some(w) = e.waive.iter().find(|w| w.reason.trim().is_empty()) {
            return Err(format!(
                "expectation file {}: waiver of {} has no reason",
                path.display(),
                w.id
            ));
        }
        Ok(e)
    }

    /// Marks the waived scenarios; a waiver naming no scenario of the run is an error (a typo
    /// must not silently waive nothing). Scenarios filtered out of the run are not checked.
    pub(crate) fn apply(
        &self,
        results: &mut [ScenarioResult],
        filtered: bool,
    ) -> Result<(), String> {
        for w in &self.waive {
            let mut found = false;
            for r in results.iter_mut().filter(|r| r.id == w.id) {
                r.waiver = Some(w.reason.clone());
                found = true;
            }
            if !found && !filtered {
                return Err(format!(
                    "expectation file waives {}, which is not a scenario of this run",
                    w.id
                ));
            }
        }
        Ok(())
    }
}
