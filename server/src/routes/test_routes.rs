//! `/test/*`: streams that misbehave on purpose, for the client's browser tests. Compiled only with the cargo
//! feature `test-routes` and mounted only with `--test-routes`; later fault-injection routes join this module.
//!
//! Every stream here takes a connection permit like any other (429 over `--max-streams` or
//! `--max-streams-per-ip`), held until its body is dropped.
//!
//! - `GET /test/invalid-json`: a message that is not JSON, then a valid reading.
//! - `GET|POST /test/echo`: one event describing the request (method, selected headers, body), then keep-alives.
//! - `GET /test/status/{code}`: that HTTP status with a plain-text body, for the fetch transport's error handling.
//! - `GET /test/close-after/{n}`: `n` events continuing after the client's last event id, then the body ends.
//! - `GET /test/flaky/{k}`: per key, `k` answers 503 then one event continuing after the last event id, over and
//!   over, for the hook's own reconnects and their per-outage budget.
//! - `GET /test/finite/{n}`: `n` `progress` events, then an `end` event, then the body ends.
//! - `GET /test/vectors` and `GET /test/vectors/{name}`: raw spec vectors, byte for byte.
//! - `GET /test/stall`: one event, then silence (not even keep-alives), for the client's stall detection.
//! - `GET /test/rate?count=N&per_sec=K`: `N` small readings at `K` events per second (or as fast as the socket
//!   takes them), then `end`: the client ingest benchmark's stream.
//! - `GET /test/requests/{key}`: how many requests the routes above have answered for `key`.
//! - `GET /test/timeline?key=K&open=N&retry=MS&stay=1`: per key, the first `N` requests are event streams (one
//!   event each), the later ones 503; every arrival is recorded with its time and `Cookie` header, read back with
//!   `GET /test/timeline-log/{key}`: for the timing of the client's reconnects, measured on the server.
//! - `GET /test/set-cookie?name=N&value=V`: sets the cookie `N=V` (`SameSite=Lax`), for `with_credentials`.
//! - `GET /test/notice?key=K&kind=reset|shutdown|expired&fail_first=F&down=D&pause_ms=P`: per key, `F` answers 503,
//!   a stream with two events and (after `P` ms) the server notice `kind`, `D` answers 503, then streams that stay
//!   open: for the hook's handling of the server's notices and of errors cleared on open.
//!
//! Every route but the first counts its requests under a key: the `key` query parameter when given (tests pass a
//! unique one so that they cannot see each other's requests), else the route's name (`echo`, `status-404`,
//! `close-after-3`, `vectors-bom`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Map, Value};
use sse_live_demo_wire::TemperatureReading;
use sse_live_protocol::EventBuilder;
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::hub::LastEventId;
use crate::limits::StreamPermit;
use crate::listener::ClientIp;
use crate::routes::stream::{last_event_id, LAST_EVENT_ID_PARAM};
use crate::sse::{self, Extras};
use crate::state::AppState;

/// The most bytes of a request body `/test/echo` reports.
pub(crate) const ECHO_BODY_LIMIT: usize = 4096;

/// The most events `/test/close-after/{n}` sends per connection.
pub(crate) const CLOSE_AFTER_MAX: u32 = 1000;

/// The reconnection time `/test/close-after/{n}` asks for, so that clients come back quickly.
pub(crate) const CLOSE_AFTER_RETRY: Duration = Duration::from_millis(200);

/// The pause between two chunks of a vector, so that they reach the client as separate reads.
const VECTOR_CHUNK_PAUSE: Duration = Duration::from_millis(20);

/// The test routes, to merge into the app when `--test-routes` is on.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/test/invalid-json", get(invalid_json))
        .route("/test/echo", get(echo).post(echo))
        .route("/test/status/{code}", get(status))
        .route("/test/close-after/{n}", get(close_after))
        .route("/test/flaky/{k}", get(flaky))
        .route("/test/finite/{n}", get(finite))
        .route("/test/vectors", get(vector_names))
        .route("/test/vectors/{name}", get(vector))
        .route("/test/stall", get(stall))
        .route("/test/rate", get(rate))
        .route("/test/requests/{key}", get(requests))
        .route("/test/notice", get(notice))
        .layer(Extension(RequestCounts::default()))
        .merge(timeline_router())
}

/// `/test/timeline`, `/test/timeline-log/{key}` and `/test/set-cookie`, with the arrivals they share.
fn timeline_router() -> Router<AppState> {
    Router::new()
        .route("/test/timeline", get(timeline))
        .route("/test/timeline-log/{key}", get(timeline_log))
        .route("/test/set-cookie", get(set_cookie))
        .layer(Extension(Arrivals::default()))
}

/// How many requests each key has seen (see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestCounts(Arc<Mutex<HashMap<String, u64>>>);

impl RequestCounts {
    /// Counts one request under the `key` query parameter, or `default` without one.
    fn count(&self, query: &[(String, String)], default: String) {
        self.next(query, default);
    }

