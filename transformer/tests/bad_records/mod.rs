//! A catalog of bad raw records for the shipped mappings, one kind per entry,
//! each with the JSON pointer and the message the transformer must give it.
//!
//! Every entry starts from a valid payload of a mapped stream (copied from
//! `schemas/examples/`) and breaks exactly one thing, so that the expected
//! path is unambiguous. Payloads are raw bytes, as a source might send them:
//! some are not JSON at all. Not bad, and so not here: an amount of `"-0.00"`
//! is zero, and a stream with no mapping is `Unmapped`, not an error.

use serde_json::{Value, json};

/// One kind of bad raw record and what the transformer must say about it.
#[derive(Debug)]
pub struct BadRecord {
    /// What is wrong with it, e.g. "missing required first name".
    pub name: &'static str,
    /// The `canonflow.source` header.
    pub source: &'static str,
    /// The `canonflow.stream` header.
    pub stream: &'static str,
    /// The raw Kafka key, normally `<source>/<stream>/<id>`.
    pub key: Option<Vec<u8>>,
    /// The raw bytes exactly as a source might send them.
    pub payload: Option<Vec<u8>>,
    /// The expected `MapError.path`: a JSON pointer, "" for the whole record.
    pub path: &'static str,
    /// A substring the `MapError.problem` must contain.
    pub problem: &'static str,
}

/// Every kind of bad raw record, over all mapped streams.
pub fn catalog() -> Vec<BadRecord> {
    [
        whole_records(),
        bad_json(),
        workers(),
        organizations(),
        cost_centers(),
        suppliers(),
        invoices(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A valid raw record of one mapped stream, to break one thing at a time.
struct Valid {
    source: &'static str,
    stream: &'static str,
    id: &'static str,
    payload: Value,
}

/// Stands for a raw JSON text in a serialized payload (see [`Valid::with_raw`]).
const RAW: &str = "@@raw@@";

impl Valid {
    fn key(&self) -> Vec<u8> {
        format!("{}/{}/{}", self.source, self.stream, self.id).into_bytes()
    }

    fn text(&self) -> String {
        serde_json::to_string(&self.payload).unwrap()
    }

    /// The record with `payload` as its bytes and its usual key.
    fn bad(
        &self,
        name: &'static str,
        payload: impl Into<Vec<u8>>,
        path: &'static str,
        problem: &'static str,
    ) -> BadRecord {
        BadRecord {
            name,
            source: self.source,
            stream: self.stream,
            key: Some(self.key()),
            payload: Some(payload.into()),
            path,
            problem,
        }
    }

    /// The valid payload, edited.
    fn edited(&self, edit: impl FnOnce(&mut Value)) -> String {
        let mut payload = self.payload.clone();
        edit(&mut payload);
        serde_json::to_string(&payload).unwrap()
    }

    /// `value` at `pointer`; the problem is expected at `pointer`.
    fn with(
        &self,
        name: &'static str,
        pointer: &'static str,
        value: Value,
        problem: &'static str,
    ) -> BadRecord {
        let payload = self.edited(|p| put(p, pointer, value));
        self.bad(name, payload, pointer, problem)
    }

    /// `raw` JSON text, written as is, at `pointer`: for numbers a `Value`
    /// would not keep as the source wrote them.
    fn with_raw(
        &self,
        name: &'static str,
        pointer: &'static str,
        raw: &str,
        path: &'static str,
        problem: &'static str,
    ) -> BadRecord {
        let payload =
            self.edited(|p| put(p, pointer, json!(RAW)))
                .replacen(&format!("\"{RAW}\""), raw, 1);
        self.bad(name, payload, path, problem)
    }

    /// No member at `pointer`; the problem is expected at `pointer`.
    fn without(
        &self,
        name: &'static str,
        pointer: &'static str,
        problem: &'static str,
    ) -> BadRecord {
        let payload = self.edited(|p| remove(p, pointer));
        self.bad(name, payload, pointer, problem)
    }

    /// The serialized payload with its first `from` replaced by `to`.
    fn text_replaced(&self, from: &str, to: &[u8]) -> Vec<u8> {
        let text = self.text();
        let at = text.find(from).unwrap();
        let mut bytes = text.as_bytes()[..at].to_vec();
        bytes.extend_from_slice(to);
        bytes.extend_from_slice(&text.as_bytes()[at + from.len()..]);
        bytes
    }
}

/// Sets the member or item at `pointer` (its parent must exist).
fn put(payload: &mut Value, pointer: &str, value: Value) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    match payload.pointer_mut(parent).unwrap() {
        Value::Object(members) => {
            members.insert(last.to_owned(), value);
        }
        Value::Array(items) => items[last.parse::<usize>().unwrap()] = value,
        other => panic!("{pointer}: {other} is not a container"),
    }
}

fn remove(payload: &mut Value, pointer: &str) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let removed = payload
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|members| members.remove(last));
    assert!(removed.is_some(), "{pointer}: nothing to remove");
}

