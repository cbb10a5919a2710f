//! The event streams over real HTTP: headers, first event, ids, keep-alives, replay, open-stream count, shutdown.

mod common;

use std::time::{Duration, Instant};

use common::{client, event_id, ids, EventStream, TestServer, PATIENCE};
use sse_live_demo_wire::{RandomNumber, TemperatureReading};
use sse_live_protocol::Parsed;
use time::OffsetDateTime;

const RETRY_3S: Parsed = Parsed::Retry(Duration::from_secs(3));

#[tokio::test]
async fn stream_headers_are_set_and_nothing_is_compressed() {
    // A test route's stream too, in a build that has them.
    let test_routes = cfg!(feature = "test-routes");
    let server = TestServer::start(if test_routes { &["--test-routes"] } else { &[] }).await;
    let mut paths = vec!["/e/temperatures", "/e/random-numbers", "/stream-random-numbers"];
    paths.extend(test_routes.then_some("/test/invalid-json"));
    for path in paths {
        let response = client()
            .get(server.url(path))
            .header("accept", "text/event-stream")
            .header("accept-encoding", "gzip, br")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers();
        assert_eq!(headers["content-type"], "text/event-stream", "{path}");
        assert_eq!(headers["cache-control"], "no-cache, no-transform", "{path}");
        assert_eq!(headers["x-accel-buffering"], "no", "{path}");
        assert!(headers.get("content-encoding").is_none(), "{path}: {headers:?}");
        // The body is plain text too: the parser reads the retry frame that opens every stream.
        let mut stream = EventStream::from_response(response);
        assert_eq!(stream.next().await, Some(RETRY_3S), "{path}");
    }
}

#[tokio::test]
async fn the_first_temperature_arrives_at_once() {
    let server = TestServer::start(&["--temperature-interval", "60s"]).await;
    let started = Instant::now();
    let mut stream = EventStream::open(&server.url("/e/temperatures"), &[]).await;
    assert_eq!(stream.next().await, Some(RETRY_3S));
    let event = stream.next_event().await;
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(2), "the first reading took {waited:?}");

    assert_eq!((event.event_type.as_str(), event_id(&event)), ("message", 1));
    let reading: TemperatureReading = serde_json::from_str(&event.data).unwrap();
    assert!((17.0..=26.0).contains(&reading.temperature), "{reading:?}");
    assert_eq!((reading.temperature * 100.0).round() / 100.0, reading.temperature, "rounded to 0.01");
    let age = OffsetDateTime::now_utc() - reading.updated_at;
    assert!(age.whole_seconds().abs() <= 60, "updatedAt {} is not now", reading.updated_at);
    assert!(event.data.contains("\"updatedAt\":\"") && event.data.ends_with("Z\"}"), "RFC 3339 UTC: {}", event.data);
}

#[tokio::test]
async fn ids_increase_by_one_and_values_are_in_range() {
    let server = TestServer::start(&["--temperature-interval", "50ms", "--random-interval", "50ms"]).await;

    let mut random = EventStream::open(&server.url("/stream-random-numbers"), &[]).await;
    let events = random.events(8).await;
    let first = event_id(&events[0]);
    assert_eq!(ids(&events), (first..first + 8).collect::<Vec<_>>());
    for event in &events {
        let number: RandomNumber = serde_json::from_str(&event.data).unwrap();
        assert!((0.0..1.0).contains(&number.value), "{}", event.data);
        assert_eq!((number.value * 10_000.0).round() / 10_000.0, number.value, "four decimals: {}", event.data);
    }

    let mut temperatures = EventStream::open(&server.url("/e/temperatures"), &[]).await;
    let events = temperatures.events(8).await;
    let first = event_id(&events[0]);
    assert_eq!(ids(&events), (first..first + 8).collect::<Vec<_>>());
    for event in &events {
        let reading: TemperatureReading = serde_json::from_str(&event.data).unwrap();
        assert!((17.0..=26.0).contains(&reading.temperature), "{}", event.data);
    }
}

