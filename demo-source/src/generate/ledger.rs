//! The finance system's other APIs: G/L accounts (OData v2), exchange rates
//! (full refresh) and payments (epoch-second cursor).

use fastrand::Rng;
use serde_json::{Value, json};

use super::vocabulary::{GL_NAMES, pick};
use super::{Counts, invoice_id, money};
use crate::store::{Generator, Mode};
use crate::timestamps::{self, date};

#[derive(Debug)]
pub(crate) struct GlAccounts {
    pub(crate) base_url: String,
}

impl Generator for GlAccounts {
    fn mode(&self) -> Mode {
        Mode::Incremental { resolution_ms: 1 }
    }

    fn id(&self, index: usize) -> String {
        (400_000 + 10 * index).to_string()
    }

    fn make(&self, rng: &mut Rng, index: usize) -> Value {
        let account = self.id(index);
        json!({
            "__metadata": {
                "uri": format!("{}/finance/odata/v2/GLAccounts('{account}')", self.base_url),
                "type": "FIN.GLAccount",
            },
            "GLAccount": account,
            "Name": format!("{} {}", pick(rng, GL_NAMES), index / GL_NAMES.len() + 1),
            "ChartOfAccounts": "INT",
            "LastChangeDateTime": Value::Null,
        })
    }

    fn stamp(&self, record: &mut Value, key_ms: i64) -> Value {
        let version = Value::String(timestamps::odata_v2_date(key_ms));
        record["LastChangeDateTime"] = version.clone();
        version
    }

    fn change(&self, rng: &mut Rng, record: &mut Value) {
        record["Name"] = json!(format!("{} {}", pick(rng, GL_NAMES), rng.u16(1..1000)));
    }
}

/// Currency pairs quoted daily: target currency and a typical rate per 10 000.
pub(crate) const RATE_PAIRS: &[(&str, u32)] = &[
    ("USD", 10_800),
    ("GBP", 8_550),
    ("JPY", 1_650_000),
    ("KWD", 3_310),
    ("CHF", 9_750),
];

#[derive(Debug)]
pub(crate) struct ExchangeRates;

impl Generator for ExchangeRates {
    fn mode(&self) -> Mode {
        Mode::FullRefresh
    }

    fn id(&self, index: usize) -> String {
        let (to, _) = RATE_PAIRS[index % RATE_PAIRS.len()];
        format!("EUR-{to}-{}", rate_date(index))
    }

    fn make(&self, rng: &mut Rng, index: usize) -> Value {
        let (to, typical) = RATE_PAIRS[index % RATE_PAIRS.len()];
        let wobble = typical / 50;
        let per_10k = rng.u32(typical - wobble..typical + wobble);
        json!({
            "id": self.id(index),
            "from": "EUR",
            "to": to,
            "rate": format!("{}.{:04}", per_10k / 10_000, per_10k % 10_000),
            "date": rate_date(index),
        })
    }
}

/// Rates go back one day per round of pairs from 2024-05-31 (day 1612).
fn rate_date(index: usize) -> String {
    let back = (index / RATE_PAIRS.len()) as u64;
    date(1612_u64.saturating_sub(back))
}

#[derive(Debug)]
pub(crate) struct Payments {
    pub(crate) counts: Counts,
}

impl Generator for Payments {
    fn mode(&self) -> Mode {
        Mode::Incremental {
            resolution_ms: 1000,
        }
    }

    fn id(&self, index: usize) -> String {
        format!("PAY-{:06}", index + 1)
    }

    fn make(&self, rng: &mut Rng, index: usize) -> Value {
        let currency = pick(rng, &["EUR", "EUR", "USD", "GBP", "JPY", "KWD"]);
        let minor = rng.i64(1_000..5_000_000) * 10_i64.pow(money::decimals(currency)) / 100;
        let invoice = (2 * index) % self.counts.invoices.max(1);
        json!({
            "id": self.id(index),
            "invoiceId": invoice_id(invoice),
            "amount": money::number(minor, currency),
            "currency": currency,
            "paidOn": date(rng.u64(1000..1650)),
            "updated": Value::Null,
        })
    }

    fn stamp(&self, record: &mut Value, key_ms: i64) -> Value {
        let version = json!(key_ms.div_euclid(1000));
        record["updated"] = version.clone();
        version
    }

    fn change(&self, rng: &mut Rng, record: &mut Value) {
        record["paidOn"] = json!(date(rng.u64(1600..1700)));
    }
}
