//! The demo page end to end: the release build served by the real server (a process), in headless Chromium, read
//! as a person reads it. Each test starts its own server and browser.
//!
//! Run with `cargo xtask test` (it builds the page and the server first), or by hand after `trunk build --release`
//! and `cargo build -p sse-live-server`: `cargo test -p sse-live-e2e`.

use std::time::{Duration, Instant};

use serde_json::Value;
use sse_live_e2e::browser::Browser;
use sse_live_e2e::outage::Link;
use sse_live_e2e::server::Server;

/// The page reads of the thermometer card.
const VALUE: &str = "document.querySelector('.temperature .value')?.textContent ?? null";
const TIME: &str = "document.querySelector('.temperature time')?.textContent ?? null";
const BADGE: &str = "document.querySelector('.temperature .badge')?.dataset.state ?? null";
const BADGE_TEXT: &str = "document.querySelector('.temperature .badge')?.textContent ?? null";
const SENTENCE: &str = "(e => e && !e.hidden ? e.textContent : null)(document.querySelector('.temperature .error'))";
const POINTS: &str = "Number(document.querySelector('.temperature .line-chart')?.dataset.points ?? 0)";
/// The sequence number of the last event id (ids are `<sequence>@<epoch>`).
const LAST_ID: &str =
    "Number((document.querySelector('.temperature .reading')?.dataset.lastEventId || '0').split('@')[0])";

/// The longest the thermometer's hook waits between two reconnect attempts: its backoff's cap, the hook's default
/// `reconnect_max_delay` (30 s; `TemperatureDisplay` keeps it), which is above the `--retry` these tests pass.
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// How long "live again" may take once the server is reachable: the attempt pending then may be up to a whole
/// backoff away, and that attempt then has the usual patience to connect and show.
const LIVE_AGAIN: Duration = Duration::from_secs(BACKOFF_MAX.as_secs() + sse_live_e2e::PATIENCE.as_secs());

/// The README's "a temperature within 2 s of load", for a page that loaded as fast as on a quiet machine.
const FIRST_READING: Duration = Duration::from_secs(2);

fn is_str(value: &Value) -> bool {
    value.is_string()
}

async fn no_console_errors(browser: &Browser) {
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
}

#[tokio::test]
async fn a_temperature_shows_within_two_seconds_and_updates_and_the_unit_is_remembered() {
    let server = Server::start(&["--temperature-interval", "1s"]);
    let browser = Browser::start(1280, 900).await;
    let loading = Instant::now();
    browser.goto(&server.url()).await;
    // The tests run in parallel: a machine busy enough to load the page slowly also runs its module, its stream and
    // its first render slowly. The 2 s grow by twice the time this load took (the navigation, to its load event).
    let load = browser.eval("performance.getEntriesByType('navigation')[0].duration").await;
    let load = Duration::from_millis(load.as_f64().unwrap_or(0.0) as u64);
    let bound = FIRST_READING + 2 * load;
    let value =
        browser.until_within(bound, "a temperature within 2 s of load (plus the load's time)", VALUE, is_str).await;
    println!(
        "first temperature {value} {} ms after navigation (the page loaded in {} ms; bound {} ms)",
        loading.elapsed().as_millis(),
        load.as_millis(),
        bound.as_millis()
    );
    assert!(value.as_str().unwrap().ends_with("°C"), "Celsius by default: {value}");
    assert_eq!(browser.eval(BADGE).await, "live");

    let first = browser.eval(TIME).await;
    browser.until("the next reading", TIME, |time| time.is_string() && *time != first).await;

    browser.click(".unit-toggle button:nth-child(2)").await;
    browser.until("°F after the toggle", VALUE, |v| v.as_str().is_some_and(|v| v.ends_with("°F"))).await;
    browser.goto(&server.url()).await;
    browser.until("°F after a reload (localStorage)", VALUE, |v| v.as_str().is_some_and(|v| v.ends_with("°F"))).await;
    no_console_errors(&browser).await;
    browser.quit().await;
}

