//! The three stages run as processes on the demo source, the broker and
//! PostgreSQL; each one's endpoint is scraped while they run. Every metric
//! of the spec (`canonflow_common::observe::names`) appears on the stage
//! that exports it, the counts add up within and across stages, and
//! `/healthz` and `/readyz` answer.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use canonflow_canonical::EntityKind;
use canonflow_common::observe::{Stage, names};
use canonflow_demo_source::{DemoConfig, DemoSource};
use canonflow_testkit::{
    Scrape, Stack, StageProcess, TestSchema, TestTopics, eventually, free_port, stage_binary,
    unique,
};

const DEADLINE: Duration = Duration::from_secs(240);

struct Endpoint {
    stage: Stage,
    port: u16,
    process: StageProcess,
}

impl Endpoint {
    fn start(stage: Stage, config: &Path, log_dir: &Path) -> Self {
        let port = free_port();
        let log = std::fs::File::create(log_dir.join(format!("{}.log", stage.as_str()))).unwrap();
        let process = StageProcess::spawn(
            Command::new(stage_binary(&format!("canonflow-{}", stage.as_str())))
                .arg("--config")
                .arg(config)
                .env("CANONFLOW__TELEMETRY__LISTEN", format!("127.0.0.1:{port}"))
                .env(
                    "RUST_LOG",
                    std::env::var("CANONFLOW_TEST_LOG").unwrap_or("info".into()),
                )
                .stderr(log),
        );
        Self {
            stage,
            port,
            process,
        }
    }

    async fn get(&self, path: &str) -> Option<(u16, String)> {
        let response = reqwest::get(format!("http://127.0.0.1:{}{path}", self.port))
            .await
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.text().await.ok()?))
    }

    async fn scrape(&self) -> Option<Scrape> {
        match self.get("/metrics").await? {
            (200, text) => Some(Scrape::parse(&text)),
            _ => None,
        }
    }

    /// The spec's metrics this stage exports but its endpoint lacks.
    fn missing(&self, scrape: &Scrape) -> Vec<&'static str> {
        names::of_stage(self.stage)
            .filter(|m| !scrape.has(m.name))
            .map(|m| m.name)
            .collect()
    }
}

