//! Browser tests of WHEN the hook reconnects, in headless Chromium against the real server, measured on the server
//! (`/test/timeline` records each request's arrival; browser timers would measure the hook with its own clock):
//! the backoff stays within its documented window (retry `r` waits between the initial delay and
//! `min(max, initial × factor^r)`, the first exactly the initial delay), grows and is jittered, over both
//! transports; the fetch transport never reconnects sooner than the server's `retry:`, and the native one leaves the
//! browser's own reconnect (which honours `retry:`) alone. And a stream carrying only keep-alive comments survives
//! `stall_timeout` on the fetch transport (the `EventSource` transport cannot see comments, as documented).
//!
//! Run them like `tests/use_event_source.rs` (`cargo xtask test` starts `sse-live-server --test-routes --keep-alive
//! 1s` and passes its URL in `SSE_LIVE_TEST_SERVER` at compile time), with `--test timing`.

#![cfg(target_arch = "wasm32")]

mod common;

use std::time::Duration;

use common::{constant_backoff, eventually, get_json, requests, server, unique_key};
use gloo_timers::future::sleep;
use leptos::prelude::*;
use leptos_sse_live::{
    use_event_source_with_options, ConnectionState, FetchOptions, ReconnectLimit, Transport, UseEventSourceOptions,
};
use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// `/test/timeline` under `key` with `query` (`&open=N&retry=MS&stay=true`).
fn timeline(key: &str, query: &str) -> String {
    format!("{}/test/timeline?key={key}{query}", server())
}

/// The arrival times (ms after the first) of the requests `/test/timeline` recorded under `key`.
async fn arrivals(key: &str) -> Vec<f64> {
    let log = get_json(&format!("/test/timeline-log/{key}")).await;
    log["arrivals"].as_array().expect("an arrivals array").iter().map(|t| t.as_f64().expect("a time")).collect()
}

