//! `lmpe-harness load` (chat load against the embedded reference ESInet or a `--target`) and
//! `lmpe-harness merge` (one report from the report directories of several shards).
//!
//! Exit codes: 0 every SLO held and the counts reconcile, 1 an SLO or limit was breached or
//! the counts do not reconcile, 2 bad input or setup failure.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lmpe_load::{LoadError, Profile, RunOptions, Shard, SutAddress, Verdict};
use lmpe_proto::endpoint::TransportKind;
use lmpe_proto::transaction::TimerConfig;

use crate::esinet::{EmbeddedEsinet, EsinetOptions, Faults};
use crate::target::TargetFile;

/// Arguments of `load`.
#[derive(Debug, Clone)]
pub(crate) struct LoadArgs {
    /// The profile (TOML).
    pub(crate) profile: PathBuf,
    /// A real ESInet (target file with `[harness_psap]`), else the embedded reference.
    pub(crate) target: Option<PathBuf>,
    /// Where the reports go.
    pub(crate) report_dir: PathBuf,
    /// `K/N`.
    pub(crate) shard: Option<String>,
    /// Common start, Unix seconds.
    pub(crate) start_at: Option<f64>,
    /// A deliberate fault of the embedded reference elements.
    pub(crate) fault: Option<String>,
    /// No progress lines.
    pub(crate) quiet: bool,
}

/// Reports bad input (exit code 2).
pub(crate) fn bad_input(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

/// Runs `load`.
pub(crate) async fn load(args: LoadArgs) -> ExitCode {
    match lmpe_load_http::plane_of(&args.profile).as_deref() {
        Ok("sip") => {}
        Ok("http") => return crate::load_http::load(args).await,
        Ok("alerts") => return crate::load_alerts::load(args).await,
        Ok(other) => {
            return bad_input(format!(
                "{}: unknown plane {other:?} (\"sip\", \"http\" or \"alerts\")",
                args.profile.display()
            ))
        }
        Err(e) => return bad_input(e),
    }
    let profile = match Profile::load(&args.profile) {
        Ok(p) => p,
        Err(e) => return bad_input(e),
    };
    let shard = match args.shard.as_deref().map(Shard::parse).transpose() {
        Ok(s) => s.unwrap_or_default(),
        Err(e) => return bad_input(e),
    };
    if args.start_at.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
        return bad_input("--start-at must be a Unix time in seconds");
    }
    let target = match args.target.as_deref().map(TargetFile::load).transpose() {
        Ok(t) => t,
        Err(e) => return bad_input(e),
    };
    if target.is_some() && args.fault.is_some() {
        return bad_input(
            "--fault breaks the embedded reference ESInet; it cannot be used with --target",
        );
    }
    let faults = match args.fault.as_deref().map(Faults::by_name).transpose() {
        Ok(f) => f.unwrap_or_default(),
        Err(e) => return bad_input(e),
    };
    let psap_listen = match &target {
        None => SocketAddr::from(([127, 0, 0, 1], 0)),
        Some(t) => match &t.harness_psap {
            Some(h) => h.listen,
            None => {
                return bad_input(format!(
                    "target {}: the load needs [harness_psap] (the SUT must route emergency chats to the harness PSAP, which measures delivery and routing latency)",
                    t.name
                ))
            }
        },
    };
    let opts = RunOptions {
        profile: profile.clone(),
        shard,
        start_at_epoch_s: args.start_at,
        progress: !args.quiet,
        psap_listen,
    };
    let prepared = match lmpe_load::prepare(opts).await {
        Ok(p) => p,
        Err(e) => return bad_input(e),
    };
    let mut esinet = None;
    // A real ESRP that routes by location asks the harness's ECRF ([ecrf] listen): it maps the
    // load's location (area A) to the harness PSAP for the whole run.
    let mut loc_servers = None;
    let sut = match &target {
        Some(t) => {
            let resolved = match t.target() {
                Ok(r) => r,
                Err(e) => return bad_input(format!("target: {e}")),
            };
            if let Some(ecrf) = &t.ecrf {
                let psap_a = format!("sip:psap@{psap_listen}");
                match crate::location::start_for_target(ecrf, &psap_a).await {
                    Some(Ok(s)) => loc_servers = Some(s),
                    Some(Err(e)) => return bad_input(e),
                    None => {}
                }
            }
            let Some(bcf) = resolved.bcf else {
                return bad_input("target: a load run needs a BCF ([bcf] in the target file)");
            };
            SutAddress {
                name: format!(
                    "{} (BCF {} over {:?})",
                    resolved.name, bcf, resolved.transport
                ),
                bcf,
                transport: resolved.transport,
                psap_reply_to: resolved
                    .harness_psap
                    .map(|h| h.reply_to)
                    .unwrap_or_default(),
                psap_outbound: None,
            }
        }
        None => {
            let opts = EsinetOptions {
                faults,
                psap_override: Some(prepared.psap_addr()),
                timers: TimerConfig {
                    t1: profile.t1(),
                    ..TimerConfig::default()
                },
                ..EsinetOptions::default()
            };
            let e = match EmbeddedEsinet::start(opts).await {
                Ok(e) => e,
                Err(err) => return bad_input(format!("embedded ESInet: {err}")),
            };
            // A load run keeps no message ladders.
            if let Err(err) = e.stop_recording().await {
                return bad_input(format!("embedded ESInet: {err}"));
            }
            let bcf = e.public_addr();
            esinet = Some(e);
            SutAddress {
                name: match &args.fault {
                    Some(f) => format!("embedded reference ESInet (BCF {bcf}) with fault {f}"),
                    None => format!("embedded reference ESInet (BCF {bcf})"),
                },
                bcf,
                transport: TransportKind::Udp,
                psap_reply_to: format!("sip:psap@{bcf}"),
                psap_outbound: None,
            }
        }
    };
    let result = prepared.run(sut).await;
    if let Some(e) = esinet {
        e.shutdown().await;
    }
    if let Some(s) = loc_servers {
        s.main.shutdown().await;
        s.child.shutdown().await;
    }
    let data = match result {
        Ok(d) => d,
        Err(LoadError::Profile(m)) => return bad_input(m),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    finish(&data, &args.report_dir)
}

fn finish(data: &lmpe_load::RunData, dir: &Path) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(dir) {
        return bad_input(format!("cannot create {}: {e}", dir.display()));
    }
    let (report, verdict) = match lmpe_load::write_reports(data, dir) {
        Ok(r) => r,
        Err(e) => return bad_input(e),
    };
    print_summary(&report, dir);
    if verdict == Verdict::ReconciliationFailed {
        eprintln!(
            "RECONCILIATION FAILED: the counts do not add up (see load.json \"reconciliation\")"
        );
        for c in report.reconciliation.iter().filter(|c| !c.ok) {
            eprintln!("  {}: {} != {}", c.name, c.lhs, c.rhs);
        }
    }
    ExitCode::from(verdict.exit_code())
}

