//! The scenario model: what a scenario file says, as plain data.
//!
//! This module knows nothing of HTTP or of any target. The loader
//! (`loader.rs`) turns YAML into these types and records where each
//! step came from; the runner executes them.
//!
//! Every type derives `Serialize` as well as `Deserialize`, so a loaded
//! scenario re-serialises to an equal one (a property test checks it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where something was written: file, line and column (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SourceLocation {
    /// Path of the file, relative to the scenario root when known.
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// How plainly the docs state a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The docs say it plainly; a failure fails the run.
    #[default]
    Must,
    /// Inferred or recommended; a failure is reported but does not fail the run.
    Should,
    /// The docs are silent: our reference server's choice. A difference is a
    /// departure from the reference server, reported apart and never a
    /// failure (unless the run is `--strict`).
    Reference,
}

impl Level {
    /// `must`, `should` or `reference`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::Reference => "reference",
        }
    }
}

/// One scenario file, loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Stable identifier, e.g. `nda.apply-requires-ack`. Unique in a library.
    pub id: String,
    pub title: String,
    /// Where the rule is documented: `llms.txt#section`, `docs/api#section`,
    /// or `openapi:operationId`. One or several.
    #[serde(default, with = "one_or_many")]
    pub doc: Vec<String>,
    /// The documented rule, quoted or paraphrased; shown in every failure.
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub level: Level,
    /// Control-API features the target must offer (`actors`, `clock`, `reset`).
    #[serde(default)]
    pub requires: Vec<String>,
    /// True when the scenario commits money (escrow, release, proof fees).
    #[serde(default)]
    pub moves_money: bool,
    /// True when the scenario must not run beside others on a shared target.
    #[serde(default)]
    pub exclusive: bool,
    /// Named actors, provisioned before the first step.
    #[serde(default)]
    pub actors: BTreeMap<String, ActorSpec>,
    /// Variables available from the start (`{{name}}`).
    #[serde(default)]
    pub vars: BTreeMap<String, Value>,
    pub steps: Vec<Step>,
    /// Filled by the loader, never read from YAML.
    #[serde(skip)]
    pub source: SourceLocation,
}

impl Scenario {
    /// The scenario's area (see [`area_of_file`]).
    pub fn area(&self) -> String {
        area_of_file(&self.source.file)
    }
}

/// The area of a scenario file: the first directory under `scenarios/`
/// (`scenarios/nda/apply.yaml` → `nda`); empty for a file directly under
/// the root. The one rule for areas: reports group by it and `list`
/// shows it. Backslashes count as separators.
pub fn area_of_file(file: &str) -> String {
    let file = file.replace('\\', "/");
    let first = file
        .trim_start_matches("scenarios/")
        .split('/')
        .next()
        .unwrap_or_default();
    if first.ends_with(".yaml") || first.ends_with(".yml") {
        String::new()
    } else {
        first.to_string()
    }
}

/// A shared flow (`scenarios/_flows/<name>.yaml`), included by a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// The name used by `include:`; the file stem.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Actor names the flow refers to; the include maps them onto the
    /// including scenario's actors (`with: {poster: alice}`).
    #[serde(default)]
    pub actors: Vec<String>,
    /// Parameters with their default values (`null` = required).
    #[serde(default)]
    pub params: BTreeMap<String, Value>,
    pub steps: Vec<Step>,
    #[serde(skip)]
    pub source: SourceLocation,
}

/// The kind of account an actor is: the harness's one role type (the
/// scenario format, target profiles and pools, and the fuzzer use it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Posts and pays for jobs.
    Poster,
    /// Applies to and delivers jobs.
    Agent,
    /// Verifies deliveries.
    Proofer,
}

impl Role {
    /// All roles, in provisioning order.
    pub const ALL: [Role; 3] = [Role::Poster, Role::Agent, Role::Proofer];

