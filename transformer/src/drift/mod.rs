//! Data drift: how each stream's raw records change shape over time.
//!
//! Per (source, stream), the first `BASELINE` records a transformer copy
//! sees set the baseline: the top-level fields, the JSON types each holds,
//! and how often each is null. After that, every record is compared, and
//! each change is reported once — as a log event naming source, stream and
//! field, and as `canonflow_drift_events_total{source, stream, kind}`:
//!
//! - `field_added`: a field the baseline never had;
//! - `type_changed`: a field holding a JSON type it never held (null aside);
//! - `field_removed`: a field present in nearly every baseline record that
//!   no record of the last `WINDOW` had;
//! - `null_rate`: a field whose share of nulls over the last `WINDOW`
//!   records differs from the baseline's by more than `NULL_RATE_SHIFT`.
//!
//! Only the top level is read, without building values (`shape`), so
//! watching costs a fraction of mapping.

use std::collections::HashSet;

use ::metrics::counter;
use canonflow_common::observe::names;
use shape::Shape;

use crate::mapping::Json;

mod shape;

/// Records that make a stream's baseline.
pub const BASELINE: u64 = 500;
/// Records over which absence and null rates are judged.
pub const WINDOW: u64 = 500;
/// How far a null rate may move from its baseline.
pub const NULL_RATE_SHIFT: f64 = 0.25;

/// What changed, the `kind` label of a drift event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Drift {
    FieldAdded,
    FieldRemoved,
    TypeChanged,
    NullRate,
}

impl Drift {
    const ALL: [Self; 4] = [
        Self::FieldAdded,
        Self::FieldRemoved,
        Self::TypeChanged,
        Self::NullRate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::FieldAdded => "field_added",
            Self::FieldRemoved => "field_removed",
            Self::TypeChanged => "type_changed",
            Self::NullRate => "null_rate",
        }
    }
}

/// A drift event: what changed in which field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: Drift,
    pub field: String,
    /// For people: e.g. `number, now also string`.
    pub detail: String,
}

/// JSON types as bits, in [`shape::TYPES`] order.
const NULL: u8 = 1;

#[derive(Debug, Default)]
struct Field {
    /// Types held in the baseline, and since.
    baseline_types: u8,
    types: u8,
    baseline_present: u64,
    baseline_nulls: u64,
    window_present: u64,
    window_nulls: u64,
    reported: HashSet<Drift>,
}

#[derive(Debug, Default)]
struct Profile {
    records: u64,
    /// Looked up for every field of every record: foldhash (seeded per
    /// map, so field names from a source cannot be chosen to collide) is
    /// several times cheaper than the standard SipHash here.
    fields: foldhash::HashMap<String, Field>,
}

/// The drift watch of every stream a transformer copy sees.
#[derive(Debug, Default)]
pub struct DriftWatch {
    /// By source, then stream: looked up without allocating.
    streams: foldhash::HashMap<String, foldhash::HashMap<String, Profile>>,
}

impl DriftWatch {
    /// [`observe`](Self::observe) for a raw record as consumed; records
    /// without source and stream headers are the mapping's to refuse.
    pub fn observe_record(&mut self, record: &crate::record::Record) {
        use canonflow_common::headers;
        let header = |name| record.header_text(name);
        if let (Some(source), Some(stream), Some(payload)) = (
            header(headers::SOURCE),
            header(headers::STREAM),
            record.payload(),
        ) {
            self.observe(source, stream, payload);
        }
    }

    /// Compares one raw record with its stream's baseline; returns (and
    /// logs and counts) what changed for the first time.
    pub fn observe(&mut self, source: &str, stream: &str, payload: &[u8]) -> Vec<Event> {
        let Ok(Shape(shape)) = serde_json::from_slice::<Shape>(payload) else {
            return Vec::new(); // not an object: the mapping dead-letters it
        };
        self.observe_shape(source, stream, shape.iter().map(|(n, b)| (n.as_ref(), *b)))
    }

    /// [`observe`](Self::observe) for a payload already parsed (by the
    /// mapping): its top level read from the value, no second parse.
    pub fn observe_parsed(&mut self, source: &str, stream: &str, record: &Json<'_>) -> Vec<Event> {
        let Json::Object(members) = record else {
            return Vec::new();
        };
        let shape = members
            .iter()
            .map(|(name, value)| (name.as_ref(), shape::type_bit(value)));
        self.observe_shape(source, stream, shape)
    }

