//! Browser tests of `share_across_tabs` (feature `cross-tab`) within one page, in headless Chromium against the real
//! server: the page leads its connection (a Web Lock, `<html data-sse-live-leading>`) and lets go on unmount;
//! another tab, played here by the test with a `BroadcastChannel` of its own, gets a `welcome` with the events so far
//! and then each live event; hooks with different headers hold different locks; and without `BroadcastChannel` the
//! hook connects by itself. The tests with several real tabs are the end-to-end ones (`e2e/tests/tabs.rs`).
//!
//! Run them like `tests/use_event_source.rs` (`cargo xtask test`), with `--test cross_tab` and the features `fetch`
//! and `cross-tab`.

#![cfg(all(target_arch = "wasm32", feature = "cross-tab", feature = "fetch"))]

mod common;

use std::time::Duration;

use common::{eventually, requests, server, set_hidden, settled_open_streams, unique_key, until_open_streams_are};
use js_sys::{Array, Reflect};
use leptos::prelude::*;
use leptos_sse_live::ConnectionState;
use leptos_sse_live::{use_event_source_with_options, FetchOptions, Transport, UseEventSourceOptions};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn echo(key: &str) -> String {
    format!("{}/test/echo?key={key}", server())
}

fn shared() -> UseEventSourceOptions {
    UseEventSourceOptions::default().share_across_tabs(true)
}

/// `<html data-sse-live-leading>`: how many connections this page leads.
fn leading() -> u32 {
    let root = web_sys::window().unwrap().document().unwrap().document_element().unwrap();
    root.get_attribute("data-sse-live-leading").and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The names of the Web Locks this page holds or waits for.
async fn lock_names() -> Vec<String> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap();
    let locks = Reflect::get(&navigator, &"locks".into()).unwrap();
    let query: js_sys::Function = Reflect::get(&locks, &"query".into()).unwrap().unchecked_into();
    let snapshot =
        wasm_bindgen_futures::JsFuture::from(query.call0(&locks).unwrap().unchecked_into::<js_sys::Promise>())
            .await
            .unwrap();
    let held: Array = Reflect::get(&snapshot, &"held".into()).unwrap().unchecked_into();
    held.iter()
        .filter_map(|lock| Reflect::get(&lock, &"name".into()).ok()?.as_string())
        .filter(|name| name.starts_with(concat!("leptos-sse-live@", env!("CARGO_PKG_VERSION"), ":")))
        .collect()
}

/// Waits (at most 2 s) until this page holds no lock of the hook's.
async fn until_no_locks(what: &str) {
    let start = js_sys::Date::now();
    while !lock_names().await.is_empty() {
        assert!(js_sys::Date::now() - start < 2000.0, "{what}");
        gloo_timers::future::sleep(Duration::from_millis(20)).await;
    }
}

/// Another tab's ear on `channel`: every message posted on it, in order (while the returned closure lives).
fn record(
    channel: &web_sys::BroadcastChannel,
) -> (Array, wasm_bindgen::closure::Closure<dyn FnMut(web_sys::MessageEvent)>) {
    let heard = Array::new();
    let record = {
        let heard = heard.clone();
        wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            heard.push(&event.data());
        })
    };
    channel.set_onmessage(Some(record.as_ref().unchecked_ref()));
    (heard, record)
}

/// The kind of a message between tabs (`hello`, `welcome`, `event`, ...).
fn kind(message: &JsValue) -> String {
    Array::from(message).get(0).as_string().unwrap_or_default()
}

#[wasm_bindgen_test]
async fn a_page_alone_leads_its_connection_and_lets_go_on_unmount() {
    let before = settled_open_streams().await;
    let key = unique_key("cross-tab-alone");
    let owner = Owner::new();
    let stream = owner.with(|| use_event_source_with_options::<Value>(echo(&key), shared()));
    eventually(Duration::from_secs(5), "the echo", || stream.data.get_untracked().is_some()).await;
    assert_eq!(leading(), 1, "the only tab leads");
    assert_eq!(lock_names().await.len(), 1, "one lock held");
    until_open_streams_are(before + 1, "with the page leading").await;
    assert_eq!(requests(&key).await, 1);

    owner.cleanup();
    until_open_streams_are(before, "after unmount").await;
    assert_eq!(leading(), 0);
    // Released when the holding promise resolves, a moment later.
    until_no_locks("the lock is released").await;
}

