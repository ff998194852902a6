//! Session JWTs: HS256 with a per-server random secret and Supabase-like
//! claims `{sub, email, role, aud, iat, exp}`.
//!
//! Expiry is measured on the domain clock, not the system time, so the
//! library's own `exp` check is off and [`JwtKeys::verify`] compares itself.
//! This module knows nothing about users beyond the claims.

use std::collections::HashSet;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Lifetime of a session JWT in seconds of server time.
pub(crate) const JWT_TTL_SECS: i64 = 3600;

/// The claims of a session JWT.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Claims {
    pub(crate) sub: String,
    pub(crate) email: String,
    pub(crate) role: String,
    pub(crate) aud: String,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JwtRefusal {
    /// Bad signature, malformed, wrong audience or claims.
    Invalid,
    /// Past `exp` on the server clock.
    Expired,
}

/// The signing keys of one server.
pub(crate) struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys { .. }")
    }
}

impl JwtKeys {
    /// Fresh keys from 32 random bytes (two v4 UUIDs' worth of entropy).
    pub(crate) fn random() -> Self {
        let mut secret = Vec::with_capacity(32);
        secret.extend_from_slice(Uuid::new_v4().as_bytes());
        secret.extend_from_slice(Uuid::new_v4().as_bytes());
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.required_spec_claims = HashSet::from(["exp".to_string(), "sub".to_string(), "aud".to_string()]);
        validation.set_audience(&["authenticated"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
        }
    }

    /// Issues a token for `user` at server time `now` (unix seconds).
    pub(crate) fn issue(&self, user: Uuid, email: &str, now: i64) -> String {
        let claims = Claims {
            sub: user.to_string(),
            email: email.to_string(),
            role: "authenticated".into(),
            aud: "authenticated".into(),
            iat: now,
            exp: now + JWT_TTL_SECS,
        };
        // HS256 with an HMAC key cannot fail to sign; an empty token would be refused later.
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default()
    }

    /// Checks signature and claims, then `exp` against `now` (server unix seconds).
    pub(crate) fn verify(&self, token: &str, now: i64) -> Result<(Uuid, Claims), JwtRefusal> {
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|_| JwtRefusal::Invalid)?;
        let claims = data.claims;
        if claims.role != "authenticated" {
            return Err(JwtRefusal::Invalid);
        }
        let user = Uuid::parse_str(&claims.sub).map_err(|_| JwtRefusal::Invalid)?;
        if now >= claims.exp {
            return Err(JwtRefusal::Expired);
        }
        Ok((user, claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_verify_expire() {
        let keys = JwtKeys::random();
        let user = Uuid::new_v4();
        let t = keys.issue(user, "a@b.test", 1_000);
        assert!(t.starts_with("eyJ"));
        assert_eq!(keys.verify(&t, 1_000).unwrap().0, user);
        assert_eq!(keys.verify(&t, 1_000 + JWT_TTL_SECS).unwrap_err(), JwtRefusal::Expired);
        assert_eq!(JwtKeys::random().verify(&t, 1_000).unwrap_err(), JwtRefusal::Invalid);
        assert_eq!(keys.verify("garbage", 1_000).unwrap_err(), JwtRefusal::Invalid);
    }
}
