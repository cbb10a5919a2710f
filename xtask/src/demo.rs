//! `cargo xtask demo`: build the client in release and run the server that serves it.

use std::process::Command;

use crate::step;
use crate::tools::{ensure_client_tools, trunk_build_release};
use crate::{workspace_root, Result};

/// Builds the page and the server, then runs the server in the foreground (ctrl-c stops it).
pub fn run(server_args: &[String]) -> Result {
    let root = workspace_root();
    let tools = ensure_client_tools()?;
    trunk_build_release(&tools)?;
    let server_args: Vec<&String> = server_args.iter().skip_while(|a| *a == "--").collect();
    println!("\n==> starting the server (it prints the URL to open; ctrl-c stops it)");
    step::run(
        "running sse-live-server (release; the first build takes ~2 minutes)",
        Command::new("cargo")
            .args(["run", "--release", "--quiet", "--package", "sse-live-server", "--", "--dist"])
            .arg(root.join("dist"))
            .args(server_args)
            .current_dir(&root),
    )
}
