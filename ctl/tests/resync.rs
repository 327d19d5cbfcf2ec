//! End to end with the fetcher and the demo source: `canonflow watermarks
//! reset --clear` makes the next fetch a full resync of that stream, and of
//! that stream only.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::path::Path;

use canonflow_common::Shutdown;
use canonflow_common::config::ConfigSource;
use canonflow_demo_source::{DemoConfig, DemoSource};
use canonflow_testkit::{Stack, TestTopics, drain, unique};
use rdkafka::Message;
use support::Cli;

#[allow(dead_code, reason = "each test binary uses part of the support")]
mod support;

/// Raw records per `source/stream`.
async fn per_stream(stack: &Stack, topic: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for message in drain(stack, topic, std::time::Duration::from_secs(60)).await {
        let key = String::from_utf8_lossy(message.key().unwrap()).into_owned();
        let stream = key.splitn(3, '/').take(2).collect::<Vec<_>>().join("/");
        *counts.entry(stream).or_insert(0) += 1;
    }
    counts
}

fn minus(
    after: &BTreeMap<String, usize>,
    before: &BTreeMap<String, usize>,
) -> BTreeMap<String, usize> {
    after
        .iter()
        .map(|(stream, n)| (stream.clone(), n - before.get(stream).copied().unwrap_or(0)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleared_watermark_makes_the_next_fetch_a_full_resync_of_that_stream_only() {
    let stack = Stack::from_env();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let demo_config = DemoConfig::default();
    let demo = DemoSource::start(listener, demo_config.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sources");
    demo.write_source_files(&demo_config, &shipped, dir.path(), |_, text| text)
        .unwrap();
    let mut topics = TestTopics::new(&stack);
    let (raw, watermarks) = (topics.topics.raw(), topics.topics.watermarks());
    topics.adopt(&raw);
    topics.adopt(&watermarks);
    let cli = Cli::new(
        &stack,
        &topics.topics.prefix,
        &format!(
            "[fetcher]\nsources_dir = {:?}\ngroup_id = \"{}\"\nonce = true\nonce_attempts = 1\n\
             raw_partitions = 3\nwatermarks_partitions = 3\n",
            dir.path().join("sources"),
            unique("fetcher")
        ),
    );
    let fetch = || async {
        let config = ConfigSource::load(Some(cli.path())).unwrap();
        canonflow_fetcher::run(config, Shutdown::new())
            .await
            .unwrap();
        per_stream(&stack, &raw).await
    };

    let first = fetch().await;
    let after_second = fetch().await;
    let second = minus(&after_second, &first);
    // Streams whose second sync was incremental (read less than all).
    let incremental: Vec<&String> = first
        .keys()
        .filter(|s| second.get(*s).copied().unwrap_or(0) < first[*s])
        .collect();
    assert!(incremental.len() >= 2, "first {first:?}, second {second:?}");
    let reset = incremental[0].clone();

    let output = cli.run(&["watermarks", "reset", &reset, "--clear", "--execute"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let third = minus(&fetch().await, &after_second);

    assert_eq!(third[&reset], first[&reset], "{reset}: fetched whole again");
    for other in &incremental[1..] {
        assert!(
            third[*other] < first[*other],
            "{other}: still incremental ({} of {})",
            third[*other],
            first[*other]
        );
    }
}
