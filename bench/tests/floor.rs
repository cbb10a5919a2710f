//! The floor server on 127.0.0.1, driven by the load generator as the bare peer and ours are: every stream gets
//! every event, the ticker drives it as the bare peer's does, and a stream that does not read is dropped and counted.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use common::options;
use sse_live_bench::floor::{Floor, Stats};
use sse_live_bench::loadgen;

mod common;

/// A floor server with `threads` fan-out threads on a free port, and its base URL.
fn serve(key: Option<&str>, threads: usize) -> (Floor, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let floor = Floor::new(key.map(str::to_owned), threads);
    let server = floor.clone();
    std::thread::spawn(move || server.serve(&listener));
    (floor, url)
}

/// Waits (up to 10 s) until `done` holds for the floor's counters, and returns them.
fn wait_for(floor: &Floor, done: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = floor.stats();
        if done(&stats) || Instant::now() > deadline {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_receives_every_published_event_by_both_clocks() {
    let (floor, server) = serve(Some("k"), 2);
    common::every_stream_receives_every_published_event(&format!("{server}/events/a"), &[]).await;
    assert_eq!(floor.stats().streams, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_binary_ticks_like_the_bare_peer_when_the_load_generator_starts_it() {
    let report = loadgen::run(options(&[
        "--spawn",
        env!("CARGO_BIN_EXE_floor-sse-server"),
        "--url",
        "/events/ticks",
        "-n",
        "10",
        "--settle",
        "100ms",
        "--duration",
        "1s",
        "--",
        "--tick",
        "50ms",
        "--threads",
        "2",
    ]))
    .await
    .unwrap();
    assert_eq!((report.connections.held, report.connections.failed, report.connections.ended), (10, 0, 0));
    // About 20 ticks in the second reach all 10 streams (a loaded machine may delay some).
    assert!((10 * 8..=10 * 22).contains(&report.events), "{report:?}");
    assert_eq!(report.latency.unwrap().samples, report.events, "the ticks carry sentAtUs");
    assert_eq!(report.kernel_latency.unwrap().samples, report.events);
    let spawned = report.spawned.as_deref().unwrap();
    assert!(spawned.ends_with("floor-sse-server --listen 127.0.0.1:0 --tick 50ms --threads 2"), "{spawned}");
    assert!(report.url.starts_with("http://127.0.0.1:") && report.url.ends_with("/events/ticks"), "{}", report.url);
    assert!(report.server_rss.is_some() && report.server_cpu_secs.is_some(), "the spawned server is measured");
}

#[tokio::test]
async fn a_wrong_key_and_a_missing_stream_are_reported_as_failures() {
    common::a_wrong_key_and_a_missing_stream_are_refused(&serve(Some("k"), 1).1).await;
}

/// A raw `GET /events/{topic}` whose response head has been read (and nothing more).
fn subscribe(server: &str, topic: &str) -> TcpStream {
    let mut stream = TcpStream::connect(server.trim_start_matches("http://")).unwrap();
    write!(stream, "GET /events/{topic} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut head = Vec::new();
    let mut byte = [0_u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(String::from_utf8(head).unwrap().contains("content-type: text/event-stream"));
    stream
}

#[test]
fn a_stream_that_stops_reading_is_dropped_and_one_that_closed_is_counted_apart() {
    let (floor, server) = serve(None, 2);
    let slow = subscribe(&server, "slow");
    assert_eq!(wait_for(&floor, |s| s.streams == 1).streams, 1);
    // The stream never reads, so its buffers fill until a write cannot take a whole frame.
    let big = "x".repeat(64 * 1024);
    let mut published = 0;
    while floor.stats().dropped == 0 && published < 2_000 {
        floor.publish("slow", &big);
        published += 1;
        std::thread::sleep(Duration::from_millis(1));
    }
    let stats = wait_for(&floor, |s| s.dropped == 1);
    assert_eq!((stats.dropped, stats.closed, stats.streams), (1, 0, 0), "after {published} events of 64 KiB");
    assert!(published > 1, "a first frame fits in an empty buffer");
    drop(slow);

    // A stream whose client went away is found on the next write, and counted as closed.
    let gone = subscribe(&server, "other");
    wait_for(&floor, |s| s.streams == 1);
    drop(gone);
    std::thread::sleep(Duration::from_millis(50));
    // The first write after the close may still be accepted (the peer answers it with a reset); the next fails.
    for _ in 0..5 {
        floor.publish("other", "{}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = wait_for(&floor, |s| s.closed == 1);
    assert_eq!((stats.dropped, stats.closed, stats.streams), (1, 1, 0));

    // The counters over HTTP, as a person or a script reads them.
    let mut stats_request = TcpStream::connect(server.trim_start_matches("http://")).unwrap();
    stats_request.write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = String::new();
    stats_request.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let body: Stats = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!((body.dropped, body.closed, body.streams), (1, 1, 0));
    assert!(body.published > published as u64, "{body:?}");
}

#[test]
fn events_that_queue_up_go_out_together_whole_and_in_order() {
    let (floor, server) = serve(None, 1);
    let mut stream = subscribe(&server, "burst");
    assert_eq!(wait_for(&floor, |s| s.streams == 1).streams, 1);
    // Published far faster than one write a stream per event could keep up with.
    for n in 0..1_000 {
        floor.publish("burst", &format!(r#"{{"n":{n}}}"#));
    }
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (mut body, mut buffer) = (Vec::new(), [0_u8; 64 * 1024]);
    let mut events = Vec::new();
    while events.len() < 1_000 {
        let n = stream.read(&mut buffer).expect("all 1,000 events within 10 s");
        assert!(n > 0, "the floor closed the stream after {} events", events.len());
        body.extend_from_slice(&buffer[..n]);
        events = sse_live_protocol::parse_events(&body);
    }
    for (n, event) in events.iter().enumerate() {
        assert_eq!(
            (event.last_event_id.as_str(), event.data.as_str()),
            (&*(n + 1).to_string(), &*format!(r#"{{"n":{n}}}"#))
        );
    }
    let stats = floor.stats();
    assert_eq!((stats.published, stats.dropped, stats.streams), (1_000, 0, 1));
    assert!(stats.writes < 1_000, "events waiting together were written together: {stats:?}");
}

#[test]
fn a_malformed_request_gets_a_400_and_the_server_goes_on() {
    let (floor, server) = serve(None, 1);
    let address = server.trim_start_matches("http://");
    for (request, status) in [
        (&b"GARBAGE\r\n\r\n"[..], "400"),
        (b"GET /events/a HTTP/1.1\r\nno colon here\r\n\r\n", "400"),
        (b"DELETE /events/a HTTP/1.1\r\n\r\n", "405"),
        (b"GET /elsewhere HTTP/1.1\r\n\r\n", "404"),
        (b"POST /events/a HTTP/1.1\r\ncontent-length: 0\r\n\r\n", "400"),
    ] {
        let mut stream = TcpStream::connect(address).unwrap();
        stream.write_all(request).unwrap();
        let mut answer = String::new();
        // The POST connection is kept alive: read its one answer, not to the end.
        let mut buffer = [0_u8; 512];
        let n = stream.read(&mut buffer).unwrap();
        answer.push_str(&String::from_utf8_lossy(&buffer[..n]));
        assert!(answer.starts_with(&format!("HTTP/1.1 {status} ")), "{}: {answer}", String::from_utf8_lossy(request));
    }
    // Still serving.
    let _stream = subscribe(&server, "a");
    assert_eq!(wait_for(&floor, |s| s.streams == 1).streams, 1);
}
