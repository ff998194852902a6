//! Agent profiles: the stored profile, its `AgentProfile` answer (with the
//! account's tier and record), and the create/patch bodies and rules.
//!
//! Accounts themselves (passwords, keys, wallets) are `account.rs`; this
//! module only reads a user's record to answer it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::input::Fields;
use super::job::CATEGORIES;
use super::money::Tier;
use super::{DomainError, DomainResult, Marketplace, UserId};

/// An agent profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// The owner.
    pub user_id: UserId,
    /// Display name.
    pub name: String,
    /// Categories (drive `jobs/available` and `job.available`).
    pub specializations: Vec<String>,
    /// Tools.
    pub tools: Vec<String>,
    /// e.g. `24/7`.
    pub availability: Option<String>,
    /// Free text.
    pub bio: Option<String>,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Updated at.
    pub updated_at: DateTime<Utc>,
}

/// The `AgentProfile` answer of profile create and update: the stored
/// profile plus the account's tier and record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileView {
    /// The user's id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Categories.
    pub specializations: Vec<String>,
    /// Tools.
    pub tools: Vec<String>,
    /// Availability or null.
    pub availability: Option<String>,
    /// Bio or null.
    pub bio: Option<String>,
    /// Subscription tier.
    pub tier: Tier,
    /// Mean review rating (two decimals); null without reviews.
    pub rating: Option<f64>,
    /// Reviews behind `rating`.
    pub total_reviews: u32,
    /// Completed jobs as the hired agent.
    pub completed_jobs: u32,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Updated at.
    pub updated_at: DateTime<Utc>,
}

/// Body of `POST /api/agent/profile`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProfileInput {
    /// Required, 1..100 chars.
    pub name: String,
    /// Required; each one of [`CATEGORIES`].
    pub specializations: Vec<String>,
    /// Optional.
    pub tools: Vec<String>,
    /// Optional.
    pub availability: Option<String>,
    /// Optional, ≤ 2000 chars.
    pub bio: Option<String>,
}

/// Body of `PATCH /api/agent/profile`: only the fields sent change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProfilePatch {
    /// New name.
    pub name: Option<String>,
    /// New categories.
    pub specializations: Option<Vec<String>>,
    /// New tools.
    pub tools: Option<Vec<String>>,
    /// New availability.
    pub availability: Option<String>,
    /// New bio.
    pub bio: Option<String>,
}

/// Most specializations a profile may list (`maxItems`).
const MAX_SPECIALIZATIONS: usize = 20;
/// Most tools a profile may list, and the length of each.
const MAX_TOOLS: usize = 50;
const MAX_TOOL_CHARS: usize = 100;

/// `specializations`: 1 to 20 category names.
fn specializations(f: &mut Fields<'_>, required: bool) -> Option<Vec<String>> {
    let cats = f.strings("specializations", required, MAX_SPECIALIZATIONS)?;
    if cats.is_empty() {
        f.fail(
            "specializations",
            "must list at least one category from GET /api/categories",
        );
        return None;
    }
    if let Some((i, c)) = cats.iter().enumerate().find(|(_, c)| !CATEGORIES.contains(&c.as_str())) {
        f.fail(
            &format!("specializations[{i}]"),
            format!("`{c}` is not a category; use one of GET /api/categories"),
        );
        return None;
    }
    Some(cats)
}

/// `tools`: at most 50 names of 1 to 100 characters.
fn tools(f: &mut Fields<'_>) -> Option<Vec<String>> {
    let tools = f.strings("tools", false, MAX_TOOLS)?;
    if let Some((i, _)) = tools
        .iter()
        .enumerate()
        .find(|(_, t)| t.is_empty() || t.chars().count() > MAX_TOOL_CHARS)
    {
        f.fail(
            &format!("tools[{i}]"),
            format!("must be 1 to {MAX_TOOL_CHARS} characters"),
        );
        return None;
    }
    Some(tools)
}

impl ProfileInput {
    /// Reads and checks a JSON body.
    pub fn from_json(body: &Value) -> DomainResult<Self> {
        let mut f = Fields::new(body);
        let name = f.string("name", true, 1, 100);
        let specializations = specializations(&mut f, true);
        let tools = tools(&mut f);
        let availability = f.string("availability", false, 0, 100);
        let bio = f.string("bio", false, 0, 2000);
        // Accepted and ignored (no referral programme here), but typed.
        let _ = f.string("referral_code", false, 0, usize::MAX);
        f.finish()?;
        Ok(ProfileInput {
            name: name.unwrap_or_default(),
            specializations: specializations.unwrap_or_default(),
            tools: tools.unwrap_or_default(),
            availability,
            bio,
        })
    }
}

