//! Browser tests of what the hook does with the page's resources, in headless Chromium against the real server:
//! cookies go cross-origin with `with_credentials(true)` (and `Credentials::Include` on the fetch transport) and only
//! then; every listener added to an `EventSource` is removed on close, on unmount and when the hook replaces a failed
//! one (counted by wrapping `EventSource.prototype.addEventListener`/`removeEventListener`); and signal writes are
//! coalesced per animation frame, proven against a frame count of the test's own `requestAnimationFrame` loop, yet
//! `data` follows a paced stream while it runs.
//!
//! Run them like `tests/use_event_source.rs` (`cargo xtask test` starts `sse-live-server --test-routes` and passes its
//! URL in `SSE_LIVE_TEST_SERVER` at compile time), with `--test page_resources`.

#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{constant_backoff, eventually, server, unique_key};
use gloo_render::AnimationFrame;
use leptos::prelude::*;
use leptos_sse_live::{
    use_event_source_with_options, ConnectionState, Credentials, FetchOptions, ReconnectLimit, Transport,
    UseEventSourceOptions,
};
use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

// ---------------------------------------------------------------------------------------------------------------
// Cookies cross-origin

/// Has the server set the cookie `name=value` (`SameSite=Lax`, host `127.0.0.1`: the test page, on another port of
/// the same host, is the same site, so the browser sends it with cross-origin requests that include credentials).
async fn server_sets_cookie(name: &str, value: &str) {
    let response = gloo_net::http::Request::get(&format!("{}/test/set-cookie?name={name}&value={value}", server()))
        .credentials(web_sys::RequestCredentials::Include)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /test/set-cookie: {e}"));
    assert_eq!(response.status(), 204, "the server set the cookie");
}

/// The `Cookie` header the stream request under `key` carried, as `/test/timeline` saw it.
async fn cookie_sent(options: UseEventSourceOptions) -> Option<String> {
    let key = unique_key("cookie");
    let owner = Owner::new();
    let url = format!("{}/test/timeline?key={key}&open=1&stay=true", server());
    let hook = owner.with(|| use_event_source_with_options::<Value>(url, options));
    eventually(Duration::from_secs(5), "the stream's event", || hook.data.get_untracked().is_some()).await;
    let data = hook.data.get_untracked().unwrap();
    owner.cleanup();
    data["cookie"].as_str().map(str::to_owned)
}

fn carries(cookie: &Option<String>, pair: &str) -> bool {
    cookie.as_deref().is_some_and(|cookie| cookie.split("; ").any(|one| one == pair))
}

#[wasm_bindgen_test]
async fn with_credentials_sends_the_servers_cookie_cross_origin_over_both_transports() {
    let value = unique_key("v");
    server_sets_cookie("sse_live_credentials", &value).await;
    let pair = format!("sse_live_credentials={value}");

    let native = cookie_sent(UseEventSourceOptions::default().with_credentials(true)).await;
    assert!(carries(&native, &pair), "EventSource with_credentials(true) sent {native:?}, not {pair}");
    let native_without = cookie_sent(UseEventSourceOptions::default()).await;
    assert!(!carries(&native_without, &pair), "EventSource without credentials sent the cookie: {native_without:?}");

    let include = Transport::Fetch(FetchOptions::default().credentials(Credentials::Include));
    let fetch = cookie_sent(UseEventSourceOptions::default().transport(include)).await;
    assert!(carries(&fetch, &pair), "fetch with Credentials::Include sent {fetch:?}, not {pair}");
    let same_origin = Transport::Fetch(FetchOptions::default());
    let fetch_without = cookie_sent(UseEventSourceOptions::default().transport(same_origin)).await;
    assert!(!carries(&fetch_without, &pair), "fetch with the default credentials sent the cookie: {fetch_without:?}");
}

// ---------------------------------------------------------------------------------------------------------------
// Listeners

/// Wraps `EventSource` (to keep every instance) and its prototype's `addEventListener`/`removeEventListener` (to
/// record every call) in `window.__sseListeners`; `restore()` puts the originals back.
const WRAP_EVENT_SOURCE: &str = r#"
(() => {
  if (window.__sseListeners) { window.__sseListeners.restore(); }
  const proto = EventSource.prototype;
  const add = proto.addEventListener, remove = proto.removeEventListener, Original = window.EventSource;
  const log = { sources: [], added: [], removed: [] };
  proto.addEventListener = function (type, listener, options) {
    log.added.push([this, type, listener]);
    return add.call(this, type, listener, options);
  };
  proto.removeEventListener = function (type, listener, options) {
    log.removed.push([this, type, listener]);
    return remove.call(this, type, listener, options);
  };
  window.EventSource = class extends Original {
    constructor(...args) { super(...args); log.sources.push(this); }
  };
  // Added listeners with no removal of the same type and function from the same source.
  log.leaked = () => log.added.filter(([s, t, l]) => !log.removed.some(([rs, rt, rl]) => rs === s && rt === t && rl === l)).length;
  // Sources still holding an on* handler, or not closed.
  log.live = () => log.sources.filter((s) => s.onopen || s.onmessage || s.onerror || s.readyState !== 2).length;
  log.restore = () => {
    proto.addEventListener = add; proto.removeEventListener = remove; window.EventSource = Original;
    delete window.__sseListeners;
  };
  window.__sseListeners = log;
})()
"#;

