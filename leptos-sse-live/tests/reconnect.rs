//! Browser tests of `use_event_source`'s own reconnects over the native `EventSource` transport, in headless Chromium
//! against the real server's `/test/*` routes: retries after the browser gave up (with the state `Connecting`
//! between attempts), the per-outage budget (`Limited(n)` is exactly `n` retries, reset by a successful open),
//! `on_failed`, close and unmount during a pending reconnect, the browser's own reconnect after a server-side cut,
//! and the last event id carried in the query of the hook's reconnects. Also the other way round: a terminal event
//! (`terminal_event("end")`) that stops every reconnect, over both transports; the `history` of decoded values; and
//! the decoders (text, a function of the caller's, closing on a decode error).
//!
//! Run them like `tests/use_event_source.rs` (`cargo xtask test` starts `sse-live-server --test-routes` and passes its
//! URL in `SSE_LIVE_TEST_SERVER` at compile time), with `--test reconnect`. Tests run one at a time in one page; each
//! counts its requests on the server under a key of its own (`?key=`), so none can see another's.

#![cfg(target_arch = "wasm32")]

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{
    constant_backoff, counting_failures, eventually, json, logged, recording, requests, requests_reach, server,
    unique_key,
};
use gloo_timers::future::sleep;
use leptos::prelude::*;
use leptos_sse_live::{
    text, use_event_source_with_decoder, use_event_source_with_options, ConnectionState, EventSourceError,
    FetchOptions, ReconnectLimit, Transport, UseEventSourceOptions, UseEventSourceReturn,
};
use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn a_failing_server_is_retried_with_the_state_connecting_and_close_stops_a_pending_retry() {
    let key = unique_key("native-503");
    let owner = Owner::new();
    let options = constant_backoff(800, ReconnectLimit::Unlimited);
    let UseEventSourceReturn { state, error, close, .. } = owner
        .with(|| use_event_source_with_options::<Value>(format!("{}/test/status/503?key={key}", server()), options));

    // The browser fails the connection on a 503; the hook, not the browser, will try again.
    eventually(Duration::from_secs(5), "the first failure", || error.get_untracked().is_some()).await;
    assert_eq!(error.get_untracked(), Some(EventSourceError::Disconnected), "a retry is pending, not a failure");
    assert_eq!(state.get_untracked(), ConnectionState::Connecting, "Connecting while a reconnect is pending");
    assert_eq!(requests(&key).await, 1, "the retry waits its 800 ms");

    requests_reach(&key, Duration::from_secs(10), "two retries", |n| n >= 3).await;
    assert_eq!(state.get_untracked(), ConnectionState::Connecting, "still retrying, never Closed in between");
    // The third 503 is answered at once: by now the next retry is pending (800 ms away).
    sleep(Duration::from_millis(300)).await;
    let before_close = requests(&key).await;
    assert_eq!(state.get_untracked(), ConnectionState::Connecting);

    close();
    assert_eq!(state.get_untracked(), ConnectionState::Closed);
    sleep(Duration::from_millis(2500)).await;
    assert_eq!(requests(&key).await, before_close, "no request after close(), well past the backoff");
    assert_eq!(state.get_untracked(), ConnectionState::Closed, "nothing wrote the state after close()");
    owner.cleanup();
}

