//! HTTP/1.1 connections with hyper, from a source address chosen per connection.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use hyper::client::conn::http1::{self, SendRequest};
use hyper::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;

/// Where requests go: a plain `http://` URL, its address resolved once.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// The resolved address of its host.
    pub addr: SocketAddr,
    /// The `Host` header (the URL's authority).
    pub host: String,
    /// Path and query.
    pub path: String,
}

impl Target {
    /// Parses `url` (only `http://`) and resolves its host.
    pub async fn resolve(url: &str) -> Result<Self, String> {
        let uri: Uri = url.parse().map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("{url:?}: only http:// URLs are supported"));
        }
        let authority = uri.authority().ok_or_else(|| format!("{url:?} has no host"))?;
        let port = authority.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((authority.host(), port))
            .await
            .map_err(|e| format!("cannot resolve {}: {e}", authority.host()))?
            .next()
            .ok_or_else(|| format!("{} resolves to no address", authority.host()))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        Ok(Self { url: url.to_owned(), addr, host: authority.as_str().to_owned(), path })
    }
}

/// The source address of connection `index` among `sources` loopback addresses: 127.0.0.1, .2, ... in turn, so
/// that each source address has its own range of ephemeral ports. Targets off loopback use the default route.
pub fn source_address(target: &SocketAddr, index: usize, sources: u8) -> Option<IpAddr> {
    if !target.ip().is_loopback() || !target.is_ipv4() || sources == 0 {
        return None;
    }
    let host = 1 + (index % usize::from(sources)) as u8;
    Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)))
}

/// Connects to `target` from `source` (any port) and performs the HTTP/1 handshake; the connection is driven by a
/// task of its own until it closes.
pub async fn connect(target: &Target, source: Option<IpAddr>) -> Result<SendRequest<String>, String> {
    let socket = if target.addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() };
    let socket = socket.map_err(|e| format!("socket: {e}"))?;
    if let Some(source) = source {
        socket.bind(SocketAddr::new(source, 0)).map_err(|e| format!("bind {source}: {e}"))?;
    }
    let stream = socket.connect(target.addr).await.map_err(|e| format!("connect {}: {e}", target.addr))?;
    stream.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        // Its error also reaches the request or body it interrupts, which reports it.
        let _ = connection.await;
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_cycle_over_loopback_addresses() {
        let local: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let ips: Vec<_> = (0..5).map(|i| source_address(&local, i, 3).unwrap().to_string()).collect();
        assert_eq!(ips, ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1", "127.0.0.2"]);
        assert_eq!(source_address(&"10.0.0.1:80".parse().unwrap(), 0, 3), None);
        assert_eq!(source_address(&local, 0, 0), None);
    }

    #[tokio::test]
    async fn a_url_is_split_into_address_host_and_path() {
        let t = Target::resolve("http://127.0.0.1:8080/events/a?x=1").await.unwrap();
        assert_eq!(
            (t.addr.to_string(), t.host.as_str(), t.path.as_str()),
            ("127.0.0.1:8080".into(), "127.0.0.1:8080", "/events/a?x=1")
        );
        assert!(Target::resolve("https://127.0.0.1/").await.unwrap_err().contains("only http://"));
        assert!(Target::resolve("nonsense url").await.is_err());
    }
}
