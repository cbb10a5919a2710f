//! `cargo xtask test`: every check and test, in the order that fails fastest.

use std::process::Command;
use std::time::Instant;

use crate::server::{free_port, RunningServer};
use crate::step;
use crate::tools::{ensure_browser, ensure_client_tools, ensure_redis, trunk_build_release};
use crate::{target_dir, workspace_root, Result};

/// Installs what is missing, then fmt, clippy (native and wasm32), native tests, the release build of the
/// client, and the browser tests against a real server. Stops at the first failure.
pub fn run() -> Result {
    let started = Instant::now();
    let root = workspace_root();
    let tools = ensure_client_tools()?;
    ensure_browser()?;
    ensure_redis()?;

    let cargo = |args: &[&str]| {
        let mut command = Command::new("cargo");
        command.args(args).current_dir(&root);
        command
    };
    step::run("checking formatting", &mut cargo(&["fmt", "--all", "--check"]))?;
    step::run(
        "clippy, native (the whole workspace; a cold build takes a few minutes)",
        &mut cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
    )?;
    step::run(
        "clippy, wasm32 (the client and the protocol crate)",
        &mut cargo(&[
            "clippy",
            "--package",
            "sse-live",
            "--package",
            "sse-live-protocol",
            "--all-targets",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step::run(
        "native tests (protocol, server, client logic, xtask)",
        // The end-to-end tests need the built page: they run last.
        &mut cargo(&["test", "--workspace", "--exclude", "sse-live-e2e"]),
    )?;
    trunk_build_release(&tools)?;

    step::run("building the server for the browser tests", &mut cargo(&["build", "--package", "sse-live-server"]))?;
    let target_dir = target_dir();
    let page_port = free_port()?;
    let page_origin = format!("http://127.0.0.1:{page_port}");
    let server = RunningServer::start(
        &target_dir.join("debug/sse-live-server"),
        &[
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--test-routes".into(),
            "--keep-alive".into(),
            "1s".into(),
            "--allow-origin".into(),
            page_origin.clone(),
            "--dist".into(),
            root.join("dist").to_string_lossy().into_owned(),
        ],
    )?;
    let browser_tests = step::run(
        "browser tests in headless Chromium against the real server (first build ~3 minutes)",
        cargo(&[
            "test",
            "--package",
            "sse-live",
            "--target",
            "wasm32-unknown-unknown",
            "--test",
            "use_event_source",
            "--test",
            "fetch_transport",
            "--test",
            "reconnect",
            "--test",
            "lifecycle",
            "--test",
            "sharing",
            "--test",
            "page_events",
            "--test",
            "coalescing",
        ])
        .env("PATH", &tools.path)
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner")
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", root.join("webdriver.json"))
        .env("WASM_BINDGEN_TEST_ADDRESS", format!("127.0.0.1:{page_port}"))
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
        .env("SSE_LIVE_TEST_SERVER", &server.url),
    );
    drop(server);
    browser_tests?;

    step::run(
        "end-to-end tests: the release page from the real server in headless Chromium (~1 minute)",
        cargo(&["test", "--package", "sse-live-e2e"])
            .env("SSE_LIVE_DIST", root.join("dist"))
            .env("SSE_LIVE_SERVER_BIN", target_dir.join("debug/sse-live-server"))
            .env("CHROMEDRIVER", "/usr/bin/chromedriver"),
    )?;

    println!("\nxtask: all checks and tests passed in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
