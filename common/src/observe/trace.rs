//! Traces: `tracing` spans for each unit of work become OpenTelemetry
//! spans, and W3C trace context travels in a `traceparent` Kafka header
//! from the fetcher through the transformer to the sink, so one source page
//! can be followed to its rows.
//!
//! A fetched page starts a trace (`fetch_page`). Work done in batches that
//! mix records of many pages — publishing, mapping, writing — has a span of
//! its own (a new trace, for its log lines) and, per trace its records
//! carry, one branch span continuing that trace, linked to the batch span
//! ([`Fanout`]). Records leave a stage carrying their branch's context.
//!
//! Spans are exported over OTLP/HTTP only when an endpoint is configured
//! ([`Traces::start`]); otherwise they still give log lines their trace ids
//! and nothing leaves the process.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::headers::TRACEPARENT;

/// The spans of the stages, by name (`docs/tracing.md`).
pub mod spans {
    /// Fetcher: one page requested and split; the root of a trace.
    pub const FETCH_PAGE: &str = "fetch_page";
    /// Fetcher: one transaction of pages and their checkpoint.
    pub const PUBLISH: &str = "publish";
    /// Fetcher: one page's records in that transaction (a branch).
    pub const PRODUCE: &str = "produce";
    /// Transformer: one batch, mapped and committed in one transaction.
    pub const TRANSFORM_BATCH: &str = "transform_batch";
    /// Transformer: the records of one trace in that batch (a branch).
    pub const MAP: &str = "map";
    /// Sink: one batch written to PostgreSQL and committed.
    pub const WRITE_BATCH: &str = "write_batch";
    /// Sink: the records of one trace in that batch (a branch).
    pub const WRITE: &str = "write";

    /// Every span above, in the order of `docs/tracing.md`.
    pub const ALL: [&str; 7] = [
        FETCH_PAGE,
        PUBLISH,
        PRODUCE,
        TRANSFORM_BATCH,
        MAP,
        WRITE_BATCH,
        WRITE,
    ];
}

/// Environment variables that, when no endpoint is configured, still turn
/// export on (the OpenTelemetry SDK reads them).
const OTLP_ENV: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

#[derive(Debug, thiserror::Error)]
#[error("telemetry.otlp_endpoint {endpoint:?}: cannot export traces there: {cause}")]
pub struct TraceError {
    endpoint: String,
    cause: String,
}

/// The process's tracer provider. Dropping it flushes the spans not yet
/// exported (keep it until the stage has stopped).
#[derive(Debug)]
pub struct Traces {
    provider: SdkTracerProvider,
    exporting: bool,
}

impl Traces {
    /// A provider for `service`; exporting over OTLP/HTTP to `endpoint`
    /// (the collector's base URL; `/v1/traces` is appended), or where the
    /// standard `OTEL_EXPORTER_OTLP_*` variables say, or nowhere.
    pub fn start(service: &str, endpoint: Option<&str>) -> Result<Self, TraceError> {
        let resource = Resource::builder()
            .with_service_name(service.to_owned())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let builder = SdkTracerProvider::builder().with_resource(resource);
        let from_env = OTLP_ENV
            .iter()
            .find(|name| std::env::var(name).is_ok_and(|v| !v.is_empty()));
        let exporter = match (endpoint.filter(|e| !e.is_empty()), from_env) {
            (Some(base), _) => Some(build_exporter(
                Some(format!("{}/v1/traces", base.trim_end_matches('/'))),
                base,
            )?),
            (None, Some(name)) => Some(build_exporter(None, name)?),
            (None, None) => None,
        };
        let exporting = exporter.is_some();
        let provider = match exporter {
            Some(exporter) => builder.with_batch_exporter(exporter).build(),
            None => builder.build(),
        };
        Ok(Self {
            provider,
            exporting,
        })
    }

    pub fn tracer(&self) -> SdkTracer {
        self.provider.tracer("canonflow")
    }

    /// Whether spans leave the process.
    pub fn exporting(&self) -> bool {
        self.exporting
    }
}

fn build_exporter(
    url: Option<String>,
    named: &str,
) -> Result<opentelemetry_otlp::SpanExporter, TraceError> {
    use opentelemetry_otlp::WithExportConfig;
    let builder = opentelemetry_otlp::SpanExporter::builder().with_http();
    let builder = match url {
        Some(url) => builder.with_endpoint(url),
        None => builder,
    };
    builder.build().map_err(|e| TraceError {
        endpoint: named.to_owned(),
        cause: e.to_string(),
    })
}

impl Drop for Traces {
    fn drop(&mut self) {
        if self.exporting
            && let Err(e) = self.provider.shutdown()
        {
            tracing::warn!(error = %e, "spans not exported at shutdown");
        }
    }
}

