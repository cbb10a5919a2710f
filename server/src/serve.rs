//! Serving connections: our own accept loop over hyper's HTTP/1.1 connections (axum's "serve-with-hyper"), with the
//! connection-level limits `axum::serve` does not have.
//!
//! - **A cap on connections**, in all (`--max-connections`) and per client address (`--max-connections-per-ip`).
//!   The total is a semaphore acquired *before* `accept` (as in mini-redis): when every place is taken the server
//!   stops accepting, new clients wait in the kernel's queue, and the process never reaches its file-descriptor
//!   limit; open streams go on flowing, and the next client gets in as soon as a connection closes. A connection
//!   beyond the per-address cap is closed at once, without reading or answering it: answering would mean holding a
//!   descriptor for it until its request arrived, which is what the cap is there to prevent.
//! - **A header timeout** (`--header-timeout`): a request head (request line and headers) must be complete within
//!   this long of the connection's opening or of the first byte of a later request.
//! - **An idle timeout** (`--idle-timeout`): a keep-alive connection with no request in progress is closed after this
//!   long without a new one. A request is in progress until its response body is dropped, so an open event stream
//!   is never idle.
//! - **At the descriptor limit anyway** (descriptors taken by something else): `accept` failing with `EMFILE` is
//!   logged (at most once a minute) and retried when one of our connections closes, or after a second; never in a
//!   busy loop.
//!
//! Every connection also gets the send timeout (see [`crate::listener`]), and every request the peer's address as
//! [`ConnectInfo<ClientAddr>`](crate::listener::ClientAddr) and the client's as [`ClientIp`] (behind a trusted
//! proxy, the address it names: see [`crate::forwarded`]). On shutdown (the token) the loop stops
//! accepting, each connection is shut down gracefully (an idle one closes at once, a stream ends on the same token),
//! and [`Server::run`] returns once every connection has closed; [`crate::run`] bounds that by `--drain-timeout`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, Version};
use axum::Router;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::config::{ClientIpHeader, Config};
use crate::forwarded;
use crate::listener::{ClientAddr, ClientIp, Connection};
use crate::metrics::Metrics;
use crate::side_waker::SideWaker;
use crate::socket::Socket;

/// How long the accept loop waits after an `accept` error such as `EMFILE` when no connection of ours closes.
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// The accept loop and what every connection is served with.
#[derive(Debug)]
pub(crate) struct Server {
    listener: TcpListener,
    /// One permit per open connection (`--max-connections`).
    places: Arc<Semaphore>,
    per_ip: Arc<PerIp>,
    /// Notified when a connection closes: the accept loop waits for it after `EMFILE`.
    closed: Arc<Notify>,
    settings: Arc<Settings>,
    metrics: Arc<Metrics>,
}

/// The per-connection settings, from [`Config`].
#[derive(Debug)]
struct Settings {
    header_timeout: Duration,
    idle_timeout: Duration,
    send_timeout: Duration,
    trusted_proxies: Vec<ipnet::IpNet>,
    client_ip_header: ClientIpHeader,
}

impl Settings {
    fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }
}

impl Server {
    /// Serves on `listener` with the limits and timeouts of `config`, counting in `metrics`.
    pub(crate) fn new(listener: TcpListener, config: &Config, metrics: Arc<Metrics>) -> Self {
        let max = config.max_connections();
        let places = usize::try_from(max).unwrap_or(usize::MAX).min(Semaphore::MAX_PERMITS);
        tracing::debug!(max_connections = max, per_ip = config.max_connections_per_ip, "connection limits");
        Self {
            listener,
            places: Arc::new(Semaphore::new(places)),
            per_ip: Arc::new(PerIp { max: config.max_connections_per_ip, counts: Mutex::default() }),
            closed: Arc::new(Notify::new()),
            settings: Arc::new(Settings {
                header_timeout: config.header_timeout,
                idle_timeout: config.idle_timeout,
                send_timeout: config.send_timeout,
                trusted_proxies: config.trusted_proxies.clone(),
                client_ip_header: config.client_ip_header,
            }),
            metrics,
        }
    }