/// The listener log's counts: (sources created, listeners added, leaked, sources live).
fn listener_counts() -> (u32, u32, u32, u32) {
    let count = |script: &str| {
        js_sys::eval(script).unwrap_or_else(|e| panic!("{script}: {e:?}")).as_f64().expect("a number") as u32
    };
    (
        count("window.__sseListeners.sources.length"),
        count("window.__sseListeners.added.length"),
        count("window.__sseListeners.leaked()"),
        count("window.__sseListeners.live()"),
    )
}

/// Restores the browser's `EventSource` when dropped, also when an assertion fails.
struct Wrapped;

impl Wrapped {
    fn install() -> Self {
        js_sys::eval(WRAP_EVENT_SOURCE).unwrap_or_else(|e| panic!("wrapping EventSource: {e:?}"));
        Self
    }
}

impl Drop for Wrapped {
    fn drop(&mut self) {
        let _ = js_sys::eval("window.__sseListeners && window.__sseListeners.restore()");
    }
}

/// Two extra event types: the hook adds a listener for each, and for each of the server's three notices (`reset`,
/// `shutdown`, `expired`): five per source (`message` goes through `onmessage`).
fn two_event_types() -> UseEventSourceOptions {
    UseEventSourceOptions::default().events(["tick", "progress"]).shared(false)
}

#[wasm_bindgen_test]
async fn every_event_source_listener_is_removed_on_close_and_on_unmount() {
    let _wrapped = Wrapped::install();
    let owner = Owner::new();
    let (closed, unmounted) = owner.with(|| {
        let url = |key: &str| format!("{}/test/echo?key={}", server(), unique_key(key));
        (
            use_event_source_with_options::<Value>(url("listeners-close"), two_event_types()),
            use_event_source_with_options::<Value>(url("listeners-unmount"), two_event_types()),
        )
    });
    eventually(Duration::from_secs(5), "both open", || {
        closed.state.get_untracked() == ConnectionState::Open
            && unmounted.state.get_untracked() == ConnectionState::Open
    })
    .await;
    assert_eq!(listener_counts(), (2, 10, 10, 2), "two sources, a listener per extra event type and notice each");

    (closed.close)();
    assert_eq!(listener_counts(), (2, 10, 5, 1), "close() removed its source's listeners and handlers");
    owner.cleanup();
    assert_eq!(listener_counts(), (2, 10, 0, 0), "unmount removed the other's");
}

#[wasm_bindgen_test]
async fn a_failed_event_source_replaced_by_the_hook_keeps_no_listener() {
    let _wrapped = Wrapped::install();
    let key = unique_key("listeners-retry");
    // Always 503: the browser fails each EventSource, the hook replaces it after 100 ms, twice, then gives up.
    let options = constant_backoff(100, ReconnectLimit::Limited(2)).events(["tick", "progress"]);
    let owner = Owner::new();
    let hook =
        owner.with(|| use_event_source_with_options::<Value>(format!("{}/test/timeline?key={key}", server()), options));
    eventually(Duration::from_secs(10), "the budget spent", || hook.state.get_untracked() == ConnectionState::Closed)
        .await;
    let (sources, added, leaked, _) = listener_counts();
    assert_eq!((sources, added), (3, 15), "a request and two retries, five listeners each");
    assert!(leaked <= 5, "only the last failed source may still hold its listeners: {leaked} left");
    owner.cleanup();
    assert_eq!(listener_counts(), (3, 15, 0, 0), "after unmount no source holds a listener or a handler");
}

// ---------------------------------------------------------------------------------------------------------------
// Coalescing against the frames that ran

/// The frame requested next, and the one that ran last (kept until the next one runs: it may still be running).
type Frames = RefCell<(Option<AnimationFrame>, Option<AnimationFrame>)>;

/// A `requestAnimationFrame` loop of the test's own: counts the frames that run until it is dropped, calling
/// `on_frame` in each.
struct FrameCounter {
    frames: Rc<Cell<u32>>,
    _handles: Rc<Frames>,
}

impl FrameCounter {
    fn start(on_frame: impl Fn() + 'static) -> Self {
        fn request(frames: Rc<Cell<u32>>, handles: &Rc<Frames>, on_frame: Rc<dyn Fn()>) {
            let weak = Rc::downgrade(handles);
            let frame = gloo_render::request_animation_frame(move |_| {
                let Some(handles) = weak.upgrade() else { return };
                frames.set(frames.get() + 1);
                on_frame();
                request(frames, &handles, on_frame);
            });
            let mut handles = handles.borrow_mut();
            let running = handles.0.replace(frame);
            handles.1 = running;
        }
        let frames = Rc::new(Cell::new(0));
        let handles: Rc<Frames> = Rc::default();
        request(frames.clone(), &handles, Rc::new(on_frame));
        Self { frames, _handles: handles }
    }

