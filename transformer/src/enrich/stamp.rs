//! The stamp an enriched entity carries on its canonical record
//! ([`headers::ENRICHED_FROM`](canonflow_common::headers::ENRICHED_FROM),
//! written last; empty while a reference is missing): which version of
//! each reference it consulted. Reading the entity back, the tail compares
//! the stamp with the references known now; while they are the same,
//! enriching the entity again would change nothing, so it is not even
//! decoded. Any doubt (no stamp, one that does not parse, a reference
//! changed or gone) means decoding and learning as before: the stamp only
//! saves work.

use canonflow_canonical::Origin;
use serde::{Deserialize, Serialize};

/// One consulted reference: its code, then the raw record (topic,
/// partition, offset) and mapping version that produced that version of
/// it. A tuple, to keep the header short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Consulted(String, String, i32, i64, i32);

/// The references one entity's enrichment consulted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamp(Vec<Consulted>);

impl Stamp {
    pub(super) fn consulted(&mut self, code: &str, origin: &Origin) {
        self.0.push(Consulted(
            code.to_owned(),
            origin.raw_topic.clone(),
            origin.raw_partition,
            origin.raw_offset,
            origin.mapping_version,
        ));
    }

    /// The header value: a JSON array of
    /// `[code, raw topic, raw partition, raw offset, mapping version]`.
    pub fn to_header(&self) -> String {
        // Strings and integers always serialize; an empty value would
        // only mean "decode it".
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    /// A stamp read back from its header, if it is one.
    pub fn parse(value: &[u8]) -> Option<Self> {
        serde_json::from_slice(value).ok().map(Self)
    }

    /// Whether `known` (code → origin of the reference known now) still
    /// gives every consulted reference in the version consulted.
    pub(super) fn holds<'a>(&self, known: impl Fn(&str) -> Option<&'a Origin>) -> bool {
        self.0
            .iter()
            .all(|Consulted(code, topic, partition, offset, mapping)| {
                known(code).is_some_and(|origin| {
                    origin.raw_topic == *topic
                        && origin.raw_partition == *partition
                        && origin.raw_offset == *offset
                        && origin.mapping_version == *mapping
                })
            })
    }
}
