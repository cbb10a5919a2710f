//! The random-number stream: the latest value and the connection state.

use leptos::prelude::*;
use sse_live_protocol::RandomNumber;

use super::StreamCard;
use crate::use_event_source::{use_event_source, UseEventSourceReturn};

/// The latest number from the random-number stream at `url`.
#[component]
pub fn RandomNumbers(
    /// The stream's URL. Default: `/stream-random-numbers` on the page's own origin.
    #[prop(into, default = "/stream-random-numbers".to_string())]
    url: String,
) -> impl IntoView {
    let UseEventSourceReturn { state, data, error, .. } = use_event_source::<RandomNumber>(url);
    view! {
        <StreamCard title="Random numbers" class="random" state error>
            <p class="reading">
                {move || match data.get() {
                    Some(number) => view! { "Latest: " <strong class="value">{format!("{:.4}", number.value)}</strong> }
                        .into_any(),
                    None => view! { <span class="placeholder">"Waiting for the first number…"</span> }.into_any(),
                }}
            </p>
        </StreamCard>
    }
}
