//! The `text/event-stream` response every stream route answers with: the headers, a `retry:` frame first,
//! keep-alive comments when idle, the end (on shutdown with `event: shutdown`, on token expiry with
//! `event: expired`), and the guards a stream owns: the open-stream count and its connection permit.
//!
//! Keep-alives are idle-based: a `: keep-alive` comment is sent when no frame has been written for `--keep-alive`
//! (so a busy stream carries none). The `retry:` time is `--retry` plus a random jitter up to `--retry-jitter`, drawn
//! per stream, so that clients cut off together come back spread out. Every byte is encoded by the protocol crate's
//! [`EventBuilder`]/[`Frame`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use http_body::{Body as HttpBody, Frame as HttpFrame};
use prometheus_client::metrics::gauge::Gauge;
use rand::Rng;
use sse_live_protocol::wire::{Expired, Shutdown, EXPIRED_EVENT, SHUTDOWN_EVENT};
use sse_live_protocol::{EventBuilder, Frame};
use tokio::time::Instant;

use crate::config::Config;
use crate::hub::Parked;
use crate::limits::StreamPermit;
use crate::side_waker::SideWaker;
use crate::socket::Socket;
use crate::state::AppState;

/// The text of the keep-alive comment (`: keep-alive`).
pub(crate) const KEEP_ALIVE_COMMENT: &str = "keep-alive";

/// `X-Accel-Buffering: no` stops nginx (and proxies that copy it) from buffering the stream.
static X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

/// What a stream holds besides its frames.
#[derive(Debug, Default)]
pub(crate) struct Extras {
    /// Its place within the connection limits, released when the stream is dropped.
    pub permit: Option<StreamPermit>,
    /// The time left on its subscriber token: the stream ends with `event: expired` then.
    pub expires_in: Option<Duration>,
    /// Its side of the direct fan-out, when live events are written straight to its socket while it waits (see
    /// [`crate::hub::direct`]).
    pub direct: Option<Arc<Parked>>,
}

/// The response for a stream of encoded frames (`events`), labelled `name` in the logs, holding `extras` for the
/// life of the stream.
///
/// The body writes `retry:` first, then `events` with keep-alive comments merged in, and ends when `events` ends,
/// or with `event: shutdown` when the server shuts down. It counts as one open stream until axum drops it.
pub(crate) fn response_with(
    state: &AppState,
    name: &str,
    events: impl Stream<Item = Bytes> + Send + 'static,
    extras: Extras,
) -> Response {
    let keep_alive = encode(Frame::comment(KEEP_ALIVE_COMMENT)).unwrap_or_default();
    stream_response(state, name, events, Some(KeepAlive::new(state.config.keep_alive, keep_alive)), extras)
}

/// Like [`response_with`] but WITHOUT keep-alive comments: the body carries the `retry:` frame and `events`,
/// nothing else, however long it stays idle. For test routes that simulate a stalled connection; never for real
/// streams (proxies cut idle connections).
#[cfg(feature = "test-routes")]
pub(crate) fn response_without_keep_alive(
    state: &AppState,
    name: &str,
    events: impl Stream<Item = Bytes> + Send + 'static,
    extras: Extras,
) -> Response {
    stream_response(state, name, events, None, extras)
}

/// The reconnection time for one stream: `--retry` plus a random share of `--retry-jitter`.
pub(crate) fn retry_hint(config: &Config) -> Duration {
    let jitter = u64::try_from(config.retry_jitter.as_millis()).unwrap_or(u64::MAX);
    config.retry + Duration::from_millis(rand::rng().random_range(0..=jitter))
}

