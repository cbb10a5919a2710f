//! `GET /events/{topic}` and `GET /events?topic=a&topic=b`: server-sent events of one topic, or of several over one
//! connection (browsers allow about 6 HTTP/1.1 connections per origin).
//!
//! Every stream goes through the same steps, each with its own error:
//! 1. the topic names are checked (400);
//! 2. private topics need a subscriber token (401 without one or with one that does not verify, 403 when it does
//!    not cover the topic or has expired; see [`crate::auth`]);
//! 3. on the demo's aliases (`/e/{topic}`), the topic must exist (404);
//! 4. a connection permit is taken (429 with `Retry-After` over `--max-streams` or `--max-streams-per-ip`);
//! 5. new topics must fit in `--max-topics` (503 with `Retry-After`);
//! 6. with `--redis-url`, topics this instance does not read yet are followed (503 with `Retry-After` while Redis
//!    is lost, or beyond `--max-topics` followed; see [`crate::backplane`]), for as long as the stream lives;
//! 7. the topics are subscribed to (503 again if new ones no longer fit), resuming after the client's last event id
//!    (see [`crate::hub::feed`]; ids are `<sequence>@<epoch>`, see [`crate::hub::epoch`]).
//!
//! Nothing is followed before the checks that can refuse a request cheaply (2 to 5), so a request that is refused
//! costs Redis nothing.
//!
//! Refusals are counted in `sse_live_rejected_total{reason}`.

use std::convert::Infallible;
use std::net::IpAddr;

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::StreamExt;

use crate::auth;
use crate::error::ApiError;
use crate::hub::{position, Feed, LastEventId, Layout, Parked, TopicName};
use crate::listener::ClientIp;
use crate::routes::stream::raw_last_event_id;
use crate::socket::Socket;
use crate::sse::{self, Extras};
use crate::state::AppState;

/// The query parameter naming a topic of a multi-topic stream (repeatable).
pub(crate) const TOPIC_PARAM: &str = "topic";

/// What every stream route reads besides its path: the client's address, the headers and the query pairs. Never
/// rejects: a malformed query is kept as its error, so that the handler answers it and counts it like any refusal.
#[derive(Debug)]
pub(crate) struct StreamRequest {
    ip: Option<IpAddr>,
    headers: HeaderMap,
    query: Result<Vec<(String, String)>, String>,
    /// The connection's socket, when the stream may be written to directly (see [`crate::hub::direct`]).
    socket: Option<Socket>,
}

impl<S: Send + Sync> FromRequestParts<S> for StreamRequest {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, state).await;
        let query =
            Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map(|Query(q)| q).map_err(|e| e.body_text());
        let socket = parts.extensions.get::<Socket>().cloned();
        Ok(Self { ip, headers: parts.headers.clone(), query, socket })
    }
}

impl StreamRequest {
    /// The query pairs, or the error of a malformed query string.
    pub(crate) fn query(&self) -> Result<&[(String, String)], ApiError> {
        match &self.query {
            Ok(query) => Ok(query),
            Err(error) => Err(ApiError::BadRequest(error.clone())),
        }
    }

    /// Opens a stream of `topics` laid out as `layout`, after the checks in the module docs; with `existing`, only
    /// of topics that exist (the demo's aliases; 404 otherwise).
    pub(crate) async fn open(
        &self,
        state: &AppState,
        topics: Vec<TopicName>,
        layout: Layout,
        existing: bool,
    ) -> Result<Response, ApiError> {
        let (headers, query) = (&self.headers, self.query()?);
        let token = auth::subscriber_token(headers, query);
        let expires_in = auth::authorize_subscriber(state.tokens.as_ref(), token.as_deref(), &topics)?;
        if existing {
            for topic in &topics {
                if !state.backplane.exists(topic).await? {
                    return Err(ApiError::UnknownTopic(topic.as_str().to_owned()));
                }
            }
        }
        let permit = state.limits.acquire(self.ip)?;
        let raw = raw_last_event_id(headers, query);
        state.hub.check_room(&topics)?;
        let follows = state.follow(&topics).await?;
        let mut last = Vec::new();
        let direct = match (layout, &self.socket) {
            (Layout::Single, Some(socket)) if state.config.direct_writes => {
                let metrics = &state.metrics;
                Some(Parked::new(socket.clone(), metrics.delivered.clone(), metrics.written_directly.clone()))
            }
            _ => None,
        };
        // The client's id is read in the epoch of the subscription, under the hub's lock.
        let subscriptions = state.hub.subscribe_with(&topics, direct.as_ref(), |epoch| {
            last = match layout {
                Layout::Single => vec![raw.as_deref().map_or(LastEventId::Absent, |v| LastEventId::resolve(v, epoch))],
                Layout::Multi => position::resume_points(raw.as_deref(), &topics, epoch),
            };
            last.clone()
        })?;
        let resumed =
            subscriptions.iter().zip(&last).any(|(s, l)| s.replay.reset.is_none() && matches!(l, LastEventId::Id(_)));
        if resumed {
            state.metrics.replays.inc();
        }
        let name = topics.iter().map(TopicName::as_str).collect::<Vec<_>>().join(",");
        let feed = Feed::new(layout, subscriptions, state.metrics.clone()).with_direct(direct.clone());
        // The stream holds its follows: they are let go when it ends.
        let frames = feed.into_stream().map(move |frame| {
            let _ = &follows;
            frame
        });
        Ok(sse::response_with(state, &name, frames, Extras { permit: Some(permit), expires_in, direct }))
    }
}

/// `GET /events/{topic}`: one topic's events, `id:` being the topic's own ids (`41@k3f9x2`).
pub(crate) async fn one(
    State(state): State<AppState>,
    topic: Result<Path<String>, PathRejection>,
    request: StreamRequest,
) -> Result<Response, ApiError> {
    let open = async {
        let Path(topic) = topic?;
        let topic = TopicName::parse(&topic).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        request.open(&state, vec![topic], Layout::Single, false).await
    };
    counted(&state, open.await)
}

/// `GET /events?topic=a&topic=b`: several topics' events on one stream, `event:` naming the topic and `id:` the
/// position in every topic ([`position`]). Repeated topics count once; at most `--max-topics-per-stream`.
pub(crate) async fn many(State(state): State<AppState>, request: StreamRequest) -> Result<Response, ApiError> {
    let open = async {
        let mut topics: Vec<TopicName> = Vec::new();
        for (_, value) in request.query()?.iter().filter(|(key, _)| key == TOPIC_PARAM) {
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
        request.open(&state, topics, Layout::Multi, false).await
    };
    counted(&state, open.await)
}

/// Counts a refusal in the metrics, and passes the result on.
pub(crate) fn counted(state: &AppState, result: Result<Response, ApiError>) -> Result<Response, ApiError> {
    if let Err(error) = &result {
        state.metrics.rejected(error.reason());
        tracing::debug!(%error, "stream refused");
    }
    result
}
