//! What every handler shares: the configuration, the hub, the open-stream count and the shutdown token.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::generators;
use crate::hub::Hub;

/// The state given to every handler (`State<AppState>`); cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The settings the server started with.
    pub config: Arc<Config>,
    /// The topics the generators publish to and the streams read from.
    pub hub: Hub,
    /// How many event streams are open right now: raised when a stream starts, lowered by a guard the stream owns
    /// when it is dropped (which axum does when the client goes away).
    pub open_streams: Arc<AtomicUsize>,
    /// Cancelled on shutdown: every stream and generator ends on it.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// The state for `config`, with one topic per generator and nothing published yet.
    pub fn new(config: Config, shutdown: CancellationToken) -> Self {
        let hub = Hub::new(generators::TOPICS, config.history as usize);
        Self { config: Arc::new(config), hub, open_streams: Arc::new(AtomicUsize::new(0)), shutdown }
    }

    /// How many event streams are open.
    pub fn open_streams(&self) -> usize {
        self.open_streams.load(Ordering::Relaxed)
    }
}
