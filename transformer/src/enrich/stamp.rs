//! The stamp an entity that enrichment reads back carries on its canonical
//! record ([`headers::ENRICHED_FROM`](canonflow_common::headers::ENRICHED_FROM),
//! written last): which version of each reference it consulted, and the
//! codes of the references it waits for (none known when it was mapped).
//! Reading the entity back, the tail compares the stamp with the
//! references known now; while they are the same (the consulted ones in
//! the version consulted, the missing ones still missing), enriching the
//! entity again would change nothing, so it is not even decoded: it
//! supersedes the copies of it that waited, and waits itself, as read,
//! for the references it misses. Any doubt (no stamp, one that does not
//! parse, a reference changed, gone or come) means decoding and learning
//! as before: the stamp only saves work.

use canonflow_canonical::Origin;
use serde::{Deserialize, Serialize};

/// One consulted reference: its code, then the raw record (topic,
/// partition, offset) and mapping version that produced that version of
/// it. A tuple, to keep the header short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Consulted(String, String, i32, i64, i32);

/// The references one entity's enrichment consulted, and those it missed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamp {
    consulted: Vec<Consulted>,
    missing: Vec<String>,
}

/// The header's JSON while references are missing; while none is, the
/// list of consulted references alone (as stamps were before missing ones
/// were listed).
#[derive(Serialize, Deserialize)]
struct Waiting {
    consulted: Vec<Consulted>,
    missing: Vec<String>,
}

impl Stamp {
    pub(super) fn consulted(&mut self, code: &str, origin: &Origin) {
        self.consulted.push(Consulted(
            code.to_owned(),
            origin.raw_topic.clone(),
            origin.raw_partition,
            origin.raw_offset,
            origin.mapping_version,
        ));
    }

    /// A reference not known: each code once, however often the entity
    /// names it.
    pub(super) fn missed(&mut self, code: String) {
        if !self.missing.contains(&code) {
            self.missing.push(code);
        }
    }

    /// The codes of the references missed.
    pub fn missing(&self) -> &[String] {
        &self.missing
    }

    /// The header value: a JSON array of `[code, raw topic, raw partition,
    /// raw offset, mapping version]`, or, when references were missed,
    /// `{"consulted": [...], "missing": [code, ...]}`.
    pub fn to_header(&self) -> String {
        // Strings and integers always serialize; an empty value would
        // only mean "decode it".
        let json = match self.missing.is_empty() {
            true => serde_json::to_string(&self.consulted),
            false => serde_json::to_string(&Waiting {
                consulted: self.consulted.clone(),
                missing: self.missing.clone(),
            }),
        };
        json.unwrap_or_default()
    }

    /// A stamp read back from its header, if it is one. Told apart by the
    /// first character, so the usual stamp is parsed once, as a list.
    pub fn parse(value: &[u8]) -> Option<Self> {
        match value.trim_ascii_start().first()? {
            b'[' => serde_json::from_slice(value).ok().map(|consulted| Self {
                consulted,
                missing: Vec::new(),
            }),
            _ => serde_json::from_slice(value)
                .ok()
                .map(|Waiting { consulted, missing }| Self { consulted, missing }),
        }
    }

    /// Whether `known` (code → origin of the reference known now) still
    /// gives every consulted reference in the version consulted, and still
    /// none of the missing ones.
    pub(super) fn holds<'a>(&self, known: impl Fn(&str) -> Option<&'a Origin>) -> bool {
        let consulted_hold =
            self.consulted
                .iter()
                .all(|Consulted(code, topic, partition, offset, mapping)| {
                    known(code).is_some_and(|origin| {
                        origin.raw_topic == *topic
                            && origin.raw_partition == *partition
                            && origin.raw_offset == *offset
                            && origin.mapping_version == *mapping
                    })
                });
        consulted_hold && self.missing.iter().all(|code| known(code).is_none())
    }
}