    /// Counts one request like [`count`](Self::count) and returns its number under its key (1 for the first).
    fn next(&self, query: &[(String, String)], default: String) -> u64 {
        let key = query.iter().find(|(name, _)| name == "key").map_or(default, |(_, key)| key.clone());
        let mut counts = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = counts.entry(key).or_default();
        *count += 1;
        *count
    }

    fn get(&self, key: &str) -> u64 {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(key).copied().unwrap_or(0)
    }
}

type QueryPairs = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// A stream permit for a client at `ip`, as every stream takes (429 over the limits).
fn permit(state: &AppState, ClientIp(ip): ClientIp) -> Result<Extras, ApiError> {
    Ok(Extras { permit: Some(state.limits.acquire(ip)?), ..Extras::default() })
}

/// `GET /test/invalid-json`: event 1 with data `this is not json`, event 2 with a valid reading (22.5 °C, now),
/// then keep-alives until the client leaves. Counted in `openStreams` like any stream.
pub(crate) async fn invalid_json(State(state): State<AppState>, ip: ClientIp) -> Result<Response, ApiError> {
    let extras = permit(&state, ip)?;
    let now = OffsetDateTime::now_utc();
    let reading = TemperatureReading { temperature: 22.5, updated_at: now.replace_nanosecond(0).unwrap_or(now) };
    let frames = [
        EventBuilder::new().id("1").data("this is not json").build()?,
        EventBuilder::new().id("2").data(serde_json::to_string(&reading)?).build()?,
    ];
    let events = stream::iter(frames.map(|f| Bytes::from(f.into_bytes()))).chain(stream::pending());
    Ok(sse::response_with(&state, "test/invalid-json", events, extras))
}

/// `GET|POST /test/echo`: one event whose data is `{"method": "POST", "headers": {...}, "body": "..."}`, then
/// keep-alives. `headers` holds, by lower-case name, `authorization`, `last-event-id`, `content-type`, `accept` and
/// every `x-*` header (repeated headers joined with `, `); `body` is the request body as text (invalid UTF-8
/// replaced), cut to [`ECHO_BODY_LIMIT`] bytes.
pub(crate) async fn echo(
    State(state): State<AppState>,
    Extension(counts): Extension<RequestCounts>,
    ip: ClientIp,
    method: Method,
    headers: HeaderMap,
    query: QueryPairs,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let extras = permit(&state, ip)?;
    counts.count(&query, "echo".to_owned());
    let mut echoed = Map::new();
    for (name, value) in &headers {
        let name = name.as_str();
        if ["authorization", "last-event-id", "content-type", "accept"].contains(&name) || name.starts_with("x-") {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match echoed.get_mut(name) {
                Some(Value::String(joined)) => {
                    joined.push_str(", ");
                    joined.push_str(&value);
                }
                _ => {
                    echoed.insert(name.to_owned(), Value::String(value));
                }
            }
        }
    }
    let body = String::from_utf8_lossy(&body[..body.len().min(ECHO_BODY_LIMIT)]).into_owned();
    let data = json!({ "method": method.as_str(), "headers": echoed, "body": body });
    let frame = EventBuilder::new().data(data.to_string()).build()?;
    let events = stream::iter([Bytes::from(frame.into_bytes())]).chain(stream::pending());
    Ok(sse::response_with(&state, "test/echo", events, extras))
}

/// `GET /test/status/{code}`: answers status `code` (200 to 599; anything else is a 400) with the plain-text body
/// `test status {code}` (empty for 204, 205 and 304, which have no body). A 200 is `text/plain`, not an event
/// stream: the "wrong content type" case.
pub(crate) async fn status(
    Extension(counts): Extension<RequestCounts>,
    code: Result<Path<String>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let Path(code) = code?;
    let Query(query) = query?;
    let status = code
        .parse::<u16>()
        .ok()
        .filter(|code| (200..=599).contains(code))
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| ApiError::BadRequest(format!("{code:?} is not a status from 200 to 599")))?;
    counts.count(&query, format!("status-{}", status.as_u16()));
    let body = match status.as_u16() {
        204 | 205 | 304 => String::new(),
        code => format!("test status {code}"),
    };
    Ok((status, [(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], body).into_response())
}

