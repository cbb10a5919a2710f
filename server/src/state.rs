//! What every handler shares: the configuration, the hub, the metrics, the stream limits, the token keys and the
//! shutdown token.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::auth::TokenKeys;
pub(crate) use crate::backplane::RedisState;
use crate::backplane::{Backplane, FollowGuard};
use crate::config::Config;
use crate::error::ApiError;
use crate::hub::{Hub, TopicName};
use crate::limits::StreamLimits;
use crate::metrics::Metrics;
use crate::routes::jobs::Jobs;

/// The state given to every handler (`State<AppState>`); cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    /// The settings the server started with.
    pub config: Arc<Config>,
    /// The topics.
    pub hub: Hub,
    /// Every metric; `open_streams` is raised when a stream starts and lowered by a guard the stream owns when it
    /// is dropped (which axum does when the client goes away).
    pub metrics: Arc<Metrics>,
    /// `--max-streams` and `--max-streams-per-ip`.
    pub limits: StreamLimits,
    /// The keys for subscriber tokens, with `--jwt-secret`.
    pub tokens: Option<TokenKeys>,
    /// Cancelled on shutdown: every stream and generator ends on it.
    pub shutdown: CancellationToken,
    /// The demo's jobs (`POST /jobs`).
    pub jobs: Arc<Jobs>,
    /// Where topics are shared: this process only, or Redis with `--redis-url` (see [`crate::backplane`]).
    pub backplane: Backplane,
}

impl AppState {
    /// The state for `config`, with no topic yet.
    pub(crate) fn new(config: Config, shutdown: CancellationToken) -> Self {
        let metrics = Arc::new(Metrics::new());
        let sizes = (config.history as usize, config.client_buffer as usize, config.max_topics as usize);
        let hub =
            Hub::with_max_topics(sizes.0, sizes.1, sizes.2).counting_held_back(metrics.publishes_held_back.clone());
        let limits = StreamLimits::new(config.max_streams, config.max_streams_per_ip, config.retry);
        let tokens =
            config.jwt_secret.as_ref().map(|secret| TokenKeys::new(secret).accept_demo_tokens(config.demo_auth));
        let backplane = Backplane::Local(hub.clone());
        Self { config: Arc::new(config), hub, metrics, limits, tokens, shutdown, jobs: Arc::default(), backplane }
    }

    /// Connects to `--redis-url` when given. An unreachable Redis is an error, unless `--redis-optional`: then the
    /// instance serves its own topics and joins Redis once it answers (see [`crate::backplane`]).
    pub(crate) async fn connect_redis(&mut self) -> Result<(), redis::RedisError> {
        self.backplane = Backplane::connect(&self.config, self.hub.clone(), self.metrics.clone()).await?;
        Ok(())
    }

    /// Where topics live now.
    pub(crate) fn redis_state(&self) -> RedisState {
        self.backplane.redis_state()
    }

    /// Has `topics` read from Redis while the guard lives (nothing without Redis).
    pub(crate) async fn follow(&self, topics: &[TopicName]) -> Result<FollowGuard, ApiError> {
        self.backplane.follow(topics).await
    }

    /// How many event streams are open.
    pub(crate) fn open_streams(&self) -> usize {
        usize::try_from(self.metrics.open_streams.get()).unwrap_or(0)
    }

    /// Publishes `data` (one event's data, e.g. compact JSON) to `topic` and returns its id: the one path every
    /// publisher takes, `POST /events/{topic}`, the demo generators and jobs alike. With Redis, the event goes to
    /// the topic's stream and the id comes from Redis (503 while Redis is lost).
    pub(crate) async fn publish(&self, topic: &TopicName, data: &str) -> Result<u64, ApiError> {
        self.publish_event(topic, None, data).await
    }

    /// [`publish`](Self::publish) with an `event:` type (on single-topic streams; see
    /// [`Topic::publish_event`](crate::hub::Topic::publish_event)).
    pub(crate) async fn publish_event(
        &self,
        topic: &TopicName,
        event_type: Option<&str>,
        data: &str,
    ) -> Result<u64, ApiError> {
        let id = self.backplane.publish(topic, event_type, data).await?;
        self.metrics.published.inc();
        tracing::trace!(%topic, id, "published");
        Ok(id)
    }
}
