//! Finding the local stack: from the environment, or from the settings file
//! that `scripts/stack up` writes (`.stack/env`).

use std::path::{Path, PathBuf};

use canonflow_common::kafka::KafkaConfig;

/// Which broker the tests talk to; some broker deviations are expected only
/// on Tansu (see `docs/broker-compat.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    /// The local stack's Tansu broker.
    Tansu,
    /// Apache Kafka or a faithful implementation of it.
    Kafka,
}

/// Connection settings of the stack under test.
#[derive(Debug, Clone)]
pub struct Stack {
    pub bootstrap_servers: String,
    pub postgres_url: String,
    pub broker: BrokerKind,
}

const KAFKA_VAR: &str = "CANONFLOW__KAFKA__BOOTSTRAP_SERVERS";
const POSTGRES_VAR: &str = "CANONFLOW__POSTGRES__URL";
const BROKER_VAR: &str = "CANONFLOW_BROKER_KIND";

impl Stack {
    /// Reads the environment, falling back to `.stack/env` at the workspace
    /// root; panics with what to run if neither names a stack.
    pub fn from_env() -> Self {
        let get = setting;
        let missing = |key: &str| {
            format!(
                "{key} is not set and .stack/env does not name it: run `scripts/stack up` first"
            )
        };
        let broker = match get(BROKER_VAR).as_deref() {
            Some("kafka") => BrokerKind::Kafka,
            _ => BrokerKind::Tansu,
        };
        Self {
            bootstrap_servers: get(KAFKA_VAR).unwrap_or_else(|| panic!("{}", missing(KAFKA_VAR))),
            postgres_url: get(POSTGRES_VAR).unwrap_or_else(|| panic!("{}", missing(POSTGRES_VAR))),
            broker,
        }
    }

    /// Client settings for this stack, tuned for tests (see
    /// `canonflow_common::kafka::local`).
    pub fn kafka(&self) -> KafkaConfig {
        KafkaConfig::local(&self.bootstrap_servers)
    }
}

/// A stack setting: the environment, else `.stack/env` at the workspace
/// root.
pub(crate) fn setting(key: &str) -> Option<String> {
    std::env::var(key).ok().or_else(|| {
        read_env_file(&workspace_root().join(".stack/env"))
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    })
}

fn workspace_root() -> PathBuf {
    // testkit/ sits one level below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn read_env_file(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}
