//! The server's resident memory and CPU time, read from `/proc/PID/status` and `/proc/PID/stat`.

/// The kernel's clock ticks per second in `/proc/PID/stat` (`USER_HZ`, 100 on every Linux architecture that
/// tools like `ps` support without asking `sysconf`).
const USER_HZ: f64 = 100.0;

/// `VmRSS` of process `pid`, KiB.
pub fn rss_kib(pid: u32) -> std::io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_vm_rss(&status).ok_or_else(|| std::io::Error::other(format!("/proc/{pid}/status has no VmRSS line")))
}

/// The `VmRSS:   1234 kB` line of a `/proc/PID/status` text, KiB.
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    line.split_whitespace().next()?.parse().ok()
}

/// CPU time (user + system) process `pid` has used so far, seconds.
pub fn cpu_secs(pid: u32) -> std::io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_cpu_ticks(&stat)
        .map(|ticks| ticks as f64 / USER_HZ)
        .ok_or_else(|| std::io::Error::other(format!("/proc/{pid}/stat does not parse")))
}

/// `utime + stime` of a `/proc/PID/stat` line, clock ticks. The command name (field 2) may hold spaces and
/// parentheses, so the fields are counted from its closing parenthesis.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_kib() {
        let status = "Name:\tsse-live-server\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(12_345));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
    }

    #[test]
    fn cpu_ticks_are_user_plus_system() {
        let stat = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 631 0 0 0 1500 250 0 0 20 0 3 0 9999 1 1";
        assert_eq!(parse_cpu_ticks(stat), Some(1_750));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1"), None);
    }

    #[test]
    fn this_process_has_a_resident_size_and_cpu_time() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(50) {}
        assert!(cpu_secs(std::process::id()).unwrap() > 0.0);
    }
}
