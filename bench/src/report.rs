//! What one load-generator run measured: the JSON it writes with `--json` (and `cargo xtask bench` reads back), and
//! the same as text for a person.

use std::fmt::{self, Write as _};

use serde::{Deserialize, Serialize};

/// One run of the load generator against one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The stream URL the connections were opened to.
    pub url: String,
    /// The connections: asked for, held, failed, and how long opening them took.
    pub connections: Connections,
    /// How long events were counted, seconds (after every connection was open).
    pub window_secs: f64,
    /// Events delivered to all connections together during the window.
    pub events: u64,
    /// `events / window_secs`.
    pub events_per_sec: f64,
    /// Publish-to-receive latency, from the `sentAtUs` timestamp in each event's JSON; `None` when no event carried
    /// one (a stream whose payload has no timestamp).
    pub latency: Option<Latency>,
    /// Fan-out spread: for each event, the time from its first receipt on any connection to its receipt on each
    /// connection. It needs no timestamp in the payload, so it is measured on every stream.
    pub spread: Option<Latency>,
    /// Publish-to-receive latency up to the kernel's receive timestamp of each read (`SO_TIMESTAMPNS`) rather than
    /// the user-space clock after it: the load generator's own scheduling left out. Absent from reports of before
    /// it was measured.
    #[serde(default)]
    pub kernel_latency: Option<Latency>,
    /// Fan-out spread by the kernel's receive timestamps (from the earliest receipt of each event seen so far).
    #[serde(default)]
    pub kernel_spread: Option<Latency>,
    /// What the publisher did, when one ran.
    pub publish: Option<Publish>,
    /// The server's resident memory, when its PID was given.
    pub server_rss: Option<Rss>,
    /// CPU time (user + system) the server used during the window, seconds, when its PID was given: a figure a
    /// busy shared machine disturbs less than wall-clock rates.
    #[serde(default)]
    pub server_cpu_secs: Option<f64>,
    /// Reconnects with `Last-Event-ID` (`--churn`), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub churn: Option<Churn>,
    /// The server's command line, when the load generator started it itself (`--spawn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spawned: Option<String>,
}

/// Connection counts and timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connections {
    /// How many were asked for.
    pub requested: u64,
    /// How many got a `200 text/event-stream` answer.
    pub held: u64,
    /// How many could not connect or got another answer.
    pub failed: u64,
    /// Held streams the server ended (or that broke) before the window was over.
    pub ended: u64,
    /// Seconds from the first connect to the last answer.
    pub connect_secs: f64,
    /// The first few distinct failure messages.
    pub errors: Vec<String>,
}

/// A latency distribution, microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// How many samples.
    pub samples: u64,
    /// Median.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// Largest sample.
    pub max_us: u64,
}

/// The publisher's side: `POST`s sent and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Publish {
    /// The publish URL.
    pub url: String,
    /// Requests answered with a 2xx status during the window.
    pub ok: u64,
    /// Requests that failed or got another status.
    pub failed: u64,
    /// `ok / window_secs`.
    pub per_sec: f64,
    /// Request to answer, per publish.
    pub latency: Option<Latency>,
    /// The first failure, if any.
    pub first_error: Option<String>,
}

/// What the reconnecting streams (`--churn`) saw during the window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Churn {
    /// Percent of the streams closed and reopened each second.
    pub percent_per_sec: f64,
    /// How long a stream stayed away before reconnecting, milliseconds.
    pub gap_ms: u64,
    /// Reconnects that got a stream again.
    pub reconnects: u64,
    /// Reconnects that did not.
    pub failed: u64,
    /// Events a reconnected stream received that had been published before it reconnected (the server's replay
    /// of what it missed during the gap).
    pub replayed: u64,
    /// Events a stream never received: gaps in the ids it saw (a server without replay loses what was published
    /// while the client was away).
    pub missed: u64,
}