    /// `poster`, `agent` or `proofer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Poster => "poster",
            Role::Agent => "agent",
            Role::Proofer => "proofer",
        }
    }

    /// Parses `poster`, `agent` or `proofer`.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Subscription tier; decides rate limits and commission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    #[default]
    Free,
    Pro,
    Enterprise,
}

/// An actor as a scenario declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorSpec {
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specializations: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_cents: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe_connected: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// Needs an account nobody used before, as created: only a target's
    /// control API can give one (a pool's accounts are never fresh). With a
    /// pool, `wallet_cents` is a minimum balance and the other fields are
    /// what the account must be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fresh: Option<bool>,
}

/// One step of a scenario or flow. Exactly one action key is present.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Human label, shown in reports. Defaults to a description of the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The actor sending the request (for `request`) or subscribing.
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// How the actor authenticates. Default `api_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthMode>,

    // ---- actions: exactly one of these ----
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    /// Include a shared flow by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<String>,
    /// Advance the target's clock (needs the `clock` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockStep>,
    /// Open an event stream for an actor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<Subscribe>,
    /// Expect an event on an open stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<ExpectEvent>,
    /// Expect that no matching event arrives on an open stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_event: Option<ExpectNoEvent>,
    /// Set variables from literal values or interpolated strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<BTreeMap<String, Value>>,
    /// Seed an attachment on a job through the target's control API (needs
    /// the `attachments` feature: the docs name no route for posters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<Attach>,
    /// Send several requests at once (races); checked by `expect_all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrent: Option<Concurrent>,
    /// Money conservation: open the tracked wallets, or check the balance
    /// equation against them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conserve: Option<Conserve>,
    /// Open a local webhook sink (needs the `webhook_loopback` feature).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sink: Option<SinkStep>,
    /// Expect a webhook delivery at an open sink.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<ExpectWebhook>,

    // ---- modifiers ----
    /// Parameters of an `include` (actor mapping and values).
    #[serde(default, rename = "with", skip_serializing_if = "Option::is_none")]
    pub with: Option<BTreeMap<String, Value>>,
    /// Send the request several times (rate-limit scenarios).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<Repeat>,
    /// What the (last) response must look like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// What the set of answers of a `concurrent` step must look like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_all: Option<ExpectAll>,
    /// Variables taken from the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<BTreeMap<String, Capture>>,
    /// Automatic checks turned off for this step only, each with a reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_checks: Vec<SkipCheck>,
    /// Per-step timeout in milliseconds (overrides the run's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Lowers the level of this step's checks: `should`, or `reference`
    /// for a step that only checks a choice of our reference server (all
    /// its findings are departures, and the scenario goes on after it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,

    /// Filled by the loader.
    #[serde(skip)]
    pub source: SourceLocation,
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// `X-API-Key: <actor's key>`.
    #[default]
    ApiKey,
    /// `Authorization: Bearer <actor's JWT>`.
    Jwt,
    /// No credentials at all.
    None,
    /// Misuse: the API key in `Authorization: Bearer`.
    ApiKeyAsBearer,
    /// Both `X-API-Key` and `Authorization: Bearer <JWT>`.
    Both,
    /// `X-API-Key` with a well-formed key no server issued.
    UnknownKey,
    /// `X-API-Key` with a value that is not of the `age_<hex>` form.
    MalformedKey,
    /// `Authorization: Bearer` with a value that is not a JWT at all.
    MalformedJwt,
    /// `Authorization: Bearer` with a JWT whose signature was tampered with.
    TamperedJwt,
}

