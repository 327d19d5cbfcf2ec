//! Authentication of source requests: none, API key (header or query),
//! HTTP Basic, static bearer, OAuth2 client credentials.
//!
//! Secrets are resolved once at start-up and held as `SecretString`; header
//! values are marked sensitive so they never show in debug output. The
//! OAuth2 token is cached and refreshed shortly before it expires, and once
//! more when the source answers 401.

use std::time::{Duration, Instant};

use canonflow_common::secret::{ExposeSecret, SecretError, SecretString};
use reqwest::header::HeaderValue;
use reqwest::{Client, RequestBuilder, Url};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::source::{ApiKeyLocation, AuthConfig};

#[derive(Debug)]
pub enum Auth {
    None,
    Header {
        name: String,
        value: HeaderValue,
    },
    Basic {
        username: String,
        password: SecretString,
    },
    Query {
        name: String,
        value: SecretString,
    },
    OAuth2(OAuth2),
}

#[derive(Debug)]
pub struct OAuth2 {
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    scopes: Vec<String>,
    refresh_before: Duration,
    cached: Mutex<Option<(HeaderValue, Instant)>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

fn sensitive(value: &str) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::from_str(value)
        .map_err(|_| "contains characters not allowed in a header".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

impl Auth {
    /// Resolves the secrets of `config`; errors name the config key.
    pub fn new(config: &AuthConfig, base_url: &Url) -> Result<Self, (String, String)> {
        let secret = |key: &str, r: &canonflow_common::secret::SecretRef| {
            r.resolve()
                .map_err(|e: SecretError| (format!("auth.{key}"), e.to_string()))
        };
        Ok(match config {
            AuthConfig::None => Self::None,
            AuthConfig::ApiKey {
                location,
                name,
                key,
            } => {
                let value = secret("key", key)?;
                match location {
                    ApiKeyLocation::Header => Self::Header {
                        name: name.clone(),
                        value: sensitive(value.expose_secret())
                            .map_err(|m| ("auth.key".to_owned(), m))?,
                    },
                    ApiKeyLocation::Query => Self::Query {
                        name: name.clone(),
                        value,
                    },
                }
            }
            AuthConfig::Basic { username, password } => Self::Basic {
                username: username.clone(),
                password: secret("password", password)?,
            },
            AuthConfig::Bearer { token } => Self::Header {
                name: "authorization".into(),
                value: sensitive(&format!(
                    "Bearer {}",
                    secret("token", token)?.expose_secret()
                ))
                .map_err(|m| ("auth.token".to_owned(), m))?,
            },
            AuthConfig::Oauth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scopes,
                refresh_before_secs,
            } => Self::OAuth2(OAuth2 {
                token_url: base_url
                    .join(token_url)
                    .map_err(|e| ("auth.token_url".to_owned(), e.to_string()))?,
                client_id: client_id.clone(),
                client_secret: secret("client_secret", client_secret)?,
                scopes: scopes.clone(),
                refresh_before: Duration::from_secs(*refresh_before_secs),
                cached: Mutex::new(None),
            }),
        })
    }

    /// The query parameter that carries a secret, for redaction.
    pub fn secret_param(&self) -> Option<&str> {
        match self {
            Self::Query { name, .. } => Some(name),
            _ => None,
        }
    }

    pub async fn apply(
        &self,
        http: &Client,
        request: RequestBuilder,
    ) -> Result<RequestBuilder, TokenError> {
        Ok(match self {
            Self::None => request,
            Self::Header { name, value } => request.header(name.as_str(), value.clone()),
            Self::Basic { username, password } => {
                request.basic_auth(username, Some(password.expose_secret()))
            }
            Self::Query { name, value } => request.query(&[(name.as_str(), value.expose_secret())]),
            Self::OAuth2(oauth) => request.header("authorization", oauth.token(http).await?),
        })
    }

    /// Forgets a cached token after the source rejected it; `true` if there
    /// was one, i.e. retrying with a fresh token makes sense.
    pub async fn invalidate(&self) -> bool {
        match self {
            Self::OAuth2(oauth) => oauth.cached.lock().await.take().is_some(),
            _ => false,
        }
    }
}

/// Why no OAuth2 token could be had, and whether asking again may help:
/// yes when the token endpoint was unreachable, slow, overloaded or
/// garbled; no when it refused the client (wrong id or secret, no access).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TokenError {
    pub message: String,
    pub transient: bool,
}

impl TokenError {
    fn transient(message: String) -> Self {
        Self {
            message,
            transient: true,
        }
    }

    fn refused(message: String) -> Self {
        Self {
            message,
            transient: false,
        }
    }
}

impl OAuth2 {
    async fn token(&self, http: &Client) -> Result<HeaderValue, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, refresh_at)) = cached.as_ref()
            && Instant::now() < *refresh_at
        {
            return Ok(token.clone());
        }
        let mut form = vec![("grant_type", "client_credentials".to_owned())];
        if !self.scopes.is_empty() {
            form.push(("scope", self.scopes.join(" ")));
        }
        let response = http
            .post(self.token_url.clone())
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                TokenError::transient(format!("POST {}: {}", self.token_url, e.without_url()))
            })?;
        let status = response.status();
        if !status.is_success() {
            let message = format!("POST {}: HTTP {status}", self.token_url);
            let transient = status.is_server_error() || matches!(status.as_u16(), 408 | 425 | 429);
            return Err(TokenError { message, transient });
        }
        let body: TokenResponse = response.json().await.map_err(|e| {
            TokenError::transient(format!(
                "POST {}: unreadable token response: {}",
                self.token_url,
                e.without_url()
            ))
        })?;
        let lifetime = Duration::from_secs(body.expires_in.unwrap_or(3600));
        let refresh_at = Instant::now() + lifetime.saturating_sub(self.refresh_before);
        let token = sensitive(&format!("Bearer {}", body.access_token)).map_err(|m| {
            TokenError::refused(format!("POST {}: the access token {m}", self.token_url))
        })?;
        *cached = Some((token.clone(), refresh_at));
        Ok(token)
    }
}