#[tokio::test]
async fn keep_alive_comments_fill_idle_time() {
    let server =
        TestServer::start(&["--temperature-interval", "60s", "--keep-alive", "100ms", "--retry", "1500ms"]).await;
    let mut stream = EventStream::open(&server.url("/e/temperatures"), &[]).await;
    assert_eq!(stream.next().await, Some(Parsed::Retry(Duration::from_millis(1500))));
    assert_eq!(event_id(&stream.next_event().await), 1);
    for _ in 0..3 {
        assert_eq!(stream.next().await, Some(Parsed::Comment("keep-alive".into())));
    }
}

/// How a reconnecting client says where it stopped.
enum Resume {
    Header,
    Query,
    /// The header, with a query parameter that would say something else.
    Both,
}

async fn replays_after(resume: Resume) {
    let server = TestServer::start(&["--random-interval", "50ms"]).await;
    let mut first = EventStream::open(&server.url("/stream-random-numbers"), &[]).await;
    let last = first.read_until_id(3).await;
    drop(first);

    // Wait, on another connection, until more events have been published than the one we left.
    let mut observer = EventStream::open(&server.url("/stream-random-numbers"), &[]).await;
    observer.read_until_id(last + 5).await;

    let last_text = format!("{last}@{}", server.epoch("random-numbers").await);
    let (url, headers): (String, Vec<(&str, &[u8])>) = match resume {
        Resume::Header => (server.url("/stream-random-numbers"), vec![("last-event-id", last_text.as_bytes())]),
        Resume::Query => (server.url(&format!("/stream-random-numbers?lastEventId={last_text}")), vec![]),
        Resume::Both => {
            (server.url("/stream-random-numbers?lastEventId=1"), vec![("last-event-id", last_text.as_bytes())])
        }
    };
    let mut again = EventStream::open(&url, &headers).await;
    assert_eq!(again.next().await, Some(RETRY_3S));
    let events = again.events(10).await;
    assert!(events.iter().all(|e| e.event_type == "message"), "no reset expected: {events:?}");
    assert_eq!(ids(&events), (last + 1..=last + 10).collect::<Vec<_>>(), "replay then live, no gap, no duplicate");
}

#[tokio::test]
async fn replays_after_the_last_event_id_header() {
    replays_after(Resume::Header).await;
}

#[tokio::test]
async fn replays_after_the_last_event_id_query_parameter() {
    replays_after(Resume::Query).await;
}

#[tokio::test]
async fn the_header_wins_over_the_query_parameter() {
    replays_after(Resume::Both).await;
}