/// An HTTP request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub method: String,
    /// Path with `{{variables}}`, e.g. `/api/jobs/{{job_id}}/apply`.
    /// Variables take filters: `{{job_id|ref}}` (the 8-character upper-case
    /// REF code), `{{job_id|ref_uuid}}` (a UUID rebuilt from the REF code),
    /// `{{url|path}}` (the path and query of a URL the target returned, such
    /// as a signed download link), `|upper`, `|lower`.
    pub path: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// A JSON body; strings are interpolated, and a string that is exactly
    /// `{{var}}` is replaced by the variable's JSON value (numbers stay numbers).
    /// A written `json: null` is `Some(Value::Null)` (a `null` body).
    #[serde(
        default,
        deserialize_with = "super::de::present_value",
        skip_serializing_if = "Option::is_none"
    )]
    pub json: Option<Value>,
    /// A raw body, sent as is (interpolated), with `content_type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// A raw body of N repeated bytes (oversized-body tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_size: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// A multipart upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multipart: Option<Multipart>,
}

/// A multipart/form-data body with one file part and optional text fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Multipart {
    /// Part name, default `file`.
    #[serde(default = "default_file_field")]
    pub field: String,
    pub filename: String,
    /// File content (interpolated text).
    #[serde(default)]
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

fn default_file_field() -> String {
    "file".to_string()
}

/// Send a request several times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repeat {
    /// The most requests to send.
    pub times: u32,
    /// Stop at the first response with this status; it is the one `expect`
    /// checks. Without it, `expect` checks the last response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_status: Option<u16>,
    /// With `until_status`: the request number (1-based) at which that
    /// status must arrive: exactly (`31` for a limit of 30) or within a
    /// range (`[31, 61]`: a limit of 30 per minute counted in sliding or
    /// clock-aligned windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_at: Option<ExpectAt>,
    /// What every response before the final one must look like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub each: Option<Box<Expect>>,
    /// What our reference server does where the docs leave it open (a
    /// difference is a departure): `{expect_at: 31}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<RepeatReference>,
    /// Vary the request: variable → list variable. Request `i` (1-based) is
    /// prepared with each variable set to item `i` of its list
    /// (`{job_id: jobs}`), so a limit counted per user can be met with one
    /// request per job. Every list must hold at least `times` items (an
    /// earlier `collect` usually built it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub over: BTreeMap<String, String>,
    /// List variables built from the answers: each answer but the one
    /// `until_status` stopped at appends what the capture finds (a place, or
    /// the first of several places) to its list (`{jobs: [/job/id, /id]}`).
    /// An answer without a value there is a finding.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub collect: BTreeMap<String, Capture>,
    /// Advance the target's clock between groups of requests (needs the
    /// `clock` control feature; the scenario lists it in `requires`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<RepeatPause>,
    /// Requests in flight at once (default 1: one after another, each
    /// sent when the one before is answered). For setup whose order the
    /// server need not see (posting jobs, acknowledging NDAs, applying):
    /// up to this many go out together, never across a `pause`, and their
    /// answers are checked and collected in request order. Not with
    /// `until_status`, where the order of arrival is what is checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<u32>,
}

/// The most requests a `repeat` may keep in flight at once.
pub const MAX_IN_FLIGHT: u32 = 16;

/// A clock advance between the groups of a `repeat`: after every `every`
/// requests, unless the repeat has ended, the target's clock moves
/// `advance_seconds` ahead (`{every: 3, advance_seconds: 61}` sends bursts
/// of three a minute apart, under a 3-per-minute burst limit counted in
/// sliding or clock-aligned minutes). A limit of an hour counted in
/// clock-aligned windows may see its hour turn between two groups: say so
/// with an `expect_at` range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatPause {
    /// Requests per group (at least 1).
    pub every: u32,
    /// Seconds the clock moves between groups (at least 1).
    pub advance_seconds: i64,
}

/// When the status of a `repeat` must arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectAt {
    /// At exactly this request.
    Exactly(u32),
    /// At a request in this inclusive range.
    Between(u32, u32),
}

impl ExpectAt {
    /// True when request `n` is acceptable.
    pub fn accepts(self, n: u32) -> bool {
        match self {
            ExpectAt::Exactly(k) => n == k,
            ExpectAt::Between(lo, hi) => (lo..=hi).contains(&n),
        }
    }
    /// The earliest acceptable request.
    pub fn first(self) -> u32 {
        match self {
            ExpectAt::Exactly(k) | ExpectAt::Between(k, _) => k,
        }
    }
}

