//! What every handler shares: the configuration, the hub, the metrics, the stream limits, the token keys and the
//! shutdown token.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::auth::TokenKeys;
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
}

impl AppState {
    /// The state for `config`, with no topic yet.
    pub fn new(config: Config, shutdown: CancellationToken) -> Self {
        let hub =
            Hub::with_max_topics(config.history as usize, config.client_buffer as usize, config.max_topics as usize);
        let limits = StreamLimits::new(config.max_streams, config.max_streams_per_ip, config.retry);
        let tokens = config.jwt_secret.as_ref().map(TokenKeys::new);
        let metrics = Arc::new(Metrics::new());
        Self { config: Arc::new(config), hub, metrics, limits, tokens, shutdown, jobs: Arc::default() }
    }

    /// How many event streams are open.
    pub fn open_streams(&self) -> usize {
        usize::try_from(self.metrics.open_streams.get()).unwrap_or(0)
    }

    /// Publishes `data` (one event's data, e.g. compact JSON) to `topic` and returns its id: the one path every
    /// publisher takes, `POST /events/{topic}` and the demo generators alike.
    pub fn publish(&self, topic: &TopicName, data: &str) -> Result<u64, ApiError> {
        self.publish_event(topic, None, data)
    }

    /// [`publish`](Self::publish) with an `event:` type (on single-topic streams; see
    /// [`Topic::publish_event`](crate::hub::Topic::publish_event)).
    pub fn publish_event(&self, topic: &TopicName, event_type: Option<&str>, data: &str) -> Result<u64, ApiError> {
        let id = self.hub.publish_event(topic, event_type, data)?;
        self.metrics.published.inc();
        tracing::trace!(%topic, id, "published");
        Ok(id)
    }
}