/// `GET /test/close-after/{n}`: `retry: 200`, then `n` events (at most [`CLOSE_AFTER_MAX`]) with the ids following
/// the client's last event id (the `Last-Event-ID` header, or the `lastEventId` query parameter; from 1 without
/// one), then the body ENDS, so that clients reconnect. Each event's data is
/// `{"n": id, "token": <the x-test-token header or null>, "lastEventId": <the Last-Event-ID header or null>}`.
pub(crate) async fn close_after(
    State(state): State<AppState>,
    Extension(counts): Extension<RequestCounts>,
    ip: ClientIp,
    n: Result<Path<u32>, PathRejection>,
    headers: HeaderMap,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let Path(n) = n?;
    let Query(query) = query?;
    if n > CLOSE_AFTER_MAX {
        return Err(ApiError::BadRequest(format!("at most {CLOSE_AFTER_MAX} events per connection")));
    }
    let extras = permit(&state, ip)?;
    counts.count(&query, format!("close-after-{n}"));
    let header = |name: &str| headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let (token, last_header) = (header("x-test-token"), header("last-event-id"));
    // The same reading of the client's position as the real streams (header first, then the query parameter).
    let start = match last_event_id(&headers, &query) {
        LastEventId::Id(id) => id.saturating_add(1),
        _ => 1,
    };
    let mut frames = vec![EventBuilder::new().retry(CLOSE_AFTER_RETRY).build()?];
    for id in (start..).take(n as usize) {
        let data = json!({ "n": id, "token": token, "lastEventId": last_header });
        frames.push(EventBuilder::new().id(id.to_string()).data(data.to_string()).build()?);
    }
    let events = stream::iter(frames.into_iter().map(|f| Bytes::from(f.into_bytes())));
    Ok(sse::response_with(&state, "test/close-after", events, extras))
}

/// The most failures in a row `/test/flaky/{k}` answers.
pub(crate) const FLAKY_MAX: u32 = 100;

/// `GET /test/flaky/{k}`: a server that is down, then up, then down again. Request number `r` under its key (see
/// the module docs; the default key is `flaky-{k}`) answers, when `(r - 1) % (k + 1) < k`, 503 with the text body
/// `flaky {r}`; otherwise it is an event stream: `retry: 200`, ONE event whose id follows the client's last event id
/// (the `Last-Event-ID` header or the `lastEventId` query parameter; 1 without one), then the body ends. So with
/// `k = 2`: 503, 503, one event, 503, 503, one event, ... (`k` at most [`FLAKY_MAX`]). The event's data is
/// `{"n": id, "request": r, "lastEventId": <the header or null>, "lastEventIdQuery": <the query parameter or null>,
/// "query": <the raw query string or null>}`.
pub(crate) async fn flaky(
    State(state): State<AppState>,
    Extension(counts): Extension<RequestCounts>,
    ip: ClientIp,
    k: Result<Path<u32>, PathRejection>,
    headers: HeaderMap,
    RawQuery(raw_query): RawQuery,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let Path(k) = k?;
    let Query(query) = query?;
    if k > FLAKY_MAX {
        return Err(ApiError::BadRequest(format!("at most {FLAKY_MAX} failures in a row")));
    }
    let request = counts.next(&query, format!("flaky-{k}"));
    if (request - 1) % (u64::from(k) + 1) < u64::from(k) {
        let body = format!("flaky {request}");
        let content_type = [(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))];
        return Ok((StatusCode::SERVICE_UNAVAILABLE, content_type, body).into_response());
    }
    let extras = permit(&state, ip)?;
    let header = headers.get("last-event-id").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let from_query = query.iter().find(|(name, _)| name == LAST_EVENT_ID_PARAM).map(|(_, value)| value.clone());
    let id = match last_event_id(&headers, &query) {
        LastEventId::Id(id) => id.saturating_add(1),
        _ => 1,
    };
    let data = json!({
        "n": id, "request": request, "lastEventId": header, "lastEventIdQuery": from_query, "query": raw_query,
    });
    let frames = [
        EventBuilder::new().retry(CLOSE_AFTER_RETRY).build()?,
        EventBuilder::new().id(id.to_string()).data(data.to_string()).build()?,
    ];
    let events = stream::iter(frames.map(|f| Bytes::from(f.into_bytes())));
    Ok(sse::response_with(&state, "test/flaky", events, extras))
}

/// `GET /test/finite/{n}`: a stream with an end: `retry: 200`, then `n` events (at most [`CLOSE_AFTER_MAX`]) of
/// type `progress` with ids 1 to `n` and data `{"n": id}`, then one event of type `end` (without an id)
/// with data `done`, then the body ends. A client that does not stop at `end` comes back within 200 ms,
/// which the request count under its key shows (the default key is `finite-{n}`).
pub(crate) async fn finite(
    State(state): State<AppState>,
    Extension(counts): Extension<RequestCounts>,
    ip: ClientIp,
    n: Result<Path<u32>, PathRejection>,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let Path(n) = n?;
    let Query(query) = query?;
    if n > CLOSE_AFTER_MAX {
        return Err(ApiError::BadRequest(format!("at most {CLOSE_AFTER_MAX} events")));
    }
    let extras = permit(&state, ip)?;
    counts.count(&query, format!("finite-{n}"));
    let mut frames = vec![EventBuilder::new().retry(CLOSE_AFTER_RETRY).build()?];
    for id in 1..=n {
        let data = json!({ "n": id });
        frames.push(EventBuilder::new().id(id.to_string()).event("progress").data(data.to_string()).build()?);
    }
    frames.push(EventBuilder::new().event("end").data("done").build()?);
    let events = stream::iter(frames.into_iter().map(|f| Bytes::from(f.into_bytes())));
    Ok(sse::response_with(&state, "test/finite", events, extras))
}

