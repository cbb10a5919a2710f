//! What `cargo xtask bench` writes to `target/bench/results.json` and renders into BENCHMARKS.md.

use serde::{Deserialize, Serialize};
use sse_live_bench::report::Report;

/// The server names as the results use them.
pub const OURS: &str = "sse-live";
/// The bare axum peer.
pub const BARE: &str = "bare axum";
/// The floor: threads and one `write(2)` per stream, no runtime, no HTTP library (absent from results of before it).
pub const FLOOR: &str = "floor";
/// Ours with the direct fan-out off, beside [`OURS`] with it on (`cargo xtask bench --direct-ab`).
pub const OURS_DIRECT_OFF: &str = "sse-live, direct writes off";
/// Every server, in the order each scenario runs them.
pub const SERVERS: [&str; 3] = [FLOOR, BARE, OURS];

/// One whole `cargo xtask bench` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Results {
    /// `quick` or `full`.
    pub mode: String,
    /// When the run started (UTC, RFC 3339).
    pub started: String,
    /// The machine it ran on.
    pub machine: Machine,
    /// Every load-generator run.
    pub runs: Vec<Run>,
    /// Sizes of the release client's files, when measured.
    pub bundle: Vec<BundleFile>,
    /// The client ingest benchmark in headless Chromium, when run (absent from results of before it existed).
    #[serde(default)]
    pub ingest: Vec<super::ingest::Ingest>,
    /// What the reader must know (scenarios skipped and why).
    pub notes: Vec<String>,
    /// The minimal app built three ways ([`super::minimal`]), when measured; absent from results written before.
    #[serde(default)]
    pub minimal: Vec<MinimalApp>,
}

/// The machine and its load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Machine {
    /// Cores available to the run.
    pub cores: usize,
    /// Total memory, GiB.
    pub memory_gib: f64,
    /// The CPU model.
    pub cpu: String,
    /// `uname -r`.
    pub kernel: String,
    /// `rustc --version`.
    pub rustc: String,
    /// The open-file limit the servers and the load generator ran with.
    pub fd_limit: u64,
    /// `/proc/loadavg`'s three averages before the first scenario.
    pub load_before: String,
    /// The same after the last.
    pub load_after: String,
}

/// One load-generator run against one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The scenario's name (`capacity`, `fanout-max`, ...).
    pub scenario: String,
    /// [`OURS`], [`BARE`] or [`FLOOR`].
    pub server: String,
    /// The server's command line.
    pub server_command: String,
    /// The load generator's command line.
    pub loadgen_command: String,
    /// What the load generator measured.
    pub report: Report,
}

/// One file of `dist/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleFile {
    /// Its name in `dist/`.
    pub name: String,
    /// Bytes as built.
    pub raw: u64,
    /// Bytes gzipped (level 9).
    pub gzip: u64,
    /// Bytes brotli-compressed (quality 11, window 22).
    pub brotli: u64,
}

/// One build of the minimal app: an `EventSource`, its last message shown as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MinimalApp {
    /// Its binary in `bench/minimal/` ([`super::minimal::BY_HAND`], ...).
    pub name: String,
    /// How it is made, with the versions used.
    pub how: String,
    /// The module after wasm-bindgen and wasm-opt.
    pub wasm: BundleFile,
    /// wasm-bindgen's JavaScript.
    pub js: BundleFile,
}

impl MinimalApp {
    /// `.wasm` and `.js` together: (raw, gzip, brotli).
    pub fn total(&self) -> (u64, u64, u64) {
        (self.wasm.raw + self.js.raw, self.wasm.gzip + self.js.gzip, self.wasm.brotli + self.js.brotli)
    }
}

impl Results {
    /// The run of `scenario` against `server` with `connections` streams, if there is one.
    pub fn find(&self, scenario: &str, server: &str, connections: u64) -> Option<&Run> {
        self.runs
            .iter()
            .find(|r| r.scenario == scenario && r.server == server && r.report.connections.requested == connections)
    }

    /// The connection counts `scenario` ran with, ascending.
    pub fn connection_counts(&self, scenario: &str) -> Vec<u64> {
        let mut counts: Vec<u64> =
            self.runs.iter().filter(|r| r.scenario == scenario).map(|r| r.report.connections.requested).collect();
        counts.sort_unstable();
        counts.dedup();
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_results_parse_and_so_do_results_from_before_the_client_benchmarks() {
        let path = crate::workspace_root().join("bench/results.json");
        let text = std::fs::read_to_string(path).unwrap();
        let results: Results = serde_json::from_str(&text).unwrap();
        assert!(!results.runs.is_empty());
        // Results written before the minimal apps and the ingest benchmark existed have neither field.
        let mut old: serde_json::Value = serde_json::from_str(&text).unwrap();
        let fields = old.as_object_mut().unwrap();
        fields.remove("minimal");
        fields.remove("ingest");
        let old: Results = serde_json::from_value(old).unwrap();
        assert!(old.minimal.is_empty() && old.ingest.is_empty());
        assert_eq!(old.runs, results.runs);
    }
}
