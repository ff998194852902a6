//! Files: job attachments (poster upload, list), deliverable uploads, signed
//! download URLs and the `/files/{token}` server behind them.
//!
//! Uploads are `multipart/form-data` with the file in part `file` (415
//! otherwise), at most 50 MB (413; by the uploader's tier under the
//! `alternatives` choice). Access rules and link expiry (domain clock) are
//! the domain's. Choices applied here: `alternatives` (the download answer
//! as `{url, expires_in}`), `links_403` and `downloads_text_plain`.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde_json::json;

use super::nda_gate;
use crate::mock::domain::DomainError;
use crate::mock::http::auth::Caller;
use crate::mock::http::error::{ApiError, ApiResult, created, ok};
use crate::mock::http::extract::{JobPath, QueryMap, query_error};
use crate::mock::http::server::AppState;

fn not_multipart() -> ApiError {
    DomainError::UnsupportedMediaType(
        "Upload the file as multipart/form-data with the file in a part named `file`.".into(),
    )
    .into()
}

/// Bytes of an oversized upload read and dropped before the 413, at most.
const MAX_DRAINED_BYTES: usize = 128 * 1024 * 1024;

fn too_large(max: usize) -> ApiError {
    DomainError::PayloadTooLarge(format!(
        "The file is over {} MB. Upload a smaller file.",
        max / (1024 * 1024)
    ))
    .into()
}

/// Reads the `file` part: `(file name, bytes)`.
pub(super) async fn read_file_part(st: &AppState, req: Request) -> Result<(String, Vec<u8>), ApiError> {
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().to_ascii_lowercase().starts_with("multipart/form-data"));
    if !is_multipart {
        return Err(not_multipart());
    }
    // A declared length past any acceptable upload is refused without
    // parsing or keeping anything. The body is still read (and dropped, up
    // to a bound) so that the client, still sending, gets the answer
    // rather than a reset connection.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let max_file = st.max_upload_bytes();
    if declared.is_some_and(|n| n > st.router_body_limit() as u64) {
        let mut body = req.into_body().into_data_stream();
        let mut drained = 0usize;
        while drained <= MAX_DRAINED_BYTES
            && let Some(Ok(chunk)) = body.next().await
        {
            drained += chunk.len();
        }
        return Err(too_large(max_file));
    }
    let mut form = Multipart::from_request(req, st).await.map_err(|_| not_multipart())?;
    let mut found: Option<(String, Vec<u8>)> = None;
    let mut over = false;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(max_file)),
            Err(_) => return Err(not_multipart()),
        };
        let is_file = field.name() == Some("file") && found.is_none();
        let name = field.file_name().map(str::to_string).unwrap_or_else(|| "file".into());
        let mut field = field;
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if is_file && !over {
                        if bytes.len() + chunk.len() > max_file {
                            over = true;
                            bytes = Vec::new();
                        } else {
                            bytes.extend_from_slice(&chunk);
                        }
                    }
                }
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(max_file)),
                Err(_) => return Err(not_multipart()),
            }
        }
        if is_file {
            found = Some((name, bytes));
        }
    }
    if over {
        return Err(too_large(max_file));
    }
    found.ok_or_else(not_multipart)
}

/// `GET /api/jobs/{id}/attachments`.
pub(crate) async fn list_attachments(State(st): State<AppState>, caller: Caller, JobPath(job): JobPath) -> ApiResult {
    ok(st.run(|m| {
        nda_gate(&st, m, caller.user, job);
        m.list_attachments(caller.user, job)
    })?)
}

/// `POST /api/jobs/{id}/attachments` (poster, multipart) → 201 `{success, attachment}`.
pub(crate) async fn add_attachment(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    req: Request,
) -> ApiResult {
    let (name, bytes) = read_file_part(&st, req).await?;
    let file = st.run(|m| m.add_attachment(caller.user, job, &name, bytes))?;
    created(json!({"success": true, "attachment": file}))
}

/// `POST /api/agent/jobs/{id}/upload-deliverable` (hired agent, multipart) → 201 `{success, file}`.
pub(crate) async fn upload_deliverable(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    req: Request,
) -> ApiResult {
    let (name, bytes) = read_file_part(&st, req).await?;
    let file = st.run_at(caller.host.as_deref(), |m| {
        nda_gate(&st, m, caller.user, job);
        let view = m.upload_deliverable(caller.user, job, &name, bytes)?;
        let with_link = m.download_link(caller.user, job, &view.file_path)?;
        Ok::<_, DomainError>(json!({
            "id": view.id,
            "file_name": view.file_name,
            "file_size": view.file_size,
            "file_path": view.file_path,
            "download_url": with_link.signed_url,
        }))
    })?;
    created(json!({"success": true, "file": file}))
}

/// `GET /api/jobs/{id}/download?file=` → `{signedUrl, expires_in}` (llms.txt),
/// or under the `alternatives` choice `{url, expires_in}` (upstream, docs).
pub(crate) async fn download_link(
    State(st): State<AppState>,
    caller: Caller,
    JobPath(job): JobPath,
    q: QueryMap,
) -> ApiResult {
    let Some(path) = q.text("file") else {
        return Err(query_error(
            "file",
            "is required (a file_path from the attachments or deliverable list)",
        ));
    };
    if !path.starts_with(&job.to_string()) {
        return Err(query_error("file", "must begin with the job id"));
    }
    let link = st.run_at(caller.host.as_deref(), |m| {
        nda_gate(&st, m, caller.user, job);
        m.download_link(caller.user, job, &path)
    })?;
    if st.choice("alternatives") {
        return ok(json!({"url": link.signed_url, "expires_in": link.expires_in}));
    }
    ok(link)
}

/// `GET /files/{token}`: the bytes behind a signed URL (no auth; the token
/// is the credential) as `application/octet-stream`, or `text/plain;
/// charset=utf-8` under `downloads_text_plain`. An unknown token is 404, an
/// expired one 410; both 403 under `links_403`.
pub(crate) async fn signed_file(State(st): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    let file = match st.run(|m| m.resolve_download(&token)) {
        Ok(file) => file,
        Err(e) if st.choice("links_403") => {
            let mut resp = e.into_response();
            *resp.status_mut() = StatusCode::FORBIDDEN;
            return Ok(resp);
        }
        Err(e) => return Err(e),
    };
    let mut resp = (StatusCode::OK, Body::from(file.bytes)).into_response();
    let headers = resp.headers_mut();
    let content_type = if st.choice("downloads_text_plain") {
        "text/plain; charset=utf-8"
    } else {
        "application/octet-stream"
    };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let safe: String = file
        .file_name
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
