//! A dead letter as the CLI shows it: the record's coordinates, its error
//! headers decoded, its original key, headers and payload (pretty-printed
//! JSON, or a canonical entity decoded from the Confluent wire format) —
//! and the filters that select dead letters.

use std::collections::BTreeMap;

use canonflow_canonical::{Catalog, wire};
use canonflow_common::headers;
use chrono::{DateTime, Utc};
use rdkafka::Message;
use rdkafka::message::{Headers, OwnedMessage};
use serde::Serialize;
use serde_json::Value;

/// One dead letter, decoded.
#[derive(Debug, Clone, Serialize)]
pub struct Letter {
    /// Where the dead letter is: `topic/partition/offset`.
    pub at: String,
    pub stage: String,
    pub class: String,
    pub message: String,
    pub path: String,
    /// When the stage rejected the record (else the record's timestamp).
    pub time: Option<DateTime<Utc>>,
    /// Where the original came from (`topic/partition/offset`, or for the
    /// fetcher a request URL).
    pub origin: String,
    pub mapping_version: Option<String>,
    pub source: Option<String>,
    pub stream: Option<String>,
    pub key: Option<String>,
    /// How often the original was redriven before.
    pub redrives: u32,
    /// Every header of the dead letter, as text.
    pub headers: BTreeMap<String, String>,
    /// The original payload, readable: JSON, a decoded canonical entity,
    /// text, or a note about binary bytes.
    pub payload: Value,
    #[serde(skip)]
    pub record: OwnedMessage,
}

impl Letter {
    pub fn new(record: OwnedMessage, catalog: &Catalog) -> Self {
        let mut all = BTreeMap::new();
        if let Some(found) = record.headers() {
            for header in found.iter() {
                let value = header
                    .value
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                all.insert(header.key.to_owned(), value.into_owned());
            }
        }
        let get = |name: &str| all.get(name).cloned();
        let time = get(headers::ERROR_TIME)
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc))
            .or_else(|| {
                record
                    .timestamp()
                    .to_millis()
                    .and_then(DateTime::from_timestamp_millis)
            });
        Self {
            at: headers::origin(record.topic(), record.partition(), record.offset()),
            stage: get(headers::ERROR_STAGE).unwrap_or_default(),
            class: get(headers::ERROR_CLASS).unwrap_or_default(),
            message: get(headers::ERROR_MESSAGE).unwrap_or_default(),
            path: get(headers::ERROR_PATH).unwrap_or_default(),
            time,
            origin: get(headers::ERROR_ORIGIN).unwrap_or_default(),
            mapping_version: get(headers::ERROR_MAPPING_VERSION),
            source: get(headers::SOURCE),
            stream: get(headers::STREAM),
            key: record
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            redrives: get(headers::REDRIVE_COUNT)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            payload: readable(record.payload(), catalog),
            headers: all,
            record,
        }
    }

    /// `source/stream`, or `-` when the record does not say.
    pub fn source_stream(&self) -> String {
        match (&self.source, &self.stream) {
            (Some(source), Some(stream)) => format!("{source}/{stream}"),
            _ => "-".to_owned(),
        }
    }
}

/// The payload in a form people can read.
fn readable(payload: Option<&[u8]>, catalog: &Catalog) -> Value {
    let Some(bytes) = payload else {
        return Value::Null;
    };
    if let Ok(json) = serde_json::from_slice::<Value>(bytes) {
        return json;
    }
    if let Ok(entity) = wire::decode_any(catalog, bytes)
        && let Ok(json) = serde_json::to_value(&entity)
    {
        return json;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_owned()),
        Err(_) => Value::String(format!(
            "({} bytes, neither JSON, a known canonical entity nor text)",
            bytes.len()
        )),
    }
}

/// Which dead letters a command works on; every given field must match.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Filter {
    /// Only this error class (`invalid_input`, …).
    #[arg(long)]
    pub class: Option<String>,
    /// Only records of this source.
    #[arg(long)]
    pub source: Option<String>,
    /// Only records of this stream.
    #[arg(long)]
    pub stream: Option<String>,
    /// Only records with this key.
    #[arg(long)]
    pub key: Option<String>,
    /// Only dead letters from this time on (RFC 3339).
    #[arg(long)]
    pub since: Option<DateTime<Utc>>,
    /// Only dead letters before this time (RFC 3339).
    #[arg(long)]
    pub until: Option<DateTime<Utc>>,
}

impl Filter {
    pub fn matches(&self, letter: &Letter) -> bool {
        let same = |wanted: &Option<String>, actual: Option<&str>| {
            wanted.as_deref().is_none_or(|w| actual == Some(w))
        };
        same(&self.class, Some(&letter.class))
            && same(&self.source, letter.source.as_deref())
            && same(&self.stream, letter.stream.as_deref())
            && same(&self.key, letter.key.as_deref())
            && self
                .since
                .is_none_or(|since| letter.time.is_some_and(|t| t >= since))
            && self
                .until
                .is_none_or(|until| letter.time.is_some_and(|t| t < until))
    }
}
