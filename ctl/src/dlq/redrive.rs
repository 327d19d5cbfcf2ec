//! `canonflow dlq redrive`: re-publish selected dead letters to the topic
//! they came from, once the mapping (or the data) is fixed, so that the
//! stage processes them again.
//!
//! A dry run by default. A redriven record is the original — key, payload,
//! headers — without the error headers, plus how often it was redriven and
//! from which dead letter. A record redriven `--max-redrives` times already
//! is refused: it keeps failing, and needs a person, not a loop.
//!
//! Redriving is idempotent per dead letter: each redriven record and a
//! marker keyed by its dead letter's coordinates (on `<prefix>.dlq.redriven`)
//! go out in one Kafka transaction, and a dead letter with a marker is
//! skipped — so running the same redrive twice publishes nothing twice.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Duration;

use canonflow_canonical::EntityKind;
use canonflow_common::Deployment;
use canonflow_common::headers;
use canonflow_common::kafka::{self, KafkaConfig, TopicSpec};
use chrono::Utc;
use rdkafka::Message;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde::Serialize;

use super::{Filter, Letter, Stage};

const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage whose dead letters to redrive.
    #[arg(long, value_enum)]
    stage: Stage,
    #[command(flatten)]
    filter: Filter,
    /// Refuse records already redriven this many times.
    #[arg(long, default_value_t = 3)]
    max_redrives: u32,
    /// Publish. Without it, print the plan and change nothing.
    #[arg(long)]
    execute: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Action {
    Redrive,
    AlreadyRedriven,
    Refused,
}

/// What happens to one dead letter.
#[derive(Debug, Serialize)]
struct Item {
    dead_letter: String,
    origin: String,
    key: Option<String>,
    action: Action,
    why: Option<String>,
    /// The topic it is (or would be) published to.
    to: Option<String>,
}

#[derive(Debug, Serialize)]
struct Plan {
    executed: bool,
    items: Vec<Item>,
}

pub async fn run(deployment: &Deployment, args: &Args) -> anyhow::Result<ExitCode> {
    let inputs: Vec<String> = match args.stage {
        Stage::Fetcher => anyhow::bail!(
            "the fetcher's dead letters are source records it could not read: fix the source or \
             its configuration, then fetch them again with a watermark reset"
        ),
        Stage::Transformer => vec![deployment.topics.raw()],
        Stage::Sink => EntityKind::ALL
            .iter()
            .map(|k| deployment.topics.canonical(k.name()))
            .collect(),
    };
    let letters = super::read(deployment, Some(args.stage), &args.filter).await?;
    let markers = deployment.topics.redriven();
    let kafka = deployment.kafka.clone();
    let topic = markers.clone();
    let done: HashSet<String> = tokio::task::spawn_blocking(move || {
        let read = crate::read::read_all(&kafka, &topic, super::READ_DEADLINE)?;
        Ok::<_, anyhow::Error>(
            read.messages
                .iter()
                .filter_map(|m| m.key().map(|k| String::from_utf8_lossy(k).into_owned()))
                .collect(),
        )
    })
    .await??;
    let items: Vec<Item> = letters
        .iter()
        .map(|l| plan(l, &inputs, &done, args.max_redrives))
        .collect();
    let mut executed = false;
    if args.execute && items.iter().any(|i| i.action == Action::Redrive) {
        kafka::ensure_topics(
            &deployment.kafka,
            "ctl",
            &[TopicSpec {
                name: markers.clone(),
                partitions: 1,
                configs: vec![("cleanup.policy", "compact".into())],
            }],
        )
        .await?;
        let chosen: Vec<(Letter, String)> = letters
            .into_iter()
            .zip(&items)
            .filter(|(_, item)| item.action == Action::Redrive)
            .filter_map(|(letter, item)| item.to.clone().map(|to| (letter, to)))
            .collect();
        let kafka = deployment.kafka.clone();
        let id = format!("{}-ctl-redrive", deployment.topics.prefix);
        tokio::task::spawn_blocking(move || publish(&kafka, &id, &markers, &chosen)).await??;
        executed = true;
    }
    let plan = Plan { executed, items };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print(&plan);
    }
    Ok(ExitCode::SUCCESS)
}

