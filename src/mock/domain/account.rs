//! Accounts: users, passwords, API keys, wallets, proofer eligibility.
//! Profiles are `profile.rs`.
//!
//! API keys are `age_` + 32 lower-case hex and stored only as SHA-256 hex;
//! passwords as SHA-256 of a per-user salt and the password. JWTs are the HTTP
//! layer's business: this module only says who a user is.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::job::CATEGORIES;
use super::money::{Tier, format_cents};
use super::profile::Profile;
use super::ratelimit::{RateRule, RateSubject};
use super::{DomainError, DomainResult, Marketplace, UserId};

/// SHA-256 hex of a string.
pub fn sha256_hex(s: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, s.as_bytes()))
}

/// A user account (never serialised directly: use [`UserView`]).
#[derive(Debug, Clone)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Lower-cased email.
    pub email: String,
    /// Display name (the profile name once a profile exists).
    pub name: Option<String>,
    pub(super) password_hash: String,
    pub(super) salt: String,
    /// Whether the email was verified (needed to apply and fund).
    pub email_verified: bool,
    /// Whether Stripe Connect is done (needed to receive a release).
    pub stripe_connected: bool,
    /// Subscription tier.
    pub tier: Tier,
    pub(super) rating_sum: f64,
    /// Number of reviews behind `rating`.
    pub total_reviews: u32,
    /// Completed jobs as the hired agent.
    pub completed_jobs: u32,
    /// Account creation time.
    pub created_at: DateTime<Utc>,
    /// Wallet balance in cents.
    pub wallet_cents: i64,
    /// The agent profile, once created.
    pub profile: Option<Profile>,
    /// Categories the user is registered to proof.
    pub proofer_categories: Vec<String>,
    /// Admin override of proofer eligibility.
    pub proofer_override: bool,
}

impl User {
    /// Mean review rating (0 without reviews).
    pub fn rating(&self) -> f64 {
        if self.total_reviews == 0 {
            0.0
        } else {
            self.rating_sum / self.total_reviews as f64
        }
    }

    /// The rating as answered: two decimals, null without reviews.
    pub fn rating_view(&self) -> Option<f64> {
        (self.total_reviews > 0).then(|| (self.rating() * 100.0).round() / 100.0)
    }

    /// Profile name, else account name, else the email's local part.
    pub fn display_name(&self) -> String {
        self.profile
            .as_ref()
            .map(|p| p.name.clone())
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| self.email.split('@').next().unwrap_or("agent").to_string())
    }

    /// The categories of the profile (empty without a profile).
    pub fn specializations(&self) -> &[String] {
        self.profile
            .as_ref()
            .map(|p| p.specializations.as_slice())
            .unwrap_or(&[])
    }

    fn check_password(&self, password: &str) -> bool {
        sha256_hex(&format!("{}{}", self.salt, password)) == self.password_hash
    }
}

/// The public face of a user (login's `user`, control API answers).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserView {
    /// Id.
    pub id: UserId,
    /// Email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Email verified.
    pub email_verified: bool,
    /// Stripe Connect done.
    pub stripe_connected: bool,
    /// Tier.
    pub tier: Tier,
    /// Mean rating.
    pub rating: f64,
    /// Completed jobs.
    pub completed_jobs: u32,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Profile or null.
    pub profile: Option<Profile>,
}

/// `{balance, formatted}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wallet {
    /// Cents.
    pub balance: i64,
    /// `$1,234.56`.
    pub formatted: String,
}

/// Kind of test actor the control API creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorRole {
    /// Posts jobs.
    Poster,
    /// Applies and delivers.
    Agent,
    /// Eligible and registered proofer.
    Proofer,
}

fn yes() -> bool {
    true
}

/// The control API's actor spec (deserialises from its JSON body).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ActorSpec {
    /// Role.
    pub role: ActorRole,
    /// Name (default `<role>-<8 hex>`).
    #[serde(default)]
    pub name: Option<String>,
    /// Email (default `<role>-<uuid>@agentgigs.test`).
    #[serde(default)]
    pub email: Option<String>,
    /// Password (default random).
    #[serde(default)]
    pub password: Option<String>,
    /// Profile categories (proofers are also registered for them).
    #[serde(default)]
    pub specializations: Vec<String>,
    /// Initial wallet, counted as a deposit.
    #[serde(default)]
    pub wallet_cents: i64,
    /// Default true.
    #[serde(default = "yes")]
    pub email_verified: bool,
    /// Default true.
    #[serde(default = "yes")]
    pub stripe_connected: bool,
    /// Default free.
    #[serde(default)]
    pub tier: Tier,
}

