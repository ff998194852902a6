//! The documented routes beyond the core lifecycle: a proofer's assignments,
//! subscriptions, the public templates, reputation and leaderboard,
//! integration jobs, featured jobs, message uploads, content reports and
//! webhook registration. Each reads its input and makes one domain call
//! (`domain/growth.rs`, `domain/file.rs`).

use axum::extract::{Path, Request, State};
use futures::StreamExt;
use serde_json::Value;

use super::files::read_file_part;
use super::nda_gate;
use crate::mock::domain::DomainError;
use crate::mock::domain::file::MESSAGE_UPLOAD_MAX_BYTES;
use crate::mock::domain::growth::{
    IntegrationJobInput, LEADERBOARD_SORTS, REPORT_CONTENT_TYPES, REPORT_REASONS, WEBHOOK_EVENTS,
};
use crate::mock::domain::input::Fields;
use crate::mock::domain::money::Tier;
use crate::mock::http::auth::Caller;
use crate::mock::http::error::{ApiError, ApiResult, created, ok};
use crate::mock::http::extract::{ClientIp, JobPath, JsonBody, QueryMap, parse_full_uuid, query_error};
use crate::mock::http::server::AppState;

/// `GET /api/agent/proofs/available`.
pub(crate) async fn proofs_available(State(st): State<AppState>, caller: Caller) -> ApiResult {
    ok(st.run(|m| m.proofs_available(caller.user))?)
}

/// `GET /api/agent/subscription`.
pub(crate) async fn subscription(State(st): State<AppState>, caller: Caller) -> ApiResult {
    ok(st.run(|m| m.subscription(caller.user))?)
}

/// `POST /api/agent/subscription {tier}` → `{success, checkoutUrl}`.
pub(crate) async fn subscribe(State(st): State<AppState>, caller: Caller, JsonBody(body): JsonBody) -> ApiResult {
    let mut f = Fields::new(&body);
    let tier = f.string("tier", true, 1, 20);
    let parsed = tier.as_deref().map(Tier::parse);
    if parsed == Some(None) {
        f.fail("tier", "must be one of free, pro, enterprise");
    }
    f.finish()?;
    let tier = parsed.flatten().unwrap_or_default();
    ok(st.run(|m| m.subscribe(caller.user, tier))?)
}

/// `DELETE /api/agent/subscription`.
pub(crate) async fn cancel_subscription(State(st): State<AppState>, caller: Caller) -> ApiResult {
    ok(st.run(|m| m.cancel_subscription(caller.user))?)
}

/// `GET /api/job-templates` (no auth).
pub(crate) async fn job_templates(State(st): State<AppState>) -> ApiResult {
    ok(st.run(|m| Ok::<_, crate::mock::domain::DomainError>(m.job_templates()))?)
}

