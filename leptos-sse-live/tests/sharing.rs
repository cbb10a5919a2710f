//! Browser tests of shared connections, in headless Chromium against the real server: hooks on one page with the
//! same URL and connection options share one connection (counted by the server's `/test/requests/{key}` and
//! `/healthz` `openStreams`), a hook that joins late gets the last message at once, the connection closes with its
//! last hook, and `shared(false)` or other connection options give a connection of its own. A hook that closes and
//! reopens while another holds the connection gets what it missed, the server's `event: reset` included.
//!
//! Run them like `tests/use_event_source.rs` (`cargo xtask test` starts `sse-live-server --test-routes` and passes its
//! URL in `SSE_LIVE_TEST_SERVER` at compile time), with `--test sharing`.

#![cfg(target_arch = "wasm32")]

mod common;

use std::time::Duration;

use common::{eventually, open_streams, requests, server, settled_open_streams, unique_key, until_open_streams_are};
use gloo_timers::future::sleep;
use leptos::prelude::*;
use leptos_sse_live::{
    use_event_source, use_event_source_with_options, ConnectionState, FetchOptions, ResetReason, Transport,
    UseEventSourceOptions, UseEventSourceReturn,
};
use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// `/test/echo` under `key`: one event describing the request, then keep-alives; the stream stays open.
fn echo(key: &str) -> String {
    format!("{}/test/echo?key={key}", server())
}

#[wasm_bindgen_test]
async fn two_components_on_one_url_open_one_connection_until_the_last_unmounts() {
    let before = settled_open_streams().await;
    let key = unique_key("shared");
    let (first, second) = (Owner::new(), Owner::new());
    let a = first.with(|| use_event_source::<Value>(echo(&key)));
    let b = second.with(|| use_event_source::<Value>(echo(&key)));
    eventually(Duration::from_secs(5), "both hooks decode the echo", || {
        a.data.get_untracked().is_some() && b.data.get_untracked().is_some()
    })
    .await;
    assert_eq!(a.state.get_untracked(), ConnectionState::Open);
    assert_eq!(b.state.get_untracked(), ConnectionState::Open);
    assert_eq!(a.data.get_untracked(), b.data.get_untracked(), "the same message reached both");
    until_open_streams_are(before + 1, "with two hooks on one URL").await;
    assert_eq!(requests(&key).await, 1, "one request for two hooks");

    first.cleanup();
    sleep(Duration::from_millis(500)).await;
    assert_eq!(b.state.get_untracked(), ConnectionState::Open, "the other hook keeps the connection");
    assert_eq!(open_streams().await, before + 1, "the shared stream stays open for the remaining hook");
    assert_eq!(requests(&key).await, 1, "and is not reopened");

    second.cleanup();
    until_open_streams_are(before, "after the last hook unmounted").await;
}

