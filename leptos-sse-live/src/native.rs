//! The native transport with the hook's own reconnects: a [`browser::Connection`] while one is open, and a new one,
//! after a backoff, when the browser gives up on it.
//!
//! The browser re-establishes a dropped stream by itself (state `Connecting`); when it fails the connection instead
//! (an `error` event leaving readyState CLOSED: an HTTP error, a wrong content type, a network failure while
//! connecting) it never tries again. Then [`Native`] waits ([`Backoff`]), within the outage's [`Budget`], and opens
//! a new `EventSource` whose URL carries the last event id as a query parameter (a new `EventSource` cannot send the
//! `Last-Event-ID` header). A successful open resets the budget; a spent budget reports `Closed` with
//! [`EventSourceError::ConnectionFailed`] and calls `on_failed` once.
//!
//! Every handler holds only a `Weak` of the shared state and the generation of the connection it belongs to, and
//! does nothing unless that connection is still the current one and the hook has not closed it. Dropping [`Native`]
//! (`close()`, unmount) closes the current `EventSource` and drops the pending timer, which clears it: no
//! connection is opened after close, and nothing is leaked with `Closure::forget`.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::time::Duration;

use gloo_timers::callback::Timeout;
use sse_live_protocol::wire::SHUTDOWN_EVENT;
use sse_live_protocol::Event;

use super::browser;
use super::reconnect::{with_query_param, Backoff, Budget};
use super::{ConnectionState, EventSourceError, Handlers, Listener};

/// What the native transport needs besides the URL and the hook's handlers.
pub(super) struct NativeOptions {
    pub with_credentials: bool,
    pub events: Vec<String>,
    pub backoff: Backoff,
    /// The most retries per outage; `None` for no limit.
    pub limit: Option<u32>,
    /// The query parameter that carries the last event id on a reconnect.
    pub last_event_id_param: String,
    /// Reconnect when a connection shows no sign of life (its opening, a message) for this long; `None`: never.
    pub stall_timeout: Option<Duration>,
    /// The last event id an earlier connection saw (empty: none); the first request carries it in its query too.
    pub resume_from: String,
}

/// The hook's native connection, across its reconnects. Dropping it closes it for good.
pub(super) struct Native {
    shared: Rc<Shared>,
}

struct Shared {
    url: String,
    options: NativeOptions,
    handlers: Handlers,
    /// Set once, when the hook closes; checked by every handler and the timer.
    closed: Cell<bool>,
    /// The current connection's number; a handler of an older one does nothing.
    generation: Cell<u64>,
    connection: RefCell<Option<browser::Connection>>,
    /// The pending reconnect; dropping it clears the timer.
    timer: RefCell<Option<Timeout>>,
    /// The stall detection timer of the current connection; dropping it clears it.
    stall_timer: RefCell<Option<Timeout>>,
    /// When the current connection was opened (`Date.now()`), the start of its stall detection.
    connected_at_ms: Cell<f64>,
    budget: Cell<Budget>,
    /// The server sent `event: shutdown` and no connection has opened since: its failures spend no budget.
    after_shutdown: Cell<bool>,
    /// The last event id seen, for the next reconnect's URL.
    last_event_id: RefCell<String>,
}

impl Native {
    /// Opens the first connection; the browser's refusal of the URL comes back as its message.
    pub(crate) fn open(url: &str, options: NativeOptions, handlers: Handlers) -> Result<Self, String> {
        let budget = Budget { limit: options.limit, used: 0 };
        let resume_from = options.resume_from.clone();
        let first_url = match resume_from.as_str() {
            "" => url.to_owned(),
            id => with_query_param(url, &options.last_event_id_param, id),
        };
        let shared = Rc::new(Shared {
            url: url.to_owned(),
            options,
            handlers,
            closed: Cell::new(false),
            generation: Cell::new(0),
            connection: RefCell::new(None),
            timer: RefCell::new(None),
            stall_timer: RefCell::new(None),
            connected_at_ms: Cell::new(0.0),
            budget: Cell::new(budget),
            after_shutdown: Cell::new(false),
            last_event_id: RefCell::new(resume_from),
        });
        connect(&shared, &first_url)?;
        Ok(Self { shared })
    }
}

