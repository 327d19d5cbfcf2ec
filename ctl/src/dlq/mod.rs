//! `canonflow dlq`: inspect dead letters and redrive them.
//!
//! `list` counts dead letters by stage, error class and source/stream with
//! their time range; `show` prints selected dead letters with their error
//! headers decoded and the original payload readable; `redrive`
//! (`redrive.rs`) re-publishes selected dead letters to the topic they came
//! from once the cause is fixed. Reading never changes anything.

mod letter;
mod redrive;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use canonflow_canonical::Catalog;
use canonflow_common::Deployment;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use letter::{Filter, Letter};

/// The stages that dead-letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    Fetcher,
    Transformer,
    Sink,
}

impl Stage {
    const ALL: [Self; 3] = [Self::Fetcher, Self::Transformer, Self::Sink];

    fn name(self) -> &'static str {
        match self {
            Self::Fetcher => "fetcher",
            Self::Transformer => "transformer",
            Self::Sink => "sink",
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Count dead letters by stage, error class and source/stream.
    List {
        /// Only this stage's dead letters; default: every stage.
        #[arg(long, value_enum)]
        stage: Option<Stage>,
        #[command(flatten)]
        filter: Filter,
        #[arg(long)]
        json: bool,
    },
    /// Print dead letters: error, origin, headers and the original payload.
    Show {
        #[arg(long, value_enum)]
        stage: Option<Stage>,
        #[command(flatten)]
        filter: Filter,
        /// At most this many, the oldest first.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Re-publish dead letters to the topic they came from (dry run unless
    /// --execute).
    Redrive(redrive::Args),
}

/// How long reading a topic may take.
const READ_DEADLINE: Duration = Duration::from_secs(120);

pub async fn run(deployment: &Deployment, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List {
            stage,
            filter,
            json,
        } => {
            let letters = read(deployment, stage, &filter).await?;
            list(&letters, json)?;
        }
        Command::Show {
            stage,
            filter,
            limit,
            json,
        } => {
            let letters = read(deployment, stage, &filter).await?;
            show(&letters[..letters.len().min(limit)], letters.len(), json)?;
        }
        Command::Redrive(args) => return redrive::run(deployment, &args).await,
    }
    Ok(ExitCode::SUCCESS)
}

/// The dead letters of `stage` (or every stage) that `filter` selects.
pub async fn read(
    deployment: &Deployment,
    stage: Option<Stage>,
    filter: &Filter,
) -> anyhow::Result<Vec<Letter>> {
    let stages: Vec<Stage> = stage.map_or_else(|| Stage::ALL.to_vec(), |s| vec![s]);
    let kafka = deployment.kafka.clone();
    let topics: Vec<String> = stages
        .iter()
        .map(|s| deployment.topics.dead_letters(s.name()))
        .collect();
    let filter = filter.clone();
    tokio::task::spawn_blocking(move || {
        let catalog = Catalog::embedded()?;
        let mut letters = Vec::new();
        for topic in &topics {
            let read = crate::read::read_all(&kafka, topic, READ_DEADLINE)?;
            if !read.short.is_empty() {
                eprintln!(
                    "note: {topic} partitions {:?} were not read to the end (a transaction still open?)",
                    read.short
                );
            }
            letters.extend(
                read.messages
                    .into_iter()
                    .map(|m| Letter::new(m, &catalog))
                    .filter(|l| filter.matches(l)),
            );
        }
        letters.sort_by_key(|l| l.time);
        Ok(letters)
    })
    .await?
}

/// One line of `list`.
#[derive(Debug, Serialize)]
struct Group {
    stage: String,
    class: String,
    source_stream: String,
    count: usize,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

fn list(letters: &[Letter], json: bool) -> anyhow::Result<()> {
    let mut groups: BTreeMap<(String, String, String), Group> = BTreeMap::new();
    for l in letters {
        let key = (l.stage.clone(), l.class.clone(), l.source_stream());
        let group = groups.entry(key).or_insert_with(|| Group {
            stage: l.stage.clone(),
            class: l.class.clone(),
            source_stream: l.source_stream(),
            count: 0,
            first: l.time,
            last: l.time,
        });
        group.count += 1;
        group.first = group.first.min(l.time).or(l.time);
        group.last = group.last.max(l.time);
    }
    let groups: Vec<Group> = groups.into_values().collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&groups)?);
        return Ok(());
    }
    println!(
        "{:<12} {:<14} {:<28} {:>7}  {:<24} {:<24}",
        "stage", "class", "source/stream", "count", "first", "last"
    );
    let time = |t: Option<DateTime<Utc>>| t.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339());
    for g in &groups {
        println!(
            "{:<12} {:<14} {:<28} {:>7}  {:<24} {:<24}",
            g.stage,
            g.class,
            g.source_stream,
            g.count,
            time(g.first),
            time(g.last)
        );
    }
    println!("total: {} dead letters", letters.len());
    Ok(())
}

fn show(letters: &[Letter], total: usize, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(letters)?);
        return Ok(());
    }
    for l in letters {
        println!("── {} ──", l.at);
        println!(
            "stage {}  class {}  at {}  redrives {}",
            l.stage,
            l.class,
            l.time.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339()),
            l.redrives
        );
        println!(
            "source/stream {}  key {}",
            l.source_stream(),
            l.key.as_deref().unwrap_or("-")
        );
        println!(
            "origin {}  mapping version {}",
            l.origin,
            l.mapping_version.as_deref().unwrap_or("-")
        );
        println!("error: {}", l.message);
        if !l.path.is_empty() {
            println!("path: {}", l.path);
        }
        println!("payload:\n{}\n", serde_json::to_string_pretty(&l.payload)?);
    }
    println!("shown: {} of {total} dead letters", letters.len());
    Ok(())
}
