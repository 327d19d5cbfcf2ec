//! Credentials of the demo systems: issued OAuth2 access tokens, and reading
//! HTTP Basic, bearer and API-key credentials from a request. Comparisons of
//! secrets take the same time whatever the input.

mod base64;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

/// Length of issued access tokens.
const TOKEN_LENGTH: usize = 40;

/// The HR system's issued access tokens and their expiry.
#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    tokens: Mutex<HashMap<String, Instant>>,
}

impl TokenStore {
    /// Issues a random token valid for `ttl`; forgets expired ones.
    pub(crate) fn issue(&self, ttl: Duration) -> String {
        let token: String = std::iter::repeat_with(fastrand::alphanumeric)
            .take(TOKEN_LENGTH)
            .collect();
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, expires| *expires > now);
        tokens.insert(token.clone(), now + ttl);
        token
    }

    /// Whether the token was issued here and has not expired.
    pub(crate) fn is_valid(&self, token: &str) -> bool {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens
            .get(token)
            .is_some_and(|expires| Instant::now() < *expires)
    }
}

/// User and password of an HTTP Basic `Authorization` header.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64::decode(encoded)?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The token of a `Authorization: Bearer …` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// Compares two secrets in time that depends only on their lengths.
pub(crate) fn secrets_match(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    let mut difference = u8::from(given.len() != expected.len());
    for (i, &e) in expected.iter().enumerate() {
        difference |= e ^ given.get(i).copied().unwrap_or(!e);
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_expire() {
        let store = TokenStore::default();
        let lasting = store.issue(Duration::from_secs(60));
        let expired = store.issue(Duration::ZERO);
        assert_eq!(lasting.len(), TOKEN_LENGTH);
        assert!(store.is_valid(&lasting));
        assert!(!store.is_valid(&expired));
        assert!(!store.is_valid("made-up"));
    }

    #[test]
    fn reads_basic_and_bearer_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcjpwYTpzcw=="),
        );
        assert_eq!(
            basic_credentials(&headers),
            Some(("user".into(), "pa:ss".into()))
        );
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_token(&headers), Some("abc"));
        assert_eq!(basic_credentials(&headers), None);
    }

    #[test]
    fn compares_secrets() {
        assert!(secrets_match("ops-key", "ops-key"));
        assert!(!secrets_match("ops-kez", "ops-key"));
        assert!(!secrets_match("ops-key-longer", "ops-key"));
        assert!(!secrets_match("", "ops-key"));
    }
}
