//! `lmpe-locsvc`: the simulated LIS and ECRF as a stand-alone HTTP server (for a SUT such as
//! Kamailio started by hand, see tests/kamailio/README.md).
//!
//! ```text
//! lmpe-locsvc [--listen 127.0.0.1:8080] [--areas FILE] [--lis FILE]
//!             [--var NAME=VALUE]... [--fault NAME]... [--no-routing-support]
//! ```
//!
//! Without `--areas`/`--lis` the sample data is served; `--var PSAP_A=sip:psap-a@127.0.0.1:5070`
//! fills in `${PSAP_A}`. ECRF on `POST /lost`, LIS on `POST /held` and `POST /loc/<token>`.
//! Every HTTP message is printed to stdout. Stops on Ctrl-C. Of several `--fault`s for one
//! service the last applies.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use lmpe_locsvc::http::{serve, LocServices};
use lmpe_locsvc::{
    fill_template, Ecrf, EcrfConfig, EcrfFaults, Lis, LisConfig, LisFaults, LisTable, LocsvcError,
    ServiceAreas, SAMPLE_AREAS, SAMPLE_LIS,
};

struct Args {
    listen: SocketAddr,
    areas: Option<PathBuf>,
    lis: Option<PathBuf>,
    vars: Vec<(String, String)>,
    faults: Vec<String>,
    routing_support: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
        areas: None,
        lis: None,
        vars: Vec::new(),
        faults: Vec::new(),
        routing_support: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => {
                let v = value()?;
                a.listen = v.parse().map_err(|e| format!("--listen {v}: {e}"))?;
            }
            "--areas" => a.areas = Some(value()?.into()),
            "--lis" => a.lis = Some(value()?.into()),
            "--var" => {
                let v = value()?;
                let (k, val) = v
                    .split_once('=')
                    .ok_or_else(|| format!("--var {v}: expected NAME=VALUE"))?;
                a.vars.push((k.to_owned(), val.to_owned()));
            }
            "--fault" => a.faults.push(value()?),
            "--no-routing-support" => a.routing_support = false,
            "-h" | "--help" => {
                return Err(format!(
                    "usage: lmpe-locsvc [--listen ADDR] [--areas FILE] [--lis FILE] \
                     [--var NAME=VALUE]... [--fault NAME]... [--no-routing-support]\n\
                     faults: {} {}",
                    EcrfFaults::NAMES.join(" "),
                    LisFaults::NAMES.join(" ")
                ))
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(a)
}

fn services(a: &Args) -> Result<LocServices, LocsvcError> {
    let vars: Vec<(&str, &str)> = a
        .vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let areas = match &a.areas {
        Some(p) => ServiceAreas::load(p, &vars)?,
        None => ServiceAreas::from_geojson(&fill_template(SAMPLE_AREAS, &vars)?)?,
    };
    let table = match &a.lis {
        Some(p) => LisTable::load(p, &vars)?,
        None => LisTable::from_json(&fill_template(SAMPLE_LIS, &vars)?)?,
    };
    let mut ecrf = Ecrf::new(areas.clone(), EcrfConfig::default());
    let mut lis = Lis::new(
        table,
        areas,
        LisConfig {
            routing_support: a.routing_support,
            ..LisConfig::default()
        },
    );
    for f in &a.faults {
        if f.starts_with("ecrf-") {
            ecrf.set_faults(EcrfFaults::from_name(f)?);
        } else {
            lis.set_faults(LisFaults::from_name(f)?);
        }
    }
    Ok(LocServices {
        ecrf: Some(ecrf),
        lis: Some(lis),
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let services = match services(&args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lmpe-locsvc: {e}");
            return ExitCode::from(2);
        }
    };
    let server = match serve(args.listen, services).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("lmpe-locsvc: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "lmpe-locsvc listening on {}: ECRF {} LIS {}",
        server.local_addr(),
        server.url("/lost"),
        server.url("/held")
    );
    let log = server.log().clone();
    let printer = tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            for r in log.take() {
                println!("--- {} {} -> {}\n{}\n", r.note, r.src, r.dst, r.to_text());
            }
        }
    });
    let _ = tokio::signal::ctrl_c().await;
    printer.abort();
    server.shutdown().await;
    ExitCode::SUCCESS
}
