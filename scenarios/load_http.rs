//! `lmpe-harness load` with an HTTP profile (`plane = "http"`): HELD/LoST load against the
//! embedded lmpe-locsvc ECRF and LIS (on 127.0.0.1, any free port; `--fault ecrf-…`/`lis-…`
//! breaks them on purpose) or against a real ECRF/LIS (`--target` with `[ecrf] url` and/or
//! `[lis] url`).
//!
//! Exit codes: 0 every threshold held and the counts reconcile, 1 a threshold was broken or the
//! counts do not reconcile, 2 bad input or setup failure.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use lmpe_load::report::SloResult;
use lmpe_load_http::request::Subjects;
use lmpe_load_http::{HttpProfile, HttpRunOptions, HttpTarget};

use crate::load_cmd::{bad_input, LoadArgs};
use crate::location::{start_services, LocFaults};
use crate::target::TargetFile;

/// Runs an HTTP load profile.
pub(crate) async fn load(args: LoadArgs) -> ExitCode {
    let profile = match HttpProfile::load(&args.profile) {
        Ok(p) => p,
        Err(e) => return bad_input(e),
    };
    if args.shard.is_some() || args.start_at.is_some() {
        return bad_input(
            "--shard and --start-at are for SIP profiles; an HTTP profile runs as one process",
        );
    }
    let target = match args.target.as_deref().map(TargetFile::load).transpose() {
        Ok(t) => t,
        Err(e) => return bad_input(e),
    };
    if target.is_some() && args.fault.is_some() {
        return bad_input("--fault breaks the embedded ECRF/LIS; it cannot be used with --target");
    }
    let faults = match args.fault.as_deref() {
        None => LocFaults::default(),
        Some(name) => match LocFaults::by_name(name) {
            Some(f) => f,
            None => {
                return bad_input(format!(
                    "unknown fault {name:?} for an HTTP profile (known: {}; ecrf-slow:SECONDS and lis-slow:SECONDS too)",
                    LocFaults::names().join(", ")
                ))
            }
        },
    };
    let mut servers = None;
    let http_target = match &target {
        Some(t) => {
            let mut subjects = Subjects::default();
            if let Some(d) = t.lis.as_ref().and_then(|l| l.device.clone()) {
                subjects.device = d;
            }
            if let Some([lat, lon]) = t.ecrf.as_ref().and_then(|e| e.point) {
                // A real ECRF serves areas of its own: every geodetic request asks for its point.
                subjects.bbox = [lat, lon, lat, lon];
            }
            let lost_url = t.ecrf.as_ref().and_then(|e| e.url.clone());
            let held_url = t.lis.as_ref().map(|l| l.url.clone());
            if lost_url.is_none() && held_url.is_none() {
                return bad_input(format!(
                    "target {}: an HTTP load needs [ecrf] url and/or [lis] url",
                    t.name
                ));
            }
            HttpTarget {
                name: t.name.clone(),
                lost_url,
                held_url,
                subjects,
            }
        }
        None => {
            let any = SocketAddr::from(([127, 0, 0, 1], 0));
            let s = match start_services(
                any,
                any,
                "sip:psap-a@127.0.0.1:5060",
                "sip:psap-b@127.0.0.1:5062",
                &faults,
            )
            .await
            {
                Ok(s) => s,
                Err(e) => return bad_input(format!("embedded ECRF/LIS: {e}")),
            };
            let t = HttpTarget {
                name: match &args.fault {
                    Some(f) => format!(
                        "embedded lmpe-locsvc ECRF/LIS ({}) with fault {f}",
                        s.main.local_addr()
                    ),
                    None => format!("embedded lmpe-locsvc ECRF/LIS ({})", s.main.local_addr()),
                },
                lost_url: Some(s.main.url("/lost")),
                held_url: Some(s.main.url("/held")),
                subjects: Subjects::default(),
            };
            servers = Some(s);
            t
        }
    };
    // The embedded servers log every HTTP message (for the conformance ladders); a load run
    // drops them every second so that memory stays flat.
    let drain = servers.as_ref().map(|s| {
        let log = s.main.log().clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                let _ = log.take();
            }
        })
    });
    let result = lmpe_load_http::run(
        &profile,
        &http_target,
        &HttpRunOptions {
            progress: !args.quiet,
        },
    )
    .await;
    if let Some(d) = drain {
        d.abort();
    }
    if let Some(s) = servers {
        s.main.shutdown().await;
        s.child.shutdown().await;
    }
    let data = match result {
        Ok(d) => d,
        Err(e) => return bad_input(e),
    };
    finish(&data, &args.report_dir)
}

