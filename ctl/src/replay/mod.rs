//! `canonflow replay`: move a stage's consumer-group offsets back (or
//! forward) on its input topics, so that its copies process those records
//! again when they start — with a new mapping, after a fix, after a restore.
//!
//! A dry run by default: it prints the plan (partition, current, target,
//! records to process again) and changes nothing. `--execute` applies it,
//! and only to a group without members: offsets of a running group would be
//! overwritten by its next commit, so the copies must be stopped first.

mod plan;

use std::process::ExitCode;

use anyhow::Context;
use canonflow_common::Deployment;
use canonflow_common::config::ConfigSource;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::offsets::{GroupClient, Partition, group_of};
pub use plan::{Step, Target, step};

/// The stages that consume with a group of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Reads the raw topic.
    Transformer,
    /// Reads the canonical topics.
    Sink,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Self::Transformer => "transformer",
            Self::Sink => "sink",
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The stage whose consumer group to move.
    #[arg(long, value_enum)]
    stage: Stage,
    #[command(flatten)]
    to: ToArgs,
    /// Only these partitions (e.g. `0,3`); default: all.
    #[arg(long, value_delimiter = ',')]
    partitions: Vec<i32>,
    /// Only this one of the stage's input topics; default: all.
    #[arg(long)]
    topic: Option<String>,
    /// Apply the plan. Without it, print the plan and change nothing.
    #[arg(long)]
    execute: bool,
    /// Print the plan as JSON (for scripts).
    #[arg(long)]
    json: bool,
}

/// Where to move the offsets: exactly one.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct ToArgs {
    /// To each partition's first offset: everything still in the topic.
    #[arg(long)]
    to_earliest: bool,
    /// To the first record at or after this time (RFC 3339, e.g.
    /// `2026-12-01T08:00:00Z`).
    #[arg(long)]
    to_datetime: Option<String>,
    /// To the first record at or after this long ago (e.g. `90m`, `2h`, `1d`).
    #[arg(long)]
    by_duration: Option<String>,
    /// To this offset in every chosen partition, or per partition as
    /// `PARTITION:OFFSET` pairs (`0:1500,1:20`).
    #[arg(long, value_delimiter = ',')]
    to_offset: Vec<String>,
}

/// The plan as printed and, with `--json`, as output.
#[derive(Debug, Serialize)]
struct Plan {
    stage: Stage,
    group: String,
    /// What was asked for, in words.
    to: String,
    /// Members of the group when the plan was made.
    members: Vec<String>,
    executed: bool,
    steps: Vec<Step>,
}

pub async fn run(
    config: &ConfigSource,
    deployment: &Deployment,
    args: &Args,
) -> anyhow::Result<ExitCode> {
    let (group, mut topics) = stage_inputs(config, deployment, args.stage)?;
    if let Some(topic) = &args.topic {
        anyhow::ensure!(
            topics.contains(topic),
            "{topic} is not an input of the {:?} stage; its inputs are {topics:?}",
            args.stage
        );
        topics = vec![topic.clone()];
    }
    let to = parse_to(&args.to)?;
    let kafka = deployment.kafka.clone();
    let (chosen, execute) = (args.partitions.clone(), args.execute);
    let stage = args.stage;
    let plan = tokio::task::spawn_blocking(move || -> anyhow::Result<Plan> {
        let client = GroupClient::new(&kafka, &group)?;
        let partitions: Vec<Partition> = client
            .partitions(&topics)?
            .into_iter()
            .filter(|p| chosen.is_empty() || chosen.contains(&p.partition))
            .collect();
        anyhow::ensure!(
            !partitions.is_empty(),
            "no partition {chosen:?} in {topics:?}"
        );
        let members = client.members()?;
        let steps = plan_steps(&client, &partitions, &to)?;
        let mut plan = Plan {
            stage,
            group,
            to: to.describe(),
            members,
            executed: false,
            steps,
        };
        if execute {
            apply(&client, &partitions, &mut plan)?;
        }
        Ok(plan)
    })
    .await??;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&plan)?);
    } else {
        print(&plan);
    }
    Ok(ExitCode::SUCCESS)
}

/// The stage's consumer group and input topics, from the deployment's
/// configuration (the stages' own sections, so they cannot disagree).
pub(crate) fn stage_inputs(
    config: &ConfigSource,
    deployment: &Deployment,
    stage: Stage,
) -> anyhow::Result<(String, Vec<String>)> {
    let topics = &deployment.topics;
    Ok(match stage {
        Stage::Transformer => {
            let group = group_of(
                config,
                "transformer",
                canonflow_transformer::settings::DEFAULT_GROUP_ID,
            )?;
            (group, vec![topics.raw()])
        }
        Stage::Sink => {
            let settings: canonflow_sink::SinkConfig = config.section_or_default("sink")?;
            let names: Vec<String> = match settings.entities {
                Some(names) => names,
                None => canonflow_canonical::EntityKind::ALL
                    .iter()
                    .map(|k| k.name().to_owned())
                    .collect(),
            };
            let inputs = names.iter().map(|n| topics.canonical(n)).collect();
            (settings.group_id, inputs)
        }
    })
}

