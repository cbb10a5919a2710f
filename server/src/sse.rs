//! The `text/event-stream` response every stream route answers with: the headers, a `retry:` frame first,
//! keep-alive comments when idle, the end on shutdown, and the guard that counts open streams.
//!
//! Keep-alives are idle-based: a `: keep-alive` comment is sent when no frame has been written for `--keep-alive`
//! (so a busy stream carries none). Every byte is encoded by the protocol crate's [`EventBuilder`]/[`Frame`].

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream::{self, BoxStream, Stream, StreamExt};
use sse_live_protocol::{EventBuilder, Frame};
use tokio::time::Instant;

use crate::state::AppState;

/// The text of the keep-alive comment (`: keep-alive`).
pub const KEEP_ALIVE_COMMENT: &str = "keep-alive";

/// `X-Accel-Buffering: no` stops nginx (and proxies that copy it) from buffering the stream.
static X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// The response for a stream of encoded frames (`events`), labelled `name` in the logs.
///
/// The body writes `retry: <--retry ms>` first, then `events` with keep-alive comments merged in, and ends when
/// `events` ends or the server shuts down. It counts as one open stream until axum drops it.
pub fn response(state: &AppState, name: &str, events: impl Stream<Item = Bytes> + Send + 'static) -> Response {
    let keep_alive = encode(Frame::comment(KEEP_ALIVE_COMMENT)).unwrap_or_default();
    stream_response(state, name, with_keep_alive(events, state.config.keep_alive, keep_alive))
}

/// Like [`response`] but WITHOUT keep-alive comments: the body carries the `retry:` frame and `events`, nothing
/// else, however long it stays idle. For test routes that simulate a stalled connection; never for real streams
/// (proxies cut idle connections).
pub fn response_without_keep_alive(
    state: &AppState,
    name: &str,
    events: impl Stream<Item = Bytes> + Send + 'static,
) -> Response {
    stream_response(state, name, events)
}

/// The response for `events` (keep-alives already merged in, or not): headers, `retry:` first, the end on
/// shutdown, counted as an open stream.
fn stream_response(state: &AppState, name: &str, events: impl Stream<Item = Bytes> + Send + 'static) -> Response {
    let guard = OpenStreamGuard::new(state.open_streams.clone(), name);
    let retry = encode(EventBuilder::new().retry(state.config.retry).build());
    let frames = stream::iter(retry).chain(events).take_until(state.shutdown.clone().cancelled_owned());
    let body = Counted { frames: frames.boxed(), _guard: guard };

    let mut response = Response::new(Body::from_stream(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, no-transform"));
    headers.insert(X_ACCEL_BUFFERING.clone(), HeaderValue::from_static("no"));
    response
}

fn encode<E: std::fmt::Display>(frame: Result<Frame, E>) -> Option<Bytes> {
    match frame {
        Ok(frame) => Some(Bytes::from(frame.into_bytes())),
        Err(error) => {
            tracing::error!(%error, "cannot encode a frame");
            None
        }
    }
}

/// `events`, plus `comment` whenever `period` passes without a frame.
fn with_keep_alive(
    events: impl Stream<Item = Bytes> + Send + 'static,
    period: Duration,
    comment: Bytes,
) -> impl Stream<Item = Bytes> + Send + 'static {
    let timer = Box::pin(tokio::time::sleep(period));
    stream::unfold((events.boxed(), timer, comment), move |(mut events, mut timer, comment)| async move {
        let frame = tokio::select! {
            biased;
            // `next` is cancel-safe: a frame is never lost when the timer wins.
            frame = events.next() => frame?,
            () = timer.as_mut() => comment.clone(),
        };
        timer.as_mut().reset(Instant::now() + period);
        Some((frame, (events, timer, comment)))
    })
}

/// A stream body that holds an [`OpenStreamGuard`], so the count drops when axum drops the body.
struct Counted {
    frames: BoxStream<'static, Bytes>,
    _guard: OpenStreamGuard,
}

impl Stream for Counted {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.frames.poll_next_unpin(cx).map(|frame| frame.map(Ok))
    }
}

/// Counts one open stream from creation to drop.
#[derive(Debug)]
pub struct OpenStreamGuard {
    counter: Arc<AtomicUsize>,
    name: String,
}

impl OpenStreamGuard {
    /// Raises `counter` by one until the guard is dropped.
    pub fn new(counter: Arc<AtomicUsize>, name: &str) -> Self {
        let open = counter.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(stream = name, open, "stream opened");
        Self { counter, name: name.to_owned() }
    }
}

impl Drop for OpenStreamGuard {
    fn drop(&mut self) {
        let open = self.counter.fetch_sub(1, Ordering::Relaxed) - 1;
        tracing::debug!(stream = self.name, open, "stream closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_counts_while_alive() {
        let counter = Arc::new(AtomicUsize::new(0));
        let a = OpenStreamGuard::new(counter.clone(), "a");
        let b = OpenStreamGuard::new(counter.clone(), "b");
        assert_eq!(counter.load(Ordering::Relaxed), 2);
        drop(a);
        assert_eq!(counter.load(Ordering::Relaxed), 1);
        drop(b);
        assert_eq!(counter.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn keep_alives_fill_idle_time_only() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
        let events = stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        let mut merged = Box::pin(with_keep_alive(events, Duration::from_secs(10), Bytes::from_static(b": ka\n\n")));
        let start = Instant::now();

        // Idle: a comment after one period.
        assert_eq!(merged.next().await.unwrap(), ": ka\n\n");
        assert_eq!(start.elapsed(), Duration::from_secs(10));

        // An event 6 s later postpones the next comment to 10 s after it.
        tokio::time::sleep(Duration::from_secs(6)).await;
        tx.send(Bytes::from_static(b"data: x\n\n")).unwrap();
        assert_eq!(merged.next().await.unwrap(), "data: x\n\n");
        assert_eq!(merged.next().await.unwrap(), ": ka\n\n");
        assert_eq!(start.elapsed(), Duration::from_secs(26));

        // The merged stream ends with the events.
        drop(tx);
        assert!(merged.next().await.is_none());
    }
}
