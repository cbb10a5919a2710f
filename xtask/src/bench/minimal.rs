//! Bundle size of the minimal app (one `EventSource` on `/e/temperatures`, its last message's data shown as text)
//! built four ways, from the crate `bench/minimal/`: [`BY_HAND`] (web-sys, no framework), [`LEPTOS_BY_HAND`]
//! (Leptos, web-sys by hand: the floor both hooks are overhead on), [`HOOK`] (Leptos + our hook) and [`LEPTOS_USE`]
//! (Leptos + leptos-use-event-source); and our hook with JSON on four streams decoded into one type
//! ([`HOOK_ONE_TYPE`]) or four ([`HOOK_FOUR_TYPES`]), whose difference is what three more message types cost, and the
//! same two with leptos-use's hook ([`LEPTOS_USE_ONE_TYPE`], [`LEPTOS_USE_FOUR_TYPES`]); the minimal app's stream
//! decoded as JSON with each hook ([`HOOK_JSON`], [`LEPTOS_USE_JSON`]); and
//! what each of the hook's features costs the minimal app ([`FEATURE_APPS`]: the stream decoded as JSON, the hook
//! built with `fetch`, with `cross-tab`), for the feature table of the hook's README.
//!
//! Each is built as trunk builds the demo (trunk 0.22's commands, with index.html's `data-wasm-opt="z"`):
//! `cargo build --target wasm32-unknown-unknown --profile wasm-release --bin NAME` (the crate's profile is the
//! root's; no `--cfg erase_components`, which the demo has and these apps are larger with),
//! `wasm-bindgen --target=web --no-typescript`, `wasm-opt -Oz`; trunk does not minify the JS by default,
//! so neither does this. The sizes are of `NAME_bg.wasm` and `NAME.js` as a server would ship them.

use std::path::Path;
use std::process::Command;

use super::bundle;
use super::results::MinimalApp;
use crate::step::{self, output};
use crate::tools::{locked_version, ClientTools};
use crate::{workspace_root, Result};

/// The hand-written build, the reference the others are compared with.
pub const BY_HAND: &str = "websys";
/// Leptos with a hand-written web-sys `EventSource` feeding a signal: the Leptos floor.
pub const LEPTOS_BY_HAND: &str = "leptos_websys";
/// Leptos + `leptos_sse_live::use_event_source`.
pub const HOOK: &str = "hook";
/// Leptos + `leptos_use_event_source::use_event_source`.
pub const LEPTOS_USE: &str = "leptos_use";
/// Our hook with JSON on four streams, all decoded into one type.
pub const HOOK_ONE_TYPE: &str = "hook_json_1type";
/// The same four streams decoded into four types.
pub const HOOK_FOUR_TYPES: &str = "hook_json_4types";
/// leptos-use's hook with JSON (codee's `JsonSerdeCodec`), the minimal app's stream decoded into one type: the peer
/// of [`HOOK_JSON`].
pub const LEPTOS_USE_JSON: &str = "leptos_use_json";
/// leptos-use's hook with JSON (codee's `JsonSerdeCodec`) on the same four streams, all decoded into one type.
pub const LEPTOS_USE_ONE_TYPE: &str = "leptos_use_1type";
/// The same four streams decoded into four types with leptos-use's hook.
pub const LEPTOS_USE_FOUR_TYPES: &str = "leptos_use_4types";
/// [`HOOK`]'s stream decoded as JSON into one type: against [`HOOK`], what the `json` feature costs.
pub const HOOK_JSON: &str = "hook_json";
/// [`HOOK`] built with the hook's `fetch` feature (the fetch transport linked, unused): what `fetch` costs.
pub const HOOK_FETCH: &str = "hook+fetch";
/// [`HOOK`] built with the hook's `cross-tab` feature (linked, the option off): what `cross-tab` costs.
pub const HOOK_CROSS_TAB: &str = "hook+cross-tab";

/// The hook crate's features and the app that measures each against [`HOOK`] (brotli bytes over it).
pub const FEATURE_APPS: [(&str, &str); 3] = [("json", HOOK_JSON), ("fetch", HOOK_FETCH), ("cross-tab", HOOK_CROSS_TAB)];

