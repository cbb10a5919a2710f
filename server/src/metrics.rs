//! The server's Prometheus metrics, served at `GET /metrics` (OpenMetrics text).
//!
//! Built on the `prometheus-client` crate (the Prometheus project's own Rust client: a registry, atomic counters,
//! a spec-conformant text encoder, and no global state, so every test server has its own metrics). No label is per
//! topic or per user (unbounded cardinality); the only labels are the `reason` of resets and rejections, from a
//! fixed set.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `sse_live_open_streams` | gauge | event streams open now (also `openStreams` in `/healthz`) |
//! | `sse_live_events_published_total` | counter | events published (HTTP and the demo generators) |
//! | `sse_live_events_delivered_total` | counter | events written to streams, replayed or live |
//! | `sse_live_events_written_directly_total` | counter | live events among those delivered that were written straight to a waiting stream's socket, without waking its task (see `hub::direct`) |
//! | `sse_live_publishes_held_back_total` | counter | publishes (HTTP, the demo generators, events read from Redis) that waited for the direct fan-out to write a topic's earlier events (back-pressure, see `hub::direct`) |
//! | `sse_live_replays_total` | counter | streams that resumed from a `Last-Event-ID` without a reset |
//! | `sse_live_replayed_events_total` | counter | events sent from the history |
//! | `sse_live_resets_total{reason}` | counter | `event: reset` notices: `expired`, `unknown`, `invalid`, `restarted`, `lagged` |
//! | `sse_live_lagged_total` | counter | streams closed because their client fell further behind than `--client-buffer` |
//! | `sse_live_send_timeouts_total` | counter | connections closed because the client read nothing for `--send-timeout` |
//! | `sse_live_tokens_expired_total` | counter | private streams closed with `event: expired` |
//! | `sse_live_open_connections` | gauge | TCP connections open now (streams and plain requests; `--max-connections`) |
//! | `sse_live_connections_closed_total{reason}` | counter | connections the server closed: `header_timeout`, `idle_timeout`, `too_many_per_ip` (`--max-connections-per-ip`, closed when accepted) |
//! | `sse_live_rejected_total{reason}` | counter | stream requests refused: `bad_request`, `not_found`, `unauthorized`, `forbidden`, `too_many_streams`, `too_many_streams_per_ip`, `too_many_topics` |

use std::fmt;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sse_live_protocol::wire::ResetReason;

use crate::serve::CloseReason;

/// The content type of [`Metrics::render`]'s text.
pub(crate) const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type ByReason = Family<[(&'static str, &'static str); 1], Counter>;

/// The `reason` labels of `sse_live_resets_total`.
pub(crate) const RESET_REASONS: [ResetReason; 5] =
    [ResetReason::Expired, ResetReason::Unknown, ResetReason::Invalid, ResetReason::Restarted, ResetReason::Lagged];

/// The `reason` labels of `sse_live_rejected_total` (the codes of [`ApiError::reason`](crate::error::ApiError::reason)
/// a stream request can end in).
pub(crate) const REJECT_REASONS: [&str; 8] = [
    "bad_request",
    "not_found",
    "unauthorized",
    "forbidden",
    "too_many_streams",
    "too_many_streams_per_ip",
    "too_many_topics",
    "redis_unavailable",
];

/// Every metric, registered once; cheap to share behind an `Arc` (each metric is an atomic).
pub(crate) struct Metrics {
    registry: Registry,
    /// Event streams open now.
    pub open_streams: Gauge,
    /// Events published.
    pub published: Counter,
    /// Events written to streams.
    pub delivered: Counter,
    /// Live events written straight to a waiting stream's socket (counted in `delivered` too).
    pub written_directly: Counter,
    /// Publishes that waited for the direct fan-out (back-pressure).
    pub publishes_held_back: Counter,
    /// Streams that resumed from a last event id without a reset.
    pub replays: Counter,
    /// Events sent from the history.
    pub replayed: Counter,
    resets: ByReason,
    /// Streams closed for falling behind.
    pub lagged: Counter,
    /// Connections closed because the client stopped reading.
    pub send_timeouts: Counter,
    /// Private streams closed on token expiry.
    pub tokens_expired: Counter,
    rejected: ByReason,
    /// TCP connections open now.
    pub open_connections: Gauge,
    connections_closed: ByReason,
    /// With `--redis-url`: 1 while Redis answers, 0 while it is lost (always 0 without Redis).
    pub redis_connected: Gauge,
    /// With `--redis-url`: times the reader reconnected to Redis after losing it.
    pub redis_reconnects: Counter,
    /// With `--redis-url`: topics this instance reads from Redis now.
    pub redis_followed_topics: Gauge,
}

