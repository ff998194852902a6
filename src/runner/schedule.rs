//! The whole run: scenarios in parallel up to `jobs` (a semaphore over
//! tokio tasks), scenarios that must run alone on a shared target after
//! them, `fail_fast`, the run's time limit (with a safety net that aborts
//! a scenario still running 5 s past it), totals, and a last redaction
//! pass. Results come back in plan order whatever the completion order.
//! It must not execute steps itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::context::ScenarioContext;
use super::pacing::{self, Use};
use super::scenario::{bare_report, run_scenario};
use super::{PlannedScenario, ProgressEvent, RunPlan};
use crate::redact::Secrets;
use crate::report::model::{Outcome, REPORT_SCHEMA_VERSION, RunReport, ScenarioReport, TargetInfo};
use crate::scenario::Level;

/// How long past the run's time limit a scenario task may take before it
/// is aborted (its own limits stop it well before, normally).
const RUN_GRACE: Duration = Duration::from_secs(5);

/// Event types sent beyond a job's parties (every agent whose
/// specializations match a new job: llms.txt, "Real-time events").
fn reaches_others(event_type: &str) -> bool {
    event_type == "job.available"
}

/// True when the scenario must not share a remote target with others.
fn runs_alone(p: &PlannedScenario, ctx: &ScenarioContext) -> bool {
    ctx.target().shared()
        && (p.scenario.exclusive
            || p.steps.iter().any(|s| s.clock.is_some())
            || (p.scenario.moves_money && !ctx.sandbox())
            // `job.available` reaches every matching agent: another
            // scenario's job could answer a `no_event` or a second
            // `exactly_once` of it. The other types go to a job's own
            // parties, whose accounts no other scenario holds at once.
            || p.steps.iter().any(|s| {
                s.no_event
                    .as_ref()
                    .is_some_and(|n| n.event_type.as_deref().is_none_or(reaches_others))
                    || s.event
                        .as_ref()
                        .is_some_and(|e| e.exactly_once == Some(true) && reaches_others(&e.event_type))
            })
            // Requests sent at once race each other, not other scenarios'
            // load; a balance equation sums wallets nothing else may move.
            || p.steps.iter().any(|s| s.concurrent.is_some() || s.conserve.is_some()))
}

/// The order scenarios start in (ties keep plan order). Against a paced
/// target, those pacing will likely hold up longest go first, so that their
/// waits overlap the others' work. Against any other, the longest go
/// first: those that wait for keepalives, then by requests sent, so that
/// no long scenario starts last and runs on alone.
fn start_order(planned: &[Arc<PlannedScenario>], ctx: &ScenarioContext) -> Vec<usize> {
    let mut order: Vec<usize> = (0..planned.len()).collect();
    if ctx.pace() {
        let waits: Vec<Duration> = planned.iter().map(|p| pacing_wait(p, ctx.default_tier())).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(waits[i]));
    } else {
        let lengths: Vec<(bool, u64)> = planned.iter().map(|p| length(p)).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    }
    order
}

/// How long `p` likely runs, unpaced: whether it waits for keepalives (a
/// wait no other work shortens), and the requests it sends.
fn length(p: &PlannedScenario) -> (bool, u64) {
    let keepalives = p.steps.iter().any(|s| {
        s.event
            .as_ref()
            .is_some_and(|e| e.event_type == super::events::KEEPALIVE)
    });
    let requests = p
        .steps
        .iter()
        .map(|s| s.repeat.as_ref().map_or(1, |r| u64::from(r.times)))
        .sum();
    (keepalives, requests)
}

/// What pacing will likely make `p` wait ([`pacing::expected_wait`]).
fn pacing_wait(p: &PlannedScenario, default_tier: crate::scenario::Tier) -> Duration {
    let uses = p.steps.iter().filter_map(|step| {
        if let Some(c) = &step.clock {
            return Some(Use::Clock(Duration::from_secs(c.advance_seconds.max(0).unsigned_abs())));
        }
        step.request.as_ref()?;
        let actor = step.actor.as_deref()?;
        let tier = p
            .scenario
            .actors
            .get(actor)
            .and_then(|a| a.tier)
            .unwrap_or(default_tier);
        let limit = pacing::per_minute(tier);
        Some(match &step.repeat {
            Some(r) => Use::Burst {
                actor,
                limit,
                count: r.times,
            },
            None => Use::Request { actor, limit },
        })
    });
    pacing::expected_wait(uses)
}

