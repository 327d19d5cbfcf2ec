//! Layered configuration: one TOML file per deployment, then environment
//! overrides, validated at start-up.
//!
//! The file (e.g. `config/local.toml`) holds every section a deployment needs:
//! the shared ones (`kafka`, `topics`, `postgres`, `telemetry`) and one per
//! stage (`fetcher`, `transformer`, `sink`). Any key can be overridden by an
//! environment variable `CANONFLOW__SECTION__KEY` (double underscores separate
//! levels), e.g. `CANONFLOW__KAFKA__BOOTSTRAP_SERVERS=broker:9092`. Unknown
//! keys are errors that name the key and where it came from (file or
//! variable). This module must never read secrets' values: see [`crate::secret`].

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Classify, ErrorClass};
use crate::kafka::KafkaConfig;
use crate::postgres::PostgresConfig;
use crate::secret::SecretError;
use crate::telemetry::TelemetryConfig;
use crate::topics::Topics;

/// Prefix of environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "CANONFLOW__";

/// Configuration that cannot be used; always fatal, always names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    /// Figment's message names the key, what was expected and the source.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error("configuration key {key}: {source}")]
    Secret { key: String, source: SecretError },
    #[error("configuration key {key}: {message}")]
    Value { key: String, message: String },
}

impl Classify for ConfigError {
    fn class(&self) -> ErrorClass {
        ErrorClass::Fatal
    }
}

impl From<figment::Error> for ConfigError {
    fn from(error: figment::Error) -> Self {
        // A figment error may carry several; report them all, one per line,
        // naming the exact variable when the value came from the environment.
        let all: Vec<String> = error
            .into_iter()
            .map(|e| {
                let from_env = e
                    .metadata
                    .as_ref()
                    .is_some_and(|m| m.name.contains("environment"));
                match from_env && !e.path.is_empty() {
                    true => format!(
                        "{e} (variable {ENV_PREFIX}{})",
                        e.path.join("__").to_uppercase()
                    ),
                    false => e.to_string(),
                }
            })
            .collect();
        Self::Invalid(all.join("\n  "))
    }
}

/// The sections every process of a deployment shares.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    pub kafka: KafkaConfig,
    #[serde(default)]
    pub topics: Topics,
    #[serde(default)]
    pub postgres: Option<PostgresConfig>,
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    // Stage sections are listed so that the top level rejects unknown keys;
    // each stage validates its own section through `ConfigSource::section`.
    #[serde(default)]
    #[expect(dead_code, reason = "read by the stage through ConfigSource::section")]
    fetcher: Option<figment::value::Value>,
    #[serde(default)]
    #[expect(dead_code, reason = "read by the stage through ConfigSource::section")]
    transformer: Option<figment::value::Value>,
    #[serde(default)]
    #[expect(dead_code, reason = "read by the stage through ConfigSource::section")]
    sink: Option<figment::value::Value>,
}

/// Where configuration comes from: an optional file, then the environment.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    figment: Figment,
}

impl ConfigSource {
    /// Layers the environment over `file`; a named file must exist.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::MissingFile(path.to_owned()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        Ok(Self::from_figment(
            figment.merge(Env::prefixed(ENV_PREFIX).split("__")),
        ))
    }

    /// For tests and embedding: any figment, e.g. built from a string.
    pub fn from_figment(figment: Figment) -> Self {
        Self { figment }
    }

    /// The shared sections, validated.
    pub fn deployment(&self) -> Result<Deployment, ConfigError> {
        let deployment: Deployment = self.figment.extract()?;
        deployment.kafka.validate()?;
        Ok(deployment)
    }

    /// One stage's own section (e.g. `"sink"`), validated by its type.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<T, ConfigError> {
        Ok(self.figment.extract_inner(name)?)
    }

    /// Whether the configuration has a section (or key) `name`.
    pub fn has(&self, name: &str) -> bool {
        self.figment.find_value(name).is_ok()
    }

    /// Like [`section`](Self::section), but an absent section yields the
    /// type's default.
    pub fn section_or_default<T: DeserializeOwned + Default>(
        &self,
        name: &str,
    ) -> Result<T, ConfigError> {
        if !self.has(name) {
            return Ok(T::default());
        }
        self.section(name)
    }
}

