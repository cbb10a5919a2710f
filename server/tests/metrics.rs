//! `GET /metrics` over real HTTP: Prometheus (OpenMetrics) text counting streams and events, with no per-topic
//! labels.

mod common;

use common::{client, EventStream, TestServer, KEY};

#[tokio::test]
async fn metrics_count_streams_and_events_without_topic_labels() {
    // The test counts exact publishes: the generators publish their first event at start, then nothing for an hour.
    let quiet = ["--temperature-interval", "1h", "--random-interval", "1h"];
    let server = TestServer::start(&[&["--publish-key", KEY, "--keep-alive", "100ms"][..], &quiet].concat()).await;
    let response = client().get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/openmetrics-text; version=1.0.0; charset=utf-8");
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    for metric in [
        "open_streams",
        "events_published",
        "events_delivered",
        "replays",
        "replayed_events",
        "resets",
        "lagged",
        "send_timeouts",
        "tokens_expired",
        "rejected",
    ] {
        assert!(text.contains(&format!("# TYPE sse_live_{metric} ")), "{metric} missing:\n{text}");
    }
    let published_at_start = server.metric("sse_live_events_published_total").await;
    assert_eq!(published_at_start, 2.0, "each generator's first event");

    let mut a = EventStream::open(&server.url("/events/secret-topic-name"), &[]).await;
    let mut b = EventStream::open(&server.url("/events?topic=secret-topic-name&topic=temperatures"), &[]).await;
    assert_eq!(server.metric("sse_live_open_streams").await, 2.0);
    server.publish("secret-topic-name", "1").await;
    a.events(1).await;
    b.events(2).await; // the latest temperature, then the new event
    assert_eq!(server.metric("sse_live_events_published_total").await, 3.0);
    assert_eq!(server.metric("sse_live_events_delivered_total").await, 3.0);
    let _ = client().get(server.url("/events/bad%20name")).send().await.unwrap();
    assert_eq!(server.metric(r#"sse_live_rejected_total{reason="bad_request"}"#).await, 1.0);

    drop(a);
    server.wait_for_metric("sse_live_open_streams", 1.0).await;
    let text = client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!text.contains("secret-topic-name") && !text.contains("temperatures"), "no topic in any label:\n{text}");
    assert_eq!(server.open_streams().await, 1, "/healthz agrees");
}
