//! The run: a goose attack whose users carry an open schedule.
//!
//! Goose is a closed-model tool: each user runs its transactions in a loop, and
//! `--throttle-requests` only caps the rate; its coordinated-omission mitigation backfills
//! synthetic samples into goose's own millisecond metrics from each user's cadence. Neither
//! gives an open arrival schedule or microsecond latencies from the intended time. So the one
//! transaction of the one scenario here takes the next index `k` of a shared schedule, waits
//! for its due time `start + k / rate` and sends request `k`; its latency is measured from
//! that due time (µs, into HDR histograms), so a server that holds every user busy shows up as
//! latency instead of as a lower rate. Goose supplies the users (the concurrency), the HTTP
//! client, the run time and its own per-request metrics, which are cross-checked against ours.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use goose::config::{GooseConfiguration, GooseDefault, GooseDefaultType};
use goose::goose::{GooseMethod, GooseRequest, GooseUser, Scenario, Transaction, TransactionError};
use goose::metrics::GooseCoordinatedOmissionMitigation;
use goose::GooseAttack;
use hdrhistogram::Histogram;
use lmpe_load::metrics::new_histogram;
use lmpe_load::report::Interval;
use lmpe_load::LoadError;

use crate::profile::HttpProfile;
use crate::ramp::{self, StepPlan, StepResult, StepStats};
use crate::report::{KindCounts, RunData};
use crate::request::{check, location_uris, Outcome, RequestKind, Subjects};

/// Largest latency recorded (µs); larger values are clamped.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// Where the requests go.
#[derive(Debug, Clone)]
pub struct HttpTarget {
    /// Name in reports.
    pub name: String,
    /// The ECRF's LoST URL (needed when the mix has LoST requests).
    pub lost_url: Option<String>,
    /// The LIS's HELD URL (needed when the mix has HELD requests).
    pub held_url: Option<String>,
    /// What the requests are about.
    pub subjects: Subjects,
}

/// Options of a run besides the profile.
#[derive(Debug, Clone)]
pub struct HttpRunOptions {
    /// A progress line on stderr every second.
    pub progress: bool,
}

#[derive(Debug)]
struct KindState {
    counts: KindCounts,
    hist: Histogram<u64>,
    interval: Histogram<u64>,
    intervals: Vec<Interval>,
}

