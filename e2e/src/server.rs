//! The real server, as a process: started on a port of its own, killed with SIGKILL (a crash, not a shutdown), and
//! started again on the same port.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::{free_port, workspace};

/// A running `sse-live-server` serving the built page; killed when dropped.
pub struct Server {
    port: u16,
    args: Vec<String>,
    child: Option<Child>,
}

impl Server {
    /// Starts the server on a free port with `--dist <the built page>` and `args` (for example a short
    /// `--temperature-interval`). Panics with a clear message when the page or the binary is missing.
    pub fn start(args: &[&str]) -> Self {
        let dist = dist();
        assert!(
            dist.join("index.html").is_file(),
            "no built page in {}: run `cargo xtask test` (it runs `trunk build --release` first)",
            dist.display()
        );
        let mut all = vec!["--dist".to_owned(), dist.to_string_lossy().into_owned()];
        all.extend(args.iter().map(|arg| (*arg).to_owned()));
        let mut server = Self { port: free_port(), args: all, child: None };
        server.spawn();
        server
    }

    /// The page's address: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `GET /healthz`, asked by the test itself rather than through the browser (whose six connections to the origin
    /// may all be taken by streams): the server's JSON.
    pub fn health(&self) -> serde_json::Value {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the server");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("a read timeout");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .expect("send GET /healthz");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read the answer to GET /healthz");
        let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        serde_json::from_str(body).unwrap_or_else(|e| panic!("/healthz answered {response:?}: {e}"))
    }

    /// The streams the server holds open now (`openStreams` in `/healthz`).
    pub fn open_streams(&self) -> u64 {
        self.health()["openStreams"].as_u64().expect("openStreams in /healthz")
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the process at once (SIGKILL): open streams are cut without a goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same flags.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    fn spawn(&mut self) {
        let binary = binary();
        assert!(binary.is_file(), "no server binary at {}: run `cargo build -p sse-live-server`", binary.display());
        let mut child = Command::new(&binary)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .args(&self.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        // It prints `sse-live-server listening on http://ADDR` once it accepts connections.
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready, listening) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = ready.send(());
                }
            }
        });
        listening
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the server did not say it was listening on port {}", self.port));
        self.child = Some(child);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn dist() -> PathBuf {
    std::env::var_os("SSE_LIVE_DIST").map_or_else(|| workspace().join("dist"), PathBuf::from)
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SSE_LIVE_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from);
    target.join("debug").join("sse-live-server")
}
