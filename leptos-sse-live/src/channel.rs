//! One connection, shared by every hook on the page that asks for the same URL with the same connection options.
//!
//! Browsers allow about 6 HTTP/1.1 connections per origin, across all tabs: ten components showing one stream must
//! not hold ten. A [`Channel`] owns the transport's connection (an `EventSource` or a fetch stream) and fans its
//! open, messages and errors out to its subscribers, one per hook. [`Subscription`]s count the references: dropping
//! the last one closes the connection and removes the channel from the page's registry. A hook that joins a running
//! channel gets its state, its error and its last message at once. With
//! [`UseEventSourceOptions::shared`](super::UseEventSourceOptions::shared)`(false)` a hook gets a channel of its own
//! that nobody else joins.
//!
//! What concerns the connection rather than one hook lives here too:
//! - `online`: when the browser says the network is back, a connection waiting to reconnect (or given up after its
//!   retry budget) is re-established at once, with a fresh budget and the last event id.
//! - `visibilitychange`: with a grace period ([`UseEventSourceOptions::close_when_hidden`](super::UseEventSourceOptions::close_when_hidden)),
//!   the connection of a page hidden for longer than that is closed (state `Closed`, no error) and reopened, with
//!   the last event id, when the page is visible again.
//!
//! Subscribers are called without any borrow held, so a subscriber may drop its own subscription (a terminal event,
//! `close()` from a callback) or the last one, which closes the connection from inside its own handler: the
//! transports guarantee that no handler of a dropped connection runs again.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::Duration;

use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use sse_live_protocol::wire::{EXPIRED_EVENT, RESET_EVENT, SHUTDOWN_EVENT};
use sse_live_protocol::Event;

#[cfg(feature = "fetch")]
use super::fetch;
#[cfg(feature = "fetch")]
use super::fetch_options::{Credentials, FetchOptions};
use super::options::{ExpiredCallback, Transport};
use super::reconnect::Backoff;
use super::{browser, native, ConnectionState, EventSourceError, Handlers, Listener, ReconnectLimit};

/// What makes two connections the same: everything that changes the requests or how they are retried. What each
/// hook does with the messages (decoder, history, callbacks, terminal event) is the hook's own.
#[derive(Clone)]
pub(super) struct ConnectionOptions {
    pub with_credentials: bool,
    pub transport: Transport,
    /// The event types delivered besides `message`, sorted and without duplicates.
    pub events: Vec<String>,
    pub reconnect_limit: ReconnectLimit,
    pub backoff: Backoff,
    pub last_event_id_param: String,
    pub stall_timeout: Option<Duration>,
    pub hidden_grace: Option<Duration>,
    /// `false`: a channel of its own, never joined by another hook.
    pub shared: bool,
    /// What to reconnect with after `event: expired`; none: nothing special.
    pub on_expired: Option<ExpiredCallback>,
    /// Shared with the other tabs of the browser (see `cross_tab`).
    #[cfg(feature = "cross-tab")]
    pub across_tabs: bool,
}

impl ConnectionOptions {
    fn same_connection(&self, other: &Self) -> bool {
        let same_transport = match (&self.transport, &other.transport) {
            (Transport::EventSource, Transport::EventSource) => true,
            // The headers closure cannot be compared: the same `FetchOptions` (cloned) shares, another does not.
            #[cfg(feature = "fetch")]
            (Transport::Fetch(a), Transport::Fetch(b)) => {
                a.method == b.method
                    && a.body == b.body
                    && a.credentials == b.credentials
                    && Arc::ptr_eq(&a.headers, &b.headers)
            }
            #[cfg(feature = "fetch")]
            _ => false,
        };
        let same_renewal = match (&self.on_expired, &other.on_expired) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        same_transport
            && same_renewal
            && self.shared
            && other.shared
            && self.with_credentials == other.with_credentials
            && self.events == other.events
            && self.reconnect_limit == other.reconnect_limit
            && self.backoff == other.backoff
            && self.last_event_id_param == other.last_event_id_param
            && self.stall_timeout == other.stall_timeout
            && self.hidden_grace == other.hidden_grace
            && self.same_tabs(other)
    }

