//! The `/test/*` routes the fetch transport's browser tests rely on: echo, status, close-after, vectors, request
//! counts, and the CORS they need, over real HTTP; their streams count against the connection limits. Only in a
//! build with the feature `test-routes` (`required-features` in Cargo.toml).

mod common;

use common::{client, EventStream, TestServer};
use sse_live_demo_wire::TemperatureReading;
use sse_live_protocol::{parse_events, Event, Parsed};
use sse_live_server::VECTORS;
use time::OffsetDateTime;

/// The ids of `events`: the test routes number their events plainly (`1`, `2`, ...), unlike the hub's
/// `<sequence>@<epoch>`.
fn ids(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.last_event_id.parse().unwrap_or_else(|_| panic!("not a plain number: {e:?}"))).collect()
}

async fn test_server() -> TestServer {
    TestServer::start(&["--test-routes", "--keep-alive", "100ms", "--allow-origin", "http://a.test"]).await
}

async fn json_body(response: reqwest::Response) -> serde_json::Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

async fn requests(server: &TestServer, key: &str) -> u64 {
    let body = json_body(client().get(server.url(&format!("/test/requests/{key}"))).send().await.unwrap()).await;
    assert_eq!(body["key"], key);
    body["requests"].as_u64().unwrap()
}

fn data(event: &Event) -> serde_json::Value {
    serde_json::from_str(&event.data).unwrap()
}

#[tokio::test]
async fn the_fetch_test_routes_are_off_by_default() {
    let server = TestServer::start(&[]).await;
    for path in
        ["/test/echo", "/test/status/500", "/test/close-after/3", "/test/vectors", "/test/requests/echo", "/test/stall"]
    {
        assert_eq!(client().get(server.url(path)).send().await.unwrap().status(), 404, "{path}");
    }
}

#[tokio::test]
async fn echo_describes_a_get_request_then_keeps_the_stream_open() {
    let server = test_server().await;
    let headers: &[(&str, &[u8])] = &[
        ("authorization", b"Bearer abc"),
        ("x-test-token", b"t1"),
        ("x-other", b"o"),
        ("last-event-id", b"42"),
        ("user-agent", b"not echoed"),
    ];
    let mut stream = EventStream::open(&server.url("/test/echo"), headers).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    let event = stream.next_event().await;
    assert_eq!(
        data(&event),
        serde_json::json!({
            "method": "GET",
            "headers": {
                "authorization": "Bearer abc",
                "x-test-token": "t1",
                "x-other": "o",
                "last-event-id": "42",
                "accept": "text/event-stream",
            },
            "body": "",
        })
    );
    assert_eq!(server.open_streams().await, 1);
    assert_eq!(stream.next().await, Some(Parsed::Comment("keep-alive".into())));
    assert_eq!(requests(&server, "echo").await, 1);
}

