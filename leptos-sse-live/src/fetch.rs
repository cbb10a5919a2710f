//! The fetch transport: the only place that touches `fetch`, `ReadableStream` and `AbortController`.
//!
//! One task (`wasm_bindgen_futures::spawn_local`) runs the connection's whole life: build the request (the headers
//! closure is called again for every attempt), `fetch` it, judge the answer ([`reconnect::verdict`]), feed the body's
//! chunks to the protocol crate's [`Parser`], and when the body ends or the network fails, wait and fetch again with
//! `Last-Event-ID`: after a stream that was open, the reconnection time (the server's `retry:`, 3 s until it sends
//! one); after a failed attempt, the hook's [`Backoff`] within its per-outage [`Budget`], never sooner than the
//! server's `retry:`.
//!
//! Closing ([`Connection`]'s `Drop`) stops everything at once: a shared `closed` flag is set, the current request is
//! aborted through its `AbortController`, and the task is woken and, seeing the flag, returns without polling its
//! body again, which drops whatever it was waiting on (a pending reconnect timer is cleared by dropping its
//! `TimeoutFuture`). Between two awaits the task checks the flag before each handler call, so a handler that closes
//! the connection (or an unmount in between) stops the remaining events of a chunk too. No `Closure::forget`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gloo_timers::future::TimeoutFuture;
use js_sys::{Reflect, Uint8Array};
use sse_live_protocol::wire::SHUTDOWN_EVENT;
use sse_live_protocol::{Parsed, Parser};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    AbortController, AbortSignal, Headers, ReadableStreamDefaultReader, Request, RequestCache, RequestCredentials,
    RequestInit, Response,
};

use super::browser::js_error_message;
use super::fetch_options::{Credentials, FetchOptions};
use super::reconnect::{self, Backoff, Budget, Verdict, DEFAULT_RECONNECTION_TIME, MAX_MESSAGE_BYTES};
use super::{ConnectionState, EventSourceError, Handlers};

/// How a fetch connection delivers and retries, besides the request itself.
pub(super) struct Policy {
    /// Event types delivered besides `message`.
    pub events: Vec<String>,
    /// Abort an attempt after this long without a sign of life; `None`: never.
    pub stall_timeout: Option<Duration>,
    /// The wait before retrying a failed attempt.
    pub backoff: Backoff,
    /// The most retries per outage; `None` for no limit.
    pub limit: Option<u32>,
    /// The last event id an earlier connection saw (empty: none): sent as `Last-Event-ID` until the stream gives one.
    pub resume_from: String,
}

/// A running fetch connection. Dropping it closes it for good.
pub(super) struct Connection {
    shared: Rc<Shared>,
}

impl Connection {
    /// Starts the connection's task; the first request goes out when the page's event loop next runs.
    ///
    /// Errors when `url` cannot be resolved against the page's address, with the browser's message.
    pub(crate) fn open(url: &str, options: FetchOptions, policy: Policy, handlers: Handlers) -> Result<Self, String> {
        let url = resolve(url)?;
        let shared = Rc::new(Shared::default());
        let budget = Budget { limit: policy.limit, used: 0 };
        let task = Task {
            url,
            options,
            policy,
            handlers,
            shared: shared.clone(),
            parser: Parser::new(),
            budget,
            after_shutdown: Cell::new(false),
        };
        spawn_local(UntilClosed { task: Box::pin(task.run()), shared: shared.clone() });
        Ok(Self { shared })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shared.close();
    }
}

/// What the handle and the task share.
#[derive(Default)]
struct Shared {
    /// Set once, by `close()`/unmount; every handler call checks it.
    closed: Cell<bool>,
    /// The current attempt's controller, to abort its request and body.
    controller: RefCell<Option<AbortController>>,
    /// The task's waker, to end it at once on close.
    waker: RefCell<Option<Waker>>,
}