struct Shared {
    ctx: ScenarioContext,
    stop: AtomicBool,
    stopped_by: parking_lot::Mutex<Option<String>>,
}

impl Shared {
    /// A report for a scenario that will not start, or `None` to start it.
    fn gate(&self, p: &PlannedScenario) -> Option<ScenarioReport> {
        if self.stop.load(Ordering::SeqCst) {
            let by = self.stopped_by.lock().clone().unwrap_or_default();
            return Some(bare_report(
                p,
                Outcome::Skipped {
                    reason: format!("not run: fail-fast after `{by}` failed"),
                },
                Duration::ZERO,
            ));
        }
        if let Some(at) = self.ctx.run_deadline
            && Instant::now() >= at
        {
            return Some(bare_report(
                p,
                Outcome::Errored {
                    message: "not started: the run's time limit was reached".into(),
                },
                Duration::ZERO,
            ));
        }
        None
    }

    fn finished(&self, position: usize, report: &ScenarioReport) {
        if self.ctx.options.fail_fast && report.outcome.is_failed() && report.level == Level::Must {
            let mut by = self.stopped_by.lock();
            if by.is_none() {
                *by = Some(report.id.clone());
            }
            self.stop.store(true, Ordering::SeqCst);
        }
        if let Some(progress) = &self.ctx.options.progress {
            progress(ProgressEvent::ScenarioFinished {
                position,
                report: Box::new(report.clone()),
            });
        }
    }
}

async fn run_one(shared: Arc<Shared>, position: usize, planned: Arc<PlannedScenario>) -> ScenarioReport {
    if let Some(r) = shared.gate(&planned) {
        shared.finished(position, &r);
        return r;
    }
    if let Some(progress) = &shared.ctx.options.progress {
        progress(ProgressEvent::ScenarioStarted {
            position,
            id: planned.scenario.id.clone(),
        });
    }
    let task_planned = planned.clone();
    let task_shared = shared.clone();
    // A task of its own, so that a panic becomes an errored scenario.
    let started = Instant::now();
    let handle = tokio::spawn(async move { run_scenario(&task_planned, &task_shared.ctx).await });
    let abort = handle.abort_handle();
    // A safety net under the run's time limit: every wait inside a scenario
    // is bounded already, but a run with a limit must end whatever happens.
    let joined = match shared.ctx.run_deadline {
        Some(at) => tokio::time::timeout_at((at + RUN_GRACE).into(), handle)
            .await
            .map_err(|_| abort.abort()),
        None => Ok(handle.await),
    };
    let report = match joined {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => bare_report(
            &planned,
            Outcome::Errored {
                message: format!("internal error: the scenario task failed ({e})"),
            },
            started.elapsed(),
        ),
        Err(()) => bare_report(
            &planned,
            Outcome::Errored {
                message: format!(
                    "the run's time limit was reached and the scenario did not stop within {} s of it",
                    RUN_GRACE.as_secs()
                ),
            },
            started.elapsed(),
        ),
    };
    shared.finished(position, &report);
    report
}

/// Runs every scenario of the plan. Never panics; problems are in the report.
pub async fn run(plan: RunPlan) -> RunReport {
    run_with_secrets(plan, Secrets::new()).await
}

