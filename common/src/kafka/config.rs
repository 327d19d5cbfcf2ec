//! The `[kafka]` configuration section and its validation.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use crate::config::ConfigError;
use crate::secret::SecretRef;

/// `[kafka]`: how to reach the cluster and how clients behave on it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// Prefix of every client id; the stage's name is appended.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    #[serde(default)]
    pub security_protocol: SecurityProtocol,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    #[serde(default)]
    pub sasl: Option<SaslConfig>,
    /// Consumer group session timeout.
    #[serde(default = "default_session_timeout_ms")]
    pub session_timeout_ms: u32,
    /// How long shutdown waits for a client to close before giving up on it.
    #[serde(default = "default_close_timeout_ms")]
    pub close_timeout_ms: u64,
    /// Further librdkafka properties, applied last (an escape hatch for
    /// tuning). Secrets are refused here: use `sasl.password` or
    /// `tls.key_password`, which read from the environment or a file.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityProtocol {
    #[default]
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            Self::Plaintext => "plaintext",
            Self::Ssl => "ssl",
            Self::SaslPlaintext => "sasl_plaintext",
            Self::SaslSsl => "sasl_ssl",
        }
    }

    fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }

    fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }
}

/// `[kafka.tls]`: certificate files for TLS connections.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// CA bundle that signs the brokers' certificates (system store if unset).
    pub ca_location: Option<PathBuf>,
    /// Client certificate and key, for mutual TLS.
    pub certificate_location: Option<PathBuf>,
    pub key_location: Option<PathBuf>,
    pub key_password: Option<SecretRef>,
    /// Check that the broker's certificate names the host we connect to.
    #[serde(default = "yes")]
    pub verify_hostname: bool,
}

/// `[kafka.sasl]`: username and password authentication.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaslConfig {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: SecretRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    pub fn as_librdkafka(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

fn default_client_id() -> String {
    "canonflow".to_owned()
}
fn default_session_timeout_ms() -> u32 {
    45_000
}
fn default_close_timeout_ms() -> u64 {
    10_000
}
fn yes() -> bool {
    true
}

/// Words that mark a librdkafka property as a secret.
const SECRET_MARKERS: [&str; 4] = ["password", "secret", "jaas", "token"];

impl KafkaConfig {
    /// Settings for the local stack and tests; see [`super::local`].
    pub fn local(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            client_id: default_client_id(),
            security_protocol: SecurityProtocol::Plaintext,
            tls: None,
            sasl: None,
            session_timeout_ms: super::local::SESSION_TIMEOUT_MS,
            close_timeout_ms: super::local::CLOSE_TIMEOUT.as_millis() as u64,
            properties: BTreeMap::new(),
        }
    }

    pub fn close_timeout(&self) -> Duration {
        Duration::from_millis(self.close_timeout_ms)
    }

    /// Checks what types alone cannot; errors name the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Value {
            key: format!("kafka.{key}"),
            message,
        };
        if self.bootstrap_servers.trim().is_empty() {
            return Err(invalid(
                "bootstrap_servers",
                "must name at least one host:port".into(),
            ));
        }
        let protocol = self.security_protocol;
        match (&self.sasl, protocol.uses_sasl()) {
            (None, true) => {
                return Err(invalid(
                    "sasl",
                    format!(
                        "security_protocol {} needs a [kafka.sasl] section",
                        protocol.as_librdkafka()
                    ),
                ));
            }
            (Some(_), false) => {
                return Err(invalid(
                    "sasl",
                    "is set but security_protocol is not sasl_plaintext or sasl_ssl".into(),
                ));
            }
            _ => {}
        }
        if self.tls.is_some() && !protocol.uses_tls() {
            return Err(invalid(
                "tls",
                "is set but security_protocol is not ssl or sasl_ssl".into(),
            ));
        }
        if let Some(key) = self.properties.keys().find(|k| {
            let k = k.to_ascii_lowercase();
            SECRET_MARKERS.iter().any(|m| k.contains(m))
        }) {
            return Err(invalid(
                &format!("properties.\"{key}\""),
                "secrets are not accepted as plain properties; use kafka.sasl.password or \
                 kafka.tls.key_password with { env = \"VAR\" } or { file = \"PATH\" }"
                    .into(),
            ));
        }
        Ok(())
    }
}