impl Shared {
    fn close(&self) {
        self.closed.set(true);
        if let Some(controller) = self.controller.borrow_mut().take() {
            controller.abort();
        }
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Aborts the current attempt's request (its body included), if any.
    fn abort_attempt(&self) {
        if let Some(controller) = self.controller.borrow_mut().take() {
            controller.abort();
        }
    }
}

/// Runs `task` until it finishes or the connection is closed, whichever comes first; on close the task is dropped
/// unpolled, and with it every future it was waiting on.
struct UntilClosed<F> {
    task: Pin<Box<F>>,
    shared: Rc<Shared>,
}

impl<F: Future<Output = ()>> Future for UntilClosed<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.closed.get() {
            return Poll::Ready(());
        }
        *self.shared.waker.borrow_mut() = Some(cx.waker().clone());
        let done = self.task.as_mut().poll(cx);
        if done.is_ready() {
            self.shared.waker.borrow_mut().take();
        }
        done
    }
}

/// How one attempt ended.
enum Outcome {
    /// The stream was open, then its body ended or the network failed: reconnect after the reconnection time.
    Dropped,
    /// No stream this time (a network error, 5xx, 408, 429): report `error` with state `Connecting`, back off, retry.
    Retry(EventSourceError),
    /// Never again: report `error` with state `Closed` and stop.
    Fail(EventSourceError),
}

/// The connection's state across attempts.
struct Task {
    url: String,
    options: FetchOptions,
    policy: Policy,
    handlers: Handlers,
    shared: Rc<Shared>,
    /// Kept across attempts: its last event id and reconnection time survive a reconnect.
    parser: Parser,
    /// Failed attempts retried since the last stream that opened.
    budget: Budget,
    /// The server sent `event: shutdown` and no stream has opened since: failed attempts spend no budget.
    after_shutdown: Cell<bool>,
}

impl Task {
    async fn run(mut self) {
        loop {
            let outcome = self.attempt().await;
            self.shared.abort_attempt();
            if !self.live() {
                return;
            }
            let wait = match outcome {
                // A stream that was open: wait the reconnection time, as `EventSource` does; no budget spent.
                Outcome::Dropped => {
                    self.handlers.listener.error(ConnectionState::Connecting, EventSourceError::Disconnected);
                    self.parser.reconnection_time().unwrap_or(DEFAULT_RECONNECTION_TIME)
                }
                Outcome::Retry(error) => {
                    let retries = self.budget.used;
                    if self.after_shutdown.get() {
                        // A restart the server announced: retry until it is back, spending no budget.
                        self.budget.used = self.budget.used.saturating_add(1);
                    } else if !self.budget.try_retry() {
                        self.handlers.listener.error(ConnectionState::Closed, error);
                        self.handlers.listener.failed();
                        return;
                    }
                    self.handlers.listener.error(ConnectionState::Connecting, error);
                    // Never sooner than the server's `retry:` (rule 10: longer is allowed, shorter is not).
                    let floor = self.parser.reconnection_time().unwrap_or_default();
                    self.policy.backoff.delay(retries, js_sys::Math::random()).max(floor)
                }
                Outcome::Fail(error) => {
                    self.handlers.listener.error(ConnectionState::Closed, error);
                    return;
                }
            };
            // The handler may have closed the connection.
            if !self.live() {
                return;
            }
            let millis = timer_millis(wait);
            self.handlers.listener.reconnect_at(Some(js_sys::Date::now() + f64::from(millis)));
            TimeoutFuture::new(millis).await;
            if !self.live() {
                return;
            }
            self.handlers.listener.reconnect_at(None);
        }
    }

    fn live(&self) -> bool {
        !self.shared.closed.get()
    }

    /// `future`'s output, or `None` when stall detection is on and it takes longer than the stall timeout.
    async fn unless_stalled<F: Future>(&self, future: F) -> Option<F::Output> {
        match self.policy.stall_timeout {
            Some(timeout) => {
                Within { future: Box::pin(future), timer: TimeoutFuture::new(timer_millis(timeout)) }.await
            }
            None => Some(future.await),
        }
    }

