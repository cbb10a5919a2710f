//! The minimal app with our hook: `leptos_sse_live::use_event_source` on `/e/temperatures`, each message's data kept as
//! text (the `text` decoder: no JSON), the last one shown.

use leptos::prelude::*;
use leptos_sse_live::{text, use_event_source_with_decoder, UseEventSourceOptions};

#[component]
fn App() -> impl IntoView {
    let stream = use_event_source_with_decoder("/e/temperatures", UseEventSourceOptions::default(), text);
    view! { {move || stream.data.get()} }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
