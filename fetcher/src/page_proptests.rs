//! Property tests of what the fetcher does with whatever a source sends:
//! arbitrary bytes and arbitrary JSON bodies never panic the page split,
//! the record selection or the pagination; a body that parses is split
//! into exactly the records at the pointer, each a slice of the body that
//! is itself valid JSON, and paging only ever moves on from evidence.

use std::sync::LazyLock;

use bytes::Bytes;
use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderValue, LINK};
use serde_json::Value;
use serde_json::value::RawValue;

use super::split;
use crate::paginate::{self, PageFacts, PagePosition};
use crate::source::{StreamConfig, stream_from_toml};

/// One stream per pagination style, records at `/data` or `/d/results`.
static STREAMS: LazyLock<Vec<StreamConfig>> = LazyLock::new(|| {
    [
        ("/data", r#"{ type = "none" }"#),
        ("/data", r#"{ type = "page_number", size_param = "per_page" }"#),
        ("/data", r#"{ type = "offset_limit" }"#),
        ("/data", r#"{ type = "cursor", token = "/meta/next", param = "cursor" }"#),
        ("/d/results", r#"{ type = "next_url", next = "/d/__next" }"#),
        ("", r#"{ type = "link_header" }"#),
    ]
    .into_iter()
    .map(|(records, pagination)| {
        stream_from_toml(&format!(
            r#"
            name = "s"
            path = "items"
            records = "{records}"
            primary_key = ["id"]
            page_size = 2
            pagination = {pagination}
            cursor = {{ type = "timestamp", field = "updatedAt", format = "rfc3339", request = {{ type = "param", param = "since" }} }}
            "#
        ))
    })
    .collect()
});

/// Any JSON value, biased toward the shapes sources send: records with
/// ids and timestamps, nested `data`/`d.results`, paging members.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-zA-Z0-9 :+./-]{0,24}".prop_map(Value::String),
        Just(Value::String("2024-05-01T08:00:00Z".into())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("id".to_owned()),
            Just("updatedAt".to_owned()),
            Just("data".to_owned()),
            Just("d".to_owned()),
            Just("results".to_owned()),
            Just("__next".to_owned()),
            Just("meta".to_owned()),
            Just("next".to_owned()),
            "[a-z~/]{1,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Splits `bytes` as each stream would and follows its pagination; what
/// must hold whatever the bytes.
fn check(bytes: &[u8], link: Option<&str>) -> Result<(), TestCaseError> {
    let bytes = Bytes::copy_from_slice(bytes);
    let Ok(body) = serde_json::from_slice::<&RawValue>(&bytes) else {
        return Ok(()); // the fetcher fails the page: a shape error, tested elsewhere
    };
    let mut headers = HeaderMap::new();
    if let Some(value) = link.and_then(|l| HeaderValue::from_str(l).ok()) {
        headers.insert(LINK, value);
    }
    for stream in STREAMS.iter() {
        let Ok(page) = split(&bytes, body, stream, "src") else {
            continue;
        };
        // The count is checked where the body also parses as a `Value`
        // (not with numbers beyond f64, which raw JSON may hold).
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            let expected = match value.pointer(&stream.records) {
                Some(Value::Array(items)) => items.len(),
                _ => 0,
            };
            prop_assert_eq!(page.len(), expected);
        }
        let whole = bytes.as_ptr_range();
        for record in &page.records {
            let slice = record.payload.as_ptr_range();
            prop_assert!(whole.start <= slice.start && slice.end <= whole.end);
            prop_assert!(serde_json::from_slice::<Value>(&record.payload).is_ok());
            prop_assert!(record.key.starts_with("src/s/"));
        }
        let facts = PageFacts {
            records: page.len(),
            body,
            headers: &headers,
        };
        let next = paginate::next(stream, &PagePosition::First, &facts, None);
        // A short page (fewer than page_size = 2) ends number and offset paging.
        if page.len() < 2
            && matches!(
                next,
                Some(PagePosition::PageNumber { .. } | PagePosition::Offset { .. })
            )
        {
            return Err(TestCaseError::fail(format!(
                "paged on after {} records",
                page.len()
            )));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check(&bytes, None)?;
    }

    #[test]
    fn arbitrary_json_bodies_split_into_the_records_at_the_pointer(
        body in json(),
        link in prop::option::of("<[a-z:/.?=0-9]{0,20}>; rel=\"(next|prev)\""),
    ) {
        check(&serde_json::to_vec(&body).unwrap(), link.as_deref())?;
    }

    #[test]
    fn mangled_record_pages_never_panic(
        body in json(),
        cut in any::<prop::sample::Index>(),
        junk in "[\\[\\]{}\",:0-9a-z\\\\]{0,4}",
    ) {
        let text = serde_json::json!({ "data": [body] }).to_string();
        let at = cut.index(text.len() + 1);
        let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        check(format!("{}{junk}{}", &text[..at], &text[at..]).as_bytes(), None)?;
    }
}