    /// One request, and its body until it ends.
    async fn attempt(&mut self) -> Outcome {
        let controller = match AbortController::new() {
            Ok(controller) => controller,
            Err(error) => return Outcome::Fail(EventSourceError::InvalidRequest { message: js_error_message(error) }),
        };
        let request = match self.request(&controller.signal()) {
            Ok(request) => request,
            Err(message) => return Outcome::Fail(EventSourceError::InvalidRequest { message }),
        };
        let Some(window) = web_sys::window() else {
            let message = "no window: the fetch transport runs in a browser page".to_owned();
            return Outcome::Fail(EventSourceError::InvalidRequest { message });
        };
        *self.shared.controller.borrow_mut() = Some(controller);

        let Some(answer) = self.unless_stalled(JsFuture::from(window.fetch_with_request(&request))).await else {
            // No answer within the stall timeout: the attempt is aborted by the caller.
            return Outcome::Retry(EventSourceError::Disconnected);
        };
        let response = match answer.map(JsCast::dyn_into::<Response>) {
            Ok(Ok(response)) => response,
            // A network error, a CORS refusal, an abort: the browser says no more than "Failed to fetch".
            Ok(Err(_)) | Err(_) => return Outcome::Retry(EventSourceError::Disconnected),
        };
        let status = response.status();
        let content_type = response.headers().get("content-type").ok().flatten();
        match reconnect::verdict(status, content_type.as_deref()) {
            Verdict::Open => {}
            Verdict::WrongContentType => {
                return Outcome::Fail(EventSourceError::ContentType { content_type: content_type.unwrap_or_default() })
            }
            Verdict::ClosedByServer => return Outcome::Fail(EventSourceError::ClosedByServer),
            Verdict::Retry => {
                return Outcome::Retry(EventSourceError::Http { status, message: message(&response).await })
            }
            Verdict::Fail => {
                return Outcome::Fail(EventSourceError::Http { status, message: message(&response).await })
            }
        }

        if !self.live() {
            return Outcome::Dropped;
        }
        self.budget.reset();
        self.after_shutdown.set(false);
        self.handlers.activity.record();
        self.handlers.listener.state(ConnectionState::Open);
        let Some(reader) = reader(&response) else {
            self.parser.finish();
            return Outcome::Dropped;
        };
        let mut out = Vec::new();
        // Rule 8 (the body ends) and rule 5 (a network error) both re-establish the connection.
        // A stall (no chunk within the stall timeout) ends the loop like a network error; the caller aborts.
        while let Some(Ok(Some(chunk))) = self.unless_stalled(read_chunk(&reader)).await {
            if !self.live() {
                return Outcome::Dropped;
            }
            self.handlers.activity.record();
            self.parser.feed(&chunk, &mut out);
            self.dispatch(&mut out);
        }
        // Rule 31: an event without its final blank line is discarded.
        self.parser.finish();
        Outcome::Dropped
    }

    /// Hands the parsed events to the handler, in order, as long as the connection is not closed.
    fn dispatch(&self, out: &mut Vec<Parsed>) {
        for parsed in out.drain(..) {
            if !self.live() {
                break;
            }
            match parsed {
                Parsed::Event(event) if event.event_type == SHUTDOWN_EVENT => {
                    self.after_shutdown.set(true);
                    if self.policy.events.contains(&event.event_type) {
                        self.handlers.listener.message(&event)
                    }
                }
                Parsed::Event(event)
                    if event.event_type == "message" || self.policy.events.contains(&event.event_type) =>
                {
                    self.handlers.listener.message(&event)
                }
                // Other event types are not listened to; comments only count as activity (recorded per chunk);
                // `retry:` is read back from the parser when reconnecting.
                Parsed::Event(_) | Parsed::Comment(_) | Parsed::Retry(_) => {}
            }
        }
    }

