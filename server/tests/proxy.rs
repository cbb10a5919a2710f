//! Behind a reverse proxy (`--trusted-proxy`): clients the proxy names in `X-Forwarded-For` / `Forwarded` get their
//! own per-address stream limits; the same headers from anyone else are ignored. Real HTTP from 127.0.0.x: the
//! "proxy" is 127.0.0.5.

mod common;

use std::net::IpAddr;

use common::raw::{client_from, loopback};
use common::{EventStream, TestServer};

const PROXY: u8 = 5;

/// Opens `/events/a` from `from` with `header: value`; returns the stream (its status may be 429).
async fn open(server: &TestServer, from: IpAddr, header: &str, value: &str) -> EventStream {
    let response = client_from(from).get(server.url("/events/a")).header(header, value).send().await.unwrap();
    EventStream::from_response(response)
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_get_their_own_stream_limits() {
    let server = TestServer::start(&["--trusted-proxy", "127.0.0.5", "--max-streams-per-ip", "1"]).await;
    let proxy = loopback(PROXY);
    let xff = "x-forwarded-for";
    let first = open(&server, proxy, xff, "198.51.100.1, 203.0.113.1").await;
    assert_eq!(first.status, 200);
    // Another client through the same proxy has a limit of its own.
    let second = open(&server, proxy, xff, "203.0.113.2").await;
    assert_eq!(second.status, 200, "a second client behind the proxy was counted with the first");
    // The first client again is over its own limit (the forged 198.51.100.1 on the left is not read).
    assert_eq!(open(&server, proxy, xff, "198.51.100.9, 203.0.113.1").await.status, 429);

    // Malformed headers count as the proxy itself: one stream, then 429.
    let as_proxy = open(&server, proxy, xff, "not an address").await;
    assert_eq!(as_proxy.status, 200);
    assert_eq!(open(&server, proxy, xff, "203.0.113.3:notaport").await.status, 429);

    // The same headers from a peer that is not a trusted proxy are ignored: all one address.
    let untrusted = loopback(6);
    let direct = open(&server, untrusted, xff, "203.0.113.4").await;
    assert_eq!(direct.status, 200);
    assert_eq!(open(&server, untrusted, xff, "203.0.113.5").await.status, 429);
    assert_eq!(server.metric(r#"sse_live_rejected_total{reason="too_many_streams_per_ip"}"#).await, 3.0);
}

#[tokio::test]
async fn the_forwarded_header_is_read_when_chosen_and_x_forwarded_for_then_ignored() {
    let server = TestServer::start(&[
        "--trusted-proxy",
        "127.0.0.0/29",
        "--client-ip-header",
        "forwarded",
        "--max-streams-per-ip",
        "1",
    ])
    .await;
    let proxy = loopback(PROXY);
    let a = open(&server, proxy, "forwarded", r#"for="[2001:db8::1]:4711";proto=https"#).await;
    assert_eq!(a.status, 200);
    // 127.0.0.4 is a trusted proxy too: skipped, the client is the hop left of it.
    let b = open(&server, proxy, "forwarded", "for=203.0.113.7, for=127.0.0.4").await;
    assert_eq!(b.status, 200);
    assert_eq!(open(&server, proxy, "forwarded", "for=203.0.113.7").await.status, 429);
    // X-Forwarded-For is not the chosen header: these count as the proxy.
    let as_proxy = open(&server, proxy, "x-forwarded-for", "203.0.113.8").await;
    assert_eq!(as_proxy.status, 200);
    assert_eq!(open(&server, proxy, "x-forwarded-for", "203.0.113.9").await.status, 429);
}
