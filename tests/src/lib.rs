//! End-to-end and broker-compatibility tests live under `tests/`; this
//! library holds what several of them share ([`pipeline`]). They need the
//! local stack: `scripts/stack up`.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test support")]

pub mod pipeline;
