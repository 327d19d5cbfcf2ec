//! One sync of one stream: from its watermark (or where an interrupted sync
//! left off) through every page, each page published with its checkpoint.
//!
//! The watermark a sync starts from is re-read minus the lookback window;
//! the completed watermark moves to the highest cursor actually published,
//! and only when the last page is in. A page that fails to publish is
//! published again (never skipped); a page that fails to fetch ends the
//! sync with an error, and the next sync resumes from the last checkpoint.

use std::sync::Arc;
use std::time::{Duration, Instant};

use canonflow_common::observe::trace::{self, spans};
use canonflow_common::{Classify, ErrorClass};
use chrono::{SecondsFormat, Utc};
use serde_json::value::RawValue;
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::batch;
use crate::checkpoint::{Checkpoint, SyncState};
use crate::cursor::CursorValue;
use crate::http::{FetchError, SourceClient};
use crate::page::{self, PageContext, SplitPage};
use crate::paginate::{self, PageFacts, PagePosition};
use crate::publish::{PublishError, Publisher};
use crate::records::ShapeError;
use crate::source::{CursorConfig, Pagination, SourceConfig, StreamConfig, WatermarkRequest};

/// Why a sync stopped before its last page.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("source {source_name}, stream {stream}, GET {url}: response {error}")]
    Shape {
        source_name: String,
        stream: String,
        url: String,
        error: ShapeError,
    },
    #[error(
        "source {source_name}, stream {stream}, GET {url}: all {count} records of the page were rejected \
         (first: {first}); check the stream's primary_key and cursor settings"
    )]
    AllRejected {
        source_name: String,
        stream: String,
        url: String,
        count: usize,
        first: ShapeError,
    },
    #[error("source {source_name}, stream {stream}: cannot build a request URL: {cause}")]
    Url {
        source_name: String,
        stream: String,
        cause: url::ParseError,
    },
    #[error("source {source_name}, stream {stream}: publishing a page: {cause}")]
    Publish {
        source_name: String,
        stream: String,
        cause: PublishError,
    },
}

impl Classify for SyncError {
    fn class(&self) -> ErrorClass {
        match self {
            Self::Fetch(e) => e.class(),
            Self::Shape { .. } => ErrorClass::InvalidInput,
            Self::AllRejected { .. } | Self::Url { .. } => ErrorClass::Fatal,
            Self::Publish { cause, .. } => cause.class(),
        }
    }
}

/// Everything a stream's syncs need.
#[derive(Debug)]
pub struct StreamContext {
    pub source: Arc<SourceConfig>,
    pub client: Arc<SourceClient>,
    pub stream: StreamConfig,
    pub publisher: Arc<Publisher>,
    /// How many records (or how long) one transaction may gather.
    pub batch: BatchLimits,
    /// This fetcher copy, as written into checkpoints.
    pub owner: Arc<str>,
}

/// When a sync publishes what it has fetched: after this many records or
/// this long, whichever comes first, and always after the last page.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub records: usize,
    pub max_wait: Duration,
}

/// Runs one sync, resuming `last` if it is in progress; `last` follows
/// every published checkpoint. Cancel-safe between and during pages: an
/// unpublished page is fetched again by the next sync.
pub async fn run(
    ctx: &StreamContext,
    last: &mut Option<Checkpoint>,
) -> Result<Checkpoint, SyncError> {
    let mut checkpoint = start_or_resume(ctx, last.as_ref());
    let mut position = checkpoint.next_page.clone().unwrap_or(PagePosition::First);
    let watermark = watermark_param(ctx.stream.cursor.as_ref(), checkpoint.base);
    let watermark = watermark.as_ref().map(|(k, v)| (k.as_str(), v.as_str()));
    let mut batch: Vec<(PageContext, SplitPage)> = Vec::new();
    let mut batch_started = Instant::now();
    loop {
        let (context, split, next) =
            traced_fetch_page(ctx, &position, watermark, &checkpoint).await?;
        checkpoint.pages = context.page;
        checkpoint.records += split.records.len() as u64;
        checkpoint.max_cursor = checkpoint.max_cursor.max(split.max_cursor());
        checkpoint.state = match next {
            Some(_) => SyncState::InProgress,
            None => SyncState::Completed,
        };
        checkpoint.next_page = next.clone();
        checkpoint.updated_at = Utc::now();
        batch.push((context, split));

        let batched: usize = batch.iter().map(|(_, page)| page.len()).sum();
        let full = batched >= ctx.batch.records || batch_started.elapsed() >= ctx.batch.max_wait;
        if next.is_none() || full {
            batch::publish(ctx, &batch, &mut checkpoint).await?;
            *last = Some(checkpoint.clone());
            batch.clear();
            batch_started = Instant::now();
        }
        match next {
            Some(next) => position = next,
            None => return Ok(checkpoint),
        }
    }
}

