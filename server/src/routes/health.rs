//! `GET /healthz` (liveness): the server is up, how many event streams are open, and the state of Redis.
//! `GET /readyz` (readiness): 200 when the instance serves everything it should, 503 with the reason while it is
//! degraded (Redis lost, or `--redis-optional` and Redis not reached yet), so a load balancer can prefer others.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use crate::state::AppState;

/// The body of `/healthz`: `{"status":"ok","openStreams":N,"redis":"off"}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Health {
    /// Always `"ok"` (a server that answers is healthy).
    pub status: &'static str,
    /// Event streams open right now (all routes together).
    pub open_streams: usize,
    /// Where topics live: `off` (no `--redis-url`), `connected`, `disconnected` (Redis lost; local clients stay,
    /// publishing answers 503 until it is back), or `unavailable-serving-local-only` (`--redis-optional` and
    /// Redis not reached yet; the instance keeps trying).
    pub redis: &'static str,
}

/// Answers 200 with [`Health`].
pub(crate) async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health { status: "ok", open_streams: state.open_streams(), redis: state.redis_state().as_str() })
}

/// The body of `/readyz`: `{"status":"ready"}`, or `{"status":"degraded","reason":"..."}` with 503.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Readiness {
    /// `ready` or `degraded`.
    pub status: &'static str,
    /// Why it is degraded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// Answers 200 with `{"status":"ready"}`, or 503 with the reason while the instance is degraded.
pub(crate) async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    match state.backplane.readiness() {
        Ok(()) => (StatusCode::OK, Json(Readiness { status: "ready", reason: None })),
        Err(reason) => (StatusCode::SERVICE_UNAVAILABLE, Json(Readiness { status: "degraded", reason: Some(reason) })),
    }
}
