//! The frame every live stream on the page shares: a title, the connection badge, the content, and what went wrong.

use leptos::prelude::*;

use super::ConnectionBadge;
use leptos_sse_live::{ConnectionState, EventSourceError};

/// A plain sentence for a stream that cannot reach its server, or `None` when the error says something else (a
/// decode error is shown as it is).
///
/// ```
/// use sse_live::components::unreachable_sentence;
/// use leptos_sse_live::{ConnectionState, EventSourceError};
/// let sentence = unreachable_sentence(ConnectionState::Connecting, &EventSourceError::Disconnected);
/// assert_eq!(sentence.as_deref(), Some("The server cannot be reached right now. This page keeps trying."));
/// ```
pub fn unreachable_sentence(state: ConnectionState, error: &EventSourceError) -> Option<String> {
    let down = matches!(
        error,
        EventSourceError::Disconnected
            | EventSourceError::ConnectionFailed
            | EventSourceError::Http { status: 500.., .. }
    );
    match state {
        ConnectionState::Connecting if down => {
            Some("The server cannot be reached right now. This page keeps trying.".to_owned())
        }
        ConnectionState::Closed if down => {
            Some("The server cannot be reached. Reload the page to try again.".to_owned())
        }
        _ => None,
    }
}

/// A card for one live stream; `children` is the stream's own content.
#[component]
pub fn StreamCard(
    /// The card's heading.
    title: &'static str,
    /// An extra CSS class for the card (for example `temperature`).
    class: &'static str,
    /// The stream's connection state, shown in the badge.
    #[prop(into)]
    state: Signal<ConnectionState>,
    /// The stream's last error: a sentence when the server is unreachable, else the error itself.
    #[prop(into)]
    error: Signal<Option<EventSourceError>>,
    /// When the hook's next reconnect is due, for the badge's countdown.
    #[prop(into, default = Signal::stored(None))]
    reconnect_at: Signal<Option<f64>>,
    children: Children,
) -> impl IntoView {
    // The hook clears `error` when the stream opens again, so what it holds is the stream's news. A closure, not a
    // `Memo` (code of its own for each type): the text is written only when it differs all the same.
    let shown = move || {
        let state = state.get();
        error.with(|error| match error {
            None => None,
            Some(EventSourceError::Decode { .. }) => error.as_ref().map(ToString::to_string),
            Some(error) => Some(unreachable_sentence(state, error).unwrap_or_else(|| error.to_string())),
        })
    };
    view! {
        <section class=format!("card {class}")>
            <div class="card-head">
                <h2>{title}</h2>
                <ConnectionBadge state error reconnect_at />
            </div>
            {children()}
            <p class="error" role="alert" hidden=move || shown().is_none()>
                {shown}
            </p>
        </section>
    }
}
