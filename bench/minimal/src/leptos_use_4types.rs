//! leptos-use's hook (`leptos_use_event_source::use_event_source` with codee's `JsonSerdeCodec`) on four streams,
//! decoded into FOUR types; `leptos_use_1type` is the same app with one type. The difference is what three
//! more message types cost with the peer, beside `hook_json_1type`/`hook_json_4types` for ours.

mod types;

use codee::string::JsonSerdeCodec;
use leptos::prelude::*;
use leptos_use_event_source::use_event_source;
use types::{Line, Note, Number, Progress, Reading};

#[component]
fn App() -> impl IntoView {
    let a = use_event_source::<Reading, JsonSerdeCodec>("/e/a").message;
    let b = use_event_source::<Number, JsonSerdeCodec>("/e/b").message;
    let c = use_event_source::<Progress, JsonSerdeCodec>("/e/c").message;
    let d = use_event_source::<Note, JsonSerdeCodec>("/e/d").message;
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
