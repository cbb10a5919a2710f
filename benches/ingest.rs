//! Client ingest benchmark, in headless Chromium against the real server (issue 7): how many events per second the
//! hook decodes and applies, how late the shown value is, and the longest main-thread task, side by side with a plain
//! JavaScript `EventSource` + `JSON.parse` page on the same stream, in the same page and the same run.
//!
//! Method. The server's `/test/rate?count=N&per_sec=K` sends `N` readings (`{"n", "t", "value"}`, `t` = when the
//! server wrote it, in milliseconds since the epoch) at `K` per second (`K = 0`: as fast as the socket takes them),
//! then `end`. Each client shows the reading's value as text in the page:
//! - `baseline`: `new EventSource(url)`, `JSON.parse` and `textContent` on every message (inline JavaScript below);
//! - `hook (EventSource)` and `hook (fetch)`: `use_event_source::<Reading>` with each transport, defaults otherwise
//!   (serde decoding, signals written once per animation frame), `end` as the terminal event, the value rendered by
//!   a Leptos view;
//! - `leptos-use` (bursts only): leptos-use-event-source 0.20's `use_event_source::<Reading, JsonSerdeCodec>` (its
//!   `message` signal set on every message), the value rendered by a Leptos view, closed on `end`.
//!
//! Two kinds of run: paced (1,000/s and 10,000/s for `SSE_LIVE_INGEST_SECONDS`), and bursts of 10,000 and 100,000
//! events (`per_sec=0`: the server writes them in batches of 64 as fast as the socket takes them, so the page gets
//! them as fast as it can read them), where the rate and the longest task are what a client costs per message.
//!
//! Per run: events/s = (messages − 1) / (last message − first message), counted at every message (the baseline's
//! `onmessage`, the hook's `on_message`, leptos-use's `on_event` for each `MessageEvent`), the first message taken
//! as the browser dispatched it (the hook hands a burst's messages on over several tasks); lag = (when the page's value changed) − `t`, sampled whenever the shown
//! value changes (every message for the baseline, once per frame for the hook: that is the cost of coalescing, and
//! what a user sees); the longest task from Chromium's `longtask` entries (tasks of 50 ms and more) and the longest
//! gap between two animation frames, both within the run. Rounds alternate the clients so that drift hits all
//! alike; the report takes each client's median events/s and its worst task and frame gap, and keeps every round's
//! events/s and longest task: round `i` of each client ran back to back, so their ratios pair rounds under the same
//! load.
//!
//! Under load the rates of a burst move 2 to 3× between rounds. Two figures move less: every round's mean time in
//! the `onmessage` handler per message (`handler_us_rounds`: the page wraps every `EventSource`'s `onmessage` with
//! `performance.now()`), and, with `SSE_LIVE_INGEST_DISPATCH=1` at compile time (instead of the rates), the client's
//! own cost per message without the network ([`dispatch_cost`]: readings dispatched as `MessageEvent`s on each
//! client's `EventSource` in short batches, the fastest decile of many), printed as one `DISPATCH {json}` line.
//!
//! To repeat one run over many rounds (all at compile time): `SSE_LIVE_INGEST_ROUNDS` (`SSE_LIVE_INGEST_BURST_ROUNDS`
//! for the bursts, `cargo xtask bench` sets 15), `SSE_LIVE_INGEST_ONLY` (runs by
//! name, comma-separated: `1000/s`, `10000/s`, `10000`, `100000`) and `SSE_LIVE_INGEST_CLIENTS` (`baseline`,
//! `eventsource`, `fetch`, `leptos-use`). Each `INGEST` line also has every round's long tasks and its first and last
//! message on the round's timeline (`long_tasks_rounds`, `message_span_rounds`): what a long task held.
//!
//! Not a test: `cargo test` never runs it (`test = false` in Cargo.toml). `cargo xtask bench` runs it in release
//! with `--test ingest -- --nocapture` and wasm-bindgen's release glue (`WASM_BINDGEN_NO_DEBUG=1`: the test runner's
//! debug glue wraps every call from wasm into JavaScript in a logging `try`), and reads the `INGEST {json}` lines it
//! prints.

#![cfg(target_arch = "wasm32")]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gloo_timers::future::sleep;
use leptos::prelude::*;
use leptos_sse_live::{use_event_source_with_options, ConnectionState, FetchOptions, Transport, UseEventSourceOptions};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
const tasks = [];
const frames = [];
let observing = false;
let longtaskSupported = false;

