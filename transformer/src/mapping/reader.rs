//! Reading canonical fields out of a raw record: the configured pointer,
//! then the entity's normalization, with every error naming the JSON
//! pointer it happened at and every field read recorded for provenance.

use canonflow_canonical::{Money, Quantity};
use serde_json::Value;

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
    record: &'a Value,
    /// Pointer of `record` within the raw record (`/Lines/2` for an item).
    base: String,
    fields: &'a Fields,
    /// Fields read, for provenance (top-level readers only).
    produced: Vec<String>,
}

impl<'a> Reader<'a> {
    pub fn new(record: &'a Value, fields: &'a Fields) -> Self {
        Self::at(record, String::new(), fields)
    }

    fn at(record: &'a Value, base: String, fields: &'a Fields) -> Self {
        Self {
            record,
            base,
            fields,
            produced: Vec::new(),
        }
    }

    /// The fields read so far, in reading order.
    pub fn into_produced(self) -> Vec<String> {
        self.produced
    }

    /// The value at `pointer`, `None` when absent or null, and its full path.
    fn lookup(&self, pointer: &str) -> (Option<&'a Value>, String) {
        let path = format!("{}{pointer}", self.base);
        let value = super::json::at(self.record, pointer).filter(|v| !v.is_null());
        (value, path)
    }

    fn invalid(path: String, field: &str, e: Invalid) -> MapError {
        MapError::new(path, format!("{field}: {e}"))
    }

    /// A field that must be present.
    pub fn required<T>(
        &mut self,
        field: &str,
        normalize: impl Fn(&Value) -> Result<T, Invalid>,
    ) -> Result<T, MapError> {
        let path = match self.fields.get(field) {
            Some(Field::Value(pointer)) => pointer.as_str(),
            _ => return Err(MapError::new("", format!("{field}: not mapped"))),
        };
        let (value, path) = self.lookup(path);
        let value =
            value.ok_or_else(|| MapError::new(&path, format!("{field}: required, missing")))?;
        self.produced.push(field.to_owned());
        normalize(value).map_err(|e| Self::invalid(path, field, e))
    }

    /// A field that may be absent, null, or not mapped at all.
    pub fn optional<T>(
        &mut self,
        field: &str,
        normalize: impl Fn(&Value) -> Result<T, Invalid>,
    ) -> Result<Option<T>, MapError> {
        let Some(Field::Value(pointer)) = self.fields.get(field) else {
            return Ok(None);
        };
        let (value, path) = self.lookup(pointer);
        self.produced.push(field.to_owned());
        value
            .map(|v| normalize(v).map_err(|e| Self::invalid(path, field, e)))
            .transpose()
    }

    /// An amount and its currency; `currency` supplies the code when the
    /// mapping names no currency pointer (e.g. an invoice line's price).
    pub fn money(
        &mut self,
        field: &str,
        currency: Option<&str>,
    ) -> Result<Option<Money>, MapError> {
        let Some(Field::Money {
            amount,
            currency: currency_pointer,
        }) = self.fields.get(field)
        else {
            return Ok(None);
        };
        let (amount, amount_path) = self.lookup(amount);
        self.produced.push(field.to_owned());
        let Some(amount) = amount else {
            return Ok(None);
        };
        let code = match (currency_pointer, currency) {
            (Some(pointer), _) => {
                let (code, path) = self.lookup(pointer);
                let code = code.ok_or_else(|| {
                    MapError::new(&path, format!("{field}: an amount without a currency"))
                })?;
                normalize::currency(code).map_err(|e| Self::invalid(path, field, e))?
            }
            (None, Some(code)) => code.to_owned(),
            (None, None) => {
                return Err(MapError::new(amount_path, format!("{field}: no currency")));
            }
        };
        normalize::money(amount, &Value::String(code))
            .map(Some)
            .map_err(|e| Self::invalid(amount_path, field, e))
    }

    /// Like [`money`](Self::money), for a field the entity requires.
    pub fn required_money(
        &mut self,
        field: &str,
        currency: Option<&str>,
    ) -> Result<Money, MapError> {
        self.money(field, currency)?.ok_or_else(|| {
            MapError::new(self.path_of(field), format!("{field}: required, missing"))
        })
    }

    /// A number and its unit, converted to SI.
    pub fn quantity(&mut self, field: &str) -> Result<Quantity, MapError> {
        let Some(Field::Quantity { value, unit }) = self.fields.get(field) else {
            return Err(MapError::new("", format!("{field}: not mapped")));
        };
        let (value, value_path) = self.lookup(value);
        let (unit, unit_path) = self.lookup(unit);
        self.produced.push(field.to_owned());
        let value = value
            .ok_or_else(|| MapError::new(&value_path, format!("{field}: required, missing")))?;
        let unit = unit.ok_or_else(|| {
            MapError::new(&unit_path, format!("{field}: a quantity without a unit"))
        })?;
        normalize::check_unit(unit).map_err(|e| Self::invalid(unit_path, field, e))?;
        normalize::quantity(value, unit).map_err(|e| Self::invalid(value_path, field, e))
    }

    /// A list of scalars, each normalized; absent or null is empty.
    pub fn scalars<T>(
        &mut self,
        field: &str,
        normalize: impl Fn(&Value) -> Result<T, Invalid>,
    ) -> Result<Vec<T>, MapError> {
        let Some((items, path)) = self.list(field)? else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                normalize(item).map_err(|e| Self::invalid(format!("{path}/{i}"), field, e))
            })
            .collect()
    }

    /// A list of records, each read by `read` with the item fields.
    pub fn records<T>(
        &mut self,
        field: &str,
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
        let Some((items, path)) = self.list(field)? else {
            return Ok(Vec::new());
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let at = format!("{path}/{i}");
                if !item.is_object() {
                    return Err(Self::invalid(at, field, Invalid::new("an object", item)));
                }
                read(&mut Reader::at(item, at, item_fields))
            })
            .collect()
    }

    fn list(&mut self, field: &str) -> Result<Option<(&'a Vec<Value>, String)>, MapError> {
        let Some(Field::List { from, .. }) = self.fields.get(field) else {
            return Ok(None);
        };
        let (value, path) = self.lookup(from);
        self.produced.push(field.to_owned());
        match value {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some((items, path))),
            Some(other) => Err(Self::invalid(path, field, Invalid::new("a list", other))),
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
