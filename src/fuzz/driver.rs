//! The fuzzing loop: for each operation of the documented contract,
//! provision fresh fixtures, draw valid then invalid requests from
//! proptest strategies with a seeded `TestRng` (ChaCha; the seed,
//! operation and phase decide the stream, so a run is reproducible), send
//! each, judge it on both layers, keep its departures from the reference
//! server (deduplicated per operation), and on the first failure of a
//! phase shrink it with proptest's value tree to a minimal request, which
//! is rendered as curl and saved to the corpus.
//!
//! Writes only corpus files, only under `corpus_dir`; never prints.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;

use super::corpus::{CorpusEntry, CorpusExpected, CorpusObserved, fnv1a};
use super::exec::{FailureKind, Judgement, Observed, Oracle, judge, send};
use super::fixtures::{Fixtures, provision};
use super::plan::{OpPlan, plan};
use super::report::{FuzzDeparture, FuzzFailure, FuzzReport, MAX_DEPARTURES, OperationFuzzResult, SkippedOperation};
use super::request::{Expect, FuzzRequest};
use super::strategy::{GenConfig, Generator};
use super::{DEFAULT_MAX_BODY_BYTES, FuzzError};
use crate::finding::Finding;
use crate::redact::Secrets;
use crate::spec::{Contract, Operation, Spec};
use crate::target::{ClientOptions, ControlClient, build_client};

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct FuzzOptions {
    /// Seed of every random choice; the same seed, spec and target state
    /// give the same requests.
    pub seed: u64,
    /// Cases per operation, for valid and for invalid requests each.
    pub cases: u32,
    /// Only this operation: an operationId or `METHOD /path`.
    pub operation: Option<String>,
    /// Stop sending new cases after this long (shrinking included).
    pub time_budget: Option<Duration>,
    /// Where corpus files are written.
    pub corpus_dir: PathBuf,
    /// Shrinking steps (requests) at most per failure.
    pub max_shrink_steps: u32,
    /// Departures from the reference server are failures too.
    pub strict: bool,
    /// Bytes of an answer body read at most; a larger body is no answer.
    pub max_body_bytes: usize,
}

impl Default for FuzzOptions {
    fn default() -> Self {
        FuzzOptions {
            seed: 0,
            cases: 32,
            operation: None,
            time_budget: None,
            corpus_dir: PathBuf::from("fuzz-corpus"),
            max_shrink_steps: 1000,
            strict: false,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// The HTTP client of the fuzzer.
pub(crate) fn client() -> Result<reqwest::Client, FuzzError> {
    build_client(&ClientOptions::default()).map_err(|e| FuzzError::Client(e.to_string()))
}

/// The operations a filter selects (all when `None`): an operationId
/// (case-insensitive) or `METHOD /path`.
pub fn select_operations<'a>(spec: &'a Spec, filter: Option<&str>) -> Result<Vec<&'a Operation>, FuzzError> {
    let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(spec.operations().iter().collect());
    };
    let normalized: String = f.split_whitespace().collect::<Vec<_>>().join(" ");
    let found: Vec<&Operation> = spec
        .operations()
        .iter()
        .filter(|o| {
            o.operation_id.as_deref().is_some_and(|id| id.eq_ignore_ascii_case(f))
                || o.label().eq_ignore_ascii_case(&normalized)
        })
        .collect();
    if found.is_empty() {
        return Err(FuzzError::UnknownOperation(f.to_string()));
    }
    Ok(found)
}

/// Which requests a phase draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Valid,
    Invalid,
}

/// State shared by the loop.
struct Ctx<'a> {
    contract: &'a Contract,
    spec: &'a Spec,
    control: &'a ControlClient,
    /// The target offers `POST /__conformance/clock`: a 429 is waited out
    /// by moving the server clock instead of the wall clock.
    clock: bool,
    http: reqwest::Client,
    base_url: &'a str,
    opts: &'a FuzzOptions,
    deadline: Option<Instant>,
    secrets: Secrets,
    exhausted: bool,
    /// Keys of the departures of the current operation not kept (over
    /// [`MAX_DEPARTURES`]).
    omitted: BTreeSet<String>,
}

