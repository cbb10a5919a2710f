//! The end-to-end harness: the real server as a process ([`server`]), a path to it that can be cut ([`outage`]),
//! and a headless Chromium driven over WebDriver ([`browser`]). The tests in `tests/` load the release build of the
//! page (`dist/`, from `trunk build --release`) from the server, through the browser, as a person would.
//!
//! `cargo xtask test` builds the page and the server first and passes their paths:
//! - `SSE_LIVE_DIST`: the built page (default: `dist/` in the workspace);
//! - `SSE_LIVE_SERVER_BIN`: the server binary (default: `target/debug/sse-live-server` in the workspace, or under
//!   `CARGO_TARGET_DIR`);
//! - `CHROMEDRIVER` (default `/usr/bin/chromedriver`) and `webdriver.json` (the browser's flags) as for the browser
//!   tests;
//! - screenshots go to `target/e2e/`.

pub mod browser;
pub mod outage;
pub mod server;

use std::path::PathBuf;
use std::time::Duration;

/// How long anything that "arrives" may take before a test fails: generous, for a loaded 2-core machine.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("e2e/ sits in the workspace").to_path_buf()
}

/// Where the tests write their artifacts (screenshots): `target/e2e/` (or under `CARGO_TARGET_DIR`).
pub fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    let dir = target.join("e2e");
    std::fs::create_dir_all(&dir).expect("create target/e2e");
    dir
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}
