//! The hook's signal writes, applied at most once per animation frame.
//!
//! A burst of messages (a replay after a reconnect, a fast sensor) would otherwise set `data` and `message` once per
//! message, and every view that reads them would re-render as often. [`Updates`] keeps what arrived since the last
//! frame (the last value, the last message, the new history entries, a decode error) and applies it in one go in
//! the next `requestAnimationFrame`; the hook still calls `on_message` for every message as it arrives. A state
//! change applies what is pending first, so no view sees `Closed` before the data that preceded it. Without
//! coalescing (or outside a browser window) every write is applied at once.
//!
//! Only the decoding and the `data`/`history` writes depend on the message type: they sit behind [`Values`], so that
//! [`Updates`] (and the whole hook around it) is compiled once, not once per type an app decodes.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_render::AnimationFrame;
use leptos::prelude::*;
use leptos::reactive::graph::{AnySource, ReactiveNode, ToAnySource};
use sse_live_protocol::wire::Reset;
use sse_live_protocol::Event;

use super::{ConnectionState, EventSourceError};

/// The hook's untyped signals, written directly (`data` and `history` are the [`Values`]').
pub(super) struct Setters {
    pub(crate) state: ArcRwSignal<ConnectionState>,
    pub(crate) message: ArcRwSignal<Option<Event>>,
    pub(crate) error: ArcRwSignal<Option<EventSourceError>>,
    pub(crate) last_event_id: ArcRwSignal<String>,
    pub(crate) reconnect_at: ArcRwSignal<Option<f64>>,
    pub(crate) reset: ArcRwSignal<Option<Reset>>,
}

/// The edge where a message's data becomes the hook's type: decoding, and the `data` and `history` signals. The one
/// part of the hook compiled for each message type.
pub(super) trait Values {
    /// Decodes `event` (its type and data) and keeps the value for the next [`write`](Values::write); the decoder's
    /// message on failure.
    fn decode(&self, event: &Event) -> Result<(), String>;
    /// Writes the values kept since the last write to `data` and `history`.
    fn write(&self);
    /// Forgets the values kept: all of them (`everything`: the hook is gone), or the history kept so far, so that the
    /// next [`write`](Values::write) replaces `history` with what comes after. One method for both: each method is
    /// code of its own for each type.
    fn forget(&self, everything: bool);
}

/// [`Values`] for the type `T`, decoded by `D`.
pub(super) struct Typed<T: Send + Sync + 'static, D> {
    decoder: D,
    data: ArcRwSignal<Option<T>>,
    history: ArcRwSignal<Vec<T>>,
    history_len: usize,
    /// The last value, and the values for `history` (oldest first, at most `history_len`), since the last write.
    pending: RefCell<(Option<T>, Vec<T>)>,
    /// `history` was cleared since the last write: the next one replaces it.
    cleared: Cell<bool>,
}

impl<T: Send + Sync + 'static, D> Typed<T, D> {
    pub(crate) fn new(
        decoder: D,
        data: ArcRwSignal<Option<T>>,
        history: ArcRwSignal<Vec<T>>,
        history_len: usize,
    ) -> Self {
        Self {
            decoder,
            data,
            history,
            history_len,
            pending: RefCell::new((None, Vec::new())),
            cleared: Cell::new(false),
        }
    }
}

impl<T, D> Values for Typed<T, D>
where
    T: Clone + Send + Sync + 'static,
    D: Fn(&Event) -> Result<T, String>,
{
    fn decode(&self, event: &Event) -> Result<(), String> {
        let value = (self.decoder)(event)?;
        let mut pending = self.pending.borrow_mut();
        if self.history_len > 0 {
            pending.1.push(value.clone());
            // Trimmed once twice as long as `history` (the write keeps its last `history_len`): bounded while no
            // frame runs (a hidden page), and not a shift of the whole list for every message.
            if pending.1.len() > self.history_len.saturating_mul(2) {
                keep_last(&mut pending.1, self.history_len);
            }
        }
        pending.0 = Some(value);
        Ok(())
    }

    fn write(&self) {
        let (data, history) = std::mem::take(&mut *self.pending.borrow_mut());
        let cleared = self.cleared.replace(false);
        if cleared || !history.is_empty() {
            update(&self.history, |all| {
                if cleared {
                    all.clear();
                }
                all.extend(history);
                keep_last(all, self.history_len);
                true
            });
        }
        if let Some(data) = data {
            set(&self.data, Some(data));
        }
    }

    fn forget(&self, everything: bool) {
        let mut pending = self.pending.borrow_mut();
        if everything {
            pending.0 = None;
        } else {
            self.cleared.set(true);
        }
        pending.1.clear();
    }
}

/// Keeps the last `len` of `values` (with `split_off`: `drain` was more code, for each type).
fn keep_last<T>(values: &mut Vec<T>, len: usize) {
    if let Some(excess) = values.len().checked_sub(len).filter(|&excess| excess > 0) {
        *values = values.split_off(excess);
    }
}

/// Sets `signal` to `value` and notifies its subscribers, as `try_set` does; see [`update`].
fn set<T: 'static>(signal: &ArcRwSignal<T>, value: T) {
    update(signal, |slot| {
        *slot = value;
        true
    });
}

