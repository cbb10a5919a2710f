//! The frame every live stream on the page shares: a title, the connection badge, the content, the last error.

use leptos::prelude::*;

use super::ConnectionBadge;
use crate::use_event_source::{ConnectionState, EventSourceError};

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
    /// The stream's last error, shown below the content when there is one.
    #[prop(into)]
    error: Signal<Option<EventSourceError>>,
    children: Children,
) -> impl IntoView {
    view! {
        <section class=format!("card {class}")>
            <div class="card-head">
                <h2>{title}</h2>
                <ConnectionBadge state />
            </div>
            {children()}
            <p class="error" hidden=move || error.with(Option::is_none)>
                {move || error.get().map(|e| e.to_string())}
            </p>
        </section>
    }
}
