//! The minimal app with leptos-use's hook, `leptos_use_event_source::use_event_source` on `/e/temperatures`, each
//! message's data kept as text (codee's `FromToStringCodec` into a `String`), the last one shown.

use codee::string::FromToStringCodec;
use leptos::prelude::*;
use leptos_use_event_source::{use_event_source, UseEventSourceReturn};

#[component]
fn App() -> impl IntoView {
    let UseEventSourceReturn { message, .. } = use_event_source::<String, FromToStringCodec>("/e/temperatures");
    view! { {move || message.get().map(|m| m.data)} }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
