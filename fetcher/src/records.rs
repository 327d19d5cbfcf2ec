//! Records inside a response body, kept as the exact bytes the source sent.
//!
//! The body is never re-serialized: records are slices of it (`RawValue`),
//! found by a JSON pointer. Each record is read once more, for its primary
//! key and cursor: the members that hold them are parsed, every other
//! member only checked ([`sparse`]). Nothing here panics on data: a
//! body or record that does not have the expected shape is an error naming
//! the pointer.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

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
        let segment = unescape(segment);
        let text = current.get().trim_start();
        let next = if text.starts_with('{') {
            members(current, &[&segment])
                .map_err(|e| shape(pointer, format!("unreadable object: {e}")))?
                .into_iter()
                .next()
                .flatten()
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

/// The top-level members `names` of the object `raw`, in one pass: the
/// named ones kept as they are, every other one checked as `Value` would
/// check it (numbers in range, valid escapes, nesting) but not kept; `None`
/// where a member is absent, or for every name when `raw` is not an
/// object. A repeated member: the last one wins.
pub fn members<'a>(
    raw: &'a RawValue,
    names: &[&str],
) -> Result<Vec<Option<&'a RawValue>>, serde_json::Error> {
    if !raw.get().trim_start().starts_with('{') {
        return Ok(vec![None; names.len()]);
    }
    let mut reader = serde_json::Deserializer::from_str(raw.get());
    de::Deserializer::deserialize_map(&mut reader, Members(names))
}

/// [`members`]' visitor: keeps the named members, checks the rest.
struct Members<'n>(&'n [&'n str]);

impl<'de> Visitor<'de> for Members<'_> {
    type Value = Vec<Option<&'de RawValue>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = vec![None; self.0.len()];
        while let Some(wanted) = map.next_key_seed(MemberName(self.0))? {
            match wanted.and_then(|i| found.get_mut(i)) {
                Some(slot) => *slot = Some(map.next_value::<&'de RawValue>()?),
                None => map.next_value_seed(Checked)?,
            }
        }
        Ok(found)
    }
}

/// A member's name, read as the index of the wanted name it equals (no
/// copy of it is made).
struct MemberName<'n>(&'n [&'n str]);

impl<'de> DeserializeSeed<'de> for MemberName<'_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(self, names: D) -> Result<Self::Value, D::Error> {
        names.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MemberName<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|wanted| *wanted == name))
    }
}

/// Any JSON value, read as `Value` would read it (so it fails where that
/// would) and thrown away without building anything.
struct Checked;

impl<'de> DeserializeSeed<'de> for Checked {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, value: D) -> Result<(), D::Error> {
        value.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        while items.next_element_seed(Checked)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_key_seed(Checked)?.is_some() {
            map.next_value_seed(Checked)?;
        }
        Ok(())
    }
}

/// `record` with only its top-level members `names` (parsed whole; the
/// others checked but left out): enough to follow any pointer that starts
/// at one of them, at a fraction of the cost of building the whole record.
/// A record that is not an object is parsed whole (pointers may index an
/// array). Errors name the record (pointer `""`) or the member.
pub fn sparse(record: &RawValue, names: &[&str]) -> Result<Value, ShapeError> {
    let unreadable = |pointer: &str, e: serde_json::Error| {
        shape(pointer, format!("record is not valid JSON: {e}"))
    };
    if !record.get().trim_start().starts_with('{') {
        return serde_json::from_str(record.get()).map_err(|e| unreadable("", e));
    }
    let found = members(record, names).map_err(|e| unreadable("", e))?;
    let mut kept = Map::new();
    for (name, member) in names.iter().zip(found) {
        if let Some(member) = member {
            let value = serde_json::from_str(member.get())
                .map_err(|e| unreadable(&field_pointer(name), e))?;
            kept.insert((*name).to_owned(), value);
        }
    }
    Ok(Value::Object(kept))
}

/// The top-level member a JSON pointer starts at, unescaped: `"/a~1b/c"`
/// starts at `"a/b"`; `None` for the empty pointer (the whole document).
pub fn first_member(pointer: &str) -> Option<String> {
    let first = pointer.strip_prefix('/')?.split('/').next()?;
    Some(unescape(first))
}

/// A JSON pointer segment as the member name it stands for (RFC 6901:
/// `~1` is `/`, then `~0` is `~`).
fn unescape(segment: &str) -> String {
    segment.replace("~1", "/").replace("~0", "~")
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
    fn members_are_read_in_one_pass_and_the_rest_is_stepped_over() {
        let record = raw(
            r#"{"id": 7, "skip": {"deep": [1, "}\"{"]}, "a/b": "x", "id": 8, "cur": "2024-01-01"}"#,
        );
        let found = members(&record, &["id", "cur", "a/b", "absent"]).unwrap();
        let texts: Vec<Option<&str>> = found.iter().map(|m| m.map(RawValue::get)).collect();
        assert_eq!(
            texts,
            [Some("8"), Some(r#""2024-01-01""#), Some(r#""x""#), None]
        );
        assert!(members(&raw("[1, 2]"), &["id"]).unwrap()[0].is_none());
        let escaped = raw(r#"{"\u0069d": 1}"#);
        let found = members(&escaped, &["id"]).unwrap();
        assert_eq!(
            found[0].map(RawValue::get),
            Some("1"),
            "names are compared unescaped"
        );
    }

    #[test]
    fn a_sparse_record_answers_the_pointers_of_its_members_as_the_whole_one_does() {
        let text = r#"{"id": "k", "nested": {"k": "x", "n": [1]}, "big": [1, 2, 3], "n": 42}"#;
        let whole: Value = serde_json::from_str(text).unwrap();
        let pointers = ["/id", "/nested/k", "/n", "/absent"];
        let names: Vec<String> = pointers.iter().filter_map(|p| first_member(p)).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let sparse = sparse(&raw(text), &names).unwrap();
        for pointer in pointers {
            assert_eq!(sparse.pointer(pointer), whole.pointer(pointer), "{pointer}");
        }
        assert_eq!(
            sparse.get("big"),
            None,
            "members not asked for are left out"
        );
        let row = super::sparse(&raw(r#"[17, "x"]"#), &["0"]).unwrap();
        assert_eq!(
            row.pointer("/0"),
            Some(&json!(17)),
            "a record that is an array"
        );
        assert_eq!(first_member("/a~1b/c").as_deref(), Some("a/b"));
        assert_eq!(first_member(""), None);
    }

    #[test]
    fn members_not_kept_are_still_checked_as_a_whole_parse_would() {
        for bad in [r#"{"id": 1, "x": 1e400}"#, r#"{"id": 1, "x": "\ud800"}"#] {
            let err = sparse(&raw(bad), &["id"]).unwrap_err();
            assert_eq!(err.pointer, "", "{bad}: the record is named");
            assert!(err.problem.contains("not valid JSON"), "{bad}: {err}");
            assert!(
                serde_json::from_str::<Value>(bad).is_err(),
                "{bad} fails a whole parse too"
            );
        }
        let err = sparse(&raw(r#"{"x": 1, "id": 1e400}"#), &["id"]).unwrap_err();
        assert_eq!(err.pointer, "/id", "a kept member is named: {err}");
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
