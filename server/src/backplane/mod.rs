//! Where topics are shared: in this process only ([`Backplane::Local`], the default), or with every instance on one
//! Redis ([`Backplane::Redis`], `--redis-url`), so that a client gets every event published on any instance and can
//! resume on any instance after a reconnect. Handlers see one type: [`Backplane::publish`], [`Backplane::follow`],
//! [`Backplane::exists`], [`Backplane::readiness`].
//!
//! # Design: Redis Streams, not pub/sub
//!
//! Redis pub/sub delivers a message at most once, to whoever is subscribed at that instant: an instance that loses
//! its connection misses what is published meanwhile (and must resubscribe), and nothing is kept for a client that
//! reconnects to another instance. A Stream is a log: `XADD` appends, `XREAD` reads on from any id, `XRANGE` reads a
//! range. So:
//!
//! - **Publishing** (every publisher goes through [`AppState::publish`](crate::AppState::publish): `POST
//!   /events/{topic}`, the generators, the jobs) runs one script in Redis: `INCR` the topic's counter to `N`, then
//!   `XADD` the event as stream entry `N-0` with `MAXLEN ~ --history`. The topic's history lives in Redis.
//! - **Ids**: the SSE `id:` of that event is `N@<epoch>` ([`crate::hub::epoch`]): `N` is the same on every
//!   instance because Redis hands it out, and the epoch is stored in Redis (`SET sse-live:epoch <random> NX`, read
//!   back after every connection and with every history load, so every instance shares it). A Redis that comes
//!   back empty has no epoch any more: the first instance to reach it sets a new one, and every instance starts its
//!   topics over in it (their subscribers get `event: reset`, reason `restarted`; a client's id of the old epoch
//!   gets the same), instead of taking the new `1, 2, ...` for events its clients have already seen.
//! - **Reading**: each instance runs one task ([`RedisBackplane::read`]) that `XREAD BLOCK`s on the streams of the
//!   topics it follows, from the last id it read of each, and delivers what comes into the local hub
//!   ([`Hub::deliver`](crate::hub::Hub::deliver)), which fans out to local clients exactly as without Redis. Local
//!   delivery only ever comes from this reader, so every instance sees a topic's events in stream order. An id that
//!   jumps (entries trimmed by `MAXLEN ~` before this instance read them, e.g. during an outage) clears the local
//!   history and sends its subscribers `event: reset` (reason `expired`).
//! - **Following**: an instance follows a topic from its first subscriber here on, after the subscriber's token and
//!   the topic limit were checked (so unauthorized or refused requests follow nothing), and until its last one has
//!   been gone for `--redis-follow-grace`; at most `--max-topics` at once. Following first loads the topic's recent
//!   entries (`XREVRANGE ... COUNT --history`) into the local history, so a client that reconnects to any instance
//!   with its `Last-Event-ID` gets what it missed, then live events, without gap or duplicate (see
//!   [`crate::hub::feed`]). A new topic does not cost a connection: the reader's blocked `XREAD` is ended with
//!   `CLIENT UNBLOCK` from the commands connection and the next one includes the topic. The demo's aliases
//!   (`/e/{topic}`) check that the stream exists (`EXISTS`) before following.
//! - **Faults**: while Redis is unreachable, local clients stay connected, publishing answers 503, new subscriptions
//!   to topics the instance does not follow yet answer 503; the reader reconnects with backoff (100 ms doubling to
//!   5 s) and reads on from the last id it had, so nothing published is lost. With `--redis-optional`, an instance
//!   that cannot reach Redis at start serves its own topics and keeps trying; once Redis answers it joins (its
//!   streams get `event: reset`, reason `restarted`, then the shared topics). `/readyz` answers 503 while Redis is
//!   lost or not reached yet; `/healthz` (`redis`) and `/metrics` (`sse_live_redis_connected`,
//!   `sse_live_redis_reconnects_total`, `sse_live_redis_followed_topics`) show the state.
//!
//! Keys: `sse-live:{<topic>}` (the stream) and `sse-live:{<topic>}:id` (the counter), the braces keeping both in
//! one cluster slot; `sse-live:epoch`. Redis should persist its data (`appendonly yes`) so that ids survive a Redis
//! restart; one that comes back empty costs every client a `reset` (reason `restarted`), and the events it lost.

mod redis;