fn finish(data: &lmpe_load_http::RunData, dir: &Path) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(dir) {
        return bad_input(format!("cannot create {}: {e}", dir.display()));
    }
    let (r, verdict) = match lmpe_load_http::write_reports(data, dir) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    println!(
        "load {} (http): {:.1} s, {} requests/s asked, {:.1}/s answered; target {}",
        r.name, r.elapsed_s, r.rate, r.achieved_rate, r.target
    );
    for (n, c) in &r.counts {
        let l = r.latency_us.get(n).cloned().unwrap_or_default();
        println!(
            "  {n:<31} sent {} ok {} http-err {} proto-err {} timeout {} transport {} | ms p50 {:.3} p99 {:.3} max {:.3}",
            c.sent,
            c.ok,
            c.http_error_total(),
            c.protocol_error_total(),
            c.timeout,
            c.transport_error,
            l.p50 as f64 / 1000.0,
            l.p99 as f64 / 1000.0,
            l.max as f64 / 1000.0
        );
        for (k, v) in &c.http_error {
            println!("      HTTP {k}: {v}");
        }
        for (k, v) in &c.protocol_error {
            println!("      {k}: {v}");
        }
    }
    if r.not_sent > 0 {
        println!("  not sent (run time over): {}", r.not_sent);
    }
    for SloResult {
        what,
        value,
        limit,
        pass,
    } in &r.thresholds
    {
        println!(
            "  threshold {what}: {} (limit {limit}) {}",
            value.map_or("no samples".into(), |v| format!("{v:.4}")),
            if *pass { "pass" } else { "BROKEN" }
        );
    }
    if let Some(ramp) = &r.ramp {
        for st in &ramp.steps {
            let p99 = st
                .p99_ms
                .iter()
                .map(|(k, v)| format!("{k} {v:.1}"))
                .collect::<Vec<_>>()
                .join(", ");
            println!(
                "  step {} at {} requests/s: sent {}/{} ok {} error ratio {:.4} | p99 ms {p99} | {}",
                st.step,
                st.rate,
                st.sent,
                st.scheduled,
                st.ok,
                st.error_ratio,
                match st.pass {
                    Some(true) => "held".to_string(),
                    Some(false) => format!("BREACHED: {}", st.breaches.join("; ")),
                    None if st.sent == 0 => "not run (the ramp stopped)".to_string(),
                    None => "cut short by the stop, not judged".to_string(),
                }
            );
        }
        let c = &ramp.capacity;
        println!(
            "  capacity: {}; first breach: {}",
            c.highest_sustained_rate
                .map_or("none (the first step broke)".to_string(), |v| format!(
                    "{v} requests/s held"
                )),
            c.first_breach
                .as_ref()
                .map_or("none".to_string(), |(rate, _)| format!("{rate} requests/s"))
        );
    }
    if !r.reconciled {
        eprintln!(
            "RECONCILIATION FAILED: the counts do not add up (see load.json \"reconciliation\")"
        );
        for c in r.reconciliation.iter().filter(|c| !c.ok) {
            eprintln!("  {}: {} != {}", c.name, c.lhs, c.rhs);
        }
    }
    println!(
        "reconciled: {}; verdict: {}; reports in {}",
        if r.reconciled { "yes" } else { "NO" },
        r.verdict,
        dir.display()
    );
    ExitCode::from(verdict.exit_code())
}