/// The response for `events` (with keep-alives or not): headers, `retry:` first, the end on shutdown or expiry,
/// counted as an open stream.
fn stream_response(
    state: &AppState,
    name: &str,
    events: impl Stream<Item = Bytes> + Send + 'static,
    keep_alive: Option<KeepAlive>,
    extras: Extras,
) -> Response {
    let guard = OpenStreamGuard::new(state.metrics.open_streams.clone(), name);
    let retry = encode(EventBuilder::new().retry(retry_hint(&state.config)).build());
    let ends = Ends {
        shutdown: Box::pin(state.shutdown.clone().cancelled_owned()),
        expiry: extras.expires_in.map(|left| Box::pin(tokio::time::sleep(left))),
        shutdown_frame: shutdown_frame(&state.config),
        expired: state.metrics.tokens_expired.clone(),
    };
    let direct = extras.direct.and_then(|parked| {
        let socket = parked.socket()?;
        let timeouts = state.metrics.send_timeouts.clone();
        Some(Direct { parked, socket, send_timeout: state.config.send_timeout, deadline: None, timeouts })
    });
    let guards = Guards { _open: guard, _permit: extras.permit };
    let body = StreamBody::new(retry, events.boxed(), keep_alive, ends, guards).with_direct(direct);

    let mut response = Response::new(Body::new(body));
    let headers = response.headers_mut();
    // hyper keeps a response's header map for the connection's life (to parse the next request into): sized for
    // these three rather than the default first growth (8 slots, 6 entries, about 620 bytes per stream).
    *headers = HeaderMap::with_capacity(3);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache, no-transform"));
    headers.insert(X_ACCEL_BUFFERING.clone(), HeaderValue::from_static("no"));
    response
}

/// `event: shutdown` with a `retry:` (with jitter) and `{"reason":"shutdown"}`.
fn shutdown_frame(config: &Config) -> Option<Bytes> {
    let data = serde_json::to_string(&Shutdown { reason: "shutdown".to_owned() }).ok()?;
    encode(EventBuilder::new().event(SHUTDOWN_EVENT).retry(retry_hint(config)).data(data).build())
}

/// `event: expired` with `{"reason":"token expired"}`.
fn expired_frame() -> Option<Bytes> {
    let data = serde_json::to_string(&Expired { reason: "token expired".to_owned() }).ok()?;
    encode(EventBuilder::new().event(EXPIRED_EVENT).data(data).build())
}

/// What ends a stream early.
struct Ends {
    shutdown: Pin<Box<tokio_util::sync::WaitForCancellationFutureOwned>>,
    expiry: Option<Pin<Box<tokio::time::Sleep>>>,
    shutdown_frame: Option<Bytes>,
    expired: prometheus_client::metrics::counter::Counter,
}

/// The keep-alive comment, sent when `period` passes without a frame.
struct KeepAlive {
    period: Duration,
    comment: Bytes,
    timer: Pin<Box<tokio::time::Sleep>>,
    /// When the last frame (or comment) was sent.
    last: Instant,
    /// The timer found the stream idle for `period`: the comment goes out unless an event goes first.
    due: bool,
}

impl KeepAlive {
    fn new(period: Duration, comment: Bytes) -> Self {
        // The flag refuses zero; a zero period would re-arm a timer that is always due.
        let period = period.max(Duration::from_millis(1));
        let timer = Box::pin(tokio::time::sleep(period));
        Self { period, comment, timer, last: Instant::now(), due: false }
    }

    /// Polls the timer (with the side waker): when it fires, the comment is due if the stream has been idle for
    /// the period, and the timer is set again for the end of the next idle period.
    fn poll_timer(&mut self, side: &mut Context<'_>) {
        while self.timer.as_mut().poll(side).is_ready() {
            let now = Instant::now();
            let idle_until = self.last + self.period;
            let next = if now >= idle_until {
                self.due = true;
                now + self.period
            } else {
                idle_until
            };
            self.timer.as_mut().reset(next);
        }
    }
}

/// What the body holds for the life of the stream: the open-stream count and the connection permit.
struct Guards {
    _open: OpenStreamGuard,
    _permit: Option<StreamPermit>,
}

/// A body's side of the direct fan-out (see [`crate::hub::direct`]): before the body gives hyper anything, the
/// stream is held (no direct write runs) and what the last direct write left is written, within `--send-timeout`.
struct Direct {
    parked: Arc<Parked>,
    socket: Socket,
    send_timeout: Duration,
    /// When the rest of a direct write must have been taken by the socket.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// `sse_live_send_timeouts_total`.
    timeouts: prometheus_client::metrics::counter::Counter,
}

impl Direct {
    /// Holds the stream; gives the time of the last direct write. The send timeout runs while the socket takes
    /// nothing, and starts over when it takes some (as for hyper's writes, see [`crate::listener`]).
    fn poll_hold(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<Option<Instant>>> {
        let before = self.parked.remainder();
        match self.parked.poll_hold(cx) {
            Poll::Ready(result) => {
                self.deadline = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let send_timeout = self.send_timeout;
                if self.parked.remainder() < before {
                    self.deadline = None;
                }
                let deadline = self.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(send_timeout)));
                ready!(deadline.as_mut().poll(cx));
                self.timeouts.inc();
                tracing::info!("a client read nothing for the send timeout; closing its connection");
                Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
            }
        }
    }
}

