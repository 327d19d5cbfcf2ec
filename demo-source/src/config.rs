//! The demo source's settings: seed and size of the generated data, the
//! credentials each system accepts, and whether data changes on its own.

use std::time::Duration;

/// How a [`crate::DemoSource`] generates its data and whom it lets in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Seed of every generated record and of the mutation sequence.
    pub seed: u64,
    /// Multiplier of the record counts; 1 is a few thousand records in total.
    pub scale: usize,
    /// OAuth2 client id the HR token endpoint accepts.
    pub hr_client_id: String,
    /// OAuth2 client secret the HR token endpoint accepts.
    pub hr_client_secret: String,
    /// Lifetime of an HR access token.
    pub token_ttl: Duration,
    /// HTTP Basic user of the finance system.
    pub finance_user: String,
    /// HTTP Basic password of the finance system.
    pub finance_password: String,
    /// API key of the ops tickets API (`X-API-Key` header or `api_key` parameter).
    pub ops_api_key: String,
    /// Static bearer token of the ops assets API.
    pub assets_bearer_token: String,
    /// When set, a background task changes a few records at this interval.
    pub mutate_every: Option<Duration>,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            scale: 1,
            hr_client_id: "canonflow".to_owned(),
            hr_client_secret: "hr-secret".to_owned(),
            token_ttl: Duration::from_secs(3600),
            finance_user: "finance".to_owned(),
            finance_password: "finance-secret".to_owned(),
            ops_api_key: "ops-key".to_owned(),
            assets_bearer_token: "assets-token".to_owned(),
            mutate_every: None,
        }
    }
}
