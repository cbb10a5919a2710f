//! One connection per browser, not per tab (feature `cross-tab`,
//! [`UseEventSourceOptions::share_across_tabs`](super::UseEventSourceOptions::share_across_tabs)).
//!
//! A page's [`Channel`](super::channel) already shares one connection between its hooks. With this option its
//! connection is a [`Connection`] of this module instead, which shares it with the channels of the other tabs of the
//! same origin that ask for the same [key](key):
//!
//! - Election: every interested tab asks the Web Locks API for the key's lock (`navigator.locks.request`); the
//!   holder, the leader, keeps it with a promise that never resolves until it loses interest (its channel closes,
//!   pauses or reopens) or the page goes away (`pagehide`: a page kept in the back-forward cache lets go too, and
//!   joins again on `pageshow`), when the browser gives it to the next tab in line. A tab that no
//!   longer wants the stream withdraws its request (`AbortSignal`). Waiting in line is a tab's interest: the
//!   connection ends when nobody is in line.
//! - The leader opens the transport's connection (resuming after the last event id it has seen) and posts on a
//!   `BroadcastChannel` named after the key what its channel hears: the opening, each message raw (type, data, id),
//!   errors with their state, the give-up, the reconnect time. Followers hand them to their own channel, which
//!   decodes them for its hooks as it would its own connection's.
//! - A follower says `hello` with the last event id it has (none for a new tab) until a leader answers with a
//!   `welcome`: its state and the events it holds after that id (the last [`CATCH_UP`]), so a new tab starts with
//!   what the stream has delivered so far; when the leader no longer holds that id, the welcome says so, and the
//!   tab reports [`EventSourceError::Missed`] before those events. Live events before the welcome are dropped: the welcome has them.
//! - A new leader announces itself (`lead`) and resumes after its own last event id. Every tab, the new leader
//!   included, then drops the events at the head of the new stream that it already has (by id, against the events
//!   it keeps): a tab that had heard one more event from the old leader than the new one does not see it twice, and
//!   since the old leader's messages are delivered to every tab even after it is gone, nobody misses one.
//!
//! Without `BroadcastChannel` or `navigator.locks` (or when either refuses), [`Connection::open`] hands the handlers
//! back and the channel opens a connection of its own, as without the option.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use js_sys::{Array, Function, Object, Promise, Reflect};
use sse_live_protocol::Event;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortController, BroadcastChannel, MessageEvent};

use super::channel::{self, Active, ConnectionOptions};
use super::options::Transport;
use super::{ConnectionState, EventSourceError, Handlers, Listener};

/// How many events each tab keeps: what a new tab is sent when it joins, and what a new leader's first events are
/// checked against.
pub(crate) const CATCH_UP: usize = 1000;