    #[cfg(feature = "cross-tab")]
    fn same_tabs(&self, other: &Self) -> bool {
        self.across_tabs == other.across_tabs
    }

    #[cfg(not(feature = "cross-tab"))]
    fn same_tabs(&self, _: &Self) -> bool {
        true
    }
}

/// What a channel tells each hook subscribed to it: its state (`Open`, `Connecting` when reopened, `Closed` while
/// hidden), its errors, its messages in stream order, a spent retry budget, and when the next reconnect of the
/// hook's own is due.
pub(super) type Subscriber = Box<dyn Listener>;

struct Entry {
    subscriber: Subscriber,
    live: Cell<bool>,
    /// The number of the last event handed to this subscriber (see [`Channel::count`]).
    seen: Cell<u64>,
}

/// Where a hook left a channel: which one, and the number of the last event it was handed there.
pub(super) struct Position {
    channel: Weak<Channel>,
    seen: u64,
}

/// A hook's share of a channel; dropping it unsubscribes, and the last one closes the connection.
pub(super) struct Subscription {
    channel: Rc<Channel>,
    entry: Rc<Entry>,
}

impl Subscription {
    /// Where this hook is in its channel, to pick up from there if it rejoins it.
    pub(super) fn position(&self) -> Position {
        Position { channel: Rc::downgrade(&self.channel), seen: self.entry.seen.get() }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.entry.live.set(false);
        let empty = {
            let mut entries = self.channel.entries.borrow_mut();
            entries.retain(|entry| !Rc::ptr_eq(entry, &self.entry));
            entries.is_empty()
        };
        if empty {
            self.channel.shut_down();
        }
    }
}

/// The connection a channel holds; it is only ever dropped, which closes it.
pub(crate) enum Active {
    EventSource {
        _connection: native::Native,
    },
    #[cfg(feature = "fetch")]
    Fetch {
        _connection: fetch::Connection,
    },
    /// A share of the connection of whichever tab leads (feature `cross-tab`).
    #[cfg(feature = "cross-tab")]
    CrossTab {
        _connection: super::cross_tab::Connection,
    },
}

pub(super) struct Channel {
    /// The URL the hooks asked for: what hooks share by.
    url: String,
    /// The URL connections open: `url`, or the one an `on_expired` renewal gave.
    connect_url: RefCell<String>,
    /// Fetch transport: the headers an `on_expired` renewal gave, sent instead of the options' from then on.
    renewed_headers: RefCell<Option<Vec<(String, String)>>>,
    options: ConnectionOptions,
    connection: RefCell<Option<Active>>,
    entries: RefCell<Vec<Rc<Entry>>>,
    state: Cell<ConnectionState>,
    error: RefCell<Option<EventSourceError>>,
    last_message: RefCell<Option<Event>>,
    /// How many events the connection has delivered: the number of the last one.
    count: Cell<u64>,
    /// The last [`REPLAY_LIMIT`] events with their numbers, oldest first, for a hook that rejoins.
    recent: RefCell<VecDeque<(u64, Event)>>,
    last_event_id: RefCell<String>,
    reconnect_at: Cell<Option<f64>>,
    /// The connection is down and waiting to be re-established, or gave up after its budget: `online` reopens it.
    interrupted: Cell<bool>,
    /// Closed because the page was hidden past the grace period; reopened when it is visible.
    paused: Cell<bool>,
    hide_timer: RefCell<Option<Timeout>>,
    listeners: RefCell<Vec<EventListener>>,
}

thread_local! {
    /// The shared channels open on this page.
    static CHANNELS: RefCell<Vec<Weak<Channel>>> = const { RefCell::new(Vec::new()) };
}

/// How many of its last messages a channel keeps for a hook that rejoins it (`open()` after `close()` while another
/// hook held the connection).
const REPLAY_LIMIT: usize = 256;