// Time spent in `message` handlers (every `onmessage` set on an EventSource is wrapped): what a client costs per
// message, apart from the browser's own reading and dispatching of the stream, which every client shares.
let handlerMs = 0, handled = 0, firstHandled = 0;
// Every `message` event: when its handler began and how long it ran (performance.now() milliseconds), to say what a
// long task held.
const handlerStarts = [], handlerDurations = [];
{
  const onmessage = Object.getOwnPropertyDescriptor(EventSource.prototype, 'onmessage');
  Object.defineProperty(EventSource.prototype, 'onmessage', {
    configurable: true,
    enumerable: onmessage.enumerable,
    get() { return onmessage.get.call(this); },
    set(f) {
      const timed = typeof f === 'function' ? function (e) {
        const t = performance.now();
        if (!handled) firstHandled = performance.timeOrigin + t;
        try { return f.call(this, e); } finally {
          const ms = performance.now() - t;
          handlerMs += ms;
          handled++;
          handlerStarts.push(t);
          handlerDurations.push(ms);
        }
      } : f;
      onmessage.set.call(this, timed);
    },
  });
}
export function handlerTime() {
  const r = [handlerMs, handled, firstHandled];
  handlerMs = handled = firstHandled = 0;
  return r;
}

export function now() { return performance.timeOrigin + performance.now(); }
export function perfNow() { return performance.now(); }

export function observe() {
  if (observing) return;
  observing = true;
  longtaskSupported = (PerformanceObserver.supportedEntryTypes || []).includes('longtask');
  if (longtaskSupported) {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) tasks.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  }
  let prev = performance.now();
  const tick = (t) => { frames.push([prev, t]); prev = t; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}

export function windowStats(from, to) {
  let longest = 0, count = 0, gap = 0;
  const within = [];
  for (const [start, duration] of tasks) {
    if (start + duration >= from && start <= to) {
      count++;
      longest = Math.max(longest, duration);
      // The `message` events dispatched in the task, and their handlers' time.
      let messages = 0, handlerTime = 0;
      for (let i = 0; i < handlerStarts.length; i++) {
        const t = handlerStarts[i];
        if (t >= start && t <= start + duration) { messages++; handlerTime += handlerDurations[i]; }
      }
      within.push([Math.round(start - from), Math.round(duration), messages, Math.round(handlerTime)]);
    }
  }
  for (const [a, b] of frames) if (b >= from && a <= to) gap = Math.max(gap, b - a);
  handlerStarts.length = handlerDurations.length = 0;
  const stats = { longtaskSupported, longTasks: count, longestTaskMs: longest, maxFrameGapMs: gap, tasks: within };
  return JSON.stringify(stats);
}

// The plain client: an EventSource on `url` whose every message is parsed and shown, as a page would.
function plain(url) {
  const out = document.createElement('output');
  document.body.appendChild(out);
  const seen = { count: 0, first: 0, last: 0, lags: [] };
  const es = new EventSource(url);
  es.onmessage = (e) => {
    const reading = JSON.parse(e.data);
    const t = performance.timeOrigin + performance.now();
    if (seen.count === 0) seen.first = t;
    seen.last = t;
    seen.count++;
    out.textContent = reading.value.toFixed(1);
    seen.lags.push(t - reading.t);
  };
  const close = () => { es.close(); out.remove(); };
  return { es, seen, close };
}

export function baseline(url) {
  return new Promise((resolve, reject) => {
    const { es, seen, close } = plain(url);
    es.addEventListener('end', () => {
      close();
      resolve(JSON.stringify(seen));
    });
    es.onerror = () => { if (es.readyState === EventSource.CLOSED) reject(new Error('the baseline EventSource failed')); };
  });
}

// Every EventSource the page creates (the hook's too), newest last, for `dispatch`.
const sources = [];
{
  const Native = EventSource;
  globalThis.EventSource = class extends Native {
    constructor(...args) { super(...args); sources.push(this); }
  };
}

// Dispatches `n` readings as `message` events on EventSource number `index` (in creation order), synchronously, in
// one task; the milliseconds it took. The stream itself sends nothing meanwhile (`/test/stall`).
let dispatched = 0;
export function dispatch(index, n) {
  const source = sources[index];
  const t = performance.timeOrigin + performance.now();
  const events = [];
  for (let i = 0; i < n; i++) {
    const id = String(dispatched++);
    const data = `{"n":${id},"t":${t},"value":${20 + (i % 100) / 10}}`;
    events.push(new MessageEvent('message', { data, lastEventId: id }));
  }
  const start = performance.now();
  for (const event of events) source.dispatchEvent(event);
  return performance.now() - start;
}

