//! The broker's ceiling for the fetcher's publishing protocol, measured
//! with nothing else running: the same records in transactions of the same
//! size, one transaction at a time (as the fetcher runs them, see
//! `publish.rs`), each sending its raw records, waiting for their
//! acknowledgements, then sending one checkpoint-sized record to a
//! watermarks partition and committing. No HTTP, no parsing, no start-up.

use std::time::{Duration, Instant};

use canonflow_common::kafka;
use canonflow_testkit::{Stack, TestTopics};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

/// Transaction calls may block this long.
const TIMEOUT: Duration = Duration::from_secs(30);

/// One raw record as the fetcher would publish it.
pub struct Record {
    pub key: String,
    pub payload: Vec<u8>,
}

/// Publishes `records` in transactions of `per_transaction` records;
/// returns the time from the first transaction's start to the last commit.
pub async fn transactional_publish(
    stack: &Stack,
    records: &[Record],
    per_transaction: usize,
) -> Duration {
    let mut topics = TestTopics::new(stack);
    let (raw, watermarks) = (topics.name("raw"), topics.name("watermarks"));
    topics.create(&raw, 6, &[]).await;
    topics.create(&watermarks, 6, &[]).await;
    let producer: FutureProducer = stack
        .kafka()
        .transactional_producer_config("bench", &canonflow_testkit::unique("ceiling"))
        .unwrap()
        .create()
        .unwrap();
    producer.init_transactions(TIMEOUT).unwrap();
    // Provenance headers of about the fetcher's size.
    let headers = [
        ("canonflow.source", "finance"),
        ("canonflow.stream", "invoices"),
        ("canonflow.fetched_at", "2026-12-04T15:00:00.000000Z"),
        ("canonflow.sync_run", "0d6f3c4e-8a51-4b1e-9a0f-5c1d2e3f4a5b"),
        (
            "canonflow.request_url",
            "http://127.0.0.1:40000/odata/v4/Invoices?$top=500",
        ),
        ("canonflow.page", "17"),
        ("canonflow.cursor", "{\"Timestamp\":1733324400000000}"),
    ]
    .iter()
    .fold(OwnedHeaders::new_with_capacity(7), |h, (key, value)| {
        h.insert(Header {
            key,
            value: Some(*value),
        })
    });
    let checkpoint = vec![b'x'; 400];
    let started = Instant::now();
    for chunk in records.chunks(per_transaction.max(1)) {
        producer.begin_transaction().unwrap();
        let mut deliveries = Vec::with_capacity(chunk.len());
        for record in chunk {
            let mut future = FutureRecord::to(&raw)
                .key(&record.key)
                .payload(&record.payload)
                .headers(headers.clone());
            loop {
                match producer.send_result(future) {
                    Ok(delivery) => break deliveries.push(delivery),
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        future = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((error, _)) => panic!("producing: {error}"),
                }
            }
        }
        for delivery in deliveries {
            delivery.await.unwrap().unwrap();
        }
        let mark = FutureRecord::to(&watermarks)
            .key("source/stream")
            .payload(&checkpoint)
            .partition(0);
        producer.send_result(mark).map_err(|(e, _)| e).unwrap();
        tokio::task::block_in_place(|| kafka::commit_transaction(&producer, TIMEOUT)).unwrap();
    }
    started.elapsed()
}