fn plan(letter: &Letter, inputs: &[String], done: &HashSet<String>, max: u32) -> Item {
    let to = letter
        .origin
        .rsplitn(3, '/')
        .nth(2)
        .filter(|topic| inputs.iter().any(|i| i == topic))
        .map(str::to_owned);
    let (action, why) = if done.contains(&letter.at) {
        (Action::AlreadyRedriven, None)
    } else if to.is_none() {
        let why = format!(
            "its origin {:?} is not one of the stage's input topics",
            letter.origin
        );
        (Action::Refused, Some(why))
    } else if letter.redrives >= max {
        let why = format!(
            "redriven {} times already (--max-redrives {max})",
            letter.redrives
        );
        (Action::Refused, Some(why))
    } else {
        (Action::Redrive, None)
    };
    Item {
        dead_letter: letter.at.clone(),
        origin: letter.origin.clone(),
        key: letter.key.clone(),
        action,
        why,
        to,
    }
}

/// Each record and its marker, all in one transaction.
fn publish(
    kafka: &KafkaConfig,
    transactional_id: &str,
    markers: &str,
    chosen: &[(Letter, String)],
) -> anyhow::Result<()> {
    let producer: BaseProducer = kafka
        .transactional_producer_config("ctl", transactional_id)?
        .create()?;
    producer.init_transactions(TIMEOUT)?;
    producer.begin_transaction()?;
    let now = Utc::now().to_rfc3339();
    for (letter, to) in chosen {
        let record = &letter.record;
        let mut out = BaseRecord::<[u8], [u8]>::to(to).headers(redriven_headers(letter));
        if let Some(key) = record.key() {
            out = out.key(key);
        }
        if let Some(payload) = record.payload() {
            out = out.payload(payload);
        }
        send(&producer, out)?;
        let marker = serde_json::json!({ "to": to, "at": now }).to_string();
        send(
            &producer,
            BaseRecord::to(markers)
                .key(letter.at.as_bytes())
                .payload(marker.as_bytes()),
        )?;
    }
    producer.commit_transaction(TIMEOUT)?;
    Ok(())
}

/// Sends, waiting while the producer's queue is full.
fn send(producer: &BaseProducer, mut record: BaseRecord<'_, [u8], [u8]>) -> anyhow::Result<()> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((
                rdkafka::error::KafkaError::MessageProduction(
                    rdkafka::types::RDKafkaErrorCode::QueueFull,
                ),
                back,
            )) => {
                producer.poll(Duration::from_millis(100));
                record = back;
            }
            Err((e, _)) => return Err(e.into()),
        }
    }
}

/// The original headers without the error headers or an earlier redrive's,
/// plus this redrive's count and source.
fn redriven_headers(letter: &Letter) -> OwnedHeaders {
    let mut out = OwnedHeaders::new();
    if let Some(original) = letter.record.headers() {
        for header in original.iter() {
            let ours = header.key.starts_with("canonflow.error.")
                || header.key == headers::REDRIVE_COUNT
                || header.key == headers::REDRIVE_OF;
            if !ours {
                out = out.insert(header);
            }
        }
    }
    let count = (letter.redrives + 1).to_string();
    out.insert(Header {
        key: headers::REDRIVE_COUNT,
        value: Some(count.as_str()),
    })
    .insert(Header {
        key: headers::REDRIVE_OF,
        value: Some(letter.at.as_str()),
    })
}

fn print(plan: &Plan) {
    println!(
        "{:<40} {:<36} {:<28} action",
        "dead letter", "origin", "key"
    );
    for i in &plan.items {
        let action = match i.action {
            Action::Redrive => "redrive".to_owned(),
            Action::AlreadyRedriven => "skip: already redriven".to_owned(),
            Action::Refused => format!("refused: {}", i.why.as_deref().unwrap_or("")),
        };
        println!(
            "{:<40} {:<36} {:<28} {action}",
            i.dead_letter,
            i.origin,
            i.key.as_deref().unwrap_or("-")
        );
    }
    let count = |a: Action| plan.items.iter().filter(|i| i.action == a).count();
    println!(
        "total: {} to redrive, {} already redriven, {} refused",
        count(Action::Redrive),
        count(Action::AlreadyRedriven),
        count(Action::Refused)
    );
    if plan.executed {
        println!("Redriven: the stage processes them as it reaches them.");
    } else if count(Action::Redrive) > 0 {
        println!("Dry run: nothing published. Add --execute to redrive.");
    }
}