/// [`fetch_page`] in a span of its own: a page starts a trace, which its
/// records carry on.
async fn traced_fetch_page(
    ctx: &StreamContext,
    position: &PagePosition,
    watermark: Option<(&str, &str)>,
    checkpoint: &Checkpoint,
) -> Result<(PageContext, SplitPage, Option<PagePosition>), SyncError> {
    let span = tracing::info_span!(
        parent: None,
        spans::FETCH_PAGE,
        source = %ctx.source.name,
        stream = %ctx.stream.name,
        page = checkpoint.pages + 1,
        records = Empty,
        trace_id = Empty,
    );
    trace::record_trace_id(&span);
    let fetched = fetch_page(ctx, position, watermark, checkpoint)
        .instrument(span.clone())
        .await;
    match &fetched {
        Ok((_, split, _)) => {
            span.record("records", split.len());
        }
        Err(e) => trace::fail(&span, e),
    }
    let (mut context, split, next) = fetched?;
    context.trace = trace::traceparent(&span);
    Ok((context, split, next))
}

/// Fetches and splits the page at `position`; returns it with the position
/// after it (`None` after the last page).
async fn fetch_page(
    ctx: &StreamContext,
    position: &PagePosition,
    watermark: Option<(&str, &str)>,
    checkpoint: &Checkpoint,
) -> Result<(PageContext, SplitPage, Option<PagePosition>), SyncError> {
    let url = paginate::request_url(&ctx.source.base_url, &ctx.stream, position, watermark)
        .map_err(|cause| SyncError::Url {
            source_name: ctx.source.name.clone(),
            stream: ctx.stream.name.clone(),
            cause,
        })?;
    let response = ctx.client.get(&ctx.stream.name, &url).await?;
    let context = PageContext {
        source: ctx.source.name.clone(),
        stream: ctx.stream.name.clone(),
        sync_run: checkpoint.sync_run.clone(),
        fetched_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        request_url: ctx.client.redact(&url),
        page: checkpoint.pages + 1,
        trace: None,
    };
    let shape_error = |error| SyncError::Shape {
        source_name: ctx.source.name.clone(),
        stream: ctx.stream.name.clone(),
        url: context.request_url.clone(),
        error,
    };
    let body: &RawValue = serde_json::from_slice(&response.body).map_err(|e| {
        shape_error(ShapeError {
            pointer: String::new(),
            problem: e.to_string(),
        })
    })?;
    let split =
        page::split(&response.body, body, &ctx.stream, &ctx.source.name).map_err(shape_error)?;
    if split.records.is_empty()
        && let Some(first) = split.rejected.first()
    {
        return Err(SyncError::AllRejected {
            source_name: ctx.source.name.clone(),
            stream: ctx.stream.name.clone(),
            url: context.request_url,
            count: split.rejected.len(),
            first: first.error.clone(),
        });
    }
    let facts = PageFacts {
        records: split.len(),
        body,
        headers: &response.headers,
    };
    let next = paginate::next(&ctx.stream, position, &facts, ctx.client.secret_param());
    Ok((context, split, next))
}

