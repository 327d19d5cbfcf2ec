//! What the transformer writes for one raw record: the canonical entity on
//! its entity's topic, keyed by canonical id, or a dead letter carrying the
//! original key, value and headers plus the error.

use canonflow_canonical::entities::Attributes;
use canonflow_canonical::{Catalog, EntityKind, wire};
use canonflow_common::headers;
use canonflow_common::topics::Topics;
use chrono::{SecondsFormat, Utc};
use rdkafka::message::{Header, OwnedHeaders};

use crate::enrich::{Enrichment, Reemit};
use crate::mapping::{Json, MapError, Mappings, Outcome, RawRecord};
use crate::record::Record;

/// One record to produce.
#[derive(Debug)]
pub struct Output {
    pub topic: Destination,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: OwnedHeaders,
}

/// What became of a raw record, ready to produce.
#[derive(Debug)]
pub enum Transformed {
    Canonical { output: Output, kind: EntityKind },
    DeadLetter { output: Output, error: String },
    Unmapped { source: String, stream: String },
}

/// Where an output goes: resolved to a topic name by [`Destinations`] when
/// sent, so that mapping threads neither format nor share a name per record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    Canonical(EntityKind),
    DeadLetters,
}

/// The topics outputs go to, each name made once: every entity type's
/// canonical topic, and the transformer's dead letters.
#[derive(Debug, Clone)]
pub struct Destinations {
    /// By [`slot`].
    canonical: [String; EntityKind::ALL.len()],
    dead_letters: String,
}

/// Where an entity type's topic is kept in [`Destinations`].
fn slot(kind: EntityKind) -> usize {
    match kind {
        EntityKind::Worker => 0,
        EntityKind::Organization => 1,
        EntityKind::CostCenter => 2,
        EntityKind::Supplier => 3,
        EntityKind::Invoice => 4,
    }
}

impl Destinations {
    pub fn new(topics: &Topics) -> Self {
        Self {
            canonical: EntityKind::ALL.map(|kind| topics.canonical(kind.name())),
            dead_letters: topics.dead_letters("transformer"),
        }
    }

    /// The topic of `destination`.
    pub fn name(&self, destination: Destination) -> &str {
        match destination {
            Destination::Canonical(kind) => &self.canonical[slot(kind)],
            Destination::DeadLetters => &self.dead_letters,
        }
    }
}

/// Maps and encodes one raw record; what it becomes carries `traceparent`
/// (the `map` span's) in place of the raw record's.
pub fn transform(
    record: &Record,
    mappings: &Mappings,
    enrichment: &Enrichment,
    catalog: &Catalog,
    traceparent: Option<&str>,
    observe: &mut dyn FnMut(&str, &str, &Json<'_>),
) -> Transformed {
    let raw = record.raw();
    let mut entity = match mappings.map_observed(&raw, observe) {
        Ok(Outcome::Mapped(entity)) => entity,
        Ok(Outcome::Unmapped { source, stream }) => {
            return Transformed::Unmapped { source, stream };
        }
        Err(error) => {
            return dead_letter(record, &raw, mappings, &error, traceparent);
        }
    };
    let enriched_from = enrichment.apply(&mut entity);
    if let Attributes::CostCenter(_) = entity.attributes {
        // Known at once to the records mapped after it (on any mapping
        // thread), before it is read back.
        enrichment.learn(&entity);
    }
    let kind = entity.attributes.kind();
    match wire::encode(catalog, kind, &entity) {
        Ok(payload) => Transformed::Canonical {
            output: Output {
                topic: Destination::Canonical(kind),
                key: Some(entity.canonical_id.into_bytes()),
                payload: Some(payload),
                headers: stamped(record.carried(traceparent), enriched_from.as_deref()),
            },
            kind,
        },
        // The mapping produced what the schema cannot hold: a mapping bug
        // shown by this record; dead-letter it like bad data.
        Err(e) => dead_letter(
            record,
            &raw,
            mappings,
            &MapError::new("", e.to_string()),
            traceparent,
        ),
    }
}

/// An enriched entity to publish again: its headers say where it is from,
/// and carry `traceparent` (the batch's).
pub fn reemit(entity: &Reemit, traceparent: Option<&str>) -> Output {
    let mut headers = OwnedHeaders::new_with_capacity(4)
        .insert(Header {
            key: headers::SOURCE,
            value: Some(&entity.source),
        })
        .insert(Header {
            key: headers::STREAM,
            value: Some(&entity.stream),
        });
    if let Some(traceparent) = traceparent {
        headers = headers.insert(Header {
            key: headers::TRACEPARENT,
            value: Some(traceparent),
        });
    }
    Output {
        topic: Destination::Canonical(entity.kind),
        key: Some(entity.canonical_id.clone().into_bytes()),
        payload: Some(entity.payload.clone()),
        headers: stamped(headers, Some(&entity.enriched_from)),
    }
}

/// `headers` with the enrichment stamp last, for an entity enrichment
/// reads back: after any a raw record carried, so that the tail reads this
/// one.
fn stamped(headers: OwnedHeaders, enriched_from: Option<&str>) -> OwnedHeaders {
    match enriched_from {
        Some(value) => headers.insert(Header {
            key: headers::ENRICHED_FROM,
            value: Some(value),
        }),
        None => headers,
    }
}

fn dead_letter(
    record: &Record,
    raw: &RawRecord<'_>,
    mappings: &Mappings,
    error: &MapError,
    traceparent: Option<&str>,
) -> Transformed {
    let origin = headers::origin(raw.topic, raw.partition, raw.offset);
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let version = raw
        .source
        .zip(raw.stream)
        .and_then(|(source, stream)| {
            let source = std::str::from_utf8(source).ok()?;
            let stream = std::str::from_utf8(stream).ok()?;
            mappings.version_of(source, stream)
        })
        .map(|v| v.to_string());
    let mut out = headers::ErrorHeaders {
        stage: "transformer",
        class: "invalid_input",
        message: &error.problem,
        path: &error.path,
        time: &now,
        origin: &origin,
    }
    .add_to(record.carried(traceparent));
    if let Some(version) = &version {
        out = out.insert(Header {
            key: headers::ERROR_MAPPING_VERSION,
            value: Some(version),
        });
    }
    Transformed::DeadLetter {
        output: Output {
            topic: Destination::DeadLetters,
            key: raw.key.map(<[u8]>::to_vec),
            payload: raw.payload.map(<[u8]>::to_vec),
            headers: out,
        },
        error: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_destination_has_its_topic() {
        let destinations = Destinations::new(&Topics::with_prefix("p"));
        for kind in EntityKind::ALL {
            let topic = destinations.name(Destination::Canonical(kind));
            assert_eq!(topic, format!("p.canonical.{}", kind.name()));
        }
        assert_eq!(
            destinations.name(Destination::DeadLetters),
            "p.dlq.transformer"
        );
    }
}
