//! Auth modes: the credential headers a request carries. Every value
//! made up here (unknown or malformed keys, tampered JWTs) is registered
//! as a secret so that it is shown by label only. It must not send
//! anything or choose the mode (the step does).

use rand::RngExt;

use super::RunnerError;
use crate::redact::Secrets;
use crate::scenario::AuthMode;
use crate::target::ActorCredentials;

/// The name of a mode as written in scenarios.
pub(crate) fn mode_name(mode: AuthMode) -> &'static str {
    match mode {
        AuthMode::ApiKey => "api_key",
        AuthMode::Jwt => "jwt",
        AuthMode::None => "none",
        AuthMode::ApiKeyAsBearer => "api_key_as_bearer",
        AuthMode::Both => "both",
        AuthMode::UnknownKey => "unknown_key",
        AuthMode::MalformedKey => "malformed_key",
        AuthMode::MalformedJwt => "malformed_jwt",
        AuthMode::TamperedJwt => "tampered_jwt",
    }
}

fn random_hex(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from_digit(rng.random_range(0..16u32), 16).unwrap_or('0'))
        .collect()
}

/// The credential headers for `mode`. Without an actor, `api_key` (the
/// default) sends nothing; modes that need an actor's credential fail.
pub(crate) fn auth_headers(
    mode: AuthMode,
    actor: Option<(&str, &ActorCredentials)>,
    secrets: &Secrets,
) -> Result<Vec<(String, String)>, RunnerError> {
    let need = |field: &str| -> Result<String, RunnerError> {
        let Some((name, creds)) = actor else {
            return Err(RunnerError::NoActor {
                mode: mode_name(mode).into(),
            });
        };
        let v = match field {
            "api_key" => &creds.api_key,
            _ => &creds.access_token,
        };
        v.clone().ok_or_else(|| RunnerError::MissingCredential {
            actor: name.to_string(),
            field: field.to_string(),
            mode: mode_name(mode).to_string(),
        })
    };
    let key = |v: String| ("X-API-Key".to_string(), v);
    let bearer = |v: String| ("Authorization".to_string(), format!("Bearer {v}"));
    Ok(match mode {
        AuthMode::None => vec![],
        AuthMode::ApiKey if actor.is_none() => vec![],
        AuthMode::ApiKey => vec![key(need("api_key")?)],
        AuthMode::Jwt => vec![bearer(need("access_token")?)],
        AuthMode::ApiKeyAsBearer => vec![bearer(need("api_key")?)],
        AuthMode::Both => vec![key(need("api_key")?), bearer(need("access_token")?)],
        AuthMode::UnknownKey => {
            let v = format!("age_{}", random_hex(32));
            secrets.add("UNKNOWN_KEY", &v);
            vec![key(v)]
        }
        AuthMode::MalformedKey => {
            let v = format!("not-an-api-key-{}", random_hex(12));
            secrets.add("MALFORMED_KEY", &v);
            vec![key(v)]
        }
        AuthMode::MalformedJwt => {
            let v = format!("not-a-jwt-{}", random_hex(12));
            secrets.add("MALFORMED_JWT", &v);
            vec![bearer(v)]
        }
        AuthMode::TamperedJwt => {
            let jwt = need("access_token")?;
            let v = tamper(&jwt);
            let name = actor.map(|(n, _)| n).unwrap_or_default();
            secrets.add(&format!("TAMPERED_JWT:{name}"), &v);
            vec![bearer(v)]
        }
    })
}

/// The JWT with its signature changed (first signature character swapped,
/// which always changes the decoded bytes); a value that is not three
/// dot-separated parts gets a bogus signature appended instead.
pub(crate) fn tamper(jwt: &str) -> String {
    let parts: Vec<&str> = jwt.split('.').collect();
    if parts.len() != 3 || parts[2].is_empty() {
        return format!("{jwt}.AAAA");
    }
    let sig = parts[2];
    let first = sig.chars().next().unwrap_or('A');
    let swapped = if first == 'A' { 'B' } else { 'A' };
    format!("{}.{}.{}{}", parts[0], parts[1], swapped, &sig[first.len_utf8()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> ActorCredentials {
        ActorCredentials {
            api_key: Some("age_0123456789abcdef0123456789abcdef".into()),
            access_token: Some("eyJa.eyJb.sig".into()),
            ..Default::default()
        }
    }

    #[test]
    fn every_mode() {
        let s = Secrets::new();
        let c = creds();
        let a = Some(("poster", &c));
        let h = |m| auth_headers(m, a, &s).unwrap();
        assert_eq!(
            h(AuthMode::ApiKey),
            vec![("X-API-Key".into(), c.api_key.clone().unwrap())]
        );
        assert_eq!(
            h(AuthMode::Jwt),
            vec![("Authorization".into(), "Bearer eyJa.eyJb.sig".into())]
        );
        assert!(h(AuthMode::None).is_empty());
        assert_eq!(
            h(AuthMode::ApiKeyAsBearer)[0].1,
            format!("Bearer {}", c.api_key.clone().unwrap())
        );
        assert_eq!(h(AuthMode::Both).len(), 2);
        let unknown = &h(AuthMode::UnknownKey)[0].1;
        assert!(unknown.starts_with("age_") && unknown.len() == 36 && unknown != c.api_key.as_ref().unwrap());
        assert!(!h(AuthMode::MalformedKey)[0].1.starts_with("age_"));
        assert_eq!(h(AuthMode::MalformedJwt)[0].1.matches('.').count(), 0);
        assert_eq!(h(AuthMode::TamperedJwt)[0].1, "Bearer eyJa.eyJb.Aig");
        assert!(auth_headers(AuthMode::ApiKey, None, &s).unwrap().is_empty());
        assert!(auth_headers(AuthMode::Jwt, None, &s).is_err());
        let no_jwt = ActorCredentials {
            api_key: Some("k".into()),
            ..Default::default()
        };
        let e = auth_headers(AuthMode::Jwt, Some(("a", &no_jwt)), &s).unwrap_err();
        assert!(e.to_string().contains("access_token"));
        assert_eq!(tamper("x.y.Abc"), "x.y.Bbc");
    }
}
