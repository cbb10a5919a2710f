//! The client ingest benchmark: runs `benches/ingest.rs` (a wasm-bindgen-test harness, see its docs for the method)
//! in headless Chromium against a fresh release `sse-live-server --test-routes`, and reads the `INGEST {json}` lines
//! it prints: per rate, the plain JavaScript baseline and the hook on both transports; per burst (10,000 and 100,000
//! events sent at once), those and leptos-use's hook.

use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::server::{free_port, RunningServer};
use crate::tools::{browser_test_env, ClientTools};
use crate::{workspace_root, Result};

/// The prefix of the harness's result lines.
const PREFIX: &str = "INGEST ";

/// The client the others are compared with.
pub const BASELINE: &str = "baseline";

/// One client's figures at one rate, over all rounds (the harness's `Figures`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ingest {
    /// `baseline`, `hook (EventSource)`, `hook (fetch)` or `leptos-use`.
    pub client: String,
    /// The server's pace in events per second; 0 = a burst: all `events` as fast as the connection takes them.
    pub per_sec: u64,
    /// Events per round.
    pub events: u64,
    pub rounds: usize,
    /// The median round's events per second (first to last message).
    pub events_per_sec: f64,
    pub events_per_sec_rounds: Vec<f64>,
    /// From the server writing a reading to the page's value changing to it, over every change.
    pub lag_p50_ms: f64,
    pub lag_p99_ms: f64,
    pub lag_max_ms: f64,
    pub lag_samples: usize,
    /// Chromium `longtask` entries (50 ms or more) during the rounds, and the longest.
    pub long_tasks: u64,
    pub longest_task_ms: f64,
    /// Every round's longest task (0: none of 50 ms or more); absent from results of older harnesses.
    #[serde(default)]
    pub longest_task_ms_rounds: Vec<f64>,
    /// The longest gap between two animation frames during the rounds.
    pub max_frame_gap_ms: f64,
    pub longtask_supported: bool,
    /// Every round received every event.
    pub complete: bool,
}

/// Builds and runs the harness (release size profile, as shipped); `quick` runs 1 s rounds, once, of a debug build.
pub fn run(quick: bool, server: &Path, tools: &ClientTools, logs: &Path) -> Result<Vec<Ingest>> {
    let root = workspace_root();
    let page_port = free_port()?;
    let mut command = Command::new(server);
    command.args(["--listen", "127.0.0.1:0", "--test-routes", "--allow-origin"]);
    command.arg(format!("http://127.0.0.1:{page_port}"));
    let log = std::fs::File::create(logs.join("ingest-server.log")).map_err(|e| format!("ingest server log: {e}"))?;
    let running = RunningServer::spawn(command.stderr(log))?;

    let mut cargo = Command::new("cargo");
    cargo.args(["test", "--package", "sse-live", "--target", "wasm32-unknown-unknown"]);
    // The full run measures the size profile the page ships with; quick mode, a smoke check, reuses the debug
    // build `cargo xtask test` made.
    if !quick {
        cargo.args(["--profile", "wasm-release"]);
    }
    cargo.args(["--test", "ingest", "--", "--nocapture"]).current_dir(&root);
    browser_test_env(&mut cargo, tools, page_port, &running.url, 1800);
    // The JavaScript glue as an app ships it (trunk's): wasm-bindgen-test-runner otherwise generates its debug glue,
    // which wraps every call from wasm into JavaScript in a `try`/`catch` that logs (`logError`), a cost per call
    // that no release build has and that the plain JavaScript baseline never pays.
    cargo.env("WASM_BINDGEN_NO_DEBUG", "1");
    // Bursts get more rounds: a round is a second or two, and one round's ratio to the baseline's varies from 0.3x
    // to 2.3x on a loaded machine (BENCHMARKS.md, helper `burstrate`): the goal's verdict needs the median of many.
    let (seconds, rounds, burst_rounds) = if quick { ("1", "1", "1") } else { ("5", "3", "15") };
    cargo.env("SSE_LIVE_INGEST_SECONDS", seconds).env("SSE_LIVE_INGEST_ROUNDS", rounds);
    cargo.env("SSE_LIVE_INGEST_BURST_ROUNDS", burst_rounds);
    println!(
        "\n==> client ingest in headless Chromium: {rounds} round(s) of {seconds} s per client and rate, \
         {burst_rounds} per burst (a cold release build of the harness takes ~5 minutes, the run ~{} s)",
        if quick { 30 } else { 360 }
    );
    let output = cargo.output().map_err(|e| format!("cannot run cargo test --test ingest: {e}"))?;
    drop(running);
    crate::tools::clear_browser_tmp_dir();
    let stdout = String::from_utf8_lossy(&output.stdout);
    std::fs::write(logs.join("ingest.log"), [&output.stdout[..], &output.stderr[..]].concat())
        .map_err(|e| format!("cannot write the ingest log: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the ingest harness failed ({}); its output is in {}:\n{}",
            output.status,
            logs.join("ingest.log").display(),
            String::from_utf8_lossy(&output.stderr).lines().rev().take(20).collect::<Vec<_>>().join("\n")
        ));
    }
    let figures = parse(&stdout)?;
    for f in &figures {
        println!(
            "    {:>18} at {:>6}/s: {:>9.0} events/s, lag p99 {:.1} ms, longest task {:.0} ms",
            f.client, f.per_sec, f.events_per_sec, f.lag_p99_ms, f.longest_task_ms
        );
        if let Some(baseline) = baseline_of(&figures, f).filter(|_| f.client != BASELINE) {
            let (rates, tasks) = per_round(baseline, f);
            println!("{:>33} per round vs the baseline's: events/s {rates}; longest task {tasks}", "");
        }
    }
    Ok(figures)
}

