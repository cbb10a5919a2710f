//! Live events written straight to a waiting stream's socket (the direct fan-out), read over raw HTTP/1.1 with the
//! chunked body decoded strictly, so that a byte out of place (a chunk cut short, two writers mixing their bytes, a
//! missing last chunk) fails the test: every event arrives once and in order, after the replay; a client that
//! cannot take a frame gets the rest of it and everything after, or a `reset`; shutdown ends the body properly.

mod common;

use std::collections::VecDeque;
use std::time::Duration;

use common::{bytes_to_fill_socket_buffers, event_id, TestServer, KEY, PATIENCE};
use sse_live_protocol::wire::{Reset, ResetReason};
use sse_live_protocol::{Event, Parsed, Parser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// An event stream over HTTP/1.1, its chunked body decoded by hand.
struct ChunkedStream {
    stream: TcpStream,
    /// Bytes read and not decoded yet.
    buf: Vec<u8>,
    parser: Parser,
    events: VecDeque<Event>,
}

impl ChunkedStream {
    /// `GET path` with `headers`, from a socket with a receive buffer of `recv_buffer` bytes; reads the head.
    async fn open(server: &TestServer, path: &str, headers: &str, recv_buffer: Option<u32>) -> Self {
        let socket = TcpSocket::new_v4().unwrap();
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let mut stream = socket.connect(server.addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n{headers}\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut this = Self { stream, buf: Vec::new(), parser: Parser::new(), events: VecDeque::new() };
        let end = loop {
            if let Some(end) = this.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            this.read_more().await;
        };
        let head = String::from_utf8(this.buf.drain(..end + 4).collect()).unwrap().to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("transfer-encoding: chunked"), "{head}");
        this
    }

    async fn read_more(&mut self) {
        let mut chunk = [0; 64 * 1024];
        let read = tokio::time::timeout(PATIENCE, self.stream.read(&mut chunk)).await.expect("nothing arrived");
        let n = read.unwrap();
        assert!(n > 0, "the connection closed before the body ended");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// The next chunk's data; `None` for the last chunk (`0\r\n\r\n`).
    async fn chunk(&mut self) -> Option<Vec<u8>> {
        let line_end = loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                break end;
            }
            self.read_more().await;
        };
        let size_line = std::str::from_utf8(&self.buf[..line_end]).unwrap();
        let size = usize::from_str_radix(size_line, 16).unwrap_or_else(|_| panic!("not a chunk size: {size_line:?}"));
        while self.buf.len() < line_end + 2 + size + 2 {
            self.read_more().await;
        }
        let data = self.buf[line_end + 2..line_end + 2 + size].to_vec();
        assert_eq!(&self.buf[line_end + 2 + size..line_end + 4 + size], b"\r\n", "a chunk not ended by CRLF");
        self.buf.drain(..line_end + 4 + size);
        (size > 0).then_some(data)
    }

    /// The next event, or `None` at the body's end.
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.events.pop_front() {
                return Some(event);
            }
            let data = self.chunk().await?;
            let mut parsed = Vec::new();
            self.parser.feed(&data, &mut parsed);
            self.events.extend(parsed.into_iter().filter_map(|p| match p {
                Parsed::Event(event) => Some(event),
                _ => None,
            }));
        }
    }
}

/// A server with direct writes (the default), taking events of up to 100 kB, without keep-alive comments in the
/// way.
async fn server(extra: &[&str]) -> TestServer {
    let mut args = vec!["--publish-key", KEY, "--max-body", "100000", "--keep-alive", "60s"];
    args.extend_from_slice(extra);
    TestServer::start(&args).await
}

/// Event `i`'s data: a JSON string of `size` bytes that names it.
fn data(i: u64, size: usize) -> String {
    format!("\"{i:08}{}\"", "x".repeat(size))
}

