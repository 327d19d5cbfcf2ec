//! Integration tests of the demo source over HTTP: each system's auth, every
//! paging style walked to the end and compared with the snapshot, filters,
//! changing data and injected faults. One binary, one module per concern.

#![allow(clippy::unwrap_used, reason = "tests")]

mod admin;
mod changes;
mod faults;
mod finance;
mod helpers;
mod hr;
mod ops;
