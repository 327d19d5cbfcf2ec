//! Loading mapping files and checking them against the entity schemas, so
//! that a typo or a missing required field stops the transformer at start
//! with the file, mapping and key named, not at the first record.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use apache_avro::Schema;
use apache_avro::schema::RecordSchema;
use canonflow_canonical::{EntityKind, catalog};
use figment::Figment;
use figment::providers::{Format, Toml};

use super::config::{FieldMap, MappingConfig, MappingFile};

/// A mapping file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingConfigError {
    #[error("cannot read mappings directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    /// Figment's message names the key, the expectation and the file.
    #[error("invalid mapping file: {0}")]
    Parse(String),
    #[error("{file}: mapping {mapping}: key `{key}`: {message}")]
    Invalid {
        file: PathBuf,
        mapping: String,
        key: String,
        message: String,
    },
}

/// Where one canonical field comes from, checked against its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Value(String),
    Money {
        amount: String,
        currency: Option<String>,
    },
    Quantity {
        value: String,
        unit: String,
    },
    /// A list; `items` are the item fields when items are records.
    List {
        from: String,
        items: Option<Fields>,
    },
}

pub type Fields = BTreeMap<String, Field>;

/// A mapping file's mapping, checked, with its fields resolved.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: MappingConfig,
    pub entity: EntityKind,
    pub fields: Fields,
    pub file: PathBuf,
}

/// Everything the mapping files of a directory declare.
#[derive(Debug, Clone, Default)]
pub struct LoadedDir {
    pub mappings: Vec<Loaded>,
    pub enrichments: Vec<crate::enrich::Rule>,
}

/// Every `*.toml` file in `dir`, in name order.
pub fn load_dir(dir: &Path) -> Result<LoadedDir, MappingConfigError> {
    let read_error = |source| MappingConfigError::Dir {
        dir: dir.to_owned(),
        source,
    };
    let files = canonflow_common::config::toml_files(dir).map_err(read_error)?;
    let mut loaded = LoadedDir::default();
    for file in &files {
        let one = load_file(file)?;
        loaded.mappings.extend(one.mappings);
        loaded.enrichments.extend(one.enrichments);
    }
    Ok(loaded)
}

