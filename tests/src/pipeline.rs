//! The pipeline the end-to-end tests watch: the demo source, isolated
//! topics and PostgreSQL schema, one deployment file, and the stage
//! binaries started as processes with their endpoint on a free port.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use canonflow_canonical::EntityKind;
use canonflow_common::observe::{Stage, names};
use canonflow_demo_source::{DemoConfig, DemoSource};
use canonflow_testkit::{
    Scrape, Stack, StageProcess, TestSchema, TestTopics, free_port, stage_binary, unique,
};

/// The demo source and everything the stages need to run on it.
#[allow(
    missing_debug_implementations,
    reason = "test support; its parts are not Debug"
)]
pub struct DemoPipeline {
    pub stack: Stack,
    pub demo: DemoSource,
    pub config: PathBuf,
    /// Where the stages' logs go: `CANONFLOW_TEST_LOG_DIR` keeps them
    /// (`CANONFLOW_TEST_LOG` sets their filter), else a temporary directory.
    pub logs: PathBuf,
    pub topics: TestTopics,
    /// The consumer groups of the transformer and the sink copies.
    pub groups: Groups,
    /// Stage processes started so far, for their log files' names.
    spawned: AtomicUsize,
    _schema: TestSchema,
    _dir: tempfile::TempDir,
}

/// Consumer group ids of a [`DemoPipeline`]'s consuming stages.
#[derive(Debug, Clone)]
pub struct Groups {
    pub transformer: String,
    pub sink: String,
}

impl DemoPipeline {
    /// The plain demo.
    pub async fn start() -> Self {
        Self::start_with(DemoConfig::default(), |_, text| text).await
    }

    /// The demo source with `demo_config`, and each source file's text
    /// passed through `edit` (file name, text) before it is written.
    pub async fn start_with(
        demo_config: DemoConfig,
        edit: impl Fn(&str, String) -> String,
    ) -> Self {
        Self::start_on(Stack::from_env(), demo_config, edit).await
    }

    /// Like [`start_with`](Self::start_with), on `stack` (e.g. with a
    /// broker of the test's own).
    pub async fn start_on(
        stack: Stack,
        demo_config: DemoConfig,
        edit: impl Fn(&str, String) -> String,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let demo = DemoSource::start(listener, demo_config.clone())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        demo.write_source_files(&demo_config, &root.join("config/sources"), dir.path(), edit)
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
        let groups = Groups {
            transformer: unique("transformer"),
            sink: unique("sink"),
        };
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
                groups.transformer,
                schema.name,
                groups.sink,
            ),
        )
        .unwrap();
        let kept = std::env::var_os("CANONFLOW_TEST_LOG_DIR").map(PathBuf::from);
        let logs = kept.unwrap_or_else(|| dir.path().to_owned());
        std::fs::create_dir_all(&logs).unwrap();
        Self {
            stack,
            demo,
            config,
            logs,
            topics,
            groups,
            spawned: AtomicUsize::new(0),
            _schema: schema,
            _dir: dir,
        }
    }

    /// Starts `stage` with `env` added to its environment.
    pub fn spawn(&self, stage: Stage, env: &[(&str, String)]) -> Endpoint {
        let port = free_port();
        // The first copy of a stage logs to `<stage>.log`, later ones (a
        // second copy, a restart) to `<stage>.<n>.log`.
        let n = self.spawned.fetch_add(1, Ordering::Relaxed);
        let name = match self.log(stage).exists() {
            false => self.log(stage),
            true => self.logs.join(format!("{}.{n}.log", stage.as_str())),
        };
        let log = std::fs::File::create(name).unwrap();
        let mut command = Command::new(stage_binary(&format!("canonflow-{}", stage.as_str())));
        command
            .arg("--config")
            .arg(&self.config)
            .env("CANONFLOW__TELEMETRY__LISTEN", format!("127.0.0.1:{port}"))
            // The environment would otherwise override the file's broker.
            .env(
                "CANONFLOW__KAFKA__BOOTSTRAP_SERVERS",
                &self.stack.bootstrap_servers,
            )
            .env(
                "RUST_LOG",
                std::env::var("CANONFLOW_TEST_LOG").unwrap_or("info".into()),
            )
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stderr(log);
        Endpoint {
            stage,
            port,
            process: StageProcess::spawn(&mut command),
        }
    }

    /// Waits until everything fetched has gone through every stage, and
    /// each exports every metric of the spec; their scrapes then. Panics
    /// with the stages' log tails after `deadline`.
    pub async fn settle(&self, stages: &[Endpoint; 3], deadline: Duration) -> [Scrape; 3] {
        let [fetcher, transformer, sink] = stages;
        let started = Instant::now();
        loop {
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
                    return [f, t, s];
                }
                state = format!(
                    "fetched, transformed in, transformed out, sunk: {counts:?}; missing: {missing:?}"
                );
            }
            assert!(
                started.elapsed() < deadline,
                "the pipeline did not settle within {deadline:?}: {state}\n{}",
                self.log_tails()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The log of the stage's first copy.
    pub fn log(&self, stage: Stage) -> PathBuf {
        self.logs.join(format!("{}.log", stage.as_str()))
    }

    /// The last lines of every stage process's log, for a failure message.
    pub fn log_tails(&self) -> String {
        let mut logs: Vec<PathBuf> = std::fs::read_dir(&self.logs)
            .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        logs.retain(|p| p.extension().is_some_and(|e| e == "log"));
        logs.sort();
        let mut out = String::new();
        for log in logs {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(30)..].join("\n");
            out += &format!("--- {} (tail)\n{tail}\n", log.display());
        }
        out
    }
}

/// A running stage and its endpoint.
#[derive(Debug)]
pub struct Endpoint {
    pub stage: Stage,
    pub port: u16,
    pub process: StageProcess,
}

impl Endpoint {
    pub async fn get(&self, path: &str) -> Option<(u16, String)> {
        let response = reqwest::get(format!("http://127.0.0.1:{}{path}", self.port))
            .await
            .ok()?;
        let status = response.status().as_u16();
        Some((status, response.text().await.ok()?))
    }

    pub async fn scrape(&self) -> Option<Scrape> {
        match self.get("/metrics").await? {
            (200, text) => Some(Scrape::parse(&text)),
            _ => None,
        }
    }

    /// The spec's metrics this stage exports but its endpoint lacks.
    pub fn missing(&self, scrape: &Scrape) -> Vec<&'static str> {
        names::of_stage(self.stage)
            .filter(|m| !scrape.has(m.name))
            .map(|m| m.name)
            .collect()
    }
}