// Opens the plain client on `url`; resolves, once it has the stream's first event, to
// `[the number of its EventSource, a function that closes it and returns how many messages it saw]`.
export async function plainOpen(url) {
  const { seen, close } = plain(url);
  const index = sources.length - 1;
  while (seen.count === 0) await new Promise((r) => setTimeout(r, 10));
  return [index, () => { close(); return seen.count; }];
}

export function newestSource() { return sources.length - 1; }
"#)]
extern "C" {
    /// Milliseconds since the epoch, with fractions (comparable with the server's `t` on the same machine).
    fn now() -> f64;
    /// `performance.now()`: the timeline of long tasks and frames.
    #[wasm_bindgen(js_name = perfNow)]
    fn perf_now() -> f64;
    /// Starts recording long tasks and animation frames (once per page).
    fn observe();
    /// `{"longtaskSupported", "longTasks", "longestTaskMs", "maxFrameGapMs", "tasks"}` between two `perf_now()` times
    /// (`tasks`: each long task's start, from `from`, and duration, in whole milliseconds, and the `message` events
    /// dispatched in it and their handlers' milliseconds).
    #[wasm_bindgen(js_name = windowStats)]
    fn window_stats(from: f64, to: f64) -> String;
    /// `[milliseconds, messages, when the first began]` in `EventSource` `onmessage` handlers since the last call
    /// (none for the hook on the fetch transport).
    #[wasm_bindgen(js_name = handlerTime)]
    fn handler_time() -> Vec<f64>;
    /// Runs the plain JavaScript client on `url`; resolves to `{"count", "first", "last", "lags"}` as JSON.
    fn baseline(url: &str) -> js_sys::Promise;
    /// Dispatches `n` readings on `EventSource` number `index` in one task; the milliseconds it took.
    fn dispatch(index: u32, n: u32) -> f64;
    /// Opens the plain client on `url` (a stream with one event); resolves, once that event is in, to `[the number
    /// of its EventSource, a function that closes it and returns how many messages it saw]`.
    #[wasm_bindgen(js_name = plainOpen)]
    fn plain_open(url: &str) -> js_sys::Promise;
    /// The number of the newest `EventSource`.
    #[wasm_bindgen(js_name = newestSource)]
    fn newest_source() -> u32;
}

/// One reading of `/test/rate`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Reading {
    n: u64,
    t: f64,
    value: f64,
}

/// What a client saw of one stream.
#[derive(Debug, Default, Deserialize)]
struct Received {
    count: u64,
    first: f64,
    last: f64,
    lags: Vec<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Window {
    longtask_supported: bool,
    long_tasks: u64,
    longest_task_ms: f64,
    max_frame_gap_ms: f64,
    tasks: Vec<(f64, f64, f64, f64)>,
}

/// One client's figures over all rounds at one rate: what `cargo xtask bench` reads.
#[derive(Debug, Serialize)]
struct Figures {
    client: &'static str,
    per_sec: u64,
    events: u64,
    rounds: usize,
    /// The median round's events per second.
    events_per_sec: f64,
    /// Every round's events per second.
    events_per_sec_rounds: Vec<f64>,
    lag_p50_ms: f64,
    lag_p99_ms: f64,
    lag_max_ms: f64,
    lag_samples: usize,
    long_tasks: u64,
    longest_task_ms: f64,
    /// Every round's longest task (0 when it had none of 50 ms or more).
    longest_task_ms_rounds: Vec<f64>,
    /// Every round's long tasks: `[start from the round's start, duration, message events dispatched in it, their
    /// handlers' time]`, in milliseconds.
    long_tasks_rounds: Vec<Vec<(f64, f64, f64, f64)>>,
    /// Every round's first and last message, in milliseconds from the round's start (the timeline of
    /// `long_tasks_rounds`: what of a long task was the messages, and what came before and after them).
    message_span_rounds: Vec<(f64, f64)>,
    /// Every round's mean time in the `onmessage` handler per message, in microseconds (`EventSource` clients only,
    /// else 0): the client's own cost per message, which load on the machine moves far less than the rates.
    handler_us_rounds: Vec<f64>,
    max_frame_gap_ms: f64,
    longtask_supported: bool,
    /// Every round received every event.
    complete: bool,
}

#[derive(Debug, Clone)]
enum Client {
    Baseline,
    Hook(Transport),
    LeptosUse,
}

impl Client {
    fn name(&self) -> &'static str {
        match self {
            Client::Baseline => "baseline",
            Client::Hook(Transport::EventSource) => "hook (EventSource)",
            Client::Hook(_) => "hook (fetch)",
            Client::LeptosUse => "leptos-use",
        }
    }
}

