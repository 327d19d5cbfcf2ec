//! The small APIs' records: ops tickets (naive Europe/Berlin timestamps),
//! ops assets (epoch-millisecond cursor) and public holidays.

use fastrand::Rng;
use serde_json::{Value, json};

use super::vocabulary::{ASSET_TYPES, HOLIDAYS, TICKET_TITLES, pick};
use super::{Counts, worker_id};
use crate::store::{Generator, Mode};
use crate::timestamps;

const STATUSES: &[&str] = &["open", "in_progress", "resolved", "closed"];

#[derive(Debug)]
pub(crate) struct Tickets;

impl Generator for Tickets {
    fn mode(&self) -> Mode {
        Mode::Incremental {
            resolution_ms: 1000,
        }
    }

    fn id(&self, index: usize) -> String {
        format!("T{:04}", index + 1)
    }

    fn make(&self, rng: &mut Rng, index: usize) -> Value {
        json!({
            "id": self.id(index),
            "title": pick(rng, TICKET_TITLES),
            "status": pick(rng, STATUSES),
            "updatedAt": Value::Null,
        })
    }

    fn stamp(&self, record: &mut Value, key_ms: i64) -> Value {
        let version = Value::String(timestamps::berlin_naive(key_ms));
        record["updatedAt"] = version.clone();
        version
    }

    fn change(&self, rng: &mut Rng, record: &mut Value) {
        let current = record["status"].as_str().unwrap_or_default();
        let next = match STATUSES.iter().position(|s| *s == current) {
            Some(at) if at + 1 < STATUSES.len() => STATUSES[at + 1],
            _ => pick(rng, STATUSES),
        };
        record["status"] = json!(next);
    }
}

#[derive(Debug)]
pub(crate) struct Assets {
    pub(crate) counts: Counts,
}

impl Generator for Assets {
    fn mode(&self) -> Mode {
        Mode::Incremental { resolution_ms: 1 }
    }

    fn id(&self, index: usize) -> String {
        format!("A{:04}", index + 1)
    }

    fn make(&self, rng: &mut Rng, index: usize) -> Value {
        json!({
            "id": self.id(index),
            "tag": format!("{}-{:04}", pick(rng, ASSET_TYPES), index + 1),
            "assignedTo": worker_id(rng.usize(..self.counts.workers.max(1))),
            "updatedAtMs": Value::Null,
        })
    }

    fn stamp(&self, record: &mut Value, key_ms: i64) -> Value {
        let version = json!(key_ms);
        record["updatedAtMs"] = version.clone();
        version
    }

    fn change(&self, rng: &mut Rng, record: &mut Value) {
        record["assignedTo"] = json!(worker_id(rng.usize(..self.counts.workers.max(1))));
    }
}

#[derive(Debug)]
pub(crate) struct Holidays;

impl Generator for Holidays {
    fn mode(&self) -> Mode {
        Mode::FullRefresh
    }

    fn id(&self, index: usize) -> String {
        let (country, day, _) = HOLIDAYS[index % HOLIDAYS.len()];
        format!("{country}-{day}")
    }

    fn make(&self, _rng: &mut Rng, index: usize) -> Value {
        let (country, day, name) = HOLIDAYS[index % HOLIDAYS.len()];
        json!({"id": self.id(index), "date": day, "name": name, "country": country})
    }
}