impl std::fmt::Display for ExpectAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectAt::Exactly(k) => write!(f, "request {k}"),
            ExpectAt::Between(lo, hi) => write!(f, "a request from {lo} to {hi}"),
        }
    }
}

/// The reference server's expectation on a `repeat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatReference {
    /// The exact request at which our reference server answers `until_status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_at: Option<u32>,
}

/// Expectations on a response.
///
/// `status`, `headers` and `body` are the documented contract: a difference
/// is a conformance failure (at the scenario's or step's level). What our
/// reference server does where the docs are silent goes under `reference`
/// (an `Expect` of its own, without a nested `reference`): a difference
/// there is a departure from the reference server, never a failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// One status or a list of acceptable ones; a status is a code (`404`)
    /// or a family (`4xx`), for when the docs give only the family.
    #[serde(default, with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<StatusExpect>,
    /// Header name (case-insensitive) to checks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Check>,
    /// Checks on the JSON body, each at a path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body: Vec<BodyAssertion>,
    /// Our reference server's choices where the docs are silent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Box<Expect>>,
}

impl Expect {
    /// True when `status` is acceptable (an empty list accepts any 2xx).
    pub fn accepts_status(&self, status: u16) -> bool {
        if self.status.is_empty() {
            (200..300).contains(&status)
        } else {
            self.status.iter().any(|s| s.matches(status))
        }
    }

    /// True when the expectation names `status` exactly (not through a family).
    pub fn names_status(&self, status: u16) -> bool {
        self.status.contains(&StatusExpect::Code(status))
    }
}

/// One acceptable status: an exact code or a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusExpect {
    /// `404`.
    Code(u16),
    /// `4xx`: the hundreds digit.
    Family(u16),
}

impl StatusExpect {
    /// True when `status` is this code or in this family.
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusExpect::Code(c) => c == status,
            StatusExpect::Family(h) => status / 100 == h,
        }
    }

    /// The exact code, if this is one.
    pub fn code(self) -> Option<u16> {
        match self {
            StatusExpect::Code(c) => Some(c),
            StatusExpect::Family(_) => None,
        }
    }
}

impl std::fmt::Display for StatusExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusExpect::Code(c) => write!(f, "{c}"),
            StatusExpect::Family(h) => write!(f, "{h}xx"),
        }
    }
}

impl From<u16> for StatusExpect {
    fn from(c: u16) -> Self {
        StatusExpect::Code(c)
    }
}

/// A check at a place in the JSON body.
///
/// Written flat: `- {path: /job/id, uuid: true}`. `Deserialize` is
/// hand-written (in `de.rs`): serde's `flatten` cannot deny unknown keys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BodyAssertion {
    /// A JSON pointer (`/job/id`, `` for the root) or a JSONPath (`$.jobs[*].id`).
    /// A JSONPath that names one place (`$.a.b`) behaves like a pointer. One
    /// that can select several values (wildcard, `..`, filter, slice, union)
    /// is read as the array of selected values for `exists`, `absent`,
    /// `length`, `min_length` and `contains` (some selected value equals the
    /// expectation); every other check, `not` included, applies to each
    /// selected value; when nothing is selected such checks fail (a check
    /// that looked at nothing proves nothing) unless `allow_empty: true`.
    pub path: String,
    #[serde(flatten)]
    pub check: Check,
    /// A multi-value path may select nothing (its per-value checks then
    /// hold vacuously).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_empty: bool,
}

