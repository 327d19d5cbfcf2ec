//! Deserializing a [`Canonical`] envelope. Avro's schema-aware reader
//! insists that the struct name equals the record name (`Worker`, not
//! `Canonical`), and a generic struct has only one name; so the envelope
//! asks for its attributes' entity record name by hand.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::envelope::{Canonical, Provenance, SourceVersion};

/// Attributes that belong to a named entity record.
pub trait EntityRecord {
    /// The Avro record name of the entity, e.g. `Worker`.
    const RECORD: &'static str;
}

const FIELDS: &[&str] = &[
    "canonical_id",
    "source",
    "stream",
    "source_id",
    "version",
    "deleted",
    "attributes",
    "provenance",
];

impl<'de, A: EntityRecord + Deserialize<'de>> Deserialize<'de> for Canonical<A> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(A::RECORD, FIELDS, Envelope(PhantomData))
    }
}

/// Field names are read as identifiers, as Avro's reader requires.
#[derive(serde::Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    CanonicalId,
    Source,
    Stream,
    SourceId,
    Version,
    Deleted,
    Attributes,
    Provenance,
    #[serde(other)]
    Other,
}

struct Envelope<A>(PhantomData<A>);

impl<'de, A: Deserialize<'de>> Visitor<'de> for Envelope<A> {
    type Value = Canonical<A>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a canonical entity")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Canonical<A>, M::Error> {
        let mut canonical_id: Option<String> = None;
        let mut source: Option<String> = None;
        let mut stream: Option<String> = None;
        let mut source_id: Option<String> = None;
        let mut version: Option<SourceVersion> = None;
        let mut deleted: Option<bool> = None;
        let mut attributes: Option<A> = None;
        let mut provenance: Option<Provenance> = None;
        while let Some(key) = map.next_key::<Field>()? {
            match key {
                Field::CanonicalId => canonical_id = Some(map.next_value()?),
                Field::Source => source = Some(map.next_value()?),
                Field::Stream => stream = Some(map.next_value()?),
                Field::SourceId => source_id = Some(map.next_value()?),
                Field::Version => version = Some(map.next_value()?),
                Field::Deleted => deleted = Some(map.next_value()?),
                Field::Attributes => attributes = Some(map.next_value()?),
                Field::Provenance => provenance = Some(map.next_value()?),
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let missing = de::Error::missing_field;
        Ok(Canonical {
            canonical_id: canonical_id.ok_or_else(|| missing("canonical_id"))?,
            source: source.ok_or_else(|| missing("source"))?,
            stream: stream.ok_or_else(|| missing("stream"))?,
            source_id: source_id.ok_or_else(|| missing("source_id"))?,
            version: version.ok_or_else(|| missing("version"))?,
            deleted: deleted.ok_or_else(|| missing("deleted"))?,
            attributes: attributes.ok_or_else(|| missing("attributes"))?,
            provenance: provenance.ok_or_else(|| missing("provenance"))?,
        })
    }
}
