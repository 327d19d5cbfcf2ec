//! The commands about a stage's consumer group, against the real local
//! broker: `canonflow replay` (the plan it prints, the offsets it commits,
//! read back as any consumer of the group would, and its refusals) and
//! `canonflow status` (lag in records and seconds, thresholds, and broker
//! answers that cannot be right).
#![allow(clippy::unwrap_used, reason = "tests")]

use std::process::Output;
use std::time::Duration;

use canonflow_testkit::{Stack, TestTopics, committed, eventually, unique};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use support::Cli;

#[allow(dead_code, reason = "each test binary uses part of the support")]
mod support;

const PER_PARTITION: i64 = 30;

struct Setup {
    stack: Stack,
    topics: TestTopics,
    group: String,
    cli: Cli,
}

/// A raw topic of two partitions with `PER_PARTITION` records each, and a
/// configuration naming it and a fresh transformer group.
async fn setup() -> Setup {
    let stack = Stack::from_env();
    let mut topics = TestTopics::new(&stack);
    let raw = topics.topics.raw();
    topics.create(&raw, 2, &[]).await;
    let producer: FutureProducer = stack
        .kafka()
        .producer_config("test")
        .unwrap()
        .create()
        .unwrap();
    for partition in 0..2 {
        for i in 0..PER_PARTITION {
            producer
                .send(
                    FutureRecord::to(&raw)
                        .partition(partition)
                        .key(&format!("k{i}"))
                        .payload("{}"),
                    Duration::from_secs(10),
                )
                .await
                .unwrap();
        }
    }
    let group = unique("transformer");
    let cli = Cli::new(
        &stack,
        &topics.topics.prefix,
        &format!("[transformer]\nmappings_dir = \"config/mappings\"\ngroup_id = \"{group}\"\n"),
    );
    Setup {
        stack,
        topics,
        group,
        cli,
    }
}

impl Setup {
    fn replay(&self, args: &[&str]) -> Output {
        self.ctl(&[&["replay", "--stage", "transformer"], args].concat())
    }

    fn ctl(&self, args: &[&str]) -> Output {
        self.cli.run(args)
    }

    /// Runs a replay that must succeed; returns its JSON plan.
    fn plan(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let output = self.replay(&all);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap()
    }

    async fn committed(&self) -> i64 {
        committed(&self.stack, &self.group, &self.topics.topics.raw()).await
    }
}

