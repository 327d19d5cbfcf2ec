//! Parsing a raw payload strictly: valid UTF-8 JSON, nesting bounded (by
//! serde_json's recursion limit), and no object with the same key twice —
//! which plain parsing would silently resolve by keeping the last one. And
//! reading a value by JSON pointer without allocating.
//!
//! The payload is parsed into [`Json`], which borrows its keys and strings
//! from the payload (unless they hold escapes) and keeps an object's
//! members in a list: a `serde_json::Value` allocated every key and string
//! and sorted the keys into a tree, the largest part of parsing, though a
//! mapping reads a few fields once. What a mapping reads becomes a
//! `serde_json::Value` ([`Json::to_value`]), the normalizers' input.

use std::borrow::Cow;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

use super::reader::MapError;

/// Objects with more members than this are checked for duplicate keys
/// with a hash set; smaller ones by comparing each key with those before.
const LINEAR_DUPLICATE_CHECK: usize = 16;

/// A parsed JSON value, borrowing from the payload where it can.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// Members in the payload's order, no key twice.
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl Json<'_> {
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Self::Object(_))
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Self> {
        match self {
            Self::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The same value as a `serde_json::Value`, owned.
    pub fn to_value(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(flag) => Value::Bool(*flag),
            Self::Number(number) => Value::Number(number.clone()),
            Self::String(text) => Value::String(text.as_ref().to_owned()),
            Self::Array(items) => Value::Array(items.iter().map(Self::to_value).collect()),
            Self::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.as_ref().to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

/// The payload as JSON, or why it is not acceptable JSON.
pub fn parse(payload: &[u8]) -> Result<Json<'_>, MapError> {
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    let value = Strict
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|e| MapError::new("", format!("the payload is not valid JSON: {e}")))?;
    Ok(value)
}

/// The value at JSON pointer `pointer` (RFC 6901), as
/// `serde_json::Value::pointer` finds it, without allocating a string per
/// token (it does for escaped tokens only): mappings look up every field
/// of every record this way.
pub fn at<'v, 'a>(value: &'v Json<'a>, pointer: &str) -> Option<&'v Json<'a>> {
    if pointer.is_empty() {
        return Some(value);
    }
    pointer
        .strip_prefix('/')?
        .split('/')
        .try_fold(value, |target, token| {
            let token = match token.contains('~') {
                true => Cow::Owned(token.replace("~1", "/").replace("~0", "~")),
                false => Cow::Borrowed(token),
            };
            match target {
                Json::Object(_) => target.get(&token),
                Json::Array(list) => index(&token).and_then(|i| list.get(i)),
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

/// Whether `members` holds the key of its last member before it.
fn last_is_duplicate(
    members: &[(Cow<'_, str>, Json<'_>)],
    seen: &mut foldhash::HashSet<String>,
) -> bool {
    let Some(((key, _), before)) = members.split_last() else {
        return false;
    };
    if members.len() <= LINEAR_DUPLICATE_CHECK {
        return before.iter().any(|(k, _)| k == key);
    }
    if seen.is_empty() {
        seen.extend(before.iter().map(|(k, _)| k.as_ref().to_owned()));
    }
    !seen.insert(key.as_ref().to_owned())
}

struct Strict;

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Json<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict)? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut members = Vec::new();
        let mut seen = foldhash::HashSet::default();
        while let Some(Key(key)) = map.next_key()? {
            members.push((key, Json::Null));
            if last_is_duplicate(&members, &mut seen) {
                let key = members.last().map(|(k, _)| k.as_ref()).unwrap_or_default();
                return Err(A::Error::custom(format!("duplicate key {key:?}")));
            }
            let value = map.next_value_seed(Strict)?;
            if let Some(last) = members.last_mut() {
                last.1 = value;
            }
        }
        Ok(Json::Object(members))
    }
}

/// An object key, borrowed from the payload unless it holds escapes
/// (serde's own `Cow` always copies).
#[derive(Debug)]
pub struct Key<'de>(pub Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl<'de> Visitor<'de> for Name {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(Name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_find_what_serde_json_finds() {
        let text = r#"{"a": {"b": [10, {"c/d": 1, "e~f": 2}]}, "": 3, "n": null, "01": 4}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        let json = parse(text.as_bytes()).unwrap();
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
            assert_eq!(
                at(&json, pointer).map(Json::to_value).as_ref(),
                value.pointer(pointer),
                "{pointer:?}"
            );
        }
    }

    #[test]
    fn accepts_json_and_refuses_what_plain_parsing_would_let_through() {
        let parsed = parse(br#"{"a":[1,"x",null,true,1.5],"b\u0041":"\u00e9"}"#).unwrap();
        assert_eq!(
            parsed.to_value(),
            serde_json::json!({"a": [1, "x", null, true, 1.5], "bA": "é"})
        );
        let duplicate = parse(br#"{"a":1,"b":{"c":1,"c":2}}"#).unwrap_err();
        assert!(
            duplicate.problem.contains("duplicate key \"c\""),
            "{duplicate}"
        );
        let escaped = parse(br#"{"a":1,"\u0061":2}"#).unwrap_err();
        assert!(escaped.problem.contains("duplicate key \"a\""), "{escaped}");
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let large = format!("{{{},\"k17\":0}}", many.join(","));
        let err = parse(large.as_bytes()).unwrap_err();
        assert!(err.problem.contains("duplicate key \"k17\""), "{err}");
        assert!(parse(format!("{{{}}}", many.join(",")).as_bytes()).is_ok());
        assert!(parse(b"{\"a\":\"\xff\"}").is_err(), "invalid UTF-8");
        assert!(parse(br#"{"a":1"#).is_err(), "truncated");
        assert!(parse(br#"{"a":1} {"#).is_err(), "trailing data");
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse(deep.as_bytes()).unwrap_err();
        assert!(err.problem.contains("recursion limit"), "{err}");
    }
}
