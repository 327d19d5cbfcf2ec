//! Reading canonical fields out of a raw record: the configured pointer,
//! then the entity's normalization, with every error naming the JSON
//! pointer it happened at and every field read recorded for provenance.

use canonflow_canonical::{Money, Quantity};
use serde_json::Value;

use super::json::Json;
use super::load::{Field, Fields};
use crate::normalize::{self, Invalid};

/// A raw record (or a part of it) that cannot be mapped: invalid input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {path:?}: {problem}")]
pub struct MapError {
    /// JSON pointer into the raw record; empty for the record as a whole.
    pub path: String,
    pub problem: String,
}

impl MapError {
    pub fn new(path: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

/// Reads the fields of one record (or list item) as configured.
#[derive(Debug)]
pub struct Reader<'a> {
    record: &'a Json<'a>,
    /// Pointer of `record` within the raw record (`/Lines/2` for an item).
    base: String,
    fields: &'a Fields,
    /// Fields read, for provenance (top-level readers only).
    produced: Vec<&'static str>,
}

impl<'a> Reader<'a> {
    pub fn new(record: &'a Json<'a>, fields: &'a Fields) -> Self {
        Self::at(record, String::new(), fields)
    }

    fn at(record: &'a Json<'a>, base: String, fields: &'a Fields) -> Self {
        Self {
            record,
            base,
            fields,
            produced: Vec::new(),
        }
    }

    /// The fields read so far, in reading order.
    pub fn into_produced(self) -> Vec<&'static str> {
        self.produced
    }

    /// The value at `pointer`, `None` when absent or null.
    fn lookup(&self, pointer: &str) -> Option<&'a Json<'a>> {
        super::json::at(self.record, pointer).filter(|v| !v.is_null())
    }

    /// [`lookup`](Self::lookup), as the normalizers take it.
    fn value(&self, pointer: &str) -> Option<Value> {
        self.lookup(pointer).map(Json::to_value)
    }

    /// The full path of `pointer`, for an error (only then: most records
    /// have none).
    fn path(&self, pointer: &str) -> String {
        format!("{}{pointer}", self.base)
    }

    fn invalid(&self, pointer: &str, field: &str, e: Invalid) -> MapError {
        MapError::new(self.path(pointer), format!("{field}: {e}"))
    }

    /// A field that must be present.
    pub fn required<T>(
        &mut self,
        field: &'static str,
        normalize: impl Fn(&Value) -> Result<T, Invalid>,
    ) -> Result<T, MapError> {
        let pointer = match self.fields.get(field) {
            Some(Field::Value(pointer)) => pointer.as_str(),
            _ => return Err(MapError::new("", format!("{field}: not mapped"))),
        };
        let value = self.value(pointer).ok_or_else(|| {
            MapError::new(self.path(pointer), format!("{field}: required, missing"))
        })?;
        self.produced.push(field);
        normalize(&value).map_err(|e| self.invalid(pointer, field, e))
    }

    /// A field that may be absent, null, or not mapped at all.
    pub fn optional<T>(
        &mut self,
        field: &'static str,
        normalize: impl Fn(&Value) -> Result<T, Invalid>,
    ) -> Result<Option<T>, MapError> {
        let Some(Field::Value(pointer)) = self.fields.get(field) else {
            return Ok(None);
        };
        let value = self.value(pointer);
        self.produced.push(field);
        value
            .map(|v| normalize(&v).map_err(|e| self.invalid(pointer, field, e)))
            .transpose()
    }

    /// An amount and its currency; `currency` supplies the code when the
    /// mapping names no currency pointer (e.g. an invoice line's price).
    pub fn money(
        &mut self,
        field: &'static str,
        currency: Option<&str>,
    ) -> Result<Option<Money>, MapError> {
        let Some(Field::Money {
            amount: amount_pointer,
            currency: currency_pointer,
        }) = self.fields.get(field)
        else {
            return Ok(None);
        };
        self.produced.push(field);
        let Some(amount) = self.value(amount_pointer) else {
            return Ok(None);
        };
        let code = match (currency_pointer, currency) {
            (Some(pointer), _) => {
                let code = self.value(pointer).ok_or_else(|| {
                    MapError::new(
                        self.path(pointer),
                        format!("{field}: an amount without a currency"),
                    )
                })?;
                normalize::currency(&code).map_err(|e| self.invalid(pointer, field, e))?
            }
            (None, Some(code)) => code.to_owned(),
            (None, None) => {
                return Err(MapError::new(
                    self.path(amount_pointer),
                    format!("{field}: no currency"),
                ));
            }
        };
        normalize::money(&amount, &Value::String(code))
            .map(Some)
            .map_err(|e| self.invalid(amount_pointer, field, e))
    }

