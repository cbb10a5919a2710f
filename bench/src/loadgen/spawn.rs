//! The server under test started by the load generator itself (`--spawn BINARY`), as `server/examples/load.rs` used
//! to: its own process, so the RSS and CPU read from `/proc` are the server's alone, on a free port it prints.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long a server may take to print its `listening on http://ADDR` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A server process; dropping it kills it.
pub struct Spawned {
    child: Child,
    /// Its base URL, `http://ADDR`, as it printed it.
    pub base_url: String,
    /// Its command line.
    pub command: String,
}

/// The arguments the server is started with: `--listen 127.0.0.1:0`, `--redis-url URL` when given, then `extra`.
pub fn server_args(redis_url: Option<&str>, extra: &[String]) -> Vec<String> {
    let mut args = vec!["--listen".to_owned(), "127.0.0.1:0".to_owned()];
    if let Some(url) = redis_url {
        args.extend(["--redis-url".to_owned(), url.to_owned()]);
    }
    args.extend(extra.iter().cloned());
    args
}

/// `url` as given, or on the spawned server at `base` when it is a path (`/events/load`).
pub fn resolve_url(url: &str, base: Option<&str>) -> Result<String, String> {
    match (url.starts_with('/'), base) {
        (true, Some(base)) => Ok(format!("{base}{url}")),
        (true, None) => Err(format!("{url:?} is a path: give a whole URL, or a server to start with --spawn")),
        (false, _) => Ok(url.to_owned()),
    }
}

/// The base URL in a server's `... listening on http://ADDR` line.
pub fn listening_url(line: &str) -> Option<&str> {
    line.split("listening on ").nth(1)?.split_whitespace().next().filter(|url| url.starts_with("http://"))
}

impl Spawned {
    /// Starts `binary` with `args` (stdout read for the listening line, stderr inherited; `RUST_LOG=error` unless
    /// the environment sets it) and waits for its address.
    pub fn start(binary: &Path, args: &[String]) -> Result<Self, String> {
        let mut command = Command::new(binary);
        command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "error");
        }
        let described = std::iter::once(binary.display().to_string()).chain(args.iter().cloned()).collect::<Vec<_>>();
        let described = described.join(" ");
        let mut child = command.spawn().map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("the server's stdout is not piped")?;
        let (found, url) = mpsc::channel();
        std::thread::spawn(move || {
            // Read on after the line, so the server never blocks on a full pipe.
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = listening_url(&line) {
                    if let Some(found) = found.take() {
                        let _ = found.send(url.to_owned());
                    }
                }
            }
        });
        let mut spawned = Self { child, base_url: String::new(), command: described };
        match url.recv_timeout(START_TIMEOUT) {
            Ok(url) => {
                spawned.base_url = url;
                Ok(spawned)
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(format!("{} printed no `listening on http://ADDR` line within 30 s", spawned.command))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Its stdout closed: it is exiting (the status may take a moment to be there).
                for _ in 0..100 {
                    if let Ok(Some(status)) = spawned.child.try_wait() {
                        return Err(format!("{} exited ({status}) before it listened", spawned.command));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(format!("{} closed its stdout before it listened", spawned.command))
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_listens_on_a_free_port_with_redis_when_asked() {
        let extra = ["--publish-key".to_owned(), "k".to_owned()];
        assert_eq!(
            server_args(Some("redis://127.0.0.1:6391"), &extra),
            ["--listen", "127.0.0.1:0", "--redis-url", "redis://127.0.0.1:6391", "--publish-key", "k"]
        );
        assert_eq!(server_args(None, &[]), ["--listen", "127.0.0.1:0"]);
    }

    #[test]
    fn paths_are_resolved_on_the_spawned_server_only() {
        assert_eq!(resolve_url("/events/a", Some("http://127.0.0.1:9")).unwrap(), "http://127.0.0.1:9/events/a");
        assert_eq!(resolve_url("http://h/e", Some("http://127.0.0.1:9")).unwrap(), "http://h/e");
        assert!(resolve_url("/events/a", None).unwrap_err().contains("--spawn"));
    }

    #[test]
    fn the_listening_line_of_each_server_gives_its_url() {
        for line in [
            "sse-live-server listening on http://127.0.0.1:4000",
            "bare-sse-server listening on http://127.0.0.1:4000",
            "floor-sse-server listening on http://127.0.0.1:4000 (2 fan-out threads)",
        ] {
            assert_eq!(listening_url(line), Some("http://127.0.0.1:4000"), "{line}");
        }
        assert_eq!(listening_url("starting"), None);
    }

    #[test]
    fn a_server_that_exits_at_once_is_an_error_not_a_hang() {
        let error = Spawned::start(Path::new("/bin/false"), &[]).err().unwrap();
        assert!(error.contains("exited"), "{error}");
        assert!(Spawned::start(Path::new("/nonexistent/server"), &[]).err().unwrap().contains("cannot start"));
    }
}