impl Drop for Native {
    fn drop(&mut self) {
        self.shared.closed.set(true);
        self.shared.generation.set(self.shared.generation.get().wrapping_add(1));
        drop(self.shared.timer.borrow_mut().take());
        drop(self.shared.stall_timer.borrow_mut().take());
        drop(self.shared.connection.borrow_mut().take());
    }
}

impl Shared {
    /// Whether a handler of connection `generation` may act.
    fn current(&self, generation: u64) -> bool {
        !self.closed.get() && self.generation.get() == generation
    }

    /// The current connection opened or delivered a message: a sign of life for stall detection, when it is on
    /// (reading the clock is a call into JavaScript, on every message of a burst).
    fn alive(&self) {
        if self.options.stall_timeout.is_some() {
            self.handlers.activity.record();
        }
    }
}

/// Opens a new `EventSource` at `url` as the current connection (the previous one, if any, is closed).
fn connect(shared: &Rc<Shared>, url: &str) -> Result<(), String> {
    let generation = shared.generation.get().wrapping_add(1);
    shared.generation.set(generation);
    drop(shared.connection.borrow_mut().take());

    let current = Current { shared: Rc::downgrade(shared), generation };
    let handlers = Handlers { listener: Rc::new(current), activity: shared.handlers.activity.clone() };
    let connection =
        browser::Connection::open(url, shared.options.with_credentials, shared.options.events.clone(), handlers)?;
    shared.connection.replace(Some(connection));
    if let Some(timeout) = shared.options.stall_timeout {
        shared.connected_at_ms.set(js_sys::Date::now());
        watch_stall(shared, generation, timer_millis(timeout));
    }
    Ok(())
}

/// Checks connection `generation` for a stall in `millis`: if it showed no sign of life for the stall timeout by
/// then, it is closed and replaced ([`stalled`]); else the check runs again when the timeout would be reached.
fn watch_stall(shared: &Rc<Shared>, generation: u64, millis: u32) {
    let weak = Rc::downgrade(shared);
    let timer = Timeout::new(millis, move || {
        let Some(shared) = live(&weak, generation) else { return };
        let Some(timeout) = shared.options.stall_timeout else { return };
        let last = shared.connected_at_ms.get().max(shared.handlers.activity.last_at_ms.get());
        let remaining = last + timeout.as_secs_f64() * 1000.0 - js_sys::Date::now();
        if remaining > 0.0 {
            // `remaining` is at most the timeout, which fits (`timer_millis` capped it); `as` saturates anyway.
            watch_stall(&shared, generation, (remaining.ceil() as u32).max(1));
        } else {
            stalled(&shared);
        }
    });
    // Replacing the timer that fired (this may run inside it) clears nothing live.
    shared.stall_timer.replace(Some(timer));
}

/// The current connection stalled: close it and reconnect with the last event id, as after a dropped stream (the
/// budget is not spent: a stall is not a failed attempt).
fn stalled(shared: &Rc<Shared>) {
    // No handler of the stalled connection acts again.
    let generation = shared.generation.get().wrapping_add(1);
    shared.generation.set(generation);
    drop(shared.connection.borrow_mut().take());
    shared.handlers.listener.error(ConnectionState::Connecting, EventSourceError::Disconnected);
    // The handler may have closed the hook.
    if !shared.current(generation) {
        return;
    }
    schedule_reconnect(shared, 0);
}

/// The shared state, if the hook is still open and `generation` is its current connection.
fn live(shared: &Weak<Shared>, generation: u64) -> Option<Rc<Shared>> {
    shared.upgrade().filter(|shared| shared.current(generation))
}

/// The listener of connection `generation`: it passes what the browser reports on to the hook's handlers while that
/// connection is the current one, and handles failures with the hook's own reconnects.
struct Current {
    shared: Weak<Shared>,
    generation: u64,
}

