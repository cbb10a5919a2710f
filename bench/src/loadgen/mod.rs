//! The load generator: opens N SSE connections to a stream URL (source addresses spread over 127.0.0.x), optionally
//! publishes timestamped events to a publish URL, counts what arrives during a window, and reads the server's RSS
//! and CPU time; it can start the server itself (`--spawn`, with `--redis-url` for ours through Redis).
//!
//! - [`http`]: the target URL and hyper connections (the publisher's) from a chosen source address.
//! - [`subscriber`]: one stream on a raw socket, read with `recvmsg` ([`timestamp`]: kernel receive timestamps),
//!   its response decoded by [`body`] and parsed with the project's parser.
//! - [`publisher`]: `POST`s of timestamped JSON.
//! - [`stats`]: histograms of latency and fan-out spread, by the user-space clock and the kernel's.
//! - [`proc`]: `VmRSS` and CPU time from `/proc`.
//! - [`spawn`]: the server under test as a child process.

pub mod body;
pub mod churn;
pub mod http;
pub mod proc;
pub mod publisher;
pub mod spawn;
pub mod stats;
pub mod subscriber;
pub mod timestamp;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::report::{Connections, Publish, Report, Rss};
use publisher::PublishPlan;
use subscriber::Tally;

/// The load generator's flags.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "sse-loadgen", about = "Opens N SSE streams to a URL and measures what arrives")]
pub struct Options {
    /// The stream to open, e.g. `http://127.0.0.1:3000/e/temperatures` (plain http only); with `--spawn`, a path
    /// on the started server (`/events/load`).
    #[arg(long)]
    pub url: String,
    /// Start this server binary on a free port (`--listen 127.0.0.1:0`, then the arguments after `--`), measure
    /// its RSS and CPU (its PID), and stop it at the end.
    #[arg(long, value_name = "BINARY")]
    pub spawn: Option<PathBuf>,
    /// With `--spawn`: start the server with `--redis-url URL` (ours: topics through Redis Streams). Give it an
    /// empty Redis, so ids start at 1.
    #[arg(long, requires = "spawn")]
    pub redis_url: Option<String>,
    /// With `--spawn`: more arguments for the server, after `--` (`-- --publish-key k --max-streams 20000`).
    #[arg(last = true, requires = "spawn")]
    pub server_args: Vec<String>,
    /// How many streams to hold open.
    #[arg(long, short = 'n', default_value_t = 1000)]
    pub connections: usize,
    /// Spread the connections' source addresses over 127.0.0.1 ..= 127.0.0.K (loopback targets only).
    #[arg(long, default_value_t = 16)]
    pub sources: u8,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 256)]
    pub connect_concurrency: usize,
    /// Give up waiting for the connections' answers after this long.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
    /// Wait this long after the last answer before measuring (the server's memory settles, replays arrive).
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub settle: Duration,
    /// How long to count events.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// The server's PID, to read its RSS from /proc (same machine only).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Publish timestamped JSON events to this URL during the window, e.g. `http://127.0.0.1:3000/events/bench`
    /// (with `--spawn`, a path).
    #[arg(long)]
    pub publish_url: Option<String>,
    /// Sent as `Authorization: Bearer KEY` with each publish.
    #[arg(long, env = "SSE_LOADGEN_PUBLISH_KEY")]
    pub publish_key: Option<String>,
    /// Events per second to publish in all, or `max` for as fast as the server answers.
    #[arg(long, default_value = "1", value_parser = parse_rate)]
    pub publish_rate: Rate,
    /// Publishing connections (requests in flight at once).
    #[arg(long, default_value_t = 1)]
    pub publish_concurrency: usize,
    /// Bytes of padding in each published event.
    #[arg(long, default_value_t = 32)]
    pub publish_padding: usize,
    /// Close this percent of the streams each second during the window and reopen them with `Last-Event-ID`
    /// (the id of the last event each received), counting replayed and missed events.
    #[arg(long)]
    pub churn: Option<f64>,
    /// With `--churn`: how long a closed stream stays away before it reconnects.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub churn_gap: Duration,
    /// Print the report as JSON rather than text.
    #[arg(long)]
    pub json: bool,
}

/// A publish rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Events per second.
    PerSecond(f64),
    /// As fast as the server answers.
    Max,
}

/// `max`, or a positive number of events per second.
pub fn parse_rate(s: &str) -> Result<Rate, String> {
    if s == "max" {
        return Ok(Rate::Max);
    }
    match s.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate.is_finite() => Ok(Rate::PerSecond(rate)),
        _ => Err(format!("{s:?}: want `max` or a positive number of events per second")),
    }
}

