//! A load generator for the server: many idle streams, then a burst of published events fanned out to all of them.
//! It measures the server's memory per idle stream and the publish-to-delivery latency across every stream.
//!
//! ```sh
//! cargo build --release -p sse-live-server --examples
//! ulimit -n $(ulimit -Hn)      # one descriptor per stream on each side
//! $CARGO_TARGET_DIR/release/examples/load --bin $CARGO_TARGET_DIR/release/sse-live-server --streams 2000
//! ```
//!
//! It starts the server binary itself (so the memory it reads from `/proc/PID/status` is the server's alone), opens
//! `--streams` raw HTTP/1.0 connections to `/events/load` (a raw body, read with the protocol crate's parser),
//! publishes `--events` events of `--size` bytes every `--interval` over HTTP, and prints a report. Linux only
//! (`/proc`).
//!
//! `--redis-url URL` runs the server with that Redis (`--redis-url`), to compare fan-out through Redis Streams with
//! the in-process default; give it an empty Redis (ids must start at 1), e.g. a fresh
//! `redis-server --port 6390 --save "" --appendonly no`.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sse_live_protocol::{Parsed, Parser};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::Command;
use tokio::time::Instant;

struct Args {
    bin: String,
    streams: usize,
    events: u64,
    interval: Duration,
    size: usize,
    redis_url: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        bin: "target/release/sse-live-server".into(),
        streams: 1000,
        events: 200,
        interval: Duration::from_millis(10),
        size: 200,
        redis_url: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--bin" => args.bin = value,
            "--streams" => args.streams = value.parse().expect("--streams N"),
            "--events" => args.events = value.parse().expect("--events N"),
            "--interval" => args.interval = Duration::from_millis(value.parse().expect("--interval MS")),
            "--size" => args.size = value.parse().expect("--size BYTES"),
            "--redis-url" => args.redis_url = Some(value),
            _ => panic!("unknown flag {flag}; see the doc comment of examples/load.rs"),
        }
    }
    args
}

/// The server's resident memory, KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("Linux /proc");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmRSS value")
}

/// Percentile `p` (0-100) of sorted `values`.
fn percentile(values: &[Duration], p: f64) -> Duration {
    values[((values.len() - 1) as f64 * p / 100.0).round() as usize]
}

#[tokio::main]
async fn main() {
    let args = args();
    let limit = (args.streams + 10).to_string();
    let mut server = Command::new(&args.bin)
        .args(["--listen", "127.0.0.1:0", "--dist", "/nonexistent", "--publish-key", "load", "--keep-alive", "15s"])
        .args(["--max-streams", &limit, "--max-streams-per-ip", &limit, "--max-body", "1000000"])
        .args(args.redis_url.iter().flat_map(|url| ["--redis-url", url]))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("cannot start the server binary (--bin)");
    let pid = server.id().expect("running");
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).await.unwrap();
    let addr = line.trim().rsplit("http://").next().unwrap().to_owned();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_start = rss_kib(pid);

    // Publish times by id, filled by the publisher, read by the readers.
    let published: Arc<Mutex<Vec<Option<Instant>>>> = Arc::new(Mutex::new(vec![None; args.events as usize + 1]));
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut readers = Vec::new();
    for _ in 0..args.streams {
        let mut stream = TcpStream::connect(&addr).await.expect("connect (raise ulimit -n?)");
        stream.write_all(b"GET /events/load HTTP/1.0\r\nHost: load\r\n\r\n").await.unwrap();
        let (published, latencies, events) = (published.clone(), latencies.clone(), args.events);
        readers.push(tokio::spawn(async move {
            let (mut parser, mut out, mut buf, mut body) = (Parser::new(), Vec::new(), vec![0u8; 16 * 1024], false);
            let mut mine = Vec::new();
            loop {
                let n = stream.read(&mut buf).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                let mut chunk = &buf[..n];
                if !body {
                    let Some(end) = chunk.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    chunk = &chunk[end + 4..];
                    body = true;
                }
                parser.feed(chunk, &mut out);
                let now = Instant::now();
                for parsed in out.drain(..) {
                    if let Parsed::Event(event) = parsed {
                        // Ids are `<sequence>@<epoch>`: the sequence is the publish order.
                        let sequence = event.last_event_id.split('@').next().unwrap_or("");
                        let id: u64 = sequence.parse().unwrap_or(0);
                        if let Some(at) = published.lock().unwrap().get(id as usize).copied().flatten() {
                            mine.push(now - at);
                        }
                        if id == events {
                            latencies.lock().unwrap().extend(mine);
                            return;
                        }
                    }
                }
            }
            latencies.lock().unwrap().extend(mine);
        }));
    }
    loop {
        let health: serde_json::Value = serde_json::from_slice(
            &http.get(format!("http://{addr}/healthz")).send().await.unwrap().bytes().await.unwrap(),
        )
        .unwrap();
        if health["openStreams"].as_u64() == Some(args.streams as u64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connect_time = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = rss_kib(pid);

    let body = format!("\"{}\"", "x".repeat(args.size.saturating_sub(2)));
    let burst = Instant::now();
    for id in 1..=args.events {
        published.lock().unwrap()[id as usize] = Some(Instant::now());
        let response = http
            .post(format!("http://{addr}/events/load"))
            .bearer_auth("load")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        tokio::time::sleep(args.interval).await;
    }
    for reader in readers {
        reader.await.unwrap();
    }
    let burst_time = burst.elapsed();
    let rss_after = rss_kib(pid);
    let mut latencies = Arc::try_unwrap(latencies).unwrap().into_inner().unwrap();
    latencies.sort();
    let deliveries = latencies.len();
    let expected = args.streams * args.events as usize;

    println!("sse-live-server load report");
    println!("  streams {}, events {} of {} bytes every {:?}", args.streams, args.events, args.size, args.interval);
    println!("  topics: {}", args.redis_url.as_deref().map_or("in process".to_owned(), |url| format!("Redis {url}")));
    println!("  all streams open after {connect_time:?}");
    println!(
        "  server RSS: {} KiB at start, {} KiB with the streams idle ({:.1} KiB per stream), {} KiB after the burst",
        rss_start,
        rss_idle,
        (rss_idle.saturating_sub(rss_start)) as f64 / args.streams as f64,
        rss_after
    );
    println!(
        "  deliveries {deliveries} of {expected} in {burst_time:?} ({:.0}/s)",
        deliveries as f64 / burst_time.as_secs_f64()
    );
    if !latencies.is_empty() {
        println!(
            "  publish-to-delivery latency: p50 {:?}, p99 {:?}, max {:?}",
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            latencies[latencies.len() - 1]
        );
    }
    let _ = server.kill().await;
}
