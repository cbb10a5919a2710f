//! Connection limits for event streams: `--max-streams` in all and `--max-streams-per-ip` per client address.
//!
//! A [`StreamPermit`] is taken before a stream's response is built and lives inside the response body, so it is
//! held for the whole life of the stream and released when axum drops the body (the client left, the stream ended,
//! the server shut down). tower's `ConcurrencyLimitLayer` cannot do this: it releases its permit once the response
//! headers are out, which for a stream is at the start.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::error::ApiError;

/// The limits and what they are counting; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct StreamLimits {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    max_total: u32,
    max_per_ip: u32,
    retry_after: Duration,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: u32,
    per_ip: HashMap<IpAddr, u32>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl StreamLimits {
    /// At most `max_total` streams, `max_per_ip` from one address; a refusal says to come back after
    /// `retry_after`.
    pub(crate) fn new(max_total: u32, max_per_ip: u32, retry_after: Duration) -> Self {
        Self { shared: Arc::new(Shared { max_total, max_per_ip, retry_after, counts: Mutex::default() }) }
    }

    /// A permit for one more stream from `ip` (`None`: an address we cannot know, counted in the total only), or
    /// [`ApiError::TooManyStreams`].
    pub(crate) fn acquire(&self, ip: Option<IpAddr>) -> Result<StreamPermit, ApiError> {
        let shared = &self.shared;
        let mut counts = shared.lock();
        let too_many = |per_ip, limit| ApiError::TooManyStreams { per_ip, limit, retry_after: shared.retry_after };
        if counts.total >= shared.max_total {
            return Err(too_many(false, shared.max_total));
        }
        if let Some(ip) = ip {
            let count = counts.per_ip.entry(ip).or_default();
            if *count >= shared.max_per_ip {
                return Err(too_many(true, shared.max_per_ip));
            }
            *count += 1;
        }
        counts.total += 1;
        Ok(StreamPermit { shared: shared.clone(), ip })
    }

    /// How many streams hold a permit.
    #[cfg(test)]
    pub(crate) fn total(&self) -> u32 {
        self.shared.lock().total
    }
}

/// One stream's place within the limits, given back on drop.
#[derive(Debug)]
pub(crate) struct StreamPermit {
    shared: Arc<Shared>,
    ip: Option<IpAddr>,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut counts = self.shared.lock();
        counts.total -= 1;
        if let Some(ip) = self.ip {
            if let Some(count) = counts.per_ip.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    counts.per_ip.remove(&ip);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));

    #[test]
    fn per_ip_and_total_limits_hold_until_permits_drop() {
        let limits = StreamLimits::new(3, 2, Duration::from_secs(3));
        let a1 = limits.acquire(A).unwrap();
        let _a2 = limits.acquire(A).unwrap();
        assert!(matches!(limits.acquire(A), Err(ApiError::TooManyStreams { per_ip: true, limit: 2, .. })));
        let _b1 = limits.acquire(B).unwrap();
        assert!(matches!(limits.acquire(B), Err(ApiError::TooManyStreams { per_ip: false, limit: 3, .. })));
        drop(a1);
        assert_eq!(limits.total(), 2);
        let _a3 = limits.acquire(A).unwrap();
        assert_eq!(limits.total(), 3);
    }

    #[test]
    fn a_refused_request_takes_nothing() {
        let limits = StreamLimits::new(1, 1, Duration::from_secs(1));
        let _a = limits.acquire(A).unwrap();
        for _ in 0..3 {
            assert!(limits.acquire(A).is_err());
            assert!(limits.acquire(B).is_err());
        }
        assert_eq!(limits.total(), 1);
        assert_eq!(limits.shared.lock().per_ip.len(), 1, "B was never counted");
    }
}