/// `GET /test/stall`: a stalled stream: `retry: 200`, ONE event with id `1`, then nothing at all until the client
/// leaves (no keep-alive comments, whatever `--keep-alive` says). The event's data is `{"n": 1, "request": r,
/// "lastEventId": <the Last-Event-ID header or null>, "lastEventIdQuery": <the lastEventId query parameter or
/// null>}`, `r` being the request's number under its key (the default key is `stall`).
pub(crate) async fn stall(
    State(state): State<AppState>,
    Extension(counts): Extension<RequestCounts>,
    ip: ClientIp,
    headers: HeaderMap,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let extras = permit(&state, ip)?;
    let request = counts.next(&query, "stall".to_owned());
    let header = headers.get("last-event-id").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let from_query = query.iter().find(|(name, _)| name == LAST_EVENT_ID_PARAM).map(|(_, value)| value.clone());
    let data = json!({ "n": 1, "request": request, "lastEventId": header, "lastEventIdQuery": from_query });
    let frames = [
        EventBuilder::new().retry(CLOSE_AFTER_RETRY).build()?,
        EventBuilder::new().id("1").data(data.to_string()).build()?,
    ];
    let events = stream::iter(frames.map(|f| Bytes::from(f.into_bytes()))).chain(stream::pending());
    Ok(sse::response_without_keep_alive(&state, "test/stall", events, extras))
}

/// The most events `/test/rate` sends per request.
pub(crate) const RATE_MAX_EVENTS: u64 = 1_000_000;

/// How often `/test/rate` writes when paced: every tick, the events that have come due since the last one go out
/// in one write, as a busy server's would.
const RATE_TICK: Duration = Duration::from_millis(1);

/// How many events `/test/rate` writes at a time when not paced.
const RATE_UNPACED_BATCH: u64 = 64;

/// The query of `/test/rate`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct RateQuery {
    /// How many events (at most [`RATE_MAX_EVENTS`]).
    pub count: u64,
    /// Events per second; 0 (the default) sends as fast as the connection takes them.
    #[serde(default)]
    pub per_sec: u64,
}

/// `GET /test/rate?count=N&per_sec=K`: `N` events with ids 1 to `N` and data
/// `{"n": id, "t": <milliseconds since the Unix epoch when it was written, with fractions>, "value": <a temperature>}`
/// at `K` events per second (every millisecond, the events due so far are written together; `per_sec=0` or absent:
/// batches of 64 as fast as the connection takes them), then one event of type `end` with data `done`, then the
/// body ends. 400 when `count` is missing, not a number or over [`RATE_MAX_EVENTS`]. For the client ingest
/// benchmark (`cargo xtask bench`), which compares the hook with a plain `EventSource` + `JSON.parse` on this stream.
pub(crate) async fn rate(
    State(state): State<AppState>,
    ip: ClientIp,
    query: Result<Query<RateQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(RateQuery { count, per_sec }) = query?;
    if count > RATE_MAX_EVENTS {
        return Err(ApiError::BadRequest(format!("at most {RATE_MAX_EVENTS} events")));
    }
    let extras = permit(&state, ip)?;
    let end = Bytes::from(EventBuilder::new().event("end").data("done").build()?.into_bytes());
    let started = tokio::time::Instant::now();
    let batches = stream::unfold(1u64, move |next| async move {
        if next > count {
            return None;
        }
        let last = if per_sec == 0 {
            tokio::task::yield_now().await;
            (next + RATE_UNPACED_BATCH - 1).min(count)
        } else {
            loop {
                let due = (started.elapsed().as_secs_f64() * per_sec as f64) as u64;
                if due >= next {
                    break due.min(count);
                }
                tokio::time::sleep(RATE_TICK).await;
            }
        };
        Some((rate_batch(next, last), last + 1))
    });
    let events = batches.chain(stream::iter([end]));
    Ok(sse::response_with(&state, "test/rate", events, extras))
}

/// The events `first..=last` of `/test/rate`, encoded into one chunk.
fn rate_batch(first: u64, last: u64) -> Bytes {
    let t = OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e6;
    let mut chunk = String::new();
    for n in first..=last {
        let value = 20.0 + (n % 100) as f64 / 10.0;
        let data = format!(r#"{{"n":{n},"t":{t:.3},"value":{value:.1}}}"#);
        // Digits and punctuation only: the encoder cannot refuse it.
        if let Ok(frame) = EventBuilder::new().id(n.to_string()).data(data).build() {
            chunk.push_str(frame.as_str());
        }
    }
    Bytes::from(chunk)
}

/// The longest pause `/test/notice` takes before its notice.
pub(crate) const NOTICE_PAUSE_MAX: Duration = Duration::from_secs(30);

/// The query of `/test/notice`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct NoticeQuery {
    /// The key the requests are counted under.
    pub(crate) key: String,
    /// The notice the first stream sends after its two events: `reset`, `shutdown`, `expired`; none when absent.
    pub(crate) kind: Option<String>,
    /// How many requests answer 503 before the first stream. Default 0.
    #[serde(default)]
    pub(crate) fail_first: u64,
    /// How many requests answer 503 after the first stream. Default 0.
    #[serde(default)]
    pub(crate) down: u64,
    /// A token, echoed (for a URL renewed after `expired`).
    pub(crate) token: Option<String>,
    /// How long the first stream waits between its two events and the notice, in milliseconds. Default 0.
    #[serde(default)]
    pub(crate) pause_ms: u64,
}

