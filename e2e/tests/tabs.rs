//! One connection per browser, not per tab (the hook's `cross-tab` feature, which the demo turns on): several
//! windows of one headless Chromium (one profile, one origin, as tabs) on the demo page, against the real server.
//! The server's `/healthz` says how many streams it holds; each page says what it shows, and how many connections
//! it leads (`<html data-sse-live-leading>`).
//!
//! Run with `cargo xtask test`, or by hand after `trunk build --release` and `cargo build -p sse-live-server`:
//! `cargo test -p sse-live-e2e --test tabs`.

use std::time::{Duration, Instant};

use serde_json::Value;
use sse_live_e2e::browser::Browser;
use sse_live_e2e::server::Server;

const VALUE: &str = "document.querySelector('.temperature .value')?.textContent ?? null";
/// The sequence number of the last event id (ids are `<sequence>@<epoch>`).
const LAST_ID: &str =
    "Number((document.querySelector('.temperature .reading')?.dataset.lastEventId || '0').split('@')[0])";
/// How many connections this page leads.
const LEADING: &str = "Number(document.documentElement.dataset.sseLiveLeading ?? 0)";
/// The chart's points and the last id, read together (no reading arrives in between).
const POINTS_AND_LAST_ID: &str = "[Number(document.querySelector('.temperature .line-chart')?.dataset.points ?? 0), \
     Number((document.querySelector('.temperature .reading')?.dataset.lastEventId || '0').split('@')[0])]";

/// The demo's streams: the thermometer and the random numbers.
const STREAMS_PER_PAGE: u64 = 2;

fn is_str(value: &Value) -> bool {
    value.is_string()
}

