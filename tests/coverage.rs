//! The clause-statement coverage table (features/coverage.toml) against the scenarios in
//! features/: every normative statement of TS 103 698 6.1 to 6.3 and Annex A names scenarios
//! that exist, and every scenario is traceable to a statement.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Statements whose scenarios are not written yet. This list may only shrink: a statement that
/// gains its scenarios must leave it (the test fails on a stale entry), and a new gap fails the
/// test until a scenario is written or the gap is listed here with the work it needs.
const KNOWN_GAPS: &[(&str, &str)] = &[];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn feature_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read features dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            feature_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "feature") {
            out.push(p);
        }
    }
}

/// Scenario ids (TP tags) and clause tags found in the feature files, with where.
fn scan() -> (BTreeMap<String, PathBuf>, BTreeSet<String>) {
    let mut files = Vec::new();
    feature_files(&root().join("features"), &mut files);
    assert!(!files.is_empty(), "no feature files");
    let mut tps = BTreeMap::new();
    let mut clauses = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read feature");
        for tag in text
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('@'))
            .flat_map(str::split_whitespace)
        {
            if let Some(tp) = tag.strip_prefix('@').filter(|t| t.starts_with("TP_")) {
                assert!(
                    tps.insert(tp.to_string(), f.clone()).is_none(),
                    "test purpose {tp} is used twice"
                );
            } else if let Some(c) = tag.strip_prefix("@clause-") {
                clauses.insert(c.to_string());
            }
        }
    }
    (tps, clauses)
}

#[derive(Debug)]
struct Statement {
    id: String,
    clause: String,
    scenarios: Vec<String>,
    untestable: Option<String>,
}

/// The statement tables: TS 103 698 (coverage.toml) and the location protocols
/// (coverage-location.toml).
const TABLES: [&str; 4] = [
    "features/coverage.toml",
    "features/coverage-location.toml",
    "features/coverage-warning.toml",
    "features/coverage-cusax.toml",
];

fn table() -> Vec<Statement> {
    TABLES.iter().flat_map(|t| table_of(t)).collect()
}

fn table_of(file: &str) -> Vec<Statement> {
    let text = std::fs::read_to_string(root().join(file)).expect(file);
    let v: toml::Value = toml::from_str(&text).expect("statement table parses");
    v["statement"]
        .as_array()
        .expect("[[statement]] entries")
        .iter()
        .map(|s| Statement {
            id: s["id"].as_str().expect("id").to_string(),
            clause: s["clause"].as_str().expect("clause").to_string(),
            scenarios: s
                .get("scenarios")
                .and_then(toml::Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            untestable: s
                .get("untestable")
                .and_then(toml::Value::as_str)
                .map(str::to_string),
        })
        .collect()
}

#[test]
fn every_clause_statement_has_scenarios_that_exist() {
    let (tps, _) = scan();
    let statements = table();
    assert!(statements.len() >= 40, "{} statements", statements.len());
    let mut ids = BTreeSet::new();
    let mut gaps = BTreeMap::new();
    for s in &statements {
        assert!(ids.insert(&s.id), "statement id {} twice", s.id);
        match (&s.untestable, s.scenarios.is_empty()) {
            (Some(why), true) => assert!(!why.trim().is_empty(), "{}: empty reason", s.id),
            (Some(_), false) => panic!("{}: both untestable and scenarios", s.id),
            (None, true) => panic!("{}: no scenario checks this statement", s.id),
            (None, false) => {
                let missing: Vec<&String> = s
                    .scenarios
                    .iter()
                    .filter(|t| !tps.contains_key(*t))
                    .collect();
                if !missing.is_empty() {
                    gaps.insert(s.id.clone(), missing);
                }
            }
        }
    }
    let known: BTreeSet<&str> = KNOWN_GAPS.iter().map(|g| g.0).collect();
    let open: BTreeSet<&str> = gaps.keys().map(String::as_str).collect();
    let new: Vec<String> = gaps
        .iter()
        .filter(|(id, _)| !known.contains(id.as_str()))
        .map(|(id, m)| format!("{id}: {m:?}"))
        .collect();
    assert!(
        new.is_empty(),
        "statements naming scenarios that do not exist: {new:#?}"
    );
    let stale: Vec<&&str> = known.iter().filter(|k| !open.contains(**k)).collect();
    assert!(
        stale.is_empty(),
        "KNOWN_GAPS entries that are covered now (remove them): {stale:?}"
    );
}

#[test]
fn every_scenario_and_clause_tag_is_traceable_to_a_statement() {
    let (tps, clauses) = scan();
    let statements = table();
    let listed: BTreeSet<&str> = statements
        .iter()
        .flat_map(|s| s.scenarios.iter().map(String::as_str))
        .collect();
    let untraced: Vec<(&String, &PathBuf)> = tps
        .iter()
        .filter(|(tp, _)| !listed.contains(tp.as_str()))
        .collect();
    assert!(
        untraced.is_empty(),
        "scenarios no statement lists: {untraced:#?}"
    );
    let covered: BTreeSet<&str> = statements.iter().map(|s| s.clause.as_str()).collect();
    let unknown: Vec<&String> = clauses
        .iter()
        .filter(|c| !covered.contains(c.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "@clause tags with no statement in coverage.toml: {unknown:?}"
    );
}