/// How often a follower repeats its `hello` until a leader answers.
const HELLO_EVERY_MS: u32 = 500;

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks` (web-sys has it behind its unstable APIs only).
    type LockManager;

    /// `navigator.locks.request(name, options, callback)`.
    #[wasm_bindgen(method, catch)]
    fn request(this: &LockManager, name: &str, options: &Object, callback: &Function) -> Result<Promise, JsValue>;
}

thread_local! {
    /// How many connections this tab leads (shown on `<html data-sse-live-leading>`).
    static LEADING: Cell<u32> = const { Cell::new(0) };
}

/// One tab's share of a connection held by whichever tab leads its key; dropping it withdraws this tab.
pub(crate) struct Connection {
    inner: Rc<Inner>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.inner.shut_down();
    }
}

struct Inner {
    key: String,
    url: String,
    options: ConnectionOptions,
    /// This tab's id in the messages (random).
    tab: String,
    /// The channel's handlers: what this tab's hooks get.
    handlers: Handlers,
    broadcast: BroadcastChannel,
    listener: RefCell<Option<EventListener>>,
    /// `pagehide` and `pageshow` on the window.
    page: RefCell<Vec<EventListener>>,
    /// Withdraws the lock request while it waits.
    abort: RefCell<AbortController>,
    /// Counts the lock requests: the callback of an older one (withdrawn too late) gives its lock back.
    request: Cell<u32>,
    /// The page is hidden for good or kept in the back-forward cache: it let go of everything until `pageshow`.
    suspended: Cell<bool>,
    /// Resolves the promise that holds the lock (set while this tab holds it).
    release: RefCell<Option<Function>>,
    /// This tab holds the lock.
    leading: Cell<bool>,
    /// The leader's own connection.
    transport: RefCell<Option<Active>>,
    hello: RefCell<Option<Interval>>,
    last_event_id: RefCell<String>,
    /// The last [`CATCH_UP`] events this tab delivered, oldest first.
    kept: RefCell<VecDeque<Event>>,
    state: Cell<ConnectionState>,
    error: RefCell<Option<EventSourceError>>,
    reconnect_at: Cell<Option<f64>>,
    /// The tab whose messages this one follows.
    leader: RefCell<String>,
    /// A leader answered this tab's `hello` (or this tab leads).
    welcomed: Cell<bool>,
    /// The leader changed: events this tab already has are dropped until the first new one.
    skipping: Cell<bool>,
    closed: Cell<bool>,
}

/// What the leader's own transport reports: each is told to the other tabs, then to this tab's channel.
struct Leader(Weak<Inner>);

impl Leader {
    fn with(&self, call: impl FnOnce(&Rc<Inner>)) {
        if let Some(inner) = self.0.upgrade().filter(|inner| !inner.closed.get()) {
            call(&inner);
        }
    }
}

impl Listener for Leader {
    fn state(&self, _opened: ConnectionState) {
        self.with(|inner| inner.opened(true));
    }

    fn message(&self, event: &Event) {
        self.with(|inner| {
            if inner.accept(event) {
                inner.post(&[
                    JsValue::from_str("event"),
                    JsValue::from_str(&inner.tab),
                    JsValue::from_str(&event.event_type),
                    JsValue::from_str(&event.data),
                    JsValue::from_str(&event.last_event_id),
                ]);
                inner.handlers.listener.message(event);
            }
        });
    }

    fn error(&self, state: ConnectionState, error: EventSourceError) {
        self.with(|inner| inner.errored(state, error, true));
    }

    fn failed(&self) {
        self.with(|inner| inner.gave_up(true));
    }

    fn reconnect_at(&self, at: Option<f64>) {
        self.with(|inner| inner.scheduled(at, true));
    }
}

impl Connection {
    /// Joins the tabs sharing `url` with `options`, or hands `handlers` back when the option is off or the browser
    /// lacks what it needs (then the channel connects by itself).
    pub(crate) fn open(
        url: &str,
        options: &ConnectionOptions,
        resume_from: &str,
        handlers: Handlers,
    ) -> Result<Self, Handlers> {
        if !options.across_tabs || !has_global("BroadcastChannel") {
            return Err(handlers);
        }
        let Some(locks) = lock_manager() else { return Err(handlers) };
        let key = key(url, options);
        let (Ok(broadcast), Ok(abort)) = (BroadcastChannel::new(&key), AbortController::new()) else {
            return Err(handlers);
        };
        let inner = Rc::new(Inner {
            key,
            url: url.to_owned(),
            options: options.clone(),
            tab: {
                let mut tab = String::new();
                hex(&mut tab, &((js_sys::Math::random() * 2f64.powi(52)) as u64).to_le_bytes());
                tab
            },
            handlers,
            broadcast,
            listener: RefCell::new(None),
            page: RefCell::new(Vec::new()),
            abort: RefCell::new(abort),
            request: Cell::new(0),
            suspended: Cell::new(false),
            release: RefCell::new(None),
            leading: Cell::new(false),
            transport: RefCell::new(None),
            hello: RefCell::new(None),
            last_event_id: RefCell::new(resume_from.to_owned()),
            kept: RefCell::new(VecDeque::new()),
            state: Cell::new(ConnectionState::Connecting),
            error: RefCell::new(None),
            reconnect_at: Cell::new(None),
            leader: RefCell::new(String::new()),
            welcomed: Cell::new(false),
            skipping: Cell::new(false),
            closed: Cell::new(false),
        });
        if inner.request_lock(&locks).is_err() {
            inner.broadcast.close();
            // Nothing else holds it yet: the handlers go back to the channel.
            return match Rc::try_unwrap(inner) {
                Ok(inner) => Err(inner.handlers),
                Err(inner) => Ok(Self { inner }),
            };
        }
        let weak = Rc::downgrade(&inner);
        let listener = EventListener::new(&inner.broadcast, "message", move |event| {
            if let Some(inner) = weak.upgrade() {
                if let Some(event) = event.dyn_ref::<MessageEvent>() {
                    inner.received(&event.data());
                }
            }
        });
        inner.listener.replace(Some(listener));
        // A page that goes away lets go at once: one kept in the back-forward cache would otherwise hold the lock
        // (and the connection) while frozen. Restored from there, it joins again.
        if let Some(window) = web_sys::window() {
            let weak = Rc::downgrade(&inner);
            let hide = EventListener::new(&window, "pagehide", move |_| {
                if let Some(inner) = weak.upgrade() {
                    inner.suspend();
                }
            });
            let weak = Rc::downgrade(&inner);
            let show = EventListener::new(&window, "pageshow", move |event| {
                let persisted = Reflect::get(event, &JsValue::from_str("persisted")).ok().and_then(|p| p.as_bool());
                if let Some(inner) = weak.upgrade().filter(|_| persisted == Some(true)) {
                    inner.resume();
                }
            });
            inner.page.replace(vec![hide, show]);
        }
        inner.say_hello();
        inner.keep_saying_hello();
        Ok(Self { inner })
    }
}

impl Inner {
    /// Repeats `hello` until a leader answers.
    fn keep_saying_hello(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let hello = Interval::new(HELLO_EVERY_MS, move || {
            if let Some(inner) = weak.upgrade() {
                if !inner.welcomed.get() && !inner.closed.get() && !inner.suspended.get() {
                    inner.say_hello();
                }
            }
        });
        self.hello.replace(Some(hello));
    }

    /// Asks for the key's lock; the callback runs when this tab's turn comes (or never, when withdrawn first).
    fn request_lock(self: &Rc<Self>, locks: &LockManager) -> Result<(), JsValue> {
        let weak = Rc::downgrade(self);
        let request = self.request.get().wrapping_add(1);
        self.request.set(request);
        let callback = Closure::<dyn FnMut(JsValue) -> Promise>::new(move |_lock: JsValue| {
            let current =
                |inner: &Rc<Self>| !inner.closed.get() && !inner.suspended.get() && inner.request.get() == request;
            match weak.upgrade().filter(current) {
                Some(inner) => inner.granted(),
                // Gone meanwhile: give the lock back at once.
                None => Promise::resolve(&JsValue::UNDEFINED),
            }
        });
        let options = Object::new();
        Reflect::set(&options, &JsValue::from_str("signal"), &self.abort.borrow().signal())?;
        let request = locks.request(&self.key, &options, callback.as_ref().unchecked_ref())?;
        // The callback lives until the request settles: released after holding it, or withdrawn before (the
        // rejection is handled here, so it is no unhandled rejection in the console).
        let settled = Closure::once_into_js(move |_: JsValue| drop(callback));
        let then: Function = Reflect::get(&request, &JsValue::from_str("then"))?.unchecked_into();
        then.call2(&request, &settled, &settled)?;
        Ok(())
    }

    /// This tab's turn: it leads until it lets go. Returns the promise that holds the lock.
    fn granted(self: &Rc<Self>) -> Promise {
        let mut release = None;
        let held = Promise::new(&mut |resolve, _reject| release = Some(resolve));
        self.release.replace(release);
        self.leading.set(true);
        self.lead();
        held
    }

    /// Opens the connection, resuming after the last event id this tab has seen, and tells the others.
    fn lead(self: &Rc<Self>) {
        drop(self.hello.borrow_mut().take());
        self.leader.replace(self.tab.clone());
        self.welcomed.set(true);
        self.skipping.set(true);
        set_leading(1);
        self.post(&[JsValue::from_str("lead"), JsValue::from_str(&self.tab)]);
        self.connect();
    }

    /// Opens (or replaces) the leader's connection, resuming after the last event id this tab has seen.
    fn connect(self: &Rc<Self>) {
        drop(self.transport.borrow_mut().take());
        self.skipping.set(true);
        let resume_from = self.last_event_id.borrow().clone();
        match channel::Channel::connect(&self.url, &self.options, resume_from, None, self.leader_handlers()) {
            Ok(active) if !self.closed.get() => {
                self.transport.replace(Some(active));
            }
            // Shut down from a handler meanwhile: the connection goes at once.
            Ok(active) => drop(active),
            Err(error) => self.errored(ConnectionState::Closed, error, true),
        }
    }

    /// The leader's transport handlers: each tells the other tabs, then this tab's channel.
    fn leader_handlers(self: &Rc<Self>) -> Handlers {
        Handlers { listener: Rc::new(Leader(Rc::downgrade(self))), activity: Rc::default() }
    }

    fn opened(&self, tell: bool) {
        self.state.set(ConnectionState::Open);
        self.error.replace(None);
        if tell {
            self.post(&[JsValue::from_str("open"), JsValue::from_str(&self.tab)]);
        }
        self.handlers.listener.state(ConnectionState::Open);
    }

    fn errored(&self, state: ConnectionState, error: EventSourceError, tell: bool) {
        self.state.set(state);
        self.error.replace(Some(error.clone()));
        if tell {
            let mut parts = vec![JsValue::from_str("error"), JsValue::from_str(&self.tab), state_value(state)];
            parts.extend(error_parts(&error));
            self.post(&parts);
        }
        self.handlers.listener.error(state, error);
    }

    fn gave_up(&self, tell: bool) {
        if tell {
            self.post(&[JsValue::from_str("failed"), JsValue::from_str(&self.tab)]);
        }
        self.handlers.listener.failed();
    }

    fn scheduled(&self, at: Option<f64>, tell: bool) {
        self.reconnect_at.set(at);
        if tell {
            self.post(&[
                JsValue::from_str("at"),
                JsValue::from_str(&self.tab),
                at.map_or(JsValue::NULL, JsValue::from),
            ]);
        }
        self.handlers.listener.reconnect_at(at);
    }

    /// Whether `event` is new to this tab (then it is kept, and its id is the last one): right after a change of
    /// leader, the head of the new stream may repeat events this tab has.
    fn accept(&self, event: &Event) -> bool {
        if self.skipping.get() {
            let id = &event.last_event_id;
            if !id.is_empty() && self.kept.borrow().iter().rev().any(|kept| kept.last_event_id == *id) {
                return false;
            }
            self.skipping.set(false);
        }
        self.last_event_id.replace(event.last_event_id.clone());
        let mut kept = self.kept.borrow_mut();
        if kept.len() == CATCH_UP {
            kept.pop_front();
        }
        kept.push_back(event.clone());
        true
    }

    fn say_hello(&self) {
        let last = self.last_event_id.borrow().clone();
        self.post(&[JsValue::from_str("hello"), JsValue::from_str(&self.tab), JsValue::from_str(&last)]);
    }

    /// Answers a `hello`: this tab's state and the events it keeps after `resume_from` (all of them when it is
    /// empty or too old).
    fn welcome(&self, to: &str, resume_from: &str) {
        let mut parts = vec![
            JsValue::from_str("welcome"),
            JsValue::from_str(&self.tab),
            JsValue::from_str(to),
            state_value(self.state.get()),
        ];
        match &*self.error.borrow() {
            Some(error) => parts.extend(error_parts(error)),
            None => parts.extend([JsValue::NULL, JsValue::NULL, JsValue::NULL]),
        }
        parts.push(self.reconnect_at.get().map_or(JsValue::NULL, JsValue::from));
        let kept = self.kept.borrow();
        // A tab whose last event id this tab no longer keeps (older than the last `CATCH_UP` events) gets all of them
        // and is told that it missed some: never a silent gap.
        let (start, missed) = match resume_from {
            "" => (0, false),
            id if *self.last_event_id.borrow() == id => (kept.len(), false),
            id => kept.iter().rposition(|event| event.last_event_id == id).map_or((0, true), |at| (at + 1, false)),
        };
        parts.push(JsValue::from_bool(missed));
        for event in kept.iter().skip(start) {
            parts.push(JsValue::from_str(&event.event_type));
            parts.push(JsValue::from_str(&event.data));
            parts.push(JsValue::from_str(&event.last_event_id));
        }
        drop(kept);
        self.post(&parts);
    }

    /// A message from another tab.
    fn received(self: &Rc<Self>, data: &JsValue) {
        if self.closed.get() || self.suspended.get() {
            return;
        }
        let Some(parts) = data.dyn_ref::<Array>() else { return };
        let text = |at: u32| parts.get(at).as_string().unwrap_or_default();
        let (kind, from) = (text(0), text(1));
        if kind == "hello" {
            if self.leading.get() {
                self.welcome(&from, &text(2));
                // A tab that (re)joins wants the stream: one given up for good is tried again, as its own
                // connection would be.
                if self.state.get() == ConnectionState::Closed && self.transport.borrow().is_some() {
                    self.connect();
                }
            }
            return;
        }
        // The rest comes from a leader; the leader ignores what an old one still had on its way.
        if self.leading.get() {
            return;
        }
        if *self.leader.borrow() != from {
            self.leader.replace(from);
            self.skipping.set(true);
            if kind == "lead" && !self.welcomed.get() {
                self.say_hello();
            }
        }
        match kind.as_str() {
            "welcome" if text(2) == self.tab && !self.welcomed.get() => {
                self.welcomed.set(true);
                drop(self.hello.borrow_mut().take());
                let state = state_from(&parts.get(3));
                match error_from(&parts.get(4), &parts.get(5), &parts.get(6)) {
                    Some(error) => self.errored(state, error, false),
                    None if state == ConnectionState::Open => self.opened(false),
                    None => {}
                }
                if let Some(at) = parts.get(7).as_f64() {
                    self.scheduled(Some(at), false);
                }
                // The leader no longer keeps this tab's last event id: what it keeps follows, after a gap.
                if parts.get(8).as_bool() == Some(true) {
                    let since = self.last_event_id.borrow().clone();
                    self.errored(state, EventSourceError::Missed { since }, false);
                }
                // What the leader had after this tab's last event id: no repeats to drop.
                self.skipping.set(false);
                let mut at = 9;
                while at + 2 < parts.length() && !self.closed.get() {
                    let event = Event { event_type: text(at), data: text(at + 1), last_event_id: text(at + 2) };
                    if self.accept(&event) {
                        self.handlers.listener.message(&event);
                    }
                    at += 3;
                }
            }
            "event" if self.welcomed.get() => {
                let event = Event { event_type: text(2), data: text(3), last_event_id: text(4) };
                if self.accept(&event) {
                    self.handlers.listener.message(&event);
                }
            }
            "open" => self.opened(false),
            "error" => {
                if let Some(error) = error_from(&parts.get(3), &parts.get(4), &parts.get(5)) {
                    self.errored(state_from(&parts.get(2)), error, false);
                }
            }
            "failed" => self.gave_up(false),
            "at" => self.scheduled(parts.get(2).as_f64(), false),
            _ => {}
        }
    }

    fn post(&self, parts: &[JsValue]) {
        let message: Array = parts.iter().collect();
        // Only fails once closed.
        let _ = self.broadcast.post_message(&message);
    }

    /// This tab no longer wants the stream: its connection closes (if it led) and the lock goes to the next tab.
    fn shut_down(&self) {
        if self.closed.replace(true) {
            return;
        }
        self.let_go();
        // Taken out first: this may run from inside the listener's own callback.
        let listener = self.listener.borrow_mut().take();
        drop(listener);
        let page = std::mem::take(&mut *self.page.borrow_mut());
        drop(page);
        self.broadcast.close();
    }

    /// The page goes away (`pagehide`): let go of the lock and the connection, keep the rest for `pageshow`.
    fn suspend(&self) {
        if !self.closed.get() && !self.suspended.replace(true) {
            self.let_go();
        }
    }

    /// The page is back from the back-forward cache: join again, resuming after the last event id it has.
    fn resume(self: &Rc<Self>) {
        if self.closed.get() || !self.suspended.replace(false) {
            return;
        }
        if let Ok(abort) = AbortController::new() {
            self.abort.replace(abort);
        }
        self.welcomed.set(false);
        self.leader.replace(String::new());
        if let Some(locks) = lock_manager() {
            let _ = self.request_lock(&locks);
        }
        self.say_hello();
        self.keep_saying_hello();
    }

    /// Closes the connection if this tab leads, and gives back or withdraws its lock request.
    fn let_go(&self) {
        drop(self.hello.borrow_mut().take());
        let transport = self.transport.borrow_mut().take();
        drop(transport);
        if self.leading.replace(false) {
            set_leading(-1);
        }
        self.abort.borrow().abort();
        if let Some(release) = self.release.borrow_mut().take() {
            let _ = release.call0(&JsValue::UNDEFINED);
        }
    }
}

/// `headers` with lower-case names, sorted (by name, then value), so that their order and the names' case do not
/// change the key. Sorted by inserting each in place, as `lib.rs` sorts the event types: a handful of headers, and
/// no sort code in the bundle (the unstable sort was 2.2 KB of the demo's .wasm).
#[cfg(feature = "fetch")]
fn sorted_headers(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut sorted: Vec<(String, String)> = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let header = (name.to_ascii_lowercase(), value);
        let (Ok(at) | Err(at)) = sorted.binary_search(&header);
        sorted.insert(at, header);
    }
    sorted
}

/// The name of the lock and of the `BroadcastChannel` for `url` with `options`: a 128-bit FNV-1a hash of the
/// absolute URL and of everything that shapes the requests (transport, method, body, credentials, the headers as
/// the closure returns them now, event types, reconnect and stall settings). Tabs share only when all of it is
/// equal; no header value appears in the name. Each field is hashed with its length first (no two different
/// sets of fields hash the same bytes), and nothing is formatted (no `Debug`: it would cost the app's size).
pub(crate) fn key(url: &str, options: &ConnectionOptions) -> String {
    let mut hash = Fnv::default();
    hash.field(absolute(url).as_bytes());
    hash.field(&[u8::from(options.with_credentials)]);
    hash.field(&(options.events.len() as u64).to_le_bytes());
    for event_type in &options.events {
        hash.field(event_type.as_bytes());
    }
    hash.field(&options.reconnect_limit.as_option().map_or(u64::MAX, u64::from).to_le_bytes());
    let backoff = &options.backoff;
    for duration in [Some(backoff.initial), Some(backoff.max), options.stall_timeout] {
        let nanos = duration.map_or(u128::MAX, |duration| duration.as_nanos());
        hash.field(&nanos.to_le_bytes());
    }
    hash.field(&backoff.factor.to_bits().to_le_bytes());
    hash.field(options.last_event_id_param.as_bytes());
    match &options.transport {
        Transport::EventSource => hash.field(b"EventSource"),
        #[cfg(feature = "fetch")]
        Transport::Fetch(fetch) => {
            use super::fetch_options::Credentials;
            hash.field(b"fetch");
            hash.field(fetch.method.as_bytes());
            match &fetch.body {
                Some(body) => hash.field(body.as_bytes()),
                None => hash.field(&[]),
            }
            let credentials = match fetch.credentials {
                Credentials::Omit => 0,
                Credentials::SameOrigin => 1,
                Credentials::Include => 2,
            };
            hash.field(&[credentials]);
            let headers = sorted_headers(fetch.header_values());
            hash.field(&(headers.len() as u64).to_le_bytes());
            for (name, value) in headers {
                hash.field(name.as_bytes());
                hash.field(value.as_bytes());
            }
        }
    }
    // The crate's version in the name: tabs of two versions of an app (one reloaded, one not) speak the messages of
    // their own version, which may differ (the welcome gained a field in 0.1.0's development), so they never share.
    let mut key = String::from(concat!("leptos-sse-live@", env!("CARGO_PKG_VERSION"), ":"));
    hex(&mut key, &hash.0.to_be_bytes());
    key
}

/// FNV-1a, 128 bits.
struct Fnv(u128);

impl Default for Fnv {
    fn default() -> Self {
        Self(0x6c62_272e_07bb_0142_62b8_2175_6295_c58d)
    }
}

impl Fnv {
    fn bytes(&mut self, bytes: &[u8]) {
        const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
        for byte in bytes {
            self.0 = (self.0 ^ u128::from(*byte)).wrapping_mul(PRIME);
        }
    }

    /// `bytes`, preceded by their length.
    fn field(&mut self, bytes: &[u8]) {
        self.bytes(&(bytes.len() as u64).to_le_bytes());
        self.bytes(bytes);
    }
}

/// Appends `bytes` in lower-case hexadecimal.
fn hex(to: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        to.push(char::from(DIGITS[usize::from(byte >> 4)]));
        to.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
}

/// `url` resolved against the document's base URL (a relative URL means another stream on another page).
fn absolute(url: &str) -> String {
    let resolved = (|| {
        let global = js_sys::global();
        let constructor: Function = Reflect::get(&global, &JsValue::from_str("URL")).ok()?.dyn_into().ok()?;
        let document = Reflect::get(&global, &JsValue::from_str("document")).ok()?;
        let base = Reflect::get(&document, &JsValue::from_str("baseURI")).ok()?;
        let parsed = Reflect::construct(&constructor, &Array::of2(&JsValue::from_str(url), &base)).ok()?;
        Reflect::get(&parsed, &JsValue::from_str("href")).ok()?.as_string()
    })();
    resolved.unwrap_or_else(|| url.to_owned())
}

fn has_global(name: &str) -> bool {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name)).is_ok_and(|value| value.is_function())
}

fn lock_manager() -> Option<LockManager> {
    let navigator = Reflect::get(&js_sys::global(), &JsValue::from_str("navigator")).ok()?;
    let locks = Reflect::get(&navigator, &JsValue::from_str("locks")).ok().filter(JsValue::is_object)?;
    Some(locks.unchecked_into())
}

/// Counts the connections this tab leads, on `<html data-sse-live-leading="N">` (for tests and debugging).
fn set_leading(change: i32) {
    let count = LEADING.with(|leading| {
        let count = leading.get().saturating_add_signed(change);
        leading.set(count);
        count
    });
    let _ = (|| {
        let document = Reflect::get(&js_sys::global(), &JsValue::from_str("document")).ok()?;
        let root = Reflect::get(&document, &JsValue::from_str("documentElement")).ok()?;
        let dataset = Reflect::get(&root, &JsValue::from_str("dataset")).ok()?;
        Reflect::set(&dataset, &JsValue::from_str("sseLiveLeading"), &JsValue::from(count)).ok()
    })();
}

fn state_value(state: ConnectionState) -> JsValue {
    JsValue::from_str(state.as_str())
}

fn state_from(value: &JsValue) -> ConnectionState {
    match value.as_string().as_deref() {
        Some("open") => ConnectionState::Open,
        Some("closed") => ConnectionState::Closed,
        _ => ConnectionState::Connecting,
    }
}

fn error_parts(error: &EventSourceError) -> [JsValue; 3] {
    let text = JsValue::from_str;
    match error {
        EventSourceError::InvalidUrl { url, message } => [text("InvalidUrl"), text(url), text(message)],
        EventSourceError::Unsupported => [text("Unsupported"), JsValue::NULL, JsValue::NULL],
        EventSourceError::Disconnected => [text("Disconnected"), JsValue::NULL, JsValue::NULL],
        EventSourceError::ConnectionFailed => [text("ConnectionFailed"), JsValue::NULL, JsValue::NULL],
        EventSourceError::Http { status, message } => [text("Http"), JsValue::from(*status), text(message)],
        EventSourceError::ContentType { content_type } => [text("ContentType"), text(content_type), JsValue::NULL],
        EventSourceError::ClosedByServer => [text("ClosedByServer"), JsValue::NULL, JsValue::NULL],
        EventSourceError::InvalidRequest { message } => [text("InvalidRequest"), text(message), JsValue::NULL],
        EventSourceError::Missed { since } => [text("Missed"), text(since), JsValue::NULL],
        EventSourceError::Decode { raw, message } => [text("Decode"), text(raw), text(message)],
    }
}

fn error_from(kind: &JsValue, first: &JsValue, second: &JsValue) -> Option<EventSourceError> {
    let (first_text, second_text) = (first.as_string().unwrap_or_default(), second.as_string().unwrap_or_default());
    Some(match kind.as_string()?.as_str() {
        "InvalidUrl" => EventSourceError::InvalidUrl { url: first_text, message: second_text },
        "Unsupported" => EventSourceError::Unsupported,
        "Disconnected" => EventSourceError::Disconnected,
        "ConnectionFailed" => EventSourceError::ConnectionFailed,
        "Http" => EventSourceError::Http { status: first.as_f64().unwrap_or(0.0) as u16, message: second_text },
        "ContentType" => EventSourceError::ContentType { content_type: first_text },
        "ClosedByServer" => EventSourceError::ClosedByServer,
        "InvalidRequest" => EventSourceError::InvalidRequest { message: first_text },
        "Missed" => EventSourceError::Missed { since: first_text },
        "Decode" => EventSourceError::Decode { raw: first_text, message: second_text },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fnv(bytes: &[u8]) -> u128 {
        let mut hash = Fnv::default();
        hash.bytes(bytes);
        hash.0
    }

    #[test]
    fn fnv1a_128_matches_the_reference_values() {
        assert_eq!(fnv(b""), 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d);
        assert_eq!(fnv(b"a"), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
        assert_ne!(fnv(b"authorization: Bearer a"), fnv(b"authorization: Bearer b"));
    }

    #[test]
    fn fields_are_length_prefixed() {
        let (mut ab_c, mut a_bc) = (Fnv::default(), Fnv::default());
        ab_c.field(b"ab");
        ab_c.field(b"c");
        a_bc.field(b"a");
        a_bc.field(b"bc");
        assert_ne!(ab_c.0, a_bc.0);
    }

    #[cfg(feature = "fetch")]
    #[test]
    fn headers_are_keyed_in_one_order_with_lower_case_names() {
        let header = |name: &str, value: &str| (name.to_owned(), value.to_owned());
        let headers =
            vec![header("X-B", "2"), header("authorization", "Bearer z"), header("x-a", "9"), header("X-A", "1")];
        let mut expected: Vec<_> = headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.clone())).collect();
        expected.sort_unstable();
        assert_eq!(sorted_headers(headers.clone()), expected);
        let mut reversed = headers;
        reversed.reverse();
        assert_eq!(sorted_headers(reversed), expected);
    }

    #[test]
    fn hex_is_two_lower_case_digits_a_byte() {
        let mut text = String::new();
        hex(&mut text, &[0x00, 0x0f, 0xa5, 0xff]);
        assert_eq!(text, "000fa5ff");
    }
}
