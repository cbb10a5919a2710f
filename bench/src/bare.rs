//! The bare peer: what a user writes from axum's `sse` example — `Sse` over a `tokio::sync::broadcast` channel per
//! topic, `KeepAlive::default()`, each subscriber turning each message into an `Event` — plus a `POST` to publish.
//! No history, no replay, no open-stream counting: the benchmark's baseline for what the hub's features cost.
//!
//! Routes: `GET /events/{topic}` (SSE), `POST /events/{topic}` (JSON body, `Authorization: Bearer KEY`; answers
//! `201 {"id":N}`). With `--tick`, a task publishes `{"sentAtUs":..,"seq":..}` to the topic `ticks` at that
//! interval, like the demo server's generators.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream::{Stream, StreamExt};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;

/// One published message as the channel carries it.
#[derive(Debug, Clone)]
pub struct Message {
    /// The topic's counter, sent as the event id.
    pub id: u64,
    /// The JSON body as published.
    pub data: String,
}

/// A topic: its channel and id counter.
struct Topic {
    sender: broadcast::Sender<Message>,
    next_id: u64,
}

/// The server's state: topics by name (made on first use), the publish key, the channel capacity.
#[derive(Clone)]
pub struct Bare {
    topics: Arc<Mutex<HashMap<String, Topic>>>,
    key: Option<String>,
    capacity: usize,
}

impl Bare {
    /// A server whose `POST`s need `key` (none: open), with channels of `capacity` messages.
    pub fn new(key: Option<String>, capacity: usize) -> Self {
        Self { topics: Arc::default(), key, capacity: capacity.max(1) }
    }

    fn with_topic<T>(&self, name: &str, f: impl FnOnce(&mut Topic) -> T) -> T {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        let topic = topics
            .entry(name.to_owned())
            .or_insert_with(|| Topic { sender: broadcast::channel(self.capacity).0, next_id: 1 });
        f(topic)
    }

    /// Publishes `data` to `topic` and returns its id.
    pub fn publish(&self, topic: &str, data: String) -> u64 {
        self.with_topic(topic, |t| {
            let id = t.next_id;
            t.next_id += 1;
            // An error only means nobody is listening.
            let _ = t.sender.send(Message { id, data });
            id
        })
    }

    /// The router: `GET` and `POST /events/{topic}`.
    pub fn router(self) -> Router {
        Router::new().route("/events/{topic}", get(subscribe).post(publish)).with_state(self)
    }

    /// Publishes `{"sentAtUs":..,"seq":..}` to the topic `ticks` every `period`, for ever.
    pub fn spawn_ticker(&self, period: Duration) {
        let bare = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(period);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for seq in 0_u64.. {
                ticks.tick().await;
                let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros());
                bare.publish("ticks", format!(r#"{{"sentAtUs":{now},"seq":{seq}}}"#));
            }
        });
    }
}

async fn subscribe(
    State(bare): State<Bare>,
    Path(topic): Path<String>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = bare.with_topic(&topic, |t| t.sender.subscribe());
    // As in axum's example: lagged receivers skip what they missed.
    let stream = BroadcastStream::new(receiver)
        .filter_map(|message| async move { message.ok() })
        .map(|message| Ok(Event::default().id(message.id.to_string()).data(message.data)));
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn publish(State(bare): State<Bare>, Path(topic): Path<String>, headers: HeaderMap, body: String) -> Response {
    if let Some(key) = &bare.key {
        let given = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(key.as_str()) {
            return (StatusCode::UNAUTHORIZED, "missing or wrong bearer key\n").into_response();
        }
    }
    if body.is_empty() {
        return (StatusCode::BAD_REQUEST, "an event needs a body\n").into_response();
    }
    let id = bare.publish(&topic, body);
    (StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response()
}
