//! leptos-use's hook (`leptos_use_event_source::use_event_source` with codee's `JsonSerdeCodec`) on four streams,
//! decoded into ONE type: the reference for `leptos_use_4types`. The difference is what three
//! more message types cost with the peer, beside `hook_json_1type`/`hook_json_4types` for ours.

// Three of its four types are used only by `leptos_use_4types`.
#[allow(dead_code)]
mod types;

use codee::string::JsonSerdeCodec;
use leptos::prelude::*;
use leptos_use_event_source::use_event_source;
use types::{Line, Reading};

#[component]
fn App() -> impl IntoView {
    let a = use_event_source::<Reading, JsonSerdeCodec>("/e/a").message;
    let b = use_event_source::<Reading, JsonSerdeCodec>("/e/b").message;
    let c = use_event_source::<Reading, JsonSerdeCodec>("/e/c").message;
    let d = use_event_source::<Reading, JsonSerdeCodec>("/e/d").message;
    view! {
        <p>{move || a.get().map(|m| m.data.line())}</p>
        <p>{move || b.get().map(|m| m.data.line())}</p>
        <p>{move || c.get().map(|m| m.data.line())}</p>
        <p>{move || d.get().map(|m| m.data.line())}</p>
    }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
