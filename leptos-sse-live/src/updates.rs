//! The hook's signal writes, applied at most once per animation frame.
//!
//! A burst of messages (a replay after a reconnect, a fast sensor) would otherwise set `data` and `message` once per
//! message, and every view that reads them would re-render as often. [`Updates`] keeps what arrived since the last
//! frame (the last value, the last message, the new history entries, a decode error) and applies it in one go in
//! the next `requestAnimationFrame`; the hook still calls `on_message` for every message as it arrives. A state
//! change applies what is pending first, so no view sees `Closed` before the data that preceded it. Without
//! coalescing (or outside a browser window) every write is applied at once.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_render::AnimationFrame;
use leptos::prelude::*;
use sse_live_protocol::Event;

use super::{ConnectionState, EventSourceError};

/// The hook's signals, as writers.
pub(super) struct Setters<T: Send + Sync + 'static> {
    pub state: WriteSignal<ConnectionState>,
    pub data: WriteSignal<Option<T>>,
    pub message: WriteSignal<Option<Event>>,
    pub history: WriteSignal<Vec<T>>,
    pub error: WriteSignal<Option<EventSourceError>>,
    pub last_event_id: WriteSignal<String>,
    pub reconnect_at: WriteSignal<Option<f64>>,
}

/// What arrived since the signals were last written.
struct Pending<T> {
    data: Option<T>,
    message: Option<Event>,
    /// Values for `history`, oldest first, at most its length.
    history: Vec<T>,
    error: Option<EventSourceError>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Self { data: None, message: None, history: Vec::new(), error: None }
    }
}

pub(super) struct Updates<T: Send + Sync + 'static> {
    setters: Setters<T>,
    history_len: usize,
    coalesce: bool,
    pending: RefCell<Pending<T>>,
    /// The requested frame, if any; dropping it cancels it.
    frame: RefCell<Option<AnimationFrame>>,
    /// A frame is requested and has not run yet.
    scheduled: Cell<bool>,
}

impl<T: Clone + Send + Sync + 'static> Updates<T> {
    pub(crate) fn new(setters: Setters<T>, history_len: usize, coalesce: bool) -> Rc<Self> {
        Rc::new(Self {
            setters,
            history_len,
            coalesce,
            pending: RefCell::new(Pending::default()),
            frame: RefCell::new(None),
            scheduled: Cell::new(false),
        })
    }

    /// A message arrived: `value` is its decoded data, or the decode error.
    pub(crate) fn message(self: &Rc<Self>, event: &Event, value: Result<T, EventSourceError>) {
        {
            let mut pending = self.pending.borrow_mut();
            match value {
                Ok(value) => {
                    if self.history_len > 0 {
                        pending.history.push(value.clone());
                        let excess = pending.history.len().saturating_sub(self.history_len);
                        pending.history.drain(..excess);
                    }
                    pending.data = Some(value);
                }
                Err(error) => pending.error = Some(error),
            }
            pending.message = Some(event.clone());
        }
        if self.coalesce {
            self.schedule();
        } else {
            self.flush();
        }
    }

    /// The connection's state changed, with `error` (`None` leaves the error as it is); what is pending goes first.
    pub(crate) fn state(&self, state: ConnectionState, error: Option<EventSourceError>) {
        self.flush();
        if state != ConnectionState::Connecting {
            self.setters.reconnect_at.try_set(None);
        }
        self.setters.state.try_set(state);
        if let Some(error) = error {
            self.setters.error.try_set(Some(error));
        }
    }

    /// When the hook's next reconnect is due (`Date.now()` milliseconds), or `None`; written at once.
    pub(crate) fn reconnect_at(&self, at: Option<f64>) {
        self.setters.reconnect_at.try_set(at);
    }

    /// Clears the error (a new URL starts clean).
    pub(crate) fn clear_error(&self) {
        self.flush();
        self.setters.error.try_set(None);
    }

    /// Writes everything pending to the signals now.
    pub(crate) fn flush(&self) {
        drop(self.frame.borrow_mut().take());
        self.scheduled.set(false);
        self.write_pending();
    }

    fn write_pending(&self) {
        let Pending { data, message, history, error } = std::mem::take(&mut *self.pending.borrow_mut());
        if !history.is_empty() {
            let len = self.history_len;
            self.setters.history.try_update(|all| {
                all.extend(history);
                let excess = all.len().saturating_sub(len);
                all.drain(..excess);
            });
        }
        if let Some(message) = message {
            let id = &message.last_event_id;
            self.setters.last_event_id.try_maybe_update(|last| {
                let changed = last != id;
                if changed {
                    last.clone_from(id);
                }
                (changed, ())
            });
            self.setters.message.try_set(Some(message));
        }
        if let Some(data) = data {
            self.setters.data.try_set(Some(data));
        }
        if let Some(error) = error {
            self.setters.error.try_set(Some(error));
        }
    }

    /// Forgets what is pending and cancels the frame (the hook is gone).
    pub(crate) fn discard(&self) {
        drop(self.frame.borrow_mut().take());
        self.scheduled.set(false);
        drop(std::mem::take(&mut *self.pending.borrow_mut()));
    }

    fn schedule(self: &Rc<Self>) {
        if self.scheduled.replace(true) {
            return;
        }
        if web_sys::window().is_none() {
            self.flush();
            return;
        }
        let weak: Weak<Self> = Rc::downgrade(self);
        let frame = gloo_render::request_animation_frame(move |_| {
            if let Some(updates) = weak.upgrade() {
                // The frame that is running stays in place (dropping it here would free the running callback); the
                // next `schedule`, `flush` or `discard` drops it.
                updates.scheduled.set(false);
                updates.write_pending();
            }
        });
        self.frame.replace(Some(frame));
    }
}
