//! The `sse-live-server` binary itself: the listening line, bind errors, flag errors, env twins, SIGTERM, the
//! `--jwt-secret` length, and `--test-routes` in builds with and without the feature (`cargo test -p sse-live-server`
//! tests the binary built without it, `--features test-routes` with it).

mod common;

use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use common::{client, event_id, EventStream, PATIENCE};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// How long the binary may take to start or stop (it may be competing with a build).
const STARTUP: Duration = Duration::from_secs(30);

/// The binary with a clean environment for its settings, its output captured, killed if the test fails.
fn server(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sse-live-server"));
    command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    command.env_remove("RUST_LOG");
    for (key, _) in std::env::vars() {
        if key.starts_with("SSE_LIVE_") {
            command.env_remove(key);
        }
    }
    command
}

/// Reads the one stdout line and returns the address in it.
async fn listening_address(stdout: &mut BufReader<ChildStdout>) -> SocketAddr {
    let mut line = String::new();
    tokio::time::timeout(STARTUP, stdout.read_line(&mut line)).await.expect("no listening line").unwrap();
    let address = line
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("sse-live-server listening on http://"))
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    address.parse().unwrap()
}

/// Sends SIGTERM to the child (by its pid) and waits for it to exit.
async fn terminate(child: &mut Child) -> ExitStatus {
    let pid = child.id().expect("still running").to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
    assert!(status.success(), "kill -TERM {pid} failed");
    tokio::time::timeout(STARTUP, child.wait()).await.expect("no exit after SIGTERM").unwrap()
}

/// A flag or an environment variable of the binary.
type Setting<'a> = (&'a [&'a str], Option<(&'a str, &'a str)>);

/// Starts the binary with `args` and `env` on a free port, expects it to exit with code 1 before listening, and
/// returns its stderr.
async fn startup_error((args, env): Setting<'_>) -> String {
    let mut command = server(args);
    command.args(["--listen", "127.0.0.1:0", "--dist", "/nonexistent"]);
    if let Some((key, value)) = env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(STARTUP, command.output()).await.expect("no exit").unwrap();
    assert_eq!(output.status.code(), Some(1), "{args:?} {env:?}");
    assert!(output.stdout.is_empty(), "{args:?} {env:?}: it must not start listening");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_port_in_use_is_a_one_line_error_and_exit_code_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let child = server(&["--listen", &address, "--dist", "/nonexistent"]).spawn().unwrap();
    let output = tokio::time::timeout(STARTUP, child.wait_with_output()).await.expect("no exit").unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("error: cannot listen on {address}: address already in use\n")
    );
    assert!(output.stdout.is_empty(), "{:?}", String::from_utf8_lossy(&output.stdout));
}

#[tokio::test]
async fn it_prints_the_bound_address_serves_and_stops_on_sigterm() {
    let mut child = server(&["--listen", "127.0.0.1:0", "--dist", "/nonexistent"]).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let address = listening_address(&mut stdout).await;
    assert_eq!(address.ip().to_string(), "127.0.0.1");
    assert_ne!(address.port(), 0, "the real port, not 0");

    let health = client().get(format!("http://{address}/healthz")).timeout(PATIENCE).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // A stream stays open across the signal: it must not hold the shutdown up.
    let mut stream = EventStream::open(&format!("http://{address}/e/temperatures"), &[]).await;
    assert_eq!(event_id(&stream.next_event().await), 1);

    let status = terminate(&mut child).await;
    assert!(status.success(), "{status}");
    assert_eq!(stream.next_event().await.event_type, "shutdown", "told why");
    assert_eq!(stream.next().await, None, "the stream ended");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.unwrap();
    assert_eq!(rest, "", "stdout carries only the listening line");
}

#[tokio::test]
async fn settings_come_from_env_twins() {
    let mut command = server(&[]);
    command
        .env("SSE_LIVE_LISTEN", "127.0.0.1:0")
        .env("SSE_LIVE_DIST", "/nonexistent")
        .env("SSE_LIVE_RETRY", "1500ms")
        .env("SSE_LIVE_RETRY_JITTER", "0s")
        .env("SSE_LIVE_ALLOW_ORIGIN", "http://a.test, http://b.test");
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let address = listening_address(&mut stdout).await;

    let response = client()
        .get(format!("http://{address}/e/temperatures"))
        .header("origin", "http://b.test")
        .timeout(PATIENCE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "http://b.test");
    let mut stream = EventStream::from_response(response);
    assert_eq!(stream.next().await, Some(sse_live_protocol::Parsed::Retry(Duration::from_millis(1500))));
    drop(stream);
    assert!(terminate(&mut child).await.success());
}

/// Starts the binary with `SSE_LIVE_TEST_ROUTES=value` and returns the status of `GET /test/invalid-json`.
#[cfg(feature = "test-routes")]
async fn test_route_status_with_env(value: &str) -> u16 {
    let mut command = server(&["--listen", "127.0.0.1:0", "--dist", "/nonexistent"]);
    let mut child = command.env("SSE_LIVE_TEST_ROUTES", value).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let address = listening_address(&mut stdout).await;
    let url = format!("http://{address}/test/invalid-json");
    let status = client().get(url).timeout(PATIENCE).send().await.unwrap().status().as_u16();
    assert!(terminate(&mut child).await.success());
    status
}