#[tokio::test]
async fn when_the_server_is_unreachable_the_badge_counts_down_and_replay_fills_the_gap() {
    let server = Server::start(&["--temperature-interval", "300ms", "--retry", "500ms"]);
    let mut link = Link::up(&format!("127.0.0.1:{}", server.port())).await;
    let browser = Browser::start(1280, 900).await;
    browser.goto(&link.url()).await;
    browser.until("live", BADGE, |state| state == "live").await;
    browser.until("a few readings", POINTS, |points| points.as_u64() >= Some(3)).await;

    link.cut();
    browser.until("Reconnecting", BADGE, |state| state == "reconnecting").await;
    let text = browser
        .until("a countdown", BADGE_TEXT, |t| t.as_str().is_some_and(|t| t.starts_with("Reconnecting in")))
        .await;
    println!("badge during the outage: {text}");
    let sentence = browser.until("the sentence", SENTENCE, is_str).await;
    assert!(sentence.as_str().unwrap().contains("cannot be reached"), "{sentence}");
    let during = browser.eval(LAST_ID).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(browser.eval(LAST_ID).await, during, "nothing arrives while the server is unreachable");

    link.restore().await;
    browser.until_within(LIVE_AGAIN, "live again", BADGE, |state| state == "live").await;
    assert_eq!(browser.eval(SENTENCE).await, Value::Null, "the sentence is gone once live");
    // The server published every 300 ms meanwhile; the reconnect carried the last id, so the chart has every reading
    // once: as many points as the last id (ids count from 1, all within the server's history).
    browser.until("readings after the outage", LAST_ID, |id| id.as_u64() > during.as_u64()).await;
    // Read both in one go, so that no reading arrives between them.
    let both = browser.eval(&format!("[{POINTS}, {LAST_ID}]")).await;
    let (points, last) = (&both[0], &both[1]);
    assert_eq!(points.as_u64(), last.as_u64(), "one point per id from 1 to the last: no gap, no duplicate");
    no_console_errors(&browser).await;
    browser.quit().await;
}

#[tokio::test]
async fn a_killed_server_shows_reconnecting_and_its_restart_returns_to_live() {
    let mut server = Server::start(&["--temperature-interval", "500ms", "--retry", "500ms"]);
    let browser = Browser::start(1280, 900).await;
    browser.goto(&server.url()).await;
    browser.until("live", BADGE, |state| state == "live").await;

    server.kill();
    browser.until("Reconnecting", BADGE, |state| state == "reconnecting").await;
    browser.until("the sentence", SENTENCE, is_str).await;

    server.restart();
    browser.until_within(LIVE_AGAIN, "live again", BADGE, |state| state == "live").await;
    let after = browser.eval(TIME).await;
    browser.until("a reading from the restarted server", TIME, |time| time.is_string() && *time != after).await;
    no_console_errors(&browser).await;
    browser.quit().await;
}

#[tokio::test]
async fn screenshots_at_desktop_and_phone_sizes() {
    let server = Server::start(&[
        "--temperature-interval",
        "200ms",
        "--random-interval",
        "200ms",
        "--demo-jobs",
        "--job-step",
        "30ms",
        "--demo-auth",
        "--jwt-secret",
        "e2e-secret-e2e-secret-e2e-secret-32",
    ]);
    let browser = Browser::start(1280, 1000).await;
    browser.goto(&server.url()).await;
    browser.until("a filled chart", POINTS, |points| points.as_u64() >= Some(40)).await;
    // Every card in use: a finished job and a channel with a note.
    browser.click(".start-job").await;
    let state = "document.querySelector('.job-stream')?.dataset.state ?? null";
    browser.until("the job done", state, |v| v == "closed").await;
    browser.type_into(".name-form input", "ada").await;
    browser.click(".name-form button").await;
    browser.until("ada's inbox", "document.querySelector('.note-form input') !== null", |v| *v == true).await;
    browser.type_into(".note-form input", "The thermometer is back online").await;
    browser.click(".note-form button").await;
    browser.until("the note", "document.querySelectorAll('.notes li').length", |v| v.as_u64() == Some(1)).await;

    let desktop = browser.screenshot("dashboard-desktop").await;
    browser.resize(390, 844).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let phone = browser.screenshot("dashboard-phone").await;
    // The page fits a phone's width: nothing scrolls sideways.
    let overflow = browser.eval("document.documentElement.scrollWidth - document.documentElement.clientWidth").await;
    assert_eq!(overflow.as_i64(), Some(0), "horizontal overflow at 390 px");
    println!("screenshots: {} {}", desktop.display(), phone.display());
    no_console_errors(&browser).await;
    browser.quit().await;
}

