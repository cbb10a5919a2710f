//! Connection-level limits over real TCP, with clients spread over 127.0.0.x: the header timeout, the idle timeout
//! (never for an open stream), the per-address connection cap, and the server at its open-file limit.

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::raw::{client_from, closes_within, connect_from, get, loopback, try_get};
use common::{event_id, EventStream, TestServer, KEY, PATIENCE};
use futures_util::future::join_all;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::Instant;

const HALF_A_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: x\r\n";

/// How long a `GET /healthz` from a fresh connection takes now.
async fn time_health(server: &TestServer, last: u8) -> Duration {
    let started = Instant::now();
    let mut stream = connect_from(loopback(last), server.addr).await;
    assert_eq!(get(&mut stream, "/healthz").await.status, 200);
    started.elapsed()
}

#[tokio::test]
async fn half_sent_requests_from_one_address_lock_nobody_out_and_are_closed_after_the_header_timeout() {
    // 1,000 connections at both ends in this process: more than a default soft limit of 1,024 descriptors.
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
    let header_timeout = Duration::from_secs(4);
    let server = TestServer::start(&["--header-timeout", "4s", "--max-connections-per-ip", "2000"]).await;
    let baseline = time_health(&server, 3).await;

    let started = Instant::now();
    let mut half_sent = Vec::new();
    for _ in 0..1000 {
        let mut stream = connect_from(loopback(2), server.addr).await;
        stream.write_all(HALF_A_REQUEST).await.unwrap();
        half_sent.push(stream);
    }
    // Another address is served at once (a second, or ten times what it took before when that is more).
    let with_half_sent = time_health(&server, 3).await;
    let bound = Duration::from_secs(1).max(baseline * 10);
    assert!(with_half_sent < bound, "GET /healthz took {with_half_sent:?} (before: {baseline:?})");

    // Each is closed, not before the header timeout, and not much later.
    let closed_at = join_all(half_sent.iter_mut().map(|stream| async {
        assert!(closes_within(stream, header_timeout + PATIENCE).await, "a half-sent request is still open");
        started.elapsed()
    }))
    .await;
    let earliest = closed_at.iter().min().unwrap();
    assert!(*earliest >= header_timeout, "closed after {earliest:?}, before the header timeout");
    assert_eq!(server.metric(r#"sse_live_connections_closed_total{reason="header_timeout"}"#).await, 1000.0);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_but_a_silent_stream_outlives_the_idle_timeout() {
    let idle_timeout = Duration::from_secs(2);
    let server = TestServer::start(&["--idle-timeout", "2s", "--keep-alive", "1h", "--publish-key", KEY]).await;
    // Nothing is published on `quiet` and keep-alives are an hour apart: the stream's connection sends nothing.
    let mut stream = EventStream::open(&server.url("/events/quiet"), &[]).await;
    assert_eq!(stream.status, 200);

    let mut idle = connect_from(loopback(2), server.addr).await;
    let requested = Instant::now();
    assert_eq!(get(&mut idle, "/healthz").await.status, 200);
    assert_eq!(get(&mut idle, "/healthz").await.status, 200, "kept alive between requests");
    assert!(closes_within(&mut idle, idle_timeout + PATIENCE).await, "the idle connection is still open");
    assert!(requested.elapsed() >= idle_timeout, "closed after {:?}, before the idle timeout", requested.elapsed());
    assert_eq!(server.metric(r#"sse_live_connections_closed_total{reason="idle_timeout"}"#).await, 1.0);

    // The stream has been silent for longer than the idle timeout, and is still open.
    tokio::time::sleep(idle_timeout).await;
    let id = server.publish("quiet", r#"{"still":"here"}"#).await;
    let event = stream.next_event().await;
    assert_eq!((event.data.as_str(), event_id(&event)), (r#"{"still":"here"}"#, id));
}

#[tokio::test]
async fn a_connection_over_the_per_address_cap_is_closed_while_other_addresses_get_in() {
    let server = TestServer::start(&["--max-connections-per-ip", "3", "--header-timeout", "1h"]).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from(loopback(2), server.addr).await;
        assert_eq!(get(&mut stream, "/healthz").await.status, 200);
        held.push(stream);
    }
    // The fourth is closed without an answer (the kernel accepted it; the server closes it at once).
    let mut over = connect_from(loopback(2), server.addr).await;
    assert!(closes_within(&mut over, PATIENCE).await, "a connection over the cap is still open");
    assert!(try_get(&mut connect_from(loopback(2), server.addr).await, "/healthz").await.is_none());
    assert_eq!(server.metric(r#"sse_live_connections_closed_total{reason="too_many_per_ip"}"#).await, 2.0);

    let mut other = connect_from(loopback(3), server.addr).await;
    assert_eq!(get(&mut other, "/healthz").await.status, 200);
    for stream in &mut held {
        assert_eq!(get(stream, "/healthz").await.status, 200, "those within the cap go on");
    }

    // Once one of the three closes, the address gets in again.
    drop(held.pop());
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(response) = try_get(&mut connect_from(loopback(2), server.addr).await, "/healthz").await {
            assert_eq!(response.status, 200);
            break;
        }
        assert!(Instant::now() < deadline, "the address is still refused after one of its connections closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The value of `name` in the metrics text.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// The server binary, run with an open-file limit of `fd_limit` (soft and hard) and `args`; its stderr collected.
struct LimitedServer {
    child: tokio::process::Child,
    addr: std::net::SocketAddr,
    stderr: Arc<Mutex<String>>,
}

impl LimitedServer {
    async fn start(fd_limit: u64, args: &[&str]) -> Self {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_sse-live-server"));
        command
            .args(["--listen", "127.0.0.1:0", "--random-interval", "100ms", "--header-timeout", "1h"])
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // SAFETY: between fork and exec the closure only calls setrlimit(2), which is async-signal-safe.
        unsafe {
            command.pre_exec(move || rlimit::setrlimit(rlimit::Resource::NOFILE, fd_limit, fd_limit));
        }
        let mut child = command.spawn().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        tokio::spawn({
            let stderr = stderr.clone();
            async move {
                while let Ok(Some(line)) = lines.next_line().await {
                    let mut text = stderr.lock().unwrap();
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        });
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        tokio::time::timeout(Duration::from_secs(30), stdout.read_line(&mut line))
            .await
            .expect("no listening line")
            .unwrap();
        let addr = line.trim().strip_prefix("sse-live-server listening on http://").unwrap().parse().unwrap();
        Self { child, addr, stderr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `n` streams of random numbers from 127.0.0.2.
    async fn streams(&self, n: usize) -> Vec<EventStream> {
        let client = client_from(loopback(2));
        let mut streams = Vec::new();
        for _ in 0..n {
            let response = client.get(self.url("/stream-random-numbers")).send().await.unwrap();
            assert_eq!(response.status(), 200);
            streams.push(EventStream::from_response(response));
        }
        streams
    }

    /// `n` connections that send nothing, from eight addresses (each under its cap).
    async fn flood(&self, n: u64) -> Vec<TcpStream> {
        let mut flood = Vec::new();
        for i in 0..n {
            flood.push(connect_from(loopback(10 + (i % 8) as u8), self.addr).await);
        }
        flood
    }

    /// A new client from 127.0.0.4 asks for `/healthz` now; it must be answered within [`PATIENCE`] after `leave`
    /// runs (the flood closing).
    async fn newcomer_gets_in_after(&self, leave: impl FnOnce()) {
        let mut newcomer = connect_from(loopback(4), self.addr).await;
        newcomer.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        leave();
        let mut answer = [0; 12];
        tokio::time::timeout(PATIENCE, newcomer.read_exact(&mut answer))
            .await
            .expect("the newcomer never got in")
            .unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200");
    }

    /// CPU time the server has used (user and system), from `/proc`.
    fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id().unwrap())).unwrap();
        // Fields after the command name (which ends with ')'): utime and stime are the 12th and 13th.
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        let per_second: u64 = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
            .unwrap_or(100);
        Duration::from_millis(ticks * 1000 / per_second)
    }

    /// CPU time the server uses in the next `wall`.
    async fn cpu_used_in(&self, wall: Duration) -> Duration {
        let start = self.cpu_time();
        tokio::time::sleep(wall).await;
        let used = self.cpu_time() - start;
        eprintln!("the server used {used:?} of CPU in {wall:?}");
        used
    }

    async fn stop(mut self) -> String {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let text = self.stderr.lock().unwrap().clone();
        text
    }
}

#[tokio::test]
async fn at_the_open_file_limit_streams_flow_files_are_served_and_new_clients_get_in_once_others_leave() {
    const FD_LIMIT: u64 = 128;
    let places = f64::from(sse_live_server::connections_for_fd_limit(FD_LIMIT));
    let dist = tempfile::tempdir().unwrap();
    let page = "<!doctype html><title>at the limit</title>";
    std::fs::write(dist.path().join("index.html"), page).unwrap();
    let server = LimitedServer::start(FD_LIMIT, &["--dist", dist.path().to_str().unwrap()]).await;

    // A keep-alive connection made first, ten streams, then more connections than the process has descriptors.
    let mut kept = connect_from(loopback(3), server.addr).await;
    assert_eq!(get(&mut kept, "/healthz").await.status, 200);
    let mut streams = server.streams(10).await;
    let flood = server.flood(FD_LIMIT + 24).await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let text = String::from_utf8(get(&mut kept, "/metrics").await.body).unwrap();
        if metric(&text, "sse_live_open_connections") == Some(places) {
            break;
        }
        assert!(Instant::now() < deadline, "never reached {places} open connections:\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Streams go on; a file is still served on an open connection (a descriptor is left for it).
    for stream in &mut streams {
        stream.events(2).await;
    }
    let index = get(&mut kept, "/").await;
    assert_eq!((index.status, String::from_utf8(index.body).unwrap().as_str()), (200, page));

    // A newcomer waits in the kernel's queue, and gets in once the flood leaves.
    server.newcomer_gets_in_after(|| drop(flood)).await;
    for stream in &mut streams {
        stream.events(1).await;
    }
    let stderr = server.stop().await;
    assert!(!stderr.contains("Too many open files"), "the server ran out of descriptors:\n{stderr}");
}

#[tokio::test]
async fn past_the_open_file_limit_accept_waits_without_spinning_and_says_so_once_a_minute() {
    // --max-connections above what the descriptors allow: accept itself fails (EMFILE).
    const FD_LIMIT: u64 = 64;
    let server = LimitedServer::start(FD_LIMIT, &["--max-connections", "100000", "--dist", "/nonexistent"]).await;
    let mut streams = server.streams(5).await;
    let before = server.cpu_used_in(Duration::from_secs(2)).await;
    let flood = server.flood(FD_LIMIT + 24).await;
    let deadline = Instant::now() + PATIENCE;
    while !server.stderr.lock().unwrap().contains("cannot accept connections") {
        assert!(Instant::now() < deadline, "accept never failed:\n{}", server.stderr.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Waiting, not retrying in a loop: no more CPU than serving the streams took before the flood (a busy loop
    // takes what the machine gives it: a whole core when idle, a quarter of one seen on a loaded 2-core machine).
    let waiting = server.cpu_used_in(Duration::from_secs(2)).await;
    let margin = Duration::from_secs(2) / 20;
    assert!(
        waiting < before + margin,
        "the server used {waiting:?} of CPU in 2 s while it could not accept ({before:?} before)"
    );
    for stream in &mut streams {
        stream.events(2).await;
    }

    server.newcomer_gets_in_after(|| drop(flood)).await;
    let stderr = server.stop().await;
    assert_eq!(stderr.matches("cannot accept connections").count(), 1, "said once (a minute apart at most):\n{stderr}");
}
