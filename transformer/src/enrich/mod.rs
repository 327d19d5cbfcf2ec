//! Multi-source enrichment: canonical fields filled from a reference
//! entity of another source — a worker's cost-center name, an
//! organization's cost-center names, both from the finance system's cost
//! centers.
//!
//! The lookup state lives in Kafka, not in a private database: every
//! transformer copy reads the canonical cost-center, worker and organization
//! topics from the start ([`tail`]) and folds them into memory
//! ([`Enrichment`]). A freshly mapped entity is enriched from what is known;
//! one whose reference is not known yet is published without it and, once
//! read back from its canonical topic, waits as *pending* until the
//! reference arrives — then it is re-emitted enriched, with the reference's
//! modified-at in its version so that it wins over the copy without. An
//! entity carries a [`Stamp`] of the references it consulted and those it
//! missed, and is not decoded again on reading back while they stay so
//! (the missed ones still missing: it then waits as read). Which
//! source wins a field both have is declared ([`Rule`]); provenance names
//! the winner.

mod rules;
mod stamp;
mod state;
pub mod tail;

pub use rules::{Rule, Target};
pub use stamp::Stamp;
pub use state::{Enrichment, Reemit};

#[cfg(test)]
mod tests;
