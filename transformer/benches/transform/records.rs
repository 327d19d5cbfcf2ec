//! The raw records the benchmark loads: payloads shaped like
//! `schemas/examples/*.raw.json` for the five mapped streams, plus one
//! stream without a mapping (hr/positions); new keys and updates to keys
//! seen before, the same for the same seed. Unmapped fields sources also
//! send (etags, addresses, audit stamps) bring each payload to 300–600 bytes.

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, TimeDelta, Utc};
use fastrand::Rng;
use serde_json::{Value, json};

use crate::vocabulary::{
    DEPARTMENTS, FIRST_NAMES, ITEMS, LAST_NAMES, PLACES, SUPPLIER_FORMS, SUPPLIER_WORDS, TITLES,
    cased, pick, sloppy,
};

/// The streams generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Workers,
    Organizations,
    CostCenters,
    Suppliers,
    Invoices,
    Positions,
}

/// Each stream's share of the records, in percent.
pub const MIX: [(Stream, u32); 6] = [
    (Stream::Workers, 30),
    (Stream::Organizations, 5),
    (Stream::CostCenters, 5),
    (Stream::Suppliers, 10),
    (Stream::Invoices, 40),
    (Stream::Positions, 10),
];

/// Share of records that update a key generated before, in percent.
pub const UPDATE_PERCENT: u8 = 20;

/// Share of workers whose cost center arrives only later (then enrichment
/// has to re-emit them), in percent.
const FORWARD_REFERENCE_PERCENT: u8 = 5;

impl Stream {
    pub fn source(self) -> &'static str {
        match self {
            Self::Workers | Self::Organizations | Self::Positions => "hr",
            _ => "finance",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Workers => "workers",
            Self::Organizations => "organizations",
            Self::CostCenters => "cost_centers",
            Self::Suppliers => "suppliers",
            Self::Invoices => "invoices",
            Self::Positions => "positions",
        }
    }

    /// Position in [`MIX`].
    pub fn slot(self) -> usize {
        MIX.iter().position(|(s, _)| *s == self).unwrap_or(0)
    }

    fn id(self, index: usize) -> String {
        match self {
            Self::Workers => format!("W{index:07}"),
            Self::Organizations => format!("O{index:05}"),
            Self::CostCenters => format!("CC{index:05}"),
            Self::Suppliers => format!("S{index:05}"),
            Self::Invoices => format!("INV{index:08}"),
            Self::Positions => format!("P{index:06}"),
        }
    }
}

/// One raw record as the fetcher publishes it.
#[derive(Debug)]
pub struct Raw {
    pub stream: Stream,
    pub key: String,
    pub payload: Vec<u8>,
    pub update: bool,
}

