//! `canonflow dlq` against the real local broker: dead letters written the
//! way the stages write them (`common::headers`), listed, shown and
//! redriven — once, however often the redrive runs.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::process::Output;
use std::time::Duration;

use canonflow_common::headers::{self, ErrorHeaders};
use canonflow_testkit::{Stack, TestTopics, drain};
use rdkafka::Message;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use support::Cli;

#[allow(dead_code, reason = "each test binary uses part of the support")]
mod support;

struct Setup {
    stack: Stack,
    topics: TestTopics,
    cli: Cli,
}

/// A dead letter of the transformer: the raw record `payload` of
/// `source`/`stream` that came from raw offset `offset`.
struct Dead {
    source: &'static str,
    stream: &'static str,
    key: &'static str,
    offset: i64,
    payload: Value,
    redrives: Option<&'static str>,
}

async fn setup(dead: &[Dead]) -> Setup {
    let stack = Stack::from_env();
    let mut topics = TestTopics::new(&stack);
    let (raw, dlq) = (
        topics.topics.raw(),
        topics.topics.dead_letters("transformer"),
    );
    topics.create(&raw, 1, &[]).await;
    topics.create(&dlq, 1, &[]).await;
    let producer: FutureProducer = stack
        .kafka()
        .producer_config("test")
        .unwrap()
        .create()
        .unwrap();
    for d in dead {
        let origin = headers::origin(&raw, 0, d.offset);
        let mut original = OwnedHeaders::new()
            .insert(Header {
                key: headers::SOURCE,
                value: Some(d.source),
            })
            .insert(Header {
                key: headers::STREAM,
                value: Some(d.stream),
            });
        if let Some(count) = d.redrives {
            original = original.insert(Header {
                key: headers::REDRIVE_COUNT,
                value: Some(count),
            });
        }
        let with_error = ErrorHeaders {
            stage: "transformer",
            class: "invalid_input",
            message: "missing required field",
            path: "/email",
            time: "2026-12-01T10:00:00.000Z",
            origin: &origin,
        }
        .add_to(original);
        let payload = d.payload.to_string();
        producer
            .send(
                FutureRecord::to(&dlq)
                    .key(d.key)
                    .payload(&payload)
                    .headers(with_error),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
    }
    let cli = Cli::new(&stack, &topics.topics.prefix, "");
    // The redrive markers' topic, made by the CLI, is removed with the rest.
    let markers = topics.topics.redriven();
    topics.adopt(&markers);
    Setup { stack, topics, cli }
}

impl Setup {
    fn ctl(&self, args: &[&str]) -> Output {
        let output = self.cli.run(&[&["dlq"], args].concat());
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        serde_json::from_slice(&self.ctl(&all).stdout).unwrap()
    }
}

fn catalog() -> Vec<Dead> {
    vec![
        Dead {
            source: "hr",
            stream: "workers",
            key: "hr/workers/1",
            offset: 3,
            payload: json!({"id": 1, "name": "Ada"}),
            redrives: None,
        },
        Dead {
            source: "hr",
            stream: "workers",
            key: "hr/workers/2",
            offset: 5,
            payload: json!({"id": 2}),
            redrives: None,
        },
        Dead {
            source: "finance",
            stream: "suppliers",
            key: "finance/suppliers/9",
            offset: 8,
            payload: json!({"id": 9}),
            redrives: None,
        },
        Dead {
            source: "hr",
            stream: "workers",
            key: "hr/workers/3",
            offset: 9,
            payload: json!({"id": 3}),
            redrives: Some("3"),
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_counted_and_shown_with_their_error_and_payload() {
    let s = setup(&catalog()).await;
    let groups = s.json(&["list"]);
    let counts: Vec<(String, i64)> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["source_stream"].as_str().unwrap().to_owned(),
                g["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("finance/suppliers".to_owned(), 1),
            ("hr/workers".to_owned(), 3)
        ]
    );
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["stage"] == "transformer" && g["class"] == "invalid_input")
    );

    let shown = s.json(&["show", "--source", "hr", "--key", "hr/workers/1"]);
    let letters = shown.as_array().unwrap();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter["message"], "missing required field");
    assert_eq!(letter["path"], "/email");
    assert_eq!(letter["origin"], format!("{}/0/3", s.topics.topics.raw()));
    assert_eq!(
        letter["payload"],
        json!({"id": 1, "name": "Ada"}),
        "the original payload, parsed"
    );

    let text =
        String::from_utf8_lossy(&s.ctl(&["show", "--stream", "suppliers"]).stdout).into_owned();
    assert!(
        text.contains("finance/suppliers/9") && text.contains("\"id\": 9"),
        "{text}"
    );
    assert!(text.contains("shown: 1 of 1"), "{text}");

    let status = s.cli.run(&["status", "--stage", "transformer", "--json"]);
    let stages: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(stages[0]["dead_letters"], 4, "{stages}");
    assert_eq!(
        stages[0]["dead_letters_last_hour"], 4,
        "all written just now"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_republishes_the_originals_once_and_refuses_records_redriven_too_often() {
    let s = setup(&catalog()).await;
    let raw = s.topics.topics.raw();
    let dry = s.json(&["redrive", "--stage", "transformer", "--source", "hr"]);
    let actions: Vec<&str> = dry["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["redrive", "redrive", "refused"]);
    assert_eq!(dry["executed"], false);
    assert!(
        drain(&s.stack, &raw, Duration::from_secs(30))
            .await
            .is_empty(),
        "a dry run publishes nothing"
    );

    let done = s.json(&[
        "redrive",
        "--stage",
        "transformer",
        "--source",
        "hr",
        "--execute",
    ]);
    assert_eq!(done["executed"], true);
    let again = s.json(&["redrive", "--stage", "transformer", "--execute"]);
    let actions: Vec<&str> = again["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["already_redriven", "already_redriven", "redrive", "refused"]
    );

    let republished = drain(&s.stack, &raw, Duration::from_secs(30)).await;
    let keys: Vec<&[u8]> = republished.iter().filter_map(|m| m.key()).collect();
    assert_eq!(
        keys,
        [
            &b"hr/workers/1"[..],
            b"hr/workers/2",
            b"finance/suppliers/9"
        ],
        "each once"
    );
    let first = &republished[0];
    let value: Value = serde_json::from_slice(first.payload().unwrap()).unwrap();
    assert_eq!(value, json!({"id": 1, "name": "Ada"}));
    let header = |name: &str| {
        first
            .headers()
            .unwrap()
            .iter()
            .find(|h| h.key == name)
            .and_then(|h| h.value)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    };
    assert_eq!(
        header(headers::SOURCE).as_deref(),
        Some("hr"),
        "original headers kept"
    );
    assert_eq!(header(headers::REDRIVE_COUNT).as_deref(), Some("1"));
    assert_eq!(
        header(headers::REDRIVE_OF),
        Some(format!(
            "{}/0/0",
            s.topics.topics.dead_letters("transformer")
        ))
    );
    assert_eq!(
        header(headers::ERROR_MESSAGE),
        None,
        "error headers dropped"
    );
}
