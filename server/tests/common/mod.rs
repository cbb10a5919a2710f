//! Shared by the integration tests: a server on 127.0.0.1 port 0 run by `sse_live_server::run`, an HTTP client, and
//! an event-stream reader built on the protocol crate's parser.

#![allow(dead_code)] // each test file uses a different part

pub mod raw;
pub mod redis_server;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser as _;
use futures_util::{Stream, StreamExt};
use reqwest::header::HeaderMap;
use sse_live_protocol::{Event, Parsed, Parser};
use sse_live_server::{run, Config};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long anything that "arrives" may take before a test fails: generous, for a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A server running in this test's runtime.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a server with `args` as flags after `--dist <an empty temp dir's missing child> --retry-jitter 0s`
    /// (so that `retry:` is exactly `--retry`); later flags win.
    pub async fn start(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let no_dist = dir.path().join("no-dist");
        let mut argv = vec!["sse-live-server", "--dist", no_dist.to_str().unwrap(), "--retry-jitter", "0s"];
        argv.extend_from_slice(args);
        Self::start_with(Config::try_parse_from(argv).unwrap(), dir).await
    }

    /// Starts a server with `config` (its `listen` is ignored: port 0 on 127.0.0.1).
    pub async fn start_with(config: Config, dir: tempfile::TempDir) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(run(listener, config, async move {
            let _ = rx.await;
        }));
        Self { addr, shutdown: Some(tx), handle: Some(handle), _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Fires the shutdown future, and returns the `run` task to await.
    pub fn shut_down(&mut self) -> JoinHandle<io::Result<()>> {
        let _ = self.shutdown.take().unwrap().send(());
        self.handle.take().unwrap()
    }

    /// `openStreams` from `/healthz`.
    pub async fn open_streams(&self) -> u64 {
        let body: serde_json::Value = serde_json::from_slice(
            &client()
                .get(self.url("/healthz"))
                .send()
                .await
                .unwrap()
                .error_for_status()
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        )
        .unwrap();
        body["openStreams"].as_u64().unwrap()
    }

    /// Polls `/healthz` until `openStreams` is `expected`, failing after [`PATIENCE`].
    pub async fn wait_for_open_streams(&self, expected: u64) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let open = self.open_streams().await;
            if open == expected {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "openStreams stayed {open}, expected {expected}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A client that never uses a proxy from the environment.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// An open event stream, read with the protocol crate's [`Parser`].
pub struct EventStream {
    pub status: reqwest::StatusCode,
    pub headers: HeaderMap,
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    parser: Parser,
    queue: VecDeque<Parsed>,
    ended: bool,
}

impl EventStream {
    /// GETs `url` with `headers` (name, value) and keeps the body open.
    pub async fn open(url: &str, headers: &[(&str, &[u8])]) -> Self {
        let mut request = client().get(url).header("accept", "text/event-stream");
        for (name, value) in headers {
            request = request.header(*name, reqwest::header::HeaderValue::from_bytes(value).unwrap());
        }
        let response = tokio::time::timeout(PATIENCE, request.send()).await.expect("no response headers").unwrap();
        Self::from_response(response)
    }

    pub fn from_response(response: reqwest::Response) -> Self {
        Self {
            status: response.status(),
            headers: response.headers().clone(),
            body: Box::pin(response.bytes_stream()),
            parser: Parser::new(),
            queue: VecDeque::new(),
            ended: false,
        }
    }

    /// The next event, comment or retry; `None` once the body has ended. Fails after [`PATIENCE`] without one.
    pub async fn next(&mut self) -> Option<Parsed> {
        tokio::time::timeout(PATIENCE, self.next_unbounded()).await.expect("nothing arrived on the stream")
    }

    async fn next_unbounded(&mut self) -> Option<Parsed> {
        loop {
            if let Some(parsed) = self.queue.pop_front() {
                return Some(parsed);
            }
            if self.ended {
                return None;
            }
            match self.body.next().await {
                Some(Ok(chunk)) => {
                    let mut out = Vec::new();
                    self.parser.feed(&chunk, &mut out);
                    self.queue.extend(out);
                }
                // The server ending the stream (or the connection) both end it for the test.
                Some(Err(_)) | None => {
                    self.parser.finish();
                    self.ended = true;
                }
            }
        }
    }

    /// The next event, skipping comments and retries; fails if the stream ends first.
    pub async fn next_event(&mut self) -> Event {
        loop {
            match self.next().await.expect("the stream ended") {
                Parsed::Event(event) => return event,
                Parsed::Comment(_) | Parsed::Retry(_) => {}
            }
        }
    }

    /// The next `n` events.
    pub async fn events(&mut self, n: usize) -> Vec<Event> {
        let mut events = Vec::with_capacity(n);
        for _ in 0..n {
            events.push(self.next_event().await);
        }
        events
    }

    /// Reads events until one has an id of at least `id`; returns that event's id.
    pub async fn read_until_id(&mut self, id: u64) -> u64 {
        loop {
            let seen = event_id(&self.next_event().await);
            if seen >= id {
                return seen;
            }
        }
    }
}

/// An event's sequence number: its id is `<sequence>@<epoch>` (fails the test for an event without such an id).
pub fn event_id(event: &Event) -> u64 {
    let (sequence, epoch) = split_id(event);
    assert!(!epoch.is_empty(), "an id without an epoch: {event:?}");
    sequence.parse().unwrap_or_else(|_| panic!("event without a numeric sequence: {event:?}"))
}

/// An event's id split at the epoch: (`41`, `k3f9x2`) for `41@k3f9x2`, (`a:1,b:2`, `k3f9x2`) for a multi-topic
/// position; fails the test for an id without `@`.
pub fn split_id(event: &Event) -> (&str, &str) {
    event.last_event_id.rsplit_once('@').unwrap_or_else(|| panic!("an id without an epoch: {event:?}"))
}

/// A multi-topic event's position without its epoch (`a:1,b:2` for `a:1,b:2@k3f9x2`).
pub fn position(event: &Event) -> &str {
    split_id(event).0
}

/// The ids of `events`.
pub fn ids(events: &[Event]) -> Vec<u64> {
    events.iter().map(event_id).collect()
}

/// The body as JSON (reqwest's `json` feature is not enabled).
pub async fn json_body(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// The publisher key the tests start servers with.
pub const KEY: &str = "test-publisher-key";

impl TestServer {
    /// POSTs `body` to `/events/{topic}` with the publisher key [`KEY`].
    pub async fn post(&self, topic: &str, body: &str) -> reqwest::Response {
        client()
            .post(self.url(&format!("/events/{topic}")))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// Publishes `body` to `topic`, expecting 201; returns the event's id.
    pub async fn publish(&self, topic: &str, body: &str) -> u64 {
        let response = self.post(topic, body).await;
        assert_eq!(response.status(), 201, "publishing to {topic}");
        json_body(response).await["id"].as_u64().unwrap()
    }

    /// The epoch of the server's ids, read from the latest event of `topic` (which must have one).
    pub async fn epoch(&self, topic: &str) -> String {
        let mut stream = EventStream::open(&self.url(&format!("/events/{topic}")), &[]).await;
        split_id(&stream.next_event().await).1.to_owned()
    }

    /// The value of the metric sample `name` (with its labels, as in the text: `x_total{reason="a"}`), 0 when absent.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = client().get(self.url("/metrics")).send().await.unwrap().text().await.unwrap();
        text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok()).unwrap_or(0.0)
    }

    /// Polls `/metrics` until the sample `name` is `expected`, failing after [`PATIENCE`].
    pub async fn wait_for_metric(&self, name: &str, expected: f64) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let value = self.metric(name).await;
            if value == expected {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{name} stayed {value}, expected {expected}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A stream's data values.
pub fn data(events: &[Event]) -> Vec<String> {
    events.iter().map(|e| e.data.clone()).collect()
}

/// More bytes than the kernel may buffer for one TCP connection's sender (the largest `tcp_wmem`, 4 MiB when it
/// cannot be read) plus hyper's write buffer, with a margin: what a server must write to a client that reads nothing
/// (with a small receive buffer) before its writes block.
pub fn bytes_to_fill_socket_buffers() -> usize {
    let wmem_max = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2).and_then(|v| v.parse::<usize>().ok()))
        .unwrap_or(4 << 20);
    (wmem_max + (2 << 20)) * 3 / 2
}
