//! Browser tests of the demo's components, in headless Chromium against the real server.
//!
//! Run them with `cargo xtask test`, which starts `sse-live-server --test-routes` on a free port, passes its URL in
//! `SSE_LIVE_TEST_SERVER` at compile time and the test page's origin in `--allow-origin`, then runs
//! `wasm-bindgen-test-runner`. Tests run one at a time in one page.

#![cfg(target_arch = "wasm32")]

// The hook crate's test helpers (the server's URL, polling, the server's counters, a place to mount).
#[path = "../leptos-sse-live/tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::{container, eventually, open_streams, server, settled_open_streams, until_open_streams_below};
use leptos::prelude::*;
use sse_live::components::TemperatureDisplay;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn temperature_display_shows_connecting_then_a_live_reading() {
    let parent = container();
    let url = format!("{}/e/temperatures", server());
    let handle = leptos::mount::mount_to(parent.clone(), move || view! { <TemperatureDisplay url=url /> });

    let text = || parent.text_content().unwrap_or_default();
    assert!(text().contains("Connecting"), "the badge starts at Connecting: {:?}", text());
    assert!(text().contains("Waiting for the first reading"), "a placeholder until a reading arrives: {:?}", text());

    eventually(Duration::from_secs(5), "a temperature on the page", || {
        text().contains("The current temperature in my living room is")
    })
    .await;
    let shown = text();
    let value: f64 = shown
        .split("living room is ")
        .nth(1)
        .and_then(|rest| rest.split(" °C").next())
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("a number in °C on the page: {shown:?}"));
    assert!((10.0..35.0).contains(&value), "a plausible living-room temperature, got {value}");
    assert!(shown.contains(" as of "), "the reading's time is shown: {shown:?}");
    let badge = parent.query_selector(".badge").unwrap().expect("a connection badge");
    assert_eq!(badge.get_attribute("data-state").as_deref(), Some("live"));
    assert_eq!(badge.text_content().as_deref(), Some("Live"));
    drop(handle);
}

#[wasm_bindgen_test]
async fn the_page_shows_a_decode_error_and_keeps_working() {
    let parent = container();
    let url = format!("{}/test/invalid-json", server());
    let handle = leptos::mount::mount_to(parent.clone(), move || view! { <TemperatureDisplay url=url /> });
    let text = || parent.text_content().unwrap_or_default();
    eventually(Duration::from_secs(5), "22.5 °C on the page", || text().contains("22.5 °C")).await;
    let error = parent.query_selector(".error").unwrap().expect("an error line");
    assert!(!error.has_attribute("hidden"), "the error line is visible");
    assert!(
        error.text_content().unwrap_or_default().contains("could not decode \"this is not json\""),
        "the error names the raw text: {:?}",
        error.text_content()
    );
    drop(handle);
}

#[wasm_bindgen_test]
async fn unmounting_the_component_closes_its_connection() {
    let before = settled_open_streams().await;
    let parent = container();
    let url = format!("{}/e/temperatures", server());
    let handle = leptos::mount::mount_to(parent.clone(), move || view! { <TemperatureDisplay url=url /> });
    eventually(Duration::from_secs(5), "the component's stream to open", || {
        parent.query_selector(".badge[data-state=live]").unwrap().is_some()
    })
    .await;
    let with_stream = open_streams().await;
    assert!(with_stream > before, "the server counts the new stream: {before} -> {with_stream}");

    drop(handle);
    until_open_streams_below(before + 1, "unmount").await;
    assert!(parent.text_content().unwrap_or_default().is_empty(), "the component is gone from the page");
}

