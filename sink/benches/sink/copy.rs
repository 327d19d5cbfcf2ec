//! The physical limit: the same final rows `COPY`ed into the same tables
//! (fresh schema, migrations applied: empty, with their primary key and
//! indexes), one table after the other on one connection, CSV built
//! beforehand from the sink's own row function (`tables::row`). Building
//! the CSV is not timed.

use std::time::{Duration, Instant};

use canonflow_canonical::EntityKind;
use canonflow_common::topics::Topics;
use canonflow_sink::tables::{Coordinates, Table, columns, row_json};
use canonflow_testkit::{Stack, TestSchema};
use serde_json::Value;

use crate::entities::Generator;
use crate::produce::slot;
use canonflow_testkit::bench::cpu::{self, Usage};

/// Bytes sent per `CopyData` message.
const CHUNK: usize = 1 << 20;

/// How the copy went.
#[derive(Debug)]
pub struct Copied {
    pub rows: u64,
    /// CSV bytes sent.
    pub bytes: u64,
    pub elapsed: Duration,
    pub usage: Usage,
}

/// Copies generation 0 into a fresh schema, which is dropped afterwards.
pub async fn copy(stack: &Stack, topics: &Topics, generator: Generator) -> Copied {
    let csv = csv(topics, generator);
    let schema = TestSchema::create(stack).await;
    canonflow_sink::MIGRATOR.run(&schema.pool).await.unwrap();
    crate::database::checkpoint(&schema.pool).await;
    let mut conn = schema.pool.acquire().await.unwrap();
    let before = cpu::snapshot();
    let started = Instant::now();
    let mut rows = 0;
    for kind in EntityKind::ALL {
        let statement = format!(
            "copy canonflow_{} ({}) from stdin with (format csv)",
            kind.name(),
            columns(kind).join(", ")
        );
        let mut copy = conn.copy_in_raw(&statement).await.unwrap();
        for chunk in csv[slot(kind)].chunks(CHUNK) {
            copy.send(chunk).await.unwrap();
        }
        rows += copy.finish().await.unwrap();
    }
    let elapsed = started.elapsed();
    let usage = cpu::since(&before);
    drop(conn);
    assert_eq!(rows, generator.records as u64, "rows copied");
    Copied {
        rows,
        bytes: csv.iter().map(|c| c.len() as u64).sum(),
        elapsed,
        usage,
    }
}

/// Each table's rows as CSV, in [`EntityKind::ALL`] order.
fn csv(topics: &Topics, generator: Generator) -> Vec<Vec<u8>> {
    let mut tables = vec![Vec::new(); EntityKind::ALL.len()];
    let kinds: Vec<Table> = EntityKind::ALL.map(|k| Table::new(k, false)).into();
    let mut offsets = [0i64; 5];
    for index in 0..generator.records {
        let entity = generator.entity(index, 0);
        let kind = entity.attributes.kind();
        let slot = slot(kind);
        let at = Coordinates {
            topic: topics.canonical(kind.name()),
            partition: (index % crate::partitions() as usize) as i32,
            offset: offsets[slot],
        };
        offsets[slot] += 1;
        // The sink's own row, so that COPY writes exactly what it would.
        let Ok(Value::Object(row)) =
            serde_json::from_str::<Value>(&row_json(&kinds[slot], &entity, &at))
        else {
            unreachable!("a row is a JSON object");
        };
        let out = &mut tables[slot];
        for (i, column) in columns(kind).iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            field(out, row.get(*column).unwrap_or(&Value::Null));
        }
        out.push(b'\n');
    }
    tables
}

/// One CSV field: NULL unquoted and empty, everything else quoted.
fn field(out: &mut Vec<u8>, value: &Value) {
    let text = match value {
        Value::Null => return,
        Value::Bool(true) => "t".to_owned(),
        Value::Bool(false) => "f".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
    };
    out.push(b'"');
    out.extend_from_slice(text.replace('"', "\"\"").as_bytes());
    out.push(b'"');
}
