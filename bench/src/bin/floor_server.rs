//! `floor-sse-server`: the benchmark's floor, an SSE server with no async runtime and no HTTP library, one `write(2)`
//! of a pre-encoded frame per stream (see `sse_live_bench::floor`). Prints `floor-sse-server listening on
//! http://ADDR` on stdout once bound.

use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use clap::Parser;
use sse_live_bench::floor::Floor;

/// The floor server's flags (the bare peer's, plus `--threads`).
#[derive(Debug, Parser)]
#[command(name = "floor-sse-server", about = "The fan-out floor: threads and write(2), nothing else")]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Bearer key required by `POST /events/{topic}` (none: publishing is open).
    #[arg(long)]
    publish_key: Option<String>,
    /// Publish a timestamped event to the topic `ticks` at this interval (humantime: `1s`, `1ms`).
    #[arg(long, value_parser = humantime::parse_duration)]
    tick: Option<Duration>,
    /// Fan-out threads, each writing to its share of the streams (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    sse_live_bench::fd_limit::raise()?;
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let floor = Floor::new(args.publish_key, threads);
    if let Some(period) = args.tick.filter(|p| !p.is_zero()) {
        floor.spawn_ticker(period);
    }
    let listener = TcpListener::bind(args.listen)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "floor-sse-server listening on http://{}", listener.local_addr()?)?;
    stdout.flush()?;
    drop(stdout);
    eprintln!("floor-sse-server: {threads} fan-out thread(s)");
    floor.serve(&listener)
}
