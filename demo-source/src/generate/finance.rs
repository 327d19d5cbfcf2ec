//! The finance system's OData v4 entity sets: cost centers, suppliers and
//! invoices (with line items, and amounts in each currency's precision).

use fastrand::Rng;
use serde_json::{Value, json};

use super::vocabulary::{
    COMPANY_KINDS, COMPANY_WORDS, DEPARTMENTS, LINE_ITEMS, SUPPLIER_COUNTRIES, pick,
};
use super::{Counts, cost_center_id, invoice_id, money, sloppy, supplier_id};
use crate::store::{Generator, Mode};
use crate::timestamps::{self, date};

const SECONDS: Mode = Mode::Incremental {
    resolution_ms: 1000,
};

/// Company codes and the currency each books in.
const COMPANY_CODES: &[(&str, &str)] = &[
    ("1000", "EUR"),
    ("2000", "USD"),
    ("3000", "GBP"),
    ("4000", "JPY"),
    ("5000", "KWD"),
];

fn stamp_modified_at(record: &mut Value, key_ms: i64) -> Value {
    let version = Value::String(timestamps::rfc3339_z(key_ms, false));
    record["modifiedAt"] = version.clone();
    version
}

#[derive(Debug)]
pub(crate) struct CostCenters;

impl Generator for CostCenters {
    fn mode(&self) -> Mode {
        SECONDS
    }

    fn id(&self, index: usize) -> String {
        cost_center_id(index)
    }

    fn make(&self, rng: &mut Rng, index: usize) -> Value {
        // Cost centers 2i and 2i+1 belong to organization i.
        let department = DEPARTMENTS[(index / 2) % DEPARTMENTS.len()];
        let kind = ["Personnel", "Operations"][index % 2];
        let (company_code, currency) = pick(rng, COMPANY_CODES);
        json!({
            "CostCenterID": cost_center_id(index),
            "Name": format!("{department} – {kind}"),
            "CompanyCode": company_code,
            "Currency": currency,
            "ValidFrom": date(rng.u64(0..1500)),
            "modifiedAt": Value::Null,
        })
    }

    fn stamp(&self, record: &mut Value, key_ms: i64) -> Value {
        stamp_modified_at(record, key_ms)
    }

    fn change(&self, rng: &mut Rng, record: &mut Value) {
        if rng.bool() {
            record["ValidFrom"] = json!(date(rng.u64(1500..1700)));
        } else {
            let (company_code, currency) = pick(rng, COMPANY_CODES);
            record["CompanyCode"] = json!(company_code);
            record["Currency"] = json!(currency);
        }
    }
}

#[derive(Debug)]
pub(crate) struct Suppliers;

impl Generator for Suppliers {
    fn mode(&self) -> Mode {
        SECONDS
    }

    fn id(&self, index: usize) -> String {
        supplier_id(index)
    }

    fn make(&self, rng: &mut Rng, index: usize) -> Value {
        let name = format!("{} {}", pick(rng, COMPANY_WORDS), pick(rng, COMPANY_KINDS));
        let (country, vat_prefix) = pick(rng, SUPPLIER_COUNTRIES);
        let vat = vat_prefix.map(|prefix| format!("{prefix}{:09}", rng.u32(..1_000_000_000)));
        json!({
            "SupplierID": supplier_id(index),
            "Name": sloppy(rng, &name),
            "Country": country,
            "VATNumber": vat,
            "Email": supplier_email(rng, index),
            "modifiedAt": Value::Null,
        })
    }

    fn stamp(&self, record: &mut Value, key_ms: i64) -> Value {
        stamp_modified_at(record, key_ms)
    }

    fn change(&self, rng: &mut Rng, record: &mut Value) {
        let index = rng.usize(..1_000_000);
        record["Email"] = json!(supplier_email(rng, index));
    }
}

fn supplier_email(rng: &mut Rng, index: usize) -> String {
    let mailbox = pick(rng, &["billing", "invoices", "AR", "Accounts.Receivable"]);
    format!("{mailbox}@supplier{}.example", index + 1)
}

#[derive(Debug)]
pub(crate) struct Invoices {
    pub(crate) counts: Counts,
}

impl Generator for Invoices {
    fn mode(&self) -> Mode {
        SECONDS
    }

    fn id(&self, index: usize) -> String {
        invoice_id(index)
    }

    fn make(&self, rng: &mut Rng, index: usize) -> Value {
        let (_, currency) = pick(rng, COMPANY_CODES);
        let unit = 10_i64.pow(money::decimals(currency));
        let mut total = 0;
        let lines: Vec<Value> = (0..rng.usize(1..5))
            .map(|_| {
                let (description, unit_name, low, high) = pick(rng, LINE_ITEMS);
                let price = i64::from(rng.u32(low..=high)) * unit + rng.i64(0..unit);
                let quantity = rng.i64(1..20);
                total += price * quantity;
                json!({
                    "Description": description,
                    "Quantity": quantity,
                    "Unit": unit_name,
                    "UnitPrice": money::decimal_string(price, currency),
                })
            })
            .collect();
        let invoiced = rng.u64(1000..1600);
        json!({
            "InvoiceID": invoice_id(index),
            "SupplierID": supplier_id(rng.usize(..self.counts.suppliers.max(1))),
            "CostCenterID": cost_center_id(rng.usize(..self.counts.cost_centers.max(1))),
            "Amount": money::messy(rng, total, currency),
            "Currency": currency,
            "InvoiceDate": date(invoiced),
            "DueDate": date(invoiced + 30),
            "Status": pick(rng, &["open", "open", "paid", "paid", "paid", "cancelled"]),
            "Lines": lines,
            "modifiedAt": Value::Null,
        })
    }

    fn stamp(&self, record: &mut Value, key_ms: i64) -> Value {
        stamp_modified_at(record, key_ms)
    }

    fn change(&self, rng: &mut Rng, record: &mut Value) {
        let next = match record["Status"].as_str() {
            Some("open") => "paid",
            Some("paid") if rng.bool() => "cancelled",
            _ => "open",
        };
        record["Status"] = json!(next);
    }
}
