//! Graceful shutdown over real HTTP: streams are told (`event: shutdown` with a `retry:`), then end; the server
//! stops accepting; and `run` returns within `--drain-timeout` even when a client never reads.

mod common;

use std::time::Duration;

use common::{client, EventStream, TestServer, KEY, PATIENCE};
use sse_live_protocol::Parsed;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;
use tokio::time::Instant;

#[tokio::test]
async fn open_streams_get_a_shutdown_event_with_a_retry_hint_then_end() {
    let mut server = TestServer::start(&["--retry", "2s", "--retry-jitter", "1s", "--keep-alive", "60s"]).await;
    let mut single = EventStream::open(&server.url("/events/temperatures"), &[]).await;
    let mut multi = EventStream::open(&server.url("/events?topic=a&topic=b"), &[]).await;
    single.next_event().await;
    server.wait_for_open_streams(2).await;

    let run = server.shut_down();
    for stream in [&mut single, &mut multi] {
        // The notice carries a retry: (the parser reports it just before the event): 2 s plus up to 1 s of jitter.
        let mut previous = None;
        let shutdown = loop {
            match stream.next().await.expect("ended without a shutdown event") {
                Parsed::Event(event) if event.event_type == "shutdown" => break event,
                other => previous = Some(other),
            }
        };
        assert_eq!(shutdown.data, r#"{"reason":"shutdown"}"#);
        let Some(Parsed::Retry(retry)) = previous else { panic!("no retry: with the notice: {previous:?}") };
        assert!((Duration::from_secs(2)..=Duration::from_secs(3)).contains(&retry), "{retry:?}");
        assert_eq!(stream.next().await, None, "then the stream ends");
    }
    tokio::time::timeout(PATIENCE, run).await.expect("run did not return").unwrap().unwrap();
    assert!(client().get(server.url("/healthz")).timeout(PATIENCE).send().await.is_err(), "no longer accepting");
}

#[tokio::test]
async fn shutdown_completes_within_the_drain_timeout_with_a_client_that_never_reads() {
    let mut server = TestServer::start(&[
        "--drain-timeout",
        "1s",
        "--send-timeout",
        "5m",
        "--publish-key",
        KEY,
        "--max-body",
        "100000",
        "--keep-alive",
        "60s",
    ])
    .await;
    // A client that reads nothing, with its socket buffers full: its connection cannot end on its own.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(server.addr).await.unwrap();
    stalled.write_all(b"GET /events/feed HTTP/1.0\r\nHost: t\r\n\r\n").await.unwrap();
    let mut reader = EventStream::open(&server.url("/events/temperatures"), &[]).await;
    server.wait_for_open_streams(2).await;
    let data = format!("\"{}\"", "x".repeat(64 * 1024));
    for _ in 0..=common::bytes_to_fill_socket_buffers() / data.len() {
        server.publish("feed", &data).await;
    }

    let started = Instant::now();
    let run = server.shut_down();
    // Far below the send timeout (5 min), so only the drain deadline can end it.
    tokio::time::timeout(Duration::from_secs(6), run).await.expect("run outlived the drain timeout").unwrap().unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900), "the stalled connection was waited for, up to the deadline: {took:?}");
    eprintln!("shutdown with a stalled client took {took:?} (--drain-timeout 1s)");
    // The reader that reads was told and ended.
    loop {
        match reader.next().await {
            Some(Parsed::Event(event)) if event.event_type == "shutdown" => break,
            Some(_) => {}
            None => panic!("ended without a shutdown event"),
        }
    }
    drop(stalled);
}
