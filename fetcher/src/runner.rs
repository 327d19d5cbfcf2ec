//! The coordinator: owns partitions as the group assigns them, starts and
//! stops stream tasks accordingly, and keeps the latest checkpoint of every
//! stream it has read.
//!
//! A partition's streams start only after the coordinator has read that
//! partition up to a sentinel it wrote itself after taking the partition
//! over, so each stream resumes from its true latest checkpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use canonflow_common::Shutdown;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

use crate::checkpoint::{self, Checkpoint, SENTINEL_PREFIX};
use crate::http::SourceClient;
use crate::ownership::GroupEvent;
use crate::publish::{Publisher, Sentinels};
use crate::settings::FetcherConfig;
use crate::source::SourceConfig;
use crate::stream_task::{self, Schedule, StreamDone};
use crate::sync::StreamContext;
use crate::{Error, Plumbing};

/// How long a newly owned partition may take to be read up to its sentinel.
const CATCH_UP_DEADLINE: Duration = Duration::from_secs(30);

/// A configured source with its client and stream concurrency limit.
#[derive(Debug)]
pub struct SourceRuntime {
    pub config: Arc<SourceConfig>,
    pub client: Arc<SourceClient>,
    pub concurrency: Arc<Semaphore>,
}

struct OwnedPartition {
    publisher: Arc<Publisher>,
    sentinel: String,
    /// Caught up to the sentinel and streams started.
    started: bool,
    taken_at: Instant,
    tasks: Vec<(Shutdown, JoinHandle<()>)>,
}

pub struct Coordinator {
    pub plumbing: Plumbing,
    pub settings: FetcherConfig,
    pub sources: Vec<SourceRuntime>,
    pub partitions: i32,
    owner: Arc<str>,
    /// Open transactions allowed at once across this process's publishers.
    transaction_turns: Arc<Semaphore>,
    sentinels: Sentinels,
    owned: HashMap<i32, OwnedPartition>,
    checkpoints: HashMap<String, Checkpoint>,
    /// Streams of owned, caught-up partitions that have not finished (once mode).
    pending: HashMap<String, i32>,
    failed: Vec<String>,
    done_tx: mpsc::UnboundedSender<StreamDone>,
    done_rx: mpsc::UnboundedReceiver<StreamDone>,
}

