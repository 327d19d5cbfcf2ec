//! The fetcher under test: the demo source in-process, the shipped source
//! files pointed at it, and a fetcher run on the real local broker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use canonflow_common::Shutdown;
use canonflow_common::config::ConfigSource;
use canonflow_common::topics::Topics;
use canonflow_demo_source::{DemoConfig, DemoSource};
use canonflow_fetcher::checkpoint::Checkpoint;
use canonflow_testkit::{Stack, drain, unique};
use figment::Figment;
use figment::providers::{Format, Toml};
use rdkafka::Message;
use rdkafka::message::{Headers, OwnedMessage};

pub const DEADLINE: Duration = Duration::from_secs(60);

/// The shipped demo source files: `config/sources/`.
fn shipped_sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/sources")
}

/// A demo source, a sources directory aimed at it, and unique topics.
pub struct Harness {
    pub stack: Stack,
    pub demo: DemoSource,
    pub topics: Topics,
    pub group: String,
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// `edit` may change each source file's text (after its base URL and
    /// secrets were pointed at the test's demo source and secret files).
    pub async fn start(edit: impl Fn(&str, String) -> String) -> Self {
        Self::start_with(DemoConfig::default(), edit).await
    }

    pub async fn start_with(config: DemoConfig, edit: impl Fn(&str, String) -> String) -> Self {
        // The fetcher's logs, shown for failing tests (RUST_LOG to change).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "info".into()),
            )
            .with_test_writer()
            .try_init();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let demo = DemoSource::start(listener, config.clone()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        demo.write_source_files(&config, &shipped_sources(), dir.path(), edit)
            .unwrap();
        Self {
            stack: Stack::from_env(),
            demo,
            topics: Topics::with_prefix(unique("t")),
            group: unique("fetcher"),
            dir,
        }
    }

    pub fn config(&self) -> ConfigSource {
        ConfigSource::from_figment(Figment::from(Toml::string(&self.config_toml(true))))
    }

    /// The deployment configuration of the fetcher under test.
    pub fn config_toml(&self, once: bool) -> String {
        self.config_toml_with(once, "")
    }

    /// Like `config_toml`, with further `[fetcher]` lines.
    pub fn config_toml_with(&self, once: bool, fetcher: &str) -> String {
        format!(
            r#"
            [kafka]
            bootstrap_servers = "{}"
            session_timeout_ms = {}
            close_timeout_ms = 5000
            [topics]
            prefix = "{}"
            [fetcher]
            sources_dir = {:?}
            group_id = "{}"
            once = {once}
            retry_failed_after_secs = 1
            raw_partitions = 3
            watermarks_partitions = 3
            once_attempts = 1
            {fetcher}
            "#,
            self.stack.bootstrap_servers,
            canonflow_common::kafka::local::SESSION_TIMEOUT_MS,
            self.topics.prefix,
            self.dir.path().join("sources"),
            self.group,
        )
    }

    /// One fetcher run in `once` mode.
    pub async fn fetch_once(&self) -> Result<(), canonflow_fetcher::Error> {
        tokio::time::timeout(
            DEADLINE * 2,
            canonflow_fetcher::run(self.config(), Shutdown::new()),
        )
        .await
        .expect("the fetcher finished in time")
    }

    pub async fn raw(&self) -> Vec<OwnedMessage> {
        drain(&self.stack, &self.topics.raw(), DEADLINE).await
    }

    /// Every checkpoint written so far, in partition order (none before the
    /// fetcher has created its topics).
    pub async fn all_checkpoints(&self) -> Vec<Checkpoint> {
        canonflow_testkit::drain_if_exists(&self.stack, &self.topics.watermarks(), DEADLINE)
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|m| serde_json::from_slice(m.payload().unwrap_or_default()).ok())
            .collect()
    }

    /// The latest checkpoint of every stream.
    pub async fn checkpoints(&self) -> BTreeMap<String, Checkpoint> {
        self.all_checkpoints()
            .await
            .into_iter()
            .map(|c| (Checkpoint::key(&c.source, &c.stream), c))
            .collect()
    }
}

/// The demo source's snapshot name for a fetcher stream key (`source/stream`).
pub fn snapshot_name(source_stream: &str) -> &str {
    match source_stream {
        "assets/assets" => "ops/assets",
        other => other,
    }
}

/// `source/stream` and primary key of a raw record, from its key.
pub fn split_key(message: &OwnedMessage) -> (String, String) {
    let key = String::from_utf8(message.key().unwrap().to_vec()).unwrap();
    let mut parts = key.splitn(3, '/');
    let (source, stream, id) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    (format!("{source}/{stream}"), id.to_owned())
}

pub fn header<'a>(message: &'a OwnedMessage, name: &str) -> Option<&'a str> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key == name)
        .and_then(|h| std::str::from_utf8(h.value?).ok())
}