fn print_summary(r: &lmpe_load::report::LoadReport, dir: &Path) {
    let chats = r.counts.chats_total();
    let t = r.counts.total();
    println!(
        "load {}: {} shard(s), {:.1} s; target {}",
        r.name,
        r.shards.len(),
        r.elapsed_s,
        r.target
    );
    println!(
        "chats: {} arrived, {} established, {} completed, {} failed, {} unfinished",
        chats.arrived,
        chats.established,
        chats.completed,
        chats.failed_total(),
        chats.unfinished
    );
    println!(
        "APP messages: {} sent, {} delivered, {} ok, {} rejected, {} timed out, {} transport errors, {} unfinished, {} retransmissions",
        t.sent,
        t.delivered,
        t.ok,
        t.rejected_total(),
        t.timed_out,
        t.transport_errors,
        t.unfinished,
        r.counts.side.app_retransmissions
    );
    for (class, ms) in &r.latency_us {
        if let Some(s) = ms.get("routing") {
            println!(
                "  {class:<8} routing ms p50 {:.2} p99 {:.2} max {:.2} ({} samples)",
                s.p50 as f64 / 1000.0,
                s.p99 as f64 / 1000.0,
                s.max as f64 / 1000.0,
                s.count
            );
        }
    }
    for s in &r.slo {
        println!(
            "  SLO {}: {} (limit {}) {}",
            s.what,
            s.value.map_or("no samples".into(), |v| format!("{v:.4}")),
            s.limit,
            if s.pass { "pass" } else { "BREACHED" }
        );
    }
    if let Some(c) = &r.capacity {
        println!(
            "capacity: highest sustained rate {} chats/s, {} concurrent chats; first breach {}",
            c.highest_sustained_rate
                .map_or("none".into(), |v| format!("{v}")),
            c.concurrent_chats,
            c.first_breach
                .as_ref()
                .map_or("none".into(), |(rate, what)| format!(
                    "at {rate} chats/s: {}",
                    what.join("; ")
                ))
        );
    }
    println!(
        "reconciled: {}; verdict: {}; reports in {}",
        if r.reconciled { "yes" } else { "NO" },
        r.verdict,
        dir.display()
    );
}

/// Runs `merge`.
pub(crate) fn merge(dirs: &[PathBuf], report_dir: &Path) -> ExitCode {
    if dirs.is_empty() {
        return bad_input("merge needs at least one report directory");
    }
    let data = match lmpe_load::merge(dirs) {
        Ok(d) => d,
        Err(e) => return bad_input(e),
    };
    finish(&data, report_dir)
}
