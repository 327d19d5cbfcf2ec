//! Traces across processes: the stages export their spans over OTLP/HTTP
//! to a receiver in this test, and one source page's trace is followed
//! from the fetcher through the transformer to the sink — the W3C context
//! each stage put in the Kafka headers is the parent of the next stage's
//! span.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use canonflow_common::observe::Stage;
use canonflow_common::observe::trace::spans;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message as _;

use canonflow_tests::pipeline::DemoPipeline;

const DEADLINE: Duration = Duration::from_secs(240);

/// One exported span, as the receiver saw it.
#[derive(Debug, Clone)]
struct Seen {
    service: String,
    name: String,
    trace: Vec<u8>,
    id: Vec<u8>,
    parent: Vec<u8>,
}

/// An OTLP/HTTP receiver (protobuf) that keeps every span it is sent.
#[derive(Clone, Default)]
struct Receiver(Arc<Mutex<Vec<Seen>>>);

impl Receiver {
    /// Serves `POST /v1/traces` on a loopback port; returns the base URL.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let kept = self.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: Bytes| async move {
                kept.keep(&ExportTraceServiceRequest::decode(body).unwrap());
                (
                    [("content-type", "application/x-protobuf")],
                    Vec::<u8>::new(),
                )
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{address}")
    }

    fn keep(&self, request: &ExportTraceServiceRequest) {
        let mut kept = self.0.lock().unwrap();
        for resource in &request.resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|a| a.key == "service.name")
                .and_then(|a| match a.value.as_ref()?.value.as_ref()? {
                    Value::StringValue(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for span in resource.scope_spans.iter().flat_map(|s| &s.spans) {
                kept.push(Seen {
                    service: service.clone(),
                    name: span.name.clone(),
                    trace: span.trace_id.clone(),
                    id: span.span_id.clone(),
                    parent: span.parent_span_id.clone(),
                });
            }
        }
    }

    fn spans(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
}

/// The chain of spans from a sink `write` back to the `fetch_page` that
/// started its trace, if every link was exported:
/// fetch_page → produce → map → write.
fn chain(spans: &[Seen], write: &Seen) -> Option<[Seen; 4]> {
    let by_id: HashMap<&[u8], &Seen> = spans.iter().map(|s| (s.id.as_slice(), s)).collect();
    let parent = |s: &Seen| by_id.get(s.parent.as_slice()).copied().cloned();
    let map = parent(write)?;
    let produce = parent(&map)?;
    let page = parent(&produce)?;
    Some([page, produce, map, write.clone()])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_page_is_followed_from_the_fetcher_to_its_rows() {
    let receiver = Receiver::default();
    let endpoint = receiver.start().await;
    let pipeline = DemoPipeline::start().await;
    let env = [
        ("CANONFLOW__TELEMETRY__OTLP_ENDPOINT", endpoint),
        // Export every 200 ms rather than every 5 s.
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_owned()),
    ];
    let mut stages =
        [Stage::Fetcher, Stage::Transformer, Stage::Sink].map(|s| pipeline.spawn(s, &env));

    // A write in the sink whose whole chain has arrived.
    let started = std::time::Instant::now();
    let [page, produce, map, write] = loop {
        let spans = receiver.spans();
        let traced = spans
            .iter()
            .filter(|s| s.name == spans::WRITE)
            .find_map(|write| chain(&spans, write));
        if let Some(chain) = traced {
            break chain;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no sink write traced back to a page within {DEADLINE:?}; {} spans\n{}",
            spans.len(),
            pipeline.log_tails()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let services = [&page, &produce, &map, &write].map(|s| (s.service.as_str(), s.name.as_str()));
    assert_eq!(
        services,
        [
            ("canonflow-fetcher", spans::FETCH_PAGE),
            ("canonflow-fetcher", spans::PRODUCE),
            ("canonflow-transformer", spans::MAP),
            ("canonflow-sink", spans::WRITE),
        ]
    );
    assert!(page.parent.is_empty(), "a page starts its trace");
    assert!(
        [&produce, &map, &write]
            .iter()
            .all(|s| s.trace == page.trace),
        "one trace id from page to rows"
    );

    // After a clean stop every span is exported: each write continues the
    // trace of a map (or of a transformer batch, for re-emitted entities),
    // each map that of a page's produce span.
    for stage in &mut stages {
        assert!(stage.process.terminate(Duration::from_secs(30)));
    }
    let spans = receiver.spans();
    let by_id: HashMap<&[u8], &Seen> = spans.iter().map(|s| (s.id.as_slice(), s)).collect();
    let parent_name = |s: &Seen| by_id.get(s.parent.as_slice()).map(|p| p.name.as_str());
    let mut writes = 0;
    for span in &spans {
        let expected: &[&str] = match span.name.as_str() {
            spans::WRITE => &[spans::MAP, spans::TRANSFORM_BATCH],
            spans::MAP => &[spans::PRODUCE],
            spans::PRODUCE => &[spans::FETCH_PAGE],
            _ => continue,
        };
        writes += usize::from(span.name == spans::WRITE);
        let parent = parent_name(span);
        assert!(
            parent.is_some_and(|p| expected.contains(&p)),
            "{} span's parent is {parent:?}, expected one of {expected:?}",
            span.name
        );
        assert_eq!(span.trace, by_id[span.parent.as_slice()].trace);
    }
    assert!(writes > 0);
    pipeline.demo.shutdown().await;
}