    /// This attempt's request: method, headers (the closure is called now), body, no cache, credentials, abort
    /// signal.
    fn request(&self, signal: &AbortSignal) -> Result<Request, String> {
        let headers = Headers::new().map_err(js_error_message)?;
        let extra = (self.options.headers)();
        if !extra.iter().any(|(name, _)| name.eq_ignore_ascii_case("accept")) {
            headers.set("Accept", "text/event-stream").map_err(js_error_message)?;
        }
        for (name, value) in &extra {
            headers.append(name, value).map_err(js_error_message)?;
        }
        let last_event_id = match self.parser.last_event_id() {
            "" => self.policy.resume_from.as_str(),
            id => id,
        };
        if !last_event_id.is_empty() {
            // Header values are byte strings: send the id's UTF-8 bytes, as `EventSource` does. An id the browser
            // still refuses (it came from the network) is left out rather than failing the connection.
            let bytes: String = last_event_id.bytes().map(char::from).collect();
            let _ = headers.set("Last-Event-ID", &bytes);
        }

        let init = RequestInit::new();
        init.set_method(&self.options.method);
        init.set_headers(&headers);
        if let Some(body) = &self.options.body {
            init.set_body(&JsValue::from_str(body));
        }
        init.set_cache(RequestCache::NoStore);
        init.set_credentials(match self.options.credentials {
            Credentials::Omit => RequestCredentials::Omit,
            Credentials::SameOrigin => RequestCredentials::SameOrigin,
            Credentials::Include => RequestCredentials::Include,
        });
        init.set_signal(Some(signal));
        Request::new_with_str_and_init(&self.url, &init).map_err(js_error_message)
    }
}

/// `url` resolved against the page's URL, or the browser's reason it cannot be parsed.
fn resolve(url: &str) -> Result<String, String> {
    let base = web_sys::window().and_then(|window| window.location().href().ok());
    let parsed = match base {
        Some(base) => web_sys::Url::new_with_base(url, &base),
        None => web_sys::Url::new(url),
    };
    parsed.map(|url| url.href()).map_err(js_error_message)
}

/// The reader of a response's body, if it has one.
fn reader(response: &Response) -> Option<ReadableStreamDefaultReader> {
    response.body()?.get_reader().dyn_into::<ReadableStreamDefaultReader>().ok()
}

/// The next chunk of a body; `None` once it has ended; an error when the network failed or the request was aborted.
async fn read_chunk(reader: &ReadableStreamDefaultReader) -> Result<Option<Vec<u8>>, JsValue> {
    let result = JsFuture::from(reader.read()).await?;
    if Reflect::get(&result, &JsValue::from_str("done"))?.as_bool().unwrap_or(true) {
        return Ok(None);
    }
    let value = Reflect::get(&result, &JsValue::from_str("value"))?;
    Ok(Some(value.dyn_into::<Uint8Array>().map(|chunk| chunk.to_vec()).unwrap_or_default()))
}

/// How long an error answer's body may take to arrive before the message is cut short.
const MESSAGE_TIMEOUT_MS: u32 = 5_000;

/// The start of an error answer's body as the server's message (at most about 1 KiB is read, for at most
/// [`MESSAGE_TIMEOUT_MS`], so a body that never ends cannot hold up the retry; the rest is dropped with the request
/// when the attempt is aborted).
async fn message(response: &Response) -> String {
    let mut body = Vec::new();
    if let Some(reader) = reader(response) {
        let read = async {
            while body.len() <= MAX_MESSAGE_BYTES {
                match read_chunk(&reader).await {
                    Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                    Ok(None) | Err(_) => break,
                }
            }
        };
        Within { future: Box::pin(read), timer: TimeoutFuture::new(MESSAGE_TIMEOUT_MS) }.await;
    }
    reconnect::server_message(&body)
}

/// `future`, or nothing once `timer` fires first.
struct Within<F> {
    future: Pin<Box<F>>,
    timer: TimeoutFuture,
}

impl<F: Future> Future for Within<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(output) = self.future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        Pin::new(&mut self.timer).poll(cx).map(|()| None)
    }
}

/// A wait as `setTimeout` milliseconds (which top out at 2^31 - 1).
fn timer_millis(wait: Duration) -> u32 {
    u32::try_from(wait.as_millis()).unwrap_or(u32::MAX).min(i32::MAX as u32)
}
