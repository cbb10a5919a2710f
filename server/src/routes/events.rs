//! `GET /events/{topic}` and `GET /events?topic=a&topic=b`: server-sent events of one topic, or of several over one
//! connection (browsers allow about 6 HTTP/1.1 connections per origin).
//!
//! Every stream goes through the same steps, each with its own error:
//! 1. the topic names are checked (400);
//! 2. private topics need a subscriber token (401 without one or with one that does not verify, 403 when it does
//!    not cover the topic or has expired; see [`crate::auth`]);
//! 3. a connection permit is taken (429 with `Retry-After` over `--max-streams` or `--max-streams-per-ip`);
//! 4. the topics are subscribed to (503 with `Retry-After` when new ones would pass `--max-topics`), resuming after
//!    the client's last event id (see [`crate::hub::feed`]).
//!
//! Refusals are counted in `sse_live_rejected_total{reason}`.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::auth;
use crate::error::ApiError;
use crate::hub::{position, Feed, LastEventId, Layout, TopicName};
use crate::listener::ClientIp;
use crate::routes::stream::raw_last_event_id;
use crate::sse::{self, Extras};
use crate::state::AppState;

/// The query parameter naming a topic of a multi-topic stream (repeatable).
pub const TOPIC_PARAM: &str = "topic";

type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// `GET /events/{topic}`: one topic's events, `id:` being the topic's own ids.
pub async fn one(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    topic: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let request = || {
        let Path(topic) = topic?;
        let Query(query) = query?;
        let topic = TopicName::parse(&topic).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        Ok((vec![topic], query))
    };
    counted(&state, request().and_then(|(topics, query)| open(&state, ip, &headers, &query, topics, Layout::Single)))
}

/// `GET /events?topic=a&topic=b`: several topics' events on one stream, `event:` naming the topic and `id:` the
/// position in every topic ([`position`]). Repeated topics count once; at most `--max-topics-per-stream`.
pub async fn many(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let request = || {
        let Query(query) = query?;
        let mut topics: Vec<TopicName> = Vec::new();
        for (_, value) in query.iter().filter(|(key, _)| key == TOPIC_PARAM) {
            let topic = TopicName::parse(value).map_err(|e| ApiError::BadRequest(e.to_string()))?;
            if !topics.contains(&topic) {
                topics.push(topic);
            }
        }
        if topics.is_empty() {
            return Err(ApiError::BadRequest("name at least one topic: /events?topic=a&topic=b".to_owned()));
        }
        let max = state.config.max_topics_per_stream as usize;
        if topics.len() > max {
            return Err(ApiError::BadRequest(format!("at most {max} topics per stream, not {}", topics.len())));
        }
        Ok((topics, query))
    };
    counted(&state, request().and_then(|(topics, query)| open(&state, ip, &headers, &query, topics, Layout::Multi)))
}

/// Opens a stream of `topics` laid out as `layout`, after the checks in the module docs.
pub fn open(
    state: &AppState,
    ip: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    query: &[(String, String)],
    topics: Vec<TopicName>,
    layout: Layout,
) -> Result<Response, ApiError> {
    let token = auth::subscriber_token(headers, query);
    let expires_in = auth::authorize_subscriber(state.tokens.as_ref(), token.as_deref(), &topics)?;
    let permit = state.limits.acquire(ip)?;
    let raw = raw_last_event_id(headers, query);
    let last: Vec<LastEventId> = match layout {
        Layout::Single => vec![raw.as_deref().map_or(LastEventId::Absent, LastEventId::parse)],
        Layout::Multi => position::resume_points(raw.as_deref(), &topics),
    };
    let subscriptions = state.hub.subscribe(&topics, &last)?;
    let resumed =
        subscriptions.iter().zip(&last).any(|(s, l)| s.replay.reset.is_none() && matches!(l, LastEventId::Id(_)));
    if resumed {
        state.metrics.replays.inc();
    }
    let name = topics.iter().map(TopicName::as_str).collect::<Vec<_>>().join(",");
    let feed = Feed::new(layout, subscriptions, state.metrics.clone());
    Ok(sse::response_with(state, &name, feed.into_stream(), Extras { permit: Some(permit), expires_in }))
}

/// Counts a refusal in the metrics, and passes the result on.
pub fn counted(state: &AppState, result: Result<Response, ApiError>) -> Result<Response, ApiError> {
    if let Err(error) = &result {
        state.metrics.rejected(error.reason());
        tracing::debug!(%error, "stream refused");
    }
    result
}