/// schemas/examples/worker-messy-hr-export.raw.json
fn worker() -> Valid {
    Valid {
        source: "hr",
        stream: "workers",
        id: "W000042",
        payload: json!({
            "id": "W000042",
            "employeeNumber": 1042,
            "firstName": "  Anna  ",
            "lastName": "von   Schmidt ",
            "email": "Anna.Schmidt1042@Example.com",
            "hireDate": "2021-03-01",
            "terminationDate": null,
            "orgId": "O0003",
            "costCenter": "cc0007",
            "salary": {"amount": "65000.00", "currency": "eur"},
            "workLocation": {"country": "de", "city": "Berlin"},
            "fte": 0.8,
            "updatedAt": "2024-05-01T10:00:00+02:00"
        }),
    }
}

/// schemas/examples/organization-with-cost-centers.raw.json
fn organization() -> Valid {
    Valid {
        source: "hr",
        stream: "organizations",
        id: "O0012",
        payload: json!({
            "id": "O0012",
            "name": "Sales EMEA 1",
            "parentId": "O0002",
            "costCenters": ["cc0024", "CC0025"],
            "updatedAt": "2024-04-30T08:00:00.123Z"
        }),
    }
}

/// schemas/examples/cost-center-odata.raw.json
fn cost_center() -> Valid {
    Valid {
        source: "finance",
        stream: "cost_centers",
        id: "CC0007",
        payload: json!({
            "@odata.etag": "W/\"7\"",
            "CostCenterID": "CC0007",
            "Name": "Sales – Field",
            "CompanyCode": "1000",
            "Currency": "EUR",
            "ValidFrom": "2020-01-01",
            "modifiedAt": "2024-04-01T00:00:00Z"
        }),
    }
}

/// schemas/examples/supplier-odata.raw.json
fn supplier() -> Valid {
    Valid {
        source: "finance",
        stream: "suppliers",
        id: "S0009",
        payload: json!({
            "SupplierID": "S0009",
            "Name": " Nordic  Timber AB",
            "Country": "SE",
            "VATNumber": "se 556677889901",
            "Email": "Accounts.Receivable@supplier9.example",
            "modifiedAt": "2024-03-15T12:00:00Z"
        }),
    }
}

/// schemas/examples/invoice-kuwaiti-dinar-lines-in-grams.raw.json
fn invoice() -> Valid {
    Valid {
        source: "finance",
        stream: "invoices",
        id: "INV000031",
        payload: json!({
            "InvoiceID": "INV000031",
            "SupplierID": "S0009",
            "CostCenterID": "cc0007",
            "Amount": "12.345",
            "Currency": "KWD",
            "InvoiceDate": "2024-04-30",
            "DueDate": "2024-05-30",
            "Status": "Paid",
            "Lines": [
                {"Description": "Saffron", "Quantity": 5, "Unit": "g", "UnitPrice": "2.000"},
                {"Description": "Consulting", "Quantity": "1.5", "Unit": "h", "UnitPrice": "1.563"}
            ],
            "modifiedAt": "2024-05-02T09:15:00Z"
        }),
    }
}