/// `GET /test/notice?key=K&kind=KIND&fail_first=F&down=D&token=T&pause_ms=P`: request number `r` under `K` (1 for the
/// first) answers, when `r <= F` or `F + 1 < r <= F + 1 + D`, 503 with the text body `notice {r}`. Request `F + 1` is
/// the first stream: `retry: 300`, events with ids 1 and 2, then (after `P` milliseconds, default 0, capped at
/// [`NOTICE_PAUSE_MAX`]) the notice `KIND`: `reset` sends
/// `event: reset` (`{"reason":"restarted"}`), an event with id 3, and stays open; `shutdown` sends `event: shutdown`
/// with `retry: 300` (`{"reason":"shutdown"}`) and the body ends; `expired` sends `event: expired`
/// (`{"reason":"token expired"}`) and the body ends; without `kind` it stays open. Later requests are streams with
/// one event with id 10, then stay open. Every event's data is `{"n": id, "request": r, "lastEventId": <the
/// Last-Event-ID header or null>, "lastEventIdQuery": <the lastEventId parameter or null>, "token": <the
/// x-test-token header, else the token parameter, or null>}`.
pub(crate) async fn notice(
    State(state): State<AppState>,
    Extension(counts): Extension<RequestCounts>,
    ip: ClientIp,
    headers: HeaderMap,
    query: Result<Query<NoticeQuery>, QueryRejection>,
    pairs: QueryPairs,
) -> Result<Response, ApiError> {
    let Query(NoticeQuery { key, kind, fail_first, down, token, pause_ms }) = query?;
    let Query(pairs) = pairs?;
    let request = counts.next(&pairs, key);
    let first = fail_first.saturating_add(1);
    if request < first || (request > first && request <= first.saturating_add(down)) {
        let content_type = [(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))];
        return Ok((StatusCode::SERVICE_UNAVAILABLE, content_type, format!("notice {request}")).into_response());
    }
    let extras = permit(&state, ip)?;
    let header = |name: &str| headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let from_query = pairs.iter().find(|(name, _)| name == LAST_EVENT_ID_PARAM).map(|(_, value)| value.clone());
    let token = header("x-test-token").or(token);
    let event = |n: u64| {
        let data = json!({
            "n": n, "request": request, "lastEventId": header("last-event-id"), "lastEventIdQuery": from_query,
            "token": token,
        });
        EventBuilder::new().id(n.to_string()).data(data.to_string()).build()
    };
    let mut frames = vec![EventBuilder::new().retry(Duration::from_millis(300)).build()?];
    // What follows the pause: the notice and what comes after it.
    let mut after_pause = Vec::new();
    let mut stays = true;
    if request == first {
        frames.extend([event(1)?, event(2)?]);
        match kind.as_deref() {
            Some("reset") => {
                after_pause.push(EventBuilder::new().event("reset").data(r#"{"reason":"restarted"}"#).build()?);
                after_pause.push(event(3)?);
            }
            Some("shutdown") => {
                let shutdown = EventBuilder::new().event("shutdown").retry(Duration::from_millis(300));
                after_pause.push(shutdown.data(r#"{"reason":"shutdown"}"#).build()?);
                stays = false;
            }
            Some("expired") => {
                after_pause.push(EventBuilder::new().event("expired").data(r#"{"reason":"token expired"}"#).build()?);
                stays = false;
            }
            _ => {}
        }
    } else {
        frames.push(event(10)?);
    }
    let pause = Duration::from_millis(pause_ms).min(NOTICE_PAUSE_MAX);
    if pause.is_zero() {
        // In the same write as the events before it, as without a pause.
        frames.append(&mut after_pause);
    }
    let after_pause = stream::once(async move {
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        stream::iter(after_pause)
    })
    .flatten();
    let frames = stream::iter(frames).chain(after_pause).map(|f| Bytes::from(f.into_bytes()));
    Ok(if stays {
        sse::response_with(&state, "test/notice", frames.chain(stream::pending()), extras)
    } else {
        sse::response_with(&state, "test/notice", frames, extras)
    })
}

/// `GET /test/requests/{key}`: `{"key": "...", "requests": N}`, how many requests were counted under `key`.
pub(crate) async fn requests(
    Extension(counts): Extension<RequestCounts>,
    key: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(key) = key?;
    Ok(Json(json!({ "requests": counts.get(&key), "key": key })))
}

/// The most keys `/test/timeline` records, and the most arrivals per key: a bound on what a client can make the
/// server hold.
pub(crate) const TIMELINE_MAX: usize = 10_000;

/// The longest `retry` `/test/timeline` sends, in milliseconds.
pub(crate) const TIMELINE_MAX_RETRY_MS: u64 = 60_000;

/// One request `/test/timeline` recorded.
#[derive(Debug, Clone)]
struct Arrival {
    at: tokio::time::Instant,
    cookie: Option<String>,
}

/// The requests `/test/timeline` recorded, by key, in arrival order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Arrivals(Arc<Mutex<HashMap<String, Vec<Arrival>>>>);

/// The query of `/test/timeline`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct TimelineQuery {
    /// The key the arrivals are recorded under.
    pub(crate) key: String,
    /// How many requests (the first ones) get an event stream; the later ones get 503. Default 0.
    #[serde(default)]
    pub(crate) open: u64,
    /// The `retry:` (milliseconds) each stream sends before its event; none when absent.
    pub(crate) retry: Option<u64>,
    /// `true`: the stream stays open (keep-alives) after its event; else its body ends.
    #[serde(default)]
    pub(crate) stay: bool,
}

/// `GET /test/timeline?key=K&open=N&retry=MS&stay=true`: records the request (when it arrived, its `Cookie` header)
/// under `K`; request number `r` (1 for the first under `K`) is, when `r <= N`, an event stream: `retry: MS` (when
/// given), one event with id `r` and data `{"request": r, "cookie": <the Cookie header or null>}`, then the body
/// ends, or stays open with `stay=true`; later requests get 503 with the text body `timeline {r}`. 400 for a
/// `retry` over [`TIMELINE_MAX_RETRY_MS`]; 503 without recording once [`TIMELINE_MAX`] keys or arrivals are held.
pub(crate) async fn timeline(
    State(state): State<AppState>,
    Extension(arrivals): Extension<Arrivals>,
    ip: ClientIp,
    headers: HeaderMap,
    query: Result<Query<TimelineQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(TimelineQuery { key, open, retry, stay }) = query?;
    if retry.is_some_and(|retry| retry > TIMELINE_MAX_RETRY_MS) {
        return Err(ApiError::BadRequest(format!("retry is at most {TIMELINE_MAX_RETRY_MS} ms")));
    }
    let cookie = headers.get("cookie").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let request = {
        let mut all = arrivals.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let full = all.len() >= TIMELINE_MAX && !all.contains_key(&key);
        let list = all.entry(key).or_default();
        if full || list.len() >= TIMELINE_MAX {
            let unavailable = [(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))];
            return Ok((StatusCode::SERVICE_UNAVAILABLE, unavailable, "timeline full").into_response());
        }
        list.push(Arrival { at: tokio::time::Instant::now(), cookie: cookie.clone() });
        list.len() as u64
    };
    if request > open {
        let content_type = [(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))];
        return Ok((StatusCode::SERVICE_UNAVAILABLE, content_type, format!("timeline {request}")).into_response());
    }
    let extras = permit(&state, ip)?;
    let mut frames = Vec::new();
    if let Some(retry) = retry {
        frames.push(EventBuilder::new().retry(Duration::from_millis(retry)).build()?);
    }
    let data = json!({ "request": request, "cookie": cookie });
    frames.push(EventBuilder::new().id(request.to_string()).data(data.to_string()).build()?);
    let frames = stream::iter(frames.into_iter().map(|f| Bytes::from(f.into_bytes())));
    Ok(if stay {
        sse::response_with(&state, "test/timeline", frames.chain(stream::pending()), extras)
    } else {
        sse::response_with(&state, "test/timeline", frames, extras)
    })
}

/// `GET /test/timeline-log/{key}`: `{"key": K, "arrivals": [ms, ...], "cookies": [<Cookie header or null>, ...]}`,
/// the requests `/test/timeline` recorded under `K` in arrival order, each time in milliseconds (with fractions)
/// after the first one's (which is 0).
pub(crate) async fn timeline_log(
    Extension(arrivals): Extension<Arrivals>,
    key: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(key) = key?;
    let list = arrivals.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&key).cloned();
    let list = list.unwrap_or_default();
    let first = list.first().map(|arrival| arrival.at);
    let times: Vec<f64> =
        list.iter().map(|arrival| first.map_or(0.0, |first| (arrival.at - first).as_secs_f64() * 1000.0)).collect();
    let cookies: Vec<Option<String>> = list.into_iter().map(|arrival| arrival.cookie).collect();
    Ok(Json(json!({ "key": key, "arrivals": times, "cookies": cookies })))
}

/// The query of `/test/set-cookie`.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct SetCookieQuery {
    /// The cookie's name: ASCII letters, digits, `-` and `_`, 1 to 64 of them.
    pub(crate) name: String,
    /// Its value: the same characters, at most 64.
    pub(crate) value: String,
}

