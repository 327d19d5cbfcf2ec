//! Production schema ids from a Confluent-compatible schema registry.
//!
//! On start the transformer registers each embedded schema under its
//! canonical topic's subject (`<topic>-value`, Confluent's topic-name
//! strategy) through `schema_registry_converter`. The registry returns the
//! existing id for a schema it already has, assigns a new one for a
//! compatible change, and refuses an incompatible one (HTTP 409) — the
//! compatibility check of schema evolution, decided by the registry.

use std::collections::BTreeMap;
use std::time::Duration;

use canonflow_common::Shutdown;
use canonflow_common::secret::SecretRef;
use schema_registry_converter::async_impl::schema_registry::{
    SrSettings, get_schema_by_id, post_schema,
};
use schema_registry_converter::schema_registry_common::{SchemaType, SuppliedSchema};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::{Catalog, EntityKind, SchemaId};

/// `[…schema_registry]`: where the registry is and how to log in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Base URL, e.g. `https://schema-registry.internal:8081`.
    pub url: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<SecretRef>,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    10
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("schema registry settings: {0}")]
    Settings(String),
    #[error("registering the {entity} schema under subject {subject}: {message}")]
    Register {
        entity: EntityKind,
        subject: String,
        message: String,
        retriable: bool,
    },
    #[error("reading schema id {id} from the schema registry: {message}")]
    Lookup { id: u32, message: String },
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    #[error("stopped before the schema registry answered")]
    Cancelled,
}

impl RegistryError {
    /// Whether trying again later may help (registry unreachable, 5xx).
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            Self::Register {
                retriable: true,
                ..
            }
        )
    }
}

/// The Confluent subject of a topic's record values.
pub fn subject(topic: &str) -> String {
    format!("{topic}-value")
}

/// The catalog a stage writes or reads with: the registry's ids when one is
/// configured (retried with backoff while it is unreachable, for about a
/// minute, or until `shutdown`), else the embedded catalog's.
pub async fn catalog(
    config: Option<&RegistryConfig>,
    topic_of: impl Fn(EntityKind) -> String,
    shutdown: &Shutdown,
) -> Result<Catalog, RegistryError> {
    let Some(config) = config else {
        return Ok(Catalog::embedded()?);
    };
    let mut backoff = Duration::from_millis(500);
    loop {
        match register(config, &topic_of).await {
            Ok(catalog) => {
                tracing::info!(registry = %config.url, ?catalog, "canonical schemas registered");
                return Ok(catalog);
            }
            Err(e) if e.is_retriable() && backoff < Duration::from_secs(30) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "schema registry not ready");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = shutdown.triggered() => return Err(RegistryError::Cancelled),
                }
                backoff *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Registers every embedded schema under the subject of its topic
/// (`topic_of(kind)`) and returns a catalog with the registry's ids.
pub async fn register(
    config: &RegistryConfig,
    topic_of: impl Fn(EntityKind) -> String,
) -> Result<Catalog, RegistryError> {
    let settings = settings(config)?;
    let mut ids: BTreeMap<EntityKind, SchemaId> = BTreeMap::new();
    for kind in EntityKind::ALL {
        let subject = subject(&topic_of(kind));
        let name = format!("canonflow.{}", record_name(kind));
        let schema =
            SuppliedSchema::new(Some(name), SchemaType::Avro, kind.schema_text().to_owned());
        let registered = post_schema(&settings, subject.clone(), schema)
            .await
            .map_err(|e| RegistryError::Register {
                entity: kind,
                subject,
                retriable: e.retriable,
                message: match &e.cause {
                    Some(cause) => format!("{}: {cause}", e.error),
                    None => e.error.clone(),
                },
            })?;
        ids.insert(kind, registered.id);
    }
    Ok(Catalog::with_ids(&ids)?)
}

/// The client settings for `config`.
fn settings(config: &RegistryConfig) -> Result<SrSettings, RegistryError> {
    let mut builder = SrSettings::new_builder(config.url.trim_end_matches('/').to_owned());
    builder.set_timeout(Duration::from_secs(config.timeout_secs));
    if let Some(username) = &config.username {
        let password = match &config.password {
            Some(secret) => Some(
                secret
                    .resolve()
                    .map_err(|e| RegistryError::Settings(e.to_string()))?
                    .expose_secret()
                    .to_owned(),
            ),
            None => None,
        };
        builder.set_basic_authorization(username, password.as_deref());
    }
    builder
        .build()
        .map_err(|e| RegistryError::Settings(e.to_string()))
}

/// The fields of the schema registered under `id` that `kind`'s own schema
/// lacks (`attributes.rating`): what a reader built with this crate could
/// not hold. Empty when the registry's text is not a JSON schema.
pub async fn unknown_fields(
    config: &RegistryConfig,
    id: u32,
    kind: EntityKind,
) -> Result<Vec<String>, RegistryError> {
    let registered = get_schema_by_id(id, &settings(config)?)
        .await
        .map_err(|e| RegistryError::Lookup {
            id,
            message: e.error,
        })?;
    Ok(crate::fields::missing(&registered.schema, kind.schema_text()).unwrap_or_default())
}

fn record_name(kind: EntityKind) -> &'static str {
    use crate::EntityRecord;
    match kind {
        EntityKind::Worker => crate::WorkerAttributes::RECORD,
        EntityKind::Organization => crate::OrganizationAttributes::RECORD,
        EntityKind::CostCenter => crate::CostCenterAttributes::RECORD,
        EntityKind::Supplier => crate::SupplierAttributes::RECORD,
        EntityKind::Invoice => crate::InvoiceAttributes::RECORD,
    }
}