/// Subscribes to the channel for `url` and `options`: the page's running one when there is one (restarted if it
/// has closed), otherwise a new one whose first request resumes after `resume_from` (when not empty).
///
/// A hook rejoining a running channel (reopening after `close()`) is handed the events it missed, each once, from
/// the channel's last [`REPLAY_LIMIT`]: after its `position` when it left this very channel, else after the last
/// message with id `resume_from`; when they no longer reach back that far, an [`EventSourceError::Missed`] then the
/// last message. A hook new to the URL gets the last message.
///
/// Errors when a new connection cannot be created: the browser refuses the URL
/// ([`EventSourceError::InvalidUrl`]), or it has no `EventSource` and the `fetch` feature is off
/// ([`EventSourceError::Unsupported`]).
pub(super) fn subscribe(
    url: &str,
    options: ConnectionOptions,
    resume_from: &str,
    position: Option<Position>,
    subscriber: Subscriber,
) -> Result<Subscription, EventSourceError> {
    let mut joined = true;
    let channel = match running(url, &options) {
        Some(channel) => {
            if channel.state.get() == ConnectionState::Closed && !channel.paused.get() {
                channel.reopen();
            }
            channel
        }
        None => {
            joined = false;
            let channel = Channel::new(url, options, resume_from);
            channel.open()?;
            channel.watch_page();
            if channel.options.shared {
                CHANNELS.with_borrow_mut(|channels| channels.push(Rc::downgrade(&channel)));
            }
            channel
        }
    };
    let entry = Rc::new(Entry { subscriber, live: Cell::new(true), seen: Cell::new(0) });
    channel.entries.borrow_mut().push(entry.clone());
    // Bring the newcomer up to date (nothing borrowed while it runs).
    let state = channel.state.get();
    let error = channel.error.borrow().clone();
    match error {
        Some(error) => entry.subscriber.error(state, error),
        None => entry.subscriber.state(state),
    }
    if let Some(at) = channel.reconnect_at.get() {
        entry.subscriber.reconnect_at(Some(at));
    }
    let left_here = position.filter(|position| Weak::ptr_eq(&position.channel, &Rc::downgrade(&channel)));
    let missed = match left_here {
        _ if !joined => None,
        Some(position) => Some(channel.after(position.seen)),
        None if !resume_from.is_empty() => Some(channel.since(resume_from)),
        None => None,
    };
    match missed {
        Some(Some(events)) => {
            for (number, event) in &events {
                if !entry.live.get() {
                    break;
                }
                entry.seen.set(*number);
                entry.subscriber.message(event);
            }
        }
        Some(None) | None => {
            if missed.is_some() && entry.live.get() {
                let error = EventSourceError::Missed { since: resume_from.to_owned() };
                entry.subscriber.error(channel.state.get(), error);
            }
            entry.seen.set(channel.count.get());
            let last_message = channel.last_message.borrow().clone();
            if let Some(message) = last_message.filter(|_| entry.live.get()) {
                entry.subscriber.message(&message);
            }
        }
    }
    Ok(Subscription { channel, entry })
}

fn running(url: &str, options: &ConnectionOptions) -> Option<Rc<Channel>> {
    if !options.shared {
        return None;
    }
    CHANNELS.with_borrow(|channels| {
        channels
            .iter()
            .filter_map(Weak::upgrade)
            .find(|channel| channel.url == url && channel.options.same_connection(options))
    })
}

impl Channel {
    fn new(url: &str, options: ConnectionOptions, resume_from: &str) -> Rc<Self> {
        Rc::new(Self {
            url: url.to_owned(),
            connect_url: RefCell::new(url.to_owned()),
            renewed_headers: RefCell::new(None),
            options,
            connection: RefCell::new(None),
            entries: RefCell::new(Vec::new()),
            state: Cell::new(ConnectionState::Connecting),
            error: RefCell::new(None),
            last_message: RefCell::new(None),
            count: Cell::new(0),
            recent: RefCell::new(VecDeque::new()),
            last_event_id: RefCell::new(resume_from.to_owned()),
            reconnect_at: Cell::new(None),
            interrupted: Cell::new(false),
            paused: Cell::new(false),
            hide_timer: RefCell::new(None),
            listeners: RefCell::new(Vec::new()),
        })
    }

    /// The events after number `seen`, oldest first; `None` when the events kept no longer reach back to it.
    fn after(&self, seen: u64) -> Option<Vec<(u64, Event)>> {
        let recent = self.recent.borrow();
        let oldest = recent.front().map_or(self.count.get().wrapping_add(1), |(number, _)| *number);
        (oldest <= seen.wrapping_add(1)).then(|| recent.iter().filter(|(number, _)| *number > seen).cloned().collect())
    }

