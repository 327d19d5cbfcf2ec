//! `canonflow watermarks`: `show` every stream's latest checkpoint — sync
//! state, watermark, progress, owner and age — read from the watermarks
//! topic; `reset` one stream's watermark (`reset.rs`).
//!
//! Reads the whole topic (`read`); the last checkpoint of each key wins, as
//! compaction would keep it.

mod reset;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use canonflow_common::Deployment;
use canonflow_common::config::ConfigSource;
use canonflow_fetcher::checkpoint::{Checkpoint, SENTINEL_PREFIX};
use canonflow_fetcher::cursor::CursorValue;
use chrono::Utc;
use rdkafka::Message;

use crate::read::read_all;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Show every stream's sync state and watermark.
    Show {
        /// Seconds to spend reading the topic.
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
    },
    /// Set one stream's watermark, or clear it to force a full sync (dry
    /// run unless --execute).
    Reset(reset::Args),
}

pub async fn run(
    config: &ConfigSource,
    deployment: &Deployment,
    command: &Command,
) -> anyhow::Result<ExitCode> {
    let timeout_secs = match command {
        Command::Show { timeout_secs } => timeout_secs,
        Command::Reset(args) => return reset::run(config, deployment, args).await,
    };
    let latest = latest(deployment, Duration::from_secs(*timeout_secs)).await?;
    println!(
        "{:<28} {:<11} {:<26} {:>7} {:>9} {:>8}  owner",
        "source/stream", "state", "watermark", "pages", "records", "age"
    );
    for (key, c) in &latest {
        let watermark = text(c.watermark())?;
        let age = (Utc::now() - c.updated_at).num_seconds();
        println!(
            "{key:<28} {:<11} {watermark:<26} {:>7} {:>9} {:>7}s  {}",
            format!("{:?}", c.state).to_lowercase(),
            c.pages,
            c.records,
            age,
            c.owner
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A watermark as people write it: `-` when there is none.
fn text(watermark: Option<CursorValue>) -> anyhow::Result<String> {
    Ok(match watermark {
        Some(w) => serde_json::to_value(w)?
            .as_object()
            .and_then(|o| o.values().next().cloned())
            .map_or_else(String::new, |v| v.to_string().trim_matches('"').to_owned()),
        None => "-".to_owned(),
    })
}

/// Every stream's latest checkpoint, by `source/stream`.
async fn latest(
    deployment: &Deployment,
    deadline: Duration,
) -> anyhow::Result<BTreeMap<String, Checkpoint>> {
    let topic = deployment.topics.watermarks();
    let kafka = deployment.kafka.clone();
    tokio::task::spawn_blocking(move || read_latest(&kafka, &topic, deadline)).await?
}

fn read_latest(
    kafka: &canonflow_common::kafka::KafkaConfig,
    topic: &str,
    deadline: Duration,
) -> anyhow::Result<BTreeMap<String, Checkpoint>> {
    let read = read_all(kafka, topic, deadline)?;
    anyhow::ensure!(
        read.exists,
        "topic {topic} does not exist: has a fetcher run yet?"
    );
    let mut latest = BTreeMap::new();
    for message in &read.messages {
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        if key.starts_with(SENTINEL_PREFIX) {
            continue;
        }
        if let Ok(checkpoint) =
            serde_json::from_slice::<Checkpoint>(message.payload().unwrap_or_default())
        {
            latest.insert(key, checkpoint);
        }
    }
    Ok(latest)
}
