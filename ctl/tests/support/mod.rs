//! What the CLI's tests share: a deployment configuration file naming the
//! test's own topics, and the `canonflow` binary run on it.

use std::process::{Command, Output};

use canonflow_testkit::Stack;

pub struct Cli {
    config: tempfile::NamedTempFile,
}

impl Cli {
    /// A configuration with the stack's broker, the topic `prefix`, and
    /// `sections` (further TOML).
    pub fn new(stack: &Stack, prefix: &str, sections: &str) -> Self {
        let config = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            config.path(),
            format!(
                "[kafka]\nbootstrap_servers = \"{}\"\nsession_timeout_ms = {}\n\
                 [topics]\nprefix = \"{prefix}\"\n{sections}",
                stack.bootstrap_servers,
                canonflow_common::kafka::local::SESSION_TIMEOUT_MS,
            ),
        )
        .unwrap();
        Self { config }
    }

    pub fn path(&self) -> &std::path::Path {
        self.config.path()
    }

    /// `canonflow ARGS` on this configuration alone (the stack's
    /// environment variables would override it).
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_canonflow"))
            .arg("--config")
            .arg(self.config.path())
            .args(args)
            .env_remove("CANONFLOW__KAFKA__BOOTSTRAP_SERVERS")
            .env_remove("CANONFLOW__POSTGRES__URL")
            .output()
            .unwrap()
    }
}