/// Problems with the record as a whole: key, tombstone, not an object.
fn whole_records() -> Vec<BadRecord> {
    let w = worker();
    let o = organization();
    let text = w.text();
    vec![
        BadRecord {
            payload: None,
            ..w.bad("tombstone (no payload)", "", "", "tombstone")
        },
        BadRecord {
            key: None,
            ..w.bad("no key", text.clone(), "", "the raw record has no key")
        },
        BadRecord {
            key: Some(o.key()),
            ..w.bad(
                "key for another stream",
                text.clone(),
                "",
                "is not <source>/<stream>/<id> for hr/workers",
            )
        },
        BadRecord {
            key: Some(b"hr/workers/".to_vec()),
            ..w.bad(
                "key with an empty id",
                text.clone(),
                "",
                "is not <source>/<stream>/<id>",
            )
        },
        BadRecord {
            key: Some(b"hr/workers/W\xff\xfe42".to_vec()),
            ..w.bad("non-UTF-8 key", text, "", "key is not UTF-8")
        },
        w.bad("empty payload (zero bytes)", "", "", "not valid JSON"),
        w.bad("whitespace-only payload", " \r\n\t", "", "not valid JSON"),
        o.bad(
            "JSON array instead of an object",
            format!("[{}]", o.text()),
            "",
            "not a JSON object",
        ),
        o.bad(
            "JSON string instead of an object",
            "\"O0012\"",
            "",
            "not a JSON object",
        ),
        o.bad(
            "JSON null instead of an object",
            "null",
            "",
            "not a JSON object",
        ),
    ]
}

/// Payloads that are not acceptable JSON: the whole record is refused.
fn bad_json() -> Vec<BadRecord> {
    let w = worker();
    let s = supplier();
    let text = w.text();
    let nested = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    vec![
        w.bad(
            "invalid UTF-8 bytes in a string",
            w.text_replaced("Berlin", b"Berl\xffn"),
            "",
            "not valid JSON",
        ),
        w.bad(
            "truncated JSON",
            &text.as_bytes()[..text.len() / 2],
            "",
            "not valid JSON",
        ),
        w.bad(
            "trailing garbage after the JSON",
            format!("{text} {{\"id\":\"W000043\"}}"),
            "",
            "trailing characters",
        ),
        w.bad(
            "UTF-8 byte order mark before the JSON",
            [b"\xef\xbb\xbf".as_slice(), text.as_bytes()].concat(),
            "",
            "not valid JSON",
        ),
        w.with_raw(
            "10 000 nested arrays inside a field",
            "/firstName",
            &nested,
            "",
            "recursion limit exceeded",
        ),
        w.bad(
            "duplicate keys in one object",
            w.text_replaced("\"firstName\":", b"\"firstName\":\"Eve\",\"firstName\":"),
            "",
            "duplicate key \"firstName\"",
        ),
        w.bad(
            "duplicate keys in a nested object",
            w.text_replaced(
                "\"currency\":\"eur\"",
                b"\"currency\":\"eur\",\"currency\":\"usd\"",
            ),
            "",
            "duplicate key \"currency\"",
        ),
        w.with_raw(
            "NaN literal for a number",
            "/fte",
            "NaN",
            "",
            "not valid JSON",
        ),
        s.with_raw(
            "lone surrogate escape in a string",
            "/Name",
            r#""Nordic \ud800 Timber""#,
            "",
            "not valid JSON",
        ),
        s.with_raw(
            "single-quoted string",
            "/Name",
            "'Nordic Timber AB'",
            "",
            "not valid JSON",
        ),
    ]
}

