//! `cargo xtask`: the project's two commands.
//!
//! - `cargo xtask demo [-- SERVER FLAGS]`: installs what is missing, builds the client in release, starts the
//!   server that serves the page and the streams, and prints the URL.
//! - `cargo xtask test`: installs what is missing, then runs every check and test: fmt, clippy (native and
//!   wasm32), the native tests, the release build of the client, and the browser tests in headless Chromium
//!   against a real server.
//! - `cargo xtask precompress [DIR]`: the `.br` and `.gz` of a client built by hand (default `dist/`).
//! - `cargo xtask bench [--quick]`: the benchmarks (server capacity, fan-out and publishing against a bare axum
//!   peer, bundle size of the demo and of a minimal app built three ways, client ingest in headless Chromium
//!   against plain JavaScript, the parser), written to `target/bench/` and BENCHMARKS.md. Never part of `test`.
//!
//! Modules: [`tools`] installs and checks the toolchain, [`step`] runs commands and reports them,
//! [`precompress`] writes the `.br` and `.gz` of the built client, [`server`] starts a real server and stops it, [`demo`], [`test`] and [`bench`] are the commands.

mod bench;
mod demo;
mod precompress;
mod server;
mod step;
mod test;
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  demo [-- FLAGS]   build the client (release) and run the server that serves it; FLAGS go to sse-live-server
                    (for example: cargo xtask demo -- --listen 0.0.0.0:8080)
  test              install what is missing, then fmt, clippy, native tests, release build, browser tests
  precompress [DIR] write the .br and .gz of a client built by hand (`trunk build --release`) beside its files,
                    for the server to send (DIR: dist); demo, test and bench do it after their own build
  bench [FLAGS]     the benchmarks: our server against a bare axum peer and the floor (threads and write(2))
                    (capacity, fan-out, publishing), the client's bundle size and its ingest in headless
                    Chromium against plain JavaScript, the parser; JSON in target/bench/, into BENCHMARKS.md
                    --quick      a smoke run of a few minutes; writes target/bench/ only
                    --report     only re-render BENCHMARKS.md from bench/results.json
                    --no-parser  skip the parser's criterion bench (full mode runs it)
                    --no-bundle  skip the client build and its sizes (the demo's and the minimal apps')
                    --only-bundle  only the bundle sizes: the demo and the minimal app built three ways
                                   (bench/minimal/); writes target/bench/ only
                    --no-ingest  skip the client ingest benchmark in headless Chromium
                    --only-servers  only the server scenarios (floor, bare, ours); writes target/bench/ only
                    --scenarios=a,b  only these server scenarios (capacity, fanout-tick-max, fanout-publish-1s,
                                   fanout-publish-max, publish-throughput, churn)
                    --direct-ab  ours twice per scenario: direct fan-out on (sse-live) and off
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(&args[1..]),
        Some("test") => test::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("precompress") => precompress::run(&args[1..]),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nxtask: error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of `xtask/`).
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, or `target/` in the workspace.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// Errors are plain messages: each says what failed and what to do.
type Result<T = ()> = std::result::Result<T, String>;
