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

/// `/readyz`: the status and the body.
async fn readiness(server: &TestServer) -> (u16, serde_json::Value) {
    let response = client().get(server.url("/readyz")).send().await.unwrap();
    (response.status().as_u16(), json_body(response).await)
}

/// Polls `/readyz` until it answers `status`.
async fn wait_for_readiness(server: &TestServer, status: u16) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (now, body) = readiness(server).await;
        if now == status {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "/readyz stayed {now} {body}, expected {status}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A `--jwt-secret` long enough for the server to start (at least 32 bytes).
const SECRET: &str = "redis-test-jwt-secret-of-32-bytes-at-least";

#[tokio::test]
async fn refused_requests_follow_nothing_and_a_new_topic_does_not_reconnect_the_reader() {
    let redis = RedisServer::start().await;
    let mut conn = redis.connection().await;
    let a = TestServer::start(&["--redis-url", &redis.url(), "--publish-key", KEY, "--jwt-secret", SECRET]).await;
    let b = instance(&redis).await;
    // A follows one topic and has used its connections.
    let mut first = EventStream::open(&a.url("/events/first"), &[]).await;
    b.publish("first", "1").await;
    assert_eq!(event_id(&first.next_event().await), 1);
    assert_eq!(a.metric("sse_live_redis_followed_topics").await, 1.0);
    let connections = redis.connections_received(&mut conn).await;

    // Requests that are refused follow nothing: unknown aliases, a private topic without a token.
    for n in 0..5 {
        let response = client().get(a.url(&format!("/e/no-such-topic-{n}"))).send().await.unwrap();
        assert_eq!(response.status(), 404);
    }
    let private = client().get(a.url("/events/private/secrets")).send().await.unwrap();
    assert_eq!(private.status(), 401);
    // A new topic is read at once, on the same connections.
    let mut second = EventStream::open(&a.url("/events/second"), &[]).await;
    b.publish("second", "1").await;
    assert_eq!(event_id(&second.next_event().await), 1);
    b.publish("first", "2").await;
    assert_eq!(event_id(&first.next_event().await), 2, "the first topic is still read");

    assert_eq!(a.metric("sse_live_redis_followed_topics").await, 2.0, "first and second, nothing else");
    assert_eq!(redis.connections_received(&mut conn).await, connections, "no new connection to Redis");
    assert_eq!(a.metric("sse_live_redis_reconnects_total").await, 0.0);
}

#[tokio::test]
async fn follows_are_bounded_and_let_go_after_the_grace_period() {
    let redis = RedisServer::start().await;
    let url = redis.url();
    let args =
        ["--redis-url", url.as_str(), "--publish-key", KEY, "--max-topics", "2", "--redis-follow-grace", "200ms"];
    let a = TestServer::start(&args).await;
    let x = EventStream::open(&a.url("/events/x"), &[]).await;
    let _y = EventStream::open(&a.url("/events/y"), &[]).await;
    assert_eq!((x.status.as_u16(), a.metric("sse_live_redis_followed_topics").await), (200, 2.0));
    let refused = client().get(a.url("/events/z")).send().await.unwrap();
    assert_eq!(refused.status(), 503, "a third topic passes --max-topics");
    assert_eq!(a.metric("sse_live_redis_followed_topics").await, 2.0, "and is not followed");

    drop(x);
    a.wait_for_metric("sse_live_redis_followed_topics", 1.0).await;
    let mut z = EventStream::open(&a.url("/events/z"), &[]).await;
    assert_eq!(z.status, 200, "room again once x is let go");
    a.publish("z", "1").await;
    assert_eq!(event_id(&z.next_event().await), 1);
}

#[tokio::test]
async fn a_gap_in_a_topics_ids_sends_a_reset_to_its_subscribers() {
    let redis = RedisServer::start().await;
    let (a, b) = (instance(&redis).await, instance(&redis).await);
    let mut on_a = EventStream::open(&a.url("/events/t"), &[]).await;
    for n in 1..=3 {
        b.publish("t", &n.to_string()).await;
    }
    let seen = on_a.events(3).await;
    assert_eq!(ids(&seen), [1, 2, 3]);
    // Entries 4 to 9 were trimmed (MAXLEN ~) before A read them: the next entry A reads is 10.
    let mut conn = redis.connection().await;
    let _: () = redis::cmd("SET").arg("sse-live:{t}:id").arg(10).query_async(&mut conn).await.unwrap();
    let _: String = redis::cmd("XADD")
        .arg("sse-live:{t}")
        .arg("10-0")
        .arg("t")
        .arg("")
        .arg("d")
        .arg("\"after the gap\"")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_reset(&on_a.next_event().await, ResetReason::Expired);
    let after = on_a.next_event().await;
    assert_eq!((event_id(&after), after.data.as_str()), (10, "\"after the gap\""));
    // A client that stopped before the gap is told too.
    let last = seen[2].last_event_id.clone();
    let mut again = EventStream::open(&a.url("/events/t"), &[("last-event-id", last.as_bytes())]).await;
    assert_reset(&again.next_event().await, ResetReason::Expired);
    assert_eq!(event_id(&again.next_event().await), 10);
}

#[tokio::test]
async fn with_redis_optional_an_instance_joins_redis_when_it_comes_up() {
    let mut redis = RedisServer::not_started();
    let a = TestServer::start(&["--redis-url", &redis.url(), "--redis-optional", "--publish-key", KEY]).await;
    let (status, body) = readiness(&a).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "degraded");
    assert!(body["reason"].as_str().unwrap().contains("has not been reached yet"), "{body}");
    let mut on_a = EventStream::open(&a.url("/events/t"), &[]).await;
    assert_eq!(a.publish("t", "\"local\"").await, 1, "its own topics meanwhile");
    assert_eq!(on_a.next_event().await.data, "\"local\"");

    redis.restart().await;
    assert_eq!(wait_for_readiness(&a, 200).await, serde_json::json!({"status": "ready"}));
    assert_eq!(health(&a).await["redis"], "connected");
    let b = instance(&redis).await;
    b.publish("t", "\"shared\"").await;
    assert_reset(&on_a.next_event().await, ResetReason::Restarted);
    let shared = on_a.next_event().await;
    assert_eq!((event_id(&shared), shared.data.as_str()), (1, "\"shared\""), "B's event, through Redis");
}

#[tokio::test]
async fn readyz_answers_503_while_redis_is_lost() {
    let mut redis = RedisServer::start().await;
    let a = instance(&redis).await;
    assert_eq!(readiness(&a).await, (200, serde_json::json!({"status": "ready"})));
    redis.stop();
    let body = wait_for_readiness(&a, 503).await;
    assert_eq!(body["status"], "degraded");
    assert!(body["reason"].as_str().unwrap().contains("unreachable"), "{body}");
    let health = client().get(a.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "alive all the same");
    redis.restart().await;
    wait_for_readiness(&a, 200).await;
}
