//! The Rust types and the `.avsc` files under `schemas/` describe the same
//! records: every field of every record has the same name in both, and a
//! fully populated value of each type survives the wire format unchanged.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;

use apache_avro::Schema;
use apache_avro::schema::RecordSchema;
use canonflow_canonical::entities::{CostCenter, Invoice, Organization, Supplier, Worker};
use canonflow_canonical::{
    Canonical, Catalog, CostCenterAttributes, CostCenterRef, EntityKind, InvoiceAttributes,
    InvoiceLine, InvoiceStatus, Money, OrganizationAttributes, Origin, Provenance, Quantity,
    SourceVersion, SupplierAttributes, WorkerAttributes, catalog, wire,
};
use chrono::{NaiveDate, TimeZone, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn envelope<A>(attributes: A, fields: &[&'static str]) -> Canonical<A> {
    let origin = Origin {
        source: "hr".into(),
        stream: "workers".into(),
        source_id: "W1".into(),
        raw_topic: "canonflow.raw".into(),
        raw_partition: 3,
        raw_offset: 42,
        mapping_version: 2,
    };
    Canonical {
        canonical_id: "6f1c2b7e-1d2a-5b7c-9d3e-0a1b2c3d4e5f".into(),
        source: "hr".into(),
        stream: "workers".into(),
        source_id: "W1".into(),
        version: SourceVersion {
            modified_at: Some(Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap()),
            raw_topic: "canonflow.raw".into(),
            raw_partition: 3,
            raw_offset: 42,
            reference_modified_at: Some(Utc.with_ymd_and_hms(2024, 4, 1, 0, 0, 0).unwrap()),
            mapping_version: 2,
        },
        deleted: false,
        attributes,
        provenance: Provenance {
            origins: vec![origin],
            fields: fields.iter().map(|f| ((*f).into(), 0)).collect(),
        },
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn eur(minor: i64) -> Money {
    Money {
        amount_minor: minor,
        currency: "EUR".into(),
    }
}

fn worker() -> Worker {
    envelope(
        WorkerAttributes {
            employee_number: Some(1001),
            first_name: "Anna".into(),
            last_name: "Schmidt".into(),
            email: Some("anna.schmidt@example.com".into()),
            hire_date: Some(day(2020, 1, 15)),
            termination_date: None,
            organization_id: Some("O0001".into()),
            cost_center_code: Some("CC0001".into()),
            cost_center_name: Some("Sales – Field".into()),
            salary: Some(eur(6_500_000)),
            work_country: Some("DE".into()),
            work_city: Some("Berlin".into()),
            fte: Some(0.8),
        },
        &["first_name", "last_name"],
    )
}

fn organization() -> Organization {
    envelope(
        OrganizationAttributes {
            name: "Sales".into(),
            parent_id: None,
            cost_centers: vec![CostCenterRef {
                code: "CC0001".into(),
                name: Some("Sales – Field".into()),
            }],
        },
        &["name"],
    )
}

fn cost_center() -> CostCenter {
    envelope(
        CostCenterAttributes {
            code: "CC0001".into(),
            name: "Sales – Field".into(),
            company_code: Some("1000".into()),
            currency: Some("EUR".into()),
            valid_from: Some(day(2019, 1, 1)),
        },
        &["code"],
    )
}

fn supplier() -> Supplier {
    envelope(
        SupplierAttributes {
            name: "Acme GmbH".into(),
            country: Some("DE".into()),
            vat_number: None,
            email: Some("billing@supplier1.example".into()),
        },
        &["name"],
    )
}

fn invoice() -> Invoice {
    envelope(
        InvoiceAttributes {
            supplier_id: "S0001".into(),
            cost_center_code: None,
            amount: eur(12_345),
            invoice_date: day(2024, 4, 30),
            due_date: Some(day(2024, 5, 30)),
            status: InvoiceStatus::Paid,
            lines: vec![InvoiceLine {
                description: "Saffron".into(),
                quantity: Quantity {
                    micro_units: 5_000,
                    unit: "kg".into(),
                },
                unit_price: eur(12_345),
            }],
        },
        &["amount", "lines"],
    )
}

/// Field names of the record named `name` anywhere inside `schema`.
fn record_fields(schema: &Schema, name: &str) -> Option<Vec<String>> {
    match schema {
        Schema::Record(RecordSchema {
            name: record,
            fields,
            ..
        }) => {
            if record.name() == name {
                let mut names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
                names.sort();
                return Some(names);
            }
            fields.iter().find_map(|f| record_fields(&f.schema, name))
        }
        Schema::Union(union) => union.variants().iter().find_map(|v| record_fields(v, name)),
        Schema::Array(array) => record_fields(&array.items, name),
        _ => None,
    }
}

fn keys(value: &Value) -> Vec<String> {
    // serde_json's map is sorted; the schema's names are sorted above.
    value.as_object().unwrap().keys().cloned().collect()
}

/// Every field name agrees, and a populated value survives the wire format.
fn agrees<A>(kind: EntityKind, record: &str, entity: &Canonical<A>)
where
    A: Serialize
        + DeserializeOwned
        + PartialEq
        + std::fmt::Debug
        + canonflow_canonical::EntityRecord,
{
    let catalog = Catalog::embedded().unwrap();
    let schema = catalog::schema(kind).unwrap();
    let json = serde_json::to_value(entity).unwrap();
    let attributes = format!("{record}Attributes");
    for (name, value) in [
        (record, &json),
        (attributes.as_str(), &json["attributes"]),
        ("SourceVersion", &json["version"]),
        ("Provenance", &json["provenance"]),
        ("Origin", &json["provenance"]["origins"][0]),
    ] {
        assert_eq!(
            record_fields(schema, name),
            Some(keys(value)),
            "{kind}: record {name} has other fields than the Rust type"
        );
    }

    let bytes = wire::encode(&catalog, kind, entity).unwrap();
    assert_eq!(wire::kind(&catalog, &bytes).unwrap(), kind);
    let back: Canonical<A> = wire::decode(&catalog, kind, &bytes).unwrap();
    assert_eq!(&back, entity, "{kind} changed on the way through Avro");

    // The reference implementation (Apache Avro's) writes the same bytes,
    // and reads ours back to the same entity.
    let mut reference = Vec::new();
    apache_avro::writer::datum::GenericDatumWriter::builder(schema)
        .human_readable(false)
        .build()
        .unwrap()
        .write_ser(&mut reference, entity)
        .unwrap();
    let (_, datum) = wire::split(&bytes).unwrap();
    assert_eq!(
        datum,
        reference.as_slice(),
        "{kind}: not Apache Avro's bytes"
    );
    let read: Canonical<A> = apache_avro::reader::datum::GenericDatumReader::builder(schema)
        .human_readable(false)
        .build()
        .unwrap()
        .read_deser(&mut &datum[..])
        .unwrap();
    assert_eq!(&read, entity, "{kind}: Apache Avro reads it otherwise");
}

#[test]
fn every_entity_type_matches_its_schema() {
    agrees(EntityKind::Worker, "Worker", &worker());
    agrees(EntityKind::Organization, "Organization", &organization());
    agrees(EntityKind::CostCenter, "CostCenter", &cost_center());
    agrees(EntityKind::Supplier, "Supplier", &supplier());
    agrees(EntityKind::Invoice, "Invoice", &invoice());
}

#[test]
fn shared_records_are_identical_in_every_schema_file() {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for kind in EntityKind::ALL {
        let json: Value = serde_json::from_str(kind.schema_text()).unwrap();
        let mut stack = vec![json];
        while let Some(value) = stack.pop() {
            match value {
                Value::Object(members) => {
                    if members.get("type") == Some(&Value::String("record".into())) {
                        let name = members["name"].as_str().unwrap().to_owned();
                        let text = serde_json::to_string(&members).unwrap();
                        if let Some(before) = seen.insert(name.clone(), text.clone()) {
                            assert_eq!(before, text, "record {name} differs between schema files");
                        }
                    }
                    stack.extend(members.into_iter().map(|(_, v)| v));
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
    }
    for shared in ["SourceVersion", "Provenance", "Origin", "Money"] {
        assert!(
            seen.contains_key(shared),
            "{shared} is defined in no schema"
        );
    }
}

#[test]
fn embedded_ids_are_stable_and_distinct() {
    let catalog = Catalog::embedded().unwrap();
    let again = Catalog::embedded().unwrap();
    let ids: std::collections::BTreeSet<_> =
        EntityKind::ALL.into_iter().map(|k| catalog.id(k)).collect();
    assert_eq!(ids.len(), EntityKind::ALL.len());
    for kind in EntityKind::ALL {
        assert_eq!(catalog.id(kind), again.id(kind));
        assert_eq!(catalog.kind_of(catalog.id(kind)), Some(kind));
    }
}

#[test]
fn foreign_bytes_are_refused_with_the_reason() {
    let catalog = Catalog::embedded().unwrap();
    assert!(matches!(
        wire::split(&[0, 0]),
        Err(wire::WireError::TooShort { len: 2 })
    ));
    assert!(matches!(
        wire::split(b"{\"a\":1}"),
        Err(wire::WireError::Magic(b'{'))
    ));
    let bytes = wire::encode(&catalog, EntityKind::Supplier, &supplier()).unwrap();
    let err = wire::decode::<WorkerAttributes>(&catalog, EntityKind::Worker, &bytes).unwrap_err();
    assert!(matches!(err, wire::WireError::WrongEntity { .. }), "{err}");
    let truncated = &bytes[..bytes.len() - 3];
    assert!(wire::decode::<SupplierAttributes>(&catalog, EntityKind::Supplier, truncated).is_err());
}
