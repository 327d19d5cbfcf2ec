//! Each stage's endpoint is scraped while the pipeline runs: every metric
//! of the spec (`canonflow_common::observe::names`) appears on the stage
//! that exports it, the counts add up within and across stages, and
//! `/healthz` and `/readyz` answer.

use std::time::Duration;

use canonflow_common::observe::{Stage, names};
use canonflow_testkit::eventually;

use canonflow_tests::pipeline::DemoPipeline;

const DEADLINE: Duration = Duration::from_secs(240);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stage_exports_the_whole_spec_and_the_counts_add_up() {
    let pipeline = DemoPipeline::start().await;
    let mut stages =
        [Stage::Fetcher, Stage::Transformer, Stage::Sink].map(|s| pipeline.spawn(s, &[]));

    // Ready, and alive.
    for stage in &stages {
        let name = stage.stage.as_str();
        eventually(DEADLINE, &format!("{name} ready"), || async {
            matches!(stage.get("/readyz").await, Some((200, _))).then_some(())
        })
        .await;
        assert_eq!(stage.get("/healthz").await.map(|r| r.0), Some(200));
    }

    // Everything fetched has gone through: each stage has seen it all, and
    // exports every metric of the spec.
    let [fetched, mapped, sunk] = pipeline.settle(&stages, DEADLINE).await;
    for (stage, scrape) in [
        (&stages[0], &fetched),
        (&stages[1], &mapped),
        (&stages[2], &sunk),
    ] {
        assert_eq!(
            stage.missing(scrape),
            Vec::<&str>::new(),
            "{}",
            stage.stage.as_str()
        );
    }

    // Within each stage, the counts add up.
    let requests_ok = fetched.sum(names::FETCHER_REQUESTS, &["status=\"2xx\""]);
    let pages = fetched.sum(names::FETCHER_PAGES, &[]);
    assert!(
        pages > 0.0 && requests_ok >= pages,
        "{requests_ok} requests, {pages} pages"
    );
    assert!(fetched.sum(names::FETCHER_BYTES, &[]) > 0.0);
    let records_in = mapped.sum(names::TRANSFORMER_RECORDS_IN, &[]);
    let out = mapped.sum(names::TRANSFORMER_RECORDS_OUT, &[]);
    let dead = mapped.sum(names::TRANSFORMER_DEAD_LETTERS, &[]);
    let unmapped = mapped.sum(names::TRANSFORMER_UNMAPPED, &[]);
    assert!(out > 0.0);
    assert_eq!(
        records_in,
        out + dead + unmapped,
        "transformer: in = out + dead letters + unmapped"
    );
    let rows = sunk.sum(names::SINK_ROWS, &[]);
    let sink_dead = sunk.sum(names::SINK_DEAD_LETTERS, &[]);
    assert_eq!(
        sunk.sum(names::SINK_RECORDS_IN, &[]),
        rows + sink_dead,
        "sink: in = rows + dead letters"
    );
    assert!(sunk.sum(names::SINK_ROWS, &["outcome=\"inserted\""]) > 0.0);
    // Freshness is observed for every record that carried its fetch time:
    // all but those re-emitted by enrichment.
    let reemitted = mapped.sum(names::TRANSFORMER_REEMITTED, &[]);
    assert_eq!(
        sunk.sum(&format!("{}_count", names::SINK_FRESHNESS_SECONDS), &[]),
        rows + sink_dead - reemitted,
        "freshness observations; {reemitted} re-emitted"
    );
    // Connected, and lag known per partition. (Not asserted zero: a
    // transaction's commit marker takes an offset, so Apache Kafka reports
    // 1 behind a transactional producer, and the local broker's end offsets
    // are wrong — docs/broker-compat.md, deviation 3.)
    for scrape in [&fetched, &mapped, &sunk] {
        assert!(scrape.sum(names::KAFKA_BROKERS_UP, &[]) >= 1.0);
    }
    for (stage, scrape) in [(Stage::Transformer, &mapped), (Stage::Sink, &sunk)] {
        for name in [names::CONSUMER_LAG_RECORDS, names::CONSUMER_LAG_SECONDS] {
            let series = &scrape.series[name];
            assert!(
                series.values().all(|v| *v >= 0.0)
                    && series.keys().all(|l| l.contains(stage.as_str())),
                "{name}: {series:?}"
            );
        }
    }

    for stage in &mut stages {
        let name = stage.stage.as_str();
        assert!(
            stage.process.terminate(Duration::from_secs(30)),
            "{name} did not stop on SIGTERM"
        );
    }
    pipeline.demo.shutdown().await;
}
