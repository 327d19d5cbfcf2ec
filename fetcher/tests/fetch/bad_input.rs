//! Bad answers from a source, end to end against the demo source: each
//! ends the run with an error that names the source, the stream and what
//! to fix — nothing published, no secret in the message.

use canonflow_demo_source::{Fault, FaultKind};

use crate::support::Harness;

/// The public source alone, failing fast: two retries, 10 ms apart.
fn public_only(extra_limits: &'static str) -> impl Fn(&str, String) -> String {
    move |name, text| {
        match name {
        "public.toml" => text.replace(
            "[[streams]]",
            &format!("[limits]\nmax_retries = 2\nretry_initial_delay_ms = 10\n{extra_limits}\n[[streams]]"),
        ),
        _ => String::new(),
    }
    }
}

/// A page whose every record is rejected is a configuration error, not a
/// page of dead letters: the run stops and points at the settings.
#[tokio::test]
async fn a_page_whose_every_record_is_rejected_stops_naming_the_settings() {
    let harness = Harness::start(|name, text| match name {
        "public.toml" => text.replace("primary_key = [\"id\"]", "primary_key = [\"holidayId\"]"),
        _ => String::new(),
    })
    .await;
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("public") && error.contains("holidays") && error.contains("were rejected"),
        "{error}"
    );
    assert!(
        error.contains("/holidayId") && error.contains("primary_key"),
        "{error}"
    );
    assert!(harness.raw().await.is_empty());
}

/// A response over `limits.max_response_bytes` is refused, not truncated.
#[tokio::test]
async fn an_oversized_response_is_refused_naming_the_limit() {
    let harness = Harness::start(public_only("max_response_bytes = 64")).await;
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("public/holidays") && error.contains("limits.max_response_bytes"),
        "{error}"
    );
    assert!(harness.raw().await.is_empty());
}

/// An HTML error page with status 200 is not taken for data.
#[tokio::test]
async fn an_html_page_is_not_data() {
    let harness = Harness::start(public_only("")).await;
    harness
        .demo
        .set_fault(Fault::new(FaultKind::NotJson).on("/public"));
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("public/holidays")
            && error.contains("not JSON")
            && error.contains("text/html"),
        "{error}"
    );
    assert!(harness.raw().await.is_empty());
}

/// A stream path the source does not have is fatal at once (404), not a
/// retry loop.
#[tokio::test]
async fn a_wrong_path_is_fatal_and_names_the_status() {
    let harness = Harness::start(|name, text| match name {
        "public.toml" => text.replace("v1/holidays", "v1/no-such-thing"),
        _ => String::new(),
    })
    .await;
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("public/holidays") && error.contains("404"),
        "{error}"
    );
    let not_found: u64 = harness
        .demo
        .stats()
        .requests
        .iter()
        .filter(|r| r.status == 404)
        .map(|r| r.count)
        .sum();
    assert_eq!(not_found, 1, "a 404 is not retried");
}

/// A client secret the token endpoint refuses is fatal, names the source,
/// and does not show the secret.
#[tokio::test]
async fn a_refused_oauth2_client_is_fatal_without_the_secret() {
    let harness = Harness::start(|name, text| match name {
        "hr.toml" => text,
        _ => String::new(),
    })
    .await;
    let secret = "not-the-hr-secret-4711";
    std::fs::write(harness.dir.path().join("DEMO_HR_CLIENT_SECRET"), secret).unwrap();
    let error = harness.fetch_once().await.unwrap_err().to_string();
    assert!(
        error.contains("hr/") && error.contains("OAuth2 token"),
        "{error}"
    );
    assert!(!error.contains(secret), "the secret leaked into: {error}");
    assert!(harness.raw().await.is_empty());
}
