//! The only place that touches `web_sys::EventSource`: one connection and its listeners.
//!
//! A [`Connection`] owns its closures; dropping it unregisters them and closes the `EventSource`, so nothing is
//! leaked with `Closure::forget` and no handler of a closed connection ever runs.

use sse_live_protocol::Event;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{EventSource, EventSourceInit, MessageEvent};

use super::{ConnectionState, EventSourceError, Handlers};

/// One open `EventSource` with its listeners. Dropping it closes the connection.
pub(super) struct Connection {
    source: EventSource,
    /// The extra event types (besides `message`) the message listener is registered for.
    events: Vec<String>,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    on_message: Closure<dyn FnMut(MessageEvent)>,
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

        let Handlers { on_open, on_message, on_error, activity, .. } = handlers;
        let opened = activity.clone();
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
            opened.record();
            on_open()
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            activity.record();
            on_message(Event {
                event_type: event.type_(),
                data: event.data().as_string().unwrap_or_default(),
                last_event_id: event.last_event_id(),
            })
        });
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
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // `message` is covered by `onmessage`; registering it twice would deliver each message twice.
        let events: Vec<String> = events.into_iter().filter(|e| e != "message").collect();
        for event_type in &events {
            // Only fails for a listener that is not a function, which this always is.
            let _ = source.add_event_listener_with_callback(event_type, on_message.as_ref().unchecked_ref());
        }
        Ok(Self { source, events, _on_open: on_open, on_message, _on_error: on_error })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.source.set_onopen(None);
        self.source.set_onmessage(None);
        self.source.set_onerror(None);
        for event_type in &self.events {
            let _ =
                self.source.remove_event_listener_with_callback(event_type, self.on_message.as_ref().unchecked_ref());
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
