//! `deploy/k8s/` against the code: the stages' Deployments run image
//! binaries on the mounted deployment file, probe the port and paths the
//! stages serve, stop more slowly than a stage drains, and are covered by
//! disruption budgets; KEDA scales on the real consumer groups and topics,
//! never past the partitions; the demo overlay's files are the repository's.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use canonflow_canonical::EntityKind;
use canonflow_common::startup::SHUTDOWN_GRACE;
use yaml_rust2::Yaml;

use crate::support::{
    Deployment, Parsed, image_binaries, read, root, source_secret_variables, source_stems, strings,
    text, yaml,
};

const BASE: &str = "deploy/k8s/base";
const DEMO: &str = "deploy/k8s/overlays/demo";

/// Every object of a kustomization's `resources` files (not directories).
fn objects(dir: &str) -> Vec<Yaml> {
    let kustomization = &yaml(&format!("{dir}/kustomization.yaml"))[0];
    strings(&kustomization["resources"])
        .into_iter()
        .filter(|r| r.ends_with(".yaml"))
        .flat_map(|r| yaml(&format!("{dir}/{r}")))
        .collect()
}

fn of_kind<'a>(objects: &'a [Yaml], kind: &str) -> Vec<&'a Yaml> {
    objects
        .iter()
        .filter(|o| o["kind"].as_str() == Some(kind))
        .collect()
}

