//! One scenario: the guards (`requires`, money), the target (a fresh
//! bundled server or the shared remote), actor provisioning, then the
//! steps in order until the first one that fails or cannot run. It must
//! not schedule other scenarios (the schedule does).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use url::Url;

use super::context::{ScenarioContext, Target};
use super::exec::human;
use super::record::{redact_scenario, redact_step};
use super::state::{Deadline, Halt, ScenarioState, default_name, kind};
use super::steps::execute;
use super::vars::Vars;
use super::{PlannedScenario, ProgressEvent, RunnerError};
use crate::mock::MockServer;
use crate::report::model::{Outcome, ScenarioReport, StepReport};
use crate::scenario::{Level, Role, Scenario};
use crate::target::{ActorCredentials, ControlClient, ControlInfo, Secret};

/// A scenario report with no steps and the given outcome.
pub(crate) fn bare_report(p: &PlannedScenario, outcome: Outcome, duration: Duration) -> ScenarioReport {
    let s = &p.scenario;
    ScenarioReport {
        id: s.id.clone(),
        title: s.title.clone(),
        file: p.file.clone(),
        area: p.area.clone(),
        level: s.level,
        tags: s.tags.clone(),
        doc: s.doc.clone(),
        rule: s.rule.clone(),
        moves_money: s.moves_money,
        outcome,
        steps: Vec::new(),
        duration_ms: duration.as_millis() as u64,
    }
}

/// The features a scenario needs: its `requires`, plus `clock` when it
/// has clock steps.
fn needed_features(p: &PlannedScenario) -> Vec<String> {
    let mut need = p.scenario.requires.clone();
    if p.steps.iter().any(|s| s.clock.is_some()) && !need.iter().any(|f| f == "clock") {
        need.push("clock".into());
    }
    need
}

/// Runs one scenario. Never panics; every problem is in the report.
pub async fn run_scenario(planned: &PlannedScenario, ctx: &ScenarioContext) -> ScenarioReport {
    let started = Instant::now();
    let s = &planned.scenario;
    if s.moves_money && !ctx.sandbox() && !ctx.options.allow_real_money {
        return bare_report(
            planned,
            Outcome::Skipped {
                reason:
                    "moves real money and the target is not a sandbox (pass `--i-understand-this-moves-real-money` and `--max-spend-cents`)"
                        .into(),
            },
            started.elapsed(),
        );
    }
    if s.moves_money && !ctx.sandbox() && ctx.spend_cap().is_some_and(|cap| cap <= 0) {
        return bare_report(
            planned,
            Outcome::Skipped {
                reason: "moves money and the spending cap of 0 cents leaves nothing to spend on a target that is not a sandbox (pass `--max-spend-cents`)"
                    .into(),
            },
            started.elapsed(),
        );
    }
    match &ctx.target {
        Target::Bundled(config) => {
            let server = match MockServer::start(config.clone()).await {
                Ok(s) => s,
                Err(e) => {
                    return bare_report(
                        planned,
                        Outcome::Errored {
                            message: format!("cannot start the bundled reference server: {e}"),
                        },
                        started.elapsed(),
                    );
                }
            };
            let url = server.url().to_string();
            let report = match Url::parse(&url) {
                Ok(base) => {
                    let token = config.control_token.clone().map(Secret);
                    let control = ControlClient::new(ctx.http.clone(), base.clone(), token)
                        .with_timeout(ctx.options.request_timeout);
                    match control.features().await {
                        Ok(features) => run_on(planned, ctx, base, Some(control), features, started).await,
                        Err(e) => bare_report(
                            planned,
                            Outcome::Errored {
                                message: format!("the bundled server's control API failed: {e}"),
                            },
                            started.elapsed(),
                        ),
                    }
                }
                Err(e) => bare_report(
                    planned,
                    Outcome::Errored {
                        message: format!("the bundled server has a bad URL `{url}`: {e}"),
                    },
                    started.elapsed(),
                ),
            };
            server.shutdown().await;
            report
        }
        Target::Remote(remote) => match &remote.features {
            Err(message) => bare_report(
                planned,
                Outcome::Errored {
                    message: format!("cannot use the target's control API: {message}"),
                },
                started.elapsed(),
            ),
            Ok(features) => {
                let base = remote.profile.base_url.clone();
                run_on(planned, ctx, base, remote.control.clone(), features.clone(), started).await
            }
        },
    }
}

