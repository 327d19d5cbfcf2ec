//! A raw record as the pipeline holds it: copied out of the consumer once,
//! key, payload and headers into one buffer; its headers are then read
//! from that buffer, not through librdkafka again.
//!
//! librdkafka's own copy (`detach`) allocates per header, and every later
//! look-up of a header by name walks them through its C API again; a batch
//! reads each record's source, stream and trace context and carries all
//! its headers on, so that cost was paid several times per record.

use std::sync::Arc;

use canonflow_common::headers;
use rdkafka::Message;
use rdkafka::message::{Header, Headers, OwnedHeaders};

use crate::mapping::RawRecord;

/// Where a part lies in [`Record::bytes`].
#[derive(Debug, Clone, Copy)]
struct Part {
    start: usize,
    end: usize,
}

#[derive(Debug, Clone, Copy)]
struct HeaderParts {
    name: Part,
    value: Option<Part>,
}

/// One raw record, owned.
#[derive(Debug, Clone)]
pub struct Record {
    topic: Arc<str>,
    partition: i32,
    offset: i64,
    /// Create or log-append time, ms.
    timestamp: Option<i64>,
    /// Key, payload, then each header's name and value.
    bytes: Vec<u8>,
    key: Option<Part>,
    payload: Option<Part>,
    headers: Vec<HeaderParts>,
}

impl Record {
    /// Copies `message`; `topic` is its topic's name, shared by the
    /// records of a batch (see [`Record::topic_of`]).
    pub fn copy(message: &impl Message, topic: Arc<str>) -> Self {
        // The buffer sized exactly, though that walks the headers twice:
        // room to spare would be kept by each of the ~30,000 records that
        // the batches in memory hold.
        let headers = message.headers();
        let header_bytes: usize = headers.map_or(0, |h| {
            h.iter()
                .map(|h| h.key.len() + h.value.map_or(0, <[u8]>::len))
                .sum()
        });
        let (key, payload) = (message.key(), message.payload());
        let mut bytes = Vec::with_capacity(
            key.map_or(0, <[u8]>::len) + payload.map_or(0, <[u8]>::len) + header_bytes,
        );
        let key = key.map(|k| append(&mut bytes, k));
        let payload = payload.map(|p| append(&mut bytes, p));
        let headers = headers.map_or_else(Vec::new, |h| {
            h.iter()
                .map(|h| HeaderParts {
                    name: append(&mut bytes, h.key.as_bytes()),
                    value: h.value.map(|v| append(&mut bytes, v)),
                })
                .collect()
        });
        Self {
            topic,
            partition: message.partition(),
            offset: message.offset(),
            timestamp: canonflow_common::observe::kafka::timestamp_ms(message),
            bytes,
            key,
            payload,
            headers,
        }
    }

    /// `message`'s topic name: `last` again if it is the same, so that a
    /// batch holds one copy of it.
    pub fn topic_of(message: &impl Message, last: &mut Option<Arc<str>>) -> Arc<str> {
        match last {
            Some(topic) if &**topic == message.topic() => Arc::clone(topic),
            _ => Arc::clone(last.insert(Arc::from(message.topic()))),
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    pub fn partition(&self) -> i32 {
        self.partition
    }

    pub fn offset(&self) -> i64 {
        self.offset
    }

    pub fn timestamp_ms(&self) -> Option<i64> {
        self.timestamp
    }

    pub fn key(&self) -> Option<&[u8]> {
        self.key.map(|p| self.part(p))
    }

    pub fn payload(&self) -> Option<&[u8]> {
        self.payload.map(|p| self.part(p))
    }

    /// Every header, in order.
    pub fn headers(&self) -> impl Iterator<Item = Header<'_, &[u8]>> {
        self.headers.iter().map(|h| Header {
            // Copied from a `&str`, cut where it ended.
            key: std::str::from_utf8(self.part(h.name)).unwrap_or_default(),
            value: h.value.map(|v| self.part(v)),
        })
    }

    /// The value of the first header named `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|h| self.part(h.name) == name.as_bytes())
            .and_then(|h| h.value.map(|v| self.part(v)))
    }

    /// [`header`](Self::header) as text, if it is UTF-8.
    pub fn header_text(&self, name: &str) -> Option<&str> {
        std::str::from_utf8(self.header(name)?).ok()
    }

