//! The minimal app with leptos-use's hook and JSON: `leptos_use_event_source::use_event_source::<Reading,
//! JsonSerdeCodec>` on `/e/temperatures`, the last reading shown: the peer of `hook_json` (what both hooks cost an app
//! that decodes one type, each with its default way of decoding JSON).

// Three of its four types are used only by `leptos_use_4types`.
#[allow(dead_code)]
mod types;

use codee::string::JsonSerdeCodec;
use leptos::prelude::*;
use leptos_use_event_source::use_event_source;
use types::{Line, Reading};

#[component]
fn App() -> impl IntoView {
    let message = use_event_source::<Reading, JsonSerdeCodec>("/e/temperatures").message;
    view! { <p>{move || message.get().map(|m| m.data.line())}</p> }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
