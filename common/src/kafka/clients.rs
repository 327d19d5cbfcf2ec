//! librdkafka settings for each kind of client, built from [`KafkaConfig`].
//!
//! The defaults here carry canonflow's delivery promise: producers wait for
//! all in-sync replicas and are idempotent; consumers never commit or store
//! an offset on their own (stages do so only after their effects are
//! durable) and read only committed transactional data where the broker
//! supports it.

use rdkafka::ClientConfig;
use secrecy::ExposeSecret;

use super::config::KafkaConfig;
use crate::config::ConfigError;
use crate::observe::Stage;

/// How often consumers report statistics (lag, broker connections).
const STATISTICS_INTERVAL_MS: &str = "5000";

/// librdkafka properties with two names, among those stages set defaults
/// for (`with_defaults`).
const ALIASES: &[(&str, &str)] = &[
    ("compression.type", "compression.codec"),
    ("linger.ms", "queue.buffering.max.ms"),
];

/// The other name of `key`, if it has one.
fn alias(key: &str) -> Option<&'static str> {
    ALIASES.iter().find_map(|&(a, b)| match key {
        k if k == a => Some(b),
        k if k == b => Some(a),
        _ => None,
    })
}

impl KafkaConfig {
    /// Connection and security settings shared by every client.
    /// `role` (e.g. `"sink"`) is appended to the client id.
    pub fn client_config(&self, role: &str) -> Result<ClientConfig, ConfigError> {
        self.validate()?;
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.bootstrap_servers)
            .set("client.id", format!("{}-{role}", self.client_id))
            .set("security.protocol", self.security_protocol.as_librdkafka());
        if let Some(tls) = &self.tls {
            let path = |p: &std::path::PathBuf| p.display().to_string();
            if let Some(ca) = &tls.ca_location {
                config.set("ssl.ca.location", path(ca));
            }
            if let Some(cert) = &tls.certificate_location {
                config.set("ssl.certificate.location", path(cert));
            }
            if let Some(key) = &tls.key_location {
                config.set("ssl.key.location", path(key));
            }
            if let Some(password) = &tls.key_password {
                let secret = password.resolve().map_err(|source| ConfigError::Secret {
                    key: "kafka.tls.key_password".into(),
                    source,
                })?;
                config.set("ssl.key.password", secret.expose_secret());
            }
            let verify = if tls.verify_hostname { "https" } else { "none" };
            config.set("ssl.endpoint.identification.algorithm", verify);
        }
        if let Some(sasl) = &self.sasl {
            let secret = sasl
                .password
                .resolve()
                .map_err(|source| ConfigError::Secret {
                    key: "kafka.sasl.password".into(),
                    source,
                })?;
            config
                .set("sasl.mechanism", sasl.mechanism.as_librdkafka())
                .set("sasl.username", &sasl.username)
                .set("sasl.password", secret.expose_secret());
        }
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        Ok(config)
    }

    /// A producer that waits for all in-sync replicas and never duplicates
    /// on retry.
    pub fn producer_config(&self, role: &str) -> Result<ClientConfig, ConfigError> {
        let mut config = self.client_config(role)?;
        config.set("acks", "all").set("enable.idempotence", "true");
        self.reapply_properties(&mut config);
        Ok(config)
    }

    /// A transactional producer; `transactional_id` must be stable across
    /// restarts of the same stage copy so that a restart fences its zombie.
    pub fn transactional_producer_config(
        &self,
        role: &str,
        transactional_id: &str,
    ) -> Result<ClientConfig, ConfigError> {
        let mut config = self.producer_config(role)?;
        config.set("transactional.id", transactional_id);
        self.reapply_properties(&mut config);
        Ok(config)
    }

    /// Prefetched records a consumer holds at most, in KiB; librdkafka's
    /// default (64 MiB) made a quarter of a sink's memory without making it
    /// faster (`docs/performance.md`, 2026-12-04).
    pub const CONSUMER_PREFETCH_KIB: &str = "16384";

    /// How long a consumer whose prefetch is full waits before fetching
    /// again, in ms. librdkafka's default (1000) stalled every consumer for
    /// a second each time its prefetch filled up: the transformer's reads
    /// ran at half their speed, the benchmarks' pass-through limit at a
    /// third (`docs/performance.md`, 2026-12-05).
    pub const CONSUMER_FULL_QUEUE_BACKOFF_MS: &str = "10";

    /// A group consumer that stores and commits offsets only when told to,
    /// prefetching at most [`Self::CONSUMER_PREFETCH_KIB`] and fetching
    /// again soon after it drained ([`Self::CONSUMER_FULL_QUEUE_BACKOFF_MS`]).
    pub fn consumer_config(&self, role: &str, group_id: &str) -> Result<ClientConfig, ConfigError> {
        let mut config = self.client_config(role)?;
        config
            .set("group.id", group_id)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", "read_committed")
            .set("queued.max.messages.kbytes", Self::CONSUMER_PREFETCH_KIB)
            .set(
                "fetch.queue.backoff.ms",
                Self::CONSUMER_FULL_QUEUE_BACKOFF_MS,
            )
            .set("session.timeout.ms", self.session_timeout_ms.to_string());
        self.reapply_properties(&mut config);
        Ok(config)
    }

    /// A stage's main group consumer: [`consumer_config`](Self::consumer_config)
    /// plus the statistics its context turns into lag and connectivity
    /// (`observe::kafka`; the context must handle `stats`).
    pub fn stage_consumer_config(
        &self,
        stage: Stage,
        group_id: &str,
    ) -> Result<ClientConfig, ConfigError> {
        let mut config = self.consumer_config(stage.as_str(), group_id)?;
        config.set("statistics.interval.ms", STATISTICS_INTERVAL_MS);
        self.reapply_properties(&mut config);
        Ok(config)
    }

    /// Sets a stage's own defaults on `config`, each unless the user's
    /// properties name it, under its name or its librdkafka alias: the
    /// user's settings still win.
    pub fn with_defaults(&self, config: &mut ClientConfig, defaults: &[(&str, &str)]) {
        for (key, value) in defaults {
            let named = |k: &str| self.properties.contains_key(k);
            if !named(key) && !alias(key).is_some_and(named) {
                config.set(*key, *value);
            }
        }
    }

    /// User properties win over the role defaults set after `client_config`.
    fn reapply_properties(&self, config: &mut ClientConfig) {
        for (key, value) in &self.properties {
            config.set(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kafka::{SaslConfig, SaslMechanism, SecurityProtocol};
    use crate::secret::SecretRef;

    #[test]
    fn producer_is_durable_and_consumer_commits_nothing_by_itself() {
        let kafka = KafkaConfig::local("127.0.0.1:9092");
        let producer = kafka.producer_config("fetcher").unwrap();
        assert_eq!(producer.get("acks"), Some("all"));
        assert_eq!(producer.get("enable.idempotence"), Some("true"));
        assert_eq!(producer.get("client.id"), Some("canonflow-fetcher"));

        let consumer = kafka.consumer_config("sink", "g").unwrap();
        assert_eq!(consumer.get("enable.auto.commit"), Some("false"));
        assert_eq!(consumer.get("enable.auto.offset.store"), Some("false"));
        assert_eq!(consumer.get("isolation.level"), Some("read_committed"));
        assert_eq!(consumer.get("session.timeout.ms"), Some("6000"));
        // A full prefetch must not stall fetching for librdkafka's second.
        assert_eq!(consumer.get("fetch.queue.backoff.ms"), Some("10"));
    }

    #[test]
    fn stage_defaults_yield_to_the_users_properties_and_their_aliases() {
        let mut kafka = KafkaConfig::local("127.0.0.1:9092");
        let defaults = [("compression.type", "lz4"), ("linger.ms", "7")];
        let mut config = kafka.producer_config("transformer").unwrap();
        kafka.with_defaults(&mut config, &defaults);
        assert_eq!(config.get("compression.type"), Some("lz4"));
        assert_eq!(config.get("linger.ms"), Some("7"));

        kafka
            .properties
            .insert("compression.codec".into(), "zstd".into());
        kafka
            .properties
            .insert("queue.buffering.max.ms".into(), "20".into());
        let mut config = kafka.producer_config("transformer").unwrap();
        kafka.with_defaults(&mut config, &defaults);
        assert_eq!(config.get("compression.type"), None);
        assert_eq!(config.get("compression.codec"), Some("zstd"));
        assert_eq!(config.get("linger.ms"), None);
        assert_eq!(config.get("queue.buffering.max.ms"), Some("20"));
    }

    #[test]
    fn sasl_settings_pass_through_with_the_secret_resolved() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret").unwrap();
        let mut kafka = KafkaConfig::local("broker:9093");
        kafka.security_protocol = SecurityProtocol::SaslSsl;
        kafka.sasl = Some(SaslConfig {
            mechanism: SaslMechanism::ScramSha512,
            username: "canonflow".into(),
            password: SecretRef::File { file },
        });
        let config = kafka.client_config("ctl").unwrap();
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(config.get("sasl.password"), Some("s3cret"));
    }

    #[test]
    fn inconsistent_security_settings_are_rejected_by_key() {
        let mut kafka = KafkaConfig::local("broker:9093");
        kafka.security_protocol = SecurityProtocol::SaslPlaintext;
        let err = kafka.client_config("x").unwrap_err().to_string();
        assert!(err.contains("kafka.sasl"), "{err}");

        let mut kafka = KafkaConfig::local("broker:9093");
        kafka
            .properties
            .insert("sasl.password".into(), "plain-text".into());
        let err = kafka.client_config("x").unwrap_err().to_string();
        assert!(
            err.contains("sasl.password") && !err.contains("plain-text"),
            "{err}"
        );
    }

    #[test]
    fn user_properties_override_role_defaults() {
        let mut kafka = KafkaConfig::local("broker:9092");
        kafka.properties.insert("linger.ms".into(), "50".into());
        kafka.properties.insert("acks".into(), "1".into());
        let producer = kafka.producer_config("x").unwrap();
        assert_eq!(producer.get("linger.ms"), Some("50"));
        assert_eq!(producer.get("acks"), Some("1"));
    }
}
