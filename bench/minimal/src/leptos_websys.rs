//! The minimal app in Leptos without a hook: a hand-written web-sys `EventSource` on `/e/temperatures` whose
//! messages set a signal, the last one shown. The Leptos floor both hooks are overhead on: what an app pays for
//! Leptos and one stream before any hook's features (reconnects, typed errors, cleanup, sharing...).

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{EventSource, MessageEvent};

#[component]
fn App() -> impl IntoView {
    let (data, set_data) = signal(None::<String>);
    if let Ok(source) = EventSource::new("/e/temperatures") {
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            set_data.set(event.data().as_string());
        });
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // The page lives as long as the stream: the handler is never freed (as in `websys`).
        on_message.forget();
    }
    view! { {move || data.get()} }
}

fn main() {
    leptos::mount::mount_to_body(App);
}
