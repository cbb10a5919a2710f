//! `cargo xtask bench [--quick] [--report] [--no-parser] [--no-bundle] [--only-bundle] [--only-servers]`: the
//! benchmarks of issues 7 and 14, rerunnable by anyone with one command.
//!
//! Builds the release servers and load generator, runs every [`scenarios`] scenario against the floor server, the
//! bare axum peer and ours (each run its own server process), measures the release client's bundle ([`bundle`]), runs the parser's
//! criterion bench (full mode), and writes everything to `target/bench/` as JSON ([`results`]). A full run then
//! commits its figures to `bench/results.json` and `bench/chart.svg` ([`chart`]) and re-renders the generated part of
//! BENCHMARKS.md from them ([`markdown`]); `--quick` (a smoke run of a couple of minutes) writes `target/bench/`
//! only. `--report` re-renders BENCHMARKS.md and the chart from `bench/results.json` without running anything.
//! The bundle part also builds the minimal app three ways ([`minimal`]); `--only-bundle` runs the bundle part
//! alone (no servers, no parser) and, like `--quick`, writes `target/bench/` only; `--only-servers` runs the server
//! scenarios alone (no bundle, ingest or parser) and also writes `target/bench/` only.
//!
//! Two flags narrow or widen the server scenarios, for comparing our server with itself: `--scenarios=a,b` runs
//! only the named scenarios (see [`scenarios::plan`]), and `--direct-ab` runs ours twice in each, one run after the
//! other, with the direct fan-out on (`SSE_LIVE_DIRECT_WRITES=true`, reported as `sse-live`) and off
//! (`SSE_LIVE_DIRECT_WRITES=false`, reported as `sse-live, direct writes off`; the generated tables of BENCHMARKS.md
//! leave that run out).

mod bundle;
mod chart;
mod ingest;
mod machine;
mod markdown;
mod minimal;
mod results;
mod scenarios;

use std::path::Path;
use std::process::Command;

use crate::step::{self, output};
use crate::tools::{ensure_client_tools, trunk_build_release};
use crate::{target_dir, workspace_root, Result};
use results::Results;

/// The flags of `cargo xtask bench`.
#[derive(Debug, Default, PartialEq)]
struct Options {
    quick: bool,
    report_only: bool,
    no_parser: bool,
    no_bundle: bool,
    no_ingest: bool,
    only_bundle: bool,
    only_servers: bool,
    /// `--direct-ab`: ours with the direct fan-out on and off.
    direct_ab: bool,
    /// `--scenarios=a,b`: only these server scenarios (all when empty).
    scenarios: Vec<String>,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options::default();
    for arg in args {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--report" => options.report_only = true,
            "--no-parser" => options.no_parser = true,
            "--no-bundle" => options.no_bundle = true,
            "--no-ingest" => options.no_ingest = true,
            "--only-bundle" => options.only_bundle = true,
            "--only-servers" => options.only_servers = true,
            "--direct-ab" => options.direct_ab = true,
            other if other.starts_with("--scenarios=") => {
                let names = other.trim_start_matches("--scenarios=").split(',').filter(|n| !n.is_empty());
                options.scenarios.extend(names.map(str::to_owned));
                let known: Vec<_> = scenarios::plan(false).iter().map(|s| s.name).collect();
                if let Some(unknown) = options.scenarios.iter().find(|n| !known.contains(&n.as_str())) {
                    return Err(format!(
                        "cargo xtask bench: unknown scenario {unknown:?} (known: {})",
                        known.join(", ")
                    ));
                }
            }
            other => return Err(format!("cargo xtask bench: unknown flag {other:?} (see cargo xtask help)")),
        }
    }
    if options.no_bundle && options.only_bundle {
        return Err("cargo xtask bench: --no-bundle and --only-bundle contradict each other".to_owned());
    }
    if options.only_servers && options.only_bundle {
        return Err("cargo xtask bench: --only-servers and --only-bundle contradict each other".to_owned());
    }
    if options.only_servers {
        (options.no_bundle, options.no_ingest, options.no_parser) = (true, true, true);
    }
    Ok(options)
}