/// The checks one assertion can make; all that are present must hold.
///
/// `Deserialize` is hand-written (in `de.rs`), sharing its keys with
/// [`BodyAssertion`]; unknown keys are an error. A written `equals: null`
/// or `contains: null` is `Some(Value::Null)`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Check {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Value>,
    /// JSON type: `string`, `number`, `integer`, `boolean`, `object`, `array`, `null`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// The value is an integer number of cents (a JSON integer, not a float or string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cents: Option<bool>,
    /// The value is a full, canonical UUID string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent: Option<bool>,
    /// Length of a string, array or object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<usize>,
    /// Numeric bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// A string contains a substring; an array contains an equal element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<Value>,
    /// The value equals one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Value>>,
    /// The inner checks must NOT all hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Check>>,
}

/// Where a captured variable comes from.
///
/// `Deserialize` is hand-written (in `de.rs`): a string, or `{header: name}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Capture {
    /// A JSON pointer or JSONPath into the body (first match).
    Body(String),
    /// A response header.
    Header { header: String },
    /// The first of several places that holds a value: for answers the
    /// docs give in more than one form (`[/application/id, /applicationId]`).
    AnyOf(Vec<String>),
}

/// An attachment seeded through the control API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attach {
    /// The job (`{{job_id}}`).
    pub job: String,
    pub file_name: String,
    /// The file's text.
    #[serde(default)]
    pub content: String,
}

/// Requests sent at once: `times` copies of `request` by the step's actor,
/// or a list of `requests`, each with its own actor. All are sent before
/// any answer is awaited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Concurrent {
    /// How many copies of `request` (2 or more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    /// The request sent `times` times, as the step's actor (`as`, `auth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    /// Different requests (2 or more), each as its own actor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<ConcurrentRequest>,
}

/// One of the different requests of a `concurrent` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConcurrentRequest {
    /// The actor; default the step's `as`.
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// The auth mode; default the step's `auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthMode>,
    pub request: Request,
}

/// Expectations on the set of answers of a `concurrent` step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ExpectAll {
    /// How many answers have each status or family: `{"2xx": 1, "4xx": 1}`
    /// is "exactly one success, the other refused". A status not named is
    /// not counted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub count: BTreeMap<String, u32>,
    /// Statuses or families no answer may have (`5xx`).
    #[serde(default, with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub none: Vec<StatusExpect>,
    /// Our reference server's exact counts (a difference is a departure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Box<ExpectAll>>,
}

/// Money conservation over the wallets of some actors.
///
/// `conserve: {open: [poster, agent]}` reads each actor's wallet
/// (`GET /api/wallet`) and keeps the balances as the opening ones.
/// `conserve: {platform: 800}` reads the same wallets again and checks the
/// balance equation: the sum of every change, plus the platform's take by
/// the documented arithmetic (commission and proofer fees), plus what is
/// still `held` in escrow, is zero: the poster's debit equals the payouts
/// plus the take plus the escrow; nothing is created or lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Conserve {
    /// Actors whose wallets are tracked from here on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open: Vec<String>,
    /// The platform's take in cents; several values where the docs conflict
    /// (the proofer's fee: 10% or none): any one balances.
    #[serde(default, with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub platform: Vec<i64>,
    /// The tracked wallets this check sums (default: every opened one);
    /// before a release, the poster's alone balances with what is `held`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wallets: Vec<String>,
    /// Cents still held in escrow (funded, not yet released). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<i64>,
    /// Expected change of some tracked wallets (`{poster: -8800}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub change: BTreeMap<String, i64>,
}

/// Open a webhook sink: a listener on `127.0.0.1:0` whose URL is set as
/// `{{<name>.url}}`, let through the target's SSRF check by its control
/// API (feature `webhook_loopback`). It lives until the scenario ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkStep {
    /// The sink's name, used by later `webhook` steps and as the variable.
    pub name: String,
}

/// Expect a webhook delivery (a POST with a JSON body) at an open sink.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectWebhook {
    /// The sink (opened by an earlier `sink` step).
    pub sink: String,
    /// The documented event name, read from the body's `event` field; `*`
    /// takes any delivery (an integration job's `callback_url`, whose
    /// payload the docs do not give).
    #[serde(rename = "type")]
    pub event_type: String,
    /// How long to wait, in milliseconds of wall time. Default 5000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_ms: Option<u64>,
    /// Check `X-AgentGigs-Signature`: the HMAC-SHA256 of the raw body under
    /// this secret, in hex or base64, with or without a `sha256=` prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<WebhookSignature>,
    /// Checks of our reference server's payload (departures only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<EventReference>,
}

