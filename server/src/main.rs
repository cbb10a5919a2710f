//! The `sse-live-server` binary: flags to [`Config`], tracing, bind, one "listening" line on stdout, serve until
//! ctrl-c or SIGTERM.
//!
//! Run with `cargo run -p sse-live-server -- --listen 127.0.0.1:3000 --dist dist` (`--help` lists every flag).
//! Logs go to stderr (`RUST_LOG`, default `info`); stdout carries only
//! `sse-live-server listening on http://ADDR`, which the build tooling reads. Any startup error (a bad flag, a
//! `--jwt-secret` under 32 bytes, `--test-routes` in a build without them, an address that cannot be bound) is
//! reported on stderr in one line and exits with code 1.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use sse_live_server::{run, shutdown_signal, Config};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::try_parse() {
        Ok(config) => config,
        Err(error) => {
            let _ = error.print();
            // --help and --version are not failures.
            return if error.use_stderr() { ExitCode::FAILURE } else { ExitCode::SUCCESS };
        }
    };
    // Before anything is bound or printed: a short --jwt-secret, --test-routes in a build without them.
    if let Err(error) = config.check() {
        eprintln!("error: {error}");
        return ExitCode::FAILURE;
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colour).init();

    let listener = match TcpListener::bind(config.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {}", config.listen, describe(&error));
            return ExitCode::FAILURE;
        }
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => {
            eprintln!("error: cannot read the listening address: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "sse-live-server listening on http://{address}").and_then(|()| stdout.flush()).is_err() {
        // Nobody reads stdout any more; serve anyway (logs still go to stderr).
        tracing::warn!("cannot write the listening line to stdout");
    }
    drop(stdout);

    match run(listener, config, shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// A bind error in a few words ("address already in use"), without the OS error number.
fn describe(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::AddrInUse => "address already in use".to_owned(),
        ErrorKind::AddrNotAvailable => "address not available on this machine".to_owned(),
        ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}
