//! Browser tests of what the page tells the hook, in headless Chromium against the real server: `online` (the network
//! is back) reconnects at once, and with `close_when_hidden` a page hidden past the grace period closes its stream and
//! reopens it with the last event id when visible again. The tests dispatch the browser's own events (`online` on the
//! window, `visibilitychange` on the document, with `document.visibilityState` overridden while "hidden").
//!
//! Run them like `tests/use_event_source.rs` (`cargo xtask test` starts `sse-live-server --test-routes` and passes its
//! URL in `SSE_LIVE_TEST_SERVER` at compile time), with `--test page_events`.

#![cfg(target_arch = "wasm32")]

mod common;

use std::time::Duration;

use common::{
    constant_backoff, counting_failures, eventually, json, logged, recording, requests, requests_reach, server,
    set_hidden, unique_key,
};
use gloo_timers::future::sleep;
use leptos::prelude::*;
use leptos_sse_live::{
    use_event_source, use_event_source_with_options, ConnectionState, EventSourceError, FetchOptions, ReconnectLimit,
    Transport, UseEventSourceOptions,
};
use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// The browser's `online` event, as when the network comes back.
fn network_back() {
    let event = web_sys::Event::new("online").unwrap();
    web_sys::window().unwrap().dispatch_event(&event).unwrap();
}

/// Waits long enough and asserts that the request count under `key` stays at `count`.
async fn no_more_requests(key: &str, count: u64, what: &str) {
    sleep(Duration::from_millis(1000)).await;
    assert_eq!(requests(key).await, count, "{what}");
}