/// Generates raw records one after another.
#[derive(Debug)]
pub struct Generator {
    rng: Rng,
    /// Keys generated so far, per stream (in `MIX` order).
    created: [usize; 6],
    sequence: i64,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: Rng::with_seed(seed),
            created: [0; 6],
            sequence: 0,
        }
    }

    pub fn next_record(&mut self) -> Raw {
        let stream = self.pick_stream();
        let known = self.created[stream.slot()];
        let update = known > 0 && self.rng.u8(..100) < UPDATE_PERCENT;
        let index = match update {
            true => self.rng.usize(..known),
            false => {
                self.created[stream.slot()] += 1;
                known
            }
        };
        // One second per record: an update is always newer than what it updates.
        self.sequence += 1;
        let modified = base_time() + TimeDelta::seconds(self.sequence);
        let id = stream.id(index);
        let payload = match stream {
            Stream::Workers => self.worker(&id, index, modified),
            Stream::Organizations => self.organization(&id, index, modified),
            Stream::CostCenters => self.cost_center(&id, modified),
            Stream::Suppliers => self.supplier(&id, index, modified),
            Stream::Invoices => self.invoice(&id, modified),
            Stream::Positions => self.position(&id, modified),
        };
        Raw {
            stream,
            key: format!("{}/{}/{id}", stream.source(), stream.name()),
            payload: serde_json::to_vec(&payload).unwrap(),
            update,
        }
    }

    fn pick_stream(&mut self) -> Stream {
        let mut roll = self.rng.u32(..100);
        for (stream, percent) in MIX {
            if roll < percent {
                return stream;
            }
            roll -= percent;
        }
        Stream::Invoices
    }

    /// An existing key of `stream` (index 0 before there is any).
    fn existing(&mut self, stream: Stream) -> String {
        let known = self.created[stream.slot()];
        stream.id(self.rng.usize(..known.max(1)))
    }

    fn cost_center_reference(&mut self) -> String {
        let known = self.created[Stream::CostCenters.slot()];
        let code = match self.rng.u8(..100) < FORWARD_REFERENCE_PERCENT {
            true => Stream::CostCenters.id(known + self.rng.usize(..20)),
            false => self.existing(Stream::CostCenters),
        };
        match self.rng.bool() {
            true => code.to_lowercase(),
            false => code,
        }
    }

    fn worker(&mut self, id: &str, index: usize, modified: DateTime<Utc>) -> Value {
        let rng = &mut self.rng;
        let (first, first_ascii) = pick(rng, FIRST_NAMES);
        let (last, last_ascii) = pick(rng, LAST_NAMES);
        let place = pick(rng, PLACES);
        let number = 1001 + index;
        let hired = rng.i64(0..8000);
        let terminated = (rng.u8(..10) == 0).then(|| date(hired + rng.i64(30..2000)));
        let employee_number = match rng.bool() {
            true => json!(number),
            false => json!(number.to_string()),
        };
        let email = format!("{first_ascii}.{last_ascii}{number}@example.com");
        let email = match rng.u8(..3) {
            0 => email.to_uppercase(),
            _ => email,
        };
        let fte = pick(rng, &[1.0, 1.0, 1.0, 0.8, 0.5]);
        json!({
            "id": id,
            "employeeNumber": employee_number,
            "firstName": sloppy(rng, first),
            "lastName": sloppy(rng, last),
            "email": email,
            "hireDate": date(hired),
            "terminationDate": terminated,
            "orgId": self.existing(Stream::Organizations),
            "costCenter": self.cost_center_reference(),
            "salary": salary(&mut self.rng, place.currency),
            "workLocation": {"country": cased(&mut self.rng, place.country), "city": place.city},
            "fte": fte,
            "jobTitle": pick(&mut self.rng, TITLES),
            "phone": format!("+{} {}", place.dial, self.rng.u64(100_000_000..999_999_999)),
            "createdAt": rfc3339(base_time() - TimeDelta::days(hired), 0),
            "updatedAt": rfc3339(modified, place.offset_secs),
        })
    }

    fn organization(&mut self, id: &str, index: usize, modified: DateTime<Utc>) -> Value {
        let parent = (index >= 10).then(|| Stream::Organizations.id(self.rng.usize(..index)));
        let cost_centers: Vec<String> = (0..self.rng.usize(1..4))
            .map(|_| self.cost_center_reference())
            .collect();
        let place = pick(&mut self.rng, PLACES);
        let name = format!(
            "{} {} {}",
            pick(&mut self.rng, DEPARTMENTS),
            place.city,
            index % 97
        );
        let head = Stream::Workers.id(index);
        json!({
            "id": id,
            "name": name,
            "parentId": parent,
            "costCenters": cost_centers,
            "type": pick(&mut self.rng, &["division", "department", "team"]),
            "managerId": self.existing(Stream::Workers),
            "location": {"country": place.country, "city": place.city},
            "description": format!("Organizational unit {id}, reporting line via {head}"),
            "createdAt": rfc3339(base_time() - TimeDelta::days(400), 0),
            "updatedAt": rfc3339(modified, 0),
        })
    }

    fn cost_center(&mut self, id: &str, modified: DateTime<Utc>) -> Value {
        let rng = &mut self.rng;
        let place = pick(rng, PLACES);
        let department = pick(rng, DEPARTMENTS);
        json!({
            "@odata.etag": format!("W/\"{}\"", rng.u32(1..50)),
            "CostCenterID": id,
            "Name": format!("{department} – {}", place.city),
            "Description": format!("{department} cost center for {} operations", place.city),
            "CompanyCode": (1000 + rng.u32(..5) * 1000).to_string(),
            "ProfitCenter": format!("PC{:04}", rng.u32(..500)),
            "Currency": place.currency,
            "ResponsiblePerson": pick(rng, FIRST_NAMES).0,
            "ValidFrom": date(rng.i64(0..3000)),
            "ValidTo": "9999-12-31",
            "CreatedBy": "MIGRATION",
            "modifiedAt": rfc3339(modified, 0),
        })
    }

    fn supplier(&mut self, id: &str, index: usize, modified: DateTime<Utc>) -> Value {
        let rng = &mut self.rng;
        let place = pick(rng, PLACES);
        let name = format!(
            "{} {}",
            pick(rng, SUPPLIER_WORDS),
            pick(rng, SUPPLIER_FORMS)
        );
        let vat = format!(
            "{} {}",
            place.country.to_lowercase(),
            rng.u64(100_000_000..1_000_000_000)
        );
        let iban = format!(
            "{}{:02}{:018}",
            place.country,
            rng.u32(10..99),
            rng.u64(..10u64.pow(18))
        );
        json!({
            "@odata.etag": format!("W/\"{}\"", rng.u32(1..50)),
            "SupplierID": id,
            "Name": sloppy(rng, &name),
            "Country": cased(rng, place.country),
            "VATNumber": vat,
            "Email": format!("Accounts.Receivable@supplier{index}.example"),
            "Street": format!("{} Industrial Park {}", pick(rng, SUPPLIER_WORDS), rng.u32(1..200)),
            "City": place.city,
            "PostalCode": format!("{:05}", rng.u32(..99_999)),
            "PaymentTerms": pick(rng, &["NET30", "NET45", "NET60", "2/10 NET30"]),
            "IBAN": iban,
            "modifiedAt": rfc3339(modified, 0),
        })
    }

    fn invoice(&mut self, id: &str, modified: DateTime<Utc>) -> Value {
        let supplier = self.existing(Stream::Suppliers);
        let cost_center = self.cost_center_reference();
        let rng = &mut self.rng;
        let currency = pick(
            rng,
            &["EUR", "EUR", "EUR", "USD", "SEK", "GBP", "JPY", "KWD"],
        );
        let exponent = exponent(currency);
        let mut total = 0;
        let lines: Vec<Value> = (0..rng.usize(1..5))
            .map(|_| {
                let (description, unit) = pick(rng, ITEMS);
                let quantity = rng.u64(1..40);
                let price = rng.u64(100..50_000);
                total += quantity * price;
                let quantity = match rng.bool() {
                    true => json!(quantity),
                    false => json!(quantity.to_string()),
                };
                json!({
                    "Description": description,
                    "Quantity": quantity,
                    "Unit": unit,
                    "UnitPrice": amount(price, exponent),
                })
            })
            .collect();
        let issued = rng.i64(3000..3400);
        json!({
            "InvoiceID": id,
            "SupplierID": supplier,
            "CostCenterID": cost_center,
            "Amount": amount(total, exponent),
            "Currency": currency,
            "InvoiceDate": date(issued),
            "DueDate": date(issued + 30),
            "Status": pick(rng, &["Open", "Paid", "paid", "OPEN", "Cancelled"]),
            "Lines": lines,
            "modifiedAt": rfc3339(modified, 0),
        })
    }

    fn position(&mut self, id: &str, modified: DateTime<Utc>) -> Value {
        let organization = self.existing(Stream::Organizations);
        let holder = self.existing(Stream::Workers);
        let rng = &mut self.rng;
        let title = pick(rng, TITLES);
        json!({
            "id": id,
            "title": title,
            "orgId": organization,
            "holderId": holder,
            "grade": format!("G{}", rng.u8(1..12)),
            "fte": 1.0,
            "status": pick(rng, &["filled", "vacant", "frozen"]),
            "description": format!("{title} in {organization}; budgeted, reports to the unit head"),
            "updatedAt": rfc3339(modified, 0),
        })
    }
}

