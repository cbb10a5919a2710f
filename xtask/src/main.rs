//! `cargo xtask`: the project's two commands.
//!
//! - `cargo xtask demo [-- SERVER FLAGS]`: installs what is missing, builds the client in release, starts the
//!   server that serves the page and the streams, and prints the URL.
//! - `cargo xtask test`: installs what is missing, then runs every check and test: fmt, clippy (native and
//!   wasm32), the native tests, the release build of the client, and the browser tests in headless Chromium
//!   against a real server.
//!
//! Modules: [`tools`] installs and checks the toolchain, [`step`] runs commands and reports them,
//! [`server`] starts the real server for the browser tests, [`demo`] and [`test`] are the two commands.

mod demo;
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
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(&args[1..]),
        Some("test") => test::run(),
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

/// Errors are plain messages: each says what failed and what to do.
type Result<T = ()> = std::result::Result<T, String>;