    /// `shape`: each top-level field's name and type bit.
    fn observe_shape<'a>(
        &mut self,
        source: &str,
        stream: &str,
        shape: impl Iterator<Item = (&'a str, u8)>,
    ) -> Vec<Event> {
        if !self.streams.contains_key(source) {
            self.streams.insert(source.to_owned(), Default::default());
        }
        let Some(streams) = self.streams.get_mut(source) else {
            return Vec::new();
        };
        if !streams.contains_key(stream) {
            streams.insert(stream.to_owned(), Profile::default());
            // Zero from the first record on, so "no drift" is a value.
            for kind in Drift::ALL {
                counter!(names::DRIFT_EVENTS, "source" => source.to_owned(), "stream" => stream.to_owned(), "kind" => kind.as_str())
                    .increment(0);
            }
        }
        let Some(profile) = streams.get_mut(stream) else {
            return Vec::new();
        };
        let events = profile.observe(shape);
        for event in &events {
            tracing::warn!(
                source, stream, field = %event.field, kind = event.kind.as_str(), detail = %event.detail,
                "data drift"
            );
            counter!(names::DRIFT_EVENTS, "source" => source.to_owned(), "stream" => stream.to_owned(), "kind" => event.kind.as_str())
                .increment(1);
        }
        events
    }
}

impl Profile {
    fn observe<'a>(&mut self, shape: impl Iterator<Item = (&'a str, u8)>) -> Vec<Event> {
        self.records += 1;
        let in_baseline = self.records <= BASELINE;
        let mut events = Vec::new();
        for (name, bit) in shape {
            let field = match self.fields.get_mut(name) {
                Some(field) => field,
                None => {
                    if !in_baseline {
                        events.push(Event {
                            kind: Drift::FieldAdded,
                            field: name.to_string(),
                            detail: format!(
                                "first seen after {BASELINE} records, holding {}",
                                type_names(bit)
                            ),
                        });
                    }
                    self.fields.entry(name.to_owned()).or_default()
                }
            };
            field.types |= bit;
            field.window_present += 1;
            if bit == NULL {
                field.window_nulls += 1;
            }
            if in_baseline {
                field.baseline_types |= bit;
                field.baseline_present += 1;
                field.baseline_nulls += u64::from(bit == NULL);
            } else if field.baseline_present > 0
                && bit & !NULL & !field.baseline_types != 0
                && field.reported.insert(Drift::TypeChanged)
            {
                events.push(Event {
                    kind: Drift::TypeChanged,
                    field: name.to_string(),
                    detail: format!(
                        "{}, now also {}",
                        type_names(field.baseline_types),
                        type_names(bit)
                    ),
                });
            }
        }
        if self.records == BASELINE
            || (!in_baseline && (self.records - BASELINE).is_multiple_of(WINDOW))
        {
            if !in_baseline {
                events.extend(self.judge_window());
            }
            for field in self.fields.values_mut() {
                field.window_present = 0;
                field.window_nulls = 0;
            }
        }
        events
    }

    /// At the end of a window: fields gone, null rates moved.
    fn judge_window(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        for (name, field) in &mut self.fields {
            if field.baseline_present == 0 {
                continue;
            }
            let usual = field.baseline_present as f64 / BASELINE as f64;
            if usual >= 0.99 && field.window_present == 0 {
                if field.reported.insert(Drift::FieldRemoved) {
                    events.push(Event {
                        kind: Drift::FieldRemoved,
                        field: name.clone(),
                        detail: format!(
                            "in {:.0} % of the baseline, in none of the last {WINDOW} records",
                            usual * 100.0
                        ),
                    });
                }
                continue;
            }
            let before = field.baseline_nulls as f64 / BASELINE as f64;
            let now = field.window_nulls as f64 / WINDOW as f64;
            if (now - before).abs() > NULL_RATE_SHIFT && field.reported.insert(Drift::NullRate) {
                events.push(Event {
                    kind: Drift::NullRate,
                    field: name.clone(),
                    detail: format!(
                        "null in {:.0} % of records, {:.0} % in the baseline",
                        now * 100.0,
                        before * 100.0
                    ),
                });
            }
        }
        events.sort_by(|a, b| a.field.cmp(&b.field));
        events
    }
}

