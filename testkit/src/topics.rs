//! Topics of one test: created with a unique prefix, deleted on drop.

use std::time::Duration;

use canonflow_common::topics::Topics;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

use crate::{Stack, unique};

/// Topic names under a random prefix, plus an admin client to make them.
pub struct TestTopics {
    pub topics: Topics,
    admin: AdminClient<DefaultClientContext>,
    created: Vec<String>,
}

impl std::fmt::Debug for TestTopics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestTopics")
            .field("prefix", &self.topics.prefix)
            .field("created", &self.created)
            .finish()
    }
}

impl TestTopics {
    pub fn new(stack: &Stack) -> Self {
        let admin = stack
            .kafka()
            .client_config("test-admin")
            .expect("test Kafka settings are valid")
            .create()
            .expect("admin client");
        Self {
            topics: Topics::with_prefix(unique("t")),
            admin,
            created: Vec::new(),
        }
    }

    /// Creates `name` with `partitions` partitions and the given topic
    /// configs; it is deleted when `self` drops.
    pub async fn create(&mut self, name: &str, partitions: i32, configs: &[(&str, &str)]) {
        let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        for (key, value) in configs {
            topic = topic.set(key, value);
        }
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let results = self
            .admin
            .create_topics([&topic], &options)
            .await
            .expect("create_topics request");
        for result in results {
            result.unwrap_or_else(|(topic, code)| panic!("creating topic {topic}: {code}"));
        }
        self.created.push(name.to_owned());
    }

    /// A topic the code under test creates: deleted with the others.
    pub fn adopt(&mut self, name: &str) {
        self.created.push(name.to_owned());
    }

    /// A fresh, unique name under this test's prefix (not yet created).
    pub fn name(&self, suffix: &str) -> String {
        format!("{}.{suffix}", self.topics.prefix)
    }
}

impl Drop for TestTopics {
    fn drop(&mut self) {
        if self.created.is_empty() {
            return;
        }
        let names = std::mem::take(&mut self.created);
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(5)));
        // Admin futures need no runtime; block on a plain thread so drop
        // also works inside a Tokio runtime. Failure leaves topics behind in
        // a memory-backed test broker: worth a note, not a panic in drop.
        let deleted = std::thread::scope(|s| {
            s.spawn(|| futures::executor::block_on(self.admin.delete_topics(&refs, &options)))
                .join()
        });
        if !matches!(deleted, Ok(Ok(_))) {
            eprintln!("note: could not delete test topics {names:?}");
        }
    }
}
