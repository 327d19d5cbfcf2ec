//! The life of one owned stream: sync, wait for the schedule, sync again;
//! retry failed syncs later, stop for good on a fatal error, stop at once
//! when ownership moves or the process shuts down.

use std::sync::Arc;
use std::time::Duration;

use canonflow_common::{Classify, ErrorClass, Shutdown};
use tokio::sync::{Semaphore, mpsc};

use crate::checkpoint::Checkpoint;
use crate::metrics;
use crate::sync::{self, StreamContext};

/// How a stream task ended, for the coordinator.
#[derive(Debug)]
pub struct StreamDone {
    pub key: String,
    /// Why the stream gave up, if it did.
    pub error: Option<String>,
}

/// Scheduling of one stream task.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// `None`: sync once, then end.
    pub every: Option<Duration>,
    pub retry_after: Duration,
    /// Sync attempts before giving up, when syncing once.
    pub once_attempts: u32,
}

pub async fn run(
    ctx: StreamContext,
    mut last: Option<Checkpoint>,
    schedule: Schedule,
    concurrency: Arc<Semaphore>,
    stop: Shutdown,
    done: mpsc::UnboundedSender<StreamDone>,
) {
    let key = Checkpoint::key(&ctx.source.name, &ctx.stream.name);
    let finish = |error| {
        let _ = done.send(StreamDone {
            key: key.clone(),
            error,
        });
    };
    metrics::stream_started(&ctx.source.name, &ctx.stream.name);
    let mut failures = 0;
    loop {
        let outcome = tokio::select! {
            () = stop.triggered() => return,
            outcome = sync_with_permit(&ctx, &mut last, &concurrency) => outcome,
        };
        let wait = match outcome {
            Ok(checkpoint) => {
                failures = 0;
                tracing::info!(
                    source = %ctx.source.name, stream = %ctx.stream.name, sync_run = %checkpoint.sync_run,
                    pages = checkpoint.pages, records = checkpoint.records,
                    watermark = ?checkpoint.watermark(), "sync completed"
                );
                match schedule.every {
                    None => return finish(None),
                    Some(every) => every,
                }
            }
            Err(error) => {
                failures += 1;
                let class = error.class();
                tracing::error!(source = %ctx.source.name, stream = %ctx.stream.name, %error, %class, "sync failed");
                let gave_up = schedule.every.is_none() && failures >= schedule.once_attempts;
                if class == ErrorClass::Fatal || gave_up {
                    return finish(Some(error.to_string()));
                }
                schedule.retry_after
            }
        };
        tokio::select! {
            () = stop.triggered() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

async fn sync_with_permit(
    ctx: &StreamContext,
    last: &mut Option<Checkpoint>,
    concurrency: &Semaphore,
) -> Result<Checkpoint, sync::SyncError> {
    // The semaphore is never closed, so acquiring only waits.
    let _permit = concurrency.acquire().await;
    let started = std::time::Instant::now();
    let outcome = sync::run(ctx, last).await;
    let (source, stream) = (&ctx.source.name, &ctx.stream.name);
    metrics::sync_ended(source, stream, started.elapsed(), outcome.as_ref().ok());
    outcome
}
