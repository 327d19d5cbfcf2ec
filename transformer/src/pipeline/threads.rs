//! Threads started with the pipeline and kept for as long as it runs,
//! each doing the work given to it in turn: the mapping threads, and the
//! thread transactions commit on. Work must never wait for work given
//! after it to the same threads: each thread does its work in order.
//!
//! Kept, not started per batch: with mimalloc, a thread that exits leaves
//! its pages to be reclaimed by other threads while what it made (the
//! outputs mapped, freed later on the pipeline's thread) still lives in
//! them. Started per batch, the threads cost the transformer ~0.7 s of CPU
//! per million raw records (`docs/performance.md`, "Fewer reports,
//! threads kept, a longer linger").

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

type Work = Box<dyn FnOnce() + Send>;

/// The threads; clones share them. They end once every clone is dropped
/// and the work already given to them is done. A thread whose work
/// panicked (mapping and committing do not) is gone, and what is given to
/// it afterwards is left to the caller.
#[derive(Debug, Clone)]
pub struct Threads {
    threads: Arc<Vec<mpsc::Sender<Work>>>,
}

/// Work given to a thread: its result, once done.
#[derive(Debug)]
pub struct Pending<T> {
    result: mpsc::Receiver<T>,
    done: Arc<AtomicBool>,
}

/// Marks work done when dropped: after its result is sent, or while a
/// panic unwinds (then no result comes, and [`Pending::wait`] says so).
struct Done(Arc<AtomicBool>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl Threads {
    /// Starts `threads` threads named `name` (at least one); fewer if some
    /// cannot be started, none if none can: then [`run`](Self::run) gives
    /// nothing to wait for, and the caller does the work itself.
    pub fn new(name: &str, threads: usize) -> Self {
        let threads = (0..threads.max(1))
            .filter_map(|_| {
                let (work, to_do) = mpsc::channel::<Work>();
                let started = std::thread::Builder::new()
                    .name(name.to_owned())
                    .spawn(move || to_do.into_iter().for_each(|work| work()));
                match started {
                    Ok(_) => Some(work),
                    Err(e) => {
                        tracing::warn!(
                            thread = name, error = %e,
                            "a thread could not be started; its work is done by the caller"
                        );
                        None
                    }
                }
            })
            .collect();
        Self {
            threads: Arc::new(threads),
        }
    }

    /// How many pieces to cut work into: one per thread.
    pub fn count(&self) -> usize {
        self.threads.len().max(1)
    }

    /// Runs `work` on thread `index` (modulo their count); `None` if that
    /// thread is gone, for the caller to do it.
    pub fn run<T: Send + 'static>(
        &self,
        index: usize,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<Pending<T>> {
        let thread = self.threads.get(index % self.threads.len().max(1))?;
        let (send, result) = mpsc::sync_channel(1);
        let done = Arc::new(AtomicBool::new(false));
        let marker = Done(Arc::clone(&done));
        thread
            .send(Box::new(move || {
                let _marker = marker;
                // Dropped before the marker, also while a panic unwinds:
                // once done, waiting never blocks.
                let send = send;
                let _ = send.send(work());
            }))
            .ok()?;
        Some(Pending { result, done })
    }
}

impl<T> Pending<T> {
    /// Whether the work is over, so that [`wait`](Self::wait) will not block.
    pub fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Its result; `None` if the work panicked or its thread is gone.
    pub fn wait(self) -> Option<T> {
        self.result.recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// Polls `pending` until it says it is done (10 s at most).
    fn until_done<T>(pending: &Pending<T>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pending.is_done() {
            assert!(Instant::now() < deadline, "work never done");
            std::thread::yield_now();
        }
    }

    #[test]
    fn work_runs_on_the_threads_and_its_results_come_back() {
        let threads = Threads::new("test-thread", 2);
        assert_eq!(threads.count(), 2);
        let pending: Vec<_> = (0..6)
            .map(|i| {
                threads.run(i, move || {
                    (i, std::thread::current().name().map(str::to_owned))
                })
            })
            .collect();
        for (i, pending) in pending.into_iter().enumerate() {
            let pending = pending.expect("a thread");
            until_done(&pending);
            let (n, thread) = pending.wait().expect("a result");
            assert_eq!(n, i);
            assert_eq!(thread.as_deref(), Some("test-thread"));
        }
    }

    #[test]
    fn work_that_panics_gives_no_result_and_its_thread_takes_no_more() {
        let threads = Threads::new("test-thread", 1);
        let pending = threads
            .run(0, || -> u8 {
                panic!("mapping never panics; this test does")
            })
            .expect("a thread");
        until_done(&pending);
        assert_eq!(pending.wait(), None);
        let deadline = Instant::now() + Duration::from_secs(10);
        let after = loop {
            match threads.run(0, || 1) {
                None => break None,
                Some(p) if Instant::now() > deadline => break Some(p),
                Some(_) => std::thread::yield_now(),
            }
        };
        assert!(
            after.is_none(),
            "work was still taken by a thread that panicked"
        );
    }
}
