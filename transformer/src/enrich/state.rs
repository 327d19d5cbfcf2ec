//! The enrichment state: the reference entities known so far, entities
//! waiting for a reference, and enriched copies waiting to be published.
//! Both waiting kinds are held in the wire format, a fraction of their
//! decoded size: with many entities waiting, the decoded ones were most of
//! the transformer's memory.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use canonflow_canonical::entities::Attributes;
use canonflow_canonical::{Canonical, Catalog, EntityKind, Origin, wire};
use chrono::{DateTime, Utc};

use super::rules::{Rule, Target, credit, newer};
use super::stamp::Stamp;

/// A cost center as a reference: its name, version and origin.
#[derive(Debug, Clone)]
struct Reference {
    name: String,
    /// The reference's version, `SourceVersion::ordering_key`: its first
    /// part is the reference's modified-at.
    ordering: (Option<DateTime<Utc>>, i64, Option<DateTime<Utc>>, i32),
    origin: Origin,
}

impl Reference {
    fn modified_at(&self) -> Option<DateTime<Utc>> {
        self.ordering.0
    }
}

#[derive(Debug, Default)]
struct State {
    /// Cost centers by code.
    references: HashMap<String, Reference>,
    /// Entities missing a reference: code → canonical id → newest entity,
    /// in the wire format.
    pending: HashMap<String, HashMap<String, Vec<u8>>>,
    /// The same the other way round: canonical id → codes it waits for.
    waiting_on: HashMap<String, Vec<String>>,
    pending_count: usize,
    warned_full: bool,
    /// Enriched entities to publish, oldest first.
    reemits: VecDeque<Reemit>,
}

/// An enriched entity to publish again, encoded.
#[derive(Debug, Clone)]
pub struct Reemit {
    pub kind: EntityKind,
    pub canonical_id: String,
    pub source: String,
    pub stream: String,
    /// The entity in the wire format.
    pub payload: Vec<u8>,
    /// Its [`ENRICHED_FROM`](canonflow_common::headers::ENRICHED_FROM)
    /// header: the stamp, naming the references still missing.
    pub enriched_from: String,
}

impl Reemit {
    fn new(catalog: &Catalog, entity: &Canonical<Attributes>, applied: &Applied) -> Option<Self> {
        let kind = entity.attributes.kind();
        match wire::encode(catalog, kind, entity) {
            Ok(payload) => Some(Self {
                kind,
                canonical_id: entity.canonical_id.clone(),
                source: entity.source.clone(),
                stream: entity.stream.clone(),
                payload,
                enriched_from: applied.enriched_from(),
            }),
            Err(e) => {
                tracing::warn!(id = %entity.canonical_id, error = %e, "an enriched entity could not be encoded; it is enriched only when it changes or on replay");
                None
            }
        }
    }
}

/// Shared by the pipeline (apply, publish re-emits) and the tail (learn).
#[derive(Debug, Clone)]
pub struct Enrichment {
    rules: Arc<Vec<Rule>>,
    state: Arc<Mutex<State>>,
    max_pending: usize,
    /// Encodes waiting entities and decodes them when their reference comes.
    catalog: Arc<Catalog>,
}

impl Enrichment {
    pub fn new(rules: Vec<Rule>, max_pending: usize, catalog: Arc<Catalog>) -> Self {
        Self {
            rules: Arc::new(rules),
            state: Arc::default(),
            max_pending,
            catalog,
        }
    }

    pub fn is_enabled(&self) -> bool {
        !self.rules.is_empty()
    }

