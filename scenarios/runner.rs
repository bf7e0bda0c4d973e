//! Runs the features with cucumber and turns the outcome into verdicts and reports.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cucumber::event::{ScenarioFinished, StepError};
use cucumber::World as _;
use futures::FutureExt as _;
use lmpe_reports::{
    console_summary, write_all, write_scenario_pcaps, RunReport, ScenarioResult, Verdict,
};

use crate::world::{LmpeWorld, INCONCLUSIVE, SKIPPED};

/// `features/` next to the workspace root, or in the current directory.
pub(crate) fn default_features_dir() -> PathBuf {
    let local = PathBuf::from("features");
    if local.is_dir() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("features")
}

fn panic_text(info: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = info.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = info.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        "step failed without a message".to_string()
    }
}

fn clause_of(tags: &[String]) -> String {
    tags.iter()
        .find_map(|t| {
            t.trim_start_matches('@')
                .strip_prefix("clause-")
                .map(str::to_string)
        })
        .unwrap_or_default()
}

fn tp_of(tags: &[String], fallback: &str) -> String {
    tags.iter()
        .map(|t| t.trim_start_matches('@'))
        .find(|t| t.starts_with("TP_"))
        .map_or_else(|| fallback.to_string(), str::to_string)
}

/// Runs every scenario; writes the reports; returns whether no scenario failed.
pub(crate) async fn run(
    features: &Path,
    filter: Option<&str>,
    report_dir: &Path,
    target: &str,
    expectations: Option<&crate::expectations::Expectations>,
) -> Result<bool, String> {
    if !features.is_dir() {
        return Err(format!(
            "features directory {} does not exist",
            features.display()
        ));
    }
    let started_wall = now_rfc3339();
    let t0 = Instant::now();
    let results: Arc<Mutex<Vec<ScenarioResult>>> = Arc::new(Mutex::new(Vec::new()));
    let sink = results.clone();
    let filter_owned = filter.map(str::to_string);
    let skipped = results.clone();
    LmpeWorld::cucumber()
        .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default())
        // A real APP under test is one device, operated by one person, behind one listening
        // address: its scenarios run one at a time.
        .max_concurrent_scenarios(
            if crate::run_config()
                .target
                .as_ref()
                .is_some_and(|t| t.app.is_some())
            {
                1
            } else {
                4
            },
        )
        .after(move |feature, _rule, scenario, finished, world| {
            let sink = sink.clone();
            async move {
                let (ladder, started, notes) = match world {
                    Some(w) => {
                        w.finish().await;
                        (
                            crate::ladder::ladder(&w.wire, &w.http, w.started, w.started_wall),
                            Some(w.started),
                            std::mem::take(&mut w.notes),
                        )
                    }
                    None => (Vec::new(), None, Vec::new()),
                };
                // Scenario tags first (a scenario may narrow the feature's clause), then the feature's.
                let mut tags: Vec<String> = Vec::new();
                for t in scenario.tags.iter().chain(feature.tags.iter()) {
                    let t = format!("@{}", t.trim_start_matches('@'));
                    if !tags.contains(&t) {
                        tags.push(t);
                    }
                }
                let (verdict, reason) = match finished {
                    ScenarioFinished::StepPassed => (Verdict::Pass, None),
                    ScenarioFinished::StepSkipped => (
                        Verdict::Skipped,
                        Some("a step has no implementation".to_string()),
                    ),
                    ScenarioFinished::BeforeHookFailed(info) => {
                        (Verdict::Inconclusive, Some(panic_text(info.as_ref())))
                    }
                    ScenarioFinished::StepFailed(_, _, err) => {
                        let text = match err {
                            StepError::Panic(info) => panic_text(info.as_ref()),
                            other => other.to_string(),
                        };
                        if let Some(rest) = text.strip_prefix(SKIPPED) {
                            (Verdict::Skipped, Some(rest.to_string()))
                        } else if let Some(rest) = text.strip_prefix(INCONCLUSIVE) {
                            (Verdict::Inconclusive, Some(rest.to_string()))
                        } else {
                            (Verdict::Fail, Some(text))
                        }
                    }
                };
                let result = ScenarioResult {
                    id: tp_of(&tags, &scenario.name),
                    name: scenario.name.clone(),
                    feature: feature.name.clone(),
                    clause: clause_of(&tags),
                    tags,
                    verdict,
                    reason,
                    duration_ms: started.map_or(0.0, |s| s.elapsed().as_secs_f64() * 1000.0),
                    messages: ladder,
                    waiver: None,
                    notes,
                };
                if let Ok(mut v) = sink.lock() {
                    v.push(result);
                }
            }
            .boxed_local()
        })
        .filter_run(features, move |feature, _, sc| {
            let wanted = filter_owned.as_ref().is_none_or(|f| {
                sc.name.contains(f.as_str()) || sc.tags.iter().any(|t| t.contains(f.as_str()))
            });
            if !wanted {
                return false;
            }
            let tags: Vec<String> = sc
                .tags
                .iter()
                .chain(feature.tags.iter())
                .map(|t| format!("@{}", t.trim_start_matches('@')))
                .collect();
            match target_skip(&tags) {
                None => true,
                Some(reason) => {
                    if let Ok(mut v) = skipped.lock() {
                        v.push(ScenarioResult {
                            id: tp_of(&tags, &sc.name),
                            name: sc.name.clone(),
                            feature: feature.name.clone(),
                            clause: clause_of(&tags),
                            tags,
                            verdict: Verdict::Skipped,
                            reason: Some(reason),
                            duration_ms: 0.0,
                            messages: Vec::new(),
                            waiver: None,
                            notes: Vec::new(),
                        });
                    }
                    false
                }
            }
        })
        .await;
    let mut scenarios = results
        .lock()
        .map_err(|_| "result collector poisoned".to_string())?
        .clone();
    scenarios.sort_by(|a, b| {
        natural_key(&a.feature)
            .cmp(&natural_key(&b.feature))
            .then_with(|| a.id.cmp(&b.id))
    });
    if scenarios.is_empty() {
        return Err(format!("no scenario ran from {}", features.display()));
    }
    if let Some(e) = expectations {
        e.apply(&mut scenarios, filter.is_some())?;
    }
    let report = RunReport::new(
        format!("lmpe-harness {}", env!("CARGO_PKG_VERSION")),
        target,
        started_wall,
        scenarios,
        t0.elapsed().as_secs_f64() * 1000.0,
    );
    println!("\n{}", console_summary(&report));
    let paths = write_all(&report, report_dir).map_err(|e| e.to_string())?;
    for p in paths {
        println!("wrote {}", p.display());
    }
    let pcaps = write_scenario_pcaps(&report, report_dir).map_err(|e| e.to_string())?;
    if let Some(first) = pcaps.first().and_then(|p| p.parent()) {
        println!(
            "wrote {} pcap files (one per scenario) in {}",
            pcaps.len(),
            first.display()
        );
    }
    Ok(report.exit_ok())
}

