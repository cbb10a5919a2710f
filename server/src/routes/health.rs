//! `GET /healthz`: the server is up, how many event streams are open, and the state of Redis.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::state::AppState;

/// The body of `/healthz`: `{"status":"ok","openStreams":N,"redis":"off"}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Always `"ok"` (a server that answers is healthy).
    pub status: &'static str,
    /// Event streams open right now (all routes together).
    pub open_streams: usize,
    /// Where topics live: `off` (no `--redis-url`), `connected`, `disconnected` (Redis lost; local clients stay,
    /// publishing answers 503 until it is back), or `unavailable-serving-local-only` (`--redis-optional` and
    /// Redis was unreachable at start).
    pub redis: &'static str,
}

/// Answers 200 with [`Health`].
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health { status: "ok", open_streams: state.open_streams(), redis: state.redis_state().as_str() })
}
