//! The domain's error type: one variant per error code of `docs/api-decisions.md`.
//!
//! Each variant carries the human sentence (what to do next) and, where the
//! table says so, extra fields. `code()`/`status()`/`body()` give the HTTP
//! layer everything it needs; this module builds no responses itself.

use serde::Serialize;
use serde_json::{Map, Value, json};

/// One entry of `details` in a `VALIDATION_FAILED` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path of the offending field, e.g. `scorecard.accuracy.comments`.
    pub field: String,
    /// What was expected.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every refusal the marketplace can answer. The `String` is the sentence for `error`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    /// 401 `UNAUTHENTICATED`.
    #[error("{0}")]
    Unauthenticated(String),
    /// 401 `INVALID_API_KEY`.
    #[error("{0}")]
    InvalidApiKey(String),
    /// 401 `INVALID_JWT`.
    #[error("{0}")]
    InvalidJwt(String),
    /// 401 `JWT_EXPIRED`.
    #[error("{0}")]
    JwtExpired(String),
    /// 401 `API_KEY_IN_BEARER`.
    #[error("{0}")]
    ApiKeyInBearer(String),
    /// 401 `JWT_REQUIRED`.
    #[error("{0}")]
    JwtRequired(String),
    /// 400 `CONFLICTING_CREDENTIALS`.
    #[error("{0}")]
    ConflictingCredentials(String),
    /// 401 `INVALID_CREDENTIALS`.
    #[error("{0}")]
    InvalidCredentials(String),
    /// 403 `ACKNOWLEDGMENT_REQUIRED`.
    #[error("{0}")]
    AcknowledgmentRequired(String),
    /// 403 `EMAIL_NOT_VERIFIED`.
    #[error("{0}")]
    EmailNotVerified(String),
    /// 403 `NOT_JOB_OWNER`.
    #[error("{0}")]
    NotJobOwner(String),
    /// 403 `NOT_ASSIGNED_AGENT`.
    #[error("{0}")]
    NotAssignedAgent(String),
    /// 403 `NOT_PARTICIPANT`.
    #[error("{0}")]
    NotParticipant(String),
    /// 403 `CANNOT_APPLY_OWN_JOB`.
    #[error("{0}")]
    CannotApplyOwnJob(String),
    /// 403 `PROOFER_NOT_ELIGIBLE`.
    #[error("{0}")]
    ProoferNotEligible(String),
    /// 403 `PROOFER_NOT_REGISTERED`.
    #[error("{0}")]
    ProoferNotRegistered(String),
    /// 403 `CONFLICT_OF_INTEREST`.
    #[error("{0}")]
    ConflictOfInterest(String),
    /// 403 `NOT_ASSIGNED_PROOFER`.
    #[error("{0}")]
    NotAssignedProofer(String),
    /// 404 `NOT_FOUND`.
    #[error("{0}")]
    NotFound(String),
    /// 404 `ROUTE_NOT_FOUND` (body also has `docs: "/docs/api"`).
    #[error("{0}")]
    RouteNotFound(String),
    /// 405 `METHOD_NOT_ALLOWED`.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 400 `VALIDATION_FAILED` with `details`.
    #[error("{message}")]
    ValidationFailed {
        /// The sentence.
        message: String,
        /// One entry per offending field.
        details: Vec<FieldError>,
    },
    /// 400 `INVALID_JSON`.
    #[error("{0}")]
    InvalidJson(String),
    /// 415 `UNSUPPORTED_MEDIA_TYPE`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 413 `PAYLOAD_TOO_LARGE`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 400 `INVALID_STATE`.
    #[error("{0}")]
    InvalidState(String),
    /// 400 `WRONG_APPLICATION_TYPE`.
    #[error("{0}")]
    WrongApplicationType(String),
    /// 400 `APPLICATION_NOT_PENDING`.
    #[error("{0}")]
    ApplicationNotPending(String),
    /// 400 `SLOTS_FULL`.
    #[error("{0}")]
    SlotsFull(String),
    /// 400 `PROOFER_COUNT_MISMATCH` with `accepted`, `required`.
    #[error("{message}")]
    ProoferCountMismatch {
        /// The sentence.
        message: String,
        /// Proofers accepted so far.
        accepted: u32,
        /// The job's `proofer_count`.
        required: u32,
    },
    /// 400 `PROOF_SETTINGS_LOCKED`.
    #[error("{0}")]
    ProofSettingsLocked(String),
    /// 400 `PROOF_INCOMPLETE`.
    #[error("{0}")]
    ProofIncomplete(String),
    /// 400 `INSUFFICIENT_BALANCE` with `balance`, `required_cents`.
    #[error("{message}")]
    InsufficientBalance {
        /// The sentence.
        message: String,
        /// Wallet balance in cents.
        balance: i64,
        /// Amount needed in cents.
        required_cents: i64,
    },
    /// 400 `REVISION_LIMIT_REACHED`.
    #[error("{0}")]
    RevisionLimitReached(String),
    /// 400 `FILE_LIMIT_REACHED`.
    #[error("{0}")]
    FileLimitReached(String),
    /// 400 `FILE_TYPE_NOT_ALLOWED`.
    #[error("{0}")]
    FileTypeNotAllowed(String),
    /// 409 `ALREADY_APPLIED`.
    #[error("{0}")]
    AlreadyApplied(String),
    /// 409 `ALREADY_REVIEWED`.
    #[error("{0}")]
    AlreadyReviewed(String),
    /// 409 `ALREADY_REPORTED`.
    #[error("{0}")]
    AlreadyReported(String),
    /// 409 `VERDICT_ALREADY_SUBMITTED`.
    #[error("{0}")]
    VerdictAlreadySubmitted(String),
    /// 409 `PROFILE_EXISTS`.
    #[error("{0}")]
    ProfileExists(String),
    /// 409 `EMAIL_TAKEN`.
    #[error("{0}")]
    EmailTaken(String),
    /// 410 `LINK_EXPIRED`.
    #[error("{0}")]
    LinkExpired(String),
    /// 429 `RATE_LIMITED` with `retry_after` (seconds, ≥ 1).
    #[error("{message}")]
    RateLimited {
        /// The sentence.
        message: String,
        /// Seconds until a slot frees (also the `Retry-After` header).
        retry_after_secs: u64,
    },
    /// 401 `CONTROL_TOKEN_REQUIRED`.
    #[error("{0}")]
    ControlTokenRequired(String),
}

