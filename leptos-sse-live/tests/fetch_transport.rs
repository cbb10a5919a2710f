//! Browser tests of `use_event_source`'s fetch transport (`Transport::Fetch`), in headless Chromium against the real
//! server's `/test/*` routes: headers and POST bodies, reconnects with `Last-Event-ID` and fresh headers, typed HTTP
//! errors and their retry policy, close during a backoff, and the spec vectors read by both transports.
//!
//! Run them like `tests/use_event_source.rs` (`cargo xtask test` starts `sse-live-server --test-routes` and passes its
//! URL in `SSE_LIVE_TEST_SERVER` at compile time), with `--test fetch_transport`. Tests run one at a time in one
//! page; each counts its requests on the server under a key of its own (`?key=`), so none can see another's.

#![cfg(target_arch = "wasm32")]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    eventually, get_json, json, logged, open_streams, recording, requests, requests_reach, server,
    settled_open_streams, unique_key, until_open_streams_below, TemperatureReading,
};
use gloo_timers::future::sleep;
use leptos::prelude::*;
use leptos_sse_live::{
    use_event_source, use_event_source_with_options, ConnectionState, Event, EventSourceError, FetchOptions, Transport,
    UseEventSourceOptions, UseEventSourceReturn,
};
use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Longer than the default reconnection time (3 s): a connection that was going to retry has done so by then.
const LONGER_THAN_A_RECONNECT: Duration = Duration::from_millis(3800);

/// Options for the fetch transport with `fetch`, recording every message into the returned log.
fn fetch_options(fetch: FetchOptions) -> (UseEventSourceOptions, Arc<Mutex<Vec<Event>>>) {
    recording(UseEventSourceOptions::default().transport(Transport::Fetch(fetch)))
}

