//! The load generator against the real servers on 127.0.0.1, the bare peer and ours: the counts it reports are the
//! streams it held and the events that were published to them.

use std::time::Duration;

use clap::Parser;
use sse_live_bench::bare::Bare;
use sse_live_bench::loadgen::{self, Options};

async fn serve(key: Option<&str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = Bare::new(key.map(str::to_owned), 1000).router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

fn options(args: &[&str]) -> Options {
    Options::parse_from(std::iter::once("sse-loadgen").chain(args.iter().copied()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_receives_every_published_event_with_its_latency() {
    let server = serve(Some("k")).await;
    let url = format!("{server}/events/a");
    let pid = std::process::id().to_string();
    let report = loadgen::run(options(&[
        "--url",
        &url,
        "-n",
        "20",
        "--sources",
        "4",
        "--settle",
        "100ms",
        "--duration",
        "1s",
        "--server-pid",
        &pid,
        "--publish-url",
        &url,
        "--publish-key",
        "k",
        "--publish-rate",
        "20",
    ]))
    .await
    .unwrap();
    assert_eq!((report.connections.held, report.connections.failed, report.connections.ended), (20, 0, 0));
    let publish = report.publish.as_ref().unwrap();
    assert_eq!(publish.failed, 0, "{publish:?}");
    assert!(publish.ok >= 5, "{publish:?}");
    // Every publish answered before the window closed reached all 20 streams (the last may still be in flight).
    assert!(report.events >= 20 * (publish.ok - 1) && report.events <= 20 * publish.ok, "{report:?}");
    let latency = report.latency.unwrap();
    assert_eq!(latency.samples, report.events);
    assert!(latency.max_us < Duration::from_secs(5).as_micros() as u64, "{latency:?}");
    assert_eq!(report.spread.unwrap().samples, report.events);
    assert!(report.server_rss.is_some() && report.server_cpu_secs.is_some());
}

#[tokio::test]
async fn a_wrong_key_and_a_missing_stream_are_reported_as_failures() {
    let server = serve(Some("k")).await;
    let url = format!("{server}/events/a");
    let report = loadgen::run(options(&[
        "--url",
        &format!("{server}/nope"),
        "-n",
        "3",
        "--settle",
        "0s",
        "--duration",
        "300ms",
        "--publish-url",
        &url,
        "--publish-key",
        "wrong",
    ]))
    .await
    .unwrap();
    assert_eq!((report.connections.held, report.connections.failed), (0, 3));
    assert!(report.connections.errors[0].contains("404"), "{:?}", report.connections.errors);
    let publish = report.publish.unwrap();
    assert_eq!(publish.ok, 0);
    assert!(publish.first_error.unwrap().contains("401"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_servers_generator_reaches_every_stream_and_its_spread_is_measured() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/e/temperatures", listener.local_addr().unwrap());
    let config = sse_live_server::Config {
        temperature_interval: Duration::from_millis(100),
        random_interval: Duration::from_secs(3600),
        ..sse_live_server::Config::default()
    };
    tokio::spawn(sse_live_server::run(listener, config, std::future::pending()));
    let report =
        loadgen::run(options(&["--url", &url, "-n", "30", "--settle", "200ms", "--duration", "1s"])).await.unwrap();
    assert_eq!((report.connections.held, report.connections.failed, report.connections.ended), (30, 0, 0));
    // About 10 readings a second reach all 30 streams; the temperatures carry no send time, so no latency.
    assert!((30 * 5..=30 * 12).contains(&report.events), "{report:?}");
    assert_eq!(report.latency, None);
    assert_eq!(report.spread.unwrap().samples, report.events);
}
