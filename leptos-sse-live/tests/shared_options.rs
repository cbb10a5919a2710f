//! Browser tests of per-hook options on a SHARED connection, in headless Chromium against the real server: hooks on
//! one URL with the same connection options share one connection (tests/sharing.rs), and what each does with the
//! messages stays its own: `terminal_event`, the decoder, `close_on_decode_error` affect only their hook, also when
//! the hook is stopped while it joins (the last message it is handed on joining is the terminal event or fails to
//! decode). `close_when_hidden` is a connection option (hooks with different grace periods get connections of their
//! own, as documented), and `online` reconnects the shared connection once, for the hooks still on it.
//!
//! Run them like `tests/use_event_source.rs` (`cargo xtask test` starts `sse-live-server --test-routes` and passes its
//! URL in `SSE_LIVE_TEST_SERVER` at compile time), with `--test shared_options`.

#![cfg(target_arch = "wasm32")]

mod common;

use std::time::Duration;

use common::{
    constant_backoff, eventually, logged, recording, requests, requests_reach, server, set_hidden,
    settled_open_streams, unique_key, until_open_streams_are,
};
use gloo_timers::future::sleep;
use leptos::prelude::*;
use leptos_sse_live::{
    text, use_event_source, use_event_source_with_decoder, use_event_source_with_options, ConnectionState,
    EventSourceError, ReconnectLimit, UseEventSourceOptions,
};
use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// `/test/echo` under `key`: one event describing the request, then keep-alives; the stream stays open.
fn echo(key: &str) -> String {
    format!("{}/test/echo?key={key}", server())
}

