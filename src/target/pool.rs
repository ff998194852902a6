//! The account pool of a target without a control API: the profile's
//! accounts, checked against the target once, then leased to scenarios one
//! at a time.
//!
//! A check is a cheap authenticated read (`GET /api/wallet`: the account
//! works and its balance) and, for proofers, `GET /api/jobs/proof-needed`
//! (the categories it is registered in). An account that fails it is kept
//! in the report and never leased. A scenario's actors are matched to
//! accounts by their needs (role, tier, wallet, verified email,
//! specializations, proofer categories); a need no account can ever meet
//! is named in the skip reason ("needs a fresh agent; the profile's
//! accounts are not fresh"). It must not run scenarios.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::Value;
use tokio::sync::Notify;
use url::Url;

use super::http::{Capped, read_capped};
use super::profile::{Account, role_name};
use super::{ActorCredentials, describe_error};
use crate::scenario::{ActorSpec, Role, Tier};

/// Longest a probe request may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest probe answer read.
const MAX_PROBE_BODY: usize = 1024 * 1024;

/// What the check of one account found.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountCheck {
    /// `Err(why)` when the account cannot be used.
    pub usable: Result<(), String>,
    /// Its wallet balance in cents, when readable.
    pub wallet_cents: Option<i64>,
    /// The categories it may proof in (`registered_categories`), when it is
    /// a proofer; `None` when it is not one or the read failed.
    pub proofer_categories: Option<Vec<String>>,
}

impl Default for AccountCheck {
    fn default() -> Self {
        AccountCheck {
            usable: Ok(()),
            wallet_cents: None,
            proofer_categories: None,
        }
    }
}

/// One account of the pool, with its credentials and its check.
#[derive(Debug)]
pub struct PoolAccount {
    pub account: Account,
    /// Its tier (the account's, else the profile's).
    pub tier: Tier,
    /// Read from the environment; `Err` names the missing variable.
    pub credentials: Result<ActorCredentials, String>,
    pub check: Mutex<AccountCheck>,
    /// When the harness sent a request as this account, and the documented
    /// limit it counts against beyond the standard one (`None`: only the
    /// standard limit). A rate-limit scenario on a pool account subtracts
    /// what was sent before it within the window (see [`Self::sent_before`]).
    sent: Mutex<Vec<(std::time::Instant, Option<&'static str>)>>,
}

impl PoolAccount {
    /// Notes `n` requests sent as this account now (`limit`: the documented
    /// limit beyond the standard one they count against).
    pub fn note_sent(&self, n: u32, limit: Option<&'static str>) {
        let now = std::time::Instant::now();
        let mut sent = self.sent.lock();
        // Nothing older than a day is ever asked for.
        sent.retain(|(at, _)| now.saturating_duration_since(*at) < std::time::Duration::from_secs(86_400));
        sent.extend((0..n).map(|_| (now, limit)));
    }

    /// How many requests the harness sent as this account in `[since,
    /// before)` that count against `limit` (`None`: the standard limit,
    /// which every authenticated request counts against).
    pub fn sent_before(&self, limit: Option<&str>, since: std::time::Instant, before: std::time::Instant) -> usize {
        self.sent
            .lock()
            .iter()
            .filter(|(at, l)| *at >= since && *at < before && (limit.is_none() || *l == limit))
            .count()
    }

    /// How long until one more request counting against `limit` may go as
    /// this account without passing `figure` in any `window` (real time),
    /// counting what the harness sent as it: zero when it may go now.
    pub fn hourly_wait(&self, limit: &str, figure: u32, window: std::time::Duration) -> std::time::Duration {
        let now = std::time::Instant::now();
        let since = now.checked_sub(window).unwrap_or(now);
        let mut within: Vec<std::time::Instant> = self
            .sent
            .lock()
            .iter()
            .filter(|(at, l)| *at >= since && *at <= now && *l == Some(limit))
            .map(|(at, _)| *at)
            .collect();
        let figure = figure.max(1) as usize;
        if within.len() < figure {
            return std::time::Duration::ZERO;
        }
        // The send that must leave the window before one more fits.
        within.sort();
        let frees = within[within.len() - figure] + window;
        frees
            .saturating_duration_since(now)
            .max(std::time::Duration::from_millis(1))
    }

