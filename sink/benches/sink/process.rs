//! The sink as its own release process: its configuration file, its
//! consumer group's committed offsets over every canonical topic polled
//! until all records are committed, its peak RSS and CPU by thread, the
//! CPU PostgreSQL and the broker spent meanwhile, and what it logged.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use canonflow_canonical::EntityKind;
use canonflow_common::kafka::KafkaConfig;
use canonflow_common::topics::Topics;
use canonflow_testkit::bench::processes::{self, Watched};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

/// What one run of the sink is given.
#[derive(Debug)]
pub struct Setup<'a> {
    /// Names the run in files and the group.
    pub phase: &'a str,
    pub bootstrap_servers: &'a str,
    pub postgres_url: &'a str,
    pub topics: &'a Topics,
    pub schema: &'a str,
    pub records: usize,
    /// Sink copies in the one group (`CANONFLOW_BENCH_COPIES`).
    pub copies: usize,
    /// librdkafka properties (`CANONFLOW_BENCH_KAFKA`).
    pub properties: &'a [(String, String)],
    /// Further `[sink]` lines (`CANONFLOW_BENCH_SINK`).
    pub settings: &'a str,
    pub dir: &'a Path,
}

/// How the run went.
#[derive(Debug)]
pub struct Run {
    /// Timings, memory and CPU of the copies.
    pub watched: Watched,
    /// The first copy's own count of what it did.
    pub totals: Option<String>,
    /// Warnings and errors the copies logged: message, count.
    pub warnings: Vec<(String, usize)>,
}

/// Runs the sink's copies over `setup.topics` in a new group and watches
/// them until they exit by themselves.
pub fn run(setup: &Setup<'_>) -> Run {
    let group = canonflow_testkit::unique(&format!("bench-sink-{}", setup.phase));
    let config_file = setup.dir.join(format!("sink-{}.toml", setup.phase));
    std::fs::write(&config_file, config(setup, &group)).unwrap();
    let log_files: Vec<PathBuf> = (0..setup.copies.max(1))
        .map(|copy| match copy {
            0 => setup.dir.join(format!("sink-{}.log", setup.phase)),
            _ => setup.dir.join(format!("sink-{}.{copy}.log", setup.phase)),
        })
        .collect();
    let committed = Committed::new(setup, &group);
    let stage = format!("sink ({})", setup.phase);
    let watched = processes::watch(
        &stage,
        setup.records,
        crate::deadline(setup.records),
        &log_files[0],
        || committed.sum(),
        || {
            log_files
                .iter()
                .map(|log| spawn(setup, &config_file, log))
                .collect()
        },
    );
    let (totals, _) = processes::read_log(&log_files[0], "sink stopped");
    let mut warnings: Vec<(String, usize)> = Vec::new();
    for log in &log_files {
        for (warning, count) in processes::read_log(log, "sink stopped").1 {
            match warnings.iter_mut().find(|(known, _)| *known == warning) {
                Some((_, sum)) => *sum += count,
                None => warnings.push((warning, count)),
            }
        }
        processes::keep_log(log);
    }
    Run {
        watched,
        totals,
        warnings,
    }
}

/// The release binary, logging JSON lines to `log_file`; the database URL
/// through the environment, not the file.
fn spawn(setup: &Setup<'_>, config_file: &Path, log_file: &Path) -> Child {
    processes::spawn(
        Path::new(env!("CARGO_BIN_EXE_canonflow-sink")),
        config_file,
        log_file,
        &[("CANONFLOW__POSTGRES__URL", setup.postgres_url)],
    )
}

fn config(setup: &Setup<'_>, group: &str) -> String {
    let properties: String = setup
        .properties
        .iter()
        .map(|(key, value)| format!("{key:?} = {value:?}\n"))
        .collect();
    format!(
        "[kafka]\nbootstrap_servers = {:?}\nsession_timeout_ms = {}\n\
         [kafka.properties]\n{properties}\
         [topics]\nprefix = {:?}\n\
         [telemetry]\nlog_format = \"json\"\n\
         [sink]\nschema = {:?}\ngroup_id = {group:?}\nexit_when_idle_secs = 5\n{}\n",
        setup.bootstrap_servers,
        canonflow_common::kafka::local::SESSION_TIMEOUT_MS,
        setup.topics.prefix,
        setup.schema,
        setup.settings,
    )
}

/// Reads a group's committed offsets on the canonical topics without
/// joining it.
struct Committed {
    consumer: BaseConsumer,
    partitions: TopicPartitionList,
}

impl Committed {
    fn new(setup: &Setup<'_>, group: &str) -> Self {
        let consumer = KafkaConfig::local(setup.bootstrap_servers)
            .consumer_config("bench-watch", group)
            .unwrap()
            .create()
            .unwrap();
        let mut partitions = TopicPartitionList::new();
        for kind in EntityKind::ALL {
            for p in 0..crate::partitions() {
                partitions.add_partition(&setup.topics.canonical(kind.name()), p);
            }
        }
        Self {
            consumer,
            partitions,
        }
    }

    /// Committed offsets summed over all partitions: the topics were
    /// loaded without transactions, so offsets count records.
    fn sum(&self) -> i64 {
        let Ok(committed) = self
            .consumer
            .committed_offsets(self.partitions.clone(), Duration::from_secs(5))
        else {
            return 0;
        };
        committed
            .elements()
            .iter()
            .map(|e| match e.offset() {
                Offset::Offset(o) => o,
                _ => 0,
            })
            .sum()
    }
}
