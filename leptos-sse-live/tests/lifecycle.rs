//! Browser tests of the hook's lifecycle, in headless Chromium against the real server: a reactive URL (the old
//! connection closed, the new one opened, nothing after `close()`; an empty or `None` URL idle), hundreds of
//! mount/unmount cycles that leave no stream open on the server (both transports), and stall detection
//! (`stall_timeout`) over both transports against `/test/stall`, a stream that sends one event and then nothing at
//! all.
//!
//! Run them like `tests/use_event_source.rs` (`cargo xtask test` starts `sse-live-server --test-routes` and passes its
//! URL in `SSE_LIVE_TEST_SERVER` at compile time), with `--test lifecycle`. Tests run one at a time in one page; each
//! counts its requests on the server under a key of its own (`?key=`).

#![cfg(target_arch = "wasm32")]

mod common;

use std::time::Duration;

use common::{
    eventually, json, logged, open_streams, recording, requests, requests_reach, server, settled_open_streams,
    unique_key, until_open_streams_are,
};
use gloo_timers::future::sleep;
use leptos::prelude::*;
use leptos_sse_live::Event;
use leptos_sse_live::{
    use_event_source, use_event_source_with_options, ConnectionState, EventSourceError, FetchOptions, IntoUrlSignal,
    ReconnectLimit, Transport, UseEventSourceOptions, UseEventSourceReturn,
};
use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// Polls `/healthz` until the server counts at most `count` open streams; fails after 10 s.
async fn until_open_streams_at_most(count: u64, after: &str) {
    let start = js_sys::Date::now();
    loop {
        let now = open_streams().await;
        if now <= count {
            return;
        }
        assert!(
            js_sys::Date::now() - start < 10_000.0,
            "the server still has {now} open streams (was {count}) {after}"
        );
        sleep(Duration::from_millis(100)).await;
    }
}