/// Runs the whole measurement and returns the report.
pub async fn run(mut options: Options) -> Result<Report, String> {
    let spawned = match &options.spawn {
        Some(binary) => {
            let args = spawn::server_args(options.redis_url.as_deref(), &options.server_args);
            Some(spawn::Spawned::start(binary, &args)?)
        }
        None => None,
    };
    let base = spawned.as_ref().map(|s| s.base_url.as_str());
    options.url = spawn::resolve_url(&options.url, base)?;
    options.publish_url = options.publish_url.as_deref().map(|url| spawn::resolve_url(url, base)).transpose()?;
    options.server_pid = spawned.as_ref().map(spawn::Spawned::pid).or(options.server_pid);
    let target = http::Target::resolve(&options.url).await?;
    let plan = match &options.publish_url {
        Some(url) => Some(PublishPlan {
            target: http::Target::resolve(url).await?,
            key: options.publish_key.clone(),
            rate: match options.publish_rate {
                Rate::PerSecond(rate) => Some(rate),
                Rate::Max => None,
            },
            concurrency: options.publish_concurrency,
            padding: options.publish_padding,
        }),
        None => None,
    };
    let rss = |pid: Option<u32>| pid.map(proc::rss_kib).transpose().map_err(|e| format!("server RSS: {e}"));
    let rss_before = rss(options.server_pid)?;

    let tally = Arc::new(Tally::default());
    let recorder = Arc::new(stats::Recorder::default());
    let gate = Arc::new(Semaphore::new(options.connect_concurrency.max(1)));
    let churn =
        options.churn.map(|percent| Arc::new(churn::Churn::new(options.connections, percent, options.churn_gap)));
    let started = Instant::now();
    for index in 0..options.connections {
        let (target, tally, recorder, gate) = (target.clone(), tally.clone(), recorder.clone(), gate.clone());
        let churn = churn.clone();
        let source = http::source_address(&target.addr, index, options.sources);
        tokio::spawn(async move {
            let Ok(permit) = gate.acquire_owned().await else { return };
            subscriber::run(index, &target, source, permit, started, &tally, &recorder, churn.as_deref()).await;
        });
    }
    let requested = options.connections as u64;
    while tally.answered() < requested && started.elapsed() < options.connect_timeout {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_secs = tally.last_answer_ns.load(Ordering::SeqCst) as f64 / 1e9;
    let unanswered = requested.saturating_sub(tally.answered());
    if unanswered > 0 {
        let timeout = humantime::format_duration(options.connect_timeout);
        tally.errors.lock().map(|mut e| e.push(format!("{unanswered} not answered within {timeout}"))).ok();
    }
    tokio::time::sleep(options.settle).await;
    let rss_connected = rss(options.server_pid)?;
    let held = tally.held.load(Ordering::SeqCst);

    let cpu = |pid: Option<u32>| pid.map(proc::cpu_secs).transpose().map_err(|e| format!("server CPU: {e}"));
    let cpu_before = cpu(options.server_pid)?;
    recorder.open_window();
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = plan.clone().map(|plan| publisher::spawn(plan, stop.clone()));
    let churn_driver = churn.as_ref().map(|churn| {
        churn.counting.store(true, Ordering::SeqCst);
        churn.spawn_driver(stop.clone())
    });
    let window = Instant::now();
    tokio::time::sleep(options.duration).await;
    stop.store(true, Ordering::SeqCst);
    let published = match publisher {
        // Joined off the runtime: the publisher may still be waiting for answers from a server on this runtime.
        Some(p) => Some(
            tokio::task::spawn_blocking(move || p.join())
                .await
                .ok()
                .and_then(Result::ok)
                .ok_or("the publisher panicked")?,
        ),
        None => None,
    };
    // Events of the last publishes are still counted while the publisher finishes its requests in flight.
    recorder.close_window();
    if let Some(churn) = &churn {
        churn.counting.store(false, Ordering::SeqCst);
    }
    if let Some(driver) = churn_driver {
        driver.abort();
    }
    let window_secs = window.elapsed().as_secs_f64();
    tally.done.store(true, Ordering::SeqCst);
    let rss_end = rss(options.server_pid)?;
    let server_cpu_secs = cpu(options.server_pid)?.zip(cpu_before).map(|(end, start)| end - start);

    let events = recorder.events();
    let stats::Distributions { latency, spread, kernel_latency, kernel_spread } = recorder.distributions();
    let errors = tally.errors.lock().map(|e| e.clone()).unwrap_or_default();
    Ok(Report {
        url: options.url,
        connections: Connections {
            requested,
            held,
            failed: requested - held.min(requested),
            ended: tally.ended.load(Ordering::SeqCst),
            connect_secs,
            errors,
        },
        window_secs,
        events,
        events_per_sec: events as f64 / window_secs,
        latency,
        spread,
        kernel_latency,
        kernel_spread,
        publish: plan.zip(published).map(|(plan, p)| Publish {
            url: plan.target.url,
            ok: p.ok,
            failed: p.failed,
            per_sec: p.ok as f64 / window_secs,
            latency: stats::summarise(&p.latency),
            first_error: p.first_error,
        }),
        server_rss: match (rss_before, rss_connected, rss_end) {
            (Some(before), Some(connected), Some(end)) => Some(Rss::new(before, connected, end, held)),
            _ => None,
        },
        server_cpu_secs,
        churn: churn.map(|churn| churn.report()),
        spawned: spawned.map(|s| s.command.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_positive_numbers_or_max() {
        assert_eq!(parse_rate("max"), Ok(Rate::Max));
        assert_eq!(parse_rate("2.5"), Ok(Rate::PerSecond(2.5)));
        for bad in ["0", "-1", "fast", "inf"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }
}
