//! `deploy/Dockerfile` and `deploy/compose.yaml` against the code: the
//! image holds every binary and runs as a non-root user without build
//! tools; every canonflow service runs a binary of the image on a
//! deployment file the code accepts, with the environment it needs;
//! Prometheus scrapes the stages where they serve.

use std::collections::BTreeSet;

use yaml_rust2::Yaml;

use crate::support::{
    Deployment, image_binaries, read, source_secret_variables, source_stems, strings, text,
    workspace_binaries, yaml,
};

const IMAGE: &str = "canonflow:latest";

#[test]
fn the_image_holds_every_binary_and_runs_without_root_or_build_tools() {
    assert_eq!(image_binaries(), workspace_binaries());
    let dockerfile = read("deploy/Dockerfile");
    let runtime = dockerfile.rsplit("\nFROM ").next().unwrap();
    assert!(
        !runtime.contains(" AS build"),
        "the last stage is the runtime"
    );
    for tool in [
        "cargo",
        "rustc",
        "cmake",
        "build-essential",
        "libcurl4-openssl-dev",
    ] {
        assert!(
            !runtime.contains(&format!("install -y --no-install-recommends {tool}"))
                && !runtime.contains(&format!(" {tool} ")),
            "the runtime image installs {tool}"
        );
    }
    let user = runtime
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert_ne!(user.trim(), "0");
    assert_ne!(user.trim(), "root");
    // The context is the repository: build outputs and local state stay out.
    let ignored = read("deploy/Dockerfile.dockerignore");
    for path in ["target/", ".stack/", ".git/"] {
        assert!(
            ignored.lines().any(|l| l == path),
            "{path} is sent to the builder"
        );
    }
}

/// The compose services that run the canonflow image.
fn canonflow_services(compose: &Yaml) -> Vec<(&str, &Yaml)> {
    compose["services"]
        .as_hash()
        .unwrap()
        .iter()
        .filter(|(_, s)| s["image"].as_str() == Some(IMAGE))
        .map(|(name, s)| (text(name), s))
        .collect()
}

fn environment(service: &Yaml) -> Vec<(String, String)> {
    service["environment"]
        .as_hash()
        .map(|env| {
            env.iter()
                .map(|(k, v)| (text(k).to_owned(), text(v).to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_service_runs_an_image_binary_on_a_configuration_the_code_accepts() {
    let compose = &yaml("deploy/compose.yaml")[0];
    let binaries = image_binaries();
    let services = canonflow_services(compose);
    let names: BTreeSet<&str> = services
        .iter()
        .map(|(_, s)| strings(&s["command"])[0])
        .collect();
    for stage in [
        "canonflow-fetcher",
        "canonflow-transformer",
        "canonflow-sink",
        "canonflow",
    ] {
        assert!(names.contains(stage), "no service runs {stage}");
    }
    let mut ports = BTreeSet::new();
    for (name, service) in &services {
        let command = strings(&service["command"]);
        assert!(binaries.contains(command[0]), "{name} runs {}", command[0]);
        let Some(at) = command.iter().position(|a| *a == "--config") else {
            continue;
        };
        // The configuration file is the one mounted there.
        let mounted = strings(&service["volumes"])
            .into_iter()
            .find_map(|v| v.strip_suffix(&format!(":{}:ro", command[at + 1])))
            .unwrap_or_else(|| panic!("{name}: {} is not mounted", command[at + 1]));
        let file = format!("deploy/{}", mounted.trim_start_matches("./"));
        let parsed = Deployment::new(&file, &environment(service)).parsed();
        ports.insert(parsed.endpoint_port());
        if command[0] == "canonflow-sink" {
            assert!(
                parsed.deployment.postgres.is_some(),
                "the sink has no postgres.url"
            );
        }
    }
    // Prometheus scrapes every stage at the port they serve on.
    let prometheus = &yaml("deploy/prometheus/prometheus.yml")[0];
    let targets = strings(&prometheus["scrape_configs"][0]["static_configs"][0]["targets"]);
    let scraped: BTreeSet<String> = targets.iter().map(|t| (*t).to_owned()).collect();
    let port = ports.iter().next().unwrap();
    assert_eq!(ports.len(), 1, "stages serve on one port each: {ports:?}");
    for stage in ["fetcher", "transformer", "sink"] {
        assert!(
            scraped.contains(&format!("{stage}:{port}")),
            "{stage} not scraped: {scraped:?}"
        );
    }
}

#[test]
fn the_fetcher_reaches_the_demo_source_with_its_credentials() {
    let compose = &yaml("deploy/compose.yaml")[0];
    let fetcher = &compose["services"]["fetcher"];
    let env = environment(fetcher);
    let names: BTreeSet<String> = env.iter().map(|(k, _)| k.clone()).collect();
    let missing: Vec<_> = source_secret_variables()
        .difference(&names)
        .cloned()
        .collect();
    assert!(missing.is_empty(), "the fetcher lacks {missing:?}");
    let demo = strings(&compose["services"]["demo-source"]["command"]);
    let listen = demo[demo.iter().position(|a| *a == "--listen").unwrap() + 1];
    let port = listen.rsplit(':').next().unwrap();
    let stems = source_stems();
    let mut overridden = BTreeSet::new();
    for (name, value) in &env {
        let Some(rest) = name.strip_prefix("CANONFLOW_SOURCE__") else {
            continue;
        };
        let (stem, key) = rest.split_once("__").unwrap();
        assert!(stems.contains(stem), "{name}: no source file {stem}");
        assert_eq!(key, "BASE_URL", "{name}");
        assert!(
            value.starts_with(&format!("http://demo-source:{port}/")),
            "{name}={value}"
        );
        overridden.insert(stem.to_owned());
    }
    assert_eq!(overridden, stems, "every source points at the demo source");
}
