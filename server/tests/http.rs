//! The plain HTTP side over real HTTP: `/healthz`, the client from `--dist`, errors, test routes, CORS.

mod common;

use clap::Parser as _;
use common::{client, event_id, EventStream, TestServer};
use sse_live_demo_wire::TemperatureReading;
use sse_live_protocol::Parsed;
use sse_live_server::Config;
use time::OffsetDateTime;

#[tokio::test]
async fn healthz_reports_ok_and_open_streams() {
    let server = TestServer::start(&[]).await;
    let response = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    assert_eq!(response.text().await.unwrap(), r#"{"status":"ok","openStreams":0,"redis":"off"}"#);
}

#[tokio::test]
async fn the_built_client_is_served_with_index_html_for_page_paths() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>sse-live</title>").unwrap();
    std::fs::write(dist.join("assets/app.js"), "console.log(1)").unwrap();
    let config = Config::try_parse_from(["sse-live-server", "--dist", dist.to_str().unwrap()]).unwrap();
    let server = TestServer::start_with(config, dir).await;

    for path in ["/", "/index.html", "/some/page", "/settings?tab=2"] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        assert_eq!(response.text().await.unwrap(), "<!doctype html><title>sse-live</title>", "{path}");
    }
    let response = client().get(server.url("/assets/app.js")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "console.log(1)");

    // API paths never fall back to the page.
    for path in ["/e/no-such-topic", "/test/invalid-json", "/healthz/x", "/stream-nothing"] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body = json_body(response).await;
        assert!(body["error"].is_string(), "{path}: {body}");
    }
}

#[tokio::test]
async fn without_a_built_client_the_page_is_503_and_streams_still_work() {
    // No dist directory at all, then a dist directory without index.html.
    let dir = tempfile::tempdir().unwrap();
    let empty_dist = dir.path().join("empty");
    std::fs::create_dir(&empty_dist).unwrap();
    let with_empty_dist = Config::try_parse_from(["sse-live-server", "--dist", empty_dist.to_str().unwrap()]).unwrap();
    for server in [TestServer::start(&[]).await, TestServer::start_with(with_empty_dist, dir).await] {
        for path in ["/", "/some/page"] {
            let response = client().get(server.url(path)).send().await.unwrap();
            assert_eq!(response.status(), 503, "{path}");
            assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
            let text = response.text().await.unwrap();
            assert!(text.contains("cargo xtask demo") && text.contains("not built"), "{text}");
        }
        let mut stream = EventStream::open(&server.url("/e/temperatures"), &[]).await;
        assert_eq!(event_id(&stream.next_event().await), 1);
    }
}

