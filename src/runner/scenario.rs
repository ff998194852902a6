//! One scenario: the guards (`requires`, money), the target (a fresh
//! bundled server or the shared remote), actor provisioning, then the
//! steps in order until the first one that fails or cannot run. It must
//! not schedule other scenarios (the schedule does).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use url::Url;

use super::context::ScenarioContext;
use super::exec::human;
use super::record::{redact_scenario, redact_step};
use super::state::{Deadline, Halt, ScenarioState, default_name, kind};
use super::steps::execute;
use super::vars::Vars;
use super::{PlannedScenario, ProgressEvent, RunnerError};
use crate::mock::MockServer;
use crate::report::model::{Outcome, ScenarioReport, StepReport};
use crate::scenario::{AuthMode, Level, Scenario};
use crate::target::{ActorCredentials, ControlClient, ControlInfo, HourlyUse, Leased, Need, Target, bundled_token};

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

/// The control features a scenario needs: its `requires` (but `actors`,
/// which accounts from a pool may stand for), plus `clock` when it has
/// clock steps, plus `attachments` when it seeds attachments.
pub(crate) fn needed_features(p: &PlannedScenario) -> Vec<String> {
    // Short clock steps wait in real time where the target has no clock.
    let waits = clock_by_waiting(p);
    let mut need: Vec<String> = p
        .scenario
        .requires
        .iter()
        .filter(|f| *f != "actors" && !(waits && *f == "clock"))
        .cloned()
        .collect();
    let mut add = |f: &str| {
        if !need.iter().any(|n| n == f) {
            need.push(f.to_string());
        }
    };
    if !waits && p.steps.iter().any(|s| s.clock.is_some()) {
        add("clock");
    }
    // A repeat's pauses move the clock: they are never waited out.
    if p.steps
        .iter()
        .any(|s| s.repeat.as_ref().is_some_and(|r| r.pause.is_some()))
    {
        add("clock");
    }
    if p.steps.iter().any(|s| s.attach.is_some()) {
        add("attachments");
    }
    if p.steps.iter().any(|s| s.sink.is_some()) {
        add("webhook_loopback");
    }
    need
}

/// Whether every `clock` step of the scenario is short enough to be run by
/// waiting in real time ([`WAITABLE_CLOCK_SECS`]) on a target with no clock
/// control (and there is one at least).
fn clock_by_waiting(p: &PlannedScenario) -> bool {
    let mut advances = p
        .steps
        .iter()
        .filter_map(|s| s.clock.as_ref())
        .map(|c| c.advance_seconds)
        .peekable();
    advances.peek().is_some() && advances.all(|a| (0..=WAITABLE_CLOCK_SECS).contains(&a))
}

/// The longest `clock` step (on the target's clock) a target without clock
/// control runs by waiting it out in real time: a rate-limit window of a
/// minute. (On a target whose clock runs fast, the real wait is shorter;
/// longer steps are not waited for even there, since the scenario would
/// hold its pool accounts for that long.)
pub(crate) const WAITABLE_CLOCK_SECS: i64 = 65;

/// The actors a scenario needs, in declaration order.
pub(crate) fn needs_of(p: &PlannedScenario) -> Vec<Need> {
    p.scenario
        .actors
        .iter()
        .map(|(name, spec)| Need {
            actor: name.clone(),
            spec: spec.clone(),
            hourly: Vec::new(),
        })
        .collect()
}