fn server() -> &'static str {
    match option_env!("SSE_LIVE_TEST_SERVER") {
        Some(url) => url,
        None => panic!("SSE_LIVE_TEST_SERVER is not set: run the benchmark with `cargo xtask bench`"),
    }
}

/// Seconds of stream per round (`SSE_LIVE_INGEST_SECONDS` at compile time; `cargo xtask bench --quick` sets 1).
fn seconds() -> u64 {
    option_env!("SSE_LIVE_INGEST_SECONDS").and_then(|s| s.parse().ok()).unwrap_or(5)
}

/// `SSE_LIVE_INGEST_BURSTS_ONLY` at compile time: only the bursts (for working on the per-message cost).
fn bursts_only() -> bool {
    option_env!("SSE_LIVE_INGEST_BURSTS_ONLY").is_some()
}

/// `SSE_LIVE_INGEST_DISPATCH` at compile time: only [`dispatch_cost`], the client's own cost per message.
fn dispatch_only() -> bool {
    option_env!("SSE_LIVE_INGEST_DISPATCH").is_some()
}

/// Rounds per client and rate (`SSE_LIVE_INGEST_ROUNDS`, default 3).
fn rounds() -> usize {
    option_env!("SSE_LIVE_INGEST_ROUNDS").and_then(|s| s.parse().ok()).unwrap_or(3)
}

/// Rounds per client of a burst (`SSE_LIVE_INGEST_BURST_ROUNDS`, default [`rounds`]). A burst round takes a second
/// or two, and one round's ratio to the baseline's moves between 0.3x and 2.3x on a loaded machine (174 pairs of a
/// 10,000 burst, BENCHMARKS.md): the median of 3 rounds said "missed" a third of the time with the median pair at
/// 0.97x.
fn burst_rounds() -> usize {
    option_env!("SSE_LIVE_INGEST_BURST_ROUNDS").and_then(|s| s.parse().ok()).unwrap_or_else(rounds)
}

/// Whether `name` is in the comma-separated list `SSE_LIVE_INGEST_<what>` set at compile time (all when unset).
fn selected(list: Option<&str>, name: &str) -> bool {
    list.is_none_or(|list| list.split(',').any(|item| item.trim() == name))
}

/// `SSE_LIVE_INGEST_ONLY` at compile time: the runs to make, by name (`1000/s`, `10000/s`: the paces; `10000`,
/// `100000`: the bursts), for repeating one of them over many rounds; all when unset.
fn run_selected(per_sec: u64, count: u64) -> bool {
    let name = if per_sec == 0 { count.to_string() } else { format!("{per_sec}/s") };
    selected(option_env!("SSE_LIVE_INGEST_ONLY"), &name)
}

/// `SSE_LIVE_INGEST_CLIENTS` at compile time: the clients to run (`baseline`, `eventsource`, `fetch`,
/// `leptos-use`); all when unset.
fn client_selected(client: &Client) -> bool {
    let name = match client {
        Client::Baseline => "baseline",
        Client::Hook(Transport::EventSource) => "eventsource",
        Client::Hook(_) => "fetch",
        Client::LeptosUse => "leptos-use",
    };
    selected(option_env!("SSE_LIVE_INGEST_CLIENTS"), name)
}

async fn run_baseline(url: &str) -> Received {
    let json = wasm_bindgen_futures::JsFuture::from(baseline(url)).await.expect("the baseline client ran");
    serde_json::from_str(&json.as_string().expect("a JSON string")).expect("the baseline's figures")
}