impl ActorSpec {
    /// A spec with defaults for a role.
    pub fn new(role: ActorRole) -> Self {
        ActorSpec {
            role,
            name: None,
            email: None,
            password: None,
            specializations: Vec::new(),
            wallet_cents: 0,
            email_verified: true,
            stripe_connected: true,
            tier: Tier::Free,
        }
    }
}

/// What the control API returns for a created actor (the key and password in clear, once).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreatedActor {
    /// The user id.
    pub id: UserId,
    /// Role.
    pub role: ActorRole,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
    /// Password in clear.
    pub password: String,
    /// API key in clear.
    pub api_key: String,
    /// Tier.
    pub tier: Tier,
    /// Wallet.
    pub wallet_cents: i64,
    /// Specializations.
    pub specializations: Vec<String>,
}

/// Control-API flag changes; `None` leaves a flag alone.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
pub struct UserFlags {
    /// Email verified.
    pub email_verified: Option<bool>,
    /// Stripe connected.
    pub stripe_connected: Option<bool>,
    /// Tier.
    pub tier: Option<Tier>,
    /// Admin override of proofer eligibility.
    pub proofer_override: Option<bool>,
    /// Completed jobs.
    pub completed_jobs: Option<u32>,
    /// Rating (replaces the history by one synthetic review).
    pub rating: Option<f64>,
    /// Account age in days (moves `created_at` back from now).
    pub account_age_days: Option<i64>,
}

/// Answer of `POST /api/agent/proofs/register`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProoferRegistration {
    /// Always true.
    pub success: bool,
    /// Every category the user is now registered in.
    pub categories: Vec<String>,
    /// Sentence.
    pub message: String,
}

fn new_api_key() -> String {
    format!("age_{}", Uuid::new_v4().simple())
}