impl Ctx<'_> {
    fn out_of_time(&mut self) -> bool {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            self.exhausted = true;
        }
        self.exhausted
    }
}

/// Fuzzes the selected operations of the documented contract on the
/// target at `base_url`, provisioning actors through `control`, and judges
/// the answers on both layers of `contract` (a bare `Spec` converts into a
/// documented-only contract). Fails only when the operation filter
/// matches nothing or the first provisioning fails (no control API, or the
/// target refuses the fixture job).
pub async fn fuzz(
    contract: &Contract,
    base_url: &str,
    control: &ControlClient,
    opts: &FuzzOptions,
) -> Result<FuzzReport, FuzzError> {
    let started = Instant::now();
    let spec = contract.documented();
    let ops = select_operations(spec, opts.operation.as_deref())?;
    let clock = control.features().await.map(|i| i.has("clock")).unwrap_or(false);
    let mut ctx = Ctx {
        contract,
        spec,
        control,
        clock,
        http: client()?,
        base_url,
        opts,
        deadline: opts.time_budget.map(|b| started + b),
        secrets: Secrets::new(),
        exhausted: false,
        omitted: BTreeSet::new(),
    };
    let mut results = Vec::new();
    let mut skipped = Vec::new();
    let mut provisioned_once = false;
    for op in ops {
        let plan = match plan(contract, op) {
            Ok(p) => p,
            Err(reason) => {
                skipped.push(SkippedOperation {
                    operation: op.operation_id.clone().unwrap_or_else(|| op.label()),
                    reason,
                });
                continue;
            }
        };
        if ctx.out_of_time() {
            skipped.push(SkippedOperation {
                operation: plan.name.clone(),
                reason: "time budget exhausted".into(),
            });
            continue;
        }
        let fx = match provision(&ctx.http, base_url, control, opts.max_body_bytes).await {
            Ok(fx) => fx,
            Err(e) if !provisioned_once => return Err(e),
            Err(e) => {
                results.push(OperationFuzzResult {
                    operation: plan.name.clone(),
                    label: plan.label.clone(),
                    error: Some(ctx.secrets.redact_str(&e.to_string())),
                    ..Default::default()
                });
                continue;
            }
        };
        provisioned_once = true;
        fx.register_secrets(&ctx.secrets);
        results.push(fuzz_operation(&mut ctx, &plan, op, &fx).await);
    }
    Ok(FuzzReport {
        seed: opts.seed,
        cases: opts.cases,
        duration: started.elapsed(),
        operations: results,
        skipped,
        budget_exhausted: ctx.exhausted,
        strict: opts.strict,
        reference: contract.reference().map(|r| r.info().path),
    })
}

async fn fuzz_operation(ctx: &mut Ctx<'_>, plan: &OpPlan, op: &Operation, fx: &Fixtures) -> OperationFuzzResult {
    let mut result = OperationFuzzResult {
        operation: plan.name.clone(),
        label: plan.label.clone(),
        ..Default::default()
    };
    ctx.omitted.clear();
    let generator = Generator::new(ctx.spec.document(), GenConfig::default(), fx.hints());
    let valid = plan.valid_strategy(&generator, fx);
    run_phase(ctx, plan, op, fx, &valid, Phase::Valid, &mut result).await;
    if let Some(invalid) = plan.invalid_strategy(&generator, fx) {
        run_phase(ctx, plan, op, fx, &invalid, Phase::Invalid, &mut result).await;
    }
    result
}

/// 32 seed bytes for (run seed, operation, phase), by splitmix64.
fn seed_bytes(seed: u64, operation: &str, phase: Phase) -> [u8; 32] {
    let mut state = seed ^ fnv1a(operation.as_bytes()) ^ if phase == Phase::Invalid { 0x9e37_79b9 } else { 0 };
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes());
    }
    out
}

