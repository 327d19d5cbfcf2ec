//! The canonical tables (`migrations/`) as the sink writes them: each
//! entity's columns, an entity as a row, and the one upsert statement per
//! table that applies a whole batch.
//!
//! Upserted rows go to PostgreSQL as one typed array per column, unpacked
//! by `unnest` (`columns`); deletes and tombstones, which are rare, as one
//! JSON array unpacked by `json_to_recordset`. Every statement applies a
//! row only where the stored version is older than the incoming one, so
//! that replays, redeliveries and reordering converge on the newest
//! version.

use canonflow_canonical::entities::Attributes;
use canonflow_canonical::{Canonical, EntityKind};
use serde_json::json;

use crate::columns::{self, Cell, Column, Row};

/// Columns every table has, in order, with their SQL types.
const ENVELOPE: &[(&str, &str)] = &[
    ("source", "text"),
    ("stream", "text"),
    ("source_id", "text"),
    ("canonical_id", "uuid"),
    ("modified_at", "timestamptz"),
    ("raw_topic", "text"),
    ("raw_partition", "integer"),
    ("raw_offset", "bigint"),
    ("reference_modified_at", "timestamptz"),
    ("mapping_version", "integer"),
    ("deleted", "boolean"),
];

/// Columns after the attributes.
const TRAILER: &[(&str, &str)] = &[
    ("provenance", "jsonb"),
    ("kafka_topic", "text"),
    ("kafka_partition", "integer"),
    ("kafka_offset", "bigint"),
];

/// One entity's table.
#[derive(Debug, Clone)]
pub struct Table {
    pub kind: EntityKind,
    pub name: String,
    /// Every column the sink writes, in row order.
    pub columns: Vec<Column>,
    /// `INSERT … ON CONFLICT … DO UPDATE … WHERE older` for rows bound as
    /// one array per column.
    pub upsert: String,
    /// Whether entities flagged deleted are removed (else kept, flagged).
    pub hard_delete: bool,
    /// `DELETE … WHERE older` for a JSON array of rows (keys and versions).
    pub delete: String,
    /// What a tombstone does: flag the row deleted, or (with `hard_delete`)
    /// remove it — for a JSON array of [`tombstone`] rows.
    pub tombstone: String,
}

/// The attribute columns of `kind`, with SQL types, as in the migrations.
pub fn attribute_columns(kind: EntityKind) -> &'static [(&'static str, &'static str)] {
    match kind {
        EntityKind::Worker => &[
            ("employee_number", "bigint"),
            ("first_name", "text"),
            ("last_name", "text"),
            ("email", "text"),
            ("hire_date", "date"),
            ("termination_date", "date"),
            ("organization_id", "text"),
            ("cost_center_code", "text"),
            ("cost_center_name", "text"),
            ("salary_minor", "bigint"),
            ("salary_currency", "char(3)"),
            ("work_country", "char(2)"),
            ("work_city", "text"),
            ("fte", "double precision"),
        ],
        EntityKind::Organization => &[
            ("name", "text"),
            ("parent_id", "text"),
            ("cost_centers", "jsonb"),
        ],
        EntityKind::CostCenter => &[
            ("code", "text"),
            ("name", "text"),
            ("company_code", "text"),
            ("currency", "char(3)"),
            ("valid_from", "date"),
        ],
        EntityKind::Supplier => &[
            ("name", "text"),
            ("country", "char(2)"),
            ("vat_number", "text"),
            ("email", "text"),
        ],
        EntityKind::Invoice => &[
            ("supplier_id", "text"),
            ("cost_center_code", "text"),
            ("amount_minor", "bigint"),
            ("currency", "char(3)"),
            ("invoice_date", "date"),
            ("due_date", "date"),
            ("status", "text"),
            ("lines", "jsonb"),
        ],
    }
}

