//! The async runner: binds the APP and PSAP sides on loopback, starts the schedule at the
//! common epoch, samples the counters and interval histograms once per second (live progress
//! on stderr), evaluates ramp steps as they end, drains, and joins what the APP sent with what
//! the PSAP received.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lmpe_net::{spawn_endpoint, EndpointHandle, SipSocketConfig};
use lmpe_proto::endpoint::TransportKind;
use lmpe_proto::transaction::TimerConfig;
use lmpe_proto::ua::UaConfig;
use lmpe_wire::lmpe::IdentifierProfile;

use crate::app::{LoadApp, LoadAppConfig, Outcome};
use crate::class::{Class, Kind};
use crate::metrics::{Counts, Metric};
use crate::profile::Profile;
use crate::psap::{LoadPsap, LoadPsapConfig};
use crate::report::{self, Interval, Tick, WindowCounts};
use crate::schedule::{Schedule, Shard};
use crate::LoadError;

/// How far in the past a common start may be before the run refuses (it would start with a
/// burst of overdue arrivals).
const LATE_START_TOLERANCE_S: f64 = 1.0;
/// Longest wait for a common start in the future.
const MAX_START_WAIT_S: f64 = 24.0 * 3600.0;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The profile.
    pub profile: Profile,
    /// Which arrivals this process plays.
    pub shard: Shard,
    /// Common start (Unix seconds), overriding the profile's.
    pub start_at_epoch_s: Option<f64>,
    /// Print one progress line per second to stderr.
    pub progress: bool,
    /// Where the load PSAP listens (port 0: any).
    pub psap_listen: SocketAddr,
}

/// The SUT's addresses.
#[derive(Debug, Clone)]
pub struct SutAddress {
    /// Name in reports.
    pub name: String,
    /// The BCF (public entry point).
    pub bcf: SocketAddr,
    /// Transport towards the BCF.
    pub transport: TransportKind,
    /// The load PSAP's Reply-To as the SUT knows it, e.g. `sip:psap@<BCF>`.
    pub psap_reply_to: String,
    /// Where the PSAP sends its requests (`None`: the BCF).
    pub psap_outbound: Option<SocketAddr>,
}

/// Everything a run measured, before it is summarised (also what `merge` rebuilds).
#[derive(Debug, Clone)]
pub struct RunData {
    /// The profile.
    pub profile: Profile,
    /// Shards in this data.
    pub shards: Vec<Shard>,
    /// What was loaded.
    pub target: String,
    /// Common start (Unix seconds).
    pub start_epoch_s: f64,
    /// Length (seconds).
    pub elapsed_s: f64,
    /// Counters (after the join).
    pub counts: Counts,
    /// Counters once per second.
    pub timeline: Vec<Tick>,
    /// Interval histograms.
    pub intervals: BTreeMap<(Class, Metric), Vec<Interval>>,
    /// Deliveries the join could not attribute.
    pub unknown_deliveries: u64,
}

/// Endpoints bound, not yet started.
#[derive(Debug)]
pub struct Prepared {
    app: EndpointHandle<LoadApp>,
    psap: EndpointHandle<LoadPsap>,
    opts: RunOptions,
}

fn ua_config(profile: &Profile) -> UaConfig {
    let mut ua = UaConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)));
    let t1 = profile.t1();
    ua.timers = TimerConfig {
        t1,
        ..TimerConfig::default()
    };
    ua.grammar_check = profile.sip.grammar_check;
    if let Some(l) = profile.sip.udp_size_limit {
        ua.udp_size_limit = l;
    }
    ua
}

/// Binds the APP and PSAP sides.
pub async fn prepare(opts: RunOptions) -> Result<Prepared, LoadError> {
    opts.profile.validate()?;
    let ua = ua_config(&opts.profile);
    let placeholder = SocketAddr::from(([127, 0, 0, 1], 9));
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32 ^ d.subsec_nanos())
        ^ (opts.shard.k << 20);
    let psap = LoadPsap::new(LoadPsapConfig {
        profile: opts.profile.clone(),
        outbound: (TransportKind::Udp, placeholder),
        reply_to: String::new(),
        ua: ua.clone(),
        identifiers: IdentifierProfile::default(),
    });
    let psap = spawn_endpoint(psap, SipSocketConfig::new(opts.psap_listen)).await?;
    let psap_addr = psap.local_addr();
    psap.with(move |p, _| p.set_local(psap_addr)).await?;
    let app = LoadApp::new(LoadAppConfig {
        profile: opts.profile.clone(),
        shard: opts.shard,
        outbound: (TransportKind::Udp, placeholder),
        ua,
        element_id: "load.harness.test".into(),
        nonce,
        identifiers: IdentifierProfile::default(),
    });
    let app = spawn_endpoint(app, SipSocketConfig::loopback()).await?;
    let app_addr = app.local_addr();
    app.with(move |a, _| a.set_local(app_addr)).await?;
    Ok(Prepared { app, psap, opts })
}