/// The server's `VmRSS` at three moments, KiB, and what it grew by per held connection.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rss {
    /// Before the first connection.
    pub before_kib: u64,
    /// Once every connection was open (and a settling second later).
    pub connected_kib: u64,
    /// At the end of the window.
    pub end_kib: u64,
    /// `(connected - before) / held`, bytes; `None` when nothing was held.
    pub per_connection_bytes: Option<f64>,
}

impl Rss {
    /// The three readings, with the growth per connection worked out for `held` connections.
    pub fn new(before_kib: u64, connected_kib: u64, end_kib: u64, held: u64) -> Self {
        let per_connection_bytes =
            (held > 0).then(|| (connected_kib as f64 - before_kib as f64) * 1024.0 / held as f64);
        Self { before_kib, connected_kib, end_kib, per_connection_bytes }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {}  p99 {}  max {}  ({} samples)",
            micros(self.p50_us),
            micros(self.p99_us),
            micros(self.max_us),
            self.samples
        )
    }
}

/// A duration in microseconds as a person reads it: `850 µs`, `12.3 ms`, `2.05 s`.
pub fn micros(us: u64) -> String {
    match us {
        0..1_000 => format!("{us} µs"),
        1_000..1_000_000 => format!("{:.1} ms", us as f64 / 1e3),
        _ => format!("{:.2} s", us as f64 / 1e6),
    }
}

impl Report {
    /// Server CPU time per event delivered, µs, when both are known.
    pub fn cpu_us_per_event(&self) -> Option<f64> {
        self.server_cpu_secs.filter(|_| self.events > 0).map(|cpu| cpu * 1e6 / self.events as f64)
    }