/// A stream of topic `t`, open and waiting for events (parked: live events are written to it directly).
async fn waiting_stream(server: &TestServer, recv_buffer: Option<u32>) -> ChunkedStream {
    let stream = ChunkedStream::open(server, "/events/t", "", recv_buffer).await;
    server.wait_for_metric("sse_live_open_streams", 1.0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stream
}

/// A stream of topic `t` from a client with a small receive buffer that reads nothing while more 32 KiB events
/// than its socket's buffers hold are published (a direct write is cut short); and how many were published.
async fn stalled_stream(server: &TestServer) -> (ChunkedStream, u64) {
    let stream = waiting_stream(server, Some(4096)).await;
    let size = 32 * 1024;
    let count = ((bytes_to_fill_socket_buffers() / size) as u64 + 16).min(400);
    for i in 1..=count {
        server.publish("t", &data(i, size)).await;
    }
    (stream, count)
}

fn number(event: &Event) -> u64 {
    event.data[1..9].parse().unwrap()
}

#[tokio::test]
async fn replay_then_live_events_arrive_once_each_in_order_and_live_ones_are_written_directly() {
    let server = server(&[]).await;
    for i in 1..=5 {
        server.publish("t", &data(i, 10)).await;
    }
    let epoch = server.epoch("t").await;
    server.wait_for_metric("sse_live_open_streams", 0.0).await;
    let delivered = server.metric("sse_live_events_delivered_total").await;
    let mut stream = ChunkedStream::open(&server, "/events/t", &format!("Last-Event-ID: 2@{epoch}\r\n"), None).await;
    for i in 3..=5 {
        assert_eq!(event_id(&stream.next_event().await.unwrap()), i, "replayed");
    }
    // Wait for the stream to park: every live event after this is written directly.
    server.wait_for_metric("sse_live_open_streams", 1.0).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 6..=25 {
        server.publish("t", &data(i, 10)).await;
        let event = stream.next_event().await.unwrap();
        assert_eq!((event_id(&event), number(&event)), (i, i), "live, in order, no gap or duplicate");
    }
    assert!(server.metric("sse_live_events_written_directly_total").await >= 19.0, "written directly");
    // 3 replayed and 20 live, each counted once.
    server.wait_for_metric("sse_live_events_delivered_total", delivered + 23.0).await;
}

#[tokio::test]
async fn a_client_that_cannot_take_a_frame_gets_its_rest_and_every_event_after_in_order() {
    let server = server(&[]).await;
    let mut stream = waiting_stream(&server, Some(4096)).await;
    // Enough 32 KiB events to fill the socket's buffers while the client reads nothing: a direct write is cut short.
    let size = 32 * 1024;
    let count = (bytes_to_fill_socket_buffers() / size) as u64 / 2 + 8;
    let count = count.min(200);
    for i in 1..=count {
        server.publish("t", &data(i, size)).await;
    }
    for i in 1..=count {
        let event = stream.next_event().await.unwrap();
        assert_eq!((event_id(&event), number(&event)), (i, i), "every event, whole and in order");
    }
    assert!(server.metric("sse_live_events_written_directly_total").await >= 1.0);
}

#[tokio::test]
async fn a_client_that_falls_behind_the_buffer_gets_the_events_before_then_a_reset_and_the_end() {
    let server = server(&["--client-buffer", "4", "--history", "1000"]).await;
    let (mut stream, count) = stalled_stream(&server).await;
    let mut expected = 1;
    let reset = loop {
        let event = stream.next_event().await.expect("the body ended without a reset");
        if event.event_type == "reset" {
            break event;
        }
        assert_eq!((event_id(&event), number(&event)), (expected, expected), "in order, no gap, before the reset");
        expected += 1;
    };
    let reset: Reset = serde_json::from_str(&reset.data).unwrap();
    assert_eq!(reset.reason, ResetReason::Lagged);
    let resume = reset.resume_from.expect("the id to resume from");
    assert_eq!(resume.split('@').next().unwrap(), (expected - 1).to_string(), "resume after the last one received");
    assert!(expected - 1 < count, "the client missed some");
    assert!(stream.next_event().await.is_none(), "the body ends with its last chunk after the reset");
}

#[tokio::test]
async fn shutdown_ends_a_stream_written_directly_with_a_well_formed_body() {
    let mut server = server(&[]).await;
    let mut stream = waiting_stream(&server, None).await;
    for i in 1..=3 {
        server.publish("t", &data(i, 10)).await;
        assert_eq!(event_id(&stream.next_event().await.unwrap()), i);
    }
    assert!(server.metric("sse_live_events_written_directly_total").await >= 1.0);
    let stopped = server.shut_down();
    let last = stream.next_event().await.unwrap();
    assert_eq!(last.event_type, "shutdown");
    assert!(stream.next_event().await.is_none(), "the last chunk ends the body");
    tokio::time::timeout(PATIENCE, stopped).await.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn a_client_that_stops_reading_mid_frame_is_cut_off_after_the_send_timeout() {
    let server = server(&["--send-timeout", "2s"]).await;
    // The client reads nothing: a direct write is cut short, and the rest never goes out.
    let _stalled = stalled_stream(&server).await;
    assert!(server.metric("sse_live_events_written_directly_total").await >= 1.0);
    server.wait_for_metric("sse_live_send_timeouts_total", 1.0).await;
    server.wait_for_metric("sse_live_open_streams", 0.0).await;
}

#[tokio::test]
async fn without_direct_writes_every_event_goes_through_the_stream_s_task() {
    // Turned off: `--direct-writes=false`.
    let server = server(&["--direct-writes=false"]).await;
    let mut stream = waiting_stream(&server, None).await;
    for i in 1..=5 {
        server.publish("t", &data(i, 10)).await;
        assert_eq!(event_id(&stream.next_event().await.unwrap()), i);
    }
    assert_eq!(server.metric("sse_live_events_written_directly_total").await, 0.0);
}

/// `POST`s `body` to topic `t` of the server at `base`, expecting 201.
async fn post(client: &reqwest::Client, base: &str, body: String) {
    let response = client.post(format!("{base}/events/t")).bearer_auth(KEY).body(body).send().await.unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishers_faster_than_the_fan_out_are_held_back_and_no_reading_client_falls_behind() {
    // 8 KiB events to 100 streams, from 8 publishers that publish as fast as they are answered: faster than the
    // fan-out writes them, so they wait for it (with `--client-buffer 4`, until it has no other event of the topic
    // to write). Every client, reading all along, gets every event once and in order, and none is cut off with a
    // `lagged` reset.
    let per_ip = ["--max-streams-per-ip", "1000", "--max-connections-per-ip", "1000"];
    let server = server(&[&per_ip[..], &["--client-buffer", "4", "--history", "100000"]].concat()).await;
    let (streams, count, size) = (100, 800_u64, 8 * 1024);
    let mut clients = Vec::new();
    for _ in 0..streams {
        clients.push(ChunkedStream::open(&server, "/events/t", "", None).await);
    }
    server.wait_for_metric("sse_live_open_streams", streams as f64).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let readers: Vec<_> = clients
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                for id in 1..=count {
                    let event = stream.next_event().await.expect("the body ended");
                    assert_ne!(event.event_type, "reset", "a client that reads was cut off: {}", event.data);
                    assert_eq!(event_id(&event), id, "every event once, in order");
                }
            })
        })
        .collect();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1));
    let publishers: Vec<_> = (0..8)
        .map(|_| {
            let (next, base, client) = (next.clone(), server.url(""), common::client());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i > count {
                        break;
                    }
                    post(&client, &base, data(i, size)).await;
                }
            })
        })
        .collect();
    for task in publishers.into_iter().chain(readers) {
        tokio::time::timeout(PATIENCE * 6, task).await.expect("the events took too long").unwrap();
    }
    assert_eq!(server.metric("sse_live_lagged_total").await, 0.0);
    assert!(server.metric("sse_live_events_written_directly_total").await >= count as f64, "written directly");
    assert!(server.metric("sse_live_publishes_held_back_total").await >= 1.0, "the publishers waited for the fan-out");
}
