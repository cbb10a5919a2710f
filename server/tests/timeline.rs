//! `/test/timeline` (arrival times and cookies, recorded per key) and `/test/set-cookie`, which the browser tests of
//! the client's reconnect timing and `with_credentials` rely on, over real HTTP.

mod common;

use std::time::Duration;

use common::{client, json_body, EventStream, TestServer};
use sse_live_protocol::Parsed;

async fn test_server() -> TestServer {
    TestServer::start(&["--test-routes", "--keep-alive", "100ms", "--allow-origin", "http://a.test"]).await
}

async fn timeline_log(server: &TestServer, key: &str) -> serde_json::Value {
    json_body(client().get(server.url(&format!("/test/timeline-log/{key}"))).send().await.unwrap()).await
}

#[tokio::test]
async fn timeline_streams_the_first_n_requests_then_503_and_records_each_arrival() {
    let server = test_server().await;
    let url = server.url("/test/timeline?key=t1&open=1&retry=1500");
    let mut stream = EventStream::open(&url, &[("cookie", b"a=1")]).await;
    assert_eq!(stream.status, 200);
    let mut retries = Vec::new();
    let event = loop {
        match stream.next().await {
            Some(Parsed::Retry(retry)) => retries.push(retry),
            Some(Parsed::Event(event)) => break event,
            other => panic!("retry: frames then the event, not {other:?}"),
        }
    };
    assert_eq!(
        retries.last(),
        Some(&Duration::from_millis(1500)),
        "the asked retry: comes last, before the event: {retries:?}"
    );
    assert_eq!(event.last_event_id, "1");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&event.data).unwrap()["cookie"], "a=1");
    assert_eq!(stream.next().await, None, "without stay=true the body ends after the event");

    tokio::time::sleep(Duration::from_millis(100)).await;
    let failed = client().get(&url).send().await.unwrap();
    assert_eq!(failed.status(), 503);
    assert_eq!(failed.text().await.unwrap(), "timeline 2");

    let log = timeline_log(&server, "t1").await;
    let arrivals: Vec<f64> = log["arrivals"].as_array().unwrap().iter().map(|t| t.as_f64().unwrap()).collect();
    assert_eq!(arrivals.len(), 2);
    assert_eq!(arrivals[0], 0.0);
    assert!(arrivals[1] >= 100.0, "arrivals are milliseconds after the first: {arrivals:?}");
    assert_eq!(log["cookies"], serde_json::json!(["a=1", null]));
    assert_eq!(timeline_log(&server, "unknown").await["arrivals"], serde_json::json!([]));
}

#[tokio::test]
async fn timeline_with_stay_keeps_the_stream_open_and_refuses_a_long_retry() {
    let server = test_server().await;
    let mut stream = EventStream::open(&server.url("/test/timeline?key=t2&open=1&stay=true"), &[]).await;
    assert_eq!(stream.status, 200);
    loop {
        match stream.next().await {
            Some(Parsed::Event(event)) => {
                assert_eq!(event.last_event_id, "1");
                break;
            }
            Some(Parsed::Retry(_)) => {}
            other => panic!("the event, not {other:?}"),
        }
    }
    assert_eq!(stream.next().await, Some(Parsed::Comment("keep-alive".into())), "the stream stays open");
    let long = client().get(server.url("/test/timeline?key=t3&retry=60001")).send().await.unwrap();
    assert_eq!(long.status(), 400);
    let no_key = client().get(server.url("/test/timeline")).send().await.unwrap();
    assert_eq!(no_key.status(), 400);
}

#[tokio::test]
async fn set_cookie_sets_a_lax_cookie_and_refuses_odd_characters() {
    let server = test_server().await;
    let response = client()
        .get(server.url("/test/set-cookie?name=sse-test&value=v_1"))
        .header("origin", "http://a.test")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["set-cookie"], "sse-test=v_1; Path=/; SameSite=Lax; HttpOnly");
    assert_eq!(response.headers()["access-control-allow-credentials"], "true");
    assert_eq!(response.headers()["access-control-allow-origin"], "http://a.test");
    for query in ["name=a;b&value=1", "name=&value=1", "name=a&value=x%0Ay", "name=a"] {
        let response = client().get(server.url(&format!("/test/set-cookie?{query}"))).send().await.unwrap();
        assert_eq!(response.status(), 400, "{query}");
    }
}

#[tokio::test]
async fn the_timeline_routes_are_off_by_default() {
    let server = TestServer::start(&[]).await;
    for path in ["/test/timeline?key=a", "/test/timeline-log/a", "/test/set-cookie?name=a&value=b"] {
        assert_eq!(client().get(server.url(path)).send().await.unwrap().status(), 404, "{path}");
    }
}