    /// The events (notices too) after the last message with id `id`, oldest first; `None` when the events kept no
    /// longer reach back to it.
    fn since(&self, id: &str) -> Option<Vec<(u64, Event)>> {
        let recent = self.recent.borrow();
        // A notice carries the id of the message before it: the hook has not seen it.
        match recent.iter().rposition(|(_, event)| event.last_event_id == id && !is_notice(&event.event_type)) {
            Some(last_seen) => Some(recent.iter().skip(last_seen + 1).cloned().collect()),
            None => (*self.last_event_id.borrow() == id).then(Vec::new),
        }
    }

    /// Opens a connection through the transport, resuming after the last event id (or joins the other tabs').
    fn open(self: &Rc<Self>) -> Result<(), EventSourceError> {
        let resume_from = self.last_event_id.borrow().clone();
        let handlers = self.handlers();
        // The URL, or the headers, an `event: expired` renewal gave; the hook's own until then.
        let url = self.connect_url.borrow().clone();
        let renewed_headers = self.renewed_headers.borrow().clone();
        // Headers renewed in this tab are this tab's alone: its connection is its own from then on.
        #[cfg(feature = "cross-tab")]
        let handlers = if renewed_headers.is_some() {
            handlers
        } else {
            match super::cross_tab::Connection::open(&url, &self.options, &resume_from, handlers) {
                Ok(connection) => {
                    self.connection.replace(Some(Active::CrossTab { _connection: connection }));
                    return Ok(());
                }
                // The option is off, or the browser lacks `BroadcastChannel` or Web Locks: a connection of its own.
                Err(handlers) => handlers,
            }
        };
        let connection = Self::connect(&url, &self.options, resume_from, renewed_headers, handlers)?;
        self.connection.replace(Some(connection));
        Ok(())
    }

    /// Opens a connection to `url` through the transport, resuming after `resume_from`, with `renewed_headers` in
    /// place of the fetch transport's own when given. A browser without `EventSource` gets the fetch transport
    /// instead (same credentials), when the `fetch` feature is on.
    pub(crate) fn connect(
        url: &str,
        options: &ConnectionOptions,
        resume_from: String,
        renewed_headers: Option<Vec<(String, String)>>,
        handlers: Handlers,
    ) -> Result<Active, EventSourceError> {
        let limit = options.reconnect_limit.as_option();
        let refused = |message: String| EventSourceError::InvalidUrl { url: url.to_owned(), message };
        #[cfg(feature = "fetch")]
        {
            let fetch_options = match &options.transport {
                Transport::Fetch(fetch_options) => Some(fetch_options.clone()),
                Transport::EventSource if browser::has_event_source() => None,
                // `withCredentials: false` is the `same-origin` credentials mode of fetch.
                Transport::EventSource if options.with_credentials => {
                    Some(FetchOptions::default().credentials(Credentials::Include))
                }
                Transport::EventSource => Some(FetchOptions::default()),
            };
            if let Some(mut fetch_options) = fetch_options {
                if let Some(headers) = renewed_headers {
                    fetch_options = fetch_options.headers(move || headers.clone());
                }
                let policy = fetch::Policy {
                    events: options.events.clone(),
                    stall_timeout: options.stall_timeout,
                    backoff: options.backoff,
                    limit,
                    resume_from,
                };
                let connection = fetch::Connection::open(url, fetch_options, policy, handlers).map_err(refused)?;
                return Ok(Active::Fetch { _connection: connection });
            }
        }
        #[cfg(not(feature = "fetch"))]
        let _ = renewed_headers;
        #[cfg(not(feature = "fetch"))]
        if !browser::has_event_source() {
            return Err(EventSourceError::Unsupported);
        }
        let native = native::NativeOptions {
            with_credentials: options.with_credentials,
            events: options.events.clone(),
            backoff: options.backoff,
            limit,
            last_event_id_param: options.last_event_id_param.clone(),
            stall_timeout: options.stall_timeout,
            resume_from,
        };
        let connection = native::Native::open(url, native, handlers).map_err(refused)?;
        Ok(Active::EventSource { _connection: connection })
    }

