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
            // The page's job and private-channel cards; flags given after `--` win (the last of a flag counts).
            .args(["--demo-jobs", "--demo-auth", "--jwt-secret", &random_secret()?])
            .args(server_args)
            .current_dir(&root),
    )
}

/// A fresh secret for this run's demo tokens: 32 random bytes from the kernel, as hex.
fn random_secret() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom for the demo's token secret: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