#[wasm_bindgen_test]
async fn a_terminal_event_stops_only_the_hook_that_asked_for_it() {
    let key = unique_key("shared-terminal");
    // `/test/finite/3`: 3 `progress` events, `end`, the body ends, and the connection comes back 200 ms later.
    let url = format!("{}/test/finite/3?key={key}", server());
    // The same event types (the terminal event is delivered as one), so one connection.
    let (stopping, stopping_log) =
        recording(UseEventSourceOptions::default().events(["progress"]).terminal_event("end"));
    let (going_on, going_on_log) = recording(UseEventSourceOptions::default().events(["progress", "end"]));
    let owner = Owner::new();
    let stops = owner.with(|| use_event_source_with_options::<Value>(url.clone(), stopping));
    let goes_on = owner.with(|| use_event_source_with_decoder(url, going_on, text));
    eventually(Duration::from_secs(5), "the terminal event", || stops.state.get_untracked() == ConnectionState::Closed)
        .await;
    assert_eq!(requests(&key).await, 1, "the two hooks shared one connection");
    assert_eq!(stops.error.get_untracked(), None, "a terminal event is not an error");
    assert_eq!(stops.data.get_untracked(), Some(serde_json::json!({ "n": 3 })));

    // The other hook's connection goes on: it ends and comes back, twice more.
    requests_reach(&key, Duration::from_secs(5), "the shared connection reconnecting for the other hook", |n| n >= 3)
        .await;
    eventually(Duration::from_secs(3), "the other hook's third round", || logged(&going_on_log).len() >= 12).await;
    assert_eq!(logged(&stopping_log).len(), 3, "the stopped hook got nothing after its terminal event");
    assert_eq!(stops.state.get_untracked(), ConnectionState::Closed, "and nothing reopened it");
    assert_ne!(goes_on.state.get_untracked(), ConnectionState::Closed, "the other hook was not stopped");
    let types: Vec<String> = logged(&going_on_log).iter().take(4).map(|event| event.event_type.clone()).collect();
    assert_eq!(types, ["progress", "progress", "progress", "end"], "`end` is an ordinary event for the other hook");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn each_hook_on_a_shared_connection_decodes_with_its_own_decoder() {
    let key = unique_key("shared-decoders");
    let owner = Owner::new();
    let as_text = owner.with(|| use_event_source_with_decoder(echo(&key), UseEventSourceOptions::default(), text));
    let refusing = owner.with(|| {
        use_event_source_with_decoder(echo(&key), UseEventSourceOptions::default(), |_: &str| {
            Err::<u8, _>("not for me".to_owned())
        })
    });
    let as_json = owner.with(|| use_event_source::<Value>(echo(&key)));
    eventually(Duration::from_secs(5), "the echo, decoded or refused by each hook", || {
        as_text.data.get_untracked().is_some()
            && refusing.error.get_untracked().is_some()
            && as_json.data.get_untracked().is_some()
    })
    .await;
    assert_eq!(requests(&key).await, 1, "three hooks, three decoders, one connection");
    let raw = as_text.data.get_untracked().unwrap();
    assert_eq!(as_json.data.get_untracked(), Some(serde_json::from_str::<Value>(&raw).unwrap()));
    assert_eq!(
        refusing.error.get_untracked(),
        Some(EventSourceError::Decode { raw: raw.clone(), message: "not for me".into() })
    );
    assert_eq!(refusing.data.get_untracked(), None);
    assert_eq!(as_text.error.get_untracked(), None, "another hook's decode error is not this hook's");
    assert_eq!(as_json.error.get_untracked(), None);
    for hook_state in [as_text.state, refusing.state, as_json.state] {
        assert_eq!(hook_state.get_untracked(), ConnectionState::Open, "a decode error leaves the stream open");
    }
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn close_on_decode_error_closes_only_its_hook_and_releases_its_share() {
    let before = settled_open_streams().await;
    let key = unique_key("shared-close-on-decode");
    let (keeps, closes) = (Owner::new(), Owner::new());
    // Both subscribe before the first message arrives: the one that refuses it closes, the other goes on.
    let staying = keeps.with(|| use_event_source_with_decoder(echo(&key), UseEventSourceOptions::default(), text));
    let closing = closes.with(|| {
        use_event_source_with_decoder(
            echo(&key),
            UseEventSourceOptions::default().close_on_decode_error(true),
            |_: &str| Err::<u8, _>("refused".to_owned()),
        )
    });
    eventually(Duration::from_secs(5), "the refusing hook closed", || {
        closing.state.get_untracked() == ConnectionState::Closed
    })
    .await;
    assert!(matches!(closing.error.get_untracked(), Some(EventSourceError::Decode { .. })));
    eventually(Duration::from_secs(2), "the other hook's data", || staying.data.get_untracked().is_some()).await;
    sleep(Duration::from_millis(500)).await;
    assert_eq!(staying.state.get_untracked(), ConnectionState::Open, "the other hook keeps the connection");
    assert_eq!(staying.error.get_untracked(), None);
    assert_eq!(requests(&key).await, 1, "one connection, not reopened");

    // The closed hook holds no share: when the other one unmounts, the stream closes on the server.
    keeps.cleanup();
    until_open_streams_are(before, "after the only hook still subscribed unmounted").await;
    closes.cleanup();
}

/// A hook joins a running connection whose last message stops it at once (it is that hook's terminal event, or it
/// fails to decode with `close_on_decode_error`): it must report `Closed` AND hold no share of the connection.
async fn a_hook_stopped_while_joining_leaves_the_connection(joiner: impl FnOnce(String) -> Signal<ConnectionState>) {
    let before = settled_open_streams().await;
    let key = unique_key("shared-join-stop");
    let (first, second) = (Owner::new(), Owner::new());
    let running = first.with(|| use_event_source_with_decoder(echo(&key), UseEventSourceOptions::default(), text));
    eventually(Duration::from_secs(5), "the running connection's message", || running.data.get_untracked().is_some())
        .await;

    let joined = second.with(|| joiner(echo(&key)));
    // The hook connects (here: joins) from an effect, which runs once the reactive system gets to it.
    leptos::task::tick().await;
    assert_eq!(joined.get_untracked(), ConnectionState::Closed, "stopped by the message it was handed on joining");
    assert_eq!(requests(&key).await, 1, "it joined the running connection");

    first.cleanup();
    until_open_streams_are(before, "after the only hook left unmounted (the stopped joiner must hold no share)").await;
    second.cleanup();
}

#[wasm_bindgen_test]
async fn a_hook_whose_terminal_event_is_the_last_message_leaves_the_connection_when_joining() {
    a_hook_stopped_while_joining_leaves_the_connection(|url| {
        // The echo's event is a `message`: as the terminal event it stops the hook on arrival.
        let options = UseEventSourceOptions::default().terminal_event("message");
        use_event_source_with_options::<Value>(url, options).state
    })
    .await;
}

#[wasm_bindgen_test]
async fn a_hook_that_cannot_decode_the_last_message_leaves_the_connection_when_joining() {
    a_hook_stopped_while_joining_leaves_the_connection(|url| {
        let options = UseEventSourceOptions::default().close_on_decode_error(true);
        use_event_source_with_decoder(url, options, |_: &str| Err::<u8, _>("refused".to_owned())).state
    })
    .await;
}

#[wasm_bindgen_test]
async fn close_when_hidden_is_a_connection_option_hooks_with_the_same_grace_share_it() {
    set_hidden(false);
    let (mixed, same) = (unique_key("hidden-mixed"), unique_key("hidden-same"));
    let grace = || UseEventSourceOptions::default().close_when_hidden(Duration::from_millis(300));
    let owner = Owner::new();
    let pausing = owner.with(|| use_event_source_with_options::<Value>(echo(&mixed), grace()));
    let staying = owner.with(|| use_event_source_with_options::<Value>(echo(&mixed), UseEventSourceOptions::default()));
    let pair = owner.with(|| {
        [
            use_event_source_with_options::<Value>(echo(&same), grace()),
            use_event_source_with_options::<Value>(echo(&same), grace()),
        ]
    });
    let states = [pausing.state, staying.state, pair[0].state, pair[1].state];
    eventually(Duration::from_secs(5), "all open", || {
        states.iter().all(|state| state.get_untracked() == ConnectionState::Open)
    })
    .await;
    assert_eq!(requests(&mixed).await, 2, "different visibility settings: a connection each, as documented");
    assert_eq!(requests(&same).await, 1, "the same grace period: one connection");

    set_hidden(true);
    eventually(Duration::from_secs(3), "the hooks with a grace period closed while hidden", || {
        [pausing.state, pair[0].state, pair[1].state]
            .iter()
            .all(|state| state.get_untracked() == ConnectionState::Closed)
    })
    .await;
    sleep(Duration::from_millis(300)).await;
    assert_eq!(staying.state.get_untracked(), ConnectionState::Open, "the hook without close_when_hidden stays open");

    set_hidden(false);
    eventually(Duration::from_secs(5), "all open again", || {
        states.iter().all(|state| state.get_untracked() == ConnectionState::Open)
    })
    .await;
    assert_eq!(requests(&mixed).await, 3, "only the paused connection reopened");
    assert_eq!(requests(&same).await, 2, "the shared paused connection reopened once for both hooks");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn online_reconnects_a_shared_connection_once_and_leaves_a_closed_hook_closed() {
    let key = unique_key("shared-online");
    // Always 503, and the next retry a minute away: only `online` can bring the next request.
    let url = format!("{}/test/timeline?key={key}", server());
    let options = || constant_backoff(60_000, ReconnectLimit::Limited(5));
    let owner = Owner::new();
    let (closed, kept) = owner.with(|| {
        (
            use_event_source_with_options::<Value>(url.clone(), options()),
            use_event_source_with_options::<Value>(url.clone(), options()),
        )
    });
    eventually(Duration::from_secs(5), "the first failure", || kept.error.get_untracked().is_some()).await;
    assert_eq!(kept.state.get_untracked(), ConnectionState::Connecting);
    assert_eq!(requests_of(&key).await, 1, "one shared connection");
    (closed.close)();

    web_sys::window().unwrap().dispatch_event(&web_sys::Event::new("online").unwrap()).unwrap();
    eventually(Duration::from_secs(3), "the reconnect on `online`", || kept.error.get_untracked().is_some()).await;
    let start = js_sys::Date::now();
    while requests_of(&key).await < 2 {
        assert!(js_sys::Date::now() - start < 3000.0, "no reconnect on `online`");
        sleep(Duration::from_millis(50)).await;
    }
    sleep(Duration::from_millis(1000)).await;
    assert_eq!(requests_of(&key).await, 2, "one reconnect for the shared connection, not one per hook");
    assert_eq!(kept.state.get_untracked(), ConnectionState::Connecting, "the hook still on it sees the retry");
    assert_eq!(closed.state.get_untracked(), ConnectionState::Closed, "`online` does not reopen a closed hook");
    owner.cleanup();
}

/// How many requests `/test/timeline` recorded under `key`.
async fn requests_of(key: &str) -> usize {
    let log = common::get_json(&format!("/test/timeline-log/{key}")).await;
    log["arrivals"].as_array().map_or(0, Vec::len)
}
