//! A badge that shows a stream's connection state in words and colour.

use leptos::prelude::*;

use crate::use_event_source::ConnectionState;

/// Shows `state` as text ("Connecting", "Open", "Closed") in a polite live region; `data-state` carries it for CSS.
#[component]
pub fn ConnectionBadge(
    /// The state to show, typically `use_event_source(..).state`.
    #[prop(into)]
    state: Signal<ConnectionState>,
) -> impl IntoView {
    view! {
        <span class="badge" data-state=move || state.get().as_str() role="status" aria-live="polite">
            {move || state.get().to_string()}
        </span>
    }
}