/// Runs the benchmarks (or only re-renders the report) as `args` say.
pub fn run(args: &[String]) -> Result {
    let options = parse(args)?;
    let root = workspace_root();
    let committed = root.join("bench/results.json");
    if options.report_only {
        let text = read(&committed)?;
        let results: Results =
            serde_json::from_str(&text).map_err(|e| format!("{} does not parse: {e}", committed.display()))?;
        return write_benchmarks_md(&root, &results);
    }

    let out = target_dir().join("bench");
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
    let fd_limit = sse_live_bench::fd_limit::raise().map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    let mut machine = machine::read(fd_limit);
    let started = output(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])).unwrap_or_default();

    let mut notes = Vec::new();
    let runs = if options.only_bundle { Vec::new() } else { servers(&options, &out, &logs, &mut notes)? };

    let bundle = if options.no_bundle {
        notes.push("Bundle size not measured in this run (`--no-bundle`).".to_owned());
        Vec::new()
    } else {
        let dist = root.join("dist");
        if options.quick && dist.is_dir() {
            notes.push("Bundle size measured on `dist/` as found (quick mode does not rebuild it).".to_owned());
        } else {
            trunk_build_release(&ensure_client_tools()?)?;
        }
        bundle::measure(&dist)?
    };
    let minimal =
        if options.no_bundle { Vec::new() } else { minimal::measure(&ensure_client_tools()?, &out.join("minimal"))? };

    let ingest = if options.no_ingest || options.only_bundle {
        notes.push("Client ingest not measured in this run.".to_owned());
        Vec::new()
    } else {
        let server = target_dir().join("release/sse-live-server");
        // A failure here must not throw away the server scenarios' figures: it is reported with them.
        ingest::run(options.quick, &server, &ensure_client_tools()?, &logs).unwrap_or_else(|error| {
            eprintln!("\nxtask: warning: {error}");
            notes.push(format!("The client ingest benchmark failed: {error}"));
            Vec::new()
        })
    };

    machine.load_after = machine::load();
    let results = Results { mode: mode(&options).to_owned(), started, machine, runs, bundle, ingest, notes, minimal };
    let json = to_json(&results)?;
    write(&out.join("results.json"), &json)?;
    let chart = chart::render(&results);
    if let Some(svg) = &chart {
        write(&out.join("chart.svg"), svg)?;
    }
    if options.quick || options.only_bundle || options.only_servers {
        let md = markdown::render(&results, chart.as_ref().map(|_| "chart.svg"));
        write(&out.join(format!("BENCHMARKS.{}.md", mode(&options))), &md)?;
        println!(
            "\n{md}\nxtask: {} run: results in {} (BENCHMARKS.md is left as it is)",
            mode(&options),
            out.display()
        );
    } else {
        write(&committed, &json)?;
        write_benchmarks_md(&root, &results)?;
    }

    if !options.quick && !options.no_parser && !options.only_bundle {
        step::run(
            "the parser's criterion bench (several minutes; its figures are in target/criterion)",
            Command::new("cargo")
                .args(["bench", "--package", "sse-live-protocol", "--bench", "parser", "--"])
                .args(["--warm-up-time", "1", "--measurement-time", "3"])
                .current_dir(&root),
        )?;
    }
    Ok(())
}

