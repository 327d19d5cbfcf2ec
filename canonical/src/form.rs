//! Whether a date or timestamp is written for people (ISO 8601, in JSON)
//! or as Avro's number (days, microseconds).
//!
//! Serde lets a format say it is not human-readable, and JSON is; but the
//! Avro library the wire format uses says it is, so the wire format marks
//! its own calls instead ([`binary`]), on the thread that makes them.
//!
//! Only fields that ask [`readable`] get their Avro form: a new entity
//! field whose serde form depends on `is_human_readable` (a `Uuid`, a
//! chrono type without a helper in `envelope.rs`) must ask too, or it goes
//! on the wire as text. `tests/agreement.rs` fills every field and
//! compares the bytes with Apache Avro's, which catches that.

use std::cell::Cell;

thread_local! {
    static BINARY: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (an Avro encode or decode) with dates and timestamps as numbers.
pub(crate) fn binary<T>(f: impl FnOnce() -> T) -> T {
    /// Clears the mark however `f` ends.
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            BINARY.set(self.0);
        }
    }
    let _reset = Reset(BINARY.replace(true));
    f()
}

/// Whether a format that calls itself `human_readable` gets the form for
/// people here.
pub(crate) fn readable(human_readable: bool) -> bool {
    human_readable && !BINARY.get()
}
