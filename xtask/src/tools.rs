//! Installs what the build and the tests need, each step skipped when the tool is already there at the right
//! version. Everything comes from crates.io, the npm registry or Debian's packages: nothing is downloaded from
//! anywhere else (trunk's own downloads are avoided by pinning, in Trunk.toml, exactly the versions installed here).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::step::{self, output};
use crate::{workspace_root, Result};

/// The trunk release we build with (0.22 declares Rust 1.96.1 but builds and works on 1.95).
const TRUNK_VERSION: &str = "0.22.1";
/// wasm-opt's version as trunk reads it; the npm package binaryen@132 (package.json) provides it.
const WASM_OPT_VERSION: &str = "version_132";

/// What the client build needs, installed: the `PATH` to run trunk and the test runner with.
pub struct ClientTools {
    /// `node_modules/.bin` (wasm-opt) and cargo's bin directory first, then the inherited `PATH`.
    pub path: OsString,
}

/// The wasm32 target, trunk, wasm-bindgen-cli at the Cargo.lock version, and wasm-opt (binaryen 132 from npm).
pub fn ensure_client_tools() -> Result<ClientTools> {
    let root = workspace_root();
    let path = tool_path(&root)?;

    let targets = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !targets.lines().any(|t| t == "wasm32-unknown-unknown") {
        step::run(
            "installing the wasm32-unknown-unknown target (seconds)",
            Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]),
        )?;
    }

    let trunk = output(Command::new("trunk").arg("--version").env("PATH", &path)).unwrap_or_default();
    if trunk != format!("trunk {TRUNK_VERSION}") {
        step::run(
            &format!("building trunk {TRUNK_VERSION} (found {trunk:?}); the first time takes ~14 minutes on 2 cores"),
            Command::new("cargo").args([
                "install",
                "trunk",
                "--version",
                TRUNK_VERSION,
                "--locked",
                "--ignore-rust-version",
            ]),
        )?;
    }

    let wasm_bindgen = locked_version(&root.join("Cargo.lock"), "wasm-bindgen")?;
    check_trunk_pins(&root.join("Trunk.toml"), &wasm_bindgen)?;
    let installed = output(Command::new("wasm-bindgen").arg("--version").env("PATH", &path)).unwrap_or_default();
    if installed != format!("wasm-bindgen {wasm_bindgen}") {
        // No --locked: wasm-bindgen-cli's lockfile pins a webpki-roots release the registry here lacks.
        step::run(
            &format!(
                "building wasm-bindgen-cli {wasm_bindgen}, the version Cargo.lock resolves (found {installed:?}); \
                 takes ~3.5 minutes"
            ),
            Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &wasm_bindgen]),
        )?;
    }

    let wasm_opt = output(Command::new(root.join("node_modules/.bin/wasm-opt")).arg("--version")).unwrap_or_default();
    if !wasm_opt.contains(WASM_OPT_VERSION) {
        if output(Command::new("npm").arg("--version")).is_none() {
            apt_install(&["npm"])?;
        }
        step::run(
            "installing wasm-opt (npm package binaryen@132, from package-lock.json; seconds)",
            Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&root),
        )?;
    }
    Ok(ClientTools { path })
}

/// `trunk build --release`: the client with the size profile and wasm-opt -Oz, into `dist/`.
/// Sets what `cargo test --target wasm32-unknown-unknown` needs to run wasm-bindgen-test suites in headless Chromium
/// against the real server at `server_url`: the runner, chromedriver and its settings, the test page's address
/// (`127.0.0.1:page_port`, which the server must allow as an origin) and a timeout of `timeout_secs` for the whole
/// suite (wasm-bindgen-test-runner's `WASM_BINDGEN_TEST_TIMEOUT`: a suite's tests run one after the other in one page).
pub fn browser_test_env<'c>(
    command: &'c mut Command,
    tools: &ClientTools,
    page_port: u16,
    server_url: &str,
    timeout_secs: u32,
) -> &'c mut Command {
    command
        .env("PATH", &tools.path)
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner")
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", workspace_root().join("webdriver.json"))
        .env("WASM_BINDGEN_TEST_ADDRESS", format!("127.0.0.1:{page_port}"))
        .env("WASM_BINDGEN_TEST_TIMEOUT", timeout_secs.to_string())
        .env("SSE_LIVE_TEST_SERVER", server_url)
        .env("TMPDIR", browser_tmp_dir())
}

