//! Pagination: where a sync's next page comes from.
//!
//! A [`PagePosition`] says which page to ask for next; it is stored in
//! checkpoints so that a restarted fetcher resumes mid-sync. Every style
//! ends only on evidence from the page itself (no next link or token, an
//! empty or short page), never on a total-count field.

use reqwest::Url;
use reqwest::header::{HeaderMap, LINK};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::records;
use crate::source::{Pagination, StreamConfig};

/// The page a sync asks for next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PagePosition {
    First,
    PageNumber {
        page: u64,
    },
    Offset {
        offset: u64,
    },
    Token {
        token: String,
    },
    /// A next URL given by the source (body or `Link` header), with any
    /// credential parameter removed (authentication adds it back).
    Url {
        url: String,
    },
}

/// What pagination needs to know about the page just fetched.
#[derive(Debug)]
pub struct PageFacts<'a> {
    pub records: usize,
    pub body: &'a RawValue,
    pub headers: &'a HeaderMap,
}

/// Builds the request URL for `position`. `watermark` is the query
/// parameter carrying the sync's starting watermark, if any.
pub fn request_url(
    base: &Url,
    stream: &StreamConfig,
    position: &PagePosition,
    watermark: Option<(&str, &str)>,
) -> Result<Url, url::ParseError> {
    if let PagePosition::Url { url } = position {
        return base.join(url);
    }
    let mut url = base.join(&stream.path)?;
    {
        let mut query = url.query_pairs_mut();
        for (key, value) in &stream.query {
            query.append_pair(key, value);
        }
        if let Some((param, value)) = watermark {
            query.append_pair(param, value);
        }
        let size = stream.page_size.to_string();
        match (&stream.pagination, position) {
            (
                Pagination::PageNumber {
                    param,
                    start,
                    size_param,
                },
                _,
            ) => {
                let page = match position {
                    PagePosition::PageNumber { page } => *page,
                    _ => *start,
                };
                query.append_pair(param, &page.to_string());
                if let Some(size_param) = size_param {
                    query.append_pair(size_param, &size);
                }
            }
            (
                Pagination::OffsetLimit {
                    offset_param,
                    limit_param,
                },
                _,
            ) => {
                let offset = match position {
                    PagePosition::Offset { offset } => *offset,
                    _ => 0,
                };
                query.append_pair(offset_param, &offset.to_string());
                query.append_pair(limit_param, &size);
            }
            (
                Pagination::Cursor {
                    param, size_param, ..
                },
                _,
            ) => {
                if let PagePosition::Token { token } = position {
                    query.append_pair(param, token);
                }
                if let Some(size_param) = size_param {
                    query.append_pair(size_param, &size);
                }
            }
            (Pagination::NextUrl { size_param, .. } | Pagination::LinkHeader { size_param }, _) => {
                if let Some(size_param) = size_param {
                    query.append_pair(size_param, &size);
                }
            }
            (Pagination::None, _) => {}
        }
    }
    // An empty query would leave a bare '?'.
    if url.query() == Some("") {
        url.set_query(None);
    }
    Ok(url)
}

/// The position after `current`, or `None` when the sync has read its last page.
pub fn next(
    stream: &StreamConfig,
    current: &PagePosition,
    page: &PageFacts<'_>,
    secret_param: Option<&str>,
) -> Option<PagePosition> {
    let full_page = page.records >= stream.page_size as usize;
    match &stream.pagination {
        Pagination::None => None,
        Pagination::PageNumber { start, .. } => full_page.then(|| PagePosition::PageNumber {
            page: match current {
                PagePosition::PageNumber { page } => page + 1,
                _ => start + 1,
            },
        }),
        Pagination::OffsetLimit { .. } => full_page.then(|| PagePosition::Offset {
            offset: match current {
                PagePosition::Offset { offset } => offset + page.records as u64,
                _ => page.records as u64,
            },
        }),
        Pagination::Cursor { token, .. } => records::string_at(page.body, token)
            .filter(|t| !t.is_empty())
            .map(|token| PagePosition::Token { token }),
        Pagination::NextUrl { next, .. } => records::string_at(page.body, next)
            .filter(|u| !u.is_empty())
            .map(|url| PagePosition::Url {
                url: without_param(&url, secret_param),
            }),
        Pagination::LinkHeader { .. } => link_next(page.headers).map(|url| PagePosition::Url {
            url: without_param(&url, secret_param),
        }),
    }
}

/// The `rel="next"` target of the `Link` headers, if any.
fn link_next(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|link| {
            let (target, params) = link.trim().split_once(';')?;
            let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
            let is_next = params.split(';').any(|p| {
                let p = p.trim().replace(' ', "");
                p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
            });
            is_next.then(|| target.to_owned())
        })
}

/// Removes a credential parameter that a source echoed into its next link,
/// so it is never stored in a checkpoint.
fn without_param(url: &str, param: Option<&str>) -> String {
    let Some(param) = param else {
        return url.to_owned();
    };
    let (path, query) = match url.split_once('?') {
        Some(parts) => parts,
        None => return url.to_owned(),
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.split('=').next() != Some(param))
        .collect();
    if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

#[cfg(test)]
#[path = "paginate_tests.rs"]
mod tests;