/// Why a scenario cannot run against the configured target (`None`: it can).
fn target_skip(tags: &[String]) -> Option<String> {
    let run = crate::run_config();
    let app_iut = tags.iter().any(|t| t == "@app-iut");
    let target = run.target.as_ref()?;
    if app_iut {
        return target.app.is_none().then(|| {
            "needs an APP under test: add [app] (with harness_listen) to the target file".into()
        });
    }
    if tags
        .iter()
        .any(|t| t == "@location-iut" || t == "@warning" || t == "@cusax")
    {
        // A LIS or ECRF under test, a warning deployment or an integrated SIP+XMPP endpoint
        // needs no ESInet; their steps skip when [lis]/[ecrf]/[warning]/[cusax] is absent.
        return None;
    }
    if target.bcf.is_none() {
        return Some(format!(
            "needs an ESInet (BCF/ESRP/PSAP); {} names no [bcf]: add it to the target file",
            target.name
        ));
    }
    if tags.iter().any(|t| t == "@reference-bcf") {
        return Some(format!(
            "needs a BCF whose capacity the harness sets (to create a queue); against {} create the overload with the load generator (`lmpe-harness load --profile load/profiles/priority-overload.toml`)",
            target.name
        ));
    }
    if tags.iter().any(|t| t == "@reference-psap") {
        return Some(format!(
            "needs the reference PSAP's automatic call taker (auto-replies, #close, #redirect, configured keep-alives); {} is a real element",
            target.name
        ));
    }
    if tags.iter().any(|t| t == "@needs-harness-psap") && target.harness_psap.is_none() {
        return Some(
            "needs a harness-played PSAP behind the SUT: add [harness_psap] to the target file"
                .into(),
        );
    }
    None
}

/// Orders "6.2.10 …" after "6.2.2 …": digit runs compare as numbers, before text.
fn natural_key(text: &str) -> Vec<(u8, u64, String)> {
    let mut key = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits > 0 {
            key.push((0, rest[..digits].parse().unwrap_or(u64::MAX), String::new()));
            rest = &rest[digits..];
        } else {
            let end = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            key.push((1, 0, rest[..end].to_string()));
            rest = &rest[end..];
        }
    }
    key
}

/// The current UTC time in RFC 3339 (seconds).
fn now_rfc3339() -> String {
    lmpe_reports::rfc3339(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::natural_key;

    #[test]
    fn clauses_sort_numerically() {
        let mut v = vec!["6.2.10 x", "6.2.2 y", "A.5 z", "6.1.2.7 w"];
        v.sort_by_key(|s| natural_key(s));
        assert_eq!(v, ["6.1.2.7 w", "6.2.2 y", "6.2.10 x", "A.5 z"]);
    }
}
