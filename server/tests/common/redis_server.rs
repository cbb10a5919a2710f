//! A real `redis-server` for the tests of the Redis backplane: started on a free port in a temporary directory,
//! stopped (killed) when dropped. It keeps an append-only file (`appendfsync always`), so that [`RedisServer::restart`]
//! comes back with its data, as a production Redis would.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::PATIENCE;

/// A running `redis-server` (Debian's package; `cargo xtask test` installs it).
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers `PING`.
    pub async fn start() -> Self {
        let mut server = Self::not_started();
        server.spawn().await;
        server
    }

    /// One that is not running yet, on a free port ([`RedisServer::restart`] starts it).
    pub fn not_started() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        Self { port, child: None, dir: tempfile::tempdir().unwrap() }
    }

    /// A connection of the test's own, for commands the server would not send.
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url()).unwrap().get_multiplexed_async_connection().await.unwrap()
    }

    /// Connections Redis has accepted since it started (`INFO stats`: `total_connections_received`).
    pub async fn connections_received(&self, conn: &mut redis::aio::MultiplexedConnection) -> u64 {
        let info: String = redis::cmd("INFO").arg("stats").query_async(conn).await.unwrap();
        let line = info.lines().find_map(|line| line.strip_prefix("total_connections_received:"));
        line.unwrap().trim().parse().unwrap()
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (no shutdown courtesy: like a crash or a lost network).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, with the data it had.
    pub async fn restart(&mut self) {
        self.stop();
        self.spawn().await;
    }

    /// Starts it again on the same port with no data, as a Redis without persistence comes back.
    pub async fn restart_empty(&mut self) {
        self.stop();
        for entry in std::fs::read_dir(self.dir.path()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                std::fs::remove_dir_all(path).unwrap();
            } else {
                std::fs::remove_file(path).unwrap();
            }
        }
        self.spawn().await;
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always", "--dir"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start redis-server (is it installed? `cargo xtask test` installs it)");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !self.pings().await {
            assert!(tokio::time::Instant::now() < deadline, "redis-server did not answer on port {}", self.port);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn pings(&self) -> bool {
        let Ok(mut socket) = TcpStream::connect(("127.0.0.1", self.port)).await else { return false };
        let mut reply = [0; 7];
        socket.write_all(b"PING\r\n").await.is_ok()
            && socket.read_exact(&mut reply).await.is_ok()
            && &reply == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