/// Builds the apps into `out/NAME/` and measures them, in the order [`BY_HAND`], [`LEPTOS_BY_HAND`], [`HOOK`],
/// [`LEPTOS_USE`], [`HOOK_ONE_TYPE`], [`HOOK_FOUR_TYPES`], [`LEPTOS_USE_JSON`], [`LEPTOS_USE_ONE_TYPE`],
/// [`LEPTOS_USE_FOUR_TYPES`], then the [`FEATURE_APPS`].
pub fn measure(tools: &ClientTools, out: &Path) -> Result<Vec<MinimalApp>> {
    let root = workspace_root();
    let manifest = root.join("bench/minimal/Cargo.toml");
    let lock = root.join("bench/minimal/Cargo.lock");
    let version = |package| locked_version(&lock, package);
    let wasm_bindgen = version("wasm-bindgen")?;
    let installed = output(Command::new("wasm-bindgen").arg("--version").env("PATH", &tools.path)).unwrap_or_default();
    if installed != format!("wasm-bindgen {wasm_bindgen}") {
        return Err(format!(
            "{} resolves wasm-bindgen {wasm_bindgen} but the CLI is {installed:?}: pin the root's version there",
            lock.display()
        ));
    }
    let leptos = format!("Leptos {}", version("leptos")?);
    let apps = [
        (BY_HAND, format!("web-sys {} by hand, no framework", version("web-sys")?)),
        (LEPTOS_BY_HAND, format!("{leptos}, a web-sys `EventSource` by hand feeding a signal")),
        (HOOK, format!("{leptos} + `leptos_sse_live::use_event_source` (leptos-sse-live)")),
        (LEPTOS_USE, format!("{leptos} + `leptos-use-event-source` {}", version("leptos-use-event-source")?)),
        (HOOK_ONE_TYPE, format!("{leptos} + our hook, JSON: four streams, one message type")),
        (HOOK_FOUR_TYPES, format!("{leptos} + our hook, JSON: four streams, four message types")),
        (LEPTOS_USE_JSON, format!("{leptos} + leptos-use-event-source, JSON: the stream decoded into one type")),
        (LEPTOS_USE_ONE_TYPE, format!("{leptos} + leptos-use-event-source, JSON: four streams, one message type")),
        (LEPTOS_USE_FOUR_TYPES, format!("{leptos} + leptos-use-event-source, JSON: four streams, four message types")),
        (HOOK_JSON, format!("{leptos} + our hook, JSON: the stream decoded into one type")),
        (HOOK_FETCH, format!("{leptos} + our hook with its `fetch` feature")),
        (HOOK_CROSS_TAB, format!("{leptos} + our hook with its `cross-tab` feature")),
    ];
    let wasm_opt = root.join("node_modules/.bin/wasm-opt");
    let built = crate::target_dir().join("wasm32-unknown-unknown/wasm-release");
    let mut measured = Vec::new();
    for (name, how) in apps {
        // `hook+fetch`: the binary `hook`, built with the feature `fetch` of bench/minimal.
        let (bin, features) = name.split_once('+').unwrap_or((name, ""));
        step::run(
            &format!("building the minimal app `{name}` ({how}; a cold build takes ~5 minutes, the next ones seconds)"),
            Command::new("cargo")
                .args(["build", "--target", "wasm32-unknown-unknown", "--profile", "wasm-release", "--bin", bin])
                .args(["--features", features])
                .arg("--manifest-path")
                .arg(&manifest)
                // Its own workspace would build into bench/minimal/target; the workspace's target directory is
                // where the steps below look, and it shares the cache with the rest.
                .arg("--target-dir")
                .arg(crate::target_dir())
                // Without the workspace's `--cfg erase_components` (.cargo/config.toml): it makes every minimal app
                // larger (the Leptos floor by 633 B brotli, ours by 502 B, leptos-use's by 460 B, the 1-type app by
                // 2,477 B), so each is measured at its smallest, as an app that does not set it is built.
                .env("CARGO_ENCODED_RUSTFLAGS", ""),
        )?;
        let file = name.replace('+', "-");
        let dir = out.join(&file);
        // Emptied first: a snippet of an earlier build (its directory is named by a hash) would be counted too.
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("cannot empty {}: {e}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        step::run(
            &format!("wasm-bindgen for `{name}`"),
            Command::new("wasm-bindgen")
                .args(["--target=web", "--no-typescript", &format!("--out-name={file}")])
                .arg(format!("--out-dir={}", dir.display()))
                .arg(built.join(format!("{bin}.wasm")))
                .env("PATH", &tools.path),
        )?;
        let wasm = dir.join(format!("{file}_bg.wasm"));
        step::run(
            &format!("wasm-opt -Oz for `{name}`"),
            Command::new(&wasm_opt).arg(format!("--output={}", wasm.display())).arg("-Oz").arg(&wasm),
        )?;
        let js = dir.join(format!("{file}.js"));
        let mut js = bundle::sizes(&format!("{file}.js"), &read(&js)?);
        // The JavaScript a crate ships with `inline_js` (wasm-bindgen's `snippets/`): loaded with the glue, counted
        // with it, each file compressed on its own as it is served.
        let snippets = dir.join("snippets");
        if snippets.is_dir() {
            for path in bundle::shipped(&snippets)? {
                let snippet = bundle::sizes("", &read(&path)?);
                (js.raw, js.gzip, js.brotli) =
                    (js.raw + snippet.raw, js.gzip + snippet.gzip, js.brotli + snippet.brotli);
                js.name.push_str(" + snippet");
            }
        }
        measured.push(MinimalApp {
            name: name.to_owned(),
            how,
            wasm: bundle::sizes(&format!("{file}_bg.wasm"), &read(&wasm)?),
            js,
        });
    }
    Ok(measured)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimal_crate_resolves_the_roots_wasm_bindgen_and_leptos() {
        // The installed wasm-bindgen CLI is the root's version: the minimal apps must link against the same.
        let root = workspace_root();
        for package in ["wasm-bindgen", "leptos", "web-sys"] {
            assert_eq!(
                locked_version(&root.join("bench/minimal/Cargo.lock"), package).unwrap(),
                locked_version(&root.join("Cargo.lock"), package).unwrap(),
                "{package}"
            );
        }
    }

    #[test]
    fn the_minimal_crate_has_the_roots_size_profile() {
        let profile = |path: &str| {
            let text = std::fs::read_to_string(workspace_root().join(path)).unwrap();
            let start = text.find("\n[profile.wasm-release]\n").expect(path);
            let body = &text[start + 1..];
            let end = body[1..].find("\n[").map_or(body.len(), |i| i + 1);
            body[..end].lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).collect::<Vec<_>>().join("\n")
        };
        assert_eq!(profile("bench/minimal/Cargo.toml"), profile("Cargo.toml"));
    }
}