async fn run_on(
    planned: &PlannedScenario,
    ctx: &ScenarioContext,
    base_url: Url,
    control: Option<ControlClient>,
    features: ControlInfo,
    started: Instant,
) -> ScenarioReport {
    let s = &planned.scenario;
    if let Some(missing) = needed_features(planned).into_iter().find(|f| !features.has(f)) {
        return bare_report(
            planned,
            Outcome::Skipped {
                reason: format!("target offers no `{missing}` control"),
            },
            started.elapsed(),
        );
    }
    let mut st = ScenarioState {
        scenario_id: s.id.clone(),
        vars: Vars::new(&ctx.run_id),
        tiers: BTreeMap::new(),
        base_url,
        control,
        features,
        streams: HashMap::new(),
        waited: Duration::ZERO,
    };
    let scenario_deadline = started + ctx.options.scenario_timeout;
    if let Err(outcome) = provision(ctx, s, &mut st, scenario_deadline).await {
        return redact_scenario(&ctx.secrets, &bare_report(planned, outcome, started.elapsed()));
    }
    for (name, v) in &s.vars {
        match st.vars.interpolate_value(v, &format!("`vars.{name}`")) {
            Ok(value) => st.vars.set(name, value),
            Err(e) => {
                let outcome = Outcome::Errored { message: e.to_string() };
                return redact_scenario(&ctx.secrets, &bare_report(planned, outcome, started.elapsed()));
            }
        }
    }

    let mut steps: Vec<StepReport> = Vec::with_capacity(planned.steps.len());
    let mut stop: Option<(usize, Outcome)> = None;
    // Variables a reference step that departed should have set, with its index.
    let mut departed: BTreeMap<String, usize> = BTreeMap::new();
    for (i, step) in planned.steps.iter().enumerate() {
        let index = i + 1;
        let location = if step.source.file.is_empty() {
            planned.file.clone()
        } else {
            step.source.to_string()
        };
        let mut rep = StepReport {
            index,
            name: step.name.clone().unwrap_or_else(|| default_name(step)),
            location,
            actor: step.actor.clone(),
            kind: kind(step).to_string(),
            path_template: step.request.as_ref().map(|r| r.path.clone()),
            operation: None,
            request: None,
            response: None,
            attempts: 0,
            retries: 0,
            skipped_checks: step
                .skip_checks
                .iter()
                .map(|c| format!("{}: {}", check_name(c.check), c.reason))
                .collect(),
            findings: Vec::new(),
            departures: Vec::new(),
            outcome: Outcome::Passed,
            duration_ms: 0,
        };
        if let Some((at, outcome)) = &stop {
            let why = match outcome {
                Outcome::Skipped { .. } => format!("not run: step {at} was refused"),
                Outcome::Errored { .. } => format!("not run: step {at} could not run"),
                _ => format!("not run: step {at} failed"),
            };
            rep.outcome = Outcome::Skipped { reason: why };
            steps.push(rep);
            continue;
        }
        let step_started = Instant::now();
        let mut dl = deadline(ctx, step, step_started, scenario_deadline + st.waited);
        let result = execute(ctx, &mut st, step, &mut rep, &mut dl).await;
        let reference_step = s.level == Level::Reference || step.level == Some(Level::Reference);
        if reference_step {
            // A reference choice: whatever differs is a departure.
            let moved = std::mem::take(&mut rep.findings);
            rep.departures.extend(moved);
            if !rep.departures.is_empty() {
                for name in step.capture.iter().flat_map(|c| c.keys()) {
                    departed.entry(name.clone()).or_insert(index);
                }
                for name in step.event.iter().flat_map(|e| e.capture.iter().flat_map(|c| c.keys())) {
                    departed.entry(name.clone()).or_insert(index);
                }
            }
        }
        if ctx.options.strict && !rep.departures.is_empty() {
            for mut f in std::mem::take(&mut rep.departures) {
                f.message = format!("{}{}", crate::report::model::STRICT_PREFIX, f.message);
                rep.findings.push(f);
            }
        }
        rep.outcome = match result {
            Err(Halt::Error(RunnerError::UndefinedVariable { name, .. })) if departed.contains_key(&name) => {
                Outcome::Skipped {
                    reason: format!(
                        "not run: it needs `{name}`, which step {} (a choice of our reference server that the target departs from) did not provide",
                        departed[&name]
                    ),
                }
            }
            Err(Halt::Error(e)) if reference_step && !ctx.options.strict => {
                rep.departures.push(crate::finding::Finding::new(
                    crate::finding::FindingKind::Status,
                    format!(
                        "this step checks a choice of our reference server and could not run against the target: {e}"
                    ),
                ));
                Outcome::Passed
            }
            Err(Halt::Error(e)) => Outcome::Errored { message: e.to_string() },
            Err(Halt::Refused(reason)) => Outcome::Skipped { reason },
            Ok(()) if rep.findings.is_empty() => Outcome::Passed,
            Ok(()) => Outcome::Failed,
        };
        rep.duration_ms = step_started.elapsed().as_millis() as u64;
        let departed_skip =
            matches!(&rep.outcome, Outcome::Skipped { reason } if reason.starts_with("not run: it needs"));
        if !rep.outcome.is_passed() && !departed_skip {
            stop = Some((index, rep.outcome.clone()));
        }
        let rep = redact_step(&ctx.secrets, &rep);
        if let Some(progress) = &ctx.options.progress {
            progress(ProgressEvent::StepFinished {
                scenario: s.id.clone(),
                step: Box::new(rep.clone()),
            });
        }
        steps.push(rep);
    }
    st.streams.clear();

    let outcome = match stop {
        None => Outcome::Passed,
        Some((at, Outcome::Errored { message })) => Outcome::Errored {
            message: format!("step {at}: {message}"),
        },
        Some((at, Outcome::Skipped { reason })) => Outcome::Skipped {
            reason: format!("step {at}: {reason}"),
        },
        Some(_) => Outcome::Failed,
    };
    let mut report = bare_report(planned, outcome, started.elapsed());
    report.steps = steps;
    redact_scenario(&ctx.secrets, &report)
}