/// The waits between consecutive arrivals, in ms.
fn gaps(arrivals: &[f64]) -> Vec<f64> {
    arrivals.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

/// `setTimeout` takes whole milliseconds (the hook truncates its wait to them): a wait may be that much shorter.
const TIMER_GRANULARITY_MS: f64 = 1.0;

const INITIAL_MS: f64 = 250.0;
const FACTOR: f64 = 3.0;
const MAX_MS: f64 = 2000.0;
const RETRIES: u32 = 6;

/// The documented ceiling of retry `r`'s wait: `min(max, initial × factor^r)`.
fn ceiling(r: usize) -> f64 {
    (INITIAL_MS * FACTOR.powi(r as i32)).min(MAX_MS)
}

/// Against a server that always answers 503, the waits between the hook's attempts over `transport`.
async fn backoff_waits_stay_in_their_window(transport: Transport, name: &str) {
    let key = unique_key(&format!("backoff-{name}"));
    let options = UseEventSourceOptions::default()
        .transport(transport)
        .reconnect_limit(ReconnectLimit::Limited(RETRIES))
        .reconnect_initial_delay(Duration::from_millis(INITIAL_MS as u64))
        .reconnect_factor(FACTOR)
        .reconnect_max_delay(Duration::from_millis(MAX_MS as u64));
    let owner = Owner::new();
    let hook = owner.with(|| use_event_source_with_options::<Value>(timeline(&key, ""), options));
    // Every wait at its ceiling, plus a generous 2 s per attempt for a loaded machine's request and error handling.
    let worst: f64 = (0..RETRIES as usize).map(ceiling).sum::<f64>() + 2000.0 * f64::from(RETRIES + 1);
    eventually(Duration::from_millis(worst as u64), "the budget spent", || {
        hook.state.get_untracked() == ConnectionState::Closed
    })
    .await;
    let arrivals = arrivals(&key).await;
    assert_eq!(arrivals.len(), RETRIES as usize + 1, "{name}: Limited({RETRIES}) is {RETRIES} retries: {arrivals:?}");
    let gaps = gaps(&arrivals);

    // The first retry waits exactly the initial delay: what it took beyond that is this machine's overhead per
    // attempt (a 503, the browser's error, a new request), which the upper bounds below allow for.
    let overhead = (gaps[0] - INITIAL_MS).max(0.0);
    let slack = 1000.0 + 2.0 * overhead;
    for (r, gap) in gaps.iter().enumerate() {
        assert!(
            *gap >= INITIAL_MS - TIMER_GRANULARITY_MS,
            "{name}: retry {r} came after {gap:.0} ms, sooner than the initial delay: {gaps:?}"
        );
        assert!(
            *gap <= ceiling(r) + slack,
            "{name}: retry {r} came after {gap:.0} ms, over its ceiling {} ms (+{slack:.0} ms slack): {gaps:?}",
            ceiling(r)
        );
    }
    // Growth: from retry 2 on, the window is [250, 2000] ms; a constant backoff (factor ignored) would keep every
    // wait at 250 ms. That all four land below 500 ms has a probability of (250/1750)^4 ≈ 0.04 %.
    let later = &gaps[2..];
    assert!(
        later.iter().any(|gap| *gap > 2.0 * INITIAL_MS + overhead),
        "{name}: the waits did not grow with the factor: {gaps:?}"
    );
    // Jitter: a backoff without jitter waits the ceiling (2000 ms) every time from retry 2 on; that all four land in
    // its top 10 % by chance has a probability of (200/1750)^4 ≈ 0.02 %.
    assert!(
        later.iter().any(|gap| *gap - overhead < 0.9 * MAX_MS),
        "{name}: every wait sat at its ceiling: no jitter: {gaps:?}"
    );
    assert!(later.windows(2).any(|pair| (pair[0] - pair[1]).abs() > 20.0), "{name}: identical waits: {gaps:?}");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn the_event_source_backoff_grows_with_jitter_within_its_documented_window() {
    backoff_waits_stay_in_their_window(Transport::EventSource, "native").await;
}

#[wasm_bindgen_test]
async fn the_fetch_backoff_grows_with_jitter_within_its_documented_window() {
    backoff_waits_stay_in_their_window(Transport::Fetch(FetchOptions::default()), "fetch").await;
}

/// The server's `retry:` in `/test/timeline`: far above the backoff below, so a reconnect that ignored it would show.
const SERVER_RETRY_MS: f64 = 1200.0;

#[wasm_bindgen_test]
async fn the_fetch_transport_never_reconnects_sooner_than_the_servers_retry() {
    let key = unique_key("retry-floor");
    // A stream that says `retry: 1200` and ends, then 503s; the hook's own backoff is a constant 100 ms.
    let options =
        constant_backoff(100, ReconnectLimit::Limited(3)).transport(Transport::Fetch(FetchOptions::default()));
    let owner = Owner::new();
    let url = timeline(&key, &format!("&open=1&retry={SERVER_RETRY_MS}"));
    let hook = owner.with(|| use_event_source_with_options::<Value>(url, options));
    // One stream, the reconnect after it, and 3 retries, each at least 1.2 s apart; 2 s more each on a loaded machine.
    let worst = 4.0 * (SERVER_RETRY_MS + 2000.0);
    eventually(Duration::from_millis(worst as u64), "the budget spent", || {
        hook.state.get_untracked() == ConnectionState::Closed
    })
    .await;
    let gaps = gaps(&arrivals(&key).await);
    assert_eq!(gaps.len(), 4, "the stream, its reconnect, then Limited(3): {gaps:?}");
    for (n, gap) in gaps.iter().enumerate() {
        assert!(
            *gap >= SERVER_RETRY_MS - TIMER_GRANULARITY_MS,
            "reconnect {n} came {gap:.0} ms after the one before, sooner than the server's retry ({SERVER_RETRY_MS} \
             ms): {gaps:?}"
        );
    }
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn the_event_source_transport_leaves_the_browsers_reconnect_at_the_servers_retry() {
    let key = unique_key("retry-native");
    // The stream says `retry: 1200` and ends: the browser reconnects by itself, after 1.2 s. The hook's backoff
    // (100 ms) is only for connections the browser gave up on; using it here would reconnect too soon.
    let options = constant_backoff(100, ReconnectLimit::Limited(0));
    let owner = Owner::new();
    let url = timeline(&key, &format!("&open=1&retry={SERVER_RETRY_MS}"));
    let hook = owner.with(|| use_event_source_with_options::<Value>(url, options));
    eventually(Duration::from_millis(SERVER_RETRY_MS as u64 + 5000), "the reconnect (a 503) given up", || {
        hook.state.get_untracked() == ConnectionState::Closed
    })
    .await;
    let gaps = gaps(&arrivals(&key).await);
    assert_eq!(gaps.len(), 1, "the stream and the browser's reconnect, which fails: {gaps:?}");
    assert!(
        gaps[0] >= SERVER_RETRY_MS - TIMER_GRANULARITY_MS,
        "the reconnect after the stream ended came after {:.0} ms, sooner than the server's retry",
        gaps[0]
    );
    owner.cleanup();
}

/// The server's keep-alive interval: `cargo xtask test` starts it with `--keep-alive 1s`.
const KEEP_ALIVE_MS: u64 = 1000;
/// Two and a half keep-alive intervals: a comment always arrives within it.
const STALL_MS: u64 = KEEP_ALIVE_MS * 5 / 2;

/// `/test/echo` under `key`: one event, then only keep-alive comments, for as long as the client stays.
fn quiet_stream(key: &str, transport: Transport) -> (Owner, Signal<ConnectionState>) {
    let options = UseEventSourceOptions::default().stall_timeout(Duration::from_millis(STALL_MS)).transport(transport);
    let owner = Owner::new();
    let hook =
        owner.with(|| use_event_source_with_options::<Value>(format!("{}/test/echo?key={key}", server()), options));
    (owner, hook.state)
}

#[wasm_bindgen_test]
async fn keep_alive_comments_keep_a_fetch_stream_past_several_stall_timeouts() {
    let key = unique_key("keep-alive-fetch");
    let (owner, state) = quiet_stream(&key, Transport::Fetch(FetchOptions::default()));
    eventually(Duration::from_secs(5), "open", || state.get_untracked() == ConnectionState::Open).await;
    // Four stall timeouts without a message: only the comments show the connection is alive.
    let start = js_sys::Date::now();
    while js_sys::Date::now() - start < 4.0 * STALL_MS as f64 {
        assert_eq!(
            state.get_untracked(),
            ConnectionState::Open,
            "the stream left Open after a keep-alive-only stretch"
        );
        sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(requests(&key).await, 1, "no reconnect: keep-alive comments count as signs of life");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn the_event_source_transport_cannot_see_keep_alives_and_reconnects_as_documented() {
    let key = unique_key("keep-alive-native");
    let (owner, state) = quiet_stream(&key, Transport::EventSource);
    eventually(Duration::from_secs(5), "open", || state.get_untracked() == ConnectionState::Open).await;
    // The browser hides comments: after one stall timeout (and the 1 s backoff) it reconnects.
    let wait = Duration::from_millis(STALL_MS + 1000 + 5000);
    common::requests_reach(&key, wait, "a reconnect after the stall timeout", |n| n >= 2).await;
    owner.cleanup();
}
