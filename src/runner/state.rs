//! What every step shares: the scenario's running state, the deadlines,
//! why a step halts, step names, and the helpers every step kind uses
//! (URLs, credentials, interpolation, secrets in bodies, the contract's
//! automatic checks). The step kinds (`steps`, `request_steps`,
//! `stream_steps`) import this module; it imports none of them.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::Value;
use url::Url;

use super::RunnerError;
use super::auth::auth_headers;
use super::context::ScenarioContext;
use super::events::Stream;
use super::exec::{Prepared, Received, human};
use super::vars::Vars;
use crate::finding::{Finding, FindingKind};
use crate::redact::{SENSITIVE_KEYS, Secrets};
use crate::scenario::{AutoCheck, SkipCheck, Step, Tier};
use crate::spec::{CheckSet, ResponseView};
use crate::target::{ControlClient, ControlInfo};

/// What a running scenario carries from step to step.
pub(crate) struct ScenarioState {
    pub scenario_id: String,
    pub vars: Vars,
    pub tiers: BTreeMap<String, Tier>,
    pub base_url: Url,
    pub control: Option<ControlClient>,
    pub features: ControlInfo,
    pub streams: HashMap<String, Stream>,
    /// Open webhook sinks (`sink` steps), closed when the scenario ends.
    pub sinks: HashMap<String, super::sink::Sink>,
    /// Time spent pacing or waiting out `Retry-After` (extends the scenario limit).
    pub waited: Duration,
    /// Accounts leased from the target's pool, given back when dropped.
    pub lease: Option<crate::target::Lease>,
    /// Specializations to set back after the scenario, per account.
    pub restore: Vec<(crate::target::ActorCredentials, Vec<String>)>,
    /// When the steps began: what was sent as a pool account before it
    /// was sent by something else (another scenario, the probe, the lease).
    pub steps_from: Instant,
    /// The wallets a `conserve: {open}` step tracks: actor → opening balance (cents).
    pub wallets_open: BTreeMap<String, i64>,
}

impl ScenarioState {
    /// The pool account leased for `actor`, if any.
    pub fn pool_account(&self, actor: &str) -> Option<&std::sync::Arc<crate::target::PoolAccount>> {
        self.lease
            .as_ref()?
            .assigned
            .iter()
            .find(|(need, _, _)| need.actor == actor)
            .map(|(_, account, _)| account)
    }
}

/// Why a step ended early.
pub(crate) enum Halt {
    /// Could not run.
    Error(RunnerError),
    /// Deliberately not run (the spending cap).
    Refused(String),
}

impl From<RunnerError> for Halt {
    fn from(e: RunnerError) -> Self {
        Halt::Error(e)
    }
}

/// The time limits binding a step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    /// The step's own limit (moved by pacing and `Retry-After` waits).
    pub step_at: Instant,
    pub step_label: &'static str,
    /// The scenario's or run's limit, whichever is sooner.
    pub outer_at: Instant,
    pub outer_label: &'static str,
    /// The run's limit, never moved.
    pub hard_at: Option<Instant>,
}

impl Deadline {
    /// Moves the limits by time spent waiting on purpose (not past the run's).
    pub fn extend(&mut self, d: Duration) {
        let cap = |t: Instant| self.hard_at.map_or(t, |h| t.min(h));
        self.step_at = cap(self.step_at + d);
        if self.outer_label == "scenario time limit" {
            self.outer_at = cap(self.outer_at + d);
        }
    }

    /// The limit for one request, and its name.
    pub fn request_limit(&self, request_timeout: Duration) -> (Duration, &'static str) {
        let now = Instant::now();
        let mut best = (request_timeout, "request time limit");
        for (at, label) in [(self.step_at, self.step_label), (self.outer_at, self.outer_label)] {
            let left = at.saturating_duration_since(now);
            if left < best.0 {
                best = (left, label);
            }
        }
        best
    }

    /// The time left before the outer (scenario or run) limit.
    pub fn outer_left(&self) -> Duration {
        self.outer_at.saturating_duration_since(Instant::now())
    }
}

/// The default name of a step.
pub(crate) fn default_name(step: &Step) -> String {
    if let Some(r) = &step.request {
        return format!("{} {}", r.method.to_ascii_uppercase(), r.path);
    }
    if let Some(c) = &step.clock {
        return format!("advance the clock by {} s", c.advance_seconds);
    }
    if let Some(s) = &step.subscribe {
        return format!(
            "subscribe `{}` as {}",
            s.stream,
            step.actor.as_deref().unwrap_or("nobody")
        );
    }
    if let Some(e) = &step.event {
        return format!("expect `{}` on `{}`", e.event_type, e.stream);
    }
    if let Some(e) = &step.no_event {
        return format!(
            "expect no `{}` event on `{}`",
            e.event_type.as_deref().unwrap_or("any"),
            e.stream
        );
    }
    if let Some(s) = &step.set {
        return format!("set {}", s.keys().cloned().collect::<Vec<_>>().join(", "));
    }
    if let Some(a) = &step.attach {
        return format!("attach `{}` to {}", a.file_name, a.job);
    }
    if let Some(c) = &step.concurrent {
        let n = c.times.unwrap_or(c.requests.len() as u32);
        return format!("{n} requests at once");
    }
    if let Some(c) = &step.conserve {
        return if c.open.is_empty() {
            "the money balances".to_string()
        } else {
            format!("open the wallets of {}", c.open.join(", "))
        };
    }
    if let Some(k) = &step.sink {
        return format!("open webhook sink `{}`", k.name);
    }
    if let Some(w) = &step.webhook {
        return format!("expect a `{}` webhook at `{}`", w.event_type, w.sink);
    }
    if let Some(i) = &step.include {
        return format!("include `{i}`");
    }
    "step".to_string()
}

