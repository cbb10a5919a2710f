//! `GET /healthz`: the server is up, and how many event streams are open.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::state::AppState;

/// The body of `/healthz`: `{"status":"ok","openStreams":N}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Always `"ok"` (a server that answers is healthy).
    pub status: &'static str,
    /// Event streams open right now (all routes together).
    pub open_streams: usize,
}

/// Answers 200 with [`Health`].
pub async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health { status: "ok", open_streams: state.open_streams() })
}