#[tokio::test]
async fn echo_reports_a_post_body_capped_and_counts_under_the_given_key() {
    let server = test_server().await;
    let response = client()
        .post(server.url("/test/echo?key=post-1"))
        .header("content-type", "application/json")
        .body(r#"{"topics":["a"]}"#)
        .send()
        .await
        .unwrap();
    let mut stream = EventStream::from_response(response);
    let echoed = data(&stream.next_event().await);
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["body"], r#"{"topics":["a"]}"#);
    assert_eq!(echoed["headers"]["content-type"], "application/json");

    let big = "é".repeat(5000);
    let response = client().post(server.url("/test/echo?key=post-1")).body(big).send().await.unwrap();
    let mut stream = EventStream::from_response(response);
    let body = data(&stream.next_event().await)["body"].as_str().unwrap().to_owned();
    // 4096 bytes of two-byte characters: 2048 whole ones, no split character.
    assert_eq!(body, "é".repeat(2048));
    assert_eq!(requests(&server, "post-1").await, 2);
    assert_eq!(requests(&server, "echo").await, 0);
}

#[tokio::test]
async fn status_answers_the_asked_status_with_a_plain_text_message() {
    let server = test_server().await;
    for code in [201u16, 401, 404, 408, 429, 500, 503, 599] {
        let response = client().get(server.url(&format!("/test/status/{code}"))).send().await.unwrap();
        assert_eq!(response.status().as_u16(), code);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        assert_eq!(response.text().await.unwrap(), format!("test status {code}"));
    }
    // 200 is the wrong-content-type case.
    let response = client().get(server.url("/test/status/200")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(response.text().await.unwrap(), "test status 200");
    let response = client().get(server.url("/test/status/204?key=s204")).send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.text().await.unwrap(), "");

    for bad in ["199", "600", "abc", "-1", "65536"] {
        let response = client().get(server.url(&format!("/test/status/{bad}"))).send().await.unwrap();
        assert_eq!(response.status(), 400, "{bad}");
    }
    assert_eq!(requests(&server, "status-404").await, 1);
    assert_eq!(requests(&server, "s204").await, 1);
    assert_eq!(requests(&server, "status-204").await, 0);
    assert_eq!(requests(&server, "never-used").await, 0);
}

#[tokio::test]
async fn close_after_continues_after_the_last_event_id_and_ends_the_body() {
    let server = test_server().await;
    let url = server.url("/test/close-after/3?key=ca");
    let mut first = EventStream::open(&url, &[("x-test-token", b"one")]).await;
    assert_eq!(first.headers["content-type"], "text/event-stream");
    // The server's own retry, then the route's short one.
    assert!(matches!(first.next().await, Some(Parsed::Retry(_))));
    assert_eq!(first.next().await, Some(Parsed::Retry(std::time::Duration::from_millis(200))));
    let events = first.events(3).await;
    assert_eq!(ids(&events), [1, 2, 3]);
    assert_eq!(data(&events[0]), serde_json::json!({"n": 1, "token": "one", "lastEventId": null}));
    assert_eq!(first.next().await, None, "the body ends after n events");

    let mut second = EventStream::open(&url, &[("last-event-id", b"3"), ("x-test-token", b"two")]).await;
    let events = second.events(3).await;
    assert_eq!(ids(&events), [4, 5, 6]);
    assert_eq!(data(&events[2]), serde_json::json!({"n": 6, "token": "two", "lastEventId": "3"}));
    assert!(second.next().await.is_none());

    // The query parameter works too; a bad id starts over.
    let mut third = EventStream::open(&server.url("/test/close-after/2?key=ca&lastEventId=6"), &[]).await;
    assert_eq!(ids(&third.events(2).await), [7, 8]);
    let mut fourth = EventStream::open(&url, &[("last-event-id", b"nope")]).await;
    assert_eq!(ids(&fourth.events(3).await), [1, 2, 3]);
    assert_eq!(requests(&server, "ca").await, 4);

    let response = client().get(server.url("/test/close-after/1001")).send().await.unwrap();
    assert_eq!(response.status(), 400);
    server.wait_for_open_streams(0).await;
}

#[tokio::test]
async fn flaky_fails_k_times_then_streams_one_event_over_and_over() {
    let server = test_server().await;
    let url = server.url("/test/flaky/2?key=fl");
    let status = |path: String| async move { client().get(path).send().await.unwrap() };
    for request in [1, 2] {
        let response = status(url.clone()).await;
        assert_eq!(response.status(), 503, "request {request}");
        assert_eq!(response.text().await.unwrap(), format!("flaky {request}"));
    }
    let mut up = EventStream::open(&url, &[]).await;
    assert_eq!(up.status, 200);
    assert_eq!(up.headers["content-type"], "text/event-stream");
    let event = up.next_event().await;
    assert_eq!(event.last_event_id, "1");
    assert_eq!(
        data(&event),
        serde_json::json!({"n": 1, "request": 3, "lastEventId": null, "lastEventIdQuery": null, "query": "key=fl"})
    );
    assert_eq!(up.next().await, None, "the body ends after one event");

    // Down again for two requests, then up, continuing after the client's last event id.
    assert_eq!(status(url.clone()).await.status(), 503);
    assert_eq!(status(server.url("/test/flaky/2?key=fl&lastEventId=1")).await.status(), 503);
    let mut up = EventStream::open(&server.url("/test/flaky/2?key=fl&lastEventId=1"), &[]).await;
    let event = up.next_event().await;
    let want = serde_json::json!({
        "n": 2, "request": 6, "lastEventId": null, "lastEventIdQuery": "1", "query": "key=fl&lastEventId=1",
    });
    assert_eq!(data(&event), want);
    assert_eq!(requests(&server, "fl").await, 6);

    // k = 0 never fails; the header wins over the query parameter; the default key is the route's name.
    let mut up = EventStream::open(&server.url("/test/flaky/0?lastEventId=1"), &[("last-event-id", b"7")]).await;
    let event = up.next_event().await;
    let want = serde_json::json!({
        "n": 8, "request": 1, "lastEventId": "7", "lastEventIdQuery": "1", "query": "lastEventId=1",
    });
    assert_eq!(data(&event), want);
    assert_eq!(requests(&server, "flaky-0").await, 1);
    assert_eq!(status(server.url("/test/flaky/101")).await.status(), 400);
    server.wait_for_open_streams(0).await;
}

#[tokio::test]
async fn notice_fails_then_streams_the_notice_then_fails_then_stays_open() {
    let server = test_server().await;
    let url = server.url("/test/notice?key=nt&kind=shutdown&fail_first=1&down=1");
    let response = client().get(&url).send().await.unwrap();
    assert_eq!((response.status().as_u16(), response.text().await.unwrap()), (503, "notice 1".to_owned()));
    let mut first = EventStream::open(&url, &[("x-test-token", b"t")]).await;
    let events = first.events(3).await;
    let got: Vec<(&str, &str)> = events.iter().map(|e| (e.event_type.as_str(), e.last_event_id.as_str())).collect();
    assert_eq!(got, [("message", "1"), ("message", "2"), ("shutdown", "2")]);
    assert_eq!(data(&events[0])["token"], "t");
    assert_eq!(events[2].data, r#"{"reason":"shutdown"}"#);
    assert_eq!(first.next().await, None, "the body ends after the shutdown notice");
    assert_eq!(client().get(&url).send().await.unwrap().status(), 503, "down after the notice");
    let mut back = EventStream::open(&format!("{url}&token=q"), &[("last-event-id", b"2")]).await;
    let event = back.next_event().await;
    let want = serde_json::json!({"n": 10, "request": 4, "lastEventId": "2", "lastEventIdQuery": null, "token": "q"});
    assert_eq!((event.last_event_id.as_str(), data(&event)), ("10", want));
    drop(back);

    let mut reset = EventStream::open(&server.url("/test/notice?key=nt-reset&kind=reset"), &[]).await;
    let events = reset.events(4).await;
    let got: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(got, ["message", "message", "reset", "message"]);
    assert_eq!(events[2].data, r#"{"reason":"restarted"}"#);
    assert_eq!(data(&events[3])["n"], 3);
    drop(reset);
    let mut expired = EventStream::open(&server.url("/test/notice?key=nt-expired&kind=expired"), &[]).await;
    let events = expired.events(3).await;
    assert_eq!((events[2].event_type.as_str(), events[2].data.as_str()), ("expired", r#"{"reason":"token expired"}"#));
    assert_eq!(expired.next().await, None, "the body ends after the expired notice");
    server.wait_for_open_streams(0).await;
}

#[tokio::test]
async fn finite_sends_n_progress_events_then_end_then_ends_the_body() {
    let server = test_server().await;
    let mut stream = EventStream::open(&server.url("/test/finite/3?key=fin"), &[]).await;
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    let events = stream.events(4).await;
    let got: Vec<(&str, &str, &str)> =
        events.iter().map(|e| (e.event_type.as_str(), e.data.as_str(), e.last_event_id.as_str())).collect();
    assert_eq!(
        got,
        [
            ("progress", r#"{"n":1}"#, "1"),
            ("progress", r#"{"n":2}"#, "2"),
            ("progress", r#"{"n":3}"#, "3"),
            ("end", "done", "3"),
        ]
    );
    assert_eq!(stream.next().await, None, "the body ends after `end`");
    assert_eq!(requests(&server, "fin").await, 1);
    let mut empty = EventStream::open(&server.url("/test/finite/0"), &[]).await;
    assert_eq!(empty.next_event().await.event_type, "end");
    assert_eq!(requests(&server, "finite-0").await, 1);
    assert_eq!(client().get(server.url("/test/finite/1001")).send().await.unwrap().status(), 400);
    server.wait_for_open_streams(0).await;
}

#[tokio::test]
async fn rate_sends_count_readings_at_the_pace_asked_then_end() {
    let server = test_server().await;
    // Unpaced: all of them, in order, then `end`, then the body ends.
    let mut stream = EventStream::open(&server.url("/test/rate?count=200"), &[]).await;
    let events = stream.events(201).await;
    for (i, event) in events[..200].iter().enumerate() {
        let n = i as u64 + 1;
        assert_eq!(event.last_event_id, n.to_string());
        let reading = data(event);
        assert_eq!(reading["n"], n);
        assert!(reading["t"].as_f64().unwrap() > 1.7e12, "t is milliseconds since the epoch: {reading}");
        assert!(reading["value"].is_f64(), "{reading}");
    }
    assert_eq!((events[200].event_type.as_str(), events[200].data.as_str()), ("end", "done"));
    assert_eq!(stream.next().await, None, "the body ends after `end`");

    // Paced: 100 events at 200/s take about half a second, and the timestamps say so.
    let started = std::time::Instant::now();
    let mut paced = EventStream::open(&server.url("/test/rate?count=100&per_sec=200"), &[]).await;
    let events = paced.events(101).await;
    let took = started.elapsed();
    assert!(took >= std::time::Duration::from_millis(450), "100 events at 200/s came in {took:?}");
    let spread = data(&events[99])["t"].as_f64().unwrap() - data(&events[0])["t"].as_f64().unwrap();
    assert!((400.0..2000.0).contains(&spread), "first to last event written {spread} ms apart");
    assert_eq!(events[100].event_type, "end");

    for bad in ["/test/rate", "/test/rate?count=x", "/test/rate?count=1000001", "/test/rate?count=1&per_sec=-1"] {
        assert_eq!(client().get(server.url(bad)).send().await.unwrap().status(), 400, "{bad}");
    }
    server.wait_for_open_streams(0).await;
}

#[tokio::test]
async fn vectors_are_listed_and_served_verbatim_then_done() {
    let server = test_server().await;
    let names = json_body(client().get(server.url("/test/vectors")).send().await.unwrap()).await;
    let expected: Vec<&str> = VECTORS.iter().map(|v| v.name).collect();
    assert_eq!(names, serde_json::json!(expected));
    assert!(expected.len() >= 15);
    let done = "event: done\ndata: end\n\n";

    for vector in VECTORS {
        let response = client().get(server.url(&format!("/test/vectors/{}", vector.name))).send().await.unwrap();
        assert_eq!(response.status(), 200, "{}", vector.name);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let body = response.bytes().await.unwrap();
        let mut expected = vector.bytes();
        if !vector.unfinished {
            expected.extend_from_slice(done.as_bytes());
        }
        assert_eq!(body.as_ref(), expected, "{}", vector.name);
        let events = parse_events(&body);
        assert_eq!(events.last().is_some_and(|e| e.event_type == "done"), !vector.unfinished, "{}", vector.name);

        // A reconnecting client gets only `done`.
        let response = client()
            .get(server.url(&format!("/test/vectors/{}", vector.name)))
            .header("last-event-id", "x")
            .send()
            .await
            .unwrap();
        assert_eq!(response.bytes().await.unwrap(), done);
    }
    assert_eq!(requests(&server, "vectors-bom").await, 2);
    let response = client().get(server.url("/test/vectors/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_vectors_say_what_a_conforming_parser_dispatches() {
    // The expectations written next to each vector, checked with the protocol crate's parser (the browser tests
    // compare the browser's own EventSource with the fetch transport on the same bytes).
    let expect = |name: &str, events: &[(&str, &str, &str)]| {
        let vector = VECTORS.iter().find(|v| v.name == name).unwrap();
        let got: Vec<(String, String, String)> = parse_events(&vector.bytes())
            .into_iter()
            .map(|e| (e.event_type, e.data, e.last_event_id))
            .filter(|(t, _, _)| t != "other")
            .collect();
        let want: Vec<(String, String, String)> =
            events.iter().map(|(t, d, i)| (t.to_string(), d.to_string(), i.to_string())).collect();
        assert_eq!(got, want, "{name}");
    };
    let m = "message";
    expect("bom", &[(m, "1", "")]);
    expect("double-bom", &[(m, "2", "")]);
    expect("line-endings", &[(m, "test\n\ntest", ""), (m, "cr", "1"), (m, "lf", "1"), (m, "crlf", "1")]);
    expect("comments", &[(m, "1", ""), (m, "2", "")]);
    expect("no-colon", &[(m, "\nx", "5"), (m, "y", ""), (m, "z", "")]);
    expect("leading-space", &[(m, "test", ""), (m, "test", ""), (m, " test", ""), (m, "\ttest", "")]);
    expect("id-nul", &[(m, "a", "1"), (m, "b", "1"), (m, "c", "3")]);
    expect("empty-id", &[(m, "a", "7"), (m, "b", ""), (m, "c", ""), (m, "d", "9")]);
    expect("retry", &[(m, "a", ""), (m, "b", ""), (m, "c", ""), (m, "d", "")]);
    expect("field-case", &[(m, "yes", ""), (m, "plain", ""), (m, "no-id", "")]);
    expect("event-type", &[("tick", "a", ""), (m, "b", ""), (m, "c", "")]);
    expect("multi-line", &[(m, "a\nb\n", ""), (m, "c\n", "")]);
    expect("unknown-fields", &[(m, "a", "")]);
    expect("rule-32", &[(m, "", "r32"), (m, "\n", "r32")]);
    expect("unfinished", &[(m, "complete", "u1")]);
    expect("utf8", &[(m, "café € 😀", ""), ("tick", "✓", "")]);
    expect("invalid-utf8", &[(m, "bad \u{FFFD} byte", ""), (m, "cut \u{FFFD}", "")]);
}

#[tokio::test]
async fn cors_lets_the_test_page_post_with_custom_headers() {
    let server = test_server().await;
    let preflight = client()
        .request(reqwest::Method::OPTIONS, server.url("/test/echo"))
        .header("origin", "http://a.test")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization,content-type,last-event-id,x-test-token")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "http://a.test");
    let methods = preflight.headers()["access-control-allow-methods"].to_str().unwrap().to_owned();
    assert!(methods.contains("GET") && methods.contains("POST"), "{methods}");
    let headers = preflight.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    for name in ["authorization", "content-type", "last-event-id", "x-test-token"] {
        assert!(headers.contains(name), "{name} in {headers}");
    }
    // Error answers carry the CORS header too, so that a page can read their status and message.
    let response = client().get(server.url("/test/status/404")).header("origin", "http://a.test").send().await.unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "http://a.test");
}

#[tokio::test]
async fn stall_sends_one_event_then_nothing_not_even_keep_alives() {
    let server = test_server().await;
    let mut stream = EventStream::open(&server.url("/test/stall?key=st"), &[]).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    let event = stream.next_event().await;
    assert_eq!(event.last_event_id, "1");
    assert_eq!(data(&event), serde_json::json!({"n": 1, "request": 1, "lastEventId": null, "lastEventIdQuery": null}));
    // The server's keep-alive is 100 ms: ten times that without a single byte.
    let silence = tokio::time::timeout(std::time::Duration::from_secs(1), stream.next()).await;
    assert!(silence.is_err(), "the stalled stream sent {silence:?}");
    assert_eq!(server.open_streams().await, 1, "the stalled stream is still open");

    // A reconnect's last event id is echoed, from the header and the query parameter; the default key is `stall`.
    let mut again =
        EventStream::open(&server.url("/test/stall?key=st&lastEventId=1"), &[("last-event-id", b"1")]).await;
    assert_eq!(
        data(&again.next_event().await),
        serde_json::json!({"n": 1, "request": 2, "lastEventId": "1", "lastEventIdQuery": "1"})
    );
    assert_eq!(requests(&server, "st").await, 2);
    let mut unkeyed = EventStream::open(&server.url("/test/stall"), &[]).await;
    assert_eq!(data(&unkeyed.next_event().await)["request"], 1);
    assert_eq!(requests(&server, "stall").await, 1);
    drop((stream, again, unkeyed));
    server.wait_for_open_streams(0).await;
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

#[tokio::test]
async fn test_streams_take_a_stream_permit_like_any_stream() {
    let server = TestServer::start(&["--test-routes", "--max-streams", "1", "--keep-alive", "100ms"]).await;
    let status = |path: &'static str| {
        let request = client().get(server.url(path)).send();
        async move { request.await.unwrap().status().as_u16() }
    };
    let stall = EventStream::open(&server.url("/test/stall"), &[]).await;
    assert_eq!(stall.status, 200);
    // The one permit is taken: every other stream, test route or not, is refused.
    for path in [
        "/test/echo",
        "/test/invalid-json",
        "/test/close-after/3",
        "/test/finite/3",
        "/test/flaky/0",
        "/test/rate?count=3",
        "/test/vectors/bom",
        "/test/stall",
        "/events/news",
    ] {
        assert_eq!(status(path).await, 429, "{path}");
    }
    drop(stall);
    server.wait_for_open_streams(0).await;
    let echo = EventStream::open(&server.url("/test/echo"), &[]).await;
    assert_eq!(echo.status, 200, "the permit came back");
    assert_eq!(status("/events/news").await, 429, "and the test stream holds it");
    drop(echo);
    server.wait_for_open_streams(0).await;
    assert_eq!(status("/test/vectors/bom").await, 200);
}
