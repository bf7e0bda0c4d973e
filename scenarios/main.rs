//! `lmpe-harness`: conformance and load-test harness for NG112 emergency chat (ETSI TS 103 698).
//!
//! * `lmpe-harness conformance`: runs the Gherkin features against the embedded reference ESInet
//!   (default) and writes `junit.xml` and `results.json`; exits non-zero when a scenario fails.
//! * `lmpe-harness sut --listen ADDR`: runs the reference ESInet alone, for any SIP peer.

/// mimalloc: allocation is a large share of the per-message cost of the load engine (about a
/// quarter less CPU per MESSAGE transaction than glibc's allocator, measured with
/// `load/examples/message_throughput.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod esinet;
mod expectations;
mod ladder;
mod load_alerts;
mod load_cmd;
mod load_http;
mod location;
mod runner;
mod steps;
mod target;
mod transfer;
mod warning;
mod world;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clap::{Parser, Subcommand};
use lmpe_wire::lmpe::IdentifierProfile;

/// Run-wide settings shared by all scenarios.
#[derive(Debug, Clone)]
pub(crate) struct RunConfig {
    /// Deliberate faults injected into the reference elements.
    pub(crate) faults: esinet::Faults,
    /// Identifier profile.
    pub(crate) profile: IdentifierProfile,
    /// How long to wait for an answer from the SUT.
    pub(crate) response_timeout: Duration,
    /// Longest accepted gap between PSAP heartbeats.
    pub(crate) heartbeat_limit: Duration,
    /// A real ESInet instead of the embedded one.
    pub(crate) target: Option<target::Target>,
}

static RUN: OnceLock<Arc<RunConfig>> = OnceLock::new();

/// The run configuration (defaults when none was set).
pub(crate) fn run_config() -> Arc<RunConfig> {
    RUN.get_or_init(|| {
        Arc::new(RunConfig {
            faults: esinet::Faults::default(),
            profile: IdentifierProfile::default(),
            response_timeout: Duration::from_secs(3),
            heartbeat_limit: Duration::from_secs(20),
            target: None,
        })
    })
    .clone()
}

#[derive(Parser, Debug)]
#[command(
    name = "lmpe-harness",
    version,
    about = "Conformance and load-test harness for NG112 emergency chat (ETSI TS 103 698, LMPE)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the conformance features (default: against the embedded reference ESInet).
    Conformance {
        /// Where junit.xml and results.json go.
        #[arg(long, default_value = "reports/out")]
        report_dir: PathBuf,
        /// Directory of .feature files.
        #[arg(long)]
        features: Option<PathBuf>,
        /// Only scenarios whose name or tags contain this text.
        #[arg(long)]
        filter: Option<String>,
        /// Identifier profile: lenient (default), deployed, strict-text.
        #[arg(long, default_value = "lenient")]
        profile: String,
        /// Break a reference element on purpose to see checks fail (self-test of the
        /// verdicts). With --target only the harness's own alert server (`alert-…`) can be
        /// broken, the one element a target's `[warning]` may leave to the harness.
        #[arg(long, value_name = "FAULT")]
        inject_fault: Option<String>,
        /// Seconds to wait for each answer of the SUT.
        #[arg(long, default_value_t = 3.0)]
        response_timeout: f64,
        /// A real ESInet to test instead of the embedded one (TOML; see targets/).
        #[arg(long, value_name = "FILE")]
        target: Option<PathBuf>,
        /// Per-SUT expectation file: waived scenarios, each with a reason (TOML).
        #[arg(long, value_name = "FILE")]
        expectations: Option<PathBuf>,
    },
    /// Run the embedded reference ESInet alone (UDP and TCP on the BCF's public address).
    Sut {
        /// The BCF's public address.
        #[arg(long, default_value = "127.0.0.1:5060")]
        listen: SocketAddr,
        /// Break the reference PSAP on purpose.
        #[arg(long, value_name = "FAULT")]
        fault: Option<String>,
        /// The PSAP sends heartbeats every N seconds (optional in 6.2.5).
        #[arg(long)]
        psap_heartbeat: Option<f64>,
        /// Route emergency chats to this PSAP (e.g. a harness-played one) instead of the
        /// reference PSAP.
        #[arg(long, value_name = "ADDR")]
        route_to_psap: Option<SocketAddr>,
        /// Also run the reference warning deployment (warning ECRF, alert server, XMPP
        /// server) and print its URLs (a target's `[warning]`); `--fault alert-…`/`ecrf-…`
        /// break it.
        #[arg(long)]
        warning: bool,
    },
    /// Chat load: open-model arrivals of full LMPE chats with a Resource-Priority mix, against
    /// the embedded reference ESInet (default) or --target; with a `plane = "http"` profile a
    /// HELD/LoST load against the embedded ECRF/LIS or the --target's [ecrf]/[lis] url; exit 0
    /// pass, 1 SLO breached, 2 bad input.
    Load {
        /// Load profile (TOML; see load/profiles/).
        #[arg(long, value_name = "FILE")]
        profile: PathBuf,
        /// A real ESInet with a [harness_psap] the SUT routes chats to (TOML; see targets/).
        #[arg(long, value_name = "FILE")]
        target: Option<PathBuf>,
        /// Where load.json, load.html and hlog/ go.
        #[arg(long, default_value = "reports/load")]
        report_dir: PathBuf,
        /// Play shard K of N (arrivals g with g % N == K).
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Common start of all shards, Unix seconds (overrides the profile's).
        #[arg(long, value_name = "EPOCH_S")]
        start_at: Option<f64>,
        /// Break an embedded reference element on purpose (see `conformance --inject-fault`;
        /// for an HTTP profile the ECRF/LIS: `ecrf-http-error`, `ecrf-slow:SECONDS`, `lis-…`).
        #[arg(long, value_name = "FAULT")]
        fault: Option<String>,
        /// No progress lines on stderr.
        #[arg(long)]
        quiet: bool,
    },
    /// Merge the report directories of load shards into one report.
    Merge {
        /// Shard report directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged report goes.
        #[arg(long, default_value = "reports/load-merged")]
        report_dir: PathBuf,
    },
}