#[wasm_bindgen_test]
async fn another_tab_gets_a_welcome_with_the_events_so_far_then_each_live_one() {
    let owner = Owner::new();
    // Numbered events, ten a second (`/test/rate`), to see live ones after the welcome.
    let url = format!("{}/test/rate?count=300&per_sec=10", server());
    let stream = owner.with(|| use_event_source_with_options::<Value>(url, shared()));
    eventually(Duration::from_secs(5), "the first events", || stream.message.get_untracked().is_some()).await;
    let names = lock_names().await;
    assert_eq!(names.len(), 1);

    // Another tab, played by the test: it says hello and records what it hears.
    let channel = web_sys::BroadcastChannel::new(&names[0]).unwrap();
    let (heard, _record) = record(&channel);
    let hello = Array::of3(&"hello".into(), &"test-tab".into(), &"".into());
    channel.post_message(&hello).unwrap();
    eventually(Duration::from_secs(3), "a welcome and live events", || {
        let welcome = heard
            .iter()
            .any(|m| kind(&m) == "welcome" && Array::from(&m).get(2).as_string().as_deref() == Some("test-tab"));
        welcome && heard.iter().filter(|m| kind(m) == "event").count() >= 2
    })
    .await;
    let welcome = heard.iter().find(|m| kind(m) == "welcome").map(|m| Array::from(&m)).unwrap();
    assert_eq!(welcome.get(3).as_string().as_deref(), Some("open"), "the leader's state");
    assert_eq!(welcome.get(8).as_bool(), Some(false), "a new tab missed nothing");
    assert!(welcome.length() >= 9 + 3, "the events so far: {:?}", welcome);
    channel.set_onmessage(None);
    channel.close();
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_tab_that_rejoins_past_what_the_leader_keeps_is_told_it_missed_events() {
    let owner = Owner::new();
    let url = format!("{}/test/rate?count=300&per_sec=10", server());
    let stream = owner.with(|| use_event_source_with_options::<Value>(url, shared()));
    eventually(Duration::from_secs(5), "the first events", || !stream.last_event_id.get_untracked().is_empty()).await;
    let names = lock_names().await;
    assert_eq!(names.len(), 1);
    (stream.close)();
    until_no_locks("the lock is released after close()").await;
    let since = stream.last_event_id.get_untracked();

    // Another tab, played by the test, leads now: it holds the lock and answers on the channel.
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap();
    let locks = Reflect::get(&navigator, &"locks".into()).unwrap();
    let request: js_sys::Function = Reflect::get(&locks, &"request".into()).unwrap().unchecked_into();
    let hold = js_sys::Function::new_no_args("return new Promise(r => { globalThis.__releaseTestLock = r; })");
    let _ = request.call2(&locks, &names[0].as_str().into(), &hold).unwrap();
    eventually(Duration::from_secs(2), "the test holds the lock", || {
        Reflect::get(&js_sys::global(), &"__releaseTestLock".into()).is_ok_and(|r| r.is_function())
    })
    .await;
    let channel = web_sys::BroadcastChannel::new(&names[0]).unwrap();
    let (heard, _record) = record(&channel);

    // The page rejoins as a follower, with its last event id; the leader no longer keeps it.
    (stream.open)();
    eventually(Duration::from_secs(3), "a hello", || heard.iter().any(|m| kind(&m) == "hello")).await;
    let hello = heard.iter().find(|m| kind(m) == "hello").map(|m| Array::from(&m)).unwrap();
    assert_eq!(hello.get(2).as_string(), Some(since.clone()), "the hello carries the page's last event id");
    let welcome = Array::new();
    for part in ["welcome".into(), "test-leader".into(), hello.get(1), "open".into()] {
        welcome.push(&part);
    }
    for part in [JsValue::NULL, JsValue::NULL, JsValue::NULL, JsValue::NULL, JsValue::TRUE] {
        welcome.push(&part);
    }
    for part in ["message", r#"{"n":1000}"#, "1000"] {
        welcome.push(&part.into());
    }
    channel.post_message(&welcome).unwrap();
    eventually(Duration::from_secs(3), "the event after the gap", || stream.last_event_id.get_untracked() == "1000")
        .await;
    assert_eq!(
        stream.error.get_untracked(),
        Some(leptos_sse_live::EventSourceError::Missed { since }),
        "the gap is reported, not silent"
    );
    assert_eq!(stream.data.get_untracked().unwrap()["n"], 1000);

    channel.set_onmessage(None);
    channel.close();
    owner.cleanup();
    let release: js_sys::Function =
        Reflect::get(&js_sys::global(), &"__releaseTestLock".into()).unwrap().unchecked_into();
    release.call0(&JsValue::NULL).unwrap();
}

#[wasm_bindgen_test]
async fn hooks_with_different_headers_hold_different_locks() {
    let key = unique_key("cross-tab-headers");
    let owner = Owner::new();
    let with_token = |token: &'static str| {
        let fetch = FetchOptions::default().headers(move || vec![("X-Test-Token".into(), token.into())]);
        shared().transport(Transport::Fetch(fetch))
    };
    let a = owner.with(|| use_event_source_with_options::<Value>(echo(&key), with_token("a")));
    let b = owner.with(|| use_event_source_with_options::<Value>(echo(&key), with_token("b")));
    eventually(Duration::from_secs(5), "both echoes", || {
        a.data.get_untracked().is_some() && b.data.get_untracked().is_some()
    })
    .await;
    assert_eq!(a.data.get_untracked().unwrap()["headers"]["x-test-token"], "a");
    assert_eq!(b.data.get_untracked().unwrap()["headers"]["x-test-token"], "b");
    assert_eq!(lock_names().await.len(), 2, "one lock per token");
    assert_eq!(requests(&key).await, 2, "one connection per token");
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn without_broadcast_channel_the_hook_connects_by_itself() {
    let global = js_sys::global();
    let saved = Reflect::get(&global, &"BroadcastChannel".into()).unwrap();
    Reflect::delete_property(global.unchecked_ref::<js_sys::Object>(), &"BroadcastChannel".into()).unwrap();
    let key = unique_key("cross-tab-fallback");
    let owner = Owner::new();
    let stream = owner.with(|| use_event_source_with_options::<Value>(echo(&key), shared()));
    eventually(Duration::from_secs(5), "the echo", || stream.data.get_untracked().is_some()).await;
    Reflect::set(&global, &"BroadcastChannel".into(), &saved).unwrap();
    assert_eq!(leading(), 0, "nothing led");
    assert!(lock_names().await.is_empty(), "no lock");
    assert_eq!(requests(&key).await, 1);
    owner.cleanup();
}

#[wasm_bindgen_test]
async fn a_page_hidden_past_the_grace_period_lets_go_and_leads_again_when_visible() {
    set_hidden(false);
    let before = settled_open_streams().await;
    let key = unique_key("cross-tab-hidden");
    let owner = Owner::new();
    let options = shared().close_when_hidden(Duration::from_millis(200));
    let stream = owner.with(|| use_event_source_with_options::<Value>(echo(&key), options));
    eventually(Duration::from_secs(5), "the echo", || stream.data.get_untracked().is_some()).await;
    assert_eq!(leading(), 1);

    // Hidden: it no longer wants the stream, so it lets go of the lock (another visible tab would take over).
    set_hidden(true);
    eventually(Duration::from_secs(3), "closed while hidden", || {
        stream.state.get_untracked() == ConnectionState::Closed
    })
    .await;
    assert_eq!(leading(), 0, "it lets go while hidden");
    until_open_streams_are(before, "while hidden").await;

    set_hidden(false);
    eventually(Duration::from_secs(5), "open again", || stream.state.get_untracked() == ConnectionState::Open).await;
    assert_eq!(leading(), 1, "it leads again once visible");
    assert_eq!(requests(&key).await, 2);
    owner.cleanup();
}
