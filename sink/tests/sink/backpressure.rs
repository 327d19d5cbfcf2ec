//! Backpressure: while PostgreSQL is unreachable the sink fills its queue,
//! then pauses its partitions instead of consuming (and holding) more; once
//! PostgreSQL is back it resumes and writes everything.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use canonflow_testkit::{TcpProxy, eventually};

use crate::support::{self, Harness, supplier};

const BATCH: usize = 10;
const QUEUE: usize = 1;
const CONCURRENT: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_away_the_sink_pauses_once_its_queue_is_full_then_resumes() {
    let harness = Harness::start(1).await;
    let address = support::postgres_address(&harness.stack.postgres_url);
    let proxy = TcpProxy::start(&address).await;
    let url = harness.stack.postgres_url.replace(&address, &proxy.address);
    let status = Arc::new(canonflow_sink::Status::default());
    let run = harness.spawn_with(
        harness.config_with_url(
            &url,
            &format!(
                "batch_records = {BATCH}\nqueue_batches = {QUEUE}\nconcurrent_batches = {CONCURRENT}"
            ),
        ),
        Arc::clone(&status),
    );
    let first: Vec<_> = (0..BATCH).map(|i| supplier(i, 1, "DE")).collect();
    harness.produce(&first).await;
    harness.wait_committed(BATCH).await;

    proxy.cut();
    let rest: Vec<_> = (BATCH..20 * BATCH).map(|i| supplier(i, 1, "DE")).collect();
    harness.produce(&rest).await;
    eventually(support::DEADLINE, "the partitions paused", || async {
        status.paused.load(Ordering::Relaxed).then_some(())
    })
    .await;
    // Let the writer fail a few more times while paused: nothing more is
    // consumed meanwhile.
    let retries = status.write_retries.load(Ordering::Relaxed);
    eventually(support::DEADLINE, "two more write retries", || async {
        (status.write_retries.load(Ordering::Relaxed) >= retries + 2).then_some(())
    })
    .await;
    let consumed = status.consumed.load(Ordering::Relaxed) as usize;
    // The first batch, `CONCURRENT` being written, `QUEUE` queued, one
    // waiting.
    let bound = BATCH * (1 + CONCURRENT + QUEUE + 1);
    assert!(
        consumed <= bound,
        "consumed {consumed} records while PostgreSQL was away (at most {bound})"
    );
    assert!(status.paused.load(Ordering::Relaxed), "still paused");
    assert_eq!(
        harness.committed().await,
        BATCH as i64,
        "nothing more committed"
    );

    proxy.restore();
    harness.wait_committed(20 * BATCH).await;
    let totals = harness.stop(run).await;
    assert_eq!(harness.names().await.len(), 20 * BATCH);
    assert!(!status.paused.load(Ordering::Relaxed), "resumed");
    assert!(status.pauses.load(Ordering::Relaxed) >= 1);
    assert_eq!(totals.dead_letters, 0);
}
