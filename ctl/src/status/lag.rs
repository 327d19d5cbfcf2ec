//! How far a group is behind on one partition, from numbers alone — and
//! when the broker's numbers cannot be right. Pure, so the arithmetic is
//! tested on its own.

use serde::Serialize;

/// One partition's lag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lag {
    /// Records not yet committed; `None` when the broker's answer is
    /// implausible.
    pub records: Option<i64>,
    /// Why the broker's answer cannot be right, if it cannot.
    pub implausible: Option<String>,
}

/// Where a group whose committed offset is `committed` (`None`: none yet)
/// reads next on a partition whose first offset is `first`: records before
/// the first are gone, not pending.
pub fn position(committed: Option<i64>, first: i64) -> i64 {
    committed.unwrap_or(first).max(first)
}

/// The lag of a group whose committed offset is `committed` on a partition
/// from `first` to `end`.
pub fn lag(committed: Option<i64>, first: i64, end: i64) -> Lag {
    let from = position(committed, first);
    if end < from {
        return Lag {
            records: None,
            implausible: Some(format!(
                "the broker reports end offset {end}, below the committed offset {from}: \
                 lag unknown (a broker that counts batches, not records?)"
            )),
        };
    }
    Lag {
        records: Some(end - from),
        implausible: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_what_lies_between_the_committed_offset_and_the_end() {
        assert_eq!(lag(Some(40), 0, 100).records, Some(60));
        assert_eq!(lag(Some(100), 0, 100).records, Some(0));
    }

    #[test]
    fn without_a_commit_everything_from_the_first_offset_is_lag() {
        assert_eq!(lag(None, 20, 100).records, Some(80));
    }

    #[test]
    fn a_commit_before_the_first_offset_counts_from_the_first() {
        // Retention removed records the group never read: they are gone,
        // not pending.
        assert_eq!(lag(Some(5), 20, 100).records, Some(80));
    }

    #[test]
    fn an_end_below_the_committed_offset_is_implausible_not_negative() {
        let l = lag(Some(120), 0, 100);
        assert_eq!(l.records, None);
        assert!(
            l.implausible
                .unwrap()
                .contains("end offset 100, below the committed offset 120")
        );
    }
}
