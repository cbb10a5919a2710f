//! Raw HTTP/1.1 over TCP from chosen client addresses (127.0.0.x: all of 127.0.0.0/8 is loopback on Linux), for the
//! connection-level tests: half-sent requests, keep-alive connections, per-address caps.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::PATIENCE;

/// `127.0.0.{last}`.
pub fn loopback(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// A TCP connection from `local` (port chosen by the kernel) to `server`.
pub async fn connect_from(local: IpAddr, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(local, 0)).unwrap();
    tokio::time::timeout(PATIENCE, socket.connect(server)).await.expect("connect timed out").unwrap()
}

/// An HTTP client whose connections come from `local`.
pub fn client_from(local: IpAddr) -> reqwest::Client {
    reqwest::Client::builder().no_proxy().local_address(local).build().unwrap()
}

/// One response read off a raw connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// The head, lines without their ends, the status line first.
    pub head: Vec<String>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The value of header `name` (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.iter().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// `GET path` with `Host: x` on `stream`, keeping the connection open; reads the response (it must have a
/// `Content-Length`).
pub async fn get(stream: &mut TcpStream, path: &str) -> RawResponse {
    try_get(stream, path).await.expect("the connection closed before a response")
}

/// [`get`], or `None` when the connection closes (or is reset) before a response head.
pub async fn try_get(stream: &mut TcpStream, path: &str) -> Option<RawResponse> {
    stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.ok()?;
    tokio::time::timeout(PATIENCE, read_response(stream)).await.expect("no response")
}

async fn read_response(stream: &mut TcpStream) -> Option<RawResponse> {
    let mut buffer = Vec::new();
    let end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head: Vec<String> =
        String::from_utf8(buffer[..end].to_vec()).unwrap().split("\r\n").map(String::from).collect();
    let status = head[0].split(' ').nth(1).unwrap().parse().unwrap();
    let mut response = RawResponse { status, head, body: buffer[end + 4..].to_vec() };
    let length: usize = response.header("content-length").expect("a Content-Length").parse().unwrap();
    while response.body.len() < length {
        let mut chunk = [0; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed inside a body");
        response.body.extend_from_slice(&chunk[..n]);
    }
    Some(response)
}

/// Waits until the server closes `stream` (end of file, or a reset), discarding what it sends; `false` if it is
/// still open after `within`.
pub async fn closes_within(stream: &mut TcpStream, within: Duration) -> bool {
    let closed = async {
        let mut chunk = [0; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, closed).await.is_ok()
}
