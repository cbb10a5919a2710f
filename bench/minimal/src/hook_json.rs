//! The minimal app with our hook and JSON: `leptos_sse_live::use_event_source::<Reading>` on `/e/temperatures`, the
//! last reading shown. Against `hook` (the same stream kept as text) it is what the `json` feature costs an app that
//! decodes one type.

// Three of its four types are used only by `hook_json_4types`.
#[allow(dead_code)]
mod types;

use leptos::prelude::*;
use leptos_sse_live::use_event_source;
use types::{Line, Reading};

#[component]
fn App() -> impl IntoView {
    let data = use_event_source::<Reading>("/e/temperatures").data;
    view! { <p>{move || data.get().map(|v| v.line())}</p> }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
