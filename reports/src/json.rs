//! `results.json` writer.

use crate::error::ReportError;
use crate::model::RunReport;
use std::path::Path;

/// Serialises `report` as pretty-printed JSON (the `results.json` format).
pub fn results_json(report: &RunReport) -> Result<String, ReportError> {
    let mut json = serde_json::to_string_pretty(report)?;
    json.push('\n');
    Ok(json)
}

/// Writes `report` as `results.json`-format JSON to `path`.
pub fn write_results_json(report: &RunReport, path: &Path) -> Result<(), ReportError> {
    let json = results_json(report)?;
    std::fs::write(path, json).map_err(|e| ReportError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::sample_report;
    use serde_json::Value;

    fn keys(value: &Value) -> Vec<&str> {
        value
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn round_trips_through_serde() {
        let report = sample_report();
        let json = results_json(&report).expect("serialise");
        let back: RunReport = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, report);
    }

    #[test]
    fn has_exact_field_names_and_order() {
        let json = results_json(&sample_report()).expect("serialise");
        // serde_json without `preserve_order` sorts keys, so check order on
        // the raw text and the key sets on the parsed value.
        let value: Value = serde_json::from_str(&json).expect("parse");
        let mut top = keys(&value);
        top.sort_unstable();
        assert_eq!(top, ["scenarios", "started", "summary", "target", "tool"]);

        let scenario = &value["scenarios"][0];
        let mut scenario_keys = keys(scenario);
        scenario_keys.sort_unstable();
        assert_eq!(
            scenario_keys,
            [
                "clause",
                "duration_ms",
                "feature",
                "id",
                "messages",
                "name",
                "reason",
                "tags",
                "verdict"
            ]
        );
        assert!(
            scenario["reason"].is_null(),
            "reason must be null when none"
        );
        assert_eq!(scenario["verdict"], "pass");
        assert_eq!(value["scenarios"][1]["verdict"], "fail");
        assert_eq!(value["scenarios"][2]["verdict"], "inconclusive");
        assert_eq!(value["scenarios"][3]["verdict"], "skipped");

        let mut message_keys = keys(&value["scenarios"][1]["messages"][0]);
        message_keys.sort_unstable();
        assert_eq!(
            message_keys,
            ["at_ms", "direction", "summary", "text", "transport"]
        );

        let mut summary_keys = keys(&value["summary"]);
        summary_keys.sort_unstable();
        assert_eq!(
            summary_keys,
            [
                "duration_ms",
                "fail",
                "inconclusive",
                "pass",
                "skipped",
                "total"
            ]
        );
        assert_eq!(value["summary"]["total"], 4);

        // Declared order is kept in the written text.
        let compact = serde_json::to_string(&sample_report()).expect("serialise");
        assert!(compact.starts_with(
            r#"{"tool":"lmpe-harness 0.1.0","target":"embedded reference ESInet","started":"2024-05-01T10:00:00Z","scenarios":[{"id":"TP_PSAP_IM2_START_BV_01","name":"Start chat","feature":"IM2 session start","tags":["@clause-6.2.2","@TP_PSAP_IM2_START_BV_01","@BV"],"clause":"6.2.2","verdict":"pass","reason":null,"duration_ms":120.0,"messages":[]}"#
        ));
        assert!(compact.ends_with(
            r#""summary":{"total":4,"pass":1,"fail":1,"inconclusive":1,"skipped":1,"duration_ms":5200.0}}"#
        ));
    }

    #[test]
    fn message_addresses_are_optional_and_omitted_when_unknown() {
        let mut report = sample_report();
        let json = results_json(&report).expect("serialise");
        assert!(!json.contains("\"src\"") && !json.contains("\"dst\""));

        let message = &mut report.scenarios[1].messages[0];
        message.src = Some("127.0.0.1:5060".to_owned());
        message.dst = Some("[::1]:5060".to_owned());
        let value: Value = serde_json::to_value(&report).expect("serialise");
        let written = &value["scenarios"][1]["messages"][0];
        assert_eq!(written["src"], "127.0.0.1:5060");
        assert_eq!(written["dst"], "[::1]:5060");
        assert!(value["scenarios"][1]["messages"][1].get("src").is_none());
        let back: RunReport = serde_json::from_value(value).expect("deserialise");
        assert_eq!(back, report);

        // A results.json from before the fields existed still reads.
        let old =
            r#"{"at_ms":1.0,"direction":"A -> B","transport":"UDP","summary":"s","text":"t"}"#;
        let message: crate::model::WireMessage = serde_json::from_str(old).expect("old format");
        assert_eq!((message.src, message.dst), (None, None));
    }
}
