//! The Confluent wire format: a zero magic byte, the schema id as four
//! big-endian bytes, then the Avro binary datum. Readers anywhere in the
//! Kafka ecosystem (Kafka Connect, ksqlDB, kcat -s avro) can read it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::catalog::{Catalog, SchemaId};
use crate::entities::Attributes;
use crate::{
    Canonical, CostCenterAttributes, EntityKind, InvoiceAttributes, OrganizationAttributes,
    SupplierAttributes, WorkerAttributes,
};

const MAGIC: u8 = 0;
const HEADER_LEN: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("record of {len} bytes is too short for the Confluent wire format")]
    TooShort { len: usize },
    #[error("magic byte is {0}, expected 0 (not the Confluent wire format)")]
    Magic(u8),
    #[error("schema id {0} is not a canonical entity schema")]
    UnknownSchema(SchemaId),
    #[error("schema id {found} is {kind}, expected {expected}")]
    WrongEntity {
        found: SchemaId,
        kind: EntityKind,
        expected: EntityKind,
    },
    #[error("{entity} does not match its Avro schema: {message}")]
    Avro { entity: EntityKind, message: String },
}

/// `entity` in the wire format under the catalog's id for `kind`.
pub fn encode<A: Serialize>(
    catalog: &Catalog,
    kind: EntityKind,
    entity: &Canonical<A>,
) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(512);
    out.push(MAGIC);
    out.extend_from_slice(&catalog.id(kind).to_be_bytes());
    let mut config = serde_avro_fast::ser::SerializerConfig::new(catalog.compiled(kind));
    crate::form::binary(|| serde_avro_fast::to_datum(entity, out, &mut config)).map_err(|e| {
        WireError::Avro {
            entity: kind,
            message: e.to_string(),
        }
    })
}

/// The schema id and Avro datum of a wire-format record.
pub fn split(bytes: &[u8]) -> Result<(SchemaId, &[u8]), WireError> {
    if bytes.len() < HEADER_LEN {
        return Err(WireError::TooShort { len: bytes.len() });
    }
    let (header, datum) = bytes.split_at(HEADER_LEN);
    if header[0] != MAGIC {
        return Err(WireError::Magic(header[0]));
    }
    let id = SchemaId::from_be_bytes([header[1], header[2], header[3], header[4]]);
    Ok((id, datum))
}

/// The entity type of a wire-format record, from its schema id.
pub fn kind(catalog: &Catalog, bytes: &[u8]) -> Result<EntityKind, WireError> {
    let (id, _) = split(bytes)?;
    catalog.kind_of(id).ok_or(WireError::UnknownSchema(id))
}

/// Decodes a wire-format record that must hold an entity of type `kind`.
pub fn decode<A: DeserializeOwned + crate::EntityRecord>(
    catalog: &Catalog,
    kind: EntityKind,
    bytes: &[u8],
) -> Result<Canonical<A>, WireError> {
    let (id, datum) = split(bytes)?;
    let found = catalog.kind_of(id).ok_or(WireError::UnknownSchema(id))?;
    if found != kind {
        return Err(WireError::WrongEntity {
            found: id,
            kind: found,
            expected: kind,
        });
    }
    crate::form::binary(|| serde_avro_fast::from_datum_slice(datum, catalog.compiled(kind)))
        .map_err(|e| WireError::Avro {
            entity: kind,
            message: e.to_string(),
        })
}

/// Decodes a wire-format record of any canonical entity type.
pub fn decode_any(catalog: &Catalog, bytes: &[u8]) -> Result<Canonical<Attributes>, WireError> {
    let kind = kind(catalog, bytes)?;
    Ok(match kind {
        EntityKind::Worker => {
            decode::<WorkerAttributes>(catalog, kind, bytes)?.map(Attributes::Worker)
        }
        EntityKind::Organization => {
            decode::<OrganizationAttributes>(catalog, kind, bytes)?.map(Attributes::Organization)
        }
        EntityKind::CostCenter => {
            decode::<CostCenterAttributes>(catalog, kind, bytes)?.map(Attributes::CostCenter)
        }
        EntityKind::Supplier => {
            decode::<SupplierAttributes>(catalog, kind, bytes)?.map(Attributes::Supplier)
        }
        EntityKind::Invoice => {
            decode::<InvoiceAttributes>(catalog, kind, bytes)?.map(Attributes::Invoice)
        }
    })
}