fn snapshot_counts(app: &Counts, psap: &Counts) -> Counts {
    let mut c = app.clone();
    c.add(psap);
    c
}

impl Prepared {
    /// Where the load PSAP listens (route the SUT's emergency chats here).
    pub fn psap_addr(&self) -> SocketAddr {
        self.psap.local_addr()
    }

    /// Where the load APP listens.
    pub fn app_addr(&self) -> SocketAddr {
        self.app.local_addr()
    }

    /// The SUT for a run without one: the APP talks to the load PSAP directly (measures the
    /// harness itself).
    pub fn direct(&self) -> SutAddress {
        let psap = self.psap_addr();
        SutAddress {
            name: format!("none: APP -> load PSAP {psap} directly"),
            bcf: psap,
            transport: TransportKind::Udp,
            psap_reply_to: format!("sip:psap@{psap}"),
            psap_outbound: Some(self.app_addr()),
        }
    }

    /// Runs the profile against `sut` and returns what was measured.
    pub async fn run(self, sut: SutAddress) -> Result<RunData, LoadError> {
        let Self { app, psap, opts } = self;
        let profile = opts.profile.clone();
        let reply_to = sut.psap_reply_to.clone();
        let bcf = sut.bcf;
        let psap_out = sut.psap_outbound.unwrap_or(bcf);
        psap.with(move |p, _| p.set_outbound((TransportKind::Udp, psap_out), &reply_to))
            .await?;
        let transport = sut.transport;
        app.with(move |a, _| a.set_outbound((transport, bcf)))
            .await?;

        // The common start: an absolute time shared by all shards, else shortly from now.
        let now_sys = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let start_epoch_s = opts
            .start_at_epoch_s
            .or(profile.start_at_epoch_s)
            .unwrap_or(now_sys + 0.2);
        let wait = start_epoch_s - now_sys;
        if !(-LATE_START_TOLERANCE_S..=MAX_START_WAIT_S).contains(&wait) {
            return Err(LoadError::Profile(format!(
                "the common start {start_epoch_s:.3} is {:.1} s {} now",
                wait.abs(),
                if wait < 0.0 { "before" } else { "after" }
            )));
        }
        let epoch = Instant::now() + Duration::from_secs_f64(wait.max(0.0));
        psap.with(move |p, _| p.begin(epoch)).await?;
        app.with(move |a, _| a.begin(epoch)).await?;
        if opts.progress {
            eprintln!(
                "load {}: shard {}/{}, {} arrivals in all shards, SUT {} ({:?}), load PSAP {}",
                profile.name,
                opts.shard.k,
                opts.shard.n,
                Schedule::new(&profile, opts.shard).total(),
                sut.bcf,
                sut.transport,
                psap.local_addr()
            );
        }

        let schedule_end = Schedule::new(&profile, opts.shard).end().as_secs_f64();
        let phases = profile.phases();
        let mut intervals: BTreeMap<(Class, Metric), Vec<Interval>> = BTreeMap::new();
        let mut timeline: Vec<Tick> = Vec::new();
        let mut evaluated = 0usize;
        let mut cutoff: Option<f64> = None;
        let mut tick = tokio::time::interval_at(
            tokio::time::Instant::from_std(epoch + Duration::from_secs(1)),
            Duration::from_secs(1),
        );
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let hard_end = schedule_end + profile.drain_s + 2.0;
        let mut last_t = 0.0;
        loop {
            tick.tick().await;
            let t = Instant::now()
                .saturating_duration_since(epoch)
                .as_secs_f64();
            let (ah, ac, active, in_flight, arrivals_done) = app
                .with(|a, _| {
                    (
                        a.take_histograms(),
                        a.counts(),
                        a.active_chats(),
                        a.in_flight(),
                        a.arrivals_done(),
                    )
                })
                .await?;
            let (ph, pc) = psap.with(|p, _| (p.take_histograms(), p.counts())).await?;
            for (c, m, h) in ah.into_iter().chain(ph) {
                intervals
                    .entry((c, m))
                    .or_default()
                    .push(Interval::new(last_t, t - last_t, &h));
            }
            last_t = t;
            let counts = snapshot_counts(&ac, &pc);
            let now_tick = Tick::of(t, &counts, active as u64);
            if opts.progress {
                progress_line(&now_tick, timeline.last(), &intervals, in_flight);
            }
            timeline.push(now_tick);
            // Ramp: judge each step as it ends; stop the arrivals after the first breach.
            while let Some(p) = phases.get(evaluated) {
                if t + 1e-6 < p.start_s + p.duration_s || cutoff.is_some() {
                    break;
                }
                let steps = report::steps(&profile, &intervals, &timeline, opts.shard.n);
                let step = steps.get(evaluated);
                if let Some(s) = step {
                    if opts.progress {
                        eprintln!(
                            "step {} at {:.0} chats/s: {} (max {} chats held)",
                            s.step,
                            s.rate,
                            if s.pass { "SLOs held" } else { "SLO breached" },
                            s.max_active_chats
                        );
                    }
                    let stop = !s.pass && profile.ramp.as_ref().is_some_and(|r| r.stop_on_breach);
                    if stop {
                        let at = Duration::from_secs_f64(p.start_s + p.duration_s);
                        app.with(move |a, _| a.stop_arrivals(at)).await?;
                        cutoff = Some(p.start_s + p.duration_s);
                    }
                }
                evaluated += 1;
            }
            let end = cutoff.unwrap_or(schedule_end);
            let drained = arrivals_done && active == 0 && in_flight == 0;
            if t >= end && (drained || t >= end + profile.drain_s) || t >= hard_end {
                break;
            }
        }

        // The join: what the APP sent against what the PSAP received.
        let (ah, mut counts, ledger) = app
            .with(|a, _| {
                let h = a.take_histograms();
                let (c, l) = a.finish();
                (h, c, l)
            })
            .await?;
        let (ph, pc, delivered) = psap
            .with(|p, _| {
                let h = p.take_histograms();
                let (c, d) = p.finish();
                (h, c, d)
            })
            .await?;
        let t = Instant::now()
            .saturating_duration_since(epoch)
            .as_secs_f64();
        for (c, m, h) in ah.into_iter().chain(ph) {
            intervals.entry((c, m)).or_default().push(Interval::new(
                last_t,
                (t - last_t).max(0.001),
                &h,
            ));
        }
        app.shutdown().await;
        psap.shutdown().await;
        counts.add(&pc);
        let mut unknown = 0;
        for key in delivered.keys() {
            if !ledger.contains_key(key) {
                unknown += 1;
            }
        }
        for (key, e) in &ledger {
            let got = delivered.contains_key(key);
            let k = counts.msg(e.class, e.kind);
            match (e.outcome, got) {
                (Outcome::Ok, false) => {
                    k.ok_not_delivered += 1;
                    k.not_delivered += 1;
                }
                (_, false) => k.not_delivered += 1,
                (Outcome::Ok | Outcome::Pending, true) => {}
                (_, true) => k.delivered_not_ok += 1,
            }
        }
        // Heartbeats carry no Message Identifier: by count (deliveries beyond the sent count
        // are duplicates the SUT created, e.g. a stateless proxy forwarding a UDP
        // retransmission to a TCP server transaction that has already ended).
        for class in Class::ALL {
            let k = counts.msg(class, Kind::Heartbeat);
            if k.delivered > k.sent {
                k.duplicates += k.delivered - k.sent;
                k.delivered = k.sent;
            }
            k.not_delivered = k.sent - k.delivered;
        }
        let active_end = counts.chats_total().unfinished;
        timeline.push(Tick::of(t, &counts, active_end));
        Ok(RunData {
            profile,
            shards: vec![opts.shard],
            target: sut.name,
            start_epoch_s,
            elapsed_s: t,
            counts,
            timeline,
            intervals,
            unknown_deliveries: unknown,
        })
    }
}