/// Every `*.toml` file in `dir`, in name order: the files of a directory of
/// definitions (sources, mappings).
pub fn toml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
#[allow(
    clippy::result_large_err,
    reason = "figment's Jail closures return its large error"
)]
mod tests {
    use super::*;
    use figment::Jail;

    const MINIMAL: &str = r#"
        [kafka]
        bootstrap_servers = "127.0.0.1:9092"
    "#;

    #[derive(Debug, Deserialize, Default, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct StageSection {
        batch_size: u32,
    }

    #[test]
    fn environment_overrides_the_file() {
        Jail::expect_with(|jail| {
            jail.create_file("deploy.toml", MINIMAL)?;
            jail.set_env("CANONFLOW__KAFKA__BOOTSTRAP_SERVERS", "broker:29092");
            jail.set_env("CANONFLOW__SINK__BATCH_SIZE", "500");
            let source = ConfigSource::load(Some(Path::new("deploy.toml"))).unwrap();
            let deployment = source.deployment().unwrap();
            assert_eq!(deployment.kafka.bootstrap_servers, "broker:29092");
            let sink: StageSection = source.section("sink").unwrap();
            assert_eq!(sink.batch_size, 500);
            Ok(())
        });
    }

    #[test]
    fn unknown_key_names_the_key_and_the_file() {
        Jail::expect_with(|jail| {
            jail.create_file("deploy.toml", &format!("{MINIMAL}\nbootstrap = 1\n"))?;
            let source = ConfigSource::load(Some(Path::new("deploy.toml"))).unwrap();
            let err = source.deployment().unwrap_err().to_string();
            assert!(err.contains("bootstrap"), "{err}");
            assert!(err.contains("deploy.toml"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_key_the_file_and_the_expectation() {
        Jail::expect_with(|jail| {
            let text = MINIMAL.replace("[kafka]", "[kafka]\nsession_timeout_ms = \"soon\"");
            jail.create_file("deploy.toml", &text)?;
            let source = ConfigSource::load(Some(Path::new("deploy.toml"))).unwrap();
            let err = source.deployment().unwrap_err().to_string();
            assert!(err.contains("session_timeout_ms"), "{err}");
            assert!(err.contains("deploy.toml"), "{err}");
            assert!(err.contains("soon") || err.contains("integer"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn unknown_environment_key_names_the_variable() {
        Jail::expect_with(|jail| {
            jail.create_file("deploy.toml", MINIMAL)?;
            jail.set_env("CANONFLOW__KAFKA__BOOTSTRAP_SERVRES", "typo:9092");
            let source = ConfigSource::load(Some(Path::new("deploy.toml"))).unwrap();
            let err = source.deployment().unwrap_err().to_string();
            assert!(err.contains("bootstrap_servres"), "{err}");
            assert!(err.contains("CANONFLOW__KAFKA__BOOTSTRAP_SERVRES"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = ConfigSource::load(Some(Path::new("/nonexistent/deploy.toml"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/deploy.toml"));
    }

    #[test]
    fn absent_stage_section_defaults_and_bad_one_is_rejected() {
        Jail::expect_with(|jail| {
            jail.create_file("deploy.toml", MINIMAL)?;
            let source = ConfigSource::load(Some(Path::new("deploy.toml"))).unwrap();
            let sink: StageSection = source.section_or_default("sink").unwrap();
            assert_eq!(sink, StageSection::default());

            jail.set_env("CANONFLOW__SINK__BATCH_SIZ", "5");
            let source = ConfigSource::load(Some(Path::new("deploy.toml"))).unwrap();
            let err = source
                .section::<StageSection>("sink")
                .unwrap_err()
                .to_string();
            assert!(err.contains("batch_siz"), "{err}");
            Ok(())
        });
    }
}
