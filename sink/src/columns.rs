//! A table's rows as typed cells, bound to the upsert as one array
//! parameter per column and unpacked by `unnest`, which PostgreSQL reads
//! without parsing. (One JSON document per chunk, unpacked by
//! `json_to_recordset`, cost PostgreSQL ~15 µs per row in parsing alone:
//! `docs/performance.md`.) The same rows render as JSON objects for the
//! rarer hard deletes.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;

/// One value of a row, typed as its column is bound.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// `text`, `char(n)` and `uuid` columns.
    Text(Option<String>),
    /// JSON text, for a `jsonb` column.
    Json(String),
    BigInt(Option<i64>),
    Int(i32),
    Bool(bool),
    Float(Option<f64>),
    Date(Option<NaiveDate>),
    Time(Option<DateTime<Utc>>),
}

/// A row: one cell per column of its table, in the table's column order.
pub type Row = Vec<Cell>;

/// A column with its SQL type, as in the migrations.
pub type Column = (&'static str, &'static str);

impl Cell {
    /// Whether this cell is bound the way a column of `sql_type` is.
    fn fits(&self, sql_type: &str) -> bool {
        match self {
            Self::Text(_) => {
                sql_type == "text" || sql_type == "uuid" || sql_type.starts_with("char(")
            }
            Self::Json(_) => sql_type == "jsonb",
            Self::BigInt(_) => sql_type == "bigint",
            Self::Int(_) => sql_type == "integer",
            Self::Bool(_) => sql_type == "boolean",
            Self::Float(_) => sql_type == "double precision",
            Self::Date(_) => sql_type == "date",
            Self::Time(_) => sql_type == "timestamptz",
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Text(v) => v.as_deref().map_or(Value::Null, Value::from),
            Self::Json(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            Self::BigInt(v) => v.map_or(Value::Null, Value::from),
            Self::Int(v) => Value::from(*v),
            Self::Bool(v) => Value::from(*v),
            Self::Float(v) => v.map_or(Value::Null, Value::from),
            Self::Date(v) => v.map_or(Value::Null, |d| Value::from(d.to_string())),
            Self::Time(v) => v.map_or(Value::Null, |t| Value::from(t.to_rfc3339())),
        }
    }
}

/// The `unnest` argument that binds parameter `n` as a column of
/// `sql_type`: text travels as `text[]` (cast where the column needs it),
/// everything else in its own binary array type.
pub fn unnest_argument(n: usize, sql_type: &str) -> String {
    match sql_type {
        "uuid" | "jsonb" => format!("${n}::text[]::{sql_type}[]"),
        t if t == "text" || t.starts_with("char(") => format!("${n}::text[]"),
        t => format!("${n}::{t}[]"),
    }
}

/// `row` as one JSON object keyed by column name.
pub fn to_json(columns: &[Column], row: &Row) -> String {
    let object: Map<String, Value> = columns
        .iter()
        .zip(row)
        .map(|((name, _), cell)| ((*name).to_owned(), cell.to_json()))
        .collect();
    Value::Object(object).to_string()
}

/// Binds `rows` to `query`, one array per column of `columns`. A cell that
/// does not fit its column is a bug in the row's making: an encode error,
/// which the sink treats as fatal, never a silently wrong value.
pub fn bind<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    columns: &[Column],
    rows: &'q [(usize, Row)],
) -> Result<Query<'q, Postgres, PgArguments>, sqlx::Error> {
    for (at, (name, sql_type)) in columns.iter().enumerate() {
        let misfit = rows
            .iter()
            .find(|(_, row)| !row.get(at).is_some_and(|cell| cell.fits(sql_type)));
        if let Some((index, row)) = misfit {
            return Err(sqlx::Error::Encode(
                format!(
                    "record {index}: column {name} ({sql_type}) was given {:?}",
                    row.get(at)
                )
                .into(),
            ));
        }
        let cells = rows.iter().map(move |(_, row)| &row[at]);
        query = match rows.first().map(|(_, row)| &row[at]) {
            None | Some(Cell::Text(_)) => query.bind(pick(cells, |c| match c {
                Cell::Text(v) => v.as_deref(),
                _ => None,
            })),
            Some(Cell::Json(_)) => query.bind(pick(cells, |c| match c {
                Cell::Json(v) => Some(v.as_str()),
                _ => None,
            })),
            Some(Cell::BigInt(_)) => query.bind(pick(cells, |c| match c {
                Cell::BigInt(v) => *v,
                _ => None,
            })),
            Some(Cell::Int(_)) => query.bind(pick(cells, |c| match c {
                Cell::Int(v) => *v,
                _ => 0,
            })),
            Some(Cell::Bool(_)) => query.bind(pick(cells, |c| matches!(c, Cell::Bool(true)))),
            Some(Cell::Float(_)) => query.bind(pick(cells, |c| match c {
                Cell::Float(v) => *v,
                _ => None,
            })),
            Some(Cell::Date(_)) => query.bind(pick(cells, |c| match c {
                Cell::Date(v) => *v,
                _ => None,
            })),
            Some(Cell::Time(_)) => query.bind(pick(cells, |c| match c {
                Cell::Time(v) => *v,
                _ => None,
            })),
        };
    }
    Ok(query)
}