#[wasm_bindgen_test]
async fn a_hook_that_joins_late_gets_the_last_message_at_once() {
    let key = unique_key("shared-late");
    let owner = Owner::new();
    let first = owner.with(|| use_event_source::<Value>(echo(&key)));
    eventually(Duration::from_secs(5), "the first hook's echo", || first.data.get_untracked().is_some()).await;

    // The echo stream sends one event only: the joiner can only have it from the shared connection.
    let UseEventSourceReturn { state, data, message, .. } = owner.with(|| use_event_source::<Value>(echo(&key)));
    // It joins once live (the hook connects from an effect), and then at once has the connection's state.
    leptos::task::tick().await;
    assert_eq!(state.get_untracked(), ConnectionState::Open, "the joiner starts with the connection's state");
    eventually(Duration::from_millis(500), "the joiner's data (next animation frame)", || {
        data.get_untracked().is_some()
    })
    .await;
    assert_eq!(data.get_untracked(), first.data.get_untracked());
    assert_eq!(message.get_untracked(), first.message.get_untracked());
    assert_eq!(requests(&key).await, 1);
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn shared_false_and_other_connection_options_get_connections_of_their_own() {
    let before = settled_open_streams().await;
    let key = unique_key("unshared");
    let owner = Owner::new();
    let hooks = owner.with(|| {
        [
            use_event_source_with_options::<Value>(echo(&key), UseEventSourceOptions::default()),
            use_event_source_with_options::<Value>(echo(&key), UseEventSourceOptions::default().shared(false)),
            use_event_source_with_options::<Value>(echo(&key), UseEventSourceOptions::default().shared(false)),
            use_event_source_with_options::<Value>(echo(&key), UseEventSourceOptions::default().events(["tick"])),
            // Hook-level options (history, coalescing) do not change the connection: this one shares the first's.
            use_event_source_with_options::<Value>(
                echo(&key),
                UseEventSourceOptions::default().history(5).coalesce_updates(false),
            ),
        ]
    });
    eventually(Duration::from_secs(5), "every hook decodes the echo", || {
        hooks.iter().all(|hook| hook.data.get_untracked().is_some())
    })
    .await;
    until_open_streams_are(before + 4, "with five hooks of which two share").await;
    assert_eq!(requests(&key).await, 4, "two shared, two opted out, one with other event types");
    owner.cleanup();
    until_open_streams_are(before, "after unmounting them all").await;
}

#[wasm_bindgen_test]
async fn closing_one_hook_leaves_the_shared_connection_to_the_others() {
    let key = unique_key("shared-close");
    let owner = Owner::new();
    let a = owner.with(|| use_event_source::<Value>(echo(&key)));
    let b = owner.with(|| use_event_source::<Value>(echo(&key)));
    eventually(Duration::from_secs(5), "both open", || {
        a.state.get_untracked() == ConnectionState::Open && b.state.get_untracked() == ConnectionState::Open
    })
    .await;
    (a.close)();
    assert_eq!(a.state.get_untracked(), ConnectionState::Closed);
    sleep(Duration::from_millis(300)).await;
    assert_eq!(b.state.get_untracked(), ConnectionState::Open, "close() closes this hook's share only");

    // Reopening joins the running connection again: no new request.
    (a.open)();
    eventually(Duration::from_secs(2), "the reopened hook is open", || {
        a.state.get_untracked() == ConnectionState::Open
    })
    .await;
    assert_eq!(requests(&key).await, 1, "close() and open() on a shared connection cost no request");
    owner.cleanup();
}

/// The `n` of each message a hook logged, in order.
fn numbers(log: &std::sync::Mutex<Vec<leptos_sse_live::Event>>) -> Vec<u64> {
    common::logged(log).iter().map(|event| common::json(event)["n"].as_u64().expect("a number n")).collect()
}

/// Two hooks share `/test/rate` (ids 1, 2, ... at `per_sec`); one closes, the other keeps the connection, and the
/// first reopens once the other is `ahead` messages past it. Returns the reopened hook's log, its history and error,
/// and its last `n` before it closed.
async fn rejoin_after(ahead: u64) -> (Vec<u64>, Vec<u64>, Option<leptos_sse_live::EventSourceError>, u64) {
    let url = format!("{}/test/rate?count=100000&per_sec=100&key={}", server(), unique_key("rejoin"));
    let options = UseEventSourceOptions::default().history(100_000);
    let (holder_options, holder_log) = common::recording(options.clone());
    let (rejoin_options, rejoin_log) = common::recording(options);
    let owner = Owner::new();
    let holder = owner.with(|| use_event_source_with_options::<Value>(url.clone(), holder_options));
    let rejoin = owner.with(|| use_event_source_with_options::<Value>(url, rejoin_options));
    eventually(Duration::from_secs(10), "20 messages", || common::logged(&rejoin_log).len() >= 20).await;
    (rejoin.close)();
    let closed_at = *numbers(&rejoin_log).last().unwrap();
    eventually(Duration::from_secs(15), "the holder ahead", || {
        numbers(&holder_log).last().is_some_and(|n| *n >= closed_at + ahead)
    })
    .await;
    (rejoin.open)();
    let reopened_at = *numbers(&holder_log).last().unwrap();
    eventually(Duration::from_secs(10), "20 more messages after reopening", || {
        numbers(&rejoin_log).last().is_some_and(|n| *n >= reopened_at + 20)
    })
    .await;
    sleep(Duration::from_millis(100)).await; // a frame for the coalesced signals
    assert_eq!(holder.state.get_untracked(), ConnectionState::Open);
    let history = rejoin.history.get_untracked().iter().map(|v| v["n"].as_u64().unwrap()).collect();
    let error = rejoin.error.get_untracked();
    owner.cleanup();
    (numbers(&rejoin_log), history, error, closed_at)
}

#[wasm_bindgen_test]
async fn open_on_a_connection_another_hook_holds_delivers_what_it_missed_once() {
    let (log, history, error, closed_at) = rejoin_after(50).await;
    let expected: Vec<u64> = (1..=*log.last().unwrap()).collect();
    assert_eq!(log, expected, "every message once, in order, across the close (closed after {closed_at})");
    // Read a moment later than the log: its own prefix.
    assert_eq!(history, (1..=history.len() as u64).collect::<Vec<_>>(), "history too");
    assert!(history.len() as u64 > closed_at + 50, "history reaches past the reopening: {}", history.len());
    assert_eq!(error, None);
}

#[wasm_bindgen_test]
async fn open_after_more_than_the_connection_keeps_says_events_were_missed() {
    let (log, _, error, closed_at) = rejoin_after(400).await;
    assert_eq!(error, Some(leptos_sse_live::EventSourceError::Missed { since: closed_at.to_string() }));
    let after: Vec<u64> = log.iter().copied().filter(|n| *n > closed_at).collect();
    assert!(after.windows(2).all(|pair| pair[1] == pair[0] + 1), "no duplicate after the gap: {after:?}");
    assert!(after[0] > closed_at + 256, "the gap is reported, not filled: resumed at {}", after[0]);
}

#[wasm_bindgen_test]
async fn reopening_when_nothing_arrived_meanwhile_repeats_nothing() {
    // `/test/echo`: one event WITHOUT an id; `/test/stall`: one event with id 1. Then silence on both.
    for url in [echo(&unique_key("rejoin-no-id")), format!("{}/test/stall?key={}", server(), unique_key("rejoin-id"))] {
        let (holder_options, _) = common::recording(UseEventSourceOptions::default().history(10));
        let (rejoin_options, log) = common::recording(UseEventSourceOptions::default().history(10));
        let owner = Owner::new();
        let _holder = owner.with(|| use_event_source_with_options::<Value>(url.clone(), holder_options));
        let rejoin = owner.with(|| use_event_source_with_options::<Value>(url.clone(), rejoin_options));
        eventually(Duration::from_secs(5), "the event", || common::logged(&log).len() == 1).await;
        (rejoin.close)();
        (rejoin.open)();
        sleep(Duration::from_millis(300)).await;
        assert_eq!(rejoin.state.get_untracked(), ConnectionState::Open);
        assert_eq!(common::logged(&log).len(), 1, "no duplicate in on_message ({url})");
        assert_eq!(rejoin.history.get_untracked().len(), 1, "no duplicate in history ({url})");
        assert_eq!(rejoin.error.get_untracked(), None);
        owner.cleanup();
    }
}

/// `/test/notice` with a pause: events 1 and 2, then 1.5 s later `event: reset` and event 3. Two hooks with a history
/// close after event 2 while a third holds the connection, and reopen after the reset: the reset they missed is
/// reported in their `reset` signal and clears the history before it (one keeps it with `keep_history_on_reset`),
/// as for the hook that saw it live.
async fn a_reset_missed_while_away_is_delivered_on_rejoining(transport: Transport, name: &str) {
    let key = unique_key(&format!("{name}-rejoin-reset"));
    let url = format!("{}/test/notice?key={key}&kind=reset&pause_ms=1500", server());
    let options = UseEventSourceOptions::default().history(10).transport(transport);
    let (rejoin_options, log) = common::recording(options.clone());
    let owner = Owner::new();
    let holder = owner.with(|| use_event_source_with_options::<Value>(url.clone(), options.clone()));
    let rejoin = owner.with(|| use_event_source_with_options::<Value>(url.clone(), rejoin_options));
    let kept = owner.with(|| use_event_source_with_options::<Value>(url, options.keep_history_on_reset(true)));
    let n_of = |hook: &UseEventSourceReturn<Value, _, _>| hook.data.get_untracked().and_then(|v| v["n"].as_u64());
    let history_of = |hook: &UseEventSourceReturn<Value, _, _>| -> Vec<u64> {
        hook.history.get_untracked().iter().map(|v| v["n"].as_u64().expect("a number n")).collect()
    };
    eventually(Duration::from_secs(5), "events 1 and 2 in both", || {
        [&rejoin, &kept].iter().all(|hook| history_of(hook) == [1, 2])
    })
    .await;
    (rejoin.close)();
    (kept.close)();
    eventually(Duration::from_secs(5), "the holder past the reset", || n_of(&holder) == Some(3)).await;
    assert_eq!(holder.reset.get_untracked().map(|reset| reset.reason), Some(ResetReason::Restarted));
    assert_eq!((rejoin.reset.get_untracked(), kept.reset.get_untracked()), (None, None), "away: nothing yet");

    (rejoin.open)();
    (kept.open)();
    eventually(Duration::from_secs(5), "event 3 in the rejoined hooks", || {
        [&rejoin, &kept].iter().all(|hook| n_of(hook) == Some(3))
    })
    .await;
    sleep(Duration::from_millis(100)).await; // a frame for the coalesced signals
    for (hook, which) in [(&rejoin, "rejoined"), (&kept, "rejoined with keep_history_on_reset")] {
        let reset = hook.reset.get_untracked().map(|reset| reset.reason);
        assert_eq!(reset, Some(ResetReason::Restarted), "the {which} hook reports the reset it missed");
        assert_eq!(hook.state.get_untracked(), ConnectionState::Open);
        assert_eq!(hook.error.get_untracked(), None, "{which}");
    }
    assert_eq!(history_of(&rejoin), [3], "the missed reset cleared the history before it");
    assert_eq!(history_of(&kept), [1, 2, 3], "keep_history_on_reset keeps it");
    assert_eq!(history_of(&holder), [3]);
    let logged: Vec<u64> = common::logged(&log).iter().map(|e| common::json(e)["n"].as_u64().unwrap()).collect();
    assert_eq!(logged, [1, 2, 3], "each message once, the notice not among them");
    assert_eq!(requests(&key).await, 1, "one shared connection throughout");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_reset_missed_while_away_is_delivered_on_rejoining_native() {
    a_reset_missed_while_away_is_delivered_on_rejoining(Transport::EventSource, "native").await;
}

#[wasm_bindgen_test]
async fn a_reset_missed_while_away_is_delivered_on_rejoining_fetch() {
    a_reset_missed_while_away_is_delivered_on_rejoining(Transport::Fetch(FetchOptions::default()), "fetch").await;
}