/// The `traceparent` value that names `span`, for the records it sends;
/// `None` when the span is not traced (no subscriber, or filtered out).
pub fn traceparent(span: &Span) -> Option<String> {
    let context = span.context();
    let reference = context.span();
    let span = reference.span_context();
    span.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            span.trace_id(),
            span.span_id(),
            span.trace_flags().to_u8()
        )
    })
}

/// The remote span a `traceparent` value names, if it is well-formed.
pub fn parent(traceparent: &str) -> Option<Context> {
    let context = TraceContextPropagator::new().extract(&Carrier(traceparent));
    context
        .span()
        .span_context()
        .is_valid()
        .then_some(context.clone())
}

/// A carrier holding just a `traceparent` value.
struct Carrier<'a>(&'a str);

impl Extractor for Carrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == TRACEPARENT).then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT]
    }
}

/// Records `span`'s trace id in its `trace_id` field (declared empty), so
/// log lines inside it show which trace they belong to.
pub fn record_trace_id(span: &Span) {
    let context = span.context();
    let reference = context.span();
    let id = reference.span_context();
    if id.is_valid() {
        span.record("trace_id", tracing::field::display(id.trace_id()));
    }
}

/// Marks `span` as failed, with `error` as the status message.
pub fn fail(span: &Span, error: &dyn std::fmt::Display) {
    span.set_status(opentelemetry::trace::Status::error(error.to_string()));
}

/// The spans of one batch whose records belong to many traces: the batch's
/// own span, and one branch per trace continuing it (see the module docs).
#[derive(Debug)]
pub struct Fanout {
    batch: Span,
    /// What records without trace context carry on: the batch's context.
    batch_traceparent: Option<String>,
    branches: HashMap<String, Branch>,
}

#[derive(Debug)]
struct Branch {
    span: Span,
    traceparent: Option<String>,
    records: u64,
}

impl Fanout {
    /// `batch` must declare an empty `trace_id` field.
    pub fn new(batch: Span) -> Self {
        record_trace_id(&batch);
        Self {
            batch_traceparent: traceparent(&batch),
            batch,
            branches: HashMap::new(),
        }
    }

    pub fn batch(&self) -> &Span {
        &self.batch
    }

    /// Counts `records` that carry trace context `parent`, and returns the
    /// `traceparent` that what they turn into carries on: their branch's
    /// (made by `make` the first time the trace is seen), or for records
    /// without (valid) context the batch's.
    pub fn carry(
        &mut self,
        parent: Option<&str>,
        records: u64,
        make: impl FnOnce() -> Span,
    ) -> Option<&str> {
        self.count(parent, records, make);
        self.traceparent(parent)
    }

    /// The counting half of [`carry`](Self::carry): makes `parent`'s branch
    /// if it is new. Once every record is counted, the traceparents can be
    /// asked for from several threads ([`traceparent`](Self::traceparent)).
    pub fn count(&mut self, parent: Option<&str>, records: u64, make: impl FnOnce() -> Span) {
        let Some(key) = parent else {
            return;
        };
        if !self.branches.contains_key(key) {
            let branch = self.branch(key, make);
            self.branches.insert(key.to_owned(), branch);
        }
        if let Some(branch) = self.branches.get_mut(key) {
            branch.records += records;
        }
    }

    /// The `traceparent` that records with trace context `parent`, counted
    /// already, carry on (the batch's for records without one).
    pub fn traceparent(&self, parent: Option<&str>) -> Option<&str> {
        match parent {
            None => self.batch_traceparent.as_deref(),
            Some(key) => self.branches.get(key)?.traceparent.as_deref(),
        }
    }

    /// A branch continuing the trace `parent` names; a malformed value gets
    /// none, and its records carry on the batch's context.
    fn branch(&self, parent: &str, make: impl FnOnce() -> Span) -> Branch {
        let Some(context) = self::parent(parent) else {
            return Branch {
                span: Span::none(),
                traceparent: self.batch_traceparent.clone(),
                records: 0,
            };
        };
        let span = make();
        // Fails only for a span that is disabled or already started: then
        // it is simply not part of that trace.
        let _ = span.set_parent(context);
        span.add_link(self.batch.context().span().span_context().clone());
        Branch {
            traceparent: traceparent(&span),
            span,
            records: 0,
        }
    }

    /// Ends the branches (each with its record count) and the batch span.
    pub fn finish(self) {
        for branch in self.branches.into_values() {
            branch
                .span
                .set_attribute("records", i64::try_from(branch.records).unwrap_or(i64::MAX));
        }
    }
}

#[cfg(test)]
#[path = "trace_tests.rs"]
mod tests;
