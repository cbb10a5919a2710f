//! `GET /events/{topic}` over real HTTP: topics made on first use, published events, replay after a reconnect,
//! resets, topic names.

mod common;

use common::{client, data, ids, json_body, EventStream, TestServer, KEY};
use sse_live_protocol::wire::{Reset, ResetReason};
use sse_live_protocol::Parsed;

async fn server(extra: &[&str]) -> TestServer {
    let mut args = vec!["--publish-key", KEY, "--keep-alive", "100ms"];
    args.extend_from_slice(extra);
    TestServer::start(&args).await
}

#[tokio::test]
async fn a_topic_can_be_subscribed_to_before_its_first_event() {
    let server = server(&[]).await;
    let mut stream = EventStream::open(&server.url("/events/rooms/kitchen"), &[]).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    assert_eq!(server.publish("rooms/kitchen", r#"{"t": 1}"#).await, 1);
    assert_eq!(server.publish("rooms/kitchen", r#"{"t": 2}"#).await, 2);
    let events = stream.events(2).await;
    assert_eq!(ids(&events), [1, 2]);
    assert_eq!(data(&events), [r#"{"t": 1}"#, r#"{"t": 2}"#], "as published");
    assert!(events.iter().all(|e| e.event_type == "message"), "single-topic events are plain messages");
}

#[tokio::test]
async fn a_reconnecting_client_gets_every_missed_event_exactly_once() {
    let server = server(&[]).await;
    for i in 1..=3 {
        server.publish("news", &i.to_string()).await;
    }
    let mut first = EventStream::open(&server.url("/events/news?lastEventId=0"), &[]).await;
    let seen = first.events(3).await;
    assert_eq!(ids(&seen), [1, 2, 3]);
    let last = seen[2].last_event_id.clone();
    drop(first);
    for i in 4..=8 {
        server.publish("news", &i.to_string()).await;
    }

    let mut again = EventStream::open(&server.url("/events/news"), &[("last-event-id", last.as_bytes())]).await;
    let replayed = again.events(5).await;
    assert_eq!(ids(&replayed), [4, 5, 6, 7, 8]);
    assert_eq!(data(&replayed), ["4", "5", "6", "7", "8"]);
    server.publish("news", "9").await;
    assert_eq!(ids(&again.events(1).await), [9], "then live, without a duplicate");
    // Nothing else: only keep-alives follow.
    assert_eq!(again.next().await, Some(Parsed::Comment("keep-alive".into())));
    assert_eq!(server.metric("sse_live_replays_total").await, 2.0, "both streams resumed from an id");
    assert_eq!(server.metric("sse_live_replayed_events_total").await, 8.0);
}

#[tokio::test]
async fn an_id_older_than_the_history_gets_a_reset_then_the_history() {
    let server = server(&["--history", "3"]).await;
    for i in 1..=6 {
        server.publish("news", &i.to_string()).await;
    }
    let first = format!("1@{}", server.epoch("news").await);
    let mut stream = EventStream::open(&server.url("/events/news"), &[("last-event-id", first.as_bytes())]).await;
    let reset = stream.next_event().await;
    assert_eq!(reset.event_type, "reset");
    let reset: Reset = serde_json::from_str(&reset.data).unwrap();
    assert_eq!(reset, Reset::new(ResetReason::Expired));
    assert_eq!(ids(&stream.events(3).await), [4, 5, 6]);
    assert_eq!(server.metric(r#"sse_live_resets_total{reason="expired"}"#).await, 1.0);
}

#[tokio::test]
async fn a_new_client_gets_the_latest_event_at_once() {
    let server = server(&[]).await;
    server.publish("news", "1").await;
    server.publish("news", "2").await;
    let mut stream = EventStream::open(&server.url("/events/news"), &[]).await;
    assert_eq!(ids(&stream.events(1).await), [2]);
    assert_eq!(stream.next().await, Some(Parsed::Comment("keep-alive".into())));
}

#[tokio::test]
async fn the_demo_topics_are_the_same_under_every_alias() {
    let server = TestServer::start(&["--temperature-interval", "60s", "--random-interval", "60s"]).await;
    for (path, alias) in
        [("/events/temperatures", "/e/temperatures"), ("/events/random-numbers", "/stream-random-numbers")]
    {
        let mut a = EventStream::open(&server.url(path), &[]).await;
        let mut b = EventStream::open(&server.url(alias), &[]).await;
        let (a, b) = (a.next_event().await, b.next_event().await);
        assert_eq!((&a.last_event_id, &a.data), (&b.last_event_id, &b.data), "{path} and {alias}: the same event");
        assert_eq!(common::event_id(&a), 1);
    }
    assert_eq!(server.metric("sse_live_events_published_total").await, 2.0, "the generators publish like anyone");
}

#[tokio::test]
async fn invalid_topic_names_are_400_with_the_reason() {
    let server = server(&[]).await;
    let long = "a".repeat(129);
    let cases = [
        ("/events/a%20b".to_owned(), "contains ' '"),
        ("/events/a%3Ab".to_owned(), "contains ':'"),
        ("/events/a//b".to_owned(), "empty segment"),
        ("/events/a/".to_owned(), "empty segment"),
        (format!("/events/{long}"), "129 bytes long"),
        ("/events/caf%C3%A9".to_owned(), "contains 'é'"),
    ];
    for (path, why) in cases {
        for post in [false, true] {
            let request = if post {
                client().post(server.url(&path)).bearer_auth(KEY).body("{}")
            } else {
                client().get(server.url(&path))
            };
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 400, "{path}");
            let error = json_body(response).await["error"].as_str().unwrap().to_owned();
            assert!(error.contains(why), "{path}: {error}");
        }
    }
    assert_eq!(server.metric(r#"sse_live_rejected_total{reason="bad_request"}"#).await, 6.0);
}

#[tokio::test]
async fn the_old_alias_still_refuses_unknown_topics() {
    let server = server(&[]).await;
    let response = client().get(server.url("/e/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(json_body(response).await["error"], r#"no topic named "nope""#);
}

#[tokio::test]
async fn reconnecting_again_and_again_while_events_pour_in_loses_and_repeats_nothing() {
    let server = server(&["--history", "1000"]).await;
    let total = 400;
    let publisher = {
        let url = server.url("/events/flood");
        tokio::spawn(async move {
            let http = client();
            for i in 1..=total {
                let response = http.post(&url).bearer_auth(KEY).body(i.to_string()).send().await.unwrap();
                assert_eq!(response.status(), 201);
            }
        })
    };
    // A client that reads a few events, drops the connection, and comes back with its last id, until it has all.
    let mut seen: Vec<u64> = Vec::new();
    let mut connections = 0;
    // `0` at first: the whole history.
    let mut last = "0".to_owned();
    while seen.last() != Some(&total) {
        let mut stream = EventStream::open(&server.url("/events/flood"), &[("last-event-id", last.as_bytes())]).await;
        connections += 1;
        for _ in 0..7 {
            let event = stream.next_event().await;
            assert_eq!(event.event_type, "message", "no reset: {event:?}");
            seen.push(common::event_id(&event));
            last.clone_from(&event.last_event_id);
            if seen.last() == Some(&total) {
                break;
            }
        }
    }
    publisher.await.unwrap();
    assert_eq!(seen, (1..=total).collect::<Vec<_>>(), "every event exactly once, in order");
    assert!(connections > 10, "it really reconnected ({connections} connections)");
}

#[tokio::test]
async fn an_id_from_another_run_of_the_server_gets_a_reset_never_the_new_runs_events() {
    let mut first = server(&[]).await;
    for i in 1..=50 {
        first.publish("t", &i.to_string()).await;
    }
    let mut stream = EventStream::open(&first.url("/events/t?lastEventId=0"), &[]).await;
    let events = stream.events(50).await;
    assert_eq!(ids(&events), (1..=50).collect::<Vec<_>>());
    let fortieth = events[39].last_event_id.clone();
    let old_epoch = common::split_id(&events[39]).1.to_owned();
    drop(stream);
    first.shut_down().await.unwrap().unwrap();

    // The server restarts (topics in the process: everything is new) and publishes 45 events.
    let second = server(&[]).await;
    for i in 1..=45 {
        second.publish("t", &format!("\"second {i}\"")).await;
    }
    let mut again = EventStream::open(&second.url("/events/t"), &[("last-event-id", fortieth.as_bytes())]).await;
    let reset = again.next_event().await;
    assert_eq!((reset.event_type.as_str(), reset.data.as_str()), ("reset", r#"{"reason":"restarted"}"#));
    let history = again.events(45).await;
    assert_eq!(ids(&history), (1..=45).collect::<Vec<_>>(), "the new run's whole history, not 41..45 as a sequel");
    assert_eq!(history[0].data, "\"second 1\"");
    assert!(history.iter().all(|e| common::split_id(e).1 != old_epoch), "a new epoch: {:?}", history[0]);

    // A multi-topic position of the old run resets the topics it names; the others start like a new client.
    let position = format!("t:40,u:0@{old_epoch}");
    second.publish("u", "\"u1\"").await;
    let mut multi =
        EventStream::open(&second.url("/events?topic=t&topic=u"), &[("last-event-id", position.as_bytes())]).await;
    let reset = multi.next_event().await;
    assert_eq!((reset.event_type.as_str(), reset.data.as_str()), ("reset", r#"{"reason":"restarted","topic":"t"}"#));
    let replay = multi.events(46).await;
    assert_eq!(common::position(&replay[44]), "t:45,u:0");
    assert_eq!((replay[45].event_type.as_str(), common::position(&replay[45])), ("u", "t:45,u:1"));
    assert_eq!(second.metric(r#"sse_live_resets_total{reason="restarted"}"#).await, 2.0);
}
