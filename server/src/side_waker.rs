//! A waker for the futures of a task that rarely complete (shutdown, timeouts, timers), so that the task's frequent
//! wake-ups (an event for each subscriber) do not poll them too.
//!
//! A task that polls such futures next to its busy one with the task's own waker re-polls all of them on every
//! wake-up: for a stream, a cancellation token (a lock), a `Notify` (another) and timers, once per delivery. Polled
//! with a [`SideWaker`]'s waker instead, they mark it when they wake and wake the task; the task polls them only
//! then ([`SideWaker::woken`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use futures_util::task::AtomicWaker;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct SideWaker {
    shared: Arc<Shared>,
    waker: Waker,
    /// The task's waker as last registered: a task's waker rarely changes, and registering it again on each poll
    /// (two atomic exchanges) would be paid once per delivery.
    registered: Option<Waker>,
}

#[derive(Debug)]
struct Shared {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl SideWaker {
    /// A side waker that counts as woken, so that the first poll registers the side futures.
    pub(crate) fn new() -> Self {
        let shared = Arc::new(Shared { woken: AtomicBool::new(true), task: AtomicWaker::new() });
        let waker = Waker::from(shared.clone());
        Self { shared, waker, registered: None }
    }

    /// Registers the task's waker (`cx`) and tells whether a side future woke since the last call: if so, poll the
    /// side futures with [`SideWaker::context`].
    pub(crate) fn woken(&mut self, cx: &Context<'_>) -> bool {
        // A load first: the flag is rarely set, and a swap is an atomic write each time.
        let woken = self.shared.woken.load(Ordering::Acquire) && self.shared.woken.swap(false, Ordering::AcqRel);
        // A wake takes the registered waker (it sets the flag first): register again after one, or when the task's
        // waker changed. A side future waking between the swap and the registration is not lost: the caller polls
        // every side future after a `true`.
        if woken || !self.registered.as_ref().is_some_and(|waker| waker.will_wake(cx.waker())) {
            self.shared.task.register(cx.waker());
            self.registered = Some(cx.waker().clone());
        }
        woken
    }

    /// The context to poll the side futures with.
    pub(crate) fn context(&self) -> Context<'_> {
        Context::from_waker(&self.waker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::time::Duration;

    /// Polls a 5 s sleep through a side waker until it has fired `fires` times (set 5 s on again after each
    /// firing), within 60 s: how many times the side future was polled, and how long it all took.
    async fn fire(fires: u32) -> (u32, Duration) {
        let mut side = SideWaker::new();
        let mut sleep = pin!(tokio::time::sleep(Duration::from_secs(5)));
        let (mut polls, mut fired) = (0, 0);
        let started = tokio::time::Instant::now();
        let done = tokio::time::timeout(
            Duration::from_secs(60),
            std::future::poll_fn(|cx| {
                if side.woken(cx) {
                    polls += 1;
                    if sleep.as_mut().poll(&mut side.context()).is_ready() {
                        fired += 1;
                        if fired == fires {
                            return std::task::Poll::Ready(());
                        }
                        sleep.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(5));
                        // Registers the timer, set again, with the side waker.
                        assert!(sleep.as_mut().poll(&mut side.context()).is_pending());
                    }
                }
                std::task::Poll::Pending
            }),
        )
        .await;
        assert!(done.is_ok(), "fired {fired} of {fires} times within 60 s");
        (polls, started.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_side_future_is_polled_only_after_it_woke() {
        assert_eq!(fire(1).await, (2, Duration::from_secs(5)), "once to register, once when it fired");
    }

    #[tokio::test(start_paused = true)]
    async fn every_wake_is_seen_not_only_the_first() {
        // A wake takes the task's registered waker: the side waker must register it again, or the second wake is
        // lost (seen only when the timeout polls the task at 60 s).
        assert_eq!(fire(3).await, (4, Duration::from_secs(15)));
    }
}
