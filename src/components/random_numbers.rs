//! The random-number stream (the tutorial's second example): the latest value and a rolling bar chart.

use leptos::prelude::*;

use super::{fixed, BarChart, StreamCard};
use leptos_sse_live::{
    use_event_source_with_decoder, FetchOptions, ReconnectLimit, Transport, UseEventSourceOptions, UseEventSourceReturn,
};

/// How many numbers the bar chart shows.
const BARS: usize = 30;

/// The latest number from the random-number stream at `url`, and the last 30 as bars.
#[component]
pub fn RandomNumbers(
    /// The stream's URL. Default: `/stream-random-numbers` on the page's own origin.
    #[prop(into, default = "/stream-random-numbers".to_string())]
    url: String,
) -> impl IntoView {
    let options = UseEventSourceOptions::default()
        .history(BARS)
        .reconnect_limit(ReconnectLimit::Unlimited)
        .transport(Transport::Fetch(FetchOptions::default()))
        .share_across_tabs(super::share_across_tabs());
    let UseEventSourceReturn { state, data, error, history, reconnect_at, .. } =
        use_event_source_with_decoder(url, options, crate::wire::RANDOM_NUMBER);
    let values = history;
    view! {
        <StreamCard title="Random numbers" class="random" state error reconnect_at>
            <p class="reading">
                {move || match data.get() {
                    Some(number) => view! { "Latest: " <strong class="value">{fixed(number, 4)}</strong> }
                        .into_any(),
                    None => view! { <span class="placeholder">"Waiting for the first number…"</span> }.into_any(),
                }}
            </p>
            <BarChart values slots=BARS label="The last 30 random numbers" />
        </StreamCard>
    }
}