fn progress_line(
    now: &Tick,
    prev: Option<&Tick>,
    intervals: &BTreeMap<(Class, Metric), Vec<Interval>>,
    in_flight: usize,
) {
    let prev = prev.cloned().unwrap_or_default();
    let p99 = |c: Class| {
        intervals
            .get(&(c, Metric::Routing))
            .and_then(|v| v.last())
            .filter(|iv| iv.start_s + iv.duration_s >= now.t_s - 1e-6)
            .map_or("-".to_string(), |iv| {
                format!("{:.1}", iv.p99 as f64 / 1000.0)
            })
    };
    eprintln!(
        "[{:>6.1}s] chats +{} held {} | msgs sent +{} delivered +{} ok +{} rejected +{} timeout +{} in flight {} | routing p99 ms esnet.0 {} esnet.1 {} esnet.2 {} none {}",
        now.t_s,
        now.arrived - prev.arrived.min(now.arrived),
        now.active_chats,
        now.sent - prev.sent.min(now.sent),
        now.delivered - prev.delivered.min(now.delivered),
        now.ok - prev.ok.min(now.ok),
        now.rejected - prev.rejected.min(now.rejected),
        now.timed_out - prev.timed_out.min(now.timed_out),
        in_flight,
        p99(Class::Esnet0),
        p99(Class::Esnet1),
        p99(Class::Esnet2),
        p99(Class::None),
    );
}

/// Sums of counters over a run, for the limits.
pub fn window_counts(counts: &Counts) -> WindowCounts {
    let mut w = WindowCounts::default();
    for kind in [Kind::Start, Kind::InChat, Kind::Stop] {
        let k = counts.kind_total(kind);
        w.sent += k.sent;
        w.not_delivered += k.not_delivered;
    }
    let t = counts.total();
    w.timed_out = t.timed_out;
    let c = counts.chats_total();
    w.arrived = c.arrived;
    // A chat still open when the run ended did not complete: it counts as failed.
    w.failed = c.failed_total() + c.unfinished;
    w
}
