//! The only place that touches `web_sys::EventSource`: one connection and its listeners.
//!
//! A [`Connection`] owns its closures; dropping it unregisters them and closes the `EventSource`, so nothing is
//! leaked with `Closure::forget` and no handler of a closed connection ever runs.

use std::rc::Rc;

use sse_live_protocol::Event;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{EventSource, EventSourceInit};

use super::{ConnectionState, EventSourceError, Handlers};

#[wasm_bindgen]
extern "C" {
    /// An `EventSource`'s `MessageEvent`, whose data is always a string.
    type TextMessage;
    /// `data`, read as a string: one call into JavaScript, where web-sys's `data()` then `as_string()` take two
    /// and a slot in wasm-bindgen's object table.
    #[wasm_bindgen(method, getter)]
    fn data(this: &TextMessage) -> String;
    #[wasm_bindgen(method, getter, js_name = lastEventId)]
    fn last_event_id(this: &TextMessage) -> String;
}

/// A message listener; each knows the event type it is registered for.
type Listener = Closure<dyn FnMut(TextMessage)>;

/// One open `EventSource` with its listeners. Dropping it closes the connection.
pub(super) struct Connection {
    source: EventSource,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_message: Listener,
    /// The listeners of the extra event types (besides `message`), each with its type.
    listeners: Vec<(String, Listener)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Connection {
    /// Opens `url`, delivering `message` events and those of the types in `events`; the browser's refusal (an
    /// unparsable URL, say) comes back as its message.
    pub(crate) fn open(
        url: &str,
        with_credentials: bool,
        events: Vec<String>,
        handlers: Handlers,
    ) -> Result<Self, String> {
        let init = EventSourceInit::new();
        init.set_with_credentials(with_credentials);
        let source = EventSource::new_with_event_source_init_dict(url, &init).map_err(js_error_message)?;

        let Handlers { on_open, on_message, on_error, .. } = handlers;
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| on_open());
        // A listener per event type, which knows its type: per message, the data and the id are all that cross
        // from JavaScript (the cost of every message of a burst).
        let on_message: Rc<dyn Fn(Event)> = Rc::from(on_message);
        let listener = |event_type: String| {
            let on_message = on_message.clone();
            Listener::new(move |event: TextMessage| {
                on_message(Event {
                    event_type: event_type.clone(),
                    data: event.data(),
                    last_event_id: event.last_event_id(),
                })
            })
        };
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let ready_state =
                event.target().and_then(|t| t.dyn_into::<EventSource>().ok()).map_or(2, |s| s.ready_state());
            let state = ConnectionState::from_ready_state(ready_state);
            let error = match state {
                ConnectionState::Closed => EventSourceError::ConnectionFailed,
                _ => EventSourceError::Disconnected,
            };
            on_error(state, error)
        });
        let on_messages = listener("message".to_owned());
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onmessage(Some(on_messages.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // `message` is covered by `onmessage`; registering it twice would deliver each message twice.
        let listeners: Vec<_> = events
            .into_iter()
            .filter(|e| e != "message")
            .map(|event_type| {
                let closure = listener(event_type.clone());
                // Only fails for a listener that is not a function, which this always is.
                let _ = source.add_event_listener_with_callback(&event_type, closure.as_ref().unchecked_ref());
                (event_type, closure)
            })
            .collect();
        Ok(Self { source, _on_open: on_open, _on_message: on_messages, listeners, _on_error: on_error })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.source.set_onopen(None);
        self.source.set_onmessage(None);
        self.source.set_onerror(None);
        for (event_type, closure) in &self.listeners {
            let _ = self.source.remove_event_listener_with_callback(event_type, closure.as_ref().unchecked_ref());
        }
        self.source.close();
    }
}

/// Whether the browser has `EventSource` (some embedded webviews and old runtimes have `fetch` only).
pub(super) fn has_event_source() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &JsValue::from_str("EventSource")).unwrap_or(false)
}

/// The message of a JavaScript exception (an `Error`'s `message`, which a `DOMException` has too, a thrown string,
/// or its JSON). Not `JsValue`'s `Debug`: that links wasm-bindgen's `debugString` into every app's JavaScript.
pub(super) fn js_error_message(error: JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .or_else(|| js_sys::JSON::stringify(&error).ok().and_then(|json| json.as_string()))
        .unwrap_or_else(|| "an exception with no message".to_owned())
}
