//! A raw record's shape: its top-level field names, each with the JSON
//! type of its value as a bit, read without building any value (or taken
//! from a value the mapping already parsed, `type_bit`).

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};

use crate::mapping::{Json, Key};

/// The JSON types, by bit position.
pub const TYPES: [&str; 6] = ["null", "boolean", "number", "string", "array", "object"];
const NULL: u8 = 1;
const BOOLEAN: u8 = 1 << 1;
const NUMBER: u8 = 1 << 2;
const STRING: u8 = 1 << 3;
const ARRAY: u8 = 1 << 4;
const OBJECT: u8 = 1 << 5;

/// A JSON object's top-level field names, each with its value's type bit.
pub struct Shape<'a>(pub Vec<(Cow<'a, str>, u8)>);

impl<'de> Deserialize<'de> for Shape<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = Shape<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape<'de>, A::Error> {
                let mut fields = Vec::new();
                while let Some(Key(name)) = map.next_key::<Key<'de>>()? {
                    let TypeBit(bit) = map.next_value()?;
                    fields.push((name, bit));
                }
                Ok(Shape(fields))
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

/// The type bit of a parsed value.
pub fn type_bit(value: &Json<'_>) -> u8 {
    match value {
        Json::Null => NULL,
        Json::Bool(_) => BOOLEAN,
        Json::Number(_) => NUMBER,
        Json::String(_) => STRING,
        Json::Array(_) => ARRAY,
        Json::Object(_) => OBJECT,
    }
}

/// A JSON value's type, its content skipped.
struct TypeBit(u8);

impl<'de> Deserialize<'de> for TypeBit {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Kind;
        impl<'de> Visitor<'de> for Kind {
            type Value = TypeBit;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<TypeBit, E> {
                Ok(TypeBit(NULL))
            }
            fn visit_none<E>(self) -> Result<TypeBit, E> {
                Ok(TypeBit(NULL))
            }
            fn visit_bool<E>(self, _: bool) -> Result<TypeBit, E> {
                Ok(TypeBit(BOOLEAN))
            }
            fn visit_i64<E>(self, _: i64) -> Result<TypeBit, E> {
                Ok(TypeBit(NUMBER))
            }
            fn visit_u64<E>(self, _: u64) -> Result<TypeBit, E> {
                Ok(TypeBit(NUMBER))
            }
            fn visit_f64<E>(self, _: f64) -> Result<TypeBit, E> {
                Ok(TypeBit(NUMBER))
            }
            fn visit_str<E>(self, _: &str) -> Result<TypeBit, E> {
                Ok(TypeBit(STRING))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<TypeBit, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(TypeBit(ARRAY))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TypeBit, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(TypeBit(OBJECT))
            }
        }
        deserializer.deserialize_any(Kind)
    }
}