#[cfg(feature = "test-routes")]
#[tokio::test]
async fn the_test_routes_env_twin_takes_exactly_true_or_1() {
    for (value, status) in [("1", 200), ("true", 200), ("0", 404), ("false", 404)] {
        assert_eq!(test_route_status_with_env(value).await, status, "SSE_LIVE_TEST_ROUTES={value}");
    }
}

#[cfg(not(feature = "test-routes"))]
#[tokio::test]
async fn a_build_without_the_test_routes_feature_refuses_test_routes() {
    let cases: [Setting; 3] = [
        (&["--test-routes"], None),
        (&[], Some(("SSE_LIVE_TEST_ROUTES", "1"))),
        (&[], Some(("SSE_LIVE_TEST_ROUTES", "true"))),
    ];
    for case in cases {
        assert_eq!(
            startup_error(case).await,
            "error: --test-routes (SSE_LIVE_TEST_ROUTES): this build has no test routes; they exist only in a server \
             built with the cargo feature `test-routes`, for the browser tests\n",
            "{case:?}"
        );
    }
}

#[tokio::test]
async fn invalid_flags_are_startup_errors() {
    let cases: [Setting; 5] = [
        (&["--allow-origin", "*"], None),
        (&[], Some(("SSE_LIVE_ALLOW_ORIGIN", "not an origin"))),
        (&["--keep-alive", "soon"], None),
        // Only an explicit true/1 turns the test routes on; anything else is a mistake, in any build.
        (&[], Some(("SSE_LIVE_TEST_ROUTES", "yes"))),
        (&[], Some(("SSE_LIVE_TEST_ROUTES", "on"))),
    ];
    for case in cases {
        let stderr = startup_error(case).await;
        assert!(stderr.starts_with("error: invalid value"), "{case:?}: {stderr}");
    }
}

#[tokio::test]
async fn an_unreachable_redis_at_start_is_a_clear_error_and_exit_code_1() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("redis://{closed}");
    let child = server(&["--listen", "127.0.0.1:0", "--dist", "/nonexistent", "--redis-url", &url]).spawn().unwrap();
    let output = tokio::time::timeout(STARTUP, child.wait_with_output()).await.expect("no exit").unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: cannot connect to Redis (--redis-url)"), "{stderr}");
    assert!(stderr.contains("--redis-optional"), "the error says how to go on without Redis: {stderr}");
}

#[tokio::test]
async fn a_jwt_secret_under_32_bytes_is_a_one_line_error_and_exit_code_1() {
    let short = "a-31-byte-secret-is-too-short!!";
    assert_eq!(short.len(), 31);
    let cases: [Setting; 2] = [(&["--jwt-secret", short], None), (&[], Some(("SSE_LIVE_JWT_SECRET", short)))];
    for case in cases {
        assert_eq!(
            startup_error(case).await,
            "error: --jwt-secret (SSE_LIVE_JWT_SECRET) is 31 bytes long; HS256 needs at least 32 random bytes (e.g. \
             `openssl rand -hex 32`)\n",
            "{case:?}: one line, without the secret"
        );
    }
    // 32 bytes are enough.
    let mut child =
        server(&["--listen", "127.0.0.1:0", "--dist", "/nonexistent", "--jwt-secret", &format!("{short}!")])
            .spawn()
            .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let address = listening_address(&mut stdout).await;
    let health = client().get(format!("http://{address}/healthz")).timeout(PATIENCE).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert!(terminate(&mut child).await.success());
}

#[tokio::test]
async fn the_request_log_names_each_request_its_failures_and_a_streams_end() {
    let mut command = server(&["--listen", "127.0.0.1:0", "--dist", "/nonexistent"]);
    command.env("RUST_LOG", "sse_live_server=debug");
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let log = tokio::spawn(async move {
        let mut log = String::new();
        stderr.read_to_string(&mut log).await.unwrap();
        log
    });
    let address = listening_address(&mut stdout).await;

    let mut stream = EventStream::open(&format!("http://{address}/e/temperatures"), &[]).await;
    assert_eq!(event_id(&stream.next_event().await), 1);
    drop(stream);
    // No client built in --dist: the page answers 503, a failure the log warns about.
    let page = client().get(format!("http://{address}/")).timeout(PATIENCE).send().await.unwrap();
    assert_eq!(page.status(), 503);
    assert!(terminate(&mut child).await.success());

    let log = log.await.unwrap();
    let line = |what: &str, uri: &str| log.lines().find(|l| l.contains(what) && l.contains(&format!("uri={uri} ")));
    let failed = line("response failed", "/").unwrap_or_else(|| panic!("no failure line for /: {log}"));
    assert!(failed.contains("WARN") && failed.contains("status=503"), "{failed}");
    // The stream's end is logged in the span of the request that opened it, with how long it was open.
    let closed =
        line("stream closed", "/e/temperatures").unwrap_or_else(|| panic!("no end in the stream's span: {log}"));
    assert!(closed.contains("duration="), "{closed}");
}
