//! `lmpe-harness load` with an alert fan-out profile (`plane = "alerts"`): many SIP, XMPP
//! and feed subscribers and alerts on an open schedule, against the harness's reference alert
//! server with the embedded XMPP server (`--fault alert-…` breaks the alert server on
//! purpose), or against a real deployment (`--target` with `[warning] ecrf` and `ingest`:
//! the subscription URIs come from LoST at `point_a` and `point_b`).
//!
//! Exit codes: 0 every threshold held and the counts reconcile, 1 a threshold was broken or
//! the counts do not reconcile, 2 bad input or setup failure.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use lmpe_alerts::load::{AlertsProfile, FanoutOptions, FanoutTarget};
use lmpe_alerts::{AlertFaults, AlertServer, Channel};
use lmpe_location::lost::LostMessage;

use crate::load_cmd::{bad_input, LoadArgs};
use crate::target::TargetFile;
use crate::warning::{
    start_alert_server, start_embedded_xmpp, EMBEDDED_PUBLISHER, WARN_POINT_A, WARN_POINT_B,
};

/// The embedded deployment of a fan-out run.
struct Embedded {
    _xmpp: lmpe_xmpp::server::EmbeddedServer,
    alerts: AlertServer,
}

async fn embedded(
    p: &AlertsProfile,
    faults: AlertFaults,
) -> Result<(Embedded, FanoutTarget), String> {
    let xmpp = start_embedded_xmpp(p.xmpp_subscribers + 16).await?;
    let pubsub = xmpp.pubsub_jid();
    let publisher = (
        xmpp.addr(),
        format!("{EMBEDDED_PUBLISHER}@{}", xmpp.domain()),
        EMBEDDED_PUBLISHER.to_owned(),
    );
    let alerts = start_alert_server(Some(publisher), &pubsub, &faults).await?;
    // No ladders in a load: the notifier would log every SUBSCRIBE and NOTIFY.
    alerts
        .set_wire_log(false)
        .await
        .map_err(|e| format!("the alert server: {e}"))?;
    let uris = |point: &str| {
        BTreeMap::from([
            (
                Channel::Sip,
                format!("sip:alerts-{point}@{}", alerts.sip_addr()),
            ),
            (
                Channel::Xmpp,
                format!("xmpp:{pubsub}?pubsub;action=subscribe;node={point}"),
            ),
            (
                Channel::Http,
                format!("{}/feeds/{point}.atom", alerts.http_base()),
            ),
        ])
    };
    let target = FanoutTarget {
        name: format!(
            "the harness's reference alert server ({}) with the embedded XMPP server ({})",
            alerts.http_base(),
            xmpp.addr()
        ),
        ingest_url: alerts.ingest_url(),
        uris: [uris("warn-a"), uris("warn-b")],
        points: [WARN_POINT_A, WARN_POINT_B],
        xmpp: Some((xmpp.addr(), "lmpe.test".into(), "load-".into())),
    };
    Ok((
        Embedded {
            _xmpp: xmpp,
            alerts,
        },
        target,
    ))
}

/// The subscription URIs LoST gives for `urn:service:warning` at `point`, by channel (the
/// first of each scheme).
async fn discover(ecrf: &str, point: [f64; 2]) -> Result<BTreeMap<Channel, String>, String> {
    let client =
        lmpe_locsvc::client::LocClient::new(lmpe_locsvc::HttpLog::default(), "load -> ECRF");
    let body =
        crate::location::find_service_point(point[0], point[1], "urn:service:warning", "reference");
    let r = client
        .post(
            ecrf,
            lmpe_location::MIME_LOST,
            body.into_bytes(),
            Duration::from_secs(5),
        )
        .await
        .map_err(|e| e.to_string())?;
    let Ok(LostMessage::FindServiceResponse(f)) = lmpe_location::lost::parse(&r.body) else {
        return Err(format!(
            "{ecrf}: no findServiceResponse for urn:service:warning at {point:?}: {}",
            r.body
        ));
    };
    let mut out = BTreeMap::new();
    for u in f.mappings.iter().flat_map(|m| m.uris.iter()) {
        for ch in Channel::ALL {
            if u.to_ascii_lowercase()
                .starts_with(&format!("{}:", ch.scheme()))
            {
                out.entry(ch).or_insert_with(|| u.clone());
            }
        }
    }
    Ok(out)
}

