//! The project API key check that the backend's admin routes make, with its three kinds of
//! 401 answer.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};

use super::errors::ApiError;
use super::request_log::KeyCheck;
use super::state::SandboxState;

const NEXT_ACTIONS_TOKEN: &str = "Check the token is valid or login to get a new token.";
const NEXT_ACTIONS_API_KEY: &str = "Check the API key is valid or generate a new API key.";

/// What the credentials on a request amount to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// No `Authorization: Bearer` header and no `x-api-key`.
    Missing,
    /// A key (`ik_...` bearer or `x-api-key`) that is not the project's.
    WrongKey,
    /// A bearer token that is not an API key: the backend takes it for a JWT.
    NotAKey,
    /// The project's key.
    Valid,
}

impl Credentials {
    /// Classifies a request's headers against the project's key. A `Bearer` header (the
    /// scheme word is case-sensitive, as in the backend) wins over `x-api-key`.
    pub fn of(headers: &HeaderMap, api_key: &str) -> Self {
        let bearer = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        if let Some(token) = bearer {
            let token = token.trim();
            if !token.starts_with("ik_") {
                return Self::NotAKey;
            }
            return Self::compare(token, api_key);
        }
        match headers.get("x-api-key") {
            Some(value) => Self::compare(&String::from_utf8_lossy(value.as_bytes()), api_key),
            None => Self::Missing,
        }
    }

    fn compare(sent: &str, api_key: &str) -> Self {
        if constant_time_eq(sent.as_bytes(), api_key.as_bytes()) {
            Self::Valid
        } else {
            Self::WrongKey
        }
    }

    /// For the request log.
    pub fn key_check(self) -> KeyCheck {
        match self {
            Self::Missing => KeyCheck::Missing,
            Self::WrongKey | Self::NotAKey => KeyCheck::Invalid,
            Self::Valid => KeyCheck::Valid,
        }
    }

    /// The backend's 401 for anything but a valid key.
    pub fn require_admin(self) -> Result<(), ApiError> {
        match self {
            Self::Valid => Ok(()),
            Self::Missing => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "AUTH_INVALID_CREDENTIALS",
                "No admin token provided",
            )
            .with_next_actions(NEXT_ACTIONS_TOKEN)),
            Self::WrongKey => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "AUTH_INVALID_API_KEY",
                "Invalid API key",
            )
            .with_next_actions(NEXT_ACTIONS_API_KEY)),
            Self::NotAKey => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "AUTH_UNAUTHORIZED",
                "Invalid token",
            )),
        }
    }
}

/// Extractor that admits only requests carrying the project's API key. Put it first in a
/// handler's arguments so the key is checked before the body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdminKey;

impl FromRequestParts<SandboxState> for AdminKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SandboxState,
    ) -> Result<Self, Self::Rejection> {
        Credentials::of(&parts.headers, &state.api_key).require_admin()?;
        Ok(AdminKey)
    }
}

/// Compares two byte strings in time that depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let len = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..len {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(pairs: &[(&'static str, &str)]) -> Credentials {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, value.parse().unwrap());
        }
        Credentials::of(&headers, "ik_good")
    }

    #[test]
    fn classifies_like_the_backend() {
        assert_eq!(classify(&[]), Credentials::Missing);
        assert_eq!(
            classify(&[("authorization", "Basic abc")]),
            Credentials::Missing
        );
        assert_eq!(
            classify(&[("authorization", "bearer ik_good")]),
            Credentials::Missing
        );
        assert_eq!(
            classify(&[("authorization", "Bearer ik_good")]),
            Credentials::Valid
        );
        assert_eq!(
            classify(&[("authorization", "Bearer ik_")]),
            Credentials::WrongKey
        );
        assert_eq!(
            classify(&[("authorization", "Bearer IK_good")]),
            Credentials::NotAKey
        );
        assert_eq!(
            classify(&[("authorization", "Bearer eyJhbGc")]),
            Credentials::NotAKey
        );
        assert_eq!(classify(&[("x-api-key", "ik_good")]), Credentials::Valid);
        assert_eq!(classify(&[("x-api-key", "nope")]), Credentials::WrongKey);
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
