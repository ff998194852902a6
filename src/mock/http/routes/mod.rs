//! The AgentGigs API route table and small helpers shared by the handlers.
//!
//! One file per area; each handler authenticates (extractor), reads its
//! input, makes one `AppState::run` call and shapes the answer. No rule of
//! the marketplace is decided here.

mod alternative;
mod applications;
mod auth;
mod earnings;
mod files;
mod growth;
mod jobs;
mod messages;
mod meta;
mod money;
mod profile;
mod proofs;

use axum::Router;
use axum::routing::{get, post};
use serde_json::{Value, json};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::parse_full_uuid;
use super::server::AppState;
use crate::mock::domain::input::Fields;
use crate::mock::domain::{DomainResult, Marketplace};

/// Every `/api` route and `/files/{token}`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        // meta
        .route("/api/help", get(meta::help))
        .route("/api/categories", get(meta::categories))
        // auth and profile
        .route("/api/auth/register", post(auth::register))
        .route("/api/auth/login", post(auth::login))
        .route("/api/agent/api-key", post(auth::api_key))
        .route("/api/agent/profile", post(profile::create).patch(profile::update))
        // browsing, posting, lifecycle
        .route("/api/agent/jobs/available", get(jobs::available))
        .route("/api/agent/jobs", post(jobs::create).get(jobs::posted))
        .route("/api/jobs/{id}/nda", get(jobs::nda_status).post(jobs::nda_ack))
        .route("/api/agent/jobs/{id}/details", get(jobs::details))
        .route("/api/jobs/{id}/deliver", post(jobs::deliver))
        .route("/api/jobs/{id}/cancel", post(jobs::cancel))
        .route("/api/jobs/{id}/request-revision", post(jobs::request_revision))
        .route("/api/jobs/{id}/dispute", post(jobs::dispute))
        .route("/api/jobs/{id}/review", post(jobs::review))
        // applications
        .route("/api/jobs/{id}/apply", post(applications::apply))
        .route("/api/agent/applications", get(applications::mine))
        .route("/api/agent/jobs/{id}/applications", get(applications::on_job))
        .route("/api/agent/jobs/{id}/accept-application", post(applications::accept))
        // the alternative job paths the docs name beside the main ones
        .route("/api/agent/jobs/{id}/accept", post(alternative::accept))
        .route("/api/agent/jobs/{id}/submit", post(alternative::submit))
        .route("/api/agent/jobs/{id}/fund", post(alternative::fund))
        .route("/api/agent/jobs/{id}/approve", post(money::approve))
        // earnings and referrals
        .route("/api/agent/earnings", get(earnings::earnings))
        .route(
            "/api/agent/referrals",
            get(earnings::referrals).post(earnings::apply_referral),
        )
        // subscriptions, webhooks, a proofer's assignments
        .route(
            "/api/agent/subscription",
            get(growth::subscription)
                .post(growth::subscribe)
                .delete(growth::cancel_subscription),
        )
        .route("/api/agent/webhooks", post(growth::register_webhook))
        .route("/api/agent/proofs/available", get(growth::proofs_available))
        // public: templates, reputation, leaderboard
        .route("/api/job-templates", get(growth::job_templates))
        .route("/api/public/agents/{id}/reputation", get(growth::reputation))
        .route("/api/proofs/leaderboard", get(growth::leaderboard))
        // integrations, featured jobs, message uploads, reports
        .route(
            "/api/integrations/jobs",
            get(growth::integration_jobs).post(growth::create_integration_job),
        )
        .route(
            "/api/jobs/{id}/feature",
            get(growth::feature_status).post(growth::feature_job),
        )
        .route("/api/jobs/{id}/messages/upload", post(growth::upload_message_file))
        .route("/api/reports", post(growth::report))
        // proofing
        .route("/api/jobs/{id}/accept-proofer", post(proofs::accept_proofer))
        .route(
            "/api/jobs/{id}/proof-settings",
            get(proofs::settings).patch(proofs::update_settings),
        )
        .route("/api/jobs/proof-needed", get(proofs::needed))
        .route("/api/agent/proofs/register", post(proofs::register))
        .route("/api/jobs/{id}/proof", post(proofs::verdict))
        .route("/api/jobs/{id}/proofs", get(proofs::view))
        .route("/api/agent/improvement-trends", get(proofs::trends))
        // money
        .route("/api/jobs/{id}/fund-escrow", post(money::fund_escrow))
        .route("/api/jobs/{id}/fund-proof-escrow", post(money::fund_proof_escrow))
        .route("/api/jobs/{id}/approve", post(money::approve))
        .route("/api/jobs/{id}/hold-payment", post(money::hold_payment))
        .route("/api/wallet", get(money::wallet))
        // messages, notifications, events
        .route("/api/jobs/{id}/messages", get(messages::list).post(messages::post))
        .route("/api/agent/notifications", get(messages::notifications))
        .route("/api/agent/events", get(super::events::stream))
        // files
        .route(
            "/api/jobs/{id}/attachments",
            get(files::list_attachments).post(files::add_attachment),
        )
        .route("/api/jobs/{id}/download", get(files::download_link))
        .route(
            "/api/agent/jobs/{id}/upload-deliverable",
            post(files::upload_deliverable),
        )
        .route("/files/{token}", get(files::signed_file))
}

/// Under the `skip_nda` fault, acknowledges the NDA on the caller's behalf so
/// the domain's gate lets the action through.
pub(crate) fn nda_gate(st: &AppState, m: &mut Marketplace, user: Uuid, job: Uuid) {
    if st.fault("skip_nda") {
        let _ = m.acknowledge_nda(user, job);
    }
}

/// `{success, message, job}` after a job action.
pub(crate) fn job_action(m: &Marketplace, job: Uuid, message: &str) -> DomainResult<Value> {
    Ok(json!({"success": true, "message": message, "job": m.get_job(job)?}))
}

/// Reads a required `applicationId` (also accepted: `application_id`): a
/// missing or non-string value is `400 VALIDATION_FAILED`; a string that is not a
/// full UUID names no application (`404 NOT_FOUND`).
pub(crate) fn application_id(body: &Value, required: bool) -> Result<Option<Uuid>, ApiError> {
    let mut f = Fields::new(body);
    let key = if f.raw("applicationId").is_none() && f.raw("application_id").is_some() {
        "application_id"
    } else {
        "applicationId"
    };
    let raw = f.string(key, required, 1, 100);
    f.finish()?;
    match raw {
        None => Ok(None),
        Some(s) => parse_full_uuid(s.trim())
            .map(Some)
            .ok_or_else(|| ApiError::not_found("application")),
    }
}
