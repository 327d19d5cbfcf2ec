//! The HR system's records: workers, organizations and positions, with the
//! mess real HR exports have (stray spaces, mixed-case e-mails, lower-case
//! codes, amounts as strings or numbers, timestamps in many UTC offsets).

use chrono::{FixedOffset, Offset as _, Utc};
use fastrand::Rng;
use serde_json::{Value, json};

use super::vocabulary::{DEPARTMENTS, FIRST_NAMES, LAST_NAMES, PLACES, REGIONS, TITLES, pick};
use super::{Counts, cost_center_id, index_of, money, org_id, sloppy, worker_id};
use crate::store::{Generator, Mode};
use crate::timestamps::{self, date, offset_of};

const SECONDS: Mode = Mode::Incremental {
    resolution_ms: 1000,
};

#[derive(Debug)]
pub(crate) struct Workers {
    pub(crate) counts: Counts,
}

impl Generator for Workers {
    fn mode(&self) -> Mode {
        SECONDS
    }

    fn id(&self, index: usize) -> String {
        worker_id(index)
    }

    fn make(&self, rng: &mut Rng, index: usize) -> Value {
        let (first, first_ascii) = pick(rng, FIRST_NAMES);
        let (last, last_ascii) = pick(rng, LAST_NAMES);
        let place = pick(rng, PLACES);
        let org = rng.usize(..self.counts.organizations.max(1));
        let cost_center =
            cost_center_id((2 * org + rng.usize(..2)) % self.counts.cost_centers.max(1));
        let employee_number = 1001 + index;
        let hired = rng.u64(0..1600);
        let terminated = (rng.u8(..10) == 0).then(|| date(hired + rng.u64(30..900)));
        let offset = FixedOffset::east_opt(place.offset_secs).unwrap_or(Utc.fix());
        json!({
            "id": worker_id(index),
            "employeeNumber": employee_number,
            "firstName": sloppy(rng, first),
            "lastName": sloppy(rng, last),
            "email": email(rng, first_ascii, last_ascii, employee_number),
            "hireDate": date(hired),
            "terminationDate": terminated,
            "orgId": org_id(org),
            "costCenter": cost_center.to_lowercase(),
            "salary": salary(rng, place.currency),
            "workLocation": {"country": place.country, "city": place.city},
            "fte": pick(rng, &[1.0, 1.0, 1.0, 0.8, 0.5]),
            "updatedAt": timestamps::rfc3339_in(0, offset),
        })
    }

    fn stamp(&self, record: &mut Value, key_ms: i64) -> Value {
        let offset = offset_of(record["updatedAt"].as_str().unwrap_or_default());
        let version = Value::String(timestamps::rfc3339_in(key_ms, offset));
        record["updatedAt"] = version.clone();
        version
    }

    fn change(&self, rng: &mut Rng, record: &mut Value) {
        match rng.u8(..4) {
            0 => {
                let currency = record["salary"]["currency"]
                    .as_str()
                    .unwrap_or("EUR")
                    .to_owned();
                record["salary"] = salary(rng, &currency);
            }
            1 => record["fte"] = json!(pick(rng, &[1.0, 0.9, 0.8, 0.6, 0.5])),
            2 => {
                let (last, _) = pick(rng, LAST_NAMES);
                record["lastName"] = json!(sloppy(rng, last));
            }
            _ => {
                record["terminationDate"] = match record["terminationDate"] {
                    Value::Null => json!(date(rng.u64(1600..1700))),
                    _ => Value::Null,
                }
            }
        }
    }
}

fn salary(rng: &mut Rng, currency: &str) -> Value {
    let minor = money::salary_minor(rng, currency);
    json!({"amount": money::messy(rng, minor, currency), "currency": currency})
}

fn email(rng: &mut Rng, first: &str, last: &str, number: usize) -> String {
    let address = format!("{first}.{last}{number}@example.com");
    match rng.u8(..4) {
        0 => address.to_uppercase(),
        1 => capitalise_parts(&address),
        _ => address,
    }
}

/// `anna.schmidt@example.com` → `Anna.Schmidt@Example.com`.
fn capitalise_parts(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut start = true;
    for c in address.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = matches!(c, '.' | '@');
    }
    out
}

#[derive(Debug)]
pub(crate) struct Organizations {
    pub(crate) counts: Counts,
}

impl Generator for Organizations {
    fn mode(&self) -> Mode {
        Mode::Incremental { resolution_ms: 1 }
    }

    fn id(&self, index: usize) -> String {
        org_id(index)
    }

    fn make(&self, rng: &mut Rng, index: usize) -> Value {
        // The first ten are roots; every other unit hangs below an earlier one,
        // so the hierarchy has no cycles.
        let parent = (index >= 10).then(|| org_id(rng.usize(..index)));
        let cost_centers: Vec<String> = if index < self.counts.organizations {
            (2 * index..2 * index + 2)
                .filter(|&cc| cc < self.counts.cost_centers)
                .map(cost_center_id)
                .collect()
        } else {
            vec![cost_center_id(rng.usize(..self.counts.cost_centers.max(1)))]
        };
        json!({
            "id": org_id(index),
            "name": org_name(index),
            "parentId": parent,
            "costCenters": cost_centers,
            "updatedAt": Value::Null,
        })
    }

    fn stamp(&self, record: &mut Value, key_ms: i64) -> Value {
        let version = Value::String(timestamps::rfc3339_z(key_ms, true));
        record["updatedAt"] = version.clone();
        version
    }

    fn change(&self, rng: &mut Rng, record: &mut Value) {
        let index = record["id"].as_str().and_then(|id| index_of(id, "O"));
        match index {
            Some(index) if index >= 10 && rng.bool() => {
                record["parentId"] = json!(org_id(rng.usize(..index)));
            }
            _ => {
                let name = record["name"].as_str().unwrap_or_default();
                let renamed = match name.strip_suffix(" (restructured)") {
                    Some(original) => original.to_owned(),
                    None => format!("{name} (restructured)"),
                };
                record["name"] = json!(renamed);
            }
        }
    }
}

fn org_name(index: usize) -> String {
    let department = DEPARTMENTS[index % DEPARTMENTS.len()];
    match index / DEPARTMENTS.len() {
        0 => department.to_owned(),
        round => format!("{department} {} {round}", REGIONS[round % REGIONS.len()]),
    }
}

#[derive(Debug)]
pub(crate) struct Positions {
    pub(crate) counts: Counts,
}

impl Generator for Positions {
    fn mode(&self) -> Mode {
        Mode::FullRefresh
    }

    fn id(&self, index: usize) -> String {
        format!("P{:04}", index + 1)
    }

    fn make(&self, rng: &mut Rng, index: usize) -> Value {
        json!({
            "id": self.id(index),
            "title": pick(rng, TITLES),
            "orgId": org_id(rng.usize(..self.counts.organizations.max(1))),
            "grade": format!("G{}", rng.u8(1..10)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capitalises_each_part_of_an_address() {
        assert_eq!(
            capitalise_parts("anna.schmidt1001@example.com"),
            "Anna.Schmidt1001@Example.Com"
        );
    }
}
