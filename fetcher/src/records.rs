//! Records inside a response body, kept as the exact bytes the source sent.
//!
//! The body is never re-serialized: records are slices of it (`RawValue`),
//! found by a JSON pointer. Each record is parsed once more only to read its
//! primary key and cursor. Nothing here panics on data: a body or record
//! that does not have the expected shape is an error naming the pointer.

use std::collections::HashMap;

use serde_json::Value;
use serde_json::value::RawValue;

/// A response that does not have the configured shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at JSON pointer {pointer:?}: {problem}")]
pub struct ShapeError {
    pub pointer: String,
    pub problem: String,
}

fn shape(pointer: &str, problem: impl Into<String>) -> ShapeError {
    ShapeError {
        pointer: pointer.to_owned(),
        problem: problem.into(),
    }
}

/// The value at `pointer` inside `raw`, without parsing what is not on the
/// way; `Ok(None)` if a member is absent.
pub fn raw_at<'a>(raw: &'a RawValue, pointer: &str) -> Result<Option<&'a RawValue>, ShapeError> {
    let mut current = raw;
    if pointer.is_empty() {
        return Ok(Some(current));
    }
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        let text = current.get().trim_start();
        let next = if text.starts_with('{') {
            let members: HashMap<String, &'a RawValue> = serde_json::from_str(current.get())
                .map_err(|e| shape(pointer, format!("unreadable object: {e}")))?;
            members.get(&segment).copied()
        } else if text.starts_with('[') {
            let items: Vec<&'a RawValue> = serde_json::from_str(current.get())
                .map_err(|e| shape(pointer, format!("unreadable array: {e}")))?;
            segment
                .parse::<usize>()
                .ok()
                .and_then(|i| items.get(i).copied())
        } else {
            None
        };
        match next {
            Some(value) => current = value,
            None => return Ok(None),
        }
    }
    Ok(Some(current))
}

/// The records array at `pointer` in `body`. A missing or null array is an
/// empty page; anything else that is not an array is an error.
pub fn select<'a>(body: &'a RawValue, pointer: &str) -> Result<Vec<&'a RawValue>, ShapeError> {
    match raw_at(body, pointer)? {
        None => Ok(Vec::new()),
        Some(raw) if raw.get() == "null" => Ok(Vec::new()),
        Some(raw) => serde_json::from_str(raw.get()).map_err(|_| {
            let kind = raw.get().chars().next().map_or("nothing", |c| match c {
                '{' => "an object",
                '"' => "a string",
                _ => "a scalar",
            });
            shape(
                pointer,
                format!("expected an array of records, found {kind}"),
            )
        }),
    }
}

/// A string (or number, as text) at `pointer`, for tokens and next links.
pub fn string_at(body: &RawValue, pointer: &str) -> Option<String> {
    let raw = raw_at(body, pointer).ok()??;
    match serde_json::from_str::<Value>(raw.get()).ok()? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The JSON pointer of a configured field: a pointer as is, a plain name
/// as a top-level member.
pub fn field_pointer(field: &str) -> String {
    if field.starts_with('/') {
        field.to_owned()
    } else {
        format!("/{}", field.replace('~', "~0").replace('/', "~1"))
    }
}

/// The primary-key part of a record key: each field's value (strings as
/// they are, numbers as written), joined by `/`, with `/` and `%` escaped.
pub fn primary_key(record: &Value, fields: &[String]) -> Result<String, ShapeError> {
    let mut parts = Vec::with_capacity(fields.len());
    for field in fields {
        let pointer = field_pointer(field);
        let part = match record.pointer(&pointer) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::String(_)) => {
                return Err(shape(&pointer, "primary key is an empty string"));
            }
            Some(Value::Null) | None => {
                return Err(shape(&pointer, "primary key is missing or null"));
            }
            Some(_) => return Err(shape(&pointer, "primary key is an object or array")),
        };
        parts.push(part.replace('%', "%25").replace('/', "%2F"));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn records_are_the_exact_bytes_sent() {
        let body = raw(r#"{"d": {"results": [ {"id": 1,  "n": "a\u00e9"} , {"id":2}]}}"#);
        let records = select(&body, "/d/results").unwrap();
        let texts: Vec<&str> = records.iter().map(|r| r.get()).collect();
        assert_eq!(texts, [r#"{"id": 1,  "n": "a\u00e9"}"#, r#"{"id":2}"#]);
        let bare = raw(r#"[{"id":"x"}]"#);
        assert_eq!(select(&bare, "").unwrap().len(), 1);
    }

    #[test]
    fn missing_or_null_arrays_are_empty_pages_and_other_shapes_are_errors() {
        assert!(
            select(&raw(r#"{"data": null}"#), "/data")
                .unwrap()
                .is_empty()
        );
        assert!(
            select(&raw(r#"{"other": []}"#), "/data")
                .unwrap()
                .is_empty()
        );
        let err = select(&raw(r#"{"data": {"id": 1}}"#), "/data").unwrap_err();
        assert_eq!(err.pointer, "/data");
        assert!(err.problem.contains("an object"), "{err}");
    }

    #[test]
    fn tokens_and_links_are_read_by_pointer() {
        let body = raw(
            r#"{"@odata.nextLink": "https://x/y?$skiptoken=3", "links": {"next": null}, "n": 7}"#,
        );
        assert_eq!(
            string_at(&body, "/@odata.nextLink").as_deref(),
            Some("https://x/y?$skiptoken=3")
        );
        assert_eq!(string_at(&body, "/links/next"), None);
        assert_eq!(string_at(&body, "/n").as_deref(), Some("7"));
    }

    #[test]
    fn primary_keys_join_escaped_parts() {
        let record = json!({"id": "a/b%c", "n": 42, "nested": {"k": "x"}});
        let key = primary_key(&record, &["id".into(), "n".into(), "/nested/k".into()]).unwrap();
        assert_eq!(key, "a%2Fb%25c/42/x");
        let err = primary_key(&record, &["missing".into()]).unwrap_err();
        assert_eq!(err.pointer, "/missing");
        assert!(primary_key(&json!({"id": ""}), &["id".into()]).is_err());
    }
}
