//! `sse-loadgen`: opens N SSE streams to a URL and measures what arrives (see `sse_live_bench::loadgen`).
//!
//! ```sh
//! sse-loadgen --url http://127.0.0.1:3000/e/temperatures -n 10000 --duration 10s --server-pid 1234
//! sse-loadgen --url http://127.0.0.1:3001/events/a -n 1000 --publish-url http://127.0.0.1:3001/events/a \
//!     --publish-key secret --publish-rate max --json
//! ```

use std::process::ExitCode;

use clap::Parser;
use sse_live_bench::loadgen::{self, Options};

fn main() -> ExitCode {
    let options = Options::parse();
    match sse_live_bench::fd_limit::raise() {
        Ok(limit) if (limit as usize) < options.connections + 64 => {
            eprintln!("sse-loadgen: warning: the open-file limit is {limit}, short of {} streams", options.connections)
        }
        Ok(_) => {}
        Err(error) => eprintln!("sse-loadgen: warning: cannot raise the open-file limit: {error}"),
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sse-loadgen: cannot start tokio: {error}");
            return ExitCode::FAILURE;
        }
    };
    let json = options.json;
    let report = runtime.block_on(loadgen::run(options));
    // The streams are dropped with the runtime, without waiting for them.
    runtime.shutdown_background();
    match report {
        Ok(report) if json => match serde_json::to_string_pretty(&report) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("sse-loadgen: cannot write JSON: {error}");
                ExitCode::FAILURE
            }
        },
        Ok(report) => {
            print!("{}", report.to_text());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("sse-loadgen: {error}");
            ExitCode::FAILURE
        }
    }
}
