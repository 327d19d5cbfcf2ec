//! Test support: a demo source on a random port with an HTTP client, the
//! credentials of each system, and checks against the snapshot.

use std::collections::HashSet;

use canonflow_demo_source::{DemoConfig, DemoSource, Snapshot};
use chrono::{DateTime, FixedOffset};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;

pub struct TestSource {
    pub source: DemoSource,
    pub client: Client,
}

pub async fn start() -> TestSource {
    start_with(DemoConfig::default()).await
}

pub async fn start_with(config: DemoConfig) -> TestSource {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let source = DemoSource::start(listener, config).await.unwrap();
    TestSource {
        source,
        client: Client::new(),
    }
}

/// A response read to the end.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

pub async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.unwrap();
    Reply {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

impl TestSource {
    /// An absolute URL for a path (and query) on this source.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.source.base_url())
    }

    /// A fresh HR access token (client credentials in the form body).
    pub async fn hr_token(&self) -> String {
        let reply = send(form_post(
            &self.client,
            &self.url("/hr/oauth/token"),
            "grant_type=client_credentials&client_id=canonflow&client_secret=hr-secret",
        ))
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.json()["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn hr_get(&self, token: &str, url: &str) -> Reply {
        send(self.client.get(url).bearer_auth(token)).await
    }

    pub async fn finance_get(&self, url: &str) -> Reply {
        send(
            self.client
                .get(url)
                .basic_auth("finance", Some("finance-secret")),
        )
        .await
    }

    pub fn snapshot(&self) -> Snapshot {
        self.source.snapshot()
    }
}

pub fn form_post(client: &Client, url: &str, body: &'static str) -> RequestBuilder {
    client
        .post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
}

/// Percent-encodes a query parameter value.
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The string values of `field` in a JSON array of records.
pub fn ids(records: &Value, field: &str) -> Vec<String> {
    records
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {records}"))
        .iter()
        .map(|r| r[field].as_str().unwrap().to_owned())
        .collect()
}

/// Asserts `served` has no duplicates and holds exactly `expected`.
pub fn assert_exactly(served: &[String], expected: &[String]) {
    let unique: HashSet<&String> = served.iter().collect();
    assert_eq!(unique.len(), served.len(), "duplicates served");
    let mut served = served.to_vec();
    let mut expected = expected.to_vec();
    served.sort();
    expected.sort();
    assert_eq!(served.len(), expected.len(), "count differs");
    assert_eq!(served, expected);
}

/// All ids of a stream in the snapshot.
pub fn snapshot_ids(snapshot: &Snapshot, stream: &str) -> Vec<String> {
    let stream = snapshot.stream(stream).unwrap();
    assert_eq!(stream.total, stream.records.len());
    stream.records.iter().map(|r| r.id.clone()).collect()
}

/// Ids of a stream whose version passes `keep`.
pub fn ids_where(snapshot: &Snapshot, stream: &str, keep: impl Fn(&Value) -> bool) -> Vec<String> {
    snapshot
        .stream(stream)
        .unwrap()
        .records
        .iter()
        .filter(|r| keep(r.version.as_ref().unwrap()))
        .map(|r| r.id.clone())
        .collect()
}

/// A stream's versions, in the source's order.
pub fn versions(snapshot: &Snapshot, stream: &str) -> Vec<Value> {
    snapshot
        .stream(stream)
        .unwrap()
        .records
        .iter()
        .map(|r| r.version.clone().unwrap())
        .collect()
}

pub fn instant(version: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(version.as_str().unwrap()).unwrap()
}

/// Milliseconds of an OData v2 `/Date(…+0000)/` value.
pub fn odata_v2_ms(version: &Value) -> i64 {
    let text = version.as_str().unwrap();
    text.strip_prefix("/Date(")
        .and_then(|t| t.strip_suffix("+0000)/"))
        .unwrap()
        .parse()
        .unwrap()
}

/// The target of a `Link: <…>; rel="next"` header.
pub fn next_link(reply: &Reply) -> Option<String> {
    let link = reply.header("link")?;
    let (target, rel) = link.split_once(';')?;
    assert_eq!(rel.trim(), "rel=\"next\"");
    Some(
        target
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_owned(),
    )
}