/// A 503 with a reconnect a minute away: `online` must not wait for it.
async fn online_cuts_a_pending_reconnect_short(transport: Transport, name: &str) {
    let key = unique_key(&format!("online-{name}"));
    let options = constant_backoff(60_000, ReconnectLimit::Limited(5)).transport(transport);
    let owner = Owner::new();
    let hook = owner
        .with(|| use_event_source_with_options::<Value>(format!("{}/test/status/503?key={key}", server()), options));
    eventually(Duration::from_secs(5), "the first failure", || hook.error.get_untracked().is_some()).await;
    assert_eq!(hook.state.get_untracked(), ConnectionState::Connecting, "{name}: a reconnect is pending");
    no_more_requests(&key, 1, "the reconnect waits its minute").await;

    network_back();
    requests_reach(&key, Duration::from_secs(3), "the reconnect on `online`", |n| n == 2).await;
    no_more_requests(&key, 2, "one reconnect per `online`, then the backoff again").await;
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn online_reconnects_a_pending_event_source_at_once() {
    online_cuts_a_pending_reconnect_short(Transport::EventSource, "native").await;
}

#[wasm_bindgen_test]
async fn online_reconnects_a_pending_fetch_at_once() {
    online_cuts_a_pending_reconnect_short(Transport::Fetch(FetchOptions::default()), "fetch").await;
}

#[wasm_bindgen_test]
async fn online_after_the_budget_is_spent_tries_again_with_a_fresh_budget() {
    let key = unique_key("online-spent");
    let (options, failures) = counting_failures(constant_backoff(100, ReconnectLimit::Limited(1)));
    let owner = Owner::new();
    let hook = owner
        .with(|| use_event_source_with_options::<Value>(format!("{}/test/status/503?key={key}", server()), options));
    eventually(Duration::from_secs(5), "giving up", || hook.state.get_untracked() == ConnectionState::Closed).await;
    assert_eq!(hook.error.get_untracked(), Some(EventSourceError::ConnectionFailed));
    assert_eq!(requests(&key).await, 2, "one request and one retry");

    network_back();
    // A fresh budget: one request and one retry again, then given up again.
    requests_reach(&key, Duration::from_secs(3), "a new attempt and its retry", |n| n == 4).await;
    eventually(Duration::from_secs(3), "giving up again", || hook.state.get_untracked() == ConnectionState::Closed)
        .await;
    assert_eq!(failures.load(std::sync::atomic::Ordering::SeqCst), 2, "on_failed once per spent budget");
    no_more_requests(&key, 4, "nothing after the second budget").await;
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn online_leaves_an_open_stream_and_a_closed_hook_alone() {
    let (open_key, closed_key) = (unique_key("online-open"), unique_key("online-closed"));
    let owner = Owner::new();
    let open = owner.with(|| use_event_source::<Value>(format!("{}/test/echo?key={open_key}", server())));
    let closed = owner.with(|| use_event_source::<Value>(format!("{}/test/echo?key={closed_key}", server())));
    eventually(Duration::from_secs(5), "both open", || {
        open.state.get_untracked() == ConnectionState::Open && closed.state.get_untracked() == ConnectionState::Open
    })
    .await;
    (closed.close)();
    // A 404 fails for good: `online` cannot make it right.
    let not_found_key = unique_key("online-404");
    let options = UseEventSourceOptions::default().transport(Transport::Fetch(FetchOptions::default()));
    let failed = owner.with(|| {
        use_event_source_with_options::<Value>(format!("{}/test/status/404?key={not_found_key}", server()), options)
    });
    eventually(Duration::from_secs(5), "the 404", || failed.state.get_untracked() == ConnectionState::Closed).await;

    network_back();
    no_more_requests(&open_key, 1, "an open stream is not reconnected").await;
    assert_eq!(requests(&closed_key).await, 1, "a closed hook stays closed");
    assert_eq!(requests(&not_found_key).await, 1, "a stream that failed for good stays failed");
    assert_eq!(open.state.get_untracked(), ConnectionState::Open);
    owner.cleanup();
}

/// `/test/flaky/0` under `key`: each request is one event whose id follows the last event id it was given, then the
/// body ends and the client comes back 200 ms later: a stream of contiguous ids while connected.
async fn hidden_past_the_grace_period(transport: Transport, name: &str) {
    let key = unique_key(&format!("hidden-{name}"));
    set_hidden(false);
    let options = UseEventSourceOptions::default().close_when_hidden(Duration::from_millis(300)).transport(transport);
    let (options, log) = recording(options);
    let owner = Owner::new();
    let hook =
        owner.with(|| use_event_source_with_options::<Value>(format!("{}/test/flaky/0?key={key}", server()), options));
    eventually(Duration::from_secs(5), "a few events", || logged(&log).len() >= 3).await;

    set_hidden(true);
    eventually(Duration::from_secs(3), "closed while hidden", || hook.state.get_untracked() == ConnectionState::Closed)
        .await;
    sleep(Duration::from_millis(300)).await;
    let paused_at = requests(&key).await;
    let last_before = logged(&log).last().map(|event| event.last_event_id.clone()).expect("events before hiding");
    no_more_requests(&key, paused_at, "no request while hidden").await;
    // The stream's own ends leave `Disconnected` (it reconnects every 200 ms); hiding adds no error of its own.
    let error = hook.error.get_untracked();
    assert!(matches!(error, None | Some(EventSourceError::Disconnected)), "{name}: hiding is not an error: {error:?}");

    set_hidden(false);
    eventually(Duration::from_secs(3), "events again once visible", || {
        logged(&log).iter().any(|event| json(event)["request"].as_u64() > Some(paused_at))
    })
    .await;
    let events = logged(&log);
    let ids: Vec<u64> = events.iter().map(|event| event.last_event_id.parse().expect("numeric ids")).collect();
    assert!(ids.windows(2).all(|pair| pair[1] == pair[0] + 1), "{name}: contiguous ids across the pause: {ids:?}");
    let resumed = events.iter().find(|event| json(event)["request"].as_u64() > Some(paused_at)).unwrap();
    let carried = json(resumed);
    let carried = carried["lastEventId"].as_str().or(carried["lastEventIdQuery"].as_str());
    assert_eq!(carried, Some(last_before.as_str()), "{name}: the reopened stream carries the last event id");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_hidden_page_closes_its_event_source_and_resumes_when_visible() {
    hidden_past_the_grace_period(Transport::EventSource, "native").await;
}

#[wasm_bindgen_test]
async fn a_hidden_page_closes_its_fetch_stream_and_resumes_when_visible() {
    hidden_past_the_grace_period(Transport::Fetch(FetchOptions::default()), "fetch").await;
}

#[wasm_bindgen_test]
async fn a_short_hide_within_the_grace_period_keeps_the_stream() {
    let key = unique_key("hidden-briefly");
    let options = UseEventSourceOptions::default().close_when_hidden(Duration::from_secs(2));
    let owner = Owner::new();
    let hook =
        owner.with(|| use_event_source_with_options::<Value>(format!("{}/test/echo?key={key}", server()), options));
    eventually(Duration::from_secs(5), "open", || hook.state.get_untracked() == ConnectionState::Open).await;
    set_hidden(true);
    sleep(Duration::from_millis(500)).await;
    set_hidden(false);
    sleep(Duration::from_millis(2500)).await;
    assert_eq!(hook.state.get_untracked(), ConnectionState::Open, "a tab switch shorter than the grace period");
    assert_eq!(requests(&key).await, 1, "no reconnect");
    owner.cleanup();
}
