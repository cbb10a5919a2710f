//! Our hook with JSON (default features) on four streams decoded into FOUR types; `hook_json_1type` is the same app
//! with one type. The difference is what three more message types cost.

mod types;

use leptos::prelude::*;
use leptos_sse_live::use_event_source;
use types::{Line, Note, Number, Progress, Reading};

#[component]
fn App() -> impl IntoView {
    let a = use_event_source::<Reading>("/e/a").data;
    let b = use_event_source::<Number>("/e/b").data;
    let c = use_event_source::<Progress>("/e/c").data;
    let d = use_event_source::<Note>("/e/d").data;
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
