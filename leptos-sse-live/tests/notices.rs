//! Browser tests of the server's notices, in headless Chromium against the real server's `/test/notice` (two
//! events, then the notice, then 503s or streams that stay open): `event: reset` is exposed in the `reset` signal and
//! clears `history` (unless `keep_history_on_reset`); `event: shutdown` makes the outage that follows spend no
//! reconnect budget; `event: expired` calls `on_expired`, whose URL or headers the hook reconnects with, resuming
//! after the last event id. Both transports.
//!
//! Run them like `tests/use_event_source.rs` (`cargo xtask test` starts `sse-live-server --test-routes` and passes its
//! URL in `SSE_LIVE_TEST_SERVER` at compile time), with `--test notices`.

#![cfg(target_arch = "wasm32")]

mod common;

use std::time::Duration;

use common::{constant_backoff, eventually, json, logged, recording, requests, server, unique_key};
use gloo_timers::future::sleep;
use leptos::prelude::*;
use leptos_sse_live::{
    use_event_source_with_options, ConnectionState, FetchOptions, ReconnectLimit, Renewal, ResetReason, Transport,
    UseEventSourceOptions, UseEventSourceReturn,
};
use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn notice(key: &str, query: &str) -> String {
    format!("{}/test/notice?key={key}&{query}", server())
}

fn numbers(values: &[Value]) -> Vec<u64> {
    values.iter().map(|value| value["n"].as_u64().expect("a number n")).collect()
}

/// Events 1 and 2, `event: reset`, event 3, in one write: a hook clears its history, another keeps it.
async fn a_reset_is_exposed_and_clears_history(transport: Transport, name: &str) {
    let key = unique_key(&format!("{name}-reset"));
    let url = notice(&key, "kind=reset");
    let options = UseEventSourceOptions::default().history(10).transport(transport);
    let (cleared_options, log) = recording(options.clone());
    let owner = Owner::new();
    let cleared = owner.with(|| use_event_source_with_options::<Value>(url.clone(), cleared_options));
    let kept = owner.with(|| use_event_source_with_options::<Value>(url, options.keep_history_on_reset(true)));
    eventually(Duration::from_secs(5), "event 3 in both", || {
        [cleared.data, kept.data].iter().all(|data| data.get_untracked().is_some_and(|value| value["n"] == 3))
    })
    .await;
    assert_eq!(numbers(&cleared.history.get_untracked()), [3], "the reset cleared the history before it");
    assert_eq!(numbers(&kept.history.get_untracked()), [1, 2, 3], "keep_history_on_reset keeps it");
    for hook in [&cleared, &kept] {
        let reset = hook.reset.get_untracked().expect("the reset notice");
        assert_eq!(reset.reason, ResetReason::Restarted);
    }
    let events = logged(&log);
    assert_eq!(events.iter().map(|e| json(e)["n"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(events.iter().all(|e| e.event_type == "message"), "the notice is not a message: {events:?}");
    assert_eq!(requests(&key).await, 1, "one shared connection");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_reset_is_exposed_and_clears_history_native() {
    a_reset_is_exposed_and_clears_history(Transport::EventSource, "native").await;
}

#[wasm_bindgen_test]
async fn a_reset_is_exposed_and_clears_history_fetch() {
    a_reset_is_exposed_and_clears_history(Transport::Fetch(FetchOptions::default()), "fetch").await;
}

/// Events 1 and 2, `event: shutdown` with `retry: 300`, the body ends; two 503s; then a stream that stays open. With
/// a budget of 0 retries, only a shutdown that spends no budget gets the hook back.
async fn a_shutdown_spends_no_reconnect_budget(transport: Transport, name: &str) {
    let key = unique_key(&format!("{name}-shutdown"));
    let options = constant_backoff(300, ReconnectLimit::Limited(0)).transport(transport);
    let (options, log) = recording(options);
    let owner = Owner::new();
    let UseEventSourceReturn { state, data, .. } =
        owner.with(|| use_event_source_with_options::<Value>(notice(&key, "kind=shutdown&down=2"), options));
    eventually(Duration::from_secs(10), "back after the restart", || {
        data.get_untracked().is_some_and(|value| value["n"] == 10)
    })
    .await;
    assert_eq!(state.get_untracked(), ConnectionState::Open);
    assert_eq!(requests(&key).await, 4, "the stream, two 503s, the stream again");
    let events = logged(&log);
    assert_eq!(events.iter().map(|e| json(e)["n"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 10]);
    assert_eq!(json(&events[2])["request"], 4);
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_shutdown_spends_no_reconnect_budget_native() {
    a_shutdown_spends_no_reconnect_budget(Transport::EventSource, "native").await;
}

#[wasm_bindgen_test]
async fn a_shutdown_spends_no_reconnect_budget_fetch() {
    a_shutdown_spends_no_reconnect_budget(Transport::Fetch(FetchOptions::default()), "fetch").await;
}

#[wasm_bindgen_test]
async fn expired_reconnects_to_the_url_on_expired_gives() {
    let key = unique_key("native-expired");
    let renewed = notice(&key, "kind=expired&token=fresh");
    let (options, log) = recording(UseEventSourceOptions::default());
    let options = options.on_expired(move || Renewal::default().url(renewed.clone()));
    let owner = Owner::new();
    let UseEventSourceReturn { data, .. } =
        owner.with(|| use_event_source_with_options::<Value>(notice(&key, "kind=expired"), options));
    eventually(Duration::from_secs(5), "the renewed stream", || {
        data.get_untracked().is_some_and(|value| value["n"] == 10)
    })
    .await;
    let events = logged(&log);
    assert_eq!(events.len(), 3, "{events:?}");
    let renewed = json(&events[2]);
    assert_eq!(renewed["token"], "fresh", "the URL on_expired gave");
    assert_eq!(renewed["lastEventIdQuery"], "2", "resuming after the last event id");
    sleep(Duration::from_millis(500)).await;
    assert_eq!(requests(&key).await, 2, "no reconnect with the stale URL");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn expired_reconnects_with_the_headers_on_expired_gives() {
    let key = unique_key("fetch-expired");
    let stale = FetchOptions::default().headers(|| vec![("X-Test-Token".into(), "stale".into())]);
    let (options, log) = recording(UseEventSourceOptions::default().transport(Transport::Fetch(stale)));
    let options = options.on_expired(|| Renewal::default().headers(vec![("X-Test-Token".into(), "fresh".into())]));
    let owner = Owner::new();
    let UseEventSourceReturn { data, .. } =
        owner.with(|| use_event_source_with_options::<Value>(notice(&key, "kind=expired"), options));
    eventually(Duration::from_secs(5), "the renewed stream", || {
        data.get_untracked().is_some_and(|value| value["n"] == 10)
    })
    .await;
    let events = logged(&log);
    assert_eq!(json(&events[0])["token"], "stale");
    let renewed = json(&events[2]);
    assert_eq!(renewed["token"], "fresh", "the headers on_expired gave");
    assert_eq!(renewed["lastEventId"], "2", "resuming after the last event id");
    sleep(Duration::from_millis(500)).await;
    assert_eq!(requests(&key).await, 2, "no reconnect with the stale headers");
    owner.cleanup();
}