fn check_name(c: crate::scenario::AutoCheck) -> &'static str {
    use crate::scenario::AutoCheck::*;
    match c {
        Status => "status",
        ContentType => "content_type",
        Schema => "schema",
        Headers => "headers",
        Operation => "operation",
    }
}

/// The limits of a step starting now.
fn deadline(ctx: &ScenarioContext, step: &crate::scenario::Step, now: Instant, scenario_at: Instant) -> Deadline {
    let step_limit = step
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(ctx.options.step_timeout);
    let (outer_at, outer_label) = match ctx.run_deadline {
        Some(run_at) if run_at < scenario_at => (run_at, "run time limit"),
        _ => (scenario_at, "scenario time limit"),
    };
    Deadline {
        step_at: now + step_limit,
        step_label: "step time limit",
        outer_at,
        outer_label,
        hard_at: ctx.run_deadline,
    }
}

/// Creates (or maps) every actor; an `Err` is the scenario's outcome.
async fn provision(
    ctx: &ScenarioContext,
    s: &Scenario,
    st: &mut ScenarioState,
    scenario_deadline: Instant,
) -> Result<(), Outcome> {
    let statics = ctx.static_actors();
    let mut by_role: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
    for (name, spec) in &s.actors {
        st.tiers.insert(name.clone(), spec.tier.unwrap_or(ctx.default_tier()));
        let creds = match (&st.control, st.features.has("actors")) {
            (Some(control), true) => {
                let left = scenario_deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, control.create_actor(spec, name)).await {
                    Err(_) => {
                        return Err(Outcome::Errored {
                            message: format!("creating actor `{name}` timed out ({})", human(left)),
                        });
                    }
                    Ok(Err(e)) => {
                        return Err(Outcome::Errored {
                            message: ctx.secrets.redact_str(&format!("cannot create actor `{name}`: {e}")),
                        });
                    }
                    Ok(Ok(c)) => c,
                }
            }
            _ => {
                let role = role_name(spec.role);
                let (key, entry) = match statics.get(name) {
                    Some(e) => (name.as_str(), e),
                    None => match statics.get(role) {
                        Some(e) => {
                            by_role.entry(role).or_default().push(name);
                            (role, e)
                        }
                        None => {
                            return Err(Outcome::Skipped {
                                reason: format!(
                                    "target offers no `actors` control and the profile has no credentials for `{name}` (nor for the role `{role}`)"
                                ),
                            });
                        }
                    },
                };
                match entry.resolve(key) {
                    Ok(c) => c,
                    Err(e) => return Err(Outcome::Errored { message: e.to_string() }),
                }
            }
        };
        register(ctx, name, &creds);
        st.vars.add_actor(name, creds);
    }
    if let Some((role, names)) = by_role.iter().find(|(_, n)| n.len() > 1) {
        return Err(Outcome::Skipped {
            reason: format!(
                "the profile has one `{role}` account but the scenario needs {} distinct ones ({})",
                names.len(),
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    Ok(())
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Poster => "poster",
        Role::Agent => "agent",
        Role::Proofer => "proofer",
    }
}

/// Registers an actor's secrets under labelled names.
fn register(ctx: &ScenarioContext, name: &str, c: &ActorCredentials) {
    if let Some(k) = &c.api_key {
        ctx.secrets.add(&format!("API_KEY:{name}"), k);
    }
    if let Some(t) = &c.access_token {
        ctx.secrets.add(&format!("JWT:{name}"), t);
    }
    if let Some(p) = &c.password {
        ctx.secrets.add(&format!("PASSWORD:{name}"), p);
    }
}
