//! The planted-secret test: the demo source's four credentials and the
//! PostgreSQL password are set to values planted for this run; the three
//! stages run at debug level, with the API key sent in the query string and
//! the source failing some requests. Afterwards no log line, no record
//! (payload, key or header) on any of canonflow's topics, and no metric
//! holds any planted value — though the key was in every ops request URL.
#![allow(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use canonflow_canonical::EntityKind;
use canonflow_common::observe::Stage;
use canonflow_demo_source::{DemoConfig, Fault, FaultKind};
use canonflow_testkit::{drain, unique};
use canonflow_tests::pipeline::DemoPipeline;
use rdkafka::Message;
use rdkafka::message::Headers;

const DEADLINE: Duration = Duration::from_secs(240);

/// `url` with its password replaced by `password` (PostgreSQL here trusts
/// local connections, so any password connects).
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (user_info, host) = rest.split_once('@').unwrap_or(("postgres", rest));
    let user = user_info.split(':').next().unwrap();
    format!("{scheme}://{user}:{password}@{host}")
}

/// The planted values found in `text`.
fn leaked<'a>(text: &str, planted: &'a [String]) -> Vec<&'a str> {
    planted
        .iter()
        .filter(|p| text.contains(p.as_str()))
        .map(String::as_str)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_secrets_appear_in_no_log_record_or_metric() {
    let mark = unique("planted");
    let demo_config = DemoConfig {
        hr_client_secret: format!("{mark}-hr"),
        finance_password: format!("{mark}-finance"),
        ops_api_key: format!("{mark}-ops"),
        assets_bearer_token: format!("{mark}-assets"),
        ..DemoConfig::default()
    };
    // The ops key travels in the query string, where a URL could carry it.
    let pipeline = DemoPipeline::start_with(demo_config.clone(), |name, text| match name {
        "ops.toml" => text
            .replace("in = \"header\"", "in = \"query\"")
            .replace("name = \"X-API-Key\"", "name = \"api_key\""),
        _ => text,
    })
    .await;
    assert!(
        std::fs::read_to_string(pipeline.config.parent().unwrap().join("sources/ops.toml"))
            .unwrap()
            .contains("in = \"query\""),
        "the ops source sends its key in the query"
    );
    pipeline
        .demo
        .set_fault(Fault::new(FaultKind::ServerError).on("/ops/").times(3));
    let pg_password = format!("{mark}-postgres");
    let planted = vec![
        demo_config.hr_client_secret.clone(),
        demo_config.finance_password.clone(),
        demo_config.ops_api_key.clone(),
        demo_config.assets_bearer_token.clone(),
        pg_password.clone(),
    ];
    let env = [
        ("RUST_LOG", "debug".to_owned()),
        (
            "CANONFLOW__POSTGRES__URL",
            with_password(&pipeline.stack.postgres_url, &pg_password),
        ),
    ];
    let mut stages =
        [Stage::Fetcher, Stage::Transformer, Stage::Sink].map(|s| pipeline.spawn(s, &env));
    pipeline.settle(&stages, DEADLINE).await;

    // Metrics, while the stages run.
    for stage in &stages {
        let (_, text) = stage.get("/metrics").await.unwrap();
        assert_eq!(
            leaked(&text, &planted),
            Vec::<&str>::new(),
            "{:?} /metrics",
            stage.stage
        );
    }
    for stage in &mut stages {
        assert!(stage.process.terminate(Duration::from_secs(30)));
    }

    // Logs: at debug level, and through the injected failures.
    for stage in [Stage::Fetcher, Stage::Transformer, Stage::Sink] {
        let log = std::fs::read_to_string(pipeline.log(stage)).unwrap();
        assert!(log.lines().count() > 10, "{stage:?} logged little:\n{log}");
        assert_eq!(leaked(&log, &planted), Vec::<&str>::new(), "{stage:?} log");
    }
    let fetcher_log = std::fs::read_to_string(pipeline.log(Stage::Fetcher)).unwrap();
    assert!(
        fetcher_log.contains("500"),
        "the injected failures were met"
    );

    // Every record of every topic: payloads and header values.
    let t = &pipeline.topics.topics;
    let mut topics = vec![
        t.raw(),
        t.watermarks(),
        t.dead_letters("fetcher"),
        t.dead_letters("transformer"),
        t.dead_letters("sink"),
    ];
    topics.extend(EntityKind::ALL.iter().map(|k| t.canonical(k.name())));
    let mut request_urls = Vec::new();
    let mut records = 0;
    for topic in &topics {
        for message in drain(&pipeline.stack, topic, DEADLINE).await {
            records += 1;
            let mut text =
                String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
            text += &String::from_utf8_lossy(message.key().unwrap_or_default());
            for header in message.headers().iter().flat_map(|h| h.iter()) {
                let value = String::from_utf8_lossy(header.value.unwrap_or_default());
                if header.key == canonflow_common::headers::REQUEST_URL {
                    request_urls.push(value.to_string());
                }
                text += &value;
            }
            assert_eq!(
                leaked(&text, &planted),
                Vec::<&str>::new(),
                "a record on {topic}"
            );
        }
    }
    assert!(records > 1000, "{records} records read");
    // The ops records arrived, so the key was in their requests' query
    // (the only way the demo takes it now), and their recorded URLs lost it.
    let ops: Vec<&String> = request_urls
        .iter()
        .filter(|u| u.contains("/ops/v1/tickets"))
        .collect();
    assert!(
        !ops.is_empty() && ops.iter().all(|u| !u.contains("api_key")),
        "ops request URLs: {:?}",
        ops.first()
    );
    pipeline.demo.shutdown().await;
}
