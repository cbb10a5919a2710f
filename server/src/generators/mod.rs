//! The demo's data sources: one task per topic publishes into the hub, whatever the number of clients.
//!
//! - [`temperature`]: a plausible living-room thermometer on `temperatures`.
//! - [`random`]: uniform numbers in `[0, 1)` on `random-numbers`.
//!
//! Each generator publishes its first event before [`start`] returns (so the first client gets a value at once),
//! then one per interval until the shutdown token is cancelled. They publish through [`AppState::publish`], the
//! same path as `POST /events/{topic}`.

pub(crate) mod random;
pub(crate) mod temperature;

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::hub::TopicName;
use crate::state::AppState;

/// The topics the generators publish to.
#[cfg(test)]
pub(crate) const TOPICS: [&str; 2] = [temperature::TOPIC, random::TOPIC];

/// Publishes each generator's first event and spawns its task; the tasks end when `state.shutdown` is cancelled.
pub(crate) async fn start(state: &AppState) -> Vec<JoinHandle<()>> {
    let config = &state.config;
    vec![
        spawn_periodic(state, temperature::TOPIC, config.temperature_interval, temperature::generator()).await,
        spawn_periodic(state, random::TOPIC, config.random_interval, random::generator()).await,
    ]
}

/// Publishes `generate()` to `topic` now, then every `period` (skipping missed ticks) until shutdown.
async fn spawn_periodic(
    state: &AppState,
    topic: &'static str,
    period: Duration,
    mut generate: impl FnMut() -> Result<String, serde_json::Error> + Send + 'static,
) -> JoinHandle<()> {
    let state = state.clone();
    let Ok(topic) = TopicName::parse(topic) else {
        tracing::error!(topic, "a generator has an invalid topic name");
        return tokio::spawn(async {});
    };
    publish(&state, &topic, generate()).await;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval_at(Instant::now() + period, period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let shutdown = state.shutdown.clone();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                _ = ticks.tick() => publish(&state, &topic, generate()).await,
            }
        }
        tracing::debug!(%topic, "generator stopped");
    })
}

async fn publish(state: &AppState, topic: &TopicName, data: Result<String, serde_json::Error>) {
    let result = match data {
        Ok(data) => state.publish(topic, &data).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(error) = result {
        tracing::error!(%topic, %error, "cannot publish");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_topics_are_valid_names() {
        for topic in TOPICS {
            assert!(TopicName::parse(topic).is_ok(), "{topic}");
        }
    }
}
