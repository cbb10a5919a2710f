//! What the load generator's tests against each server share: its flags from a list, and the runs every server
//! must pass alike (the floor's, the bare peer's).

use std::time::Duration;

use clap::Parser;
use sse_live_bench::loadgen::{self, Options};
use sse_live_bench::report::Report;

/// The load generator's options from `args`, as on its command line.
pub fn options(args: &[&str]) -> Options {
    Options::parse_from(std::iter::once("sse-loadgen").chain(args.iter().copied()))
}

/// Holds 20 streams of `url` while publishing 20 events a second to it (bearer key `k`) for a second, then checks
/// what every server must do: every stream held, every publish answered reaches every stream, and each event's
/// latency is measured by both clocks, the kernel's never after the user-space one. `extra` are more flags.
pub async fn every_stream_receives_every_published_event(url: &str, extra: &[&str]) -> Report {
    let mut args = vec!["--url", url, "-n", "20", "--sources", "4", "--settle", "100ms", "--duration", "1s"];
    args.extend(["--publish-url", url, "--publish-key", "k", "--publish-rate", "20"]);
    args.extend(extra);
    let report = loadgen::run(options(&args)).await.unwrap();
    assert_eq!((report.connections.held, report.connections.failed, report.connections.ended), (20, 0, 0));
    let publish = report.publish.as_ref().unwrap();
    assert_eq!(publish.failed, 0, "{publish:?}");
    assert!(publish.ok >= 5, "{publish:?}");
    // Every publish answered before the window closed reached all 20 streams (the last may still be in flight).
    assert!(report.events >= 20 * (publish.ok - 1) && report.events <= 20 * publish.ok, "{report:?}");
    let (latency, kernel) = (report.latency.unwrap(), report.kernel_latency.unwrap());
    assert_eq!((latency.samples, kernel.samples), (report.events, report.events));
    assert!(latency.max_us < Duration::from_secs(5).as_micros() as u64, "{latency:?}");
    // Each kernel timestamp is at or before the user-space time of its read, so every quantile is too.
    assert!(kernel.p50_us <= latency.p50_us && kernel.p99_us <= latency.p99_us, "{kernel:?} {latency:?}");
    assert_eq!(report.spread.unwrap().samples, report.events);
    assert_eq!(report.kernel_spread.unwrap().samples, report.events);
    report
}

/// Opens 3 streams to a path the server at `server` does not have and publishes with a wrong key: both are
/// reported as failures with the server's status.
pub async fn a_wrong_key_and_a_missing_stream_are_refused(server: &str) {
    let (stream, publish) = (format!("{server}/nope"), format!("{server}/events/a"));
    let report = loadgen::run(options(&[
        "--url",
        &stream,
        "-n",
        "3",
        "--settle",
        "0s",
        "--duration",
        "300ms",
        "--publish-url",
        &publish,
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
