//! The only place that touches `web_sys::EventSource`: one connection and its three listeners.
//!
//! A [`Connection`] owns its closures; dropping it unregisters them and closes the `EventSource`, so nothing is
//! leaked with `Closure::forget` and no handler of a closed connection ever runs.

use sse_live_protocol::Event;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{EventSource, EventSourceInit, MessageEvent};

use super::ConnectionState;

/// What a connection reports to its owner.
pub(super) struct Handlers {
    /// The server answered with an event stream (readyState is now OPEN).
    pub on_open: Box<dyn Fn()>,
    /// A message arrived (any event type the connection listens to).
    pub on_message: Box<dyn Fn(Event)>,
    /// The `error` event, with the readyState it left behind: CONNECTING while the browser retries, CLOSED when
    /// it gave up.
    pub on_error: Box<dyn Fn(ConnectionState)>,
}

/// One open `EventSource` with its listeners. Dropping it closes the connection.
pub(super) struct Connection {
    source: EventSource,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl Connection {
    /// Opens `url`; the browser's refusal (an unparsable URL, say) comes back as its message.
    pub fn open(url: &str, with_credentials: bool, handlers: Handlers) -> Result<Self, String> {
        let init = EventSourceInit::new();
        init.set_with_credentials(with_credentials);
        let source = EventSource::new_with_event_source_init_dict(url, &init).map_err(js_error_message)?;

        let Handlers { on_open, on_message, on_error } = handlers;
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| on_open());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            on_message(Event {
                event_type: event.type_(),
                data: event.data().as_string().unwrap_or_default(),
                last_event_id: event.last_event_id(),
            })
        });
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let ready_state =
                event.target().and_then(|t| t.dyn_into::<EventSource>().ok()).map_or(2, |s| s.ready_state());
            on_error(ConnectionState::from_ready_state(ready_state))
        });
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self { source, _on_open: on_open, _on_message: on_message, _on_error: on_error })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.source.set_onopen(None);
        self.source.set_onmessage(None);
        self.source.set_onerror(None);
        self.source.close();
    }
}

fn js_error_message(error: JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}