fn column(plan: &Value, name: &str) -> Vec<i64> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[name].as_i64().unwrap_or(-1))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_plans_by_default_and_commits_only_with_execute() {
    let s = setup().await;
    let all = PER_PARTITION.to_string();
    let moved = s.plan(&["--to-offset", &all, "--execute"]);
    assert_eq!(moved["executed"], true);
    assert_eq!(
        s.committed().await,
        2 * PER_PARTITION,
        "as the group's consumers see it"
    );

    let dry = s.plan(&["--to-earliest"]);
    assert_eq!(dry["executed"], false);
    assert_eq!(column(&dry, "current"), [PER_PARTITION, PER_PARTITION]);
    assert_eq!(column(&dry, "target"), [0, 0]);
    assert_eq!(column(&dry, "reprocess"), [PER_PARTITION, PER_PARTITION]);
    assert_eq!(
        s.committed().await,
        2 * PER_PARTITION,
        "a dry run changes nothing"
    );
    let human = s.replay(&["--to-earliest"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("Dry run: nothing changed"), "{text}");
    assert!(
        text.contains(&format!("{} records to process again", 2 * PER_PARTITION)),
        "{text}"
    );

    let one = s.plan(&["--to-earliest", "--partitions", "1", "--execute"]);
    assert_eq!(column(&one, "partition"), [1]);
    assert_eq!(s.committed().await, PER_PARTITION, "partition 0 left alone");

    s.plan(&["--to-offset", "0:10,1:5", "--execute"]);
    assert_eq!(s.committed().await, 15);

    // Records written just now are all newer than an hour ago.
    let back = s.plan(&["--by-duration", "1h"]);
    assert_eq!(column(&back, "target"), [0, 0]);
    assert_eq!(column(&back, "reprocess"), [10, 5]);

    let clamped = s.plan(&["--to-offset", "1000"]);
    assert_eq!(column(&clamped, "target"), [PER_PARTITION, PER_PARTITION]);
    assert!(
        clamped["steps"][0]["note"]
            .as_str()
            .unwrap()
            .contains("past the end offset")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_is_refused_while_the_group_has_members() {
    let s = setup().await;
    s.plan(&["--to-offset", "20", "--execute"]);
    let member: BaseConsumer = s
        .stack
        .kafka()
        .consumer_config("test", &s.group)
        .unwrap()
        .create()
        .unwrap();
    member.subscribe(&[&s.topics.topics.raw()]).unwrap();
    eventually(Duration::from_secs(60), "the member joined", || {
        let _ = member.poll(Duration::from_millis(100));
        let joined = member.assignment().is_ok_and(|a| a.count() > 0);
        async move { joined.then_some(()) }
    })
    .await;

    let refused = s.replay(&["--to-earliest", "--execute"]);
    assert!(!refused.status.success());
    let error = String::from_utf8_lossy(&refused.stderr);
    assert!(error.contains("active member"), "{error}");
    assert!(error.contains("Nothing was changed"), "{error}");
    assert_eq!(s.committed().await, 40, "offsets unchanged");

    // Once the member has left, the same replay is accepted.
    canonflow_common::kafka::close_with_deadline(member, Duration::from_secs(5));
    eventually(Duration::from_secs(60), "the replay accepted", || {
        let accepted = s.replay(&["--to-earliest", "--execute"]).status.success();
        async move { accepted.then_some(()) }
    })
    .await;
    assert_eq!(s.committed().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_refused_naming_what_was_expected() {
    let s = setup().await;
    let when = s.replay(&["--to-datetime", "yesterday"]);
    assert!(!when.status.success());
    assert!(String::from_utf8_lossy(&when.stderr).contains("expected RFC 3339"));
    let topic = s.replay(&["--to-earliest", "--topic", "elsewhere"]);
    assert!(!topic.status.success());
    assert!(String::from_utf8_lossy(&topic.stderr).contains("is not an input of"));
    let two = s.replay(&["--to-earliest", "--by-duration", "2h"]);
    assert!(!two.status.success(), "one target at a time");
    assert_eq!(s.committed().await, 0, "nothing committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_lag_in_records_and_seconds_and_fails_past_a_threshold() {
    let s = setup().await;
    s.plan(&["--to-offset", "10", "--execute"]);
    let status =
        |extra: &[&str]| s.ctl(&[&["status", "--stage", "transformer", "--json"], extra].concat());

    let calm = status(&[]);
    assert!(
        calm.status.success(),
        "{}",
        String::from_utf8_lossy(&calm.stderr)
    );
    let stages: Value = serde_json::from_slice(&calm.stdout).unwrap();
    let rows = stages[0]["partitions"].as_array().unwrap();
    let lags: Vec<i64> = rows
        .iter()
        .map(|r| r["lag"]["records"].as_i64().unwrap())
        .collect();
    assert_eq!(lags, [PER_PARTITION - 10, PER_PARTITION - 10]);
    assert!(
        rows.iter()
            .all(|r| r["lag_seconds"].as_i64().is_some_and(|t| t >= 0)),
        "{rows:?}"
    );
    assert_eq!(stages[0]["group"], s.group.as_str());
    assert_eq!(stages[0]["dead_letters"], 0);
    assert_eq!(stages[0]["dead_letters_last_hour"], 0);

    let alarmed = status(&["--max-lag", "15"]);
    assert_eq!(
        alarmed.status.code(),
        Some(1),
        "a crossed threshold fails the command"
    );
    let stages: Value = serde_json::from_slice(&alarmed.stdout).unwrap();
    assert_eq!(stages[0]["alerts"].as_array().unwrap().len(), 2);

    // A committed offset past the end, as no real consumer would leave it:
    // the broker's answer cannot be right, and is not shown as negative lag.
    let committer: BaseConsumer = s
        .stack
        .kafka()
        .consumer_config("test", &s.group)
        .unwrap()
        .create()
        .unwrap();
    let mut past = rdkafka::TopicPartitionList::new();
    past.add_partition_offset(
        &s.topics.topics.raw(),
        0,
        rdkafka::Offset::Offset(PER_PARTITION + 50),
    )
    .unwrap();
    committer
        .commit(&past, rdkafka::consumer::CommitMode::Sync)
        .unwrap();
    let odd = status(&[]);
    let stages: Value = serde_json::from_slice(&odd.stdout).unwrap();
    let first = &stages[0]["partitions"][0];
    assert!(first["lag"]["records"].is_null(), "{first}");
    assert!(
        first["lag"]["implausible"]
            .as_str()
            .unwrap()
            .contains("below the committed offset")
    );
    let human =
        String::from_utf8_lossy(&s.ctl(&["status", "--stage", "transformer"]).stdout).into_owned();
    assert!(human.contains("lag unknown"), "{human}");
    assert!(!human.contains(" -50"), "no negative lag: {human}");
}
