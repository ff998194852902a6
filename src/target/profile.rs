//! Target profiles: from `--target URL` alone, or from a YAML file.
//!
//! Secrets never live in the file: the control token and static actor
//! credentials are named by environment variables (`*_env`) and read
//! here; `insecure` is command-line only. It must not contact the target.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};
use url::Url;

use super::TargetError;
use crate::scenario::{Role, Tier};

/// Environment variable holding the control token for `--target URL`.
pub const DEFAULT_TOKEN_ENV: &str = "AGENTGIGS_CONTROL_TOKEN";

/// A secret string whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl Secret {
    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

/// How actors' event streams are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventsTransport {
    /// `GET /api/agent/events` as Server-Sent Events.
    #[default]
    Sse,
    /// The same endpoint upgraded to a WebSocket.
    WebSocket,
}

/// The target's control API.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlConfig {
    /// Base URL; `/__conformance/...` is appended.
    pub url: Url,
    /// The environment variable the token came from, if any.
    pub token_env: Option<String>,
    /// The token, read from `token_env`.
    pub token: Option<Secret>,
}

/// One account of the profile's pool: its role and what the profile
/// declares of it, and its credentials, each named by an environment
/// variable (never the secret itself).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Account {
    /// How reports name it: `poster#1` for the n-th account of a role, or
    /// the key of the older `actors:` form.
    pub label: String,
    /// The role it plays; `None` for an `actors:` entry keyed by an actor
    /// name (it serves that actor, whatever its role).
    pub role: Option<Role>,
    /// An `actors:` entry keyed by an actor name serves only that actor.
    pub actor: Option<String>,
    pub api_key_env: Option<String>,
    pub jwt_env: Option<String>,
    pub email_env: Option<String>,
    pub password_env: Option<String>,
    pub user_id_env: Option<String>,
    /// Its subscription tier (the profile's `tier` when not said).
    pub tier: Option<Tier>,
    /// `false` for an account whose email is not verified (default: verified).
    pub email_verified: Option<bool>,
    /// `false` for an agent without Stripe Connect (default: connected).
    pub stripe_connected: Option<bool>,
    /// The agent's specializations, when declared: then the harness may set
    /// others through `PATCH /api/agent/profile` and restore these after.
    pub specializations: Option<Vec<String>>,
    /// `file:line` of the entry.
    pub place: String,
}

/// Static credentials of one account (the older `actors:` form).
pub type StaticActor = Account;

impl Account {
    /// Reads the credentials from the environment; every variable named
    /// must be set.
    pub fn resolve(&self, name: &str) -> Result<super::ActorCredentials, TargetError> {
        let read = |var: &Option<String>, field: &str| -> Result<Option<String>, TargetError> {
            match var {
                None => Ok(None),
                Some(v) => std::env::var(v).map(Some).map_err(|_| TargetError::MissingEnv {
                    var: v.clone(),
                    field: format!("{name}.{field}"),
                }),
            }
        };
        Ok(super::ActorCredentials {
            user_id: read(&self.user_id_env, "user_id_env")?,
            email: read(&self.email_env, "email_env")?,
            password: read(&self.password_env, "password_env")?,
            access_token: read(&self.jwt_env, "jwt_env")?,
            api_key: read(&self.api_key_env, "api_key_env")?,
        })
    }
}

/// Everything about a remote target.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Where the API is (`/api/...` is appended to it).
    pub base_url: Url,
    /// The control API; `None` when the target has none.
    pub control: Option<ControlConfig>,
    /// The account pool (the `accounts:` list, and the older `actors:`
    /// form), used when the target has no control API to create actors.
    pub accounts: Vec<Account>,
    /// Tier of the accounts, for pacing (an actor's own tier wins).
    pub tier: Tier,
    /// True when money moved here is not real.
    pub sandbox: bool,
    pub events: EventsTransport,
    /// Keep each actor under its tier's rate limit.
    pub pace: bool,
    /// Seconds on the target's clock per real second: 1 for a real
    /// deployment; more for a test deployment whose clock runs fast (as
    /// `mock --clock-rate N`). Pacing windows and clock steps waited out in
    /// real time are counted on the target's clock; `Retry-After` stays in
    /// real seconds, as HTTP defines it.
    pub clock_rate: u32,
    /// Accept invalid TLS certificates; set from the command line only.
    pub insecure: bool,
    /// The file the profile came from, if any.
    pub source: Option<String>,
}

