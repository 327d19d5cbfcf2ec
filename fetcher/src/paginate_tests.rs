//! Tests of `paginate`: each style builds the right requests and stops only
//! on evidence from the page.

use super::*;
use crate::source::StreamConfig;

fn stream(pagination: &str, page_size: u32) -> StreamConfig {
    let text = format!(
        r#"
        name = "s"
        path = "v1/items"
        query = {{ include = "all" }}
        records = "/data"
        primary_key = ["id"]
        page_size = {page_size}
        pagination = {pagination}
        "#
    );
    crate::source::stream_from_toml(&text)
}

fn base() -> Url {
    Url::parse("http://api.test/root/").unwrap()
}

fn facts<'a>(records: usize, body: &'a RawValue, headers: &'a HeaderMap) -> PageFacts<'a> {
    PageFacts {
        records,
        body,
        headers,
    }
}

fn empty_body() -> Box<RawValue> {
    RawValue::from_string("{}".into()).unwrap()
}

#[test]
fn page_numbers_advance_until_a_short_page() {
    let s = stream(r#"{ type = "page_number", size_param = "per_page" }"#, 2);
    let url = request_url(
        &base(),
        &s,
        &PagePosition::First,
        Some(("since", "2024-01-01T00:00:00Z")),
    )
    .unwrap();
    assert_eq!(
        url.as_str(),
        "http://api.test/root/v1/items?include=all&since=2024-01-01T00%3A00%3A00Z&page=1&per_page=2"
    );
    let body = empty_body();
    let headers = HeaderMap::new();
    let second = next(&s, &PagePosition::First, &facts(2, &body, &headers), None).unwrap();
    assert_eq!(second, PagePosition::PageNumber { page: 2 });
    assert!(
        request_url(&base(), &s, &second, None)
            .unwrap()
            .as_str()
            .contains("page=2")
    );
    assert_eq!(next(&s, &second, &facts(1, &body, &headers), None), None);
    assert_eq!(next(&s, &second, &facts(0, &body, &headers), None), None);
}

#[test]
fn offsets_advance_by_records_seen() {
    let s = stream(r#"{ type = "offset_limit" }"#, 3);
    let body = empty_body();
    let headers = HeaderMap::new();
    let second = next(&s, &PagePosition::First, &facts(3, &body, &headers), None).unwrap();
    assert_eq!(second, PagePosition::Offset { offset: 3 });
    let url = request_url(&base(), &s, &second, None).unwrap();
    assert!(url.as_str().ends_with("offset=3&limit=3"), "{url}");
    assert_eq!(next(&s, &second, &facts(2, &body, &headers), None), None);
}

#[test]
fn cursor_tokens_are_sent_back_until_absent() {
    let s = stream(
        r#"{ type = "cursor", token = "/next_cursor", param = "cursor", size_param = "limit" }"#,
        10,
    );
    let headers = HeaderMap::new();
    let body = RawValue::from_string(r#"{"next_cursor": "abc=="}"#.into()).unwrap();
    let second = next(&s, &PagePosition::First, &facts(10, &body, &headers), None).unwrap();
    let url = request_url(&base(), &s, &second, None).unwrap();
    assert!(url.as_str().ends_with("cursor=abc%3D%3D&limit=10"), "{url}");
    let last = RawValue::from_string(r#"{"next_cursor": null}"#.into()).unwrap();
    assert_eq!(next(&s, &second, &facts(10, &last, &headers), None), None);
}

#[test]
fn next_urls_may_be_relative_or_absolute_and_lose_echoed_keys() {
    let s = stream(
        r#"{ type = "next_url", next = "/@odata.nextLink", size_param = "$top" }"#,
        10,
    );
    let headers = HeaderMap::new();
    let body = RawValue::from_string(
        r#"{"@odata.nextLink": "https://other.test/x?$skiptoken=5&api_key=SECRET"}"#.into(),
    )
    .unwrap();
    let second = next(
        &s,
        &PagePosition::First,
        &facts(1, &body, &headers),
        Some("api_key"),
    )
    .unwrap();
    assert_eq!(
        second,
        PagePosition::Url {
            url: "https://other.test/x?$skiptoken=5".into()
        }
    );
    let relative = PagePosition::Url {
        url: "/hr/v1/orgs?page_token=2".into(),
    };
    assert_eq!(
        request_url(&base(), &s, &relative, None).unwrap().as_str(),
        "http://api.test/hr/v1/orgs?page_token=2"
    );
    let last = RawValue::from_string(r#"{"value": []}"#.into()).unwrap();
    assert_eq!(next(&s, &second, &facts(0, &last, &headers), None), None);
}

#[test]
fn link_headers_are_followed_by_rel_next_only() {
    let s = stream(r#"{ type = "link_header" }"#, 10);
    let body = empty_body();
    let mut headers = HeaderMap::new();
    headers.insert(
        LINK,
        r#"<http://api.test/p?page=1>; rel="prev", <http://api.test/p?page=3>; rel="next""#
            .parse()
            .unwrap(),
    );
    let second = next(&s, &PagePosition::First, &facts(10, &body, &headers), None).unwrap();
    assert_eq!(
        second,
        PagePosition::Url {
            url: "http://api.test/p?page=3".into()
        }
    );
    headers.insert(
        LINK,
        r#"<http://api.test/p?page=1>; rel="first""#.parse().unwrap(),
    );
    assert_eq!(next(&s, &second, &facts(10, &body, &headers), None), None);
}

#[test]
fn no_pagination_is_one_request() {
    let s = stream(r#"{ type = "none" }"#, 10);
    let body = empty_body();
    let headers = HeaderMap::new();
    assert_eq!(
        request_url(&base(), &s, &PagePosition::First, None)
            .unwrap()
            .as_str(),
        "http://api.test/root/v1/items?include=all"
    );
    assert_eq!(
        next(&s, &PagePosition::First, &facts(10, &body, &headers), None),
        None
    );
}
