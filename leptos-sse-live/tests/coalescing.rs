//! Browser tests of signal updates under bursts, in headless Chromium against the real server: by default the
//! signals are written at most once per animation frame while `on_message` and `history` see every message; with
//! `coalesce_updates(false)` every message writes them. The burst is `/test/finite/{n}`: `n` `progress` events sent
//! at once, then `end` (the terminal event, which applies what is pending and closes the hook's stream).
//!
//! Run them like `tests/use_event_source.rs` (`cargo xtask test` starts `sse-live-server --test-routes` and passes its
//! URL in `SSE_LIVE_TEST_SERVER` at compile time), with `--test coalescing`.

#![cfg(target_arch = "wasm32")]

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{eventually, server, unique_key};
use leptos::prelude::*;
use leptos_sse_live::{use_event_source_with_options, ConnectionState, FetchOptions, Transport, UseEventSourceOptions};
use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const BURST: u64 = 300;

/// What a burst looked like from inside `on_message`: how many messages it saw, and the distinct values the `data`
/// signal had while they arrived (each one a write of the signal).
struct Burst {
    messages: u64,
    data_values_seen: usize,
    final_data: Option<Value>,
    history: Vec<Value>,
}

async fn burst(options: UseEventSourceOptions) -> Burst {
    let key = unique_key("burst");
    let data_slot: Arc<Mutex<Option<Signal<Option<Value>>>>> = Arc::default();
    let seen: Arc<Mutex<(u64, HashSet<String>)>> = Arc::default();
    let (slot, record) = (data_slot.clone(), seen.clone());
    let options = options.events(["progress"]).terminal_event("end").history(BURST as usize).on_message(move |_| {
        let data = slot.lock().unwrap().expect("the hook returned before the first message");
        let mut seen = record.lock().unwrap();
        seen.0 += 1;
        seen.1.insert(format!("{:?}", data.get_untracked()));
    });
    let owner = Owner::new();
    let hook = owner.with(|| {
        use_event_source_with_options::<Value>(format!("{}/test/finite/{BURST}?key={key}", server()), options)
    });
    *data_slot.lock().unwrap() = Some(hook.data);
    eventually(Duration::from_secs(10), "the end of the burst", || {
        hook.state.get_untracked() == ConnectionState::Closed
    })
    .await;
    let (messages, values) = std::mem::take(&mut *seen.lock().unwrap());
    let result = Burst {
        messages,
        data_values_seen: values.len(),
        final_data: hook.data.get_untracked(),
        history: hook.history.get_untracked(),
    };
    owner.cleanup();
    result
}

fn progress(n: u64) -> Value {
    serde_json::json!({ "n": n })
}

async fn a_burst_writes_the_signals_once_per_frame(transport: Transport, name: &str) {
    let burst = burst(UseEventSourceOptions::default().transport(transport)).await;
    assert_eq!(burst.messages, BURST, "{name}: on_message saw every message");
    assert_eq!(burst.history, (1..=BURST).map(progress).collect::<Vec<_>>(), "{name}: history has every value");
    assert_eq!(burst.final_data, Some(progress(BURST)), "{name}: data ends on the last value");
    assert!(
        burst.data_values_seen <= (BURST / 10) as usize,
        "{name}: {BURST} messages wrote `data` {} times: not coalesced per frame",
        burst.data_values_seen
    );
}

#[wasm_bindgen_test]
async fn a_burst_over_event_source_writes_the_signals_once_per_frame() {
    a_burst_writes_the_signals_once_per_frame(Transport::EventSource, "native").await;
}

#[wasm_bindgen_test]
async fn a_burst_over_fetch_writes_the_signals_once_per_frame() {
    a_burst_writes_the_signals_once_per_frame(Transport::Fetch(FetchOptions::default()), "fetch").await;
}

#[wasm_bindgen_test]
async fn without_coalescing_every_message_writes_the_signals() {
    let burst = burst(UseEventSourceOptions::default().coalesce_updates(false)).await;
    assert_eq!(burst.messages, BURST);
    assert_eq!(burst.data_values_seen, BURST as usize, "each message saw the value the one before it wrote");
    assert_eq!(burst.final_data, Some(progress(BURST)));
    assert_eq!(burst.history, (1..=BURST).map(progress).collect::<Vec<_>>());
}
