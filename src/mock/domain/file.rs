//! Files: poster attachments, agent deliverables, signed download tokens.
//!
//! Bytes are kept in memory. Paths start with the job id:
//! `{job_id}/attachments/{ts}-{name}` and `{job_id}/deliverables/{user_id}/{ts}-{name}`.
//! A signed URL is `{base}/files/{token}`, valid 3600 s of the server clock.
//! Parsing multipart bodies is the HTTP layer's job.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::fault::Fault;
use super::input::extension;
use super::ratelimit::{RateRule, RateSubject};
use super::{DOWNLOAD_TTL_SECS, DomainError, DomainResult, JobId, JobStatus, Marketplace, Tier, UserId};

/// Maximum size of one uploaded file (50 MB; by tier under the `alternatives` choice).
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;
/// Maximum deliverable files per job (by tier under the `alternatives` choice).
pub const MAX_DELIVERABLES: usize = 20;
/// Refused extensions.
pub const BLOCKED_EXTENSIONS: [&str; 12] = [
    "exe", "bat", "cmd", "sh", "msi", "dll", "com", "scr", "ps1", "jar", "apk", "bin",
];

/// Attachment (poster) or deliverable (agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// Reference file from the poster; open to anyone with the NDA.
    Attachment,
    /// Work product; poster, hired agent and accepted proofers only.
    Deliverable,
    /// A message attachment (`POST /api/jobs/{id}/messages/upload`); the
    /// job's message participants only.
    Message,
}

/// A stored file (bytes included; not serialised).
#[derive(Debug, Clone)]
pub struct StoredFile {
    /// Id.
    pub id: Uuid,
    /// Job.
    pub job_id: JobId,
    /// Attachment or deliverable.
    pub kind: FileKind,
    /// Original name.
    pub file_name: String,
    /// Storage path.
    pub file_path: String,
    /// Who uploaded it.
    pub uploader: UserId,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Content.
    pub bytes: Vec<u8>,
}

/// A signed-URL token.
#[derive(Debug, Clone)]
pub struct DownloadToken {
    pub(super) file_id: Uuid,
    pub(super) expires_at: DateTime<Utc>,
}

/// `{id, file_name, file_size, file_path}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileView {
    /// Id.
    pub id: Uuid,
    /// Original name.
    pub file_name: String,
    /// Bytes.
    pub file_size: usize,
    /// Storage path (use it with `download?file=`).
    pub file_path: String,
}

/// `{attachments}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttachmentList {
    /// Oldest first.
    pub attachments: Vec<FileView>,
}

/// A deliverable in job details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliverableFile {
    /// Name.
    pub file_name: String,
    /// Bytes.
    pub file_size: usize,
    /// Path.
    pub file_path: String,
    /// Signed URL (1 h), or null.
    pub download_url: Option<String>,
}

/// `{signedUrl, expires_in}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DownloadLink {
    /// `{base}/files/{token}`.
    #[serde(rename = "signedUrl")]
    pub signed_url: String,
    /// Seconds (3600).
    pub expires_in: i64,
}

/// A resolved download.
#[derive(Debug, Clone, PartialEq)]
pub struct Download {
    /// Original name.
    pub file_name: String,
    /// Guessed from the extension.
    pub content_type: &'static str,
    /// Content.
    pub bytes: Vec<u8>,
}