impl Listener for Current {
    fn state(&self, _opened: ConnectionState) {
        if let Some(shared) = live(&self.shared, self.generation) {
            shared.alive();
            let mut budget = shared.budget.get();
            budget.reset();
            shared.budget.set(budget);
            shared.after_shutdown.set(false);
            shared.handlers.listener.state(ConnectionState::Open);
        }
    }

    fn message(&self, event: &Event) {
        if let Some(shared) = live(&self.shared, self.generation) {
            shared.alive();
            if event.event_type == SHUTDOWN_EVENT {
                shared.after_shutdown.set(true);
            }
            shared.last_event_id.borrow_mut().clone_from(&event.last_event_id);
            shared.handlers.listener.message(event);
        }
    }

    fn error(&self, state: ConnectionState, error: EventSourceError) {
        if let Some(shared) = live(&self.shared, self.generation) {
            if state == ConnectionState::Closed {
                gave_up(&shared);
            } else {
                shared.handlers.listener.error(state, error);
            }
        }
    }

    // The browser's connection never gives up on its own (`gave_up` decides that), nor schedules anything.
    fn failed(&self) {}

    fn reconnect_at(&self, _: Option<f64>) {}
}

/// The browser failed the current connection: retry after a backoff while the budget lasts, else give up.
///
/// The failed `EventSource` is left in place (it is closed already, and this may run inside its own `error`
/// handler); the next [`connect`] or the hook's close drops it.
fn gave_up(shared: &Rc<Shared>) {
    // The failed connection shows no more life; its stall detection must not cut the backoff short.
    drop(shared.stall_timer.borrow_mut().take());
    let mut budget = shared.budget.get();
    let retries = budget.used;
    if shared.after_shutdown.get() {
        // A restart the server announced: retry until it is back (the backoff still grows), spending no budget.
        budget.used = budget.used.saturating_add(1);
    } else if !budget.try_retry() {
        shared.budget.set(budget);
        // No handler of this connection acts again.
        shared.generation.set(shared.generation.get().wrapping_add(1));
        shared.handlers.listener.error(ConnectionState::Closed, EventSourceError::ConnectionFailed);
        shared.handlers.listener.failed();
        return;
    }
    shared.budget.set(budget);
    let generation = shared.generation.get();
    shared.handlers.listener.error(ConnectionState::Connecting, EventSourceError::Disconnected);
    // The handler may have closed the hook.
    if !shared.current(generation) {
        return;
    }
    schedule_reconnect(shared, retries);
}

/// Opens a new connection, with the last event id in its URL, after the backoff of retry `retries`.
fn schedule_reconnect(shared: &Rc<Shared>, retries: u32) {
    let generation = shared.generation.get();
    let wait = shared.options.backoff.delay(retries, js_sys::Math::random());
    let millis = timer_millis(wait);
    let weak = Rc::downgrade(shared);
    let timer = Timeout::new(millis, move || {
        let Some(shared) = live(&weak, generation) else { return };
        shared.handlers.listener.reconnect_at(None);
        // The handler may have closed the hook.
        if !shared.current(generation) {
            return;
        }
        let last_event_id = shared.last_event_id.borrow().clone();
        let url = if last_event_id.is_empty() {
            shared.url.clone()
        } else {
            with_query_param(&shared.url, &shared.options.last_event_id_param, &last_event_id)
        };
        if connect(&shared, &url).is_err() {
            // The browser refused the new URL: count it as a failed attempt.
            gave_up(&shared);
        }
    });
    // Replacing an earlier timer (it has fired: this runs in its connection's handler) clears nothing live.
    shared.timer.replace(Some(timer));
    shared.handlers.listener.reconnect_at(Some(js_sys::Date::now() + f64::from(millis)));
}

/// A wait as `setTimeout` milliseconds (which top out at 2^31 - 1).
fn timer_millis(wait: Duration) -> u32 {
    u32::try_from(wait.as_millis()).unwrap_or(u32::MAX).min(i32::MAX as u32)
}
