//! `--churn`: streams that close and come back with `Last-Event-ID`, as browsers do after a network change, with
//! what they got back counted: events the server replayed, events lost.
//!
//! During the window a driver closes `percent` of the streams each second (in ten slices a second, in turn over the
//! connections), each stays away for `gap` (a browser waits its `retry:` time), then reconnects from the same
//! source address sending the id of the last event it received. On every stream the ids are followed (the number
//! before any `@`): an event with an id at most the highest any stream had seen when it reconnected is a
//! **replayed** one (counted apart: not in the events, latencies and spreads of the report, since its latency is
//! the time the stream was away); a jump in the ids is **missed** events.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::report;

/// The shared state of the reconnecting streams.
pub struct Churn {
    /// Percent of the streams closed each second.
    pub percent: f64,
    /// How long a closed stream stays away.
    pub gap: Duration,
    /// One per connection: notified to close it and reconnect.
    kicks: Vec<Notify>,
    /// The highest id any stream has received.
    pub max_seq: AtomicU64,
    /// Counting (the window is open).
    pub counting: AtomicBool,
    reconnects: AtomicU64,
    failed: AtomicU64,
    replayed: AtomicU64,
    missed: AtomicU64,
}

impl Churn {
    /// For `connections` streams.
    pub fn new(connections: usize, percent: f64, gap: Duration) -> Self {
        Self {
            percent,
            gap,
            kicks: (0..connections).map(|_| Notify::new()).collect(),
            max_seq: AtomicU64::new(0),
            counting: AtomicBool::new(false),
            reconnects: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            missed: AtomicU64::new(0),
        }
    }

    /// Resolves when connection `index` is to close and reconnect.
    pub async fn kicked(&self, index: usize) {
        match self.kicks.get(index) {
            Some(kick) => kick.notified().await,
            None => std::future::pending().await,
        }
    }

    /// A reconnect got its stream (`true`) or not.
    pub fn reconnected(&self, ok: bool) {
        if self.counting.load(Ordering::Relaxed) {
            let counter = if ok { &self.reconnects } else { &self.failed };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Closes `percent` of the streams each second, in turn, until `stop`.
    pub fn spawn_driver(self: &Arc<Self>, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
        let churn = self.clone();
        tokio::spawn(async move {
            const SLICES: u32 = 10;
            let n = churn.kicks.len();
            let per_slice = n as f64 * churn.percent / 100.0 / f64::from(SLICES);
            let (mut owed, mut cursor) = (0.0, 0_usize);
            let mut ticks = tokio::time::interval(Duration::from_secs(1) / SLICES);
            ticks.tick().await;
            while !stop.load(Ordering::SeqCst) && n > 0 {
                ticks.tick().await;
                owed += per_slice;
                while owed >= 1.0 {
                    owed -= 1.0;
                    churn.kicks[cursor % n].notify_one();
                    cursor += 1;
                }
            }
        })
    }

    /// The report's figures.
    pub fn report(&self) -> report::Churn {
        report::Churn {
            percent_per_sec: self.percent,
            gap_ms: u64::try_from(self.gap.as_millis()).unwrap_or(u64::MAX),
            reconnects: self.reconnects.load(Ordering::SeqCst),
            failed: self.failed.load(Ordering::SeqCst),
            replayed: self.replayed.load(Ordering::SeqCst),
            missed: self.missed.load(Ordering::SeqCst),
        }
    }
}

/// One connection's place in the ids, across its reconnects.
#[derive(Debug, Default)]
pub struct Track {
    /// The last id received, sent back as `Last-Event-ID`.
    pub last_id: String,
    last_seq: Option<u64>,
    /// Events with an id up to this are replayed ones (the highest seen anywhere when it reconnected).
    replay_until: u64,
}

impl Track {
    /// A new connection of the stream is being opened.
    pub fn reconnecting(&mut self, churn: &Churn) {
        self.replay_until = churn.max_seq.load(Ordering::SeqCst);
    }

    /// An event with id `id` arrived; whether it is a replayed one.
    pub fn event(&mut self, churn: &Churn, id: &str) -> bool {
        if id.is_empty() {
            return false;
        }
        self.last_id.clear();
        self.last_id.push_str(id);
        let Some(seq) = sequence(id) else { return false };
        let counting = churn.counting.load(Ordering::Relaxed);
        if let Some(last) = self.last_seq {
            if counting && seq > last + 1 {
                churn.missed.fetch_add(seq - last - 1, Ordering::Relaxed);
            }
        }
        let replayed = seq <= self.replay_until;
        if counting && replayed {
            churn.replayed.fetch_add(1, Ordering::Relaxed);
        }
        self.last_seq = Some(self.last_seq.map_or(seq, |last| last.max(seq)));
        churn.max_seq.fetch_max(seq, Ordering::Relaxed);
        replayed
    }
}

/// The sequence number of an id: `41` or `41@k3f9x2` (ours) is 41.
pub fn sequence(id: &str) -> Option<u64> {
    id.split('@').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_and_gaps_are_counted_from_the_ids() {
        let churn = Churn::new(1, 1.0, Duration::from_secs(1));
        churn.counting.store(true, Ordering::SeqCst);
        let mut track = Track::default();
        assert!(!track.event(&churn, "1@e"));
        assert!(!track.event(&churn, "2@e"));
        churn.max_seq.store(5, Ordering::SeqCst);
        track.reconnecting(&churn);
        assert!(track.event(&churn, "3@e"), "published before the reconnect");
        assert!(track.event(&churn, "4@e"));
        assert!(!track.event(&churn, "7@e"));
        let report = churn.report();
        assert_eq!((report.replayed, report.missed), (2, 2));
        assert_eq!(track.last_id, "7@e");
        assert_eq!(sequence("12"), Some(12));
        assert_eq!(sequence("x"), None);
    }
}