async fn run_hook(url: String, transport: Transport) -> Received {
    let count = Arc::new(AtomicU64::new(0));
    let times: Arc<Mutex<(f64, f64)>> = Arc::default();
    let lags: Arc<Mutex<Vec<f64>>> = Arc::default();
    let state_slot: Arc<Mutex<Option<Signal<ConnectionState>>>> = Arc::default();
    let (counter, clock) = (count.clone(), times.clone());
    let options = UseEventSourceOptions::default().transport(transport).terminal_event("end").on_message(move |_| {
        let t = now();
        let mut times = clock.lock().unwrap();
        if counter.fetch_add(1, Ordering::Relaxed) == 0 {
            times.0 = t;
        }
        times.1 = t;
    });
    let parent = web_sys::window().unwrap().document().unwrap().body().unwrap();
    let (slot, lag_log) = (state_slot.clone(), lags.clone());
    let handle = leptos::mount::mount_to(parent.unchecked_into(), move || {
        let hook = use_event_source_with_options::<Reading>(url, options);
        *slot.lock().unwrap() = Some(hook.state);
        let data = hook.data;
        Effect::new(move |_| {
            if let Some(reading) = data.get() {
                lag_log.lock().unwrap().push(now() - reading.t);
            }
        });
        view! { <output>{move || data.get().map(|r| format!("{:.1}", r.value))}</output> }
    });
    let state = state_slot.lock().unwrap().expect("the hook ran");
    let start = js_sys::Date::now();
    while state.get_untracked() != ConnectionState::Closed {
        assert!(js_sys::Date::now() - start < 600_000.0, "the stream did not end within 10 minutes");
        sleep(Duration::from_millis(20)).await;
    }
    // Let the last frame's effect run before reading the lags.
    sleep(Duration::from_millis(50)).await;
    drop(handle);
    let (first, last) = *times.lock().unwrap();
    let lags = std::mem::take(&mut *lags.lock().unwrap());
    Received { count: count.load(Ordering::Relaxed), first, last, lags }
}

/// leptos-use-event-source's hook on `url` until the stream's `end` event, then closed (before the browser's own
/// reconnect would fetch the stream again). Messages are counted in `on_event`, which it calls for every event
/// before decoding it: each `MessageEvent` (reading no string, so that counting costs it nothing the others do not
/// pay). The last one is `end`, whose data `done` does not decode: the `error` it sets ends the run, and the count
/// and the last time leave it out.
async fn run_leptos_use(url: String) -> Received {
    use codee::string::JsonSerdeCodec;
    use leptos_use_event_source::{use_event_source_with_options, UseEventSourceOnEventReturn, UseEventSourceOptions};

    let count = Arc::new(AtomicU64::new(0));
    let lags: Arc<Mutex<Vec<f64>>> = Arc::default();
    // (first, the one before the last, the last)
    let times3: Arc<Mutex<(f64, f64, f64)>> = Arc::default();
    let ended = Arc::new(AtomicBool::new(false));
    type Close = Arc<dyn Fn() + Send + Sync>;
    let close_slot: Arc<Mutex<Option<Close>>> = Arc::default();
    let (counter, clock) = (count.clone(), times3.clone());
    let options = UseEventSourceOptions::<Reading>::default().named_events(vec!["end".to_owned()]).on_event(
        move |event: &web_sys::Event| {
            if event.is_instance_of::<web_sys::MessageEvent>() {
                let t = now();
                let mut times = clock.lock().unwrap();
                if counter.fetch_add(1, Ordering::Relaxed) == 0 {
                    times.0 = t;
                }
                times.1 = times.2;
                times.2 = t;
            }
            UseEventSourceOnEventReturn::ProcessMessage
        },
    );
    let parent = web_sys::window().unwrap().document().unwrap().body().unwrap();
    let (slot, lag_log, end) = (close_slot.clone(), lags.clone(), ended.clone());
    let handle = leptos::mount::mount_to(parent.unchecked_into(), move || {
        let hook = use_event_source_with_options::<Reading, JsonSerdeCodec>(url, options);
        let close = hook.close;
        *slot.lock().unwrap() = Some(Arc::new(close));
        let error = hook.error;
        Effect::new(move |_| {
            if error.with(Option::is_some) {
                end.store(true, Ordering::Relaxed);
            }
        });
        let message = hook.message;
        Effect::new(move |_| {
            if let Some(m) = message.get() {
                lag_log.lock().unwrap().push(now() - m.data.t);
            }
        });
        view! { <output>{move || message.get().map(|m| format!("{:.1}", m.data.value))}</output> }
    });
    let close = close_slot.lock().unwrap().clone().expect("the hook ran");
    let start = js_sys::Date::now();
    while !ended.load(Ordering::Relaxed) {
        assert!(js_sys::Date::now() - start < 600_000.0, "the stream did not end within 10 minutes");
        sleep(Duration::from_millis(20)).await;
    }
    close();
    sleep(Duration::from_millis(50)).await;
    drop(handle);
    let (first, last, _end) = *times3.lock().unwrap();
    let lags = std::mem::take(&mut *lags.lock().unwrap());
    Received { count: count.load(Ordering::Relaxed).saturating_sub(1), first, last, lags }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    percentile(&sorted, 50.0)
}

