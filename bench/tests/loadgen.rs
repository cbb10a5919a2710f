//! The load generator against the real servers on 127.0.0.1, the bare peer and ours (the floor's are in
//! `floor.rs`): the counts it reports are the streams it held and the events that were published to them.

use std::time::Duration;

use common::options;
use sse_live_bench::bare::Bare;
use sse_live_bench::loadgen;

mod common;

async fn serve(key: Option<&str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = Bare::new(key.map(str::to_owned), 1000).router();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stream_receives_every_published_event_with_its_latency() {
    let server = serve(Some("k")).await;
    let pid = std::process::id().to_string();
    // Through axum's chunked body.
    let report =
        common::every_stream_receives_every_published_event(&format!("{server}/events/a"), &["--server-pid", &pid])
            .await;
    assert!(report.server_rss.is_some() && report.server_cpu_secs.is_some());
}

#[tokio::test]
async fn a_wrong_key_and_a_missing_stream_are_reported_as_failures() {
    common::a_wrong_key_and_a_missing_stream_are_refused(&serve(Some("k")).await).await;
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
    assert_eq!((report.latency, report.kernel_latency), (None, None));
    assert_eq!(report.spread.unwrap().samples, report.events);
    assert_eq!(report.kernel_spread.unwrap().samples, report.events);
}