/// One column's values (every cell was checked to fit it).
fn pick<'r, T>(cells: impl Iterator<Item = &'r Cell>, value: impl Fn(&'r Cell) -> T) -> Vec<T> {
    cells.map(value).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [Column; 4] = [
        ("source_id", "text"),
        ("canonical_id", "uuid"),
        ("raw_offset", "bigint"),
        ("lines", "jsonb"),
    ];

    fn row(offset: Cell) -> (usize, Row) {
        let id = "8c3f1e9a-2b4d-4c6e-9f1a-3b5d7e9f1a2b";
        (
            0,
            vec![
                Cell::Text(Some("W1".into())),
                Cell::Text(Some(id.into())),
                offset,
                Cell::Json("[{\"n\":1}]".into()),
            ],
        )
    }

    #[test]
    fn text_travels_as_text_arrays_and_the_rest_in_their_own_types() {
        let arguments: Vec<String> = COLUMNS
            .iter()
            .chain(&[("currency", "char(3)"), ("seen_at", "timestamptz")])
            .enumerate()
            .map(|(i, (_, t))| unnest_argument(i + 1, t))
            .collect();
        assert_eq!(
            arguments,
            [
                "$1::text[]",
                "$2::text[]::uuid[]",
                "$3::bigint[]",
                "$4::text[]::jsonb[]",
                "$5::text[]",
                "$6::timestamptz[]"
            ]
        );
    }

    #[test]
    fn a_cell_that_does_not_fit_its_column_is_an_encode_error_naming_it() {
        let rows = [
            row(Cell::BigInt(Some(7))),
            row(Cell::Text(Some("7".into()))),
        ];
        let Err(sqlx::Error::Encode(error)) = bind(sqlx::query("select 1"), &COLUMNS, &rows) else {
            panic!("a misfit was bound");
        };
        assert!(
            error.to_string().contains("column raw_offset (bigint)"),
            "{error}"
        );
        let fitting = [row(Cell::BigInt(Some(7))), row(Cell::BigInt(None))];
        assert!(bind(sqlx::query("select 1"), &COLUMNS, &fitting).is_ok());
    }

    #[test]
    fn a_row_renders_as_json_by_column_name() {
        let (_, row) = row(Cell::BigInt(None));
        let json: Value = serde_json::from_str(&to_json(&COLUMNS, &row)).unwrap();
        assert_eq!(json["source_id"], "W1");
        assert_eq!(json["raw_offset"], Value::Null);
        assert_eq!(
            json["lines"][0]["n"], 1,
            "jsonb cells stay JSON, not strings"
        );
    }
}
