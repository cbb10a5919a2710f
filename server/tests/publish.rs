//! `POST /events/{topic}` over real HTTP: each answer of the publish route, and the published event arriving.

mod common;

use common::{client, json_body, EventStream, TestServer, KEY, PATIENCE};
use sse_live_protocol::wire::Published;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn error_of(response: reqwest::Response) -> String {
    json_body(response).await["error"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn publishing_answers_201_with_the_id_and_subscribers_get_the_event() {
    let server = TestServer::start(&["--publish-key", KEY]).await;
    let mut stream = EventStream::open(&server.url("/events/news"), &[]).await;
    let response = server.post("news", r#"{ "title": "hello",  "n": [1, 2] }"#).await;
    assert_eq!(response.status(), 201);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let published: Published = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(published, Published { topic: "news".into(), id: 1 });
    let event = stream.next_event().await;
    assert_eq!((common::event_id(&event), event.data.as_str()), (1, r#"{ "title": "hello",  "n": [1, 2] }"#));
    // Published exactly as sent: a pretty-printed body and a number beyond f64's precision survive the trip.
    let exact = "{\n  \"n\": 12345678901234567890.000000000001\n}";
    server.post("news", exact).await;
    assert_eq!(stream.next_event().await.data, exact);
    assert_eq!(server.publish("news", "3").await, 3, "ids increase per topic");
    assert_eq!(server.publish("other", "1").await, 1, "each topic counts on its own");
}

#[tokio::test]
async fn without_a_publisher_key_or_token_secret_publishing_is_off() {
    let server = TestServer::start(&[]).await;
    let response = server.post("news", "{}").await;
    assert_eq!(response.status(), 404);
    assert_eq!(error_of(response).await, "publishing is off: the server has no --publish-key (nor --jwt-secret)");
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_401() {
    let server = TestServer::start(&["--publish-key", KEY]).await;
    let no_key = client().post(server.url("/events/news")).body("{}").send().await.unwrap();
    assert_eq!(no_key.status(), 401);
    assert_eq!(no_key.headers()["www-authenticate"], "Bearer");
    assert_eq!(error_of(no_key).await, "publishing needs the publisher key as Authorization: Bearer <key>");
    let wrong = client().post(server.url("/events/news")).bearer_auth("nope").body("{}").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(error_of(wrong).await, "wrong publisher key");
    let basic = client().post(server.url("/events/news")).basic_auth(KEY, Some("")).body("{}").send().await.unwrap();
    assert_eq!(basic.status(), 401, "only a bearer key counts");
    let unknown = client().get(server.url("/e/news")).send().await.unwrap();
    assert_eq!(unknown.status(), 404, "the topic was never made");
}

#[tokio::test]
async fn a_body_over_max_body_is_413() {
    let server = TestServer::start(&["--publish-key", KEY, "--max-body", "100"]).await;
    let big = format!("\"{}\"", "x".repeat(99));
    let response = server.post("news", &big).await;
    assert_eq!(response.status(), 413);
    assert_eq!(error_of(response).await, "the body is larger than 100 bytes (--max-body)");
    // Without a Content-Length (chunked), the limit holds as the body streams in.
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>(big.clone().into_bytes())]);
    let streamed = client()
        .post(server.url("/events/news"))
        .bearer_auth(KEY)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), 413);
    assert_eq!(server.publish("news", &format!("\"{}\"", "x".repeat(98))).await, 1, "100 bytes is fine");
}

#[tokio::test]
async fn invalid_json_is_400_with_the_parse_error() {
    let server = TestServer::start(&["--publish-key", KEY]).await;
    for (body, error) in [
        ("{\"a\": 1", "bad request: the body is not valid JSON: EOF while parsing an object at line 1 column 7"),
        ("", "bad request: the body is not valid JSON: EOF while parsing a value at line 1 column 0"),
        ("hello", "bad request: the body is not valid JSON: expected value at line 1 column 1"),
        ("{} {}", "bad request: the body is not valid JSON: trailing characters at line 1 column 4"),
    ] {
        let response = server.post("news", body).await;
        assert_eq!(response.status(), 400, "{body:?}");
        assert_eq!(error_of(response).await, error, "{body:?}");
    }
    let not_utf8 = client().post(server.url("/events/news")).bearer_auth(KEY).body(vec![0xff, 0xfe]).send().await;
    assert_eq!(not_utf8.unwrap().status(), 400);
}

#[tokio::test]
async fn a_wrong_key_is_401_whatever_the_body() {
    let server = TestServer::start(&["--publish-key", KEY, "--max-body", "10"]).await;
    let response = client().post(server.url("/events/news")).bearer_auth("nope").body("x".repeat(50)).send().await;
    assert_eq!(response.unwrap().status(), 401, "a stranger learns nothing about the body limit");
}

/// Sends the head of a publish to `news` declaring a 64 MiB body (with `authorization`, if any) and its first few
/// bytes, then nothing more, and returns the response: its status and JSON body. Fails when none comes within
/// [`PATIENCE`]: a server waiting for the rest of the body would never answer.
async fn answer_to_a_64_mib_head(server: &TestServer, authorization: Option<&str>) -> (u16, serde_json::Value) {
    let mut socket = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let authorization = authorization.map(|a| format!("Authorization: Bearer {a}\r\n")).unwrap_or_default();
    let head = format!(
        "POST /events/news HTTP/1.1\r\nHost: test\r\n{authorization}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{{\"a\": ",
        64 << 20
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    let complete = |response: &[u8]| {
        let end = response.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = std::str::from_utf8(&response[..end]).ok()?.to_ascii_lowercase();
        let length: usize = head.lines().find_map(|l| l.strip_prefix("content-length:"))?.trim().parse().ok()?;
        (response.len() >= end + length).then(|| (head, response[end..end + length].to_vec()))
    };
    let (head, body) = tokio::time::timeout(PATIENCE, async {
        loop {
            if let Some(done) = complete(&response) {
                return done;
            }
            let n = socket.read(&mut buffer).await.unwrap();
            assert!(n > 0, "the server closed without a full answer: {:?}", String::from_utf8_lossy(&response));
            response.extend_from_slice(&buffer[..n]);
        }
    })
    .await
    .expect("no answer while the body is still owed: the server waited for it");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn publishers_are_checked_before_the_body_is_read() {
    let server = TestServer::start(&["--publish-key", KEY]).await;
    let (status, body) = answer_to_a_64_mib_head(&server, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("publishing needs the publisher key as Authorization: Bearer <key>"))
    );
    let (status, body) = answer_to_a_64_mib_head(&server, Some("wrong")).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("wrong publisher key")));
    // The publisher gets 413 at once for a declared length over --max-body, before sending it.
    let (status, body) = answer_to_a_64_mib_head(&server, Some(KEY)).await;
    assert_eq!((status, body["error"].as_str()), (413, Some("the body is larger than 65536 bytes (--max-body)")));
    // And the server goes on publishing.
    assert_eq!(server.publish("news", "1").await, 1);
}
