//! The names of canonflow's topics, derived from one configurable prefix.
//!
//! Every stage derives topic names here so that producers and consumers can
//! never disagree; tests use a random prefix to get topics of their own.

use serde::Deserialize;

/// `[topics]`: the prefix from which all topic names are derived.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topics {
    #[serde(default = "default_prefix")]
    pub prefix: String,
}

fn default_prefix() -> String {
    "canonflow".to_owned()
}

impl Default for Topics {
    fn default() -> Self {
        Self {
            prefix: default_prefix(),
        }
    }
}

impl Topics {
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// Raw records exactly as fetched, keyed by source/stream/primary key.
    pub fn raw(&self) -> String {
        format!("{}.raw", self.prefix)
    }

    /// Each stream's latest watermark, keyed by source/stream (compacted).
    pub fn watermarks(&self) -> String {
        format!("{}.watermarks", self.prefix)
    }

    /// Canonical entities of one type, e.g. `canonflow.canonical.worker`.
    pub fn canonical(&self, entity: &str) -> String {
        format!("{}.canonical.{entity}", self.prefix)
    }

    /// Dead letters of one stage, e.g. `canonflow.dlq.transformer`.
    pub fn dead_letters(&self, stage: &str) -> String {
        format!("{}.dlq.{stage}", self.prefix)
    }

    /// Dead letters already redriven, keyed by their own coordinates
    /// (compacted): what makes running a redrive twice harmless.
    pub fn redriven(&self) -> String {
        format!("{}.dlq.redriven", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_the_prefix() {
        let topics = Topics::with_prefix("t-1a2b");
        assert_eq!(topics.raw(), "t-1a2b.raw");
        assert_eq!(topics.watermarks(), "t-1a2b.watermarks");
        assert_eq!(topics.canonical("worker"), "t-1a2b.canonical.worker");
        assert_eq!(topics.dead_letters("sink"), "t-1a2b.dlq.sink");
        assert_eq!(topics.redriven(), "t-1a2b.dlq.redriven");
        assert_eq!(Topics::default().raw(), "canonflow.raw");
    }
}
