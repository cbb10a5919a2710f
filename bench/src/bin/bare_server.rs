//! `bare-sse-server`: the benchmark's peer, axum's `Sse` over tokio broadcast channels (see
//! `sse_live_bench::bare`). Prints `bare-sse-server listening on http://ADDR` on stdout once bound.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use sse_live_bench::bare::Bare;

/// The bare peer server's flags.
#[derive(Debug, Parser)]
#[command(name = "bare-sse-server", about = "axum Sse + tokio broadcast, as a user writes it from axum's example")]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Bearer key required by `POST /events/{topic}` (none: publishing is open).
    #[arg(long)]
    publish_key: Option<String>,
    /// Messages each topic's channel holds before a slow subscriber skips some.
    #[arg(long, default_value_t = 100)]
    capacity: usize,
    /// Publish a timestamped event to the topic `ticks` at this interval (humantime: `1s`, `1ms`).
    #[arg(long, value_parser = humantime::parse_duration)]
    tick: Option<Duration>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    sse_live_bench::fd_limit::raise()?;
    let bare = Bare::new(args.publish_key, args.capacity);
    if let Some(period) = args.tick.filter(|p| !p.is_zero()) {
        bare.spawn_ticker(period);
    }
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("bare-sse-server listening on http://{}", listener.local_addr()?);
    axum::serve(listener, bare.router()).await
}