    /// The transport's handlers for one connection; they hold the channel weakly.
    fn handlers(self: &Rc<Self>) -> Handlers {
        Handlers { listener: Rc::new(Feed(Rc::downgrade(self))), activity: Rc::default() }
    }

    fn set_reconnect_at(&self, at: Option<f64>) {
        self.reconnect_at.set(at);
        self.each(|subscriber| subscriber.reconnect_at(at));
    }

    fn set_state(&self, state: ConnectionState) {
        self.state.set(state);
        self.each(|subscriber| subscriber.state(state));
    }

    /// Calls every live subscriber, in subscription order, with nothing borrowed (on a snapshot of the list, so
    /// that a subscriber may leave or join from its callback).
    fn each(&self, call: impl Fn(&Subscriber)) {
        self.each_entry(|entry| call(&entry.subscriber));
    }

    /// [`Self::each`], with each subscriber's entry (its place in the connection).
    fn each_entry(&self, call: impl Fn(&Entry)) {
        let entries = self.entries.borrow();
        // One subscriber (the usual case, and every message of a burst): no snapshot to allocate.
        if let [only] = &entries[..] {
            let only = only.clone();
            drop(entries);
            if only.live.get() {
                call(&only);
            }
            return;
        }
        let snapshot = entries.clone();
        // The borrow ends before any subscriber runs (one may leave, borrowing the list mutably).
        drop(entries);
        for entry in snapshot {
            if entry.live.get() {
                call(&entry);
            }
        }
    }

    /// Closes the current connection (none of its handlers runs again) and opens a new one with a fresh budget,
    /// resuming after the last event id.
    fn reopen(self: &Rc<Self>) {
        drop(self.connection.borrow_mut().take());
        self.interrupted.set(false);
        self.paused.set(false);
        self.set_reconnect_at(None);
        self.set_state(ConnectionState::Connecting);
        if let Err(error) = self.open() {
            self.state.set(ConnectionState::Closed);
            self.error.replace(Some(error.clone()));
            self.each(|subscriber| subscriber.error(ConnectionState::Closed, error.clone()));
        }
    }

    /// The server said the credentials expired: with an `on_expired` callback, reconnect at once (resuming after the
    /// last event id) with what it returns, before the transport reconnects with the stale ones.
    fn renew(self: &Rc<Self>) {
        let Some(on_expired) = self.options.on_expired.clone() else { return };
        // Nothing is borrowed while the app's callback runs.
        let renewal = on_expired();
        if let Some(url) = renewal.url {
            self.connect_url.replace(url);
        }
        if let Some(headers) = renewal.headers {
            self.renewed_headers.replace(Some(headers));
        }
        // A subscriber may have left (the last one closes the channel) while the notice was handed out.
        if !self.entries.borrow().is_empty() {
            self.reopen();
        }
    }

    /// The last subscriber left: close everything and leave the registry.
    fn shut_down(&self) {
        CHANNELS.with_borrow_mut(|channels| {
            channels.retain(|channel| channel.strong_count() > 0 && !std::ptr::eq(channel.as_ptr(), self))
        });
        drop(self.hide_timer.borrow_mut().take());
        drop(self.connection.borrow_mut().take());
        // Taken out first: dropping a listener may run from inside its own callback.
        let listeners = std::mem::take(&mut *self.listeners.borrow_mut());
        drop(listeners);
    }

    /// Listens to `online` and, with a grace period, to `visibilitychange`.
    fn watch_page(self: &Rc<Self>) {
        let Some(window) = web_sys::window() else { return };
        let weak = Rc::downgrade(self);
        let online = EventListener::new(&window, "online", move |_| {
            if let Some(channel) = weak.upgrade() {
                channel.network_back();
            }
        });
        self.listeners.borrow_mut().push(online);
        if self.options.hidden_grace.is_none() {
            return;
        }
        let Some(document) = window.document() else { return };
        let weak = Rc::downgrade(self);
        let visibility = EventListener::new(&document, "visibilitychange", move |_| {
            if let Some(channel) = weak.upgrade() {
                channel.visibility_changed();
            }
        });
        self.listeners.borrow_mut().push(visibility);
        self.visibility_changed();
    }