#[wasm_bindgen_test]
async fn headers_and_a_post_body_reach_the_server() {
    let key = unique_key("echo-post");
    let owner = Owner::new();
    let fetch = FetchOptions::default()
        .method("POST")
        .headers(|| {
            vec![
                ("Authorization".into(), "Bearer secret".into()),
                ("X-Test-Token".into(), "token-1".into()),
                ("Content-Type".into(), "application/json".into()),
            ]
        })
        .body(r#"{"topics":["temperatures"]}"#);
    let (options, _) = fetch_options(fetch);
    let UseEventSourceReturn { state, data, error, .. } =
        owner.with(|| use_event_source_with_options::<Value>(format!("{}/test/echo?key={key}", server()), options));
    assert_eq!(state.get_untracked(), ConnectionState::Connecting);

    eventually(Duration::from_secs(5), "the echo", || data.get_untracked().is_some()).await;
    let echo = data.get_untracked().unwrap();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["body"], r#"{"topics":["temperatures"]}"#);
    let headers = &echo["headers"];
    assert_eq!(headers["authorization"], "Bearer secret");
    assert_eq!(headers["x-test-token"], "token-1");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["accept"], "text/event-stream");
    assert_eq!(headers.get("last-event-id"), None, "no Last-Event-ID on a first connection");
    assert_eq!(state.get_untracked(), ConnectionState::Open);
    assert_eq!(error.get_untracked(), None);
    assert_eq!(requests(&key).await, 1);
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn the_headers_closure_runs_again_on_every_reconnect() {
    let key = unique_key("token");
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let fetch = FetchOptions::default().headers(move || {
        // A token "refreshed" for every attempt.
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        vec![("x-test-token".into(), format!("token-{n}"))]
    });
    let (options, log) = fetch_options(fetch);
    let owner = Owner::new();
    let UseEventSourceReturn { .. } = owner
        .with(|| use_event_source_with_options::<Value>(format!("{}/test/close-after/3?key={key}", server()), options));

    eventually(Duration::from_secs(10), "9 events over 3 connections", || log.lock().unwrap().len() >= 9).await;
    owner.cleanup();
    // Connection n carried the token of the closure's n-th call: one fresh call per attempt.
    let events = logged(&log);
    for (i, event) in events.iter().take(9).enumerate() {
        let connection = i / 3 + 1;
        assert_eq!(json(event)["token"], format!("token-{connection}"), "event {} of {events:?}", i + 1);
    }
    assert!(calls.load(Ordering::SeqCst) >= 3);
    assert!(requests(&key).await >= 3);
}

#[wasm_bindgen_test]
async fn after_server_side_cuts_ids_are_contiguous_and_last_event_id_is_sent() {
    let key = unique_key("cut");
    let (options, log) = fetch_options(FetchOptions::default());
    let owner = Owner::new();
    let UseEventSourceReturn { error, message, close, .. } = owner
        .with(|| use_event_source_with_options::<Value>(format!("{}/test/close-after/3?key={key}", server()), options));

    eventually(Duration::from_secs(10), "12 events over 4 connections", || log.lock().unwrap().len() >= 12).await;
    close();
    let events = logged(&log);
    let ids: Vec<u64> = events.iter().map(|e| json(e)["n"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (1..=ids.len() as u64).collect();
    assert_eq!(ids, expected, "nothing lost, nothing twice");
    for (event, n) in events.iter().zip(1u64..) {
        assert_eq!(event.last_event_id, n.to_string());
        assert_eq!(event.event_type, "message");
        // Each connection's events say which Last-Event-ID its request carried: none first, then the last id seen.
        let sent = json(event)["lastEventId"].clone();
        let want = if n <= 3 { Value::Null } else { Value::String(((n - 1) / 3 * 3).to_string()) };
        assert_eq!(sent, want, "the request that brought event {n}");
    }
    assert!(requests(&key).await >= 4);
    assert_eq!(error.get_untracked(), Some(EventSourceError::Disconnected), "a cut is reported as Disconnected");
    assert!(message.get_untracked().is_some());
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn statuses_that_fail_for_good_close_without_another_request() {
    let owner = Owner::new();
    let mut hooks = Vec::new();
    for code in [204u16, 401, 404, 200] {
        let key = unique_key(&format!("fail-{code}"));
        let url = format!("{}/test/status/{code}?key={key}", server());
        let (options, log) = fetch_options(FetchOptions::default());
        let hook = owner.with(|| use_event_source_with_options::<Value>(url, options));
        hooks.push((code, key, hook, log));
    }
    for (code, _, hook, _) in &hooks {
        let (state, error) = (hook.state, hook.error);
        eventually(Duration::from_secs(5), &format!("status {code} to close the connection"), || {
            state.get_untracked() == ConnectionState::Closed
        })
        .await;
        let expected = match code {
            204 => EventSourceError::ClosedByServer,
            200 => match error.get_untracked() {
                Some(EventSourceError::ContentType { content_type }) => {
                    assert!(content_type.starts_with("text/plain"), "{content_type}");
                    EventSourceError::ContentType { content_type }
                }
                other => panic!("a 200 with text/plain is a content-type error, got {other:?}"),
            },
            _ => EventSourceError::Http { status: *code, message: format!("test status {code}") },
        };
        assert_eq!(error.get_untracked(), Some(expected), "status {code}");
    }
    // Nothing reconnects, even after the reconnection time has passed.
    sleep(LONGER_THAN_A_RECONNECT).await;
    for (code, key, hook, log) in &hooks {
        assert_eq!(requests(key).await, 1, "status {code}: one request, no retry");
        assert_eq!(hook.state.get_untracked(), ConnectionState::Closed, "status {code}");
        assert!(logged(log).is_empty(), "status {code}: no message");
    }
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn server_errors_timeouts_and_throttling_are_retried() {
    let owner = Owner::new();
    let mut hooks = Vec::new();
    for code in [500u16, 503, 429, 408] {
        let key = unique_key(&format!("retry-{code}"));
        let url = format!("{}/test/status/{code}?key={key}", server());
        let (options, _) = fetch_options(FetchOptions::default());
        let hook = owner.with(|| use_event_source_with_options::<Value>(url, options));
        hooks.push((code, key, hook));
    }
    for (code, key, hook) in &hooks {
        let error = hook.error;
        eventually(Duration::from_secs(5), &format!("the {code} error"), || error.get_untracked().is_some()).await;
        assert_eq!(
            error.get_untracked(),
            Some(EventSourceError::Http { status: *code, message: format!("test status {code}") })
        );
        assert_eq!(hook.state.get_untracked(), ConnectionState::Connecting, "{code} is retried");
        requests_reach(key, Duration::from_secs(10), &format!("a second attempt after {code}"), |n| n >= 2).await;
        assert_eq!(hook.state.get_untracked(), ConnectionState::Connecting, "{code}: still retrying");
    }
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn close_during_a_backoff_stops_every_reconnect() {
    let key = unique_key("close-in-backoff");
    let (options, _) = fetch_options(FetchOptions::default());
    let owner = Owner::new();
    let UseEventSourceReturn { state, error, close, .. } = owner
        .with(|| use_event_source_with_options::<Value>(format!("{}/test/status/503?key={key}", server()), options));
    eventually(Duration::from_secs(5), "the 503", || error.get_untracked().is_some()).await;
    assert_eq!(state.get_untracked(), ConnectionState::Connecting, "waiting to retry");
    assert_eq!(requests(&key).await, 1);

    close();
    assert_eq!(state.get_untracked(), ConnectionState::Closed);
    sleep(LONGER_THAN_A_RECONNECT).await;
    assert_eq!(requests(&key).await, 1, "no attempt after close()");
    assert_eq!(state.get_untracked(), ConnectionState::Closed, "nothing wrote the state after close()");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn unmount_aborts_an_open_fetch_stream() {
    let before = settled_open_streams().await;
    let (options, _) = fetch_options(FetchOptions::default());
    let owner = Owner::new();
    let UseEventSourceReturn { state, data, .. } =
        owner.with(|| use_event_source_with_options::<Value>(format!("{}/test/echo", server()), options));
    eventually(Duration::from_secs(5), "the echo", || data.get_untracked().is_some()).await;
    assert_eq!(state.get_untracked(), ConnectionState::Open);
    let with_stream = open_streams().await;
    assert!(with_stream > before, "the server counts the stream: {before} -> {with_stream}");

    owner.cleanup();
    until_open_streams_below(before + 1, "unmount").await;
}

#[wasm_bindgen_test]
async fn invalid_json_is_a_decode_error_and_the_fetch_stream_goes_on() {
    let (options, log) = fetch_options(FetchOptions::default());
    let owner = Owner::new();
    let UseEventSourceReturn { state, data, message, error, .. } = owner.with(|| {
        use_event_source_with_options::<TemperatureReading>(format!("{}/test/invalid-json", server()), options)
    });
    eventually(Duration::from_secs(5), "the valid reading", || data.get_untracked().is_some()).await;
    assert_eq!(data.get_untracked().unwrap().temperature, 22.5);
    assert!(
        matches!(error.get_untracked(), Some(EventSourceError::Decode { ref raw, .. }) if raw == "this is not json")
    );
    assert_eq!(state.get_untracked(), ConnectionState::Open);
    assert_eq!(message.get_untracked().unwrap().last_event_id, "2");
    let ids: Vec<String> = logged(&log).into_iter().map(|e| e.last_event_id).collect();
    assert_eq!(ids, ["1", "2"], "on_message saw both, the undecodable one too");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn an_unparsable_url_is_an_error_value_with_fetch_too() {
    let (options, _) = fetch_options(FetchOptions::default());
    let owner = Owner::new();
    let UseEventSourceReturn { state, error, .. } =
        owner.with(|| use_event_source_with_options::<Value>("http://[::1", options));
    // The hook connects once it is live (an effect), never while it is created.
    assert_eq!(state.get_untracked(), ConnectionState::Connecting);
    eventually(Duration::from_secs(1), "the effect to try the URL", || {
        state.get_untracked() != ConnectionState::Connecting
    })
    .await;
    assert_eq!(state.get_untracked(), ConnectionState::Closed);
    assert!(
        matches!(error.get_untracked(), Some(EventSourceError::InvalidUrl { ref url, .. }) if url == "http://[::1"),
        "got {:?}",
        error.get_untracked()
    );
    owner.cleanup();
}

/// Reads `/test/vectors/{name}` with `transport` until the `done` event; the messages before it and `done` itself.
async fn read_vector(name: &str, transport: Transport) -> Vec<(String, String, String)> {
    let done_seen = Arc::new(Mutex::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (sink, done) = (log.clone(), done_seen.clone());
    let options = UseEventSourceOptions::default().transport(transport).events(["tick", "done"]).on_message(
        move |event: &Event| {
            let mut done = done.lock().unwrap();
            // The browser reconnects after the body ends (and the server sends `done` again): keep the first pass.
            if !*done {
                sink.lock().unwrap().push((event.event_type.clone(), event.data.clone(), event.last_event_id.clone()));
                *done = event.event_type == "done";
            }
        },
    );
    let owner = Owner::new();
    let UseEventSourceReturn { close, .. } =
        owner.with(|| use_event_source_with_options::<Value>(format!("{}/test/vectors/{name}", server()), options));
    eventually(Duration::from_secs(10), &format!("`done` after vector {name}"), || *done_seen.lock().unwrap()).await;
    close();
    owner.cleanup();
    let events = log.lock().unwrap().clone();
    events
}

#[wasm_bindgen_test]
async fn every_spec_vector_reads_the_same_over_event_source_and_fetch() {
    let names = get_json("/test/vectors").await;
    let names: Vec<String> = serde_json::from_value(names).expect("a list of vector names");
    assert!(names.len() >= 15, "the server has the vectors: {names:?}");
    for name in &names {
        let native = read_vector(name, Transport::EventSource).await;
        let fetched = read_vector(name, Transport::Fetch(FetchOptions::default())).await;
        assert_eq!(fetched, native, "vector {name}: fetch transport vs the browser's EventSource");
        assert!(native.len() >= 2, "vector {name} has events before `done`: {native:?}");
        let (event_type, data, _) = native.last().unwrap();
        assert_eq!((event_type.as_str(), data.as_str()), ("done", "end"), "vector {name}");
    }
}

/// Removes `window.EventSource` (as in a browser without it) until dropped, also when the test fails.
struct NoEventSource(wasm_bindgen::JsValue);

impl NoEventSource {
    fn new() -> Self {
        let global = js_sys::global();
        let saved = js_sys::Reflect::get(&global, &"EventSource".into()).expect("window.EventSource");
        assert!(js_sys::Reflect::delete_property(&global, &"EventSource".into()).expect("delete window.EventSource"));
        Self(saved)
    }
}

impl Drop for NoEventSource {
    fn drop(&mut self) {
        let _ = js_sys::Reflect::set(&js_sys::global(), &"EventSource".into(), &self.0);
    }
}

#[wasm_bindgen_test]
async fn without_event_source_the_default_transport_falls_back_to_fetch() {
    let _no_event_source = NoEventSource::new();
    let key = unique_key("fallback");
    let owner = Owner::new();
    let echo = owner.with(|| use_event_source::<Value>(format!("{}/test/echo?key={key}", server())));
    // Only the fetch transport can report an HTTP status: EventSource would say ConnectionFailed.
    let missing = owner.with(|| use_event_source::<Value>(format!("{}/test/status/404?key={key}-404", server())));

    eventually(Duration::from_secs(5), "the echo over fetch", || echo.data.get_untracked().is_some()).await;
    assert_eq!(echo.state.get_untracked(), ConnectionState::Open);
    assert_eq!(echo.data.get_untracked().unwrap()["headers"]["accept"], "text/event-stream");
    eventually(Duration::from_secs(5), "the 404 as a typed HTTP error", || {
        matches!(missing.error.get_untracked(), Some(EventSourceError::Http { status: 404, .. }))
    })
    .await;
    assert_eq!(missing.state.get_untracked(), ConnectionState::Closed);
    owner.cleanup();
}