/// Runs every client [`rounds`] times on `count` events at `per_sec` ([`burst_rounds`] times for a burst),
/// alternating, and prints one `INGEST` line each.
async fn measure(per_sec: u64, count: u64, clients: &[Client]) {
    if !run_selected(per_sec, count) {
        return;
    }
    let clients: Vec<Client> = clients.iter().filter(|client| client_selected(client)).cloned().collect();
    let mut rounds_of: Vec<Vec<(Received, Window, f64, (f64, f64))>> = clients.iter().map(|_| Vec::new()).collect();
    let rounds = if per_sec == 0 { burst_rounds() } else { rounds() };
    for _ in 0..rounds {
        for (i, client) in clients.iter().enumerate() {
            let url = format!("{}/test/rate?count={count}&per_sec={per_sec}", server());
            handler_time();
            let (from, from_epoch) = (perf_now(), now());
            let received = match client {
                Client::Baseline => run_baseline(&url).await,
                Client::Hook(transport) => run_hook(url, transport.clone()).await,
                Client::LeptosUse => run_leptos_use(url).await,
            };
            let to = perf_now();
            let (handlers, dispatched) = match handler_time()[..] {
                [ms, messages, first] if messages > 0.0 => (ms * 1000.0 / messages, first),
                _ => (0.0, received.first),
            };
            // From the browser's first `message` event, not the client's: a client that handles messages later than
            // the browser dispatches them (the hook, in a burst) is timed from the same start as one that does not.
            let received = Received { first: received.first.min(dispatched), ..received };
            // Chromium reports a long task shortly after it ends.
            sleep(Duration::from_millis(300)).await;
            let window: Window = serde_json::from_str(&window_stats(from, to)).expect("window stats");
            let span = (received.first - from_epoch, received.last - from_epoch);
            rounds_of[i].push((received, window, handlers, span));
            sleep(Duration::from_millis(200)).await;
        }
    }
    for (client, rounds) in clients.iter().zip(rounds_of) {
        let per_round: Vec<f64> = rounds
            .iter()
            .map(|(r, ..)| if r.last > r.first { (r.count - 1) as f64 * 1000.0 / (r.last - r.first) } else { 0.0 })
            .collect();
        let mut lags: Vec<f64> = rounds.iter().flat_map(|(r, ..)| r.lags.iter().copied()).collect();
        lags.sort_by(f64::total_cmp);
        let figures = Figures {
            client: client.name(),
            per_sec,
            events: count,
            rounds: rounds.len(),
            events_per_sec: median(&per_round),
            events_per_sec_rounds: per_round,
            lag_p50_ms: percentile(&lags, 50.0),
            lag_p99_ms: percentile(&lags, 99.0),
            lag_max_ms: lags.last().copied().unwrap_or(f64::NAN),
            lag_samples: lags.len(),
            long_tasks: rounds.iter().map(|(_, w, ..)| w.long_tasks).sum(),
            longest_task_ms: rounds.iter().map(|(_, w, ..)| w.longest_task_ms).fold(0.0, f64::max),
            longest_task_ms_rounds: rounds.iter().map(|(_, w, ..)| w.longest_task_ms).collect(),
            long_tasks_rounds: rounds.iter().map(|(_, w, ..)| w.tasks.clone()).collect(),
            message_span_rounds: rounds.iter().map(|(.., span)| *span).collect(),
            handler_us_rounds: rounds.iter().map(|(_, _, us, _)| *us).collect(),
            max_frame_gap_ms: rounds.iter().map(|(_, w, ..)| w.max_frame_gap_ms).fold(0.0, f64::max),
            longtask_supported: rounds.iter().all(|(_, w, ..)| w.longtask_supported),
            complete: rounds.iter().all(|(r, ..)| r.count == count),
        };
        console_log!("INGEST {}", serde_json::to_string(&figures).expect("figures serialize"));
    }
}