    fn network_back(self: &Rc<Self>) {
        if self.interrupted.get() && !self.paused.get() {
            self.reopen();
        }
    }

    fn visibility_changed(self: &Rc<Self>) {
        let Some(grace) = self.options.hidden_grace else { return };
        if page_hidden() {
            if self.paused.get() || self.hide_timer.borrow().is_some() {
                return;
            }
            let weak = Rc::downgrade(self);
            let millis = u32::try_from(grace.as_millis()).unwrap_or(u32::MAX).min(i32::MAX as u32);
            let timer = Timeout::new(millis, move || {
                if let Some(channel) = weak.upgrade() {
                    // Left in place until the page is visible or the channel closes: this callback is running it.
                    if page_hidden() && !channel.paused.get() {
                        channel.pause();
                    }
                }
            });
            self.hide_timer.replace(Some(timer));
        } else {
            drop(self.hide_timer.borrow_mut().take());
            if self.paused.get() {
                self.reopen();
            }
        }
    }

    /// Closes the connection while the page is hidden; the channel and its subscribers stay.
    fn pause(&self) {
        drop(self.connection.borrow_mut().take());
        self.paused.set(true);
        self.interrupted.set(false);
        self.set_reconnect_at(None);
        self.set_state(ConnectionState::Closed);
    }
}

/// What a channel's transport reports to it, holding it weakly.
struct Feed(Weak<Channel>);

impl Listener for Feed {
    fn state(&self, state: ConnectionState) {
        if let Some(channel) = self.0.upgrade() {
            channel.interrupted.set(false);
            // A hook that joins later must not see an error of the connection's past next to `Open`.
            channel.error.replace(None);
            channel.set_state(state);
        }
    }

    fn message(&self, event: &Event) {
        if let Some(channel) = self.0.upgrade() {
            channel.last_event_id.borrow_mut().clone_from(&event.last_event_id);
            let number = channel.count.get().wrapping_add(1);
            channel.count.set(number);
            {
                // Notices too: a hook that rejoins must see a reset it missed. Once full, the oldest entry's buffers
                // take the copy: no allocation per message.
                let mut recent = channel.recent.borrow_mut();
                let kept = match recent.len() {
                    REPLAY_LIMIT => recent.pop_front().map(|(_, mut oldest)| {
                        oldest.clone_from(event);
                        oldest
                    }),
                    _ => None,
                };
                recent.push_back((number, kept.unwrap_or_else(|| event.clone())));
            }
            channel.each_entry(|entry| {
                entry.seen.set(number);
                entry.subscriber.message(event);
            });
            if event.event_type == EXPIRED_EVENT {
                channel.renew();
            } else if !is_notice(&event.event_type) {
                let mut last_message = channel.last_message.borrow_mut();
                match &mut *last_message {
                    Some(last) => last.clone_from(event),
                    none => *none = Some(event.clone()),
                }
            }
        }
    }

    fn error(&self, state: ConnectionState, error: EventSourceError) {
        if let Some(channel) = self.0.upgrade() {
            channel.interrupted.set(state == ConnectionState::Connecting);
            channel.state.set(state);
            channel.error.replace(Some(error.clone()));
            channel.each(|subscriber| subscriber.error(state, error.clone()));
        }
    }

    fn failed(&self) {
        if let Some(channel) = self.0.upgrade() {
            channel.interrupted.set(true);
            channel.each(|subscriber| subscriber.failed());
        }
    }

    fn reconnect_at(&self, at: Option<f64>) {
        if let Some(channel) = self.0.upgrade() {
            channel.set_reconnect_at(at);
        }
    }
}

/// Whether `event_type` is one of the server's notices (reset, shutdown, expired), which the hook always listens to.
pub(super) fn is_notice(event_type: &str) -> bool {
    [RESET_EVENT, SHUTDOWN_EVENT, EXPIRED_EVENT].contains(&event_type)
}

fn page_hidden() -> bool {
    web_sys::window()
        .and_then(|window| window.document())
        .is_some_and(|document| document.visibility_state() == web_sys::VisibilityState::Hidden)
}
