//! The page served as a static file server should, over real HTTP: precompressed `.br` / `.gz` chosen by
//! `Accept-Encoding`, `Cache-Control` by file name, 404 for a missing asset, `index.html` for page paths, and event
//! streams never compressed.

mod common;

use clap::Parser as _;
use common::{client, EventStream, TestServer};
use sse_live_server::Config;

const WASM: &str = "/app-0123456789abcdef_bg.wasm";
const JS: &str = "/app-0123456789abcdef.js";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A dist directory with `index.html`, a hashed `.wasm` (with `.br` and `.gz`), a hashed `.js` (`.gz` only: its
/// `.br` did not shrink) and an unhashed icon. The compressed files hold markers: the tests check which is sent.
async fn server() -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    for (name, content) in [
        ("index.html", "<!doctype html><title>raw</title>"),
        ("index.html.br", "index as brotli"),
        ("index.html.gz", "index as gzip"),
        (&WASM[1..], "\0asm raw"),
        (&format!("{}.br", &WASM[1..]), "wasm as brotli"),
        (&format!("{}.gz", &WASM[1..]), "wasm as gzip"),
        (&JS[1..], "console.log('raw')"),
        (&format!("{}.gz", &JS[1..]), "js as gzip"),
        ("favicon.ico", "icon"),
    ] {
        std::fs::write(dist.join(name), content).unwrap();
    }
    let config = Config::try_parse_from(["sse-live-server", "--dist", dist.to_str().unwrap()]).unwrap();
    TestServer::start_with(config, dir).await
}

/// GETs `path` with `Accept-Encoding: accept` (none when empty): status, content encoding, cache control, vary,
/// content type, body.
async fn get(server: &TestServer, path: &str, accept: &str) -> (u16, String, String, String, String, String) {
    let mut request = client().get(server.url(path));
    if !accept.is_empty() {
        request = request.header("accept-encoding", accept);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response.headers().get_all(name).iter().map(|v| v.to_str().unwrap()).collect::<Vec<_>>().join(", ")
    };
    let (status, encoding, cache, vary, content_type) = (
        response.status().as_u16(),
        header("content-encoding"),
        header("cache-control"),
        header("vary").to_ascii_lowercase(),
        header("content-type"),
    );
    (status, encoding, cache, vary, content_type, response.text().await.unwrap())
}

#[tokio::test]
async fn hashed_files_are_precompressed_by_accept_encoding_and_cached_for_a_year() {
    let server = server().await;
    for (accept, encoding, body) in [
        ("br, gzip", "br", "wasm as brotli"),
        ("gzip, deflate, br;q=0", "gzip", "wasm as gzip"),
        ("gzip", "gzip", "wasm as gzip"),
        ("", "", "\0asm raw"),
        ("identity", "", "\0asm raw"),
    ] {
        let (status, got_encoding, cache, vary, content_type, got_body) = get(&server, WASM, accept).await;
        assert_eq!((status, got_encoding.as_str(), got_body.as_str()), (200, encoding, body), "{accept:?}");
        assert_eq!(content_type, "application/wasm", "{accept:?}");
        assert_eq!(cache, IMMUTABLE, "{accept:?}");
        assert!(vary.contains("accept-encoding"), "{accept:?}: vary {vary:?}");
    }
    // No .br beside the .js: gzip for a client that takes both.
    let (status, encoding, cache, _, content_type, body) = get(&server, JS, "br, gzip").await;
    assert_eq!((status, encoding.as_str(), body.as_str(), cache.as_str()), (200, "gzip", "js as gzip", IMMUTABLE));
    assert!(content_type.starts_with("text/javascript"), "{content_type}");
}

#[tokio::test]
async fn index_html_is_revalidated_also_as_the_page_fallback() {
    let server = server().await;
    for path in ["/", "/index.html", "/settings", "/some/page?tab=2"] {
        let (status, encoding, cache, vary, content_type, body) = get(&server, path, "gzip, br").await;
        assert_eq!((status, encoding.as_str(), body.as_str()), (200, "br", "index as brotli"), "{path}");
        assert_eq!(cache, "no-cache", "{path}");
        assert!(vary.contains("accept-encoding"), "{path}: vary {vary:?}");
        assert!(content_type.starts_with("text/html"), "{path}: {content_type}");
        let (_, encoding, cache, _, _, body) = get(&server, path, "").await;
        assert_eq!(
            (encoding.as_str(), cache.as_str(), body.as_str()),
            ("", "no-cache", "<!doctype html><title>raw</title>")
        );
    }
    // A file without a hash in its name is revalidated too.
    let (status, _, cache, _, _, body) = get(&server, "/favicon.ico", "").await;
    assert_eq!((status, cache.as_str(), body.as_str()), (200, "no-cache", "icon"));
}

#[tokio::test]
async fn a_missing_file_with_an_extension_is_404_not_the_page() {
    let server = server().await;
    for path in ["/nope.js", "/assets/nope.wasm", "/app-0000000000000000_bg.wasm", "/style.css"] {
        let (status, _, cache, _, content_type, body) = get(&server, path, "br, gzip").await;
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("<title>") && !content_type.starts_with("text/html"), "{path}: {body}");
        assert_ne!(cache, IMMUTABLE, "{path}: a 404 must not be cached for a year");
    }
}

#[tokio::test]
async fn event_streams_are_never_compressed() {
    let server = server().await;
    let stream =
        EventStream::open(&server.url("/events/plain"), &[("accept-encoding", b"br, gzip, deflate, zstd")]).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    assert!(stream.headers.get("content-encoding").is_none(), "{:?}", stream.headers);
}
