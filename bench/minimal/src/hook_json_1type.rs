//! Our hook with JSON (default features) on four streams, all decoded into ONE type: the reference for
//! `hook_json_4types`, which decodes the same four streams into four types. The difference is what three more
//! message types cost.

// Three of its four types are used only by `hook_json_4types`.
#[allow(dead_code)]
mod types;

use leptos::prelude::*;
use leptos_sse_live::use_event_source;
use types::{Line, Reading};

#[component]
fn App() -> impl IntoView {
    let a = use_event_source::<Reading>("/e/a").data;
    let b = use_event_source::<Reading>("/e/b").data;
    let c = use_event_source::<Reading>("/e/c").data;
    let d = use_event_source::<Reading>("/e/d").data;
    view! {
        <p>{move || a.get().map(|v| v.line())}</p>
        <p>{move || b.get().map(|v| v.line())}</p>
        <p>{move || c.get().map(|v| v.line())}</p>
        <p>{move || d.get().map(|v| v.line())}</p>
    }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
