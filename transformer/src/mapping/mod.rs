//! Mappings: each (source, stream) → canonical entity mapping, registered in
//! one table, and the pure function that applies it to a raw record.
//!
//! `map` depends on nothing but the raw record and its metadata (topic,
//! partition, offset, key, headers), so the same raw record always yields the
//! same canonical entity — what makes redelivery and replay harmless. It
//! never panics on data: whatever is wrong with a record is a [`MapError`]
//! naming the JSON pointer, which the caller dead-letters.

pub mod config;
mod entities;
mod json;
mod load;
mod reader;

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use canonflow_canonical::entities::Attributes;
use canonflow_canonical::{Canonical, EntityKind, Origin, Provenance, SourceVersion};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

pub use json::{Json, Key, parse as parse_json};
pub use load::{Field, Fields, Loaded, LoadedDir, MappingConfigError, load_dir, load_file};
pub use reader::{MapError, Reader};

use crate::normalize;

/// A raw record as the transformer received it.
#[derive(Debug, Clone, Copy)]
pub struct RawRecord<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
    /// The `canonflow.source` header.
    pub source: Option<&'a [u8]>,
    /// The `canonflow.stream` header.
    pub stream: Option<&'a [u8]>,
}

/// What became of a raw record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Mapped(Box<Canonical<Attributes>>),
    /// No mapping is configured for the record's stream: not canonical data.
    Unmapped {
        source: String,
        stream: String,
    },
}

/// Every mapping, by (source, stream).
#[derive(Debug, Default)]
pub struct Mappings {
    /// By source, then stream: looked up per record without allocating.
    by_stream: HashMap<String, HashMap<String, Loaded>>,
    max_record_bytes: usize,
    enrichments: Vec<crate::enrich::Rule>,
}

/// Where the "canonical id" UUIDs live: v5 of `canonflow:canonical`,
/// computed once (it is a SHA-1 of its own).
fn namespace() -> &'static Uuid {
    static NAMESPACE: OnceLock<Uuid> = OnceLock::new();
    NAMESPACE.get_or_init(|| Uuid::new_v5(&Uuid::NAMESPACE_URL, b"canonflow:canonical"))
}

/// The canonical id of an entity: the same on every run and machine.
pub fn canonical_id(kind: EntityKind, source: &str, stream: &str, source_id: &str) -> Uuid {
    // Joined by hand, not `format!`: this runs for every record.
    let parts = [kind.name(), source, stream, source_id];
    let mut name = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            name.push('/');
        }
        name.push_str(part);
    }
    Uuid::new_v5(namespace(), name.as_bytes())
}

/// [`canonical_id`] as the envelope holds it: hyphenated, lower case.
fn canonical_id_text(kind: EntityKind, source: &str, stream: &str, source_id: &str) -> String {
    let id = canonical_id(kind, source, stream, source_id);
    id.hyphenated()
        .encode_lower(&mut Uuid::encode_buffer())
        .to_owned()
}

impl Mappings {
    /// Loads every mapping under `dir`; two mappings for one stream are an error.
    pub fn load(dir: &Path, max_record_bytes: usize) -> Result<Self, MappingConfigError> {
        Self::new(load_dir(dir)?, max_record_bytes)
    }

    pub fn new(loaded: LoadedDir, max_record_bytes: usize) -> Result<Self, MappingConfigError> {
        let mut by_stream: HashMap<String, HashMap<String, Loaded>> = HashMap::new();
        for mapping in loaded.mappings {
            let streams = by_stream.entry(mapping.config.source.clone()).or_default();
            if let Some(first) = streams.get(&mapping.config.stream) {
                return Err(MappingConfigError::Invalid {
                    file: mapping.file.clone(),
                    mapping: format!("{}/{}", mapping.config.source, mapping.config.stream),
                    key: "stream".into(),
                    message: format!("already mapped in {}", first.file.display()),
                });
            }
            streams.insert(mapping.config.stream.clone(), mapping);
        }
        Ok(Self {
            by_stream,
            max_record_bytes,
            enrichments: loaded.enrichments,
        })
    }