/// Every column of `kind`'s table the sink writes, in order.
pub fn columns(kind: EntityKind) -> Vec<&'static str> {
    ENVELOPE
        .iter()
        .chain(attribute_columns(kind))
        .chain(TRAILER)
        .map(|(name, _)| *name)
        .collect()
}

/// The version comparison, null first, on a row alias.
fn version(row: &str) -> String {
    format!(
        "(coalesce({row}.modified_at, '-infinity'::timestamptz), {row}.raw_offset, \
         coalesce({row}.reference_modified_at, '-infinity'::timestamptz), {row}.mapping_version)"
    )
}

impl Table {
    /// The table of `kind`: `canonflow_<entity>`; with `hard_delete`,
    /// deletes and tombstones remove rows instead of flagging them.
    pub fn new(kind: EntityKind, hard_delete: bool) -> Self {
        let name = format!("canonflow_{}", kind.name());
        let columns: Vec<Column> = ENVELOPE
            .iter()
            .chain(attribute_columns(kind))
            .chain(TRAILER)
            .copied()
            .collect();
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let arrays: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, (_, t))| columns::unnest_argument(i + 1, t))
            .collect();
        let updates: Vec<String> = names
            .iter()
            .filter(|n| !matches!(**n, "source" | "stream" | "source_id"))
            .map(|n| format!("{n} = excluded.{n}"))
            .collect();
        let upsert = format!(
            "insert into {name} as t ({cols}) \
             select {cols} from unnest({arrays}) as r({cols}) \
             on conflict (source, stream, source_id) do update set {updates}, updated_at = now() \
             where {stored} < {incoming} \
             returning (xmax = 0) as inserted",
            cols = names.join(", "),
            arrays = arrays.join(", "),
            updates = updates.join(", "),
            stored = version("t"),
            incoming = version("excluded"),
        );
        let delete = format!(
            "delete from {name} as t using json_to_recordset($1::json) as r(source text, stream text, \
             source_id text, modified_at timestamptz, raw_offset bigint, reference_modified_at timestamptz, \
             mapping_version integer) \
             where t.source = r.source and t.stream = r.stream and t.source_id = r.source_id \
             and {stored} < {incoming}",
            stored = version("t"),
            incoming = version("r"),
        );
        Self {
            kind,
            tombstone: tombstone_statement(&name, hard_delete),
            name,
            columns,
            upsert,
            hard_delete,
            delete,
        }
    }
}

/// A tombstone (a record without a value, keyed by canonical id) carries
/// no source version, so it is guarded by its place in the log instead: it
/// applies only to a row last written by an earlier record of the same
/// topic partition — every record of one canonical id is in one partition,
/// in order — so a replay re-applies it exactly where it was, and a newer
/// version written after it is never deleted by it.
fn tombstone_statement(table: &str, hard_delete: bool) -> String {
    let from = "json_to_recordset($1::json) as r(canonical_id uuid, kafka_topic text, \
                kafka_partition integer, kafka_offset bigint)";
    let guard = "t.canonical_id = r.canonical_id and t.kafka_topic = r.kafka_topic \
                 and t.kafka_partition = r.kafka_partition and t.kafka_offset < r.kafka_offset";
    if hard_delete {
        format!("delete from {table} as t using {from} where {guard}")
    } else {
        format!(
            "update {table} as t set deleted = true, kafka_topic = r.kafka_topic, \
             kafka_partition = r.kafka_partition, kafka_offset = r.kafka_offset, updated_at = now() \
             from {from} where {guard}"
        )
    }
}

/// A tombstone as a row for [`Table::tombstone`].
pub fn tombstone(canonical_id: &uuid::Uuid, at: &Coordinates) -> String {
    json!({
        "canonical_id": canonical_id,
        "kafka_topic": at.topic,
        "kafka_partition": at.partition,
        "kafka_offset": at.offset,
    })
    .to_string()
}