    /// Accepts and serves connections with `router` until `shutdown` is cancelled, then waits for every connection
    /// to close (each is shut down gracefully; streams end on the same token).
    pub(crate) async fn run(self, router: Router, shutdown: CancellationToken) {
        let connections = TaskTracker::new();
        let mut accept_errors = AcceptErrors::default();
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = self.accept(&mut accept_errors) => accepted,
            };
            let connection = serve_connection(
                accepted,
                router.clone(),
                self.settings.clone(),
                self.metrics.clone(),
                shutdown.clone(),
            );
            connections.spawn(connection);
        }
        // Stop accepting: new clients are refused by the kernel rather than queued.
        drop(self.listener);
        connections.close();
        connections.wait().await;
    }

    /// The next connection within the caps: waits for a place, accepts, and closes (and skips) connections from an
    /// address at its cap.
    async fn accept(&self, errors: &mut AcceptErrors) -> Accepted {
        loop {
            let place = match self.places.clone().acquire_owned().await {
                Ok(place) => place,
                // The semaphore is never closed; if it were, accepting nothing more beats a panic.
                Err(_) => return std::future::pending().await,
            };
            let (stream, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    errors.failed(&error);
                    drop(place);
                    tokio::select! {
                        () = self.closed.notified() => {}
                        () = tokio::time::sleep(ACCEPT_RETRY) => {}
                    }
                    continue;
                }
            };
            let ip = peer.ip().to_canonical();
            let slot = if self.settings.is_trusted_proxy(ip) {
                None
            } else {
                match self.per_ip.take(ip) {
                    Some(slot) => Some(slot),
                    None => {
                        self.metrics.connection_closed(CloseReason::TooManyPerIp);
                        tracing::debug!(%ip, max = self.per_ip.max, "closing a connection over --max-connections-per-ip");
                        drop(stream);
                        continue;
                    }
                }
            };
            let place =
                Place { _place: place, _slot: slot, closed: self.closed.clone(), metrics: self.metrics.clone() };
            self.metrics.open_connections.inc();
            return Accepted { stream, peer, place };
        }
    }
}

/// How long the accept loop stays quiet about failing accepts after saying so.
const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Failed accepts, logged at most once a [`ACCEPT_ERROR_LOG_INTERVAL`] (at the limit, accepts fail and succeed in
/// turn as connections come and go).
#[derive(Debug, Default)]
struct AcceptErrors {
    logged: Option<Instant>,
    unlogged: u64,
}

impl AcceptErrors {
    fn failed(&mut self, error: &io::Error) {
        self.unlogged += 1;
        if self.logged.is_none_or(|at| at.elapsed() >= ACCEPT_ERROR_LOG_INTERVAL) {
            tracing::error!(
                %error,
                failures = self.unlogged,
                "cannot accept connections; retrying when one closes (--max-connections is above what the open-file \
                 limit allows, or something else holds descriptors); next report in a minute at the earliest"
            );
            self.logged = Some(Instant::now());
            self.unlogged = 0;
        }
    }
}

/// Errors of `accept` that concern one connection only (the client gave up while queued): accept the next.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}

/// An accepted connection and its place within the caps.
struct Accepted {
    stream: TcpStream,
    peer: SocketAddr,
    place: Place,
}

/// A connection's place within `--max-connections` and `--max-connections-per-ip`, given back on drop.
struct Place {
    _place: OwnedSemaphorePermit,
    _slot: Option<PerIpSlot>,
    closed: Arc<Notify>,
    metrics: Arc<Metrics>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.metrics.open_connections.dec();
        self.closed.notify_one();
    }
}

/// Open connections per client address.
#[derive(Debug)]
struct PerIp {
    max: u32,
    counts: Mutex<HashMap<IpAddr, u32>>,
}

impl PerIp {
    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, u32>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for one more connection from `ip`, or `None` at the cap.
    fn take(self: &Arc<Self>, ip: IpAddr) -> Option<PerIpSlot> {
        let mut counts = self.lock();
        let count = counts.entry(ip).or_default();
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(PerIpSlot { per_ip: self.clone(), ip })
    }
}

struct PerIpSlot {
    per_ip: Arc<PerIp>,
    ip: IpAddr,
}

