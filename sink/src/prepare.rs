//! Turning gathered canonical records into a batch ready to write: each
//! record decoded as an entity of its topic's type (or a dead letter),
//! reduced to the newest version per key, and rendered as the rows of its
//! table — upserts, hard deletes, tombstones — with the offsets to commit
//! once the batch is in PostgreSQL.
//!
//! Pure CPU work on the consuming side, so that it overlaps the previous
//! batch's write; it never touches the database or the consumer.

use std::collections::{BTreeMap, HashMap};

use canonflow_canonical::entities::Attributes;
use canonflow_canonical::wire::{self, WireError};
use canonflow_canonical::{Canonical, Catalog};
use rdkafka::Message;
use rdkafka::message::OwnedMessage;

use crate::Error;
use crate::columns::Row;
use crate::tables::{Coordinates, Table, row, row_json, tombstone};

/// JSON rows with the index of their record in the batch.
pub type JsonRows = Vec<(usize, String)>;

/// One table's share of a batch.
#[derive(Debug, Default)]
pub struct TableBatch {
    pub upserts: Vec<(usize, Row)>,
    /// Deleted versions of entities configured for hard delete.
    pub deletes: JsonRows,
    pub tombstones: JsonRows,
}

/// A record that goes to the dead-letter topic instead of a table.
#[derive(Debug)]
pub struct DeadLetter {
    pub index: usize,
    pub error: String,
}

/// A batch ready to write.
#[derive(Debug)]
pub struct Batch {
    /// The records as consumed: dead letters are published from them.
    pub messages: Vec<OwnedMessage>,
    /// Rows per canonical topic.
    pub tables: BTreeMap<String, TableBatch>,
    pub dead: Vec<DeadLetter>,
    /// Older versions of a key in the same batch, dropped before writing.
    pub superseded: u64,
    /// The group's rebalance count when the batch was gathered: after
    /// another rebalance its partitions may belong to another copy, so it
    /// is written but its offsets are not committed.
    pub generation: u64,
}

impl Batch {
    /// The offset after each partition's last record.
    pub fn next_offsets(&self) -> BTreeMap<(&str, i32), i64> {
        let mut next = BTreeMap::new();
        for m in &self.messages {
            let entry = next.entry((m.topic(), m.partition())).or_insert(0);
            *entry = (*entry).max(m.offset() + 1);
        }
        next
    }
}

/// Decodes `messages` into a batch; a record under a schema id the sink
/// does not know stops it (its tables could not hold the fields).
pub fn prepare(
    messages: Vec<OwnedMessage>,
    generation: u64,
    catalog: &Catalog,
    tables: &HashMap<String, Table>,
) -> Result<Batch, Error> {
    let mut entities = Vec::with_capacity(messages.len());
    let mut buried: HashMap<uuid::Uuid, (usize, Coordinates)> = HashMap::new();
    let mut dead = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let table = &tables[message.topic()];
        match decode(message, table, catalog) {
            Ok(Decoded::Entity(entity)) => entities.push((index, entity)),
            Ok(Decoded::Tombstone(id)) => {
                // Only the last tombstone of an id in the batch matters.
                buried.insert(id, (index, coordinates(message)));
            }
            Err(Refused::Invalid(error)) => dead.push(DeadLetter { index, error }),
            Err(Refused::UnknownSchema(id)) => {
                return Err(Error::UnknownSchema {
                    id,
                    topic: message.topic().to_owned(),
                    entity: table.kind,
                    fields: "a newer transformer wrote fields these tables cannot hold".into(),
                });
            }
        }
    }
    let (newest, superseded) = newest_per_key(entities);
    let mut by_table: BTreeMap<String, TableBatch> = BTreeMap::new();
    for (index, entity) in &newest {
        let message = &messages[*index];
        let rows = by_table.entry(message.topic().to_owned()).or_default();
        let table = &tables[message.topic()];
        let at = coordinates(message);
        if entity.deleted && table.hard_delete {
            rows.deletes.push((*index, row_json(table, entity, &at)));
        } else {
            rows.upserts.push((*index, row(entity, &at)));
        }
    }
    let mut tombstones: Vec<_> = buried.into_iter().collect();
    tombstones.sort_unstable_by_key(|(id, _)| *id);
    for (id, (index, at)) in tombstones {
        let rows = by_table.entry(at.topic.clone()).or_default();
        rows.tombstones.push((index, tombstone(&id, &at)));
    }
    Ok(Batch {
        messages,
        tables: by_table,
        dead,
        superseded,
        generation,
    })
}