async fn run_phase(
    ctx: &mut Ctx<'_>,
    plan: &OpPlan,
    op: &Operation,
    fx: &Fixtures,
    strategy: &BoxedStrategy<FuzzRequest>,
    phase: Phase,
    result: &mut OperationFuzzResult,
) {
    let config = Config {
        cases: ctx.opts.cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes(ctx.opts.seed, &plan.name, phase));
    let mut runner = TestRunner::new_with_rng(config, rng);
    for _ in 0..ctx.opts.cases {
        if ctx.out_of_time() {
            return;
        }
        let Ok(mut tree) = strategy.new_tree(&mut runner) else {
            return;
        };
        let req = tree.current();
        if req.expect == Expect::Documented {
            result.cases_valid += 1;
        } else {
            result.cases_invalid += 1;
        }
        let (outcome, judgement) = exchange(ctx, plan, op, fx, &req).await;
        if let Ok(o) = &outcome {
            *result.statuses.entry(o.status).or_default() += 1;
        }
        record_departures(ctx, plan, &req, &outcome, &judgement, result);
        let Some(kind) = judgement.failure else { continue };
        // Shrink: keep simplifying while the same kind of failure persists.
        let mut best = (req, outcome, judgement);
        let mut steps = 0u32;
        if tree.simplify() {
            loop {
                if steps >= ctx.opts.max_shrink_steps || ctx.out_of_time() {
                    break;
                }
                steps += 1;
                let candidate = tree.current();
                let (o, j) = exchange(ctx, plan, op, fx, &candidate).await;
                if j.failure == Some(kind) {
                    best = (candidate, o, j);
                    if !tree.simplify() {
                        break;
                    }
                } else if !tree.complicate() {
                    break;
                }
            }
        }
        let failure = record_failure(ctx, plan, fx, &best.0, &best.1, &best.2, steps);
        result.failures.push(failure);
        return;
    }
}

async fn exchange(
    ctx: &Ctx<'_>,
    plan: &OpPlan,
    op: &Operation,
    fx: &Fixtures,
    req: &FuzzRequest,
) -> (Result<Observed, String>, Judgement) {
    let wire = req.to_wire_template().instantiate(fx);
    let max_body = ctx.opts.max_body_bytes;
    let mut outcome = send(&ctx.http, ctx.base_url, &wire, plan.stream, max_body).await;
    if let Ok(o) = &outcome
        && o.status == 429
        && ctx.clock
        && ctx.control.advance_clock(retry_after(o) + 1).await.is_ok()
    {
        outcome = send(&ctx.http, ctx.base_url, &wire, plan.stream, max_body).await;
    }
    let judgement = judge(
        req.expect,
        req.refusal.as_ref(),
        &outcome,
        Oracle::Contract(ctx.contract, op),
    );
    let judgement = if ctx.opts.strict { judgement.strict() } else { judgement };
    (outcome, judgement)
}

/// Seconds a 429 asks to wait (`Retry-After`, else `retry_after` in the
/// body, else 60), at most an hour.
fn retry_after(o: &Observed) -> i64 {
    let header = o
        .headers
        .iter()
        .find(|(k, _)| k == "retry-after")
        .and_then(|(_, v)| v.trim().parse::<i64>().ok());
    let body = o
        .json
        .as_ref()
        .and_then(|j| j.get("retry_after"))
        .and_then(Value::as_i64);
    header.or(body).unwrap_or(60).clamp(0, 3600)
}

fn redact_findings(secrets: &Secrets, findings: &[Finding]) -> Vec<Finding> {
    findings
        .iter()
        .map(|f| {
            let v = serde_json::to_value(f).unwrap_or(Value::Null);
            serde_json::from_value(secrets.redact_json(&v)).unwrap_or_else(|_| f.clone())
        })
        .collect()
}

