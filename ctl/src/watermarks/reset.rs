//! `canonflow watermarks reset SOURCE/STREAM`: set a stream's watermark to a
//! value (`--to`) or clear it (`--clear`, the next sync is a full one), to
//! force a resync after a source restored old data or a bug in a mapping
//! dropped records.
//!
//! A dry run by default. `--execute` writes a completed checkpoint with
//! the new watermark to the stream's partition of the watermarks topic, the
//! way a fetcher writes one, and only while no fetcher copy runs: the copy
//! that owns the stream would overwrite it with its next checkpoint. The
//! raw records already published stay: a resync publishes the records
//! again, which downstream treats as the no-ops they are.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use canonflow_common::Deployment;
use canonflow_common::config::ConfigSource;
use canonflow_fetcher::checkpoint::{Checkpoint, SyncState, partition_for};
use canonflow_fetcher::cursor::CursorValue;
use chrono::{DateTime, Utc};
use rdkafka::producer::{FutureProducer, FutureRecord};

use crate::offsets::{GroupClient, group_of};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stream, as `SOURCE/STREAM` (as `watermarks show` lists it).
    stream: String,
    /// The new watermark: a number, or an RFC 3339 time — as the stream's
    /// cursor is.
    #[arg(long, required_unless_present = "clear", conflicts_with = "clear")]
    to: Option<String>,
    /// Forget the watermark: the next sync fetches the whole stream.
    #[arg(long)]
    clear: bool,
    /// Write the new checkpoint. Without it, print the change only.
    #[arg(long)]
    execute: bool,
    /// Seconds to spend reading the watermarks topic.
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
}

pub async fn run(
    config: &ConfigSource,
    deployment: &Deployment,
    args: &Args,
) -> anyhow::Result<ExitCode> {
    if args.execute {
        refuse_while_fetchers_run(config, deployment).await?;
    }
    let deadline = Duration::from_secs(args.timeout_secs);
    let latest = super::latest(deployment, deadline).await?;
    let current = latest.get(&args.stream).with_context(|| {
        format!(
            "no checkpoint for {:?}: never synced, or named otherwise (known: {})",
            args.stream,
            latest.keys().cloned().collect::<Vec<_>>().join(", ")
        )
    })?;
    let new = match &args.to {
        None => None,
        Some(text) => Some(parse(text, current.watermark())?),
    };
    println!(
        "{}: watermark {} → {}{}",
        args.stream,
        super::text(current.watermark())?,
        super::text(new)?,
        if new.is_none() {
            " (the next sync is a full one)"
        } else {
            ""
        }
    );
    if !args.execute {
        println!("Dry run: nothing changed. Add --execute to write it (stop the fetchers first).");
        return Ok(ExitCode::SUCCESS);
    }
    write(deployment, current, new).await?;
    let after = super::latest(deployment, deadline).await?;
    anyhow::ensure!(
        after.get(&args.stream).map(Checkpoint::watermark) == Some(new),
        "the checkpoint was written but reads back differently"
    );
    println!("Written: the stream's next sync starts from it.");
    Ok(ExitCode::SUCCESS)
}

/// `text` as a cursor value of the same kind as `current` (a number or a
/// time); either kind when the stream has no watermark yet.
fn parse(text: &str, current: Option<CursorValue>) -> anyhow::Result<CursorValue> {
    let number = text.parse::<i64>().ok().map(CursorValue::Number);
    let time = DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| CursorValue::Timestamp(t.with_timezone(&Utc)));
    match (current, number, time) {
        (Some(CursorValue::Number(_)) | None, Some(n), _) => Ok(n),
        (Some(CursorValue::Timestamp(_)) | None, _, Some(t)) => Ok(t),
        (Some(CursorValue::Number(_)), _, _) => {
            anyhow::bail!("--to {text:?}: this stream's cursor is a number")
        }
        (_, _, _) => anyhow::bail!(
            "--to {text:?}: this stream's cursor is a time; expected RFC 3339, e.g. 2026-12-01T00:00:00Z"
        ),
    }
}

async fn refuse_while_fetchers_run(
    config: &ConfigSource,
    deployment: &Deployment,
) -> anyhow::Result<()> {
    let group = group_of(
        config,
        "fetcher",
        canonflow_fetcher::settings::DEFAULT_GROUP_ID,
    )?;
    let kafka = deployment.kafka.clone();
    let members =
        tokio::task::spawn_blocking(move || GroupClient::new(&kafka, &group)?.members()).await??;
    anyhow::ensure!(
        members.is_empty(),
        "fetcher copies are running ({}): stop them first, or the copy that owns the stream \
         overwrites the new watermark with its next checkpoint. Nothing was changed.",
        members.join(", ")
    );
    Ok(())
}

/// A completed checkpoint with watermark `new`, on the stream's partition.
async fn write(
    deployment: &Deployment,
    current: &Checkpoint,
    new: Option<CursorValue>,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let checkpoint = Checkpoint {
        v: Checkpoint::VERSION,
        source: current.source.clone(),
        stream: current.stream.clone(),
        owner: "canonflow watermarks reset".to_owned(),
        sync_run: format!("reset-{}", now.timestamp_millis()),
        state: SyncState::Completed,
        base: None,
        max_cursor: new,
        next_page: None,
        pages: 0,
        records: 0,
        published: Vec::new(),
        updated_at: now,
    };
    let topic = deployment.topics.watermarks();
    let partitions =
        canonflow_common::kafka::partition_count(&deployment.kafka, "ctl", &topic).await?;
    let key = Checkpoint::key(&current.source, &current.stream);
    let payload = serde_json::to_vec(&checkpoint)?;
    let producer: FutureProducer = deployment.kafka.producer_config("ctl")?.create()?;
    producer
        .send(
            FutureRecord::to(&topic)
                .key(&key)
                .payload(&payload)
                .partition(partition_for(&key, partitions)),
            Duration::from_secs(30),
        )
        .await
        .map_err(|(e, _)| anyhow::anyhow!("writing the checkpoint to {topic}: {e}"))?;
    Ok(())
}