impl Drop for PerIpSlot {
    fn drop(&mut self) {
        let mut counts = self.per_ip.lock();
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Why the server closed a connection (the `reason` of `sse_live_connections_closed_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CloseReason {
    /// No complete request head within `--header-timeout`.
    HeaderTimeout,
    /// No request for `--idle-timeout` on a connection with nothing in progress.
    IdleTimeout,
    /// Over `--max-connections-per-ip`, closed when accepted.
    TooManyPerIp,
}

impl CloseReason {
    /// Every reason, for the metric's series.
    pub(crate) const ALL: [Self; 3] = [Self::HeaderTimeout, Self::IdleTimeout, Self::TooManyPerIp];

    /// The metric label.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::HeaderTimeout => "header_timeout",
            Self::IdleTimeout => "idle_timeout",
            Self::TooManyPerIp => "too_many_per_ip",
        }
    }
}

/// Serves one connection until it closes, the watchdog closes it, or shutdown has drained it.
async fn serve_connection(
    accepted: Accepted,
    router: Router,
    settings: Arc<Settings>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let Accepted { stream, peer, place } = accepted;
    let activity = Arc::new(Activity::new());
    let socket = Socket::new(stream);
    let io = Connection::tracked(&socket, settings.send_timeout, metrics.send_timeouts.clone(), activity.clone());
    let service = hyper::service::service_fn({
        let (activity, settings) = (activity.clone(), settings.clone());
        move |request: Request<Incoming>| {
            let in_progress = activity.request_started();
            let mut request = request.map(Body::new);
            let client = forwarded::client_ip(
                peer.ip(),
                request.headers(),
                &settings.trusted_proxies,
                settings.client_ip_header,
            );
            request.extensions_mut().insert(ConnectInfo(ClientAddr(peer)));
            request.extensions_mut().insert(ClientIp(Some(client)));
            // A stream may be written to directly only where hyper answers with a chunked body: a GET over HTTP/1.1
            // (HTTP/1.0 bodies end with the connection, a HEAD response has none).
            if request.method() == Method::GET && request.version() == Version::HTTP_11 {
                request.extensions_mut().insert(socket.clone());
            }
            let router = router.clone();
            async move {
                let Ok(response) = router.oneshot(request).await;
                // hyper is given this body as it is: one more `Body::new` would box it again, a dynamic call per frame.
                Ok::<_, Infallible>(response.map(|body| InProgress { body, _request: in_progress }))
            }
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // Our own timeouts below replace hyper's (which would also count a keep-alive connection's idle time against
    // the header timeout).
    builder.header_read_timeout(None);
    // Frames are small: copied into hyper's write buffer and sent with one write(2), rather than queued and sent
    // with writev(2) (chunk size, frame, CRLF).
    builder.writev(false);
    let mut connection = pin!(builder.serve_connection(TokioIo::new(io), service));
    let mut expired = pin!(activity.expired(settings.header_timeout, settings.idle_timeout));
    let mut cancelled = pin!(shutdown.cancelled());
    // The shutdown token and the watchdog are polled only when they wake, not on each of the connection's
    // wake-ups (one per event on a stream).
    let mut side = SideWaker::new();
    let mut draining = false;
    let ended = std::future::poll_fn(|cx| {
        if side.woken(cx) {
            let mut side_cx = side.context();
            if !draining && cancelled.as_mut().poll(&mut side_cx).is_ready() {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            if let Poll::Ready(reason) = expired.as_mut().poll(&mut side_cx) {
                return Poll::Ready(Err(reason));
            }
        }
        connection.as_mut().poll(cx).map(Ok)
    })
    .await;
    match ended {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%peer, %error, "connection ended with an error"),
        Err(reason) => {
            metrics.connection_closed(reason);
            tracing::debug!(%peer, reason = reason.code(), "closing the connection");
        }
    }
    drop(place);
}

/// What a connection is doing, for the header and idle timeouts: shared by its socket (bytes read), its requests
/// (in progress until the response body is dropped) and its watchdog ([`Activity::expired`]).
#[derive(Debug)]
pub(crate) struct Activity {
    origin: Instant,
    /// Requests whose response body is still alive.
    in_progress: AtomicU32,
    /// When the request head being read began (see [`Activity::now`]); 0: no head being read.
    head_started: AtomicU64,
    /// When the last request ended (see [`Activity::now`]).
    idle_since: AtomicU64,
    /// Wakes the watchdog: a head began, or the last request ended.
    changed: Notify,
}

impl Activity {
    /// A connection just opened: its first head is being waited for.
    fn new() -> Self {
        Self {
            origin: Instant::now(),
            in_progress: AtomicU32::new(0),
            head_started: AtomicU64::new(1),
            idle_since: AtomicU64::new(1),
            changed: Notify::new(),
        }
    }

    /// Now, in whole milliseconds since `origin` rounded up (so that deadlines computed from it are never early),
    /// and never 0.
    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    fn at(&self, stamp: u64) -> Instant {
        self.origin + Duration::from_millis(stamp)
    }

    /// The socket read some bytes: between requests, that starts a request head.
    pub(crate) fn bytes_read(&self) {
        if self.in_progress.load(Ordering::SeqCst) == 0
            && self.head_started.load(Ordering::SeqCst) == 0
            && self.head_started.compare_exchange(0, self.now(), Ordering::SeqCst, Ordering::SeqCst).is_ok()
        {
            self.changed.notify_one();
        }
    }

    /// A request head is complete: the request is in progress until the returned guard is dropped.
    fn request_started(self: &Arc<Self>) -> RequestInProgress {
        self.in_progress.fetch_add(1, Ordering::SeqCst);
        self.head_started.store(0, Ordering::SeqCst);
        RequestInProgress { activity: self.clone() }
    }

    /// Resolves when the connection has waited too long for a request head, or been idle too long.
    async fn expired(&self, header_timeout: Duration, idle_timeout: Duration) -> CloseReason {
        loop {
            if self.in_progress.load(Ordering::SeqCst) > 0 {
                self.changed.notified().await;
                continue;
            }
            let head = self.head_started.load(Ordering::SeqCst);
            let (deadline, reason) = if head == 0 {
                (self.at(self.idle_since.load(Ordering::SeqCst)) + idle_timeout, CloseReason::IdleTimeout)
            } else {
                (self.at(head) + header_timeout, CloseReason::HeaderTimeout)
            };
            if Instant::now() >= deadline {
                // A request may have started since the checks above: only a connection still waiting expires.
                if self.in_progress.load(Ordering::SeqCst) == 0 {
                    return reason;
                }
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = self.changed.notified() => {}
            }
        }
    }
}

/// A request in progress (see [`Activity::request_started`]).
#[derive(Debug)]
struct RequestInProgress {
    activity: Arc<Activity>,
}

impl Drop for RequestInProgress {
    fn drop(&mut self) {
        let activity = &self.activity;
        if activity.in_progress.fetch_sub(1, Ordering::SeqCst) == 1 {
            activity.idle_since.store(activity.now(), Ordering::SeqCst);
            activity.head_started.store(0, Ordering::SeqCst);
            activity.changed.notify_one();
        }
    }
}

/// A response body that keeps its request in progress while it lives.
struct InProgress {
    body: Body,
    _request: RequestInProgress,
}

impl HttpBody for InProgress {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `elapsed` is `expected`, or up to 2 ms more (stamps are whole milliseconds, rounded up).
    fn assert_about(elapsed: Duration, expected: Duration) {
        assert!(elapsed >= expected && elapsed <= expected + Duration::from_millis(2), "{elapsed:?}, not {expected:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_fresh_connection_has_the_header_timeout() {
        let activity = Activity::new();
        let started = Instant::now();
        assert_eq!(activity.expired(Duration::from_secs(2), Duration::from_secs(30)).await, CloseReason::HeaderTimeout);
        assert_about(started.elapsed(), Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_request_the_idle_timeout_runs_until_a_byte_starts_a_head() {
        let activity = Arc::new(Activity::new());
        drop(activity.request_started());
        let started = Instant::now();
        assert_eq!(activity.expired(Duration::from_secs(2), Duration::from_secs(30)).await, CloseReason::IdleTimeout);
        assert_about(started.elapsed(), Duration::from_secs(30));

        drop(activity.request_started());
        let started = Instant::now();
        let expired = tokio::spawn({
            let activity = activity.clone();
            async move { activity.expired(Duration::from_secs(2), Duration::from_secs(30)).await }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        activity.bytes_read();
        assert_eq!(expired.await.unwrap(), CloseReason::HeaderTimeout);
        // 2 s after the first byte, not 30 s after the request.
        assert_about(started.elapsed(), Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_progress_never_expires() {
        let activity = Arc::new(Activity::new());
        let request = activity.request_started();
        activity.bytes_read();
        let expired = activity.expired(Duration::from_secs(2), Duration::from_secs(30));
        assert!(tokio::time::timeout(Duration::from_secs(3600), expired).await.is_err());
        drop(request);
        let started = Instant::now();
        assert_eq!(activity.expired(Duration::from_secs(2), Duration::from_secs(30)).await, CloseReason::IdleTimeout);
        assert_about(started.elapsed(), Duration::from_secs(30));
    }
}