use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub(crate) use self::redis::{Follows, Link, RedisBackplane};
use crate::config::Config;
use crate::error::ApiError;
use crate::hub::{Hub, TopicName};
use crate::metrics::Metrics;

/// Where this instance's topics live; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) enum Backplane {
    /// In this process only: publishing goes straight to the hub.
    Local(Hub),
    /// Shared through Redis (`--redis-url`).
    Redis(Arc<RedisBackplane>),
}

/// How the instance stands with Redis, as `/healthz` (`redis`) and `/readyz` tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedisState {
    /// No `--redis-url`: in this process only.
    Off,
    /// `--redis-optional` and Redis has not been reached yet: this instance's own topics only, retrying.
    LocalOnly,
    /// In Redis, which answers.
    Connected,
    /// In Redis, which is lost for now (reconnecting).
    Disconnected,
}

impl RedisState {
    /// The word `/healthz` uses.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::LocalOnly => "unavailable-serving-local-only",
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
        }
    }
}

/// What a stream holds while it follows its topics (nothing without Redis); dropping it lets them go.
#[derive(Debug)]
pub(crate) struct FollowGuard {
    _follows: Option<Follows>,
}

impl Backplane {
    /// The backplane `config` asks for, over `hub`: local, or Redis at `--redis-url` (an error when it cannot be
    /// reached, unless `--redis-optional`).
    pub(crate) async fn connect(config: &Config, hub: Hub, metrics: Arc<Metrics>) -> Result<Self, ::redis::RedisError> {
        let Some(url) = &config.redis_url else { return Ok(Self::Local(hub)) };
        let sizes = (config.history as usize, config.max_topics as usize, config.redis_follow_grace);
        let redis = RedisBackplane::connect(url.expose(), hub, sizes, config.redis_optional, metrics).await?;
        Ok(Self::Redis(redis))
    }

    /// Starts the Redis reader, which runs until `shutdown` (nothing to run without Redis).
    pub(crate) fn spawn_reader(&self, shutdown: CancellationToken) -> Option<JoinHandle<()>> {
        match self {
            Self::Local(_) => None,
            Self::Redis(redis) => Some(tokio::spawn(redis.clone().read(shutdown))),
        }
    }

    /// Publishes `data` to `topic` as an event of type `event_type` and returns its sequence number.
    pub(crate) async fn publish(
        &self,
        topic: &TopicName,
        event_type: Option<&str>,
        data: &str,
    ) -> Result<u64, ApiError> {
        match self {
            Self::Local(hub) => Ok(hub.publish_event(topic, event_type, data).await?),
            Self::Redis(redis) => redis.publish(topic, event_type, data).await,
        }
    }

    /// Follows `topics` while the guard lives (see the module docs; nothing without Redis).
    pub(crate) async fn follow(&self, topics: &[TopicName]) -> Result<FollowGuard, ApiError> {
        match self {
            Self::Local(_) => Ok(FollowGuard { _follows: None }),
            Self::Redis(redis) => Ok(FollowGuard { _follows: Some(redis.follow(topics).await?) }),
        }
    }

    /// Whether `topic` exists (has events, or subscribers here), in this process or in Redis.
    pub(crate) async fn exists(&self, topic: &TopicName) -> Result<bool, ApiError> {
        match self {
            Self::Local(hub) => Ok(hub.topic(topic.as_str()).is_some()),
            Self::Redis(redis) => redis.exists(topic).await,
        }
    }

    /// How the instance stands with Redis.
    pub(crate) fn redis_state(&self) -> RedisState {
        match self {
            Self::Local(_) => RedisState::Off,
            Self::Redis(redis) => match redis.link() {
                Link::Pending => RedisState::LocalOnly,
                Link::Connected => RedisState::Connected,
                Link::Lost => RedisState::Disconnected,
            },
        }
    }

    /// `Ok` when the instance serves everything it should; otherwise why not (for `/readyz`).
    pub(crate) fn readiness(&self) -> Result<(), &'static str> {
        match self.redis_state() {
            RedisState::Off | RedisState::Connected => Ok(()),
            RedisState::LocalOnly => Err("Redis (--redis-url) has not been reached yet: this instance serves its own \
                                          topics only, and keeps trying"),
            RedisState::Disconnected => {
                Err("Redis (--redis-url) is unreachable: publishing and new topics answer 503 \
                                             until it is back; reconnecting")
            }
        }
    }
}
