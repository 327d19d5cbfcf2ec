//! `canonflow topics create`: the topics of every stage configured in the
//! deployment, with the settings the stages themselves use on their first
//! start (partitions from the configuration; compacted watermarks and
//! canonical topics; unlimited retention for the raw and dead-letter
//! topics). Replication and `min.insync.replicas` are the brokers'
//! defaults. Existing topics are left as they are.
//!
//! Stages create their topics on start too; running this first, as a
//! deployment's one-shot job, keeps several copies of a stage from racing
//! to create them and lets an operator review the topics before any data
//! flows.

use std::process::ExitCode;

use canonflow_common::config::{ConfigSource, Deployment};
use canonflow_common::kafka::{self, TopicSpec};
use clap::Subcommand;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The topics of each stage whose section the configuration has
    /// (a plan unless --execute).
    Create {
        /// Create them (those that exist are left as they are).
        #[arg(long)]
        execute: bool,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(
    config: &ConfigSource,
    deployment: &Deployment,
    command: &Command,
) -> anyhow::Result<ExitCode> {
    let Command::Create { execute, json } = *command;
    let mut plan: Vec<(&str, Vec<TopicSpec>)> = Vec::new();
    if config.has("fetcher") {
        plan.push(("fetcher", canonflow_fetcher::topics(config)?));
    }
    if config.has("transformer") {
        plan.push(("transformer", canonflow_transformer::topics(config)?));
    }
    // The sink's section is optional: it has defaults for every key.
    plan.push(("sink", canonflow_sink::topics(config)?));
    if execute {
        for (stage, specs) in &plan {
            kafka::ensure_topics(&deployment.kafka, "ctl", specs)
                .await
                .map_err(|e| anyhow::anyhow!("{stage}'s topics: {e}"))?;
        }
    }
    if json {
        let stages: Vec<_> = plan
            .iter()
            .map(|(stage, specs)| json!({ "stage": stage, "topics": specs.iter().map(spec_json).collect::<Vec<_>>() }))
            .collect();
        println!("{}", json!({ "executed": execute, "stages": stages }));
    } else {
        for (stage, specs) in &plan {
            for spec in specs {
                println!("{stage}\t{}", describe(spec));
            }
        }
        for stage in ["fetcher", "transformer"]
            .into_iter()
            .filter(|s| !config.has(s))
        {
            eprintln!("note: no [{stage}] section; its topics are created when it starts");
        }
        if !execute {
            eprintln!("plan only: run again with --execute to create the topics that do not exist");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn spec_json(spec: &TopicSpec) -> serde_json::Value {
    let configs: serde_json::Map<_, _> = spec
        .configs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    json!({ "name": spec.name, "partitions": spec.partitions, "configs": configs })
}

/// `name  partitions=N  key=value …`.
fn describe(spec: &TopicSpec) -> String {
    let configs: Vec<String> = spec
        .configs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!(
        "{}\tpartitions={}\t{}",
        spec.name,
        spec.partitions,
        configs.join(" ")
    )
}