/// What `--to-…` asked for.
#[derive(Debug, Clone)]
enum To {
    Earliest,
    Time(DateTime<Utc>),
    /// `(partition or every partition, offset)`.
    Offsets(Vec<(Option<i32>, i64)>),
}

impl To {
    fn describe(&self) -> String {
        match self {
            Self::Earliest => "the earliest offsets".to_owned(),
            Self::Time(t) => format!("the first records at or after {}", t.to_rfc3339()),
            Self::Offsets(o) => format!("the offsets given ({o:?})"),
        }
    }
}

fn parse_to(to: &ToArgs) -> anyhow::Result<To> {
    if to.to_earliest {
        return Ok(To::Earliest);
    }
    if let Some(text) = &to.to_datetime {
        let time = DateTime::parse_from_rfc3339(text).with_context(|| {
            format!("--to-datetime {text:?}: expected RFC 3339, e.g. 2026-12-01T08:00:00Z")
        })?;
        return Ok(To::Time(time.with_timezone(&Utc)));
    }
    if let Some(text) = &to.by_duration {
        let back = humantime::parse_duration(text)
            .with_context(|| format!("--by-duration {text:?}: expected e.g. 90m, 2h, 1d"))?;
        return Ok(To::Time(Utc::now() - chrono::Duration::from_std(back)?));
    }
    let offsets = to
        .to_offset
        .iter()
        .map(|item| {
            let parsed = match item.split_once(':') {
                Some((p, o)) => p
                    .trim()
                    .parse()
                    .map(Some)
                    .and_then(|p| Ok((p, o.trim().parse()?))),
                None => item.trim().parse().map(|o| (None, o)),
            };
            parsed.with_context(|| {
                format!("--to-offset {item:?}: expected OFFSET or PARTITION:OFFSET")
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(To::Offsets(offsets))
}

fn plan_steps(
    client: &GroupClient,
    partitions: &[Partition],
    to: &To,
) -> anyhow::Result<Vec<Step>> {
    let current = client.committed(partitions)?;
    let targets: Vec<Target> = match to {
        To::Earliest => vec![Target::Earliest; partitions.len()],
        To::Time(time) => client
            .offsets_for_time(partitions, time.timestamp_millis())?
            .into_iter()
            .map(Target::AtTime)
            .collect(),
        To::Offsets(given) => partitions
            .iter()
            .map(|p| {
                given
                    .iter()
                    .rev()
                    .find(|(partition, _)| partition.is_none_or(|n| n == p.partition))
                    .map(|(_, offset)| Target::Offset(*offset))
                    .with_context(|| format!("no --to-offset for partition {}", p.partition))
            })
            .collect::<anyhow::Result<_>>()?,
    };
    Ok(partitions
        .iter()
        .zip(current)
        .zip(targets)
        .map(|((p, current), target)| step(&p.topic, p.partition, current, p.first, p.end, target))
        .collect())
}

/// Commits the plan's targets, refusing while the group has members, and
/// reads them back.
fn apply(client: &GroupClient, partitions: &[Partition], plan: &mut Plan) -> anyhow::Result<()> {
    anyhow::ensure!(
        plan.members.is_empty(),
        "group {} has {} active member(s): {}. Stop the {:?} stage's copies first: a running copy \
         would overwrite the new offsets with its next commit. Nothing was changed.",
        plan.group,
        plan.members.len(),
        plan.members.join(", "),
        plan.stage
    );
    let targets: Vec<i64> = plan.steps.iter().map(|s| s.target).collect();
    client.commit(partitions, &targets)?;
    let now = client.committed(partitions)?;
    let expected: Vec<Option<i64>> = targets.iter().copied().map(Some).collect();
    anyhow::ensure!(
        now == expected,
        "the broker accepted the commit but reports {now:?} instead of {expected:?}"
    );
    plan.executed = true;
    Ok(())
}

fn print(plan: &Plan) {
    println!(
        "Replay plan for group {} ({:?} stage), to {}:",
        plan.group, plan.stage, plan.to
    );
    println!(
        "{:<36} {:>9} {:>12} {:>12} {:>12} {:>12}  note",
        "topic", "partition", "current", "target", "reprocess", "skip"
    );
    for s in &plan.steps {
        let current = s.current.map_or_else(|| "-".to_owned(), |c| c.to_string());
        println!(
            "{:<36} {:>9} {current:>12} {:>12} {:>12} {:>12}  {}",
            s.topic,
            s.partition,
            s.target,
            s.reprocess,
            s.skip,
            s.note.as_deref().unwrap_or("")
        );
    }
    let reprocess: i64 = plan.steps.iter().map(|s| s.reprocess).sum();
    let skip: i64 = plan.steps.iter().map(|s| s.skip).sum();
    println!(
        "total: {reprocess} records to process again, {skip} to skip, in {} partitions",
        plan.steps.len()
    );
    if plan.executed {
        println!("Applied: the group's copies start from the targets when they start.");
    } else {
        if !plan.members.is_empty() {
            println!(
                "The group has active members ({}): stop them before --execute.",
                plan.members.join(", ")
            );
        }
        println!("Dry run: nothing changed. Add --execute to apply this plan.");
    }
}