/// Switches a reactive URL from the temperatures to `/test/echo`, then closes and switches again.
async fn a_new_url_closes_the_old_connection_and_opens_the_new_one(transport: Transport, name: &str) {
    let (new_key, after_close_key) = (unique_key(&format!("{name}-url")), unique_key(&format!("{name}-closed")));
    let before = settled_open_streams().await;
    let url = RwSignal::new(format!("{}/e/temperatures", server()));
    let (options, log) = recording(UseEventSourceOptions::default().transport(transport));
    let owner = Owner::new();
    let UseEventSourceReturn { state, data, error, close, .. } =
        owner.with(|| use_event_source_with_options::<Value>(url, options));
    eventually(Duration::from_secs(5), "a temperature", || data.get_untracked().is_some()).await;
    assert_eq!(state.get_untracked(), ConnectionState::Open);
    until_open_streams_are(before + 1, "with the temperature stream open").await;

    url.set(format!("{}/test/echo?key={new_key}", server()));
    eventually(Duration::from_secs(5), "the echo from the new URL", || {
        data.get_untracked().is_some_and(|value| value.get("method").is_some())
    })
    .await;
    assert_eq!(state.get_untracked(), ConnectionState::Open);
    assert_eq!(error.get_untracked(), None);
    // The new stream is open and counted (it sent its event); the old one is gone.
    until_open_streams_are(before + 1, "after the URL changed: the old stream must be closed").await;
    assert_eq!(requests(&new_key).await, 1, "one request to the new URL");
    // Well past a temperature reading's interval: nothing of the old connection arrives any more.
    sleep(Duration::from_millis(1500)).await;
    let events = logged(&log);
    let first_echo = events.iter().position(|e| json(e).get("method").is_some()).expect("the echo was logged");
    assert_eq!(events.len(), first_echo + 1, "only the echo after the switch: {events:?}");
    assert!(data.get_untracked().is_some_and(|value| value.get("method").is_some()), "data is still the echo");

    close();
    assert_eq!(state.get_untracked(), ConnectionState::Closed);
    until_open_streams_are(before, "after close()").await;
    url.set(format!("{}/test/echo?key={after_close_key}", server()));
    sleep(Duration::from_millis(1500)).await;
    assert_eq!(requests(&after_close_key).await, 0, "a URL change after close() opens nothing");
    assert_eq!(state.get_untracked(), ConnectionState::Closed);
    assert_eq!(open_streams().await, before);
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_new_url_closes_the_old_event_source_and_opens_the_new_one() {
    a_new_url_closes_the_old_connection_and_opens_the_new_one(Transport::EventSource, "native").await;
}

#[wasm_bindgen_test]
async fn a_new_url_aborts_the_old_fetch_and_opens_the_new_one() {
    a_new_url_closes_the_old_connection_and_opens_the_new_one(Transport::Fetch(FetchOptions::default()), "fetch").await;
}

#[wasm_bindgen_test]
async fn a_url_that_does_not_change_keeps_its_connection() {
    let key = unique_key("same-url");
    let url = RwSignal::new(format!("{}/test/echo?key={key}", server()));
    let owner = Owner::new();
    let UseEventSourceReturn { data, .. } = owner.with(|| use_event_source::<Value>(url));
    eventually(Duration::from_secs(5), "the echo", || data.get_untracked().is_some()).await;
    url.set(url.get_untracked());
    sleep(Duration::from_millis(500)).await;
    assert_eq!(requests(&key).await, 1, "setting the same URL again does not reconnect");
    owner.cleanup();
}

/// Mounts the hook in an `Owner` `cycles` times, each time until it is `Open`, then unmounts it.
async fn mount_and_unmount(cycles: u32, options: impl Fn() -> UseEventSourceOptions) {
    let before = settled_open_streams().await;
    let start = js_sys::Date::now();
    for cycle in 0..cycles {
        let owner = Owner::new();
        let UseEventSourceReturn { state, .. } =
            owner.with(|| use_event_source_with_options::<Value>(format!("{}/e/temperatures", server()), options()));
        eventually(Duration::from_secs(5), &format!("cycle {cycle} opens"), || {
            state.get_untracked() == ConnectionState::Open
        })
        .await;
        owner.cleanup();
        assert_eq!(state.try_get_untracked(), None, "the unmounted hook's signals are disposed");
    }
    leptos::logging::log!("{cycles} cycles in {} ms", js_sys::Date::now() - start);
    until_open_streams_at_most(before, &format!("after {cycles} mount/unmount cycles")).await;
}

#[wasm_bindgen_test]
async fn two_hundred_mount_unmount_cycles_leak_no_event_source() {
    mount_and_unmount(200, UseEventSourceOptions::default).await;
}

#[wasm_bindgen_test]
async fn fifty_mount_unmount_cycles_leak_no_fetch_stream() {
    mount_and_unmount(50, || UseEventSourceOptions::default().transport(Transport::Fetch(FetchOptions::default())))
        .await;
}

/// Opens `/test/stall` (one event, then silence) with `options`; returns the hook's log and owner.
fn stalled_stream(key: &str, options: UseEventSourceOptions) -> (Owner, std::sync::Arc<std::sync::Mutex<Vec<Event>>>) {
    let (options, log) = recording(options);
    let owner = Owner::new();
    owner.with(|| {
        let _ = use_event_source_with_options::<Value>(format!("{}/test/stall?key={key}", server()), options);
    });
    (owner, log)
}

#[wasm_bindgen_test]
async fn a_stalled_event_source_is_replaced_with_the_last_event_id_and_the_budget_untouched() {
    let key = unique_key("native-stall");
    // Limited(0): the browser's failures would get no retry at all; a stall is not one of them.
    let options = UseEventSourceOptions::default()
        .stall_timeout(Duration::from_secs(1))
        .reconnect_limit(ReconnectLimit::Limited(0))
        .reconnect_initial_delay(Duration::from_millis(200));
    let (owner, log) = stalled_stream(&key, options);
    requests_reach(&key, Duration::from_secs(4), "a reconnect after the stall", |n| n >= 2).await;
    eventually(Duration::from_secs(3), "the second stream's event", || logged(&log).len() >= 2).await;
    let events = logged(&log);
    assert_eq!(json(&events[0])["lastEventIdQuery"], Value::Null);
    assert_eq!(json(&events[1])["request"], 2);
    assert_eq!(json(&events[1])["lastEventIdQuery"], "1", "the reconnect carries the last event id");
    requests_reach(&key, Duration::from_secs(4), "a third stream: a stall spends no budget", |n| n >= 3).await;
    owner.cleanup();
    let after = requests(&key).await;
    sleep(Duration::from_millis(2000)).await;
    assert_eq!(requests(&key).await, after, "nothing after unmount");
}

#[wasm_bindgen_test]
async fn a_stalled_fetch_stream_is_aborted_and_resumed_with_last_event_id() {
    let key = unique_key("fetch-stall");
    let options = UseEventSourceOptions::default()
        .transport(Transport::Fetch(FetchOptions::default()))
        .stall_timeout(Duration::from_secs(1));
    let (owner, log) = stalled_stream(&key, options);
    requests_reach(&key, Duration::from_secs(4), "a reconnect after the stall", |n| n >= 2).await;
    eventually(Duration::from_secs(3), "the second stream's event", || logged(&log).len() >= 2).await;
    let events = logged(&log);
    assert_eq!(json(&events[0])["lastEventId"], Value::Null);
    assert_eq!(json(&events[1])["request"], 2);
    assert_eq!(json(&events[1])["lastEventId"], "1", "the reconnect carries Last-Event-ID");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn without_stall_timeout_a_silent_stream_stays_open() {
    let (native, fetch) = (unique_key("native-no-stall"), unique_key("fetch-no-stall"));
    let (native_owner, native_log) = stalled_stream(&native, UseEventSourceOptions::default());
    let fetch_options = UseEventSourceOptions::default().transport(Transport::Fetch(FetchOptions::default()));
    let (fetch_owner, fetch_log) = stalled_stream(&fetch, fetch_options);
    eventually(Duration::from_secs(5), "both first events", || {
        logged(&native_log).len() == 1 && logged(&fetch_log).len() == 1
    })
    .await;
    sleep(Duration::from_secs(3)).await;
    assert_eq!(requests(&native).await, 1, "no stall detection by default (native)");
    assert_eq!(requests(&fetch).await, 1, "no stall detection by default (fetch)");
    native_owner.cleanup();
    fetch_owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_stall_reports_disconnected_while_reconnecting() {
    let key = unique_key("stall-state");
    let options = UseEventSourceOptions::default()
        .stall_timeout(Duration::from_millis(500))
        .reconnect_initial_delay(Duration::from_millis(1500))
        .reconnect_max_delay(Duration::from_millis(1500));
    let owner = Owner::new();
    let UseEventSourceReturn { state, error, .. } =
        owner.with(|| use_event_source_with_options::<Value>(format!("{}/test/stall?key={key}", server()), options));
    eventually(Duration::from_secs(5), "open", || state.get_untracked() == ConnectionState::Open).await;
    eventually(Duration::from_secs(3), "the stall", || error.get_untracked().is_some()).await;
    assert_eq!(error.get_untracked(), Some(EventSourceError::Disconnected));
    assert_eq!(state.get_untracked(), ConnectionState::Connecting);
    owner.cleanup();
}

/// `/test/notice?fail_first=1` under `key`: a 503, then a stream that stays open.
async fn an_error_is_cleared_when_the_stream_opens_again(transport: Transport, name: &str) {
    let key = unique_key(&format!("{name}-error-cleared"));
    let options = common::constant_backoff(300, ReconnectLimit::Limited(3)).transport(transport);
    let owner = Owner::new();
    let UseEventSourceReturn { state, error, data, .. } = owner.with(|| {
        use_event_source_with_options::<Value>(format!("{}/test/notice?key={key}&fail_first=1", server()), options)
    });
    eventually(Duration::from_secs(5), "the first answer's error", || error.get_untracked().is_some()).await;
    eventually(Duration::from_secs(5), "open after the retry", || data.get_untracked().is_some()).await;
    assert_eq!(state.get_untracked(), ConnectionState::Open);
    assert_eq!(error.get_untracked(), None, "no stale error next to Open");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn an_error_is_cleared_when_the_event_source_opens_again() {
    an_error_is_cleared_when_the_stream_opens_again(Transport::EventSource, "native").await;
}

#[wasm_bindgen_test]
async fn an_error_is_cleared_when_the_fetch_stream_opens_again() {
    an_error_is_cleared_when_the_stream_opens_again(Transport::Fetch(FetchOptions::default()), "fetch").await;
}

/// `/test/stall` (one event with id 1, then silence) says which last event id its request carried.
async fn the_last_event_id_stays_with_its_url(transport: Transport, name: &str) {
    let keys = [1, 2, 3].map(|n| unique_key(&format!("{name}-id-url-{n}")));
    let stall = |key: &str| format!("{}/test/stall?key={key}", server());
    let url = RwSignal::new(stall(&keys[0]));
    let (options, log) = recording(UseEventSourceOptions::default().transport(transport));
    let owner = Owner::new();
    let UseEventSourceReturn { last_event_id, open, close, .. } =
        owner.with(|| use_event_source_with_options::<Value>(url, options));
    eventually(Duration::from_secs(5), "the first stream's event", || logged(&log).len() == 1).await;
    eventually(Duration::from_secs(2), "its id", || last_event_id.get_untracked() == "1").await;

    // A new URL while connected.
    url.set(stall(&keys[1]));
    eventually(Duration::from_secs(5), "the second stream's event", || logged(&log).len() == 2).await;

    // Closed, a new URL, then `open()`: the id of the URL it had is not sent to the new one.
    close();
    url.set(stall(&keys[2]));
    open();
    assert_eq!(last_event_id.get_untracked(), "", "the new URL starts without the old one's id");
    eventually(Duration::from_secs(5), "the third stream's event", || logged(&log).len() == 3).await;
    for event in &logged(&log)[1..] {
        let data = json(event);
        assert_eq!(data["lastEventId"], Value::Null, "no Last-Event-ID to another URL: {data}");
        assert_eq!(data["lastEventIdQuery"], Value::Null, "no lastEventId to another URL: {data}");
    }
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn the_last_event_id_never_carries_over_to_another_url_native() {
    the_last_event_id_stays_with_its_url(Transport::EventSource, "native").await;
}

#[wasm_bindgen_test]
async fn the_last_event_id_never_carries_over_to_another_url_fetch() {
    the_last_event_id_stays_with_its_url(Transport::Fetch(FetchOptions::default()), "fetch").await;
}

/// A URL signal that starts `idle` opens nothing (state `Closed`, no error, no request); set to an echo URL (`set`)
/// it opens; `idle` again, it closes and stays idle.
async fn an_idle_url_opens_nothing<V>(name: &str, idle: V, set: impl Fn(String) -> V)
where
    V: Clone + Send + Sync + 'static,
    RwSignal<V>: IntoUrlSignal,
{
    let key = unique_key(name);
    let before = settled_open_streams().await;
    let url = RwSignal::new(idle.clone());
    let owner = Owner::new();
    let UseEventSourceReturn { state, data, error, .. } = owner.with(|| use_event_source::<Value>(url));
    assert_eq!(state.get_untracked(), ConnectionState::Closed, "idle from the start");
    sleep(Duration::from_millis(800)).await;
    assert_eq!(state.get_untracked(), ConnectionState::Closed);
    assert_eq!(error.get_untracked(), None, "no request, so no error");
    assert_eq!(open_streams().await, before);

    url.set(set(format!("{}/test/echo?key={key}", server())));
    eventually(Duration::from_secs(5), "the echo", || data.get_untracked().is_some()).await;
    assert_eq!(state.get_untracked(), ConnectionState::Open);
    url.set(idle);
    sleep(Duration::from_millis(50)).await; // the URL's effect runs
    assert_eq!(state.get_untracked(), ConnectionState::Closed, "idle again");
    until_open_streams_are(before, "after the URL became idle").await;
    sleep(Duration::from_millis(500)).await;
    assert_eq!((state.get_untracked(), error.get_untracked()), (ConnectionState::Closed, None));
    assert_eq!(requests(&key).await, 1);
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn an_empty_url_is_idle() {
    an_idle_url_opens_nothing("idle-url", String::new(), |url| url).await;
}

#[wasm_bindgen_test]
async fn a_none_url_is_idle() {
    an_idle_url_opens_nothing("none-url", None, Some).await;
    // A constant `None` too: idle for good.
    let before = settled_open_streams().await;
    let owner = Owner::new();
    let constant = owner.with(|| use_event_source::<Value>(None::<String>));
    sleep(Duration::from_millis(500)).await;
    assert_eq!((constant.state.get_untracked(), constant.error.get_untracked()), (ConnectionState::Closed, None));
    assert_eq!(open_streams().await, before);
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn immediate_false_opens_nothing_until_open() {
    let key = unique_key("not-immediate");
    let url = RwSignal::new(format!("{}/test/echo?key={key}", server()));
    let owner = Owner::new();
    let UseEventSourceReturn { state, data, open, .. } =
        owner.with(|| use_event_source_with_options::<Value>(url, UseEventSourceOptions::default().immediate(false)));
    assert_eq!(state.get_untracked(), ConnectionState::Closed);
    sleep(Duration::from_millis(800)).await;
    url.set(format!("{}/test/echo?key={key}&changed", server()));
    sleep(Duration::from_millis(500)).await;
    assert_eq!(requests(&key).await, 0, "nothing opens before open(), not even on a URL change");
    assert_eq!(state.get_untracked(), ConnectionState::Closed);
    open();
    eventually(Duration::from_secs(5), "the echo after open()", || data.get_untracked().is_some()).await;
    assert_eq!(state.get_untracked(), ConnectionState::Open);
    assert_eq!(requests(&key).await, 1);
    owner.cleanup();
}
