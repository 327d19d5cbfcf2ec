//! The transformer's own work without Kafka: the same raw records mapped,
//! enriched and Avro-encoded in this process, on one thread, as the
//! pipeline does each record — what one pipeline thread could do if the
//! broker cost nothing. Generating the records is not timed.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use canonflow_canonical::entities::Attributes;
use canonflow_canonical::{Catalog, wire};
use canonflow_transformer::enrich::Enrichment;
use canonflow_transformer::mapping::{Mappings, Outcome, RawRecord};

use crate::records::Generator;

/// Records generated, then mapped, at a time.
const CHUNK: usize = 10_000;

/// Time spent mapping and encoding `records` records of `seed`.
pub fn map_only(records: usize, seed: u64) -> Duration {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/mappings");
    let mappings = Mappings::load(&dir, 1024 * 1024).unwrap();
    let catalog = std::sync::Arc::new(Catalog::embedded().unwrap());
    let enrichment = Enrichment::new(
        mappings.enrichments().to_vec(),
        100_000,
        std::sync::Arc::clone(&catalog),
    );
    let mut generator = Generator::new(seed);
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut elapsed = Duration::ZERO;
    let mut done = 0;
    while done < records {
        chunk.clear();
        chunk.extend((0..CHUNK.min(records - done)).map(|_| generator.next_record()));
        let started = Instant::now();
        for (i, raw) in chunk.iter().enumerate() {
            let record = RawRecord {
                topic: "bench.raw",
                partition: 0,
                offset: (done + i) as i64,
                key: Some(raw.key.as_bytes()),
                payload: Some(&raw.payload),
                source: Some(raw.stream.source().as_bytes()),
                stream: Some(raw.stream.name().as_bytes()),
            };
            let Outcome::Mapped(mut entity) = mappings.map(&record).unwrap() else {
                continue;
            };
            enrichment.apply(&mut entity);
            if let Attributes::CostCenter(_) = entity.attributes {
                enrichment.learn(&entity);
            }
            let kind = entity.attributes.kind();
            black_box(wire::encode(&catalog, kind, &entity).unwrap());
        }
        elapsed += started.elapsed();
        done += chunk.len();
    }
    elapsed
}
