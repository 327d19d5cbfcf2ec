//! Parsing a raw payload strictly: valid UTF-8 JSON, nesting bounded (by
//! serde_json's recursion limit), and no object with the same key twice —
//! which plain parsing would silently resolve by keeping the last one. And
//! reading a value by JSON pointer without allocating.

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Value};

use super::reader::MapError;

/// The payload as JSON, or why it is not acceptable JSON.
pub fn parse(payload: &[u8]) -> Result<Value, MapError> {
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    let value = Strict
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|e| MapError::new("", format!("the payload is not valid JSON: {e}")))?;
    Ok(value)
}

/// The value at JSON pointer `pointer` (RFC 6901), as [`Value::pointer`]
/// finds it, without allocating a string per token (it does for escaped
/// tokens only): mappings look up every field of every record this way.
pub fn at<'v>(value: &'v Value, pointer: &str) -> Option<&'v Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    pointer
        .strip_prefix('/')?
        .split('/')
        .try_fold(value, |target, token| {
            let token = match token.contains('~') {
                true => std::borrow::Cow::Owned(token.replace("~1", "/").replace("~0", "~")),
                false => std::borrow::Cow::Borrowed(token),
            };
            match target {
                Value::Object(map) => map.get(token.as_ref()),
                Value::Array(list) => index(&token).and_then(|i| list.get(i)),
                _ => None,
            }
        })
}

/// An array index token: digits, no sign, no leading zero.
fn index(token: &str) -> Option<usize> {
    let digits = token.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = token.len() > 1 && token.starts_with('0');
    if digits && !leading_zero {
        token.parse().ok()
    } else {
        None
    }
}

struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match members.entry(key) {
                Entry::Vacant(vacant) => {
                    vacant.insert(map.next_value_seed(Strict)?);
                }
                Entry::Occupied(taken) => {
                    return Err(A::Error::custom(format!("duplicate key {:?}", taken.key())));
                }
            }
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_find_what_serde_json_finds() {
        let value: Value = serde_json::from_str(
            r#"{"a": {"b": [10, {"c/d": 1, "e~f": 2}]}, "": 3, "n": null, "01": 4}"#,
        )
        .unwrap();
        for pointer in [
            "",
            "/a",
            "/a/b",
            "/a/b/0",
            "/a/b/1/c~1d",
            "/a/b/1/e~0f",
            "/",
            "/n",
            "/01",
            "/a/b/01",
            "/a/b/+1",
            "/a/b/2",
            "/a/x",
            "a",
            "/a/b/0/x",
            "/a/b/-1",
            "/a/b/1/c~1d/x",
        ] {
            assert_eq!(at(&value, pointer), value.pointer(pointer), "{pointer:?}");
        }
    }

    #[test]
    fn accepts_json_and_refuses_what_plain_parsing_would_let_through() {
        assert_eq!(
            parse(br#"{"a":[1,"x",null,true,1.5]}"#).unwrap()["a"][1],
            "x"
        );
        let duplicate = parse(br#"{"a":1,"b":{"c":1,"c":2}}"#).unwrap_err();
        assert!(
            duplicate.problem.contains("duplicate key \"c\""),
            "{duplicate}"
        );
        assert!(parse(b"{\"a\":\"\xff\"}").is_err(), "invalid UTF-8");
        assert!(parse(br#"{"a":1"#).is_err(), "truncated");
        assert!(parse(br#"{"a":1} {"#).is_err(), "trailing data");
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse(deep.as_bytes()).unwrap_err();
        assert!(err.problem.contains("recursion limit"), "{err}");
    }
}