/// Like [`run`], registering every secret of the run in `secrets` (keep a
/// clone to scan the written artifacts with [`Secrets::scan_files`]).
pub async fn run_with_secrets(plan: RunPlan, secrets: Secrets) -> RunReport {
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let t0 = Instant::now();
    let spec_info = plan.contract.documented().info();
    let reference_info = plan.contract.reference().map(crate::spec::Spec::info);
    let strict = plan.options.strict;
    let min_executed = plan
        .options
        .min_executed
        .unwrap_or_else(|| crate::report::gate::default_min_executed(plan.target.is_bundled()));
    let progress = plan.options.progress.clone();
    if let Some(p) = &progress {
        p(ProgressEvent::RunStarted {
            total: plan.scenarios.len(),
        });
    }
    let jobs = plan.options.jobs.max(1);
    let ctx =
        match ScenarioContext::with_secrets(plan.contract.clone(), &plan.target, plan.options.clone(), secrets).await {
            Ok(c) => c,
            Err(e) => {
                let scenarios: Vec<ScenarioReport> = plan
                    .scenarios
                    .iter()
                    .map(|p| bare_report(p, Outcome::Errored { message: e.to_string() }, Duration::ZERO))
                    .collect();
                let target = TargetInfo {
                    base_url: String::new(),
                    kind: plan.target.kind().into(),
                    sandbox: plan.target.is_sandbox(),
                    features: vec![],
                };
                let layers = (spec_info, reference_info, strict, min_executed);
                return finish(scenarios, target, layers, started_at, t0, vec![], &progress);
            }
        };
    let shared = Arc::new(Shared {
        ctx,
        stop: AtomicBool::new(false),
        stopped_by: parking_lot::Mutex::new(None),
    });
    let planned: Vec<Arc<PlannedScenario>> = plan.scenarios.into_iter().map(Arc::new).collect();
    let mut results: Vec<Option<ScenarioReport>> = vec![None; planned.len()];

    // Phase 1: everything that may share the target, in parallel; those
    // pacing will hold up the longest start first (results keep plan order).
    let semaphore = Arc::new(Semaphore::new(jobs));
    let mut set = tokio::task::JoinSet::new();
    let mut alone = Vec::new();
    for position in start_order(&planned, &shared.ctx) {
        let p = &planned[position];
        if runs_alone(p, &shared.ctx) {
            alone.push(position);
            continue;
        }
        let Ok(permit) = semaphore.clone().acquire_owned().await else {
            break;
        };
        let (shared, p) = (shared.clone(), p.clone());
        set.spawn(async move {
            let r = run_one(shared, position, p).await;
            drop(permit);
            (position, r)
        });
    }
    while let Some(joined) = set.join_next().await {
        if let Ok((position, r)) = joined {
            results[position] = Some(r);
        }
    }
    // Phase 2: those that must run alone on a shared target, one by one.
    alone.sort_unstable();
    for position in alone {
        let r = run_one(shared.clone(), position, planned[position].clone()).await;
        results[position] = Some(r);
    }

    let scenarios: Vec<ScenarioReport> = results
        .into_iter()
        .zip(planned.iter())
        .map(|(r, p)| {
            r.unwrap_or_else(|| {
                bare_report(
                    p,
                    Outcome::Errored {
                        message: "internal error: the scenario never reported".into(),
                    },
                    Duration::ZERO,
                )
            })
        })
        .collect();
    let target = shared.ctx.target_info();
    let money = shared.ctx.money();
    let spent = shared.ctx.spent_limits();
    let secrets = shared.ctx.secrets.clone();
    let layers = (spec_info, reference_info, strict, min_executed);
    let mut report = finish(scenarios, target, layers, started_at, t0, money, &None);
    report.spent_limits = spent;
    // Last pass: secrets learnt late (or by other scenarios) are redacted
    // everywhere: the scenarios field by field, the rest through its JSON.
    let scenarios = std::mem::take(&mut report.scenarios);
    if let Ok(v) = serde_json::to_value(&report)
        && let Ok(r) = serde_json::from_value::<RunReport>(secrets.redact_json(&v))
    {
        report = r;
    }
    report.scenarios = scenarios
        .into_iter()
        .map(|s| super::record::redact_scenario(&secrets, s))
        .collect();
    if let Some(p) = &progress {
        p(ProgressEvent::RunFinished {
            totals: report.totals.clone(),
        });
    }
    report
}

/// The documented spec, the reference layer, whether the run was strict,
/// and the least share of must-level scenarios that must run.
type Layers = (crate::spec::SpecInfo, Option<crate::spec::SpecInfo>, bool, u8);

fn finish(
    scenarios: Vec<ScenarioReport>,
    target: TargetInfo,
    (spec, reference, strict, min_executed): Layers,
    started_at: String,
    t0: Instant,
    money: Vec<crate::report::model::MoneyMoved>,
    progress: &Option<super::ProgressFn>,
) -> RunReport {
    let totals = crate::report::tally(&scenarios);
    if let Some(p) = progress {
        p(ProgressEvent::RunFinished { totals: totals.clone() });
    }
    RunReport {
        schema_version: REPORT_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        target,
        spec,
        reference,
        strict,
        min_executed,
        started_at,
        duration_ms: t0.elapsed().as_millis() as u64,
        scenarios,
        totals,
        money,
        spent_limits: Vec::new(),
    }
}