/// Builds the release servers and load generator and runs every scenario against both servers.
fn servers(options: &Options, out: &Path, logs: &Path, notes: &mut Vec<String>) -> Result<Vec<results::Run>> {
    step::run(
        "building the servers and the load generator in release (a cold build takes ~4 minutes)",
        Command::new("cargo")
            // With the test routes compiled in, for the client ingest benchmark's `/test/rate` (they are mounted
            // only with `--test-routes`, which the server scenarios do not pass).
            .args(["build", "--release", "--package", "sse-live-server", "--package", "sse-live-bench"])
            .args(["--features", crate::test::SERVER_TEST_ROUTES])
            .current_dir(workspace_root()),
    )?;
    let release = target_dir().join("release");
    let ours = release.join("sse-live-server");
    let ours_publishes = output(Command::new(&ours).arg("--help")).is_some_and(|help| help.contains("--publish-key"));
    let binaries = scenarios::Binaries {
        ours,
        bare: release.join("bare-sse-server"),
        floor: release.join("floor-sse-server"),
        loadgen: release.join("sse-loadgen"),
        ours_publishes,
        logs: logs.to_path_buf(),
        direct_ab: options.direct_ab,
    };
    if !ours_publishes {
        notes.push(
            "This build of sse-live-server has no `POST /events/{topic}` (no `--publish-key` flag): the publish \
             scenarios ran against the floor and the bare server only, and ours' fan-out latency is the spread alone."
                .to_owned(),
        );
    }

    let mut runs = Vec::new();
    let wanted = |name: &str| options.scenarios.is_empty() || options.scenarios.iter().any(|n| n == name);
    for scenario in scenarios::plan(options.quick).into_iter().filter(|s| wanted(s.name)) {
        println!(
            "\n==> scenario {} ({:?}, {:?} streams, {})",
            scenario.name, scenario.drive, scenario.connections, scenario.duration
        );
        for run in scenarios::run(&scenario, &binaries)? {
            let name =
                format!("{}-{}-{}.json", run.scenario, run.server.replace(' ', "-"), run.report.connections.requested);
            write(&out.join(name), &to_json(&run)?)?;
            runs.push(run);
        }
    }
    Ok(runs)
}

fn mode(options: &Options) -> &'static str {
    if options.only_bundle {
        "bundle-only"
    } else if options.only_servers && options.quick {
        "quick-servers-only"
    } else if options.only_servers {
        "servers-only"
    } else if options.quick {
        "quick"
    } else {
        "full"
    }
}

/// Re-renders `bench/chart.svg` and the generated part of BENCHMARKS.md from `results`, and prints the latter.
fn write_benchmarks_md(root: &Path, results: &Results) -> Result {
    let chart = chart::render(results);
    if let Some(svg) = &chart {
        write(&root.join("bench/chart.svg"), svg)?;
    }
    let path = root.join("BENCHMARKS.md");
    let md = markdown::render(results, chart.as_ref().map(|_| "bench/chart.svg"));
    write(&path, &markdown::splice(&read(&path)?, &md))?;
    println!("\n{md}\nxtask: wrote {}", path.display());
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map(|s| s + "\n").map_err(|e| format!("cannot write JSON: {e}"))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_parsed_and_unknown_ones_refused() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse(&args(&["--quick", "--no-parser"])).unwrap(),
            Options { quick: true, no_parser: true, ..Options::default() }
        );
        assert!(parse(&args(&["--fast"])).unwrap_err().contains("--fast"));
        assert_eq!(parse(&args(&["--only-bundle"])).unwrap(), Options { only_bundle: true, ..Options::default() });
        assert!(parse(&args(&["--only-bundle", "--no-bundle"])).unwrap_err().contains("contradict"));
        assert_eq!(
            parse(&args(&["--quick", "--only-servers"])).unwrap(),
            Options {
                quick: true,
                only_servers: true,
                no_bundle: true,
                no_ingest: true,
                no_parser: true,
                ..Options::default()
            }
        );
        assert_eq!(mode(&parse(&args(&["--quick", "--only-servers"])).unwrap()), "quick-servers-only");
        assert!(parse(&args(&["--only-servers", "--only-bundle"])).unwrap_err().contains("contradict"));
        let narrowed = parse(&args(&["--only-servers", "--direct-ab", "--scenarios=churn,fanout-tick-max"])).unwrap();
        assert!(narrowed.direct_ab);
        assert_eq!(narrowed.scenarios, ["churn", "fanout-tick-max"]);
        assert!(parse(&args(&["--scenarios=fanout"])).unwrap_err().contains("unknown scenario"));
    }
}