fn start_or_resume(ctx: &StreamContext, last: Option<&Checkpoint>) -> Checkpoint {
    let interrupted = last.filter(|c| c.state == SyncState::InProgress);
    if let Some(last) = interrupted.filter(|_| resumes_mid_sync(&ctx.stream.pagination)) {
        tracing::info!(source = %ctx.source.name, stream = %ctx.stream.name, sync_run = %last.sync_run, pages = last.pages, "resuming sync");
        let mut resumed = last.clone();
        resumed.owner = ctx.owner.to_string();
        return resumed;
    }
    // An interrupted offset- or page-number sync starts over from the same
    // watermark: rows that moved while it was down would shift the pages
    // and a resumed sync would skip them.
    let base = match interrupted {
        Some(last) => last.base,
        None if ctx.stream.cursor.is_some() => last.and_then(Checkpoint::watermark),
        None => None,
    };
    Checkpoint {
        v: Checkpoint::VERSION,
        source: ctx.source.name.clone(),
        stream: ctx.stream.name.clone(),
        owner: ctx.owner.to_string(),
        sync_run: uuid::Uuid::new_v4().to_string(),
        state: SyncState::InProgress,
        base,
        max_cursor: None,
        next_page: None,
        pages: 0,
        records: 0,
        published: Vec::new(),
        updated_at: Utc::now(),
    }
}

/// Whether an interrupted sync can continue from its stored page position:
/// yes where the source gives the position (a token or a next link), no
/// where it is a count of rows (offset, page number) that changes under us.
fn resumes_mid_sync(pagination: &Pagination) -> bool {
    !matches!(
        pagination,
        Pagination::PageNumber { .. } | Pagination::OffsetLimit { .. }
    )
}

/// The query parameter that carries the watermark, minus lookback, in the
/// source's format; none for the first sync or a full-refresh stream.
fn watermark_param(
    cursor: Option<&CursorConfig>,
    base: Option<CursorValue>,
) -> Option<(String, String)> {
    let (cursor, base) = (cursor?, base?);
    let (render, zone) = match cursor {
        CursorConfig::Timestamp {
            format,
            zone,
            render,
            ..
        } => (
            render.unwrap_or(crate::cursor::RenderFormat::matching(*format)),
            zone.unwrap_or(chrono_tz::UTC),
        ),
        CursorConfig::Number { .. } => (crate::cursor::RenderFormat::Rfc3339, chrono_tz::UTC),
    };
    let value = base.minus_lookback(cursor.lookback()).render(render, zone);
    Some(match cursor.request() {
        WatermarkRequest::Param { param } => (param.clone(), value),
        WatermarkRequest::Filter { param, template } => {
            (param.clone(), template.replace("{watermark}", &value))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::stream_from_toml;

    fn cursor(extra: &str) -> CursorConfig {
        let s = stream_from_toml(&format!(
            r#"
            name = "s"
            path = "p"
            records = ""
            primary_key = ["id"]
            pagination = {{ type = "none" }}
            cursor = {extra}
            "#
        ));
        s.cursor.unwrap()
    }

    #[test]
    fn the_watermark_enters_the_request_minus_lookback_in_source_format() {
        let base = Some(CursorValue::Timestamp(
            "2024-05-01T08:01:00Z".parse().unwrap(),
        ));
        let odata = cursor(
            r#"{ type = "timestamp", field = "LastChangeDateTime", format = "odata_v2_date", lookback_seconds = 60, request = { type = "filter", param = "$filter", template = "LastChangeDateTime gt {watermark}" } }"#,
        );
        assert_eq!(
            watermark_param(Some(&odata), base),
            Some((
                "$filter".into(),
                "LastChangeDateTime gt datetimeoffset'2024-05-01T08:00:00Z'".into()
            ))
        );
        let number = cursor(
            r#"{ type = "number", field = "updated", lookback = 5, request = { type = "param", param = "since" } }"#,
        );
        assert_eq!(
            watermark_param(Some(&number), Some(CursorValue::Number(100))),
            Some(("since".into(), "95".into()))
        );
        assert_eq!(watermark_param(Some(&number), None), None);
    }
}