/// The hourly limits by tier (applications, job postings, funding) that
/// `actor`'s requests in `steps` count against, and how many it sends: a
/// pool account whose allowance would run out is leased only when no
/// other can serve ([`Pool::lease`](crate::target::Pool::lease)).
/// `clock_rate`: the target's seconds per real second.
fn hourly_uses(
    spec: &crate::spec::Spec,
    clock_rate: u32,
    steps: &[crate::scenario::Step],
    actor: &str,
) -> Vec<HourlyUse> {
    // An hour of the target's clock, in real time.
    let window = Duration::from_secs(3600) / clock_rate.max(1);
    let mut out: Vec<HourlyUse> = Vec::new();
    for step in steps.iter().filter(|s| s.actor.as_deref() == Some(actor)) {
        let Some(req) = &step.request else { continue };
        let Some(op) = spec.find_operation(&req.method, &req.path) else {
            continue;
        };
        let limit = super::pacing::documented_limit(&op.label());
        let Some(per_tier) = limit.hourly_by_tier else {
            continue;
        };
        let limit = limit.label;
        let count = step.repeat.as_ref().map_or(1, |r| r.times);
        match out.iter_mut().find(|u| u.limit == limit) {
            Some(u) => u.count = u.count.saturating_add(count),
            None => out.push(HourlyUse {
                limit,
                per_tier,
                count,
                window,
            }),
        }
    }
    out
}

/// Whether the target can run a scenario at all, decided before it starts:
/// `Err` names what is missing (a control feature, a money guard, an
/// account the pool cannot provide, a documented limit spent earlier).
pub fn can_run(planned: &PlannedScenario, target: &Target, options: &super::RunOptions) -> Result<(), String> {
    let s = &planned.scenario;
    if s.moves_money && !target.sandbox() && !options.allow_real_money {
        return Err(
            "moves real money and the target is not a sandbox (pass `--i-understand-this-moves-real-money` and `--max-spend-cents`)"
                .into(),
        );
    }
    if s.moves_money && !target.sandbox() && options.max_spend_cents.is_none_or(|cap| cap <= 0) {
        return Err(
            "moves money and the spending cap of 0 cents leaves nothing to spend on a target that is not a sandbox (pass `--max-spend-cents`)"
                .into(),
        );
    }
    let features = match target.features() {
        Ok(f) => f,
        // Errored at run time, naming the control API's failure.
        Err(_) => return Ok(()),
    };
    if let Some(missing) = needed_features(planned).into_iter().find(|f| !features.has(f)) {
        return Err(format!("target offers no `{missing}` control"));
    }
    let needs = needs_of(planned);
    if needs.is_empty() || features.has("actors") {
        return Ok(());
    }
    match target.pool() {
        Some(pool) => pool.feasible(&needs),
        None => Err("target offers no `actors` control and has no account pool".into()),
    }
}

/// A limit an earlier run spent that this scenario's requests meet, while
/// it has not freed.
fn spent_earlier(planned: &PlannedScenario, ctx: &ScenarioContext) -> Option<String> {
    let now = chrono::Utc::now();
    for spent in &ctx.options.spent_limits {
        let Ok(until) = chrono::DateTime::parse_from_rfc3339(&spent.until) else {
            continue;
        };
        if until <= now {
            continue;
        }
        let meets = planned.steps.iter().filter_map(|s| s.request.as_ref()).any(|r| {
            let path = crate::scenario::lint::concrete_path(&r.path);
            ctx.contract
                .documented()
                .find_operation(&r.method, &path)
                .is_some_and(|o| o.label() == spent.operation)
        });
        if meets {
            let left = (until.with_timezone(&chrono::Utc) - now).to_std().unwrap_or_default();
            return Some(format!(
                "not run: an earlier run spent the {} (`{}`); it frees in {}",
                spent.limit,
                spent.operation,
                human(left)
            ));
        }
    }
    None
}

