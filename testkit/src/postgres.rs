//! A PostgreSQL schema of one test: created with a unique name, its pool's
//! `search_path` pointing at it, dropped (with everything in it) on drop.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::{Stack, unique};

#[derive(Debug)]
pub struct TestSchema {
    pub name: String,
    pub pool: PgPool,
    admin_options: PgConnectOptions,
}

impl TestSchema {
    pub async fn create(stack: &Stack) -> Self {
        let name = unique("t").replace('-', "_");
        let admin_options =
            PgConnectOptions::from_str(&stack.postgres_url).expect("valid PostgreSQL URL");
        let mut admin = PgConnection::connect_with(&admin_options)
            .await
            .expect("connect to PostgreSQL (is the stack up?)");
        // The name is ours: a prefix and hex digits.
        sqlx::query(AssertSqlSafe(format!("create schema \"{name}\"")))
            .execute(&mut admin)
            .await
            .expect("create test schema");
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(
                admin_options
                    .clone()
                    .options([("search_path", name.as_str())]),
            )
            .await
            .expect("pool on the test schema");
        Self {
            name,
            pool,
            admin_options,
        }
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let sql = format!("drop schema if exists \"{}\" cascade", self.name);
        let options = self.admin_options.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect_with(&options).await?;
                sqlx::query(AssertSqlSafe(sql)).execute(&mut admin).await?;
                Ok::<_, anyhow::Error>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("note: could not drop test schema {}", self.name);
        }
    }
}