/// The server with the job and private-channel cards on, jobs fast.
fn demo_server() -> Server {
    Server::start(&[
        "--demo-jobs",
        "--job-step",
        "60ms",
        "--demo-auth",
        "--jwt-secret",
        "e2e-secret-e2e-secret-e2e-secret-32",
    ])
}

#[tokio::test]
async fn a_job_fills_its_bar_to_100_and_its_stream_stays_closed() {
    let server = demo_server();
    let browser = Browser::start(1280, 900).await;
    browser.goto(&server.url()).await;
    browser.until("the job card", "document.querySelector('.start-job') !== null", |v| *v == true).await;
    browser.click(".start-job").await;
    let value = "Number(document.querySelector('.job-stream progress')?.value ?? -1)";
    browser.until("the bar moving", value, |v| v.as_f64().is_some_and(|v| v > 0.0)).await;
    browser.until("100 %", value, |v| v.as_f64() == Some(100.0)).await;
    let state = "document.querySelector('.job-stream')?.dataset.state ?? null";
    browser.until("the job's stream closed", state, |v| v == "closed").await;
    let status = browser.eval("document.querySelector('.job-status').textContent").await;
    assert_eq!(status, "Done: the stream is closed");
    // Closed for good: no reconnect brings it back (the server keeps the topic a minute, so one would succeed).
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(browser.eval(state).await, "closed");
    let open = browser.eval("fetch('/healthz').then(r => r.json()).then(h => h.openStreams)").await;
    assert_eq!(open.as_u64(), Some(2), "only the thermometer's and the random numbers' streams: {open}");
    no_console_errors(&browser).await;
    browser.quit().await;
}

#[tokio::test]
async fn a_private_channel_receives_its_notes_and_refuses_another_name() {
    let server = demo_server();
    let browser = Browser::start(1280, 1200).await;
    browser.goto(&server.url()).await;
    browser.until("the channel card", "document.querySelector('.name-form input') !== null", |v| *v == true).await;
    browser.type_into(".name-form input", "ada").await;
    browser.click(".name-form button").await;
    let inbox = "document.querySelector('.inbox')?.dataset.state ?? null";
    browser.until("ada's inbox open", inbox, |v| v == "open").await;

    browser.type_into(".note-form input", "<b>hello</b> from ada").await;
    browser.click(".note-form button").await;
    let notes = "[...document.querySelectorAll('.notes li')].map(li => li.textContent)";
    let arrived = browser.until("the note in the inbox", notes, |v| v.as_array().is_some_and(|a| !a.is_empty())).await;
    assert_eq!(arrived, serde_json::json!(["<b>hello</b> from ada"]), "shown as text, not HTML");
    assert_eq!(browser.eval("document.querySelectorAll('.notes b').length").await, 0);
    let sent = browser.eval("document.querySelector('.sent').textContent").await;
    assert_eq!(sent, "Sent as event 1 of users/ada/inbox");

    browser.type_into(".peek-form input", "bob").await;
    browser.click(".peek-form button").await;
    let peek = "document.querySelector('.peek')?.textContent ?? null";
    let refused = browser.until("the refusal", peek, |v| v.as_str().is_some_and(|t| t.starts_with("Refused"))).await;
    assert_eq!(refused, "Refused (403): the token does not allow the topic \"users/bob/inbox\"");
    no_console_errors(&browser).await;
    browser.quit().await;
}
