//! Mapping files: which raw stream becomes which canonical entity, and
//! where in the raw record each canonical field is found.
//!
//! ```toml
//! [[mappings]]
//! source = "finance"
//! stream = "suppliers"
//! entity = "supplier"
//! version = 1
//! modified_at = { from = "/modifiedAt", format = "rfc3339" }
//! fields.name = "/Name"                                   # a JSON pointer
//! fields.email = { from = "/Email" }                      # the same, long form
//! ```
//!
//! Composite fields name their parts: money `{ amount, currency }`,
//! quantities `{ value, unit }`, lists `{ from, fields = { … } }` with item
//! pointers relative to the item. What a field *means* (a name is trimmed,
//! an e-mail lower-cased…) is the entity's code, not configuration.

use std::collections::BTreeMap;

use canonflow_common::time::TimestampFormat;
use chrono_tz::Tz;
use serde::Deserialize;

/// One mapping file: any number of `[[mappings]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    #[serde(default)]
    pub mappings: Vec<MappingConfig>,
    #[serde(default)]
    pub enrichments: Vec<EnrichmentConfig>,
}

/// A canonical field filled from a reference entity, e.g. a worker's
/// cost-center name from the finance system's cost center:
///
/// ```toml
/// [[enrichments]]
/// entity = "worker"
/// field = "cost_center_name"
/// precedence = ["finance", "hr"]
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrichmentConfig {
    pub entity: String,
    pub field: String,
    /// Sources in order of trust: the first with a value wins the field.
    /// Unlisted sources come after the listed ones.
    #[serde(default)]
    pub precedence: Vec<String>,
}

/// How one (source, stream) becomes one canonical entity type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    pub source: String,
    pub stream: String,
    /// `worker`, `organization`, `cost_center`, `supplier` or `invoice`.
    pub entity: String,
    /// Raised whenever the mapping changes what it produces; canonical
    /// records carry it, and a replay with a higher version wins.
    pub version: i32,
    /// The source's modified-at: the first part of the entity's version.
    #[serde(default)]
    pub modified_at: Option<TimestampField>,
    /// Where the source says a record is deleted.
    #[serde(default)]
    pub deleted: Option<DeletedField>,
    /// Canonical attribute name → where it comes from.
    pub fields: FieldMap,
}

pub type FieldMap = BTreeMap<String, FieldSource>;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimestampField {
    pub from: String,
    pub format: TimestampFormat,
    /// For `naive` timestamps: the zone they are local to (default UTC).
    #[serde(default)]
    pub zone: Option<Tz>,
}

/// A boolean field (`values` empty), or a field whose value is one of
/// `values` (compared case-insensitively) when the record is deleted.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletedField {
    pub from: String,
    #[serde(default)]
    pub values: Vec<String>,
}

/// Where one canonical field comes from: a JSON pointer, or a table.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FieldSource {
    Pointer(String),
    Table(FieldTable),
}

/// The long form; which keys apply depends on the field's type, checked
/// against the entity's schema when the file is loaded.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldTable {
    /// Scalars and lists: the value's pointer.
    pub from: Option<String>,
    /// Money: the amount's pointer…
    pub amount: Option<String>,
    /// …and the currency code's (optional where the entity supplies one).
    pub currency: Option<String>,
    /// Quantities: the number's pointer…
    pub value: Option<String>,
    /// …and the unit's.
    pub unit: Option<String>,
    /// Lists of records: each item field's source, relative to the item.
    pub fields: Option<FieldMap>,
}

impl FieldSource {
    pub fn table(&self) -> FieldTable {
        match self {
            Self::Pointer(pointer) => FieldTable {
                from: Some(pointer.clone()),
                ..FieldTable::default()
            },
            Self::Table(table) => table.clone(),
        }
    }
}