    /// Its headers for what is sent on from it ([`headers::carried`]).
    pub fn carried(&self, traceparent: Option<&str>) -> OwnedHeaders {
        headers::carried(self.headers(), self.headers.len(), traceparent)
    }

    /// The record as mapping sees it.
    pub fn raw(&self) -> RawRecord<'_> {
        RawRecord {
            topic: self.topic(),
            partition: self.partition,
            offset: self.offset,
            key: self.key(),
            payload: self.payload(),
            source: self.header(headers::SOURCE),
            stream: self.header(headers::STREAM),
        }
    }

    fn part(&self, part: Part) -> &[u8] {
        self.bytes.get(part.start..part.end).unwrap_or_default()
    }
}

/// Appends `data` to `bytes`; where it lies.
fn append(bytes: &mut Vec<u8>, data: &[u8]) -> Part {
    let start = bytes.len();
    bytes.extend_from_slice(data);
    Part {
        start,
        end: bytes.len(),
    }
}

/// A record the way a consumer would hand it over, for tests.
#[cfg(test)]
pub fn from_owned(message: &rdkafka::message::OwnedMessage) -> Record {
    Record::copy(message, Arc::from(message.topic()))
}

#[cfg(test)]
mod tests {
    use rdkafka::Timestamp;
    use rdkafka::message::OwnedMessage;

    use super::*;

    #[test]
    fn a_copy_keeps_key_payload_and_headers_in_order() {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: headers::SOURCE,
                value: Some("hr"),
            })
            .insert(Header {
                key: headers::TRACEPARENT,
                value: Some("00-a-b-01"),
            })
            .insert(Header::<&[u8]> {
                key: "empty",
                value: None,
            })
            .insert(Header {
                key: headers::SOURCE,
                value: Some("second"),
            });
        let message = OwnedMessage::new(
            Some(b"{}".to_vec()),
            Some(b"hr/workers/1".to_vec()),
            "raw".into(),
            Timestamp::CreateTime(42),
            3,
            7,
            Some(headers),
        );
        let record = from_owned(&message);
        assert_eq!(
            (record.topic(), record.partition(), record.offset()),
            ("raw", 3, 7)
        );
        assert_eq!(record.timestamp_ms(), Some(42));
        assert_eq!(record.key(), Some(&b"hr/workers/1"[..]));
        assert_eq!(record.payload(), Some(&b"{}"[..]));
        assert_eq!(record.header_text(headers::SOURCE), Some("hr"));
        assert_eq!(record.header("empty"), None);
        assert_eq!(record.header("absent"), None);
        let all: Vec<_> = record.headers().map(|h| (h.key, h.value)).collect();
        assert_eq!(
            all,
            [
                (headers::SOURCE, Some(&b"hr"[..])),
                (headers::TRACEPARENT, Some(&b"00-a-b-01"[..])),
                ("empty", None),
                (headers::SOURCE, Some(&b"second"[..])),
            ]
        );
        let carried = record.carried(Some("00-c-d-01"));
        assert_eq!(carried.count(), 4);
        assert_eq!(
            headers::text(Some(&carried), headers::TRACEPARENT),
            Some("00-c-d-01")
        );
    }

    #[test]
    fn a_record_without_key_payload_or_headers_has_none() {
        let message = OwnedMessage::new(
            None,
            None,
            "raw".into(),
            Timestamp::NotAvailable,
            0,
            0,
            None,
        );
        let record = from_owned(&message);
        assert_eq!((record.key(), record.payload()), (None, None));
        assert_eq!(record.headers().count(), 0);
        assert_eq!(record.timestamp_ms(), None);
        assert_eq!(record.carried(None).count(), 0);
    }

    #[test]
    fn records_of_one_topic_share_its_name() {
        let message = |topic: &str| {
            OwnedMessage::new(
                None,
                None,
                topic.into(),
                Timestamp::NotAvailable,
                0,
                0,
                None,
            )
        };
        let mut last = None;
        let first = Record::topic_of(&message("raw"), &mut last);
        let again = Record::topic_of(&message("raw"), &mut last);
        let other = Record::topic_of(&message("other"), &mut last);
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(&*other, "other");
    }
}