impl Coordinator {
    pub fn new(
        plumbing: Plumbing,
        settings: FetcherConfig,
        sources: Vec<SourceRuntime>,
        partitions: i32,
        sentinels: Sentinels,
    ) -> Self {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let turns = Semaphore::new(settings.concurrent_transactions.max(1));
        Self {
            plumbing,
            settings,
            sources,
            partitions,
            owner: format!(
                "{}@{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            )
            .into(),
            transaction_turns: Arc::new(turns),
            sentinels,
            owned: HashMap::new(),
            checkpoints: HashMap::new(),
            pending: HashMap::new(),
            failed: Vec::new(),
            done_tx,
            done_rx,
        }
    }

    /// Runs until shutdown, a fatal error, or (once mode) every owned stream
    /// has synced once.
    pub async fn run(
        mut self,
        mut events: mpsc::UnboundedReceiver<GroupEvent>,
        shutdown: Shutdown,
    ) -> Result<(), Error> {
        let result = loop {
            tokio::select! {
                () = shutdown.triggered() => break Ok(()),
                event = events.recv() => match event {
                    None => break Err(Error::GroupConsumer("the group consumer stopped".into())),
                    Some(event) => if let Err(e) = self.handle(event).await { break Err(e) },
                },
                Some(done) = self.done_rx.recv() => {
                    self.pending.remove(&done.key);
                    if let Some(error) = done.error { self.failed.push(format!("{}: {error}", done.key)); }
                }
                () = tokio::time::sleep(Duration::from_secs(1)) => self.start_overdue(),
            }
            let all_started = !self.owned.is_empty() && self.owned.values().all(|p| p.started);
            if self.settings.once && all_started && self.pending.is_empty() {
                break match self.failed.is_empty() {
                    true => Ok(()),
                    false => Err(Error::StreamsFailed(std::mem::take(&mut self.failed))),
                };
            }
        };
        let partitions: Vec<i32> = self.owned.keys().copied().collect();
        self.release(&partitions).await;
        result
    }

    async fn handle(&mut self, event: GroupEvent) -> Result<(), Error> {
        match event {
            GroupEvent::Assigned(partitions) => self.take(partitions).await?,
            GroupEvent::Revoked(partitions, done) => {
                self.release(&partitions).await;
                let _ = done.send(());
            }
            GroupEvent::Record {
                partition,
                key,
                value,
            } => {
                if let Some(id) = key.strip_prefix(SENTINEL_PREFIX) {
                    let ours = self.owned.get(&partition).is_some_and(|p| p.sentinel == id);
                    if ours {
                        self.start_streams(partition);
                    }
                } else {
                    match serde_json::from_slice::<Checkpoint>(&value) {
                        Ok(checkpoint) => {
                            self.checkpoints.insert(key, checkpoint);
                        }
                        Err(error) => {
                            tracing::warn!(%key, %error, "ignoring an unreadable checkpoint record")
                        }
                    }
                }
            }
            GroupEvent::Failed(message) => return Err(Error::GroupConsumer(message)),
        }
        Ok(())
    }

    /// Opens a publisher for each new partition (at once: initializing
    /// transactions is a broker round trip each) and writes its sentinel.
    async fn take(&mut self, partitions: Vec<i32>) -> Result<(), Error> {
        let new: Vec<i32> = partitions
            .into_iter()
            .filter(|p| !self.owned.contains_key(p))
            .collect();
        let (kafka, topics) = (&self.plumbing.kafka, &self.plumbing.topics);
        let publishers = futures::future::try_join_all(
            new.iter()
                .map(|&p| Publisher::open(kafka, topics, p, Arc::clone(&self.transaction_turns))),
        )
        .await?;
        for (partition, publisher) in new.into_iter().zip(publishers) {
            let sentinel = uuid::Uuid::new_v4().to_string();
            self.sentinels.write(partition, &sentinel).await?;
            tracing::info!(
                partition,
                "took over watermarks partition; reading its checkpoints"
            );
            self.owned.insert(
                partition,
                OwnedPartition {
                    publisher: Arc::new(publisher),
                    sentinel,
                    started: false,
                    taken_at: Instant::now(),
                    tasks: Vec::new(),
                },
            );
        }
        Ok(())
    }

    /// Starts the streams of partitions whose sentinel has not come back in
    /// time. The partition's producer was initialized before its sentinel
    /// was written, which aborts a killed predecessor's open transaction;
    /// but any other transaction left open there holds `read_committed`
    /// readers back (until its timeout on Kafka, for good on the local
    /// broker: `docs/broker-compat.md`, deviation 11). Starting from the last
    /// checkpoint read is safe — at worst an older one, and pages are
    /// fetched again — where waiting could hang.
    fn start_overdue(&mut self) {
        let overdue: Vec<i32> = self
            .owned
            .iter()
            .filter(|(_, p)| !p.started && p.taken_at.elapsed() >= CATCH_UP_DEADLINE)
            .map(|(partition, _)| *partition)
            .collect();
        for partition in overdue {
            tracing::error!(
                partition,
                deadline = ?CATCH_UP_DEADLINE,
                "own sentinel not read back from the watermarks topic in time; starting from the \
                 checkpoints read so far (records may be fetched again)"
            );
            self.start_streams(partition);
        }
    }

    fn start_streams(&mut self, partition: i32) {
        let Some(owned) = self.owned.get_mut(&partition) else {
            return;
        };
        if owned.started {
            return;
        }
        owned.started = true;
        for source in &self.sources {
            for stream in &source.config.streams {
                let key = Checkpoint::key(&source.config.name, &stream.name);
                if checkpoint::partition_for(&key, self.partitions) != partition {
                    continue;
                }
                let ctx = StreamContext {
                    source: Arc::clone(&source.config),
                    client: Arc::clone(&source.client),
                    stream: stream.clone(),
                    publisher: Arc::clone(&owned.publisher),
                    batch: crate::sync::BatchLimits {
                        records: self.settings.transaction_records.max(1),
                        max_wait: Duration::from_millis(self.settings.transaction_max_ms),
                    },
                    owner: Arc::clone(&self.owner),
                };
                let schedule = Schedule {
                    every: if self.settings.once {
                        None
                    } else {
                        stream.every_seconds.map(Duration::from_secs)
                    },
                    retry_after: Duration::from_secs(self.settings.retry_failed_after_secs),
                    once_attempts: self.settings.once_attempts,
                };
                let stop = Shutdown::new();
                let last = self.checkpoints.get(&key).cloned();
                let task = stream_task::run(
                    ctx,
                    last,
                    schedule,
                    Arc::clone(&source.concurrency),
                    stop.clone(),
                    self.done_tx.clone(),
                );
                owned.tasks.push((stop, tokio::spawn(task)));
                self.pending.insert(key, partition);
            }
        }
        tracing::info!(partition, streams = owned.tasks.len(), "streams started");
    }

    /// Stops the streams of `partitions` and closes their publishers, all
    /// partitions at once (closing a transactional producer takes a broker
    /// round trip or two).
    async fn release(&mut self, partitions: &[i32]) {
        let released: Vec<(i32, OwnedPartition)> = partitions
            .iter()
            .filter_map(|p| self.owned.remove(p).map(|owned| (*p, owned)))
            .collect();
        for (_, owned) in &released {
            for (stop, _) in &owned.tasks {
                stop.trigger();
            }
        }
        self.pending.retain(|_, p| !partitions.contains(p));
        let deadline = self.plumbing.kafka.close_timeout();
        let closing = released.into_iter().map(|(partition, owned)| async move {
            for (_, task) in owned.tasks {
                let _ = task.await;
            }
            if let Ok(publisher) = Arc::try_unwrap(owned.publisher) {
                let _ = tokio::task::spawn_blocking(move || publisher.close(deadline)).await;
            }
            tracing::info!(partition, "released watermarks partition");
        });
        futures::future::join_all(closing).await;
    }
}
