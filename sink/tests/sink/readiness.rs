//! Readiness follows PostgreSQL even while no records arrive: an idle sink
//! checks it, so `/readyz` turns red when PostgreSQL goes away and green
//! when it is back. (Health is process-wide; nextest runs each test in a
//! process of its own.)

use canonflow_common::observe::health;
use canonflow_testkit::{TcpProxy, eventually};

use crate::support::{self, Harness, supplier};

fn postgres_unreachable() -> bool {
    health()
        .readiness()
        .is_err_and(|problems| problems.iter().any(|p| p == "postgres unreachable"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_sink_is_not_ready_while_postgres_is_away() {
    let harness = Harness::start(1).await;
    let address = support::postgres_address(&harness.stack.postgres_url);
    let proxy = TcpProxy::start(&address).await;
    let url = harness.stack.postgres_url.replace(&address, &proxy.address);
    let run = harness.spawn_with(harness.config_with_url(&url, ""), Default::default());
    let reachable = || async { (!postgres_unreachable()).then_some(()) };
    eventually(
        support::DEADLINE,
        "PostgreSQL reachable after start",
        reachable,
    )
    .await;
    // Fully started (a cut while starting is fatal, as it should be): one
    // record written, then nothing more arrives.
    harness.produce(&[supplier(0, 1, "DE")]).await;
    harness.wait_committed(1).await;

    proxy.cut();
    eventually(
        support::DEADLINE,
        "readiness to report PostgreSQL unreachable",
        || async { postgres_unreachable().then_some(()) },
    )
    .await;

    proxy.restore();
    eventually(
        support::DEADLINE,
        "readiness to report PostgreSQL back",
        reachable,
    )
    .await;
    let totals = harness.stop(run).await;
    assert_eq!(totals.records, 1, "only the first record was written");
}
