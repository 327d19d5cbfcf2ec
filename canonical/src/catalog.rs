//! Which Avro schema, under which schema id, each entity type is written
//! with.
//!
//! The schemas are always the ones embedded from `schemas/`. Their ids come
//! from one of two places: the embedded default derives a stable id from
//! each schema's Rabin fingerprint (the same schema text always gets the same
//! id, on every machine, with no server), and production takes the ids a
//! Confluent-compatible schema registry assigned when the schemas were
//! registered ([`Catalog::with_ids`]).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use apache_avro::Schema;
use apache_avro::rabin::Rabin;

use crate::EntityKind;

/// A schema id as in the Confluent wire format.
pub type SchemaId = u32;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("embedded schema schemas/{entity}.avsc does not parse: {message}")]
    Parse { entity: EntityKind, message: String },
    #[error("schemas {first} and {second} were given the same id {id}")]
    DuplicateId {
        id: SchemaId,
        first: EntityKind,
        second: EntityKind,
    },
    #[error("no schema id for {0}")]
    MissingId(EntityKind),
}

/// The parsed embedded schemas, once per process.
fn parsed() -> Result<&'static BTreeMap<EntityKind, Schema>, CatalogError> {
    static PARSED: OnceLock<Result<BTreeMap<EntityKind, Schema>, (EntityKind, String)>> =
        OnceLock::new();
    PARSED
        .get_or_init(|| {
            EntityKind::ALL
                .into_iter()
                .map(|kind| {
                    Schema::parse_str(kind.schema_text())
                        .map(|schema| (kind, schema))
                        .map_err(|e| (kind, e.to_string()))
                })
                .collect()
        })
        .as_ref()
        .map_err(|(entity, message)| CatalogError::Parse {
            entity: *entity,
            message: message.clone(),
        })
}

/// The embedded schema of `kind`.
pub fn schema(kind: EntityKind) -> Result<&'static Schema, CatalogError> {
    parsed()?.get(&kind).ok_or(CatalogError::MissingId(kind))
}

/// The embedded default's id: the low 31 bits of the schema's Rabin
/// fingerprint (CRC-64-AVRO of its parsing canonical form).
pub fn fingerprint_id(schema: &Schema) -> SchemaId {
    let bytes = schema.fingerprint::<Rabin>().bytes;
    let mut low = [0u8; 4];
    for (slot, byte) in low.iter_mut().zip(bytes.iter()) {
        *slot = *byte;
    }
    u32::from_le_bytes(low) & 0x7fff_ffff
}

struct Entry {
    id: SchemaId,
    schema: &'static Schema,
    /// The same schema, compiled for encoding and decoding.
    compiled: serde_avro_fast::Schema,
}

/// Each entity type's schema, id, and the schema compiled for encoding and
/// decoding.
pub struct Catalog {
    entries: BTreeMap<EntityKind, Entry>,
    by_id: BTreeMap<SchemaId, EntityKind>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(kind, entry)| (kind, entry.id)))
            .finish()
    }
}

impl Catalog {
    /// The embedded default: ids from the schemas' fingerprints.
    pub fn embedded() -> Result<Self, CatalogError> {
        let ids = parsed()?
            .iter()
            .map(|(kind, schema)| (*kind, fingerprint_id(schema)))
            .collect();
        Self::with_ids(&ids)
    }

    /// The embedded schemas under ids assigned elsewhere (a schema registry).
    pub fn with_ids(ids: &BTreeMap<EntityKind, SchemaId>) -> Result<Self, CatalogError> {
        let mut entries = BTreeMap::new();
        let mut by_id = BTreeMap::new();
        for kind in EntityKind::ALL {
            let id = *ids.get(&kind).ok_or(CatalogError::MissingId(kind))?;
            if let Some(first) = by_id.insert(id, kind) {
                return Err(CatalogError::DuplicateId {
                    id,
                    first,
                    second: kind,
                });
            }
            let schema = schema(kind)?;
            let compiled = kind
                .schema_text()
                .parse::<serde_avro_fast::Schema>()
                .map_err(|e| CatalogError::Parse {
                    entity: kind,
                    message: e.to_string(),
                })?;
            entries.insert(
                kind,
                Entry {
                    id,
                    schema,
                    compiled,
                },
            );
        }
        Ok(Self { entries, by_id })
    }

    fn entry(&self, kind: EntityKind) -> &Entry {
        // `with_ids` inserted every kind.
        &self.entries[&kind]
    }

    pub fn id(&self, kind: EntityKind) -> SchemaId {
        self.entry(kind).id
    }

    pub fn schema(&self, kind: EntityKind) -> &'static Schema {
        self.entry(kind).schema
    }

    /// The entity type written under `id`, if it is one of ours.
    pub fn kind_of(&self, id: SchemaId) -> Option<EntityKind> {
        self.by_id.get(&id).copied()
    }

    /// The schema of `kind` as the wire format encodes and decodes with it.
    pub(crate) fn compiled(&self, kind: EntityKind) -> &serde_avro_fast::Schema {
        &self.entry(kind).compiled
    }
}
