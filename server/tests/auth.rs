//! Private topics over real HTTP: subscriber tokens (JWT, HS256) by header, cookie or query parameter; 401 and 403
//! with JSON bodies; the clock leeway; `event: expired` when a token runs out; `/demo-token` and its tokens, which
//! only a server with `--demo-auth` accepts.

mod common;

use std::time::Duration;

use common::{client, json_body, EventStream, TestServer, KEY};
use sse_live_demo_wire::DemoToken;
use sse_live_server::{unix_now, Claims, Secret, TokenKeys, DEMO_AUDIENCE, LEEWAY};

const SECRET: &str = "test-jwt-secret-32-bytes-or-more!";

async fn server(extra: &[&str]) -> TestServer {
    let mut args = vec!["--jwt-secret", SECRET, "--publish-key", KEY, "--keep-alive", "100ms"];
    args.extend_from_slice(extra);
    TestServer::start(&args).await
}

fn token(secret: &str, sub: &str, topics: &[&str], valid_for: i64) -> String {
    let exp = (unix_now().as_secs() as i64 + valid_for) as u64;
    let topics = topics.iter().map(|t| t.to_string()).collect();
    let claims = Claims { sub: sub.into(), exp, topics, publish: Vec::new(), aud: Vec::new() };
    TokenKeys::new(&Secret::new(secret)).mint(&claims).unwrap()
}

async fn status_and_error(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, json_body(response).await["error"].as_str().unwrap().to_owned())
}

/// [`status_and_error`] for a refusal; `(200, "")` for an accepted stream, whose body is left unread.
async fn refusal(response: reqwest::Response) -> (u16, String) {
    match response.status().as_u16() {
        200 => (200, String::new()),
        _ => status_and_error(response).await,
    }
}