fn valid_key_form(key: &str) -> bool {
    key.strip_prefix("age_")
        .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

impl Marketplace {
    fn insert_user(&mut self, email: &str, password: &str, name: Option<String>) -> DomainResult<UserId> {
        let email = email.trim().to_ascii_lowercase();
        if self.emails.contains_key(&email) {
            return Err(DomainError::EmailTaken(
                "This email is already registered. Log in instead.".into(),
            ));
        }
        let id = Uuid::new_v4();
        let salt = Uuid::new_v4().simple().to_string();
        let user = User {
            id,
            email: email.clone(),
            name,
            password_hash: sha256_hex(&format!("{salt}{password}")),
            salt,
            email_verified: false,
            stripe_connected: false,
            tier: Tier::Free,
            rating_sum: 0.0,
            total_reviews: 0,
            completed_jobs: 0,
            created_at: self.now(),
            wallet_cents: 0,
            profile: None,
            proofer_categories: Vec::new(),
            proofer_override: false,
        };
        self.users.insert(id, user);
        self.emails.insert(email, id);
        Ok(id)
    }

    /// Registers an account with an unverified email. Password ≥ 8 chars.
    /// Limited to 10 per hour per client `ip` (every attempt counts, like login).
    pub fn register(&mut self, email: &str, password: &str, name: Option<&str>, ip: &str) -> DomainResult<UserId> {
        self.tick();
        self.check_rate(RateRule::Register, RateSubject::Ip(ip.to_string()), None)?;
        let mut details = Vec::new();
        let e = email.trim();
        let at = e.find('@');
        if !at.is_some_and(|i| i > 0 && e[i + 1..].contains('.') && !e.contains(' ')) {
            details.push(super::FieldError::new("email", "must be an email address"));
        }
        if password.chars().count() < 8 && !self.breaks(super::Fault::ShortPassword) {
            details.push(super::FieldError::new("password", "must be at least 8 characters"));
        }
        if !details.is_empty() {
            return Err(DomainError::validation(details));
        }
        self.insert_user(email, password, name.map(str::to_string))
    }

    /// Checks email and password (login limit: 20/min per IP, every attempt counts).
    pub fn login(&mut self, email: &str, password: &str, ip: &str) -> DomainResult<UserView> {
        self.tick();
        self.check_rate(RateRule::Login, RateSubject::Ip(ip.to_string()), None)?;
        let bad = || DomainError::InvalidCredentials("Wrong email or password. Check them and retry.".into());
        let id = *self.emails.get(&email.trim().to_ascii_lowercase()).ok_or_else(bad)?;
        let user = self.user_ref(id)?;
        if !user.check_password(password) {
            return Err(bad());
        }
        self.user_view(id)
    }

    /// Creates a ready-to-use actor for the control API (profile, key, wallet).
    /// A proofer gets 50 completed jobs, rating 4.8, an account 60 days old and
    /// is registered for its specializations.
    pub fn create_actor(&mut self, spec: ActorSpec) -> DomainResult<CreatedActor> {
        self.tick();
        if let Some((i, c)) = spec
            .specializations
            .iter()
            .enumerate()
            .find(|(_, c)| !CATEGORIES.contains(&c.as_str()))
        {
            return Err(DomainError::invalid_field(
                &format!("specializations[{i}]"),
                &format!("`{c}` is not a category"),
            ));
        }
        if spec.wallet_cents < 0 {
            return Err(DomainError::invalid_field("wallet_cents", "must be ≥ 0"));
        }
        let role = match spec.role {
            ActorRole::Poster => "poster",
            ActorRole::Agent => "agent",
            ActorRole::Proofer => "proofer",
        };
        let tag = Uuid::new_v4().simple().to_string();
        let name = spec.name.clone().unwrap_or_else(|| format!("{role}-{}", &tag[..8]));
        let email = spec
            .email
            .clone()
            .unwrap_or_else(|| format!("{role}-{tag}@agentgigs.test"));
        let password = spec
            .password
            .clone()
            .unwrap_or_else(|| format!("pw-{}", Uuid::new_v4().simple()));
        let id = self.insert_user(&email, &password, Some(name.clone()))?;
        let now = self.now();
        let user = self.user_mut(id)?;
        user.email_verified = spec.email_verified;
        user.stripe_connected = spec.stripe_connected;
        user.tier = spec.tier;
        user.profile = Some(Profile {
            user_id: id,
            name: name.clone(),
            specializations: spec.specializations.clone(),
            tools: Vec::new(),
            availability: None,
            bio: None,
            created_at: now,
            updated_at: now,
        });
        if spec.role == ActorRole::Proofer {
            user.completed_jobs = 50;
            user.rating_sum = 4.8 * 50.0;
            user.total_reviews = 50;
            user.created_at = now - Duration::days(60);
            user.proofer_categories = spec.specializations.clone();
        }
        if spec.wallet_cents > 0 {
            self.deposit(id, spec.wallet_cents)?;
        }
        let api_key = self.issue_api_key(id)?;
        Ok(CreatedActor {
            id,
            role: spec.role,
            name,
            email: email.trim().to_ascii_lowercase(),
            password,
            api_key,
            tier: spec.tier,
            wallet_cents: spec.wallet_cents,
            specializations: spec.specializations,
        })
    }

    /// The public view of a user.
    pub fn user_view(&self, user: UserId) -> DomainResult<UserView> {
        let u = self.user_ref(user)?;
        Ok(UserView {
            id: u.id,
            email: u.email.clone(),
            name: u.display_name(),
            email_verified: u.email_verified,
            stripe_connected: u.stripe_connected,
            tier: u.tier,
            rating: (u.rating() * 100.0).round() / 100.0,
            completed_jobs: u.completed_jobs,
            created_at: u.created_at,
            profile: u.profile.clone(),
        })
    }

    /// Looks a user up by email.
    pub fn user_by_email(&self, email: &str) -> Option<UserId> {
        self.emails.get(&email.trim().to_ascii_lowercase()).copied()
    }

    /// Whether a user id exists.
    pub fn user_exists(&self, user: UserId) -> bool {
        self.users.contains_key(&user)
    }

    /// A user's tier (free for unknown users).
    pub fn user_tier(&self, user: UserId) -> Tier {
        self.users.get(&user).map(|u| u.tier).unwrap_or_default()
    }

    /// Issues a new API key (shown once); earlier keys keep working.
    pub fn issue_api_key(&mut self, user: UserId) -> DomainResult<String> {
        self.user_ref(user)?;
        let key = new_api_key();
        self.api_keys.insert(sha256_hex(&key), user);
        Ok(key)
    }

    /// The user behind an API key. `INVALID_API_KEY` when malformed or unknown.
    pub fn authenticate_api_key(&self, key: &str) -> DomainResult<UserId> {
        let refuse = || {
            DomainError::InvalidApiKey(
                "The X-API-Key is unknown, revoked or malformed (expected `age_` + 32 hex). Generate a new key with POST /api/agent/api-key.".into(),
            )
        };
        if !valid_key_form(key) {
            return Err(refuse());
        }
        self.api_keys
            .get(&sha256_hex(key))
            .copied()
            .filter(|u| self.users.contains_key(u))
            .ok_or_else(refuse)
    }

    /// `{balance, formatted}`.
    pub fn wallet(&self, user: UserId) -> DomainResult<Wallet> {
        let b = self.user_ref(user)?.wallet_cents;
        Ok(Wallet {
            balance: b,
            formatted: format_cents(b),
        })
    }

    /// Adds money to a wallet (control API only); counts toward total deposits.
    pub fn deposit(&mut self, user: UserId, cents: i64) -> DomainResult<Wallet> {
        if cents <= 0 {
            return Err(DomainError::invalid_field("amount_cents", "must be a positive integer"));
        }
        self.user_mut(user)?.wallet_cents += cents;
        self.total_deposits += cents;
        self.wallet(user)
    }

    /// Marks the email verified (control API / verification link).
    pub fn verify_email(&mut self, user: UserId) -> DomainResult<()> {
        self.user_mut(user)?.email_verified = true;
        Ok(())
    }

    /// Applies control-API flag changes.
    pub fn set_user_flags(&mut self, user: UserId, flags: UserFlags) -> DomainResult<UserView> {
        let now = self.now();
        let u = self.user_mut(user)?;
        if let Some(v) = flags.email_verified {
            u.email_verified = v;
        }
        if let Some(v) = flags.stripe_connected {
            u.stripe_connected = v;
        }
        if let Some(v) = flags.tier {
            u.tier = v;
        }
        if let Some(v) = flags.proofer_override {
            u.proofer_override = v;
        }
        if let Some(v) = flags.completed_jobs {
            u.completed_jobs = v;
        }
        if let Some(r) = flags.rating {
            u.rating_sum = r;
            u.total_reviews = 1;
        }
        if let Some(d) = flags.account_age_days {
            u.created_at = now - Duration::days(d);
        }
        self.tick();
        self.user_view(user)
    }

    /// Why the user may not proof (empty when eligible or overridden).
    pub fn proofer_ineligibility(&self, user: UserId) -> DomainResult<Vec<String>> {
        let u = self.user_ref(user)?;
        if u.proofer_override {
            return Ok(Vec::new());
        }
        let mut why = Vec::new();
        if u.completed_jobs < 50 {
            why.push(format!("{} completed jobs (50 needed)", u.completed_jobs));
        }
        if u.rating() < 4.0 {
            why.push(format!("rating {:.1} (4.0 needed)", u.rating()));
        }
        let days = (self.now() - u.created_at).num_days();
        if days < 30 {
            why.push(format!("account {days} days old (30 needed)"));
        }
        Ok(why)
    }

    /// Registers the user as a proofer for `categories` (added to earlier ones).
    pub fn register_proofer(&mut self, user: UserId, categories: Vec<String>) -> DomainResult<ProoferRegistration> {
        self.tick();
        if categories.is_empty() {
            return Err(DomainError::invalid_field(
                "categories",
                "must list at least one category",
            ));
        }
        if let Some((i, c)) = categories
            .iter()
            .enumerate()
            .find(|(_, c)| !CATEGORIES.contains(&c.as_str()))
        {
            return Err(DomainError::invalid_field(
                &format!("categories[{i}]"),
                &format!("`{c}` is not a category"),
            ));
        }
        let why = self.proofer_ineligibility(user)?;
        if !why.is_empty() {
            return Err(DomainError::ProoferNotEligible(format!(
                "Not eligible to proof yet: {}. Proofers need 50 completed jobs, a 4.0 rating and a 30-day-old account.",
                why.join(", ")
            )));
        }
        let u = self.user_mut(user)?;
        for c in categories {
            if !u.proofer_categories.contains(&c) {
                u.proofer_categories.push(c);
            }
        }
        Ok(ProoferRegistration {
            success: true,
            categories: u.proofer_categories.clone(),
            message: "Registered as a proofer. Find work at GET /api/jobs/proof-needed.".into(),
        })
    }
}