/// Keeps the departures of one answer: a new one (by key) with its
/// example, a known one counted.
fn record_departures(
    ctx: &mut Ctx<'_>,
    plan: &OpPlan,
    req: &FuzzRequest,
    outcome: &Result<Observed, String>,
    judgement: &Judgement,
    result: &mut OperationFuzzResult,
) {
    for d in &judgement.departures {
        if let Some(known) = result.departures.iter_mut().find(|k| k.key == d.key) {
            known.count += 1;
            continue;
        }
        if result.departures.len() >= MAX_DEPARTURES {
            if ctx.omitted.insert(d.key.clone()) {
                result.departures_omitted += 1;
            }
            continue;
        }
        let secrets = &ctx.secrets;
        let wire = req.to_wire_template();
        let finding = redact_findings(secrets, std::slice::from_ref(&d.finding))
            .pop()
            .unwrap_or_else(|| d.finding.clone());
        result.departures.push(FuzzDeparture {
            operation: plan.name.clone(),
            kind: d.kind,
            key: d.key.clone(),
            message: finding.message.clone(),
            finding,
            expect: req.expect,
            mutation: req.mutation.clone(),
            status: outcome.as_ref().ok().map(|o| o.status),
            request: wire.map_strings(&|s| secrets.redact_str(s)),
            curl: secrets.redact_str(&wire.curl(ctx.base_url)),
            count: 1,
        });
    }
}

fn record_failure(
    ctx: &Ctx<'_>,
    plan: &OpPlan,
    fx: &Fixtures,
    req: &FuzzRequest,
    outcome: &Result<Observed, String>,
    judgement: &Judgement,
    steps: u32,
) -> FuzzFailure {
    let secrets = &ctx.secrets;
    let kind = judgement.failure.unwrap_or(FailureKind::Transport);
    let wire = req.to_wire_template();
    let status = outcome.as_ref().ok().map(|o| o.status);
    let response_body = outcome
        .as_ref()
        .ok()
        .and_then(Observed::body_excerpt)
        .map(|b| secrets.redact_json(&b));
    let findings = redact_findings(secrets, &judgement.findings);
    let message = secrets.redact_str(&judgement.message);
    let stored = wire.templatize(fx);
    let (body, body_format) = match &stored.body {
        Some(super::request::WireBody::Json { value }) => (Some(value.clone()), Some(super::request::BodyFormat::Json)),
        Some(super::request::WireBody::Multipart { fields, .. }) => (
            Some(Value::Object(fields.clone())),
            Some(super::request::BodyFormat::Multipart),
        ),
        None => (None, None),
    };
    let entry = CorpusEntry {
        version: super::corpus::CORPUS_VERSION,
        operation: plan.name.clone(),
        method: stored.method.clone(),
        path: stored.path.clone(),
        query: stored.query.clone(),
        headers: stored.headers.clone(),
        body,
        body_format,
        files: req.files.clone(),
        stream: plan.stream,
        expected: CorpusExpected {
            expect: req.expect,
            statuses: plan.statuses.clone(),
            description: req.expect.describe().to_string(),
        },
        observed: CorpusObserved {
            status,
            failure: kind,
            layer: judgement.layer,
            docs: judgement.docs.clone(),
            message: message.clone(),
            findings: findings.clone(),
            body: response_body.clone(),
        },
        mutation: req.mutation.clone(),
        refusal: req.refusal.clone(),
        seed: ctx.opts.seed,
    };
    let (corpus_file, body_file, write_error) = match entry.write(&ctx.opts.corpus_dir, secrets) {
        Ok((p, b)) => (Some(p), b, None),
        Err(e) => (None, None, Some(e.to_string())),
    };
    let curl = secrets.redact_str(&wire.curl_with(ctx.base_url, body_file.as_deref()));
    let mut message = message;
    if let Some(e) = write_error {
        message.push_str(&format!(" (corpus not written: {e})"));
    }
    FuzzFailure {
        operation: plan.name.clone(),
        kind,
        layer: judgement.layer,
        docs: judgement.docs.clone(),
        expect: req.expect,
        mutation: req.mutation.clone(),
        request: wire.map_strings(&|s| secrets.redact_str(s)),
        status,
        response_body,
        message,
        findings,
        curl,
        corpus_file,
        shrink_steps: steps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_by_operation_and_phase() {
        let a = seed_bytes(1, "createJob", Phase::Valid);
        assert_eq!(a, seed_bytes(1, "createJob", Phase::Valid));
        assert_ne!(a, seed_bytes(1, "createJob", Phase::Invalid));
        assert_ne!(a, seed_bytes(1, "applyToJob", Phase::Valid));
        assert_ne!(a, seed_bytes(2, "createJob", Phase::Valid));
    }
}