impl Profile {
    /// A profile from a URL alone: the control API at the same URL (token
    /// from `AGENTGIGS_CONTROL_TOKEN` when set), a sandbox when the host is
    /// loopback ([`is_loopback`]), paced. `sandbox` is decided here, once:
    /// the runner only reads [`Profile::sandbox`], so a caller may set it to
    /// `false` for a loopback URL (a tunnel to a real deployment).
    pub fn from_url(url: &str) -> Result<Profile, TargetError> {
        let base_url = parse_url(url)?;
        let token = std::env::var(DEFAULT_TOKEN_ENV)
            .ok()
            .filter(|t| !t.is_empty())
            .map(Secret);
        Ok(Profile {
            sandbox: is_loopback(&base_url),
            control: Some(ControlConfig {
                url: base_url.clone(),
                token_env: token.as_ref().map(|_| DEFAULT_TOKEN_ENV.to_string()),
                token,
            }),
            base_url,
            accounts: Vec::new(),
            tier: Tier::Free,
            events: EventsTransport::Sse,
            pace: true,
            clock_rate: 1,
            insecure: false,
            source: None,
        })
    }

    /// Reads a YAML profile file. Errors name the file, line and field.
    pub fn load(path: &Path) -> Result<Profile, TargetError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TargetError::ReadProfile {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, &file)
    }

    /// Parses a YAML profile's text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Profile, TargetError> {
        let doc = crate::yaml::parse(text).map_err(|e| TargetError::Profile {
            file: file.to_string(),
            line: e.line,
            column: e.column,
            field: "(document)".into(),
            message: e.message.clone(),
        })?;
        let p = Parser { doc: &doc, file };
        let root = p.object("", "(document)")?;
        p.known(
            root,
            "",
            &[
                "base_url",
                "control",
                "accounts",
                "actors",
                "tier",
                "sandbox",
                "events",
                "pace",
                "clock_rate",
                "insecure",
            ],
        )?;
        if root.contains_key("insecure") {
            return Err(p.err(
                "/insecure",
                "insecure",
                "is command-line only (`--insecure`), never in a profile file",
            ));
        }
        let base_url = match root.get("base_url") {
            Some(Value::String(s)) => parse_url(s).map_err(|e| p.err("/base_url", "base_url", &e.to_string()))?,
            Some(_) => return Err(p.err("/base_url", "base_url", "expected a URL string")),
            None => return Err(p.err("", "base_url", "is required")),
        };
        let control = match root.get("control") {
            None | Some(Value::Null) => None,
            Some(Value::Object(c)) => {
                p.known(c, "/control", &["url", "token_env", "token"])?;
                if c.contains_key("token") {
                    return Err(p.err(
                        "/control/token",
                        "control.token",
                        "secrets never go in a profile; name an environment variable with `token_env`",
                    ));
                }
                let url = match c.get("url") {
                    None | Some(Value::Null) => base_url.clone(),
                    Some(Value::String(s)) => {
                        parse_url(s).map_err(|e| p.err("/control/url", "control.url", &e.to_string()))?
                    }
                    Some(_) => return Err(p.err("/control/url", "control.url", "expected a URL string")),
                };
                let token_env = p.opt_string(c, "/control/token_env", "control.token_env")?;
                let token = match &token_env {
                    Some(var) => Some(Secret(std::env::var(var).map_err(|_| TargetError::MissingEnv {
                        var: var.clone(),
                        field: format!("{file}:{}: control.token_env", p.line("/control/token_env")),
                    })?)),
                    None => None,
                };
                Some(ControlConfig { url, token_env, token })
            }
            Some(_) => return Err(p.err("/control", "control", "expected a mapping with `url` and `token_env`")),
        };
        let mut accounts = Vec::new();
        let mut per_role: BTreeMap<&'static str, usize> = BTreeMap::new();
        if let Some(a) = root.get("accounts").filter(|v| !v.is_null()) {
            let Value::Array(list) = a else {
                return Err(p.err("/accounts", "accounts", "expected a list of accounts"));
            };
            for (i, v) in list.iter().enumerate() {
                let ptr = format!("/accounts/{i}");
                let field = format!("accounts[{i}]");
                let Value::Object(fields) = v else {
                    return Err(p.err(
                        &ptr,
                        &field,
                        "expected a mapping with `role` and `*_env` variable names",
                    ));
                };
                let role = match p.opt_string(fields, &format!("{ptr}/role"), &format!("{field}.role"))? {
                    Some(r) => role_of(&r).ok_or_else(|| {
                        p.err(
                            &format!("{ptr}/role"),
                            &format!("{field}.role"),
                            "expected `poster`, `agent` or `proofer`",
                        )
                    })?,
                    None => {
                        return Err(p.err(
                            &ptr,
                            &format!("{field}.role"),
                            "is required (`poster`, `agent` or `proofer`)",
                        ));
                    }
                };
                let n = per_role.entry(role_name(role)).or_insert(0);
                *n += 1;
                let mut account = p.account(fields, &ptr, &field, true)?;
                account.label = format!("{}#{n}", role_name(role));
                account.role = Some(role);
                accounts.push(account);
            }
        }
        if let Some(a) = root.get("actors").filter(|v| !v.is_null()) {
            let Value::Object(map) = a else {
                return Err(p.err("/actors", "actors", "expected a mapping of actor or role names"));
            };
            for (name, v) in map {
                let ptr = format!("/actors/{}", crate::yaml::escape_token(name));
                let field = format!("actors.{name}");
                let Value::Object(fields) = v else {
                    return Err(p.err(&ptr, &field, "expected a mapping of `*_env` variable names"));
                };
                let mut account = p.account(fields, &ptr, &field, false)?;
                account.label = name.clone();
                match role_of(name) {
                    Some(role) => account.role = Some(role),
                    None => account.actor = Some(name.clone()),
                }
                accounts.push(account);
            }
        }
        let tier = match root.get("tier") {
            None | Some(Value::Null) => Tier::Free,
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|_| p.err("/tier", "tier", "expected `free`, `pro` or `enterprise`"))?,
        };
        let sandbox = p
            .opt_bool(root, "/sandbox", "sandbox")?
            .unwrap_or_else(|| is_loopback(&base_url));
        let pace = p.opt_bool(root, "/pace", "pace")?.unwrap_or(true);
        let clock_rate = match root.get("clock_rate") {
            None | Some(Value::Null) => 1,
            Some(v) => v
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (1..=3600).contains(n))
                .ok_or_else(|| {
                    p.err(
                        "/clock_rate",
                        "clock_rate",
                        "expected a whole number from 1 to 3600 (seconds on the target's clock per real second)",
                    )
                })?,
        };
        let events = match p.opt_string(root, "/events", "events")?.as_deref() {
            None | Some("sse") => EventsTransport::Sse,
            Some("websocket") => EventsTransport::WebSocket,
            Some(other) => {
                return Err(p.err(
                    "/events",
                    "events",
                    &format!("expected `sse` or `websocket`, got `{other}`"),
                ));
            }
        };
        Ok(Profile {
            base_url,
            control,
            accounts,
            tier,
            sandbox,
            events,
            pace,
            clock_rate,
            insecure: false,
            source: Some(file.to_string()),
        })
    }

    /// The base URL without user info, as shown in reports.
    pub fn display_url(&self) -> String {
        display_url(&self.base_url)
    }
}

