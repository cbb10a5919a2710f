//! `GET /metrics`: the Prometheus metrics (see [`crate::metrics`]), OpenMetrics text.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::metrics;
use crate::state::AppState;

/// Answers 200 with every metric.
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, metrics::CONTENT_TYPE)], state.metrics.render())
}
