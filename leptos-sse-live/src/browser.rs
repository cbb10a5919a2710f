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
export function listen(memory, source, types, deliver) {
  let ptr = 0, cap = 0, start = -1, head = 0, closed = false;
  const queue = [], channel = new MessageChannel();
  // Type number `k`'s event `e`, or the connection's news: `k` -2, it opened; -3, an error, `e` its readyState.
  const hand = (k, e) => {
    if (k < 0) return deliver(0, k, e);
    const id = e.lastEventId, data = String(e.data);
    let split, end;
    for (;;) {
      if (ptr + cap > bytes.length) bytes = new Uint8Array(memory.buffer);
      split = put(id, ptr, ptr + cap);
      end = split < 0 ? -1 : put(data, split, ptr + cap);
      if (end >= 0) break;
      cap = Math.max(2 * cap, 3 * (id.length + data.length));
      ptr = deliver(0, -1, cap);
    }
    deliver(k, split - ptr, end - split);
  };
  const drain = (ms) => {
    const stop = performance.now() + ms;
    while (head < queue.length && !closed) {
      hand(queue[head], queue[head + 1]);
      head += 2;
      if (head % 64 === 0 && performance.now() > stop) break;
    }
    if (head >= queue.length) return queue.length = head = 0;
    // A stream that keeps the queue from ever emptying: the events handed over go, not only when it is empty.
    if (head > 4096 && 2 * head > queue.length) { queue.copyWithin(0, head); queue.length -= head; head = 0; }
    channel.port2.postMessage(0);
  };
  channel.port1.onmessage = () => { start = -1; drain(25); };
  const take = (k, e) => {
    if (head === queue.length) {
      const t = performance.now();
      if (start < 0) { start = t; channel.port2.postMessage(0); }
      if (t - start < 8) return hand(k, e);
    }
    if (queue.push(k, e) - head > 5e5) drain(Infinity);
  };
  types = types.split('\n');
  const listeners = types.map((type, k) => {
    const listener = (e) => take(k, e);
    if (k) source.addEventListener(type, listener); else source.onmessage = listener;
    return listener;
  });
  source.onopen = () => take(-2, 0);
  source.onerror = () => take(-3, source.readyState);
  return () => {
    closed = true;
    queue.length = 0;
    channel.port1.close();
    source.onopen = source.onerror = source.onmessage = null;
    types.forEach((type, k) => k && source.removeEventListener(type, listeners[k]));
  };
}
"#)]
extern "C" {
    /// Delivers `source`'s events of the `types` (one per line, `message` first, through `onmessage`) and its
    /// `open` and `error` events to `deliver`, in one call from JavaScript each, in order. A listener, in
    /// JavaScript, reads the event's id and data and writes them as UTF-8 (`put`: ASCII by hand, the rest with
    /// `TextEncoder`) into `deliver`'s buffer in wasm's `memory`, asking for a larger one when they do not fit
    /// (`deliver(0, -1, n)` returns the address of one of `n` bytes), then calls `deliver(its type's number, id
    /// bytes, data bytes)`; `deliver(0, -2, 0)` is the opening, `deliver(0, -3, readyState)` an error. A listener in
    /// wasm took five calls across per message (itself, a getter for each string, and wasm-bindgen's allocation of
    /// each string's copy); with the page's own `JSON.parse` those crossings were most of the hook's cost per
    /// message beyond the browser's (BENCHMARKS.md, issue 12).
    ///
    /// The browser dispatches every message of what it read from the stream in one task: a burst of 10,000 is one
    /// task of 100 ms or more, half of it the browser's own work. So a task hands events over for 8 ms at most; the
    /// rest wait in a queue as they came (the event only: its two getters, which make a new JavaScript string each,
    /// were most of the listener's cost), handed over in tasks of their own (a `MessageChannel`, which runs as soon
    /// as the browser is free, unlike a nested `setTimeout`) of about 25 ms each: half the 50 ms of a long task, and
    /// fewer frames and timers between them than at 8 ms (a burst of 10,000 came in at 0.97x the plain page's rate
    /// against 0.85x, in alternating runs; BENCHMARKS.md). An opening or an error waits behind the messages before
    /// it (with the readyState it came with), so every message of a connection is handed over before its end. Past
    /// 250,000 queued events (a stream faster than the page, for long) the listener hands the queue over itself, as
    /// before the queue: the browser then stops reading, and the server sees a slow reader.
    ///
    /// Returns a function that drops the queue and removes the listeners: no `deliver` call follows it.
    fn listen(memory: &JsValue, source: &EventSource, types: &str, deliver: &Deliver) -> js_sys::Function;
}

/// What the listeners call: `(_, -1, n)`: make the buffer `n` bytes long and return its address; `(_, -2, _)`: the
/// connection opened; `(_, -3, readyState)`: an error; `(type, id, data)`: a message of the connection's event type
/// number `type`, its id's and its data's UTF-8 bytes in the buffer.
type Deliver = Closure<dyn FnMut(u32, i32, u32) -> u32>;

/// One open `EventSource` with its listeners. Dropping it closes the connection.
pub(super) struct Connection {
    source: EventSource,
    /// Removes the listeners (see [`listen`]).
    unlisten: js_sys::Function,
    _deliver: Deliver,
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
        // `message` goes through `onmessage`; registering it again would deliver each message twice.
        let types: Vec<String> =
            std::iter::once("message".to_owned()).chain(events.into_iter().filter(|e| e != "message")).collect();
        // One listener per event type, which knows its type: per message, the data and the id are all that cross
        // from JavaScript (the cost of every message of a burst). Each message is copied into its type's event:
        // no allocation per message once the strings are long enough.
        let mut received: Vec<Event> =
            types.iter().map(|event_type| Event { event_type: event_type.clone(), ..Event::default() }).collect();
        let mut buffer = Vec::new();
        let deliver = Deliver::new(move |kind: u32, id_len: i32, data_len: u32| {
            match id_len {
                // Room for a message of up to `data_len` bytes (the old buffer's content is not needed).
                -1 => {
                    buffer = vec![0; data_len as usize];
                    return buffer.as_mut_ptr() as u32;
                }
                -2 => sink.state(ConnectionState::Open),
                -3 => {
                    let state = ConnectionState::from_ready_state(data_len as u16);
                    let error = match state {
                        ConnectionState::Closed => EventSourceError::ConnectionFailed,
                        _ => EventSourceError::Disconnected,
                    };
                    sink.error(state, error);
                }
                _ => {
                    let bytes = usize::try_from(id_len).ok().and_then(|id_len| {
                        buffer.get(..id_len + data_len as usize).map(|bytes| bytes.split_at(id_len))
                    });
                    if let (Some((id, data)), Some(event)) = (bytes, received.get_mut(kind as usize)) {
                        copy_text(&mut event.last_event_id, id);
                        copy_text(&mut event.data, data);
                        sink.message(event);
                    }
                }
            }
            0
        });
        let unlisten = listen(&wasm_bindgen::memory(), &source, &types.join("\n"), &deliver);
        Ok(Self { source, unlisten, _deliver: deliver })
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let _ = self.unlisten.call0(&JsValue::NULL);
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
