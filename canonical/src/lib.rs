//! The canonical model that the transformer writes and the sink reads.
//!
//! Each canonical entity type has an Avro schema under `schemas/` (the
//! contract users see) and a Rust type here (the contract the code sees);
//! tests keep the two in agreement. Every entity is the same envelope —
//! identity, [`SourceVersion`], deleted flag, field-level [`Provenance`] —
//! around its own attributes ([`entities`]). On Kafka an entity travels in
//! the Confluent wire format ([`wire`]) under a schema id that a
//! [`Catalog`] assigns: from the embedded schemas by default, from a schema
//! registry in production.

pub mod catalog;
pub mod entities;
pub mod envelope;
pub mod fields;
mod form;
pub mod read;
pub mod registry;
pub mod wire;

pub use catalog::{Catalog, SchemaId};
pub use entities::{
    CostCenterAttributes, CostCenterRef, InvoiceAttributes, InvoiceLine, InvoiceStatus,
    OrganizationAttributes, SupplierAttributes, WorkerAttributes,
};
pub use envelope::{Canonical, Money, Origin, Provenance, Quantity, SourceVersion};
pub use read::EntityRecord;

/// The canonical entity types. The name is the schema file's stem and the
/// canonical topic's suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityKind {
    Worker,
    Organization,
    CostCenter,
    Supplier,
    Invoice,
}

impl EntityKind {
    pub const ALL: [Self; 5] = [
        Self::Worker,
        Self::Organization,
        Self::CostCenter,
        Self::Supplier,
        Self::Invoice,
    ];

    /// `worker`, `cost_center`, …: as in configuration, file and topic names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Worker => "worker",
            Self::Organization => "organization",
            Self::CostCenter => "cost_center",
            Self::Supplier => "supplier",
            Self::Invoice => "invoice",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The Avro schema text, embedded from `schemas/<name>.avsc`.
    pub fn schema_text(self) -> &'static str {
        match self {
            Self::Worker => include_str!("../../schemas/worker.avsc"),
            Self::Organization => include_str!("../../schemas/organization.avsc"),
            Self::CostCenter => include_str!("../../schemas/cost_center.avsc"),
            Self::Supplier => include_str!("../../schemas/supplier.avsc"),
            Self::Invoice => include_str!("../../schemas/invoice.avsc"),
        }
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