/// Runs an alert fan-out profile.
pub(crate) async fn load(args: LoadArgs) -> ExitCode {
    let profile = match AlertsProfile::load(&args.profile) {
        Ok(p) => p,
        Err(e) => return bad_input(e),
    };
    if args.shard.is_some() || args.start_at.is_some() {
        return bad_input(
            "--shard and --start-at are for SIP profiles; an alerts profile runs as one process",
        );
    }
    let target = match args.target.as_deref().map(TargetFile::load).transpose() {
        Ok(t) => t,
        Err(e) => return bad_input(e),
    };
    if target.is_some() && args.fault.is_some() {
        return bad_input(
            "--fault breaks the harness's alert server; it cannot be used with --target",
        );
    }
    let faults = match args
        .fault
        .as_deref()
        .map(AlertFaults::from_name)
        .transpose()
    {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => return bad_input(e),
    };
    let mut keep = None;
    let fanout_target = match &target {
        None => match embedded(&profile, faults).await {
            Ok((e, t)) => {
                keep = Some(e);
                t
            }
            Err(e) => return bad_input(e),
        },
        Some(t) => {
            let Some(w) = &t.warning else {
                return bad_input(format!(
                    "target {}: an alerts load needs [warning] with ecrf and ingest",
                    t.name
                ));
            };
            let (Some(ecrf), Some(ingest)) = (&w.ecrf, &w.ingest) else {
                return bad_input(format!(
                    "target {}: an alerts load needs [warning] ecrf and ingest",
                    t.name
                ));
            };
            if profile.xmpp_subscribers > 0 {
                return bad_input("XMPP subscribers against a real deployment need one account each; run XMPP fan-out against the embedded deployment (not supported with --target yet)");
            }
            let points = [
                w.point_a.unwrap_or(WARN_POINT_A),
                w.point_b.unwrap_or(WARN_POINT_B),
            ];
            let mut uris = [BTreeMap::new(), BTreeMap::new()];
            for (i, p) in points.iter().enumerate() {
                match discover(ecrf, *p).await {
                    Ok(u) => uris[i] = u,
                    Err(e) => return bad_input(e),
                }
            }
            FanoutTarget {
                name: t.name.clone(),
                ingest_url: ingest.clone(),
                uris,
                points,
                xmpp: None,
            }
        }
    };
    let result = lmpe_alerts::load::run(
        &profile,
        &fanout_target,
        FanoutOptions {
            progress: !args.quiet,
        },
    )
    .await;
    if let Some(e) = keep {
        e.alerts.shutdown().await;
    }
    let (report, verdict, html) = match result {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    if let Err(e) = lmpe_alerts::load::write_reports(&report, &html, &args.report_dir) {
        return bad_input(e);
    }
    println!(
        "load {} (alerts): {} alerts published ({} refused), setup {:.1} s, run {:.1} s; target {}",
        report.name,
        report.alerts_published,
        report.alerts_refused,
        report.setup_s,
        report.run_s,
        report.target
    );
    for (ch, c) in &report.counts {
        let l = report.latency_us.get(ch).cloned().unwrap_or_default();
        println!(
            "  {ch:<5} subscribers {} expected {} delivered {} lost {} | received {} duplicate {} wrong-area {} late {} invalid {} | ms p50 {:.3} p99 {:.3} max {:.3}",
            c.subscribers, c.expected, c.delivered, c.lost, c.received, c.duplicate, c.wrong_area, c.late, c.invalid,
            l.p50 as f64 / 1000.0, l.p99 as f64 / 1000.0, l.max as f64 / 1000.0
        );
    }
    for t in &report.thresholds {
        println!(
            "  threshold {}: {} (limit {}) {}",
            t.what,
            t.value.map_or("no samples".into(), |v| format!("{v:.4}")),
            t.limit,
            if t.pass { "pass" } else { "BROKEN" }
        );
    }
    for e in &report.setup_errors {
        eprintln!("  setup error: {e}");
    }
    println!(
        "reconciled: {}; verdict: {}; reports in {}",
        if report.reconciled { "yes" } else { "NO" },
        report.verdict,
        args.report_dir.display()
    );
    ExitCode::from(verdict.exit_code())
}