    /// The canonical topics the state is folded from.
    pub fn entities(&self) -> Vec<EntityKind> {
        let mut kinds = vec![EntityKind::CostCenter];
        kinds.extend(self.rules.iter().map(|r| r.target.entity()));
        kinds.dedup();
        kinds
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock cannot leave the maps
        // half-updated in a way that matters: keep going with them.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether entities of `kind` are enriched (and so read back).
    pub fn enriches(&self, kind: EntityKind) -> bool {
        self.rules.iter().any(|r| r.target.entity() == kind)
    }

    /// Fills the enrichable fields of `entity` from the references known.
    /// For an entity the tail reads back, the
    /// [`ENRICHED_FROM`](canonflow_common::headers::ENRICHED_FROM) header
    /// to publish it with, always the last of that name: its [`Stamp`].
    pub fn apply(&self, entity: &mut Canonical<Attributes>) -> Option<String> {
        if !self.enriches(entity.attributes.kind()) {
            return None;
        }
        Some(apply(&self.rules, &self.lock().references, entity).enriched_from())
    }

    /// Learns from an entity read back with `stamp` without decoding it,
    /// if every reference it consulted is still known in that version and
    /// every one it missed still missing: then enriching it again would
    /// change nothing, and all there is to learn is that it supersedes
    /// whatever of it waited, and waits, as `payload`, for what it missed.
    /// False if it has to be decoded and [`learn`](Self::learn)ed from.
    /// `payload` is taken as this catalog wrote it: one that does not
    /// decode is found out, and logged, only when its reference comes.
    pub fn confirm(&self, canonical_id: &str, stamp: &Stamp, payload: &[u8]) -> bool {
        let mut state = self.lock();
        let references = &state.references;
        if !stamp.holds(|code| references.get(code).map(|r| &r.origin)) {
            return false;
        }
        forget_waiting(&mut state, canonical_id);
        self.wait(&mut state, canonical_id, stamp.missing(), payload);
        true
    }

    /// Learns from a canonical entity, mapped here or read back from its
    /// topic: a cost center becomes a reference (and re-emits what waited
    /// for it); an entity missing a reference waits for it, or is re-emitted
    /// at once if the reference is known by now.
    pub fn learn(&self, entity: &Canonical<Attributes>) {
        if !self.is_enabled() {
            return;
        }
        let mut state = self.lock();
        if let Attributes::CostCenter(cost_center) = &entity.attributes {
            learn_reference(
                &self.rules,
                &self.catalog,
                &mut state,
                &cost_center.code,
                &cost_center.name,
                entity,
            );
            return;
        }
        let mut copy = entity.clone();
        let applied = apply(&self.rules, &state.references, &mut copy);
        let id = &entity.canonical_id;
        forget_waiting(&mut state, id);
        if copy == *entity && applied.stamp.missing().is_empty() {
            return;
        }
        // One encoding serves both: the enriched copy to publish, and what
        // waits for the references still missing.
        let Some(encoded) = Reemit::new(&self.catalog, &copy, &applied) else {
            return;
        };
        self.wait(&mut state, id, applied.stamp.missing(), &encoded.payload);
        if copy != *entity {
            state.reemits.push_back(encoded);
        }
    }

    /// Entity `id`, encoded as `payload`, waits for the references `codes`,
    /// each once (while fewer than `max_pending` wait).
    fn wait(&self, state: &mut State, id: &str, codes: &[String], payload: &[u8]) {
        for (i, code) in codes.iter().enumerate() {
            if codes.iter().take(i).any(|c| c == code) {
                continue;
            }
            if state.pending_count >= self.max_pending {
                if !state.warned_full {
                    tracing::warn!(
                        max = self.max_pending,
                        "too many entities wait for a reference; further ones are enriched only when they change or on replay"
                    );
                    state.warned_full = true;
                }
                break;
            }
            state
                .pending
                .entry(code.clone())
                .or_default()
                .insert(id.to_owned(), payload.to_vec());
            state
                .waiting_on
                .entry(id.to_owned())
                .or_default()
                .push(code.clone());
            state.pending_count += 1;
        }
    }

    /// How many (entity, missing reference) pairs wait.
    #[cfg(test)]
    pub fn pending_count(&self) -> usize {
        self.lock().pending_count
    }

    /// At most `max` enriched entities to publish now, oldest first; give
    /// them back with [`requeue`](Self::requeue) if they could not be.
    pub fn take_reemits(&self, max: usize) -> Vec<Reemit> {
        let mut state = self.lock();
        let n = max.min(state.reemits.len());
        state.reemits.drain(..n).collect()
    }

    pub fn requeue(&self, reemits: Vec<Reemit>) {
        let mut state = self.lock();
        for reemit in reemits.into_iter().rev() {
            state.reemits.push_front(reemit);
        }
    }
}

fn learn_reference(
    rules: &[Rule],
    catalog: &Catalog,
    state: &mut State,
    code: &str,
    name: &str,
    entity: &Canonical<Attributes>,
) {
    let ordering = entity.version.ordering_key();
    if state
        .references
        .get(code)
        .is_some_and(|known| known.ordering >= ordering)
    {
        return;
    }
    if entity.deleted {
        state.references.remove(code);
        return;
    }
    let Some(origin) = entity.provenance.origins.first().cloned() else {
        return;
    };
    state.references.insert(
        code.to_owned(),
        Reference {
            name: name.to_owned(),
            ordering,
            origin,
        },
    );
    let waiting = state.pending.remove(code).unwrap_or_default();
    state.pending_count = state.pending_count.saturating_sub(waiting.len());
    for (id, waiting) in waiting {
        if let Some(codes) = state.waiting_on.get_mut(&id) {
            codes.retain(|c| c != code);
            if codes.is_empty() {
                state.waiting_on.remove(&id);
            }
        }
        // Encoded by this catalog a moment ago: decoding cannot fail short
        // of a bug, which is then logged, not a panic.
        match wire::decode_any(catalog, &waiting) {
            Ok(mut waiting) => {
                let applied = apply(rules, &state.references, &mut waiting);
                state
                    .reemits
                    .extend(Reemit::new(catalog, &waiting, &applied));
            }
            Err(e) => {
                tracing::warn!(id = %id, error = %e, "an entity waiting for a reference could not be decoded; it is enriched only when it changes or on replay")
            }
        }
    }
}

/// Forgets the older copies of entity `id` that waited for a reference.
fn forget_waiting(state: &mut State, id: &str) {
    for code in state.waiting_on.remove(id).unwrap_or_default() {
        let removed = state.pending.get_mut(&code).and_then(|w| w.remove(id));
        if removed.is_some() {
            state.pending_count = state.pending_count.saturating_sub(1);
        }
    }
}

/// What applying the rules to an entity found: the references it
/// consulted and those it needed that are not known.
#[derive(Debug, Default)]
struct Applied {
    stamp: Stamp,
}

impl Applied {
    /// The header to publish the entity with: its stamp.
    fn enriched_from(&self) -> String {
        self.stamp.to_header()
    }
}

/// Applies every rule to `entity`.
fn apply(
    rules: &[Rule],
    references: &HashMap<String, Reference>,
    entity: &mut Canonical<Attributes>,
) -> Applied {
    let mut applied = Applied::default();
    let stamp = &mut applied.stamp;
    let own_source = entity.source.clone();
    for rule in rules {
        match (&mut entity.attributes, rule.target) {
            (Attributes::Worker(worker), Target::WorkerCostCenterName) => {
                let Some(code) = worker.cost_center_code.clone() else {
                    continue;
                };
                let Some(reference) = references.get(&code) else {
                    stamp.missed(code);
                    continue;
                };
                stamp.consulted(&code, &reference.origin);
                let own = entity
                    .provenance
                    .origin_of("cost_center_name")
                    .map(|o| o.source.as_str());
                let has_own = worker.cost_center_name.is_some() && own == Some(own_source.as_str());
                if has_own && !rule.reference_wins(&own_source, &reference.origin.source) {
                    continue;
                }
                worker.cost_center_name = Some(reference.name.clone());
                credit(
                    &mut entity.provenance,
                    "cost_center_name",
                    &reference.origin,
                );
                newer(
                    &mut entity.version.reference_modified_at,
                    reference.modified_at(),
                );
            }
            (Attributes::Organization(organization), Target::OrganizationCostCenterNames) => {
                for (i, cost_center) in organization.cost_centers.iter_mut().enumerate() {
                    let Some(reference) = references.get(&cost_center.code) else {
                        stamp.missed(cost_center.code.clone());
                        continue;
                    };
                    stamp.consulted(&cost_center.code, &reference.origin);
                    cost_center.name = Some(reference.name.clone());
                    credit(
                        &mut entity.provenance,
                        &format!("cost_centers.{i}.name"),
                        &reference.origin,
                    );
                    newer(
                        &mut entity.version.reference_modified_at,
                        reference.modified_at(),
                    );
                }
            }
            _ => {}
        }
    }
    applied
}
