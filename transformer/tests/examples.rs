//! Every example under `schemas/examples/` maps to its expected canonical
//! entity with the shipped mappings (`config/mappings/`).
//!
//! `<name>.raw.json` is a raw record (coordinates, key, headers, payload);
//! `<name>.canonical.json` is what the transformer must make of it. After an
//! intended change, `CANONFLOW_UPDATE_EXAMPLES=1 cargo test --test examples`
//! rewrites the expectations — review the diff before committing. The
//! examples are enriched from one another (the worker from the cost center)
//! as the transformer would once it has read them all.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::{Path, PathBuf};

use canonflow_canonical::{Catalog, EntityKind, wire};
use canonflow_transformer::enrich::Enrichment;
use canonflow_transformer::mapping::{Mappings, Outcome, RawRecord};
use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn map_example(mappings: &Mappings, raw: &Value) -> Outcome {
    let key = raw["key"].as_str().map(str::as_bytes);
    let payload = serde_json::to_vec(&raw["payload"]).unwrap();
    let header = |name: &str| raw["headers"][name].as_str().map(str::as_bytes);
    let record = RawRecord {
        topic: raw["topic"].as_str().unwrap(),
        partition: i32::try_from(raw["partition"].as_i64().unwrap()).unwrap(),
        offset: raw["offset"].as_i64().unwrap(),
        key,
        payload: Some(&payload),
        source: header("canonflow.source"),
        stream: header("canonflow.stream"),
    };
    mappings.map(&record).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_example_maps_to_its_expected_canonical_entity() {
    let mappings = Mappings::load(&repo().join("config/mappings"), 1 << 20).unwrap();
    let catalog = Catalog::embedded().unwrap();
    let update = std::env::var_os("CANONFLOW_UPDATE_EXAMPLES").is_some();
    let dir = repo().join("schemas/examples");
    let mut raws: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".raw.json"))
        .collect();
    raws.sort();
    assert!(raws.len() >= 5, "examples missing from {}", dir.display());
    // Enrichment as in the pipeline once every example is known: the
    // references (cost centers) first, then each entity enriched from them.
    let mapped: Vec<_> = raws
        .iter()
        .map(|path| {
            let raw: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
            let Outcome::Mapped(entity) = map_example(&mappings, &raw) else {
                panic!("{}: no mapping", path.display());
            };
            entity
        })
        .collect();
    let enrichment = Enrichment::new(
        mappings.enrichments().to_vec(),
        100,
        std::sync::Arc::new(Catalog::embedded().unwrap()),
    );
    for entity in &mapped {
        if entity.attributes.kind() == EntityKind::CostCenter {
            enrichment.learn(entity);
        }
    }
    let mut kinds = std::collections::BTreeSet::new();
    for (raw_path, mut entity) in raws.into_iter().zip(mapped) {
        enrichment.apply(&mut entity);
        kinds.insert(entity.attributes.kind());
        // The entity survives its Avro schema.
        wire::encode(&catalog, entity.attributes.kind(), &entity).unwrap();

        let actual = serde_json::to_value(&entity).unwrap();
        let expected_path = PathBuf::from(
            raw_path
                .to_string_lossy()
                .replace(".raw.json", ".canonical.json"),
        );
        if update {
            let text = serde_json::to_string_pretty(&actual).unwrap() + "\n";
            std::fs::write(&expected_path, text).unwrap();
            continue;
        }
        let expected: Value = serde_json::from_slice(
            &std::fs::read(&expected_path)
                .unwrap_or_else(|_| panic!("{} is missing", expected_path.display())),
        )
        .unwrap();
        assert_eq!(actual, expected, "{} maps differently", raw_path.display());
    }
    assert_eq!(
        kinds.len(),
        5,
        "every entity type has an example: {kinds:?}"
    );
}