fn base_time() -> DateTime<Utc> {
    // 2024-01-01T00:00:00Z
    DateTime::from_timestamp(1_704_067_200, 0).unwrap()
}

fn date(days_after_2000: i64) -> String {
    let start = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    (start + TimeDelta::days(days_after_2000)).to_string()
}

/// `at` as written in a place `offset_secs` east of UTC ("Z" for UTC).
fn rfc3339(at: DateTime<Utc>, offset_secs: i32) -> String {
    let offset = FixedOffset::east_opt(offset_secs).unwrap();
    at.with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `minor` units as decimal text with `exponent` decimal places.
fn amount(minor: u64, exponent: u32) -> String {
    let scale = 10u64.pow(exponent);
    match exponent {
        0 => minor.to_string(),
        _ => format!(
            "{}.{:0width$}",
            minor / scale,
            minor % scale,
            width = exponent as usize
        ),
    }
}

fn exponent(currency: &str) -> u32 {
    match currency {
        "JPY" => 0,
        "KWD" => 3,
        _ => 2,
    }
}

fn salary(rng: &mut Rng, currency: &str) -> Value {
    let exponent = exponent(currency);
    let yearly = rng.u64(30_000..150_000);
    let amount = match currency {
        "JPY" => json!(yearly * 100),
        _ if rng.bool() => json!(yearly),
        _ => json!(amount(yearly * 10u64.pow(exponent), exponent)),
    };
    let currency = match rng.bool() {
        true => currency.to_lowercase(),
        false => currency.to_owned(),
    };
    json!({"amount": amount, "currency": currency})
}