    /// True when sending `uses` as this account would take it past one of
    /// those hourly limits, counting what the harness sent as it within
    /// the window.
    fn over_budget(&self, uses: &[HourlyUse]) -> bool {
        let now = std::time::Instant::now();
        uses.iter().any(|u| {
            let since = now.checked_sub(u.window).unwrap_or(now);
            let sent = self.sent_before(Some(u.limit), since, now);
            sent.saturating_add(u.count as usize) > u.figure(self.tier) as usize
        })
    }

    fn usable(&self) -> Result<(), String> {
        self.credentials.as_ref().map(|_| ()).map_err(Clone::clone)?;
        self.check.lock().usable.clone()
    }

    /// Whether the account plays `role` for the actor `name`.
    fn plays(&self, name: &str, role: Role) -> bool {
        if let Some(actor) = &self.account.actor {
            return actor == name;
        }
        match (self.account.role, role) {
            (Some(a), b) if a == b => true,
            // A proofer is an agent too.
            (Some(Role::Proofer), Role::Agent) => true,
            _ => false,
        }
    }

    /// Why the account cannot serve this need, or `Ok` with whether its
    /// specializations must be set first.
    fn serves(&self, name: &str, need: &ActorSpec) -> Result<Option<Vec<String>>, String> {
        self.usable()?;
        if !self.plays(name, need.role) {
            let role = role_name(need.role);
            let article = if role.starts_with('a') { "an" } else { "a" };
            return Err(format!("is not {article} {role}"));
        }
        if need.fresh == Some(true) {
            return Err("is not fresh".into());
        }
        let verified = self.account.email_verified.unwrap_or(true);
        match need.email_verified {
            Some(false) if verified => return Err("has a verified email".into()),
            Some(true) | None if !verified => return Err("has no verified email".into()),
            _ => {}
        }
        if need.stripe_connected.unwrap_or(false) && self.account.stripe_connected == Some(false) {
            return Err("has no Stripe Connect".into());
        }
        if let Some(t) = need.tier
            && t != self.tier
        {
            return Err(format!("is on the {} tier", tier_name(self.tier)));
        }
        let check = self.check.lock().clone();
        if let Some(min) = need.wallet_cents
            && min > 0
        {
            match check.wallet_cents {
                Some(have) if have >= min => {}
                Some(have) => return Err(format!("has {have} cents in its wallet")),
                None => return Err("has a wallet the harness could not read".into()),
            }
        }
        let wanted = need.specializations.clone().unwrap_or_default();
        if wanted.is_empty() {
            return Ok(None);
        }
        if need.role == Role::Proofer {
            // Exactly these categories: a scenario may rely on what it does not proof.
            let have = check.proofer_categories.unwrap_or_default();
            if have.len() == wanted.len() && wanted.iter().all(|w| have.contains(w)) {
                return Ok(None);
            }
            return Err(format!("proofs in [{}]", have.join(", ")));
        }
        // An actor's specializations are exactly the ones it declares (a
        // scenario may rely on what it does NOT specialize in).
        let same = |have: &[String]| have.len() == wanted.len() && wanted.iter().all(|w| have.contains(w));
        match &self.account.specializations {
            Some(have) if same(have) => Ok(None),
            Some(_) => Ok(Some(wanted)),
            None => Err(
                "has undeclared specializations (declare them in the profile so the harness may set and restore them)"
                    .into(),
            ),
        }
    }
}

fn tier_name(t: Tier) -> &'static str {
    match t {
        Tier::Free => "free",
        Tier::Pro => "pro",
        Tier::Enterprise => "enterprise",
    }
}

/// One actor a scenario needs.
#[derive(Debug, Clone)]
pub struct Need {
    /// The actor's name in the scenario.
    pub actor: String,
    pub spec: ActorSpec,
    /// The hourly limits by tier its requests count against (applications,
    /// job postings, funding), and how many it will send.
    pub hourly: Vec<HourlyUse>,
}

