//! `GET /e/{topic}` and `GET /stream-random-numbers`: the demo's older URLs, aliases of `/events/{topic}` for
//! topics that exist (`/e/temperatures`, `/stream-random-numbers` = `/events/random-numbers`); 404 for others.
//!
//! Where the client resumes comes from the `Last-Event-ID` header (sent by browsers when they reconnect) or the
//! `lastEventId` query parameter (for a page that reconnects by itself); the header wins when both are given.
//! [`History::replay`](crate::hub::history::History::replay) decides what is sent before live events; ids are
//! `<sequence>@<epoch>` ([`crate::hub::epoch`]).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::error::ApiError;
use crate::generators;
#[cfg(any(test, feature = "test-routes"))]
use crate::hub::LastEventId;
use crate::hub::{Layout, TopicName};
use crate::routes::events::{counted, StreamRequest};
use crate::state::AppState;

/// The query parameter a client may use instead of the `Last-Event-ID` header.
pub(crate) const LAST_EVENT_ID_PARAM: &str = "lastEventId";

/// `GET /e/{topic}`: the named topic's stream (e.g. `/e/temperatures`), 404 for a topic that does not exist.
pub(crate) async fn topic(
    State(state): State<AppState>,
    topic: Result<Path<String>, PathRejection>,
    request: StreamRequest,
) -> Result<Response, ApiError> {
    let open = async {
        let Path(topic) = topic?;
        existing(&state, &request, &topic).await
    };
    counted(&state, open.await)
}

/// `GET /stream-random-numbers`: the `random-numbers` topic.
pub(crate) async fn random_numbers(
    State(state): State<AppState>,
    request: StreamRequest,
) -> Result<Response, ApiError> {
    counted(&state, existing(&state, &request, generators::random::TOPIC).await)
}

async fn existing(state: &AppState, request: &StreamRequest, name: &str) -> Result<Response, ApiError> {
    let topic = TopicName::parse(name).map_err(|_| ApiError::UnknownTopic(name.to_owned()))?;
    // Whether it exists is checked after the token and before anything is followed (with Redis: its stream).
    request.open(state, vec![topic], Layout::Single, true).await
}

/// The client's last event id as sent: the `Last-Event-ID` header if present and not blank, else the first
/// `lastEventId` query parameter. A header that is not UTF-8 is read lossily (and so is no valid id).
pub(crate) fn raw_last_event_id(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    let from_header = headers
        .get("last-event-id")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .filter(|value| !value.trim().is_empty());
    from_header.or_else(|| query.iter().find(|(key, _)| key == LAST_EVENT_ID_PARAM).map(|(_, value)| value.clone()))
}

/// The client's last event id (see [`raw_last_event_id`]) read as a plain decimal number, as the test routes'
/// own ids are; anything else is an invalid id, not an error. The hub's ids (`41@k3f9x2`) are read with
/// [`LastEventId::resolve`] instead.
#[cfg(any(test, feature = "test-routes"))]
pub(crate) fn last_event_id(headers: &HeaderMap, query: &[(String, String)]) -> LastEventId {
    raw_last_event_id(headers, query).as_deref().map_or(LastEventId::Absent, LastEventId::parse)
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
