//! The canonical entities the benchmark writes: mostly workers and invoices
//! with lines, some suppliers, cost centers and organizations, each with a
//! key of its own. An entity is made from its index alone, so the second
//! generation (the same keys, newer versions) and the rows `COPY` writes
//! are made again rather than held in memory.

use canonflow_canonical::entities::Attributes;
use canonflow_canonical::{
    Canonical, CostCenterAttributes, CostCenterRef, EntityKind, InvoiceAttributes, InvoiceLine,
    InvoiceStatus, Money, OrganizationAttributes, Origin, Provenance, Quantity, SourceVersion,
    SupplierAttributes, WorkerAttributes,
};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use fastrand::Rng;

/// Each entity type's share of the records, in per cent.
pub const MIX: [(EntityKind, u8); 5] = [
    (EntityKind::Worker, 40),
    (EntityKind::Invoice, 40),
    (EntityKind::Supplier, 8),
    (EntityKind::CostCenter, 6),
    (EntityKind::Organization, 6),
];

/// The raw topic's partitions the versions claim to come from.
const RAW_PARTITIONS: usize = 6;

const FIRST_NAMES: &[&str] = &["Anna", "Jürgen", "Zoë", "Haruto", "Mei", "Åsa", "Priya"];
const LAST_NAMES: &[&str] = &["von Schmidt", "Sato", "O'Brien", "Müller", "García López"];
const CITIES: &[(&str, &str, &str)] = &[
    ("DE", "Berlin", "EUR"),
    ("JP", "Tokyo", "JPY"),
    ("US", "New York", "USD"),
    ("SE", "Göteborg", "SEK"),
    ("KW", "Kuwait City", "KWD"),
];
const ITEMS: &[(&str, &str)] = &[
    ("Consulting", "s"),
    ("Saffron", "kg"),
    ("Steel beams", "kg"),
    ("Printer paper", "1"),
    ("Cable", "m"),
    ("Diesel", "m3"),
];

/// Makes the entities of one seed and record count.
#[derive(Debug, Clone, Copy)]
pub struct Generator {
    pub seed: u64,
    pub records: usize,
}

