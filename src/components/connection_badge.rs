//! A badge that says how a stream is doing: Connecting, Live, Reconnecting in 4 s (counting down), Offline.

use std::time::Duration;

use leptos::prelude::*;

use crate::use_now::use_now;
use leptos_sse_live::{ConnectionState, EventSourceError};

/// What the badge shows: a kind (for CSS, as `data-state`) and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `connecting`, `live`, `reconnecting` or `offline`.
    pub kind: &'static str,
    /// "Connecting", "Live", "Reconnecting in 4 s", "Reconnecting…", "Offline".
    pub text: String,
}

impl Status {
    /// How a stream in `state`, with its last `error` and the hook's `reconnect_at`, reads at `now_ms`.
    ///
    /// ```
    /// use sse_live::components::Status;
    /// use leptos_sse_live::{ConnectionState, EventSourceError};
    /// let status = Status::of(ConnectionState::Connecting, Some(&EventSourceError::Disconnected), Some(14_200.0), 10_000.0);
    /// assert_eq!(status.text, "Reconnecting in 5 s");
    /// ```
    pub fn of(
        state: ConnectionState,
        error: Option<&EventSourceError>,
        reconnect_at: Option<f64>,
        now_ms: f64,
    ) -> Self {
        let (kind, text) = match (state, reconnect_at, error) {
            (ConnectionState::Open, _, _) => ("live", "Live".to_owned()),
            (ConnectionState::Closed, _, _) => ("offline", "Offline".to_owned()),
            (ConnectionState::Connecting, Some(at), _) => {
                let seconds = ((at - now_ms) / 1000.0).ceil();
                if seconds >= 1.0 {
                    ("reconnecting", format!("Reconnecting in {} s", seconds as u64))
                } else {
                    ("reconnecting", "Reconnecting…".to_owned())
                }
            }
            (ConnectionState::Connecting, None, Some(_)) => ("reconnecting", "Reconnecting…".to_owned()),
            (ConnectionState::Connecting, None, None) => ("connecting", "Connecting".to_owned()),
        };
        Self { kind, text }
    }
}

/// Shows a stream's [`Status`] in a polite live region, ticking every second while a reconnect is counted down.
#[component]
pub fn ConnectionBadge(
    /// The stream's state, typically `use_event_source(..).state`.
    #[prop(into)]
    state: Signal<ConnectionState>,
    /// The stream's last error.
    #[prop(into, default = Signal::stored(None))]
    error: Signal<Option<EventSourceError>>,
    /// When the hook's next reconnect is due, for the countdown.
    #[prop(into, default = Signal::stored(None))]
    reconnect_at: Signal<Option<f64>>,
) -> impl IntoView {
    let now = use_now(Duration::from_millis(250));
    // A closure, not a `Memo`: each read computes the status again (two small reads a change), and the page's text
    // and attribute are written only when they differ, as a memo would (each `Memo` type is code of its own).
    let status = move || {
        // The clock matters only while counting down: otherwise the badge does not re-render every tick.
        let now = if reconnect_at.get().is_some() { now.get() } else { now.get_untracked() };
        error.with(|error| Status::of(state.get(), error.as_ref(), reconnect_at.get(), now))
    };
    view! {
        <span class="badge" data-state=move || status().kind role="status" aria-live="polite">
            {move || status().text}
        </span>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_as_a_person_would_say_it() {
        use ConnectionState::*;
        let lost = EventSourceError::Disconnected;
        let cases = [
            (Connecting, None, None, ("connecting", "Connecting")),
            (Open, Some(&lost), None, ("live", "Live")),
            (Connecting, Some(&lost), None, ("reconnecting", "Reconnecting…")),
            (Connecting, Some(&lost), Some(13_001.0), ("reconnecting", "Reconnecting in 4 s")),
            (Connecting, Some(&lost), Some(10_400.0), ("reconnecting", "Reconnecting in 1 s")),
            (Connecting, Some(&lost), Some(9_000.0), ("reconnecting", "Reconnecting…")),
            (Closed, Some(&EventSourceError::ConnectionFailed), None, ("offline", "Offline")),
            (Closed, None, None, ("offline", "Offline")),
        ];
        for (state, error, at, (kind, text)) in cases {
            assert_eq!(Status::of(state, error, at, 10_000.0), Status { kind, text: text.to_owned() });
        }
    }
}