/// Shorthand for domain results.
pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    /// The machine-readable `code`.
    pub fn code(&self) -> &'static str {
        use DomainError::*;
        match self {
            Unauthenticated(_) => "UNAUTHENTICATED",
            InvalidApiKey(_) => "INVALID_API_KEY",
            InvalidJwt(_) => "INVALID_JWT",
            JwtExpired(_) => "JWT_EXPIRED",
            ApiKeyInBearer(_) => "API_KEY_IN_BEARER",
            JwtRequired(_) => "JWT_REQUIRED",
            ConflictingCredentials(_) => "CONFLICTING_CREDENTIALS",
            InvalidCredentials(_) => "INVALID_CREDENTIALS",
            AcknowledgmentRequired(_) => "ACKNOWLEDGMENT_REQUIRED",
            EmailNotVerified(_) => "EMAIL_NOT_VERIFIED",
            NotJobOwner(_) => "NOT_JOB_OWNER",
            NotAssignedAgent(_) => "NOT_ASSIGNED_AGENT",
            NotParticipant(_) => "NOT_PARTICIPANT",
            CannotApplyOwnJob(_) => "CANNOT_APPLY_OWN_JOB",
            ProoferNotEligible(_) => "PROOFER_NOT_ELIGIBLE",
            ProoferNotRegistered(_) => "PROOFER_NOT_REGISTERED",
            ConflictOfInterest(_) => "CONFLICT_OF_INTEREST",
            NotAssignedProofer(_) => "NOT_ASSIGNED_PROOFER",
            NotFound(_) => "NOT_FOUND",
            RouteNotFound(_) => "ROUTE_NOT_FOUND",
            MethodNotAllowed(_) => "METHOD_NOT_ALLOWED",
            ValidationFailed { .. } => "VALIDATION_FAILED",
            InvalidJson(_) => "INVALID_JSON",
            UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            InvalidState(_) => "INVALID_STATE",
            WrongApplicationType(_) => "WRONG_APPLICATION_TYPE",
            ApplicationNotPending(_) => "APPLICATION_NOT_PENDING",
            SlotsFull(_) => "SLOTS_FULL",
            ProoferCountMismatch { .. } => "PROOFER_COUNT_MISMATCH",
            ProofSettingsLocked(_) => "PROOF_SETTINGS_LOCKED",
            ProofIncomplete(_) => "PROOF_INCOMPLETE",
            InsufficientBalance { .. } => "INSUFFICIENT_BALANCE",
            RevisionLimitReached(_) => "REVISION_LIMIT_REACHED",
            FileLimitReached(_) => "FILE_LIMIT_REACHED",
            FileTypeNotAllowed(_) => "FILE_TYPE_NOT_ALLOWED",
            AlreadyApplied(_) => "ALREADY_APPLIED",
            AlreadyReviewed(_) => "ALREADY_REVIEWED",
            AlreadyReported(_) => "ALREADY_REPORTED",
            VerdictAlreadySubmitted(_) => "VERDICT_ALREADY_SUBMITTED",
            ProfileExists(_) => "PROFILE_EXISTS",
            EmailTaken(_) => "EMAIL_TAKEN",
            LinkExpired(_) => "LINK_EXPIRED",
            RateLimited { .. } => "RATE_LIMITED",
            ControlTokenRequired(_) => "CONTROL_TOKEN_REQUIRED",
        }
    }

    /// The HTTP status for this code, per the table in api-decisions.md.
    pub fn status(&self) -> u16 {
        use DomainError::*;
        match self {
            Unauthenticated(_)
            | InvalidApiKey(_)
            | InvalidJwt(_)
            | JwtExpired(_)
            | ApiKeyInBearer(_)
            | JwtRequired(_)
            | InvalidCredentials(_)
            | ControlTokenRequired(_) => 401,
            AcknowledgmentRequired(_)
            | EmailNotVerified(_)
            | NotJobOwner(_)
            | NotAssignedAgent(_)
            | NotParticipant(_)
            | CannotApplyOwnJob(_)
            | ProoferNotEligible(_)
            | ProoferNotRegistered(_)
            | ConflictOfInterest(_)
            | NotAssignedProofer(_) => 403,
            NotFound(_) | RouteNotFound(_) => 404,
            MethodNotAllowed(_) => 405,
            UnsupportedMediaType(_) => 415,
            PayloadTooLarge(_) => 413,
            AlreadyApplied(_)
            | AlreadyReviewed(_)
            | AlreadyReported(_)
            | VerdictAlreadySubmitted(_)
            | ProfileExists(_)
            | EmailTaken(_) => 409,
            LinkExpired(_) => 410,
            RateLimited { .. } => 429,
            ConflictingCredentials(_)
            | ValidationFailed { .. }
            | InvalidJson(_)
            | InvalidState(_)
            | WrongApplicationType(_)
            | ApplicationNotPending(_)
            | SlotsFull(_)
            | ProoferCountMismatch { .. }
            | ProofSettingsLocked(_)
            | ProofIncomplete(_)
            | InsufficientBalance { .. }
            | RevisionLimitReached(_)
            | FileLimitReached(_)
            | FileTypeNotAllowed(_) => 400,
        }
    }

    /// The human sentence (`error` in the body).
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// Seconds for `Retry-After`, only for `RATE_LIMITED`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            DomainError::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The full JSON error body: `{error, code, ...extras}`.
    pub fn body(&self) -> Value {
        let mut m = Map::new();
        m.insert("error".into(), Value::String(self.message()));
        m.insert("code".into(), Value::String(self.code().into()));
        match self {
            DomainError::ValidationFailed { details, .. } => {
                m.insert("details".into(), json!(details));
            }
            DomainError::ProoferCountMismatch { accepted, required, .. } => {
                m.insert("accepted".into(), json!(accepted));
                m.insert("required".into(), json!(required));
            }
            DomainError::InsufficientBalance {
                balance,
                required_cents,
                ..
            } => {
                m.insert("balance".into(), json!(balance));
                m.insert("required_cents".into(), json!(required_cents));
            }
            DomainError::RateLimited { retry_after_secs, .. } => {
                m.insert("retry_after".into(), json!(retry_after_secs));
            }
            DomainError::RouteNotFound(_) => {
                m.insert("docs".into(), json!("/docs/api"));
            }
            _ => {}
        }
        Value::Object(m)
    }

    /// `VALIDATION_FAILED` for a list of field errors, with a sentence naming the first.
    pub fn validation(details: Vec<FieldError>) -> Self {
        let message = match details.first() {
            Some(d) if details.len() == 1 => {
                format!(
                    "Validation failed: `{}` {}. Fix the field and retry.",
                    d.field, d.message
                )
            }
            Some(d) => format!(
                "Validation failed on {} fields (first: `{}` {}). See `details` and retry.",
                details.len(),
                d.field,
                d.message
            ),
            None => "Validation failed. Check the request body and retry.".into(),
        };
        DomainError::ValidationFailed { message, details }
    }

    /// `VALIDATION_FAILED` for a single field.
    pub fn invalid_field(field: &str, message: &str) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    /// `NOT_FOUND` for a thing (`job`, `application`, `file`, ...).
    pub fn not_found(what: &str) -> Self {
        DomainError::NotFound(format!(
            "The {what} was not found. Use the full UUID `id` from an API response, never a REF code."
        ))
    }

    /// `INVALID_STATE` naming the current status and the action.
    pub fn invalid_state(action: &str, status: &str) -> Self {
        DomainError::InvalidState(format!("Cannot {action} while the job is `{status}`."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_follow_the_table() {
        let e = DomainError::RateLimited {
            message: "slow down".into(),
            retry_after_secs: 7,
        };
        assert_eq!(e.code(), "RATE_LIMITED");
        assert_eq!(e.status(), 429);
        assert_eq!(e.body()["retry_after"], 7);
        let e = DomainError::ProoferCountMismatch {
            message: "m".into(),
            accepted: 1,
            required: 3,
        };
        assert_eq!(e.status(), 400);
        assert_eq!(e.body()["accepted"], 1);
        assert_eq!(e.body()["required"], 3);
        assert_eq!(DomainError::RouteNotFound("x".into()).body()["docs"], "/docs/api");
        assert_eq!(DomainError::LinkExpired("x".into()).status(), 410);
        assert_eq!(DomainError::EmailTaken("x".into()).status(), 409);
        let v = DomainError::invalid_field("title", "must be 5..200 characters");
        assert_eq!(v.body()["details"][0]["field"], "title");
        assert_eq!(v.code(), "VALIDATION_FAILED");
    }
}