impl Metrics {
    /// Every metric at zero.
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("sse_live");
        let metrics = Self {
            registry: Registry::default(),
            open_streams: Gauge::default(),
            published: Counter::default(),
            delivered: Counter::default(),
            written_directly: Counter::default(),
            publishes_held_back: Counter::default(),
            replays: Counter::default(),
            replayed: Counter::default(),
            resets: ByReason::default(),
            lagged: Counter::default(),
            send_timeouts: Counter::default(),
            tokens_expired: Counter::default(),
            rejected: ByReason::default(),
            redis_connected: Gauge::default(),
            redis_reconnects: Counter::default(),
            open_connections: Gauge::default(),
            connections_closed: ByReason::default(),
            redis_followed_topics: Gauge::default(),
        };
        registry.register("open_streams", "Event streams open now", metrics.open_streams.clone());
        registry.register("events_published", "Events published", metrics.published.clone());
        registry.register("events_delivered", "Events written to streams, replayed or live", metrics.delivered.clone());
        registry.register(
            "events_written_directly",
            "Live events written straight to a waiting stream's socket (also counted as delivered)",
            metrics.written_directly.clone(),
        );
        registry.register(
            "publishes_held_back",
            "Publishes that waited for the direct fan-out to write a topic's earlier events (back-pressure)",
            metrics.publishes_held_back.clone(),
        );
        registry.register("replays", "Streams that resumed from a Last-Event-ID", metrics.replays.clone());
        registry.register("replayed_events", "Events sent from the history", metrics.replayed.clone());
        registry.register("resets", "event: reset notices sent, by reason", metrics.resets.clone());
        registry.register("lagged", "Streams closed because the client fell behind", metrics.lagged.clone());
        registry.register(
            "send_timeouts",
            "Connections closed because the client stopped reading",
            metrics.send_timeouts.clone(),
        );
        registry.register("tokens_expired", "Private streams closed on token expiry", metrics.tokens_expired.clone());
        registry.register("rejected", "Stream requests refused, by reason", metrics.rejected.clone());
        registry.register(
            "redis_connected",
            "1 while Redis (--redis-url) answers, else 0",
            metrics.redis_connected.clone(),
        );
        registry.register(
            "redis_reconnects",
            "Reconnections to Redis after losing it",
            metrics.redis_reconnects.clone(),
        );
        registry.register("open_connections", "TCP connections open now", metrics.open_connections.clone());
        registry.register(
            "connections_closed",
            "Connections the server closed (timeouts, per-address cap), by reason",
            metrics.connections_closed.clone(),
        );
        registry.register(
            "redis_followed_topics",
            "Topics this instance reads from Redis (--redis-url)",
            metrics.redis_followed_topics.clone(),
        );
        // Every known series exists from the start, at 0, so that rates and alerts work before the first event.
        for reason in RESET_REASONS {
            let _ = metrics.resets.get_or_create(&[("reason", reason.code())]);
        }
        for reason in REJECT_REASONS {
            let _ = metrics.rejected.get_or_create(&[("reason", reason)]);
        }
        for reason in CloseReason::ALL {
            let _ = metrics.connections_closed.get_or_create(&[("reason", reason.code())]);
        }
        Self { registry, ..metrics }
    }

    /// Counts one `event: reset`.
    pub(crate) fn reset(&self, reason: ResetReason) {
        self.resets.get_or_create(&[("reason", reason.code())]).inc();
    }

    /// Counts one refused stream request; `reason` is one of the codes in the module docs.
    pub(crate) fn rejected(&self, reason: &'static str) {
        self.rejected.get_or_create(&[("reason", reason)]).inc();
    }

    /// Counts one connection the server closed.
    pub(crate) fn connection_closed(&self, reason: CloseReason) {
        self.connections_closed.get_or_create(&[("reason", reason.code())]).inc();
    }

    /// The metrics as OpenMetrics text.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_metric_with_reasons_as_labels() {
        let metrics = Metrics::new();
        metrics.published.inc();
        metrics.open_streams.set(2);
        metrics.reset(ResetReason::Lagged);
        metrics.rejected("too_many_streams_per_ip");
        let text = metrics.render();
        for line in [
            "sse_live_events_published_total 1",
            "sse_live_open_streams 2",
            "sse_live_resets_total{reason=\"lagged\"} 1",
            "sse_live_rejected_total{reason=\"too_many_streams_per_ip\"} 1",
            "sse_live_events_delivered_total 0",
            "sse_live_events_written_directly_total 0",
            "sse_live_resets_total{reason=\"expired\"} 0",
            "sse_live_rejected_total{reason=\"too_many_streams\"} 0",
            "# EOF",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} missing from:\n{text}");
        }
    }
}
