//! The server scenarios: which server runs with which flags, and what the load generator does to it. Each run gets
//! a fresh server process, so its RSS readings start from the same baseline.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use sse_live_bench::report::Report;

use super::results::{Run, FLOOR, OURS, OURS_DIRECT_OFF, SERVERS};
use crate::server::RunningServer;
use crate::Result;

/// The bearer key every server is started with for the publish scenarios.
const PUBLISH_KEY: &str = "bench-key";

/// What drives the events of a scenario.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Drive {
    /// The server's own generator, at this interval (humantime): ours' temperatures, the bare server's `--tick`.
    Tick(&'static str),
    /// The load generator `POST`s timestamped events at `rate` (`max` or events/s) from `concurrency` connections.
    Publish { rate: &'static str, concurrency: usize },
}

/// One scenario: a name, its streams and its drive.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The name results and tables use.
    pub name: &'static str,
    /// Streams held (one run per entry).
    pub connections: Vec<usize>,
    /// What sends the events.
    pub drive: Drive,
    /// How long events are counted (humantime).
    pub duration: &'static str,
    /// Percent of the streams that reconnect with `Last-Event-ID` each second (`sse-loadgen --churn`), if any.
    pub churn: Option<&'static str>,
}

/// The scenarios of a run; `quick` scales them down to finish in a couple of minutes.
pub fn plan(quick: bool) -> Vec<Scenario> {
    let (sweep, fanout, duration) = if quick {
        (vec![200, 1_000, 2_000], 1_000, "3s")
    } else {
        (vec![1_000, 2_500, 5_000, 10_000, 19_900], 10_000, "10s")
    };
    let scenario = |name, connections, drive| Scenario { name, connections, drive, duration, churn: None };
    vec![
        scenario("capacity", sweep, Drive::Tick("1s")),
        scenario("fanout-tick-max", vec![fanout], Drive::Tick("1ms")),
        scenario("fanout-publish-1s", vec![fanout], Drive::Publish { rate: "1", concurrency: 1 }),
        scenario("fanout-publish-max", vec![fanout], Drive::Publish { rate: "max", concurrency: 4 }),
        scenario("publish-throughput", vec![10], Drive::Publish { rate: "max", concurrency: 16 }),
        // Issue 14: 1% of the streams reconnect each second with Last-Event-ID while events flow at 10/s.
        Scenario { churn: Some("1"), ..scenario("churn", vec![fanout], Drive::Publish { rate: "10", concurrency: 1 }) },
    ]
}

/// The release binaries and where logs go.
pub struct Binaries {
    /// `sse-live-server`.
    pub ours: PathBuf,
    /// `bare-sse-server`.
    pub bare: PathBuf,
    /// `floor-sse-server`.
    pub floor: PathBuf,
    /// `sse-loadgen`.
    pub loadgen: PathBuf,
    /// Whether `sse-live-server` has `--publish-key` (and so `POST /events/{topic}`).
    pub ours_publishes: bool,
    /// Directory for the servers' stderr.
    pub logs: PathBuf,
    /// Run ours with the direct fan-out on (as [`OURS`]) and off (as [`OURS_DIRECT_OFF`]), not as it defaults.
    pub direct_ab: bool,
}

/// Runs `scenario` against the floor, the bare peer and ours (ours only where it can take part), one after the
/// other, and returns the runs.
pub fn run(scenario: &Scenario, binaries: &Binaries) -> Result<Vec<Run>> {
    let mut runs = Vec::new();
    for &connections in &scenario.connections {
        let extra = binaries.direct_ab.then_some(OURS_DIRECT_OFF);
        for server in SERVERS.into_iter().chain(extra) {
            let ours = server == OURS || server == OURS_DIRECT_OFF;
            if ours && matches!(scenario.drive, Drive::Publish { .. }) && !binaries.ours_publishes {
                continue;
            }
            runs.push(run_one(scenario, server, connections, binaries)?);
        }
    }
    Ok(runs)
}

