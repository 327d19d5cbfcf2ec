//! Every metric canonflow exports, in one table: its name, kind, labels and
//! meaning. `docs/metrics.md` is the written spec and a test keeps the two
//! equal; the dashboards and alert rules may use only names from here.
//!
//! Label values come only from small fixed sets (stage, source, stream,
//! entity, error class, outcome, topic and partition) — never from ids or
//! error text — so a series count never grows with the data.

/// What kind of Prometheus series a metric is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Gauge => "gauge",
            Self::Histogram => "histogram",
        }
    }
}

/// One metric of the spec.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

macro_rules! metrics {
    ($($(#[$doc:meta])* $const:ident = $name:literal, $kind:ident, [$($label:literal),*], $help:literal;)*) => {
        $($(#[$doc])* pub const $const: &str = $name;)*
        /// The whole spec, in the order of `docs/metrics.md`.
        pub const ALL: &[Metric] = &[$(Metric {
            name: $name,
            kind: Kind::$kind,
            labels: &[$($label),*],
            help: $help,
        }),*];
    };
}

metrics! {
    // Every process.
    BUILD_INFO = "canonflow_build_info", Gauge, ["stage", "version"],
        "Always 1; the stage and canonflow version of this process.";
    KAFKA_BROKERS_UP = "canonflow_kafka_brokers_up", Gauge, ["stage"],
        "Brokers the stage's consumer is connected to (librdkafka statistics).";
    CONSUMER_LAG_RECORDS = "canonflow_consumer_lag_records", Gauge, ["stage", "topic", "partition"],
        "Records between the group's committed offset and the partition's end (librdkafka statistics).";
    CONSUMER_LAG_SECONDS = "canonflow_consumer_lag_seconds", Gauge, ["stage", "topic", "partition"],
        "Age of the newest record the stage has finished with in the partition, from its Kafka timestamp.";
    CONSUMER_REBALANCES = "canonflow_consumer_rebalances_total", Counter, ["stage"],
        "Assignment changes of the stage's consumer.";

    // Fetcher.
    FETCHER_REQUESTS = "canonflow_fetcher_requests_total", Counter, ["source", "stream", "status"],
        "HTTP requests to sources by outcome: 2xx, 3xx, 4xx, 5xx, or error (timeout, connection).";
    FETCHER_REQUEST_SECONDS = "canonflow_fetcher_request_duration_seconds", Histogram, ["source", "stream"],
        "Time from sending a request to having its whole body.";
    FETCHER_PAGES = "canonflow_fetcher_pages_total", Counter, ["source", "stream"],
        "Pages fetched and published.";
    FETCHER_RECORDS = "canonflow_fetcher_records_total", Counter, ["source", "stream"],
        "Raw records published.";
    FETCHER_BYTES = "canonflow_fetcher_bytes_total", Counter, ["source", "stream"],
        "Bytes of response bodies received.";
    FETCHER_RETRIES = "canonflow_fetcher_retries_total", Counter, ["source", "stream"],
        "Requests sent again after a retryable failure (5xx, 429, timeout, reset).";
    FETCHER_RATE_LIMIT_WAITS = "canonflow_fetcher_rate_limit_waits_total", Counter, ["source"],
        "Requests that waited for the source's client-side rate limit.";
    FETCHER_CIRCUIT_STATE = "canonflow_fetcher_circuit_state", Gauge, ["source"],
        "The source's circuit breaker: 0 closed, 1 half-open, 2 open.";
    FETCHER_DEAD_LETTERS = "canonflow_fetcher_dead_letters_total", Counter, ["source", "stream"],
        "Source records that could not be published as raw records (no key, bad cursor).";
    FETCHER_WATERMARK_AGE = "canonflow_fetcher_watermark_age_seconds", Gauge, ["source", "stream"],
        "Now minus the stream's committed watermark (time cursors), set after every sync.";
    FETCHER_SYNC_SECONDS = "canonflow_fetcher_sync_duration_seconds", Histogram, ["source", "stream", "outcome"],
        "Duration of one sync of one stream; outcome ok or failed.";

    // Transformer.
    TRANSFORMER_RECORDS_IN = "canonflow_transformer_records_in_total", Counter, [],
        "Raw records consumed and committed (= out + dead-lettered + unmapped).";
    TRANSFORMER_RECORDS_OUT = "canonflow_transformer_records_out_total", Counter, ["entity"],
        "Canonical records produced from raw records.";
    TRANSFORMER_DEAD_LETTERS = "canonflow_transformer_dead_letters_total", Counter, ["class"],
        "Raw records sent to the dead-letter topic, by error class.";
    TRANSFORMER_UNMAPPED = "canonflow_transformer_unmapped_total", Counter, [],
        "Raw records of streams without a mapping, skipped.";
    TRANSFORMER_REEMITTED = "canonflow_transformer_reemitted_total", Counter, [],
        "Canonical records produced again because a late reference enriched them.";
    TRANSFORMER_MAP_SECONDS = "canonflow_transformer_map_duration_seconds", Histogram, [],
        "Time to map and encode one raw record.";
    TRANSFORMER_TRANSACTIONS = "canonflow_transformer_transactions_total", Counter, ["outcome"],
        "Kafka transactions: committed or aborted.";
    TRANSFORMER_TRANSACTION_SECONDS = "canonflow_transformer_transaction_duration_seconds", Histogram, [],
        "Time from beginning a batch's transaction to its commit.";

    DRIFT_EVENTS = "canonflow_transformer_drift_events_total", Counter, ["source", "stream", "kind"],
        "Changes in a stream's raw records against its baseline: field_added, field_removed, type_changed, null_rate (each field and kind once; the log event names the field).";

    // Sink.
    SINK_RECORDS_IN = "canonflow_sink_records_in_total", Counter, [],
        "Canonical records consumed and committed (= rows by outcome + dead-lettered).";
    SINK_ROWS = "canonflow_sink_rows_total", Counter, ["outcome"],
        "What each record did to its row: inserted, updated, unchanged (version guard), deleted, or superseded (a newer version in the same batch).";
    SINK_DEAD_LETTERS = "canonflow_sink_dead_letters_total", Counter, ["class"],
        "Canonical records sent to the sink's dead-letter topic, by error class.";
    SINK_DATABASE_ERRORS = "canonflow_sink_database_errors_total", Counter, ["class"],
        "Failed database writes: retryable (retried), invalid_input (a row refused), fatal.";
    SINK_BATCH_RECORDS = "canonflow_sink_batch_records", Histogram, [],
        "Records per written batch.";
    SINK_BATCH_SECONDS = "canonflow_sink_batch_duration_seconds", Histogram, [],
        "Time to write one batch, retries included.";
    SINK_FRESHNESS_SECONDS = "canonflow_sink_freshness_seconds", Histogram, [],
        "End to end: from the fetcher receiving a record's page to its row committed in PostgreSQL.";
}

/// The metrics a stage's endpoint exports: its own (`canonflow_<stage>_…`)
/// and the shared ones that apply to it (the fetcher commits no consumer
/// offsets, so it has no consumer lag).
pub fn of_stage(stage: super::Stage) -> impl Iterator<Item = &'static Metric> {
    let own = format!("canonflow_{}_", stage.as_str());
    ALL.iter().filter(move |m| match m.name {
        BUILD_INFO | KAFKA_BROKERS_UP | CONSUMER_REBALANCES => true,
        CONSUMER_LAG_RECORDS | CONSUMER_LAG_SECONDS => stage != super::Stage::Fetcher,
        name => name.starts_with(&own),
    })
}

/// Histogram buckets by name suffix: durations in seconds, sizes in records.
pub fn buckets(name: &str) -> &'static [f64] {
    if name == SINK_FRESHNESS_SECONDS {
        &[
            0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
        ]
    } else if name.ends_with("_seconds") {
        &[
            0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            30.0, 60.0,
        ]
    } else {
        &[
            1.0, 10.0, 100.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/metrics.md` lists every metric as a table row
    /// `| \`name\` | kind | labels | meaning |`.
    #[test]
    fn spec_matches_docs() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/metrics.md");
        let docs = std::fs::read_to_string(path).unwrap();
        let documented: Vec<(String, String, String)> = docs
            .lines()
            .filter(|l| l.starts_with("| `canonflow_"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (
                    cells[1].trim_matches('`').to_owned(),
                    cells[2].to_owned(),
                    cells[3].replace('—', ""),
                )
            })
            .collect();
        let code: Vec<(String, String, String)> = ALL
            .iter()
            .map(|m| {
                (
                    m.name.to_owned(),
                    m.kind.as_str().to_owned(),
                    m.labels.join(", "),
                )
            })
            .collect();
        assert_eq!(
            documented, code,
            "docs/metrics.md and observe::names disagree"
        );
    }

    /// The metric names a file mentions (`canonflow_…`), histogram series
    /// (`_bucket`, `_sum`, `_count`) by their metric's name.
    fn mentioned(text: &str) -> std::collections::BTreeSet<String> {
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("canonflow_"))
            .map(|w| {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| w.strip_suffix(s))
                    .filter(|base| {
                        ALL.iter()
                            .any(|m| m.name == *base && m.kind == Kind::Histogram)
                    })
                    .unwrap_or(w)
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn deploy_uses_only_spec_metrics() {
        let deploy = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy");
        let dashboard =
            std::fs::read_to_string(format!("{deploy}/grafana/canonflow.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&dashboard).expect("the dashboard is JSON");
        let alerts = std::fs::read_to_string(format!("{deploy}/prometheus/alerts.yml")).unwrap();
        let spec: std::collections::BTreeSet<String> =
            ALL.iter().map(|m| m.name.to_owned()).collect();
        for (file, text) in [("dashboard", &dashboard), ("alerts", &alerts)] {
            let unknown: Vec<_> = mentioned(text).difference(&spec).cloned().collect();
            assert!(
                unknown.is_empty(),
                "the {file} uses metrics not in the spec: {unknown:?}"
            );
        }
        let uncovered: Vec<_> = spec.difference(&mentioned(&dashboard)).cloned().collect();
        assert!(
            uncovered.is_empty(),
            "the dashboard does not show {uncovered:?}"
        );
    }

    #[test]
    fn names_are_unique_and_follow_prometheus_conventions() {
        let mut seen = std::collections::HashSet::new();
        for m in ALL {
            assert!(seen.insert(m.name), "{} listed twice", m.name);
            assert!(m.name.starts_with("canonflow_"), "{}", m.name);
            assert_eq!(
                m.kind == Kind::Counter,
                m.name.ends_with("_total"),
                "{}: counters and only counters end in _total",
                m.name
            );
            assert!(!m.help.is_empty(), "{} has no help", m.name);
        }
    }
}