fn fault(name: Option<&str>) -> Result<esinet::Faults, String> {
    name.map_or_else(|| Ok(esinet::Faults::default()), esinet::Faults::by_name)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            // goose warns once per failed request: the HTTP load counts those itself.
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,goose=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Conformance {
        report_dir: PathBuf::from("reports/out"),
        features: None,
        filter: None,
        profile: "lenient".into(),
        inject_fault: None,
        response_timeout: 3.0,
        target: None,
        expectations: None,
    });
    match command {
        Command::Conformance {
            report_dir,
            features,
            filter,
            profile,
            inject_fault,
            response_timeout,
            target,
            expectations,
        } => {
            let expectations = match expectations
                .as_deref()
                .map(expectations::Expectations::load)
                .transpose()
            {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let target_file = match target.as_deref().map(target::TargetFile::load).transpose() {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let resolved = match target_file
                .as_ref()
                .map(target::TargetFile::target)
                .transpose()
            {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: target: {e}");
                    return ExitCode::from(2);
                }
            };
            let profile = target_file
                .as_ref()
                .and_then(|t| t.profile.clone())
                .unwrap_or(profile);
            let response_timeout = target_file
                .as_ref()
                .and_then(|t| t.response_timeout_s)
                .unwrap_or(response_timeout);
            let faults = match fault(inject_fault.as_deref()) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            if let (Some(f), Some(_)) = (&inject_fault, &resolved) {
                if !f.starts_with("alert-") {
                    eprintln!(
                        "error: --inject-fault {f} breaks an embedded element, and --target replaces them; with --target only the harness's own alert server can be broken (alert-…)"
                    );
                    return ExitCode::from(2);
                }
            }
            let Some(profile) = IdentifierProfile::by_name(&profile) else {
                eprintln!(
                    "error: unknown profile {profile:?}; known: lenient, deployed, strict-text"
                );
                return ExitCode::from(2);
            };
            if !(response_timeout.is_finite() && response_timeout > 0.0) {
                eprintln!("error: --response-timeout must be a positive number of seconds");
                return ExitCode::from(2);
            }
            let _ = RUN.set(Arc::new(RunConfig {
                faults: faults.clone(),
                profile,
                response_timeout: Duration::from_secs_f64(response_timeout),
                heartbeat_limit: Duration::from_secs(20),
                target: resolved.clone(),
            }));
            let features = features.unwrap_or_else(runner::default_features_dir);
            let target = match (&inject_fault, &resolved) {
                (_, Some(t)) => {
                    let mut parts = Vec::new();
                    if let Some(bcf) = t.bcf {
                        parts.push(format!("BCF {bcf} over {:?}", t.transport));
                    }
                    if let Some(app) = &t.app {
                        parts.push(format!("APP under test sending to {}", app.harness_listen));
                    }
                    if let Some(url) = t.lis.as_ref().map(|l| l.url.as_str()) {
                        parts.push(format!("LIS {url}"));
                    }
                    if let Some(url) = t.ecrf.as_ref().and_then(|e| e.url.as_deref()) {
                        parts.push(format!("ECRF {url}"));
                    }
                    if let Some(w) = &t.warning {
                        match (&w.ecrf, &w.ingest) {
                            (Some(e), Some(i)) => {
                                parts.push(format!("warning ECRF {e}, alert ingest {i}"))
                            }
                            _ => parts.push("the harness's warning ECRF and alert server".into()),
                        }
                        if let Some(x) = &w.xmpp {
                            parts.push(format!("XMPP server {}", x.server));
                        }
                    }
                    if let Some(c) = &t.cusax {
                        parts.push(format!(
                            "integrated endpoint {} / xmpp:{} via SIP proxy {} and XMPP server {}",
                            c.peer.sip_uri, c.peer.jid, c.sip_proxy, c.xmpp.server
                        ));
                    }
                    if let Some(f) = &inject_fault {
                        parts.push(format!("deliberate fault {f}"));
                    }
                    format!("{} ({})", t.name, parts.join("; "))
                }
                (Some(f), None) => {
                    format!("embedded reference ESInet with deliberate fault {f}")
                }
                (None, None) => "embedded reference ESInet".to_string(),
            };
            let target = match expectations.as_ref().and_then(|e| e.sut.as_deref()) {
                Some(sut) => format!("{target}; expectations for {sut}"),
                None => target,
            };
            match runner::run(
                &features,
                filter.as_deref(),
                &report_dir,
                &target,
                expectations.as_ref(),
            )
            .await
            {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(1),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Load {
            profile,
            target,
            report_dir,
            shard,
            start_at,
            fault,
            quiet,
        } => {
            load_cmd::load(load_cmd::LoadArgs {
                profile,
                target,
                report_dir,
                shard,
                start_at,
                fault,
                quiet,
            })
            .await
        }
        Command::Merge { dirs, report_dir } => load_cmd::merge(&dirs, &report_dir),
        Command::Sut {
            listen,
            fault: f,
            psap_heartbeat,
            route_to_psap,
            warning,
        } => {
            let faults = match fault(f.as_deref()) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let opts = esinet::EsinetOptions {
                listen,
                faults: faults.clone(),
                psap_heartbeat: psap_heartbeat
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .map(Duration::from_secs_f64),
                psap_override: route_to_psap,
                ..esinet::EsinetOptions::default()
            };
            let e = match esinet::EmbeddedEsinet::start(opts).await {
                Ok(e) => e,
                Err(err) => {
                    eprintln!("error: {err}");
                    return ExitCode::from(2);
                }
            };
            // Nothing takes ladders from a stand-alone SUT: keep no records (they would grow
            // with every message for as long as it runs).
            if let Err(err) = e.stop_recording().await {
                eprintln!("error: {err}");
                return ExitCode::from(2);
            }
            let mut warning_net = None;
            if warning {
                match warning::WarningNet::start(None, &faults.loc.ecrf, &faults.alerts).await {
                    Ok(w) => {
                        if let Some(alerts) = &w.alerts {
                            if let Err(err) = alerts.set_wire_log(false).await {
                                eprintln!("error: the alert server: {err}");
                                return ExitCode::from(2);
                            }
                        }
                        println!("warning ecrf {}", w.ecrf_url);
                        println!("warning ingest {}", w.ingest_url);
                        if let Some(x) = &w.xmpp {
                            println!(
                                "warning xmpp {} domain {} (any account and password)",
                                x.server, x.domain
                            );
                        }
                        warning_net = Some(w);
                    }
                    Err(err) => {
                        eprintln!("error: the warning deployment: {err}");
                        return ExitCode::from(2);
                    }
                }
            }
            let addr = e.public_addr();
            println!("reference ESInet listening on {addr} (UDP and TCP): BCF sip:{addr}; send MESSAGE urn:service:sos SIP/2.0 to it");
            println!("reference PSAP Reply-To: sip:psap@{addr}; ESRP routes urn:service:sos and sub-services to it");
            let stop = tokio::signal::ctrl_c();
            tokio::pin!(stop);
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    _ = tick.tick() => {
                        e.discard_http_records();
                        if let Some(ecrf) = warning_net.as_ref().and_then(|w| w.ecrf.as_ref()) {
                            drop(ecrf.log().take());
                        }
                    }
                }
            }
            if let Some(mut w) = warning_net {
                w.shutdown().await;
            }
            e.shutdown().await;
            ExitCode::SUCCESS
        }
    }
}
