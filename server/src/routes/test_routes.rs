//! `/test/*`: streams that misbehave on purpose, for the client's browser tests. Mounted only with
//! `--test-routes`; later fault-injection routes join this module.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use futures_util::stream::{self, StreamExt};
use sse_live_protocol::{EventBuilder, TemperatureReading};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::sse;
use crate::state::AppState;

/// The test routes, to merge into the app when `--test-routes` is on.
pub fn router() -> Router<AppState> {
    Router::new().route("/test/invalid-json", get(invalid_json))
}

/// `GET /test/invalid-json`: event 1 with data `this is not json`, event 2 with a valid reading (22.5 °C, now),
/// then keep-alives until the client leaves. Counted in `openStreams` like any stream.
pub async fn invalid_json(State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = OffsetDateTime::now_utc();
    let reading = TemperatureReading { temperature: 22.5, updated_at: now.replace_nanosecond(0).unwrap_or(now) };
    let frames = [
        EventBuilder::new().id("1").data("this is not json").build()?,
        EventBuilder::new().id("2").data(serde_json::to_string(&reading)?).build()?,
    ];
    let events = stream::iter(frames.map(|f| Bytes::from(f.into_bytes()))).chain(stream::pending());
    Ok(sse::response(&state, "test/invalid-json", events))
}