fn type_names(bits: u8) -> String {
    shape::TYPES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(watch: &mut DriftWatch, n: u64, record: impl Fn(u64) -> String) -> Vec<Event> {
        (0..n)
            .flat_map(|i| watch.observe("hr", "workers", record(i).as_bytes()))
            .collect()
    }

    #[test]
    fn an_added_field_and_a_changed_type_are_each_reported_once() {
        let mut watch = DriftWatch::default();
        let before = feed(&mut watch, BASELINE, |i| {
            format!(r#"{{"id":{i},"grade":3,"name":"A"}}"#)
        });
        assert_eq!(before, []);
        let after = feed(&mut watch, 3 * WINDOW, |i| {
            format!(r#"{{"id":{i},"grade":"3","name":"A","team":{{"x":[1]}}}}"#)
        });
        let kinds: Vec<(Drift, &str)> = after.iter().map(|e| (e.kind, e.field.as_str())).collect();
        assert_eq!(
            kinds,
            [(Drift::TypeChanged, "grade"), (Drift::FieldAdded, "team")]
        );
        assert_eq!(after[0].detail, "number, now also string");
        assert!(after[1].detail.contains("object"), "{}", after[1].detail);
    }

    #[test]
    fn a_parsed_record_is_judged_as_its_payload_would_be() {
        let record = |i: u64| match i < BASELINE {
            true => format!(r#"{{"id":{i},"grade":3,"note":null,"tags":[]}}"#),
            false => format!(r#"{{"id":{i},"grade":"3","note":null,"tags":[],"team":{{}}}}"#),
        };
        let mut from_bytes = DriftWatch::default();
        let mut from_values = DriftWatch::default();
        let by_bytes = feed(&mut from_bytes, BASELINE + WINDOW, record);
        let by_values: Vec<Event> = (0..BASELINE + WINDOW)
            .flat_map(|i| {
                let text = record(i);
                let value = crate::mapping::parse_json(text.as_bytes()).unwrap();
                from_values.observe_parsed("hr", "workers", &value)
            })
            .collect();
        assert_eq!(by_bytes.len(), 2, "{by_bytes:?}");
        assert_eq!(by_values, by_bytes);
        let scalar = Json::Number(3.into());
        assert_eq!(from_values.observe_parsed("hr", "workers", &scalar), []);
    }

    #[test]
    fn each_event_counts_once_under_its_kind() {
        use metrics_util::debugging::{DebugValue, DebuggingRecorder};
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        ::metrics::with_local_recorder(&recorder, || {
            let mut watch = DriftWatch::default();
            feed(&mut watch, BASELINE, |i| {
                format!(r#"{{"id":{i},"grade":3}}"#)
            });
            feed(&mut watch, WINDOW, |i| {
                format!(r#"{{"id":{i},"grade":"3","team":"x"}}"#)
            });
        });
        let mut counts: Vec<(String, u64)> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(key, ..)| key.key().name() == names::DRIFT_EVENTS)
            .map(|(key, _, _, value)| {
                let kind = key
                    .key()
                    .labels()
                    .find(|l| l.key() == "kind")
                    .unwrap()
                    .value()
                    .to_owned();
                let DebugValue::Counter(n) = value else {
                    panic!("{value:?}")
                };
                (kind, n)
            })
            .collect();
        counts.sort();
        let expected = [
            ("field_added", 1),
            ("field_removed", 0),
            ("null_rate", 0),
            ("type_changed", 1),
        ];
        let expected: Vec<(String, u64)> = expected
            .iter()
            .map(|(k, n)| ((*k).to_owned(), *n))
            .collect();
        assert_eq!(counts, expected);
    }

    #[test]
    fn a_vanished_field_and_a_shifted_null_rate_are_reported_once() {
        let mut watch = DriftWatch::default();
        feed(&mut watch, BASELINE, |i| {
            format!(r#"{{"id":{i},"email":"a@b","manager":"m"}}"#)
        });
        let after = feed(&mut watch, 3 * WINDOW, |i| {
            format!(r#"{{"id":{i},"email":null}}"#)
        });
        let kinds: Vec<(Drift, &str)> = after.iter().map(|e| (e.kind, e.field.as_str())).collect();
        assert_eq!(
            kinds,
            [(Drift::NullRate, "email"), (Drift::FieldRemoved, "manager")]
        );
    }

    #[test]
    fn steady_records_and_non_objects_report_nothing() {
        let mut watch = DriftWatch::default();
        let events = feed(&mut watch, BASELINE + 3 * WINDOW, |i| {
            let email = if i % 10 == 0 {
                "null".to_owned()
            } else {
                format!("\"w{i}@x\"")
            };
            format!(r#"{{"id":{i},"email":{email},"tags":["a"]}}"#)
        });
        assert_eq!(events, []);
        // An escaped name is the same field.
        let escaped = br#"{"id":1,"em\u0061il":"x@y","tags":[]}"#;
        assert_eq!(watch.observe("hr", "workers", escaped), []);
        assert_eq!(watch.observe("hr", "workers", b"[1,2]"), []);
        assert_eq!(watch.observe("hr", "workers", b"not json"), []);
    }
}
