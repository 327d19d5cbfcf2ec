//! The transformer as its own release process on the local broker: its
//! configuration file, its consumer group's committed offsets polled until
//! every raw record is committed, its peak RSS, and what it logged.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use canonflow_common::kafka::KafkaConfig;
use canonflow_common::topics::Topics;
use canonflow_testkit::bench::cpu::{self, Usage};
use canonflow_testkit::bench::processes::{self, tail};
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
    /// From spawn until the group had committed every raw record.
    pub all_committed: Duration,
    /// From spawn until the first commit, and how many it covered.
    pub first_commit: (Duration, i64),
    /// From spawn until the last copy exited by itself (idle).
    pub exited: Duration,
    pub copies: usize,
    /// The highest of any one copy.
    pub peak_rss_kib: u64,
    /// CPU seconds by thread name (all copies) when all records were committed.
    pub cpu: Vec<(String, f64)>,
    /// The broker's and the machine's CPU from spawn until all committed.
    pub usage: Usage,
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
    let deadline = crate::deadline(setup.records);
    let before = cpu::snapshot();
    let started = Instant::now();
    let mut children: Vec<Option<Child>> = log_files
        .iter()
        .enumerate()
        .map(|(copy, log)| Some(spawn(&config_file, log, copy)))
        .collect();
    let pids: Vec<u32> = children.iter().flatten().map(Child::id).collect();
    let mut peak_rss_kib = 0;
    let mut first_commit = None;
    let mut all_committed = None;
    let mut cpu = Vec::new();
    let mut usage = Usage::default();
    let mut failed = Vec::new();
    while children.iter().any(Option::is_some) {
        for slot in &mut children {
            let Some(child) = slot else { continue };
            peak_rss_kib = peak_rss_kib.max(canonflow_testkit::bench::peak_rss_kib(child.id()));
            if let Some(status) = child.try_wait().unwrap() {
                if !status.success() {
                    failed.push(status);
                }
                *slot = None;
            }
        }
        if all_committed.is_none() {
            let count = committed.sum();
            if count > 0 {
                first_commit.get_or_insert((started.elapsed(), count));
            }
            if count >= setup.records as i64 {
                all_committed = Some(started.elapsed());
                cpu = cpu::merged(pids.iter().map(|&pid| cpu::by_thread(pid)));
                usage = cpu::since(&before);
            }
        }
        let limit = all_committed.map_or(deadline, |at| at + Duration::from_secs(60));
        if started.elapsed() > limit {
            for child in children.iter_mut().flatten() {
                child.kill().unwrap();
                child.wait().unwrap();
            }
            panic!(
                "the transformer had committed {} of {} raw records after {:?}; \
                 killed. Its log:\n{}",
                committed.sum(),
                setup.records,
                started.elapsed(),
                tail(&log_files[0])
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let exited = started.elapsed();
    let Some(all_committed) = all_committed else {
        panic!(
            "the transformer exited ({failed:?}) having committed {} of {} raw records. \
             Its log:\n{}",
            committed.sum(),
            setup.records,
            tail(&log_files[0])
        );
    };
    assert!(
        failed.is_empty(),
        "a transformer copy failed: {failed:?}. Its log:\n{}",
        tail(&log_files[0])
    );
    let (totals, warnings) = read_log(&log_files[0]);
    log_files.iter().for_each(|log| processes::keep_log(log));
    Run {
        all_committed,
        first_commit: first_commit.unwrap_or((all_committed, setup.records as i64)),
        exited,
        copies: log_files.len(),
        peak_rss_kib,
        cpu,
        usage,
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

/// The totals line and the warnings of the transformer's JSON log.
fn read_log(path: &Path) -> (Option<String>, Vec<(String, usize)>) {
    let mut totals = None;
    let mut warnings: Vec<(String, usize)> = Vec::new();
    for line in std::fs::read_to_string(path).unwrap_or_default().lines() {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let message = event["message"].as_str().unwrap_or_default();
        if message == "transformer stopping" {
            totals = event["totals"].as_str().map(str::to_owned);
        }
        if matches!(event["level"].as_str(), Some("WARN" | "ERROR")) {
            let text = format!("{}: {message}", event["level"].as_str().unwrap_or_default());
            match warnings.iter_mut().find(|(known, _)| *known == text) {
                Some((_, count)) => *count += 1,
                None => warnings.push((text, 1)),
            }
        }
    }
    (totals, warnings)
}