/// What the server writes with serde (`sse-live-demo-wire`'s types, the protocol's `Published`), written back out
/// by serde_json as the server does: the page's decoders (`JSON.parse`, `Date.parse`) read the same values.
#[wasm_bindgen_test]
fn the_page_decodes_what_the_server_writes() {
    use sse_live::wire;
    use sse_live_demo_wire::{DemoToken, JobProgress, JobStarted, Note, RandomNumber, TemperatureReading};
    use sse_live_protocol::wire::Published;

    let readings = [
        r#"{"temperature":21.37,"updatedAt":"2026-11-23T19:05:00Z"}"#,
        r#"{"temperature":-3.5,"updatedAt":"1969-12-31T23:59:59.123456789Z"}"#,
        r#"{"temperature":0,"updatedAt":"2026-11-23T20:05:00.5+01:00"}"#,
    ];
    for json in readings {
        let sent: TemperatureReading = serde_json::from_str(json).unwrap();
        let read = wire::reading(&serde_json::to_string(&sent).unwrap()).unwrap();
        assert_eq!(read.temperature, sent.temperature, "{json}");
        let millis = sent.updated_at.unix_timestamp_nanos().div_euclid(1_000_000) as f64;
        assert_eq!(read.updated_at, millis, "{json}: the time to the millisecond");
    }
    for value in [0.0, 0.4217, 0.999_999_999_999_9] {
        let json = serde_json::to_string(&RandomNumber { value }).unwrap();
        assert_eq!(wire::random_number(&json), Ok(RandomNumber { value }));
    }
    for percent in [0, 40, 100, 255] {
        let json = serde_json::to_string(&JobProgress { percent }).unwrap();
        assert_eq!(wire::job_progress(&json), Ok(JobProgress { percent }));
    }
    for text in ["", "hello", "say \"hi\" \\ </script>\n\u{1}", "é中😀"] {
        let json = serde_json::to_string(&Note { text: text.to_owned() }).unwrap();
        assert_eq!(wire::note(&json), Ok(Note { text: text.to_owned() }));
    }
    let started = JobStarted { id: "7".to_owned(), topic: "jobs/7".to_owned() };
    assert_eq!(wire::job_started(&serde_json::to_string(&started).unwrap()), Ok(started));
    for id in [1, 42, (1 << 53) - 1] {
        let published = Published { topic: "users/ada/inbox".to_owned(), id };
        assert_eq!(wire::published(&serde_json::to_string(&published).unwrap()), Ok(published));
    }
    let token = DemoToken {
        token: "eyJhbGciOi.J9.sig".to_owned(),
        sub: "ada".to_owned(),
        topics: vec!["users/ada/*".to_owned()],
        publish: vec!["users/ada/*".to_owned()],
        expires_at: 1_795_000_000,
    };
    let read = wire::token(&serde_json::to_string(&token).unwrap()).unwrap();
    assert_eq!((read.token, read.sub), (token.token, token.sub));
}

/// What is not the type's JSON is an error that says why, never a default value; an error body reads as its message.
#[wasm_bindgen_test]
fn the_page_refuses_what_is_not_the_types_json() {
    use sse_live::request::Answer;
    use sse_live::wire;

    let refused = |result: Result<(), String>, needle: &str| {
        let message = result.expect_err("refused");
        assert!(message.contains(needle), "{message:?} says {needle:?}");
    };
    refused(wire::random_number("this is not json").map(drop), "JSON");
    refused(wire::random_number("[0.5]").map(drop), "expected a JSON object");
    refused(wire::random_number("null").map(drop), "expected a JSON object");
    refused(wire::random_number("{}").map(drop), "missing field `value`");
    refused(wire::random_number(r#"{"value":"0.5"}"#).map(drop), "`value` is not a number");
    refused(wire::note(r#"{"text":null}"#).map(drop), "`text` is not a string");
    refused(wire::note(r#"{"toString":"x"}"#).map(drop), "missing field `text`");
    // Inherited properties (`Object.prototype`'s) are not fields.
    let empty = wire::Object::parse("{}").unwrap();
    refused(empty.string("constructor").map(drop), "missing field `constructor`");
    refused(empty.number("valueOf").map(drop), "missing field `valueOf`");
    refused(wire::job_progress(r#"{"percent":256}"#).map(drop), "from 0 to 255");
    refused(wire::job_progress(r#"{"percent":1.5}"#).map(drop), "from 0 to 255");
    refused(wire::job_progress(r#"{"percent":-1}"#).map(drop), "from 0 to 255");
    refused(wire::reading(r#"{"temperature":20}"#).map(drop), "missing field `updatedAt`");
    refused(wire::reading(r#"{"temperature":20,"updatedAt":"yesterday"}"#).map(drop), "not a time: yesterday");
    refused(wire::published(r#"{"topic":"t","id":1e300}"#).map(drop), "whole number");
    refused(wire::token(r#"{"token":"x"}"#).map(drop), "missing field `sub`");
    refused(wire::reading(r#"{"temperature":20,"updatedAt":"2026-11-23T19:05:00Z","x":"#).map(drop), "JSON");

    assert_eq!(
        wire::error_message(r#"{"error":"the token does not allow the topic \"users/bob/inbox\""}"#).as_deref(),
        Some(r#"the token does not allow the topic "users/bob/inbox""#)
    );
    assert_eq!(wire::error_message("Forbidden"), None);
    assert_eq!(wire::error_message(r#"{"message":"x"}"#), None);
    let answer = Answer { status: 403, text: r#"{"error":"not yours"}"#.to_owned() };
    assert!(!answer.ok());
    assert_eq!(answer.error(), "not yours");
    assert_eq!(Answer { status: 502, text: "Bad Gateway".to_owned() }.error(), "HTTP 502");
}
