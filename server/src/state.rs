//! What every handler shares: the configuration, the hub, the metrics, the stream limits, the token keys and the
//! shutdown token.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::auth::TokenKeys;
use crate::backplane::Backplane;
use crate::config::Config;
use crate::error::ApiError;
use crate::hub::{Hub, TopicName};
use crate::limits::StreamLimits;
use crate::metrics::Metrics;
use crate::routes::jobs::Jobs;

/// The state given to every handler (`State<AppState>`); cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
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
    /// The link to Redis with `--redis-url` (see [`crate::backplane`]); `None`: topics are this process's own.
    pub backplane: Option<Arc<Backplane>>,
}

/// Where topics live, as `/healthz` tells it (`redis`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisState {
    /// No `--redis-url`: in this process only.
    Off,
    /// `--redis-optional` and Redis could not be reached at start: this instance's own topics only.
    LocalOnly,
    /// In Redis, which answers.
    Connected,
    /// In Redis, which is lost for now (reconnecting).
    Disconnected,
}

impl RedisState {
    /// The word `/healthz` uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::LocalOnly => "unavailable-serving-local-only",
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
        }
    }
}

impl AppState {
    /// The state for `config`, with no topic yet.
    pub fn new(config: Config, shutdown: CancellationToken) -> Self {
        let hub =
            Hub::with_max_topics(config.history as usize, config.client_buffer as usize, config.max_topics as usize);
        let limits = StreamLimits::new(config.max_streams, config.max_streams_per_ip, config.retry);
        let tokens =
            config.jwt_secret.as_ref().map(|secret| TokenKeys::new(secret).accept_demo_tokens(config.demo_auth));
        let metrics = Arc::new(Metrics::new());
        Self { config: Arc::new(config), hub, metrics, limits, tokens, shutdown, jobs: Arc::default(), backplane: None }
    }

    /// Connects to `--redis-url` when given. An unreachable Redis is an error, unless `--redis-optional`: then the
    /// state stays local (and says so in [`redis_state`](Self::redis_state)).
    pub async fn connect_redis(&mut self) -> Result<(), redis::RedisError> {
        let Some(url) = &self.config.redis_url else { return Ok(()) };
        let history = self.config.history as usize;
        match Backplane::connect(url.expose(), self.hub.clone(), history, self.metrics.clone()).await {
            Ok(backplane) => {
                self.backplane = Some(backplane);
                Ok(())
            }
            Err(error) if self.config.redis_optional => {
                tracing::warn!(%error, "cannot reach Redis (--redis-optional): serving this instance's topics only");
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Where topics live now.
    pub fn redis_state(&self) -> RedisState {
        match (&self.backplane, self.config.redis_url.is_some()) {
            (Some(b), _) if b.is_connected() => RedisState::Connected,
            (Some(_), _) => RedisState::Disconnected,
            (None, true) => RedisState::LocalOnly,
            (None, false) => RedisState::Off,
        }
    }

    /// Makes sure `topics` are read from Redis before subscribing to them (nothing without Redis).
    pub async fn follow(&self, topics: &[TopicName]) -> Result<(), ApiError> {
        match &self.backplane {
            Some(backplane) => Ok(backplane.follow(topics).await?),
            None => Ok(()),
        }
    }

    /// How many event streams are open.
    pub fn open_streams(&self) -> usize {
        usize::try_from(self.metrics.open_streams.get()).unwrap_or(0)
    }

    /// Publishes `data` (one event's data, e.g. compact JSON) to `topic` and returns its id: the one path every
    /// publisher takes, `POST /events/{topic}`, the demo generators and jobs alike. With Redis, the event goes to
    /// the topic's stream and the id comes from Redis (503 while Redis is lost).
    pub async fn publish(&self, topic: &TopicName, data: &str) -> Result<u64, ApiError> {
        self.publish_event(topic, None, data).await
    }

    /// [`publish`](Self::publish) with an `event:` type (on single-topic streams; see
    /// [`Topic::publish_event`](crate::hub::Topic::publish_event)).
    pub async fn publish_event(
        &self,
        topic: &TopicName,
        event_type: Option<&str>,
        data: &str,
    ) -> Result<u64, ApiError> {
        let id = match &self.backplane {
            Some(backplane) => backplane.publish(topic, event_type, data).await?,
            None => self.hub.publish_event(topic, event_type, data)?,
        };
        self.metrics.published.inc();
        tracing::trace!(%topic, id, "published");
        Ok(id)
    }
}
