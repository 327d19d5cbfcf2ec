//! Closing Kafka clients within a deadline.
//!
//! librdkafka's close (run on drop) leaves the group and flushes; on some
//! brokers it can hang for minutes (see `docs/broker-compat.md`, deviation 7).
//! A stage's shutdown must be bounded, so clients are dropped on a helper
//! thread and abandoned if the deadline passes: the process is about to exit,
//! and offsets were already committed (or not) before close was called.

use std::sync::mpsc;
use std::time::Duration;

/// Drops `client` on a helper thread and waits up to `deadline`.
/// Returns `true` if it closed in time, `false` if it was abandoned.
pub fn close_with_deadline<T: Send + 'static>(client: T, deadline: Duration) -> bool {
    let (done, closed) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("kafka-close".into())
        .spawn(move || {
            drop(client);
            let _ = done.send(());
        });
    if spawned.is_err() {
        // The closure, and the client with it, was dropped on this thread.
        return true;
    }
    let in_time = closed.recv_timeout(deadline).is_ok();
    if !in_time {
        tracing::warn!(
            ?deadline,
            "Kafka client did not close in time; abandoning it"
        );
    }
    in_time
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    struct SlowToClose(Duration);
    impl Drop for SlowToClose {
        fn drop(&mut self) {
            std::thread::sleep(self.0);
        }
    }

    #[test]
    fn a_quick_close_reports_success() {
        assert!(close_with_deadline(
            SlowToClose(Duration::ZERO),
            Duration::from_secs(5)
        ));
    }

    #[test]
    fn a_hanging_close_is_abandoned_at_the_deadline() {
        let started = Instant::now();
        let closed = close_with_deadline(
            SlowToClose(Duration::from_secs(30)),
            Duration::from_millis(100),
        );
        assert!(!closed);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