/// One mapping file, parsed and checked.
pub fn load_file(file: &Path) -> Result<LoadedDir, MappingConfigError> {
    let parsed: MappingFile = Figment::from(Toml::file_exact(file))
        .extract()
        .map_err(|e| MappingConfigError::Parse(e.to_string()))?;
    let mappings = parsed
        .mappings
        .into_iter()
        .map(|config| check(file, config))
        .collect::<Result<_, _>>()?;
    let enrichments = parsed
        .enrichments
        .into_iter()
        .map(|config| {
            crate::enrich::Rule::from_config(&config).map_err(|message| {
                MappingConfigError::Invalid {
                    file: file.to_owned(),
                    mapping: format!("enrichment of {}.{}", config.entity, config.field),
                    key: "field".into(),
                    message,
                }
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(LoadedDir {
        mappings,
        enrichments,
    })
}

fn check(file: &Path, config: MappingConfig) -> Result<Loaded, MappingConfigError> {
    let invalid = |key: &str, message: String| MappingConfigError::Invalid {
        file: file.to_owned(),
        mapping: format!("{}/{}", config.source, config.stream),
        key: key.to_owned(),
        message,
    };
    let entity = EntityKind::from_name(&config.entity).ok_or_else(|| {
        let known: Vec<_> = EntityKind::ALL.iter().map(|k| k.name()).collect();
        invalid(
            "entity",
            format!(
                "unknown entity {:?}; known: {}",
                config.entity,
                known.join(", ")
            ),
        )
    })?;
    if config.version < 1 {
        return Err(invalid("version", "must be 1 or more".into()));
    }
    for (key, pointer) in [
        (
            "modified_at.from",
            config.modified_at.as_ref().map(|m| &m.from),
        ),
        ("deleted.from", config.deleted.as_ref().map(|d| &d.from)),
    ] {
        if let Some(pointer) = pointer {
            check_pointer(pointer).map_err(|m| invalid(key, m))?;
        }
    }
    let schema = catalog::schema(entity).map_err(|e| invalid("entity", e.to_string()))?;
    let attributes = attributes_record(schema)
        .ok_or_else(|| invalid("entity", "schema has no attributes record".into()))?;
    let fields = resolve(&config.fields, attributes, "fields").map_err(|(k, m)| invalid(&k, m))?;
    Ok(Loaded {
        entity,
        fields,
        file: file.to_owned(),
        config,
    })
}

fn attributes_record(schema: &Schema) -> Option<&RecordSchema> {
    let Schema::Record(record) = schema else {
        return None;
    };
    let field = record.fields.iter().find(|f| f.name == "attributes")?;
    match &field.schema {
        Schema::Record(attributes) => Some(attributes),
        _ => None,
    }
}

/// The shape of a schema field, looking through `["null", T]`.
enum Shape<'s> {
    Scalar,
    Money,
    Quantity,
    Records(&'s RecordSchema),
    Scalars,
}

fn shape(schema: &Schema) -> (Shape<'_>, bool) {
    let (inner, required) = match schema {
        Schema::Union(union) => match union.variants() {
            [Schema::Null, inner] => (inner, false),
            _ => (schema, true),
        },
        other => (other, true),
    };
    let named = |name: &str| match name {
        "Money" => Some(Shape::Money),
        "Quantity" => Some(Shape::Quantity),
        _ => None,
    };
    let shape = match inner {
        Schema::Record(record) => named(record.name.name()).unwrap_or(Shape::Scalar),
        Schema::Ref { name } => named(name.name()).unwrap_or(Shape::Scalar),
        Schema::Array(array) => match array.items.as_ref() {
            Schema::Record(record) => Shape::Records(record),
            _ => Shape::Scalars,
        },
        _ => Shape::Scalar,
    };
    (shape, required)
}

/// Checks `fields` against `record` and resolves each to a [`Field`];
/// errors are (key, message).
fn resolve(fields: &FieldMap, record: &RecordSchema, at: &str) -> Result<Fields, (String, String)> {
    let known: Vec<&str> = record.fields.iter().map(|f| f.name.as_str()).collect();
    if let Some(unknown) = fields.keys().find(|name| !known.contains(&name.as_str())) {
        return Err((
            format!("{at}.{unknown}"),
            format!(
                "{} has no field {unknown:?}; it has: {}",
                record.name.name(),
                known.join(", ")
            ),
        ));
    }
    let mut resolved = Fields::new();
    for field in &record.fields {
        let key = format!("{at}.{}", field.name);
        let (shape, required) = shape(&field.schema);
        let Some(source) = fields.get(&field.name) else {
            if required {
                return Err((key, "required by the entity, but not mapped".into()));
            }
            continue;
        };
        let table = source.table();
        let need = |part: &Option<String>, name: &str| -> Result<String, (String, String)> {
            let pointer = part
                .clone()
                .ok_or_else(|| (key.clone(), format!("needs `{name}` (a JSON pointer)")))?;
            check_pointer(&pointer).map_err(|m| (format!("{key}.{name}"), m))?;
            Ok(pointer)
        };
        let resolved_field = match shape {
            Shape::Scalar => Field::Value(need(&table.from, "from")?),
            Shape::Money => Field::Money {
                amount: need(&table.amount, "amount")?,
                currency: match table.currency {
                    Some(_) => Some(need(&table.currency, "currency")?),
                    None => None,
                },
            },
            Shape::Quantity => Field::Quantity {
                value: need(&table.value, "value")?,
                unit: need(&table.unit, "unit")?,
            },
            Shape::Scalars => Field::List {
                from: need(&table.from, "from")?,
                items: None,
            },
            // A list of records from a list of records (item fields given),
            // or from a list of scalars that the entity's code turns into
            // records (e.g. cost-center codes into cost-center references).
            Shape::Records(items) => Field::List {
                from: need(&table.from, "from")?,
                items: match &table.fields {
                    Some(item_fields) => {
                        Some(resolve(item_fields, items, &format!("{key}.fields"))?)
                    }
                    None => None,
                },
            },
        };
        resolved.insert(field.name.clone(), resolved_field);
    }
    Ok(resolved)
}

/// A JSON pointer: empty (the whole record) or starting with `/`.
fn check_pointer(pointer: &str) -> Result<(), String> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "{pointer:?} is not a JSON pointer; did you mean \"/{pointer}\"?"
        ))
    }
}