/// Waits until the server holds `expected` streams (they open and close asynchronously); returns the count.
async fn until_streams(server: &Server, expected: u64) -> u64 {
    let started = Instant::now();
    loop {
        let open = server.open_streams();
        if open == expected || started.elapsed() > sse_live_e2e::PATIENCE {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens `count` windows on `url` (the first in the session's own window).
async fn open_windows(browser: &Browser, url: &str, count: usize) -> Vec<fantoccini::wd::WindowHandle> {
    let mut windows = vec![browser.current_window().await];
    browser.goto(url).await;
    for _ in 1..count {
        windows.push(browser.new_window().await);
        browser.goto(url).await;
    }
    windows
}

/// Every window shows a temperature, and its chart has one point per id from the first to the last (no gap, no
/// repeat: the URL asks for the whole history).
async fn every_window_has_each_reading(browser: &Browser, windows: &[fantoccini::wd::WindowHandle]) {
    for (at, window) in windows.iter().enumerate() {
        browser.switch_to(window).await;
        browser.until(&format!("a temperature in window {at}"), VALUE, is_str).await;
        let both = browser
            .until(&format!("one point per id in window {at}"), POINTS_AND_LAST_ID, |both| {
                both[1].as_u64() > Some(0) && both[0] == both[1]
            })
            .await;
        println!("window {at}: {} points, last id {}", both[0], both[1]);
    }
}

#[tokio::test]
async fn eight_tabs_hold_one_stream_per_url_and_each_shows_every_reading() {
    let server = Server::start(&["--temperature-interval", "500ms", "--random-interval", "500ms"]);
    let browser = Browser::start(800, 600).await;
    let windows = open_windows(&browser, &server.url(), 8).await;
    every_window_has_each_reading(&browser, &windows).await;
    let open = until_streams(&server, STREAMS_PER_PAGE).await;
    println!("8 tabs sharing: the server holds {open} streams");
    assert_eq!(open, STREAMS_PER_PAGE, "one stream per URL for eight tabs");
    let mut leading = 0;
    for window in &windows {
        browser.switch_to(window).await;
        leading += browser.eval(LEADING).await.as_u64().unwrap_or(0);
    }
    assert_eq!(leading, STREAMS_PER_PAGE, "one leader per URL");
    // A later reading reaches every tab too.
    browser.switch_to(&windows[0]).await;
    let last = browser.eval(LAST_ID).await.as_u64().unwrap_or(0);
    every_window_has_each_reading(&browser, &windows).await;
    for window in &windows {
        browser.switch_to(window).await;
        browser.until("a later reading", LAST_ID, |id| id.as_u64() > Some(last)).await;
    }
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.quit().await;
}

/// The figures of before: eight tabs each with connections of their own (`?tabs=own`), as without the option. The
/// seven others are opened from the first page (`window.open`, popups so that they stay visible) and read through it
/// (same origin): a WebDriver command to a page still waiting for a connection would wait with it.
#[tokio::test]
async fn eight_tabs_without_sharing_hit_the_browsers_connection_limit() {
    let server = Server::start(&["--temperature-interval", "500ms", "--random-interval", "500ms"]);
    let browser = Browser::start(800, 600).await;
    let url = format!("{}/?tabs=own", server.url());
    browser.goto(&url).await;
    browser.until("a temperature in the first tab", VALUE, is_str).await;
    let open_seven = format!(
        "(window.tabs = Array.from({{length: 7}}, () => window.open({}, '_blank', 'width=800,height=600'))).length",
        serde_json::json!(url)
    );
    assert_eq!(browser.eval(&open_seven).await, 7);
    tokio::time::sleep(Duration::from_secs(8)).await;
    let open = server.open_streams();
    let showing = browser
        .eval(
            "1 + window.tabs.filter(w => { try { return !!w.document.querySelector('.temperature .value'); } \
             catch (e) { return false; } }).length",
        )
        .await;
    println!("8 tabs without sharing: the server holds {open} streams, {showing} of 8 tabs show a temperature");
    assert!(open > STREAMS_PER_PAGE, "each tab holds its own streams: {open}");
    let _ = browser.eval("window.tabs.forEach(w => w.close()), true").await;
    browser.quit().await;
}

/// The window whose page leads both streams (the first page to ask leads both).
async fn leader(browser: &Browser, windows: &[fantoccini::wd::WindowHandle]) -> usize {
    let mut leader = None;
    for (at, window) in windows.iter().enumerate() {
        browser.switch_to(window).await;
        if browser.eval(LEADING).await.as_u64() == Some(STREAMS_PER_PAGE) {
            leader = Some(at);
        }
    }
    leader.expect("a page leads both streams")
}

#[tokio::test]
async fn when_the_leader_tab_closes_another_leads_within_a_second_and_no_reading_is_lost_or_repeated() {
    let server = Server::start(&["--temperature-interval", "200ms", "--random-interval", "200ms"]);
    let browser = Browser::start(800, 600).await;
    let mut windows = open_windows(&browser, &server.url(), 4).await;
    every_window_has_each_reading(&browser, &windows).await;
    // First the leader's window closes, then the next leader's page navigates away.
    for how in ["closes", "navigates away"] {
        let leader = leader(&browser, &windows).await;
        browser.switch_to(&windows[leader]).await;
        let before = browser.eval(LAST_ID).await.as_u64().unwrap_or(0);
        if how == "closes" {
            browser.close_window().await;
        } else {
            browser.goto("about:blank").await;
        }
        let left = Instant::now();
        let gone = windows.remove(leader);
        // Watch one remaining page for the next reading but one (the next may have been on its way): the new
        // leader has resumed.
        browser.switch_to(&windows[0]).await;
        let resumed = browser
            .until("a reading after the leader left", LAST_ID, |id| id.as_u64().is_some_and(|id| id > before + 1))
            .await;
        let took = left.elapsed();
        let mut leading = 0;
        for window in &windows {
            browser.switch_to(window).await;
            leading += browser.eval(LEADING).await.as_u64().unwrap_or(0);
        }
        println!(
            "the leader {how} after id {before}; id {resumed} arrived {} ms later (readings every 200 ms)",
            took.as_millis()
        );
        assert_eq!(leading, STREAMS_PER_PAGE, "a new leader for each stream");
        assert!(took < Duration::from_millis(1500), "resumed within a second (plus a reading's interval): {took:?}");
        tokio::time::sleep(Duration::from_secs(1)).await;
        every_window_has_each_reading(&browser, &windows).await;
        assert_eq!(until_streams(&server, STREAMS_PER_PAGE).await, STREAMS_PER_PAGE);
        if how == "navigates away" {
            // Back again (from the back-forward cache, or loaded anew): it follows, with each reading once.
            browser.switch_to(&gone).await;
            browser.back().await;
            windows.push(gone);
            tokio::time::sleep(Duration::from_secs(1)).await;
            every_window_has_each_reading(&browser, &windows).await;
            assert_eq!(until_streams(&server, STREAMS_PER_PAGE).await, STREAMS_PER_PAGE);
        }
    }
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.quit().await;
}

#[tokio::test]
async fn a_tab_that_opts_out_or_sends_another_token_holds_its_own_connection() {
    let server = Server::start(&["--demo-auth", "--jwt-secret", "e2e-secret-e2e-secret-e2e-secret-32"]);
    let browser = Browser::start(1000, 1200).await;
    let windows = open_windows(&browser, &server.url(), 2).await;
    every_window_has_each_reading(&browser, &windows).await;
    assert_eq!(until_streams(&server, STREAMS_PER_PAGE).await, STREAMS_PER_PAGE);

    // A third page that opts out: streams of its own.
    let own = browser.new_window().await;
    browser.goto(&format!("{}/?tabs=own", server.url())).await;
    browser.until("a temperature in the page that opts out", VALUE, is_str).await;
    assert_eq!(until_streams(&server, 2 * STREAMS_PER_PAGE).await, 2 * STREAMS_PER_PAGE);
    assert_eq!(browser.eval(LEADING).await.as_u64(), Some(0), "it leads nothing: it shares nothing");
    browser.close_window().await;
    let _ = own;
    assert_eq!(until_streams(&server, STREAMS_PER_PAGE).await, STREAMS_PER_PAGE);

    // The same private channel with two tokens (issued in different seconds, they differ): one stream each.
    let inbox = "document.querySelector('.inbox')?.dataset.state ?? null";
    for window in &windows {
        browser.switch_to(window).await;
        browser.until("the channel card", "document.querySelector('.name-form input') !== null", |v| *v == true).await;
        browser.type_into(".name-form input", "ada").await;
        browser.click(".name-form button").await;
        browser.until("ada's inbox open", inbox, |v| v == "open").await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let open = until_streams(&server, STREAMS_PER_PAGE + 2).await;
    assert_eq!(open, STREAMS_PER_PAGE + 2, "two tokens, two streams of ada's inbox");
    browser.quit().await;
}

#[tokio::test]
async fn a_browser_without_broadcast_channel_or_web_locks_falls_back_to_a_connection_per_tab() {
    let server = Server::start(&["--temperature-interval", "500ms"]);
    let browser = Browser::start(800, 600).await;
    let remove = json_source();
    let mut windows = vec![browser.current_window().await];
    browser.cdp("Page.addScriptToEvaluateOnNewDocument", remove.clone()).await;
    browser.goto(&server.url()).await;
    windows.push(browser.new_window().await);
    browser.cdp("Page.addScriptToEvaluateOnNewDocument", remove).await;
    browser.goto(&server.url()).await;
    for window in &windows {
        browser.switch_to(window).await;
        let gone = browser.eval("typeof BroadcastChannel === 'undefined' && !('locks' in navigator)").await;
        assert_eq!(gone, true, "the page has neither");
    }
    every_window_has_each_reading(&browser, &windows).await;
    assert_eq!(until_streams(&server, 2 * STREAMS_PER_PAGE).await, 2 * STREAMS_PER_PAGE, "one connection per tab");
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    browser.quit().await;
}

/// The CDP parameters of a script that removes `BroadcastChannel` and `navigator.locks` before the page's own.
fn json_source() -> Value {
    serde_json::json!({ "source": "delete window.BroadcastChannel; delete Navigator.prototype.locks;" })
}
