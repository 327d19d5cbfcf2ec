//! What a replay would do to each partition, computed from numbers alone:
//! the group's committed offset, the partition's first and end offsets, and
//! the target asked for. Pure, so the arithmetic is tested on its own.

use serde::Serialize;

/// Where to move a partition's committed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The partition's first offset (its log start).
    Earliest,
    /// The first offset at or after a time, as the broker answered
    /// `offsets_for_times`: `None` when no record is that new (then the
    /// end offset, as Kafka's own tool does).
    AtTime(Option<i64>),
    /// A given offset.
    Offset(i64),
}

/// One partition's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub topic: String,
    pub partition: i32,
    /// The group's committed offset; `None` when it has none.
    pub current: Option<i64>,
    pub target: i64,
    /// Records between the target and the current position that the stage
    /// will process again (0 when the target is ahead).
    pub reprocess: i64,
    /// Records skipped when the target is ahead of the current position.
    pub skip: i64,
    /// Why the target was adjusted, if it was.
    pub note: Option<String>,
}

/// The step for one partition whose offsets run from `first` to `end`
/// (the next offset to be written).
pub fn step(
    topic: &str,
    partition: i32,
    current: Option<i64>,
    first: i64,
    end: i64,
    target: Target,
) -> Step {
    let (wanted, mut note) = match target {
        Target::Earliest => (first, None),
        Target::AtTime(Some(offset)) => (offset, None),
        Target::AtTime(None) => (end, Some("no record that new: the end".to_owned())),
        Target::Offset(offset) => (offset, None),
    };
    // Like Kafka's own tool: a target outside the partition is clamped.
    let target = if wanted < first {
        note = Some(format!("{wanted} is before the first offset {first}"));
        first
    } else if wanted > end {
        note = Some(format!("{wanted} is past the end offset {end}"));
        end
    } else {
        wanted
    };
    // Without a committed offset the stage would start at the beginning.
    let from = current.unwrap_or(first);
    Step {
        topic: topic.to_owned(),
        partition,
        current,
        target,
        reprocess: (from - target).max(0),
        skip: (target - from).max(0),
        note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_reprocesses_everything_before_the_committed_offset() {
        let s = step("raw", 0, Some(900), 100, 1000, Target::Earliest);
        assert_eq!((s.target, s.reprocess, s.skip), (100, 800, 0));
        assert_eq!(s.note, None);
    }

    #[test]
    fn a_time_with_no_record_that_new_goes_to_the_end() {
        let s = step("raw", 1, Some(400), 0, 1000, Target::AtTime(None));
        assert_eq!((s.target, s.reprocess, s.skip), (1000, 0, 600));
        assert!(s.note.is_some());
    }

    #[test]
    fn offsets_outside_the_partition_are_clamped_and_said_so() {
        let before = step("raw", 0, Some(50), 10, 100, Target::Offset(3));
        assert_eq!((before.target, before.reprocess), (10, 40));
        assert!(before.note.unwrap().contains("before the first offset 10"));
        let past = step("raw", 0, Some(50), 10, 100, Target::Offset(500));
        assert_eq!((past.target, past.skip), (100, 50));
        assert!(past.note.unwrap().contains("past the end offset 100"));
    }

    #[test]
    fn a_group_without_a_committed_offset_starts_at_the_first() {
        let s = step("raw", 0, None, 0, 100, Target::Offset(40));
        assert_eq!((s.target, s.reprocess, s.skip), (40, 0, 40));
    }

    #[test]
    fn a_time_between_records_reprocesses_from_there() {
        let s = step("raw", 2, Some(1000), 0, 1000, Target::AtTime(Some(250)));
        assert_eq!((s.target, s.reprocess, s.skip), (250, 750, 0));
    }
}
