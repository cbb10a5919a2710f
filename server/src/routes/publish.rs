//! `POST /events/{topic}`: publishes the JSON body as the topic's next event.
//!
//! | answer | when |
//! |---|---|
//! | 201 `{"topic":"news","id":42}` | published; `id` is the event's id in the topic |
//! | 404 | the server has neither `--publish-key` nor `--jwt-secret`: publishing over HTTP is off |
//! | 400 | the topic name is invalid, or the body is not JSON (the message has the parse error) |
//! | 401 (`WWW-Authenticate: Bearer`) | no `Authorization: Bearer <publisher key or token>`, a wrong key, a token that does not verify |
//! | 403 | a valid token whose `publish` patterns do not cover the topic, or an expired one |
//! | 413 | the body is larger than `--max-body` |
//! | 503 (`Retry-After`) | with `--redis-url`: Redis cannot be reached right now |
//!
//! Any JSON value is accepted and published exactly as sent (numbers are not rounded through `f64`, keys keep their
//! order); a body on several lines goes out as several `data:` lines, which clients join back with LF, the same
//! JSON. The content type is not checked (so `curl -d` works).
//!
//! The publisher is checked before a byte of the body is read: a stranger's request is answered 401 (or 403, 404,
//! 400 for its path) at once, whatever its `Content-Length`, and never learns the body limit. A publisher's
//! `Content-Length` over `--max-body` is answered 413 at once too.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::de::IgnoredAny;
use sse_live_protocol::wire::Published;

use crate::auth;
use crate::error::ApiError;
use crate::hub::TopicName;
use crate::state::AppState;

/// Publishes the body; see the module docs for the answers.
pub(crate) async fn publish(
    State(state): State<AppState>,
    topic: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    request: Request,
) -> Result<(StatusCode, Json<Published>), ApiError> {
    if state.config.publish_key.is_none() && state.tokens.is_none() {
        return Err(ApiError::PublishingOff);
    }
    let Path(topic) = topic?;
    let topic = TopicName::parse(&topic).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    auth::authorize_publisher(state.config.publish_key.as_ref(), state.tokens.as_ref(), &headers, &topic)?;
    let too_large =
        || ApiError::PayloadTooLarge(format!("the body is larger than {} bytes (--max-body)", state.config.max_body));
    // A declared length over the limit is refused without reading a byte of it.
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > u64::from(state.config.max_body)) {
        return Err(too_large());
    }
    // Only now is the body read (with the `DefaultBodyLimit` of `--max-body`, for a chunked one).
    let body = Bytes::from_request(request, &state).await.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => ApiError::BadRequest(rejection.body_text()),
    })?;
    let invalid = |e: &dyn std::fmt::Display| ApiError::BadRequest(format!("the body is not valid JSON: {e}"));
    serde_json::from_slice::<IgnoredAny>(&body).map_err(|e| invalid(&e))?;
    // Valid JSON is valid UTF-8.
    let data = std::str::from_utf8(&body).map_err(|e| invalid(&e))?;
    let id = state.publish(&topic, data.trim()).await?;
    Ok((StatusCode::CREATED, Json(Published { topic: topic.as_str().to_owned(), id })))
}
