//! Starts the real `sse-live-server` for the browser tests and stops it when the guard is dropped, also when a
//! test fails.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::Result;

/// A running server; dropping it kills the process.
pub struct RunningServer {
    child: Child,
    /// The base URL it listens on, as it printed it (`http://127.0.0.1:PORT`).
    pub url: String,
}

impl RunningServer {
    /// Starts `binary` with `args` and waits (up to 30 s) for its `listening on http://...` line.
    pub fn start(binary: &Path, args: &[String]) -> Result<Self> {
        let mut command = Command::new(binary);
        command.args(args);
        Self::spawn(&mut command)
    }

    /// Starts `command` (its stdout is taken) and waits (up to 30 s) for its `listening on http://...` line.
    pub fn spawn(command: &mut Command) -> Result<Self> {
        let program = command.get_program().to_string_lossy().into_owned();
        let args: Vec<_> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        println!("\n==> starting {program} {}", args.join(" "));
        let mut child = command.stdout(Stdio::piped()).spawn().map_err(|e| format!("cannot start {program}: {e}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(std::result::Result::ok) {
                println!("    [server] {line}");
                if !sent {
                    if let Some(url) = line.split("listening on ").nth(1) {
                        let _ = tx.send(url.trim().to_string());
                        sent = true;
                    }
                }
            }
        });
        let mut server = RunningServer { child, url: String::new() };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(url) => {
                println!("    server up at {url}");
                server.url = url;
                Ok(server)
            }
            Err(_) => Err(format!("{program} did not print its listening address within 30 s")),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that is free right now on 127.0.0.1 (for the test runner's own page server).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}