#[tokio::test]
async fn a_valid_token_opens_a_private_topic_by_header_cookie_or_query() {
    let server = server(&[]).await;
    server.publish("users/ada/inbox", r#""hi ada""#).await;
    let t = token(SECRET, "ada", &["users/{sub}/*"], 60);
    let by_header = format!("Bearer {t}");
    let by_cookie = format!("other=1; sse_live_token={t}");
    type Headers<'a> = Vec<(&'a str, &'a [u8])>;
    let cases: [(String, Headers); 3] = [
        (server.url("/events/users/ada/inbox"), vec![("authorization", by_header.as_bytes())]),
        (server.url("/events/users/ada/inbox"), vec![("cookie", by_cookie.as_bytes())]),
        (server.url(&format!("/events/users/ada/inbox?token={t}")), vec![]),
    ];
    for (url, headers) in cases {
        let mut stream = EventStream::open(&url, &headers).await;
        assert_eq!(stream.status, 200, "{headers:?}");
        assert_eq!(stream.next_event().await.data, r#""hi ada""#);
    }
}

#[tokio::test]
async fn missing_or_unverifiable_tokens_are_401() {
    let server = server(&[]).await;
    let other_secret = token("another-secret", "ada", &["*"], 60);
    let cases = [
        ("/events/private/news".to_owned(), None, "\"private/news\" is private: send a token"),
        ("/events?topic=public&topic=users/ada/x".to_owned(), None, "\"users/ada/x\" is private"),
        ("/events/private/news".to_owned(), Some("not.a.jwt".to_owned()), "invalid token"),
        ("/events/private/news".to_owned(), Some(other_secret), "invalid token: InvalidSignature"),
    ];
    for (path, token, why) in cases {
        let mut request = client().get(server.url(&path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.headers().get("www-authenticate").map(|v| v.to_str().unwrap()), Some("Bearer"));
        let (status, error) = status_and_error(response).await;
        assert_eq!(status, 401, "{path}");
        assert!(error.contains(why), "{path}: {error}");
    }
    assert_eq!(server.metric(r#"sse_live_rejected_total{reason="unauthorized"}"#).await, 4.0);
}

#[tokio::test]
async fn a_token_for_other_topics_or_an_expired_one_is_403() {
    let server = server(&[]).await;
    let ada = token(SECRET, "ada", &["users/{sub}/*", "private/news"], 60);
    let expired = token(SECRET, "ada", &["*"], -(LEEWAY.as_secs() as i64) - 5);
    let cases = [
        ("/events/users/bob/inbox", &ada, "the token does not allow the topic \"users/bob/inbox\""),
        ("/events/private/other", &ada, "does not allow the topic \"private/other\""),
        ("/events?topic=private/news&topic=private/secret", &ada, "does not allow the topic \"private/secret\""),
        ("/events/private/news", &expired, "the token has expired"),
    ];
    for (path, token, why) in cases {
        let (status, error) =
            status_and_error(client().get(server.url(path)).bearer_auth(token).send().await.unwrap()).await;
        assert_eq!(status, 403, "{path}: {error}");
        assert!(error.contains(why), "{path}: {error}");
    }
    // Public topics need nothing, and a token does not hurt.
    assert_eq!(EventStream::open(&server.url("/events/news"), &[]).await.status, 200);
    let mixed = EventStream::open(
        &server.url("/events?topic=news&topic=private/news"),
        &[("authorization", format!("Bearer {ada}").as_bytes())],
    )
    .await;
    assert_eq!(mixed.status, 200);
}

#[tokio::test]
async fn without_a_jwt_secret_private_topics_are_403() {
    let server = TestServer::start(&[]).await;
    let (status, error) = status_and_error(client().get(server.url("/events/private/x")).send().await.unwrap()).await;
    assert_eq!(
        (status, error.as_str()),
        (403, "\"private/x\" is private and this server has no --jwt-secret to check tokens with")
    );
}

#[tokio::test]
async fn a_stream_whose_token_expires_gets_an_expired_event_and_ends() {
    let server = server(&[]).await;
    // JWT expiry has a resolution of one second: 2 s from now is between 1 and 2 s away (plus the leeway).
    let t = token(SECRET, "ada", &["private/*"], 2 - LEEWAY.as_secs() as i64);
    let mut stream = EventStream::open(&server.url(&format!("/events/private/news?token={t}")), &[]).await;
    assert_eq!(stream.status, 200);
    let expired = tokio::time::timeout(Duration::from_secs(5), stream.next_event()).await.expect("no expired event");
    assert_eq!((expired.event_type.as_str(), expired.data.as_str()), ("expired", r#"{"reason":"token expired"}"#));
    assert_eq!(stream.next().await, None, "the stream ends");
    assert_eq!(server.metric("sse_live_tokens_expired_total").await, 1.0);
}

#[tokio::test]
async fn demo_tokens_only_with_demo_auth() {
    let off = server(&[]).await;
    assert_eq!(client().get(off.url("/demo-token?sub=ada")).send().await.unwrap().status(), 404);

    let server = server(&["--demo-auth", "--demo-token-ttl", "5m"]).await;
    let response = client().get(server.url("/demo-token?sub=ada")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("sse_live_token=") && cookie.contains("HttpOnly") && cookie.contains("Max-Age=300"),
        "{cookie}"
    );
    let demo: DemoToken = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(
        (demo.sub.as_str(), demo.topics.as_slice()),
        ("ada", &["users/{sub}/*".to_owned(), "private/demo/*".to_owned()][..])
    );
    let left = demo.expires_at as i64 - unix_now().as_secs() as i64;
    assert!((295..=300).contains(&left), "{left}");
    let auth = format!("Bearer {}", demo.token);
    let stream = EventStream::open(&server.url("/events/users/ada/inbox"), &[("authorization", auth.as_bytes())]).await;
    assert_eq!(stream.status, 200);
    let other = client().get(server.url("/events/users/bob/inbox")).bearer_auth(&demo.token).send().await.unwrap();
    assert_eq!(other.status(), 403);

    for bad in ["", "a/b", "..", "a%20b", &"x".repeat(65)] {
        let (status, error) =
            status_and_error(client().get(server.url(&format!("/demo-token?sub={bad}"))).send().await.unwrap()).await;
        assert_eq!(status, 400, "{bad:?}");
        assert!(error.contains("sub must be 1 to 64 characters"), "{error}");
    }
}

#[tokio::test]
async fn a_demo_token_publishes_to_its_own_channels_only() {
    // No publisher key at all: tokens alone turn publishing on.
    let server = TestServer::start(&["--jwt-secret", SECRET, "--demo-auth", "--keep-alive", "100ms"]).await;
    let demo: DemoToken = serde_json::from_slice(
        &client().get(server.url("/demo-token?sub=ada")).send().await.unwrap().bytes().await.unwrap(),
    )
    .unwrap();
    assert_eq!(demo.publish, ["users/{sub}/*"]);
    let auth = format!("Bearer {}", demo.token);
    let mut inbox =
        EventStream::open(&server.url("/events/users/ada/inbox"), &[("authorization", auth.as_bytes())]).await;
    assert_eq!(inbox.status, 200);

    let post = |topic: &str, token: &str| {
        client().post(server.url(&format!("/events/{topic}"))).bearer_auth(token).body(r#"{"text":"hello"}"#).send()
    };
    let published = post("users/ada/inbox", &demo.token).await.unwrap();
    assert_eq!(published.status(), 201);
    let event = inbox.next_event().await;
    assert_eq!((event.data.as_str(), common::event_id(&event)), (r#"{"text":"hello"}"#, 1));

    let (status, error) = status_and_error(post("users/bob/inbox", &demo.token).await.unwrap()).await;
    assert_eq!((status, error.as_str()), (403, "the token may not publish to the topic \"users/bob/inbox\""));
    // A read-only token cannot publish, even to a topic it may read.
    let reader = token(SECRET, "ada", &["users/{sub}/*"], 60);
    assert_eq!(post("users/ada/inbox", &reader).await.unwrap().status(), 403);
    let (status, _) = status_and_error(post("users/ada/inbox", "not.a.token").await.unwrap()).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn exp_and_nbf_have_a_clock_leeway_and_no_more() {
    let server = server(&[]).await;
    let leeway = LEEWAY.as_secs() as i64;
    assert!((5..=30).contains(&leeway), "a small leeway: {leeway} s");
    let open = |token: String| {
        let request = client().get(server.url("/events/private/news")).bearer_auth(token).send();
        async move { refusal(request.await.unwrap()).await }
    };
    // Expired by less than the leeway: still valid; by more: expired.
    let (status, _) = open(token(SECRET, "ada", &["private/*"], 5 - leeway)).await;
    assert_eq!(status, 200, "expired by {} s", leeway - 5);
    let (status, error) = open(token(SECRET, "ada", &["private/*"], -leeway - 5)).await;
    assert_eq!((status, error.as_str()), (403, "the token has expired"), "expired by {} s", leeway + 5);
    // Not valid yet, by less than the leeway: valid; by more: refused.
    let not_before = |by: i64| {
        let now = unix_now().as_secs() as i64;
        let claims = serde_json::json!({ "sub": "ada", "exp": now + 60, "nbf": now + by, "topics": ["private/*"] });
        let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes());
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
    };
    assert_eq!(open(not_before(leeway - 5)).await.0, 200, "valid in {} s", leeway - 5);
    let (status, error) = open(not_before(leeway + 5)).await;
    assert_eq!((status, error.as_str()), (401, "invalid token: ImmatureSignature"), "valid in {} s", leeway + 5);
}

#[tokio::test]
async fn demo_tokens_carry_their_audience_and_only_demo_servers_accept_them() {
    let demo_server = server(&["--demo-auth"]).await;
    let demo: DemoToken = serde_json::from_slice(
        &client().get(demo_server.url("/demo-token?sub=ada")).send().await.unwrap().bytes().await.unwrap(),
    )
    .unwrap();
    let mut validation = jsonwebtoken::Validation::default();
    validation.validate_aud = false;
    let key = jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes());
    let payload = jsonwebtoken::decode::<serde_json::Value>(&demo.token, &key, &validation).unwrap().claims;
    assert_eq!(payload["aud"], DEMO_AUDIENCE);
    assert_eq!(DEMO_AUDIENCE, "sse-live-demo");

    // The same secret on a server without --demo-auth: the demo token is refused for reading and publishing, a
    // real token (no aud) still works.
    let real_server = server(&[]).await;
    let refused = "a demo token (aud \"sse-live-demo\") is accepted only by a server with --demo-auth";
    let read = client().get(real_server.url("/events/users/ada/inbox")).bearer_auth(&demo.token).send().await;
    assert_eq!(refusal(read.unwrap()).await, (401, refused.to_owned()));
    let by_query = client().get(real_server.url(&format!("/events/users/ada/inbox?token={}", demo.token))).send();
    assert_eq!(refusal(by_query.await.unwrap()).await, (401, refused.to_owned()));
    let publish =
        client().post(real_server.url("/events/users/ada/inbox")).bearer_auth(&demo.token).body("1").send().await;
    assert_eq!(status_and_error(publish.unwrap()).await, (401, refused.to_owned()));
    let real = token(SECRET, "ada", &["users/{sub}/*"], 60);
    let stream = EventStream::open(
        &real_server.url("/events/users/ada/inbox"),
        &[("authorization", format!("Bearer {real}").as_bytes())],
    )
    .await;
    assert_eq!(stream.status, 200);
    // And the demo server takes both.
    let demo_stream = EventStream::open(
        &demo_server.url("/events/users/ada/inbox"),
        &[("authorization", format!("Bearer {}", demo.token).as_bytes())],
    )
    .await;
    assert_eq!(demo_stream.status, 200);
}
