//! The front's queue: a request that finds every master that is up saturated (at
//! `max_in_flight`, or answering 503 because its own compile queue is full) waits here for a
//! slot instead of being turned away, as haproxy's `timeout queue` does, for at most
//! `queue_timeout`. A request finished on any master frees a slot and wakes the waiter that
//! has waited longest (one per slot: no herd), which then picks a master again; while any
//! request waits, new ones queue behind it. When no master is up at all, nothing waits: the
//! agent gets its 503 at once.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The longest a waiter sleeps before it looks at the masters again even if no slot was
/// freed here (a master saturated by another front frees nothing this front sees).
const RECHECK: Duration = Duration::from_secs(1);

/// Requests waiting for a master, and the figures of the status page.
#[derive(Debug, Default)]
pub struct Queue {
    freed: Notify,
    /// Requests waiting now.
    pub waiting: AtomicUsize,
    /// Requests that had to wait, in all.
    pub queued: AtomicU64,
    /// Requests that waited `queue_timeout` and were answered 503.
    pub timed_out: AtomicU64,
}

impl Queue {
    /// A request finished on some master: the longest waiter looks again. With nobody
    /// waiting the wake-up is kept for the next waiter (one at most), so a slot freed just
    /// before a request starts to wait is not missed; at worst it looks once for nothing.
    pub fn freed(&self) {
        self.freed.notify_one();
    }

    /// Waits until a slot frees (or `RECHECK` passes); false once `deadline` has passed, and
    /// then the request is counted as timed out. `first` counts the request as queued.
    pub async fn wait(&self, deadline: Instant, first: bool) -> bool {
        let now = Instant::now();
        if now >= deadline {
            self.timed_out.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if first {
            self.queued.fetch_add(1, Ordering::Relaxed);
        }
        let n = self.freed.notified();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let _ = tokio::time::timeout_at(deadline.min(now + RECHECK).into(), n).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_freed_slot_wakes_a_waiter_before_the_recheck() {
        let q = Arc::new(Queue::default());
        let q2 = q.clone();
        let t0 = Instant::now();
        let waiter =
            tokio::spawn(
                async move { q2.wait(Instant::now() + Duration::from_secs(5), true).await },
            );
        while q.waiting.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        q.freed();
        assert!(waiter.await.expect("join"));
        assert!(t0.elapsed() < RECHECK, "{:?}", t0.elapsed());
        assert_eq!(q.queued.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn the_deadline_ends_the_wait() {
        let q = Queue::default();
        let deadline = Instant::now() + Duration::from_millis(150);
        let mut first = true;
        let mut rounds = 0;
        while q.wait(deadline, first).await {
            first = false;
            rounds += 1;
            assert!(rounds < 10, "recheck every second, so one round");
        }
        assert!(Instant::now() >= deadline);
        assert_eq!(rounds, 1);
        assert_eq!(q.queued.load(Ordering::Relaxed), 1);
        assert_eq!(q.timed_out.load(Ordering::Relaxed), 1);
        assert_eq!(q.waiting.load(Ordering::SeqCst), 0);
    }
}
