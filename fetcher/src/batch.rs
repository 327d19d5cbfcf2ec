//! A sync's fetched pages published together: their raw records, their
//! dead letters and the checkpoint after them in one transaction, retried
//! a few times when the failure is retryable. Traced as one `publish` span
//! with a `produce` branch per page continuing the page's trace; each raw
//! record carries its branch's context.

use std::time::Duration;

use canonflow_common::observe::trace::{Fanout, spans};
use canonflow_common::{Classify, ErrorClass};
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::checkpoint::Checkpoint;
use crate::metrics;
use crate::page::{self, PageContext, SplitPage};
use crate::publish::Outgoing;
use crate::sync::{StreamContext, SyncError};

/// Publishing is retried this many times before the sync fails.
const PUBLISH_ATTEMPTS: u32 = 5;

/// Publishes the pages of `batch` and the checkpoint after them in one
/// transaction, retrying retryable failures a few times; in a `publish`
/// span with a `produce` branch per page, whose context its records carry.
pub async fn publish(
    ctx: &StreamContext,
    batch: &[(PageContext, SplitPage)],
    checkpoint: &mut Checkpoint,
) -> Result<(), SyncError> {
    let mut fanout = Fanout::new(tracing::info_span!(
        parent: None,
        spans::PUBLISH,
        source = %ctx.source.name,
        stream = %ctx.stream.name,
        pages = batch.len(),
        trace_id = Empty,
    ));
    let carried: Vec<Option<String>> = batch
        .iter()
        .map(|(context, page)| {
            let produce = || {
                tracing::info_span!(
                    parent: None,
                    spans::PRODUCE,
                    source = %context.source,
                    stream = %context.stream,
                    page = context.page,
                )
            };
            let records = page.len() as u64;
            fanout
                .carry(context.trace.as_deref(), records, produce)
                .map(str::to_owned)
        })
        .collect();
    let published = publish_with_retry(ctx, batch, &carried, checkpoint)
        .instrument(fanout.batch().clone())
        .await;
    fanout.finish();
    published?;
    metrics::published(
        &ctx.source.name,
        &ctx.stream.name,
        batch.len(),
        batch.iter().map(|(_, page)| page.records.len()).sum(),
        batch.iter().map(|(_, page)| page.rejected.len()).sum(),
    );
    for (context, page) in batch.iter().filter(|(_, page)| !page.rejected.is_empty()) {
        tracing::warn!(
            source = %context.source, stream = %context.stream, url = %context.request_url,
            rejected = page.rejected.len(), first = %page.rejected[0].error,
            "records dead-lettered"
        );
    }
    Ok(())
}

/// The attempts of [`publish`]; `carried[i]` is the trace context
/// of page `i`'s records.
async fn publish_with_retry(
    ctx: &StreamContext,
    batch: &[(PageContext, SplitPage)],
    carried: &[Option<String>],
    checkpoint: &mut Checkpoint,
) -> Result<(), SyncError> {
    let dead_key = format!("{}/{}/", ctx.source.name, ctx.stream.name);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut raw = Vec::new();
        let mut dead = Vec::new();
        for ((context, page), trace) in batch.iter().zip(carried) {
            let trace = trace.as_deref();
            raw.extend(page.records.iter().map(|r| Outgoing {
                key: &r.key,
                payload: &r.payload,
                headers: page::headers(context, r.cursor, trace),
            }));
            dead.extend(page.rejected.iter().map(|r| Outgoing {
                key: &dead_key,
                payload: &r.payload,
                headers: page::dead_letter_headers(context, &r.error, trace),
            }));
        }
        match ctx.publisher.publish(raw, dead, checkpoint).await {
            Ok(()) => return Ok(()),
            Err(cause) if cause.class() == ErrorClass::Retryable && attempt < PUBLISH_ATTEMPTS => {
                tracing::warn!(source = %ctx.source.name, stream = %ctx.stream.name, error = %cause, attempt, "publishing failed; retrying");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(cause) => {
                return Err(SyncError::Publish {
                    source_name: ctx.source.name.clone(),
                    stream: ctx.stream.name.clone(),
                    cause,
                });
            }
        }
    }
}
