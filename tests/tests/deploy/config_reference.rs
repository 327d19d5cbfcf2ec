//! `docs/configuration.md` lists exactly the keys the code accepts. The
//! code's keys are found by asking its types: a table with an unknown key
//! makes serde name every key it expected, and a key whose value is itself
//! a table of keys (e.g. `kafka.tls`) is asked in turn.

use std::collections::BTreeSet;

use canonflow_common::config::ConfigSource;
use canonflow_fetcher::settings::FetcherConfig;
use canonflow_sink::settings::SinkConfig;
use canonflow_transformer::settings::TransformerConfig;
use figment::Figment;
use figment::providers::{Format, Toml};

use crate::support::read;

const PROBE: &str = "zz_probe";

/// What the required keys need to be for the rest to be read.
const REQUIRED: &str = "[kafka]\nbootstrap_servers = \"k:9092\"\n\
                        [fetcher]\nsources_dir = \"s\"\n[transformer]\nmappings_dir = \"m\"\n";

/// The keys the type at `path` ("" for the top level) expects, or `None`
/// when it is not a table of keys (a value, a list, a map, a secret).
fn expected_keys(path: &str) -> Option<Vec<String>> {
    let probe = match path {
        "" => PROBE.to_owned(),
        _ => format!("{path}.{PROBE}"),
    };
    let source =
        ConfigSource::from_figment(Figment::from(Toml::string(REQUIRED)).merge((probe, "x")));
    let error = match path.split('.').next().unwrap() {
        "fetcher" => source.section::<FetcherConfig>("fetcher").err(),
        "transformer" => source.section::<TransformerConfig>("transformer").err(),
        "sink" => source.section::<SinkConfig>("sink").err(),
        _ => source.deployment().err(),
    }?
    .to_string();
    // "... unknown field: found `zz_probe`, expected `one of `a`, `b``".
    // (An enum answers "unknown variant": a value, not a table.)
    let listed = error
        .split(&format!("unknown field: found `{PROBE}`"))
        .nth(1)?;
    let listed = listed.split(" for key ").next().unwrap_or_default();
    let keys: Vec<String> = listed
        .split('`')
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect();
    // A secret reference ({ env } or { file }) is one key, not a table.
    (!keys.is_empty() && keys != ["env", "file"]).then_some(keys)
}

/// Every key the code accepts under `path`, as dotted paths.
fn code_keys(path: &str, into: &mut BTreeSet<String>) {
    for key in expected_keys(path).unwrap_or_else(|| panic!("{path:?} is not a table")) {
        let full = match path {
            "" => key,
            _ => format!("{path}.{key}"),
        };
        if expected_keys(&full).is_some() {
            code_keys(&full, into);
        } else {
            into.insert(full);
        }
    }
}

/// The keys in the first column of the reference's table.
fn documented_keys() -> BTreeSet<String> {
    read("docs/configuration.md")
        .lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| {
            let first = l.split(" | ").next().unwrap().trim_start_matches("| ");
            first
                .split(", ")
                .map(|k| k.trim_matches('`').to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn documented_keys_are_the_code_s() {
    let mut code = BTreeSet::new();
    code_keys("", &mut code);
    // Sanity: the probe sees tables, nested tables and plain keys.
    for key in [
        "kafka.bootstrap_servers",
        "kafka.tls.key_password",
        "transformer.dead_letter_limit.ratio",
        "sink.schema_registry.url",
        "telemetry.otlp_endpoint",
    ] {
        assert!(code.contains(key), "{key} not found in {code:?}");
    }
    let documented = documented_keys();
    let undocumented: Vec<_> = code.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&code).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "docs/configuration.md lacks {undocumented:?} and lists keys the code does not have: {unknown:?}"
    );
}

#[test]
fn a_key_the_code_does_not_have_is_refused() {
    // The property the reference check relies on.
    assert!(
        expected_keys("kafka")
            .unwrap()
            .contains(&"bootstrap_servers".to_owned())
    );
    assert_eq!(expected_keys("kafka.bootstrap_servers"), None);
}
