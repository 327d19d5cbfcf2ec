//! The three stages run as processes on the demo source, the broker and
//! PostgreSQL, and what they report is checked from outside: their metrics
//! endpoints (`metrics`) and the spans they export over OTLP (`traces`).
#![allow(clippy::unwrap_used, reason = "tests")]

mod metrics;
mod traces;