fn workers() -> Vec<BadRecord> {
    let w = worker();
    vec![
        w.without(
            "missing required first name",
            "/firstName",
            "first_name: required, missing",
        ),
        w.with(
            "null required last name",
            "/lastName",
            Value::Null,
            "last_name: required, missing",
        ),
        w.with(
            "number where a name is needed",
            "/firstName",
            json!(42),
            "first_name: expected a name",
        ),
        w.with(
            "object where a name is needed",
            "/lastName",
            json!({"text": "Schmidt"}),
            "last_name: expected a name",
        ),
        w.with(
            "blank first name",
            "/firstName",
            json!(" \t\n "),
            "first_name: expected a name",
        ),
        w.with(
            "control characters in a name",
            "/firstName",
            json!("Anna\u{7}\u{1b}[31m"),
            "first_name: expected a name",
        ),
        w.with(
            "20 000-char first name",
            "/firstName",
            json!("A".repeat(20_000)),
            "first_name: expected a name",
        ),
        w.with_raw(
            "employee number beyond i64",
            "/employeeNumber",
            "9223372036854775808",
            "/employeeNumber",
            "employee_number: expected an integer within the 64-bit range",
        ),
        w.with(
            "fractional employee number",
            "/employeeNumber",
            json!("1042.5"),
            "employee_number: expected an integer",
        ),
        w.with(
            "invalid e-mail",
            "/email",
            json!("anna.schmidt.example.com"),
            "email: expected an e-mail address",
        ),
        w.with(
            "impossible hire date 2024-02-30",
            "/hireDate",
            json!("2024-02-30"),
            "hire_date: expected a date like 2024-05-01",
        ),
        w.with(
            "implausible termination date 0001-01-01",
            "/terminationDate",
            json!("0001-01-01"),
            "termination_date: expected a plausible date (years 1800 to 2200)",
        ),
        w.with(
            "hire date in day.month.year",
            "/hireDate",
            json!("01.03.2021"),
            "hire_date: expected a date like",
        ),
        w.with(
            "unknown salary currency",
            "/salary/currency",
            json!("EUO"),
            "salary: expected an active ISO 4217 currency code",
        ),
        w.with(
            "superseded salary currency (HRK)",
            "/salary/currency",
            json!("HRK"),
            "salary: expected an active ISO 4217 currency code",
        ),
        w.without(
            "salary amount without a currency",
            "/salary/currency",
            "salary: an amount without a currency",
        ),
        w.with(
            "salary with too many decimals (12.345 EUR)",
            "/salary/amount",
            json!("12.345"),
            "EUR has 2 decimal places",
        ),
        w.with_raw(
            "salary as a float that cannot be exact",
            "/salary/amount",
            "0.1234567890123456789",
            "/salary/amount",
            "at most 15 significant digits",
        ),
        w.with(
            "salary with thousands separators",
            "/salary/amount",
            json!("65,000.00"),
            "salary: expected a decimal number",
        ),
        w.with(
            "unknown work country",
            "/workLocation/country",
            json!("XX"),
            "work_country: expected an ISO 3166-1",
        ),
        w.with(
            "FTE out of range",
            "/fte",
            json!(2.5),
            "fte: expected a full-time equivalent between 0 and 2",
        ),
        w.with(
            "FTE not a number",
            "/fte",
            json!("full"),
            "fte: expected a finite number",
        ),
        w.with(
            "cost centre code longer than 64 characters",
            "/costCenter",
            json!("CC".repeat(40)),
            "cost_center_code: expected an identifier code",
        ),
        w.with(
            "invalid timestamp in updatedAt",
            "/updatedAt",
            json!("2024-05-01 10:00:00"),
            "modified_at: expected an RFC 3339 timestamp",
        ),
        w.without(
            "missing updatedAt",
            "/updatedAt",
            "modified_at: required, missing",
        ),
    ]
}

fn organizations() -> Vec<BadRecord> {
    let o = organization();
    vec![
        o.without(
            "organization without a name",
            "/name",
            "name: required, missing",
        ),
        o.with(
            "string where a list is needed",
            "/costCenters",
            json!("cc0024, CC0025"),
            "cost_centers: expected a list",
        ),
        o.with(
            "empty code in a list",
            "/costCenters/1",
            json!(""),
            "cost_centers: expected an identifier code",
        ),
        o.with(
            "object in a list of codes",
            "/costCenters/0",
            json!({"code": "CC0024"}),
            "cost_centers: expected an identifier code",
        ),
        o.with(
            "boolean parent id",
            "/parentId",
            json!(true),
            "parent_id: expected an identifier code",
        ),
        o.with(
            "updatedAt in epoch seconds",
            "/updatedAt",
            json!(1_714_464_000),
            "modified_at: expected an RFC 3339 timestamp",
        ),
    ]
}

fn cost_centers() -> Vec<BadRecord> {
    let c = cost_center();
    vec![
        c.without(
            "cost centre without a code",
            "/CostCenterID",
            "code: required, missing",
        ),
        c.with(
            "fractional number as a code",
            "/CostCenterID",
            json!(7.5),
            "code: expected an identifier code",
        ),
        c.with(
            "list where a code is needed",
            "/CompanyCode",
            json!(["1000"]),
            "company_code: expected an identifier code",
        ),
        c.with(
            "unknown currency code",
            "/Currency",
            json!("EURO"),
            "currency: expected an active ISO 4217 currency code",
        ),
        c.with(
            "impossible valid-from date",
            "/ValidFrom",
            json!("2023-02-29"),
            "valid_from: expected a date like",
        ),
        c.with(
            "invalid timestamp in modifiedAt",
            "/modifiedAt",
            json!("yesterday"),
            "modified_at: expected an RFC 3339 timestamp",
        ),
    ]
}

