//! Tests of trace context: what records carry on, which spans continue
//! which trace, and trace ids in log lines.

use std::sync::{Arc, Mutex};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use tracing::field::Empty;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;

use super::*;

/// Keeps every exported span in memory.
#[derive(Debug, Clone, Default)]
struct Kept(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Kept {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().unwrap().extend(batch);
        Ok(())
    }
}

impl Kept {
    fn named(&self, name: &str) -> Vec<SpanData> {
        let spans = self.0.lock().unwrap();
        spans.iter().filter(|s| s.name == name).cloned().collect()
    }
}

/// Runs `body` under a subscriber whose spans end up in the returned
/// `Kept`, and whose log lines are returned as text.
fn traced(json: bool, body: impl FnOnce()) -> (Kept, String) {
    let kept = Kept::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(kept.clone())
        .build();
    let lines = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = {
        let lines = Arc::clone(&lines);
        move || Buffer(Arc::clone(&lines))
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(writer);
    let fmt = if json {
        fmt.json().with_current_span(true).boxed()
    } else {
        fmt.compact().with_ansi(false).boxed()
    };
    let subscriber = tracing_subscriber::registry()
        .with(fmt)
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::with_default(subscriber, body);
    provider.force_flush().unwrap();
    let text = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
    (kept, text)
}

struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn ids(traceparent: &str) -> (TraceId, SpanId) {
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!((parts.len(), parts[0], parts[3]), (4, "00", "01"));
    (
        TraceId::from_hex(parts[1]).unwrap(),
        SpanId::from_hex(parts[2]).unwrap(),
    )
}

#[test]
fn a_batch_continues_each_trace_its_records_carry_in_one_branch() {
    let mut carried = Vec::new();
    let (kept, _) = traced(false, || {
        let page = tracing::info_span!(parent: None, "fetch_page");
        let from_page = traceparent(&page).unwrap();
        drop(page);
        let mut fanout = Fanout::new(tracing::info_span!("write_batch", trace_id = Empty));
        let make = || tracing::info_span!("write");
        carried.push(fanout.carry(Some(&from_page), 2, make).map(str::to_owned));
        let again = fanout.carry(Some(&from_page), 3, || panic!("one branch per trace"));
        carried.push(again.map(str::to_owned));
        carried.push(fanout.carry(None, 1, make).map(str::to_owned));
        carried.push(fanout.carry(Some("00-garbage"), 1, make).map(str::to_owned));
        carried.push(traceparent(fanout.batch()));
        fanout.finish();
    });
    let [page] = &kept.named("fetch_page")[..] else {
        panic!("one page span")
    };
    let [branch] = &kept.named("write")[..] else {
        panic!("one branch span")
    };
    let [batch] = &kept.named("write_batch")[..] else {
        panic!("one batch span")
    };
    // The branch continues the page's trace, and is linked to the batch.
    assert_eq!(branch.span_context.trace_id(), page.span_context.trace_id());
    assert_eq!(branch.parent_span_id, page.span_context.span_id());
    assert_ne!(batch.span_context.trace_id(), page.span_context.trace_id());
    let links: Vec<SpanId> = branch
        .links
        .iter()
        .map(|l| l.span_context.span_id())
        .collect();
    assert_eq!(links, [batch.span_context.span_id()]);
    assert!(
        branch.attributes.contains(&KeyValue::new("records", 5_i64)),
        "{:?}",
        branch.attributes
    );
    // Records of the page carry on the branch; others, the batch.
    let carried: Vec<String> = carried.into_iter().map(Option::unwrap).collect();
    assert_eq!(carried[0], carried[1]);
    assert_eq!(
        ids(&carried[0]),
        (
            branch.span_context.trace_id(),
            branch.span_context.span_id()
        )
    );
    assert_eq!(carried[2], carried[4]);
    assert_eq!(carried[3], carried[4]);
    assert_eq!(
        ids(&carried[4]),
        (batch.span_context.trace_id(), batch.span_context.span_id())
    );
}

#[test]
fn a_malformed_or_foreign_traceparent_is_no_parent() {
    assert!(parent("00-garbage").is_none());
    assert!(parent("00-00000000000000000000000000000000-0000000000000000-01").is_none());
    let cx = parent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    assert_eq!(
        cx.span().span_context().trace_id(),
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
    );
}

#[test]
fn untraced_spans_carry_nothing() {
    // No subscriber: spans are disabled, and records carry no context.
    let span = tracing::info_span!("fetch_page");
    assert_eq!(traceparent(&span), None);
    let mut fanout = Fanout::new(tracing::info_span!("write_batch"));
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    assert_eq!(
        fanout.carry(Some(tp), 1, || tracing::info_span!("write")),
        None
    );
}

#[test]
fn log_lines_inside_a_span_carry_its_trace_id() {
    for json in [false, true] {
        let mut trace_id = String::new();
        let (_, lines) = traced(json, || {
            let span = tracing::info_span!("fetch_page", trace_id = Empty);
            record_trace_id(&span);
            trace_id = ids(&traceparent(&span).unwrap()).0.to_string();
            span.in_scope(|| tracing::warn!("retrying"));
            tracing::warn!("outside");
        });
        let with: Vec<&str> = lines.lines().filter(|l| l.contains(&trace_id)).collect();
        assert_eq!(with.len(), 1, "json {json}: {lines}");
        assert!(with[0].contains("retrying"), "{lines}");
    }
}

#[test]
fn the_docs_list_every_span() {
    let docs = include_str!("../../../docs/tracing.md");
    let section = docs.split("\n## Spans\n").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    let listed: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
        .collect();
    assert_eq!(listed, spans::ALL);
}