/// `GET /test/set-cookie?name=N&value=V`: 204 with `Set-Cookie: N=V; Path=/; SameSite=Lax; HttpOnly` (a host-only
/// cookie for the server's host, any port: a test page on another port of `127.0.0.1` is the same site, so the
/// browser sends it with the page's cross-origin requests that include credentials). 400 for a name or value of
/// other characters.
pub(crate) async fn set_cookie(query: Result<Query<SetCookieQuery>, QueryRejection>) -> Result<Response, ApiError> {
    let Query(SetCookieQuery { name, value }) = query?;
    let plain = |text: &str| {
        text.len() <= 64 && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'))
    };
    if name.is_empty() || !plain(&name) || !plain(&value) {
        return Err(ApiError::BadRequest("cookie names and values: 1 to 64 of A-Z a-z 0-9 - _".to_owned()));
    }
    let cookie = HeaderValue::from_str(&format!("{name}={value}; Path=/; SameSite=Lax; HttpOnly"))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((StatusCode::NO_CONTENT, [(axum::http::header::SET_COOKIE, cookie)]).into_response())
}

/// One raw test vector of the event-stream format.
#[derive(Debug, Clone, Copy)]
pub struct Vector {
    /// Its name in `/test/vectors/{name}`.
    pub name: &'static str,
    /// Its bytes, in the chunks they are written in (a pause between two chunks makes them separate reads).
    pub chunks: &'static [&'static [u8]],
    /// It ends in an unfinished event (rule 31): the body ends right after it, without the `done` event, which the
    /// client gets when it reconnects (with a `Last-Event-ID`, which the vector sets).
    pub unfinished: bool,
}

