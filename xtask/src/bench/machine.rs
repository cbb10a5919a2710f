//! The machine the benchmark ran on, from `/proc` and `rustc`.

use std::process::Command;

use super::results::Machine;
use crate::step::output;

/// Reads the machine's description; `fd_limit` is the open-file limit the run raised itself to.
pub fn read(fd_limit: u64) -> Machine {
    let proc = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let meminfo = proc("/proc/meminfo");
    let cpuinfo = proc("/proc/cpuinfo");
    Machine {
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        memory_gib: field(&meminfo, "MemTotal")
            .and_then(|kb| kb.split_whitespace().next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
            / (1024.0 * 1024.0),
        cpu: field(&cpuinfo, "model name").unwrap_or("unknown").to_owned(),
        kernel: proc("/proc/sys/kernel/osrelease").trim().to_owned(),
        rustc: output(Command::new("rustc").arg("--version")).unwrap_or_else(|| "unknown".into()),
        fd_limit,
        load_before: load(),
        load_after: String::new(),
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn load() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// The value of the first `key: value` line of a `/proc` file.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fields_are_found_by_key() {
        let cpuinfo = "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu\n";
        assert_eq!(field(cpuinfo, "model name"), Some("AMD EPYC 7B13"));
        assert_eq!(field(cpuinfo, "missing"), None);
        let machine = read(20_000);
        assert!(machine.cores >= 1 && machine.memory_gib > 0.0 && !machine.kernel.is_empty(), "{machine:?}");
        assert_eq!(load().split(' ').count(), 3);
    }
}
