//! What the browser tests share: the real server's URL, polling with deadlines, the server's counters, and a
//! place in the page to mount components. Each `tests/*.rs` browser suite has `mod common;`.

#![allow(dead_code)] // each suite uses a different part
#![allow(unreachable_pub)] // a module of each test crate, shared: `pub` for its users there

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gloo_timers::future::sleep;
use leptos_sse_live::Event;
use leptos_sse_live::{ReconnectLimit, UseEventSourceOptions};
use serde_json::Value;
use wasm_bindgen::JsCast;

/// A reading of the server's `temperatures` topic (and of `/test/invalid-json`), as a user of the hook declares it.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct TemperatureReading {
    /// Degrees Celsius.
    pub temperature: f64,
}

/// The real server's base URL, baked in at compile time by `cargo xtask test`.
pub fn server() -> &'static str {
    match option_env!("SSE_LIVE_TEST_SERVER") {
        Some(url) => url,
        None => panic!("SSE_LIVE_TEST_SERVER is not set: run the browser tests with `cargo xtask test`"),
    }
}

/// Polls `condition` every 20 ms until it holds; fails the test with `what` after `timeout`.
pub async fn eventually(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let start = js_sys::Date::now();
    while !condition() {
        if js_sys::Date::now() - start > timeout.as_millis() as f64 {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        sleep(Duration::from_millis(20)).await;
    }
}

/// A key no other test (or earlier run against the same server) uses, for the server's request counts.
pub fn unique_key(name: &str) -> String {
    format!("{name}-{}", (js_sys::Math::random() * 1e12) as u64)
}

/// GETs `path` on the server and reads the answer as JSON.
pub async fn get_json(path: &str) -> Value {
    gloo_net::http::Request::get(&format!("{}{path}", server()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {path} answers JSON: {e}"))
}

/// How many requests the server's test routes counted under `key`.
pub async fn requests(key: &str) -> u64 {
    get_json(&format!("/test/requests/{key}")).await["requests"].as_u64().expect("a numeric request count")
}

/// Polls the request count under `key` until `condition` holds; fails after `timeout`.
pub async fn requests_reach(key: &str, timeout: Duration, what: &str, condition: impl Fn(u64) -> bool) -> u64 {
    let start = js_sys::Date::now();
    loop {
        let count = requests(key).await;
        if condition(count) {
            return count;
        }
        if js_sys::Date::now() - start > timeout.as_millis() as f64 {
            panic!("timed out after {timeout:?} waiting for {what}: {count} request(s) under {key}");
        }
        sleep(Duration::from_millis(50)).await;
    }
}

/// The server's count of open event streams, from `GET /healthz`.
pub async fn open_streams() -> u64 {
    get_json("/healthz").await["openStreams"].as_u64().expect("/healthz has a numeric openStreams")
}

/// `options` with an `on_message` that appends every message to the returned log.
pub fn recording(options: UseEventSourceOptions) -> (UseEventSourceOptions, Arc<Mutex<Vec<Event>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    (options.on_message(move |event| sink.lock().unwrap().push(event.clone())), log)
}

pub fn logged(log: &Mutex<Vec<Event>>) -> Vec<Event> {
    log.lock().unwrap().clone()
}

/// Polls `/healthz` until the server counts fewer than `count` open streams; fails after 10 s.
pub async fn until_open_streams_below(count: u64, after: &str) {
    let start = js_sys::Date::now();
    loop {
        let now = open_streams().await;
        if now < count {
            return;
        }
        assert!(js_sys::Date::now() - start < 10_000.0, "the server still has {now} open streams after {after}");
        sleep(Duration::from_millis(100)).await;
    }
}

/// A fresh element in the document to mount a component into.
pub fn container() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

/// The server's open-stream count once it stops changing (streams of earlier tests may still be closing).
pub async fn settled_open_streams() -> u64 {
    let mut last = open_streams().await;
    for _ in 0..50 {
        sleep(Duration::from_millis(300)).await;
        let now = open_streams().await;
        if now == last {
            return now;
        }
        last = now;
    }
    panic!("the server's open-stream count never settled (last {last})")
}

/// A message's data as JSON; fails the test when it is not.
pub fn json(event: &Event) -> Value {
    serde_json::from_str(&event.data).unwrap_or_else(|e| panic!("JSON data in {event:?}: {e}"))
}

/// `options` with an `on_failed` that counts its calls in the returned counter.
pub fn counting_failures(options: UseEventSourceOptions) -> (UseEventSourceOptions, Arc<AtomicU32>) {
    let failures = Arc::new(AtomicU32::new(0));
    let counter = failures.clone();
    let on_failed = move || {
        counter.fetch_add(1, Ordering::SeqCst);
    };
    (options.on_failed(on_failed), failures)
}

/// A constant wait of `millis` between the hook's reconnects, at most `limit` of them per outage.
pub fn constant_backoff(millis: u64, limit: ReconnectLimit) -> UseEventSourceOptions {
    UseEventSourceOptions::default()
        .reconnect_limit(limit)
        .reconnect_initial_delay(Duration::from_millis(millis))
        .reconnect_factor(1.0)
        .reconnect_max_delay(Duration::from_millis(millis))
}

/// Polls `/healthz` until the server counts exactly `count` open streams; fails after 10 s.
pub async fn until_open_streams_are(count: u64, after: &str) {
    let start = js_sys::Date::now();
    loop {
        let now = open_streams().await;
        if now == count {
            return;
        }
        assert!(js_sys::Date::now() - start < 10_000.0, "the server has {now} open streams, not {count}, {after}");
        sleep(Duration::from_millis(100)).await;
    }
}

/// Makes `document.visibilityState` read `hidden` (or the browser's own value again) and tells the page.
pub fn set_hidden(hidden: bool) {
    let script = if hidden {
        "Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });"
    } else {
        "delete document.visibilityState;"
    };
    js_sys::eval(script).unwrap_or_else(|e| panic!("{script}: {e:?}"));
    let event = web_sys::Event::new("visibilitychange").unwrap();
    web_sys::window().unwrap().document().unwrap().dispatch_event(&event).unwrap();
}
