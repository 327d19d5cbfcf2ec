//! What the deployment checks share: the repository's files, YAML
//! documents, the binaries the Dockerfile builds, and a deployment file
//! checked by the code's own configuration types.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use canonflow_common::config::ConfigSource;
use canonflow_fetcher::settings::FetcherConfig;
use canonflow_sink::settings::SinkConfig;
use canonflow_transformer::settings::TransformerConfig;
use figment::Figment;
use figment::providers::{Format, Toml};
use yaml_rust2::{Yaml, YamlLoader};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every YAML document in `path`.
pub fn yaml(path: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn text(value: &Yaml) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected a string, found {value:?}"))
}

/// A YAML sequence of strings (a command, a list of files).
pub fn strings(value: &Yaml) -> Vec<&str> {
    value
        .as_vec()
        .unwrap_or_else(|| panic!("expected a list, found {value:?}"))
        .iter()
        .map(text)
        .collect()
}

/// The binaries the Dockerfile copies into the image.
pub fn image_binaries() -> BTreeSet<String> {
    read("deploy/Dockerfile")
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("target/release/"))
        .map(str::to_owned)
        .collect()
}

/// The workspace's binaries, by `cargo metadata`.
pub fn workspace_binaries() -> BTreeSet<String> {
    let out = std::process::Command::new(option_env!("CARGO").unwrap_or("cargo"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(root().join("Cargo.toml"))
        .output()
        .expect("cargo metadata");
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut bins = BTreeSet::new();
    for package in metadata["packages"].as_array().unwrap() {
        for target in package["targets"].as_array().unwrap() {
            if target["kind"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k == "bin")
            {
                bins.insert(target["name"].as_str().unwrap().to_owned());
            }
        }
    }
    bins
}

/// A deployment: its file plus environment variables, as a stage reads it.
pub struct Deployment {
    pub source: ConfigSource,
}

impl Deployment {
    /// `file` (relative to the repository) with `env` (`CANONFLOW__…`
    /// variables; others are ignored) over it.
    pub fn new(file: &str, env: &[(String, String)]) -> Self {
        let mut figment = Figment::from(Toml::string(&read(file)));
        for (name, value) in env {
            if let Some(path) = name.strip_prefix("CANONFLOW__") {
                let key = path.to_lowercase().replace("__", ".");
                figment = figment.merge((key, value.clone()));
            }
        }
        Self {
            source: ConfigSource::from_figment(figment),
        }
    }

    /// Every section parsed by the code's types, as each stage would:
    /// unknown keys and wrong types fail here.
    pub fn parsed(&self) -> Parsed {
        let s = &self.source;
        Parsed {
            deployment: s.deployment().unwrap(),
            fetcher: s.section("fetcher").unwrap(),
            transformer: s.section("transformer").unwrap(),
            sink: s.section_or_default("sink").unwrap(),
        }
    }
}

pub struct Parsed {
    pub deployment: canonflow_common::config::Deployment,
    pub fetcher: FetcherConfig,
    pub transformer: TransformerConfig,
    pub sink: SinkConfig,
}

impl Parsed {
    /// The port `/metrics`, `/healthz` and `/readyz` are served on.
    pub fn endpoint_port(&self) -> u16 {
        self.deployment
            .telemetry
            .listen
            .expect("telemetry.listen is set for containers")
            .port()
    }
}

/// The environment variable names the demo's source files read secrets
/// from (`{ env = "NAME" }`).
pub fn source_secret_variables() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("config/sources")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for part in text.split("env = \"").skip(1) {
            names.insert(part.split('"').next().unwrap().to_owned());
        }
    }
    names
}

/// The source file stems a `CANONFLOW_SOURCE__<STEM>__…` override may name.
pub fn source_stems() -> BTreeSet<String> {
    std::fs::read_dir(root().join("config/sources"))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            path.file_stem().unwrap().to_string_lossy().to_uppercase()
        })
        .collect()
}