impl Vector {
    /// All its bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.chunks.concat()
    }
}

/// The spec vectors, after sse-spec.md rules 14 to 33 and web-platform-tests `eventsource/format-*`. The comment on
/// each gives what a conforming client dispatches (type, data, last event id) before `done`.
pub const VECTORS: &[Vector] = &[
    // Rule 14: one leading BOM is stripped, even split across chunks. → ("message", "1", "")
    Vector { name: "bom", chunks: &[b"\xEF\xBB", b"\xBFdata: 1\n\n"], unfinished: false },
    // Rule 14: a second BOM is part of the first field name. → ("message", "2", "")
    Vector { name: "double-bom", chunks: &[b"\xEF\xBB\xBF\xEF\xBB\xBFdata: 1\n\ndata: 2\n\n"], unfinished: false },
    // Rule 15: CRLF, LF and lone CR, with a CRLF split across chunks. → "test\n\ntest" (""), "cr", "lf", "crlf" ("1")
    Vector {
        name: "line-endings",
        chunks: &[b"data:test\r", b"\ndata\ndata:test\r\n\r", b"id: 1\rdata: cr\r\rdata: lf\n\ndata: crlf\r\n\r\n"],
        unfinished: false,
    },
    // Rule 17: comments are ignored. → "1", "2"
    Vector { name: "comments", chunks: &[b": comment\ndata: 1\n:another\n\n:\n\ndata:2\n: x\n\n"], unfinished: false },
    // Rule 19: a field without a colon has an empty value. → "\nx" ("5"), "y" (""), "z" ("")
    Vector {
        name: "no-colon",
        chunks: &[b"id: 5\ndata\ndata: x\n\nid\ndata: y\n\nevent\ndata: z\n\n"],
        unfinished: false,
    },
    // Rules 18 and 33: one leading space is removed, no more, and no tab. → "test", "test", " test", "\ttest"
    Vector {
        name: "leading-space",
        chunks: &[b"data:test\n\ndata: test\n\ndata:  test\n\ndata:\ttest\n\n"],
        unfinished: false,
    },
    // Rule 23: an id containing NUL is ignored. → "a" ("1"), "b" ("1"), "c" ("3")
    Vector {
        name: "id-nul",
        chunks: &[b"id: 1\ndata: a\n\nid: 2\x00x\ndata: b\n\nid: 3\ndata: c\n\n"],
        unfinished: false,
    },
    // Rules 23 and 26: an empty id resets; an id applies at the blank line even with no event. →
    // "a" ("7"), "b" (""), "c" (""), "d" ("9")
    Vector {
        name: "empty-id",
        chunks: &[b"id: 7\ndata: a\n\nid\ndata: b\n\nid: 8\n\nid:\ndata: c\n\nid: 9\n\ndata: d\n\n"],
        unfinished: false,
    },
    // Rule 24: retry takes ASCII digits only; invalid ones change nothing else. → "a", "b", "c", "d"
    Vector {
        name: "retry",
        chunks: &[
            b"retry: 1000\ndata: a\n\nretry: 1000x\ndata: b\n\n",
            b"retry:\ndata: c\n\nretry: -1\nretry: 1 000\n\ndata: d\n\n",
        ],
        unfinished: false,
    },
    // Rule 20: field names are case-sensitive. → "yes", "plain" (type message), "no-id" ("")
    Vector {
        name: "field-case",
        chunks: &[b"Data: no\n\nDATA: no\ndata: yes\n\nEvent: tick\ndata: plain\n\nID: 4\ndata: no-id\n\n"],
        unfinished: false,
    },
    // Rules 21, 27 and 29: the event type, cleared after each block. → ("tick", "a"), "b", "c"; "other" is not
    // listened to by the tests.
    Vector {
        name: "event-type",
        chunks: &[b"event: tick\ndata: a\n\nevent:\ndata: b\n\nevent: tick\n\ndata: c\n\nevent: other\ndata: no\n\n"],
        unfinished: false,
    },
    // Rules 22 and 28: data lines join with LF; one trailing LF is removed. → "a\nb\n", "c\n"
    Vector { name: "multi-line", chunks: &[b"data: a\ndata: b\ndata\n\ndata: c\ndata:\n\n"], unfinished: false },
    // Rule 25: unknown fields are ignored. → "a"
    Vector { name: "unknown-fields", chunks: &[b"foo: bar\ndata: a\nbaz\nretryx: 1\n\n"], unfinished: false },
    // Rule 32's example (after an id-only block, so that the reconnect says where it was): "" ("r32"), "\n" ("r32"),
    // then the body ends in `data:`, which is discarded.
    Vector { name: "rule-32", chunks: &[b"retry: 200\nid: r32\n\ndata\n\ndata\ndata\n\ndata:"], unfinished: true },
    // Rule 31: an event without its blank line at the end of the body is discarded, its id too.
    // → "complete" ("u1"), then `done` with id "u1"
    Vector {
        name: "unfinished",
        chunks: &[b"retry: 200\nid: u1\ndata: complete\n\ndata: unfinished\nid: u2"],
        unfinished: true,
    },
    // Rule 14: multi-byte UTF-8 split across chunks. → "café € 😀", ("tick", "✓")
    Vector {
        name: "utf8",
        chunks: &[
            b"data: caf\xC3",
            b"\xA9 \xE2\x82",
            b"\xAC \xF0\x9F",
            b"\x98\x80\n\n",
            b"event: tick\ndata: \xE2\x9C\x93\n\n",
        ],
        unfinished: false,
    },
    // Rule 14: invalid UTF-8 becomes U+FFFD. → "bad \u{FFFD} byte", "cut \u{FFFD}"
    Vector { name: "invalid-utf8", chunks: &[b"data: bad \xFF byte\n\ndata: cut \xE2\x82\n\n"], unfinished: false },
];

