//! `GET /e/{topic}` and `GET /stream-random-numbers`: one topic's events as server-sent events.
//!
//! Where the client resumes comes from the `Last-Event-ID` header (sent by browsers when they reconnect) or the
//! `lastEventId` query parameter (for a page that reconnects by itself); the header wins when both are given.
//! [`History::replay`](crate::hub::History::replay) decides what is sent before live events.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::error::ApiError;
use crate::generators;
use crate::hub::LastEventId;
use crate::sse;
use crate::state::AppState;

/// The query parameter a client may use instead of the `Last-Event-ID` header.
pub const LAST_EVENT_ID_PARAM: &str = "lastEventId";

/// `GET /e/{topic}`: the named topic's stream (e.g. `/e/temperatures`), 404 for an unknown topic.
pub async fn topic(
    State(state): State<AppState>,
    topic: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(topic) = topic?;
    stream_topic(&state, &topic, &headers, &query?)
}

/// `GET /stream-random-numbers`: the `random-numbers` topic.
pub async fn random_numbers(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, ApiError> {
    stream_topic(&state, generators::random::TOPIC, &headers, &query?)
}

fn stream_topic(
    state: &AppState,
    name: &str,
    headers: &HeaderMap,
    query: &[(String, String)],
) -> Result<Response, ApiError> {
    let topic = state.hub.topic(name).ok_or_else(|| ApiError::UnknownTopic(name.to_owned()))?;
    let last = last_event_id(headers, query);
    let subscription = topic.subscribe(&last);
    if let Some(reason) = subscription.replay().reset {
        tracing::debug!(topic = name, ?last, %reason, "resetting a client to the whole history");
    }
    Ok(sse::response(state, name, subscription.into_stream()))
}

/// The client's last event id: the `Last-Event-ID` header if present and not empty, else the first `lastEventId`
/// query parameter. A header that is not UTF-8 is an invalid id, not an error.
pub fn last_event_id(headers: &HeaderMap, query: &[(String, String)]) -> LastEventId {
    let from_header = headers.get("last-event-id").map(|value| match value.to_str() {
        Ok(value) => LastEventId::parse(value),
        Err(_) => LastEventId::Invalid(String::from_utf8_lossy(value.as_bytes()).into_owned()),
    });
    match from_header {
        Some(LastEventId::Absent) | None => query
            .iter()
            .find(|(key, _)| key == LAST_EVENT_ID_PARAM)
            .map_or(LastEventId::Absent, |(_, value)| LastEventId::parse(value)),
        Some(last) => last,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(value: Option<&[u8]>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert("last-event-id", HeaderValue::from_bytes(value).unwrap());
        }
        headers
    }

    fn query(value: Option<&str>) -> Vec<(String, String)> {
        let mut query = vec![("other".to_owned(), "9".to_owned())];
        query.extend(value.map(|v| (LAST_EVENT_ID_PARAM.to_owned(), v.to_owned())));
        query
    }

    #[test]
    fn the_header_wins_over_the_query() {
        assert_eq!(last_event_id(&headers(Some(b"5")), &query(Some("3"))), LastEventId::Id(5));
        assert_eq!(last_event_id(&headers(None), &query(Some("3"))), LastEventId::Id(3));
        assert_eq!(last_event_id(&headers(Some(b"")), &query(Some("3"))), LastEventId::Id(3));
        assert_eq!(last_event_id(&headers(None), &query(None)), LastEventId::Absent);
    }

    #[test]
    fn bad_values_are_invalid_ids() {
        assert_eq!(last_event_id(&headers(Some(b"x")), &query(None)), LastEventId::Invalid("x".into()));
        assert_eq!(last_event_id(&headers(Some(b"\xff")), &query(None)), LastEventId::Invalid("\u{fffd}".into()));
        assert_eq!(last_event_id(&headers(None), &query(Some("-1"))), LastEventId::Invalid("-1".into()));
    }
}
