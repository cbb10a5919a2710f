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