/// Changes `signal` with `change` and, when it says it changed something, notifies its subscribers, as
/// `try_maybe_update` does. Written untracked and notified through [`notify`], compiled once: the signals' own
/// notification is code of its own for each value type (BENCHMARKS.md).
fn update<T: 'static>(signal: &ArcRwSignal<T>, change: impl FnOnce(&mut T) -> bool) {
    let changed = signal.try_write_untracked().is_some_and(|mut value| change(&mut value));
    if changed {
        notify(&signal.to_any_source());
    }
}

/// Notifies the subscribers of a signal written untracked, as writing it tracked does (the subscribers marked dirty,
/// as an `ArcTrigger` does). Not inlined: one copy for all the signals, whatever their types.
#[inline(never)]
fn notify(source: &AnySource) {
    source.mark_dirty();
}

/// What arrived since the signals were last written (the decoded values wait in the [`Values`]).
#[derive(Default)]
struct Pending {
    message: Option<Event>,
    error: Option<EventSourceError>,
    reset: Option<Reset>,
}

pub(super) struct Updates {
    setters: Setters,
    values: Box<dyn Values>,
    coalesce: bool,
    pending: RefCell<Pending>,
    /// The requested frame, if any; dropping it cancels it.
    frame: RefCell<Option<AnimationFrame>>,
    /// A frame is requested and has not run yet.
    scheduled: Cell<bool>,
}

impl Updates {
    pub(crate) fn new(setters: Setters, values: Box<dyn Values>, coalesce: bool) -> Rc<Self> {
        Rc::new(Self {
            setters,
            values,
            coalesce,
            pending: RefCell::new(Pending::default()),
            frame: RefCell::new(None),
            scheduled: Cell::new(false),
        })
    }

    /// A message arrived: decodes its data (a failure becomes a pending [`EventSourceError::Decode`]); `false` when
    /// it did not decode.
    pub(crate) fn message(self: &Rc<Self>, event: &Event) -> bool {
        let decoded = self.values.decode(event);
        let ok = decoded.is_ok();
        {
            let mut pending = self.pending.borrow_mut();
            if let Err(message) = decoded {
                pending.error = Some(EventSourceError::Decode { raw: event.data.clone(), message });
            }
            // Into the pending message's buffers when there is one (every message of a burst but a frame's first).
            match &mut pending.message {
                Some(last) => last.clone_from(event),
                none => *none = Some(event.clone()),
            }
        }
        if self.coalesce {
            self.schedule();
        } else {
            self.flush();
        }
        ok
    }
    /// The server's `event: reset`: kept for the `reset` signal, and `history` cleared unless `keep_history`; written
    /// with the messages around it.
    pub(crate) fn reset(self: &Rc<Self>, reset: Reset, keep_history: bool) {
        if !keep_history {
            self.values.forget(false);
        }
        self.pending.borrow_mut().reset = Some(reset);
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
            set(&self.setters.reconnect_at, None);
        }
        set(&self.setters.state, state);
        match error {
            Some(error) => {
                set(&self.setters.error, Some(error));
            }
            // Open again: an error of the connection's past (a drop, a failed attempt, a decode error) is no news.
            None if state == ConnectionState::Open => {
                update(&self.setters.error, |error| error.take().is_some());
            }
            None => {}
        }
    }

    /// When the hook's next reconnect is due (`Date.now()` milliseconds), or `None`; written at once.
    pub(crate) fn reconnect_at(&self, at: Option<f64>) {
        set(&self.setters.reconnect_at, at);
    }

    /// Clears the error (a new URL starts clean).
    pub(crate) fn clear_error(&self) {
        self.flush();
        set(&self.setters.error, None);
    }

    /// Clears `last_event_id` (a new URL: the old one's ids mean nothing there); what is pending goes first.
    pub(crate) fn clear_last_event_id(&self) {
        self.flush();
        update(&self.setters.last_event_id, |id| !std::mem::take(id).is_empty());
    }

    /// Writes everything pending to the signals now.
    pub(crate) fn flush(&self) {
        drop(self.frame.borrow_mut().take());
        self.scheduled.set(false);
        self.write_pending();
    }

    fn write_pending(&self) {
        let Pending { message, error, reset } = std::mem::take(&mut *self.pending.borrow_mut());
        self.values.write();
        if let Some(reset) = reset {
            set(&self.setters.reset, Some(reset));
        }
        if let Some(message) = message {
            let id = &message.last_event_id;
            update(&self.setters.last_event_id, |last| {
                let changed = last != id;
                if changed {
                    last.clone_from(id);
                }
                changed
            });
            set(&self.setters.message, Some(message));
        }
        if let Some(error) = error {
            set(&self.setters.error, Some(error));
        }
    }

    /// Forgets what is pending and cancels the frame (the hook is gone).
    pub(crate) fn discard(&self) {
        drop(self.frame.borrow_mut().take());
        self.scheduled.set(false);
        drop(std::mem::take(&mut *self.pending.borrow_mut()));
        self.values.forget(true);
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