/// Requests an actor will send that count against one documented hourly
/// limit by tier.
#[derive(Debug, Clone, PartialEq)]
pub struct HourlyUse {
    /// The limit, as [`PoolAccount::note_sent`] labels it.
    pub limit: &'static str,
    /// Its figures for free, pro and enterprise.
    pub per_tier: [u32; 3],
    /// How many requests the scenario sends against it as this actor.
    pub count: u32,
    /// The window in real time (an hour of the target's clock).
    pub window: std::time::Duration,
}

impl HourlyUse {
    fn figure(&self, tier: Tier) -> u32 {
        figure_for(self.per_tier, tier)
    }
}

/// The figure of `tier` among figures for free, pro and enterprise.
pub fn figure_for(per_tier: [u32; 3], tier: Tier) -> u32 {
    match tier {
        Tier::Free => per_tier[0],
        Tier::Pro => per_tier[1],
        Tier::Enterprise => per_tier[2],
    }
}

impl Need {
    /// The need in words: "a fresh unverified agent in [Research] with at least 1000 cents".
    pub fn describe(&self) -> String {
        let s = &self.spec;
        let mut words = Vec::new();
        if s.fresh == Some(true) {
            words.push("fresh".to_string());
        }
        if s.email_verified == Some(false) {
            words.push("unverified".to_string());
        }
        if let Some(t) = s.tier {
            words.push(tier_name(t).to_string());
        }
        words.push(role_name(s.role).to_string());
        let phrase = words.join(" ");
        let article = if phrase.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        let mut out = format!("{article} {phrase}");
        if let Some(list) = s.specializations.as_ref().filter(|l| !l.is_empty()) {
            out.push_str(&format!(" in [{}]", list.join(", ")));
        }
        if let Some(c) = s.wallet_cents.filter(|c| *c > 0) {
            out.push_str(&format!(" with at least {c} cents"));
        }
        out
    }
}

/// The pool of one target.
#[derive(Debug)]
pub struct Pool {
    accounts: Vec<Arc<PoolAccount>>,
    leased: Mutex<Vec<bool>>,
    freed: Notify,
}

/// The accounts a scenario holds; dropping it gives them back.
#[derive(Debug)]
pub struct Lease {
    pool: Arc<Pool>,
    held: Vec<usize>,
    /// Per need, in order: the account and the specializations to set first.
    pub assigned: Vec<(Need, Arc<PoolAccount>, Option<Vec<String>>)>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut leased = self.pool.leased.lock();
        for i in &self.held {
            leased[*i] = false;
        }
        drop(leased);
        self.pool.freed.notify_waiters();
    }
}

/// What a lease request came to.
#[derive(Debug)]
pub enum Leased {
    Granted(Lease),
    /// No account can ever meet a need; the reason names it.
    Never(String),
}

impl Pool {
    /// A pool of the profile's accounts, their credentials read from the
    /// environment (a missing variable makes that account unusable).
    pub fn new(accounts: &[Account], default_tier: Tier) -> Arc<Pool> {
        let accounts: Vec<Arc<PoolAccount>> = accounts
            .iter()
            .map(|a| {
                Arc::new(PoolAccount {
                    tier: a.tier.unwrap_or(default_tier),
                    credentials: a.resolve(&a.label).map_err(|e| e.to_string()),
                    check: Mutex::new(AccountCheck {
                        usable: Err("not checked yet".into()),
                        ..AccountCheck::default()
                    }),
                    sent: Mutex::new(Vec::new()),
                    account: a.clone(),
                })
            })
            .collect();
        let n = accounts.len();
        Arc::new(Pool {
            accounts,
            leased: Mutex::new(vec![false; n]),
            freed: Notify::new(),
        })
    }

    /// The accounts, in profile order.
    pub fn accounts(&self) -> &[Arc<PoolAccount>] {
        &self.accounts
    }