/// `f`'s rounds against the baseline's `b` (round `i` of each ran back to back): the events/s ratios and the
/// longest tasks (`ours/theirs` ms), each list ending with its median.
fn per_round(b: &Ingest, f: &Ingest) -> (String, String) {
    let mut ratios: Vec<f64> =
        b.events_per_sec_rounds.iter().zip(&f.events_per_sec_rounds).map(|(b, f)| f / b).collect();
    let rates = ratios.iter().map(|r| format!("{r:.2}x")).collect::<Vec<_>>().join(" ");
    ratios.sort_by(f64::total_cmp);
    let median = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
    let tasks = b.longest_task_ms_rounds.iter().zip(&f.longest_task_ms_rounds);
    let tasks = tasks.map(|(b, f)| format!("{f:.0}/{b:.0}")).collect::<Vec<_>>().join(" ");
    (format!("{rates} (median {median:.2}x)"), format!("{tasks} ms"))
}

/// The `INGEST` lines of the harness's output.
pub fn parse(stdout: &str) -> Result<Vec<Ingest>> {
    let figures: Vec<Ingest> = stdout
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix(PREFIX))
        .map(|json| serde_json::from_str(json).map_err(|e| format!("an INGEST line does not parse ({e}): {json}")))
        .collect::<Result<_>>()?;
    if figures.is_empty() {
        return Err("the ingest harness printed no INGEST lines".into());
    }
    Ok(figures)
}

/// The baseline's figures at the same rate and count as `f` (a burst is `per_sec` 0 with its count of events).
pub fn baseline_of<'a>(all: &'a [Ingest], f: &Ingest) -> Option<&'a Ingest> {
    all.iter().find(|b| b.client == BASELINE && b.per_sec == f.per_sec && b.events == f.events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_are_read_among_the_runners_output() {
        let out = "running 1 test\nInvoking test: ingest\n\
            INGEST {\"client\":\"baseline\",\"per_sec\":1000,\"events\":1000,\"rounds\":1,\"events_per_sec\":1000.5,\
            \"events_per_sec_rounds\":[1000.5],\"lag_p50_ms\":1.0,\"lag_p99_ms\":11.0,\"lag_max_ms\":13.5,\
            \"lag_samples\":1000,\"long_tasks\":0,\"longest_task_ms\":0.0,\"max_frame_gap_ms\":16.7,\
            \"longtask_supported\":true,\"complete\":true}\ntest ingest ... ok\n";
        let figures = parse(out).unwrap();
        assert_eq!(figures.len(), 1);
        assert_eq!(
            (figures[0].client.as_str(), figures[0].per_sec, figures[0].events_per_sec),
            ("baseline", 1000, 1000.5)
        );
        assert!(parse("test ingest ... ok\n").unwrap_err().contains("no INGEST lines"));
        assert!(parse("INGEST {\"client\": 1}\n").unwrap_err().contains("does not parse"));
    }
}