impl Drop for Direct {
    fn drop(&mut self) {
        self.parked.close();
    }
}

/// A stream's body, one hand-written [`HttpBody`] rather than nested stream combinators and `select!`s (each
/// event wakes each subscriber's task, so what a poll costs is paid once per delivery): the end on shutdown or
/// expiry first, then `retry:`, then the events, with a keep-alive comment when idle.
struct StreamBody {
    retry: Option<Bytes>,
    events: BoxStream<'static, Bytes>,
    keep_alive: Option<KeepAlive>,
    ends: Ends,
    /// Polls `ends` and the keep-alive timer only when they wake.
    side: SideWaker,
    direct: Option<Direct>,
    done: bool,
    _guards: Guards,
}

impl StreamBody {
    fn new(
        retry: Option<Bytes>,
        events: BoxStream<'static, Bytes>,
        keep_alive: Option<KeepAlive>,
        ends: Ends,
        guards: Guards,
    ) -> Self {
        Self { retry, events, keep_alive, ends, side: SideWaker::new(), direct: None, done: false, _guards: guards }
    }

    fn with_direct(mut self, direct: Option<Direct>) -> Self {
        self.direct = direct;
        self
    }

    /// The next frame: hyper is given it (the socket is told, see [`Socket::handed_to_hyper`]).
    fn poll_frame_bytes(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Bytes>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(direct) = self.direct.as_mut() {
            match ready!(direct.poll_hold(cx)) {
                Ok(last_write) => {
                    if let (Some(at), Some(keep_alive)) = (last_write, self.keep_alive.as_mut()) {
                        keep_alive.last = keep_alive.last.max(at);
                    }
                }
                Err(error) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(error)));
                }
            }
        }
        let frame = ready!(self.poll_next_frame(cx));
        if let (Some(_), Some(direct)) = (&frame, &self.direct) {
            direct.socket.handed_to_hyper();
        }
        Poll::Ready(frame.map(Ok))
    }

    /// The next frame: an end, `retry:`, a keep-alive comment that is due, or the events' next (which parks a
    /// direct stream when there is none).
    fn poll_next_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.side.woken(cx) {
            let mut side = self.side.context();
            if self.ends.shutdown.as_mut().poll(&mut side).is_ready() {
                self.done = true;
                return Poll::Ready(self.ends.shutdown_frame.clone());
            }
            if let Some(expiry) = self.ends.expiry.as_mut() {
                if expiry.as_mut().poll(&mut side).is_ready() {
                    self.done = true;
                    self.ends.expired.inc();
                    return Poll::Ready(expired_frame());
                }
            }
            if let Some(keep_alive) = self.keep_alive.as_mut() {
                keep_alive.poll_timer(&mut side);
            }
        }
        if let Some(retry) = self.retry.take() {
            return Poll::Ready(Some(retry));
        }
        // Before the events: once they are pending, a direct stream is parked.
        if let Some(keep_alive) = self.keep_alive.as_mut().filter(|keep_alive| keep_alive.due) {
            keep_alive.due = false;
            keep_alive.last = Instant::now();
            return Poll::Ready(Some(keep_alive.comment.clone()));
        }
        match ready!(self.events.poll_next_unpin(cx)) {
            Some(frame) => {
                if let Some(keep_alive) = self.keep_alive.as_mut() {
                    keep_alive.last = Instant::now();
                }
                Poll::Ready(Some(frame))
            }
            None => {
                self.done = true;
                Poll::Ready(None)
            }
        }
    }
}

impl Stream for StreamBody {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        self.poll_frame_bytes(cx).map(|frame| frame.and_then(Result::ok))
    }
}