/// What the transactions share.
struct Shared {
    table: Vec<RequestKind>,
    seed: u64,
    /// The schedule's steps (one without a ramp).
    plan: Vec<StepPlan>,
    /// Schedule indices at or beyond this are not sent (lowered when a ramp stops).
    limit: AtomicU64,
    /// Requests started (schedule indices taken below the limit).
    taken: AtomicU64,
    /// Requests that have ended (any outcome).
    ended: AtomicU64,
    /// Per step, what its requests came to.
    steps: Vec<Mutex<StepStats>>,
    timeout: Duration,
    subjects: Subjects,
    lost_url: String,
    held_url: String,
    deref_uris: Vec<String>,
    next: AtomicU64,
    start: OnceLock<Instant>,
    kinds: Vec<Mutex<KindState>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A smooth weighted round robin over the weights: each type as evenly spread as its weight
/// allows (nginx's algorithm).
fn mix_table(weights: &[(RequestKind, u32)]) -> Vec<RequestKind> {
    let total: i64 = weights.iter().map(|(_, w)| i64::from(*w)).sum();
    let mut current = vec![0_i64; weights.len()];
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..total {
        let mut best = 0;
        for (i, (_, w)) in weights.iter().enumerate() {
            current[i] += i64::from(*w);
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= total;
        out.push(weights[best].0);
    }
    out
}

fn classify(e: &reqwest::Error) -> Outcome {
    if e.is_timeout() {
        Outcome::Timeout
    } else {
        Outcome::TransportError
    }
}

impl Shared {
    async fn one(&self, user: &mut GooseUser) {
        let k = self.next.fetch_add(1, Ordering::Relaxed);
        let scheduled = (k < self.limit.load(Ordering::Relaxed))
            .then(|| ramp::due(&self.plan, k))
            .flatten();
        let Some((step, at_s)) = scheduled else {
            // The schedule is done (or the ramp stopped): idle until goose's run time ends.
            tokio::time::sleep(Duration::from_millis(100)).await;
            return;
        };
        self.taken.fetch_add(1, Ordering::Relaxed);
        let start = *self.start.get_or_init(Instant::now);
        let due = start + Duration::from_secs_f64(at_s);
        tokio::time::sleep_until(due.into()).await;
        let kind = self.table[(k % self.table.len() as u64) as usize];
        let (url, body) = match kind {
            RequestKind::HeldDereference => (
                self.deref_uris[(k % self.deref_uris.len() as u64) as usize].as_str(),
                self.subjects.body(kind, self.seed, k),
            ),
            RequestKind::HeldLocationRequest => (
                self.held_url.as_str(),
                self.subjects.body(kind, self.seed, k),
            ),
            _ => (
                self.lost_url.as_str(),
                self.subjects.body(kind, self.seed, k),
            ),
        };
        lock(&self.kinds[kind.index()]).counts.sent += 1;
        lock(&self.steps[step]).sent(kind);
        let builder = user
            .client
            .post(url)
            .header("content-type", kind.media_type())
            .header("accept", kind.media_type())
            .body(body)
            .timeout(self.timeout);
        let request = GooseRequest::builder()
            .method(GooseMethod::Post)
            .name(kind.name())
            .set_request_builder(builder)
            .build();
        let outcome = match user.request(request).await {
            Err(e) => match *e {
                TransactionError::Reqwest(ref re) => classify(re),
                _ => Outcome::TransportError,
            },
            Ok(answer) => match answer.response {
                Err(re) => classify(&re),
                Ok(r) => {
                    let status = r.status().as_u16();
                    let ctype = r
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    match r.bytes().await {
                        Ok(b) => check(kind, status, ctype.as_deref(), &b),
                        Err(re) => classify(&re),
                    }
                }
            },
        };
        let us = (due.elapsed().as_micros() as u64).clamp(1, MAX_LATENCY_US);
        let mut st = lock(&self.kinds[kind.index()]);
        let answered = !matches!(outcome, Outcome::Timeout | Outcome::TransportError);
        st.counts.add(&outcome);
        if answered {
            let _ = st.hist.record(us);
            let _ = st.interval.record(us);
        }
        drop(st);
        lock(&self.steps[step]).ended(kind, &outcome, answered.then_some(us));
        self.ended.fetch_add(1, Ordering::Relaxed);
    }

    /// Judges the steps from `from` on whose requests have all ended (or whose end lies more
    /// than a request budget and a second behind, whatever is still open); returns the next
    /// step to judge and the first breached step's result, if any.
    fn judge_ready(
        &self,
        profile: &HttpProfile,
        from: usize,
        since_start_s: f64,
    ) -> (usize, Option<StepResult>) {
        let budget_s = self.timeout.as_secs_f64() + 1.0;
        let mut i = from;
        while let Some(plan) = self.plan.get(i) {
            let st = lock(&self.steps[i]);
            let sent = st.total().sent;
            let complete = since_start_s >= plan.end_s() && sent == plan.count && st.done == sent;
            if !complete && since_start_s < plan.end_s() + budget_s {
                break;
            }
            let r = ramp::judge(profile, i, plan, &st, true);
            i += 1;
            if r.pass == Some(false) {
                return (i, Some(r));
            }
        }
        (i, None)
    }

    /// Moves each type's interval histogram into its list; the sums for the progress line.
    fn tick(&self, t_s: f64, dt_s: f64) -> (KindCounts, u64) {
        let mut total = KindCounts::default();
        let mut p99 = 0;
        for m in &self.kinds {
            let mut st = lock(m);
            let iv = Interval::new(t_s - dt_s, dt_s, &st.interval);
            p99 = p99.max(iv.p99);
            st.intervals.push(iv);
            st.interval.reset();
            total.merge(&st.counts);
        }
        (total, p99)
    }
}

fn epoch_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Asks the LIS for location URIs of the device (HELD `locationURI`), for the dereference
/// requests; outside the measured schedule.
async fn fetch_location_uris(
    held_url: &str,
    subjects: &Subjects,
    timeout: Duration,
) -> Result<Vec<String>, LoadError> {
    let err = |m: String| {
        LoadError::Http(format!(
            "location URIs for the dereference requests from {held_url}: {m}"
        ))
    };
    let client = reqwest::Client::builder()
        .timeout(timeout.max(Duration::from_secs(2)))
        .build()
        .map_err(|e| err(e.to_string()))?;
    let body = subjects.held(Some(vec![lmpe_location::held::LocationKind::LocationUri]));
    let r = client
        .post(held_url)
        .header("content-type", lmpe_location::MIME_HELD)
        .body(body)
        .send()
        .await
        .map_err(|e| err(e.to_string()))?;
    let status = r.status().as_u16();
    let bytes = r.bytes().await.map_err(|e| err(e.to_string()))?;
    if status != 200 {
        return Err(err(format!("HTTP {status}")));
    }
    location_uris(&bytes).map_err(err)
}

fn goose_err(e: impl std::fmt::Debug) -> LoadError {
    LoadError::Http(format!("goose: {e:?}"))
}

/// Runs `profile` against `target`: the counts, histograms and interval histograms of every
/// request type, and goose's own request counts.
pub async fn run(
    profile: &HttpProfile,
    target: &HttpTarget,
    opts: &HttpRunOptions,
) -> Result<RunData, LoadError> {
    let weights = profile.weights();
    let needs = |f: fn(RequestKind) -> bool| weights.iter().any(|(k, _)| f(*k));
    let lost_url = match (&target.lost_url, needs(|k| !k.is_held())) {
        (Some(u), _) => u.clone(),
        (None, true) => {
            return Err(LoadError::Profile(
                "the mix has LoST requests but the target has no ECRF URL ([ecrf] url)".into(),
            ))
        }
        (None, false) => String::new(),
    };
    let held_url = match (&target.held_url, needs(RequestKind::is_held)) {
        (Some(u), _) => u.clone(),
        (None, true) => {
            return Err(LoadError::Profile(
                "the mix has HELD requests but the target has no LIS URL ([lis] url)".into(),
            ))
        }
        (None, false) => String::new(),
    };
    let deref_uris = if needs(|k| k == RequestKind::HeldDereference) {
        fetch_location_uris(&held_url, &target.subjects, profile.timeout()).await?
    } else {
        Vec::new()
    };
    let mut subjects = target.subjects.clone();
    subjects.service.clone_from(&profile.service);
    let plan = profile.plan();
    let shared = Arc::new(Shared {
        table: mix_table(&weights),
        seed: profile.seed,
        limit: AtomicU64::new(profile.arrivals()),
        taken: AtomicU64::new(0),
        ended: AtomicU64::new(0),
        steps: plan.iter().map(|_| Mutex::default()).collect(),
        plan: plan.clone(),
        timeout: profile.timeout(),
        subjects,
        lost_url: lost_url.clone(),
        held_url: held_url.clone(),
        deref_uris,
        next: AtomicU64::new(0),
        start: OnceLock::new(),
        kinds: RequestKind::ALL
            .iter()
            .map(|_| {
                Mutex::new(KindState {
                    counts: KindCounts::default(),
                    hist: new_histogram(),
                    interval: new_histogram(),
                    intervals: Vec::new(),
                })
            })
            .collect(),
    });
    let st = shared.clone();
    let transaction = Transaction::new(Arc::new(move |user: &mut GooseUser| {
        let st = st.clone();
        Box::pin(async move {
            st.one(user).await;
            Ok(())
        })
    }))
    .set_name("scheduled-request");
    let scenario = Scenario::new("http-load").register_transaction(transaction);
    // Goose's run time counts whole seconds from when the users are launched: the schedule,
    // then one request budget for the last answers, then a margin.
    let run_time = (profile.schedule_s() + profile.timeout().as_secs_f64() + 1.0).ceil() as usize;
    let host = if lost_url.is_empty() {
        &held_url
    } else {
        &lost_url
    };
    let attack = GooseAttack::initialize_with_config(GooseConfiguration::default())
        .map_err(goose_err)?
        .register_scenario(scenario)
        .set_default(GooseDefault::Host, host.as_str())
        .and_then(|a| (*a).set_default(GooseDefault::Users, profile.users))
        .and_then(|a| {
            (*a).set_default(
                GooseDefault::IncreaseRate,
                profile.users.to_string().as_str(),
            )
        })
        .and_then(|a| (*a).set_default(GooseDefault::RunTime, run_time))
        .and_then(|a| (*a).set_default(GooseDefault::Quiet, 1))
        .and_then(|a| (*a).set_default(GooseDefault::NoPrintMetrics, true))
        .and_then(|a| (*a).set_default(GooseDefault::NoErrorSummary, true))
        .and_then(|a| (*a).set_default(GooseDefault::NoTelnet, true))
        .and_then(|a| (*a).set_default(GooseDefault::NoResetMetrics, true))
        .and_then(|a| {
            (*a).set_default(
                GooseDefault::CoordinatedOmissionMitigation,
                GooseCoordinatedOmissionMitigation::Disabled,
            )
        })
        .map_err(goose_err)?;
    let start_epoch_s = epoch_s();
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    // A ramp that stops: the step that broke (as judged then).
    let stopped_at: Arc<Mutex<Option<StepResult>>> = Arc::default();
    let ticker = {
        let (shared, stop, stopped_at) = (shared.clone(), stop.clone(), stopped_at.clone());
        let progress = opts.progress;
        let total = profile.arrivals();
        let ramp_stops = profile.ramp.as_ref().is_some_and(|r| r.stop_on_breach);
        let profile = profile.clone();
        tokio::spawn(async move {
            let mut last = 0.0;
            let mut next_step = 0;
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.tick().await;
            while !stop.load(Ordering::Relaxed) {
                every.tick().await;
                let t = t0.elapsed().as_secs_f64();
                let (c, p99) = shared.tick(t, t - last);
                last = t;
                if ramp_stops {
                    let mut stopped = lock(&stopped_at);
                    if stopped.is_none() {
                        if let Some(start) = shared.start.get() {
                            let (n, breach) = shared.judge_ready(
                                &profile,
                                next_step,
                                start.elapsed().as_secs_f64(),
                            );
                            next_step = n;
                            if let Some(r) = breach {
                                // No new requests; the run ends once those in flight have.
                                shared
                                    .limit
                                    .store(shared.next.load(Ordering::Relaxed), Ordering::Relaxed);
                                if progress {
                                    eprintln!(
                                        "[{t:6.1} s] step {} ({} requests/s) breached: {}; stopping",
                                        r.step,
                                        r.rate,
                                        r.breaches.join("; ")
                                    );
                                }
                                *stopped = Some(r);
                            }
                        }
                    }
                    if stopped.is_some()
                        && shared.ended.load(Ordering::Relaxed)
                            >= shared.taken.load(Ordering::Relaxed)
                    {
                        goose::trigger_killswitch("lmpe-load: the ramp breached a threshold");
                    }
                }
                if progress {
                    eprintln!(
                        "[{t:6.1} s] sent {}/{total} ok {} http-err {} proto-err {} timeout {} transport {} | p99 this second {:.2} ms",
                        c.sent,
                        c.ok,
                        c.http_error_total(),
                        c.protocol_error_total(),
                        c.timeout,
                        c.transport_error,
                        p99 as f64 / 1000.0
                    );
                }
            }
            let t = t0.elapsed().as_secs_f64();
            let _ = shared.tick(t, (t - last).max(1e-3));
        })
    };
    let metrics = Box::pin((*attack).execute()).await;
    stop.store(true, Ordering::Relaxed);
    let _ = ticker.await;
    // The killswitch is process-wide; a later run in this process must not inherit it.
    goose::reset_killswitch();
    let metrics = metrics.map_err(goose_err)?;
    let elapsed_s = t0.elapsed().as_secs_f64();
    let mut goose_requests = std::collections::BTreeMap::new();
    for a in metrics.requests.values() {
        *goose_requests.entry(a.path.clone()).or_insert(0) +=
            (a.success_count + a.fail_count) as u64;
    }
    let stopped_at = lock(&stopped_at).take();
    let taken = shared.taken.load(Ordering::Relaxed);
    let mut data = RunData {
        profile: profile.clone(),
        target: target.name.clone(),
        lost_url,
        held_url,
        start_epoch_s,
        elapsed_s,
        // A stopped ramp scheduled only what it sent.
        scheduled: if stopped_at.is_some() {
            taken
        } else {
            profile.arrivals()
        },
        claimed: taken,
        kinds: Default::default(),
        goose_requests,
        steps: final_steps(profile, &plan, &shared.steps, stopped_at.as_ref()),
        stopped_after_step: stopped_at.map(|r| r.step),
    };
    for kind in RequestKind::ALL {
        let st = lock(&shared.kinds[kind.index()]);
        if st.counts.sent > 0 || weights.iter().any(|(k, _)| *k == kind) {
            data.kinds.insert(
                kind,
                (st.counts.clone(), st.hist.clone(), st.intervals.clone()),
            );
        }
    }
    Ok(data)
}

/// Every step judged from the final figures (steps are judged only in a ramp). The step a
/// stopped ramp broke at keeps the verdict that stopped it; the steps after it are reported
/// unjudged.
fn final_steps(
    profile: &HttpProfile,
    plan: &[StepPlan],
    stats: &[Mutex<StepStats>],
    stopped_at: Option<&StepResult>,
) -> Vec<StepResult> {
    plan.iter()
        .zip(stats)
        .enumerate()
        .map(|(i, (p, st))| {
            let judged = profile.ramp.is_some() && !matches!(stopped_at, Some(s) if i > s.step);
            let r = ramp::judge(profile, i, p, &lock(st), judged);
            match stopped_at {
                Some(s) if i == s.step && r.pass == Some(true) => s.clone(),
                _ => r,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_table_spreads_by_weight() {
        let t = mix_table(&[
            (RequestKind::FindServiceGeodetic, 3),
            (RequestKind::HeldLocationRequest, 1),
        ]);
        assert_eq!(t.len(), 4);
        assert_eq!(
            t.iter()
                .filter(|k| **k == RequestKind::FindServiceGeodetic)
                .count(),
            3
        );
        let t = mix_table(&[
            (RequestKind::FindServiceCivic, 1),
            (RequestKind::HeldDereference, 1),
        ]);
        assert_ne!(t[0], t[1]);
    }
}