#[tokio::test]
async fn an_id_older_than_the_history_gets_a_reset_then_the_whole_history() {
    // A history of 10 at 50 ms: a reader may stall for 500 ms before its live queue overflows.
    let server = TestServer::start(&["--random-interval", "50ms", "--history", "10"]).await;
    let mut observer = EventStream::open(&server.url("/stream-random-numbers"), &[]).await;
    observer.read_until_id(30).await;

    let two = format!("2@{}", server.epoch("random-numbers").await);
    let mut stream =
        EventStream::open(&server.url("/stream-random-numbers"), &[("last-event-id", two.as_bytes())]).await;
    assert_eq!(stream.next().await, Some(RETRY_3S));
    let reset = stream.next_event().await;
    assert_eq!((reset.event_type.as_str(), reset.data.as_str()), ("reset", r#"{"reason":"expired"}"#));
    assert_eq!(reset.last_event_id, "", "a reset carries no id");
    let events = stream.events(8).await;
    let first = event_id(&events[0]);
    assert!(first >= 21, "the history holds the last 10 events of at least 30, not {first}");
    assert_eq!(ids(&events), (first..first + 8).collect::<Vec<_>>());
}

#[tokio::test]
async fn invalid_or_unknown_ids_get_a_reset_then_the_whole_history() {
    let server = TestServer::start(&["--temperature-interval", "60s", "--keep-alive", "100ms"]).await;
    let epoch = server.epoch("temperatures").await;
    let (unknown, other_run) =
        (format!("99@{epoch}"), format!("1@{}", if epoch == "aaaaaa" { "bbbbbb" } else { "aaaaaa" }));
    let cases: [(&str, &[u8], &str); 8] = [
        ("/e/temperatures", b"abc", "invalid"),
        ("/e/temperatures", b"\xff\xfe", "invalid"),
        ("/e/temperatures", b"-1", "invalid"),
        ("/e/temperatures", b"1", "invalid"),
        ("/e/temperatures", b"1@BAD", "invalid"),
        ("/e/temperatures", unknown.as_bytes(), "unknown"),
        ("/e/temperatures", other_run.as_bytes(), "restarted"),
        ("/e/temperatures?lastEventId=%zz", b"", "invalid"),
    ];
    for (path, id, reason) in cases {
        let headers: Vec<(&str, &[u8])> = if id.is_empty() { vec![] } else { vec![("last-event-id", id)] };
        let mut stream = EventStream::open(&server.url(path), &headers).await;
        assert_eq!(stream.status, 200);
        assert_eq!(stream.next().await, Some(RETRY_3S));
        let reset = stream.next_event().await;
        let expected = format!(r#"{{"reason":"{reason}"}}"#);
        assert_eq!((reset.event_type.as_str(), reset.data.as_str()), ("reset", expected.as_str()), "{path} {id:?}");
        // The whole history is the one reading published at startup; then nothing but keep-alives.
        assert_eq!(event_id(&stream.next_event().await), 1);
        assert_eq!(stream.next().await, Some(Parsed::Comment("keep-alive".into())));
    }
}

#[tokio::test]
async fn a_client_that_is_up_to_date_gets_no_replay() {
    let server = TestServer::start(&["--temperature-interval", "60s", "--keep-alive", "100ms"]).await;
    let one = format!("1@{}", server.epoch("temperatures").await);
    let mut stream = EventStream::open(&server.url("/e/temperatures"), &[("last-event-id", one.as_bytes())]).await;
    assert_eq!(stream.next().await, Some(RETRY_3S));
    for _ in 0..2 {
        assert_eq!(stream.next().await, Some(Parsed::Comment("keep-alive".into())), "no event 1 again");
    }
}

#[tokio::test]
async fn a_client_that_disconnects_leaves_open_streams() {
    let server = TestServer::start(&["--keep-alive", "100ms"]).await;
    assert_eq!(server.open_streams().await, 0);
    let mut a = EventStream::open(&server.url("/e/temperatures"), &[]).await;
    let mut b = EventStream::open(&server.url("/stream-random-numbers"), &[]).await;
    assert_eq!(a.next().await, Some(RETRY_3S));
    assert_eq!(b.next().await, Some(RETRY_3S));
    // Counted before the response headers were sent.
    assert_eq!(server.open_streams().await, 2);
    drop(a);
    server.wait_for_open_streams(1).await;
    drop(b);
    server.wait_for_open_streams(0).await;
}

#[tokio::test]
async fn shutdown_ends_open_streams_and_run() {
    // A drain deadline far beyond the assertion: only the streams ending on the token can make `run` return in time.
    let mut server = TestServer::start(&["--shutdown-timeout", "60s", "--keep-alive", "60s"]).await;
    let mut stream = EventStream::open(&server.url("/e/temperatures"), &[]).await;
    assert_eq!(event_id(&stream.next_event().await), 1);

    let run = server.shut_down();
    let result = tokio::time::timeout(Duration::from_secs(5), run).await.expect("run did not return after shutdown");
    result.unwrap().unwrap();
    let shutdown = stream.next_event().await;
    assert_eq!((shutdown.event_type.as_str(), shutdown.data.as_str()), ("shutdown", r#"{"reason":"shutdown"}"#));
    assert_eq!(stream.next().await, None, "the stream ended");
    assert!(client().get(server.url("/healthz")).timeout(PATIENCE).send().await.is_err(), "nothing listens any more");
}
