//! [`UseEventSourceReturn`]: the signals the hook hands back.

use leptos::prelude::Signal;
use sse_live_protocol::Event;

use super::{ConnectionState, EventSourceError, Reset};

/// What [`use_event_source`](super::use_event_source) returns: reactive signals and `open`/`close` handles.
pub struct UseEventSourceReturn<T, OpenFn, CloseFn>
where
    T: Send + Sync + 'static,
    OpenFn: Fn() + Clone + Send + Sync + 'static,
    CloseFn: Fn() + Clone + Send + Sync + 'static,
{
    /// The connection state, updated on `open`, `error` and close.
    pub state: Signal<ConnectionState>,
    /// The data of the last message that decoded successfully; `None` until one arrives.
    pub data: Signal<Option<T>>,
    /// The last message as received (event type, data text, last event id), decoded or not.
    pub message: Signal<Option<Event>>,
    /// The last decoded values, oldest first, at most [`UseEventSourceOptions::history`](super::UseEventSourceOptions::history)
    /// of them; always empty when that option is off (the default).
    pub history: Signal<Vec<T>>,
    /// The last error; `None` until one happens, and cleared when the connection opens (again). A decode error
    /// leaves the connection open.
    pub error: Signal<Option<EventSourceError>>,
    /// The id of the last message (its `lastEventId`: the last `id:` the stream set); empty until one arrives, and
    /// cleared when the URL changes (an id never carries over to another URL).
    pub last_event_id: Signal<String>,
    /// When the hook's next reconnect attempt is due, in milliseconds since the epoch (the clock of `Date.now()`), for
    /// a countdown such as "reconnecting in 4 s"; `None` while open, closed, connecting, or while the browser
    /// re-establishes a dropped `EventSource` on its own schedule (which it does not expose).
    pub reconnect_at: Signal<Option<f64>>,
    /// The server's last `event: reset` notice, `None` until one arrives: the server cannot replay what this client
    /// missed (or its ids restarted) and sends its history, or every event, again. `history` is cleared when it
    /// arrives (unless [`keep_history_on_reset`](super::UseEventSourceOptions::keep_history_on_reset)): react to it
    /// to drop what you derived from the stream.
    pub reset: Signal<Option<Reset>>,
    /// Opens the connection again after [`close`](Self::close), a terminal event, a fatal error or a spent retry
    /// budget, carrying the last event id so the server can replay what was missed (not to another URL); does nothing
    /// while the connection is open or connecting. With
    /// [`UseEventSourceOptions::immediate`](super::UseEventSourceOptions::immediate)`(false)` it opens the first
    /// connection.
    pub open: OpenFn,
    /// Closes the connection for good: the state becomes `Closed` and no further message is applied.
    pub close: CloseFn,
}