fn run_one(scenario: &Scenario, server: &str, connections: usize, binaries: &Binaries) -> Result<Run> {
    let (mut command, stream_path) = server_command(server, scenario.drive, binaries);
    let log_name = format!("{}-{}-{connections}.log", scenario.name, server.replace(' ', "-"));
    let log = File::create(binaries.logs.join(&log_name)).map_err(|e| format!("cannot create {log_name}: {e}"))?;
    command.stderr(log);
    let server_command = describe(&command);
    let running = RunningServer::spawn(&mut command)?;
    let mut loadgen = Command::new(&binaries.loadgen);
    loadgen.args(["--url", &format!("{}{stream_path}", running.url), "-n", &connections.to_string()]);
    loadgen.args(["--duration", scenario.duration, "--server-pid", &running.pid().to_string(), "--json"]);
    if let Drive::Publish { rate, concurrency } = scenario.drive {
        loadgen.args(["--publish-url", &format!("{}/events/bench", running.url), "--publish-key", PUBLISH_KEY]);
        loadgen.args(["--publish-rate", rate, "--publish-concurrency", &concurrency.to_string()]);
    }
    if let Some(percent) = scenario.churn {
        loadgen.args(["--churn", percent]);
    }
    let loadgen_command = describe(&loadgen);
    println!("    $ {loadgen_command}");
    let output = loadgen.output().map_err(|e| format!("cannot run {}: {e}", binaries.loadgen.display()))?;
    drop(running);
    if !output.status.success() {
        return Err(format!(
            "{} against {server} failed ({}): {}",
            scenario.name,
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let report: Report =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("the load generator's JSON does not parse: {e}"))?;
    for line in report.to_text().lines() {
        println!("    {line}");
    }
    Ok(Run { scenario: scenario.name.to_owned(), server: server.to_owned(), server_command, loadgen_command, report })
}

/// `--max-streams`, `--max-streams-per-ip`, `--max-connections` and `--max-connections-per-ip` for our server: above
/// every scenario's stream count.
const STREAM_LIMIT: &str = "1000000";

/// The server's command for `drive`, and the path of the stream to open on it. The floor takes the bare peer's
/// flags (`--tick`, `--publish-key`) and runs one fan-out thread per core.
fn server_command(server: &str, drive: Drive, binaries: &Binaries) -> (Command, &'static str) {
    let ours = server == OURS || server == OURS_DIRECT_OFF;
    let binary = match server {
        OURS | OURS_DIRECT_OFF => &binaries.ours,
        FLOOR => &binaries.floor,
        _ => &binaries.bare,
    };
    let mut command = Command::new(binary);
    command.args(["--listen", "127.0.0.1:0"]);
    if ours {
        // Warnings (a client cut off for lagging, no built client) would flood the log at full speed.
        command.env("RUST_LOG", "error");
        if binaries.direct_ab {
            command.env("SSE_LIVE_DIRECT_WRITES", if server == OURS { "true" } else { "false" });
        }
        command.args(["--dist", &binaries.logs.join("no-dist").to_string_lossy(), "--random-interval", "1h"]);
        // The defaults (10,000 streams, 64 per address; connections: the open-file limit minus a reserve, 256 per
        // address) protect a deployment; a capacity run measures past them.
        command.args(["--max-streams", STREAM_LIMIT, "--max-streams-per-ip", STREAM_LIMIT]);
        command.args(["--max-connections", STREAM_LIMIT, "--max-connections-per-ip", STREAM_LIMIT]);
    }
    match (drive, ours) {
        (Drive::Tick(interval), true) => {
            command.args(["--temperature-interval", interval]);
            (command, "/e/temperatures")
        }
        (Drive::Tick(interval), false) => {
            command.args(["--tick", interval]);
            (command, "/events/ticks")
        }
        (Drive::Publish { .. }, _) => {
            if ours {
                command.args(["--temperature-interval", "1h"]);
            }
            command.args(["--publish-key", PUBLISH_KEY]);
            (command, "/events/bench")
        }
    }
}

/// The command line with paths shortened to file names and environment variables first.
fn describe(command: &Command) -> String {
    let short = |s: &std::ffi::OsStr| {
        let s = s.to_string_lossy();
        if s.starts_with('/') {
            Path::new(&*s).file_name().map_or_else(|| s.to_string(), |n| n.to_string_lossy().into_owned())
        } else {
            s.into_owned()
        }
    };
    let envs =
        command.get_envs().filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())));
    envs.chain(std::iter::once(short(command.get_program())))
        .chain(command.get_args().map(short))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::results::BARE;

    fn binaries() -> Binaries {
        Binaries {
            ours: "/x/sse-live-server".into(),
            bare: "/x/bare-sse-server".into(),
            floor: "/x/floor-sse-server".into(),
            loadgen: "/x/sse-loadgen".into(),
            ours_publishes: true,
            logs: "/x/logs".into(),
            direct_ab: false,
        }
    }

    #[test]
    fn quick_mode_scales_every_scenario_down() {
        let (quick, full) = (plan(true), plan(false));
        assert_eq!(quick.len(), full.len());
        for (q, f) in quick.iter().zip(&full) {
            assert_eq!((q.name, q.drive), (f.name, f.drive));
            assert!(q.connections.iter().max() <= f.connections.iter().max(), "{}", q.name);
        }
        // One load-generator process holds the streams: its open-file limit is 20,000 here.
        assert!(full.iter().flat_map(|s| &s.connections).all(|&n| n <= 19_900));
    }

    #[test]
    fn our_server_is_started_with_limits_above_every_scenario() {
        let binaries = binaries();
        let most = plan(false).iter().flat_map(|s| s.connections.clone()).max().unwrap();
        for drive in [Drive::Tick("1s"), Drive::Publish { rate: "1", concurrency: 1 }] {
            let (command, _) = server_command(OURS, drive, &binaries);
            let args: Vec<String> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
            for flag in ["--max-streams", "--max-streams-per-ip", "--max-connections", "--max-connections-per-ip"] {
                let at = args.iter().position(|a| a == flag).unwrap_or_else(|| panic!("{flag} missing: {args:?}"));
                assert!(args[at + 1].parse::<usize>().unwrap() >= most, "{flag} {} < {most} streams", args[at + 1]);
            }
        }
    }

    #[test]
    fn the_floor_is_driven_exactly_as_the_bare_peer() {
        let binaries = binaries();
        for drive in [Drive::Tick("1ms"), Drive::Publish { rate: "max", concurrency: 4 }] {
            let (floor, floor_path) = server_command(FLOOR, drive, &binaries);
            let (bare, bare_path) = server_command(BARE, drive, &binaries);
            assert_eq!(describe(&floor).replace("floor-sse-server", "bare-sse-server"), describe(&bare));
            assert_eq!(floor_path, bare_path);
        }
        assert_eq!(SERVERS[0], FLOOR, "the floor runs first in each scenario");
    }

    #[test]
    fn command_lines_are_described_without_directories() {
        let mut command = Command::new("/x/target/release/sse-live-server");
        command.env("RUST_LOG", "error").args(["--dist", "/x/target/bench/no-dist", "--listen", "127.0.0.1:0"]);
        assert_eq!(describe(&command), "RUST_LOG=error sse-live-server --dist no-dist --listen 127.0.0.1:0");
    }
}