/// How a webhook delivery is signed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSignature {
    /// The webhook's secret (`{{hook_secret}}`); redacted in reports.
    pub secret: String,
}

/// Advance the target's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockStep {
    pub advance_seconds: i64,
}

/// Open an event stream for the step's actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    /// The stream's name, used by later `event`/`no_event` steps.
    pub stream: String,
    /// Event types to ask for (`?types=`); empty for all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<String>,
}

/// Expect an event of a type whose payload matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectEvent {
    pub stream: String,
    /// The event type. `keepalive` waits for the stream's keepalive instead
    /// (a `:` comment line, an event named `keepalive`, `ping` or
    /// `heartbeat`, or a WebSocket ping) arriving after the step starts; it
    /// takes no `match`, `capture` or `exactly_once`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// With `type: keepalive`: how many keepalives to wait for in a row,
    /// each within `within_ms` of the one before (the first within
    /// `within_ms` of the step's start), so that the interval is measured
    /// rather than one line seen. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepalives: Option<u32>,
    /// Checks on the event's JSON payload.
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<BodyAssertion>,
    /// How long to wait, in milliseconds of wall time. Default 2000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_ms: Option<u64>,
    /// When true, a second matching event arriving within 300 ms of the
    /// first (or the rest of `within_ms`, if shorter) is a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exactly_once: Option<bool>,
    /// Variables taken from the payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture: Option<BTreeMap<String, String>>,
    /// Checks of our reference server's payload (the docs name event types
    /// but no payload field): the step waits for an event matching these
    /// too, and settles for one that matches only `match` with a departure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<EventReference>,
}

/// The reference server's payload of an expected event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventReference {
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<BodyAssertion>,
}

/// Expect that no event of a type (matching, if given) arrives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectNoEvent {
    pub stream: String,
    /// The type; absent means any event at all.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<BodyAssertion>,
    /// How long to watch, in milliseconds. Default 500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_ms: Option<u64>,
}

/// An automatic check turned off for one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipCheck {
    pub check: AutoCheck,
    /// Why; required, shown in reports.
    pub reason: String,
}

/// The checks the runner applies to every response without being asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoCheck {
    /// The status is documented for the operation.
    Status,
    /// The content type matches the documented one.
    ContentType,
    /// The body validates against the documented schema.
    Schema,
    /// Documented response headers are present.
    Headers,
    /// The request matches a documented operation at all.
    Operation,
}

/// Serde helper: accept `x` or `[x, y]`, always store a list.
pub mod one_or_many {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Reads `x` or `[x, y]` as a list, keeping `T`'s own error messages.
    pub fn deserialize<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        d.deserialize_any(super::super::de::OneOrManyVisitor(std::marker::PhantomData))
    }

    /// Writes a one-element list as the element alone.
    pub fn serialize<S, T>(v: &[T], s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        T: Serialize,
    {
        if v.len() == 1 {
            v[0].serialize(s)
        } else {
            v.serialize(s)
        }
    }
}

#[cfg(test)]
mod area_tests {
    use super::area_of_file;

    #[test]
    fn the_area_is_the_first_directory_under_the_root() {
        assert_eq!(area_of_file("scenarios/nda/apply.yaml"), "nda");
        assert_eq!(area_of_file("nda/deep/apply.yml"), "nda");
        assert_eq!(area_of_file("scenarios\\money\\fund.yaml"), "money");
        // A file directly under the root has no area (as reports always showed).
        assert_eq!(area_of_file("scenarios/loose.yaml"), "");
        assert_eq!(area_of_file("scenarios/loose.yml"), "");
    }
}