/// `GET /api/public/agents/{id}/reputation` (no auth, 30/min per IP).
pub(crate) async fn reputation(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> ApiResult {
    let agent = parse_full_uuid(id.trim()).ok_or_else(|| ApiError::not_found("agent"))?;
    ok(st.run(|m| m.reputation(agent, &ip))?)
}

/// `GET /api/proofs/leaderboard?sort=&limit=` (no auth).
pub(crate) async fn leaderboard(State(st): State<AppState>, q: QueryMap) -> ApiResult {
    let sort = q.text("sort").unwrap_or_else(|| "consensus_rate".into());
    if !LEADERBOARD_SORTS.contains(&sort.as_str()) {
        return Err(query_error(
            "sort",
            "must be one of total_proofs, consensus_rate, total_earnings, avg_score_given",
        ));
    }
    let limit = q.limit()?.unwrap_or(20);
    ok(st.run(|m| m.proofer_leaderboard(&sort, limit))?)
}

/// `POST /api/integrations/jobs` → 201 `{success, job, integration}`.
pub(crate) async fn create_integration_job(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let input = IntegrationJobInput::from_json(&body)?;
    created(st.run(|m| m.create_integration_job(caller.user, input))?)
}

/// `GET /api/integrations/jobs`.
pub(crate) async fn integration_jobs(State(st): State<AppState>, caller: Caller) -> ApiResult {
    ok(st.run(|m| m.integration_jobs(caller.user))?)
}

/// `GET /api/jobs/{id}/feature`.
pub(crate) async fn feature_status(State(st): State<AppState>, caller: Caller, JobPath(job): JobPath) -> ApiResult {
    ok(st.run(|m| m.feature_status(caller.user, job))?)
}

/// `POST /api/jobs/{id}/feature` (no body).
pub(crate) async fn feature_job(State(st): State<AppState>, caller: Caller, JobPath(job): JobPath) -> ApiResult {
    ok(st.run(|m| m.feature_job(caller.user, job))?)
}

/// Room for the multipart framing around a 10 MB message attachment.
const FRAMING_BYTES: u64 = 64 * 1024;

/// `POST /api/jobs/{id}/messages/upload` (multipart `file`, 10 MB) → 201. A
/// body declared over 10 MB plus framing is 413 before it is parsed.
pub(crate) async fn upload_message_file(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    req: Request,
) -> ApiResult {
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MESSAGE_UPLOAD_MAX_BYTES as u64 + FRAMING_BYTES) {
        // Read (and drop, up to a bound) what the client is still sending,
        // so that it gets the answer rather than a reset connection.
        let mut body = req.into_body().into_data_stream();
        let mut drained = 0usize;
        while drained <= 4 * MESSAGE_UPLOAD_MAX_BYTES
            && let Some(Ok(chunk)) = body.next().await
        {
            drained += chunk.len();
        }
        return Err(DomainError::PayloadTooLarge(
            "Message attachments are limited to 10 MB. Compress or split the file.".into(),
        )
        .into());
    }
    let (name, bytes) = read_file_part(&st, req).await?;
    created(st.run_at(caller.host.as_deref(), |m| {
        nda_gate(&st, m, caller.user, job);
        m.upload_message_file(caller.user, job, &name, bytes)
    })?)
}

/// `POST /api/reports {content_type, content_id, reason, description?}` → 201.
pub(crate) async fn report(State(st): State<AppState>, caller: Caller, JsonBody(body): JsonBody) -> ApiResult {
    let mut f = Fields::new(&body);
    let content_type = f.string("content_type", true, 1, 50);
    if content_type
        .as_deref()
        .is_some_and(|c| !REPORT_CONTENT_TYPES.contains(&c))
    {
        f.fail(
            "content_type",
            "must be one of job, review, message, agent_profile, deliverable",
        );
    }
    let content_id = f.string("content_id", true, 1, 200);
    let reason = f.string("reason", true, 1, 50);
    if reason.as_deref().is_some_and(|r| !REPORT_REASONS.contains(&r)) {
        f.fail(
            "reason",
            "must be one of illegal_content, harassment, fraud, spam, inappropriate, copyright, malware, other",
        );
    }
    let _ = f.string("description", false, 0, 5000);
    f.finish()?;
    let (ct, id, reason) = (
        content_type.unwrap_or_default(),
        content_id.unwrap_or_default(),
        reason.unwrap_or_default(),
    );
    created(st.run(|m| m.report_content(caller.user, &ct, id.trim(), &reason))?)
}

/// `POST /api/agent/webhooks {url, events}` → 201 `{success, webhook, secret}`.
pub(crate) async fn register_webhook(
    State(st): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult {
    let mut f = Fields::new(&body);
    let url = f.string("url", true, 1, 2000);
    let mut events: Vec<String> = Vec::new();
    match f.raw("events") {
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, e) in items.iter().enumerate() {
                match e.as_str() {
                    Some(name) if WEBHOOK_EVENTS.contains(&name) => {
                        if !events.iter().any(|x| x == name) {
                            events.push(name.to_string());
                        }
                    }
                    _ => f.fail(
                        &format!("events[{i}]"),
                        "must be one of job.available, job.accepted, job.revision_requested, job.approved, payment.released",
                    ),
                }
            }
        }
        _ => f.fail("events", "must be a non-empty array of event names"),
    }
    f.finish()?;
    let url = url.unwrap_or_default();
    created(st.run(|m| m.register_webhook(caller.user, &url, events))?)
}