/// Where the browsers of the tests and benchmarks keep their temporary profiles (`TMPDIR`): Chromium leaves a
/// `org.chromium.Chromium.*` directory of up to 17 MB behind for each session chromedriver ends, 3 for each suite
/// (measured), which under `/tmp` were never deleted and filled the disk CI shares. [`clear_browser_tmp_dir`] empties
/// it once the browsers are gone.
pub fn browser_tmp_dir() -> PathBuf {
    let dir = crate::target_dir().join("tmp/browsers");
    // A missing directory makes Chromium fall back to /tmp; an error here shows up as that, not as a failure.
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Deletes what the browsers left in [`browser_tmp_dir`] (call it when none runs).
pub fn clear_browser_tmp_dir() {
    let _ = std::fs::remove_dir_all(crate::target_dir().join("tmp/browsers"));
}

/// `trunk build --release` into `dist/`, then the `.br` and `.gz` of its files (see [`crate::precompress`]).
pub fn trunk_build_release(tools: &ClientTools) -> Result {
    step::run(
        "building the client in release with trunk (size profile, wasm-opt -Oz; a cold build takes ~7 minutes)",
        Command::new("trunk")
            .args(["build", "--release"])
            .current_dir(workspace_root())
            .env("PATH", &tools.path)
            .env("TRUNK_SKIP_VERSION_CHECK", "true"),
    )?;
    let dist = workspace_root().join("dist");
    let summary = crate::precompress::precompress(&dist)?;
    println!("    {}", summary.describe(&dist));
    Ok(())
}

/// Debian's chromium and chromium-driver, for the browser tests.
pub fn ensure_browser() -> Result {
    let missing: Vec<&str> = [("chromium", "/usr/bin/chromium"), ("chromium-driver", "/usr/bin/chromedriver")]
        .into_iter()
        .filter(|(_, binary)| !Path::new(binary).exists())
        .map(|(package, _)| package)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        apt_install(&missing)
    }
}

/// Debian's redis-server, for the tests of the Redis backplane.
pub fn ensure_redis() -> Result {
    if output(Command::new("redis-server").arg("--version")).is_some() {
        Ok(())
    } else {
        apt_install(&["redis-server"])
    }
}

/// `apt-get install` as root (the machines here run as root); otherwise says which command to run.
fn apt_install(packages: &[&str]) -> Result {
    let list = packages.join(" ");
    if output(Command::new("id").arg("-u")).as_deref() != Some("0") {
        return Err(format!("{list} missing: run `sudo apt-get update && sudo apt-get install -y {list}`, then again"));
    }
    step::run(
        "updating Debian's package lists (~10 s)",
        Command::new("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    step::run(
        &format!("installing {list} from Debian's packages (~45 s)"),
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// `PATH` with the npm-installed wasm-opt and cargo-installed tools first (trunk picks tools from `PATH`).
fn tool_path(root: &Path) -> Result<OsString> {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let dirs =
        [root.join("node_modules/.bin"), cargo_home.join("bin")].into_iter().chain(std::env::split_paths(&inherited));
    std::env::join_paths(dirs).map_err(|e| format!("cannot build PATH: {e}"))
}

/// The version of `package` that Cargo.lock resolves.
pub fn locked_version(lock: &Path, package: &str) -> Result<String> {
    let text = std::fs::read_to_string(lock).map_err(|e| format!("cannot read {}: {e}", lock.display()))?;
    let name_line = format!("name = \"{package}\"");
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line == name_line {
            if let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = \"")) {
                return Ok(version.trim_end_matches('"').to_string());
            }
        }
    }
    Err(format!("{} resolves no {package}", lock.display()))
}

/// trunk downloads any tool whose installed version differs from its pin, which fails on a closed network:
/// the pins must be exactly what is installed.
fn check_trunk_pins(trunk_toml: &Path, wasm_bindgen: &str) -> Result {
    let text = std::fs::read_to_string(trunk_toml).map_err(|e| format!("cannot read {}: {e}", trunk_toml.display()))?;
    for (key, want) in [("wasm_bindgen", wasm_bindgen), ("wasm_opt", WASM_OPT_VERSION)] {
        let expected = format!("{key} = \"{want}\"");
        if !text.lines().any(|l| l.trim() == expected) {
            return Err(format!(
                "{} must pin `{expected}` (what is installed), or trunk will try a download",
                trunk_toml.display()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lockfile_resolves_the_wasm_bindgen_that_trunk_toml_pins() {
        let root = workspace_root();
        let version = locked_version(&root.join("Cargo.lock"), "wasm-bindgen").unwrap();
        check_trunk_pins(&root.join("Trunk.toml"), &version).unwrap();
    }

    #[test]
    fn a_missing_package_is_an_error() {
        let root = workspace_root();
        assert!(locked_version(&root.join("Cargo.lock"), "no-such-package").is_err());
    }
}
