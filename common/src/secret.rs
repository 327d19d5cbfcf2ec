//! Secrets: named in configuration, read from the environment or a file.
//!
//! A configuration file never holds a secret's value, only where to find it
//! (`{ env = "NAME" }` or `{ file = "/run/secrets/name" }`). Resolved values
//! are [`SecretString`]s, which print as `[REDACTED]`; this module must never
//! log, format or return a secret's value except through `expose_secret`.

use std::path::PathBuf;

pub use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Where a secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum SecretRef {
    /// An environment variable, e.g. `{ env = "KAFKA_PASSWORD" }`.
    Env { env: String },
    /// A file whose content (trailing newline trimmed) is the secret,
    /// e.g. `{ file = "/run/secrets/kafka-password" }`.
    File { file: PathBuf },
}

/// A secret that could not be read; names the reference, never a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable {0} is not set (or not valid UTF-8)")]
    MissingEnv(String),
    #[error("environment variable {0} is empty")]
    EmptyEnv(String),
    #[error("cannot read secret file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("secret file {0} is empty")]
    EmptyFile(PathBuf),
}

impl SecretRef {
    pub fn resolve(&self) -> Result<SecretString, SecretError> {
        match self {
            Self::Env { env } => {
                let value = std::env::var(env).map_err(|_| SecretError::MissingEnv(env.clone()))?;
                if value.is_empty() {
                    return Err(SecretError::EmptyEnv(env.clone()));
                }
                Ok(value.into())
            }
            Self::File { file } => {
                let value = std::fs::read_to_string(file).map_err(|source| SecretError::File {
                    path: file.clone(),
                    source,
                })?;
                let value = value.trim_end_matches(['\r', '\n']);
                if value.is_empty() {
                    return Err(SecretError::EmptyFile(file.clone()));
                }
                Ok(value.to_owned().into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_secret_is_read_trimmed_and_never_printed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "hunter2\n").unwrap();
        let secret = SecretRef::File { file: path }.resolve().unwrap();
        assert_eq!(secret.expose_secret(), "hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn missing_sources_name_the_reference() {
        let env = SecretRef::Env {
            env: "CANONFLOW_TEST_SURELY_UNSET_VAR".into(),
        };
        let err = env.resolve().unwrap_err().to_string();
        assert!(err.contains("CANONFLOW_TEST_SURELY_UNSET_VAR"), "{err}");

        let file = SecretRef::File {
            file: "/nonexistent/secret".into(),
        };
        let err = file.resolve().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/secret"), "{err}");
    }
}
