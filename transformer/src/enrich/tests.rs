//! The enrichment state on its own: entities waiting for a reference are
//! re-emitted enriched when it arrives, a bounded number at a time.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use canonflow_canonical::entities::Attributes;
use canonflow_canonical::{
    Canonical, Catalog, CostCenterAttributes, Origin, Provenance, SourceVersion, WorkerAttributes,
    wire,
};
use chrono::{TimeZone, Utc};

use super::{Enrichment, Rule, Stamp, Target};

fn envelope(id: &str, source: &str, attributes: Attributes) -> Canonical<Attributes> {
    let origin = Origin {
        source: source.into(),
        stream: "s".into(),
        source_id: id.into(),
        raw_topic: "raw".into(),
        raw_partition: 0,
        raw_offset: 1,
        mapping_version: 1,
    };
    Canonical {
        canonical_id: format!("id-{id}"),
        source: source.into(),
        stream: "s".into(),
        source_id: id.into(),
        version: SourceVersion {
            modified_at: Some(Utc.with_ymd_and_hms(2024, 5, 1, 8, 0, 0).unwrap()),
            raw_topic: "raw".into(),
            raw_partition: 0,
            raw_offset: 1,
            reference_modified_at: None,
            mapping_version: 1,
        },
        deleted: false,
        attributes,
        provenance: Provenance {
            origins: vec![origin],
            fields: Default::default(),
        },
    }
}

fn worker(id: &str) -> Canonical<Attributes> {
    let attributes = WorkerAttributes {
        employee_number: None,
        first_name: "Anna".into(),
        last_name: "Schmidt".into(),
        email: None,
        hire_date: None,
        termination_date: None,
        organization_id: None,
        cost_center_code: Some("CC1".into()),
        cost_center_name: None,
        salary: None,
        work_country: None,
        work_city: None,
        fte: None,
    };
    envelope(id, "hr", Attributes::Worker(attributes))
}

fn cost_center() -> Canonical<Attributes> {
    let attributes = CostCenterAttributes {
        code: "CC1".into(),
        name: "Sales".into(),
        company_code: None,
        currency: None,
        valid_from: None,
    };
    envelope("CC1", "finance", Attributes::CostCenter(attributes))
}

fn enrichment() -> Enrichment {
    let rule = Rule {
        target: Target::WorkerCostCenterName,
        precedence: vec!["finance".into()],
    };
    Enrichment::new(vec![rule], 1000, Arc::new(Catalog::embedded().unwrap()))
}

#[test]
fn waiting_entities_are_reemitted_enriched_a_bounded_number_at_a_time() {
    let enrichment = enrichment();
    for id in ["W1", "W2", "W3"] {
        enrichment.learn(&worker(id));
    }
    assert!(
        enrichment.take_reemits(10).is_empty(),
        "nothing to enrich yet"
    );

    enrichment.learn(&cost_center());
    let first = enrichment.take_reemits(2);
    assert_eq!(first.len(), 2);
    let second = enrichment.take_reemits(2);
    assert_eq!(second.len(), 1);
    assert!(enrichment.take_reemits(2).is_empty());

    let mut ids: Vec<String> = first
        .iter()
        .chain(&second)
        .map(|r| r.canonical_id.clone())
        .collect();
    ids.sort();
    assert_eq!(ids, ["id-W1", "id-W2", "id-W3"]);
    for reemit in first.iter().chain(&second) {
        let entity = wire::decode_any(&Catalog::embedded().unwrap(), &reemit.payload).unwrap();
        let Attributes::Worker(worker) = entity.attributes else {
            panic!("not a worker: {entity:?}");
        };
        assert_eq!(worker.cost_center_name.as_deref(), Some("Sales"));
        assert_eq!(entity.canonical_id, reemit.canonical_id);
    }
}

#[test]
fn requeued_reemits_come_back_first_in_their_order() {
    let enrichment = enrichment();
    enrichment.learn(&cost_center());
    // Known references enrich a read-back entity at once: a re-emit each.
    for id in ["W1", "W2", "W3"] {
        enrichment.learn(&worker(id));
    }
    let taken = enrichment.take_reemits(2);
    let ids = |r: &[super::Reemit]| r.iter().map(|r| r.canonical_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&taken), ["id-W1", "id-W2"]);
    enrichment.requeue(taken);
    assert_eq!(
        ids(&enrichment.take_reemits(10)),
        ["id-W1", "id-W2", "id-W3"]
    );
}

fn cost_center_name(entity: &Canonical<Attributes>) -> Option<&str> {
    match &entity.attributes {
        Attributes::Worker(worker) => worker.cost_center_name.as_deref(),
        other => panic!("not a worker: {other:?}"),
    }
}

