//! Bad raw records are refused, never mapped and never a panic: every kind in
//! `bad_records::catalog()` gets a `MapError` with the JSON pointer of what is
//! wrong and a bounded message that says what was expected; a payload over
//! `max_record_bytes` is refused unread; and `map` survives arbitrary bytes,
//! mangled JSON and arbitrary values in any worker field.

#![allow(clippy::unwrap_used, reason = "tests")]

mod bad_records;

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use canonflow_canonical::entities::Attributes;
use canonflow_transformer::mapping::{MapError, Mappings, Outcome, RawRecord};
use proptest::prelude::*;
use serde_json::Value;

use bad_records::{BadRecord, catalog};

/// Longest message a bad record may get: the offending value is quoted in
/// part, never whole, since messages travel in dead-letter headers.
const PROBLEM_MAX_CHARS: usize = 400;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn mappings(max_record_bytes: usize) -> Mappings {
    Mappings::load(&repo().join("config/mappings"), max_record_bytes).unwrap()
}

/// The shipped mappings with the default-sized limit, loaded once.
static MAPPINGS: LazyLock<Mappings> = LazyLock::new(|| mappings(1 << 20));

fn raw(entry: &BadRecord, offset: i64) -> RawRecord<'_> {
    RawRecord {
        topic: "canonflow.raw",
        partition: 0,
        offset,
        key: entry.key.as_deref(),
        payload: entry.payload.as_deref(),
        source: Some(entry.source.as_bytes()),
        stream: Some(entry.stream.as_bytes()),
    }
}

/// A worker's raw record with `payload`.
fn worker(payload: &[u8]) -> RawRecord<'_> {
    RawRecord {
        topic: "canonflow.raw",
        partition: 0,
        offset: 0,
        key: Some(b"hr/workers/W000042"),
        payload: Some(payload),
        source: Some(b"hr"),
        stream: Some(b"workers"),
    }
}

/// The payload of schemas/examples/worker-messy-hr-export.raw.json.
fn valid_worker() -> Value {
    let path = repo().join("schemas/examples/worker-messy-hr-export.raw.json");
    let raw: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    raw["payload"].clone()
}

/// `text` cut to a readable length for a failure message.
fn shown(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((cut, _)) => format!("{}… ({} chars)", &text[..cut], text.chars().count()),
        None => text.to_owned(),
    }
}

/// What is wrong with how `entry` was refused, if anything.
fn misjudged(entry: &BadRecord, result: Result<Outcome, MapError>) -> Option<String> {
    let error = match result {
        Ok(Outcome::Mapped(_)) => return Some("accepted and mapped".into()),
        Ok(Outcome::Unmapped { source, stream }) => {
            return Some(format!("passed through as unmapped {source}/{stream}"));
        }
        Err(error) => error,
    };
    let right = error.path == entry.path
        && error.problem.contains(entry.problem)
        && error.problem.chars().count() <= PROBLEM_MAX_CHARS;
    (!right).then(|| {
        format!(
            "expected at {:?} a problem containing {:?}\n    got at {:?}: {}",
            entry.path,
            entry.problem,
            error.path,
            shown(&error.problem)
        )
    })
}