impl ProfilePatch {
    /// Reads and checks a JSON body. A body that sets no known field is
    /// `VALIDATION_FAILED` (the schema's `minProperties: 1`).
    pub fn from_json(body: &Value) -> DomainResult<Self> {
        let mut f = Fields::new(body);
        let name = f.string("name", false, 1, 100);
        let specializations = specializations(&mut f, false);
        let tools = tools(&mut f);
        let availability = f.string("availability", false, 0, 100);
        let bio = f.string("bio", false, 0, 2000);
        let known = ["name", "specializations", "tools", "availability", "bio"];
        if f.details.is_empty() && known.iter().all(|k| f.raw(k).is_none()) {
            f.fail("body", format!("must set at least one of {}", known.join(", ")));
        }
        f.finish()?;
        Ok(ProfilePatch {
            name,
            specializations,
            tools,
            availability,
            bio,
        })
    }
}

impl Marketplace {
    /// The `AgentProfile` view of a user's profile (`NOT_FOUND` without one).
    pub fn profile_view(&self, user: UserId) -> DomainResult<ProfileView> {
        let u = self.user_ref(user)?;
        let p = u.profile.as_ref().ok_or_else(|| {
            DomainError::NotFound("No profile yet. Create one with POST /api/agent/profile first.".into())
        })?;
        Ok(ProfileView {
            id: user,
            name: p.name.clone(),
            specializations: p.specializations.clone(),
            tools: p.tools.clone(),
            availability: p.availability.clone(),
            bio: p.bio.clone(),
            tier: u.tier,
            rating: u.rating_view(),
            total_reviews: u.total_reviews,
            completed_jobs: u.completed_jobs,
            created_at: p.created_at,
            updated_at: p.updated_at,
        })
    }

    /// Creates the profile once (`PROFILE_EXISTS` the second time).
    pub fn create_profile(&mut self, user: UserId, input: ProfileInput) -> DomainResult<ProfileView> {
        self.tick();
        let now = self.now();
        let u = self.user_mut(user)?;
        if u.profile.is_some() {
            return Err(DomainError::ProfileExists(
                "A profile already exists. Update it with PATCH /api/agent/profile.".into(),
            ));
        }
        let p = Profile {
            user_id: user,
            name: input.name.clone(),
            specializations: input.specializations,
            tools: input.tools,
            availability: input.availability,
            bio: input.bio,
            created_at: now,
            updated_at: now,
        };
        u.name = Some(input.name);
        u.profile = Some(p);
        self.profile_view(user)
    }

    /// Changes only the fields given. `NOT_FOUND` without a profile;
    /// `VALIDATION_FAILED` for a patch that changes nothing or empties the
    /// specializations.
    pub fn update_profile(&mut self, user: UserId, patch: ProfilePatch) -> DomainResult<ProfileView> {
        self.tick();
        if patch == ProfilePatch::default() {
            return Err(DomainError::invalid_field(
                "body",
                "must set at least one of name, specializations, tools, availability, bio",
            ));
        }
        if patch.specializations.as_ref().is_some_and(Vec::is_empty) {
            return Err(DomainError::invalid_field(
                "specializations",
                "must list at least one category",
            ));
        }
        let now = self.now();
        let u = self.user_mut(user)?;
        let p = u.profile.as_mut().ok_or_else(|| {
            DomainError::NotFound("No profile yet. Create one with POST /api/agent/profile first.".into())
        })?;
        if let Some(n) = patch.name {
            p.name = n;
        }
        if let Some(s) = patch.specializations {
            p.specializations = s;
        }
        if let Some(t) = patch.tools {
            p.tools = t;
        }
        if let Some(a) = patch.availability {
            p.availability = Some(a);
        }
        if let Some(b) = patch.bio {
            p.bio = Some(b);
        }
        p.updated_at = now;
        self.profile_view(user)
    }

    /// The user's profile, if any.
    pub fn profile(&self, user: UserId) -> DomainResult<Option<Profile>> {
        Ok(self.user_ref(user)?.profile.clone())
    }
}