fn suppliers() -> Vec<BadRecord> {
    let s = supplier();
    vec![
        s.without(
            "supplier without a name",
            "/Name",
            "name: required, missing",
        ),
        s.with(
            "unknown country code",
            "/Country",
            json!("Sweden"),
            "country: expected an ISO 3166-1",
        ),
        s.with(
            "e-mail without a domain dot",
            "/Email",
            json!("accounts@localhost"),
            "email: expected an e-mail address",
        ),
        s.with(
            "control character in a VAT number",
            "/VATNumber",
            json!("SE556677\u{0}889901"),
            "vat_number: expected an identifier code",
        ),
        s.without(
            "missing modifiedAt",
            "/modifiedAt",
            "modified_at: required, missing",
        ),
    ]
}

fn invoices() -> Vec<BadRecord> {
    let i = invoice();
    vec![
        i.without(
            "invoice without a supplier",
            "/SupplierID",
            "supplier_id: required, missing",
        ),
        i.without(
            "invoice without an amount",
            "/Amount",
            "amount: required, missing",
        ),
        i.without(
            "invoice amount without a currency",
            "/Currency",
            "amount: an amount without a currency",
        ),
        i.with(
            "unknown invoice currency",
            "/Currency",
            json!("KWX"),
            "amount: expected an active ISO 4217 currency code",
        ),
        i.with(
            "amount with too many decimals for KWD",
            "/Amount",
            json!("12.3456"),
            "KWD has 3 decimal places",
        ),
        i.with_raw(
            "amount of 1e30",
            "/Amount",
            "1e30",
            "/Amount",
            "at most 15 significant digits and no exponent",
        ),
        i.with(
            "amount beyond i64 minor units",
            "/Amount",
            json!("9223372036854775.808"),
            "fits a 64-bit count of KWD minor units",
        ),
        i.with(
            "impossible invoice date 2024-02-30",
            "/InvoiceDate",
            json!("2024-02-30"),
            "invoice_date: expected a date like",
        ),
        i.with(
            "implausible due date 9999-12-31",
            "/DueDate",
            json!("9999-12-31"),
            "due_date: expected a plausible date",
        ),
        i.with(
            "unknown invoice status",
            "/Status",
            json!("Overdue"),
            "status: expected one of open, paid, cancelled",
        ),
        i.with(
            "object where a list of lines is needed",
            "/Lines",
            json!({"Description": "Saffron", "Quantity": 5, "Unit": "g", "UnitPrice": "2.000"}),
            "lines: expected a list",
        ),
        i.without(
            "line without a description",
            "/Lines/0/Description",
            "description: required, missing",
        ),
        i.with(
            "escape sequence in a line description",
            "/Lines/1/Description",
            json!("Consulting\u{1b}[2J"),
            "description: expected text",
        ),
        i.with(
            "unknown quantity unit",
            "/Lines/1/Unit",
            json!("furlong"),
            "quantity: expected a known unit",
        ),
        i.without(
            "quantity without a unit",
            "/Lines/1/Unit",
            "quantity: a quantity without a unit",
        ),
        i.without(
            "line without a quantity",
            "/Lines/0/Quantity",
            "quantity: required, missing",
        ),
        i.bad(
            "quantity finer than a micro-unit",
            i.edited(|p| {
                put(p, "/Lines/0/Quantity", json!("0.5"));
                put(p, "/Lines/0/Unit", json!("mg"));
            }),
            "/Lines/0/Quantity",
            "quantity: expected a quantity no finer than a millionth of kg",
        ),
        i.with(
            "unit price with too many decimals for KWD",
            "/Lines/1/UnitPrice",
            json!("1.5631"),
            "unit_price: expected an amount with at most 3 decimal places",
        ),
        // Observed, not ideal: the line itself ("/Lines/0") is what is wrong.
        i.bad(
            "string where a line is needed",
            i.edited(|p| put(p, "/Lines/0", json!("Saffron, 5 g"))),
            "/Lines/0",
            "lines: expected an object",
        ),
    ]
}