/// The client's own cost per message, apart from the network and the browser's parsing of the stream: readings
/// dispatched as `MessageEvent`s on each client's `EventSource` (both open on `/test/stall`, which sends one event
/// and then nothing), in batches of [`BATCH`] in one task each, alternating the plain page and the hook (on
/// `EventSource`, counting in `on_message` as in [`run_hook`]), with a pause for the frame between pairs. Load on the
/// machine can only slow a batch down: short batches, many of them, and their fastest decile show the cost without
/// it. A batch must stay shorter than the 8 ms the hook spends on one task's messages (it hands the rest over in later
/// tasks, which this does not time): 500 messages take about 2 ms. Prints one `DISPATCH` line: microseconds per message, per client, at the 10th percentile and the median, and
/// the hook's ratio to the plain page.
async fn dispatch_cost() {
    const BATCH: u32 = 500;
    let pairs = rounds() * 60;
    let url = |who: &str| format!("{}/test/stall?key=dispatch-{who}-{}", server(), js_sys::Math::random());
    let opened = wasm_bindgen_futures::JsFuture::from(plain_open(&url("plain"))).await.expect("the plain client");
    let opened: js_sys::Array = opened.unchecked_into();
    let plain_index = opened.get(0).as_f64().expect("an index") as u32;
    let close_plain: js_sys::Function = opened.get(1).unchecked_into();

    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    let options = UseEventSourceOptions::default().on_message(move |_| {
        let _t = now();
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let parent = web_sys::window().unwrap().document().unwrap().body().unwrap();
    let hook_url = url("hook");
    let handle = leptos::mount::mount_to(parent.unchecked_into(), move || {
        let hook = use_event_source_with_options::<Reading>(hook_url, options);
        let data = hook.data;
        view! { <output>{move || data.get().map(|r| format!("{:.1}", r.value))}</output> }
    });
    let start = js_sys::Date::now();
    while count.load(Ordering::Relaxed) == 0 {
        assert!(js_sys::Date::now() - start < 10_000.0, "no first event within 10 s");
        sleep(Duration::from_millis(10)).await;
    }
    let hook_index = newest_source();
    assert_ne!(hook_index, plain_index);

    let per_message = |ms: f64| ms * 1000.0 / f64::from(BATCH);
    let (mut plain, mut hook) = (Vec::new(), Vec::new());
    for _ in 0..pairs {
        plain.push(per_message(dispatch(plain_index, BATCH)));
        hook.push(per_message(dispatch(hook_index, BATCH)));
        sleep(Duration::from_millis(20)).await;
    }
    let plain_seen = close_plain.call0(&JsValue::NULL).expect("closed").as_f64().expect("a count") as u64;
    let hook_seen = count.load(Ordering::Relaxed);
    drop(handle);
    let expected = 1 + u64::from(BATCH) * pairs as u64;
    assert_eq!((plain_seen, hook_seen), (expected, expected), "every dispatched message reached both clients");

    let decile = |values: &[f64]| {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        percentile(&sorted, 10.0)
    };
    let line = serde_json::json!({
        "batch": BATCH, "batches": pairs,
        "baseline_p10_us": decile(&plain), "hook_p10_us": decile(&hook),
        "baseline_median_us": median(&plain), "hook_median_us": median(&hook),
        "hook_over_baseline_p10": decile(&hook) / decile(&plain),
        "hook_over_baseline_median": median(&hook) / median(&plain),
    });
    console_log!("DISPATCH {line}");
}

/// The rates measured: 1,000/s (a busy dashboard), 10,000/s (the issue's goal), then bursts of 10,000 and 100,000
/// events sent at once (as fast as the server writes them), where leptos-use runs too.
#[wasm_bindgen_test]
async fn ingest() {
    observe();
    if dispatch_only() {
        dispatch_cost().await;
        return;
    }
    let seconds = seconds();
    let hooks = [
        Client::Baseline,
        Client::Hook(Transport::EventSource),
        Client::Hook(Transport::Fetch(FetchOptions::default())),
    ];
    if !bursts_only() {
        measure(1_000, 1_000 * seconds, &hooks).await;
        measure(10_000, 10_000 * seconds, &hooks).await;
    }
    let burst = [
        Client::Baseline,
        Client::Hook(Transport::EventSource),
        Client::Hook(Transport::Fetch(FetchOptions::default())),
        Client::LeptosUse,
    ];
    measure(0, 10_000, &burst).await;
    measure(0, 100_000, &burst).await;
}
