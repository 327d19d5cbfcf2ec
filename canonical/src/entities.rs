//! The attributes of each canonical entity type, field for field as in the
//! `<Entity>Attributes` record of its schema under `schemas/`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::envelope::{Canonical, Money, Quantity, date};
use crate::read::EntityRecord;

pub type Worker = Canonical<WorkerAttributes>;
pub type Organization = Canonical<OrganizationAttributes>;
pub type CostCenter = Canonical<CostCenterAttributes>;
pub type Supplier = Canonical<SupplierAttributes>;
pub type Invoice = Canonical<InvoiceAttributes>;

impl EntityRecord for WorkerAttributes {
    const RECORD: &'static str = "Worker";
}
impl EntityRecord for OrganizationAttributes {
    const RECORD: &'static str = "Organization";
}
impl EntityRecord for CostCenterAttributes {
    const RECORD: &'static str = "CostCenter";
}
impl EntityRecord for SupplierAttributes {
    const RECORD: &'static str = "Supplier";
}
impl EntityRecord for InvoiceAttributes {
    const RECORD: &'static str = "Invoice";
}

/// A person employed or contracted, from an HR system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerAttributes {
    pub employee_number: Option<i64>,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    #[serde(with = "date::option")]
    pub hire_date: Option<NaiveDate>,
    #[serde(with = "date::option")]
    pub termination_date: Option<NaiveDate>,
    pub organization_id: Option<String>,
    pub cost_center_code: Option<String>,
    /// Enriched from the cost center entity.
    pub cost_center_name: Option<String>,
    pub salary: Option<Money>,
    pub work_country: Option<String>,
    pub work_city: Option<String>,
    pub fte: Option<f64>,
}

/// An organizational unit with its cost centers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationAttributes {
    pub name: String,
    pub parent_id: Option<String>,
    pub cost_centers: Vec<CostCenterRef>,
}

/// A cost center as another entity references it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostCenterRef {
    pub code: String,
    /// Enriched from the cost center entity.
    pub name: Option<String>,
}

/// A cost center from the finance system; the reference for enrichment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostCenterAttributes {
    pub code: String,
    pub name: String,
    pub company_code: Option<String>,
    pub currency: Option<String>,
    #[serde(with = "date::option")]
    pub valid_from: Option<NaiveDate>,
}

/// A supplier (vendor) from the finance system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierAttributes {
    pub name: String,
    pub country: Option<String>,
    pub vat_number: Option<String>,
    pub email: Option<String>,
}

/// A supplier invoice from the finance system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceAttributes {
    pub supplier_id: String,
    pub cost_center_code: Option<String>,
    pub amount: Money,
    #[serde(with = "date")]
    pub invoice_date: NaiveDate,
    #[serde(with = "date::option")]
    pub due_date: Option<NaiveDate>,
    pub status: InvoiceStatus,
    pub lines: Vec<InvoiceLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvoiceStatus {
    Open,
    Paid,
    Cancelled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub description: String,
    pub quantity: Quantity,
    pub unit_price: Money,
}

/// The attributes of any entity type, for code that handles all of them
/// (the transformer's mappings). Serializes as the inner record.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Attributes {
    Worker(WorkerAttributes),
    Organization(OrganizationAttributes),
    CostCenter(CostCenterAttributes),
    Supplier(SupplierAttributes),
    Invoice(InvoiceAttributes),
}

impl Attributes {
    pub fn kind(&self) -> crate::EntityKind {
        use crate::EntityKind as K;
        match self {
            Self::Worker(_) => K::Worker,
            Self::Organization(_) => K::Organization,
            Self::CostCenter(_) => K::CostCenter,
            Self::Supplier(_) => K::Supplier,
            Self::Invoice(_) => K::Invoice,
        }
    }
}