#[test]
fn every_bad_record_is_refused_with_its_path_and_problem() {
    let mappings = &*MAPPINGS;
    let catalog = catalog();
    assert!(catalog.len() >= 30, "only {} kinds", catalog.len());
    let names: BTreeSet<_> = catalog.iter().map(|e| e.name).collect();
    assert_eq!(names.len(), catalog.len(), "two kinds share a name");
    let streams: BTreeSet<_> = catalog.iter().map(|e| (e.source, e.stream)).collect();
    for stream in [
        ("hr", "workers"),
        ("hr", "organizations"),
        ("finance", "cost_centers"),
        ("finance", "suppliers"),
        ("finance", "invoices"),
    ] {
        assert!(streams.contains(&stream), "no bad record for {stream:?}");
    }

    let mut wrong = Vec::new();
    for (offset, entry) in (0_i64..).zip(&catalog) {
        let raw = raw(entry, offset);
        let verdict = match catch_unwind(AssertUnwindSafe(|| mappings.map(&raw))) {
            Ok(result) => misjudged(entry, result),
            Err(_) => Some("map panicked".into()),
        };
        if let Some(verdict) = verdict {
            wrong.push(format!(
                "{} ({}/{}): {verdict}",
                entry.name, entry.source, entry.stream
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} bad records were not refused as expected:\n  {}",
        wrong.len(),
        catalog.len(),
        wrong.join("\n  ")
    );
}

#[test]
fn a_payload_over_max_record_bytes_is_refused_unread() {
    let limit = 1024;
    let mappings = mappings(limit);
    let text = serde_json::to_string(&valid_worker()).unwrap();
    // Padded with spaces, which JSON ignores, to exactly the limit and one over.
    let fitting = format!("{text:<limit$}");
    assert!(matches!(
        mappings.map(&worker(fitting.as_bytes())),
        Ok(Outcome::Mapped(_))
    ));
    let over = format!("{fitting} ");
    let error = mappings.map(&worker(over.as_bytes())).unwrap_err();
    assert_eq!(error.path, "");
    assert!(error.problem.contains("max_record_bytes"), "{error}");
    assert!(error.problem.contains("1025 bytes"), "{error}");
    // Refused before parsing: bytes that are not JSON get the same answer.
    let garbage = vec![0xff; 100_000];
    let error = mappings.map(&worker(&garbage)).unwrap_err();
    assert!(error.problem.contains("max_record_bytes"), "{error}");
}

#[test]
fn negative_zero_is_not_bad_but_zero() {
    let mut payload = valid_worker();
    payload["salary"]["amount"] = "-0.00".into();
    let payload = serde_json::to_vec(&payload).unwrap();
    let Ok(Outcome::Mapped(entity)) = MAPPINGS.map(&worker(&payload)) else {
        panic!("a salary of -0.00 is refused");
    };
    let Attributes::Worker(attributes) = entity.attributes else {
        panic!("not a worker");
    };
    assert_eq!(attributes.salary.unwrap().amount_minor, 0);
}

/// An error a caller can act on: a pointer (or the whole record) and a
/// bounded, non-empty message.
/// A raw record must say which stream it is from: without (valid)
/// `canonflow.source` or `canonflow.stream` headers it is refused, naming
/// the header.
#[test]
fn a_raw_record_without_its_stream_headers_is_refused() {
    let payload = serde_json::to_vec(&valid_worker()).unwrap();
    type Headers<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);
    let cases: [(Headers, &str); 3] = [
        ((None, Some(b"workers")), "canonflow.source"),
        ((Some(b"hr"), None), "canonflow.stream"),
        ((Some(&[0xff, 0xfe]), Some(b"workers")), "canonflow.source"),
    ];
    for ((source, stream), header) in cases {
        let raw = RawRecord {
            source,
            stream,
            ..worker(&payload)
        };
        let error = MAPPINGS.map(&raw).unwrap_err();
        assert!(error.to_string().contains(header), "{header}: {error}");
    }
}

fn assert_well_formed(error: &MapError) {
    assert!(
        error.path.is_empty() || error.path.starts_with('/'),
        "{error}"
    );
    assert!(!error.problem.is_empty());
    assert!(
        error.problem.chars().count() <= PROBLEM_MAX_CHARS,
        "{}",
        shown(&error.problem)
    );
}

/// Characters that make JSON structure, or break it.
fn json_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::sample::select(&[
            '{', '}', '[', ']', '"', ':', ',', '\\', '-', '.', 'e', '0', '9', ' ', 'n', 't',
        ][..]),
        1 => any::<char>(),
    ]
}

/// One edit of a text, at a position taken modulo its length.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, char),
    Delete(usize),
    Replace(usize, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), json_char()).prop_map(|(at, c)| Edit::Insert(at, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), json_char()).prop_map(|(at, c)| Edit::Replace(at, c)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let len = chars.len().max(1);
        match *edit {
            Edit::Insert(at, c) => chars.insert(at % (chars.len() + 1), c),
            Edit::Delete(at) if !chars.is_empty() => {
                chars.remove(at % len);
            }
            Edit::Replace(at, c) if !chars.is_empty() => chars[at % len] = c,
            Edit::Delete(_) | Edit::Replace(..) => {}
        }
    }
    chars.into_iter().collect()
}

/// Any JSON value, a few levels deep, with strings that look like what the
/// worker fields expect often enough to get past their first checks.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
        "[-+ ]?[0-9]{0,25}(\\.[0-9]{0,25})?(e[0-9])?".prop_map(Value::from),
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2}))?"
            .prop_map(Value::from),
        "[A-Za-z]{2,3}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let key = prop_oneof![
            Just("amount".to_owned()),
            Just("currency".to_owned()),
            Just("country".to_owned()),
            ".{0,8}".prop_map(String::from),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

const WORKER_POINTERS: [&str; 17] = [
    "/employeeNumber",
    "/firstName",
    "/lastName",
    "/email",
    "/hireDate",
    "/terminationDate",
    "/orgId",
    "/costCenter",
    "/salary",
    "/salary/amount",
    "/salary/currency",
    "/workLocation",
    "/workLocation/country",
    "/workLocation/city",
    "/fte",
    "/updatedAt",
    "/id",
];

proptest! {
    #[test]
    fn map_never_panics_on_arbitrary_bytes(
        payload in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        if let Err(error) = MAPPINGS.map(&worker(&payload)) {
            assert_well_formed(&error);
        }
    }

    #[test]
    fn map_never_panics_on_mangled_worker_json(
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        let text = serde_json::to_string_pretty(&valid_worker()).unwrap();
        let mangled = apply(&text, &edits);
        if let Err(error) = MAPPINGS.map(&worker(mangled.as_bytes())) {
            assert_well_formed(&error);
        }
    }

    #[test]
    fn a_bad_worker_field_is_blamed_at_its_own_pointer(
        index in 0..WORKER_POINTERS.len(),
        value in json_value(),
    ) {
        let pointer = WORKER_POINTERS[index];
        let mut payload = valid_worker();
        *payload.pointer_mut(pointer).unwrap() = value;
        let payload = serde_json::to_vec(&payload).unwrap();
        if let Err(error) = MAPPINGS.map(&worker(&payload)) {
            assert_well_formed(&error);
            prop_assert!(error.path.starts_with(pointer), "{pointer}: {error}");
        }
    }
}