impl HttpBody for StreamBody {
    type Data = Bytes;
    /// A direct write's rest that the socket did not take within `--send-timeout`, or a socket error while writing
    /// it: hyper closes the connection.
    type Error = io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<HttpFrame<Bytes>>>> {
        self.poll_frame_bytes(cx).map(|frame| frame.map(|bytes| bytes.map(HttpFrame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
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

/// Counts one open stream from creation to drop, and logs its end (with how long it was open) inside the span of
/// the request that opened it.
#[derive(Debug)]
pub(crate) struct OpenStreamGuard {
    gauge: Gauge,
    name: String,
    span: tracing::Span,
    opened: Instant,
}

impl OpenStreamGuard {
    /// Raises `gauge` by one until the guard is dropped.
    pub(crate) fn new(gauge: Gauge, name: &str) -> Self {
        let open = gauge.inc() + 1;
        tracing::debug!(stream = name, open, "stream opened");
        Self { gauge, name: name.to_owned(), span: tracing::Span::current(), opened: Instant::now() }
    }
}

impl Drop for OpenStreamGuard {
    fn drop(&mut self) {
        let open = self.gauge.dec() - 1;
        let _request = self.span.enter();
        tracing::debug!(stream = self.name, open, duration = ?self.opened.elapsed(), "stream closed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_counts_while_alive() {
        let gauge = Gauge::default();
        let a = OpenStreamGuard::new(gauge.clone(), "a");
        let b = OpenStreamGuard::new(gauge.clone(), "b");
        assert_eq!(gauge.get(), 2);
        drop(a);
        assert_eq!(gauge.get(), 1);
        drop(b);
        assert_eq!(gauge.get(), 0);
    }

    #[test]
    fn the_retry_hint_stays_within_the_jitter() {
        let config =
            Config { retry: Duration::from_secs(3), retry_jitter: Duration::from_secs(1), ..Config::default() };
        let hints: Vec<Duration> = (0..200).map(|_| retry_hint(&config)).collect();
        assert!(hints.iter().all(|h| (Duration::from_secs(3)..=Duration::from_secs(4)).contains(h)), "{hints:?}");
        assert!(hints.iter().any(|h| *h != hints[0]), "spread, not one value");
        let fixed = Config { retry_jitter: Duration::ZERO, ..config };
        assert_eq!(retry_hint(&fixed), Duration::from_secs(3));
    }

    fn body(events: BoxStream<'static, Bytes>, keep_alive: Option<KeepAlive>, ends: Ends) -> StreamBody {
        let gauge = Gauge::default();
        let guards = Guards { _open: OpenStreamGuard::new(gauge, "t"), _permit: None };
        StreamBody::new(None, events, keep_alive, ends, guards)
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_ends_with_the_shutdown_frame_or_the_expired_one() {
        let token = tokio_util::sync::CancellationToken::new();
        let counter = prometheus_client::metrics::counter::Counter::default();
        let ends = |expiry: Option<Duration>| Ends {
            shutdown: Box::pin(token.clone().cancelled_owned()),
            expiry: expiry.map(|d| Box::pin(tokio::time::sleep(d))),
            shutdown_frame: Some(Bytes::from_static(b"event: shutdown\n\n")),
            expired: counter.clone(),
        };
        let mut expiring = body(futures_util::stream::pending().boxed(), None, ends(Some(Duration::from_secs(5))));
        let mut forever = body(futures_util::stream::pending().boxed(), None, ends(None));
        let expired = String::from_utf8(expiring.next().await.unwrap().to_vec()).unwrap();
        assert!(expired.starts_with("event: expired\n"), "{expired}");
        assert!(expiring.next().await.is_none());
        assert_eq!(counter.get(), 1);
        token.cancel();
        assert_eq!(forever.next().await.unwrap(), "event: shutdown\n\n");
        assert!(forever.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn keep_alives_fill_idle_time_only() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
        let events = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        let token = tokio_util::sync::CancellationToken::new();
        let ends = Ends {
            shutdown: Box::pin(token.clone().cancelled_owned()),
            expiry: None,
            shutdown_frame: None,
            expired: prometheus_client::metrics::counter::Counter::default(),
        };
        let keep_alive = KeepAlive::new(Duration::from_secs(10), Bytes::from_static(b": ka\n\n"));
        let mut merged = body(events.boxed(), Some(keep_alive), ends);
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

        // Busy: no comment while events come more often than the period.
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_secs(7)).await;
            tx.send(Bytes::from_static(b"data: y\n\n")).unwrap();
            assert_eq!(merged.next().await.unwrap(), "data: y\n\n");
        }

        // The merged stream ends with the events.
        drop(tx);
        assert!(merged.next().await.is_none());
    }
}