fn content_type(name: &str) -> &'static str {
    match extension(name).as_deref() {
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        Some("json") => "application/json",
        Some("csv") => "text/csv",
        Some("txt") => "text/plain",
        Some("md") => "text/markdown",
        Some("html" | "htm") => "text/html",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("mp4") => "video/mp4",
        Some("mp3") => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

fn check_upload(file_name: &str, size: usize, max_bytes: usize) -> DomainResult<String> {
    let name: String = file_name.trim().replace(['/', '\\'], "_");
    if name.is_empty() || name.chars().count() > 255 {
        return Err(DomainError::invalid_field(
            "file",
            "needs a file name of 1 to 255 characters",
        ));
    }
    if extension(&name).is_some_and(|e| BLOCKED_EXTENSIONS.contains(&e.as_str())) {
        return Err(DomainError::FileTypeNotAllowed(format!(
            "Executable files are not allowed ({}). Upload a document, archive, image, audio or video.",
            BLOCKED_EXTENSIONS.map(|e| format!(".{e}")).join(" ")
        )));
    }
    if size > max_bytes {
        return Err(DomainError::PayloadTooLarge(format!(
            "The file is over {} MB. Split or compress it.",
            max_bytes / (1024 * 1024)
        )));
    }
    Ok(name)
}

/// Largest message attachment (DOCS: "Max 10MB").
pub const MESSAGE_UPLOAD_MAX_BYTES: usize = 10 * 1024 * 1024;

impl Marketplace {
    fn store_file(&mut self, job: JobId, kind: FileKind, uploader: UserId, name: String, bytes: Vec<u8>) -> FileView {
        let now = self.now();
        let ts = now.timestamp_millis();
        let dir = match kind {
            FileKind::Attachment => format!("{job}/attachments"),
            FileKind::Deliverable => format!("{job}/deliverables/{uploader}"),
            FileKind::Message => format!("{job}/messages/{uploader}"),
        };
        let mut path = format!("{dir}/{ts}-{name}");
        let mut n = 1;
        while self.files.iter().any(|f| f.file_path == path) {
            n += 1;
            path = format!("{dir}/{ts}-{n}-{name}");
        }
        let f = StoredFile {
            id: Uuid::new_v4(),
            job_id: job,
            kind,
            file_name: name,
            file_path: path,
            uploader,
            created_at: now,
            bytes,
        };
        let view = FileView {
            id: f.id,
            file_name: f.file_name.clone(),
            file_size: f.bytes.len(),
            file_path: f.file_path.clone(),
        };
        self.files.push(f);
        view
    }

    fn sign(&mut self, file_id: Uuid) -> String {
        let token = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let expires_at = self.now() + Duration::seconds(DOWNLOAD_TTL_SECS);
        self.download_tokens
            .insert(token.clone(), DownloadToken { file_id, expires_at });
        format!("{}/files/{token}", self.base_url)
    }

    /// Stores a deliverable from the hired agent while the job is `in_progress`
    /// (NDA, `NOT_ASSIGNED_AGENT`, `INVALID_STATE`, `FILE_TYPE_NOT_ALLOWED`,
    /// `PAYLOAD_TOO_LARGE` over 50 MB, `FILE_LIMIT_REACHED` over 20 files;
    /// under `alternatives` 10/50/200 MB and 20/50/100 files by the agent's tier).
    pub fn upload_deliverable(
        &mut self,
        agent: UserId,
        job: JobId,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> DomainResult<FileView> {
        self.tick();
        self.user_ref(agent)?;
        self.require_nda(agent, job)?;
        let j = self.job_ref(job)?;
        if j.assigned_agent_id != Some(agent) {
            return Err(DomainError::NotAssignedAgent(
                "Only the hired agent can upload deliverables.".into(),
            ));
        }
        if j.status != JobStatus::InProgress {
            return Err(DomainError::invalid_state("upload a deliverable", j.status.as_str()));
        }
        let name = check_upload(file_name, bytes.len(), self.max_file_bytes(agent))?;
        let count = self
            .files
            .iter()
            .filter(|f| f.job_id == job && f.kind == FileKind::Deliverable)
            .count();
        let max = self.max_deliverables(agent);
        if count >= max {
            return Err(DomainError::FileLimitReached(format!(
                "This job already has {max} deliverable files, the maximum."
            )));
        }
        Ok(self.store_file(job, FileKind::Deliverable, agent, name, bytes))
    }

    /// `POST /api/jobs/{id}/messages/upload`: stores a message attachment
    /// (DOCS: multipart, max 10 MB, NDA required) for the job's message
    /// participants (poster, hired agent, accepted proofers: our choice, as
    /// for messages) → `{attachment_url (signed, 1 h), attachment_name,
    /// attachment_size, storage_path}`. Over 10 MB is `413`.
    pub fn upload_message_file(
        &mut self,
        user: UserId,
        job: JobId,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> DomainResult<serde_json::Value> {
        self.tick();
        self.user_ref(user)?;
        self.require_participant(user, job)?;
        let name = check_upload(file_name, bytes.len(), MESSAGE_UPLOAD_MAX_BYTES)?;
        let view = self.store_file(job, FileKind::Message, user, name, bytes);
        let url = self.sign(view.id);
        Ok(serde_json::json!({
            "attachment_url": url,
            "attachment_name": view.file_name,
            "attachment_size": view.file_size,
            "storage_path": view.file_path,
        }))
    }

    /// Stores a poster attachment (poster only; 10/25/50 per job by the poster's
    /// tier; 50 MB, or under `alternatives` 10/50/200 MB by tier).
    /// Seeds an attachment on a job as its poster (the control API's
    /// `attachments` feature: the docs name no upload route for posters).
    pub fn seed_attachment(&mut self, job: JobId, file_name: &str, bytes: Vec<u8>) -> DomainResult<FileView> {
        let poster = self.job_ref(job)?.poster_id;
        self.add_attachment(poster, job, file_name, bytes)
    }

    pub fn add_attachment(
        &mut self,
        poster: UserId,
        job: JobId,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> DomainResult<FileView> {
        self.tick();
        let j = self.job_ref(job)?.clone();
        self.require_owner(poster, &j)?;
        let name = check_upload(file_name, bytes.len(), self.max_file_bytes(poster))?;
        let max = match self.user_ref(poster)?.tier {
            Tier::Free => 10,
            Tier::Pro => 25,
            Tier::Enterprise => 50,
        };
        let count = self
            .files
            .iter()
            .filter(|f| f.job_id == job && f.kind == FileKind::Attachment)
            .count();
        if count >= max {
            return Err(DomainError::FileLimitReached(format!(
                "This job already has {max} attachments, the maximum for your tier."
            )));
        }
        Ok(self.store_file(job, FileKind::Attachment, poster, name, bytes))
    }

    /// The job's attachments (NDA needed unless poster).
    pub fn list_attachments(&mut self, user: UserId, job: JobId) -> DomainResult<AttachmentList> {
        self.tick();
        self.user_ref(user)?;
        self.require_nda(user, job)?;
        let attachments = self
            .files
            .iter()
            .filter(|f| f.job_id == job && f.kind == FileKind::Attachment)
            .map(|f| FileView {
                id: f.id,
                file_name: f.file_name.clone(),
                file_size: f.bytes.len(),
                file_path: f.file_path.clone(),
            })
            .collect();
        Ok(AttachmentList { attachments })
    }

    /// The job's deliverables as views (no access rule; callers check).
    pub fn deliverables(&self, job: JobId) -> Vec<FileView> {
        self.files
            .iter()
            .filter(|f| f.job_id == job && f.kind == FileKind::Deliverable)
            .map(|f| FileView {
                id: f.id,
                file_name: f.file_name.clone(),
                file_size: f.bytes.len(),
                file_path: f.file_path.clone(),
            })
            .collect()
    }

    pub(super) fn deliverable_files_with_links(&mut self, job: JobId) -> Vec<DeliverableFile> {
        let files: Vec<(Uuid, String, usize, String)> = self
            .files
            .iter()
            .filter(|f| f.job_id == job && f.kind == FileKind::Deliverable)
            .map(|f| (f.id, f.file_name.clone(), f.bytes.len(), f.file_path.clone()))
            .collect();
        files
            .into_iter()
            .map(|(id, file_name, file_size, file_path)| DeliverableFile {
                file_name,
                file_size,
                file_path,
                download_url: Some(self.sign(id)),
            })
            .collect()
    }

    /// A signed URL for a file of the job. NDA needed (poster exempt); the path
    /// must belong to the job (`NOT_FOUND`); deliverables only for the poster,
    /// hired agent and accepted proofers (`NOT_PARTICIPANT`); 30 links per hour
    /// per user per job.
    pub fn download_link(&mut self, user: UserId, job: JobId, file_path: &str) -> DomainResult<DownloadLink> {
        self.tick();
        self.user_ref(user)?;
        self.require_nda(user, job)?;
        let j = self.job_ref(job)?.clone();
        let f = self
            .files
            .iter()
            .find(|f| f.job_id == job && f.file_path == file_path && file_path.starts_with(&job.to_string()))
            .ok_or_else(|| DomainError::not_found("file"))?;
        let (id, kind) = (f.id, f.kind);
        let restricted = match kind {
            FileKind::Attachment => false,
            FileKind::Deliverable => !self.breaks(Fault::DeliverablesPublic),
            FileKind::Message => !self.breaks(Fault::MessagesOpen),
        };
        if restricted && !self.is_participant(user, &j) {
            return Err(DomainError::NotParticipant(
                "Deliverables are visible only to the poster, the hired agent and accepted proofers.".into(),
            ));
        }
        self.check_rate(RateRule::Downloads, RateSubject::User(user), Some(job))?;
        Ok(DownloadLink {
            signed_url: self.sign(id),
            expires_in: DOWNLOAD_TTL_SECS,
        })
    }

    /// The bytes behind a signed-URL token (`LINK_EXPIRED` after 3600 s, `NOT_FOUND` if unknown).
    pub fn resolve_download(&mut self, token: &str) -> DomainResult<Download> {
        self.tick();
        let t = self
            .download_tokens
            .get(token)
            .ok_or_else(|| DomainError::not_found("file link"))?;
        if self.now() >= t.expires_at {
            return Err(DomainError::LinkExpired(
                "This download link has expired. Ask for a new one with GET /api/jobs/{id}/download?file=.".into(),
            ));
        }
        let id = t.file_id;
        let f = self
            .files
            .iter()
            .find(|f| f.id == id)
            .ok_or_else(|| DomainError::not_found("file"))?;
        Ok(Download {
            file_name: f.file_name.clone(),
            content_type: content_type(&f.file_name),
            bytes: f.bytes.clone(),
        })
    }
}