#[test]
fn an_entity_stamped_with_the_references_known_is_not_decoded_until_one_changes() {
    let enrichment = enrichment();
    let mut unknown = worker("W0");
    let header = enrichment.apply(&mut unknown).unwrap();
    assert_eq!(header, r#"{"consulted":[],"missing":["CC1"]}"#);
    assert_eq!(Stamp::parse(header.as_bytes()).unwrap().missing(), ["CC1"]);
    assert_eq!(Stamp::parse(b""), None);
    assert_eq!(enrichment.apply(&mut cost_center()), None, "not read back");

    enrichment.learn(&cost_center());
    let mut mapped = worker("W1");
    let header = enrichment.apply(&mut mapped).unwrap();
    assert_eq!(cost_center_name(&mapped), Some("Sales"));
    let read_back = Stamp::parse(header.as_bytes()).expect("nothing missing");
    assert_eq!(read_back.to_header(), header);
    assert!(enrichment.confirm(&mapped.canonical_id, &read_back, b"not decoded"));
    assert!(enrichment.take_reemits(10).is_empty());

    // A newer version of the cost center: the stamp no longer holds, and
    // the decoded entity is re-emitted with the new name and a new stamp.
    let mut renamed = cost_center();
    renamed.version.raw_offset = 2;
    renamed.provenance.origins[0].raw_offset = 2;
    if let Attributes::CostCenter(cost_center) = &mut renamed.attributes {
        cost_center.name = "Field Sales".into();
    }
    enrichment.learn(&renamed);
    assert!(!enrichment.confirm(&mapped.canonical_id, &read_back, b"not decoded"));
    enrichment.learn(&mapped);
    let reemits = enrichment.take_reemits(10);
    assert_eq!(reemits.len(), 1);
    let catalog = Catalog::embedded().unwrap();
    let reemitted = wire::decode_any(&catalog, &reemits[0].payload).unwrap();
    assert_eq!(cost_center_name(&reemitted), Some("Field Sales"));
    let stamp = Stamp::parse(reemits[0].enriched_from.as_bytes()).expect("nothing missing");
    assert!(enrichment.confirm(&mapped.canonical_id, &stamp, b"not decoded"));
    assert!(!enrichment.confirm(
        &mapped.canonical_id,
        &Stamp::parse(b"[[\"CC9\",\"raw\",0,1,1]]").unwrap(),
        b"not decoded"
    ));
    assert_eq!(Stamp::parse(b"not json"), None);
}

#[test]
fn a_confirmed_newer_version_supersedes_the_copy_that_waited() {
    let enrichment = enrichment();
    enrichment.learn(&worker("W1"));
    // A newer version without a cost center read back, stamped with no
    // reference at all: the older copy no longer waits.
    assert!(enrichment.confirm("id-W1", &Stamp::default(), b"not decoded"));
    enrichment.learn(&cost_center());
    assert!(enrichment.take_reemits(10).is_empty());
}

#[test]
fn an_entity_read_back_still_missing_its_reference_waits_undecoded() {
    let enrichment = enrichment();
    let catalog = Catalog::embedded().unwrap();
    // Mapped while its cost center is unknown, then read back: it waits as
    // published, not decoded.
    let mut mapped = worker("W1");
    let header = enrichment.apply(&mut mapped).unwrap();
    let payload = wire::encode(&catalog, mapped.attributes.kind(), &mapped).unwrap();
    let stamp = Stamp::parse(header.as_bytes()).unwrap();
    assert!(enrichment.confirm(&mapped.canonical_id, &stamp, &payload));
    assert!(enrichment.take_reemits(10).is_empty());
    // Its cost center arrives: it is re-emitted enriched.
    enrichment.learn(&cost_center());
    let reemits = enrichment.take_reemits(10);
    assert_eq!(reemits.len(), 1);
    let reemitted = wire::decode_any(&catalog, &reemits[0].payload).unwrap();
    assert_eq!(cost_center_name(&reemitted), Some("Sales"));
    // Read back now that the cost center is known, the same stamp no
    // longer holds: it is decoded and learned from.
    assert!(!enrichment.confirm(&mapped.canonical_id, &stamp, &payload));
}

#[test]
fn a_reference_named_twice_is_waited_for_once() {
    let enrichment = enrichment();
    let catalog = Catalog::embedded().unwrap();
    let mapped = worker("W1");
    let payload = wire::encode(&catalog, mapped.attributes.kind(), &mapped).unwrap();
    let stamp = Stamp::parse(br#"{"consulted":[],"missing":["CC1","CC1"]}"#).unwrap();
    assert!(enrichment.confirm(&mapped.canonical_id, &stamp, &payload));
    assert_eq!(enrichment.pending_count(), 1);
    enrichment.learn(&cost_center());
    assert_eq!(enrichment.pending_count(), 0);
    assert_eq!(enrichment.take_reemits(10).len(), 1);
}
