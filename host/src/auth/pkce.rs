//! PKCE (RFC 7636, method S256) and the `state` value of the browser login.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::error::{CliError, Result};

/// One login attempt's secrets: made fresh for every attempt.
pub struct Pkce {
    /// Sent only in the token exchange.
    pub verifier: String,
    /// `base64url(sha256(verifier))`, sent in the authorize URL.
    pub challenge: String,
    /// Echoed by the callback; anything else is refused.
    pub state: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce").finish_non_exhaustive()
    }
}

impl Pkce {
    pub fn new() -> Result<Self> {
        let verifier = random_urlsafe(32)?;
        Ok(Pkce {
            challenge: challenge_of(&verifier),
            verifier,
            state: random_urlsafe(16)?,
        })
    }
}

/// `n` random bytes, base64url without padding.
pub fn random_urlsafe(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|e| CliError::general(format!("the system has no randomness to offer: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The S256 challenge of a verifier.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_example_challenge() {
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_and_state_have_the_official_lengths_and_differ_each_time() {
        let a = Pkce::new().unwrap();
        let b = Pkce::new().unwrap();
        assert_eq!(a.verifier.len(), 43);
        assert_eq!(a.state.len(), 22);
        assert_ne!(a.verifier, b.verifier);
        assert_ne!(a.state, b.state);
        assert_eq!(a.challenge, challenge_of(&a.verifier));
    }
}
