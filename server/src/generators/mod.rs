//! The demo's data sources: one task per topic publishes into the hub, whatever the number of clients.
//!
//! - [`temperature`]: a plausible living-room thermometer on `temperatures`.
//! - [`random`]: uniform numbers in `[0, 1)` on `random-numbers`.
//!
//! Each generator publishes its first event before [`start`] returns (so the first client gets a value at once),
//! then one per interval until the shutdown token is cancelled.

pub mod random;
pub mod temperature;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::hub::Topic;
use crate::state::AppState;

/// The topics the generators publish to.
pub const TOPICS: [&str; 2] = [temperature::TOPIC, random::TOPIC];

/// Publishes each generator's first event and spawns its task; the tasks end when `state.shutdown` is cancelled.
pub fn start(state: &AppState) -> Vec<JoinHandle<()>> {
    let config = &state.config;
    let mut handles = Vec::new();
    if let Some(topic) = state.hub.topic(temperature::TOPIC) {
        let generate = temperature::generator();
        handles.push(spawn_periodic(topic, config.temperature_interval, state.shutdown.clone(), generate));
    }
    if let Some(topic) = state.hub.topic(random::TOPIC) {
        let generate = random::generator();
        handles.push(spawn_periodic(topic, config.random_interval, state.shutdown.clone(), generate));
    }
    handles
}

/// Publishes `generate()` now, then every `period` (skipping missed ticks) until `shutdown`.
fn spawn_periodic(
    topic: Arc<Topic>,
    period: Duration,
    shutdown: CancellationToken,
    mut generate: impl FnMut() -> Result<String, serde_json::Error> + Send + 'static,
) -> JoinHandle<()> {
    publish(&topic, generate());
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticks.tick() => publish(&topic, generate()),
            }
        }
        tracing::debug!(topic = topic.name(), "generator stopped");
    })
}

fn publish(topic: &Topic, data: Result<String, serde_json::Error>) {
    let result = match data {
        Ok(data) => topic.publish(&data).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match result {
        Ok(id) => tracing::trace!(topic = topic.name(), id, "published"),
        Err(error) => tracing::error!(topic = topic.name(), %error, "cannot publish"),
    }
}