    /// True when the profile has no account at all.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Checks every account against the target (in parallel).
    pub async fn probe(&self, http: &reqwest::Client, base: &Url) {
        let checks = self.accounts.iter().map(|a| async move {
            let check = match &a.credentials {
                Err(e) => AccountCheck {
                    usable: Err(e.clone()),
                    ..AccountCheck::default()
                },
                Ok(c) => {
                    let check = probe_one(http, base, c, a.account.role).await;
                    a.note_sent(if a.account.role == Some(Role::Proofer) { 2 } else { 1 }, None);
                    check
                }
            };
            *a.check.lock() = check;
        });
        futures::future::join_all(checks).await;
    }

    /// Re-reads one account's wallet (before a money scenario).
    pub async fn refresh_wallet(&self, http: &reqwest::Client, base: &Url, account: &PoolAccount) {
        if let Ok(c) = &account.credentials
            && let Ok((200, body)) = {
                account.note_sent(1, None);
                get(http, base, "/api/wallet", c).await
            }
        {
            account.check.lock().wallet_cents = body.get("balance").and_then(Value::as_i64);
        }
    }

    /// Finds distinct accounts for every need, waiting while the ones that
    /// could serve are leased to other scenarios (at most until `deadline`).
    pub async fn lease(self: &Arc<Self>, needs: &[Need], deadline: tokio::time::Instant) -> Leased {
        if let Err(why) = self.feasible(needs) {
            return Leased::Never(why);
        }
        loop {
            let notified = self.freed.notified();
            {
                let mut leased = self.leased.lock();
                // Accounts that still have the hourly allowance the
                // scenario will use, if the pool has such: a leased one is
                // waited for (a scenario takes seconds) rather than an
                // account taken that would meet a 429 and wait out the
                // rest of the hour. Else any account, as before.
                let none = vec![false; self.accounts.len()];
                let budget = if self.assign(needs, &none, Budget::Within).is_some() {
                    Budget::Within
                } else {
                    Budget::Any
                };
                if let Some(choice) = self.assign(needs, &leased, budget) {
                    let held: Vec<usize> = choice.iter().map(|(i, _)| *i).collect();
                    for i in &held {
                        leased[*i] = true;
                    }
                    let assigned = needs
                        .iter()
                        .cloned()
                        .zip(choice)
                        .map(|(n, (i, patch))| (n, self.accounts[i].clone(), patch))
                        .collect();
                    return Leased::Granted(Lease {
                        pool: self.clone(),
                        held,
                        assigned,
                    });
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Leased::Never(
                    "the accounts it needs stayed leased to other scenarios until the scenario's time limit".into(),
                );
            }
        }
    }

    /// `Err(reason)` when no assignment exists even with every account free.
    pub fn feasible(&self, needs: &[Need]) -> Result<(), String> {
        let none = vec![false; self.accounts.len()];
        if self.assign(needs, &none, Budget::Any).is_some() {
            return Ok(());
        }
        if self.accounts.is_empty() {
            return Err(format!(
                "needs {}; the target offers no `actors` control and the profile has no accounts",
                needs.first().map(Need::describe).unwrap_or_else(|| "accounts".into())
            ));
        }
        // Name the first need no account meets, with why each fails.
        for need in needs {
            let reasons: Vec<String> = self
                .accounts
                .iter()
                .map(|a| a.serves(&need.actor, &need.spec).map(|_| ()))
                .zip(&self.accounts)
                .filter_map(|(r, a)| r.err().map(|why| format!("{} {why}", a.account.label)))
                .collect();
            if reasons.len() == self.accounts.len() {
                return Err(format!(
                    "needs {} for `{}`; the profile's accounts: {}",
                    need.describe(),
                    need.actor,
                    reasons.join("; ")
                ));
            }
        }
        let wanted: Vec<String> = needs.iter().map(Need::describe).collect();
        Err(format!(
            "needs {} distinct accounts ({}); the profile does not have that many that fit",
            needs.len(),
            wanted.join(", ")
        ))
    }

    /// A distinct free account per need (depth-first), with the
    /// specializations to set.
    fn assign(&self, needs: &[Need], leased: &[bool], budget: Budget) -> Option<Vec<(usize, Option<Vec<String>>)>> {
        fn go(
            pool: &Pool,
            needs: &[Need],
            budget: Budget,
            taken: &mut Vec<bool>,
            out: &mut Vec<(usize, Option<Vec<String>>)>,
        ) -> bool {
            let Some((need, rest)) = needs.split_first() else {
                return true;
            };
            // Accounts of the very role first (a proofer serves an agent
            // need only when no agent is free: it may be eligible where a
            // plain agent is not). Without a tier asked for, the highest
            // tiers first: their limits (and so the pacing) are the most
            // generous; the lower tiers stay free for the needs that ask.
            let mut order: Vec<usize> = (0..pool.accounts.len()).collect();
            order.sort_by_key(|i| {
                let a = &pool.accounts[*i];
                let other_role = a.account.role.is_some_and(|r| r != need.spec.role);
                let tier = match (need.spec.tier, a.tier) {
                    (Some(_), _) => 0,
                    (None, crate::scenario::Tier::Enterprise) => 0,
                    (None, crate::scenario::Tier::Pro) => 1,
                    (None, crate::scenario::Tier::Free) => 2,
                };
                (other_role, tier)
            });
            for i in order {
                let a = &pool.accounts[i];
                if taken[i] || (budget == Budget::Within && a.over_budget(&need.hourly)) {
                    continue;
                }
                if let Ok(patch) = a.serves(&need.actor, &need.spec) {
                    taken[i] = true;
                    out.push((i, patch));
                    if go(pool, rest, budget, taken, out) {
                        return true;
                    }
                    out.pop();
                    taken[i] = false;
                }
            }
            false
        }
        let mut taken = leased.to_vec();
        let mut out = Vec::new();
        go(self, needs, budget, &mut taken, &mut out).then_some(out)
    }
}

/// Whether an assignment may use accounts past an hourly allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Budget {
    Within,
    Any,
}

