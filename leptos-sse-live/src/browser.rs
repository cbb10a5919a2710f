//! The only place that touches `web_sys::EventSource`: one connection and its listeners.
//!
//! A [`Connection`] owns its closures; dropping it unregisters them and closes the `EventSource`, so nothing is
//! leaked with `Closure::forget` and no handler of a closed connection ever runs.

use sse_live_protocol::Event;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{EventSource, EventSourceInit};

use super::{ConnectionState, EventSourceError, Handlers};

#[wasm_bindgen(inline_js = r#"
const encoder = new TextEncoder();
let bytes = new Uint8Array(0);
function put(s, at, end) {
  const n = s.length;
  if (n > end - at) return -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 127) {
      const r = encoder.encodeInto(s.slice(i), bytes.subarray(at + i, end));
      return r.read === n - i ? at + i + r.written : -1;
    }
    bytes[at + i] = c;
  }
  return at + n;
}
export function listen(memory, source, type, deliver) {
  let ptr = 0, cap = 0;
  const listener = (e) => {
    const id = e.lastEventId, data = String(e.data);
    let split, end;
    for (;;) {
      if (ptr + cap > bytes.length) bytes = new Uint8Array(memory.buffer);
      split = put(id, ptr, ptr + cap);
      end = split < 0 ? -1 : put(data, split, ptr + cap);
      if (end >= 0) break;
      cap = Math.max(2 * cap, 3 * (id.length + data.length));
      ptr = deliver(-1, cap);
    }
    deliver(split - ptr, end - split);
  };
  if (type === 'message') source.onmessage = listener; else source.addEventListener(type, listener);
  return listener;
}
"#)]
extern "C" {
    /// Delivers `source`'s events of type `event_type` (`message` through `onmessage`) to `deliver`, in one call
    /// from JavaScript per message. The listener, in JavaScript, reads the event's id and data and writes them as
    /// UTF-8 (`put`: ASCII by hand, the rest with `TextEncoder`) into `deliver`'s buffer in wasm's `memory`, asking
    /// for a larger one when they do not fit (`deliver(-1, n)` returns the address of one of `n` bytes), then calls
    /// `deliver(id bytes, data bytes)`. A listener in wasm took five calls across per message (itself, a getter
    /// for each string, and wasm-bindgen's allocation of each string's copy); with the page's own `JSON.parse`
    /// those crossings were most of the hook's cost per message beyond the browser's (BENCHMARKS.md, issue 12).
    /// Returns the listener, to remove it.
    fn listen(memory: &JsValue, source: &EventSource, event_type: &str, deliver: &Deliver) -> JsValue;
}

/// What a listener calls: `(-1, n)`: make the buffer `n` bytes long and return its address; `(id, data)`: a
/// message, its id's and its data's UTF-8 bytes in the buffer.
type Deliver = Closure<dyn FnMut(i32, u32) -> u32>;

/// A listener of one event type: the Rust side, and the JavaScript function registered on the `EventSource`.
struct Listener {
    event_type: String,
    function: JsValue,
    _deliver: Deliver,
}

/// One open `EventSource` with its listeners. Dropping it closes the connection.
pub(super) struct Connection {
    source: EventSource,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    /// `message` (through `onmessage`) first, then the other event types.
    listeners: Vec<Listener>,
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

        let sink = handlers.listener;
        let (opened, failed) = (sink.clone(), sink.clone());
        let on_open =
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| opened.state(ConnectionState::Open));
        // A listener per event type, which knows its type: per message, the data and the id are all that cross
        // from JavaScript (the cost of every message of a burst).
        let memory = wasm_bindgen::memory();
        let listener = |event_type: String| {
            let sink = sink.clone();
            let mut buffer = Vec::new();
            // Each message is copied into this event's strings: no allocation per message once they are long enough.
            let mut event = Event { event_type: event_type.clone(), ..Event::default() };
            let deliver = Deliver::new(move |id_len: i32, data_len: u32| {
                let Ok(id_len) = usize::try_from(id_len) else {
                    // Room for a message of up to `data_len` bytes (the old buffer's content is not needed).
                    buffer = vec![0; data_len as usize];
                    return buffer.as_mut_ptr() as u32;
                };
                let Some((id, data)) = buffer.get(..id_len + data_len as usize).map(|bytes| bytes.split_at(id_len))
                else {
                    return 0;
                };
                copy_text(&mut event.last_event_id, id);
                copy_text(&mut event.data, data);
                sink.message(&event);
                0
            });
            let function = listen(&memory, &source, &event_type, &deliver);
            Listener { event_type, function, _deliver: deliver }
        };
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let ready_state =
                event.target().and_then(|t| t.dyn_into::<EventSource>().ok()).map_or(2, |s| s.ready_state());
            let state = ConnectionState::from_ready_state(ready_state);
            let error = match state {
                ConnectionState::Closed => EventSourceError::ConnectionFailed,
                _ => EventSourceError::Disconnected,
            };
            failed.error(state, error)
        });
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // `message` goes through `onmessage`; registering it again would deliver each message twice.
        let listeners = std::iter::once("message".to_owned())
            .chain(events.into_iter().filter(|e| e != "message"))
            .map(listener)
            .collect();
        Ok(Self { source, _on_open: on_open, listeners, _on_error: on_error })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.source.set_onopen(None);
        self.source.set_onmessage(None);
        self.source.set_onerror(None);
        for listener in self.listeners.iter().filter(|listener| listener.event_type != "message") {
            let _ = self
                .source
                .remove_event_listener_with_callback(&listener.event_type, listener.function.unchecked_ref());
        }
        self.source.close();
    }
}

/// Replaces `into`'s text with `bytes`, which a listener wrote as UTF-8 (`TextEncoder`'s, or ASCII). A wrong byte
/// cannot come from there; were one there, the text would end before it rather than panic (not a lossy
/// conversion: `from_utf8_lossy` linked its own UTF-8 decoder, 0.5 KB of .wasm).
fn copy_text(into: &mut String, bytes: &[u8]) {
    into.clear();
    let valid = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => bytes.get(..error.valid_up_to()).and_then(|valid| std::str::from_utf8(valid).ok()).unwrap_or(""),
    };
    into.push_str(valid);
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

#[cfg(test)]
mod tests {
    use super::copy_text;

    #[test]
    fn text_is_copied_and_a_wrong_byte_ends_it_without_a_panic() {
        let mut text = String::from("the previous message, longer");
        copy_text(&mut text, "21.5 °C".as_bytes());
        assert_eq!(text, "21.5 °C");
        copy_text(&mut text, b"ok \xff then more");
        assert_eq!(text, "ok ");
        copy_text(&mut text, b"\xc3");
        assert_eq!(text, "");
    }
}
