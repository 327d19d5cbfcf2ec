//! The benchmark's own look at PostgreSQL: a checkpoint before each timed
//! phase, so that none pays for the dirty pages of the one before, and a
//! count of what the tables hold afterwards.

use canonflow_canonical::EntityKind;
use sqlx::PgPool;

/// Flushes dirty pages; a role that may not is only noted.
pub async fn checkpoint(pool: &PgPool) {
    if let Err(e) = sqlx::query("checkpoint").execute(pool).await {
        eprintln!("note: no checkpoint before the phase ({e})");
    }
}

/// Rows in all canonical tables, and how many of them carry a version of
/// `generation` or later (raw offsets of generation g start at g × records).
pub async fn rows(pool: &PgPool, records: usize, generation: u32) -> (i64, i64) {
    let from = i64::from(generation) * records as i64;
    let mut total = (0, 0);
    for kind in EntityKind::ALL {
        let sql = format!(
            "select count(*), count(*) filter (where raw_offset >= $1) from canonflow_{}",
            kind.name()
        );
        let (all, newer): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(from)
            .fetch_one(pool)
            .await
            .unwrap();
        total.0 += all;
        total.1 += newer;
    }
    total
}