    fn frames(&self) -> u32 {
        self.frames.get()
    }
}

const BURST: u64 = 300;

/// A burst of 300 events over `transport`: the distinct values `on_message` saw in `data` (each one a write of the
/// signal) and the frames that ran meanwhile.
async fn burst_against_frames(options: UseEventSourceOptions) -> (usize, u32, u64) {
    let key = unique_key("frames-burst");
    let data_slot: Arc<Mutex<Option<Signal<Option<Value>>>>> = Arc::default();
    let seen: Arc<Mutex<(u64, HashSet<String>)>> = Arc::default();
    let (slot, record) = (data_slot.clone(), seen.clone());
    let options = options.events(["progress"]).terminal_event("end").on_message(move |_| {
        let data = slot.lock().unwrap().expect("the hook returned before the first message");
        let mut seen = record.lock().unwrap();
        seen.0 += 1;
        seen.1.insert(format!("{:?}", data.get_untracked()));
    });
    let counter = FrameCounter::start(|| {});
    let owner = Owner::new();
    let hook = owner.with(|| {
        use_event_source_with_options::<Value>(format!("{}/test/finite/{BURST}?key={key}", server()), options)
    });
    *data_slot.lock().unwrap() = Some(hook.data);
    eventually(Duration::from_secs(10), "the end of the burst", || {
        hook.state.get_untracked() == ConnectionState::Closed
    })
    .await;
    let frames = counter.frames();
    drop(counter);
    let (messages, values) = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(hook.data.get_untracked(), Some(serde_json::json!({ "n": BURST })));
    owner.cleanup();
    (values.len(), frames, messages)
}

async fn data_is_written_at_most_once_per_frame(transport: Transport, name: &str) {
    let (values, frames, messages) = burst_against_frames(UseEventSourceOptions::default().transport(transport)).await;
    assert_eq!(messages, BURST, "{name}: on_message saw every message");
    // `None` before the first write, then one value per frame that ran at most.
    assert!(
        values as u32 <= frames + 1,
        "{name}: `data` took {values} values over {frames} animation frames: written more than once per frame"
    );
}

#[wasm_bindgen_test]
async fn over_event_source_data_takes_at_most_one_value_per_animation_frame() {
    data_is_written_at_most_once_per_frame(Transport::EventSource, "native").await;
}

#[wasm_bindgen_test]
async fn over_fetch_data_takes_at_most_one_value_per_animation_frame() {
    data_is_written_at_most_once_per_frame(Transport::Fetch(FetchOptions::default()), "fetch").await;
}

#[wasm_bindgen_test]
async fn data_follows_a_paced_stream_while_it_runs() {
    // `/test/rate`: 60 readings at 20 per second (3 s), then `end`.
    const COUNT: u64 = 60;
    let url = format!("{}/test/rate?count={COUNT}&per_sec=20", server());
    for transport in [Transport::EventSource, Transport::Fetch(FetchOptions::default())] {
        let options = UseEventSourceOptions::default().terminal_event("end").transport(transport);
        let owner = Owner::new();
        let hook = owner.with(|| use_event_source_with_options::<Value>(url.clone(), options));
        // Each frame, the value `data` shows while the stream is still open.
        let shown: Rc<RefCell<Vec<u64>>> = Rc::default();
        let (record, data, state) = (shown.clone(), hook.data, hook.state);
        let counter = FrameCounter::start(move || {
            if state.get_untracked() == ConnectionState::Closed {
                return;
            }
            if let Some(n) = data.get_untracked().and_then(|value| value["n"].as_u64()) {
                let mut shown = record.borrow_mut();
                if shown.last() != Some(&n) {
                    shown.push(n);
                }
            }
        });
        eventually(Duration::from_secs(15), "the end of the paced stream", || {
            hook.state.get_untracked() == ConnectionState::Closed
        })
        .await;
        let frames = counter.frames();
        drop(counter);
        let shown = shown.borrow().clone();
        assert_eq!(data.get_untracked().map(|value| value["n"].clone()), Some(COUNT.into()), "the last reading");
        // Over 3 s the stream brings a new reading every 50 ms; a hook that wrote `data` only at the end (or once a
        // second) would show at most 4 values. A quarter of the readings (a frame every 200 ms) is far from that.
        assert!(
            shown.len() as u64 >= COUNT / 4,
            "`data` took only {} values while the stream ran ({frames} frames): {shown:?}",
            shown.len()
        );
        assert!(shown.windows(2).all(|pair| pair[0] < pair[1]), "in stream order: {shown:?}");
        owner.cleanup();
    }
}
