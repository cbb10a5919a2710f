//! `cargo xtask test`: every check and test, in the order that fails fastest.

use std::process::Command;
use std::time::Instant;

use crate::server::{free_port, RunningServer};
use crate::step;
use crate::tools::{
    browser_test_env, browser_tmp_dir, clear_browser_tmp_dir, ensure_browser, ensure_client_tools, ensure_redis,
    trunk_build_release,
};
use crate::{target_dir, workspace_root, Result};

/// The hook crate, whose browser tests are most of them.
const HOOK_CRATE: &str = "leptos-sse-live";

/// The browser test suites in `leptos-sse-live/tests/` (each a wasm-bindgen-test binary run in headless Chromium).
const BROWSER_SUITES: [&str; 12] = [
    "use_event_source",
    "fetch_transport",
    "reconnect",
    "lifecycle",
    "sharing",
    "page_events",
    "coalescing",
    "timing",
    "shared_options",
    "page_resources",
    "notices",
    "cross_tab",
];

/// The most one browser test may take: every wait in a test has a deadline of its own, the longest ones (a spent
/// reconnect budget at its ceilings, several stall timeouts) under 30 s even with a loaded machine's slack.
const BROWSER_TEST_SECS: u32 = 45;

/// Loading the test page and instantiating the suite's module, once per suite.
const BROWSER_SUITE_SETUP_SECS: u32 = 30;

/// The runner's timeout for a suite (wasm-bindgen-test-runner's `WASM_BINDGEN_TEST_TIMEOUT` covers the whole
/// suite, whose tests run one after the other in one page): [`BROWSER_TEST_SECS`] per test it declares, plus setup.
/// A fixed suite-wide figure fails a growing suite on a loaded machine, or hides a hang in a small one.
fn suite_timeout_secs(source: &str) -> u32 {
    let tests = source.lines().filter(|line| line.trim() == "#[wasm_bindgen_test]").count();
    BROWSER_SUITE_SETUP_SECS + BROWSER_TEST_SECS * u32::try_from(tests).unwrap_or(u32::MAX / BROWSER_TEST_SECS)
}

/// The server's cargo feature that compiles in the `/test/*` routes (`--test-routes`), which the server's own tests,
/// the browser tests and the end-to-end tests use; shipped builds leave it out.
pub const SERVER_TEST_ROUTES: &str = "sse-live-server/test-routes";

/// The demo's browser tests in `tests/` (its components in the page).
const DEMO_BROWSER_SUITES: [&str; 1] = ["components"];

/// Free space a cold run needs for its target directory (native debug and release, wasm32 debug and release:
/// 4.0 GB measured cold in CI mode), with room to spare.
const DISK_NEEDED_GIB: u64 = 8;

/// Says so before the build when the target directory's disk is nearly full: a full disk shows up much later as
/// a linker's "Bus error" or "No space left on device", far from its cause.
fn warn_if_disk_is_short() {
    let dir = target_dir();
    let probe = if dir.exists() { dir } else { workspace_root() };
    if let Some(kib) = free_kib(&probe) {
        let gib = kib as f64 / (1024.0 * 1024.0);
        if gib < DISK_NEEDED_GIB as f64 {
            println!(
                "\nxtask: warning: {gib:.1} GiB free on the disk of {}; a cold run writes about 4 GB there \
                 and wants {DISK_NEEDED_GIB} GiB free. Free some space (cargo clean) if the build fails with a \
                 bus error or \"No space left on device\".",
                probe.display()
            );
        }
    }
}

/// The space free on the disk of `path`, in KiB, as `df -Pk` reports it (POSIX format: the fourth field of the
/// second line); `None` when df cannot run or says something else.
fn free_kib(path: &std::path::Path) -> Option<u64> {
    parse_df(&step::output(Command::new("df").arg("-Pk").arg(path))?)
}

fn parse_df(out: &str) -> Option<u64> {
    out.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()
}

