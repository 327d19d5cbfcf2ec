//! The three error classes that decide what a stage does with a failure.
//!
//! Every error that can reach a stage's main loop is sorted into exactly one
//! class: *retryable* (back off and try again; nothing is committed meanwhile),
//! *invalid input* (the data itself is bad: dead-letter it and move on) or
//! *fatal* (configuration, credentials, a bug: stop the process with a clear
//! message). Stages decide by class, never by matching error text.

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// What a stage must do with a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Transient: retry with backoff, commit nothing meanwhile.
    Retryable,
    /// The data is bad: dead-letter it with its context and continue.
    InvalidInput,
    /// Retrying cannot help: stop and tell the operator what to fix.
    Fatal,
}

impl ErrorClass {
    /// The fixed label used in logs, metrics and dead-letter headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retryable => "retryable",
            Self::InvalidInput => "invalid_input",
            Self::Fatal => "fatal",
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Implemented by every error type that crosses a crate boundary.
pub trait Classify {
    fn class(&self) -> ErrorClass;
}

impl Classify for KafkaError {
    fn class(&self) -> ErrorClass {
        classify_kafka(self)
    }
}

/// Sorts a Kafka client error. Unknown codes count as retryable: librdkafka
/// reports most broker and transport trouble that way, and a stage that
/// retries with backoff and commits nothing loses nothing.
pub fn classify_kafka(error: &KafkaError) -> ErrorClass {
    use RDKafkaErrorCode as C;
    match error {
        KafkaError::ClientConfig(..) | KafkaError::ClientCreation(_) => ErrorClass::Fatal,
        KafkaError::Transaction(e) if e.is_fatal() => ErrorClass::Fatal,
        KafkaError::Transaction(e) if e.is_retriable() || e.txn_requires_abort() => {
            ErrorClass::Retryable
        }
        _ => match error.rdkafka_error_code() {
            Some(
                C::MessageSizeTooLarge
                | C::InvalidMessage
                | C::InvalidMessageSize
                | C::InvalidRecord,
            ) => ErrorClass::InvalidInput,
            Some(
                C::SaslAuthenticationFailed
                | C::Authentication
                | C::TopicAuthorizationFailed
                | C::GroupAuthorizationFailed
                | C::ClusterAuthorizationFailed
                | C::TransactionalIdAuthorizationFailed
                | C::UnsupportedSASLMechanism
                | C::InvalidConfig
                | C::Fatal
                | C::ProducerFenced
                | C::InvalidProducerEpoch
                | C::UnsupportedVersion
                | C::UnsupportedFeature,
            ) => ErrorClass::Fatal,
            _ => ErrorClass::Retryable,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_errors_are_sorted_by_code() {
        let oversized = KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge);
        let denied = KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed);
        let transport = KafkaError::MessageProduction(RDKafkaErrorCode::BrokerTransportFailure);
        let config = KafkaError::ClientCreation("bad".into());
        assert_eq!(oversized.class(), ErrorClass::InvalidInput);
        assert_eq!(denied.class(), ErrorClass::Fatal);
        assert_eq!(transport.class(), ErrorClass::Retryable);
        assert_eq!(config.class(), ErrorClass::Fatal);
    }

    #[test]
    fn labels_are_stable() {
        let labels: Vec<_> = [
            ErrorClass::Retryable,
            ErrorClass::InvalidInput,
            ErrorClass::Fatal,
        ]
        .iter()
        .map(|c| c.to_string())
        .collect();
        assert_eq!(labels, ["retryable", "invalid_input", "fatal"]);
    }
}
