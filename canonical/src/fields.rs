//! The field paths of an Avro schema (`attributes.name`), and which of a
//! writer's a reader lacks: how a stage names the fields it cannot hold
//! when a record arrives under a newer schema than its own.
//!
//! Works on the schema's JSON text, so it reads any schema a registry
//! returns, even one this build could not resolve.

use std::collections::BTreeSet;

use serde_json::Value;

/// Every field of every record in `schema`, as dotted paths from the top
/// record. `None` when the text is not JSON.
pub fn paths(schema: &str) -> Option<BTreeSet<String>> {
    let value: Value = serde_json::from_str(schema).ok()?;
    let mut found = BTreeSet::new();
    collect(&value, "", &mut found);
    Some(found)
}

/// The paths `writer` has and `reader` does not, in order; `None` when
/// either is not JSON.
pub fn missing(writer: &str, reader: &str) -> Option<Vec<String>> {
    let (writer, reader) = (paths(writer)?, paths(reader)?);
    Some(writer.difference(&reader).cloned().collect())
}

fn collect(schema: &Value, prefix: &str, found: &mut BTreeSet<String>) {
    match schema {
        // A union: each branch.
        Value::Array(branches) => {
            for branch in branches {
                collect(branch, prefix, found);
            }
        }
        Value::Object(object) => {
            if let Some(Value::Array(fields)) = object.get("fields") {
                for field in fields {
                    let Some(name) = field.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    let path = if prefix.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{prefix}.{name}")
                    };
                    if let Some(inner) = field.get("type") {
                        collect(inner, &path, found);
                    }
                    found.insert(path);
                }
            }
            for nested in ["items", "values"] {
                if let Some(inner) = object.get(nested) {
                    collect(inner, prefix, found);
                }
            }
        }
        // A primitive or a named type defined elsewhere.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EntityKind;

    #[test]
    fn nested_records_unions_and_arrays_give_dotted_paths() {
        let schema = r#"{"type":"record","name":"A","fields":[
            {"name":"id","type":"string"},
            {"name":"inner","type":["null",{"type":"record","name":"B","fields":[{"name":"x","type":"long"}]}]},
            {"name":"lines","type":{"type":"array","items":{"type":"record","name":"L","fields":[{"name":"q","type":"int"}]}}}
        ]}"#;
        let found: Vec<_> = paths(schema).unwrap().into_iter().collect();
        assert_eq!(found, ["id", "inner", "inner.x", "lines", "lines.q"]);
    }

    #[test]
    fn a_field_added_by_a_newer_writer_is_named() {
        let reader = EntityKind::Supplier.schema_text();
        let mut evolved: Value = serde_json::from_str(reader).unwrap();
        let attributes = evolved["fields"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|f| f["name"] == "attributes")
            .unwrap();
        attributes["type"]["fields"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"name": "rating", "type": ["null", "int"], "default": null}));
        let writer = evolved.to_string();
        assert_eq!(missing(&writer, reader).unwrap(), ["attributes.rating"]);
        assert!(missing(reader, reader).unwrap().is_empty());
        assert_eq!(missing("not json", reader), None);
    }
}
