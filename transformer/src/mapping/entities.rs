//! What each canonical field means, per entity type: the normalization it
//! gets and the logic no configuration can express (an invoice line's price
//! is in the invoice's currency). Where the fields come from is
//! configuration ([`super::config`]).

use canonflow_canonical::entities::Attributes;
use canonflow_canonical::{
    CostCenterAttributes, CostCenterRef, EntityKind, InvoiceAttributes, InvoiceLine, InvoiceStatus,
    OrganizationAttributes, SupplierAttributes, WorkerAttributes,
};

use super::reader::{MapError, Reader};
use crate::normalize::{self as n, Invalid};

/// Maps the attributes of an entity of type `kind`.
pub fn attributes(kind: EntityKind, r: &mut Reader<'_>) -> Result<Attributes, MapError> {
    Ok(match kind {
        EntityKind::Worker => Attributes::Worker(worker(r)?),
        EntityKind::Organization => Attributes::Organization(organization(r)?),
        EntityKind::CostCenter => Attributes::CostCenter(cost_center(r)?),
        EntityKind::Supplier => Attributes::Supplier(supplier(r)?),
        EntityKind::Invoice => Attributes::Invoice(invoice(r)?),
    })
}

fn worker(r: &mut Reader<'_>) -> Result<WorkerAttributes, MapError> {
    Ok(WorkerAttributes {
        employee_number: r.optional("employee_number", n::integer)?,
        first_name: r.required("first_name", n::name)?,
        last_name: r.required("last_name", n::name)?,
        email: r.optional("email", n::email)?,
        hire_date: r.optional("hire_date", n::date)?,
        termination_date: r.optional("termination_date", n::date)?,
        organization_id: r.optional("organization_id", n::code)?,
        cost_center_code: r.optional("cost_center_code", n::code)?,
        // Usually filled by enrichment from the cost center entity.
        cost_center_name: r.optional("cost_center_name", n::name)?,
        salary: r.money("salary", None)?,
        work_country: r.optional("work_country", n::country)?,
        work_city: r.optional("work_city", n::name)?,
        fte: r.optional("fte", fte)?,
    })
}

fn fte(value: &serde_json::Value) -> Result<f64, Invalid> {
    let fte = n::ratio(value)?;
    if (0.0..=2.0).contains(&fte) {
        Ok(fte)
    } else {
        Err(Invalid::new(
            "a full-time equivalent between 0 and 2",
            value,
        ))
    }
}

fn organization(r: &mut Reader<'_>) -> Result<OrganizationAttributes, MapError> {
    Ok(OrganizationAttributes {
        name: r.required("name", n::name)?,
        parent_id: r.optional("parent_id", n::code)?,
        cost_centers: r
            .scalars("cost_centers", n::code)?
            .into_iter()
            .map(|code| CostCenterRef { code, name: None })
            .collect(),
    })
}

fn cost_center(r: &mut Reader<'_>) -> Result<CostCenterAttributes, MapError> {
    Ok(CostCenterAttributes {
        code: r.required("code", n::code)?,
        name: r.required("name", n::name)?,
        company_code: r.optional("company_code", n::code)?,
        currency: r.optional("currency", n::currency)?,
        valid_from: r.optional("valid_from", n::date)?,
    })
}

fn supplier(r: &mut Reader<'_>) -> Result<SupplierAttributes, MapError> {
    Ok(SupplierAttributes {
        name: r.required("name", n::name)?,
        country: r.optional("country", n::country)?,
        vat_number: r.optional("vat_number", vat_number)?,
        email: r.optional("email", n::email)?,
    })
}

/// `de 123 456 789` → `DE123456789`.
fn vat_number(value: &serde_json::Value) -> Result<String, Invalid> {
    let code = n::code(value)?;
    Ok(code.chars().filter(|c| !c.is_whitespace()).collect())
}

fn invoice(r: &mut Reader<'_>) -> Result<InvoiceAttributes, MapError> {
    let amount = r.required_money("amount", None)?;
    let currency = amount.currency.clone();
    Ok(InvoiceAttributes {
        supplier_id: r.required("supplier_id", n::code)?,
        cost_center_code: r.optional("cost_center_code", n::code)?,
        invoice_date: r.required("invoice_date", n::date)?,
        due_date: r.optional("due_date", n::date)?,
        status: r.required("status", status)?,
        lines: r.records("lines", |line| {
            Ok(InvoiceLine {
                description: line.required("description", n::text)?,
                quantity: line.quantity("quantity")?,
                // Lines are priced in the invoice's currency unless mapped otherwise.
                unit_price: line.required_money("unit_price", Some(&currency))?,
            })
        })?,
        amount,
    })
}

fn status(value: &serde_json::Value) -> Result<InvoiceStatus, Invalid> {
    Ok(match n::one_of(value, &["open", "paid", "cancelled"])? {
        "open" => InvoiceStatus::Open,
        "paid" => InvoiceStatus::Paid,
        _ => InvoiceStatus::Cancelled,
    })
}
