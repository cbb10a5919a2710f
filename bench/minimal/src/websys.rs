//! The minimal app by hand: an `EventSource` on `/e/temperatures` whose last message's data is a text node in the
//! body. web-sys and one wasm-bindgen closure, no framework. Failures (no `document`, no `EventSource`) leave the
//! page empty rather than panic: the app adds no panic messages of its own.

use wasm_bindgen::prelude::*;
use web_sys::{EventSource, MessageEvent};

fn main() {
    let _ = start();
}

fn start() -> Option<()> {
    let document = web_sys::window()?.document()?;
    let text = document.create_text_node("");
    document.body()?.append_child(&text).ok()?;
    let source = EventSource::new("/e/temperatures").ok()?;
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if let Some(data) = event.data().as_string() {
            text.set_data(&data);
        }
    });
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The page lives as long as the stream: the handler is never freed.
    on_message.forget();
    Some(())
}
