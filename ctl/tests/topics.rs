//! `canonflow topics create` against the real local broker: the plan
//! creates nothing; with `--execute` every stage's topics exist afterwards
//! with the configured partitions, the command can run again, and a
//! deployment without a stage's section skips its topics.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::path::Path;

use canonflow_common::kafka::partition_count;
use canonflow_testkit::{Stack, TestTopics};
use support::Cli;

#[allow(dead_code, reason = "each test binary uses part of the support")]
mod support;

#[tokio::test]
async fn every_stage_topic_is_created_with_its_partitions_and_again_is_a_no_op() {
    let stack = Stack::from_env();
    let mut topics = TestTopics::new(&stack);
    let t = topics.topics.clone();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cli = Cli::new(
        &stack,
        &t.prefix,
        &format!(
            "[fetcher]\nsources_dir = {:?}\nraw_partitions = 3\nwatermarks_partitions = 2\n\
             [transformer]\nmappings_dir = {:?}\npartitions = 2\n",
            root.join("config/sources"),
            root.join("config/mappings"),
        ),
    );
    let expected = [
        (t.raw(), 3),
        (t.watermarks(), 2),
        (t.dead_letters("fetcher"), 1),
        (t.canonical("worker"), 2),
        (t.canonical("cost_center"), 2),
        (t.dead_letters("transformer"), 1),
        (t.dead_letters("sink"), 1),
    ];
    for (name, _) in expected.iter().filter(|(n, _)| !n.contains(".canonical.")) {
        topics.adopt(name);
    }
    for kind in canonflow_canonical::EntityKind::ALL {
        topics.adopt(&t.canonical(kind.name()));
    }
    let deployment = canonflow_common::config::ConfigSource::load(Some(cli.path()))
        .unwrap()
        .deployment()
        .unwrap();
    let plan = cli.run(&["topics", "create"]);
    let stdout = String::from_utf8_lossy(&plan.stdout);
    assert!(plan.status.success(), "{plan:?}");
    for (name, partitions) in &expected {
        let line = stdout.lines().find(|l| l.contains(&format!("\t{name}\t")));
        let line = line.unwrap_or_else(|| panic!("{name} not in the plan: {stdout}"));
        assert!(line.contains(&format!("partitions={partitions}")), "{line}");
    }
    assert!(stdout.contains("cleanup.policy=compact") && stdout.contains("retention.ms=-1"));
    assert!(
        partition_count(&deployment.kafka, "test", &t.raw())
            .await
            .is_err(),
        "a plan creates nothing"
    );

    let out = cli.run(&["topics", "create", "--execute"]);
    assert!(out.status.success(), "{out:?}");
    for (name, partitions) in &expected {
        let found = partition_count(&deployment.kafka, "test", name)
            .await
            .unwrap();
        assert_eq!(found, *partitions, "{name}");
    }
    let again = cli.run(&["topics", "create", "--execute"]);
    assert!(again.status.success(), "{again:?}");
}

#[tokio::test]
async fn without_stage_sections_only_the_sink_topic_is_created() {
    let stack = Stack::from_env();
    let mut topics = TestTopics::new(&stack);
    let sink_dlq = topics.topics.dead_letters("sink");
    topics.adopt(&sink_dlq);
    let cli = Cli::new(&stack, &topics.topics.prefix.clone(), "");
    let out = cli.run(&["topics", "create", "--execute", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["stages"].as_array().unwrap().len(), 1, "{plan}");
    assert_eq!(plan["stages"][0]["stage"], "sink");
    assert_eq!(plan["stages"][0]["topics"][0]["name"], sink_dlq.as_str());
    assert_eq!(
        plan["stages"][0]["topics"][0]["configs"]["retention.ms"],
        "-1"
    );
    let human = cli.run(&["topics", "create"]);
    let stderr = String::from_utf8_lossy(&human.stderr);
    assert!(stderr.contains("no [fetcher] section"), "{stderr}");
    assert!(stderr.contains("no [transformer] section"), "{stderr}");
}