/// The demo overlay's `canonflow-env` literals.
fn demo_env() -> Vec<(String, String)> {
    let kustomization = &yaml(&format!("{DEMO}/kustomization.yaml"))[0];
    let generator = kustomization["configMapGenerator"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|g| g["name"].as_str() == Some("canonflow-env"))
        .unwrap();
    strings(&generator["literals"])
        .into_iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

fn demo_deployment() -> Parsed {
    Deployment::new(&format!("{BASE}/deployment.toml"), &demo_env()).parsed()
}

#[test]
fn stages_run_image_binaries_with_probes_on_the_served_port() {
    let objects = objects(BASE);
    let parsed = demo_deployment();
    let port = i64::from(parsed.endpoint_port());
    let binaries = image_binaries();
    let deployments = of_kind(&objects, "Deployment");
    assert_eq!(deployments.len(), 3);
    for deployment in deployments {
        let name = text(&deployment["metadata"]["name"]);
        let pod = &deployment["spec"]["template"]["spec"];
        let grace = pod["terminationGracePeriodSeconds"].as_i64().unwrap();
        assert!(
            Duration::from_secs(grace as u64) > SHUTDOWN_GRACE,
            "{name}: grace {grace} s is not longer than the stage's {SHUTDOWN_GRACE:?}"
        );
        assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
        let container = &pod["containers"][0];
        // Variables set per container are keys the code reads, too.
        let own_env: Vec<(String, String)> = container["env"]
            .as_vec()
            .map(|vars| {
                vars.iter()
                    .map(|v| (text(&v["name"]).to_owned(), "from-the-pod".to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let env = [demo_env(), own_env.clone()].concat();
        Deployment::new(&format!("{BASE}/deployment.toml"), &env).parsed();
        if name == "canonflow-transformer" {
            assert_eq!(
                own_env.first().map(|(n, _)| n.as_str()),
                Some("CANONFLOW__TRANSFORMER__INSTANCE_ID"),
                "a restarted transformer container must reuse its transactional id"
            );
        }
        let command = strings(&container["command"]);
        assert!(binaries.contains(command[0]), "{name} runs {}", command[0]);
        let config = command[command.iter().position(|a| *a == "--config").unwrap() + 1];
        let mounts = container["volumeMounts"].as_vec().unwrap();
        assert!(
            mounts
                .iter()
                .any(|m| m["mountPath"].as_str() == Some(config)),
            "{name}: {config} not mounted"
        );
        let ports = container["ports"].as_vec().unwrap();
        assert_eq!(ports[0]["containerPort"].as_i64(), Some(port), "{name}");
        let port_name = text(&ports[0]["name"]);
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            let get = &container[probe]["httpGet"];
            assert_eq!(get["path"].as_str(), Some(path), "{name} {probe}");
            assert_eq!(get["port"].as_str(), Some(port_name), "{name} {probe}");
        }
        for bound in ["requests", "limits"] {
            assert!(
                !container["resources"][bound]["memory"].is_badvalue(),
                "{name}: {bound}"
            );
        }
    }
    // Every Deployment has a disruption budget selecting it.
    let budgets: BTreeSet<&str> = of_kind(&objects, "PodDisruptionBudget")
        .iter()
        .map(|b| text(&b["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]))
        .collect();
    for deployment in of_kind(&objects, "Deployment") {
        let labels = &deployment["spec"]["template"]["metadata"]["labels"];
        assert!(budgets.contains(text(&labels["app.kubernetes.io/name"])));
    }
}

#[test]
fn autoscaling_follows_real_groups_and_topics_within_the_partitions() {
    let objects = objects(BASE);
    let parsed = demo_deployment();
    let topics = &parsed.deployment.topics;
    let bootstrap = parsed.deployment.kafka.bootstrap_servers.clone();
    // What each scaled stage consumes, and how many copies can get work.
    let expected: BTreeMap<&str, (String, BTreeSet<String>, i32)> = BTreeMap::from([
        (
            "canonflow-transformer",
            (
                parsed.transformer.group_id.clone(),
                BTreeSet::from([topics.raw()]),
                parsed.fetcher.raw_partitions,
            ),
        ),
        (
            "canonflow-sink",
            (
                parsed.sink.group_id.clone(),
                EntityKind::ALL
                    .iter()
                    .map(|k| topics.canonical(k.name()))
                    .collect(),
                parsed.transformer.partitions,
            ),
        ),
    ]);
    let scaled = of_kind(&objects, "ScaledObject");
    assert_eq!(scaled.len(), expected.len());
    for object in scaled {
        let target = text(&object["spec"]["scaleTargetRef"]["name"]);
        let (group, inputs, partitions) = &expected[target];
        let max = object["spec"]["maxReplicaCount"].as_i64().unwrap();
        assert!(
            max <= i64::from(*partitions),
            "{target}: {max} > {partitions} partitions"
        );
        let mut seen = BTreeSet::new();
        for trigger in object["spec"]["triggers"].as_vec().unwrap() {
            let meta = &trigger["metadata"];
            assert_eq!(text(&trigger["type"]), "kafka");
            assert_eq!(text(&meta["consumerGroup"]), group, "{target}");
            assert_eq!(text(&meta["bootstrapServers"]), bootstrap, "{target}");
            seen.insert(text(&meta["topic"]).to_owned());
        }
        assert_eq!(&seen, inputs, "{target}'s lag topics");
    }
}

#[test]
fn the_demo_overlay_ships_the_repository_s_files_and_secrets() {
    let kustomization = &yaml(&format!("{DEMO}/kustomization.yaml"))[0];
    for generator in kustomization["configMapGenerator"].as_vec().unwrap() {
        let Some(files) = generator["files"].as_vec() else {
            continue;
        };
        let dir = text(&generator["name"])
            .trim_start_matches("canonflow-")
            .to_owned();
        let listed: BTreeSet<&str> = files.iter().map(text).collect();
        let in_repo: BTreeSet<String> = std::fs::read_dir(root().join("config").join(&dir))
            .unwrap()
            .map(|e| format!("{dir}/{}", e.unwrap().file_name().to_string_lossy()))
            .collect();
        assert_eq!(
            listed,
            in_repo.iter().map(String::as_str).collect(),
            "{dir}"
        );
        for file in listed {
            assert_eq!(
                read(&format!("{DEMO}/{file}")),
                read(&format!("config/{file}")),
                "{file}"
            );
        }
    }
    let secrets: BTreeSet<String> = read(&format!("{DEMO}/demo-secrets.env"))
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, _)| k.to_owned()))
        .collect();
    let missing: Vec<_> = source_secret_variables()
        .difference(&secrets)
        .cloned()
        .collect();
    assert!(missing.is_empty(), "canonflow-secrets lacks {missing:?}");
    assert!(secrets.contains("CANONFLOW__POSTGRES__URL"));
    let stems = source_stems();
    for (name, _) in demo_env() {
        if let Some(rest) = name.strip_prefix("CANONFLOW_SOURCE__") {
            assert!(stems.contains(rest.split("__").next().unwrap()), "{name}");
        }
    }
}
