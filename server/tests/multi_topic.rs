//! `GET /events?topic=a&topic=b` over real HTTP: one stream for several topics, `event:` naming the topic, a
//! composite id resuming every topic exactly, and the bad requests.

mod common;

use common::{client, json_body, position, split_id, EventStream, TestServer, KEY};
use sse_live_protocol::wire::{Reset, ResetReason};
use sse_live_protocol::{Event, Parsed};

async fn server(extra: &[&str]) -> TestServer {
    let mut args = vec!["--publish-key", KEY, "--keep-alive", "100ms"];
    args.extend_from_slice(extra);
    TestServer::start(&args).await
}

/// Each event's topic, position (without the epoch, which must be the same for all) and data.
fn summary(events: &[Event]) -> Vec<(String, String, String)> {
    let epochs: Vec<&str> = events.iter().map(|e| split_id(e).1).collect();
    assert!(epochs.windows(2).all(|pair| pair[0] == pair[1]), "one epoch: {epochs:?}");
    events.iter().map(|e| (e.event_type.clone(), position(e).to_owned(), e.data.clone())).collect()
}

fn triple(topic: &str, id: &str, data: &str) -> (String, String, String) {
    (topic.to_owned(), id.to_owned(), data.to_owned())
}

#[tokio::test]
async fn events_name_their_topic_and_carry_the_position_in_every_topic() {
    let server = server(&[]).await;
    let mut stream = EventStream::open(&server.url("/events?topic=a&topic=b/c"), &[]).await;
    assert_eq!(stream.status, 200);
    server.publish("a", "1").await;
    server.publish("b/c", "2").await;
    server.publish("a", "3").await;
    assert_eq!(
        summary(&stream.events(3).await),
        [triple("a", "a:1,b/c:0", "1"), triple("b/c", "a:1,b/c:1", "2"), triple("a", "a:2,b/c:1", "3")]
    );
}

#[tokio::test]
async fn a_reconnect_with_the_composite_id_gets_every_missed_event_of_every_topic_exactly_once() {
    let server = server(&[]).await;
    let url = server.url("/events?topic=a&topic=b");
    let mut first = EventStream::open(&url, &[]).await;
    server.publish("a", r#""a1""#).await;
    server.publish("b", r#""b1""#).await;
    let last_event = first.events(2).await.pop().unwrap();
    let (epoch, last) = (split_id(&last_event).1.to_owned(), last_event.last_event_id.clone());
    assert_eq!(last, format!("a:1,b:1@{epoch}"));
    drop(first);

    for (topic, data) in [("a", "a2"), ("b", "b2"), ("a", "a3"), ("c", "not subscribed"), ("b", "b3")] {
        server.publish(topic, &format!("{data:?}")).await;
    }
    let mut again = EventStream::open(&url, &[("last-event-id", last.as_bytes())]).await;
    // Replayed topic by topic, each in order; positions of topics not yet replayed stay where the client was.
    assert_eq!(
        summary(&again.events(4).await),
        [
            triple("a", "a:2,b:1", r#""a2""#),
            triple("a", "a:3,b:1", r#""a3""#),
            triple("b", "a:3,b:2", r#""b2""#),
            triple("b", "a:3,b:3", r#""b3""#),
        ]
    );
    server.publish("b", r#""b4""#).await;
    assert_eq!(summary(&again.events(1).await), [triple("b", "a:3,b:4", r#""b4""#)], "then live, no duplicate");
    assert_eq!(again.next().await, Some(Parsed::Comment("keep-alive".into())));

    // The same id as a query parameter (a page reconnecting by itself) resumes the same way.
    let query = server.url(&format!("/events?topic=a&topic=b&lastEventId=a%3A3%2Cb%3A3%40{epoch}"));
    let mut by_query = EventStream::open(&query, &[]).await;
    assert_eq!(summary(&by_query.events(1).await), [triple("b", "a:3,b:4", r#""b4""#)]);
}

#[tokio::test]
async fn a_topic_missing_from_the_id_starts_new_and_a_malformed_id_resets_every_topic() {
    let server = server(&[]).await;
    server.publish("a", r#""a1""#).await;
    server.publish("a", r#""a2""#).await;
    server.publish("b", r#""b1""#).await;
    // b was not in the client's stream before: it gets b's latest event like a new client.
    let a2 = format!("a:2@{}", server.epoch("a").await);
    let mut added =
        EventStream::open(&server.url("/events?topic=a&topic=b"), &[("last-event-id", a2.as_bytes())]).await;
    assert_eq!(summary(&added.events(1).await), [triple("b", "a:2,b:1", r#""b1""#)]);

    let mut bad = EventStream::open(&server.url("/events?topic=a&topic=b"), &[("last-event-id", b"7")]).await;
    for topic in ["a", "b"] {
        let reset = bad.next_event().await;
        assert_eq!(reset.event_type, "reset");
        let reset: Reset = serde_json::from_str(&reset.data).unwrap();
        assert_eq!((reset.reason, reset.topic.as_deref()), (ResetReason::Invalid, Some(topic)));
    }
    let history: Vec<_> = summary(&bad.events(3).await).into_iter().map(|(_, _, d)| d).collect();
    assert_eq!(history, [r#""a1""#, r#""a2""#, r#""b1""#], "then each topic's whole history");
}

#[tokio::test]
async fn bad_topic_lists_are_400() {
    let server = server(&["--max-topics-per-stream", "2"]).await;
    let cases = [
        ("/events", "name at least one topic"),
        ("/events?lastEventId=1", "name at least one topic"),
        ("/events?topic=a&topic=b&topic=c", "at most 2 topics per stream"),
        ("/events?topic=a&topic=a%2Cb", "contains ','"),
        ("/events?topic=", "empty"),
    ];
    for (path, why) in cases {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let error = json_body(response).await["error"].as_str().unwrap().to_owned();
        assert!(error.contains(why), "{path}: {error}");
    }
    // A topic named twice counts once.
    let stream = EventStream::open(&server.url("/events?topic=a&topic=b&topic=a"), &[]).await;
    assert_eq!(stream.status, 200);
}
