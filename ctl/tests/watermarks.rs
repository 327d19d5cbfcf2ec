//! `canonflow watermarks reset` against the real local broker: a stream's
//! checkpoint rewritten (or its watermark cleared) only with --execute, and
//! only with a value of the cursor's kind. (The refusal while a group has
//! members is `groups.rs`'s, for replay: the same check. Here it cannot be
//! shown: the local broker did not list the test's fetcher group —
//! broker-compat deviation 12.)
#![allow(clippy::unwrap_used, reason = "tests")]

use std::process::Output;
use std::time::Duration;

use canonflow_fetcher::checkpoint::{Checkpoint, SyncState, partition_for};
use canonflow_fetcher::cursor::CursorValue;
use canonflow_testkit::{Stack, TestTopics, drain};
use chrono::{TimeZone, Utc};
use rdkafka::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::Cli;

#[allow(dead_code, reason = "each test binary uses part of the support")]
mod support;

const KEY: &str = "hr/workers";
const PARTITIONS: i32 = 3;

struct Setup {
    stack: Stack,
    topics: TestTopics,
    cli: Cli,
}

async fn setup() -> Setup {
    let stack = Stack::from_env();
    let mut topics = TestTopics::new(&stack);
    let watermarks = topics.topics.watermarks();
    topics
        .create(&watermarks, PARTITIONS, &[("cleanup.policy", "compact")])
        .await;
    let checkpoint = Checkpoint {
        v: Checkpoint::VERSION,
        source: "hr".into(),
        stream: "workers".into(),
        owner: "1@test".into(),
        sync_run: "r1".into(),
        state: SyncState::Completed,
        base: None,
        max_cursor: Some(CursorValue::Timestamp(
            Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap(),
        )),
        next_page: None,
        pages: 3,
        records: 300,
        published: Vec::new(),
        updated_at: Utc::now(),
    };
    let producer: FutureProducer = stack
        .kafka()
        .producer_config("test")
        .unwrap()
        .create()
        .unwrap();
    producer
        .send(
            FutureRecord::to(&watermarks)
                .key(KEY)
                .payload(&serde_json::to_vec(&checkpoint).unwrap())
                .partition(partition_for(KEY, PARTITIONS)),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    let cli = Cli::new(&stack, &topics.topics.prefix, "");
    Setup { stack, topics, cli }
}

impl Setup {
    fn reset(&self, args: &[&str]) -> Output {
        self.cli
            .run(&[&["watermarks", "reset", KEY], args].concat())
    }

    /// The stream's latest checkpoint, read back from the topic.
    async fn latest(&self) -> Checkpoint {
        let records = drain(
            &self.stack,
            &self.topics.topics.watermarks(),
            Duration::from_secs(30),
        )
        .await;
        let last = records
            .iter()
            .rev()
            .find(|m| m.key() == Some(KEY.as_bytes()))
            .unwrap();
        serde_json::from_slice(last.payload().unwrap()).unwrap()
    }
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watermark_is_reset_or_cleared_only_with_execute() {
    let s = setup().await;
    let dry = ok(&s.reset(&["--to", "2026-01-01T00:00:00Z"]));
    assert!(
        dry.contains("→ 2026-01-01T00:00:00Z") && dry.contains("Dry run"),
        "{dry}"
    );
    assert_eq!(s.latest().await.pages, 3, "a dry run writes nothing");

    ok(&s.reset(&["--to", "2026-01-01T00:00:00Z", "--execute"]));
    let reset = s.latest().await;
    let wanted = CursorValue::Timestamp(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
    assert_eq!(reset.watermark(), Some(wanted));
    assert_eq!(reset.state, SyncState::Completed);

    let wrong_kind = s.reset(&["--to", "1500"]);
    assert!(!wrong_kind.status.success());
    assert!(String::from_utf8_lossy(&wrong_kind.stderr).contains("cursor is a time"));

    ok(&s.reset(&["--clear", "--execute"]));
    assert_eq!(
        s.latest().await.watermark(),
        None,
        "the next sync is a full one"
    );
}
