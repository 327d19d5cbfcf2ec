//! Writing one batch to PostgreSQL: upserts in chunks of a table's rows,
//! each chunk a transaction, all in parallel. When PostgreSQL rejects a row
//! (a constraint or value error), the chunk's rows are bisected under
//! savepoints until the rejected rows are alone — they become dead letters,
//! their batch-mates are written.

use std::future::Future;
use std::pin::Pin;

use sqlx::Row as _;
use sqlx::{PgConnection, PgPool};

use crate::columns::{self, Row};
use crate::tables::Table;

/// What a batch did to the tables.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub inserted: u64,
    pub updated: u64,
    /// Older or equal versions: left as they were.
    pub unchanged: u64,
    /// Rows removed by hard deletes.
    pub deleted: u64,
}

impl Applied {
    pub fn add(&mut self, other: Applied) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.deleted += other.deleted;
    }
}

/// Rows for one table, each with the index of its record in the batch.
#[derive(Debug)]
pub struct TableRows<'a> {
    pub table: &'a Table,
    pub rows: &'a [(usize, Row)],
    /// Hard deletes (JSON text): rows whose newer deleted version removes them.
    pub deletes: &'a [(usize, String)],
    /// Tombstones: canonical ids with the Kafka coordinates that guard them.
    pub tombstones: &'a [(usize, String)],
}

/// A row PostgreSQL refused.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub index: usize,
    pub error: String,
}

/// How a database error is handled.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Connection lost, serialization failure, deadlock, shutdown, pool
    /// timeout: retry the whole batch later.
    #[error("retryable database error: {0}")]
    Retryable(String),
    /// The schema is not what this sink expects (missing table or column,
    /// permissions): a person must act.
    #[error("database error: {0}")]
    Fatal(String),
}

enum Class {
    Retryable,
    Row,
    Fatal,
}

fn classify(error: &sqlx::Error) -> Class {
    match error {
        sqlx::Error::Database(db) => match db.code().as_deref().map(|c| c.get(..2).unwrap_or(c)) {
            // 22 data exception, 23 integrity constraint violation.
            Some("22" | "23") => Class::Row,
            // 40 transaction rollback (serialization, deadlock), 08
            // connection, 53 insufficient resources, 57 operator intervention.
            Some("40" | "08" | "53" | "57") => Class::Retryable,
            _ => Class::Fatal,
        },
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => Class::Retryable,
        _ => Class::Fatal,
    }
}

fn db_error(error: sqlx::Error) -> DbError {
    match classify(&error) {
        Class::Retryable => DbError::Retryable(error.to_string()),
        _ => DbError::Fatal(error.to_string()),
    }
}

/// Upserts per transaction: a table's rows are split into chunks of at
/// most this many, written in parallel, so that PostgreSQL works on more
/// than one core even when one table has most of a batch.
const CHUNK_ROWS: usize = 500;

/// Applies a batch in two phases, each on several connections at once:
/// the upserts, every table's rows in chunks of their own transactions;
/// then each table's hard deletes and tombstones (after the upserts, so a
/// tombstone finds the row an earlier record of its entity in the same
/// batch wrote). Rows PostgreSQL refuses are returned, not written.
///
/// The batch is durable once every transaction has committed. If one
/// fails, the caller retries the whole batch: what was already written
/// then changes nothing, since every statement is version-guarded. A key
/// is in one chunk only (the batch holds its newest version alone), so
/// chunks never wait for each other's rows.
pub async fn write(
    pool: &PgPool,
    tables: Vec<TableRows<'_>>,
) -> Result<(Applied, Vec<Rejected>), DbError> {
    let chunks = tables
        .iter()
        .flat_map(|t| t.rows.chunks(CHUNK_ROWS).map(move |rows| (t.table, rows)));
    let upserted =
        futures::future::join_all(chunks.map(|(table, rows)| upsert_chunk(pool, table, rows)))
            .await;
    let mut applied = Applied::default();
    let mut rejected = Vec::new();
    for result in upserted {
        let (chunk_applied, chunk_rejected) = result?;
        applied.add(chunk_applied);
        rejected.extend(chunk_rejected);
    }
    let removals = tables
        .iter()
        .filter(|t| !t.deletes.is_empty() || !t.tombstones.is_empty())
        .map(|t| remove_table(pool, t));
    for removed in futures::future::join_all(removals).await {
        applied.add(removed?);
    }
    Ok((applied, rejected))
}