/// Installs what is missing, then fmt, clippy (native and wasm32), native tests, the release build of the
/// client, and the browser tests against a real server. Stops at the first failure.
pub fn run() -> Result {
    let started = Instant::now();
    let root = workspace_root();
    warn_if_disk_is_short();
    let tools = ensure_client_tools()?;
    ensure_browser()?;
    ensure_redis()?;

    // CI builds once from a fresh checkout: the incremental cache only costs disk there.
    let ci = std::env::var_os("CI").is_some();
    let cargo = |args: &[&str]| {
        let mut command = Command::new("cargo");
        command.args(args).current_dir(&root);
        if ci {
            command.env("CARGO_INCREMENTAL", "0");
        }
        command
    };
    step::run("checking formatting", &mut cargo(&["fmt", "--all", "--check"]))?;
    step::run(
        "clippy, native (the whole workspace, the server with its test routes; a cold build takes a few minutes)",
        &mut cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--features",
            SERVER_TEST_ROUTES,
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step::run(
        "clippy, wasm32 (the hook, the demo and the protocol crate)",
        &mut cargo(&[
            "clippy",
            "--package",
            HOOK_CRATE,
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
        "clippy, wasm32: the hook crate with none of its optional features",
        &mut cargo(&[
            "clippy",
            "--package",
            HOOK_CRATE,
            "--no-default-features",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    step::run(
        "native tests (protocol, server with its test routes, the hook under SSR and its logic, xtask)",
        // The end-to-end tests need the built page: they run last.
        &mut cargo(&["test", "--workspace", "--exclude", "sse-live-e2e", "--features", SERVER_TEST_ROUTES]),
    )?;
    step::run(
        "the server binary as shipped, without test routes: it refuses --test-routes",
        &mut cargo(&["test", "--package", "sse-live-server", "--test", "binary"]),
    )?;
    trunk_build_release(&tools)?;

    step::run(
        "building the server for the browser tests (with its test routes)",
        &mut cargo(&["build", "--package", "sse-live-server", "--features", SERVER_TEST_ROUTES]),
    )?;
    let target_dir = target_dir();
    // What a run that failed half-way left behind.
    clear_browser_tmp_dir();
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
    // The hook crate's suites, then the demo's: two packages against the same server, one suite at a time (each with
    // a timeout from the tests it declares). The hook's suites need its `fetch` and `cross-tab` features (the demo
    // turns them on itself).
    let browser_tests = [(HOOK_CRATE, &BROWSER_SUITES[..]), ("sse-live", &DEMO_BROWSER_SUITES[..])]
        .into_iter()
        .flat_map(|(package, suites)| suites.iter().map(move |suite| (package, *suite)))
        .try_for_each(|(package, suite)| {
            let dir = if package == HOOK_CRATE { root.join(HOOK_CRATE) } else { root.clone() };
            let path = dir.join("tests").join(format!("{suite}.rs"));
            let source = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let timeout = suite_timeout_secs(&source);
            let mut command =
                cargo(&["test", "--package", package, "--target", "wasm32-unknown-unknown", "--test", suite]);
            command.args(["--features", "leptos-sse-live/fetch,leptos-sse-live/cross-tab"]);
            browser_test_env(&mut command, &tools, page_port, &server.url, timeout);
            step::run(
                &format!(
                    "{package}: browser tests `{suite}` in headless Chromium against the real server (timeout \
                     {timeout} s; the first build takes ~3 minutes)"
                ),
                &mut command,
            )
        });
    drop(server);
    browser_tests?;

    step::run(
        "end-to-end tests: the release page from the real server in headless Chromium (~1 minute)",
        cargo(&["test", "--package", "sse-live-e2e"])
            .env("SSE_LIVE_DIST", root.join("dist"))
            .env("SSE_LIVE_SERVER_BIN", target_dir.join("debug/sse-live-server"))
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env("TMPDIR", browser_tmp_dir()),
    )?;
    clear_browser_tmp_dir();

    println!("\nxtask: all checks and tests passed in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suites_timeout_grows_with_its_tests() {
        let suite =
            "#[wasm_bindgen_test]\nasync fn a() {}\n\n    #[wasm_bindgen_test]\nfn b() {}\n// #[wasm_bindgen_test]\n";
        assert_eq!(suite_timeout_secs(suite), BROWSER_SUITE_SETUP_SECS + 2 * BROWSER_TEST_SECS);
        assert_eq!(suite_timeout_secs(""), BROWSER_SUITE_SETUP_SECS);
        for suite in BROWSER_SUITES {
            let source =
                std::fs::read_to_string(workspace_root().join(HOOK_CRATE).join("tests").join(format!("{suite}.rs")))
                    .unwrap();
            assert!(suite_timeout_secs(&source) > BROWSER_SUITE_SETUP_SECS, "{suite} declares tests");
        }
    }

    #[test]
    fn free_space_is_read_from_df() {
        let root = workspace_root();
        let kib = free_kib(&root).expect("df -Pk answers for the workspace");
        assert!(kib > 0);
        let out =
            "Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/vda 264000000 94000000 1677721 99% /\n";
        assert_eq!(parse_df(out), Some(1_677_721));
        assert_eq!(parse_df("df: /nowhere: No such file or directory\n"), None);
        assert_eq!(parse_df("header\n/dev/vda a b c d /\n"), None);
    }
}
