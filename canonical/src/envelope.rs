//! The envelope every canonical entity shares: identity, version, deleted
//! flag and field-level provenance around the entity's attributes, plus the
//! value types (money, quantities) that several entities use.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One canonical entity: `A` is its attributes record, e.g.
/// [`WorkerAttributes`](crate::WorkerAttributes). Deserializes through
/// [`read`](crate::read) under the entity's record name, which Avro's
/// schema-aware reader checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Canonical<A> {
    /// UUID v5 of entity type, source, stream and source id.
    pub canonical_id: String,
    pub source: String,
    pub stream: String,
    pub source_id: String,
    pub version: SourceVersion,
    pub deleted: bool,
    pub attributes: A,
    pub provenance: Provenance,
}

impl<A> Canonical<A> {
    /// The same entity with its attributes transformed.
    pub fn map<B>(self, f: impl FnOnce(A) -> B) -> Canonical<B> {
        Canonical {
            canonical_id: self.canonical_id,
            source: self.source,
            stream: self.stream,
            source_id: self.source_id,
            version: self.version,
            deleted: self.deleted,
            attributes: f(self.attributes),
            provenance: self.provenance,
        }
    }
}

/// Which version of the source record an entity is. Versions compare in
/// field order — `modified_at`, `raw_offset`, `reference_modified_at`,
/// `mapping_version`, with null first — and the newest wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceVersion {
    #[serde(with = "timestamp_option")]
    pub modified_at: Option<DateTime<Utc>>,
    pub raw_topic: String,
    pub raw_partition: i32,
    pub raw_offset: i64,
    #[serde(with = "timestamp_option")]
    pub reference_modified_at: Option<DateTime<Utc>>,
    pub mapping_version: i32,
}

impl SourceVersion {
    /// The comparison key described above.
    pub fn ordering_key(&self) -> (Option<DateTime<Utc>>, i64, Option<DateTime<Utc>>, i32) {
        (
            self.modified_at,
            self.raw_offset,
            self.reference_modified_at,
            self.mapping_version,
        )
    }
}

/// A raw record that produced canonical fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub source: String,
    pub stream: String,
    pub source_id: String,
    pub raw_topic: String,
    pub raw_partition: i32,
    pub raw_offset: i64,
    pub mapping_version: i32,
}

/// Field-level provenance: `fields` maps each attribute name to the index
/// of its origin in `origins`; the first origin is the entity's own record.
/// Names are borrowed where the mapping wrote them (its own constants) and
/// owned where they were read back.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Provenance {
    pub origins: Vec<Origin>,
    pub fields: BTreeMap<Cow<'static, str>, i32>,
}

impl Provenance {
    /// The origin that produced `field`, if it was produced.
    pub fn origin_of(&self, field: &str) -> Option<&Origin> {
        let index = usize::try_from(*self.fields.get(field)?).ok()?;
        self.origins.get(index)
    }
}

/// An amount in integer minor units of its ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

/// A quantity in millionths of the SI unit `unit` (`kg`, `m`, `s`, `m3`, or
/// `1` for counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quantity {
    pub micro_units: i64,
    pub unit: String,
}

/// Avro `date` (days since 1970-01-01) for `chrono::NaiveDate`; in
/// human-readable formats (JSON) an ISO 8601 date instead.
pub mod date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

    const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");

    pub fn serialize<S: Serializer>(date: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        if crate::form::readable(s.is_human_readable()) {
            return date.serialize(s);
        }
        let days = date.signed_duration_since(EPOCH).num_days();
        s.serialize_i32(i32::try_from(days).map_err(serde::ser::Error::custom)?)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        if crate::form::readable(d.is_human_readable()) {
            return NaiveDate::deserialize(d);
        }
        let days = i32::deserialize(d)?;
        EPOCH
            .checked_add_signed(chrono::TimeDelta::days(i64::from(days)))
            .ok_or_else(|| D::Error::custom(format!("{days} days is out of range")))
    }

    /// The same for `Option<NaiveDate>` (an Avro `["null", date]`).
    pub mod option {
        use chrono::NaiveDate;
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        #[derive(Serialize, Deserialize)]
        #[serde(transparent)]
        struct Date(#[serde(with = "super")] NaiveDate);

        pub fn serialize<S: Serializer>(date: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
            date.map(Date).serialize(s)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
            Ok(Option::<Date>::deserialize(d)?.map(|Date(date)| date))
        }
    }
}

/// Avro `timestamp-micros` for an optional `DateTime<Utc>`; in
/// human-readable formats (JSON) an RFC 3339 string instead.
pub mod timestamp_option {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error as _};

    #[derive(Serialize, Deserialize)]
    #[serde(transparent)]
    struct Micros(#[serde(with = "micros")] DateTime<Utc>);

    mod micros {
        use super::*;

        pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
            if crate::form::readable(s.is_human_readable()) {
                t.serialize(s)
            } else {
                s.serialize_i64(t.timestamp_micros())
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
            if crate::form::readable(d.is_human_readable()) {
                return DateTime::<Utc>::deserialize(d);
            }
            let micros = i64::deserialize(d)?;
            DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| D::Error::custom(format!("{micros} µs is out of range")))
        }
    }

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        t.map(Micros).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Ok(Option::<Micros>::deserialize(d)?.map(|Micros(t)| t))
    }
}