/// The last lines of a log file.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stage_exports_the_whole_spec_and_the_counts_add_up() {
    let stack = Stack::from_env();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let demo_config = DemoConfig::default();
    let demo = DemoSource::start(listener, demo_config.clone())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    demo.write_source_files(
        &demo_config,
        &root.join("config/sources"),
        dir.path(),
        |_, t| t,
    )
    .unwrap();
    let mut topics = TestTopics::new(&stack);
    let mut made = vec![
        topics.topics.raw(),
        topics.topics.watermarks(),
        topics.topics.dead_letters("fetcher"),
        topics.topics.dead_letters("transformer"),
        topics.topics.dead_letters("sink"),
    ];
    made.extend(
        EntityKind::ALL
            .iter()
            .map(|k| topics.topics.canonical(k.name())),
    );
    for topic in &made {
        topics.adopt(topic);
    }
    let schema = TestSchema::create(&stack).await;
    let config = dir.path().join("deployment.toml");
    std::fs::write(
        &config,
        format!(
            "[kafka]\nbootstrap_servers = \"{}\"\nsession_timeout_ms = {}\n\
             [topics]\nprefix = \"{}\"\n[postgres]\nurl = \"{}\"\n\
             [fetcher]\nsources_dir = {:?}\ngroup_id = \"{}\"\nonce = false\n\
             raw_partitions = 2\nwatermarks_partitions = 2\n\
             [transformer]\nmappings_dir = {:?}\ngroup_id = \"{}\"\npartitions = 2\ntransaction_max_ms = 300\n\
             [sink]\nschema = \"{}\"\ngroup_id = \"{}\"\nbatch_max_ms = 300\n",
            stack.bootstrap_servers,
            canonflow_common::kafka::local::SESSION_TIMEOUT_MS,
            topics.topics.prefix,
            stack.postgres_url,
            dir.path().join("sources"),
            unique("fetcher"),
            root.join("config/mappings"),
            unique("transformer"),
            schema.name,
            unique("sink"),
        ),
    )
    .unwrap();
    // CANONFLOW_TEST_LOG_DIR keeps the stages' logs (CANONFLOW_TEST_LOG sets
    // their filter).
    let kept = std::env::var_os("CANONFLOW_TEST_LOG_DIR").map(std::path::PathBuf::from);
    let logs = kept.as_deref().unwrap_or(dir.path());
    let mut stages = [
        Endpoint::start(Stage::Fetcher, &config, logs),
        Endpoint::start(Stage::Transformer, &config, logs),
        Endpoint::start(Stage::Sink, &config, logs),
    ];

    // Ready, and alive.
    for stage in &stages {
        let name = stage.stage.as_str();
        eventually(DEADLINE, &format!("{name} ready"), || async {
            matches!(stage.get("/readyz").await, Some((200, _))).then_some(())
        })
        .await;
        assert_eq!(stage.get("/healthz").await.map(|r| r.0), Some(200));
    }

    // Everything fetched has gone through: each stage has seen it all, and
    // exports every metric of the spec.
    let [fetcher, transformer, sink] = &stages;
    let started = std::time::Instant::now();
    let (fetched, mapped, sunk) = loop {
        let scrapes = (
            fetcher.scrape().await,
            transformer.scrape().await,
            sink.scrape().await,
        );
        let mut state = format!("{scrapes:?}");
        if let (Some(f), Some(t), Some(s)) = scrapes {
            let counts = [
                f.sum(names::FETCHER_RECORDS, &[]),
                t.sum(names::TRANSFORMER_RECORDS_IN, &[]),
                t.sum(names::TRANSFORMER_RECORDS_OUT, &[])
                    + t.sum(names::TRANSFORMER_REEMITTED, &[]),
                s.sum(names::SINK_RECORDS_IN, &[]),
            ];
            let missing = [
                fetcher.missing(&f),
                transformer.missing(&t),
                sink.missing(&s),
            ];
            if counts[0] > 0.0
                && counts[0] == counts[1]
                && counts[2] == counts[3]
                && missing.iter().all(Vec::is_empty)
            {
                break (f, t, s);
            }
            state = format!(
                "fetched, transformed in, transformed out, sunk: {counts:?}; missing: {missing:?}"
            );
        }
        if started.elapsed() > DEADLINE {
            for stage in &stages {
                let name = stage.stage.as_str();
                eprintln!(
                    "--- {name} log (tail)\n{}",
                    tail(&logs.join(format!("{name}.log")))
                );
            }
            panic!("the pipeline did not settle within {DEADLINE:?}: {state}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for (stage, scrape) in [
        (&stages[0], &fetched),
        (&stages[1], &mapped),
        (&stages[2], &sunk),
    ] {
        assert_eq!(
            stage.missing(scrape),
            Vec::<&str>::new(),
            "{}",
            stage.stage.as_str()
        );
    }

    // Within each stage, the counts add up.
    let requests_ok = fetched.sum(names::FETCHER_REQUESTS, &["status=\"2xx\""]);
    let pages = fetched.sum(names::FETCHER_PAGES, &[]);
    assert!(
        pages > 0.0 && requests_ok >= pages,
        "{requests_ok} requests, {pages} pages"
    );
    assert!(fetched.sum(names::FETCHER_BYTES, &[]) > 0.0);
    let records_in = mapped.sum(names::TRANSFORMER_RECORDS_IN, &[]);
    let out = mapped.sum(names::TRANSFORMER_RECORDS_OUT, &[]);
    let dead = mapped.sum(names::TRANSFORMER_DEAD_LETTERS, &[]);
    let unmapped = mapped.sum(names::TRANSFORMER_UNMAPPED, &[]);
    assert!(out > 0.0);
    assert_eq!(
        records_in,
        out + dead + unmapped,
        "transformer: in = out + dead letters + unmapped"
    );
    let rows = sunk.sum(names::SINK_ROWS, &[]);
    let sink_dead = sunk.sum(names::SINK_DEAD_LETTERS, &[]);
    assert_eq!(
        sunk.sum(names::SINK_RECORDS_IN, &[]),
        rows + sink_dead,
        "sink: in = rows + dead letters"
    );
    assert!(sunk.sum(names::SINK_ROWS, &["outcome=\"inserted\""]) > 0.0);
    // Freshness is observed for every record that carried its fetch time:
    // all but those re-emitted by enrichment.
    let reemitted = mapped.sum(names::TRANSFORMER_REEMITTED, &[]);
    assert_eq!(
        sunk.sum(&format!("{}_count", names::SINK_FRESHNESS_SECONDS), &[]),
        rows + sink_dead - reemitted,
        "freshness observations; {reemitted} re-emitted"
    );
    // Connected, and lag known per partition. (Not asserted zero: a
    // transaction's commit marker takes an offset, so Apache Kafka reports
    // 1 behind a transactional producer, and the local broker's end offsets
    // are wrong — docs/broker-compat.md, deviation 3.)
    for scrape in [&fetched, &mapped, &sunk] {
        assert!(scrape.sum(names::KAFKA_BROKERS_UP, &[]) >= 1.0);
    }
    for (stage, scrape) in [(Stage::Transformer, &mapped), (Stage::Sink, &sunk)] {
        for name in [names::CONSUMER_LAG_RECORDS, names::CONSUMER_LAG_SECONDS] {
            let series = &scrape.series[name];
            assert!(
                series.values().all(|v| *v >= 0.0)
                    && series.keys().all(|l| l.contains(stage.as_str())),
                "{name}: {series:?}"
            );
        }
    }

    for stage in &mut stages {
        let name = stage.stage.as_str();
        assert!(
            stage.process.terminate(Duration::from_secs(30)),
            "{name} did not stop on SIGTERM"
        );
    }
    demo.shutdown().await;
}
