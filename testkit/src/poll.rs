//! Polling with a deadline: how tests wait for something to become true.

use std::future::Future;
use std::time::{Duration, Instant};

/// Calls `probe` until it returns `Some`, every 50 ms, for at most
/// `deadline`; panics naming `what` if it never does.
pub async fn eventually<T, F, Fut>(deadline: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < deadline,
            "gave up after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_first_value_found() {
        let mut calls = 0;
        let value = eventually(Duration::from_secs(5), "the third call", || {
            calls += 1;
            let done = calls == 3;
            async move { done.then_some(42) }
        })
        .await;
        assert_eq!((value, calls), (42, 3));
    }

    #[tokio::test]
    #[should_panic(expected = "gave up after")]
    async fn panics_at_the_deadline() {
        eventually(Duration::from_millis(100), "nothing", || async {
            None::<()>
        })
        .await;
    }
}