    /// Like [`money`](Self::money), for a field the entity requires.
    pub fn required_money(
        &mut self,
        field: &'static str,
        currency: Option<&str>,
    ) -> Result<Money, MapError> {
        self.money(field, currency)?.ok_or_else(|| {
            MapError::new(self.path_of(field), format!("{field}: required, missing"))
        })
    }

    /// A number and its unit, converted to SI.
    pub fn quantity(&mut self, field: &'static str) -> Result<Quantity, MapError> {
        let Some(Field::Quantity {
            value: value_pointer,
            unit: unit_pointer,
        }) = self.fields.get(field)
        else {
            return Err(MapError::new("", format!("{field}: not mapped")));
        };
        self.produced.push(field);
        let value = self.value(value_pointer).ok_or_else(|| {
            MapError::new(
                self.path(value_pointer),
                format!("{field}: required, missing"),
            )
        })?;
        let unit = self.value(unit_pointer).ok_or_else(|| {
            MapError::new(
                self.path(unit_pointer),
                format!("{field}: a quantity without a unit"),
            )
        })?;
        normalize::check_unit(&unit).map_err(|e| self.invalid(unit_pointer, field, e))?;
        normalize::quantity(&value, &unit).map_err(|e| self.invalid(value_pointer, field, e))
    }

    /// A list of scalars, each normalized; absent or null is empty.
    pub fn scalars<T>(
        &mut self,
        field: &'static str,
        normalize: impl Fn(&Value) -> Result<T, Invalid>,
    ) -> Result<Vec<T>, MapError> {
        let Some((items, pointer)) = self.list(field)? else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                normalize(&item.to_value())
                    .map_err(|e| self.invalid(&format!("{pointer}/{i}"), field, e))
            })
            .collect()
    }

    /// A list of records, each read by `read` with the item fields.
    pub fn records<T>(
        &mut self,
        field: &'static str,
        read: impl Fn(&mut Reader<'a>) -> Result<T, MapError>,
    ) -> Result<Vec<T>, MapError> {
        let Some(Field::List {
            items: Some(item_fields),
            ..
        }) = self.fields.get(field)
        else {
            return Err(MapError::new(
                "",
                format!("{field}: not mapped as a list of records"),
            ));
        };
        let Some((items, pointer)) = self.list(field)? else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("{}{pointer}/{i}", self.base);
                if !item.is_object() {
                    let e = Invalid::new("an object", &item.to_value());
                    return Err(MapError::new(at, format!("{field}: {e}")));
                }
                read(&mut Reader::at(item, at, item_fields))
            })
            .collect()
    }

    /// The list at `field`'s pointer, and that pointer.
    fn list(&mut self, field: &'static str) -> Result<Option<(&'a [Json<'a>], &'a str)>, MapError> {
        let Some(Field::List { from, .. }) = self.fields.get(field) else {
            return Ok(None);
        };
        self.produced.push(field);
        match self.lookup(from) {
            None => Ok(None),
            Some(Json::Array(items)) => Ok(Some((items, from.as_str()))),
            Some(other) => {
                Err(self.invalid(from, field, Invalid::new("a list", &other.to_value())))
            }
        }
    }

    fn path_of(&self, field: &str) -> String {
        match self.fields.get(field) {
            Some(Field::Value(p) | Field::List { from: p, .. }) => format!("{}{p}", self.base),
            Some(Field::Money { amount: p, .. } | Field::Quantity { value: p, .. }) => {
                format!("{}{p}", self.base)
            }
            None => self.base.clone(),
        }
    }
}