/// The frame every vector ends with (unless it is unfinished), so that the client knows it has everything.
pub(crate) fn done_frame() -> Result<Bytes, ApiError> {
    Ok(Bytes::from(EventBuilder::new().event("done").data("end").build()?.into_bytes()))
}

/// `GET /test/vectors`: the names of the vectors, as a JSON array.
pub(crate) async fn vector_names() -> Json<Vec<&'static str>> {
    Json(VECTORS.iter().map(|v| v.name).collect())
}

/// `GET /test/vectors/{name}`: the vector's bytes verbatim as `text/event-stream`, each chunk a separate write,
/// then the `done` event (`event: done`, `data: end`), then the body ends. An unfinished vector ends without `done`;
/// a request with a `Last-Event-ID` header (a client reconnecting) gets only `done`. 404 for an unknown name.
///
/// This is the one route that does not go through [`sse::response_with`] and [`EventBuilder`]: its bytes are test
/// vectors, malformed on purpose, which the encoder rightly cannot produce, and a `retry:` frame before them would
/// move the BOM from the stream's start. Not counted in `openStreams`; no keep-alives (the body is short). It takes
/// a connection permit all the same, held until the body is dropped.
pub(crate) async fn vector(
    State(state): State<AppState>,
    Extension(counts): Extension<RequestCounts>,
    ClientIp(ip): ClientIp,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    query: QueryPairs,
) -> Result<Response, ApiError> {
    let Path(name) = name?;
    let Query(query) = query?;
    let vector = VECTORS.iter().find(|v| v.name == name).ok_or(ApiError::NotFound)?;
    let permit: StreamPermit = state.limits.acquire(ip)?;
    counts.count(&query, format!("vectors-{name}"));
    let done = done_frame()?;
    let chunks: Vec<Bytes> = if headers.contains_key("last-event-id") {
        vec![done]
    } else if vector.unfinished {
        vector.chunks.iter().map(|c| Bytes::from_static(c)).collect()
    } else {
        vector.chunks.iter().map(|c| Bytes::from_static(c)).chain([done]).collect()
    };
    let body = stream::iter(chunks.into_iter().enumerate()).then(move |(i, chunk)| {
        // The permit lives as long as the body does.
        let _held = &permit;
        async move {
            if i > 0 {
                tokio::time::sleep(VECTOR_CHUNK_PAUSE).await;
            }
            Ok::<_, std::convert::Infallible>(chunk)
        }
    });
    let mut response = Response::new(Body::from_stream(body));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, no-transform"));
    Ok(response)
}
