//! Where a batch's raw records were read, kept once the records themselves
//! are let go: a batch whose transaction is committing needs only this (to
//! rewind if the commit fails, and to report lag once it succeeds), not
//! its ten thousand payloads.

use crate::record::Record;

/// Each partition read, in the order first read.
#[derive(Debug, Default)]
pub struct Positions(Vec<Read>);

#[derive(Debug)]
struct Read {
    topic: String,
    partition: i32,
    /// The first offset read, where a retry starts.
    first: i64,
    /// The newest record timestamp read (ms), for lag.
    newest: Option<i64>,
}

impl Positions {
    /// Where `records` were read, in the order given.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a Record>) -> Self {
        let mut positions = Self::default();
        positions.add(records);
        positions
    }

    /// Adds records read after those already held: a partition's first
    /// offset stays the one seen first. A batch reads a few partitions, so
    /// a list is searched, and no topic name is copied per record.
    pub fn add<'a>(&mut self, records: impl IntoIterator<Item = &'a Record>) {
        for m in records {
            let newest = m.timestamp_ms();
            let (topic, partition) = (m.topic(), m.partition());
            match self
                .0
                .iter_mut()
                .find(|r| r.partition == partition && r.topic == topic)
            {
                Some(read) => read.newest = read.newest.max(newest),
                None => self.0.push(Read {
                    topic: topic.to_owned(),
                    partition,
                    first: m.offset(),
                    newest,
                }),
            }
        }
    }

    /// Each partition's first offset read.
    pub fn first_offsets(&self) -> impl Iterator<Item = (&str, i32, i64)> {
        self.0
            .iter()
            .map(|r| (r.topic.as_str(), r.partition, r.first))
    }

    /// Each partition's newest record timestamp (ms), where known.
    pub fn newest(&self) -> impl Iterator<Item = ((&str, i32), i64)> {
        self.0
            .iter()
            .filter_map(|r| Some(((r.topic.as_str(), r.partition), r.newest?)))
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::Timestamp;
    use rdkafka::message::OwnedMessage;

    use super::*;
    use crate::record::from_owned;

    /// A raw record; `ms` 0 for one without a timestamp.
    fn record(partition: i32, offset: i64, ms: i64) -> Record {
        from_owned(&OwnedMessage::new(
            None,
            None,
            "raw".into(),
            match ms {
                0 => Timestamp::NotAvailable,
                ms => Timestamp::CreateTime(ms),
            },
            partition,
            offset,
            None,
        ))
    }

    #[test]
    fn keeps_each_partitions_first_offset_and_newest_time() {
        let batch = [record(1, 10, 500), record(0, 7, 900), record(1, 11, 400)];
        // Partition 3's record has no timestamp: rewound, but no lag.
        let later = [record(1, 12, 800), record(2, 3, 100), record(3, 5, 0)];
        let mut positions = Positions::of(&batch);
        positions.add(&later);
        let first: Vec<_> = positions.first_offsets().collect();
        assert_eq!(
            first,
            [("raw", 1, 10), ("raw", 0, 7), ("raw", 2, 3), ("raw", 3, 5)]
        );
        let newest: Vec<_> = positions.newest().collect();
        assert_eq!(
            newest,
            [(("raw", 1), 800), (("raw", 0), 900), (("raw", 2), 100)]
        );
    }
}
