//! Connection limits over real HTTP: `--max-streams-per-ip` and `--max-streams` answer 429 with `Retry-After`, and a
//! stream's permit is held for its whole life, released when it closes.

mod common;

use common::{client, json_body, EventStream, TestServer};

#[tokio::test]
async fn the_per_ip_limit_is_429_with_retry_after_until_a_stream_closes() {
    let server = TestServer::start(&["--max-streams-per-ip", "2", "--retry", "2500ms"]).await;
    let a = EventStream::open(&server.url("/events/a"), &[]).await;
    let _b = EventStream::open(&server.url("/events?topic=b&topic=c"), &[]).await;
    assert_eq!((a.status.as_u16(), _b.status.as_u16()), (200, 200));

    let refused = client().get(server.url("/events/a")).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "3", "--retry rounded up to whole seconds");
    assert_eq!(
        json_body(refused).await["error"],
        "too many streams from your address: at most 2 at once; close one or try again later"
    );
    // The aliases count too.
    assert_eq!(client().get(server.url("/e/temperatures")).send().await.unwrap().status(), 429);
    // Other requests do not.
    assert_eq!(client().get(server.url("/healthz")).send().await.unwrap().status(), 200);

    // Held for the stream's life (not just until the headers), released when it closes.
    drop(a);
    server.wait_for_open_streams(1).await;
    let again = EventStream::open(&server.url("/events/a"), &[]).await;
    assert_eq!(again.status, 200);
    assert_eq!(server.metric(r#"sse_live_rejected_total{reason="too_many_streams_per_ip"}"#).await, 2.0);
}

#[tokio::test]
async fn the_total_limit_is_429_too() {
    let server = TestServer::start(&["--max-streams", "1", "--max-streams-per-ip", "5"]).await;
    let _a = EventStream::open(&server.url("/events/a"), &[]).await;
    let refused = client().get(server.url("/events/b")).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(json_body(refused).await["error"], "too many streams: the server allows 1 at once; try again later");
    assert_eq!(server.metric(r#"sse_live_rejected_total{reason="too_many_streams"}"#).await, 1.0);
}

#[tokio::test]
async fn streams_refused_for_another_reason_take_no_permit() {
    let server = TestServer::start(&["--max-streams-per-ip", "1"]).await;
    for _ in 0..3 {
        assert_eq!(client().get(server.url("/events/a%20b")).send().await.unwrap().status(), 400);
        assert_eq!(client().get(server.url("/events/private/x")).send().await.unwrap().status(), 403);
    }
    assert_eq!(EventStream::open(&server.url("/events/a"), &[]).await.status, 200);
}

#[tokio::test]
async fn no_more_than_max_topics_exist_and_unused_ones_are_forgotten() {
    // The two demo topics count: room for one more.
    let server = TestServer::start(&["--max-topics", "3", "--publish-key", common::KEY]).await;
    let a = EventStream::open(&server.url("/events/a"), &[]).await;
    assert_eq!(a.status, 200);
    for response in
        [client().get(server.url("/events?topic=a&topic=b")).send().await.unwrap(), server.post("b", "1").await]
    {
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "5");
        assert_eq!(json_body(response).await["error"], "the server holds its maximum of 3 topics; try again later");
    }
    assert_eq!(server.metric(r#"sse_live_rejected_total{reason="too_many_topics"}"#).await, 1.0);
    // Existing topics go on; `a`, never published to, is forgotten when its subscriber leaves.
    assert_eq!(server.publish("temperatures", "1").await, 2);
    drop(a);
    server.wait_for_open_streams(0).await;
    assert_eq!(server.publish("b", "1").await, 1);
}
