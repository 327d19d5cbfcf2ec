//! The transformer as its own release process on the local broker: its
//! configuration file, its consumer group's committed offsets polled until
//! every raw record is committed, its peak RSS, and what it logged.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use canonflow_common::kafka::KafkaConfig;
use canonflow_common::topics::Topics;
use canonflow_testkit::bench::processes::{self, Watched};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

/// What the transformer is given.
#[derive(Debug)]
pub struct Setup<'a> {
    pub bootstrap_servers: &'a str,
    pub topics: &'a Topics,
    pub partitions: i32,
    /// Transformer copies in the one group.
    pub copies: usize,
    pub records: usize,
    /// librdkafka properties, as for the limit.
    pub properties: &'a [(String, String)],
    /// Further `[transformer]` lines (`CANONFLOW_BENCH_TRANSFORMER`).
    pub settings: &'a str,
    pub dir: &'a Path,
}

/// How the run went.
#[derive(Debug)]
pub struct Run {
    /// Timings, memory and CPU of the copies.
    pub watched: Watched,
    pub copies: usize,
    /// The transformer's own count of what it did.
    pub totals: Option<String>,
    /// Warnings and errors it logged: message, count.
    pub warnings: Vec<(String, usize)>,
}

/// Runs the transformer copies over the loaded raw topic and watches them
/// until every copy exits by itself.
pub fn run(setup: &Setup<'_>) -> Run {
    let group = canonflow_testkit::unique("bench-transformer");
    let config_file = setup.dir.join("transformer.toml");
    std::fs::write(&config_file, config(setup, &group)).unwrap();
    let log_files: Vec<PathBuf> = (0..setup.copies.max(1))
        .map(|copy| setup.dir.join(format!("transformer.{copy}.log")))
        .collect();
    let committed = Committed::new(setup, &group);
    let watched = processes::watch(
        "transformer",
        setup.records,
        crate::deadline(setup.records),
        &log_files[0],
        || committed.sum(),
        || {
            log_files
                .iter()
                .enumerate()
                .map(|(copy, log)| spawn(&config_file, log, copy))
                .collect()
        },
    );
    let (totals, warnings) = processes::read_log(&log_files[0], "transformer stopping");
    log_files.iter().for_each(|log| processes::keep_log(log));
    Run {
        watched,
        copies: log_files.len(),
        totals,
        warnings,
    }
}

/// The release binary (copy number `copy`), logging JSON lines to
/// `log_file`; each copy its own transactional id.
pub fn spawn(config_file: &Path, log_file: &Path, copy: usize) -> Child {
    let instance = format!("bench-{copy}");
    processes::spawn(
        Path::new(env!("CARGO_BIN_EXE_canonflow-transformer")),
        config_file,
        log_file,
        &[("CANONFLOW__TRANSFORMER__INSTANCE_ID", &instance)],
    )
}

pub fn config(setup: &Setup<'_>, group: &str) -> String {
    let mappings: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/mappings");
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
         [transformer]\nmappings_dir = {:?}\ngroup_id = {group:?}\npartitions = {}\n\
         exit_when_idle_secs = 5\n{}\n",
        setup.bootstrap_servers,
        canonflow_common::kafka::local::SESSION_TIMEOUT_MS,
        setup.topics.prefix,
        mappings.canonicalize().unwrap(),
        setup.partitions,
        setup.settings,
    )
}

/// Reads a group's committed offsets on the raw topic without joining it.
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
        for p in 0..setup.partitions {
            partitions.add_partition(&setup.topics.raw(), p);
        }
        Self {
            consumer,
            partitions,
        }
    }

    /// Committed offsets summed over the partitions: the raw topic was
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