/// An authenticated GET of `path`: status and JSON body.
async fn get(http: &reqwest::Client, base: &Url, path: &str, creds: &ActorCredentials) -> Result<(u16, Value), String> {
    let url = format!("{}{path}", base.as_str().trim_end_matches('/'));
    let mut rb = http.get(url).timeout(PROBE_TIMEOUT);
    if let Some(k) = &creds.api_key {
        rb = rb.header("X-API-Key", k);
    } else if let Some(t) = &creds.access_token {
        rb = rb.bearer_auth(t);
    }
    let resp = rb.send().await.map_err(|e| describe_error(&e))?;
    let status = resp.status().as_u16();
    let bytes = read_capped(resp, MAX_PROBE_BODY).await.map_err(|e| match e {
        Capped::TooLarge => format!("the answer is larger than {MAX_PROBE_BODY} bytes"),
        Capped::Broken(e) => describe_error(&e),
    })?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

async fn probe_one(http: &reqwest::Client, base: &Url, creds: &ActorCredentials, role: Option<Role>) -> AccountCheck {
    let mut check = AccountCheck::default();
    match get(http, base, "/api/wallet", creds).await {
        Ok((200, body)) => {
            check.wallet_cents = body.get("balance").and_then(Value::as_i64);
        }
        Ok((status, _)) => {
            check.usable = Err(format!("`GET /api/wallet` with its credentials answered {status}"));
            return check;
        }
        Err(e) => {
            check.usable = Err(format!("`GET /api/wallet` failed: {e}"));
            return check;
        }
    }
    if role == Some(Role::Proofer)
        && let Ok((200, body)) = get(http, base, "/api/jobs/proof-needed", creds).await
    {
        check.proofer_categories = body
            .get("registered_categories")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect());
    }
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(label: &str, role: Role, f: impl FnOnce(&mut Account)) -> Account {
        let mut a = Account {
            label: label.into(),
            role: Some(role),
            api_key_env: Some("PATH".into()),
            ..Account::default()
        };
        f(&mut a);
        a
    }

    #[test]
    fn what_was_sent_before_a_scenario_counts_by_limit_and_window() {
        let pool = Pool::new(&[account("agent#1", Role::Agent, |_| {})], Tier::Free);
        let a = &pool.accounts[0];
        let t0 = std::time::Instant::now();
        a.note_sent(3, None);
        a.note_sent(2, Some("application limit"));
        std::thread::sleep(std::time::Duration::from_millis(2));
        let t1 = std::time::Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(2));
        a.note_sent(4, None);
        // Every authenticated request counts against the standard limit.
        assert_eq!(a.sent_before(None, t0, t1), 5);
        // A per-endpoint limit counts only its own requests.
        assert_eq!(a.sent_before(Some("application limit"), t0, t1), 2);
        // Nothing before `since`, nothing from `before` on.
        assert_eq!(a.sent_before(None, t1, t1 + std::time::Duration::from_secs(1)), 4);
    }

    #[test]
    fn the_hourly_wait_is_until_the_oldest_send_past_the_figure_leaves_the_window() {
        let pool = Pool::new(&[account("agent#1", Role::Agent, |_| {})], Tier::Free);
        let a = &pool.accounts[0];
        const LIMIT: &str = "application limit";
        let hour = std::time::Duration::from_secs(3600);
        a.note_sent(2, Some(LIMIT));
        a.note_sent(5, Some("another limit"));
        assert!(
            a.hourly_wait(LIMIT, 3, hour).is_zero(),
            "two of three sent: one more may go"
        );
        a.note_sent(1, Some(LIMIT));
        let wait = a.hourly_wait(LIMIT, 3, hour);
        assert!(
            wait > hour - std::time::Duration::from_secs(5) && wait <= hour,
            "{wait:?}"
        );
        // A window that has passed holds nothing.
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(a.hourly_wait(LIMIT, 3, std::time::Duration::from_millis(2)).is_zero());
    }

    /// An account whose hourly allowance the scenario would exhaust is
    /// passed over for one that has it, and waited for while that one is
    /// leased; when no account has it, any serves (as without the check).
    #[tokio::test]
    async fn an_account_past_an_hourly_allowance_is_leased_last() {
        let pool = Pool::new(
            &[
                account("agent#1", Role::Agent, |_| {}),
                account("agent#2", Role::Agent, |_| {}),
            ],
            Tier::Free,
        );
        ready(&pool, &[Some(0), Some(0)], &[None, None]);
        const LIMIT: &str = "application limit of 20/50/100 per hour by tier";
        let applies = |count| {
            let mut n = need("agent", "{role: agent}");
            n.hourly = vec![HourlyUse {
                limit: LIMIT,
                per_tier: [20, 50, 100],
                count,
                window: std::time::Duration::from_secs(60),
            }];
            vec![n]
        };
        let name = |l: &Lease| l.assigned[0].1.account.label.clone();
        let soon = || tokio::time::Instant::now() + std::time::Duration::from_millis(200);
        // agent#1 (first in order) applied 20 times in the window: agent#2 serves.
        pool.accounts[0].note_sent(20, Some(LIMIT));
        let Leased::Granted(lease) = pool.lease(&applies(1), soon()).await else {
            panic!("agent#2 has its allowance")
        };
        assert_eq!(name(&lease), "agent#2");
        // While agent#2 is leased, the lease waits for it rather than take agent#1.
        assert!(matches!(pool.lease(&applies(1), soon()).await, Leased::Never(_)));
        drop(lease);
        // Requests of another limit do not count against this one.
        pool.accounts[1].note_sent(30, Some("job posting limit of 10/30/100 per hour by tier"));
        let Leased::Granted(lease) = pool.lease(&applies(1), soon()).await else {
            panic!("agent#2 still has its application allowance")
        };
        assert_eq!(name(&lease), "agent#2");
        drop(lease);
        // No account has 21 applications left: any serves, the first in order.
        let Leased::Granted(lease) = pool.lease(&applies(21), soon()).await else {
            panic!("without an account in budget, any serves")
        };
        assert_eq!(name(&lease), "agent#1");
    }

    fn ready(pool: &Pool, wallets: &[Option<i64>], proofs: &[Option<Vec<&str>>]) {
        for (i, a) in pool.accounts.iter().enumerate() {
            let mut c = a.check.lock();
            c.usable = Ok(());
            c.wallet_cents = wallets.get(i).copied().flatten();
            c.proofer_categories = proofs
                .get(i)
                .cloned()
                .flatten()
                .map(|v| v.iter().map(|s| s.to_string()).collect());
        }
    }

    fn need(actor: &str, yaml: &str) -> Need {
        Need {
            actor: actor.into(),
            spec: serde_json::from_value(crate::yaml::parse_value(yaml).unwrap()).unwrap(),
            hourly: Vec::new(),
        }
    }

    #[tokio::test]
    async fn needs_are_met_by_distinct_fitting_accounts_or_named() {
        let pool = Pool::new(
            &[
                account("poster#1", Role::Poster, |_| {}),
                account("agent#1", Role::Agent, |a| {
                    a.specializations = Some(vec!["Research".into()])
                }),
                account("agent#2", Role::Agent, |a| a.email_verified = Some(false)),
                account("proofer#1", Role::Proofer, |_| {}),
            ],
            Tier::Free,
        );
        ready(
            &pool,
            &[Some(5000), Some(0), Some(0), Some(0)],
            &[None, None, None, Some(vec!["Research"])],
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        let needs = [
            need("poster", "{role: poster, wallet_cents: 1000}"),
            need("agent", "{role: agent, specializations: [Research, Coding]}"),
            need("p1", "{role: proofer, specializations: [Research]}"),
        ];
        let Leased::Granted(lease) = pool.lease(&needs, deadline).await else {
            panic!("the needs fit")
        };
        let labels: Vec<&str> = lease
            .assigned
            .iter()
            .map(|(_, a, _)| a.account.label.as_str())
            .collect();
        assert_eq!(labels, ["poster#1", "agent#1", "proofer#1"]);
        assert_eq!(
            lease.assigned[1].2.as_deref(),
            Some(&["Research".to_string(), "Coding".into()][..])
        );
        // While leased, a second scenario waits, then gets them back.
        let pool2 = pool.clone();
        let needs2 = needs.clone();
        let waiting = tokio::spawn(async move {
            let d = tokio::time::Instant::now() + Duration::from_secs(5);
            matches!(pool2.lease(&needs2, d).await, Leased::Granted(_))
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(lease);
        assert!(waiting.await.unwrap());

        for (yaml, want) in [
            (
                "{role: poster, wallet_cents: 100000}",
                "needs a poster with at least 100000 cents for `x`; the profile's accounts: poster#1 has 5000 cents in its wallet",
            ),
            ("{role: agent, fresh: true}", "needs a fresh agent"),
            ("{role: poster, email_verified: false}", "needs an unverified poster"),
            (
                "{role: proofer, specializations: [Coding]}",
                "proofer#1 proofs in [Research]",
            ),
            ("{role: agent, tier: pro}", "is on the free tier"),
        ] {
            match pool.lease(&[need("x", yaml)], deadline).await {
                Leased::Never(why) => assert!(why.contains(want), "{yaml}: {why}"),
                Leased::Granted(_) => panic!("{yaml} should not fit"),
            }
        }
        let two_posters = [need("a", "{role: poster}"), need("b", "{role: poster}")];
        match pool.lease(&two_posters, deadline).await {
            Leased::Never(why) => assert!(why.contains("2 distinct accounts"), "{why}"),
            Leased::Granted(_) => panic!("one poster cannot be two"),
        }
        let empty = Pool::new(&[], Tier::Free);
        match empty.lease(&[need("a", "{role: agent}")], deadline).await {
            Leased::Never(why) => assert!(why.contains("the profile has no accounts"), "{why}"),
            Leased::Granted(_) => panic!("nothing to lease"),
        }
    }
}
