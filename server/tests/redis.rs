//! Several instances behind one Redis (`--redis-url`), against a real `redis-server` each test starts: events
//! published on one instance reach subscribers of another, a client resumes on another instance exactly where it
//! stopped, and a Redis outage costs 503s on publishing but no event published before or after it.

mod common;

use std::time::Duration;

use common::redis_server::RedisServer;
use common::{client, event_id, ids, json_body, position, split_id, EventStream, TestServer, KEY, PATIENCE};
use sse_live_protocol::wire::{Reset, ResetReason};
use sse_live_protocol::Event;

/// An instance on `redis` that accepts publishing with [`KEY`].
async fn instance(redis: &RedisServer) -> TestServer {
    TestServer::start(&["--redis-url", &redis.url(), "--publish-key", KEY]).await
}

async fn health(server: &TestServer) -> serde_json::Value {
    json_body(client().get(server.url("/healthz")).send().await.unwrap()).await
}

/// Polls `/healthz` until `redis` is `expected`.
async fn wait_for_redis_state(server: &TestServer, expected: &str) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let state = health(server).await["redis"].as_str().unwrap().to_owned();
        if state == expected {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "redis stayed {state:?}, expected {expected:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_event_published_on_one_instance_reaches_a_subscriber_of_another() {
    let redis = RedisServer::start().await;
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let mut on_b = EventStream::open(&b.url("/events/news"), &[]).await;
    assert_eq!(on_b.status, 200);
    assert_eq!(a.publish("news", r#"{"n":1}"#).await, 1);
    assert_eq!(b.publish("news", r#"{"n":2}"#).await, 2, "ids come from Redis: the same counter on every instance");
    let events = on_b.events(2).await;
    assert_eq!(ids(&events), [1, 2]);
    assert_eq!(events[0].data, r#"{"n":1}"#);
    // A multi-topic stream on A sees B's events with composite ids that mean the same on every instance.
    let mut on_a = EventStream::open(&a.url("/events?topic=news&topic=other"), &[]).await;
    let epoch = split_id(&events[0]).1.to_owned();
    let latest = on_a.next_event().await;
    assert_eq!(latest.last_event_id, format!("news:2,other:0@{epoch}"), "the latest event first; one epoch for all");
    b.publish("other", "7").await;
    let event = on_a.next_event().await;
    assert_eq!((event.event_type.as_str(), position(&event)), ("other", "news:2,other:1"));
    assert_eq!(health(&a).await["redis"], "connected");
    assert_eq!(a.metric("sse_live_redis_connected").await, 1.0);
}

#[tokio::test]
async fn a_client_cut_off_from_one_instance_resumes_on_another_exactly_once() {
    let redis = RedisServer::start().await;
    let (mut a, b) = (instance(&redis).await, instance(&redis).await);
    let mut on_a = EventStream::open(&a.url("/events/feed"), &[]).await;
    for n in 1..=10 {
        a.publish("feed", &n.to_string()).await;
    }
    let seen = on_a.events(6).await;
    assert_eq!(ids(&seen), (1..=6).collect::<Vec<_>>());
    let last = seen.last().unwrap().last_event_id.clone();
    a.shut_down().await.unwrap().unwrap();
    drop(on_a);
    for n in 11..=15 {
        b.publish("feed", &n.to_string()).await;
    }
    let mut on_b = EventStream::open(&b.url("/events/feed"), &[("last-event-id", last.as_bytes())]).await;
    b.publish("feed", "16").await;
    let rest = on_b.events(10).await;
    assert_eq!(ids(&rest), (7..=16).collect::<Vec<_>>(), "the rest, in order, each once");
    assert_eq!(rest.iter().map(|e| e.data.as_str()).collect::<Vec<_>>()[0], "7");
    assert_eq!(rest.iter().map(|e| e.event_type.as_str()).collect::<Vec<_>>(), ["message"; 10]);
    b.publish("feed", "17").await;
    assert_eq!(event_id(&on_b.next_event().await), 17, "no duplicate of the replay before the live event");
}

#[tokio::test]
async fn a_redis_outage_answers_503_to_publishers_and_loses_nothing_published() {
    let mut redis = RedisServer::start().await;
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let mut on_b = EventStream::open(&b.url("/events/ticks"), &[]).await;
    let mut accepted = vec![a.publish("ticks", "0").await];
    assert_eq!(event_id(&on_b.next_event().await), accepted[0]);

    // A publisher keeps publishing on A while Redis goes away and comes back.
    let publisher = {
        let url = a.url("/events/ticks");
        tokio::spawn(async move {
            let mut answers = Vec::new();
            for n in 1..=400u32 {
                let response = client().post(&url).bearer_auth(KEY).body(n.to_string()).send().await.unwrap();
                let status = response.status().as_u16();
                let id = if status == 201 { json_body(response).await["id"].as_u64() } else { None };
                answers.push((status, id));
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    redis.stop();
    wait_for_redis_state(&b, "disconnected").await;
    assert_eq!(b.metric("sse_live_redis_connected").await, 0.0);
    let during = a.post("ticks", "1").await;
    assert_eq!(during.status(), 503, "publishing while Redis is lost");
    assert_eq!(during.headers()["retry-after"], "1");
    let fresh = client().get(b.url("/events/fresh")).send().await.unwrap();
    assert_eq!(fresh.status(), 503, "a topic B does not read yet cannot be loaded from Redis");
    assert_eq!(health(&b).await["openStreams"], 1, "B's subscriber is still connected");
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.restart().await;
    wait_for_redis_state(&b, "connected").await;
    let answers = publisher.await.unwrap();
    let after = b.publish("ticks", "\"after\"").await;

    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert!(statuses.contains(&503), "some publishes fell in the outage: {statuses:?}");
    assert!(statuses.iter().all(|s| [201, 503].contains(s)), "only 201 or 503: {statuses:?}");
    accepted.extend(answers.iter().filter_map(|(_, id)| *id));
    accepted.push(after);
    let newest = *accepted.last().unwrap();
    // The subscriber on B stayed connected through the outage and gets every accepted event, once, in order.
    let mut received = Vec::new();
    while received.last() != Some(&newest) {
        received.push(event_id(&on_b.next_event().await));
    }
    assert!(received.windows(2).all(|pair| pair[0] < pair[1]), "in order, none twice: {received:?}");
    let missing: Vec<u64> = accepted[1..].iter().filter(|id| !received.contains(id)).copied().collect();
    assert_eq!(missing, Vec::<u64>::new(), "every event accepted with 201 arrives");
    // Beyond those, only an event whose publish did not get its 201 can arrive: Redis stored it (fsynced) and was
    // killed before the reply reached the server, which then answered 503. Seen about once in 20 runs (an extra
    // id 22); the outcome of such a publish is unknown to the publisher, as with any lost reply.
    let extra: Vec<u64> = received.iter().filter(|id| !accepted.contains(id)).copied().collect();
    let failed = statuses.iter().filter(|&&status| status != 201).count();
    assert!(extra.len() <= failed, "extra events {extra:?} beyond the {failed} publishes that got no 201");
    assert!(b.metric("sse_live_redis_reconnects_total").await >= 1.0);
}

#[tokio::test]
async fn with_redis_optional_an_unreachable_redis_means_local_topics_only() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("redis://{closed}");
    let server = TestServer::start(&["--redis-url", &url, "--redis-optional", "--publish-key", KEY]).await;
    assert_eq!(health(&server).await["redis"], "unavailable-serving-local-only");
    let mut stream = EventStream::open(&server.url("/events/news"), &[]).await;
    assert_eq!(server.publish("news", "1").await, 1);
    assert_eq!(event_id(&stream.next_event().await), 1);
}

/// Publishes `body` to `topic` on `server` until it is accepted (Redis may still be coming back); returns the id.
async fn publish_eventually(server: &TestServer, topic: &str, body: &str) -> u64 {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let response = server.post(topic, body).await;
        if response.status() == 201 {
            return json_body(response).await["id"].as_u64().unwrap();
        }
        assert!(tokio::time::Instant::now() < deadline, "publishing stayed {}", response.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Asserts that `event` is `event: reset` with `reason`.
fn assert_reset(event: &Event, reason: ResetReason) {
    assert_eq!(event.event_type, "reset", "{event:?}");
    assert_eq!(serde_json::from_str::<Reset>(&event.data).unwrap(), Reset::new(reason), "{event:?}");
}

#[tokio::test]
async fn a_redis_restarted_empty_resets_streams_and_old_ids_instead_of_matching_its_new_events() {
    let mut redis = RedisServer::start().await;
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let mut on_a = EventStream::open(&a.url("/events/t"), &[]).await;
    for n in 1..=5 {
        b.publish("t", &n.to_string()).await;
    }
    let before = on_a.events(5).await;
    assert_eq!(ids(&before), [1, 2, 3, 4, 5]);
    let old = before[4].last_event_id.clone();

    redis.restart_empty().await;
    // The new Redis counts from 1 again.
    for n in 1..=3 {
        assert_eq!(publish_eventually(&b, "t", &format!("\"new {n}\"")).await, n);
    }
    // The stream that stayed open on A is told, then gets the new events (not skipped as already seen).
    assert_reset(&on_a.next_event().await, ResetReason::Restarted);
    let after = on_a.events(3).await;
    assert_eq!(ids(&after), [1, 2, 3]);
    assert_eq!(after[0].data, "\"new 1\"");
    let new_epoch = split_id(&after[0]).1.to_owned();
    assert_ne!(new_epoch, split_id(&before[0]).1, "a new epoch");

    // A client coming back with an id of the old Redis, on either instance, gets a reset and the new history.
    for server in [&a, &b] {
        let mut again = EventStream::open(&server.url("/events/t"), &[("last-event-id", old.as_bytes())]).await;
        assert_reset(&again.next_event().await, ResetReason::Restarted);
        let history = again.events(3).await;
        assert_eq!(ids(&history), [1, 2, 3], "never the old run's events, nor a silent match of 5 in the new one");
        assert!(history.iter().all(|e| split_id(e).1 == new_epoch), "{history:?}");
    }
}