#[allow(
    clippy::large_enum_variant,
    reason = "short-lived, never stored: boxing would add an allocation per record"
)]
enum Decoded {
    Entity(Canonical<Attributes>),
    /// A record without a value: delete the entity its key names.
    Tombstone(uuid::Uuid),
}

enum Refused {
    Invalid(String),
    UnknownSchema(u32),
}

fn decode(message: &OwnedMessage, table: &Table, catalog: &Catalog) -> Result<Decoded, Refused> {
    let Some(payload) = message.payload() else {
        let key = message
            .key()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        return uuid::Uuid::parse_str(&key)
            .map(Decoded::Tombstone)
            .map_err(|_| {
                Refused::Invalid(format!(
                    "a tombstone whose key {key:?} is not a canonical id (a UUID)"
                ))
            });
    };
    match wire::decode_any(catalog, payload) {
        Ok(entity) if entity.attributes.kind() == table.kind => Ok(Decoded::Entity(entity)),
        Ok(entity) => Err(Refused::Invalid(format!(
            "a {} entity on the {} topic",
            entity.attributes.kind(),
            table.kind
        ))),
        Err(WireError::UnknownSchema(id)) => Err(Refused::UnknownSchema(id)),
        Err(e) => Err(Refused::Invalid(e.to_string())),
    }
}

fn coordinates(message: &OwnedMessage) -> Coordinates {
    Coordinates {
        topic: message.topic().to_owned(),
        partition: message.partition(),
        offset: message.offset(),
    }
}

/// Entities with the index of their record in the batch.
type Indexed = Vec<(usize, Canonical<Attributes>)>;

/// The newest version of each key, in key order (so that batches written
/// at once lock their rows in one order and cannot deadlock); returns them
/// and how many were older.
fn newest_per_key(entities: Indexed) -> (Indexed, u64) {
    let total = entities.len();
    let mut keep = vec![false; total];
    {
        let mut newest: HashMap<Key<'_>, usize> = HashMap::with_capacity(total);
        for (at, (_, entity)) in entities.iter().enumerate() {
            let known = newest.entry(key(entity)).or_insert(at);
            if entities[*known].1.version.ordering_key() < entity.version.ordering_key() {
                *known = at;
            }
        }
        for at in newest.into_values() {
            keep[at] = true;
        }
    }
    let mut kept: Indexed = entities
        .into_iter()
        .zip(keep)
        .filter_map(|(entity, keep)| keep.then_some(entity))
        .collect();
    kept.sort_unstable_by(|(_, a), (_, b)| key(a).cmp(&key(b)));
    let superseded = (total - kept.len()) as u64;
    (kept, superseded)
}

/// An entity's primary key: (source, stream, source id).
type Key<'a> = (&'a str, &'a str, &'a str);

fn key(entity: &Canonical<Attributes>) -> Key<'_> {
    (&entity.source, &entity.stream, &entity.source_id)
}

#[cfg(test)]
mod tests {
    use canonflow_canonical::{SourceVersion, SupplierAttributes};

    use super::*;

    fn supplier(id: &str, raw_offset: i64) -> Canonical<Attributes> {
        Canonical {
            canonical_id: String::new(),
            source: "finance".into(),
            stream: "suppliers".into(),
            source_id: id.into(),
            version: SourceVersion {
                modified_at: None,
                raw_topic: "raw".into(),
                raw_partition: 0,
                raw_offset,
                reference_modified_at: None,
                mapping_version: 1,
            },
            deleted: false,
            attributes: Attributes::Supplier(SupplierAttributes {
                name: format!("{id} at {raw_offset}"),
                country: None,
                vat_number: None,
                email: None,
            }),
            provenance: canonflow_canonical::Provenance::default(),
        }
    }

    #[test]
    fn the_newest_version_of_each_key_is_kept_in_key_order() {
        let arrived = [
            ("S3", 5),
            ("S1", 7),
            ("S3", 9),
            ("S2", 4),
            ("S1", 6),
            ("S2", 4),
        ];
        let entities = arrived
            .iter()
            .enumerate()
            .map(|(index, (id, offset))| (index, supplier(id, *offset)))
            .collect();
        let (kept, superseded) = newest_per_key(entities);
        let kept: Vec<_> = kept
            .iter()
            .map(|(index, e)| (*index, e.source_id.as_str(), e.version.raw_offset))
            .collect();
        // S2's two equal versions: the first delivered stays.
        assert_eq!(kept, [(1, "S1", 7), (3, "S2", 4), (2, "S3", 9)]);
        assert_eq!(superseded, 3);
    }
}