impl Generator {
    /// Entity `index` at `generation` (0, 1, …): same key and type in every
    /// generation, a later `modified_at` and some changed attributes in
    /// each next one.
    pub fn entity(&self, index: usize, generation: u32) -> Canonical<Attributes> {
        let mut rng = Rng::with_seed(
            self.seed
                .wrapping_add((index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        );
        let kind = kind(&mut rng);
        let (source, stream, source_id) = key(kind, index);
        let raw_offset = i64::from(generation) * self.records as i64 + index as i64;
        let origin = Origin {
            source: source.into(),
            stream: stream.into(),
            source_id: source_id.clone(),
            raw_topic: "canonflow.raw".into(),
            raw_partition: (index % RAW_PARTITIONS) as i32,
            raw_offset,
            mapping_version: 1,
        };
        let modified = base_time()
            + TimeDelta::seconds(index as i64)
            + TimeDelta::days(30 * i64::from(generation));
        let (attributes, mut origins, fields) = attributes(&mut rng, kind, index, generation);
        origins.insert(0, origin.clone());
        let enriched = origins.len() > 1;
        Canonical {
            canonical_id: uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_OID,
                format!("{}/{source}/{stream}/{source_id}", kind.name()).as_bytes(),
            )
            .to_string(),
            source: source.into(),
            stream: stream.into(),
            source_id,
            version: SourceVersion {
                modified_at: Some(modified),
                raw_topic: origin.raw_topic,
                raw_partition: origin.raw_partition,
                raw_offset,
                reference_modified_at: enriched.then(|| base_time() - TimeDelta::days(7)),
                mapping_version: 1,
            },
            deleted: false,
            attributes,
            provenance: Provenance {
                origins,
                fields: fields
                    .iter()
                    .map(|(field, origin)| ((*field).into(), *origin))
                    .collect(),
            },
        }
    }
}

fn kind(rng: &mut Rng) -> EntityKind {
    let mut roll = rng.u8(..100);
    for (kind, share) in MIX {
        if roll < share {
            return kind;
        }
        roll -= share;
    }
    EntityKind::Worker
}

fn key(kind: EntityKind, index: usize) -> (&'static str, &'static str, String) {
    match kind {
        EntityKind::Worker => ("hr", "workers", format!("W{index:09}")),
        EntityKind::Organization => ("hr", "organizations", format!("O{index:09}")),
        EntityKind::CostCenter => ("finance", "cost_centers", format!("CC{index:09}")),
        EntityKind::Supplier => ("finance", "suppliers", format!("S{index:09}")),
        EntityKind::Invoice => ("finance", "invoices", format!("INV{index:09}")),
    }
}

/// Attributes, further origins (enrichment), and each field's origin.
type Made = (Attributes, Vec<Origin>, Vec<(&'static str, i32)>);

fn attributes(rng: &mut Rng, kind: EntityKind, index: usize, generation: u32) -> Made {
    match kind {
        EntityKind::Worker => worker(rng, index, generation),
        EntityKind::Invoice => invoice(rng, generation),
        EntityKind::Supplier => supplier(rng, index),
        EntityKind::CostCenter => cost_center(rng, index),
        EntityKind::Organization => organization(rng, index),
    }
}

fn worker(rng: &mut Rng, index: usize, generation: u32) -> Made {
    let first = pick(rng, FIRST_NAMES);
    let last = pick(rng, LAST_NAMES);
    let (country, city, currency) = pick(rng, CITIES);
    let cost_center = format!("CC{:06}", rng.u32(..5_000));
    let attributes = WorkerAttributes {
        employee_number: Some(index as i64),
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        email: Some(format!("worker{index}@example.com")),
        hire_date: Some(date(rng.i64(0..9_000))),
        termination_date: (rng.u8(..20) == 0).then(|| date(9_100)),
        organization_id: Some(format!("O{:05}", rng.u32(..500))),
        cost_center_code: Some(cost_center.clone()),
        cost_center_name: Some("Sales – Field".to_owned()),
        salary: Some(Money {
            amount_minor: rng.i64(3_000_000..15_000_000) + i64::from(generation) * 100_000,
            currency: currency.to_owned(),
        }),
        work_country: Some(country.to_owned()),
        work_city: Some(city.to_owned()),
        fte: Some(if rng.u8(..5) == 0 { 0.8 } else { 1.0 }),
    };
    let reference = Origin {
        source: "finance".into(),
        stream: "cost_centers".into(),
        source_id: cost_center,
        raw_topic: "canonflow.raw".into(),
        raw_partition: rng.i32(..RAW_PARTITIONS as i32),
        raw_offset: rng.i64(..1_000_000),
        mapping_version: 1,
    };
    let fields = vec![
        ("cost_center_code", 0),
        ("cost_center_name", 1),
        ("email", 0),
        ("employee_number", 0),
        ("first_name", 0),
        ("fte", 0),
        ("hire_date", 0),
        ("last_name", 0),
        ("organization_id", 0),
        ("salary", 0),
        ("termination_date", 0),
        ("work_city", 0),
        ("work_country", 0),
    ];
    (Attributes::Worker(attributes), vec![reference], fields)
}

fn invoice(rng: &mut Rng, generation: u32) -> Made {
    let (_, _, currency) = pick(rng, CITIES);
    let money = |amount_minor| Money {
        amount_minor,
        currency: currency.to_owned(),
    };
    let lines: Vec<InvoiceLine> = (0..rng.usize(1..5))
        .map(|_| {
            let (description, unit) = pick(rng, ITEMS);
            InvoiceLine {
                description: description.to_owned(),
                quantity: Quantity {
                    micro_units: rng.i64(1..40) * 1_000_000,
                    unit: unit.to_owned(),
                },
                unit_price: money(rng.i64(100..50_000)),
            }
        })
        .collect();
    let total = lines
        .iter()
        .map(|l| l.quantity.micro_units / 1_000_000 * l.unit_price.amount_minor)
        .sum();
    let issued = rng.i64(8_800..9_200);
    let attributes = InvoiceAttributes {
        supplier_id: format!("S{:09}", rng.u32(..100_000)),
        cost_center_code: Some(format!("CC{:06}", rng.u32(..5_000))),
        amount: money(total),
        invoice_date: date(issued),
        due_date: Some(date(issued + 30)),
        status: match (generation, rng.u8(..3)) {
            (0, 0) | (0, 1) => InvoiceStatus::Open,
            (_, 2) => InvoiceStatus::Cancelled,
            _ => InvoiceStatus::Paid,
        },
        lines,
    };
    let fields = vec![
        ("amount", 0),
        ("cost_center_code", 0),
        ("due_date", 0),
        ("invoice_date", 0),
        ("lines", 0),
        ("status", 0),
        ("supplier_id", 0),
    ];
    (Attributes::Invoice(attributes), Vec::new(), fields)
}

fn supplier(rng: &mut Rng, index: usize) -> Made {
    let (country, city, _) = pick(rng, CITIES);
    let attributes = SupplierAttributes {
        name: format!("{city} {} Supplies Ltd", pick(rng, LAST_NAMES)),
        country: Some(country.to_owned()),
        vat_number: Some(format!("{country}{}", rng.u64(100_000_000..1_000_000_000))),
        email: Some(format!("accounts.receivable@supplier{index}.example")),
    };
    let fields = vec![("country", 0), ("email", 0), ("name", 0), ("vat_number", 0)];
    (Attributes::Supplier(attributes), Vec::new(), fields)
}

fn cost_center(rng: &mut Rng, index: usize) -> Made {
    let (_, city, currency) = pick(rng, CITIES);
    let attributes = CostCenterAttributes {
        code: format!("CC{index:09}"),
        name: format!("{city} – Field Sales and Service"),
        company_code: Some(format!("{:04}", rng.u32(1000..9999))),
        currency: Some(currency.to_owned()),
        valid_from: Some(date(rng.i64(0..3_000))),
    };
    let fields = vec![
        ("code", 0),
        ("company_code", 0),
        ("currency", 0),
        ("name", 0),
        ("valid_from", 0),
    ];
    (Attributes::CostCenter(attributes), Vec::new(), fields)
}

fn organization(rng: &mut Rng, index: usize) -> Made {
    let (_, city, _) = pick(rng, CITIES);
    let attributes = OrganizationAttributes {
        name: format!("{city} Operations Unit {index}"),
        parent_id: Some(format!("O{:05}", rng.u32(..500))),
        cost_centers: (0..rng.usize(1..4))
            .map(|_| CostCenterRef {
                code: format!("CC{:06}", rng.u32(..5_000)),
                name: Some("Sales – Field".to_owned()),
            })
            .collect(),
    };
    let fields = vec![("cost_centers", 0), ("name", 0), ("parent_id", 0)];
    (Attributes::Organization(attributes), Vec::new(), fields)
}

fn base_time() -> DateTime<Utc> {
    // 2024-01-01T00:00:00Z
    DateTime::from_timestamp(1_704_067_200, 0).unwrap_or_default()
}

fn date(days_after_2000: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default() + TimeDelta::days(days_after_2000)
}

fn pick<T: Copy>(rng: &mut Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}
