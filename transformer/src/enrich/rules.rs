//! Which canonical fields can be enriched, the declared precedence of
//! sources for each, and how an enriched field is credited in provenance.

use canonflow_canonical::{EntityKind, Origin, Provenance};
use chrono::{DateTime, Utc};

use crate::mapping::config::EnrichmentConfig;

/// An enrichable field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `worker.cost_center_name` from the cost center with the worker's
    /// `cost_center_code`.
    WorkerCostCenterName,
    /// `organization.cost_centers[].name` from each cost center.
    OrganizationCostCenterNames,
}

const TARGETS: [(&str, &str, Target); 2] = [
    ("worker", "cost_center_name", Target::WorkerCostCenterName),
    (
        "organization",
        "cost_centers.name",
        Target::OrganizationCostCenterNames,
    ),
];

impl Target {
    pub fn entity(self) -> EntityKind {
        match self {
            Self::WorkerCostCenterName => EntityKind::Worker,
            Self::OrganizationCostCenterNames => EntityKind::Organization,
        }
    }
}

/// One declared enrichment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub target: Target,
    /// Sources in order of trust; unlisted sources rank after them.
    pub precedence: Vec<String>,
}

impl Rule {
    /// The rule an `[[enrichments]]` table declares, or why it cannot be.
    pub fn from_config(config: &EnrichmentConfig) -> Result<Self, String> {
        TARGETS
            .iter()
            .find(|(entity, field, _)| *entity == config.entity && *field == config.field)
            .map(|(_, _, target)| Self {
                target: *target,
                precedence: config.precedence.clone(),
            })
            .ok_or_else(|| {
                let known: Vec<String> =
                    TARGETS.iter().map(|(e, f, _)| format!("{e}.{f}")).collect();
                format!(
                    "{}.{} cannot be enriched; enrichable fields: {}",
                    config.entity,
                    config.field,
                    known.join(", ")
                )
            })
    }

    fn rank(&self, source: &str) -> usize {
        self.precedence
            .iter()
            .position(|s| s == source)
            .unwrap_or(self.precedence.len())
    }

    /// Whether a value from `reference` replaces one from `own`; on equal
    /// rank the reference wins (it is the system of record for the field).
    pub fn reference_wins(&self, own: &str, reference: &str) -> bool {
        self.rank(reference) <= self.rank(own)
    }
}

/// Records `origin` as the producer of `field`, dropping origins no field
/// names any more (the entity's own, first, always stays).
pub(super) fn credit(provenance: &mut Provenance, field: &str, origin: &Origin) {
    let index = match provenance.origins.iter().position(|o| o == origin) {
        Some(index) => index,
        None => {
            provenance.origins.push(origin.clone());
            provenance.origins.len() - 1
        }
    };
    provenance.fields.insert(
        field.to_owned().into(),
        i32::try_from(index).unwrap_or(i32::MAX),
    );
    let used: Vec<bool> = (0..provenance.origins.len())
        .map(|i| {
            i == 0
                || provenance
                    .fields
                    .values()
                    .any(|&f| usize::try_from(f) == Ok(i))
        })
        .collect();
    if used.iter().all(|u| *u) {
        return;
    }
    let mut renumber = Vec::with_capacity(used.len());
    let mut next = 0;
    for keep in &used {
        renumber.push(next);
        next += i32::from(*keep);
    }
    let mut index = 0;
    provenance.origins.retain(|_| {
        index += 1;
        used[index - 1]
    });
    for value in provenance.fields.values_mut() {
        if let Some(new) = usize::try_from(*value).ok().and_then(|i| renumber.get(i)) {
            *value = *new;
        }
    }
}

pub(super) fn newer(current: &mut Option<DateTime<Utc>>, candidate: Option<DateTime<Utc>>) {
    if candidate > *current {
        *current = candidate;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(entity: &str, field: &str, precedence: &[&str]) -> EnrichmentConfig {
        EnrichmentConfig {
            entity: entity.into(),
            field: field.into(),
            precedence: precedence.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn precedence_decides_and_unknown_fields_are_refused() {
        let rule =
            Rule::from_config(&config("worker", "cost_center_name", &["hr", "finance"])).unwrap();
        assert!(!rule.reference_wins("hr", "finance"));
        let rule = Rule::from_config(&config("worker", "cost_center_name", &["finance"])).unwrap();
        assert!(rule.reference_wins("hr", "finance"));
        let rule = Rule::from_config(&config("worker", "cost_center_name", &[])).unwrap();
        assert!(
            rule.reference_wins("hr", "finance"),
            "the reference wins by default"
        );
        let error = Rule::from_config(&config("worker", "email", &[])).unwrap_err();
        assert!(
            error.contains("enrichable fields: worker.cost_center_name"),
            "{error}"
        );
    }
}