/// The role of a name (`poster`, `agent`, `proofer`).
fn role_of(name: &str) -> Option<Role> {
    Role::parse(name)
}

/// The name of a role.
pub fn role_name(role: Role) -> &'static str {
    role.as_str()
}

/// A URL with any user name and password removed.
pub(crate) fn display_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

fn parse_url(s: &str) -> Result<Url, TargetError> {
    let url = Url::parse(s.trim()).map_err(|e| TargetError::Url {
        url: s.to_string(),
        message: e.to_string(),
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(TargetError::Url {
            url: s.to_string(),
            message: "expected an http or https URL".into(),
        });
    }
    if url.host().is_none() {
        return Err(TargetError::Url {
            url: s.to_string(),
            message: "the URL has no host".into(),
        });
    }
    Ok(url)
}

/// True for the host `localhost`, 127.0.0.0/8 and `::1`: the hosts a
/// profile treats as a sandbox unless it says `sandbox: false`.
///
/// Deliberately narrow, because it decides whether real money may move:
/// names under `.localhost` are not trusted (a resolver may send them
/// anywhere), nor are private addresses. A tunnel to production on a
/// loopback port is still loopback: such a profile must say
/// `sandbox: false`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Field access with locations for errors.
struct Parser<'a> {
    doc: &'a crate::yaml::Document,
    file: &'a str,
}

impl<'a> Parser<'a> {
    fn line(&self, pointer: &str) -> usize {
        self.doc.nearest_location(pointer).line
    }

    fn err(&self, pointer: &str, field: &str, message: &str) -> TargetError {
        let loc = self
            .doc
            .key_location(pointer)
            .unwrap_or_else(|| self.doc.nearest_location(pointer));
        TargetError::Profile {
            file: self.file.to_string(),
            line: loc.line,
            column: loc.column,
            field: field.to_string(),
            message: message.to_string(),
        }
    }

