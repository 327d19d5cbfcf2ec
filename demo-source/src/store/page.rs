//! Pages of a stream: keyset pages that continue after an opaque position,
//! and offset pages. Both start from a binary-searched index, never a scan.

use super::{Record, Stream};

/// Where a keyset page ended: the (cursor, id) of its last record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) key: i64,
    pub(crate) id: String,
}

impl Position {
    /// The opaque token clients send back: `"<cursor>|<id>"` (plain text;
    /// callers URL-encode it where it goes into a URL).
    pub(crate) fn token(&self) -> String {
        format!("{}|{}", self.key, self.id)
    }

    /// Reads a token made by [`Position::token`]; `None` if it is not one.
    pub(crate) fn parse(token: &str) -> Option<Self> {
        let (key, id) = token.split_once('|')?;
        if id.is_empty() {
            return None;
        }
        Some(Self {
            key: key.parse().ok()?,
            id: id.to_owned(),
        })
    }
}

/// Records of one keyset page and the position to continue after, if any more follow.
#[derive(Debug)]
pub(crate) struct Page<'a> {
    pub(crate) records: &'a [Record],
    pub(crate) next: Option<Position>,
}

/// Records of one offset page and the number of records matching the filter.
#[derive(Debug)]
pub(crate) struct OffsetPage<'a> {
    pub(crate) records: &'a [Record],
    pub(crate) total: usize,
}

impl Stream {
    /// Up to `limit` records with cursor ≥ `min_key` that come after `after`.
    pub(crate) fn keyset_page(
        &self,
        min_key: Option<i64>,
        after: Option<&Position>,
        limit: usize,
    ) -> Page<'_> {
        let from_filter = min_key.map_or(0, |key| self.lower_bound(key));
        let from_position = after.map_or(0, |position| self.after(position));
        self.page_at(from_filter.max(from_position), limit)
    }

    /// Up to `limit` records starting at index `start`.
    pub(crate) fn page_at(&self, start: usize, limit: usize) -> Page<'_> {
        let all = self.records();
        let start = start.min(all.len());
        let end = start.saturating_add(limit).min(all.len());
        let records = &all[start..end];
        let next = match records.last() {
            Some(last) if end < all.len() => Some(Position {
                key: last.key,
                id: last.id.clone(),
            }),
            _ => None,
        };
        Page { records, next }
    }

    /// Records `offset..offset + limit` of those with cursor ≥ `min_key`.
    pub(crate) fn offset_page(
        &self,
        min_key: Option<i64>,
        offset: usize,
        limit: usize,
    ) -> OffsetPage<'_> {
        let all = self.records();
        let first = min_key.map_or(0, |key| self.lower_bound(key));
        let start = first.saturating_add(offset).min(all.len());
        let end = start.saturating_add(limit).min(all.len());
        OffsetPage {
            records: &all[start..end],
            total: all.len() - first,
        }
    }
}

/// The records' JSON texts as one JSON array.
pub(crate) fn json_array(records: &[Record]) -> String {
    let size = records.iter().map(|r| r.json.len() + 1).sum::<usize>() + 2;
    let mut out = String::with_capacity(size);
    out.push('[');
    for (i, record) in records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&record.json);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let position = Position {
            key: 1_714_550_400_000,
            id: "INV-000001".to_owned(),
        };
        assert_eq!(position.token(), "1714550400000|INV-000001");
        assert_eq!(Position::parse(&position.token()), Some(position));
        assert_eq!(Position::parse("nonsense"), None);
        assert_eq!(Position::parse("12|"), None);
        assert_eq!(Position::parse("x|W000001"), None);
    }
}
