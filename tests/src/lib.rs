//! End-to-end and broker-compatibility tests live under `tests/`; this crate
//! has no code of its own. They need the local stack: `scripts/stack up`.