/// The kind of a step as recorded.
pub(crate) fn kind(step: &Step) -> &'static str {
    if step.request.is_some() {
        "request"
    } else if step.clock.is_some() {
        "clock"
    } else if step.subscribe.is_some() {
        "subscribe"
    } else if step.event.is_some() {
        "event"
    } else if step.no_event.is_some() {
        "no_event"
    } else if step.set.is_some() {
        "set"
    } else if step.attach.is_some() {
        "attach"
    } else if step.concurrent.is_some() {
        "concurrent"
    } else if step.conserve.is_some() {
        "conserve"
    } else if step.sink.is_some() {
        "sink"
    } else if step.webhook.is_some() {
        "webhook"
    } else if step.include.is_some() {
        "include"
    } else {
        "unknown"
    }
}

/// Joins the target's base URL and a scenario path.
pub(crate) fn join_url(base: &Url, path: &str) -> Result<Url, RunnerError> {
    let mut s = base.as_str().trim_end_matches('/').to_string();
    if !path.starts_with('/') {
        s.push('/');
    }
    s.push_str(path);
    Url::parse(&s).map_err(|e| RunnerError::BadRequest(format!("URL `{s}`: {e}")))
}

/// The credential headers of a step (its actor and auth mode).
pub(crate) fn step_auth(
    st: &ScenarioState,
    step: &Step,
    secrets: &Secrets,
) -> Result<Vec<(String, String)>, RunnerError> {
    let actor = match &step.actor {
        None => None,
        Some(name) => match st.vars.actor(name) {
            Some(c) => Some((name.as_str(), c)),
            None => {
                return Err(RunnerError::UnknownActor {
                    name: name.clone(),
                    declared: st.vars.actor_names().join(", "),
                });
            }
        },
    };
    auth_headers(step.auth.unwrap_or_default(), actor, secrets)
}

/// A scenario structure (an `expect`, assertions) with every `{{name}}`
/// in its strings interpolated; exact references keep their JSON type.
pub(crate) fn interpolated<T>(vars: &Vars, value: &T, place: &str) -> Result<T, RunnerError>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Clone,
{
    let v = serde_json::to_value(value).map_err(|e| RunnerError::BadRequest(format!("{place}: {e}")))?;
    if !v.to_string().contains("{{") {
        return Ok(value.clone());
    }
    let v = vars.interpolate_value(&v, place)?;
    serde_json::from_value(v).map_err(|e| RunnerError::BadRequest(format!("{place} after interpolation: {e}")))
}

/// Registers the string values of sensitive keys (`password`, `api_key`,
/// `accessToken`, ...) anywhere in a JSON value as secrets.
pub(crate) fn register_sensitive(secrets: &Secrets, v: &Value) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                for (k, val) in m {
                    if let Value::String(s) = val
                        && SENSITIVE_KEYS.contains(&k.to_ascii_lowercase().as_str())
                    {
                        secrets.add(&k.to_ascii_uppercase(), s);
                    }
                    stack.push(val);
                }
            }
            Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
}

/// The body as JSON, when it parses (whatever the content type says).
pub(crate) fn parse_json(r: &Received) -> Option<Value> {
    if r.body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    serde_json::from_slice(&r.body).ok()
}

/// What the automatic checks found in one response.
pub(crate) struct AutoChecked {
    /// The operation's label, if the request matched one.
    pub operation: Option<String>,
    /// Breaks of the documented contract.
    pub findings: Vec<Finding>,
    /// Breaks of the reference layer only.
    pub departures: Vec<Finding>,
}

/// The contract's checks on a response (both layers).
pub(crate) fn auto_checks(
    ctx: &ScenarioContext,
    prepared: &Prepared,
    r: &Received,
    json: Option<&Value>,
    skips: &[SkipCheck],
    stream: bool,
) -> AutoChecked {
    let skipped = |c: AutoCheck| skips.iter().any(|s| s.check == c);
    let set = CheckSet {
        status: !skipped(AutoCheck::Status),
        content_type: !skipped(AutoCheck::ContentType),
        schema: !skipped(AutoCheck::Schema) && !stream,
        headers: !skipped(AutoCheck::Headers),
    };
    let view = ResponseView {
        status: r.status,
        headers: &r.headers,
        content_type: r.content_type(),
        json,
        raw: &r.body,
    };
    let checked = ctx.contract.check(
        prepared.method.as_str(),
        &prepared.path,
        &view,
        set,
        !skipped(AutoCheck::Operation),
    );
    let mut out = AutoChecked {
        operation: checked.operation,
        findings: checked.findings,
        departures: checked.departures,
    };
    if !stream
        && json.is_none()
        && r.content_type().is_some_and(crate::spec::is_json)
        && !r.body.iter().all(u8::is_ascii_whitespace)
        && !out.findings.iter().any(|f| f.kind == FindingKind::InvalidJson)
    {
        out.findings.push(
            Finding::new(
                FindingKind::InvalidJson,
                "the body is labelled JSON but does not parse as JSON",
            )
            .actual(super::record::truncate_text(&String::from_utf8_lossy(&r.body), 200)),
        );
    }
    out
}

/// Timeout message for an event window cut by the outer limit.
pub(crate) fn cut_message(label: &str, within: Duration) -> String {
    format!("the {label} was reached while waiting {} for an event", human(within))
}