    fn object(&self, pointer: &str, field: &str) -> Result<&'a Map<String, Value>, TargetError> {
        match self.doc.value.pointer(pointer) {
            Some(Value::Object(m)) => Ok(m),
            _ => Err(self.err(pointer, field, "expected a mapping")),
        }
    }

    fn known(&self, map: &Map<String, Value>, pointer: &str, allowed: &[&str]) -> Result<(), TargetError> {
        for key in map.keys() {
            if !allowed.contains(&key.as_str()) {
                let ptr = format!("{pointer}/{}", crate::yaml::escape_token(key));
                let field = if pointer.is_empty() {
                    key.clone()
                } else {
                    format!("{}.{key}", pointer.trim_start_matches('/').replace('/', "."))
                };
                return Err(self.err(
                    &ptr,
                    &field,
                    &format!("unknown field; expected one of {}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn opt_string(&self, map: &Map<String, Value>, pointer: &str, field: &str) -> Result<Option<String>, TargetError> {
        let key = pointer.rsplit('/').next().unwrap_or_default();
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
            Some(_) => Err(self.err(pointer, field, "expected a non-empty string")),
        }
    }

    /// One account entry's fields; `pool` allows the pool-only keys.
    fn account(&self, fields: &Map<String, Value>, ptr: &str, field: &str, pool: bool) -> Result<Account, TargetError> {
        const ENVS: &[&str] = &["api_key_env", "jwt_env", "email_env", "password_env", "user_id_env"];
        const POOL: &[&str] = &["role", "tier", "email_verified", "stripe_connected", "specializations"];
        let allowed: Vec<&str> = if pool {
            ENVS.iter().chain(POOL).copied().collect()
        } else {
            ENVS.iter()
                .chain(["tier", "email_verified", "stripe_connected", "specializations"].iter())
                .copied()
                .collect()
        };
        for secret in ["api_key", "jwt", "password", "token"] {
            if fields.contains_key(secret) {
                return Err(self.err(
                    &format!("{ptr}/{secret}"),
                    &format!("{field}.{secret}"),
                    "secrets never go in a profile; name an environment variable with `*_env`",
                ));
            }
        }
        self.known(fields, ptr, &allowed)?;
        let get = |k: &str| self.opt_string(fields, &format!("{ptr}/{k}"), &format!("{field}.{k}"));
        let tier = match fields.get("tier") {
            None | Some(Value::Null) => None,
            Some(v) => Some(serde_json::from_value(v.clone()).map_err(|_| {
                self.err(
                    &format!("{ptr}/tier"),
                    &format!("{field}.tier"),
                    "expected `free`, `pro` or `enterprise`",
                )
            })?),
        };
        let specializations = match fields.get("specializations") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                Some(items.iter().filter_map(Value::as_str).map(str::to_string).collect())
            }
            Some(_) => {
                return Err(self.err(
                    &format!("{ptr}/specializations"),
                    &format!("{field}.specializations"),
                    "expected a list of category names",
                ));
            }
        };
        let account = Account {
            api_key_env: get("api_key_env")?,
            jwt_env: get("jwt_env")?,
            email_env: get("email_env")?,
            password_env: get("password_env")?,
            user_id_env: get("user_id_env")?,
            tier,
            email_verified: self.opt_bool(
                fields,
                &format!("{ptr}/email_verified"),
                &format!("{field}.email_verified"),
            )?,
            stripe_connected: self.opt_bool(
                fields,
                &format!("{ptr}/stripe_connected"),
                &format!("{field}.stripe_connected"),
            )?,
            specializations,
            place: format!("{}:{}", self.file, self.line(ptr)),
            ..Account::default()
        };
        if account.api_key_env.is_none() && account.jwt_env.is_none() {
            return Err(self.err(
                ptr,
                field,
                "needs `api_key_env` or `jwt_env` (the credentials, by environment variable)",
            ));
        }
        Ok(account)
    }

    fn opt_bool(&self, map: &Map<String, Value>, pointer: &str, field: &str) -> Result<Option<bool>, TargetError> {
        let key = pointer.rsplit('/').next().unwrap_or_default();
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.err(pointer, field, "expected `true` or `false`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_alone() {
        let p = Profile::from_url("http://127.0.0.1:8080").unwrap();
        assert!(p.sandbox && p.pace);
        assert_eq!(p.control.unwrap().url.as_str(), "http://127.0.0.1:8080/");
        assert!(!Profile::from_url("https://api.example.com").unwrap().sandbox);
        assert!(Profile::from_url("http://[::1]:9").unwrap().sandbox);
        assert!(Profile::from_url("http://LOCALHOST:9").unwrap().sandbox);
        assert!(!Profile::from_url("http://api.localhost:9").unwrap().sandbox);
        assert!(!Profile::from_url("http://10.0.0.1:9").unwrap().sandbox);
        assert!(!Profile::from_url("http://127.0.0.1.example.com").unwrap().sandbox);
        assert!(Profile::from_url("ftp://x").is_err());
        assert!(Profile::from_url("not a url").is_err());
    }

    #[test]
    fn file_with_everything() {
        let text = "base_url: https://api.example.com\nactors:\n  poster:\n    api_key_env: POSTER_KEY\ntier: pro\nsandbox: true\nevents: websocket\npace: false\nclock_rate: 30\n";
        let p = Profile::parse(text, "p.yaml").unwrap();
        assert_eq!(p.tier, Tier::Pro);
        assert_eq!(p.clock_rate, 30);
        assert!(p.sandbox && !p.pace && p.control.is_none());
        assert_eq!(p.events, EventsTransport::WebSocket);
        assert_eq!(p.accounts[0].api_key_env.as_deref(), Some("POSTER_KEY"));
        assert_eq!(p.accounts[0].role, Some(Role::Poster));
        assert_eq!(p.accounts[0].label, "poster");
    }

    #[test]
    fn account_pools() {
        let text = "base_url: https://api.example.com\nsandbox: true\naccounts:\n  - {role: poster, api_key_env: P1_KEY, jwt_env: P1_JWT}\n  - {role: poster, api_key_env: P2_KEY, tier: pro}\n  - {role: agent, api_key_env: A1_KEY, specializations: [Research], email_verified: false}\nactors:\n  alice: {api_key_env: ALICE_KEY}\n";
        let p = Profile::parse(text, "p.yaml").unwrap();
        let labels: Vec<&str> = p.accounts.iter().map(|a| a.label.as_str()).collect();
        assert_eq!(labels, ["poster#1", "poster#2", "agent#1", "alice"]);
        assert_eq!(p.accounts[1].tier, Some(Tier::Pro));
        assert_eq!(
            p.accounts[2].specializations.as_deref(),
            Some(&["Research".to_string()][..])
        );
        assert_eq!(p.accounts[2].email_verified, Some(false));
        assert_eq!(p.accounts[3].actor.as_deref(), Some("alice"));
        assert_eq!(p.accounts[3].role, None);
        assert_eq!(p.accounts[1].place, "p.yaml:5");
        for (bad, want) in [
            ("accounts:\n  - {api_key_env: K}\n", "accounts[0].role"),
            (
                "accounts:\n  - {role: boss, api_key_env: K}\n",
                "expected `poster`, `agent` or `proofer`",
            ),
            ("accounts:\n  - {role: agent}\n", "needs `api_key_env` or `jwt_env`"),
            (
                "accounts:\n  - {role: agent, api_key: age_x}\n",
                "secrets never go in a profile",
            ),
            (
                "accounts:\n  - {role: agent, api_key_env: K, tier: gold}\n",
                "accounts[0].tier",
            ),
        ] {
            let e = Profile::parse(&format!("base_url: https://x.example\n{bad}"), "p.yaml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(want) && e.starts_with("p.yaml:"), "{bad}: {e}");
        }
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let e = Profile::parse("base_url: https://x.example\nsandbox: maybe\n", "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.yaml:2:"), "{e}");
        assert!(e.contains("`sandbox`"), "{e}");
        let e = Profile::parse("base_url: https://x.example\ninsecure: true\n", "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.yaml:2:") && e.contains("command-line only"), "{e}");
        let e = Profile::parse("base_url: https://x.example\ncontrol:\n  token: abc\n", "p.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.yaml:3:") && e.contains("control.token"), "{e}");
        let e = Profile::parse(
            "base_url: https://x.example\nactors:\n  poster:\n    api_key: abc\n",
            "p.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("p.yaml:4:") && e.contains("actors.poster.api_key"), "{e}");
        let e = Profile::parse(
            "base_url: https://x.example\ncontrol:\n  token_env: AGENTGIGS_TEST_SURELY_UNSET_VAR\n",
            "p.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("AGENTGIGS_TEST_SURELY_UNSET_VAR"), "{e}");
        let e = Profile::parse("sandbox: true\n", "p.yaml").unwrap_err().to_string();
        assert!(e.contains("base_url"), "{e}");
        for bad in ["0", "1.5", "fast", "-2", "100000"] {
            let e = Profile::parse(&format!("base_url: https://x.example\nclock_rate: {bad}\n"), "p.yaml")
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("p.yaml:2:") && e.contains("clock_rate") && e.contains("whole number"),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            Profile::parse("base_url: https://x.example\n", "p.yaml")
                .unwrap()
                .clock_rate,
            1
        );
    }
}