    /// The report as text, one figure a line.
    pub fn to_text(&self) -> String {
        let c = &self.connections;
        let mut out = String::new();
        if let Some(command) = &self.spawned {
            let _ = writeln!(out, "server            {command}");
        }
        let _ = writeln!(out, "stream URL        {}", self.url);
        let _ = writeln!(
            out,
            "connections       {} held, {} failed (of {}), all answered in {:.2} s; {} ended early",
            c.held, c.failed, c.requested, c.connect_secs, c.ended
        );
        for error in &c.errors {
            let _ = writeln!(out, "  error           {error}");
        }
        let _ = writeln!(
            out,
            "events            {} in {:.1} s = {:.0} events/s",
            self.events, self.window_secs, self.events_per_sec
        );
        let none = "none (no event carried a sentAtUs timestamp)";
        let latency = self.latency.map_or_else(|| none.to_owned(), |l| l.to_string());
        let _ = writeln!(out, "publish->receive  {latency}");
        if let Some(kernel) = self.kernel_latency {
            let _ = writeln!(out, "  kernel clock    {kernel}");
        }
        if let Some(churn) = self.churn {
            let _ = writeln!(
                out,
                "churn             {}%/s, {} ms away: {} reconnects ({} failed), {} events replayed, {} missed",
                churn.percent_per_sec, churn.gap_ms, churn.reconnects, churn.failed, churn.replayed, churn.missed
            );
        }
        let spread = self.spread.map_or_else(|| "none (no events)".to_owned(), |l| l.to_string());
        let _ = writeln!(out, "fan-out spread    {spread}");
        if let Some(kernel) = self.kernel_spread {
            let _ = writeln!(out, "  kernel clock    {kernel}");
        }
        if let Some(p) = &self.publish {
            let _ = writeln!(out, "publish           {}: {} ok ({:.0}/s), {} failed", p.url, p.ok, p.per_sec, p.failed);
            if let Some(l) = p.latency {
                let _ = writeln!(out, "  request         {l}");
            }
            if let Some(e) = &p.first_error {
                let _ = writeln!(out, "  first error     {e}");
            }
        }
        if let (Some(cpu), Some(per)) = (self.server_cpu_secs, self.cpu_us_per_event()) {
            let _ = writeln!(out, "server CPU        {cpu:.2} s in the window: {per:.2} µs per event delivered");
        }
        if let Some(r) = &self.server_rss {
            let per = r.per_connection_bytes.map_or_else(|| "n/a".to_owned(), |b| format!("{b:.0} bytes"));
            let _ = writeln!(
                out,
                "server RSS        {} KiB before, {} KiB connected, {} KiB at the end: {per} per connection",
                r.before_kib, r.connected_kib, r.end_kib
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            url: "http://127.0.0.1:1/e/t".into(),
            connections: Connections {
                requested: 10,
                held: 8,
                failed: 2,
                ended: 1,
                connect_secs: 0.25,
                errors: vec!["connection refused".into()],
            },
            window_secs: 2.0,
            events: 16,
            events_per_sec: 8.0,
            latency: None,
            spread: Some(Latency { samples: 16, p50_us: 120, p99_us: 2_500, max_us: 3_000_000 }),
            kernel_latency: None,
            kernel_spread: Some(Latency { samples: 16, p50_us: 80, p99_us: 1_900, max_us: 2_000_000 }),
            publish: None,
            server_rss: Some(Rss::new(1_000, 1_080, 1_090, 8)),
            server_cpu_secs: Some(0.004),
            churn: None,
            spawned: Some("sse-live-server --listen 127.0.0.1:0 --redis-url redis://127.0.0.1:6391".into()),
        }
    }

    #[test]
    fn rss_per_connection_is_the_growth_divided_by_the_held_connections() {
        assert_eq!(Rss::new(1_000, 1_080, 0, 8).per_connection_bytes, Some(10_240.0));
        assert_eq!(Rss::new(1_000, 1_080, 0, 0).per_connection_bytes, None);
        // Memory can shrink between readings; the figure then goes negative rather than wrapping.
        assert!(Rss::new(1_000, 900, 0, 10).per_connection_bytes.unwrap() < 0.0);
    }

    #[test]
    fn durations_read_in_the_unit_that_fits() {
        assert_eq!(micros(850), "850 µs");
        assert_eq!(micros(12_345), "12.3 ms");
        assert_eq!(micros(2_050_000), "2.05 s");
    }

    #[test]
    fn the_text_names_every_figure() {
        let text = sample().to_text();
        assert!(text.contains("8 held, 2 failed (of 10)"), "{text}");
        assert!(text.contains("error           connection refused"), "{text}");
        assert!(text.contains("16 in 2.0 s = 8 events/s"), "{text}");
        assert!(text.contains("publish->receive  none"), "{text}");
        assert!(text.contains("p50 120 µs  p99 2.5 ms  max 3.00 s  (16 samples)"), "{text}");
        assert!(text.contains("  kernel clock    p50 80 µs  p99 1.9 ms  max 2.00 s  (16 samples)"), "{text}");
        assert!(text.contains("server            sse-live-server --listen 127.0.0.1:0 --redis-url"), "{text}");
        assert!(text.contains("10240 bytes per connection"), "{text}");
        assert!(text.contains("0.00 s in the window: 250.00 µs per event delivered"), "{text}");
    }

    #[test]
    fn the_json_round_trips_in_camel_case() {
        let report = sample();
        let json = serde_json::to_string(&report).unwrap();
        assert!(json.contains("\"eventsPerSec\":8.0") && json.contains("\"perConnectionBytes\":10240.0"), "{json}");
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), report);
    }

    #[test]
    fn a_report_from_before_the_kernel_timestamps_still_parses() {
        let mut old = serde_json::to_value(sample()).unwrap();
        for field in ["kernelLatency", "kernelSpread", "spawned"] {
            old.as_object_mut().unwrap().remove(field).unwrap();
        }
        let report: Report = serde_json::from_value(old).unwrap();
        assert_eq!((report.kernel_latency, report.kernel_spread, report.spawned), (None, None, None));
        assert_eq!(report.spread, sample().spread);
    }
}
