//! What the connections record while the window is open: events counted, publish-to-receive latency and fan-out
//! spread, each by the user-space clock and by the kernel's receive timestamp, in histograms sharded by connection
//! so the worker threads seldom wait for each other.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Deserialize;
use sse_live_protocol::EventRef;

use crate::report::Latency;

/// Shards of each histogram and of the first-receipt map.
const SHARDS: usize = 16;
/// The first-receipt map forgets everything past this many events (a window at full speed stays well below).
const MAX_TRACKED_EVENTS: usize = 1_000_000;

/// A histogram of microseconds from 1 µs to 10 minutes at 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// The distribution in `histogram`, or `None` when it is empty.
pub fn summarise(histogram: &Histogram<u64>) -> Option<Latency> {
    (!histogram.is_empty()).then(|| Latency {
        samples: histogram.len(),
        p50_us: histogram.value_at_quantile(0.50),
        p99_us: histogram.value_at_quantile(0.99),
        max_us: histogram.max(),
    })
}

/// The timestamp a publisher puts in each event's JSON: `{"sentAtUs": <Unix time, µs>, ...}`.
#[derive(Deserialize)]
struct Stamp {
    #[serde(rename = "sentAtUs")]
    sent_at_us: u64,
}

/// The `sentAtUs` of an event's data, if it is JSON carrying one.
pub fn sent_at_us(data: &str) -> Option<u64> {
    // Most streams carry no timestamp: skip the JSON parse for them (it runs once per event per connection).
    if !data.contains("\"sentAtUs\"") {
        return None;
    }
    serde_json::from_str::<Stamp>(data).ok().map(|s| s.sent_at_us)
}

/// The key under which an event's first receipt is remembered: its id as a number, or a hash of it.
fn event_key(id: &str) -> u64 {
    id.parse().unwrap_or_else(|_| {
        let mut hasher = DefaultHasher::new();
        id.hash(&mut hasher);
        hasher.finish()
    })
}

/// When the read that completed an event happened, by both clocks.
#[derive(Debug, Clone, Copy)]
pub struct Receipt {
    /// The monotonic clock after the read.
    pub at: Instant,
    /// The wall clock after the read, Unix µs.
    pub user_unix_us: u64,
    /// The kernel's receive timestamp of the read, Unix µs, when the socket had them.
    pub kernel_unix_us: Option<u64>,
}

/// The first receipt of an event: when it was recorded first, and the earliest kernel timestamp seen for it.
type FirstSeen = (Instant, Option<u64>);

/// Everything the connections record, shared by all of them.
pub struct Recorder {
    measuring: AtomicBool,
    events: AtomicU64,
    latency: Vec<Mutex<Histogram<u64>>>,
    spread: Vec<Mutex<Histogram<u64>>>,
    kernel_latency: Vec<Mutex<Histogram<u64>>>,
    kernel_spread: Vec<Mutex<Histogram<u64>>>,
    first_seen: Vec<Mutex<HashMap<u64, FirstSeen>>>,
}

