//! Slow clients over real TCP: a client that stops reading is cut off by the send timeout, one that reads too
//! slowly gets `event: reset` (reason `lagged`, with the id to resume from) and is closed, and neither holds up
//! other clients or publishers.

mod common;

use std::time::Duration;

use common::{event_id, EventStream, TestServer, KEY, PATIENCE};
use sse_live_protocol::wire::{Reset, ResetReason};
use sse_live_protocol::{Event, Parser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// A server taking 32 KiB events, with `extra` flags; keep-alives rare enough not to count.
async fn server(extra: &[&str]) -> TestServer {
    let mut args = vec!["--publish-key", KEY, "--max-body", "100000", "--keep-alive", "60s"];
    args.extend_from_slice(extra);
    TestServer::start(&args).await
}

/// A 32 KiB JSON string, to fill socket buffers quickly.
fn big(i: u64) -> String {
    format!("\"{i:08}{}\"", "x".repeat(32 * 1024))
}

/// Opens `path` over HTTP/1.0 (so the body is raw, not chunked) with a small receive buffer, and reads nothing.
async fn raw_stream(server: &TestServer, path: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(server.addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.0\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// Reads `stream` to its end and parses the body after the headers.
async fn read_events(mut stream: TcpStream) -> Vec<Event> {
    let mut bytes = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut bytes)).await.expect("the server never closed").unwrap();
    let start = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("no response headers") + 4;
    assert!(bytes.starts_with(b"HTTP/1.0 200") || bytes.starts_with(b"HTTP/1.1 200"), "{:?}", &bytes[..20]);
    let mut out = Vec::new();
    let mut parser = Parser::new();
    parser.feed(&bytes[start..], &mut out);
    out.into_iter()
        .filter_map(|p| match p {
            sse_live_protocol::Parsed::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_stalled_reader_is_dropped_while_a_normal_reader_gets_everything() {
    // A reader held up behind the stalled one would wait for the send timeout: its events would take about this
    // long. Long enough that the stalled reader is still connected when the normal reader's delays are measured
    // (filling the stalled socket's buffers takes about 10 s on a loaded 2-core machine).
    let send_timeout = Duration::from_secs(20);
    let server = server(&["--send-timeout", "20s", "--client-buffer", "4000", "--history", "4000"]).await;
    let stalled = raw_stream(&server, "/events/feed").await;
    let normal = EventStream::open(&server.url("/events/feed"), &[]).await;
    server.wait_for_open_streams(2).await;

    // The normal reader reads in its own task and reports how long each event took from publish to arrival.
    let (published_tx, mut published_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let (arrived_tx, mut arrived_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Duration)>();
    let reader = tokio::spawn(async move {
        let mut normal = normal;
        while let Some((id, at)) = published_rx.recv().await {
            let event = normal.next_event().await;
            assert_eq!(event.event_type, "message", "no reset for a reader that keeps up: {event:?}");
            assert_eq!(event_id(&event), id);
            arrived_tx.send((id, at.elapsed())).unwrap();
        }
    });
    let mut published = 0;
    let publish = |n: u64| {
        let (server, published_tx) = (&server, published_tx.clone());
        async move {
            let id = server.publish("feed", &big(n)).await;
            published_tx.send((id, Instant::now())).unwrap();
        }
    };

    // More than the stalled connection's socket buffers hold: the server's writes to it block from then on.
    let filling = (common::bytes_to_fill_socket_buffers() / big(0).len() + 10) as u64;
    let started = Instant::now();
    for _ in 0..filling {
        published += 1;
        publish(published).await;
    }
    let mut worst = Duration::ZERO;
    let mut ids = Vec::new();
    for _ in 0..filling {
        let (id, took) = tokio::time::timeout(PATIENCE, arrived_rx.recv()).await.expect("an event is missing").unwrap();
        worst = worst.max(took);
        ids.push(id);
    }
    // The stalled reader is still connected now, so it was all along: it held nobody up.
    assert_eq!(server.metric("sse_live_send_timeouts_total").await, 0.0, "the stalled reader is still there");
    assert_eq!(server.open_streams().await, 2);
    eprintln!(
        "{filling} events of 32 KiB past a stalled reader in {:?}; the normal reader's slowest event took {worst:?}",
        started.elapsed()
    );
    assert!(worst < send_timeout / 2, "the normal reader waited {worst:?}, --send-timeout is {send_timeout:?}");

    // The stalled connection is cut off by the send timeout; publishing goes on, and the normal reader still gets
    // every event.
    let deadline = Instant::now() + send_timeout + PATIENCE;
    while server.metric("sse_live_send_timeouts_total").await == 0.0 {
        assert!(Instant::now() < deadline, "the stalled reader was never dropped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.wait_for_open_streams(1).await;
    for _ in 0..10 {
        published += 1;
        publish(published).await;
    }
    drop(published_tx);
    reader.await.unwrap();
    while let Some((id, _)) = arrived_rx.recv().await {
        ids.push(id);
    }
    assert_eq!(ids, (1..=published).collect::<Vec<_>>(), "every event, in order, once");
    drop(stalled);
}

#[tokio::test]
async fn a_slow_reader_gets_a_reset_with_its_resume_id_and_then_replays_the_rest() {
    // Enough events that the socket's buffers fill and the stream stalls far behind the newest event.
    let total = (common::bytes_to_fill_socket_buffers() / big(0).len()) as u64 + 50;
    let history = (total + 10).to_string();
    let server = server(&["--client-buffer", "8", "--history", &history]).await;
    let slow = raw_stream(&server, "/events/feed").await;
    server.wait_for_open_streams(1).await;
    for i in 1..=total {
        server.publish("feed", &big(i)).await;
    }
    // Now it reads: what fitted in the buffers, then the reset, then the end.
    let events = read_events(slow).await;
    let (reset, delivered) = events.split_last().unwrap();
    assert_eq!(reset.event_type, "reset", "the last event is the reset");
    let reset: Reset = serde_json::from_str(&reset.data).unwrap();
    assert_eq!(reset.reason, ResetReason::Lagged);
    let last = event_id(delivered.last().unwrap());
    assert_eq!(
        reset.resume_from.as_ref(),
        Some(&delivered.last().unwrap().last_event_id),
        "resume from the last event it got"
    );
    assert!(last < total, "it fell behind, so it cannot have everything");
    assert_eq!(delivered.iter().map(event_id).collect::<Vec<_>>(), (1..=last).collect::<Vec<_>>());
    assert_eq!(server.metric("sse_live_lagged_total").await, 1.0);
    assert_eq!(server.metric(r#"sse_live_resets_total{reason="lagged"}"#).await, 1.0);

    // Reconnecting with that id replays the rest, exactly once.
    let resume = reset.resume_from.unwrap();
    let mut again = EventStream::open(&server.url("/events/feed"), &[("last-event-id", resume.as_bytes())]).await;
    let rest = again.events((total - last) as usize).await;
    assert_eq!(rest.iter().map(event_id).collect::<Vec<_>>(), (last + 1..=total).collect::<Vec<_>>());
}