/// Against a server that answers 503, `Limited(n)` over `transport` is exactly `n` retries, then `Closed` with
/// `expected` in `error` and `on_failed` called once; nothing after that.
async fn limited_n_is_exactly_n_retries(transport: Transport, name: &str, expected: EventSourceError) {
    let owner = Owner::new();
    let mut hooks = Vec::new();
    for n in [0u32, 2] {
        let key = unique_key(&format!("{name}-limit-{n}"));
        let options = UseEventSourceOptions::default()
            .transport(transport.clone())
            .reconnect_limit(ReconnectLimit::Limited(n))
            .reconnect_initial_delay(Duration::from_millis(100))
            .reconnect_max_delay(Duration::from_millis(400));
        let (options, failures) = counting_failures(options);
        let url = format!("{}/test/status/503?key={key}", server());
        let hook = owner.with(|| use_event_source_with_options::<Value>(url, options));
        hooks.push((n, key, hook, failures));
    }
    for (n, key, hook, failures) in &hooks {
        let state = hook.state;
        eventually(Duration::from_secs(10), &format!("{name}: Limited({n}) to give up"), || {
            state.get_untracked() == ConnectionState::Closed
        })
        .await;
        assert_eq!(hook.error.get_untracked(), Some(expected.clone()), "{name}: Limited({n})");
        assert_eq!(failures.load(Ordering::SeqCst), 1, "{name}: Limited({n}): on_failed once");
        assert_eq!(requests(key).await, u64::from(*n) + 1, "{name}: Limited({n}): 1 request and {n} retries");
    }
    // Nothing more, well past the longest backoff.
    sleep(Duration::from_millis(1500)).await;
    for (n, key, hook, failures) in &hooks {
        assert_eq!(requests(key).await, u64::from(*n) + 1, "{name}: Limited({n}): no request after giving up");
        assert_eq!(failures.load(Ordering::SeqCst), 1, "{name}: Limited({n}): on_failed only once");
        assert_eq!(hook.state.get_untracked(), ConnectionState::Closed);
    }
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn limited_n_is_exactly_n_retries_then_closed_and_on_failed_once() {
    limited_n_is_exactly_n_retries(Transport::EventSource, "native", EventSourceError::ConnectionFailed).await;
}

#[wasm_bindgen_test]
async fn the_reconnect_options_and_budget_apply_to_fetch_too() {
    // The fetch transport knows why the last attempt failed, and keeps it.
    let expected = EventSourceError::Http { status: 503, message: "test status 503".into() };
    limited_n_is_exactly_n_retries(Transport::Fetch(FetchOptions::default()), "fetch", expected).await;
}

#[wasm_bindgen_test]
async fn unmount_during_a_pending_reconnect_opens_nothing() {
    let key = unique_key("native-unmount");
    let owner = Owner::new();
    let (options, failures) = counting_failures(constant_backoff(800, ReconnectLimit::Unlimited));
    let UseEventSourceReturn { state, error, .. } = owner
        .with(|| use_event_source_with_options::<Value>(format!("{}/test/status/503?key={key}", server()), options));
    eventually(Duration::from_secs(5), "the first failure", || error.get_untracked().is_some()).await;
    assert_eq!(state.get_untracked(), ConnectionState::Connecting);

    owner.cleanup();
    sleep(Duration::from_millis(2500)).await;
    assert_eq!(requests(&key).await, 1, "no request after unmount, well past the backoff");
    assert_eq!(failures.load(Ordering::SeqCst), 0, "unmounting is not a failure");
}

#[wasm_bindgen_test]
async fn after_a_server_side_cut_the_state_is_connecting_and_ids_stay_contiguous() {
    let key = unique_key("native-cut");
    let (options, log) = recording(UseEventSourceOptions::default());
    let owner = Owner::new();
    let UseEventSourceReturn { state, error, close, .. } = owner
        .with(|| use_event_source_with_options::<Value>(format!("{}/test/close-after/3?key={key}", server()), options));

    // The browser re-establishes the stream by itself (`retry: 200`): the state goes Connecting, never Closed, and
    // the cut is reported as `Disconnected` while it reconnects (cleared again when the next stream opens, so it is
    // sampled, not read at the end). Sampled as (events so far, state, error) each time any changes; an Open stream
    // lasts only milliseconds here, a reconnect wait 200 ms.
    let mut seen: Vec<(usize, ConnectionState, Option<EventSourceError>)> = Vec::new();
    let start = js_sys::Date::now();
    loop {
        let sample = (log.lock().unwrap().len(), state.get_untracked(), error.get_untracked());
        if seen.last() != Some(&sample) {
            seen.push(sample.clone());
        }
        if sample.0 >= 9 {
            break;
        }
        assert!(js_sys::Date::now() - start < 10_000.0, "9 events within 10 s; seen so far {seen:?}");
        sleep(Duration::from_millis(10)).await;
    }
    close();
    assert!(seen.iter().all(|(_, s, _)| *s != ConnectionState::Closed), "never Closed across the cuts: {seen:?}");
    let after_a_cut = seen.iter().any(|(events, s, e)| {
        *events > 0 && *s == ConnectionState::Connecting && *e == Some(EventSourceError::Disconnected)
    });
    assert!(after_a_cut, "Connecting after a cut, with events already in, the cut reported as Disconnected: {seen:?}");

    let events = logged(&log);
    let ids: Vec<u64> = events.iter().map(|e| json(e)["n"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (1..=ids.len() as u64).collect();
    assert_eq!(ids, expected, "nothing lost, nothing twice");
    for (event, n) in events.iter().zip(1u64..) {
        assert_eq!(event.last_event_id, n.to_string());
        // The browser's own reconnects carry the Last-Event-ID header.
        let want = if n <= 3 { Value::Null } else { Value::String(((n - 1) / 3 * 3).to_string()) };
        assert_eq!(json(event)["lastEventId"], want, "the request that brought event {n}");
    }
    assert!(requests(&key).await >= 3);
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn the_budget_resets_after_an_open_and_the_hooks_reconnects_carry_the_last_event_id() {
    let key = unique_key("native-flaky");
    // /test/flaky/2: 503, 503, one event and the body ends, over and over. Each outage takes both retries of a
    // `Limited(2)` budget: without a reset after the open, the second outage would give up.
    let options = UseEventSourceOptions::default()
        .reconnect_limit(ReconnectLimit::Limited(2))
        .reconnect_initial_delay(Duration::from_millis(100))
        .reconnect_max_delay(Duration::from_millis(200));
    let (options, failures) = counting_failures(options);
    let (options, log) = recording(options);
    let owner = Owner::new();
    let UseEventSourceReturn { state, close, .. } =
        owner.with(|| use_event_source_with_options::<Value>(format!("{}/test/flaky/2?key={key}", server()), options));

    eventually(Duration::from_secs(15), "3 events over 3 outages", || log.lock().unwrap().len() >= 3).await;
    close();
    assert_eq!(failures.load(Ordering::SeqCst), 0, "no outage spent its budget");
    let events = logged(&log);
    let data: Vec<Value> = events.iter().take(3).map(json).collect();
    let ids: Vec<u64> = data.iter().map(|d| d["n"].as_u64().unwrap()).collect();
    assert_eq!(ids, [1, 2, 3], "contiguous ids across the outages: {data:?}");
    let numbers: Vec<u64> = data.iter().map(|d| d["request"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [3, 6, 9], "each outage: two failures (the browser's or the hook's), then an open");
    // The hook's reconnect is a new EventSource: the last event id travels in the query, not in a header.
    let queries: Vec<&Value> = data.iter().map(|d| &d["lastEventIdQuery"]).collect();
    assert_eq!(queries, [&Value::Null, &Value::from("1"), &Value::from("2")], "{data:?}");
    assert!(data.iter().all(|d| d["lastEventId"].is_null()), "no header on a new EventSource: {data:?}");
    assert_eq!(state.get_untracked(), ConnectionState::Closed);
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn the_last_event_id_parameter_is_configurable() {
    let key = unique_key("native-param");
    // With `since` instead of `lastEventId` the server does not see the client's position: it starts again at 1.
    let options = constant_backoff(100, ReconnectLimit::Unlimited).last_event_id_param("since");
    let (options, log) = recording(options);
    let owner = Owner::new();
    let UseEventSourceReturn { close, .. } =
        owner.with(|| use_event_source_with_options::<Value>(format!("{}/test/flaky/1?key={key}", server()), options));
    eventually(Duration::from_secs(10), "2 events", || log.lock().unwrap().len() >= 2).await;
    close();
    let data: Vec<Value> = logged(&log).iter().take(2).map(json).collect();
    // The hook's reconnect after event 1 (the browser's own one carried the header and got a 503).
    assert_eq!(data[1]["query"], format!("key={key}&since=1"), "{data:?}");
    assert_eq!(data[1]["lastEventIdQuery"], Value::Null, "{data:?}");
    assert_eq!(data[1]["n"], 1, "the server did not read `since`: {data:?}");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_terminal_event_closes_for_good_over_both_transports() {
    // /test/finite/5: `retry: 200`, five `progress` events, `event: end`, then the body ends: a client that does not
    // stop at `end` is back within 200 ms.
    for transport in [Transport::EventSource, Transport::Fetch(FetchOptions::default())] {
        let name = format!("{transport:?}");
        let key = unique_key("finite");
        let options = UseEventSourceOptions::default().transport(transport).events(["progress"]).terminal_event("end");
        let (options, log) = recording(options);
        let owner = Owner::new();
        let UseEventSourceReturn { state, data, message, error, .. } = owner
            .with(|| use_event_source_with_options::<Value>(format!("{}/test/finite/5?key={key}", server()), options));

        eventually(Duration::from_secs(5), &format!("{name}: Closed after `end`"), || {
            state.get_untracked() == ConnectionState::Closed
        })
        .await;
        let ids: Vec<String> = logged(&log).into_iter().map(|e| e.last_event_id).collect();
        assert_eq!(ids, ["1", "2", "3", "4", "5"], "{name}: every progress event, and not `end`");
        assert_eq!(data.get_untracked(), Some(serde_json::json!({"n": 5})), "{name}: `end` is not decoded");
        assert_eq!(message.get_untracked().map(|m| m.event_type).as_deref(), Some("progress"), "{name}");
        assert_eq!(error.get_untracked(), None, "{name}: the end of the stream is not an error");

        sleep(Duration::from_secs(2)).await;
        assert_eq!(requests(&key).await, 1, "{name}: nothing reconnects after `end`");
        assert_eq!(state.get_untracked(), ConnectionState::Closed, "{name}");
        assert_eq!(error.get_untracked(), None, "{name}");
        owner.cleanup();
    }
}

#[wasm_bindgen_test]
async fn history_keeps_the_last_n_decoded_values_in_order_even_in_a_burst() {
    // /test/finite/20 sends its 20 `progress` events at once, then `end`, which closes the hook for good, so the
    // history is final when the state is Closed.
    let owner = Owner::new();
    let mut hooks = Vec::new();
    for len in [0usize, 5, 50] {
        let options = UseEventSourceOptions::default().events(["progress"]).terminal_event("end").history(len);
        let url = format!("{}/test/finite/20?key={}", server(), unique_key("history"));
        let hook = owner.with(|| use_event_source_with_options::<Value>(url, options));
        hooks.push((len, hook));
    }
    for (len, hook) in &hooks {
        let state = hook.state;
        eventually(Duration::from_secs(5), &format!("history({len}): the end"), || {
            state.get_untracked() == ConnectionState::Closed
        })
        .await;
        let kept: Vec<u64> = hook.history.get_untracked().iter().map(|v| v["n"].as_u64().unwrap()).collect();
        let want: Vec<u64> = (1..=20).skip(20usize.saturating_sub(*len)).collect();
        assert_eq!(kept, want, "history({len}): the last {len} of 20, oldest first");
        assert_eq!(hook.data.get_untracked(), Some(serde_json::json!({"n": 20})));
    }
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn the_text_decoder_keeps_the_data_as_it_came() {
    // /test/invalid-json: `this is not json` (id 1), then a reading (id 2). As text, neither is an error.
    let (options, log) = recording(UseEventSourceOptions::default().history(10));
    let owner = Owner::new();
    let UseEventSourceReturn { state, history, error, .. } =
        owner.with(|| use_event_source_with_decoder(format!("{}/test/invalid-json", server()), options, text));
    eventually(Duration::from_secs(5), "both messages", || history.get_untracked().len() == 2).await;
    let kept = history.get_untracked();
    assert_eq!(kept[0], "this is not json");
    assert_eq!(kept[1], logged(&log)[1].data, "the reading's JSON text, unparsed");
    assert!(kept[1].contains("22.5"), "{kept:?}");
    assert_eq!(error.get_untracked(), None, "text never fails");
    assert_eq!(state.get_untracked(), ConnectionState::Open);
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_custom_decoders_error_is_a_decode_error_and_the_stream_goes_on_unless_told_to_close() {
    // Reads the temperature out of a reading; `this is not json` (id 1) fails with the decoder's own message.
    let temperature = |data: &str| -> Result<f64, String> {
        serde_json::from_str::<Value>(data)
            .ok()
            .and_then(|reading| reading["temperature"].as_f64())
            .ok_or_else(|| format!("no temperature in {} bytes", data.len()))
    };
    let url = format!("{}/test/invalid-json", server());
    let owner = Owner::new();
    let going_on =
        owner.with(|| use_event_source_with_decoder(url.clone(), UseEventSourceOptions::default(), temperature));
    let closing = owner.with(|| {
        use_event_source_with_decoder(url, UseEventSourceOptions::default().close_on_decode_error(true), temperature)
    });
    let decode_error =
        Some(EventSourceError::Decode { raw: "this is not json".into(), message: "no temperature in 16 bytes".into() });

    let data = going_on.data;
    eventually(Duration::from_secs(5), "the reading after the bad message", || data.get_untracked().is_some()).await;
    assert_eq!(data.get_untracked(), Some(22.5));
    assert_eq!(going_on.error.get_untracked(), decode_error, "the decoder's message is kept");
    assert_eq!(going_on.state.get_untracked(), ConnectionState::Open, "a decode error keeps the connection open");

    let state = closing.state;
    eventually(Duration::from_secs(5), "close_on_decode_error to close", || {
        state.get_untracked() == ConnectionState::Closed
    })
    .await;
    // Well past the second message and any reconnect: nothing more was applied.
    sleep(Duration::from_millis(1000)).await;
    assert_eq!(closing.state.get_untracked(), ConnectionState::Closed);
    assert_eq!(closing.error.get_untracked(), decode_error);
    assert_eq!(closing.data.get_untracked(), None, "the reading after the bad message never arrived");
    assert_eq!(closing.message.get_untracked().map(|m| m.last_event_id).as_deref(), Some("1"));
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn open_after_close_resumes_after_the_last_event_id() {
    for (transport, name) in [(Transport::EventSource, "native"), (Transport::Fetch(FetchOptions::default()), "fetch")]
    {
        let key = unique_key(&format!("reopen-{name}"));
        // `/test/flaky/0`: one event per request, its id following the last event id the request carried.
        let (options, log) = recording(UseEventSourceOptions::default().transport(transport));
        let owner = Owner::new();
        let hook = owner
            .with(|| use_event_source_with_options::<Value>(format!("{}/test/flaky/0?key={key}", server()), options));
        eventually(Duration::from_secs(5), "a few events", || logged(&log).len() >= 3).await;
        (hook.close)();
        let last = logged(&log).last().unwrap().last_event_id.clone();
        eventually(Duration::from_secs(1), "the last_event_id signal", || hook.last_event_id.get_untracked() == last)
            .await;
        let closed_at = requests(&key).await;
        sleep(Duration::from_millis(600)).await;
        assert_eq!(requests(&key).await, closed_at, "{name}: nothing while closed");

        (hook.open)();
        eventually(Duration::from_secs(5), "events after open()", || {
            logged(&log).iter().any(|event| json(event)["request"].as_u64() > Some(closed_at))
        })
        .await;
        let events = logged(&log);
        let resumed = events.iter().find(|event| json(event)["request"].as_u64() > Some(closed_at)).unwrap();
        let resumed = json(resumed);
        let carried = resumed["lastEventId"].as_str().or(resumed["lastEventIdQuery"].as_str());
        assert_eq!(carried, Some(last.as_str()), "{name}: open() carries the last event id");
        let ids: Vec<u64> = events.iter().map(|event| event.last_event_id.parse().unwrap()).collect();
        assert!(ids.windows(2).all(|pair| pair[1] == pair[0] + 1), "{name}: contiguous ids: {ids:?}");
        owner.cleanup();
    }
}

#[wasm_bindgen_test]
async fn reconnect_at_says_when_the_hooks_next_attempt_is_due() {
    for (transport, name) in [(Transport::EventSource, "native"), (Transport::Fetch(FetchOptions::default()), "fetch")]
    {
        let key = unique_key(&format!("reconnect-at-{name}"));
        let options = constant_backoff(1500, ReconnectLimit::Unlimited).transport(transport);
        let owner = Owner::new();
        let hook = owner.with(|| {
            use_event_source_with_options::<Value>(format!("{}/test/status/503?key={key}", server()), options)
        });
        assert_eq!(hook.reconnect_at.get_untracked(), None, "{name}: nothing scheduled before the first failure");
        eventually(Duration::from_secs(5), "a scheduled reconnect", || hook.reconnect_at.get_untracked().is_some())
            .await;
        let due = hook.reconnect_at.get_untracked().unwrap() - js_sys::Date::now();
        assert!((0.0..=1500.0).contains(&due), "{name}: due in {due} ms, within the 1.5 s backoff");
        assert_eq!(hook.state.get_untracked(), ConnectionState::Connecting);
        requests_reach(&key, Duration::from_secs(5), "the retry", |n| n >= 2).await;

        (hook.close)();
        assert_eq!(hook.reconnect_at.get_untracked(), None, "{name}: close() cancels it");
        owner.cleanup();
    }
}