/// One chunk of a table's upserts in one transaction.
async fn upsert_chunk(
    pool: &PgPool,
    table: &Table,
    rows: &[(usize, Row)],
) -> Result<(Applied, Vec<Rejected>), DbError> {
    let mut tx = pool.begin().await.map_err(db_error)?;
    let mut rejected = Vec::new();
    let applied = isolate(&mut tx, table, rows, &mut rejected).await?;
    tx.commit().await.map_err(db_error)?;
    Ok((applied, rejected))
}

/// One table's hard deletes and tombstones in one transaction.
async fn remove_table(pool: &PgPool, rows: &TableRows<'_>) -> Result<Applied, DbError> {
    let TableRows {
        table,
        deletes,
        tombstones,
        ..
    } = rows;
    let mut tx = pool.begin().await.map_err(db_error)?;
    let mut applied = Applied::default();
    let removed = remove(&mut tx, &table.delete, deletes).await?;
    applied.deleted += removed;
    applied.unchanged += deletes.len() as u64 - removed;
    let buried = remove(&mut tx, &table.tombstone, tombstones).await?;
    if table.hard_delete {
        applied.deleted += buried;
    } else {
        applied.updated += buried;
    }
    applied.unchanged += tombstones.len() as u64 - buried;
    tx.commit().await.map_err(db_error)?;
    Ok(applied)
}

/// Runs a delete or tombstone statement; returns the rows it changed.
async fn remove(
    conn: &mut PgConnection,
    statement: &str,
    rows: &[(usize, String)],
) -> Result<u64, DbError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(sqlx::AssertSqlSafe(statement))
        .bind(json_array(rows))
        .execute(&mut *conn)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected())
}

/// Upserts `rows` under a savepoint; on a row error, splits them in halves
/// and tries each, down to single rows, which are then rejected.
fn isolate<'c>(
    conn: &'c mut PgConnection,
    table: &'c Table,
    rows: &'c [(usize, Row)],
    rejected: &'c mut Vec<Rejected>,
) -> Pin<Box<dyn Future<Output = Result<Applied, DbError>> + Send + 'c>> {
    Box::pin(async move {
        if rows.is_empty() {
            return Ok(Applied::default());
        }
        sqlx::query("savepoint batch")
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
        match upsert(conn, table, rows).await {
            Ok(applied) => {
                sqlx::query("release savepoint batch")
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                Ok(applied)
            }
            Err(error) => {
                sqlx::query("rollback to savepoint batch")
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                sqlx::query("release savepoint batch")
                    .execute(&mut *conn)
                    .await
                    .map_err(db_error)?;
                if !matches!(classify(&error), Class::Row) {
                    return Err(db_error(error));
                }
                if rows.len() == 1 {
                    rejected.push(Rejected {
                        index: rows[0].0,
                        error: error.to_string(),
                    });
                    return Ok(Applied::default());
                }
                let (first, second) = rows.split_at(rows.len() / 2);
                let mut applied = isolate(conn, table, first, rejected).await?;
                applied.add(isolate(conn, table, second, rejected).await?);
                Ok(applied)
            }
        }
    })
}

async fn upsert(
    conn: &mut PgConnection,
    table: &Table,
    rows: &[(usize, Row)],
) -> Result<Applied, sqlx::Error> {
    let query = sqlx::query(sqlx::AssertSqlSafe(table.upsert.as_str()));
    let returned = columns::bind(query, &table.columns, rows)?
        .fetch_all(&mut *conn)
        .await?;
    let inserted = returned
        .iter()
        .filter(|r| r.try_get::<bool, _>(0).unwrap_or(false))
        .count() as u64;
    let changed = returned.len() as u64;
    Ok(Applied {
        inserted,
        updated: changed - inserted,
        unchanged: rows.len() as u64 - changed,
        deleted: 0,
    })
}

/// One JSON array of the rows' text: no copy of any parsed value.
fn json_array(rows: &[(usize, String)]) -> String {
    let mut json = String::with_capacity(rows.iter().map(|(_, r)| r.len() + 1).sum::<usize>() + 2);
    json.push('[');
    for (i, (_, row)) in rows.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(row);
    }
    json.push(']');
    json
}