#[tokio::test]
async fn an_unknown_topic_is_a_json_404() {
    let server = TestServer::start(&[]).await;
    let response = client().get(server.url("/e/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.text().await.unwrap(), r#"{"error":"no topic named \"nope\""}"#);
}

#[tokio::test]
async fn bad_paths_and_queries_are_answered_not_panicked_on() {
    let server = TestServer::start(&[]).await;
    let response = client().get(server.url("/e/%FF%FE")).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(json_body(response).await["error"].is_string());
    // A malformed query is read leniently: the id is invalid, the stream still opens.
    let mut stream = EventStream::open(&server.url("/e/temperatures?lastEventId=%FF&&=&x"), &[]).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.next_event().await.event_type, "reset");
    // After all that the server still answers.
    assert_eq!(server.open_streams().await, 1);
}

#[tokio::test]
async fn test_routes_are_off_by_default() {
    let server = TestServer::start(&[]).await;
    let response = client().get(server.url("/test/invalid-json")).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn invalid_json_test_route_sends_bad_then_good_data() {
    let server = TestServer::start(&["--test-routes", "--keep-alive", "100ms"]).await;
    let mut stream = EventStream::open(&server.url("/test/invalid-json"), &[]).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    assert_eq!(server.open_streams().await, 1, "counted like any stream");

    let bad = stream.next_event().await;
    assert_eq!(
        (bad.event_type.as_str(), bad.data.as_str(), bad.last_event_id.as_str()),
        ("message", "this is not json", "1")
    );
    assert!(serde_json::from_str::<TemperatureReading>(&bad.data).is_err());
    let good = stream.next_event().await;
    assert_eq!(good.last_event_id, "2");
    let reading: TemperatureReading = serde_json::from_str(&good.data).unwrap();
    assert_eq!(reading.temperature, 22.5);
    assert!((OffsetDateTime::now_utc() - reading.updated_at).whole_seconds().abs() <= 60);
    // Then it stays open with keep-alives.
    for _ in 0..2 {
        assert_eq!(stream.next().await, Some(Parsed::Comment("keep-alive".into())));
    }
}

/// A CORS preflight for a GET of `path` from `http://a.test` that would send `headers`.
async fn preflight(server: &TestServer, path: &str, headers: &str) -> reqwest::Response {
    client()
        .request(reqwest::Method::OPTIONS, server.url(path))
        .header("origin", "http://a.test")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap()
}

fn allow_origin(response: &reqwest::Response) -> Option<&str> {
    response.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn cors_allows_exactly_the_listed_origins() {
    let server = TestServer::start(&["--allow-origin", "http://a.test"]).await;
    for path in ["/healthz", "/e/temperatures"] {
        let allowed = client().get(server.url(path)).header("origin", "http://a.test").send().await.unwrap();
        assert_eq!(allow_origin(&allowed), Some("http://a.test"), "{path}");
        let other = client().get(server.url(path)).header("origin", "http://b.test").send().await.unwrap();
        assert_eq!(allow_origin(&other), None, "{path}");
    }

    let preflight = preflight(&server, "/e/temperatures", "last-event-id").await;
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(allow_origin(&preflight), Some("http://a.test"));
    let allowed_headers = preflight.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(allowed_headers.contains("last-event-id"), "{allowed_headers}");
    let allowed_methods = preflight.headers()["access-control-allow-methods"].to_str().unwrap();
    assert!(allowed_methods.contains("GET"), "{allowed_methods}");
}

#[tokio::test]
async fn cors_allows_credentials_only_with_the_exact_origin_never_a_wildcard() {
    let server = TestServer::start(&["--allow-origin", "http://a.test,http://b.test"]).await;
    for origin in ["http://a.test", "http://b.test"] {
        let response = client().get(server.url("/events/x")).header("origin", origin).send().await.unwrap();
        assert_eq!(allow_origin(&response), Some(origin), "the request's own origin, not *");
        assert_eq!(response.headers()["access-control-allow-credentials"], "true");
        let vary =
            response.headers().get_all("vary").iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
        assert!(vary.iter().any(|v| v.to_ascii_lowercase().contains("origin")), "caches must key on Origin: {vary:?}");
    }
    let stranger = client().get(server.url("/events/x")).header("origin", "http://c.test").send().await.unwrap();
    assert_eq!(allow_origin(&stranger), None);
    // A 429 is readable cross-origin, Retry-After included.
    let preflight = preflight(&server, "/events/x", "authorization").await;
    assert_eq!(allow_origin(&preflight), Some("http://a.test"));
    assert_eq!(preflight.headers()["access-control-allow-credentials"], "true");
    let exposed = client().get(server.url("/healthz")).header("origin", "http://a.test").send().await.unwrap();
    let exposed = exposed.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(exposed.contains("retry-after"), "{exposed}");
}

#[tokio::test]
async fn cors_is_off_without_allowed_origins() {
    let server = TestServer::start(&[]).await;
    for path in ["/healthz", "/e/temperatures"] {
        let response = client().get(server.url(path)).header("origin", "http://a.test").send().await.unwrap();
        assert_eq!(allow_origin(&response), None, "{path}");
    }
}

/// The body as JSON (reqwest's `json` feature is not enabled).
async fn json_body(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}
