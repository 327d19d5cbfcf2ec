//! Mapping on several threads gives what one thread gives, in the same
//! order.

use std::path::Path;
use std::sync::{Arc, Mutex};

use canonflow_canonical::Catalog;
use canonflow_common::observe::trace::Fanout;
use canonflow_common::topics::Topics;
use rdkafka::Timestamp;
use rdkafka::message::{Header, OwnedHeaders, OwnedMessage};

use super::{Mapped, Mapper};
use crate::drift::DriftWatch;
use crate::enrich::Enrichment;
use crate::mapping::Mappings;
use crate::outputs::Transformed;
use crate::pipeline::Threads;
use crate::record::{Record, from_owned};

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// `n` raw records: the examples with their ids made unique, every
/// seventh payload truncated (a dead letter), in the pipeline's order.
fn raw_records(n: usize) -> Vec<Record> {
    let mut examples: Vec<serde_json::Value> = std::fs::read_dir(repo().join("schemas/examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".raw.json"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    examples.sort_by_key(|e| e["key"].to_string());
    (0..n)
        .map(|i| {
            let example = &examples[i % examples.len()];
            let mut payload = example["payload"].clone();
            // The key's id, and the payload field holding it, made unique.
            let key = example["key"].as_str().unwrap();
            let (stream, id) = key.rsplit_once('/').unwrap();
            let unique = format!("{id}-{i}");
            for value in payload.as_object_mut().unwrap().values_mut() {
                if value.as_str() == Some(id) {
                    *value = unique.clone().into();
                }
            }
            let key = format!("{stream}/{unique}");
            let mut bytes = serde_json::to_vec(&payload).unwrap();
            if i % 7 == 3 {
                bytes.truncate(bytes.len() / 2);
            }
            let header = |name: &str| example["headers"][name].as_str().unwrap().to_owned();
            let headers = OwnedHeaders::new()
                .insert(Header {
                    key: "canonflow.source",
                    value: Some(&header("canonflow.source")),
                })
                .insert(Header {
                    key: "canonflow.stream",
                    value: Some(&header("canonflow.stream")),
                });
            from_owned(&OwnedMessage::new(
                Some(bytes),
                Some(key.into_bytes()),
                "canonflow.raw".into(),
                Timestamp::NotAvailable,
                (i % 3) as i32,
                i as i64,
                Some(headers),
            ))
        })
        .collect()
}

/// Each result as (what it became, topic, key, payload).
fn summary(mapped: Vec<Mapped>) -> Vec<(&'static str, String, Vec<u8>, Vec<u8>)> {
    mapped
        .into_iter()
        .map(|m| match m.transformed {
            Transformed::Canonical { output, .. } => (
                "canonical",
                format!("{:?}", output.topic),
                output.key.unwrap_or_default(),
                output.payload.unwrap_or_default(),
            ),
            Transformed::DeadLetter { output, .. } => (
                "dead letter",
                format!("{:?}", output.topic),
                output.key.unwrap_or_default(),
                output.payload.unwrap_or_default(),
            ),
            Transformed::Unmapped { source, stream } => {
                ("unmapped", format!("{source}/{stream}"), vec![], vec![])
            }
        })
        .collect()
}

#[test]
fn several_threads_map_a_batch_as_one_thread_does_and_in_its_order() {
    let mappings = Mappings::load(&repo().join("config/mappings"), 1 << 20).unwrap();
    let catalog = Arc::new(Catalog::embedded().unwrap());
    let topics = Topics::with_prefix("test");
    // No enrichment rules: with them, which worker sees which cost center
    // depends on the threads' timing (a late reference, re-emitted).
    let enrichment = Enrichment::new(Vec::new(), 10, Arc::clone(&catalog));
    let mut mapper = Mapper {
        mappings: Arc::new(mappings),
        enrichment,
        catalog,
        destinations: crate::outputs::Destinations::new(&topics),
        topics,
        drift: Some(Arc::new(Mutex::new(DriftWatch::default()))),
        threads: Threads::new("test-map", 1),
    };
    let batch = raw_records(5_000);
    let map = |mapper: &Mapper| {
        let fanout = Fanout::new(tracing::info_span!(
            "batch",
            trace_id = tracing::field::Empty
        ));
        let mut job = mapper.start(batch.clone(), vec![None; batch.len()], fanout);
        summary(job.finish(mapper).0)
    };

    let one = map(&mapper);
    mapper.threads = Threads::new("test-map", 4);
    let four = map(&mapper);

    assert_eq!(one.len(), batch.len());
    let dead = one.iter().filter(|r| r.0 == "dead letter").count();
    let canonical = one.iter().filter(|r| r.0 == "canonical").count();
    assert!(
        dead >= 700 && canonical >= 3_000,
        "{dead} dead letters, {canonical} canonical"
    );
    assert!(
        one == four,
        "four threads mapped the batch differently from one"
    );
}