impl Default for Recorder {
    fn default() -> Self {
        let shards = || (0..SHARDS).map(|_| Mutex::new(histogram())).collect();
        Self {
            measuring: AtomicBool::new(false),
            events: AtomicU64::new(0),
            latency: shards(),
            spread: shards(),
            kernel_latency: shards(),
            kernel_spread: shards(),
            first_seen: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

/// Publish→receive and fan-out spread, each by the user-space clock and by the kernel's receive timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Distributions {
    /// Publish→receive, user-space clock.
    pub latency: Option<Latency>,
    /// Spread, user-space (monotonic) clock.
    pub spread: Option<Latency>,
    /// Publish→receive, kernel receive timestamps.
    pub kernel_latency: Option<Latency>,
    /// Spread, kernel receive timestamps.
    pub kernel_spread: Option<Latency>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Recorder {
    /// Forgets what was recorded so far and starts counting.
    pub fn open_window(&self) {
        let histograms = [&self.latency, &self.spread, &self.kernel_latency, &self.kernel_spread];
        histograms.into_iter().flatten().for_each(|h| lock(h).reset());
        self.first_seen.iter().for_each(|m| lock(m).clear());
        self.events.store(0, Ordering::SeqCst);
        self.measuring.store(true, Ordering::SeqCst);
    }

    /// Stops counting.
    pub fn close_window(&self) {
        self.measuring.store(false, Ordering::SeqCst);
    }

    /// Records `event`, received on connection `connection` by the read `receipt` describes.
    ///
    /// The kernel spread of a receipt is measured from the earliest kernel timestamp recorded for the event so far
    /// (0 when it is the earliest): receipts are recorded in the order the readers ran, which is not always the
    /// order the kernel received them in.
    pub fn record(&self, connection: usize, event: &EventRef<'_>, receipt: &Receipt) {
        if !self.measuring.load(Ordering::Relaxed) {
            return;
        }
        self.events.fetch_add(1, Ordering::Relaxed);
        let shard = connection % SHARDS;
        if let Some(sent) = sent_at_us(event.data) {
            lock(&self.latency[shard]).saturating_record(receipt.user_unix_us.saturating_sub(sent));
            if let Some(kernel) = receipt.kernel_unix_us {
                lock(&self.kernel_latency[shard]).saturating_record(kernel.saturating_sub(sent));
            }
        }
        if !event.last_event_id.is_empty() {
            let key = event_key(event.last_event_id);
            let (first, kernel_first) = {
                let mut map = lock(&self.first_seen[key as usize % SHARDS]);
                if map.len() >= MAX_TRACKED_EVENTS / SHARDS {
                    map.clear();
                }
                let seen = map.entry(key).or_insert((receipt.at, receipt.kernel_unix_us));
                if let Some(kernel) = receipt.kernel_unix_us {
                    seen.1 = Some(seen.1.map_or(kernel, |first| first.min(kernel)));
                }
                *seen
            };
            let micros = receipt.at.saturating_duration_since(first).as_micros();
            lock(&self.spread[shard]).saturating_record(u64::try_from(micros).unwrap_or(u64::MAX));
            if let (Some(kernel), Some(first)) = (receipt.kernel_unix_us, kernel_first) {
                lock(&self.kernel_spread[shard]).saturating_record(kernel - first);
            }
        }
    }

    /// Events recorded since the window opened.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::SeqCst)
    }

    /// The publish-to-receive latency and the fan-out spread recorded since the window opened, by both clocks.
    pub fn distributions(&self) -> Distributions {
        let merge = |shards: &[Mutex<Histogram<u64>>]| {
            let mut all = histogram();
            shards.iter().for_each(|h| all.add(&*lock(h)).expect("same bounds"));
            summarise(&all)
        };
        Distributions {
            latency: merge(&self.latency),
            spread: merge(&self.spread),
            kernel_latency: merge(&self.kernel_latency),
            kernel_spread: merge(&self.kernel_spread),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn event<'a>(id: &'a str, data: &'a str) -> EventRef<'a> {
        EventRef { event_type: "message", data, last_event_id: id }
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = histogram();
        (1..=1_000).for_each(|us| h.record(us).unwrap());
        let l = summarise(&h).unwrap();
        assert_eq!((l.samples, l.p50_us, l.p99_us, l.max_us), (1_000, 500, 990, 1_000));
        assert_eq!(summarise(&histogram()), None);
    }

    #[test]
    fn the_timestamp_is_read_from_json_and_anything_else_has_none() {
        assert_eq!(sent_at_us(r#"{"seq":3,"sentAtUs":1764000000000000,"pad":"xx"}"#), Some(1_764_000_000_000_000));
        assert_eq!(sent_at_us(r#"{"temperature":21.3,"updatedAt":"2026-11-25T10:00:00Z"}"#), None);
        assert_eq!(sent_at_us("not json"), None);
    }

    fn at(at: Instant, user_unix_us: u64) -> Receipt {
        Receipt { at, user_unix_us, kernel_unix_us: None }
    }

    #[test]
    fn spread_is_measured_from_the_first_receipt_of_each_event() {
        let recorder = Recorder::default();
        let t0 = Instant::now();
        recorder.record(0, &event("1", "{}"), &at(t0, 0));
        assert_eq!(recorder.events(), 0, "nothing counts before the window opens");
        recorder.open_window();
        recorder.record(0, &event("1", "{}"), &at(t0, 0));
        recorder.record(1, &event("1", "{}"), &at(t0 + Duration::from_millis(5), 0));
        recorder.record(2, &event("1", "{}"), &at(t0 + Duration::from_millis(9), 0));
        recorder.record(0, &event("abc", r#"{"sentAtUs":1000}"#), &at(t0, 4_000));
        recorder.record(1, &event("abc", r#"{"sentAtUs":1000}"#), &at(t0 + Duration::from_millis(2), 5_000));
        recorder.close_window();
        recorder.record(0, &event("2", "{}"), &at(t0, 0));
        assert_eq!(recorder.events(), 5);
        let Distributions { latency, spread, kernel_latency, kernel_spread } = recorder.distributions();
        assert_eq!((kernel_latency, kernel_spread), (None, None), "no read had a kernel timestamp");
        let latency = latency.unwrap();
        // 3 significant digits: 4000 µs is recorded within 0.1%.
        assert_eq!(latency.samples, 2);
        assert!((4_000..=4_004).contains(&latency.max_us), "{latency:?}");
        let spread = spread.unwrap();
        assert_eq!(spread.samples, 5);
        assert!((8_990..=9_010).contains(&spread.max_us), "{spread:?}");
        recorder.open_window();
        assert_eq!(recorder.distributions(), Distributions::default(), "a new window starts empty");
    }

    #[test]
    fn kernel_figures_come_from_the_kernel_timestamps_apart_from_the_user_clock() {
        let recorder = Recorder::default();
        let t0 = Instant::now();
        let data = r#"{"sentAtUs":1000}"#;
        let receipt = |after_ms, user, kernel| Receipt {
            at: t0 + Duration::from_millis(after_ms),
            user_unix_us: user,
            kernel_unix_us: Some(kernel),
        };
        recorder.open_window();
        // Recorded in the order the readers ran: the second reader's data reached the kernel first.
        recorder.record(0, &event("7", data), &receipt(0, 9_000, 3_000));
        recorder.record(1, &event("7", data), &receipt(4, 13_000, 2_000));
        recorder.record(2, &event("7", data), &receipt(8, 17_000, 7_000));
        let d = recorder.distributions();
        let (latency, kernel) = (d.latency.unwrap(), d.kernel_latency.unwrap());
        assert_eq!((latency.samples, kernel.samples), (3, 3));
        assert!((15_990..=16_010).contains(&latency.max_us), "{latency:?}");
        assert!((5_995..=6_005).contains(&kernel.max_us), "{kernel:?}");
        assert!(kernel.p50_us < latency.p50_us);
        // Kernel spread: 0 (first), 0 (earlier than the first: the new earliest), 7,000 - 2,000.
        let spread = d.kernel_spread.unwrap();
        assert_eq!((spread.samples, spread.p50_us), (3, 0));
        assert!((4_995..=5_005).contains(&spread.max_us), "{spread:?}");
        assert!((7_990..=8_010).contains(&d.spread.unwrap().max_us), "user spread from the first recorded");
    }
}