/// Runs one scenario. Never panics; every problem is in the report.
pub async fn run_scenario(planned: &PlannedScenario, ctx: &ScenarioContext) -> ScenarioReport {
    let started = Instant::now();
    if let Err(reason) = can_run(planned, &ctx.target, &ctx.options) {
        return bare_report(planned, Outcome::Skipped { reason }, started.elapsed());
    }
    if let Some(reason) = spent_earlier(planned, ctx) {
        return bare_report(planned, Outcome::Skipped { reason }, started.elapsed());
    }
    if let Some(config) = ctx.target.bundled_config() {
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
                let control = ControlClient::new(ctx.http.clone(), base.clone(), bundled_token(&config))
                    .with_timeout(ctx.options.request_timeout);
                let features = ctx.target.features().unwrap_or_default();
                run_on(planned, ctx, base, Some(control), features, started).await
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
        return report;
    }
    match (ctx.target.features(), ctx.target.profile()) {
        (Err(message), _) => bare_report(
            planned,
            Outcome::Errored {
                message: format!("cannot use the target's control API: {message}"),
            },
            started.elapsed(),
        ),
        (Ok(features), Some(profile)) => {
            let base = profile.base_url.clone();
            run_on(planned, ctx, base, ctx.target.control().cloned(), features, started).await
        }
        (Ok(_), None) => bare_report(
            planned,
            Outcome::Errored {
                message: "internal error: a remote target without a profile".into(),
            },
            started.elapsed(),
        ),
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
    let mut st = ScenarioState {
        scenario_id: s.id.clone(),
        vars: Vars::new(&ctx.run_id),
        tiers: BTreeMap::new(),
        base_url,
        control,
        features,
        streams: HashMap::new(),
        sinks: HashMap::new(),
        waited: Duration::ZERO,
        lease: None,
        restore: Vec::new(),
        steps_from: Instant::now(),
        wallets_open: BTreeMap::new(),
    };
    let scenario_deadline = started + ctx.options.scenario_timeout;
    if let Err(outcome) = provision(ctx, s, &planned.steps, &mut st, scenario_deadline).await {
        return redact_scenario(&ctx.secrets, bare_report(planned, outcome, started.elapsed()));
    }
    st.steps_from = Instant::now();
    for (name, v) in &s.vars {
        match st.vars.interpolate_value(v, &format!("`vars.{name}`")) {
            Ok(value) => st.vars.set(name, value),
            Err(e) => {
                let outcome = Outcome::Errored { message: e.to_string() };
                return redact_scenario(&ctx.secrets, bare_report(planned, outcome, started.elapsed()));
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
            Err(Halt::Error(RunnerError::LimitSpent(reason))) => Outcome::Skipped { reason },
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
        // The step is kept raw: it is redacted when the scenario ends (and
        // here only for a callback that hears steps).
        if let Some(progress) = ctx.options.progress.as_ref().filter(|_| ctx.options.progress_steps) {
            progress(ProgressEvent::StepFinished {
                scenario: s.id.clone(),
                step: Box::new(redact_step(&ctx.secrets, &rep)),
            });
        }
        steps.push(rep);
    }
    st.streams.clear();
    for (creds, set) in std::mem::take(&mut st.restore) {
        if let Some(lease) = &st.lease {
            for (_, account, _) in &lease.assigned {
                if account.credentials.as_ref().is_ok_and(|c| c.api_key == creds.api_key) {
                    account.note_sent(1, None);
                }
            }
        }
        if let Err(e) = set_specializations(ctx, &st.base_url, &creds, &set).await {
            let note = format!(
                "could not restore an account's specializations to [{}]: {e}",
                set.join(", ")
            );
            if let Some(last) = steps.last_mut() {
                last.departures
                    .push(crate::finding::Finding::new(crate::finding::FindingKind::Status, note));
            }
        }
    }
    st.lease = None;

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
    if ctx.options.record == super::Recording::Failures && !matches!(outcome, Outcome::Failed | Outcome::Errored { .. })
    {
        // Nothing will show these exchanges: they are dropped unredacted.
        for step in &mut steps {
            step.request = None;
            step.response = None;
        }
    }
    let mut report = bare_report(planned, outcome, started.elapsed());
    report.steps = steps;
    redact_scenario(&ctx.secrets, report)
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

/// Creates every actor through the control API, or leases accounts from
/// the target's pool; an `Err` is the scenario's outcome.
async fn provision(
    ctx: &ScenarioContext,
    s: &Scenario,
    st_steps: &[crate::scenario::Step],
    st: &mut ScenarioState,
    scenario_deadline: Instant,
) -> Result<(), Outcome> {
    if let (Some(control), true) = (&st.control, st.features.has("actors")) {
        for (name, spec) in &s.actors {
            st.tiers.insert(name.clone(), spec.tier.unwrap_or(ctx.default_tier()));
            let left = scenario_deadline.saturating_duration_since(Instant::now());
            let creds = match tokio::time::timeout(left, control.create_actor(spec, name)).await {
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
            };
            register(ctx, name, &creds);
            st.vars.add_actor(name, creds);
        }
        return Ok(());
    }
    if s.actors.is_empty() {
        return Ok(());
    }
    let Some(pool) = ctx.target.pool() else {
        return Err(Outcome::Skipped {
            reason: "target offers no `actors` control and has no account pool".into(),
        });
    };
    let needs: Vec<Need> = s
        .actors
        .iter()
        .map(|(name, spec)| Need {
            actor: name.clone(),
            spec: spec.clone(),
            hourly: hourly_uses(ctx.contract.documented(), ctx.clock_rate(), st_steps, name),
        })
        .collect();
    let lease = match pool.lease(&needs, scenario_deadline.into()).await {
        Leased::Never(reason) => return Err(Outcome::Skipped { reason }),
        Leased::Granted(l) => l,
    };
    // Money needs: the wallet as it is now, not as it was at the start.
    for (need, account, _) in &lease.assigned {
        if let Some(min) = need.spec.wallet_cents.filter(|c| *c > 0) {
            pool.refresh_wallet(&ctx.http, &st.base_url, account).await;
            let have = account.check.lock().wallet_cents;
            if have.is_none_or(|h| h < min) {
                return Err(Outcome::Skipped {
                    reason: format!(
                        "needs {} for `{}`; {} has {} cents in its wallet now",
                        need.describe(),
                        need.actor,
                        account.account.label,
                        have.map_or("an unreadable number of".to_string(), |h| h.to_string())
                    ),
                });
            }
        }
    }
    // Fields of an actor the steps use (`{{p1.id}}`) must be known for the
    // account the pool gave: the profile names them by variable.
    let used: Vec<String> = steps_references(st_steps);
    for (need, account, _) in &lease.assigned {
        let Ok(creds) = &account.credentials else { continue };
        for (field, alias, have, env) in [
            ("user_id", "id", creds.user_id.is_some(), "user_id_env"),
            ("email", "email", creds.email.is_some(), "email_env"),
            ("password", "password", creds.password.is_some(), "password_env"),
            (
                "access_token",
                "jwt",
                creds.access_token.is_some() || (creds.email.is_some() && creds.password.is_some()),
                "jwt_env, or email_env and password_env",
            ),
            ("api_key", "api_key", creds.api_key.is_some(), "api_key_env"),
        ] {
            let wanted = used.iter().any(|r| {
                let head = r.split('|').next().unwrap_or(r).trim();
                head == format!("{}.{field}", need.actor) || head == format!("{}.{alias}", need.actor)
            });
            // Auth modes name the credential they send.
            let by_auth = st_steps.iter().any(|step| {
                step.actor.as_deref() == Some(need.actor.as_str())
                    && match step.auth.unwrap_or_default() {
                        AuthMode::Jwt | AuthMode::TamperedJwt => field == "access_token",
                        AuthMode::Both => field == "access_token" || field == "api_key",
                        AuthMode::ApiKey | AuthMode::ApiKeyAsBearer => field == "api_key",
                        _ => false,
                    }
            });
            if (wanted || by_auth) && !have {
                return Err(Outcome::Skipped {
                    reason: format!(
                        "needs the `{field}` of `{}`, which the profile does not give for {} (add `{env}`)",
                        need.actor, account.account.label
                    ),
                });
            }
        }
    }
    for (need, account, patch) in &lease.assigned {
        let Ok(creds) = &account.credentials else {
            return Err(Outcome::Errored {
                message: format!("account `{}` lost its credentials", account.account.label),
            });
        };
        st.tiers
            .insert(need.actor.clone(), need.spec.tier.unwrap_or(account.tier));
        if let Some(set) = patch {
            let restore = account.account.specializations.clone().unwrap_or_default();
            account.note_sent(1, None);
            if let Err(e) = set_specializations(ctx, &st.base_url, creds, set).await {
                return Err(Outcome::Skipped {
                    reason: format!(
                        "needs {} for `{}`, and setting {}'s specializations failed: {e}",
                        need.describe(),
                        need.actor,
                        account.account.label
                    ),
                });
            }
            st.restore.push((creds.clone(), restore));
        } else if let Some(declared) = &account.account.specializations
            && changes_profile(&need.actor, st_steps)
        {
            // The steps change the account's specializations themselves:
            // they are set back to the declared ones afterwards.
            st.restore.push((creds.clone(), declared.clone()));
        }
        // A session JWT expires after an hour (docs/api): where the steps
        // need one and the profile gives the login, take a fresh one.
        let mut creds = creds.clone();
        if needs_jwt(&need.actor, st_steps, &used)
            && let (Some(email), Some(password)) = (&creds.email, &creds.password)
            && let Ok(token) = login(ctx, &st.base_url, email, password).await
        {
            creds.access_token = Some(token);
        }
        register(ctx, &need.actor, &creds);
        st.vars.add_actor(&need.actor, creds);
    }
    st.lease = Some(lease);
    Ok(())
}

/// Whether `actor` sends `PATCH /api/agent/profile` in the steps.
fn changes_profile(actor: &str, steps: &[crate::scenario::Step]) -> bool {
    steps.iter().any(|step| {
        step.actor.as_deref() == Some(actor)
            && step
                .request
                .as_ref()
                .is_some_and(|r| r.method.eq_ignore_ascii_case("PATCH") && r.path == "/api/agent/profile")
    })
}

/// Whether the steps use `actor`'s JWT (a reference or an auth mode).
fn needs_jwt(actor: &str, steps: &[crate::scenario::Step], used: &[String]) -> bool {
    let referenced = used.iter().any(|r| {
        let head = r.split('|').next().unwrap_or(r).trim();
        head == format!("{actor}.access_token") || head == format!("{actor}.jwt")
    });
    referenced
        || steps.iter().any(|step| {
            step.actor.as_deref() == Some(actor)
                && matches!(
                    step.auth.unwrap_or_default(),
                    AuthMode::Jwt | AuthMode::TamperedJwt | AuthMode::Both
                )
        })
}

/// `POST /api/auth/login` (documented): a fresh session JWT.
async fn login(ctx: &ScenarioContext, base: &Url, email: &str, password: &str) -> Result<String, String> {
    let url = super::state::join_url(base, "/api/auth/login").map_err(|e| e.to_string())?;
    let resp = ctx
        .http
        .post(url)
        .timeout(ctx.options.request_timeout)
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .map_err(|e| crate::target::describe_error(&e))?;
    if !resp.status().is_success() {
        return Err(format!("login answered {}", resp.status().as_u16()));
    }
    let max = ctx.options.max_body_bytes;
    let bytes = crate::target::read_capped(resp, max).await.map_err(|e| match e {
        crate::target::Capped::TooLarge => crate::target::too_large(max),
        crate::target::Capped::Broken(e) => crate::target::describe_error(&e),
    })?;
    let body: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    body.get("accessToken")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| "the login answer has no `accessToken`".into())
}

/// Every `{{reference}}` of the steps.
fn steps_references(steps: &[crate::scenario::Step]) -> Vec<String> {
    steps.iter().flat_map(crate::scenario::step_references).collect()
}

/// `PATCH /api/agent/profile {specializations}` as the account (documented:
/// llms.txt, common mistake 4).
pub(crate) async fn set_specializations(
    ctx: &ScenarioContext,
    base: &Url,
    creds: &ActorCredentials,
    set: &[String],
) -> Result<(), String> {
    let url = super::state::join_url(base, "/api/agent/profile").map_err(|e| e.to_string())?;
    // A 429 (the scenario may have spent the account's allowance) is
    // waited out, twice at most: the account must not stay changed.
    for attempt in 0..3 {
        let mut rb = ctx
            .http
            .patch(url.clone())
            .timeout(ctx.options.request_timeout)
            .json(&serde_json::json!({ "specializations": set }));
        if let Some(k) = &creds.api_key {
            rb = rb.header("X-API-Key", k);
        } else if let Some(t) = &creds.access_token {
            rb = rb.bearer_auth(t);
        }
        let resp = rb.send().await.map_err(|e| crate::target::describe_error(&e))?;
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        if status != 429 || attempt == 2 {
            return Err(format!("`PATCH /api/agent/profile` answered {status}"));
        }
        let wait = super::pacing::retry_after(
            resp.headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        tokio::time::sleep(wait).await;
    }
    Err("`PATCH /api/agent/profile` answered 429".into())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(clock_steps: &str) -> PlannedScenario {
        let text = format!(
            "id: t.x\ntitle: t\ndoc: [llms.txt#x]\nrule: r\nlevel: must\nrequires: [actors, clock]\nactors:\n  a: {{role: agent}}\nsteps:\n{clock_steps}  - name: s\n    as: a\n    request: {{method: GET, path: /api/wallet}}\n    expect: {{status: 200}}\n"
        );
        let s = crate::scenario::parse_scenario(&text, "scenarios/t/x.yaml").expect("a scenario");
        let steps = s.steps.clone();
        PlannedScenario::new(s, steps)
    }

    /// What a pool lease weighs: each actor's requests against the hourly
    /// limits by tier, bursts counted, other limits and other actors not.
    #[test]
    fn hourly_uses_count_an_actors_applications_postings_and_funds() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let spec = crate::spec::Spec::load(&root.join(crate::spec::DOCUMENTED_SPEC)).expect("the spec loads");
        let text = r#"
id: t.x
title: t
doc: [llms.txt#x]
rule: r
level: must
requires: [actors]
actors:
  a: {role: agent}
  p: {role: poster}
steps:
  - as: p
    request: {method: POST, path: /api/agent/jobs, json: {}}
    repeat: {times: 3}
    expect: {status: 2xx}
  - as: a
    request: {method: POST, path: "/api/jobs/{{job_id}}/apply", json: {}}
    expect: {status: 2xx}
  - as: a
    request: {method: POST, path: "/api/jobs/{{job_id}}/apply", json: {}}
    expect: {status: 2xx}
  - as: a
    request: {method: GET, path: /api/wallet}
    expect: {status: 200}
"#;
        let s = crate::scenario::parse_scenario(text, "scenarios/t/x.yaml").expect("a scenario");
        let agent = hourly_uses(&spec, 60, &s.steps, "a");
        assert_eq!(agent.len(), 1, "{agent:?}");
        assert_eq!(agent[0].count, 2);
        assert_eq!(agent[0].per_tier, [20, 50, 100]);
        assert_eq!(
            agent[0].window,
            Duration::from_secs(60),
            "an hour of a clock 60 times as fast"
        );
        let poster = hourly_uses(&spec, 1, &s.steps, "p");
        assert_eq!((poster[0].count, poster[0].per_tier), (3, [10, 30, 100]), "{poster:?}");
        assert_eq!(poster[0].window, Duration::from_secs(3600));
    }

    #[test]
    fn a_clock_step_of_a_minute_is_waited_out_but_a_longer_one_needs_the_clock() {
        // Up to 65 s: a target without clock control waits it out.
        assert!(!needed_features(&planned("  - clock: {advance_seconds: 61}\n")).contains(&"clock".to_string()));
        // One longer step is enough to need the clock.
        let long = planned("  - clock: {advance_seconds: 61}\n  - clock: {advance_seconds: 3601}\n");
        assert!(needed_features(&long).contains(&"clock".to_string()));
        // `requires: [clock]` with no clock step at all still needs it.
        assert!(needed_features(&planned("")).contains(&"clock".to_string()));
    }
}
