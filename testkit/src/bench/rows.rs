//! End-to-end benchmarks end in PostgreSQL: when the last canonical row
//! was written, how many there are, and the limit they are compared with —
//! `COPY` of those same rows into empty copies of the tables.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt as _;
use sqlx::AssertSqlSafe;

use crate::{Stack, TestSchema};

/// The canonical tables in `schema` (the sink's, `canonflow_<entity>`).
async fn tables(schema: &TestSchema) -> Vec<String> {
    sqlx::query_scalar(
        "select table_name::text from information_schema.tables \
         where table_schema = $1 and table_name like 'canonflow\\_%' order by 1",
    )
    .bind(&schema.name)
    .fetch_all(&schema.pool)
    .await
    .expect("listing the canonical tables")
}

/// When the last row was written (the newest `updated_at`: PostgreSQL's
/// clock, the start of the last writing transaction), and how many rows
/// the canonical tables hold.
pub async fn last_write(schema: &TestSchema) -> (SystemTime, u64) {
    let (mut newest, mut rows) = (0.0_f64, 0_u64);
    for table in tables(schema).await {
        let sql = format!(
            "select coalesce(extract(epoch from max(updated_at))::float8, 0), count(*) \
             from {table}"
        );
        let (at, count): (f64, i64) = sqlx::query_as(AssertSqlSafe(sql))
            .fetch_one(&schema.pool)
            .await
            .expect("reading a canonical table");
        newest = newest.max(at);
        rows += count as u64;
    }
    assert!(rows > 0, "no rows written");
    (UNIX_EPOCH + Duration::from_secs_f64(newest), rows)
}

/// `COPY` of every canonical table's rows into an empty copy of it, one
/// connection; the time of the `COPY … FROM STDIN` statements alone.
pub async fn copy_of(stack: &Stack, schema: &TestSchema) -> Duration {
    let target = TestSchema::create(stack).await;
    let mut source = schema.pool.acquire().await.expect("a connection");
    let mut into = target.pool.acquire().await.expect("a connection");
    let mut copied = Duration::ZERO;
    for table in tables(schema).await {
        let create = format!(
            "create table \"{}\".{table} (like \"{}\".{table} including all)",
            target.name, schema.name
        );
        sqlx::query(AssertSqlSafe(create))
            .execute(&mut *into)
            .await
            .expect("creating an empty copy of a table");
        let mut rows = Vec::new();
        let mut out = source
            .copy_out_raw(&format!("copy {table} to stdout"))
            .await
            .expect("copy out");
        while let Some(chunk) = out.next().await {
            rows.extend_from_slice(&chunk.expect("copy out"));
        }
        drop(out);
        let started = Instant::now();
        let mut copy = into
            .copy_in_raw(&format!("copy {table} from stdin"))
            .await
            .expect("copy in");
        for chunk in rows.chunks(1 << 20) {
            copy.send(chunk).await.expect("copy in");
        }
        copy.finish().await.expect("copy in");
        copied += started.elapsed();
    }
    copied
}
