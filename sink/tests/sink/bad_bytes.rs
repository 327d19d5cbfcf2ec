//! Bytes on a canonical topic that are not a canonical entity of that
//! topic — a wrong magic byte, a payload too short for a schema id,
//! truncated Avro — are the sink's dead letters (`invalid_input`, with the
//! decoding error), and the good records around them are written.

use canonflow_canonical::wire;
use canonflow_common::headers;
use canonflow_testkit::drain;
use rdkafka::Message;

use crate::support::{self, Harness, supplier};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_records_are_dead_letters_and_the_rest_is_written() {
    let harness = Harness::start(1).await;
    let good: Vec<_> = (0..5).map(|i| supplier(i, 1, "DE")).collect();
    harness.produce(&good[..2]).await;
    let kind = good[0].attributes.kind();
    let valid = wire::encode(&harness.catalog, kind, &good[0]).unwrap();
    let mut bad_magic = valid.clone();
    bad_magic[0] = 7;
    let bad: [(&str, Vec<u8>); 3] = [
        ("bad-magic", bad_magic),
        ("too-short", valid[..3].to_vec()),
        ("truncated", valid[..valid.len() / 2].to_vec()),
    ];
    let topic = harness.topics.topics.canonical(kind.name());
    let records: Vec<(&str, &[u8])> = bad.iter().map(|(k, p)| (*k, p.as_slice())).collect();
    harness.produce_bytes(&topic, &records).await;
    harness.produce(&good[2..]).await;

    let run = harness.spawn("");
    harness.wait_committed(good.len() + bad.len()).await;
    let totals = harness.stop(run).await;
    assert_eq!(
        harness.names().await.len(),
        good.len(),
        "the good records are written"
    );
    assert_eq!(totals.dead_letters, bad.len() as u64);
    let dead = drain(
        &harness.stack,
        &harness.topics.topics.dead_letters("sink"),
        support::DEADLINE,
    )
    .await;
    let mut keys = Vec::new();
    for letter in &dead {
        let header = |name| headers::text(letter.headers(), name).unwrap_or_default();
        assert_eq!(header(headers::ERROR_CLASS), "invalid_input");
        assert_eq!(header(headers::ERROR_STAGE), "sink");
        assert!(!header(headers::ERROR_MESSAGE).is_empty());
        assert!(header(headers::ERROR_ORIGIN).starts_with(&topic));
        let key = String::from_utf8_lossy(letter.key().unwrap()).into_owned();
        let original = &bad.iter().find(|(k, _)| *k == key).unwrap().1;
        assert_eq!(
            letter.payload(),
            Some(original.as_slice()),
            "{key}: the original bytes"
        );
        keys.push(key);
    }
    keys.sort();
    assert_eq!(keys, ["bad-magic", "too-short", "truncated"]);
}