/// Where a canonical record was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinates {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// An entity as a row of its table, in [`Table::columns`] order.
pub fn row(entity: &Canonical<Attributes>, at: &Coordinates) -> Row {
    let v = &entity.version;
    let text = |value: &str| Cell::Text(Some(value.to_owned()));
    let mut row = vec![
        text(&entity.source),
        text(&entity.stream),
        text(&entity.source_id),
        text(&entity.canonical_id),
        Cell::Time(v.modified_at),
        text(&v.raw_topic),
        Cell::Int(v.raw_partition),
        Cell::BigInt(Some(v.raw_offset)),
        Cell::Time(v.reference_modified_at),
        Cell::Int(v.mapping_version),
        Cell::Bool(entity.deleted),
    ];
    attributes(&entity.attributes, &mut row);
    row.extend([
        json_cell(&entity.provenance),
        text(&at.topic),
        Cell::Int(at.partition),
        Cell::BigInt(Some(at.offset)),
    ]);
    row
}

/// An entity as a row of its table, as one JSON object keyed by column
/// name (for `json_to_recordset`).
pub fn row_json(table: &Table, entity: &Canonical<Attributes>, at: &Coordinates) -> String {
    columns::to_json(&table.columns, &row(entity, at))
}

/// A `jsonb` cell, serialized straight to text (no intermediate value).
/// Serializing these types cannot fail; if it ever did, the empty text
/// would make PostgreSQL refuse the row, a dead letter rather than a panic.
fn json_cell(value: &impl serde::Serialize) -> Cell {
    Cell::Json(serde_json::to_string(value).unwrap_or_default())
}

fn attributes(attributes: &Attributes, row: &mut Row) {
    let text = |value: &Option<String>| Cell::Text(value.clone());
    let name = |value: &str| Cell::Text(Some(value.to_owned()));
    let cells = match attributes {
        Attributes::Worker(w) => vec![
            Cell::BigInt(w.employee_number),
            name(&w.first_name),
            name(&w.last_name),
            text(&w.email),
            Cell::Date(w.hire_date),
            Cell::Date(w.termination_date),
            text(&w.organization_id),
            text(&w.cost_center_code),
            text(&w.cost_center_name),
            Cell::BigInt(w.salary.as_ref().map(|s| s.amount_minor)),
            Cell::Text(w.salary.as_ref().map(|s| s.currency.clone())),
            text(&w.work_country),
            text(&w.work_city),
            Cell::Float(w.fte),
        ],
        Attributes::Organization(o) => vec![
            name(&o.name),
            text(&o.parent_id),
            json_cell(&o.cost_centers),
        ],
        Attributes::CostCenter(c) => vec![
            name(&c.code),
            name(&c.name),
            text(&c.company_code),
            text(&c.currency),
            Cell::Date(c.valid_from),
        ],
        Attributes::Supplier(s) => vec![
            name(&s.name),
            text(&s.country),
            text(&s.vat_number),
            text(&s.email),
        ],
        Attributes::Invoice(i) => vec![
            name(&i.supplier_id),
            text(&i.cost_center_code),
            Cell::BigInt(Some(i.amount.amount_minor)),
            name(&i.amount.currency),
            Cell::Date(Some(i.invoice_date)),
            Cell::Date(i.due_date),
            Cell::Text(json!(i.status).as_str().map(str::to_owned)),
            json_cell(&i.lines),
        ],
    };
    row.extend(cells);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_writes_its_envelope_attributes_and_trailer() {
        for kind in EntityKind::ALL {
            let table = Table::new(kind, false);
            assert!(
                table
                    .upsert
                    .starts_with(&format!("insert into canonflow_{} as t", kind.name()))
            );
            for (column, _) in ENVELOPE
                .iter()
                .chain(attribute_columns(kind))
                .chain(TRAILER)
            {
                assert!(table.upsert.contains(column), "{kind}: {column}");
            }
            assert!(
                !table.upsert.contains("source = excluded"),
                "the key is never updated"
            );
        }
    }
}