    pub fn len(&self) -> usize {
        self.by_stream.values().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The mapping of `source`/`stream`, if mapped.
    fn get(&self, source: &str, stream: &str) -> Option<&Loaded> {
        self.by_stream.get(source)?.get(stream)
    }

    /// The declared enrichments.
    pub fn enrichments(&self) -> &[crate::enrich::Rule] {
        &self.enrichments
    }

    /// The entity types some mapping produces.
    pub fn entities(&self) -> Vec<EntityKind> {
        let mut kinds: Vec<_> = self
            .by_stream
            .values()
            .flat_map(HashMap::values)
            .map(|m| m.entity)
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// The mapping version that applies to `source`/`stream`, if mapped.
    pub fn version_of(&self, source: &str, stream: &str) -> Option<i32> {
        self.get(source, stream).map(|m| m.config.version)
    }

    /// Maps one raw record.
    pub fn map(&self, raw: &RawRecord<'_>) -> Result<Outcome, MapError> {
        self.map_observed(raw, &mut |_, _, _| {})
    }

    /// [`map`](Self::map), showing the parsed payload to `observe` (with
    /// source and stream) before mapping it, so that a watcher of the raw
    /// records' shape needs no parse of its own. Not called for records of
    /// unmapped streams or payloads that are not acceptable JSON.
    pub fn map_observed(
        &self,
        raw: &RawRecord<'_>,
        observe: &mut dyn FnMut(&str, &str, &Json<'_>),
    ) -> Result<Outcome, MapError> {
        let source = header_text(raw.source, "canonflow.source")?;
        let stream = header_text(raw.stream, "canonflow.stream")?;
        let Some(mapping) = self.get(source, stream) else {
            return Ok(Outcome::Unmapped {
                source: source.to_owned(),
                stream: stream.to_owned(),
            });
        };
        let source_id = source_id(raw.key, source, stream)?;
        let payload = raw
            .payload
            .ok_or_else(|| MapError::new("", "the raw record has no payload (a tombstone)"))?;
        if payload.len() > self.max_record_bytes {
            return Err(MapError::new(
                "",
                format!(
                    "the raw record is {} bytes, more than the {} allowed (transformer.max_record_bytes)",
                    payload.len(),
                    self.max_record_bytes
                ),
            ));
        }
        let record = json::parse(payload)?;
        observe(source, stream, &record);
        if !record.is_object() {
            return Err(MapError::new("", "the raw record is not a JSON object"));
        }
        let version = mapping.config.version;
        let modified_at = modified_at(&record, mapping)?;
        let deleted = deleted(&record, mapping)?;
        let mut reader = Reader::new(&record, &mapping.fields);
        let attributes = entities::attributes(mapping.entity, &mut reader)?;
        let origin = Origin {
            source: source.to_owned(),
            stream: stream.to_owned(),
            source_id: source_id.to_owned(),
            raw_topic: raw.topic.to_owned(),
            raw_partition: raw.partition,
            raw_offset: raw.offset,
            mapping_version: version,
        };
        Ok(Outcome::Mapped(Box::new(Canonical {
            canonical_id: canonical_id_text(mapping.entity, source, stream, source_id),
            source: source.to_owned(),
            stream: stream.to_owned(),
            source_id: source_id.to_owned(),
            version: SourceVersion {
                modified_at,
                raw_topic: raw.topic.to_owned(),
                raw_partition: raw.partition,
                raw_offset: raw.offset,
                reference_modified_at: None,
                mapping_version: version,
            },
            deleted,
            attributes,
            provenance: Provenance {
                origins: vec![origin],
                fields: reader
                    .into_produced()
                    .into_iter()
                    .map(|f| (f.into(), 0))
                    .collect(),
            },
        })))
    }
}

fn header_text<'a>(value: Option<&'a [u8]>, name: &str) -> Result<&'a str, MapError> {
    let value =
        value.ok_or_else(|| MapError::new("", format!("the raw record has no {name} header")))?;
    std::str::from_utf8(value)
        .map_err(|_| MapError::new("", format!("the {name} header is not UTF-8")))
}

/// The source id from the raw key, `<source>/<stream>/<id>`.
fn source_id<'a>(key: Option<&'a [u8]>, source: &str, stream: &str) -> Result<&'a str, MapError> {
    let key = key.ok_or_else(|| MapError::new("", "the raw record has no key"))?;
    let key = std::str::from_utf8(key)
        .map_err(|_| MapError::new("", "the raw record's key is not UTF-8"))?;
    key.strip_prefix(source)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.strip_prefix(stream))
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            let shown = normalize::Invalid::new("", &Value::String(key.to_owned())).found;
            MapError::new(
                "",
                format!("the raw record's key {shown} is not <source>/<stream>/<id> for {source}/{stream}"),
            )
        })
}

fn modified_at(record: &Json<'_>, mapping: &Loaded) -> Result<Option<DateTime<Utc>>, MapError> {
    let Some(field) = &mapping.config.modified_at else {
        return Ok(None);
    };
    let value = json::at(record, &field.from)
        .filter(|v| !v.is_null())
        .ok_or_else(|| MapError::new(&field.from, "modified_at: required, missing"))?
        .to_value();
    normalize::timestamp(&value, field.format, field.zone.unwrap_or(chrono_tz::UTC))
        .map(Some)
        .map_err(|e| MapError::new(&field.from, format!("modified_at: {e}")))
}

fn deleted(record: &Json<'_>, mapping: &Loaded) -> Result<bool, MapError> {
    let Some(field) = &mapping.config.deleted else {
        return Ok(false);
    };
    let Some(value) = json::at(record, &field.from).filter(|v| !v.is_null()) else {
        return Ok(false);
    };
    if field.values.is_empty() {
        return normalize::boolean(&value.to_value())
            .map_err(|e| MapError::new(&field.from, format!("deleted: {e}")));
    }
    let Json::String(text) = value else {
        return Ok(false);
    };
    Ok(field
        .values
        .iter()
        .any(|v| v.eq_ignore_ascii_case(text.trim())))
}
