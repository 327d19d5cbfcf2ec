//! TLS to PostgreSQL: with `sslmode=verify-full` and the authority that
//! signed the server's certificate as the root, the sink connects over TLS
//! and writes; given another authority, it refuses to start and says why.

use std::sync::Arc;

use canonflow_testkit::PostgresServer;
use sqlx::PgPool;

use crate::support::{Harness, supplier};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sink_verifies_the_certificate_of_postgres() {
    let harness = Harness::start(1).await;
    let server = PostgresServer::start_tls().await;
    let pool = PgPool::connect(&server.url).await.unwrap();
    harness.create_schema_on(&pool).await;
    let verified = |root: &std::path::Path| {
        format!(
            "{}?sslmode=verify-full&sslrootcert={}",
            server.url,
            root.display()
        )
    };

    let records: Vec<_> = (0..3).map(|i| supplier(i, 1, "DE")).collect();
    harness.produce(&records).await;
    let own = server.ca_certificate.clone().unwrap();
    let run = harness.spawn_with(harness.config_with_url(&verified(&own), ""), Arc::default());
    harness.wait_committed(records.len()).await;
    harness.stop(run).await;
    let (rows,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select count(*) from \"{}\".canonflow_supplier",
        harness.schema.name
    )))
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(rows, 3);

    // Another server's authority as the root: not trusted.
    let other = PostgresServer::start_tls().await;
    let foreign = other.ca_certificate.clone().unwrap();
    let (run, _shutdown) = harness.spawn_with(
        harness.config_with_url(&verified(&foreign), ""),
        Arc::default(),
    );
    let error = run.await.unwrap().unwrap_err().to_string();
    assert!(
        error.contains("postgres") || error.contains("database"),
        "names PostgreSQL: {error}"
    );
    assert!(
        error.to_lowercase().contains("certificate") || error.to_lowercase().contains("tls"),
        "says why: {error}"
    );
}
