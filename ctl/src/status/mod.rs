//! `canonflow status`: per stage, the consumer group's members and, per
//! input partition, the committed offset, the end offset, the lag in
//! records and in time (from the timestamp of the oldest record not yet
//! committed), and the stage's dead letters (in all, and how many the last
//! hour added). Exits 1 when a threshold
//! (`--max-lag`, `--max-lag-seconds`) is crossed, so it can back an alert
//! or a readiness check; exits 0 otherwise.
//!
//! A broker answer that cannot be right (an end offset below a committed
//! offset: the local broker counts batches, broker-compat deviation 3) is
//! said as such, never printed as a negative lag.

mod lag;

use std::process::ExitCode;

use canonflow_common::Deployment;
use canonflow_common::config::ConfigSource;
use chrono::Utc;
use serde::Serialize;

use crate::offsets::{GroupClient, Partition};
use crate::replay::{Stage, stage_inputs};
pub use lag::{Lag, lag, position};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this stage; default: the transformer and the sink.
    #[arg(long, value_enum)]
    stage: Option<Stage>,
    /// Exit 1 when any partition is more than this many records behind.
    #[arg(long)]
    max_lag: Option<i64>,
    /// Exit 1 when any partition's oldest uncommitted record is older than
    /// this many seconds.
    #[arg(long)]
    max_lag_seconds: Option<i64>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct PartitionStatus {
    topic: String,
    partition: i32,
    committed: Option<i64>,
    end: i64,
    lag: Lag,
    /// Age of the oldest record not yet committed; 0 when caught up.
    lag_seconds: Option<i64>,
}

#[derive(Debug, Serialize)]
struct StageStatus {
    stage: Stage,
    group: String,
    members: Vec<String>,
    partitions: Vec<PartitionStatus>,
    /// Records on the stage's dead-letter topic (the broker's end offsets).
    dead_letters: i64,
    /// Of which written in the last hour.
    dead_letters_last_hour: i64,
    /// Thresholds this stage crossed.
    alerts: Vec<String>,
}

pub async fn run(
    config: &ConfigSource,
    deployment: &Deployment,
    args: &Args,
) -> anyhow::Result<ExitCode> {
    let stages = args
        .stage
        .map_or_else(|| vec![Stage::Transformer, Stage::Sink], |s| vec![s]);
    let mut all = Vec::new();
    for stage in stages {
        let (group, topics) = stage_inputs(config, deployment, stage)?;
        let kafka = deployment.kafka.clone();
        let dlq = deployment.topics.dead_letters(stage.name());
        let (max_lag, max_seconds) = (args.max_lag, args.max_lag_seconds);
        let status = tokio::task::spawn_blocking(move || -> anyhow::Result<StageStatus> {
            let client = GroupClient::new(&kafka, &group)?;
            let partitions = client.partitions(&topics)?;
            let committed = client.committed(&partitions)?;
            let lags: Vec<Lag> = partitions
                .iter()
                .zip(&committed)
                .map(|(p, committed)| lag(*committed, p.first, p.end))
                .collect();
            // The oldest uncommitted record of every partition that lags,
            // all read by one consumer.
            let behind: Vec<(&Partition, i64)> = partitions
                .iter()
                .zip(&committed)
                .zip(&lags)
                .filter(|(_, lag)| lag.records.is_some_and(|n| n > 0))
                .map(|((p, committed), _)| (p, position(*committed, p.first)))
                .collect();
            let oldest = client.timestamps_at(&behind)?;
            let mut rows = Vec::new();
            for ((p, committed), lag) in partitions.iter().zip(committed).zip(lags) {
                let lag_seconds = match lag.records {
                    Some(0) => Some(0),
                    Some(_) => oldest
                        .get(&(p.topic.clone(), p.partition))
                        .copied()
                        .flatten()
                        .map(|t| (Utc::now() - t).num_seconds().max(0)),
                    None => None,
                };
                rows.push(PartitionStatus {
                    topic: p.topic.clone(),
                    partition: p.partition,
                    committed,
                    end: p.end,
                    lag,
                    lag_seconds,
                });
            }
            let dlq = client.partitions_if_exist(&dlq)?;
            let dead_letters = dlq.iter().map(|p| p.end - p.first).sum();
            // Growth: what the last hour added, by offsets-for-times (the
            // local broker answers 0 there, so it shows every dead letter:
            // broker-compat deviation 4).
            let hour_ago = (Utc::now() - chrono::Duration::hours(1)).timestamp_millis();
            let dead_letters_last_hour = client
                .offsets_for_time(&dlq, hour_ago)?
                .iter()
                .zip(&dlq)
                .map(|(from, p)| p.end - from.unwrap_or(p.end).max(p.first))
                .sum();
            let mut status = StageStatus {
                stage,
                group,
                members: client.members()?,
                partitions: rows,
                dead_letters,
                dead_letters_last_hour,
                alerts: Vec::new(),
            };
            status.alerts = alerts(&status.partitions, max_lag, max_seconds);
            Ok(status)
        })
        .await??;
        all.push(status);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        all.iter().for_each(print);
    }
    let crossed = all.iter().any(|s| !s.alerts.is_empty());
    Ok(if crossed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The thresholds crossed, in words.
fn alerts(rows: &[PartitionStatus], max_lag: Option<i64>, max_seconds: Option<i64>) -> Vec<String> {
    let mut crossed = Vec::new();
    for r in rows {
        if let (Some(max), Some(records)) = (max_lag, r.lag.records)
            && records > max
        {
            crossed.push(format!(
                "{}/{}: {records} records behind (> {max})",
                r.topic, r.partition
            ));
        }
        if let (Some(max), Some(seconds)) = (max_seconds, r.lag_seconds)
            && seconds > max
        {
            crossed.push(format!(
                "{}/{}: {seconds} s behind (> {max} s)",
                r.topic, r.partition
            ));
        }
    }
    crossed
}

fn print(s: &StageStatus) {
    println!(
        "{:?} stage — group {}: {} member(s){}",
        s.stage,
        s.group,
        s.members.len(),
        if s.members.is_empty() {
            String::new()
        } else {
            format!(" ({})", s.members.join(", "))
        }
    );
    println!(
        "  {:<36} {:>9} {:>12} {:>12} {:>10} {:>9}",
        "topic", "partition", "committed", "end", "lag", "lag (s)"
    );
    let text = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
    for r in &s.partitions {
        println!(
            "  {:<36} {:>9} {:>12} {:>12} {:>10} {:>9}",
            r.topic,
            r.partition,
            text(r.committed),
            r.end,
            text(r.lag.records),
            text(r.lag_seconds)
        );
        if let Some(why) = &r.lag.implausible {
            println!("    note: {why}");
        }
    }
    let total: i64 = s.partitions.iter().filter_map(|r| r.lag.records).sum();
    println!(
        "  lag: {total} records; dead letters: {} ({} in the last hour)",
        s.dead_letters, s.dead_letters_last_hour
    );
    for alert in &s.alerts {
        println!("  ALERT {alert}");
    }
}
