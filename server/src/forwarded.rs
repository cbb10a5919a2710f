//! The client's address behind reverse proxies (`--trusted-proxy`, `--client-ip-header`).
//!
//! Behind a proxy every connection comes from the proxy, so the per-address limits would count all clients as one.
//! A proxy names the client in a header it appends to: `X-Forwarded-For: client, proxy1` (nginx's
//! `$proxy_add_x_forwarded_for`) or `Forwarded: for=client, for=proxy1` (RFC 7239). Everything left of what the
//! last proxy added may come from the client itself, so the address used is the **rightmost one that is not a
//! trusted proxy**: the hop that connected to the outermost trusted proxy. Hops are read from the right and only as
//! far as that one, so whatever a client writes to its left changes nothing.
//!
//! A request whose peer is not a trusted proxy keeps the peer's address (its headers are ignored). A header that is
//! missing, or malformed where it is read (not an address, `for=unknown`, an obfuscated `for=_hidden`, bytes that
//! are not text), falls back to the peer's address; never an error, never a panic.

use std::net::{IpAddr, SocketAddr};

use axum::http::header::FORWARDED;
use axum::http::HeaderMap;
use ipnet::IpNet;

use crate::config::ClientIpHeader;

/// The `X-Forwarded-For` header name.
pub(crate) const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's address for a request from `peer` with `headers` (see the module docs).
pub(crate) fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet], header: ClientIpHeader) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let name = match header {
        ClientIpHeader::XForwardedFor => X_FORWARDED_FOR,
        ClientIpHeader::Forwarded => FORWARDED.as_str(),
    };
    // Every line of the header, in order, as one list of hops.
    let mut hops: Vec<&[u8]> = Vec::new();
    for value in headers.get_all(name) {
        hops.extend(split_outside_quotes(value.as_bytes(), b','));
    }
    let mut client = peer;
    for hop in hops.iter().rev() {
        let parsed = match header {
            ClientIpHeader::XForwardedFor => parse_node(hop),
            ClientIpHeader::Forwarded => forwarded_for(hop).and_then(parse_node),
        };
        let Some(ip) = parsed else { return peer };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// `bytes` split at `separator`s that are not inside a quoted string.
fn split_outside_quotes(bytes: &[u8], separator: u8) -> Vec<&[u8]> {
    let (mut parts, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, &byte) in bytes.iter().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            _ if byte == separator && !quoted => {
                parts.push(&bytes[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&bytes[start..]);
    parts
}

/// The `for=` value of one `Forwarded` element (`for=192.0.2.1;proto=https`), unquoted.
fn forwarded_for(element: &[u8]) -> Option<&[u8]> {
    split_outside_quotes(element, b';').into_iter().find_map(|pair| {
        let pair = pair.trim_ascii();
        let at = pair.iter().position(|&b| b == b'=')?;
        let (key, value) = (&pair[..at], &pair[at + 1..]);
        if !key.trim_ascii().eq_ignore_ascii_case(b"for") {
            return None;
        }
        let value = value.trim_ascii();
        Some(value.strip_prefix(b"\"").and_then(|v| v.strip_suffix(b"\"")).unwrap_or(value))
    })
}

/// A node as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:4711`.
fn parse_node(node: &[u8]) -> Option<IpAddr> {
    let node = std::str::from_utf8(node).ok()?.trim();
    let ip = node
        .parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| node.strip_prefix('[')?.strip_suffix(']')?.parse().ok())?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    const PROXY: &str = "10.0.0.2";

    fn trusted() -> Vec<IpNet> {
        vec!["10.0.0.0/24".parse().unwrap(), "fd00::/8".parse().unwrap()]
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn resolve(peer: &str, header: ClientIpHeader, lines: &[&[u8]]) -> IpAddr {
        let name = match header {
            ClientIpHeader::XForwardedFor => X_FORWARDED_FOR,
            ClientIpHeader::Forwarded => "forwarded",
        };
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(name, HeaderValue::from_bytes(line).unwrap());
        }
        client_ip(ip(peer), &headers, &trusted(), header)
    }

    fn xff(peer: &str, lines: &[&[u8]]) -> IpAddr {
        resolve(peer, ClientIpHeader::XForwardedFor, lines)
    }

    fn fwd(peer: &str, lines: &[&[u8]]) -> IpAddr {
        resolve(peer, ClientIpHeader::Forwarded, lines)
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        assert_eq!(xff(PROXY, &[b"203.0.113.7"]), ip("203.0.113.7"));
        // A forged hop on the left changes nothing; trusted proxies on the right are skipped.
        assert_eq!(xff(PROXY, &[b"1.1.1.1, 203.0.113.7, 10.0.0.9"]), ip("203.0.113.7"));
        assert_eq!(xff(PROXY, &[b"1.1.1.1", b"203.0.113.7 , 10.0.0.9"]), ip("203.0.113.7"), "lines join in order");
        assert_eq!(xff(PROXY, &[b"garbage, 203.0.113.7"]), ip("203.0.113.7"), "left of the client is never read");
        // Only trusted hops: the leftmost of them.
        assert_eq!(xff(PROXY, &[b"10.0.0.8, 10.0.0.9"]), ip("10.0.0.8"));
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_sends() {
        assert_eq!(xff("198.51.100.1", &[b"203.0.113.7"]), ip("198.51.100.1"));
        assert_eq!(fwd("198.51.100.1", &[b"for=203.0.113.7"]), ip("198.51.100.1"));
    }

    #[test]
    fn missing_or_malformed_headers_leave_the_peer() {
        assert_eq!(xff(PROXY, &[]), ip(PROXY));
        for bad in [&b""[..], b"not-an-ip", b"203.0.113.7, ", b"300.1.1.1", b"[::1", b"\xff\xfe", b",,,", b"unknown"] {
            assert_eq!(xff(PROXY, &[bad]), ip(PROXY), "{:?}", String::from_utf8_lossy(bad));
            assert_eq!(fwd(PROXY, &[bad]), ip(PROXY), "{:?}", String::from_utf8_lossy(bad));
        }
        for bad in [&b"for=unknown"[..], b"for=_hidden", b"proto=https", b"for=\"[2001:db8::1\"", b"for", b"for=;"] {
            assert_eq!(fwd(PROXY, &[bad]), ip(PROXY), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn nodes_take_ports_and_brackets() {
        assert_eq!(xff(PROXY, &[b"203.0.113.7:4711"]), ip("203.0.113.7"));
        assert_eq!(xff(PROXY, &[b"2001:db8::1"]), ip("2001:db8::1"));
        assert_eq!(xff(PROXY, &[b"[2001:db8::1]:4711"]), ip("2001:db8::1"));
        assert_eq!(xff(PROXY, &[b"::ffff:203.0.113.7"]), ip("203.0.113.7"), "IPv4-mapped is IPv4");
        assert_eq!(xff("fd00::5", &[b"203.0.113.7"]), ip("203.0.113.7"), "an IPv6 proxy");
    }

    #[test]
    fn forwarded_elements_are_read_per_rfc_7239() {
        assert_eq!(fwd(PROXY, &[b"for=203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(fwd(PROXY, &[b"For=\"[2001:db8:cafe::17]:4711\";proto=https"]), ip("2001:db8:cafe::17"));
        assert_eq!(
            fwd(PROXY, &[b"for=1.1.1.1;by=x, proto=http;for=\"203.0.113.7:80\";host=\"a,b\", for=10.0.0.9"]),
            ip("203.0.113.7"),
            "a quoted comma does not split an element"
        );
        assert_eq!(fwd(PROXY, &[b"for=_hidden, for=203.0.113.7"]), ip("203.0.113.7"));
    }
}
